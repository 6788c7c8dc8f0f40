"""Coordinates for feed rows that have none: the geocoder chain, gazetteer first."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine

from locator.errors import LocatorError
from locator.geocode import geocode

Locate = Callable[[dict[str, Any]], "tuple[float, float, str] | None"]


def gazetteer_locator(engine: Engine) -> Locate:
    @lru_cache(maxsize=4096)
    def lookup(query: str, country: str | None) -> tuple[float, float, str] | None:
        try:
            with engine.connect() as conn:
                origin = geocode(conn, query, country)
        except LocatorError:
            return None
        return origin.lat, origin.lon, origin.precision

    def locate(record: dict[str, Any]) -> tuple[float, float, str] | None:
        country = str(record.get("country") or "").strip().upper() or None
        if country is not None and len(country) != 2:
            country = None
        parts = [str(record.get(k) or "").strip() for k in ("street", "postcode", "city")]
        for query in (" ".join(p for p in parts if p), " ".join(p for p in parts[1:] if p)):
            if query:
                found = lookup(query, country)
                if found is not None:
                    return found
        return None

    return locate
