"""schema.org JSON-LD of a place: its week and the days that differ from it, read on the place's wall clock."""

from __future__ import annotations

from datetime import datetime

from locator.jsonld import local_business
from locator.search import Place


def place(hours: str, timezone: str, country: str, lat: float, lon: float) -> Place:
    return Place(
        id="p", name="P", kind="store", kinds=["store"], street=None, postcode=None, city=None, region=None,
        country=country, lat=lat, lon=lon, timezone=timezone, phone=None, url=None, products=[], services=[],
        hours={"": hours},
    )  # fmt: skip


def test_a_midnight_spring_forward_day_has_no_opening_of_its_own() -> None:
    """Santiago's clocks go from 00:00 to 01:00 on 5 September 2027: the day begins at 01:00. Bounded by a
    00:00 that does not exist, and compared on the wall clock, that Sunday got an opening 00:00-01:00."""
    evening = place("Mo-Su 20:00-24:00", "America/Santiago", "CL", -33.45, -70.66)
    body = local_business(evening, datetime.fromisoformat("2027-09-01T12:00:00+00:00"))
    assert body.get("specialOpeningHoursSpecification", []) == []
    assert {(spec["opens"], spec["closes"]) for spec in body["openingHoursSpecification"]} == {
        ("20:00:00", "23:59:59")
    }
    always = place("Mo-Su 00:00-24:00", "America/Santiago", "CL", -33.45, -70.66)
    body = local_business(always, datetime.fromisoformat("2027-09-01T12:00:00+00:00"))
    assert body.get("specialOpeningHoursSpecification", []) == []
    assert {(spec["opens"], spec["closes"]) for spec in body["openingHoursSpecification"]} == {
        ("00:00:00", "23:59:59")
    }


def test_a_night_past_midnight_is_split_at_the_day_s_start() -> None:
    late = place("Fr 22:00-02:00", "Europe/Paris", "FR", 48.85, 2.35)
    body = local_business(late, datetime.fromisoformat("2026-12-07T12:00:00+01:00"))
    by_day = {spec["dayOfWeek"].rsplit("/", 1)[1]: (spec["opens"], spec["closes"])
              for spec in body["openingHoursSpecification"]}  # fmt: skip
    assert by_day == {"Friday": ("22:00:00", "23:59:59"), "Saturday": ("00:00:00", "02:00:00")}


def test_a_long_closure_leaves_the_regular_week_regular() -> None:
    """A closure of seven weeks (ops' exception) made "closed" the most common pattern of every weekday: the
    regular hours vanished from the JSON-LD, and the open days after the closure were listed as special days."""
    from datetime import date

    from locator.hours import SpecialHours

    shop = place("Mo-Sa 10:00-19:00", "Europe/Paris", "FR", 48.85, 2.35)
    shop.special = {"": [SpecialHours(date(2026, 12, 14), date(2027, 1, 31), "off", "travaux")]}
    body = local_business(shop, datetime.fromisoformat("2026-12-10T12:00:00+01:00"))
    week = {spec["dayOfWeek"].rsplit("/", 1)[1]: (spec["opens"], spec["closes"])
            for spec in body["openingHoursSpecification"]}  # fmt: skip
    assert week == {day: ("10:00:00", "19:00:00") for day in
                    ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")}  # fmt: skip
    special = {spec["validFrom"]: (spec["opens"], spec["closes"]) for spec in body["specialOpeningHoursSpecification"]}
    assert special["2026-12-14"] == ("00:00:00", "00:00:00") and "2027-02-01" not in special
    assert "2026-12-11" not in special  # open as every Friday
