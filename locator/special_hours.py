"""Dated exceptions ops staff add beside a feed's hours: holiday hours, a temporary closure until a date.

They live apart from the feed (a refresh of the feed keeps them), override the regular hours for their
dates (they are appended as later rules, with the nights around them kept with the day they start on: see
`locator.hours._nights_around`), and the place's materialised intervals are refreshed with them, in the
same transaction.

An exception for one service needs hours of that service to override: the materialised intervals, the search
and a place's detail read a service's own hours when it has some (`locations.hours_services`), else the place's
general ones, with the general exceptions only. So a service that follows the place's hours gets a copy of them
as its own when ops add an exception for it (`add`), and keeps one when a publish takes its own hours away while
exceptions for it are still in force (`ingest.publish`); the copy goes with its last such exception (`remove`).

The same exception for many places (`add_to_places`: a country's Christmas Eve) is one transaction and one batch
number, which `remove_batch` takes back whole. A batch selected by filters (not by ids) also reaches the places a
later feed adds that it selects, and those a feed changes into its selection (a shop that gains a repair desk),
while it is in force (`extend_batches`, in the publish's transaction).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from time import monotonic, sleep
from types import SimpleNamespace
from typing import Any

from psycopg.errors import LockNotAvailable
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from locator import open_intervals
from locator.db import BATCH_LOCK, lock_source, unbounded
from locator.errors import Busy, InvalidParameter, NotFound
from locator.geocoders.base import validate_country
from locator.hours import (
    HoursError,
    HoursSyntaxError,
    Schedule,
    SpecialHours,
    rule_count,
    sun_coordinates,
)
from locator.hours_syntax import normalize
from locator.places import OFFERED_SQL, offers

log = logging.getLogger(__name__)

MAX_DAYS = 3 * 366
FIRST_YEAR = 1900
LAST_YEAR = 2999
# How long a change waits for a full refresh of the open intervals to finish (seconds at thousands of places,
# minutes at a million) before it is refused as busy: an admin request should not hold a server thread longer.
REFRESH_WAIT = "10s"


# pg_advisory_xact_lock key: a publish that adds places holds it shared from reading the batches' selections
# until it commits, a batch chosen by filters (or the removal of one) alone from before it reads its places; so a
# batch added while a feed is published reaches the feed's new places either way: the publish sees its selection,
# or the batch sees the committed places. Both sides try for it instead of queueing: a publish waits for it
# holding its source's rows, which a batch may wait for, up to REFRESH_WAIT, before it gives up (`busy`).
BATCH_WAIT_S = 10.0  # as REFRESH_WAIT: an admin request should not hold a server thread longer
PUBLISH_BATCH_WAIT_S = 600.0  # a batch holds it for its own writes: a minute or two at a million places


def _try_batch_lock(conn: Connection, function: str, wait_s: float, busy: str) -> None:
    deadline = monotonic() + wait_s
    while not conn.execute(text(f"SELECT {function}(:k)"), {"k": BATCH_LOCK}).scalar_one():
        if monotonic() > deadline:
            raise Busy(busy)
        sleep(0.05)


def _own_batches(conn: Connection) -> None:
    """BATCH_LOCK alone, for up to BATCH_WAIT_S."""
    _try_batch_lock(conn, "pg_try_advisory_xact_lock", BATCH_WAIT_S, "a feed is being published: try again when "
                    "it is done")  # fmt: skip


def _hold_places(conn: Connection) -> None:
    try:
        open_intervals.hold_places(conn, REFRESH_WAIT)
    except OperationalError as exc:
        if isinstance(exc.orig, LockNotAvailable):
            raise Busy("the open intervals are being refreshed (the daily refresh): try again in a minute") from None
        raise


def _normalise_hours(hours: str) -> str:
    value = hours.strip()
    if value.lower() in ("off", "closed", "fermé", "ferme"):
        return "off"
    try:
        normalised = normalize(value)
    except HoursSyntaxError as exc:
        raise InvalidParameter("hours", str(exc)) from None
    ambiguous = [w for w in normalised.warnings if w.startswith("ambiguous")]
    if ambiguous:
        # Typed by hand for one day, with nobody to read a warning: `9-5` saved as 09:00-05:00 opened the shop
        # all night on Christmas Eve. A feed's hours are read with the warning; an exception's are refused.
        raise InvalidParameter("hours", f"{ambiguous[0]}: write the times in full, such as 09:00-17:00")
    canonical = normalised.canonical
    if canonical == "24/7":
        # On its own days: open all day ("2024Dec24 24/7" is no rule the engine reads).
        return "00:00-24:00"
    if rule_count(canonical) > 1:
        # The exception becomes the rule `<its dates> <hours>`: the dates would scope the first rule only, and
        # the others (`10:00-14:00; Mo off`) apply every week, for good.
        raise InvalidParameter(
            "hours", f"one rule for the exception's days (times, or 'off'), not several: {canonical!r}"
        )
    if not _TIMES_ONLY.match(canonical):
        # Its days are the exception's: `Mo 10:00-12:00` for a Sunday matched no day and changed nothing, and
        # `Dec 25 10:00-12:00` made a rule of two dates the engine refused with a dump of the place's hours.
        raise InvalidParameter(
            "hours",
            f"times for the exception's days (such as 10:00-14:00, or 'off'), without days or dates of "
            f"their own: {canonical!r}",
        )
    return canonical


# What an exception's hours may start with: a time, a sun event, a state, or a comment.
_TIMES_ONLY = re.compile(r'(\d\d:\d\d|\(?(sunrise|sunset|dawn|dusk)|off\b|closed\b|open\b|unknown\b|")')


def _check(start: date, end: date, hours: str, comment: str | None) -> str:
    """The exception's hours as its rule will hold them, once its days and comment are checked."""
    if start.year < FIRST_YEAR:
        # The OSM syntax has no year before 1900: the rule would not parse, and the error would blame the hours.
        raise InvalidParameter("start", f"must be in {FIRST_YEAR} or later")
    if end.year > LAST_YEAR:
        raise InvalidParameter("end", f"must be in {LAST_YEAR} or earlier")
    if end < start:
        raise InvalidParameter("end", "must be on or after start")
    if (end - start).days > MAX_DAYS:
        raise InvalidParameter("end", f"an exception spans at most {MAX_DAYS} days")
    if comment is not None and ('"' in comment or len(comment) > 200):
        raise InvalidParameter("comment", "at most 200 characters, without double quotes")
    rule_hours = _normalise_hours(hours)
    if comment and '"' in rule_hours:
        # Else the engine refused the rule with a dump of the place's whole hours.
        raise InvalidParameter("hours", "holds a note of its own and a comment is given too: give the note once")
    return rule_hours


def add(
    engine: Engine,
    location_id: str,
    start: date,
    end: date,
    *,
    hours: str = "off",
    service: str = "",
    comment: str | None = None,
) -> dict[str, Any]:
    rule_hours = _check(start, end, hours, comment)
    service = _service(service)
    with engine.begin() as conn:
        _hold_places(conn)
        place = conn.execute(
            text(
                "SELECT timezone, country, region, kinds, services, hours_services, ST_Y(geog::geometry) AS lat,"
                " ST_X(geog::geometry) AS lon FROM locations WHERE id = :id FOR UPDATE"
            ),
            {"id": location_id},
        ).first()
        if place is None:
            raise NotFound(f"no location with id {location_id!r}")
        if service and service not in place.hours_services and not offers(place.services, place.kinds, service):
            offered = ", ".join(place.services) or "none"
            raise InvalidParameter("service", f"{location_id} does not offer {service!r} (its services: {offered})")
        follows_place = bool(service) and service not in place.hours_services
        canonical = conn.execute(
            text("SELECT canonical FROM location_hours WHERE location_id = :id AND service = :s"),
            {"id": location_id, "s": "" if follows_place else service},
        ).scalar_one()
        special = SpecialHours(start, end, rule_hours, comment)
        try:  # the exception must evaluate together with the place's hours
            coords = sun_coordinates(canonical, place.lat, place.lon, (special,))
            Schedule(canonical, place.timezone, place.country, place.region, coords=coords, special=(special,))
        except (HoursError, HoursSyntaxError) as exc:
            raise InvalidParameter("hours", str(exc)) from None
        same = conn.execute(
            text(
                """
                SELECT id FROM special_hours
                 WHERE location_id = :id AND service = :service AND start_date = :start AND end_date = :end
                   AND hours = :hours AND comment IS NOT DISTINCT FROM CAST(:comment AS text) AND batch IS NULL
                """
            ),
            {"id": location_id, "service": service, "start": start, "end": end, "hours": rule_hours,
             "comment": comment},
        ).scalar()  # fmt: skip
        if same is not None:
            # The same exception sent again (a client's retry): the one held, not a second one that taking the
            # first back (by the id the client was given) would leave in force.
            return {"id": same, "location_id": location_id, "service": service, "start": start.isoformat(),
                    "end": end.isoformat(), "hours": rule_hours, "comment": comment, "created": False}  # fmt: skip
        if follows_place:
            own_general_hours(conn, [(location_id, service)])
        special_id = conn.execute(
            text(
                """
                INSERT INTO special_hours (location_id, service, start_date, end_date, hours, comment)
                VALUES (:id, :service, :start, :end, :hours, :comment)
                RETURNING id
                """
            ),
            {"id": location_id, "service": service, "start": start, "end": end, "hours": rule_hours,
             "comment": comment},
        ).scalar_one()  # fmt: skip
        open_intervals.refresh(conn, [location_id])
    return {"id": special_id, "location_id": location_id, "service": service, "start": start.isoformat(),
            "end": end.isoformat(), "hours": rule_hours, "comment": comment, "created": True}  # fmt: skip


def _service(service: str) -> str:
    """The service an exception is for ('' for the whole place); a blank one is refused, not read as the whole
    place (`service: " "` closed every desk)."""
    if service and not service.strip():
        raise InvalidParameter("service", "is blank: leave it out for the whole place")
    return service.strip().lower()


@dataclass(frozen=True)
class Places:
    """The places a batch of exceptions is for: those matching every filter given (and, for a service's
    exception, offering it). The region as stored, case aside and with or without its country's prefix; the
    source exactly."""

    country: str | None = None
    region: str | None = None
    source: str | None = None
    kinds: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()

    def conditions(self) -> tuple[list[str], dict[str, Any]]:
        for name, value in (("country", self.country), ("region", self.region), ("source", self.source)):
            if value is not None and not value.strip():
                # A blank filter dropped silently would widen the batch to every country, region or source.
                raise InvalidParameter(name, "is empty: leave it out to take the places of any")
        for name, values in (("kinds", self.kinds), ("ids", self.ids)):
            if any(not value.strip() for value in values):
                raise InvalidParameter(name, "holds an empty value")
        where: list[str] = []
        params: dict[str, Any] = {}
        country = validate_country(self.country.strip() if self.country else None)
        if country:
            where.append("l.country = :country")
            params["country"] = country
        if self.region:
            if not country and "-" not in self.region.strip():
                # `CA` is California, Cádiz and Cagliari: without its country the selection took all three, and
                # kept taking the places later feeds add there.
                raise InvalidParameter(
                    "region", f"{self.region.strip()!r} names a region of several countries: give the country too "
                    "or the ISO 3166-2 code (such as US-CA)"
                )
            # Feeds write a region with its country's prefix or without (`FR-IDF`, `IDF`; `US-CA`, `CA`).
            where.append(
                "(lower(:region) IN (lower(l.region), lower(l.country || '-' || l.region))"
                " OR lower(l.region) = lower(l.country || '-' || :region))"
            )
            params["region"] = self.region.strip()
        if self.source:
            where.append("l.source = :source")
            params["source"] = self.source.strip()
        if self.kinds:
            where.append("l.kinds && CAST(:kinds AS text[])")
            params["kinds"] = [kind.strip().lower() for kind in self.kinds]
        if self.ids:
            where.append("l.id = ANY(CAST(:ids AS text[]))")
            params["ids"] = list(self.ids)
        return where, params


# A batch's answer lists this many of its places' ids (all of them are in `list_for` and the batch's rows).
BATCH_EXAMPLES = 100


def add_to_places(
    engine: Engine,
    places: Places,
    start: date,
    end: date,
    *,
    hours: str = "off",
    service: str = "",
    comment: str | None = None,
    dry_run: bool = False,
    include_closed: bool = False,
) -> dict[str, Any]:
    """The same exception for every place `places` selects (Christmas Eve's hours for a country's shops), in
    one transaction under one batch number: all of them or, when the exception does not evaluate with one
    place's hours, none (the error names the place). `dry_run` counts and checks without writing.

    Days a place's own hours (its exceptions included) keep it closed all day are left out of its exception
    unless `include_closed`: short hours for Christmas Eve must not open a shop closed for works, a regional
    holiday or its annual closure. A place that already holds the same exception is left as it is, so that a
    retried request adds nothing twice."""
    rule_hours = _check(start, end, hours, comment)
    service = _service(service)
    where, params = places.conditions()
    if not where:
        raise InvalidParameter("places", "name the places: a country, region, source, kind or ids")
    if service:
        where.append(f"(:service = ANY(l.hours_services) OR :service = ANY({OFFERED_SQL}))")
    params["service"] = service
    matching = " AND ".join(where)
    selection = not places.ids
    with engine.begin() as conn:
        # The places' rows first, then what to read of them: a publish that changed one meanwhile has committed.
        ids = _lock_places(conn, matching, params, dry_run, own_batches=selection)
        what = f"offering {service!r} " if service else ""
        if not ids:
            raise NotFound(f"no place {what}matches {_described(places)}")
        # Ids named one by one are meant one by one: one that matches nothing is a mistake, not a filter.
        unmatched = sorted(set(places.ids) - set(ids))
        if unmatched:
            raise InvalidParameter("ids", f"no place {what}matching the other filters has id {', '.join(unmatched)}")
        plan = _plan_batch(conn, ids, service, SpecialHours(start, end, rule_hours, comment), include_closed)
        applied = list(plan.runs)
        batch = None
        chosen = _selection(params, start, end, rule_hours, comment, include_closed) if selection else None
        # A selection whose places are all closed those days applies to none of them yet still stands for the
        # places later feeds add (a new shop that opens that day): kept under a batch number with no rows, once
        # (a retried request finds it stored, under the batch lock, and stores nothing).
        keep = chosen is not None and not applied and not _selection_stored(conn, chosen)
        if (applied or keep) and not dry_run:
            batch = conn.execute(text("SELECT nextval('special_hours_batch_seq')")).scalar_one()
            if applied:
                _write_batch(conn, plan, service, rule_hours, comment, batch)
                open_intervals.refresh(conn, applied)
            if chosen is not None:
                conn.execute(
                    text(
                        """
                        INSERT INTO special_hours_batch_selections (batch, country, region, source, kinds, service,
                                                                    start_date, end_date, hours, comment,
                                                                    include_closed)
                        VALUES (:batch, :country, :region, :source, CAST(:kinds AS text[]), :service, :start, :end,
                                :hours, :comment, :include_closed)
                        """
                    ),
                    {**chosen, "batch": batch},
                )
    return {"batch": batch, "places": len(applied), "location_ids": applied[:BATCH_EXAMPLES],
            "closed": len(plan.closed), "closed_ids": plan.closed[:BATCH_EXAMPLES],
            "already": len(plan.already), "already_ids": plan.already[:BATCH_EXAMPLES],
            "service": service, "start": start.isoformat(), "end": end.isoformat(), "hours": rule_hours,
            "comment": comment, "dry_run": dry_run}  # fmt: skip


def _selection(
    params: dict[str, Any], start: date, end: date, hours: str, comment: str | None, include_closed: bool
) -> dict[str, Any]:
    """A batch's selection as `special_hours_batch_selections` holds it, from the filters as `Places.conditions`
    normalised them (and the service)."""
    return {"country": params.get("country"), "region": params.get("region"), "source": params.get("source"),
            "kinds": sorted(params.get("kinds", [])), "service": params["service"], "start": start, "end": end,
            "hours": hours, "comment": comment, "include_closed": include_closed}  # fmt: skip


def _selection_stored(conn: Connection, chosen: dict[str, Any]) -> bool:
    """Whether a batch with this very selection and exception is stored already."""
    found = conn.execute(
        text(
            """
            SELECT 1
              FROM special_hours_batch_selections
             WHERE country IS NOT DISTINCT FROM CAST(:country AS text)
               AND region IS NOT DISTINCT FROM CAST(:region AS text)
               AND source IS NOT DISTINCT FROM CAST(:source AS text)
               AND kinds = CAST(:kinds AS text[]) AND service = :service
               AND start_date = :start AND end_date = :end AND hours = :hours
               AND comment IS NOT DISTINCT FROM CAST(:comment AS text) AND include_closed = :include_closed
             LIMIT 1
            """
        ),
        chosen,
    )
    return found.first() is not None


def _write_batch(conn: Connection, plan: _Plan, service: str, hours: str, comment: str | None, batch: int) -> None:
    """The batch's rows for the places `plan` keeps (their intervals are the caller's to refresh)."""
    own_general_hours(conn, [(place, service) for place in plan.runs if place in plan.follows_place])
    rows = [(place, first, last) for place, runs in plan.runs.items() for first, last in runs]
    conn.execute(
        text(
            """
            INSERT INTO special_hours (location_id, service, start_date, end_date, hours, comment, batch)
            SELECT r.id, :service, r.first, r.last, :hours, :comment, :batch
              FROM unnest(CAST(:ids AS text[]), CAST(:firsts AS date[]), CAST(:lasts AS date[])) AS r (id, first, last)
            """
        ),
        {"ids": [r[0] for r in rows], "firsts": [r[1] for r in rows], "lasts": [r[2] for r in rows],
         "service": service, "hours": hours, "comment": comment, "batch": batch},
    )  # fmt: skip


Selected = frozenset[tuple[int, str]]


def share_batches(conn: Connection) -> None:
    """BATCH_LOCK shared until the transaction ends, as a publish that writes places holds it (see above)."""
    _try_batch_lock(conn, "pg_try_advisory_xact_lock_shared", PUBLISH_BATCH_WAIT_S,
                    "a batch of special hours was being added or removed for too long")  # fmt: skip


def selected_before(conn: Connection, changed: Sequence[str]) -> Selected:
    """(batch, place) for each in-force batch selection that selects each of the places `changed` as
    `locations` holds them now: what a publish reads before it writes their new rows, so that its batches reach
    the places the feed changes into their selections, and only those (a place a batch selected already, whose
    exception ops took back, keeps it taken back). A publish calls it holding BATCH_LOCK shared
    (`share_batches`), as `extend_batches` takes it; a dry run reads the selections as they stand."""
    if not changed:
        return frozenset()
    places = "(SELECT * FROM locations WHERE id = ANY(CAST(:changed AS text[])))"
    return frozenset(
        (sel.batch, place) for sel, ids in _selected(conn, places, {"changed": list(changed)}) for place in ids
    )


def extend_batches(
    conn: Connection, added: Sequence[str], changed: Sequence[str] = (), before: Selected = frozenset()
) -> tuple[dict[int, list[str]], list[tuple[str, str, str]]]:
    """The batches selected by filters and still in force, applied to the places a publish adds (`added`, their
    rows and hours written, in the publish's transaction) that they select, and to the places it changes
    (`changed`) that they select now but did not before (`before`, from `selected_before`): as `add_to_places`
    would have, had they been there (closed days left out unless the batch included them). Returns each batch's
    new places, and (place, service, why) for each place a batch could not be applied to (its hours do not
    evaluate with the batch's). The caller refreshes the places' intervals. Raises Busy when a batch being added
    or removed holds BATCH_LOCK for longer than PUBLISH_BATCH_WAIT_S."""
    applied: dict[int, list[str]] = {}
    failed: list[tuple[str, str, str]] = []
    if not added and not changed:
        return applied, failed
    share_batches(conn)
    places = "(SELECT * FROM locations WHERE id = ANY(CAST(:places AS text[])))"
    for sel, ids in _entering(conn, places, {"places": [*added, *changed]}, before):
        plan = _plan_selected(conn, sel, ids, failed)
        if plan.runs:
            _write_batch(conn, plan, sel.service, sel.hours, sel.comment, sel.batch)
            applied[sel.batch] = sorted(plan.runs)
    return applied, failed


def _plan_selected(
    conn: Connection,
    sel: Any,
    ids: list[str],
    failed: list[tuple[str, str, str]],
    staged: bool = False,
    pending: Mapping[tuple[str, str], list[SpecialHours]] | None = None,
) -> _Plan:
    """The plan of batch selection `sel` for the places `ids` it selects (`staged`, `pending`: a dry run's, as
    `_plan_batch` takes them); a place whose hours the batch does not evaluate with is left out and added to
    `failed` as (place, service, why)."""
    special = SpecialHours(sel.start_date, sel.end_date, sel.hours, sel.comment)
    try:  # all at once, as add_to_places plans them (places sharing hours share their evaluation)
        return _plan_batch(conn, ids, sel.service, special, sel.include_closed, staged, pending)
    except (InvalidParameter, HoursError, HoursSyntaxError):
        plan = _Plan()
        for place in ids:  # one by one: a place whose hours the batch does not evaluate with is left out alone
            try:
                one = _plan_batch(conn, [place], sel.service, special, sel.include_closed, staged, pending)
            except (InvalidParameter, HoursError, HoursSyntaxError) as exc:
                why = getattr(exc, "message", None) or str(exc)
                failed.append((place, sel.service, f"batch {sel.batch} ({sel.start_date}..{sel.end_date} "
                                                   f"{sel.hours}): {why}"))  # fmt: skip
                continue
            plan.runs.update(one.runs)
            plan.follows_place |= one.follows_place
        return plan


def _entering(
    conn: Connection, places: str, params: dict[str, Any], before: Selected
) -> Iterator[tuple[Any, list[str]]]:
    """`_selected`, less the places each selection selected `before`."""
    for sel, ids in _selected(conn, places, params):
        entering = [place for place in ids if (sel.batch, place) not in before]
        if entering:
            yield sel, entering


def _selected(conn: Connection, places: str, params: dict[str, Any]) -> Iterator[tuple[Any, list[str]]]:
    """Each in-force batch selection, with the ids of `places` (a subquery of rows shaped as `locations`'s, with
    `params`) that it selects, when there are any."""
    selections = conn.execute(
        text("SELECT * FROM special_hours_batch_selections WHERE end_date >= :in_force ORDER BY batch"),
        {"in_force": in_force_from()},
    ).all()
    for sel in selections:
        where, bound = Places(sel.country, sel.region, sel.source, tuple(sel.kinds)).conditions()
        if sel.service:
            where.append(f"(:service = ANY(l.hours_services) OR :service = ANY({OFFERED_SQL}))")
        statement = f"SELECT l.id FROM {places} AS l WHERE {' AND '.join(where) or 'true'} ORDER BY l.id"
        ids = list(conn.execute(text(statement), {**params, **bound, "service": sel.service}).scalars())
        if ids:
            yield sel, ids


def batches_for_staged(
    conn: Connection, added: Sequence[str], source: str, changed: Sequence[str] = ()
) -> tuple[dict[int, list[str]], list[tuple[str, str, str]]]:
    """For a dry run: the in-force batches chosen by filters that would reach the places a feed adds (`added`,
    still in the publish's `staged_locations` only) or changes into their selections (`changed`, as staged
    against `locations`), with those places, planned as a publish plans them (a place closed all the batch's
    days left out), and (place, service, why) for each place whose hours a batch does not evaluate with, as
    `extend_batches` returns them."""
    out: dict[int, list[str]] = {}
    failed: list[tuple[str, str, str]] = []
    if not added and not changed:
        return out, failed
    before = selected_before(conn, changed)
    staged = """(SELECT s.id, s.country, s.region, s.kinds, s.services, s.hours_services,
                        CAST(:feed_source AS text) AS source
                   FROM staged_locations AS s
                  WHERE s.id = ANY(CAST(:places AS text[])))"""
    # Each batch planned as if the ones before it were written, as the publish writes them (an earlier closure
    # closes a desk that follows its place's hours; the same exception from two selections is held once).
    pending: dict[tuple[str, str], list[SpecialHours]] = {}
    for sel, ids in _entering(conn, staged, {"places": [*added, *changed], "feed_source": source}, before):
        plan = _plan_selected(conn, sel, ids, failed, True, pending)
        for place, runs in plan.runs.items():
            pending.setdefault((place, sel.service), []).extend(
                SpecialHours(first, last, sel.hours, sel.comment) for first, last in runs
            )
        if plan.runs:
            out[sel.batch] = sorted(plan.runs)
    return out, failed


@dataclass
class _Plan:
    """The days each place's exception is for (runs of consecutive days), and the places left out, by why."""

    runs: dict[str, list[tuple[date, date]]] = field(default_factory=dict)
    closed: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    follows_place: set[str] = field(default_factory=set)


# Each place's hours a batch is planned against: the service's own, else the place's.
_PLACE_HOURS = """
SELECT l.id, l.timezone, l.country, l.region, ST_Y(l.geog::geometry) AS lat,
       ST_X(l.geog::geometry) AS lon, h.canonical, g.canonical AS general,
       (:service <> '' AND NOT :service = ANY(l.hours_services)) AS follows_place
  FROM locations AS l
  JOIN location_hours AS h
         ON h.location_id = l.id
        AND h.service = CASE WHEN :service = ANY(l.hours_services) THEN :service ELSE '' END
  LEFT JOIN location_hours AS g ON g.location_id = l.id AND g.service = ''
 WHERE l.id = ANY(CAST(:ids AS text[]))
 ORDER BY l.id
"""
# The same, from a dry run's staged rows (their hours ride along as arrays).
_STAGED_HOURS = """
SELECT s.id, s.timezone, s.country, s.region, s.lat, s.lon, h.canonical,
       (SELECT g.canonical FROM unnest(s.hours_service, s.hours_canonical) AS g (service, canonical)
         WHERE g.service = '') AS general,
       (:service <> '' AND NOT :service = ANY(s.hours_services)) AS follows_place
  FROM staged_locations AS s
 CROSS JOIN LATERAL unnest(s.hours_service, s.hours_canonical) AS h (service, canonical)
 WHERE s.id = ANY(CAST(:ids AS text[]))
   AND h.service = CASE WHEN :service = ANY(s.hours_services) THEN :service ELSE '' END
 ORDER BY s.id
"""


def _plan_batch(
    conn: Connection,
    ids: list[str],
    service: str,
    special: SpecialHours,
    include_closed: bool,
    staged: bool = False,
    pending: Mapping[tuple[str, str], list[SpecialHours]] | None = None,
) -> _Plan:
    """The plan of one exception for `ids` (`staged`: a dry run's rows, with `pending`, the exceptions the
    batches planned before this one would have written, as the publish writes each before planning the next)."""
    rows = conn.execute(text(_STAGED_HOURS if staged else _PLACE_HOURS), {"ids": ids, "service": service}).all()
    held = open_intervals.special_hours_by_location(conn, ids, datetime.combine(special.start, time(0), UTC))
    if pending:
        wanted = set(ids)
        for place_service, items in pending.items():
            if place_service[0] in wanted:
                held[place_service] = [*held.get(place_service, []), *items]
    days = [special.start + timedelta(days=n) for n in range((special.end - special.start).days + 1)]
    open_days: dict[tuple[object, ...], list[date]] = {}
    checked: set[tuple[object, ...]] = set()
    plan = _Plan()
    for row in rows:
        if row.follows_place:
            plan.follows_place.add(row.id)
        own = open_intervals.service_exceptions(
            service, row.canonical, row.general, held.get((row.id, ""), ()), held.get((row.id, service), ()),
            row.timezone, row.country, row.region, row.lat, row.lon,
        )  # fmt: skip
        coords = sun_coordinates(row.canonical, row.lat, row.lon, (*own, special))
        key = (row.canonical, row.timezone, row.country, row.region, own, coords)
        if include_closed or special.hours == "off":
            # A closure changes nothing on a day already closed: one rule for the whole span, its comment on
            # every day of it.
            runs = [(special.start, special.end)]
        else:
            if key not in open_days:
                schedule = open_intervals.schedule_for(
                    row.canonical, row.timezone, row.country, row.region, own, coords
                )
                open_days[key] = [day for day in days if schedule.opens_on(day)]
            runs = _runs(open_days[key])
        if not runs:
            plan.closed.append(row.id)
            continue
        mine = held.get((row.id, service), [])
        if all(SpecialHours(first, last, special.hours, special.comment) in mine for first, last in runs):
            plan.already.append(row.id)
            continue
        for first, last in runs:  # the exception must evaluate together with each place's hours
            check = (*key, first, last)
            if check in checked:
                continue
            try:
                Schedule(row.canonical, row.timezone, row.country, row.region, coords=coords,
                         special=(*own, SpecialHours(first, last, special.hours, special.comment)))  # fmt: skip
            except (HoursError, HoursSyntaxError) as exc:
                raise InvalidParameter("hours", f"with the hours of {row.id}: {exc}") from None
            checked.add(check)
        plan.runs[row.id] = runs
    return plan


def _runs(days: list[date]) -> list[tuple[date, date]]:
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _lock_places(
    conn: Connection, matching: str, params: dict[str, Any], dry_run: bool = False, *, own_batches: bool = False
) -> list[str]:
    """The ids of the places `matching` selects, in order, their rows locked (not for a dry run); with
    `own_batches`, BATCH_LOCK alone too, taken once the sources' locks are held: a publish takes its source's
    lock, then (adding places) BATCH_LOCK shared, so a batch holding BATCH_LOCK while it waited for the source
    failed after its 10 s every time, and held the publish up as long.

    The ingest locks of their sources come first, in order: a publish takes its source's, then locks its rows
    in its own order, so a batch locking rows first deadlocked with it. A publish may add a place of another
    source to the selection between the two: that is `Busy`, not a row locked out of order."""
    if dry_run:
        return list(
            conn.execute(text(f"SELECT l.id FROM locations AS l WHERE {matching} ORDER BY l.id"), params).scalars()
        )
    unbounded(conn)
    held = set(conn.execute(text(f"SELECT DISTINCT l.source FROM locations AS l WHERE {matching}"), params).scalars())
    conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{REFRESH_WAIT}'")
    for source in sorted(held):
        try:
            lock_source(conn, source)
        except OperationalError as exc:
            if isinstance(exc.orig, LockNotAvailable):
                raise Busy(f"a feed of source {source!r} is being published: try again when it is done") from None
            raise
    if own_batches:
        _own_batches(conn)
    _hold_places(conn)
    rows = conn.execute(
        text(f"SELECT l.id, l.source FROM locations AS l WHERE {matching} ORDER BY l.id FOR UPDATE"), params
    ).all()
    if any(row.source not in held for row in rows):
        raise Busy("a publish changed these places meanwhile: try again")
    return [row.id for row in rows]


def _described(places: Places) -> str:
    named = {"country": places.country, "region": places.region, "source": places.source,
             "kinds": ",".join(places.kinds), "ids": ",".join(places.ids)}  # fmt: skip
    return " ".join(f"{name}={value}" for name, value in named.items() if value)


def remove_batch(engine: Engine, batch: int) -> int:
    """Remove every exception of a batch (`add_to_places`); the number of places it was for."""
    matching = "l.id IN (SELECT location_id FROM special_hours WHERE batch = :batch)"
    with engine.begin() as conn:
        selected = text("SELECT 1 FROM special_hours_batch_selections WHERE batch = :batch")
        # A selection's batch: no publish gives it to a place it adds meanwhile.
        own = conn.execute(selected, {"batch": batch}).first() is not None
        ids = _lock_places(conn, matching, {"batch": batch}, own_batches=own)
        removed = conn.execute(
            text("DELETE FROM special_hours WHERE batch = :batch RETURNING location_id, service"), {"batch": batch}
        ).all()
        selection = conn.execute(
            text("DELETE FROM special_hours_batch_selections WHERE batch = :batch RETURNING batch"), {"batch": batch}
        ).all()
        if not removed and not selection:
            raise NotFound(f"no special hours in batch {batch}")
        for location_id, service in sorted({(row.location_id, row.service) for row in removed if row.service}):
            _drop_copied_hours(conn, location_id, service)
        if ids:
            open_intervals.refresh(conn, ids)
    return len(ids)


def batches(engine: Engine, limit: int = 50) -> list[dict[str, Any]]:
    """The newest batches (`add_to_places`) still held: what they hold and for how many places, and what a batch
    chosen by filters selects (`selection`; None for ids named one by one), which places a feed adds later get."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """
                SELECT h.batch, h.service, h.hours, h.comment, min(h.start_date) AS start, max(h.end_date) AS end,
                       count(DISTINCT h.location_id) AS places, min(h.created_at) AS created_at,
                       s.country, s.region, s.source, s.kinds, s.batch IS NOT NULL AS selected
                  FROM special_hours AS h
                  LEFT JOIN special_hours_batch_selections AS s ON s.batch = h.batch
                 WHERE h.batch IS NOT NULL
                 GROUP BY h.batch, h.service, h.hours, h.comment, s.batch
                 UNION ALL
                -- A selection whose places have all gone (a retired source) still reaches a later feed's.
                SELECT s.batch, s.service, s.hours, s.comment, s.start_date, s.end_date, 0, s.created_at,
                       s.country, s.region, s.source, s.kinds, true
                  FROM special_hours_batch_selections AS s
                 WHERE NOT EXISTS (SELECT 1 FROM special_hours AS h WHERE h.batch = s.batch)
                 ORDER BY batch DESC
                 LIMIT :limit
                """
            ),
            {"limit": limit},
        ).all()
    return [
        {"batch": r.batch, "places": r.places, "service": r.service, "start": r.start.isoformat(),
         "end": r.end.isoformat(), "hours": r.hours, "comment": r.comment, "created_at": r.created_at.isoformat(),
         "selection": {"country": r.country, "region": r.region, "source": r.source, "kinds": r.kinds}
                      if r.selected else None}
        for r in rows
    ]  # fmt: skip


def list_for(engine: Engine, location_id: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """
                SELECT id, location_id, service, start_date, end_date, hours, comment, batch
                  FROM special_hours
                 WHERE location_id = :id
                 ORDER BY start_date, id
                """
            ),
            {"id": location_id},
        ).all()
        if not rows and conn.execute(text("SELECT FROM locations WHERE id = :id"), {"id": location_id}).first() is None:
            raise NotFound(f"no location with id {location_id!r}")  # a mistyped id, not a place without any
    return [
        {"id": r.id, "location_id": r.location_id, "service": r.service, "start": r.start_date.isoformat(),
         "end": r.end_date.isoformat(), "hours": r.hours, "comment": r.comment, "batch": r.batch}
        for r in rows
    ]  # fmt: skip


def remove(engine: Engine, special_id: int) -> None:
    """Remove one exception. A place's own (not a batch's) gives the place, on its days, the batches chosen by
    filters that left the place out while it kept it closed: short hours for the 24th reach a shop whose
    closure for works ops take back. A batch's row removed from one place stays removed."""
    with engine.begin() as conn:
        _hold_places(conn)
        found = conn.execute(
            text(
                "SELECT location_id, service, start_date, end_date, batch, created_at FROM special_hours"
                " WHERE id = :id"
            ),
            {"id": special_id},
        ).first()
        if found is None:
            raise NotFound(f"no special hours with id {special_id}")
        if found.batch is None:  # before the place's row, as a batch takes it
            busy = "a batch of special hours is being added or removed: try again when it is done"
            _try_batch_lock(conn, "pg_try_advisory_xact_lock_shared", BATCH_WAIT_S, busy)
        # The place's row before the exception's, as `add` and `remove_batch` take them (the other order
        # deadlocked with a batch's removal); and a publish rewriting the place's intervals meanwhile commits
        # first, so that this refresh sees (and replaces) them, else both sets would stay.
        conn.execute(text("SELECT FROM locations WHERE id = :id FOR UPDATE"), {"id": found.location_id})
        if conn.execute(text("DELETE FROM special_hours WHERE id = :id"), {"id": special_id}).rowcount == 0:
            raise NotFound(f"no special hours with id {special_id}")  # removed meanwhile
        if found.service:
            _drop_copied_hours(conn, found.location_id, found.service)
        if found.batch is None:
            _batches_after_removal(conn, found.location_id, found.start_date, found.end_date, found.created_at)
        open_intervals.refresh(conn, [found.location_id])


def _batches_after_removal(conn: Connection, location_id: str, start: date, end: date, since: datetime) -> None:
    """The stored batch selections added while the place's exception just removed (`remove`) stood (`since`
    its creation) that select the place, planned again for that exception's days: the days it may have kept
    the place closed, which those batches then left out. Days the place holds the batch's exception already
    are left as they are, and a batch added before the exception is not touched (ops may have taken its
    exception back from the place). Batches that include closed days, and closures, were applied whatever the
    place's days were: nothing to add."""
    failed: list[tuple[str, str, str]] = []
    place = "(SELECT * FROM locations WHERE id = :place)"
    for sel, ids in _selected(conn, place, {"place": location_id}):
        first, last = max(sel.start_date, start), min(sel.end_date, end)
        if sel.include_closed or sel.hours == "off" or first > last or sel.created_at <= since:
            continue
        held = conn.execute(
            text(
                "SELECT start_date, end_date FROM special_hours"
                " WHERE location_id = :place AND batch = :batch AND service = :service"
            ),
            {"place": location_id, "batch": sel.batch, "service": sel.service},
        ).all()
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        free = [day for day in days if not any(a <= day <= b for a, b in held)]
        for run_first, run_last in _runs(free):
            part = SimpleNamespace(**{**sel._mapping, "start_date": run_first, "end_date": run_last})
            plan = _plan_selected(conn, part, ids, failed)
            if plan.runs:
                _write_batch(conn, plan, sel.service, sel.hours, sel.comment, sel.batch)
    for _, _, why in failed:
        log.warning("%s: %s", location_id, why)


def in_force_from(now: datetime | None = None) -> date:
    """Exceptions ending before this day touch no answer any more: a service keeps a copy of the place's hours
    for them no longer (an old closure, which ops seldom delete, would keep it for good)."""
    return open_intervals.first_exception_day(now or datetime.now(UTC))


def own_general_hours(conn: Connection, services: Sequence[tuple[str, str]]) -> None:
    """Give each (place, service) a copy of the place's general hours as its own, in the caller's transaction,
    which holds the places' rows. The caller refreshes their intervals."""
    if not services:
        return
    params = {"ids": [place for place, _ in services], "services": [service for _, service in services]}
    conn.execute(
        text(
            """
            INSERT INTO location_hours (location_id, service, raw, canonical)
            SELECT h.location_id, k.service, h.raw, h.canonical
              FROM unnest(CAST(:ids AS text[]), CAST(:services AS text[])) AS k (id, service)
              JOIN location_hours AS h ON h.location_id = k.id AND h.service = ''
            """
        ),
        params,
    )
    # Also a new row version of the place: the search's caches key places by it (`open_intervals.PLACE_VERSION`).
    conn.execute(
        text(
            """
            UPDATE locations AS l
               SET hours_services = ARRAY(SELECT DISTINCT unnest(l.hours_services || k.services) ORDER BY 1)
              FROM (SELECT id, array_agg(service) AS services
                      FROM unnest(CAST(:ids AS text[]), CAST(:services AS text[])) AS k (id, service)
                     GROUP BY id) AS k
             WHERE l.id = k.id
            """
        ),
        params,
    )


def _drop_copied_hours(conn: Connection, location_id: str, service: str) -> None:
    """Drop the service's hours at the place when they are a copy of its general hours and no exception for it
    is in force any more: they were kept for the exceptions alone (`own_general_hours`). A feed's own hours
    equal to the place's go too, which no answer can tell apart; the next publish that changes the place
    writes them again."""
    dropped = conn.execute(
        text(
            """
            DELETE FROM location_hours AS h
             USING location_hours AS g
             WHERE h.location_id = :id AND h.service = :service
               AND g.location_id = h.location_id AND g.service = ''
               AND h.raw = g.raw AND h.canonical = g.canonical
               AND NOT EXISTS (SELECT FROM special_hours AS s
                                WHERE s.location_id = h.location_id AND s.service = h.service
                                  AND s.end_date >= :in_force)
            RETURNING h.service
            """
        ),
        {"id": location_id, "service": service, "in_force": in_force_from()},
    ).first()
    if dropped is not None:
        conn.execute(
            text(
                """
                UPDATE locations
                   SET hours_services = array_remove(hours_services, :service)
                 WHERE id = :id
                """
            ),
            {"id": location_id, "service": service},
        )
