"""Dated exceptions ops add beside the feed: closures and holiday hours override the regular hours."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from ingest.publish import ingest_file
from locator.errors import InvalidParameter, NotFound
from locator.search import NearestQuery, nearest
from locator.special_hours import add, list_for, remove
from tests.conftest import DEMO_CSV, ScratchDatabase, Server
from tests.locator.test_admin_api import auth, call

PARIS = ZoneInfo("Europe/Paris")
OPERA = (48.8716, 2.3336)


def open_ids(db: ScratchDatabase, at: datetime, **kw: object) -> dict[str, list[str]]:
    """Both search paths, so that the materialised intervals and direct evaluation are checked alike."""
    query = NearestQuery(lat=OPERA[0], lon=OPERA[1], at=at, limit=30, **kw)  # type: ignore[arg-type]
    return {
        "fast": [p.id for p in nearest(db.engine, query).places],
        "direct": [p.id for p in nearest(db.engine, query, force_direct=True).places],
    }


def next_weekday(days_ahead: int) -> date:
    day = datetime.now(PARIS).date() + timedelta(days=days_ahead)
    while day.weekday() >= 5:  # a weekday: the Opéra store and its repair desk are open
        day += timedelta(days=1)
    return day


def test_closure_holiday_hours_and_removal(scratch_db: ScratchDatabase) -> None:
    ingest_file(scratch_db.engine, DEMO_CSV, source="demo")
    day = next_weekday(2)
    noon = datetime.combine(day, time(12, 0), tzinfo=PARIS)
    evening = datetime.combine(day, time(16, 0), tzinfo=PARIS)
    assert all("fr-par-opera" in ids for ids in open_ids(scratch_db, noon).values())

    closure = add(scratch_db.engine, "fr-par-opera", day, day, comment="inventaire")
    for ids in open_ids(scratch_db, noon).values():
        assert "fr-par-opera" not in ids
    remove(scratch_db.engine, closure["id"])
    assert all("fr-par-opera" in ids for ids in open_ids(scratch_db, noon).values())

    add(scratch_db.engine, "fr-par-opera", day, day, hours="10h-14h")
    assert all("fr-par-opera" in ids for ids in open_ids(scratch_db, noon).values())
    assert all("fr-par-opera" not in ids for ids in open_ids(scratch_db, evening).values())
    assert [item["hours"] for item in list_for(scratch_db.engine, "fr-par-opera")] == ["10:00-14:00"]


def test_service_exception_and_ingest_keeps_exceptions(scratch_db: ScratchDatabase) -> None:
    ingest_file(scratch_db.engine, DEMO_CSV, source="demo")
    day = next_weekday(3)
    noon = datetime.combine(day, time(12, 0), tzinfo=PARIS)
    add(scratch_db.engine, "fr-par-opera", day, day, service="repair", comment="technicien absent")
    for ids in open_ids(scratch_db, noon, services=("repair",)).values():
        assert "fr-par-opera" not in ids
    assert all("fr-par-opera" in ids for ids in open_ids(scratch_db, noon).values())
    ingest_file(scratch_db.engine, DEMO_CSV, source="demo")  # a feed refresh keeps ops' exceptions
    assert len(list_for(scratch_db.engine, "fr-par-opera")) == 1


def test_invalid_exceptions(scratch_db: ScratchDatabase) -> None:
    ingest_file(scratch_db.engine, DEMO_CSV, source="demo")
    day = next_weekday(1)
    with pytest.raises(InvalidParameter) as info:
        add(scratch_db.engine, "fr-par-marais", day, day, service="sales")  # sales follows the place's hours
    assert info.value.parameter == "service"
    with pytest.raises(InvalidParameter) as info:
        add(scratch_db.engine, "fr-par-opera", day, day - timedelta(days=1))
    assert info.value.parameter == "end"
    with pytest.raises(InvalidParameter) as info:
        add(scratch_db.engine, "fr-par-opera", day, day, hours="Mo-Xy 25:00")
    assert info.value.parameter == "hours"
    for several in ("10:00-14:00; Mo off", "10:00-14:00, Mo 08:00-09:00", "off || Mo unknown"):
        # The exception's dates would scope the first rule only: `Mo off` would close every Monday for good.
        with pytest.raises(InvalidParameter, match="one rule") as info:
            add(scratch_db.engine, "fr-par-opera", day, day, hours=several)
        assert info.value.parameter == "hours"
    add(scratch_db.engine, "fr-par-opera", day, day, hours="10:00-12:00,13:00-17:00")  # one rule, two times
    with pytest.raises(NotFound):
        add(scratch_db.engine, "nowhere", day, day)
    with pytest.raises(NotFound):
        remove(scratch_db.engine, 999_999)
    with pytest.raises(NotFound):
        list_for(scratch_db.engine, "nowhere")


def test_admin_special_hours_endpoints(server: Server) -> None:
    day = next_weekday(5).isoformat()
    payload = f'{{"start": "{day}", "hours": "off", "comment": "fermeture exceptionnelle"}}'.encode()
    status, _, created = call(server, "/v1/admin/locations/fr-lil-euralille/special-hours", method="POST",
                              body=payload, headers={**auth(), "Content-Type": "application/json"})  # fmt: skip
    assert status == 201 and created["end"] == day
    status, _, listed = call(server, "/v1/admin/locations/fr-lil-euralille/special-hours", headers=auth())
    assert status == 200 and [s["id"] for s in listed["special_hours"]] == [created["id"]]
    status, _, body = call(server, f"/v1/locations/fr-lil-euralille?at={day}T12:00:00%2B01:00")
    assert body["open"] is False and body["status_comment"] == "fermeture exceptionnelle"
    assert body["special_hours"][0]["comment"] == "fermeture exceptionnelle"
    status, _, _ = call(server, f"/v1/admin/special-hours/{created['id']}", method="DELETE", headers=auth())
    assert status == 204
    status, _, _ = call(server, "/v1/admin/locations/fr-lil-euralille/special-hours", method="POST",
                        body=payload, headers={"Content-Type": "application/json"})  # fmt: skip
    assert status == 401


def test_an_exception_open_round_the_clock(scratch_db: ScratchDatabase) -> None:
    # '24/7' as an exception's hours was accepted, then failed the place's schedule with the engine's parser dump.
    ingest_file(scratch_db.engine, DEMO_CSV, source="demo")
    day = next_weekday(2)
    add(scratch_db.engine, "fr-par-opera", day, day, hours="24/7", comment="open all night")
    assert [item["hours"] for item in list_for(scratch_db.engine, "fr-par-opera")] == ["00:00-24:00"]
    three_am = datetime.combine(day, time(3, 0), tzinfo=PARIS)
    assert all("fr-par-opera" in ids for ids in open_ids(scratch_db, three_am).values())
