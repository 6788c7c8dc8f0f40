"""The materialised intervals' day partitions: created as the window moves, past days dropped, rows in place."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from ingest.publish import IngestReport, ingest_file
from locator import open_intervals, search, special_hours
from locator.errors import Busy
from locator.open_intervals import (
    day_search_functions,
    drop_expired_partitions,
    ensure_partitions,
    partition_name,
    refresh_if_stale,
    repair_day_functions,
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
    # publishes find them), and drops the days left behind on a tick RETIRE_AFTER_S after the move.
    later = now + timedelta(days=3)
    assert refresh_if_stale(scratch_db.engine, later)
    days = sorted(set(window_days(window_for(later))) | set(window_days(window_for(later + timedelta(days=1)))))
    left = [partition_name(day) for day in window_days(window_for(now)) if day < days[0]]
    assert partitions(scratch_db) == sorted(left + [partition_name(day) for day in days])
    _age_window_row(scratch_db, open_intervals.RETIRE_AFTER_S)
    assert not refresh_if_stale(scratch_db.engine, later)
    assert partitions(scratch_db) == [partition_name(day) for day in days]
    with scratch_db.engine.connect() as conn:
        first = conn.execute(text("SELECT min(day) FROM open_intervals")).scalar_one()
    assert first >= window_for(later).start.date()


def _age_window_row(db: ScratchDatabase, seconds: float) -> None:
    """As if the window had moved `seconds` earlier."""
    with db.engine.begin() as conn:
        conn.execute(
            text("UPDATE materialisation SET refreshed_at = refreshed_at - make_interval(secs => :s)"), {"s": seconds}
        )


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
    # Each day's search functions (migrations 0025 and 0026) come and go with its table.
    expected = sorted(name for day in ahead for name in day_search_functions(partition_name(day)))
    assert day_functions(scratch_db) == expected


def day_functions(db: ScratchDatabase) -> list[str]:
    with db.engine.connect() as conn:
        names = conn.execute(text("SELECT proname FROM pg_proc WHERE proname LIKE 'open\\_intervals\\_d%'"))
        return sorted(name for (name,) in names)


def test_two_timers_repair_a_day_s_functions_in_turn(scratch_db: ScratchDatabase) -> None:
    """A day lacking one of its search functions gets both back, also when a namesake in another schema exists;
    two workers' timers ticking together repair it in turn (the second found the first's functions being
    made: "tuple concurrently updated", or a unique violation, and lost its tick)."""
    day = window_for(datetime.now(UTC)).start.date() + timedelta(days=2)
    name, filtered = day_search_functions(partition_name(day))
    with scratch_db.engine.begin() as conn:
        ensure_partitions(conn, [day])
        conn.exec_driver_sql(f"DROP FUNCTION {name}")
        conn.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS elsewhere")
        conn.exec_driver_sql(f"CREATE FUNCTION elsewhere.{name}() RETURNS int LANGUAGE sql AS 'SELECT 1'")
    failures: list[BaseException] = []

    def second() -> None:
        try:
            with scratch_db.engine.begin() as conn:
                repair_day_functions(conn)
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)

    with scratch_db.engine.begin() as first:
        repair_day_functions(first)
        other = threading.Thread(target=second)
        other.start()
        time.sleep(0.5)  # the second waits for the first's lock
        assert other.is_alive()
    other.join(10)
    assert not failures, failures
    assert {name, filtered} <= set(day_functions(scratch_db))


def test_a_day_detached_but_not_dropped_is_dropped_on_the_next_tick(scratch_db: ScratchDatabase) -> None:
    now = datetime.now(UTC)
    past = window_for(now).start.date() - timedelta(days=1)
    with scratch_db.engine.begin() as conn:
        ensure_partitions(conn, [past])
        conn.exec_driver_sql(f"ALTER TABLE open_intervals DETACH PARTITION {partition_name(past)}")
    assert drop_expired_partitions(scratch_db.engine, now) == [partition_name(past)]
    with scratch_db.engine.connect() as conn:
        assert conn.execute(text("SELECT to_regclass(:t)"), {"t": partition_name(past)}).scalar() is None
    assert not [name for name in day_functions(scratch_db) if name.startswith(partition_name(past))]


def test_one_process_at_a_time_drops_the_past_days(scratch_db: ScratchDatabase) -> None:
    """Two workers' timers tick together: the second detached or dropped what the first had just dropped, and
    logged a traceback ("does not exist", "already pending detach")."""
    now = datetime.now(UTC)
    past = window_for(now).start.date() - timedelta(days=1)
    with scratch_db.engine.begin() as conn:
        ensure_partitions(conn, [past])
    with scratch_db.engine.connect() as other:  # another worker at it
        assert other.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": open_intervals.HOUSEKEEPING_LOCK}).scalar()
        assert drop_expired_partitions(scratch_db.engine, now) == []
        other.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": open_intervals.HOUSEKEEPING_LOCK})
        other.commit()
    assert drop_expired_partitions(scratch_db.engine, now) == [partition_name(past)]


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
    paris = ZoneInfo("Europe/Paris")
    # Tomorrow in Paris, the place's day (from 23:00 UTC the UTC date was another one, and the test failed).
    day = (datetime.now(UTC) + timedelta(days=1)).astimezone(paris).date()
    paused = PausedRefresh(scratch_db, monkeypatch)
    thread, _ = _concurrently(lambda: special_hours.add(scratch_db.engine, "fr-par-champs", day, day, hours="off",
                                                        comment="inventory"))  # fmt: skip
    time.sleep(0.5)  # the exception waits for the refresh (it used to wait on the refresh's row locks only)
    paused.finish()
    thread.join(30)
    assert not thread.is_alive()
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


# Hours that make a daily move hard: spells across local and UTC midnight, round the clock (clipped at both
# ends of the window), DST changes inside the window (Paris 29 March, Auckland 5 April 2026), sun events,
# holidays, a repair desk past midnight, a spell ending on the old window's end itself (Reykjavik is on UTC),
# and exceptions across that end.
_MOVING = """id,name,kind,country,region,lat,lon,timezone,opening_hours,hours:repair,services
m-allday,Round the clock,store,FR,,48.85,2.35,Europe/Paris,24/7,,sales
m-night,Night owl,store,NZ,,-36.85,174.76,Pacific/Auckland,Mo-Su 22:00-02:00,,sales
m-weekend,Weekend nights,store,US,CA,34.05,-118.24,America/Los_Angeles,Fr-Sa 20:00-04:00; Su 10:00-16:00,,sales
m-kolkata,Kolkata,store,IN,,22.57,88.36,Asia/Kolkata,Mo-Fr 09:30-18:00; PH off,,sales
m-sun,Sun,store,NO,,59.91,10.75,Europe/Oslo,sunrise-sunset,,sales
m-early,Early,service_centre,FR,FR-57,49.12,6.18,Europe/Paris,Mo-Sa 01:00-04:00; PH off,Tu-Sa 23:00-01:00,sales;repair
m-day,Whole days,store,US,NY,40.71,-74.0,America/New_York,Mo-Su 00:00-24:00,,sales
m-shop,Shop,store,DE,DE-BY,48.14,11.58,Europe/Berlin,Mo-Sa 10:00-20:00; PH off,Mo-Fr 14:00-18:00,sales;repair
m-utc,Evenings,store,IS,,64.15,-21.94,Atlantic/Reykjavik,Mo-Su 18:00-24:00,,sales
"""


def _start_from(db: ScratchDatabase, moment: datetime) -> None:
    """A full refresh as of `moment`, earlier than the stored window: refreshes never move a window back, so
    the stored one is forgotten first."""
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM materialisation"))
        open_intervals.refresh(conn, now=moment)


def _assert_as_a_full_refresh(db: ScratchDatabase, now: datetime) -> None:
    """What searches in `now`'s window read is what a full refresh then writes."""
    moved = _materialised(db, window_for(now))
    with db.engine.begin() as conn:
        open_intervals.refresh(conn, now=now)
    assert moved == _materialised(db, window_for(now))


def _pause_move_at(monkeypatch: pytest.MonkeyPatch, batch: int, action: Callable[[], object]) -> list[int]:
    """Runs `action` just before the move's `batch`th transaction takes the places (between its batches)."""
    original, batches = open_intervals._lock_alone, [0]

    def lock(conn: Any, wait: str) -> None:
        batches[0] += 1
        if batches[0] == batch:
            action()
        original(conn, wait)

    monkeypatch.setattr(open_intervals, "_lock_alone", lock)
    return batches


def _materialised(db: ScratchDatabase, window: open_intervals.Window) -> set[tuple[object, ...]]:
    """The interval rows a search inside `window` can read, spells cut to it (a row kept by a daily move
    starts at its spell's true start, a full refresh's at the window's)."""
    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT location_id, service, day, greatest(lower(during), :start) AS start, upper(during) AS stop,"
                "       version"
                "  FROM open_intervals WHERE day >= :first"
            ),
            {"start": window.start, "first": window.start.date()},
        ).all()
    return {tuple(row) for row in rows}


@pytest.mark.parametrize(("days", "batch"), [(1, 3), (3, open_intervals.MOVE_BATCH)])
def test_a_daily_move_writes_what_a_full_refresh_would(
    scratch_db: ScratchDatabase, tmp_path: Path, days: int, batch: int
) -> None:
    feed = tmp_path / "moving.csv"
    feed.write_text(_MOVING, encoding="utf-8")
    assert not ingest_file(scratch_db.engine, feed, source="moving").rejected
    ingest_file(scratch_db.engine, DEMO_CSV, source="demo")
    before = datetime(2026, 3, 24, 21, 30, tzinfo=UTC)  # the window: 23 March - 1 April
    old_end = window_for(before).end
    # A closure across the old window's end, holiday hours on a day the move gains, one for the repair desk.
    special_hours.add(scratch_db.engine, "m-shop", date(2026, 3, 31), date(2026, 4, 2), hours="off")
    special_hours.add(scratch_db.engine, "m-night", date(2026, 4, 1), date(2026, 4, 1), hours="12:00-23:30")
    special_hours.add(scratch_db.engine, "m-early", date(2026, 4, 1), date(2026, 4, 1), hours="off", service="repair")
    after = before + timedelta(days=days)
    window = window_for(after)

    _start_from(scratch_db, before)
    written = open_intervals.advance(scratch_db.engine, now=after, batch=batch)
    with scratch_db.engine.connect() as conn:
        assert open_intervals.current_window(conn) == window
    moved = _materialised(scratch_db, window)
    with scratch_db.engine.begin() as conn:
        full = open_intervals.refresh(conn, now=after)
    recomputed = _materialised(scratch_db, window)

    assert moved == recomputed and _duplicates(scratch_db) == []
    assert {row[0] for row in recomputed} >= {"m-allday", "m-night", "m-weekend", "m-sun", "m-early", "m-shop", "m-utc"}
    assert any(row[4] > old_end for row in moved)  # the move did write the gained days
    assert written is not None and 0 < written < full  # and wrote only what they changed


def test_a_daily_move_is_a_full_refresh_when_the_windows_do_not_overlap_and_never_goes_back(
    scratch_db: ScratchDatabase,
) -> None:
    ingest_file(scratch_db.engine, DEMO_CSV, source="demo")
    now = datetime.now(UTC)
    later = now + timedelta(days=open_intervals.WINDOW_DAYS_AHEAD + 2)

    def count() -> int:  # the later window's rows (the days before it keep theirs until they are dropped)
        with scratch_db.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT count(*) FROM open_intervals WHERE day >= :first"),
                {"first": window_for(later).start.date()},
            )
            return int(rows.scalar_one())

    def stored() -> open_intervals.Window | None:
        with scratch_db.engine.connect() as conn:
            return open_intervals.current_window(conn)

    assert open_intervals.advance(scratch_db.engine, now=now) == 0  # current: nothing to do
    assert open_intervals.advance(scratch_db.engine, now=later) == count() > 0  # all rewritten, none left over
    assert stored() == window_for(later)
    # A process whose clock is behind (or went back) leaves the later window alone, full refreshes too.
    assert open_intervals.advance(scratch_db.engine, now=now) == 0
    assert not refresh_if_stale(scratch_db.engine, now)
    with scratch_db.engine.begin() as conn:
        assert open_intervals.refresh(conn, now=now) == count()
    assert stored() == window_for(later)


def test_one_window_mover_at_a_time(scratch_db: ScratchDatabase) -> None:
    ingest_file(scratch_db.engine, DEMO_CSV, source="demo")
    later = datetime.now(UTC) + timedelta(days=1)
    with scratch_db.engine.connect() as other:
        other.execute(text("SELECT pg_advisory_lock(:k)"), {"k": open_intervals.WINDOW_MOVE_LOCK})
        assert open_intervals.advance(scratch_db.engine, now=later) is None
        assert not refresh_if_stale(scratch_db.engine, later)
        other.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": open_intervals.WINDOW_MOVE_LOCK})
    assert refresh_if_stale(scratch_db.engine, later)


def test_a_daily_move_that_fails_half_way_leaves_the_old_window_whole(
    scratch_db: ScratchDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches before the failure committed their rows for the days the move gains, but the window did not
    move: searches read the old one, whose rows are all there; the next move starts again and finishes."""
    ingest_file(scratch_db.engine, DEMO_CSV, source="demo")
    now = datetime.now(UTC)
    old = window_for(now)
    before = _materialised(scratch_db, old)
    calls = 0
    original = open_intervals._write_spells

    def failing(*args: Any, **kwargs: Any) -> int:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("connection lost")
        return original(*args, **kwargs)

    monkeypatch.setattr(open_intervals, "_write_spells", failing)
    later = now + timedelta(days=1)
    with pytest.raises(RuntimeError):
        open_intervals.advance(scratch_db.engine, now=later, batch=4)
    with scratch_db.engine.connect() as conn:
        assert open_intervals.current_window(conn) == old
    half_moved = _materialised(scratch_db, old)
    for row in before:  # every spell a search of the old window reads is there, whole or extended
        assert any(other[:4] == row[:4] and other[4] >= row[4] and other[5] == row[5] for other in half_moved), row
    monkeypatch.undo()
    assert open_intervals.advance(scratch_db.engine, now=later)  # the lock went with the failed session
    assert _duplicates(scratch_db) == []
    _assert_as_a_full_refresh(scratch_db, later)


def test_exceptions_added_between_the_batches_of_a_daily_move(
    scratch_db: ScratchDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change to a place the move has passed and one to a place it has not reached, made while it runs
    (between its transactions): both end up in the new window, as a full refresh would have them."""
    ingest_file(scratch_db.engine, DEMO_CSV, source="demo")
    now = datetime.now(UTC)
    _start_from(scratch_db, now - timedelta(days=1))  # the day before's window
    with scratch_db.engine.connect() as conn:
        ids = sorted(conn.execute(text("SELECT id FROM locations")).scalars())
    gained = (window_for(now).end - timedelta(days=1)).date()

    def add_exceptions() -> None:
        for place in (ids[0], ids[-1]):
            special_hours.add(scratch_db.engine, place, gained - timedelta(days=1), gained, hours="10:00-12:00")

    batches = _pause_move_at(monkeypatch, 3, add_exceptions)
    assert open_intervals.advance(scratch_db.engine, now=now, batch=4)
    monkeypatch.undo()
    assert batches[0] > 3 and _duplicates(scratch_db) == []
    _assert_as_a_full_refresh(scratch_db, now)


def test_a_writer_whose_clock_is_behind_the_mover_still_writes_the_day_gained(
    scratch_db: ScratchDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A place the move had passed, changed by a process whose clock still says yesterday, was written over
    the old window only: no rows for the day gained, missing from searches of that day for a week."""
    ingest_file(scratch_db.engine, DEMO_CSV, source="demo")
    now = datetime.now(UTC)
    _start_from(scratch_db, now - timedelta(days=1))
    first = "fr-par-champs"  # open every day: the day gained has spells
    with scratch_db.engine.connect() as conn:
        position = conn.execute(text("SELECT count(*) FROM locations WHERE id <= :id"), {"id": first}).scalar_one()
    passed = (position + 3) // 4 + 1  # the batch after the one holding it (batches of 4)

    def behind() -> None:
        with scratch_db.engine.begin() as conn:
            open_intervals.hold_places(conn, "1s")
            conn.execute(text("UPDATE locations SET name = name || ' (moved)' WHERE id = :id"), {"id": first})
            open_intervals.refresh(conn, [first], now=now - timedelta(days=1))

    batches = _pause_move_at(monkeypatch, passed, behind)
    assert open_intervals.advance(scratch_db.engine, now=now, batch=4)
    monkeypatch.undo()
    assert batches[0] >= passed and _duplicates(scratch_db) == []
    _assert_as_a_full_refresh(scratch_db, now)


def test_a_move_waiting_for_a_publish_does_not_hold_exception_changes_back(
    scratch_db: ScratchDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A queued exclusive request makes later shared ones queue behind it: with the move waiting for a long
    publish, an exception change (compatible with the publish) waited too, then gave up as busy."""
    ingest_file(scratch_db.engine, DEMO_CSV, source="demo")
    now = datetime.now(UTC)
    _start_from(scratch_db, now - timedelta(days=1))
    monkeypatch.setattr(special_hours, "REFRESH_WAIT", "1s")
    with scratch_db.engine.begin() as publishing:
        open_intervals.hold_places(publishing, "1s")
        thread, results = _concurrently(lambda: open_intervals.advance(scratch_db.engine, now=now))
        time.sleep(0.5)  # the move is waiting for the publish
        tomorrow = (now + timedelta(days=1)).date()
        special_hours.add(scratch_db.engine, "fr-par-champs", tomorrow, tomorrow, hours="off")  # not busy
        assert thread.is_alive()
    thread.join(60)
    assert results and results[0], results
    with scratch_db.engine.connect() as conn:
        assert open_intervals.current_window(conn) == window_for(now)


def test_a_day_the_stored_window_holds_is_not_dropped(scratch_db: ScratchDatabase) -> None:
    """During a move (or with this process's clock ahead of the mover's) the stored window starts a day
    earlier than this clock's; changes to places write its days: dropping the first one made them fail
    (a detach pending) or create it again."""
    ingest_file(scratch_db.engine, DEMO_CSV, source="demo")
    now = datetime.now(UTC)
    yesterday = window_for(now - timedelta(days=1))
    _start_from(scratch_db, now - timedelta(days=1))
    _age_window_row(scratch_db, open_intervals.RETIRE_AFTER_S)  # not merely a window that has just moved
    assert drop_expired_partitions(scratch_db.engine, now) == []
    assert partition_name(yesterday.start.date()) in partitions(scratch_db)
    tomorrow = (now + timedelta(days=1)).date()
    special_hours.add(scratch_db.engine, "fr-par-champs", tomorrow, tomorrow, hours="10:00-12:00")
    with scratch_db.engine.connect() as conn:
        first = conn.execute(
            text("SELECT min(day) FROM open_intervals WHERE location_id = 'fr-par-champs'")
        ).scalar_one()
    assert first >= yesterday.start.date() + timedelta(days=1)  # from where searches read: not the day before


def test_two_writers_before_any_window_is_stored_do_not_deadlock(
    scratch_db: ScratchDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no window stored, a writer's refresh became a full one, asking for the places alone while it
    held them shared: two writers at once deadlocked. Now, when another writer is at work, it writes its
    places and stores no window, without waiting for the places alone."""
    ingest_file(scratch_db.engine, DEMO_CSV, source="demo")
    with scratch_db.engine.begin() as conn:
        conn.execute(text("DELETE FROM materialisation"))
    monkeypatch.setattr(open_intervals, "FULL_REFRESH_WAIT", "200ms")
    with scratch_db.engine.begin() as other_writer:
        open_intervals.hold_places(other_writer, "1s")
        with scratch_db.engine.begin() as conn:
            open_intervals.hold_places(conn, "1s")
            assert open_intervals.refresh(conn, ["fr-par-champs"]) > 0
            assert open_intervals.current_window(conn) is None
    assert refresh_if_stale(scratch_db.engine)  # the timer's first tick stores one


_ZONES = (("FR", "", "Europe/Paris"), ("NZ", "", "Pacific/Auckland"), ("US", "CA", "America/Los_Angeles"),
          ("IN", "", "Asia/Kolkata"), ("NO", "", "Europe/Oslo"), ("IS", "", "Atlantic/Reykjavik"),
          ("US", "NY", "America/New_York"), ("DE", "DE-BY", "Europe/Berlin"),
          ("AU", "", "Australia/Sydney"))  # fmt: skip
_HOURS = ("24/7", "Mo-Su 22:00-02:00", "Fr-Sa 20:00-04:00; Su 10:00-16:00", "Mo-Fr 09:30-18:00; PH off",
          "sunrise-sunset", "Mo-Sa 01:00-04:00; PH off", "Mo-Su 00:00-24:00", "Mo-Su 18:00-24:00",
          "Mo-Fr 08:00-24:00; Sa-Su 00:00-24:00", "Tu,Th 11:00-13:00")  # fmt: skip


def test_searches_during_and_after_a_move_agree_with_the_hours(
    scratch_db: ScratchDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Random places around one point, in zones and hours that make the move hard, exceptions added and
    removed between its batches: what the materialised rows answer (the old window during the move, the new
    one after) is what direct evaluation of the hours answers."""
    rnd = random.Random(20261206)
    lines = ["id,name,kind,country,region,lat,lon,timezone,opening_hours,hours:repair,services"]
    for n in range(30):
        country, region, zone = rnd.choice(_ZONES)
        repair = rnd.choice(("", "", "Tu-Sa 23:00-01:00", "Mo-Fr 14:00-18:00"))
        lines.append(
            f"r{n:03d},R{n},{'service_centre' if repair else 'store'},{country},{region},"
            f'{48.8 + rnd.random() / 5:.4f},{2.3 + rnd.random() / 5:.4f},{zone},"{rnd.choice(_HOURS)}",'
            f"{repair},{'sales;repair' if repair else 'sales'}"
        )
    feed = tmp_path / "random.csv"
    feed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert not ingest_file(scratch_db.engine, feed, source="random").rejected
    now = datetime.now(UTC)
    _start_from(scratch_db, now - timedelta(days=2))
    old, new = window_for(now - timedelta(days=2)), window_for(now)
    mismatches: list[str] = []

    def check(label: str, window: open_intervals.Window) -> None:
        first = window.start + timedelta(days=1)
        for _ in range(12):
            at = first + timedelta(minutes=rnd.randrange(int((window.end - first).total_seconds() // 60)))
            for open_for in (0, rnd.choice((30, 240, 1500))):
                if at + timedelta(minutes=open_for) > window.end:
                    continue
                query = search.NearestQuery(lat=48.9, lon=2.4, at=at, limit=100, radius_km=100, open_for=open_for)
                search._window_cache.clear()
                got, direct = (
                    search.nearest(scratch_db.engine, query),
                    search.nearest(scratch_db.engine, query, force_direct=True),
                )
                ids, expected = sorted(p.id for p in got.places), sorted(p.id for p in direct.places)
                if got.path != "materialised" or ids != expected:
                    mismatches.append(f"{label} at {at} for {open_for}: {got.path} {ids} != {expected}")

    def between_batches() -> None:
        for _ in range(2):
            place, start = f"r{rnd.randrange(30):03d}", (now + timedelta(days=rnd.randrange(-2, 9))).date()
            hours = rnd.choice(("off", "10:00-12:00", "20:00-03:00"))
            special_hours.add(scratch_db.engine, place, start, start + timedelta(days=rnd.randrange(3)), hours=hours)
        check("during the move", old)

    for batch in (2, 4, 6):
        _pause_move_at(monkeypatch, batch, between_batches)
    assert open_intervals.advance(scratch_db.engine, now=now, batch=5)
    monkeypatch.undo()
    check("after the move", new)
    assert mismatches == [] and _duplicates(scratch_db) == []


@pytest.mark.parametrize("days", [3, 10], ids=["batched move", "full refresh"])
def test_a_search_that_read_the_window_before_a_move_of_days_still_answers(
    scratch_db: ScratchDatabase, days: int
) -> None:
    """The timer stopped for days (the API down): the move that catches up leaves several days at once, in
    batches or, past the window's length, by a full refresh. A search process trusts the window row it read
    for WINDOW_TTL, so for an instant in those days it still reads them: they keep their rows until a tick
    RETIRE_AFTER_S after the move (before, it found them dropped or emptied and answered "nothing open")."""
    ingest_file(scratch_db.engine, DEMO_CSV, source="demo")
    now = datetime.now(UTC)
    before = now - timedelta(days=days)
    _start_from(scratch_db, before)
    search._window_cache.clear()
    # Saturday 14:00 in Paris, inside the window the searches trust (from a day after its start).
    first = window_for(before).start + timedelta(days=1)
    at = next(
        moment
        for n in range(8)
        if (moment := (first + timedelta(days=n)).astimezone(ZoneInfo("Europe/Paris")).replace(hour=14)).weekday() == 5
    )
    query = search.NearestQuery(lat=48.87, lon=2.31, at=at, limit=20, radius_km=1000)
    cached = search.nearest(scratch_db.engine, query)  # reads the window row: this process trusts it for a while
    direct = search.nearest(scratch_db.engine, query, force_direct=True)
    assert cached.path == "materialised" and cached.places
    assert [p.id for p in cached.places] == [p.id for p in direct.places]

    assert refresh_if_stale(scratch_db.engine, now)  # the move, then the partitions' housekeeping
    again = search.nearest(scratch_db.engine, query)
    assert again.path == "materialised"  # the window row as read before the move, trusted for WINDOW_TTL
    assert [p.id for p in again.places] == [p.id for p in direct.places]

    _age_window_row(scratch_db, open_intervals.RETIRE_AFTER_S)
    assert drop_expired_partitions(scratch_db.engine, now)  # a later tick: no search trusts the old row now
    search._window_cache.clear()
    assert search.nearest(scratch_db.engine, query).path == "direct"  # outside the window: evaluated


def test_a_spell_that_changes_comment_is_one_spell_in_the_materialised_rows(scratch_db: ScratchDatabase) -> None:
    """The rows were split where the comment changed: `open_for` across the split found a 24/7 shop closed."""
    ingest_file(scratch_db.engine, DEMO_CSV, source="demo")
    with scratch_db.engine.begin() as conn:
        place = conn.execute(
            text("SELECT location_id FROM location_hours WHERE canonical = '24/7' AND service = '' LIMIT 1")
        ).scalar_one()
        lat, lon, zone = conn.execute(
            text("SELECT ST_Y(geog::geometry), ST_X(geog::geometry), timezone FROM locations WHERE id = :id"),
            {"id": place},
        ).one()
    tomorrow = datetime.now(UTC).date() + timedelta(days=2)
    special_hours.add(scratch_db.engine, place, tomorrow, tomorrow, hours="00:00-18:00", comment="closes early")
    at = datetime.combine(tomorrow, datetime.min.time(), ZoneInfo(zone)) - timedelta(minutes=20)
    query = search.NearestQuery(lat=lat, lon=lon, at=at, open_for=60, limit=5, radius_km=1)
    search._window_cache.clear()
    found = search.nearest(scratch_db.engine, query)
    assert found.path == "materialised" and place in [p.id for p in found.places]


def test_open_now_at_the_window_s_very_end_is_evaluated(scratch_db: ScratchDatabase) -> None:
    """The rows stop at the window's end (exclusive): at that instant, once a day, open=now found nothing."""
    ingest_file(scratch_db.engine, DEMO_CSV, source="demo")
    end = window_for(datetime.now(UTC)).end
    search._window_cache.clear()
    found = search.nearest(scratch_db.engine, search.NearestQuery(lat=48.8804, lon=2.3553, at=end, radius_km=5))
    assert found.path == "direct" and "fr-par-gare-nord" in [p.id for p in found.places]


def test_a_place_changed_after_midnight_utc_keeps_yesterday_s_exception(
    scratch_db: ScratchDatabase, tmp_path: Path
) -> None:
    """A partial refresh loaded exceptions from today (UTC) on: New York's evening closure of yesterday's date,
    still running at 00:30 UTC, went missing from the rows, and open=now listed the place as open."""
    feed = tmp_path / "ny.csv"
    feed.write_text(
        "id,name,kind,country,region,lat,lon,timezone,opening_hours,services\n"
        "ny-247,NY desk,store,US,NY,40.7128,-74.0060,America/New_York,24/7,sales\n",
        encoding="utf-8",
    )
    assert not ingest_file(scratch_db.engine, feed, source="ny").rejected
    today = datetime.now(UTC).date()
    special_hours.add(scratch_db.engine, "ny-247", today - timedelta(days=1), today - timedelta(days=1), hours="off")
    at = datetime.combine(today, datetime.min.time(), UTC) + timedelta(minutes=30)  # 19:30 or 20:30 the day before
    query = search.NearestQuery(lat=40.7128, lon=-74.0060, at=at, radius_km=5)
    search._window_cache.clear()
    found = search.nearest(scratch_db.engine, query)
    assert found.path == "materialised" and found.places == []


def test_each_kind_of_work_has_a_lock_key_of_its_own() -> None:
    # The window's mover and the gazetteer's rebuild shared one, each skipping its turn while the other ran; the
    # drop of past days' tables and the creation of day tables shared another.
    from locator import db

    keys = {name: value for name, value in vars(db).items() if name.endswith("_LOCK") and isinstance(value, int)}
    assert len(keys) == 7 and len(set(keys.values())) == len(keys), keys


def test_desks_sharing_hours_and_exceptions_share_their_bounded_exceptions() -> None:
    """A month's batch bounded per desk (~0.5 ms a day of it) made a refresh of 5,000 desks 32 s instead of 3."""
    from locator.hours import SpecialHours
    from locator.open_intervals import _bounded, service_exceptions

    batch = (SpecialHours(date(2031, 12, 1), date(2031, 12, 31), "10:00-17:00", "December"),)
    args = ("Mo-Sa 09:00-19:00", batch, (), "Europe/Paris", "FR", None, 48.8, 2.3)
    first = service_exceptions("repair", "Mo-Fr 10:00-18:00", *args)
    hits = _bounded.cache_info().hits
    assert service_exceptions("repair", "Mo-Fr 10:00-18:00", *args[:6], 43.3, 5.4) == first  # another place
    assert _bounded.cache_info().hits == hits + 1
