"""The materialised intervals' day partitions: created as the window moves, past days dropped, rows in place."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from ingest.publish import IngestReport, ingest_file
from locator import open_intervals, special_hours
from locator.errors import Busy
from locator.open_intervals import (
    drop_expired_partitions,
    ensure_partitions,
    partition_name,
    refresh_if_stale,
    window_days,
    window_for,
)
from tests.conftest import DEMO_CSV, ScratchDatabase


def partitions(db: ScratchDatabase) -> list[str]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = 'open_intervals'::regclass")
        )
        return sorted(rows.scalars())


def test_refresh_creates_the_window_days_and_a_moved_window_drops_the_past(scratch_db: ScratchDatabase) -> None:
    ingest_file(scratch_db.engine, DEMO_CSV, source="demo")
    now = datetime.now(UTC)
    assert partitions(scratch_db) == [partition_name(day) for day in window_days(window_for(now))]
    with scratch_db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT tableoid::regclass::text AS part, day, lower(during) AS start, upper(during) AS stop"
                 "  FROM open_intervals")
        ).all()  # fmt: skip
    assert rows
    for row in rows:  # every row sits in its own day's partition, and its spell touches that day
        assert row.part == partition_name(row.day)
        assert (
            row.start.astimezone(UTC).date() <= row.day <= (row.stop - timedelta(microseconds=1)).astimezone(UTC).date()
        )

    # Three days later: the timer's refresh moves the window, creates its days and tomorrow's ahead (so that
    # publishes find them), and drops the days left behind.
    later = now + timedelta(days=3)
    assert refresh_if_stale(scratch_db.engine, later)
    days = sorted(set(window_days(window_for(later))) | set(window_days(window_for(later + timedelta(days=1)))))
    assert partitions(scratch_db) == [partition_name(day) for day in days]
    assert not refresh_if_stale(scratch_db.engine, later)
    with scratch_db.engine.connect() as conn:
        first = conn.execute(text("SELECT min(day) FROM open_intervals")).scalar_one()
    assert first >= window_for(later).start.date()


def test_creating_partitions_is_idempotent_and_transactional(scratch_db: ScratchDatabase) -> None:
    now = datetime.now(UTC)
    today = window_days(window_for(now))
    ahead = window_days(window_for(now + timedelta(days=30)))
    with scratch_db.engine.connect() as conn:
        assert ensure_partitions(conn, ahead) == [partition_name(day) for day in ahead]
        conn.rollback()  # a publish that fails leaves no partition behind
    assert partitions(scratch_db) == []
    with scratch_db.engine.begin() as conn:
        ensure_partitions(conn, today + ahead)
    with scratch_db.engine.begin() as conn:
        assert ensure_partitions(conn, ahead) == []
    # Every day before the window goes, whatever created it; the window's days stay.
    assert drop_expired_partitions(scratch_db.engine, now + timedelta(days=30)) == [partition_name(d) for d in today]
    assert partitions(scratch_db) == [partition_name(day) for day in ahead]


def test_a_day_detached_but_not_dropped_is_dropped_on_the_next_tick(scratch_db: ScratchDatabase) -> None:
    now = datetime.now(UTC)
    past = window_for(now).start.date() - timedelta(days=1)
    with scratch_db.engine.begin() as conn:
        ensure_partitions(conn, [past])
        conn.exec_driver_sql(f"ALTER TABLE open_intervals DETACH PARTITION {partition_name(past)}")
    assert drop_expired_partitions(scratch_db.engine, now) == [partition_name(past)]
    with scratch_db.engine.connect() as conn:
        assert conn.execute(text("SELECT to_regclass(:t)"), {"t": partition_name(past)}).scalar() is None


def test_removed_places_take_their_intervals_and_the_days_hold_no_lock_on_locations(
    scratch_db: ScratchDatabase,
) -> None:
    """No foreign key (migration 0007): creating or dropping a day must not lock `locations`, which every
    search and ingest uses; a deleted place's intervals still go in the same statement."""
    ingest_file(scratch_db.engine, DEMO_CSV, source="demo")
    with scratch_db.engine.connect() as conn:
        some = conn.execute(text("SELECT location_id FROM open_intervals LIMIT 1")).scalar_one()
        keys = conn.execute(
            text("SELECT count(*) FROM pg_constraint WHERE conrelid = 'open_intervals'::regclass AND contype = 'f'")
        ).scalar_one()
    assert keys == 0
    with scratch_db.engine.begin() as conn:
        conn.execute(text("DELETE FROM locations WHERE id = :id"), {"id": some})
        left = conn.execute(text("SELECT count(*) FROM open_intervals WHERE location_id = :id"), {"id": some})
        assert left.scalar_one() == 0
    future = window_days(window_for(datetime.now(UTC) + timedelta(days=40)))[-1]
    with scratch_db.engine.begin() as conn:
        ensure_partitions(conn, [future])
        locks = (
            conn.execute(
                text("SELECT mode FROM pg_locks WHERE relation = 'locations'::regclass AND pid = pg_backend_pid()")
            )
            .scalars()
            .all()
        )
    assert locks == []


class PausedRefresh:
    """A full refresh stopped after it has read the places and their exceptions, before it writes: the moment
    a publish or an exception committed meanwhile used to slip through (open_intervals.MATERIALISE_LOCK)."""

    def __init__(self, db: ScratchDatabase, monkeypatch: pytest.MonkeyPatch) -> None:
        self.read = threading.Event()
        self.go_on = threading.Event()
        self.error: BaseException | None = None
        real = open_intervals.special_hours_by_location

        def pausing(conn: Any, location_ids: Any, first_day: datetime) -> Any:
            found = real(conn, location_ids, first_day)
            if location_ids is None:
                self.read.set()
                assert self.go_on.wait(30)
            return found

        monkeypatch.setattr(open_intervals, "special_hours_by_location", pausing)

        def run() -> None:
            try:
                with db.engine.begin() as conn:
                    open_intervals.refresh(conn)
            except BaseException as exc:  # reported by finish()
                self.error = exc
                self.read.set()

        self.thread = threading.Thread(target=run)
        self.thread.start()
        assert self.read.wait(30)

    def finish(self) -> None:
        self.go_on.set()
        self.thread.join(30)
        assert self.error is None


def _concurrently(work: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    out: list[object] = []
    thread = threading.Thread(target=lambda: out.append(work()))
    thread.start()
    return thread, out


def _duplicates(db: ScratchDatabase) -> list[Any]:
    with db.engine.connect() as conn:
        return conn.execute(
            text("SELECT location_id, service, day, during FROM open_intervals GROUP BY 1, 2, 3, 4 HAVING count(*) > 1")
        ).all()


def test_an_exception_added_during_a_full_refresh_is_not_lost(
    scratch_db: ScratchDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The refresh read the place without the closure; the closure's own refresh could not see the refresh's
    rows, so both sets stayed: the place showed open on the day ops had closed it, until the next day."""
    ingest_file(scratch_db.engine, DEMO_CSV, source="demo")
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    paused = PausedRefresh(scratch_db, monkeypatch)
    thread, _ = _concurrently(lambda: special_hours.add(scratch_db.engine, "fr-par-champs", tomorrow.date(),
                                                        tomorrow.date(), hours="off", comment="inventory"))  # fmt: skip
    time.sleep(0.5)  # the exception waits for the refresh (it used to wait on the refresh's row locks only)
    paused.finish()
    thread.join(30)
    assert not thread.is_alive()
    paris = ZoneInfo("Europe/Paris")
    day = tomorrow.astimezone(paris).date()
    start = datetime.combine(day, datetime.min.time(), tzinfo=paris)
    with scratch_db.engine.connect() as conn:
        open_that_day = conn.execute(
            text(
                "SELECT count(*) FROM open_intervals WHERE location_id = 'fr-par-champs' AND service = ''"
                "   AND during && tstzrange(:start, :end)"
            ),
            {"start": start, "end": start + timedelta(days=1)},
        ).scalar_one()
    assert open_that_day == 0
    assert _duplicates(scratch_db) == []


def test_a_place_removed_during_a_full_refresh_leaves_no_intervals(
    scratch_db: ScratchDatabase, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The removed place's trigger could not see the refresh's uncommitted rows: they outlived the place."""
    ingest_file(scratch_db.engine, DEMO_CSV, source="demo")
    lines = DEMO_CSV.read_text(encoding="utf-8").splitlines(keepends=True)
    feed = tmp_path / "fewer.csv"
    feed.write_text("".join(line for line in lines if not line.startswith("fr-par-champs,")), encoding="utf-8")
    paused = PausedRefresh(scratch_db, monkeypatch)
    thread, reports = _concurrently(lambda: ingest_file(scratch_db.engine, feed, source="demo"))
    time.sleep(0.5)
    paused.finish()
    thread.join(60)
    assert not thread.is_alive() and reports
    report = reports[0]
    assert isinstance(report, IngestReport) and report.published and report.removed == ["fr-par-champs"]
    with scratch_db.engine.connect() as conn:
        orphans = conn.execute(
            text("SELECT count(*) FROM open_intervals AS o WHERE NOT EXISTS (SELECT FROM locations AS l"
                 " WHERE l.id = o.location_id)")
        ).scalar_one()  # fmt: skip
    assert orphans == 0
    assert _duplicates(scratch_db) == []


def test_an_exception_waits_for_a_full_refresh_then_gives_up_as_busy(
    scratch_db: ScratchDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest_file(scratch_db.engine, DEMO_CSV, source="demo")
    monkeypatch.setattr(special_hours, "REFRESH_WAIT", "200ms")
    paused = PausedRefresh(scratch_db, monkeypatch)
    try:
        day = (datetime.now(UTC) + timedelta(days=1)).date()
        with pytest.raises(Busy, match="being refreshed"):
            special_hours.add(scratch_db.engine, "fr-par-champs", day, day, hours="off")
    finally:
        paused.finish()
    with scratch_db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM special_hours")).scalar_one() == 0


def test_an_exception_removed_while_a_publish_rewrites_the_place_is_gone_from_its_intervals(
    scratch_db: ScratchDatabase,
) -> None:
    """The publish's refresh read the exception before the removal committed; the removal's refresh could not
    see the publish's new rows: both sets stayed, one still closed for the removed exception."""
    ingest_file(scratch_db.engine, DEMO_CSV, source="demo")
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    closure = special_hours.add(scratch_db.engine, "fr-par-champs", tomorrow, tomorrow, hours="off")
    with scratch_db.engine.begin() as publishing:  # what a publish that changed the place does, held open
        open_intervals.hold_places(publishing, "1s")
        publishing.execute(text("UPDATE locations SET name = 'Renamed' WHERE id = 'fr-par-champs'"))
        open_intervals.refresh(publishing, ["fr-par-champs"])
        thread, _ = _concurrently(lambda: special_hours.remove(scratch_db.engine, closure["id"]))
        time.sleep(0.5)
    thread.join(30)
    assert not thread.is_alive()
    assert _duplicates(scratch_db) == []
    with scratch_db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT count(*) FROM open_intervals WHERE location_id = 'fr-par-champs' AND service = ''"
                 "   AND day = CAST(:day AS date)"),
            {"day": tomorrow},
        ).scalar_one()  # fmt: skip
    assert rows > 0  # open again tomorrow
