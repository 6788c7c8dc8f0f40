"""What an answer says of a place's day: its open intervals, and the time its hours leave unknown."""

from __future__ import annotations

from datetime import datetime

from locator.answers import hours_today, unknown_today
from locator.search import Place


def place(hours: dict[str, str]) -> Place:
    return Place(
        id="p", name="P", kind="store", kinds=["store"], street=None, postcode=None, city=None, region=None,
        country="FR", lat=48.85, lon=2.35, timezone="Europe/Paris", phone=None, url=None, products=[],
        services=list(hours), hours=hours,
    )  # fmt: skip


def test_time_the_hours_leave_unknown_is_listed_apart_from_open_time() -> None:
    at = datetime.fromisoformat("2026-12-12T12:00:00+01:00")
    bar = place({"sales": "Mo-Su 17:00+"})
    assert hours_today(bar, at) == {"sales": []}
    assert unknown_today(bar, at) == {"sales": [  # the night before's open end runs on to 03:00, as the engine reads it
        {"from": "2026-12-12T00:00:00+01:00", "to": "2026-12-12T03:00:00+01:00"},
        {"from": "2026-12-12T17:00:00+01:00", "to": "2026-12-13T00:00:00+01:00"},
    ]}  # fmt: skip
    shop = place({"sales": "Mo-Sa 10:00-19:00"})
    assert unknown_today(shop, at) == {} and hours_today(shop, at)["sales"][0]["from"] == "2026-12-12T10:00:00+01:00"
