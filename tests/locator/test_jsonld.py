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
