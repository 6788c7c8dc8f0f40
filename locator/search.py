"""nearest(): the one query the product is about.

Order is by true geodesic distance on the WGS84 ellipsoid. A GiST KNN scan (`<->` on geography, a sphere)
yields candidates fast; they are re-ranked by `ST_Distance(a, b, true)` (the ellipsoid). The sphere and the
ellipsoid disagree by well under 1%, so the re-ranked top N is provably the true top N once the N-th
ellipsoidal distance is below 99% of the last candidate's sphere distance; otherwise the candidate set grows.

"Open at t" is an index condition on the materialised intervals (locator/open_intervals.py: the partition of
t's UTC day, a GiST on (geog, during) for its short spells and one for its long ones) while t lies in their
window, and direct evaluation of the hours outside it. The hot statements run through `db.fetch_rows` (psycopg
directly, without SQLAlchemy's result objects).

An ingest that publishes in the middle of a search cannot make it see half of the old snapshot and half of
the new: the search and its places' rows are one statement, and the direct path, which needs several, runs
them in one REPEATABLE READ snapshot.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import psycopg
from sqlalchemy import Connection, Engine

from locator.db import database_identity, fetch_rows
from locator.errors import DatabaseUnavailable, InvalidParameter, NotFound
from locator.geocoders.base import Origin
from locator.geocoders.gazetteer import NEAREST_POSTCODE_SQL, coordinates_origin
from locator.hours import Interval, Schedule, SpecialHours, State, sun_coordinates
from locator.open_intervals import (
    PLACE_VERSION,
    WINDOW_TTL,
    Window,
    current_window,
    day_search_functions,
    first_exception_day,
    partition_name,
    schedule_for,
    service_exceptions,
    sole_service,
)
from locator.places import OFFERED_SQL, SERVICE_CENTRE, SERVICE_CENTRE_SERVICE, PlaceFields, offered

log = logging.getLogger(__name__)

GENERAL = ""  # the service key of a place's general hours
SPHERE_SLACK = 0.99  # ellipsoid/sphere distance ratio lower bound, with margin (true bound is ~0.995)
MAX_LIMIT = 100
MAX_RADIUS_KM = 1000.0
MAX_OPEN_FOR = 7 * 24 * 60


# Instants a question may be about. Hours are evaluated up to 400 days past `at` (the next opening after a long
# closure), and Python's datetime ends in year 9999: an `at` of 9999-07-03 answered 500 (schemathesis).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def parse_instant(raw: str | None, parameter: str = "at") -> datetime | None:
    """An instant as the API and the CLI read one: ISO-8601 with a UTC offset (`datetime.fromisoformat`: the
    extended and basic forms, `Z`, `+01`), checked by `check_instant`; None for None. Not pydantic's
    datetime, which read a bare number as Unix seconds (`at=99999999999` answered about 1973)."""
    if raw is None:
        return None
    text = raw.strip()
    if any(ord(c) < 32 for c in text):  # fromisoformat lets a NUL through
        raise InvalidParameter(parameter, "must not contain control characters")
    try:
        # RFC 3339 allows a lower-case 't' and 'z' (the schema's date-time), which fromisoformat refuses.
        moment = datetime.fromisoformat(text.upper())
    except ValueError:
        # A '+' typed into a URL arrives as a space: "10:00:00 02:00".
        hint = " (in a URL, write its '+' as %2B)" if re.search(r"\d \d\d(:?\d\d)?$", text) else ""
        raise InvalidParameter(
            parameter, f"must be an ISO-8601 instant, e.g. 2026-05-01T10:00:00+02:00{hint}"
        ) from None
    check_instant(moment, parameter)
    return moment


def check_instant(at: datetime | None, parameter: str = "at") -> None:
    """An instant the API accepts: with a UTC offset, between 1970 and 2100."""
    if at is None:
        return
    if at.tzinfo is None:
        raise InvalidParameter(parameter, "must carry a UTC offset, e.g. 2026-05-01T10:00:00+02:00")
    if not EARLIEST <= at < LATEST:
        raise InvalidParameter(parameter, "must lie between 1970 and 2100")


MAX_FILTER_VALUES = 20


def filter_values(name: str, values: Sequence[str] | None) -> tuple[str, ...]:
    """The values of a kind/product/service filter as the API and the CLI read them: repeated or comma-separated,
    case-insensitive, each a word of letters, digits, '_' and '-'."""
    if not values:
        return ()
    out = []
    for value in values:
        for part in value.split(","):
            part = part.strip().lower()
            if not part:
                continue
            if len(part) > 40 or not all(c.isalnum() or c in "_-" for c in part):
                raise InvalidParameter(name, f"{part[:40]!r} is not a valid {name}")
            out.append(part)
            # Counted after the split: `kind=a,b,...` is as many values as `kind=a&kind=b&...`.
            if len(out) > MAX_FILTER_VALUES:
                raise InvalidParameter(name, f"at most {MAX_FILTER_VALUES} values")
    return tuple(out)


OpenWhen = Literal["now", "any"]  # open at the instant asked (and for open_for minutes), or any place


@dataclass(frozen=True)
class NearestQuery:
    lat: float
    lon: float
    kinds: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    open: OpenWhen = "now"
    at: datetime | None = None
    open_for: int = 0
    limit: int = 10
    radius_km: float = 50.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lat) and -90 <= self.lat <= 90):
            raise InvalidParameter("lat", "must be a number between -90 and 90")
        if not (math.isfinite(self.lon) and -180 <= self.lon <= 180):
            raise InvalidParameter("lon", "must be a number between -180 and 180")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise InvalidParameter("limit", f"must be between 1 and {MAX_LIMIT}")
        if not (math.isfinite(self.radius_km) and 0 < self.radius_km <= MAX_RADIUS_KM):
            raise InvalidParameter("radius_km", f"must be greater than 0 and at most {MAX_RADIUS_KM:g}")
        if not 0 <= self.open_for <= MAX_OPEN_FOR:
            raise InvalidParameter("open_for", f"must be between 0 and {MAX_OPEN_FOR} minutes")
        if self.open not in ("now", "any"):
            raise InvalidParameter("open", "must be 'now' or 'any'")
        check_instant(self.at)
        if self.kinds and set(self.kinds) == {SERVICE_CENTRE} and not self.services:  # `kind=a,a` is `kind=a`
            # Service centres alone: open while their repair desk is (locator.places); a shop counts as one by
            # its desk, and its own hours kept it "open" at 20:30 with the desk closed at 20:00.
            object.__setattr__(self, "services", (SERVICE_CENTRE_SERVICE,))


@dataclass
class Place(PlaceFields):
    """A location as stored, with its hours and exceptions; `schedule(service)` evaluates them."""

    hours: dict[str, str]  # service ('' = general) -> canonical hours
    geo_precision: str = "coordinates"
    distance_m: float | None = None
    special: dict[str, list[SpecialHours]] = field(default_factory=dict)
    # An answer asks for the same service's schedule several times (state, hours today, ...).
    _schedules: dict[str, Schedule | None] = field(default_factory=dict, repr=False, compare=False)
    # What answers build from the place alone (locator.answers): shared, like the schedules, by the per-answer
    # copies of a cached place.
    memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def schedule(self, service: str = GENERAL) -> Schedule | None:
        key = service if service in self.hours else GENERAL
        if key in self._schedules:
            return self._schedules[key]
        canonical = self.hours.get(key)
        found = None
        if canonical is not None:
            sole = sole_service(self.services, self.kinds, self.hours) if key == GENERAL else None
            extra = service_exceptions(
                key, canonical, self.hours.get(GENERAL), self.special.get(GENERAL, ()), self.special.get(key, ()),
                self.timezone, self.country, self.region, self.lat, self.lon,
                self.special.get(sole, ()) if sole else (),
            )  # fmt: skip
            coords = sun_coordinates(canonical, self.lat, self.lon, extra)
            found = schedule_for(canonical, self.timezone, self.country, self.region, extra, coords)
        self._schedules[key] = found
        return found

    def _shown_labels(self) -> list[str]:
        """Each offered service, and "general" for a place without, or whose every service has other hours of
        its own: a place's `open` follows its general hours, which an answer must then show under their own
        name (a kiosk "open" at 03:00 beside sales hours of 07:00-23:00 showed none of the hours it was open
        by). Memoised with the place: each answer asks for every place."""
        found: list[str] | None = self.memo.get("labels")
        if found is None:
            # What the place offers (a service centre's repair desk, listed or not: it is judged by it).
            services = offered(self.services, self.kinds)
            own = {self.hours.get(service) for service in services}
            if not services:
                found = ["general"]
            elif GENERAL in self.hours and None not in own and self.hours[GENERAL] not in own:
                found = ["general", *services]
            else:
                found = list(services)
            self.memo["labels"] = found
        return found

    def shown_schedules(self) -> list[tuple[str, Schedule]]:
        """(label, schedule) of what answers show (`_shown_labels`), memoised with the place."""
        found: list[tuple[str, Schedule]] | None = self.memo.get("shown")
        if found is None:
            found = []
            for label in self._shown_labels():
                schedule = self.schedule(GENERAL if label == "general" else label)
                if schedule is not None:
                    found.append((label, schedule))
            self.memo["shown"] = found
        return found

    def hours_by_service(self) -> dict[str, str]:
        """What responses show: each shown label's hours (a service's general hours where it has none)."""
        out: dict[str, str] = {}
        for label in self._shown_labels():
            canonical = (
                self.hours.get(GENERAL) if label == "general" else self.hours.get(label, self.hours.get(GENERAL))
            )
            if canonical is not None:
                out[label] = canonical
        return out


@dataclass(frozen=True)
class OpenState:
    # What the hours say now: "unknown" for times they leave open ("on appointment", an open end), which
    # `open` (false) and a null `next_open` could not tell from closed for good.
    state: State
    closes_at: datetime | None
    next_open: datetime | None
    closing_soon: bool
    comment: str | None = None

    @property
    def open(self) -> bool:
        return self.state == "open"


_NEVER = OpenState("closed", None, None, False)  # no hours for what was asked


def open_state(schedule: Schedule | None, at: datetime, closing_soon_minutes: int) -> OpenState:
    if schedule is None:
        return _NEVER
    instant = at.astimezone(UTC)
    kept = schedule.memo.get("open_state")
    if kept is not None and kept[0] <= instant < kept[1] and kept[2] == closing_soon_minutes:
        return kept[3]  # type: ignore[no-any-return]
    spell = schedule.spell(at)
    if spell is None or spell.state != "open":
        state, comment = schedule.state(at)
        return OpenState(state, None, schedule.next_open(at), False, comment)
    closes = schedule.closes_at(at)
    soon = _closing_soon(closes, at, closing_soon_minutes)
    found = OpenState("open", closes, None, soon, spell.comment)
    # The same answer holds for every instant of the spell on the same side of "closing soon": kept with the
    # schedule, which a chain's places share and every answer "now" asks again (an answer's Python, its rows
    # replayed without the database at 1M places, busy: 0.36-0.38 -> 0.29 ms; BENCHMARKS.md, API, note 34).
    start, end = spell.start.astimezone(UTC), spell.end.astimezone(UTC)
    if closes is not None:
        edge = closes.astimezone(UTC) - timedelta(minutes=closing_soon_minutes)
        start, end = (max(start, edge), end) if soon else (start, min(end, edge))
    schedule.memo["open_state"] = (start, end, closing_soon_minutes, found)
    return found


def _closing_soon(closes: datetime | None, at: datetime, minutes: int) -> bool:
    # Elapsed time, not wall-clock: two datetimes of the same ZoneInfo subtract as wall-clock times.
    return closes is not None and closes.astimezone(UTC) - at.astimezone(UTC) <= timedelta(minutes=minutes)


def open_state_all(schedules: Sequence[Schedule | None], at: datetime, closing_soon_minutes: int) -> OpenState:
    """The state of a place asked for several services at once (`service=pickup&service=repair`): open while
    all of them are, as `open=now` filters; the first service alone made an answer of `open=any` call the
    place open with its repair desk closed."""
    if len(schedules) == 1:
        return open_state(schedules[0], at, closing_soon_minutes)
    if any(schedule is None for schedule in schedules):
        return _NEVER
    states = [open_state(schedule, at, closing_soon_minutes) for schedule in schedules]
    if all(state.open for state in states):
        ends = [state.closes_at for state in states if state.closes_at is not None]
        closes = min(ends, key=lambda moment: moment.astimezone(UTC)) if ends else None
        soon = _closing_soon(closes, at, closing_soon_minutes)
        return OpenState("open", closes, None, soon, next((s.comment for s in states if s.comment), None))
    comment = next((s.comment for s in states if not s.open and s.comment), None)
    together: State = "closed" if any(s.state == "closed" for s in states) else "unknown"
    return OpenState(together, None, _next_open_together(schedules, at), False, comment)


def _next_open_together(schedules: Sequence[Schedule | None], at: datetime) -> datetime | None:
    """The first instant after `at` at which every schedule is open: each closed one's next opening, until
    they meet (a few rounds for real hours); None when one never opens again or they do not meet soon."""
    moment = at
    for _ in range(16):
        later = []
        for schedule in schedules:
            assert schedule is not None
            if schedule.state(moment)[0] != "open":
                opens = schedule.next_open(moment)
                if opens is None:
                    return None
                later.append(opens)
        if not later:
            return moment
        moment = max(later, key=lambda instant: instant.astimezone(UTC))
    return None


# -- SQL ----------------------------------------------------------------------------------------------------

_PLACE_COLUMNS = f"""
       {PLACE_VERSION} AS version, l.id, l.name, l.kind, l.kinds, l.street, l.postcode, l.city, l.region, l.country,
       ST_Y(l.geog::geometry) AS lat, ST_X(l.geog::geometry) AS lon, l.timezone, l.phone, l.url,
       l.products, l.services, l.geo_precision,
       (SELECT json_object_agg(h.service, h.canonical) FROM location_hours AS h WHERE h.location_id = l.id)
           AS hours,
       (SELECT json_agg(json_build_object('service', s.service, 'start', s.start_date, 'end', s.end_date,
                                          'hours', s.hours, 'comment', s.comment) ORDER BY s.id)
          FROM special_hours AS s
         WHERE s.location_id = l.id AND s.end_date >= CAST(:first_day AS date)) AS special
"""

# The statements planned for their values are built for the query's shape: a filter that is not asked for is
# not in the SQL at all. Catch-all forms (`cardinality(:kinds) = 0 OR ...`, a CASE on every row) made the
# planner misjudge how many rows pass, and at 10k places it chose a bitmap scan of everything open plus a sort
# (22 ms) over the KNN index scan that stops after k rows (0.5 ms). The day's functions (migrations 0026, 0027) use
# catch-all forms, as one kept plan serves every shape: there the planner has no other plan to choose.
_ORIGIN = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography"
_EFFECTIVE_SERVICE = "CASE WHEN {s} = ANY(l.hours_services) THEN {s} ELSE '' END"
# How many open rows a filtered query's scan reads for each candidate it asks for (`knn_open_sql`).
SCAN_PER_CANDIDATE = 50


def _within_box(alias: str) -> str:
    """The radius's bounding box as a condition of the KNN scans' indexes: subtrees beyond the radius are not
    read (raw KNN at 1M places busy 0.30-0.31 against 0.33-0.35 ms, alternating; BENCHMARKS.md, API, note 35),
    and at 03:00 in a sparse place the scan ends at the radius instead of reading open places farther away.
    The scans' limits are hidden from the planner, or it sorted the whole box (`_nearest_spells`).

    The box (`&&`, as `ST_DWithin` expands its argument for the index), not `ST_DWithin`, whose distance test
    in the scan's filter let the planner trade the ordered scan for a bitmap scan of everything within the
    radius plus a sort (800 ms at 1M places in a busy city); the exact radius is applied to the candidates.
    The box is the sphere's and the radius the ellipsoid's (a place 99.9 km due north of the equator is ~100.4
    km away on the sphere): it is widened by the sphere/ellipsoid slack, a margin only, as PostGIS 3.3 widens
    its box by ~1% already (a review found no miss without it over 438k origins and bearings)."""
    return f"{alias}.geog && _ST_Expand({_ORIGIN}, CAST(:radius_m AS float8) / {SPHERE_SLACK})"


# Spells longer than 16 hours (round the clock, or open into the night) and the rest have a GiST each (migration
# 0023), so that at 03:00 the scan of the short ones ends in the index's upper pages, whose spells do not reach
# 03:00, instead of walking the leaves for the few long spells among them. NULL (an unbounded spell) counts as
# long, so that every row is under exactly one of the two indexes; the bounds are Python datetimes, never
# 'infinity' (which the subtraction would refuse). The text is the indexes' predicate, which the planner must
# find in the query to use them (and an index predicate must be immutable: `lower + interval` is not).
LONG_SPELL = "coalesce(upper({a}.during) - lower({a}.during) > interval '16 hours', true)"


def _nearest_spells(columns: str, table: str, conditions: list[str], limit: str) -> str:
    """The nearest `limit` rows of `table` meeting `conditions`, as one ordered scan of each length's index
    merged by distance (the planner's Merge Append: each branch is read only as far as the merge needs), each
    row with its sphere distance `sphere_m`; the caller orders by it and limits again.

    The branches' limit is a subquery, a value the planner does not plan with (it assumes a tenth of the rows):
    given the value, it read the whole box and sorted it whenever the limit exceeded the rows it expected in
    the box, and it expects half the box's rows in each branch, having no statistics on the spells' length
    (at 1M places, the unfiltered statement's later rounds, k 800 within 25 km: a bitmap scan and a sort, 52
    ms against 6.3 ms ordered; a filtered scan of 10,000 rows within 25 km: 84 against 12.6 ms)."""
    branches = []
    for length in (f"NOT {LONG_SPELL}", LONG_SPELL):
        where = (chr(10) + "           AND ").join([*conditions, length.format(a="o")])
        branches.append(f"""(SELECT {columns}, o.geog <-> {_ORIGIN} AS sphere_m
          FROM {table} AS o
         WHERE {where}
         ORDER BY o.geog <-> {_ORIGIN}
         LIMIT (SELECT CAST({limit} AS bigint)))""")
    return branches[0] + chr(10) + "        UNION ALL" + chr(10) + "        " + branches[1]


def _place_filters(query: NearestQuery) -> list[str]:
    out = []
    if query.kinds:
        out.append("l.kinds && CAST(:kinds AS text[])")
    if query.products:
        out.append("l.products && CAST(:products AS text[])")
    if query.services:
        out.append(f"{OFFERED_SQL} @> CAST(:services AS text[])")
    return out


def _open_during(alias: str, query: NearestQuery) -> str:
    if query.open_for:
        return f"{alias}.during @> tstzrange(CAST(:at AS timestamptz), CAST(:until AS timestamptz), '[)')"
    return f"{alias}.during @> CAST(:at AS timestamptz)"


def knn_open_sql(query: NearestQuery, day: date) -> str:
    """Candidates open at :at (for :open_for minutes), nearest first, from the materialised intervals of
    :at's UTC day (`day`).

    A query open at an instant (the API's) calls its day's function (migrations 0025-0027), which keeps
    its plan; one open for a while (`open_for`) is planned for its values (`knn_open_statement`). A day's
    table dropped meanwhile is an error either way, not an empty answer (`_nearest` then evaluates the hours
    directly).

    A query filtered on the place (kinds, products, services) reads its candidates from a scan of at most
    :scan open rows within the radius's box (`_open_scan_sql`), joined to their places and filtered: the scan
    stays the ordered KNN scan and stops after :scan rows however few pass; its last row, `last_scanned`,
    comes along with its id NULL unless it passes, so that `exact_knn_steps` knows how far the scan reached
    and scans further."""
    if query.open_for:
        return knn_open_statement(query, day)
    # The statement below through the day's functions, which keep their plans (migrations 0025-0027):
    # planned for each query it cost ~0.16 ms of its ~0.5 ms at 1M places unfiltered, 0.30-0.50 ms of ~1 ms
    # filtered (BENCHMARKS.md, API, notes 39 and 40). They name the day's table as the statement does.
    unfiltered, filtered = day_search_functions(partition_name(day))
    if not (query.kinds or query.products or query.services):
        function, arguments = unfiltered, ""
    else:
        function = filtered
        arguments = (", CAST(:scan AS bigint), CAST(:kinds AS text[]), CAST(:products AS text[]),"
                     " CAST(:services AS text[])")  # fmt: skip
    return f"""
SELECT o.id, o.sphere_m, o.distance_m, o.version, o.last_scanned
  FROM {function}(CAST(:lat AS float8), CAST(:lon AS float8), CAST(:at AS timestamptz),
       CAST(:radius_m AS float8), CAST(:k AS bigint){arguments}) AS o
"""


def knn_open_statement(query: NearestQuery, day: date) -> str:
    """`knn_open_sql` as a statement planned for its values (for a query open at an instant, the body of the
    day's functions, migrations 0025-0027; the benchmark's raw SQL).

    The day's partition is named, not found by the planner from `day = :day` on the parent: a spell is
    stored under every UTC day it touches, so that day's table holds every spell open at :at, and planning
    over one table instead of pruning the parent's took ~15% of the database's CPU per statement at 1M
    places (BENCHMARKS.md, API, note 26)."""
    table = partition_name(day)
    # The place's row is joined only when a filter needs it: the plain query reads the indexes alone.
    if not (query.kinds or query.products or query.services):
        scan = _nearest_spells(
            "o.location_id AS id, o.geog, o.version",
            table,
            [_open_during("o", query), _within_box("o"), "o.service = ''"],
            ":k",
        )
        return f"""
SELECT o.id, o.sphere_m, ST_Distance(o.geog, {_ORIGIN}, true) AS distance_m, o.version, false AS last_scanned
  FROM ({scan}) AS o
 ORDER BY o.sphere_m
 LIMIT :k
"""
    conditions = _place_filters(query)
    if query.services:
        conditions.append(f"o.service = {_EFFECTIVE_SERVICE.format(s='CAST(:first_service AS text)')}")
    if len(query.services) > 1:
        # Every further service asked for must be open too (its own hours, or the general ones).
        conditions.append(f"""NOT EXISTS (
         SELECT 1
           FROM unnest(CAST(:more_services AS text[])) AS s(name)
          WHERE NOT EXISTS (
                  SELECT 1
                    FROM {table} AS o2
                   WHERE o2.location_id = l.id
                     AND o2.service = {_EFFECTIVE_SERVICE.format(s="s.name")}
                     AND {_open_during("o2", query)}))""")
    passes = (chr(10) + "                   AND ").join(conditions)
    # The scan's last row (the :scan-th) comes too, whether it passes or not (its id NULL when not): when fewer
    # than :k pass, it says that the scan was cut there, and how far it reached, in the same snapshot. Each row's
    # place is looked up by its key in scan order (the OFFSET keeps the lookup a lateral one), so the statement
    # stops once :k pass: as a plain join, guessing that few rows pass, the planner hashed the whole locations
    # table and sorted (3 ms at 10k places, and growing with the table).
    return f"""
SELECT CASE WHEN f.passes THEN o.location_id END AS id, o.sphere_m,
       ST_Distance(o.geog, {_ORIGIN}, true) AS distance_m, o.version, o.n = :scan AS last_scanned
  FROM (SELECT s.*, row_number() OVER (ORDER BY s.sphere_m) AS n
          FROM ({_open_scan_sql(query, table)}) AS s) AS o
 CROSS JOIN LATERAL (
        SELECT {passes} AS passes
          FROM locations AS l
         WHERE l.id = o.location_id
        OFFSET 0) AS f
 WHERE f.passes OR o.n = :scan
 ORDER BY o.sphere_m
 LIMIT :k
"""


def _open_scan_sql(query: NearestQuery, table: str) -> str:
    """The nearest :scan rows open at :at of the services a filtered query may read, within the radius's box,
    nearest first.

    Its own LIMIT keeps the place's filters out of its plan: with them in the same query the planner, guessing
    that few rows pass (a CASE it cannot estimate), chose a bitmap scan of every open row in the radius's box
    plus a sort (54k rows, 139 ms, for `service=repair` in Paris at 1M places) over the ordered scan. With the
    box and :scan in sight, it read the box whole and sorted it whenever :scan exceeded the rows it expected
    there (a radius of 10-25 km, or a limit of 40: 20-57 ms against ~1 ms), hence the hidden limit of
    `_nearest_spells`. Without the box (the form before migration 0023) the rounds ended when the scan passed
    the radius, so a filter no place near enough passes (a repair desk at 03:00 on a Saturday) read :scan rows
    beyond it, and with the spells' two indexes the short spells' branch at 03:00 walked to the nearest one
    open anywhere (another continent: 15 ms) before the merge could begin (BENCHMARKS.md, API, notes 35 and
    37)."""
    service = "o.service IN ('', CAST(:first_service AS text))" if query.services else "o.service = ''"
    scan = _nearest_spells(
        "o.location_id, o.service, o.geog, o.version",
        table,
        [_open_during("o", query), service, _within_box("o")],
        ":scan",
    )
    return f"""
        SELECT s.*
          FROM ({scan}) AS s
         ORDER BY s.sphere_m
         LIMIT :scan"""


def knn_any_sql(query: NearestQuery) -> str:
    """Candidates whatever their hours, nearest first (open=any, and the direct path's candidates)."""
    filters = _place_filters(query)
    return f"""
SELECT l.id, l.geog <-> {_ORIGIN} AS sphere_m, ST_Distance(l.geog, {_ORIGIN}, true) AS distance_m,
       {PLACE_VERSION} AS version, false AS last_scanned
  FROM locations AS l{(chr(10) + " WHERE " + (chr(10) + "   AND ").join(filters)) if filters else ""}
 ORDER BY l.geog <-> {_ORIGIN}
 LIMIT :k
"""


def statement_params(query: NearestQuery, at: datetime) -> dict[str, Any]:
    """The parameters every statement above takes (one that is not in a statement is ignored)."""
    return {
        "lat": query.lat,
        "lon": query.lon,
        "radius_m": query.radius_km * 1000.0,
        "kinds": list(query.kinds),
        "products": list(query.products),
        "services": list(query.services),
        "at": at,
        "day": at.astimezone(UTC).date(),
        "until": at.astimezone(UTC) + timedelta(minutes=query.open_for),
        "first_service": query.services[0] if query.services else GENERAL,
        "more_services": list(query.services[1:]),
        "first_day": first_exception_day(at),
    }


@dataclass
class SearchResult:
    at: datetime
    places: list[Place]
    states: list[OpenState]
    path: str  # which strategy answered: materialised | direct | any (for benchmarks and tests)
    origin: Origin | None = None  # the query point labelled by its nearest postcode, when asked and at hand


def read_connection(engine: Engine) -> Connection:
    """A REPEATABLE READ connection: every statement of one answer sees one snapshot. psycopg applies it at
    BEGIN, so it costs no extra round trip.

    Not `postgresql_readonly`: SQLAlchemy resets it to False (not to the default) when the connection goes
    back to the pool, psycopg then begins the next transaction READ WRITE, and a hot-standby replica refuses
    that (NotSupportedError), failing the next request on that connection."""
    return engine.connect().execution_options(isolation_level="REPEATABLE READ")


def statement_connection(engine: Engine) -> Connection:
    """An autocommit connection for answers whose every consistent part is one statement (a statement sees
    one snapshot by itself): no BEGIN and no ROLLBACK round trips. A path that needs several statements in
    one snapshot opens it with `snapshot(conn)`."""
    return engine.connect().execution_options(isolation_level="AUTOCOMMIT")


@contextmanager
def snapshot(conn: Connection) -> Iterator[None]:
    """One REPEATABLE READ snapshot for the statements inside, on a connection in either mode."""
    # Not conn.in_transaction(): SQLAlchemy begins a logical transaction on an autocommit connection too
    # (after the origin's reverse geocode, say), with nothing open on the server.
    if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
        yield  # the caller's transaction is the snapshot
        return
    conn.exec_driver_sql("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    try:
        yield
    finally:
        conn.exec_driver_sql("ROLLBACK")


def nearest(
    bind: Engine | Connection,
    query: NearestQuery,
    *,
    now: datetime | None = None,
    closing_soon_minutes: int = 30,
    oversample: int = 2,
    force_direct: bool = False,
    label_origin: bool = False,
) -> SearchResult:
    """The nearest places for `query`; on a connection the caller holds (the API geocodes and searches on
    one), or on a read connection of its own. `label_origin`: also label the query point by its nearest
    postcode in the same statement (`SearchResult.origin`; None on the direct path, which has no such
    statement)."""
    at = query.at or now or datetime.now(UTC)
    if isinstance(bind, Connection):
        return _nearest(bind, query, at, closing_soon_minutes, oversample, force_direct, label_origin)
    try:
        with statement_connection(bind) as conn:
            return _nearest(conn, query, at, closing_soon_minutes, oversample, force_direct, label_origin)
    except InvalidParameter:
        raise
    except Exception as exc:
        raise_if_unavailable(exc)
        raise


def raise_if_unavailable(exc: BaseException) -> None:
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, TimeoutError

    # A statement timeout, from db.fetch_rows and the asyncio pool as psycopg raises it, or as SQLAlchemy wraps it
    # (an OperationalError, which the check below would name an outage).
    if isinstance(getattr(exc, "orig", None) or exc, psycopg.errors.QueryCanceled):
        raise DatabaseUnavailable("the query took too long") from exc
    if isinstance(exc, OperationalError | InterfaceError | TimeoutError | psycopg.OperationalError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    ):
        raise DatabaseUnavailable("the database did not answer in time") from exc


def _nearest(
    conn: Connection,
    query: NearestQuery,
    at: datetime,
    soon: int,
    oversample: int,
    force_direct: bool,
    label_origin: bool,
) -> SearchResult:
    params = statement_params(query, at)
    found: list[Place]
    origin: Origin | None = None
    if query.open == "any":
        found, origin = _exact_knn(conn, knn_any_sql(query), params, query.limit, oversample, label_origin)
        path = "any"
    elif not force_direct and (materialised := _materialised_knn(conn, query, params, oversample, label_origin)):
        found, origin = materialised
        path = "materialised"
    else:
        with snapshot(conn):
            found = _direct_open(conn, query, params, at, oversample)
        path = "direct"
    return result_of(query, at, soon, found, path, origin)


def result_of(
    query: NearestQuery, at: datetime, soon: int, found: list[Place], path: str, origin: Origin | None
) -> SearchResult:
    """The search's result: the places found, each with its state at `at`."""
    # A chain's places share schedules (the same cached object): each distinct one is evaluated once.
    by_schedule: dict[tuple[int, ...], OpenState] = {}
    states = []
    for place in found:
        schedules = [place.schedule(service) for service in query.services or (GENERAL,)]
        key = tuple(id(schedule) for schedule in schedules)
        state = by_schedule.get(key)
        if state is None:
            state = by_schedule[key] = open_state_all(schedules, at, soon)
        states.append(state)
    return SearchResult(at, found, states, path, origin)


def _materialised_knn(
    conn: Connection, query: NearestQuery, params: dict[str, Any], oversample: int, label_origin: bool
) -> tuple[list[Place], Origin | None] | None:
    """The answer from the materialised intervals, or None when they do not cover the query's instants: not
    in the window this process trusts, or the day's table gone (dropped after a move of the window while the
    cached window row still covered it). A day whose search functions are missing (dropped with its table, or
    a day made by older code: `open_intervals.repair_day_functions` makes them on the next tick) is read by
    the statement they hold, planned for its values."""
    at, day = params["at"], params["day"]
    if not _materialised_covers(conn, at, params["until"]):
        return None
    try:
        try:
            return _exact_knn(conn, knn_open_sql(query, day), params, query.limit, oversample, label_origin)
        except psycopg.errors.UndefinedFunction:
            if _transaction_lost(conn):
                forget_window(conn.engine)  # perhaps the day's table is gone too: the window is read again
                raise
            warn_no_day_function(day)
            return _exact_knn(conn, knn_open_statement(query, day), params, query.limit, oversample, label_origin)
    except psycopg.errors.UndefinedTable:
        forget_window(conn.engine)
        if _transaction_lost(conn):
            raise
        return None


def _transaction_lost(conn: Connection) -> bool:
    """Whether an error aborted the caller's transaction: nothing more can run on it."""
    raw = conn.connection.driver_connection
    return raw is not None and raw.info.transaction_status == psycopg.pq.TransactionStatus.INERROR


_warned_days: set[date] = set()


def warn_no_day_function(day: date) -> None:
    if day not in _warned_days:
        _warned_days.add(day)
        log.warning("the search functions of %s are missing: its searches are planned each time", day)


# The window row is read at most every WINDOW_TTL seconds per process. A cached window is trusted only from a
# day after its start: refreshes move the window forward by whole days, so within the TTL the true window
# still covers every instant the cached one is trusted for after a one-day move, and the days a longer move
# leaves keep their rows for longer than the TTL (see open_intervals.drop_expired_partitions).
_window_cache: dict[Engine, tuple[float, Window | None]] = {}


def _materialised_covers(conn: Connection, at: datetime, until: datetime) -> bool:
    covered = window_covers(conn.engine, at, until)
    if covered is None:
        _window_cache[conn.engine] = (time.monotonic(), current_window(conn))
        covered = window_covers(conn.engine, at, until)
    return bool(covered)


def window_covers(engine: Engine, at: datetime, until: datetime) -> bool | None:
    """Whether the materialised window this process trusts for `engine` covers `at` to `until`; None when
    the window row is to be read (again) first."""
    fetched = _window_cache.get(engine)
    if fetched is None or time.monotonic() - fetched[0] > WINDOW_TTL:
        return None
    window = fetched[1]
    # `at` strictly before the end: the rows stop there (an exclusive bound), so at the end itself open=now
    # found nothing open at all, once a day (today + 8 days, 00:00 UTC).
    return window is not None and window.start + timedelta(days=1) <= at < window.end and until <= window.end


def forget_window(engine: Engine) -> None:
    """The day's table was gone: read the window row again on the next search."""
    _window_cache.pop(engine, None)


# The origin's label as both statements name it (`_exact_knn` reads it from whichever ran).
_LABEL_COLUMNS = "lb.postcode AS origin_postcode, lb.place_name AS origin_place, lb.country AS origin_country"


def with_places(candidates_sql: str, label_origin: bool = False, columns: str = _PLACE_COLUMNS) -> str:
    """The candidates, the top :limit of them within :radius_m by ellipsoidal distance with their places'
    rows, and what the candidate set reached: one statement, so one snapshot and one round trip. With
    `label_origin`, also the postcode nearest the origin (a coordinate query's label), in the same trip."""
    label_cte = f",\n     label AS ({NEAREST_POSTCODE_SQL})" if label_origin else ""
    # The chosen places' columns come from the join that checks they exist: one primary-key lookup per
    # candidate, not a second one per chosen place (~20 of the busy statement's ~118 buffers at 1M places).
    # PostgreSQL evaluates the hours and version subqueries after the LIMIT, for the chosen places only; the
    # exceptions' (json_agg) it evaluates for every candidate that passes the radius (EXPLAIN at 1M).
    return f"""
WITH candidates AS MATERIALIZED ({candidates_sql}),
     chosen AS (
       SELECT c.distance_m, {columns}
         FROM candidates AS c
         JOIN locations AS l ON l.id = c.id  -- an interval row whose place is gone never takes a slot
        WHERE c.distance_m <= :radius_m
        ORDER BY c.distance_m, c.id COLLATE "C"  -- ties in the order Python gives a cached answer
        LIMIT :limit),
     reached AS (SELECT count(*) AS fetched, max(sphere_m) AS sphere_m, bool_or(last_scanned) AS cut
                   FROM candidates){label_cte}
SELECT r.fetched, r.sphere_m AS reach, r.cut, {_LABEL_COLUMNS + "," if label_origin else ""} ch.*
  FROM reached AS r{chr(10) + "  LEFT JOIN label AS lb ON true" if label_origin else ""}
  LEFT JOIN chosen AS ch ON true
 ORDER BY ch.distance_m, ch.id COLLATE "C"
"""


def with_label(candidates_sql: str, label_origin: bool = False) -> str:
    """The candidates alone (ids, distances and the versions of their places), and with `label_origin` the
    postcode nearest the origin in the same trip (one row with the candidate's columns NULL when there is
    none): the statement of an answer whose places are all in the process's cache at those versions. The
    radius, the top :limit and what the candidate set reached are worked out from them by the caller."""
    if not label_origin:
        return candidates_sql
    return f"""
SELECT c.*, {_LABEL_COLUMNS}
  FROM (SELECT) AS one
  LEFT JOIN ({NEAREST_POSTCODE_SQL}) AS lb ON true
  LEFT JOIN ({candidates_sql}) AS c ON true
"""


class PlaceCache:
    """Places as built from their rows, by (database, first exception day, id, row version), least recently
    used out first. Entries are never stale: a changed row or exception has another version, so its old
    entry is only ever evicted. Shared by a worker's request threads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[object, ...], Place] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[object, ...]) -> Place | None:
        with self._lock:
            place = self._entries.get(key)
            if place is not None:
                self._entries.move_to_end(key)
            return place

    def put(self, key: tuple[object, ...], place: Place) -> None:
        with self._lock:
            self._entries[key] = place
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


# ~3 KB a place: ~60 MB per worker when full. The benchmark's 512 origins touch ~5k places.
PLACES = PlaceCache(20_000)


def first_candidates(limit: int, oversample: int) -> int:
    """How many KNN candidates the first round fetches for `limit` results."""
    return max(limit * oversample, limit + 10)


# What a search's steps ask for and are given back: a statement with its parameters, then its rows.
Statement = tuple[str, dict[str, Any]]
KnnSteps = Generator[Statement, list[Any], tuple[list[Place], Origin | None]]


def _exact_knn(
    conn: Connection,
    candidates_sql: str,
    params: dict[str, Any],
    limit: int,
    oversample: int,
    label_origin: bool = False,
) -> tuple[list[Place], Origin | None]:
    """`exact_knn_steps` on a connection of this thread."""
    steps = exact_knn_steps(candidates_sql, params, limit, oversample, label_origin, database_identity(conn))
    try:
        statement, bound = next(steps)
        while True:
            statement, bound = steps.send(fetch_rows(conn, statement, bound))
    except StopIteration as done:
        found: tuple[list[Place], Origin | None] = done.value
        return found


def exact_knn_steps(
    candidates_sql: str,
    params: dict[str, Any],
    limit: int,
    oversample: int,
    label_origin: bool,
    database: object,
) -> KnnSteps:
    """The true top `limit` by ellipsoidal distance within the radius, from sphere-ordered KNN candidates
    (and, with `label_origin`, the origin labelled by its nearest postcode).

    The radius is applied to the candidates; their SQL bounds the scans by the radius's box alone
    (`_within_box`). A query filtered on the place reads the candidates among the nearest :scan open rows
    (`knn_open_sql`): when fewer than k pass, the scan's last row (`last_scanned`, its id NULL unless it
    passes) says how far it reached, and the next round scans four times as far; no such row, and nothing is
    left.

    The first statement is the candidates' KNN alone, each with the version of its place (stored with the
    materialised intervals, read from the place on the `open=any` path); when the cache holds every chosen
    place at that version, the answer is built from the cache, else the statement with the places' rows
    runs (one snapshot by itself, joined to `locations`, so that a place is never shown without its row) and
    fills the cache. At 1M places the first statement took ~0.7-1.0 ms against ~1.0-1.4 ms when it joined
    the chosen places to `locations` for their versions (BENCHMARKS.md, API, note 22).

    Steps, not calls: each statement is yielded and its rows sent back, so that one logic runs on a
    thread's connection (`_exact_knn`) and on the event loop's (`locator.search_async`). `database` is
    the connection's database identity (`db.database_identity`), which keys the place cache.
    """
    radius = params["radius_m"]
    by_knn = with_label(candidates_sql, label_origin)
    cache_key = (database, params["first_day"])
    k = first_candidates(limit, oversample)
    while True:
        bound = {**params, "k": k, "scan": k * SCAN_PER_CANDIDATE, "limit": limit}
        rows = yield by_knn, bound
        returned = [row for row in rows if row.sphere_m is not None]  # not with_label's row without candidates
        candidates = [row for row in returned if row.id is not None]  # nor a filtered scan's last row that fails
        chosen = sorted(
            (row for row in candidates if row.distance_m <= radius), key=lambda row: (row.distance_m, row.id)
        )
        places = _cached_places(chosen[:limit], cache_key)
        fetched, reach = len(returned), max((row.sphere_m for row in returned), default=None)
        cut = any(row.last_scanned for row in returned)
        if places is None:
            rows = yield with_places(candidates_sql, label_origin), bound
            places = []
            for row in rows:
                if row.id is not None:
                    place = _place(row)
                    PLACES.put((*cache_key, row.id, row.version), place)
                    places.append(_at_distance(place, row.distance_m))
            fetched, reach, cut = rows[0].fetched, rows[0].reach, rows[0].cut
        first = rows[0] if rows else None
        origin = (
            coordinates_origin(params["lat"], params["lon"], first.origin_postcode, first.origin_place,
                               first.origin_country)
            if label_origin and first is not None else None
        )  # fmt: skip
        if (fetched < k and not cut) or reach is None:
            # Fewer than k rows, and no scan cut short by its :scan: no more candidates anywhere.
            return places, origin
        reach = float(reach) * SPHERE_SLACK  # every place not fetched is at least this far
        if reach > radius or (len(places) == limit and _distance(places[-1]) < reach):
            return places, origin
        k *= 4


def _cached_places(rows: Sequence[Any], cache_key: tuple[object, ...]) -> list[Place] | None:
    """The chosen places from the cache, each at its distance; None unless every one is there."""
    out = []
    for row in rows:
        place = PLACES.get((*cache_key, row.id, row.version))
        if place is None:
            return None
        out.append(_at_distance(place, row.distance_m))
    return out


def _at_distance(place: Place, distance_m: float) -> Place:
    """This answer's copy of a (shared, cached) place: only the distance differs between answers."""
    # A shallow copy by hand: copy.copy goes through __reduce_ex__ (5.9 against 2.0 us a place, ten an answer).
    mine = Place.__new__(Place)
    mine.__dict__.update(place.__dict__)
    mine.distance_m = float(distance_m)
    return mine


def _direct_open(
    conn: Connection, query: NearestQuery, params: dict[str, Any], at: datetime, oversample: int
) -> list[Place]:
    """Open places by evaluating hours candidate by candidate (instants outside the materialised window)."""
    k = max(query.limit * oversample, 64)
    statement = knn_any_sql(query)
    found: list[Place] = []
    seen: set[str] = set()
    while True:
        # Each round reads the k nearest from the first, not the next page by OFFSET: places at one distance (a
        # mall's shops at one point) come in no set order, and two statements ordered them differently once the
        # index held dead entries (a republished snapshot), so pages showed one place twice and skipped another.
        # Those an earlier round evaluated are skipped by id.
        rows = fetch_rows(conn, statement, {**params, "k": k})
        if not rows:
            break
        fresh = [row for row in rows if row.id not in seen]
        seen.update(row.id for row in fresh)
        places = load_places(conn, [r.id for r in fresh], at)
        for row in fresh:
            place = places.get(row.id)
            if float(row.distance_m) <= params["radius_m"] and place is not None and _open_for_all(place, query, at):
                place.distance_m = float(row.distance_m)
                found.append(place)
        found.sort(key=lambda place: (_distance(place), place.id))
        reach = float(rows[-1].sphere_m) * SPHERE_SLACK
        if reach > params["radius_m"] or (len(found) >= query.limit and _distance(found[query.limit - 1]) < reach):
            break
        if len(rows) < k:
            break
        k *= 2
    return found[: query.limit]


def _distance(place: Place) -> float:
    return place.distance_m if place.distance_m is not None else 0.0


def _open_for_all(place: Place, query: NearestQuery, at: datetime) -> bool:
    for service in query.services or (GENERAL,):
        schedule = place.schedule(service)
        if schedule is None or not schedule.is_open(at, query.open_for):
            return False
    return True


def load_places(conn: Connection, ids: Sequence[str], at: datetime | None = None) -> dict[str, Place]:
    """The places with their hours and their exceptions still in force around `at`, in one statement."""
    if not ids:
        return {}
    rows = fetch_rows(
        conn,
        f"SELECT {_PLACE_COLUMNS} FROM locations AS l WHERE l.id = ANY(:ids)",
        {"ids": list(ids), "first_day": first_exception_day(at or datetime.now(UTC))},
    )
    return {row.id: _place(row) for row in rows}


def _place(row: Any) -> Place:
    return Place(
        id=row.id,
        name=row.name,
        kind=row.kind,
        kinds=list(row.kinds),
        street=row.street,
        postcode=row.postcode,
        city=row.city,
        region=row.region,
        country=row.country.strip(),
        lat=float(row.lat),
        lon=float(row.lon),
        timezone=row.timezone,
        phone=row.phone,
        url=row.url,
        products=list(row.products),
        services=list(row.services),
        hours=dict(row.hours or {}),
        geo_precision=row.geo_precision,
        special=_special(row.special),
        distance_m=float(row.distance_m) if "distance_m" in row._fields else None,
    )


def _special(items: list[dict[str, Any]] | None) -> dict[str, list[SpecialHours]]:
    out: dict[str, list[SpecialHours]] = {}
    for item in items or ():
        out.setdefault(item["service"], []).append(
            SpecialHours(date.fromisoformat(item["start"]), date.fromisoformat(item["end"]), item["hours"],
                         item["comment"])
        )  # fmt: skip
    return out


def get_place(engine: Engine, location_id: str, at: datetime) -> Place:
    try:
        with statement_connection(engine) as conn:
            places = load_places(conn, [location_id], at)
    except Exception as exc:
        raise_if_unavailable(exc)
        raise
    if location_id not in places:
        raise NotFound(f"no location with id {location_id!r}")
    return places[location_id]


def week(place: Place, at: datetime, days: int = 7) -> dict[str, list[Interval]]:
    """Open intervals for the next `days` days per shown service, in the place's local time."""
    out: dict[str, list[Interval]] = {}
    for service, schedule in place.shown_schedules():
        # From local midnight to local midnight: 7 x 24 h in UTC cut the last evening of a week whose clocks go
        # back at 23:00, and took an hour of an eighth day in spring.
        first = schedule.local(at).date()
        out[service] = schedule.intervals(schedule.midnight(first), schedule.midnight(first + timedelta(days=days)))
    return out
