"""Sun events in opening hours: the times of locator.sun and how `Schedule` reads ranges that use them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from locator.hours import Schedule
from locator.sun import sun_minutes

BERLIN = ZoneInfo("Europe/Berlin")
OSLO = ZoneInfo("Europe/Oslo")
# The place of the opening_hours.js reference suite's sun cases (Buchen, Baden-Württemberg).
BUCHEN = (49.5438327, 9.8155867)


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)  # type: ignore[misc,arg-type]


def hhmm(minutes: int | None) -> str | None:
    return None if minutes is None else f"{minutes // 60:02d}:{minutes % 60:02d}"


@pytest.mark.parametrize(
    ("day", "event", "expected"),
    [
        # Values from the reference suite's expected intervals (sunrise-sunset, dawn-dusk, 2012-10-01..03).
        (date(2012, 10, 1), "sunrise", "07:20"),
        (date(2012, 10, 1), "sunset", "18:58"),
        (date(2012, 10, 1), "dawn", "06:49"),
        (date(2012, 10, 1), "dusk", "19:30"),
        (date(2012, 10, 2), "sunrise", "07:22"),
        (date(2012, 10, 2), "sunset", "18:56"),
        (date(2012, 10, 3), "sunrise", "07:23"),
        (date(2012, 10, 3), "sunset", "18:54"),
    ],
)
def test_sun_times_match_the_reference_to_the_minute(day: date, event: str, expected: str) -> None:
    assert hhmm(sun_minutes(day, *BUCHEN, "Europe/Berlin", event)) == expected


@pytest.mark.parametrize(
    ("place", "event", "expected"),
    [
        # opening_hours.js's own unit tests (variable-times): the event of the *local* day, even where the
        # place is far from its timezone's meridian (here every place is read on Berlin's clock).
        ((47.606, -122.322), "sunrise", "15:14"),  # Seattle: 2021-04-18's sunrise, not the 17th's
        ((47.606, -122.322), "sunset", "05:02"),
        ((-37.818, 144.951), "sunset", "09:49"),  # Melbourne: the 18th's, not the 19th's
        ((1.340, 103.821), "sunrise", "00:59"),  # Singapore
    ],
)
def test_sun_event_is_the_one_of_the_local_day(place: tuple[float, float], event: str, expected: str) -> None:
    assert hhmm(sun_minutes(date(2021, 4, 18), *place, "Europe/Berlin", event)) == expected


def test_no_sunrise_in_the_polar_day() -> None:
    assert sun_minutes(date(2021, 6, 21), 78.222, 15.652, "Europe/Oslo", "sunrise") is None
    # ... and hours built on it are simply not open, rather than an error or a guess.
    s = Schedule.parse("sunrise-sunset", timezone="Europe/Oslo", coords=(78.222, 15.652))
    start = datetime(2021, 6, 21, tzinfo=OSLO)
    assert s.intervals(start, start + timedelta(days=1)) == []


def test_sunrise_to_a_fixed_time_is_not_open_all_night_when_the_sun_rises_later() -> None:
    # Oslo in December: the sun rises after 09:00. "sunrise-08:00" opens no day at all; it used to read as
    # open from sunrise until 08:00 the next morning (almost 24 hours), the customer-facing bug.
    s = Schedule.parse("sunrise-08:00", timezone="Europe/Oslo", coords=(59.9139, 10.7522))
    start = datetime(2026, 12, 14, tzinfo=OSLO)
    assert s.intervals(start, start + timedelta(days=7)) == []
    assert s.state(datetime(2026, 12, 15, 12, 0, tzinfo=OSLO))[0] == "closed"
    assert s.state(datetime(2026, 12, 16, 3, 0, tzinfo=OSLO))[0] == "closed"
    assert s.is_open(datetime(2026, 12, 16, 7, 59, tzinfo=OSLO)) is False


def test_sunrise_to_a_fixed_time_opens_only_the_days_the_sun_is_up_before_it() -> None:
    # The reference suite's case: at Buchen the sun rises at 08:00 on 2013-01-26, 07:59 on the 27th.
    s = Schedule.parse("sunrise-08:00", timezone="Europe/Berlin", coords=BUCHEN)
    spans = s.intervals(berlin(2013, 1, 26), berlin(2013, 1, 29))
    assert [(i.start, i.end) for i in spans] == [
        (berlin(2013, 1, 27, 7, 59), berlin(2013, 1, 27, 8, 0)),
        (berlin(2013, 1, 28, 7, 58), berlin(2013, 1, 28, 8, 0)),
    ]
    assert all(i.end - i.start < timedelta(hours=1) for i in spans)


def test_sunset_to_sunrise_still_runs_past_midnight_until_the_next_days_sunrise() -> None:
    s = Schedule.parse("sunset-sunrise", timezone="Europe/Berlin", coords=BUCHEN)
    spans = s.intervals(berlin(2012, 10, 1), berlin(2012, 10, 3))
    assert [(i.start, i.end) for i in spans] == [
        (berlin(2012, 10, 1), berlin(2012, 10, 1, 7, 20)),
        (berlin(2012, 10, 1, 18, 58), berlin(2012, 10, 2, 7, 22)),
        (berlin(2012, 10, 2, 18, 56), berlin(2012, 10, 3)),
    ]
    assert s.closes_at(berlin(2012, 10, 1, 23, 0)) == berlin(2012, 10, 2, 7, 22)


def test_state_and_next_change_follow_the_days_sun_times() -> None:
    s = Schedule.parse("Mo-Fr sunrise-sunset; Sa (sunrise+02:00)-18:00", timezone="Europe/Berlin", coords=BUCHEN)
    monday_noon = berlin(2012, 10, 1, 12, 0)
    assert s.state(monday_noon)[0] == "open"
    assert s.next_change(monday_noon) == berlin(2012, 10, 1, 18, 58)
    assert s.next_change(berlin(2012, 10, 1, 19, 0)) == berlin(2012, 10, 2, 7, 22)
    assert s.next_open(berlin(2012, 10, 5, 20, 0)) == berlin(2012, 10, 6, 9, 28)  # Saturday: sunrise 07:28 + 2 h
    assert s.next_change(berlin(2012, 10, 6, 18, 0)) == berlin(2012, 10, 8, 7, 31)


def test_without_coordinates_sun_times_are_the_references_defaults() -> None:
    s = Schedule.parse("sunrise-sunset", timezone="Europe/Berlin")
    spans = s.intervals(berlin(2012, 10, 1), berlin(2012, 10, 2))
    assert [(i.start, i.end) for i in spans] == [(berlin(2012, 10, 1, 6, 0), berlin(2012, 10, 1, 18, 0))]
    assert any("coordinates" in w for w in s.warnings)


def test_only_hours_with_sun_events_carry_a_position() -> None:
    """Schedules are shared by every place with the same text; a position splits them only where the sun
    matters (and `Sun: 11-8`, a Sunday in a vendor feed, is not a sun event)."""
    from locator.hours import sun_coordinates

    assert sun_coordinates("sunrise-sunset", 59.91391, 10.75225) == (59.91, 10.75)
    assert sun_coordinates("Mo-Fr 08:00-dusk", 1.0, 2.0) == (1.0, 2.0)
    assert sun_coordinates("Daylight", 1.0, 2.0) == (1.0, 2.0)
    for hours in ("Sun: 11-8", "Mo-Su 10:00-18:00", "Sunday 10-18"):
        assert sun_coordinates(hours, 1.0, 2.0) is None
    assert sun_coordinates("sunrise-sunset", None, None) is None
