"""`locator hours eval`: one JSON object in, one out; the engine of the ops "lint my feed's hours" workflow."""

from __future__ import annotations

import json
import logging
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from locator.countries import country_zone, is_country, timezone_at
from locator.hours import HoursError, HoursSyntaxError, Schedule

log = logging.getLogger(__name__)

DEFAULT_SPAN = timedelta(days=7)
MAX_SPAN = timedelta(days=366)
# Instants far enough from the calendar's ends that local times and holiday years exist around them.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


class RequestError(ValueError):
    """A request line this module refuses, in words naming its field. Only these and the hours' own errors are
    the line's fault: any other exception is a bug of ours, logged and answered as one."""


def _instant(value: Any, name: str) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise RequestError(f"{name!r} must be an ISO-8601 string")
    try:
        moment = datetime.fromisoformat(value.upper())  # RFC 3339 allows a lower-case 't' and 'z'
    except ValueError as exc:  # Python's own words ("month must be in 1..12") named no field
        raise RequestError(f"{name!r} is no ISO-8601 instant ({exc})") from None
    if moment.tzinfo is None:
        raise RequestError(f"{name!r} must carry a UTC offset")
    if not EARLIEST <= moment < LATEST:
        raise RequestError(f"{name!r} must lie between {EARLIEST.year} and {LATEST.year}")
    return moment


def _text(request: dict[str, Any], name: str) -> str | None:
    value = request.get(name)
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise RequestError(f"{name!r} must be a string")
    return value


def _coordinates(lat: Any, lon: Any) -> tuple[float, float] | None:
    """(lat, lon) for sun times, checked here: the engine raises its own error type on a bad one, which
    would end the whole stream instead of this line."""
    if lat is None and lon is None:
        return None
    if lat is None or lon is None:
        raise RequestError("'lat' and 'lon' go together")
    return _number(lat, "lat", 90), _number(lon, "lon", 180)


def _number(value: Any, name: str, bound: float) -> float:
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and -bound <= number <= bound):
        raise RequestError(f"{name!r} must be a number between {-bound:g} and {bound:g}")
    return number


def _timezone(given: str | None, coords: tuple[float, float] | None, country: str | None) -> tuple[str, str | None]:
    """The zone to read the hours in, and a warning when it was not given: the point's zone, as the ingest
    infers it, else the country's when all its zones keep one clock, else UTC (a French line without a zone
    read 10:00 as 11:00 Paris time in winter, silently)."""
    if given:
        return given, None
    if coords is not None and (zone := timezone_at(*coords)):
        return zone, f"no timezone: {zone}, the zone at lat/lon"
    if country and (zone := country_zone(country)):
        return zone, f"no timezone: {zone}, {country.upper()}'s clock"
    where = f" ({country.upper()} keeps several clocks)" if country and is_country(country.upper()) else ""
    return "UTC", f"no timezone{where}: times read in UTC; give 'timezone' (e.g. Europe/Paris) or lat/lon"


def evaluate(request: dict[str, Any]) -> dict[str, Any]:
    out = _failed(None)
    try:
        value = request.get("value")
        if not isinstance(value, str):
            raise RequestError("'value' must be a string")
        start = _instant(request.get("from"), "from") or datetime.now(UTC)
        end = _instant(request.get("to"), "to") or start + DEFAULT_SPAN
        if end <= start:
            raise RequestError("'to' must be after 'from'")
        if end - start > MAX_SPAN:
            raise RequestError(f"at most {MAX_SPAN.days} days between 'from' and 'to'")
        coords = _coordinates(request.get("lat"), request.get("lon"))
        country = _text(request, "country")
        timezone, zone_warning = _timezone(_text(request, "timezone"), coords, country)
        schedule = Schedule.parse(
            value,
            timezone=timezone,
            country=country,
            region=_text(request, "region"),
            coords=coords,
        )
        out["normalized"] = schedule.canonical
        out["warnings"] = list(schedule.warnings) + ([zone_warning] if zone_warning else [])
        out["intervals"] = [
            {"from": i.start.isoformat(), "to": i.end.isoformat(), "state": i.state, "comment": i.comment}
            for i in schedule.intervals(start, end)
        ]
        out["ok"] = True
    except (HoursSyntaxError, HoursError, RequestError) as exc:
        out["error"] = str(exc)
    except Exception as exc:  # a bug of ours: this line says so, and the stream goes on
        log.exception("hours eval failed on %r", request)
        out["error"] = f"internal error ({type(exc).__name__}: {exc}); please report it with this line"
    return out


def evaluate_line(line: str | bytes) -> dict[str, Any]:
    """One line of the stream (as read, bytes or text): its answer, an error of its own when it is bad."""
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            return _failed(f"not UTF-8 (byte {exc.start + 1} of the line)")
    try:
        request = json.loads(line)
    except json.JSONDecodeError as exc:
        return _failed(f"not JSON: {exc}")
    except RecursionError:
        return _failed("JSON nested too deeply to be a request")
    if not isinstance(request, dict):
        return _failed("expected a JSON object")
    return evaluate(request)


def _failed(error: str | None) -> dict[str, Any]:
    return {"ok": False, "normalized": None, "warnings": [], "intervals": [], "error": error}
