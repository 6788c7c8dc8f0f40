"""The materialised intervals' day partitions: created as the window moves, past days dropped, rows in place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from ingest.publish import ingest_file
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
