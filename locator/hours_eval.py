"""`locator hours eval`: one JSON object in, one out; the engine of the ops "lint my feed's hours" workflow."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from locator.hours import HoursError, HoursSyntaxError, Schedule

DEFAULT_SPAN = timedelta(days=7)
MAX_SPAN = timedelta(days=366)


def _instant(value: Any, name: str, default: datetime) -> datetime:
    if value in (None, ""):
        return default
    moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError(f"{name!r} must carry a UTC offset")
    return moment


def _coordinates(lat: Any, lon: Any) -> tuple[float, float] | None:
    """(lat, lon) for sun times, checked here: the engine raises its own error type on a bad one, which
    would end the whole stream instead of this line."""
    if lat is None and lon is None:
        return None
    if lat is None or lon is None:
        raise ValueError("'lat' and 'lon' go together")
    return _number(lat, "lat", 90), _number(lon, "lon", 180)


def _number(value: Any, name: str, bound: float) -> float:
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and -bound <= number <= bound):
        raise ValueError(f"{name!r} must be a number between {-bound:g} and {bound:g}")
    return number


def evaluate(request: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"ok": False, "normalized": None, "warnings": [], "intervals": [], "error": None}
    try:
        value = request.get("value")
        if not isinstance(value, str):
            raise ValueError("'value' must be a string")
        start = _instant(request.get("from"), "from", datetime.now(UTC))
        end = _instant(request.get("to"), "to", start + DEFAULT_SPAN)
        if end <= start:
            raise ValueError("'to' must be after 'from'")
        if end - start > MAX_SPAN:
            raise ValueError(f"at most {MAX_SPAN.days} days between 'from' and 'to'")
        coords = _coordinates(request.get("lat"), request.get("lon"))
        schedule = Schedule.parse(
            value,
            timezone=request.get("timezone") or "UTC",
            country=request.get("country") or None,
            region=request.get("region") or None,
            coords=coords,
        )
        out["normalized"] = schedule.canonical
        out["warnings"] = list(schedule.warnings)
        out["intervals"] = [
            {"from": i.start.isoformat(), "to": i.end.isoformat(), "state": i.state, "comment": i.comment}
            for i in schedule.intervals(start, end)
        ]
        out["ok"] = True
    except (HoursSyntaxError, HoursError, ValueError, TypeError) as exc:
        out["error"] = str(exc)
    return out


def evaluate_line(line: str) -> dict[str, Any]:
    try:
        request = json.loads(line)
    except json.JSONDecodeError as exc:
        return {"ok": False, "normalized": None, "warnings": [], "intervals": [], "error": f"not JSON: {exc}"}
    if not isinstance(request, dict):
        return {"ok": False, "normalized": None, "warnings": [], "intervals": [], "error": "expected a JSON object"}
    return evaluate(request)
