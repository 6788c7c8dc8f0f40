"""Materialised open intervals: the rows that make "open at t" an index condition.

For every place and every set of hours it has (the general hours, service '', and each service with hours of
its own) the open spells over a rolling window are stored as `tstzrange`s beside the place's point, once per
UTC day each spell touches, in that day's partition (migration 0006) under two GiST indexes on (geog, during),
one for spells longer than 16 hours and one for the rest (migration 0023, `locator.search.LONG_SPELL`).
Search uses them for instants inside the window and evaluates hours directly outside it, so answers never
depend on when the last refresh ran; only speed does.

Partitions are created apart, then attached: attaching takes SHARE UPDATE EXCLUSIVE on the parent, which
searches and ingests do not wait for (CREATE TABLE ... PARTITION OF would take ACCESS EXCLUSIVE until the
transaction commits; the table has no foreign key, migration 0007, so nothing else is locked). The API's
timer creates the next day's partition ahead, in a short transaction of its own, so that a publish finds its
days there; a refresh still creates any that is missing. Days that left the window are detached
CONCURRENTLY and dropped by the same timer.

Places that share hours, timezone, country and region (most of a chain) share one evaluation.

The window moves daily (`advance`, the API's timer and `locator refresh`) by the days it gains, in batches of
places; a full recomputation (`refresh` without ids, `locator refresh --full`) rewrites every row.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from time import monotonic, sleep
from typing import Any

from sqlalchemy import Connection, Engine, text

from locator.db import (
    HOUSEKEEPING_LOCK,
    MATERIALISE_LOCK,
    PARTITION_LOCK,
    WINDOW_MOVE_LOCK,
    copy_rows,
    outage_reason,
    unbounded,
    unwatched,
)
from locator.hours import Schedule, SpecialHours, exceptions_for, open_spells, sun_coordinates, within_own_hours
from locator.places import offered

log = logging.getLogger(__name__)

# The window starts a day back so that a spell which began yesterday evening is still found at 01:00.
WINDOW_DAYS_BACK = 1
WINDOW_DAYS_AHEAD = 8


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    def contains(self, start: datetime, end: datetime) -> bool:
        return self.start <= start and end <= self.end


def window_for(now: datetime) -> Window:
    midnight = datetime.combine(now.astimezone(UTC).date(), time(0), tzinfo=UTC)
    return Window(midnight - timedelta(days=WINDOW_DAYS_BACK), midnight + timedelta(days=WINDOW_DAYS_AHEAD))


def utc_days(start: datetime, end: datetime) -> list[date]:
    """The UTC days a spell [start, end) touches: the rows it is stored under."""
    first = start.astimezone(UTC).date()
    last = (end.astimezone(UTC) - timedelta(microseconds=1)).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def window_days(window: Window) -> list[date]:
    return utc_days(window.start, window.end)


# -- the day partitions -------------------------------------------------------------------------------------

_PARTITION_NAME = re.compile(r"open_intervals_d\d{8}")
_DAY_FUNCTION_NAME = re.compile(r"open_intervals_d\d{8}_nearest(_filtered)?")
# Day tables whatever their state: attached, with a detach left pending, or detached and not yet dropped.
_DAY_TABLES_SQL = """
SELECT c.relname, i.inhdetachpending AS detaching, i.inhrelid IS NOT NULL AS attached
  FROM pg_class AS c
  LEFT JOIN pg_inherits AS i ON i.inhrelid = c.oid AND i.inhparent = 'open_intervals'::regclass
 WHERE c.relkind = 'r' AND c.relname LIKE 'open\\_intervals\\_d%'
   AND c.relnamespace = (SELECT relnamespace FROM pg_class WHERE oid = 'open_intervals'::regclass)
"""


def partition_name(day: date) -> str:
    return f"open_intervals_d{day:%Y%m%d}"


def day_search_functions(table: str) -> tuple[str, str]:
    """The names of the day table `table`'s search functions, unfiltered and filtered (`create_day_search`,
    migrations 0025-0027)."""
    return f"{table}_nearest", f"{table}_nearest_filtered"


def _day_tables(conn: Connection) -> list[Any]:
    """(relname, detaching, attached) of every day table, oldest day first (the names sort as their days)."""
    rows = conn.execute(text(_DAY_TABLES_SQL))
    return sorted((row for row in rows if _PARTITION_NAME.fullmatch(row.relname)), key=lambda row: row.relname)


def _partitions(conn: Connection) -> dict[str, bool]:
    """The attached day partitions by name, with whether a concurrent detach of it was left unfinished."""
    return {row.relname: row.detaching for row in _day_tables(conn) if row.attached}


def ensure_partitions(conn: Connection, days: Iterable[date]) -> list[str]:
    """Create and attach the partitions of `days` that are missing, in the caller's transaction; their names."""
    wanted = {partition_name(day): day for day in days}
    if wanted.keys() <= _partitions(conn).keys():
        return []
    # Two publishes may miss the same day: the second waits here for the first to commit, then finds it.
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PARTITION_LOCK})
    existing = _partitions(conn)
    created = []
    for name, day in sorted(wanted.items()):
        if name in existing:
            continue
        # Names and bounds come from dates formatted here, never from input.
        conn.exec_driver_sql(f"CREATE TABLE {name} (LIKE open_intervals)")
        conn.exec_driver_sql(f"ALTER TABLE open_intervals ATTACH PARTITION {name} FOR VALUES IN ('{day.isoformat()}')")
        # The day's search functions, which keep their plans (migrations 0025-0027; locator.search.knn_open_sql).
        conn.execute(text("SELECT create_day_search(:name)"), {"name": name})
        created.append(name)
    return created


def expired_partitions(conn: Connection, now: datetime | None = None) -> list[Any]:
    """The day tables (`_day_tables` rows) before both the current window and the stored one."""
    first = window_for(now or datetime.now(UTC)).start
    stored = current_window(conn)
    keep = partition_name(min(first, stored.start if stored else first).date())
    return [row for row in _day_tables(conn) if row.relname < keep]


def drop_expired_partitions(engine: Engine, now: datetime | None = None) -> list[str]:
    """Detach (CONCURRENTLY: searches never wait) and drop the day tables before both the current window and
    the stored one; their names. Each step commits on its own; a detach or a drop interrupted earlier is
    finished first.

    The stored window's days stay while it is stored (during a daily move, or when this process's clock is
    ahead of the mover's), as changes to places still write them. Nothing goes for RETIRE_AFTER_S after the
    window moved: a search process trusts the window row it read for WINDOW_TTL, and one that read it before
    a move of several days (the timer stopped for days) reads the days the move left for instants in the
    past meanwhile."""
    dropped: list[str] = []
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if _moved_within(conn, RETIRE_AFTER_S):
            return dropped  # the next tick drops them
        # One process at a time: the workers' timers tick together, and the second detached or dropped the
        # tables the first had just dropped ("does not exist", "already pending detach").
        if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": HOUSEKEEPING_LOCK}).scalar_one():
            return dropped
        try:
            dropped = _drop_expired(conn, now)
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": HOUSEKEEPING_LOCK})
    return dropped


def _drop_expired(conn: Connection, now: datetime | None) -> list[str]:
    dropped: list[str] = []
    expired = expired_partitions(conn, now)
    # A concurrent detach waits for every transaction older than it (a publish's, say) for up to a minute
    # here, then the next tick tries again. It cannot run in a transaction block, so no SET LOCAL: the
    # session's settings are reset after (the pool's connections keep the API's 2 s limits).
    conn.exec_driver_sql("SET statement_timeout = 0")
    conn.exec_driver_sql("SET lock_timeout = '60s'")
    try:
        with unwatched(conn):  # (the API's engine watches its statements from its side too: db.Watchdog)
            for row in expired:
                name = row.relname
                if row.attached:
                    mode = "FINALIZE" if row.detaching else "CONCURRENTLY"
                    conn.exec_driver_sql(f"ALTER TABLE open_intervals DETACH PARTITION {name} {mode}")
                # One statement string, one transaction: the day's table and its functions go together.
                functions = ", ".join(day_search_functions(name))
                conn.exec_driver_sql(f"DROP TABLE {name}; DROP FUNCTION IF EXISTS {functions}")
                dropped.append(name)
    finally:
        conn.exec_driver_sql("RESET statement_timeout")
        conn.exec_driver_sql("RESET lock_timeout")
    return dropped


def maintain_partitions(engine: Engine, now: datetime | None = None) -> list[str]:
    """The housekeeping after a move: tomorrow's window's days created ahead (in a short transaction, so that
    publishes find them), the days before today's window dropped (`drop_expired_partitions`: their names)."""
    moment = now or datetime.now(UTC)
    with engine.begin() as conn:
        ensure_partitions(conn, window_days(window_for(moment + timedelta(days=1))))
        repair_day_functions(conn)
    return drop_expired_partitions(engine, moment)


# The day tables attached without both their search functions, and the functions whose day table is gone,
# in the schema of open_intervals (a namesake elsewhere neither hides a missing function nor is dropped).
_DAY_FUNCTIONS_SQL = """
WITH here AS (SELECT relnamespace AS nsp FROM pg_class WHERE oid = 'open_intervals'::regclass),
     functions AS (SELECT p.proname FROM pg_proc AS p, here WHERE p.pronamespace = here.nsp)
SELECT c.relname AS name, 'missing' AS what
  FROM pg_inherits AS i
  JOIN pg_class AS c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'open_intervals'::regclass
   AND (SELECT count(*) FROM functions AS f
         WHERE f.proname IN (c.relname || '_nearest', c.relname || '_nearest_filtered')) < 2
UNION ALL
SELECT f.proname, 'orphan'
  FROM functions AS f, here
 WHERE f.proname ~ '^open_intervals_d[0-9]{8}_nearest(_filtered)?$'
   AND NOT EXISTS (SELECT 1
                     FROM pg_class AS c
                    WHERE c.relnamespace = here.nsp
                      AND c.relname = substring(f.proname FROM '^open_intervals_d[0-9]{8}'))
"""


def repair_day_functions(conn: Connection) -> None:
    """Each attached day's search functions made when missing (a day created by code older than migration
    0025, or by hand: its searches are planned each time meanwhile), and the functions of days whose table
    is gone dropped, in the caller's transaction; the API's timer runs it. Under the partitions' lock, which
    the workers' timers, ticking together, take in turn (the second then finds nothing to do)."""
    if not conn.execute(text(_DAY_FUNCTIONS_SQL)).first():
        return
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PARTITION_LOCK})
    for row in conn.execute(text(_DAY_FUNCTIONS_SQL)).all():
        if row.what == "missing":
            log.warning("day table %s lacked its search functions: made now", row.name)
            conn.execute(text("SELECT create_day_search(:name)"), {"name": row.name})
        elif _DAY_FUNCTION_NAME.fullmatch(row.name):  # names from the catalog, checked before they are written
            conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {row.name}")


# How long a search process trusts the window row it read (locator.search): a refresh moves the window by
# whole days, so within this time the true window still covers every instant the cached one is trusted for
# after a one-day move; after a longer one, the days it left stay readable for RETIRE_AFTER_S (measured from
# the window row's store, a few seconds before its transaction commits).
WINDOW_TTL = 30.0
RETIRE_AFTER_S = 2 * WINDOW_TTL


def _moved_within(conn: Connection, seconds: float) -> bool:
    """Whether the window row was stored less than `seconds` ago, by the database's clock (the one it was
    stored by)."""
    found = conn.execute(
        text("SELECT refreshed_at > now() - make_interval(secs => :s) FROM materialisation WHERE id = 1"),
        {"s": seconds},
    ).scalar()
    return bool(found)


def current_window(conn: Connection) -> Window | None:
    row = conn.execute(text("SELECT window_start, window_end FROM materialisation WHERE id = 1")).first()
    return Window(row.window_start, row.window_end) if row else None


def _moving_to(conn: Connection) -> Window | None:
    """The window a daily move under way is writing (migration 0010), or None."""
    row = conn.execute(text("SELECT moving_start, moving_end FROM materialisation WHERE id = 1")).first()
    return Window(row.moving_start, row.moving_end) if row is not None and row.moving_end is not None else None


# What a place's row is valid for, the key of the search's place cache (locator.search.PlaceCache): its
# locations row version (a publish rewrites the row whenever its hours change) and its exceptions' row
# versions (added and removed apart from the place). Interval rows carry the version they were computed from
# (migration 0008): every change to a place, its hours or its exceptions refreshes its intervals in the same
# transaction, and MATERIALISE_LOCK keeps a full refresh from interleaving, so it is the place's current one.
PLACE_VERSION = """CAST(l.xmin AS text) || coalesce((SELECT ',' || string_agg(CAST(s.xmin AS text), ',' ORDER BY s.id)
                                             FROM special_hours AS s WHERE s.location_id = l.id), '')"""

# The point goes back into COPY as the geography's own text (hex EWKB): no float formatting per row.
_HOURS_SQL = f"""
SELECT l.id, h.service, h.canonical, l.timezone, l.country, l.region, CAST(l.geog AS text) AS geog,
       ST_Y(l.geog::geometry) AS lat, ST_X(l.geog::geometry) AS lon, {PLACE_VERSION} AS version
  FROM locations AS l
  JOIN location_hours AS h ON h.location_id = l.id
"""
# Places in space-filling-curve order (PostGIS sorts geometry along a Hilbert curve), so that each day's GiST
# takes its inserts in neighbouring leaf pages instead of all over the index (measured in bench/materialise.py).
HOURS_ORDER = " ORDER BY l.geog::geometry"

_SPECIAL_SQL = """
SELECT location_id, service, start_date, end_date, hours, comment
  FROM special_hours
 WHERE end_date >= :first_day
"""


def first_exception_day(at: datetime) -> date:
    """Exceptions that ended before this day cannot touch spells or answers from `at` on: two days of slack
    for the places' timezones and their nights from the day before."""
    return (at - timedelta(days=2)).date()


def special_hours_by_location(
    conn: Connection, location_ids: Sequence[str] | None, first_day: datetime
) -> dict[tuple[str, str], list[SpecialHours]]:
    """The exceptions that can touch spells from `first_day` on (`first_exception_day`, as the search loads
    them). From `first_day` itself, a place changed after 00:00 UTC lost an exception whose local day was still
    running (an evening closure in New York) or whose night after was (a bar closed the day before), until the
    next full refresh."""
    sql = _SPECIAL_SQL + (" AND location_id = ANY(:ids)" if location_ids is not None else "")
    params: dict[str, object] = {"first_day": first_exception_day(first_day)}
    if location_ids is not None:
        params["ids"] = list(location_ids)
    out: dict[tuple[str, str], list[SpecialHours]] = {}
    for row in conn.execute(text(sql + " ORDER BY id"), params):
        out.setdefault((row.location_id, row.service), []).append(
            SpecialHours(row.start_date, row.end_date, row.hours, row.comment)
        )
    return out


def schedule_for(
    canonical: str,
    timezone: str,
    country: str | None,
    region: str | None,
    special: Iterable[SpecialHours] = (),
    coords: tuple[float, float] | None = None,
) -> Schedule:
    """A place's schedule, shared by every place with the same hours, zone, calendar, exceptions and (for
    hours with sun events only: `locator.hours.sun_coordinates`) rounded position."""
    return _cached_schedule(canonical, timezone, country, region, tuple(special), coords)


_SCHEDULES: dict[tuple[object, ...], Schedule] = {}


def service_exceptions(
    service: str,
    canonical: str,
    general: str | None,
    place_wide: Sequence[SpecialHours],
    own: Sequence[SpecialHours],
    timezone: str,
    country: str | None,
    region: str | None,
    lat: float | None,
    lon: float | None,
    sole: Sequence[SpecialHours] = (),
) -> tuple[SpecialHours, ...]:
    """The exceptions of a service's hours (`canonical`; the place's, `general`, for service ''): the place's
    bounded by the service's own hours where it has hours of its own (`locator.hours.within_own_hours`); a
    copy of the place's hours, kept for the service's own exceptions, is the place's and takes them as they
    are. Then the service's own (`locator.hours.exceptions_for`). For service '', `sole`: the exceptions of
    the one service the place offers when its hours are the place's (`sole_service`)."""
    if not service:
        return exceptions_for(service, (), (*own, *sole))
    wide = tuple(place_wide)
    if general is not None and canonical != general and any(not item.closes for item in wide):
        wide = _bounded(canonical, wide, timezone, country, region, sun_coordinates(canonical, lat, lon, wide))
    return exceptions_for(service, wide, own)


@lru_cache(maxsize=4096)
def _bounded(
    canonical: str,
    wide: tuple[SpecialHours, ...],
    timezone: str,
    country: str | None,
    region: str | None,
    coords: tuple[float, float] | None,
) -> tuple[SpecialHours, ...]:
    """`within_own_hours` once per distinct desk hours and exceptions: a batch gives a chain's thousands of desks
    the same ones, and each evaluation is ~0.5 ms a day of exception (a refresh of 5,000 desks under a month's
    batch took 32 s instead of 3)."""
    return within_own_hours(schedule_for(canonical, timezone, country, region, (), coords), wide, coords)


def sole_service(services: list[str], kinds: list[str], hours: Mapping[str, str]) -> str | None:
    """The one service a place offers when its hours are the place's (`hours`: service -> canonical, '' the
    place's): the desk of a service centre that is nothing else. Its exceptions are the place's too, which an
    answer's `open` follows: a service centre whose repair desk ops closed for a training day was open."""
    services = offered(services, kinds)
    if len(services) != 1 or hours.get(services[0], hours.get("")) != hours.get(""):
        return None
    return services[0]


def _general_and_sole(
    conn: Connection, special: dict[tuple[str, str], list[SpecialHours]]
) -> tuple[dict[str, str], dict[str, str]]:
    """For the places holding exceptions for a service or place-wide ones with hours (a few, read in one
    statement): their general hours, which their services with hours of their own take bounded
    (`service_exceptions`), and their `sole_service`, whose exceptions are the place's."""
    ids = sorted({place for (place, service), items in special.items() if service or not all(i.closes for i in items)})
    if not ids:
        return {}, {}
    rows = conn.execute(
        text(
            """
            SELECT l.id, l.services, l.kinds,
                   (SELECT jsonb_object_agg(h.service, h.canonical) FROM location_hours AS h
                     WHERE h.location_id = l.id) AS hours
              FROM locations AS l
             WHERE l.id = ANY(:ids)
            """
        ),
        {"ids": ids},
    ).all()
    general = {row.id: row.hours[""] for row in rows if row.hours and "" in row.hours}
    sole = {row.id: sole_service(row.services, row.kinds, row.hours or {}) for row in rows}
    return general, {place: service for place, service in sole.items() if service}


def _cached_schedule(
    canonical: str,
    timezone: str,
    country: str | None,
    region: str | None,
    special: tuple[SpecialHours, ...],
    coords: tuple[float, float] | None,
) -> Schedule:
    key = (canonical, timezone, country, region, special, coords)
    schedule = _SCHEDULES.get(key)
    if schedule is None:
        if len(_SCHEDULES) > 50_000:
            _SCHEDULES.clear()
        # Canonical text was validated at ingest: build directly, no second tolerant parse.
        schedule = Schedule(canonical, timezone, country, region, coords=coords, special=special)
        _SCHEDULES[key] = schedule
    return schedule


# A full refresh reads every place and rewrites every interval in one long transaction. A publish or an
# exception committed in the middle of one used to slip between the two: its own refresh of the place could
# not see, so not delete, the full refresh's uncommitted rows, nor could a removed place's trigger. Once both
# committed, the place had its new intervals and the old ones (a closure ops had just added showed open, a
# place was listed twice) or a removed place had intervals, until the next day's refresh. So every writer of
# places, hours or exceptions holds this lock shared until it commits (`hold_places`), and a full refresh
# holds it alone (locator.db.MATERIALISE_LOCK).
# How long a full refresh waits for the publishes and exception changes in progress (the API's timer tries
# again on its next tick; `locator refresh` says so).
FULL_REFRESH_WAIT = "60s"


def hold_places(conn: Connection, wait: str) -> None:
    """Call before changing places, their hours or their exceptions, in the same transaction: waits (up to
    `wait`, a PostgreSQL interval) for a full refresh in progress, and keeps the next one out until this
    transaction ends. Raises psycopg's LockNotAvailable (wrapped by SQLAlchemy) when the wait runs out.
    Lifts the API's statement timeout for the transaction, as `refresh` does."""
    unbounded(conn)
    _lock(conn, "pg_advisory_xact_lock_shared", wait)


def _try_alone(conn: Connection) -> bool:
    """MATERIALISE_LOCK alone if nobody else holds it (this transaction's own hold does not count)."""
    return bool(conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": MATERIALISE_LOCK}).scalar_one())


def _lock_alone(conn: Connection, wait: str) -> None:
    """MATERIALISE_LOCK alone, trying again for up to `wait` rather than queueing for it: a waiting exclusive
    request makes every later shared one wait behind it, so a refresh queued behind a long publish held back
    each exception change that came after it too (503 `busy`), though none of them conflicts with the
    publish. Raises LockNotAvailable, as a writer's wait does, when the time runs out."""
    seconds = conn.execute(text("SELECT extract(epoch FROM CAST(:wait AS interval))"), {"wait": wait}).scalar_one()
    deadline = monotonic() + float(seconds)
    pause = 0.05
    while monotonic() < deadline:
        if _try_alone(conn):
            return
        sleep(min(pause, max(0.0, deadline - monotonic())))
        pause = min(pause * 2, 1.0)
    _lock(conn, "pg_advisory_xact_lock", "1ms")  # taken if freed just now, else the writers' own error


def _lock(conn: Connection, function: str, wait: str) -> None:
    """MATERIALISE_LOCK through `function`, waiting up to `wait`; the transaction's lock timeout is kept."""
    previous = conn.execute(text("SELECT current_setting('lock_timeout')")).scalar_one()
    conn.execute(text("SELECT set_config('lock_timeout', :wait, true)"), {"wait": wait})
    conn.execute(text(f"SELECT {function}(:k)"), {"k": MATERIALISE_LOCK})
    conn.execute(text("SELECT set_config('lock_timeout', :previous, true)"), {"previous": previous})


def refresh(conn: Connection, location_ids: Sequence[str] | None = None, now: datetime | None = None) -> int:
    """Recompute the open intervals of some places (or all) for the current window; returns rows written.

    Runs inside the caller's transaction, so an ingest publishes places and their intervals together. A
    caller refreshing some places holds `hold_places` from before its first change to them.

    Some places are written over every window a search or a move may read them in: the stored one (searches
    read it until a daily move ends), the one a move under way is writing (it may have passed these places
    already, whatever this process's clock says) and the current one. Their spells are cut a day after the
    stored window's start, where searches start to read it (the day before is not written: the timer may be
    dropping it).

    Without a stored window (a first publish) all places are recomputed and a window stored, if no other
    writer is at work; else the places' rows are written and the first full refresh (the API's timer,
    `locator refresh`) stores one: waiting for the places alone while another writer waits for the same
    would deadlock, both holding them shared. Searches evaluate directly until a window is stored.

    All places: a full recomputation, alone, in one transaction; never back to an earlier window than the
    stored one.
    """
    unbounded(conn)
    current = window_for(now or datetime.now(UTC))
    stored = current_window(conn)
    if location_ids is not None and stored is None and _try_alone(conn):
        location_ids = None
    if location_ids is None:
        # Alone: no publish or exception is between its changes and its commit (see MATERIALISE_LOCK).
        _lock_alone(conn, FULL_REFRESH_WAIT)
        stored = current_window(conn)  # as it is now that nothing else writes
        if stored is not None and stored.start > current.start:
            current = stored  # another process's clock is ahead: keep its window
        ensure_partitions(conn, window_days(current))
        # The days before the window keep their rows until they are dropped: a search process may still trust
        # the window before this one for a moment (drop_expired_partitions).
        conn.execute(text("DELETE FROM open_intervals WHERE day >= :first"), {"first": current.start.date()})
        hours_rows = conn.execute(text(_HOURS_SQL + HOURS_ORDER))
        written = _write_spells(conn, hours_rows, special_hours_by_location(conn, None, current.start), current)
        conn.execute(text("ANALYZE open_intervals"))  # every row is new: keep the planner's estimates true
        _store_window(conn, current)  # last: its time is when the move is seen, not when it began
        return written
    windows = [w for w in (stored, _moving_to(conn), current) if w is not None]
    # From where searches start to read the stored window (a day after its start, `search._materialised_covers`);
    # without one, the current window.
    start = stored.start + timedelta(days=1) if stored is not None else current.start
    span = Window(start, max(w.end for w in windows))
    ensure_partitions(conn, window_days(span))
    ids = list(location_ids)
    conn.execute(text("DELETE FROM open_intervals WHERE location_id = ANY(:ids)"), {"ids": ids})
    hours_rows = conn.execute(text(_HOURS_SQL + " WHERE l.id = ANY(:ids)" + HOURS_ORDER), {"ids": ids})
    return _write_spells(conn, hours_rows, special_hours_by_location(conn, ids, span.start), span)


# Places per transaction of a daily move: a publish or an exception change waits for one batch at most.
MOVE_BATCH = 20_000


def advance(engine: Engine, now: datetime | None = None, batch: int = MOVE_BATCH) -> int | None:
    """Move the window forward to `now`'s (the daily move), writing only what the days it gains change;
    returns the rows written, or None when another process is refreshing.

    The spells that reached the old window's end (clipped there, or ending on it) are rewritten whole and
    every spell reaching past it is added; the days left behind are the timer's to drop
    (`drop_expired_partitions`). Spells that began before the new window's start keep their true start,
    which no search inside the window can tell from a clipped one. The places go in batches, a transaction
    each holding MATERIALISE_LOCK alone, and the window row moves in the last: until then searches read the
    old window, whose days every place still has, and a change to a place writes both windows (`refresh`).
    At a million places this writes about a ninth of a full refresh's rows, and nothing waits for it longer
    than a batch. A full refresh (one transaction) when there is no stored window or it does not overlap the
    new one; nothing when it is current or later (a process whose clock is behind never moves it back).
    """
    window = window_for(now or datetime.now(UTC))
    with engine.connect() as conn:
        # A session lock, as the move spans transactions; it goes with the session, even on a crash.
        locked = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": WINDOW_MOVE_LOCK}).scalar_one()
        conn.commit()
        if not locked:
            return None
        try:
            written = _advance(conn, window, now, batch)
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": WINDOW_MOVE_LOCK})
            conn.commit()
        except BaseException:
            conn.invalidate()  # closes the session, and so releases the lock, whatever state it is in
            raise
        return written


def _advance(conn: Connection, window: Window, now: datetime | None, batch: int) -> int:
    with conn.begin():
        stored = current_window(conn)
    if stored is not None and stored.start >= window.start:
        return 0  # current, or moved already by a process whose clock is ahead: never back
    if stored is None or stored.end <= window.start:
        with conn.begin():
            return refresh(conn, now=now)
    with conn.begin():  # changes to places made from now on write this window too (`refresh`)
        conn.execute(
            text("UPDATE materialisation SET moving_start = :start, moving_end = :end WHERE id = 1"),
            {"start": window.start, "end": window.end},
        )
    written, after = 0, ""
    while True:
        with conn.begin():
            unbounded(conn)
            _lock_alone(conn, FULL_REFRESH_WAIT)
            ids = list(
                conn.execute(
                    text("SELECT id FROM locations WHERE id > :after ORDER BY id LIMIT :n"),
                    {"after": after, "n": batch},
                ).scalars()
            )
            # The batch is a range of ids, the last one open-ended: it holds the places added meanwhile too.
            last = ids[-1] if len(ids) == batch else None
            written += _move_places(conn, stored, window, after, last, ids)
            if last is None:
                for day in utc_days(stored.end, window.end):  # the other days' statistics still hold
                    conn.exec_driver_sql(f"ANALYZE {partition_name(day)}")
                _store_window(conn, window)
                return written
            after = last


def _move_places(
    conn: Connection, stored: Window, window: Window, after: str, last: str | None, ids: Sequence[str]
) -> int:
    """The daily move of the places with ids in (after, last]: their spells reaching the stored window's end
    rewritten whole, the ones past it added."""
    ensure_partitions(conn, window_days(window))
    in_range = "location_id > :after" + (" AND location_id <= :last" if last is not None else "")
    last_day = (stored.end - timedelta(days=1)).date()
    params: dict[str, object] = {"after": after, "last": last, "old_end": stored.end, "last_day": last_day}
    # Every spell reaching the old end has a row in the old window's last day: found there, in one partition,
    # not by a scan of all nine. The few longer than that (round the clock) have rows in earlier days too.
    reaching = conn.execute(
        text(
            f"""
            DELETE FROM open_intervals
             WHERE day = :last_day AND {in_range} AND upper(during) >= :old_end
            RETURNING location_id, service, lower(during) AS start, upper(during) AS stop
            """
        ),
        params,
    ).all()
    longer = [row for row in reaching if row.start.astimezone(UTC).date() < last_day]
    # Matched by the place's index: `during = ...` would go through the GiST, where every round-the-clock place
    # shares the window's range (at 1M, minutes per batch).
    if longer:
        conn.execute(
            text(
                """
                DELETE FROM open_intervals AS o
                 USING unnest(CAST(:ids AS text[]), CAST(:services AS text[]), CAST(:starts AS timestamptz[]),
                              CAST(:stops AS timestamptz[])) AS s(id, service, start, stop)
                 WHERE o.day >= :first AND o.day < :last_day
                   AND o.location_id = s.id AND o.service = s.service
                   AND lower(o.during) = s.start AND upper(o.during) = s.stop
                """
            ),
            {
                "ids": [row.location_id for row in longer],
                "services": [row.service for row in longer],
                "starts": [row.start for row in longer],
                "stops": [row.stop for row in longer],
                "first": window.start.date(),
                "last_day": last_day,
            },
        )
    # Rows past the old end already: a place changed during the move, written for both windows (`refresh`).
    conn.execute(text(f"DELETE FROM open_intervals WHERE day > :last_day AND {in_range}"), params)
    in_places = in_range.replace("location_id", "l.id")
    hours_rows = conn.execute(text(_HOURS_SQL + f" WHERE {in_places}" + HOURS_ORDER), params)
    # `ids` is the range's whole list: it was read under this transaction's lock, which changes wait for.
    special = special_hours_by_location(conn, ids, window.start)
    return _write_spells(conn, hours_rows, special, window, reaching=stored.end)


def _write_spells(
    conn: Connection,
    hours_rows: Iterable[Any],
    special: dict[tuple[str, str], list[SpecialHours]],
    window: Window,
    reaching: datetime | None = None,
) -> int:
    """COPY the open spells of `hours_rows` over `window` (those ending at or after `reaching`, if given)."""
    # One row per open spell and UTC day it touches: GiST keys stay short ranges, so "open at t" prunes the
    # index (a multirange per place would index as its bounding range, the whole window, and prune nothing),
    # and the index leads with the day (see migration 0005). The spells of each distinct (hours, timezone,
    # country, region, exceptions) are evaluated and formatted once: a chain's places share a handful.
    spans_cache: dict[tuple[object, ...], list[tuple[str, str]]] = {}
    general, sole = _general_and_sole(conn, special)

    def spans(row: Any) -> list[tuple[str, str]]:
        extra = service_exceptions(
            row.service, row.canonical, general.get(row.id), special.get((row.id, ""), ()),
            special.get((row.id, row.service), ()), row.timezone, row.country, row.region, row.lat, row.lon,
            special.get((row.id, sole[row.id]), ()) if row.id in sole else (),
        )  # fmt: skip
        coords = sun_coordinates(row.canonical, row.lat, row.lon, extra)
        key = (row.canonical, row.timezone, row.country, row.region, extra, coords)
        found = spans_cache.get(key)
        if found is None:
            schedule = schedule_for(row.canonical, row.timezone, row.country, row.region, extra, coords)
            found = [
                (day.isoformat(), f"[{start.isoformat()},{end.isoformat()})")
                for start, end in open_spells(schedule.intervals(window.start, window.end))
                if reaching is None or end >= reaching
                for day in utc_days(start, end)
            ]
            spans_cache[key] = found
        return found

    return copy_rows(
        conn,
        "COPY open_intervals (location_id, service, day, during, geog, version) FROM STDIN",
        ((row.id, row.service, day, during, row.geog, row.version) for row in hours_rows for day, during in spans(row)),
    )


def _store_window(conn: Connection, window: Window) -> None:
    conn.execute(
        text(
            """
            INSERT INTO materialisation (id, window_start, window_end, refreshed_at)
            VALUES (1, :start, :end, clock_timestamp())
            ON CONFLICT (id) DO UPDATE
               SET window_start = excluded.window_start, window_end = excluded.window_end,
                   refreshed_at = excluded.refreshed_at,
                   moving_start = NULL, moving_end = NULL
            """
        ),
        {"start": window.start, "end": window.end},
    )


def refresh_if_stale(engine: Engine, now: datetime | None = None) -> bool:
    """Move the window when the day has changed, then look after the day partitions; True when this call
    moved it.

    API workers call this on a timer: the first to take the lock moves the window, the others see a fresh
    window or a move under way. Answers never depend on it (instants outside the window are evaluated
    directly); only speed does.
    """
    moment = now or datetime.now(UTC)
    with engine.connect() as conn:
        stored = current_window(conn)
    stale = stored is None or stored.start < window_for(moment).start
    moved = bool(stale and advance(engine, moment) is not None)
    try:
        maintain_partitions(engine, moment)
    except Exception as exc:  # a refresh creates any day it misses, and a day left over only costs disk
        reason = outage_reason(exc)
        log.warning("open-interval partition housekeeping failed%s; retrying on the next tick",
                    f" ({reason})" if reason else "", exc_info=reason is None)  # fmt: skip
    return moved
