"""Dated exceptions ops add beside the feed: closures and holiday hours override the regular hours."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, time, timedelta
from pathlib import Path
from time import sleep
from zoneinfo import ZoneInfo

import holidays
import pytest
from sqlalchemy import text

from ingest.publish import ingest_file
from locator.answers import location_answer
from locator.errors import InvalidParameter, NotFound
from locator.hours import Schedule
from locator.search import NearestQuery, nearest
from locator.special_hours import (
    BATCH_LOCK,
    Places,
    add,
    add_to_places,
    batches,
    list_for,
    remove,
    remove_batch,
)
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
    """A working day: the Opéra store and its repair desk are open (`PH off`: run on 23 December 2026 the test
    chose Christmas Day)."""
    day = datetime.now(PARIS).date() + timedelta(days=days_ahead)
    while day.weekday() >= 5 or day in holidays.France(years=day.year):
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
    with pytest.raises(InvalidParameter, match="does not offer 'repair'") as info:
        add(scratch_db.engine, "fr-par-marais", day, day, service="repair")  # a shop alone
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
    status, _, again = call(server, "/v1/admin/locations/fr-lil-euralille/special-hours", method="POST",
                            body=payload, headers={**auth(), "Content-Type": "application/json"})  # fmt: skip
    assert status == 200 and again["id"] == created["id"] and again["created"] is False  # a retry: the one held
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
    repair = f'{{"start": "{day}", "service": "repair"}}'.encode()
    status, _, refused = call(server, "/v1/admin/locations/fr-lil-euralille/special-hours", method="POST",
                              body=repair, headers={**auth(), "Content-Type": "application/json"})  # fmt: skip
    assert status == 422 and refused["parameter"] == "service" and "does not offer 'repair'" in refused["detail"]


def test_an_exception_open_round_the_clock(scratch_db: ScratchDatabase) -> None:
    # '24/7' as an exception's hours was accepted, then failed the place's schedule with the engine's parser dump.
    ingest_file(scratch_db.engine, DEMO_CSV, source="demo")
    day = next_weekday(2)
    add(scratch_db.engine, "fr-par-opera", day, day, hours="24/7", comment="open all night")
    assert [item["hours"] for item in list_for(scratch_db.engine, "fr-par-opera")] == ["00:00-24:00"]
    three_am = datetime.combine(day, time(3, 0), tzinfo=PARIS)
    assert all("fr-par-opera" in ids for ids in open_ids(scratch_db, three_am).values())


def _own_hours(db: ScratchDatabase, location_id: str) -> tuple[dict[str, str], list[str]]:
    with db.engine.connect() as conn:
        hours = conn.execute(text("SELECT service, canonical FROM location_hours WHERE location_id = :id"),
                             {"id": location_id})  # fmt: skip
        own = conn.execute(text("SELECT hours_services FROM locations WHERE id = :id"), {"id": location_id})
        return dict(hours.all()), list(own.scalar_one())


def test_an_exception_for_a_service_that_follows_the_place(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    """Closing the repair desk of a shop whose desk keeps the shop's hours was refused ("add the exception for the
    whole place instead", which closed the shop too): the desk takes the place's hours as its own, with the
    closure, until its last exception goes. A publish that changes the place keeps them, and says so."""
    engine = scratch_db.engine
    ingest_file(engine, DEMO_CSV, source="demo")
    place, general = "fr-par-la-defense", "Mo-Sa 10:00-20:30; Th 10:00-22:00; Su 11:00-19:00; PH 11:00-19:00"
    day = next_weekday(2)
    noon = datetime.combine(day, time(12, 0), tzinfo=PARIS)
    assert all(place in ids for ids in open_ids(scratch_db, noon, services=("repair",)).values())
    assert _own_hours(scratch_db, place) == ({"": general}, [])

    closure = add(engine, place, day, day, service="repair", comment="technicien absent")
    assert _own_hours(scratch_db, place) == ({"": general, "repair": general}, ["repair"])

    def closed_for_repair_only() -> None:
        assert all(place not in ids for ids in open_ids(scratch_db, noon, services=("repair",)).values())
        assert all(place in ids for ids in open_ids(scratch_db, noon).values())
        detail = location_answer(engine, scratch_db.settings, place, noon)
        assert detail["open"] is True and detail["hours"] == {"sales": general, "repair": general}
        repair_day = [i for i in detail["week"]["repair"] if i["from"].startswith(day.isoformat())]
        sales_day = [i for i in detail["week"]["sales"] if i["from"].startswith(day.isoformat())]
        assert not any(i["state"] == "open" for i in repair_day) and any(i["state"] == "open" for i in sales_day)

    closed_for_repair_only()
    rerun = ingest_file(engine, DEMO_CSV, source="demo")
    assert len(rerun.changed) == 0 and not [w for w in rerun.warnings if w.column == "hours:repair"]
    closed_for_repair_only()

    renamed = tmp_path / "renamed.csv"
    renamed.write_text(DEMO_CSV.read_text(encoding="utf-8").replace("Demo Store La Défense", "La Défense"), "utf-8")
    report = ingest_file(engine, renamed, source="demo")
    assert report.changed == [place]
    assert [(w.row, w.column) for w in report.warnings if w.column == "hours:repair"] == [(8, "hours:repair")]
    assert _own_hours(scratch_db, place) == ({"": general, "repair": general}, ["repair"])
    closed_for_repair_only()

    remove(engine, closure["id"])  # the last one: the desk follows the place's hours again
    assert _own_hours(scratch_db, place) == ({"": general}, [])
    assert all(place in ids for ids in open_ids(scratch_db, noon, services=("repair",)).values())


def _batch_rows(db: ScratchDatabase) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM special_hours WHERE batch IS NOT NULL")).scalar_one())


def test_a_batch_of_holiday_hours_for_a_country(scratch_db: ScratchDatabase) -> None:
    """Christmas Eve's hours for every French place at once, taken back whole: ops at thousands of shops do not
    add an exception 3,000 times, nor remove a mistaken one 3,000 times."""
    engine = scratch_db.engine
    ingest_file(engine, DEMO_CSV, source="demo")
    day = next_weekday(2)
    noon, evening = (datetime.combine(day, time(hour, 0), tzinfo=PARIS) for hour in (12, 17))
    assert all(len(ids) > 5 for ids in open_ids(scratch_db, evening).values())

    counted = add_to_places(engine, Places(country="fr"), day, day, hours="09:00-15:00", dry_run=True)
    # Nantes' desk is closed for works until March 2027 by its own hours: left out, not opened.
    assert counted["places"] + counted["closed"] == 17 and counted["batch"] is None and _batch_rows(scratch_db) == 0

    added = add_to_places(engine, Places(country="FR"), day, day, hours="9h-15h", comment="Réveillon")
    assert added["places"] == counted["places"] and added["closed_ids"] == counted["closed_ids"]
    assert added["hours"] == "09:00-15:00" and "fr-par-opera" in added["location_ids"]
    for ids in open_ids(scratch_db, evening).values():
        assert ids == []  # the demo's Paris places are all French
    assert all("fr-par-opera" in ids for ids in open_ids(scratch_db, noon).values())
    assert [item["batch"] for item in list_for(engine, "fr-par-opera")] == [added["batch"]]
    listed = batches(engine)
    assert [(b["batch"], b["places"], b["hours"], b["comment"]) for b in listed] == [
        (added["batch"], added["places"], "09:00-15:00", "Réveillon")
    ]
    moscow = datetime.combine(day, time(17, 0), tzinfo=ZoneInfo("Europe/Moscow"))
    query = NearestQuery(lat=55.7601, lon=37.6186, at=moscow, limit=10)
    assert "ru-msk-tverskaya" in [p.id for p in nearest(engine, query).places]  # other countries untouched

    again = add_to_places(engine, Places(country="FR"), day, day, hours="9h-15h", comment="Réveillon")
    assert again["batch"] is None and again["places"] == 0 and again["already"] == added["places"]  # a retry

    assert remove_batch(engine, added["batch"]) == added["places"]
    assert all(len(ids) > 5 for ids in open_ids(scratch_db, evening).values())
    assert list_for(engine, "fr-par-opera") == [] and batches(engine) == []
    with pytest.raises(NotFound):
        remove_batch(engine, added["batch"])


def test_a_batch_for_a_service_closes_the_desks_alone(scratch_db: ScratchDatabase) -> None:
    engine = scratch_db.engine
    ingest_file(engine, DEMO_CSV, source="demo")
    day = next_weekday(3)
    noon = datetime.combine(day, time(12, 0), tzinfo=PARIS)
    added = add_to_places(engine, Places(region="fr-idf"), day, day, service="repair", comment="formation")
    # The Paris places offering repair (the Marais and Euralille shops sell only), the shops among them keeping
    # their sales hours; the desks that followed their shop's hours got a copy of them, which goes with the batch.
    assert "fr-par-marais" not in added["location_ids"] and "fr-par-la-defense" in added["location_ids"]
    assert added["places"] == 6
    for ids in open_ids(scratch_db, noon, services=("repair",)).values():
        assert not set(ids) & set(added["location_ids"])
    assert all("fr-par-la-defense" in ids for ids in open_ids(scratch_db, noon).values())
    assert _own_hours(scratch_db, "fr-par-la-defense")[1] == ["repair"]
    remove_batch(engine, added["batch"])
    assert _own_hours(scratch_db, "fr-par-la-defense")[1] == []
    assert all("fr-par-la-defense" in ids for ids in open_ids(scratch_db, noon, services=("repair",)).values())


def test_invalid_batches_write_nothing(scratch_db: ScratchDatabase) -> None:
    engine = scratch_db.engine
    ingest_file(engine, DEMO_CSV, source="demo")
    day = next_weekday(1)
    with pytest.raises(InvalidParameter) as info:
        add_to_places(engine, Places(), day, day)  # every place by accident
    assert info.value.parameter == "places"
    with pytest.raises(InvalidParameter) as info:
        add_to_places(engine, Places(country="UK"), day, day)
    assert info.value.parameter == "country"
    with pytest.raises(NotFound, match="country=DE"):
        add_to_places(engine, Places(country="DE"), day, day)
    with pytest.raises(InvalidParameter, match="fr-par-marais") as info:
        # A named place without a repair desk: the batch is refused whole, not applied to the others.
        add_to_places(engine, Places(ids=("fr-par-opera", "fr-par-marais")), day, day, service="repair")
    assert info.value.parameter == "ids"
    with pytest.raises(InvalidParameter) as info:
        add_to_places(engine, Places(country="FR"), day, day, hours="10:00-14:00; Mo off")
    assert info.value.parameter == "hours"
    for blank in (Places(country=" ", kinds=("store",)), Places(region="", source="demo"), Places(kinds=("",))):
        with pytest.raises(InvalidParameter, match="empty"):  # a blank filter would widen the batch
            add_to_places(engine, blank, day, day)
    with pytest.raises(InvalidParameter) as info:
        add_to_places(engine, Places(country="FR"), date(1899, 12, 24), date(1899, 12, 24))
    assert info.value.parameter == "start"
    with pytest.raises(InvalidParameter) as info:
        add_to_places(engine, Places(country="FR"), date(9999, 12, 30), date(9999, 12, 31))
    assert info.value.parameter == "end"
    assert _batch_rows(scratch_db) == 0


def test_a_batch_leaves_out_the_days_a_place_is_closed(scratch_db: ScratchDatabase) -> None:
    """Short hours on 24-26 December must not open Strasbourg on its regional holiday (26th, Alsace-Moselle) nor
    either shop on Christmas Day, which their own hours close."""
    engine = scratch_db.engine
    ingest_file(engine, DEMO_CSV, source="demo")
    places = Places(ids=("fr-stg-kleber", "fr-par-opera"))
    christmas = (date(2031, 12, 24), date(2031, 12, 26))  # Wednesday to Friday

    def days(location_id: str) -> list[tuple[str, str]]:
        return [(item["start"], item["end"]) for item in list_for(engine, location_id)]

    added = add_to_places(engine, places, *christmas, hours="10:00-16:00")
    assert added["places"] == 2 and added["closed"] == 0
    assert days("fr-stg-kleber") == [("2031-12-24", "2031-12-24")]
    assert days("fr-par-opera") == [("2031-12-24", "2031-12-24"), ("2031-12-26", "2031-12-26")]
    remove_batch(engine, added["batch"])
    closed = add_to_places(engine, Places(ids=("fr-stg-kleber",)), date(2031, 12, 25), date(2031, 12, 26),
                           hours="10:00-16:00")  # fmt: skip
    assert closed["batch"] is None and closed["closed_ids"] == ["fr-stg-kleber"] and _batch_rows(scratch_db) == 0
    forced = add_to_places(engine, places, *christmas, hours="10:00-16:00", include_closed=True)
    assert days("fr-stg-kleber") == [("2031-12-24", "2031-12-26")]
    kleber = location_answer(engine, scratch_db.settings, "fr-stg-kleber",
                             datetime(2031, 12, 26, 11, tzinfo=PARIS))  # fmt: skip
    assert kleber["open"] is True
    remove_batch(engine, forced["batch"])


def test_a_service_exception_wins_over_the_place_s_on_its_day(scratch_db: ScratchDatabase) -> None:
    """The repair desk closed on a day the whole place has short hours stays closed, whichever came first: the
    place's exceptions were read after the service's and overrode them."""
    engine = scratch_db.engine
    ingest_file(engine, DEMO_CSV, source="demo")
    for order in ("desk first", "place first"):
        day = next_weekday(2 if order == "desk first" else 3)
        eleven = datetime.combine(day, time(11, 0), tzinfo=PARIS)
        desk = dict(service="repair", comment="technicien absent")
        added = []
        for kwargs in [desk, {"hours": "09:00-16:00"}] if order == "desk first" else [{"hours": "09:00-16:00"}, desk]:
            added.append(add(engine, "fr-par-opera", day, day, **kwargs))  # type: ignore[arg-type]
        for ids in open_ids(scratch_db, eleven, services=("repair",)).values():
            assert "fr-par-opera" not in ids, order
        assert all("fr-par-opera" in ids for ids in open_ids(scratch_db, eleven).values()), order
        for item in added:
            remove(engine, item["id"])


def test_admin_special_hours_batches(server: Server) -> None:
    day = next_weekday(6).isoformat()
    headers = {**auth(), "Content-Type": "application/json"}
    payload = f'{{"start": "{day}", "hours": "10:00-16:00", "country": "FR", "kinds": ["service_centre"]'
    status, _, counted = call(server, "/v1/admin/special-hours", method="POST",
                              body=(payload + ', "dry_run": true}').encode(), headers=headers)  # fmt: skip
    assert status == 200 and counted["batch"] is None and counted["places"] >= 8
    status, _, added = call(server, "/v1/admin/special-hours", method="POST", body=(payload + "}").encode(),
                            headers=headers)  # fmt: skip
    assert status == 201 and added["places"] == counted["places"] and added["batch"] > 0
    status, _, listed = call(server, "/v1/admin/locations/fr-par-ars-lafayette/special-hours", headers=auth())
    assert [s["batch"] for s in listed["special_hours"]] == [added["batch"]]
    status, _, held = call(server, "/v1/admin/special-hours/batches", headers=auth())
    assert status == 200 and held["batches"][0]["batch"] == added["batch"]
    assert held["batches"][0]["places"] == added["places"]
    status, _, _ = call(server, f"/v1/admin/special-hours/batches/{added['batch']}", method="DELETE", headers=auth())
    assert status == 204
    status, _, missing = call(server, f"/v1/admin/special-hours/batches/{added['batch']}", method="DELETE",
                              headers=auth())  # fmt: skip
    assert status == 404 and missing["title"] == "not found"
    status, _, refused = call(server, "/v1/admin/special-hours", method="POST",
                              body=f'{{"start": "{day}"}}'.encode(), headers=headers)  # fmt: skip
    assert status == 422 and refused["parameter"] == "places"
    misspelt = f'{{"start": "{day}", "country": "FR", "kind": "service_centre", "dry_run": true}}'.encode()
    status, _, refused = call(server, "/v1/admin/special-hours", method="POST", body=misspelt, headers=headers)
    assert status == 422 and refused["parameter"] == "kind"  # not every French place
    nul = f'{{"start": "{day}", "country": "FR", "comment": "Xmas\\u0000"}}'.encode()
    status, _, refused = call(server, "/v1/admin/special-hours", method="POST", body=nul, headers=headers)
    assert status == 422 and refused["parameter"] == "comment"
    status, _, _ = call(server, "/v1/admin/special-hours", method="POST", body=(payload + "}").encode(),
                        headers={"Content-Type": "application/json"})  # fmt: skip
    assert status == 401


def test_a_night_before_is_no_opening_of_the_day_after() -> None:
    """A bar open Fr-Sa 20:00-02:00 is closed on Sundays: the end of Saturday's night does not make Sunday a day
    a batch of short hours may open it on."""
    bar = Schedule("Fr-Sa 20:00-02:00", "Europe/Paris", "FR", None)
    saturday, sunday = date(2031, 12, 20), date(2031, 12, 21)
    assert bar.opens_on(saturday) and not bar.opens_on(sunday)
    assert Schedule("24/7", "Europe/Paris", "FR", None).opens_on(sunday)


def test_a_closure_batch_is_one_rule_and_a_retry_adds_nothing(scratch_db: ScratchDatabase) -> None:
    """A week's closure of a Tu-Sa shop is one exception (not one per open day, its comment missing on the
    others), and sent again it is 'already' there, not 'closed'."""
    engine = scratch_db.engine
    ingest_file(engine, DEMO_CSV, source="demo")
    week = (date(2031, 12, 1), date(2031, 12, 7))
    first = add_to_places(engine, Places(ids=("fr-par-marais",)), *week, comment="inventaire")
    assert first["places"] == 1 and [(i["start"], i["end"]) for i in list_for(engine, "fr-par-marais")] == [
        ("2031-12-01", "2031-12-07")
    ]
    again = add_to_places(engine, Places(ids=("fr-par-marais",)), *week, comment="inventaire")
    assert again["batch"] is None and again["already_ids"] == ["fr-par-marais"] and again["closed"] == 0


_LATER_FEED = """id,name,kind,city,region,country,lat,lon,opening_hours,services,products
new-par-bastille,New Store Bastille,store,Paris,FR-IDF,FR,48.8532,2.3691,"Mo-Su 08:00-22:00",sales;repair,iphone
new-par-closed,New Store Nation,store,Paris,FR-IDF,FR,48.8483,2.3959,"Mo-Su 08:00-22:00; {day} off",sales,iphone
new-ber-mitte,New Store Mitte,store,Berlin,,DE,52.5170,13.3889,"Mo-Su 08:00-22:00",sales,iphone
"""


def test_a_batch_reaches_the_places_a_later_feed_adds(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    """Christmas Eve's hours for French shops, added as a batch before a feed brings a new French shop: the new
    shop gets them in the feed's publish (its closed days left out as for the batch's own places), a German one
    does not, a batch of ids named one by one stays with them, and removing the batch takes the new rows too."""
    engine = scratch_db.engine
    ingest_file(engine, DEMO_CSV, source="demo")
    day = next_weekday(2)
    evening = datetime.combine(day, time(17, 0), tzinfo=PARIS)
    by_country = add_to_places(engine, Places(country="FR"), day, day, hours="09:00-15:00", comment="Réveillon")
    by_ids = add_to_places(engine, Places(ids=("fr-par-opera",)), day, day, service="repair", hours="off")
    desks = add_to_places(engine, Places(region="FR-IDF"), day, day, service="repair", hours="10:00-12:00")
    feed = tmp_path / "later.csv"
    feed.write_text(_LATER_FEED.format(day=day.strftime("%b %d")))
    preview = ingest_file(engine, feed, source="later", dry_run=True)  # planned as the publish plans them
    assert preview.batches == {by_country["batch"]: ["new-par-bastille"], desks["batch"]: ["new-par-bastille"]}
    with pytest.raises(NotFound):
        list_for(engine, "new-par-bastille")  # nothing written
    report = ingest_file(engine, feed, source="later")
    assert report.published and sorted(report.added) == ["new-ber-mitte", "new-par-bastille", "new-par-closed"]
    assert report.batches == {by_country["batch"]: ["new-par-bastille"], desks["batch"]: ["new-par-bastille"]}
    assert report.as_dict()["batches"] == {str(by_country["batch"]): 1, str(desks["batch"]): 1}
    held = {(item["batch"], item["service"], item["hours"]) for item in list_for(engine, "new-par-bastille")}
    assert held == {(by_country["batch"], "", "09:00-15:00"), (desks["batch"], "repair", "10:00-12:00")}
    assert list_for(engine, "new-par-closed") == [] and list_for(engine, "new-ber-mitte") == []
    assert by_ids["batch"] not in {item["batch"] for item in list_for(engine, "new-par-bastille")}
    selections = {item["batch"]: item["selection"] for item in batches(engine)}
    assert selections[by_ids["batch"]] is None
    assert selections[by_country["batch"]] == {"country": "FR", "region": None, "source": None, "kinds": []}
    assert selections[desks["batch"]]["region"] == "FR-IDF"
    # Both search paths: the new shop closes at 15:00 that day, its desk at 12:00.
    for ids in open_ids(scratch_db, evening).values():
        assert "new-par-bastille" not in ids and "new-par-closed" not in ids
    eleven = datetime.combine(day, time(11, 0), tzinfo=PARIS)
    one = datetime.combine(day, time(13, 0), tzinfo=PARIS)
    assert all("new-par-bastille" in ids for ids in open_ids(scratch_db, eleven, services=("repair",)).values())
    assert all("new-par-bastille" not in ids for ids in open_ids(scratch_db, one, services=("repair",)).values())

    again = ingest_file(engine, feed, source="later")  # nothing added: nothing applied twice
    assert again.batches == {} and len(list_for(engine, "new-par-bastille")) == 2
    assert remove_batch(engine, by_country["batch"]) == by_country["places"] + 1
    assert [item["batch"] for item in list_for(engine, "new-par-bastille")] == [desks["batch"]]
    feed.write_text(_LATER_FEED.replace("new-par-bastille", "new-par-republique").format(day=day.strftime("%b %d")))
    after = ingest_file(engine, feed, source="later", allow_removals=True)
    assert after.batches == {desks["batch"]: ["new-par-republique"]}  # the removed batch reaches no one


def test_a_batch_whose_places_are_all_closed_still_reaches_later_ones(
    scratch_db: ScratchDatabase, tmp_path: Path
) -> None:
    """A batch chosen by filters whose places are all closed that day applies to none of them, but its selection
    stands (a batch number, listed with no places): a shop the next feed adds, open that day, gets it. A retry,
    before or after, stores nothing new; a place holding the same exception from a batch of ids does not stop
    the selection being kept."""
    engine = scratch_db.engine
    day = next_weekday(2)
    header, bastille, closed, _ = _LATER_FEED.format(day=day.strftime("%b %d")).splitlines()
    feed = tmp_path / "later.csv"
    feed.write_text(f"{header}\n{closed}\n")
    assert ingest_file(engine, feed, source="later").published
    only_closed = add_to_places(engine, Places(source="later"), day, day, hours="09:00-15:00")
    assert only_closed["places"] == 0 and only_closed["closed_ids"] == ["new-par-closed"]
    assert only_closed["batch"] is not None
    listed = {item["batch"]: item for item in batches(engine)}[only_closed["batch"]]
    assert listed["places"] == 0 and listed["selection"]["source"] == "later"
    retried = add_to_places(engine, Places(source="later"), day, day, hours="09:00-15:00")  # before any feed
    assert retried["batch"] is None and [item["batch"] for item in batches(engine)] == [only_closed["batch"]]
    feed.write_text(f"{header}\n{bastille}\n{closed}\n")
    report = ingest_file(engine, feed, source="later")
    assert report.batches == {only_closed["batch"]: ["new-par-bastille"]}
    assert [(item["batch"], item["hours"]) for item in list_for(engine, "new-par-bastille")] == [
        (only_closed["batch"], "09:00-15:00")
    ]
    retry = add_to_places(engine, Places(source="later"), day, day, hours="09:00-15:00")
    assert retry["batch"] is None and retry["already_ids"] == ["new-par-bastille"]
    assert len([item for item in batches(engine) if item["selection"]]) == 1
    # The one open place holding it from a batch of ids, the rest closed: the selection is still kept.
    evening = add_to_places(engine, Places(ids=("new-par-bastille",)), day, day, hours="18:00-20:00")
    chosen = add_to_places(engine, Places(source="later"), day, day, hours="18:00-20:00")
    assert chosen["places"] == 0 and chosen["already_ids"] == ["new-par-bastille"]
    assert chosen["batch"] not in (None, evening["batch"])
    assert {item["batch"]: item["selection"] for item in batches(engine)}[chosen["batch"]]["source"] == "later"


def test_a_batch_reaches_the_places_a_feed_changes_into_its_selection(
    scratch_db: ScratchDatabase, tmp_path: Path
) -> None:
    """A batch for the repair desks of French shops reaches a shop whose next feed gives it a repair desk (the
    dry run previews it, the publish writes it, both search paths read it); a batch that selected a shop
    already, whose exception ops took back for that shop, does not come back with the shop's next change."""
    engine = scratch_db.engine
    ingest_file(engine, DEMO_CSV, source="demo")
    day = next_weekday(2)
    header, bastille, _, mitte = _LATER_FEED.format(day=day.strftime("%b %d")).splitlines()
    sales_only = bastille.replace("sales;repair", "sales")
    feed = tmp_path / "later.csv"
    feed.write_text(f"{header}\n{sales_only}\n{mitte}\n")
    assert ingest_file(engine, feed, source="later").published
    desks = add_to_places(engine, Places(country="FR"), day, day, service="repair", hours="10:00-12:00")
    shops = add_to_places(engine, Places(country="FR"), day, day, hours="09:00-15:00")
    assert "new-par-bastille" not in desks["location_ids"] and "new-par-bastille" in shops["location_ids"]
    taken_back = [item for item in list_for(engine, "new-par-bastille") if item["batch"] == shops["batch"]]
    remove(engine, taken_back[0]["id"])

    feed.write_text(f"{header}\n{bastille.replace('New Store', 'Store')}\n{mitte}\n")
    preview = ingest_file(engine, feed, source="later", dry_run=True)
    assert preview.changed == ["new-par-bastille"] and preview.batches == {desks["batch"]: ["new-par-bastille"]}
    assert list_for(engine, "new-par-bastille") == []  # nothing written
    report = ingest_file(engine, feed, source="later")
    assert report.batches == {desks["batch"]: ["new-par-bastille"]}
    held = [(item["batch"], item["service"], item["hours"]) for item in list_for(engine, "new-par-bastille")]
    assert held == [(desks["batch"], "repair", "10:00-12:00")]
    one = datetime.combine(day, time(13, 0), tzinfo=PARIS)
    eleven = datetime.combine(day, time(11, 0), tzinfo=PARIS)
    for ids in open_ids(scratch_db, one, services=("repair",)).values():
        assert "new-par-bastille" not in ids
    for ids in open_ids(scratch_db, eleven, services=("repair",)).values():
        assert "new-par-bastille" in ids
    again = ingest_file(engine, feed, source="later")  # unchanged now: nothing applied twice
    assert again.batches == {} and len(list_for(engine, "new-par-bastille")) == 1


@pytest.mark.parametrize(
    ("first", "second"),
    [(("", "off"), ("repair", "10:00-12:00")), (("", "09:00-15:00"), ("", "09:00-15:00"))],
    ids=["a-closure-then-a-desk-following-the-place", "the-same-exception-twice"],
)
def test_a_dry_run_previews_the_batches_the_publish_applies(
    scratch_db: ScratchDatabase, tmp_path: Path, first: tuple[str, str], second: tuple[str, str]
) -> None:
    """With two batches in force for the same day the publish plans each after writing the one before (a
    country's closure closes a desk that follows its place's hours; the same exception from two selections is
    held once): the dry run's preview plans them alike, and equals the publish's report."""
    engine = scratch_db.engine
    ingest_file(engine, DEMO_CSV, source="demo")
    day = next_weekday(2)
    add_to_places(engine, Places(country="FR"), day, day, service=first[0], hours=first[1])
    add_to_places(engine, Places(region="FR-IDF"), day, day, service=second[0], hours=second[1])
    feed = tmp_path / "later.csv"
    feed.write_text(_LATER_FEED.format(day=day.strftime("%b %d")))
    preview = ingest_file(engine, feed, source="later", dry_run=True)
    report = ingest_file(engine, feed, source="later")
    assert report.published and preview.batches == report.batches and report.batches


def test_batches_and_publishes_wait_for_each_other_without_failing(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    """A publish that adds places waits for a batch being added (the batch's lock held elsewhere) and then gives
    its new places the batch; one that adds nothing, and the removal of a batch of ids, do not wait for it. A
    batch whose places have all gone stays listed (with none) and still reaches a later feed's."""
    engine = scratch_db.engine
    ingest_file(engine, DEMO_CSV, source="demo")
    day = next_weekday(2)
    by_country = add_to_places(engine, Places(country="FR"), day, day, hours="09:00-15:00")
    by_ids = add_to_places(engine, Places(ids=("fr-par-opera",)), day, day, service="repair", hours="off")
    feed = tmp_path / "later.csv"
    feed.write_text(_LATER_FEED.format(day=day.strftime("%b %d")))
    holder = engine.connect()
    holder.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": BATCH_LOCK})  # a batch at work elsewhere
    try:
        with ThreadPoolExecutor(1) as pool:
            publishing = pool.submit(ingest_file, engine, feed, source="later")
            sleep(1.5)
            assert not publishing.done()  # it waits for the batch to be done...
            assert remove_batch(engine, by_ids["batch"]) == 1  # ...which a batch of ids does not
            assert ingest_file(engine, DEMO_CSV, source="demo").outcome == "published"  # nor a feed adding none
            holder.rollback()
            report = publishing.result(timeout=60)
    finally:
        holder.close()
    assert report.published and report.batches == {by_country["batch"]: ["new-par-bastille"]}

    retired = tmp_path / "empty.csv"
    retired.write_text(_LATER_FEED.splitlines()[0] + "\n")
    for source in ("demo", "later"):  # every place of the batch gone
        assert ingest_file(engine, retired, source=source, allow_removals=True).published
    listed = {item["batch"]: item for item in batches(engine)}
    assert listed[by_country["batch"]]["places"] == 0 and listed[by_country["batch"]]["selection"]["country"] == "FR"
    assert ingest_file(engine, feed, source="later").batches == {by_country["batch"]: ["new-par-bastille"]}


def test_a_service_centres_repair_desk_can_be_closed_though_its_feed_lists_no_repair(
    scratch_db: ScratchDatabase, tmp_path: Path
) -> None:
    """Searches read a service centre as offering repair (locator.places); its repair exception was refused
    ("does not offer 'repair'") and batches for repair passed it by, so it showed open on the day every desk of
    its source was closed."""
    feed = tmp_path / "centres.csv"
    feed.write_text("id,name,kind,country,lat,lon,opening_hours,services\n"
                    "svc-1,Atelier,service_centre,FR,48.855,2.31,Mo-Su 09:00-19:00,pickup\n"
                    "svc-2,Atelier 2,service_centre,FR,48.856,2.31,Mo-Su 09:00-19:00,pickup\n",
                    encoding="utf-8")  # fmt: skip
    assert ingest_file(scratch_db.engine, feed, source="centres").outcome == "published"
    day = next_weekday(2)
    noon = datetime.combine(day, time(12, 0), tzinfo=PARIS)
    query = NearestQuery(lat=48.855, lon=2.31, at=noon, services=("repair",), limit=5)
    assert {p.id for p in nearest(scratch_db.engine, query).places} == {"svc-1", "svc-2"}
    add(scratch_db.engine, "svc-1", day, day, service="repair", comment="technicien absent")
    batch = add_to_places(scratch_db.engine, Places(source="centres", ids=("svc-2",)), day, day, service="repair")
    assert batch["location_ids"] == ["svc-2"]
    for force_direct in (False, True):
        assert nearest(scratch_db.engine, query, force_direct=force_direct).places == []
    # The centre itself (no service asked) follows its hours.
    assert len(nearest(scratch_db.engine, NearestQuery(lat=48.855, lon=2.31, at=noon, limit=5)).places) == 2


def test_an_exceptions_sun_times_are_the_places(scratch_db: ScratchDatabase) -> None:
    # The Opéra's regular hours name no sun event: "sunrise-sunset" on its exception day was computed at a
    # default place, 07:00-19:00 in December in Paris, where the sun is up ~08:40-17:00.
    ingest_file(scratch_db.engine, DEMO_CSV, source="demo")
    day = date(2026, 12, 21)
    add(scratch_db.engine, "fr-par-opera", day, day, hours="sunrise-sunset")
    answer = location_answer(scratch_db.engine, scratch_db.settings, "fr-par-opera",
                             datetime.combine(day, time(12, 0), tzinfo=PARIS))  # fmt: skip
    (spell,) = [s for s in answer["week"]["sales"] if s["from"].startswith("2026-12-21")]  # the shop floor
    opens, closes = datetime.fromisoformat(spell["from"]), datetime.fromisoformat(spell["to"])
    assert time(8, 30) <= opens.time() <= time(8, 50) and time(16, 50) <= closes.time() <= time(17, 5), spell


@pytest.mark.parametrize("hours", ["Mo 10:00-12:00", "Dec 25 10:00-12:00", "PH 10:00-12:00"])
def test_an_exceptions_hours_have_no_days_of_their_own(scratch_db: ScratchDatabase, hours: str) -> None:
    # Its days are the exception's: "Mo 10:00-12:00" on a Sunday matched no day and changed nothing; a date made
    # the engine refuse the rule with a dump of the place's hours.
    ingest_file(scratch_db.engine, DEMO_CSV, source="demo")
    with pytest.raises(InvalidParameter, match="without days or dates of their own"):
        add(scratch_db.engine, "fr-par-opera", date(2026, 12, 27), date(2026, 12, 27), hours=hours)


def test_a_feed_that_drops_a_place_warns_of_the_exceptions_going_with_it(
    scratch_db: ScratchDatabase, tmp_path: Path
) -> None:
    # They were deleted without a word (ON DELETE CASCADE): back in a later feed, the place reopened on its
    # regular hours in the middle of its works.
    ingest_file(scratch_db.engine, DEMO_CSV, source="demo")
    day = next_weekday(2)
    add(scratch_db.engine, "fr-par-opera", day, day + timedelta(days=30), comment="travaux")
    lines = DEMO_CSV.read_text(encoding="utf-8").splitlines(keepends=True)
    without = tmp_path / "demo.csv"
    without.write_text("".join(line for line in lines if not line.startswith("fr-par-opera,")), encoding="utf-8")
    for dry_run in (True, False):
        report = ingest_file(scratch_db.engine, without, source="demo", dry_run=dry_run)
        assert report.removed == ["fr-par-opera"]
        (warning,) = [w for w in report.warnings if w.value == "fr-par-opera"]
        assert (warning.row, warning.column) == (0, "id")
        assert warning.message.startswith(f"removed with 1 exception(s) of ops in force ({day}.."), warning


def test_a_closure_taken_back_gives_the_place_the_batches_it_kept_out(scratch_db: ScratchDatabase) -> None:
    """Short hours for France's shops on a day the Opéra was closed for works left it out; when ops take the
    closure back, the Opéra follows the short hours, not its regular ones (open at 17:00 though the country's
    shops closed at 12:00). A batch's row ops remove from one place stays removed."""
    engine = scratch_db.engine
    ingest_file(engine, DEMO_CSV, source="demo")
    monday, tuesday, wednesday = date(2031, 3, 10), date(2031, 3, 11), date(2031, 3, 12)
    works = add(engine, "fr-par-opera", monday, wednesday, comment="works")
    short = add_to_places(engine, Places(country="FR"), tuesday, tuesday, hours="09:00-12:00", comment="inventory")
    assert "fr-par-opera" in short["closed_ids"] or "fr-par-opera" not in short["location_ids"]

    def opera(hour: int) -> bool:
        answer = location_answer(engine, scratch_db.settings, "fr-par-opera",
                                 datetime.combine(tuesday, time(hour), PARIS))  # fmt: skip
        return bool(answer["open"])

    assert not opera(10)
    remove(engine, works["id"])
    assert opera(10) and not opera(17)
    held = [item for item in list_for(engine, "fr-par-opera") if item["batch"] == short["batch"]]
    assert [(item["start"], item["end"], item["hours"]) for item in held] == [
        ("2031-03-11", "2031-03-11", "09:00-12:00")
    ]
    remove(engine, held[0]["id"])  # ops take the batch's row back from this place: it stays back
    assert opera(17) and not [item for item in list_for(engine, "fr-par-opera") if item["batch"]]
    remove_batch(engine, short["batch"])


def _shop_with_a_desk(db: ScratchDatabase, tmp_path: Path) -> None:
    """`t-desk` at the Opéra: a shop open Mo-Sa 09:00-20:00 whose repair desk opens Mo-Fr 10:00-18:00."""
    feed = tmp_path / "desk.csv"
    feed.write_text(
        "id,name,country,lat,lon,services,opening_hours,service_hours\n"
        f"t-desk,Desk,FR,{OPERA[0]},{OPERA[1]},sales;repair,Mo-Sa 09:00-20:00,Mo-Fr 10:00-18:00\n",
        encoding="utf-8",
    )
    ingest_file(db.engine, feed, source="desk")


def test_the_places_exception_bounds_a_desk_with_hours_of_its_own(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    """The shop opens on a Sunday, and has short hours on a Monday: its repair desk (Mo-Fr 10:00-18:00) stays
    closed that Sunday and opens 10:00-12:00 that Monday. The desk was opened on the Sunday (11:00-18:00) and
    at 09:30 on the Monday, by both search paths."""
    _shop_with_a_desk(scratch_db, tmp_path)
    today = datetime.now(PARIS).date()
    sunday = today + timedelta(days=(6 - today.weekday()) % 7 or 7)
    monday = sunday + timedelta(days=1)
    add(scratch_db.engine, "t-desk", sunday, sunday, hours="11:00-18:00", comment="Christmas Sunday")
    add(scratch_db.engine, "t-desk", monday, monday, hours="09:00-12:00", comment="short hours")

    def at(day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=PARIS)

    for moment, shop, desk in ((at(sunday, 12), True, False), (at(monday, 9, 30), True, False),
                               (at(monday, 11), True, True), (at(monday, 13), False, False)):  # fmt: skip
        for path, ids in open_ids(scratch_db, moment).items():
            assert ("t-desk" in ids) == shop, (moment, path)
        for path, ids in open_ids(scratch_db, moment, services=("repair",)).items():
            assert ("t-desk" in ids) == desk, (moment, path)
    week = location_answer(scratch_db.engine, scratch_db.settings, "t-desk", at(sunday, 0))["week"]
    assert [(i["from"][11:16], i["to"][11:16]) for i in week["repair"] if i["from"].startswith(str(monday))] == [
        ("10:00", "12:00")
    ]


def test_the_one_service_a_place_offers_takes_its_exceptions_for_the_place(
    scratch_db: ScratchDatabase, tmp_path: Path
) -> None:
    """A service centre that is nothing else, its repair desk closed for a training day, was answered open
    (its `open` follows the place's hours) beside repair hours saying closed; the same for a kiosk's sales."""
    feed = tmp_path / "sole.csv"
    feed.write_text(
        "id,name,kind,country,lat,lon,services,opening_hours\n"
        f"t-sc,Centre,service_centre,FR,{OPERA[0]},{OPERA[1]},,Mo-Fr 09:00-17:00\n"
        f"t-kiosk,Kiosk,kiosk,FR,{OPERA[0]},{OPERA[1]},sales,Mo-Fr 09:00-17:00\n"
        f"t-both,Both,store,FR,{OPERA[0]},{OPERA[1]},sales;repair,Mo-Fr 09:00-17:00\n",
        encoding="utf-8",
    )
    ingest_file(scratch_db.engine, feed, source="sole")
    day = next_weekday(2)
    noon = datetime.combine(day, time(12), tzinfo=PARIS)
    add(scratch_db.engine, "t-sc", day, day, service="repair", comment="training day")
    add(scratch_db.engine, "t-kiosk", day, day, service="sales", comment="inventory")
    add(scratch_db.engine, "t-both", day, day, service="repair", comment="training day")
    for path, ids in open_ids(scratch_db, noon).items():
        assert "t-sc" not in ids and "t-kiosk" not in ids and "t-both" in ids, (path, ids)  # both: sales is open
    for path, ids in open_ids(scratch_db, noon, services=("repair",)).items():
        assert "t-sc" not in ids and "t-both" not in ids, (path, ids)
    centre = location_answer(scratch_db.engine, scratch_db.settings, "t-sc", noon)
    assert centre["open"] is False and centre["status_comment"] == "training day", centre


def test_taking_back_a_closure_adds_no_batch_twice_and_none_taken_back(scratch_db: ScratchDatabase) -> None:
    """A closure added after a batch and then removed gave the place the batch's days again: a second row for a
    day its first row held already, or the batch's exception ops had taken back from the place."""
    engine = scratch_db.engine
    ingest_file(engine, DEMO_CSV, source="demo")
    week = (date(2031, 3, 10), date(2031, 3, 12))  # Monday to Wednesday
    short = add_to_places(engine, Places(country="FR"), *week, hours="09:00-12:00", comment="inventory")

    def batch_days() -> list[tuple[str, str]]:
        return [(i["start"], i["end"]) for i in list_for(engine, "fr-par-opera") if i["batch"] == short["batch"]]

    assert batch_days() == [("2031-03-10", "2031-03-12")]
    closure = add(engine, "fr-par-opera", week[0] + timedelta(days=1), week[0] + timedelta(days=1))
    remove(engine, closure["id"])
    assert batch_days() == [("2031-03-10", "2031-03-12")]  # no second row for the Tuesday
    taken_back = next(i for i in list_for(engine, "fr-par-opera") if i["batch"] == short["batch"])
    remove(engine, taken_back["id"])
    closure = add(engine, "fr-par-opera", *week)
    remove(engine, closure["id"])
    assert batch_days() == []  # taken back, it stays back
    remove_batch(engine, short["batch"])


def test_a_batch_for_a_desk_plans_against_the_desks_bounded_days(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    """Under the shop's Sunday opening the desk (closed on Sundays) stays closed: a batch of desk hours that
    Sunday leaves it out as closed. It was planned with the shop's opening, and opened the desk 10:00-12:00."""
    _shop_with_a_desk(scratch_db, tmp_path)
    sunday = date(2031, 3, 9)
    add(scratch_db.engine, "t-desk", sunday, sunday, hours="11:00-18:00", comment="Sunday opening")
    planned = add_to_places(scratch_db.engine, Places(ids=("t-desk",)), sunday, sunday, hours="10:00-12:00",
                            service="repair", dry_run=True)  # fmt: skip
    assert planned["places"] == 0 and planned["closed_ids"] == ["t-desk"], planned


def test_hours_typed_by_hand_that_could_mean_the_afternoon_are_refused(scratch_db: ScratchDatabase) -> None:
    """`9-5` was saved as 09:00-05:00, without the warning a feed gets: the shop open all night."""
    ingest_file(scratch_db.engine, DEMO_CSV, source="demo")
    day = next_weekday(1)
    for hours in ("9-5", "10-2"):
        with pytest.raises(InvalidParameter, match=r"ambiguous single-digit end hour .* write the times in full"):
            add(scratch_db.engine, "fr-par-opera", day, day, hours=hours)
    assert add(scratch_db.engine, "fr-par-opera", day, day, hours="9h-17h")["hours"] == "09:00-17:00"


def test_the_same_exception_sent_twice_is_held_once(scratch_db: ScratchDatabase) -> None:
    """A client's retry stored a second row; taking back the id it was given left the place closed."""
    ingest_file(scratch_db.engine, DEMO_CSV, source="demo")
    day = next_weekday(2)
    first = add(scratch_db.engine, "fr-par-marais", day, day, comment="inventaire")
    again = add(scratch_db.engine, "fr-par-marais", day, day, comment="inventaire")
    assert (first["created"], again["created"], again["id"]) == (True, False, first["id"])
    remove(scratch_db.engine, first["id"])
    assert list_for(scratch_db.engine, "fr-par-marais") == []
    other = add(scratch_db.engine, "fr-par-marais", day, day, comment="autre")  # another comment: another one
    assert other["created"] and other["id"] != first["id"]


def test_a_blank_service_and_a_note_given_twice_are_refused_by_name(scratch_db: ScratchDatabase) -> None:
    """`service: " "` closed the whole place; hours with a note of their own and a comment too were refused
    with a dump of the place's hours."""
    ingest_file(scratch_db.engine, DEMO_CSV, source="demo")
    day = next_weekday(1)
    with pytest.raises(InvalidParameter) as info:
        add(scratch_db.engine, "fr-par-opera", day, day, service=" ")
    assert info.value.parameter == "service"
    with pytest.raises(InvalidParameter, match="a note of its own and a comment") as info:
        add(scratch_db.engine, "fr-par-opera", day, day, hours='10:00-14:00 "inv"', comment="abc")
    assert info.value.parameter == "hours" and "Mo-" not in str(info.value)


def test_a_region_without_its_country_is_refused(scratch_db: ScratchDatabase) -> None:
    """`CA` took California, Cádiz and Cagliari, and kept taking the places later feeds add there."""
    ingest_file(scratch_db.engine, DEMO_CSV, source="demo")
    day = next_weekday(1)
    with pytest.raises(InvalidParameter, match="names a region of several countries") as info:
        add_to_places(scratch_db.engine, Places(region="IDF"), day, day, dry_run=True)
    assert info.value.parameter == "region"
    assert add_to_places(scratch_db.engine, Places(region="IDF", country="FR"), day, day, dry_run=True)["places"]
    assert add_to_places(scratch_db.engine, Places(region="FR-IDF"), day, day, dry_run=True)["places"]


def test_a_batch_waits_for_a_publish_of_its_places_without_holding_it_up(scratch_db: ScratchDatabase) -> None:
    """A batch took its lock, then waited for the source a publish held; the publish then waited for the batch's
    lock: the batch failed after its 10 s every time, and the publish was held up as long."""
    from locator.db import lock_source

    engine = scratch_db.engine
    ingest_file(engine, DEMO_CSV, source="demo")
    day = next_weekday(2)
    holder = engine.connect()
    lock_source(holder, "demo")  # a publish of the batch's places at work
    try:
        with ThreadPoolExecutor(1) as pool:
            adding = pool.submit(add_to_places, engine, Places(source="demo"), day, day, hours="09:00-15:00")
            sleep(1.5)
            assert not adding.done()
            # The publish, adding places, takes the batch lock shared: free, as the batch waits without it.
            got = holder.execute(text("SELECT pg_try_advisory_xact_lock_shared(:k)"), {"k": BATCH_LOCK}).scalar_one()
            assert got
            holder.rollback()
            assert adding.result(timeout=30)["batch"] is not None
    finally:
        holder.close()
