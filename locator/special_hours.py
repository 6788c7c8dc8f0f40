"""Dated exceptions ops staff add beside a feed's hours: holiday hours, a temporary closure until a date.

They live apart from the feed (a refresh of the feed keeps them), override the regular hours for their
dates (they are appended as later rules, with the nights around them kept with the day they start on: see
`locator.hours._nights_around`), and the place's materialised intervals are refreshed with them, in the
same transaction.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from psycopg.errors import LockNotAvailable
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from locator import open_intervals
from locator.errors import Busy, InvalidParameter, NotFound
from locator.hours import HoursError, HoursSyntaxError, Schedule, SpecialHours, rule_count, sun_coordinates
from locator.hours_syntax import normalize

MAX_DAYS = 3 * 366
# How long a change waits for a full refresh of the open intervals to finish (seconds at thousands of places,
# minutes at a million) before it is refused as busy: an admin request should not hold a server thread longer.
REFRESH_WAIT = "10s"


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
        canonical = normalize(value).canonical
    except HoursSyntaxError as exc:
        raise InvalidParameter("hours", str(exc)) from None
    if canonical == "24/7":
        # On its own days: open all day ("2024Dec24 24/7" is no rule the engine reads).
        return "00:00-24:00"
    if rule_count(canonical) > 1:
        # The exception becomes the rule `<its dates> <hours>`: the dates would scope the first rule only, and
        # the others (`10:00-14:00; Mo off`) apply every week, for good.
        raise InvalidParameter(
            "hours", f"one rule for the exception's days (times, or 'off'), not several: {canonical!r}"
        )
    return canonical


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
    if end < start:
        raise InvalidParameter("end", "must be on or after start")
    if (end - start).days > MAX_DAYS:
        raise InvalidParameter("end", f"an exception spans at most {MAX_DAYS} days")
    if comment is not None and ('"' in comment or len(comment) > 200):
        raise InvalidParameter("comment", "at most 200 characters, without double quotes")
    rule_hours = _normalise_hours(hours)
    service = service.strip().lower()
    with engine.begin() as conn:
        _hold_places(conn)
        place = conn.execute(
            text(
                "SELECT timezone, country, region, hours_services, ST_Y(geog::geometry) AS lat,"
                " ST_X(geog::geometry) AS lon FROM locations WHERE id = :id FOR UPDATE"
            ),
            {"id": location_id},
        ).first()
        if place is None:
            raise NotFound(f"no location with id {location_id!r}")
        if service and service not in place.hours_services:
            raise InvalidParameter(
                "service",
                f"{service!r} has no hours of its own at {location_id} (it follows the place's hours): "
                "add the exception for the whole place instead",
            )
        canonical = conn.execute(
            text("SELECT canonical FROM location_hours WHERE location_id = :id AND service = :s"),
            {"id": location_id, "s": service},
        ).scalar_one()
        special = SpecialHours(start, end, rule_hours, comment)
        try:  # the exception must evaluate together with the place's hours
            Schedule(canonical, place.timezone, place.country, place.region,
                     coords=sun_coordinates(canonical, place.lat, place.lon), special=(special,))  # fmt: skip
        except (HoursError, HoursSyntaxError) as exc:
            raise InvalidParameter("hours", str(exc)) from None
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
            "end": end.isoformat(), "hours": rule_hours, "comment": comment}  # fmt: skip


def list_for(engine: Engine, location_id: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """
                SELECT id, location_id, service, start_date, end_date, hours, comment
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
         "end": r.end_date.isoformat(), "hours": r.hours, "comment": r.comment}
        for r in rows
    ]  # fmt: skip


def remove(engine: Engine, special_id: int) -> None:
    with engine.begin() as conn:
        _hold_places(conn)
        location_id = conn.execute(
            text("DELETE FROM special_hours WHERE id = :id RETURNING location_id"), {"id": special_id}
        ).scalar()
        if location_id is None:
            raise NotFound(f"no special hours with id {special_id}")
        # As `add` does: a publish rewriting the place's intervals meanwhile commits first, and this refresh
        # then sees (and replaces) them; else both sets would stay, one still with the exception.
        conn.execute(text("SELECT FROM locations WHERE id = :id FOR UPDATE"), {"id": location_id})
        open_intervals.refresh(conn, [location_id])
