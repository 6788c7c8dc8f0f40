"""Row validation without a database: what a row's hours say against each other."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from ingest.validate import RowValidator, Warning

PARIS_ROW = {"id": "a", "name": "A", "country": "FR", "lat": "48.87", "lon": "2.30", "timezone": "Europe/Paris"}


def warnings_for(today: date, **columns: str) -> list[Warning]:
    validator = RowValidator(today=today)
    record: dict[str, Any] = {**PARIS_ROW, **columns}
    assert validator.validate(2, record) is not None, validator.rejections
    return validator.warnings


def test_a_service_open_on_the_places_holidays_is_a_warning_that_names_the_days() -> None:
    """The desk showed open on Christmas Day: the place's hours close it (`Dec 25 off`, `PH off`), the
    service's own hours do not say so."""
    (warning,) = warnings_for(
        date(2026, 12, 7),
        opening_hours="Mo-Su 10:00-22:00; Dec 25 off; Jan 01 off",
        service_hours="Mo-Sa 10:00-20:00",
        services="sales;repair;pickup",  # one warning for the column, not one per service it applies to
    )
    assert warning.column == "service_hours" and warning.value == "Mo-Sa 10:00-20:00"
    assert warning.message.startswith("open on Fri 25 Dec 2026, Fri 1 Jan 2027, when the place's opening_hours")
    (holidays,) = warnings_for(
        date(2026, 12, 7), opening_hours="Mo-Sa 10:00-20:00; PH off", **{"hours:repair": "Mo-Sa 10:00-19:00"}
    )
    # Christmas, New Year, Easter Monday 2027 (29 March), and the other French holidays on a weekday.
    assert holidays.column == "hours:repair"
    assert holidays.message.startswith("open on Fri 25 Dec 2026, Fri 1 Jan 2027, Mon 29 Mar 2027 and 7 more")


@pytest.mark.parametrize(
    ("place", "service"),
    [
        ("Mo-Sa 10:00-20:00; PH off", "Mo-Su 10:00-13:00; PH off"),  # the desk's own Sundays: its choice
        ("Mo-Sa 10:00-20:00; PH off", "Mo-Sa 10:00-20:00; PH off"),  # the same hours
        ("Mo-Sa 10:00-20:00; PH off", "Mo-Fr 14:00-18:00; PH off"),  # closes on the holidays too
        ("Mo-Fr 10:00-20:00; Sa 20:00-02:00", "Su 10:00-12:00"),  # the night's end is no opening on Sunday
        ("Mo-Sa 10:00-20:00; 2026 Dec 20-2027 Jan 10 off", "Mo-Sa 10:00-20:00; 2026 Dec 20-2027 Jan 10 off"),
    ],
)
def test_services_closed_when_the_place_is_are_not_warned(place: str, service: str) -> None:
    assert warnings_for(date(2026, 12, 7), opening_hours=place, **{"hours:repair": service}) == []


def test_a_closure_for_works_the_service_ignores_is_warned_once_with_its_length() -> None:
    (warning,) = warnings_for(
        date(2026, 12, 7),
        opening_hours="Mo-Sa 10:00-20:00; 2027 Feb 01-2027 Feb 28 off",
        **{"hours:repair": "Mo-Fr 14:00-18:00"},
    )
    assert warning.message.startswith("open on Mon 1 Feb 2027, Tue 2 Feb 2027, Wed 3 Feb 2027 and 17 more")


def test_two_columns_of_one_services_hours_reject_the_row() -> None:
    """GeoJSON properties "hours:repair" and "hours:Repair ": the second replaced the first without a word."""
    validator = RowValidator(today=date(2026, 12, 7))
    record: dict[str, Any] = {**PARIS_ROW, "opening_hours": "Mo-Sa 10:00-20:00", "services": "sales;repair",
                              "hours:repair": "Tu-Sa 10:00-18:00", "hours:Repair ": "Mo 08:00-09:00"}  # fmt: skip
    assert validator.validate(2, record) is None
    (rejection,) = validator.rejections
    assert (rejection.row, rejection.column, rejection.value) == (2, "hours:Repair ", "Mo 08:00-09:00")
    assert rejection.reason == "a second column of 'repair' hours, beside 'hours:repair'"


@pytest.mark.parametrize(
    ("timezone", "point", "message"),
    [
        # A place in Paris stated in New York's zone showed open until midnight, Paris time, without a word.
        ("America/New_York", ("48.85", "2.35"), "not the time at the coordinates (Europe/Paris): the hours would be "
                                                "read 5 h to 6 h late"),
        ("Europe/London", ("48.85", "2.35"), "not the time at the coordinates (Europe/Paris): the hours would be read "
                                             "1 h late"),
        ("Europe/Brussels", ("48.85", "2.35"), None),  # another name for the same time

        ("Europe/Paris", ("48.85", "2.35"), None),
    ],
)  # fmt: skip
def test_a_stated_timezone_that_is_not_the_time_at_the_point_is_a_warning(
    timezone: str, point: tuple[str, str], message: str | None
) -> None:
    validator = RowValidator(today=date(2026, 12, 7))
    record: dict[str, Any] = {**PARIS_ROW, "lat": point[0], "lon": point[1], "timezone": timezone,
                              "opening_hours": "Mo-Fr 09:00-18:00"}  # fmt: skip
    assert validator.validate(2, record) is not None, validator.rejections
    found = [(w.column, w.value, w.message) for w in validator.warnings]
    assert found == ([("timezone", timezone, message)] if message else []), found


def test_a_stated_us_zone_off_for_part_of_the_year_is_a_warning() -> None:
    # Phoenix keeps standard time all year: Denver's clock is an hour ahead of it in summer.
    validator = RowValidator(today=date(2026, 12, 7))
    record: dict[str, Any] = {"id": "p", "name": "Phoenix", "country": "US", "region": "US-AZ", "lat": "33.43",
                              "lon": "-111.9", "timezone": "America/Denver",
                              "opening_hours": "Mo-Fr 09:00-18:00"}  # fmt: skip
    assert validator.validate(2, record) is not None, validator.rejections
    (warning,) = validator.warnings
    assert warning.message == ("not the time at the coordinates (America/Phoenix): the hours would be read 1 h early "
                               "for part of the year")  # fmt: skip


def test_a_service_centres_service_hours_are_its_repair_desks() -> None:
    # A service centre repairs whether its feed lists the service or not: its desk hours were dropped ("no
    # service other than sales to apply them to") and the desk followed the centre's longer hours.
    validator = RowValidator(today=date(2026, 12, 7))
    record: dict[str, Any] = {**PARIS_ROW, "kind": "service_centre", "services": "sales",
                              "opening_hours": "Mo-Su 08:00-23:00", "service_hours": "Mo-Su 10:00-12:00"}  # fmt: skip
    place = validator.validate(2, record)
    assert place is not None and validator.warnings == [], validator.warnings
    assert place.hours["repair"][1] == "Mo-Su 10:00-12:00" and place.services == ["sales"]


def test_zones_with_summers_in_opposite_halves_of_the_year_are_early_then_late() -> None:
    # It said one or the other, by the season of the ingest.
    validator = RowValidator(today=date(2026, 12, 7))
    record: dict[str, Any] = {"id": "h", "name": "Halifax", "country": "CA", "lat": "44.65", "lon": "-63.57",
                              "timezone": "America/Santiago", "opening_hours": "Mo-Fr 09:00-18:00"}  # fmt: skip
    assert validator.validate(2, record) is not None, validator.rejections
    (warning,) = validator.warnings
    assert warning.message == ("not the time at the coordinates (America/Halifax): the hours would be read 1 h early "
                               "for part of the year and late for another")  # fmt: skip


@pytest.mark.parametrize("zone", ["posix/Europe/Paris", "right/Europe/Paris", "localtime", "Factory"])
def test_a_timezone_zoneinfo_opens_but_the_hours_cannot_read_is_the_row_s_fault(zone: str) -> None:
    """ZoneInfo opens these (paths under the tz directory, the system's clock, tzdata's placeholder), the
    hours engine does not: a feed with one failed whole with a TypeError's traceback (a 500 in the admin API)."""
    validator = RowValidator(today=date(2026, 12, 7))
    record: dict[str, Any] = {**PARIS_ROW, "timezone": zone, "opening_hours": "Mo-Fr 09:00-18:00"}
    assert validator.validate(2, record) is None
    assert [(r.column, r.value, r.reason) for r in validator.rejections] == [
        ("timezone", zone, "not an IANA timezone name such as Europe/Paris")
    ]


def test_a_row_without_a_country_takes_its_points_with_a_warning() -> None:
    """OSM features seldom carry addr:country: 145 of the 204 Monaco POIs in ../shared were rejected for it."""
    validator = RowValidator(today=date(2026, 12, 7))
    monaco = {"id": "m", "name": "Casino", "lat": "43.7396", "lon": "7.4276", "opening_hours": "Mo-Su 10:00-18:00"}
    record = validator.validate(2, monaco)
    assert record is not None and record.country == "MC" and record.timezone == "Europe/Monaco"
    assert [(w.column, w.message) for w in validator.warnings] == [
        ("country", "no country given: MC, the country of the point's timezone (Europe/Monaco)")
    ]
    paris = validator.validate(3, {**PARIS_ROW, "id": "p", "country": "", "timezone": "", "opening_hours": "24/7"})
    assert paris is not None and paris.country == "FR"
    at_sea = validator.validate(4, {"id": "s", "name": "Buoy", "lat": "0.5", "lon": "-30.0"})  # Etc/GMT+2
    without_point = validator.validate(5, {"id": "n", "name": "Nowhere", "street": "1 rue X"})
    assert at_sea is None and without_point is None
    assert [r.row for r in validator.rejections if r.column == "country"] == [4, 5]


def test_the_id_nearest_is_the_apis_own() -> None:
    """GET /v1/locations/nearest is the search: a place with that id was published and never fetched by id."""
    validator = RowValidator(today=date(2026, 12, 7))
    assert validator.validate(2, {**PARIS_ROW, "id": "nearest", "opening_hours": "24/7"}) is None
    assert [(r.column, r.value) for r in validator.rejections] == [("id", "nearest")]
    assert validator.validate(3, {**PARIS_ROW, "id": "nearest-1", "opening_hours": "24/7"}) is not None


def test_products_and_services_are_words_the_filters_can_name() -> None:
    """`Apple Watch` was stored as 'apple watch', which `product=` refuses (422) and `apple_watch` never
    matches: the place could not be found by what it sells."""
    validator = RowValidator(today=date(2026, 12, 7))
    record = validator.validate(
        2, {**PARIS_ROW, "opening_hours": "24/7", "products": "Apple Watch;i-Pad; iPhone", "services": "Screen repair"}
    )
    assert record is not None
    assert (record.products, record.services) == (["apple-watch", "i-pad", "iphone"], ["screen-repair"])
    said = " (said for its first row only)"
    assert [(w.column, w.value, w.message) for w in validator.warnings] == [
        ("services", "Screen repair", "read as 'screen-repair', a word the API's filters name" + said),
        ("products", "Apple Watch", "read as 'apple-watch', a word the API's filters name" + said),
    ]
    assert validator.validate(3, {**PARIS_ROW, "id": "b", "opening_hours": "24/7", "products": "Apple Watch"})
    assert len(validator.warnings) == 2  # once per feed, not per row


def test_an_hours_column_naming_no_service_is_a_warning() -> None:
    validator = RowValidator(today=date(2026, 12, 7))
    assert validator.validate(2, {**PARIS_ROW, "opening_hours": "24/7", "hours:": "Mo-Fr 10:00-12:00"}) is not None
    assert [(w.column, w.message) for w in validator.warnings] == [
        ("hours:", "no service named after 'hours:': ignored")
    ]


def test_a_services_hours_column_names_it_as_its_list_does() -> None:
    """`services=Express Repair` was stored as 'express-repair' and its `hours:Express Repair` as
    'express repair': the service followed the place's hours, its own never read."""
    validator = RowValidator(today=date(2026, 12, 7))
    record = validator.validate(2, {**PARIS_ROW, "opening_hours": "Mo-Su 10:00-20:00", "services": "Express Repair",
                                    "hours:Express Repair": "Mo-Fr 10:00-12:00"})  # fmt: skip
    assert record is not None and record.services == ["express-repair"]
    assert record.hours["express-repair"][1] == "Mo-Fr 10:00-12:00"
