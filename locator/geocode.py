"""From what a customer typed to a point: the geocoder chain (the PostGIS gazetteer first, then the self-hosted
providers LOCATOR_GEOCODERS names), and labels for coordinates (reverse geocoding).

The parts live in locator/geocoders/: the gazetteer (postcodes and place names), the providers (geopy with
timeouts, retries, rate limits and circuit breakers), the answer cache and the chain that orders them.
"""

from __future__ import annotations

from sqlalchemy import Connection

from locator.geocoders.base import (
    MAX_QUERY_LENGTH,
    Origin,
    Source,
    parse_coordinates,
    precision_rank,
    validate_country,
    validate_query,
)
from locator.geocoders.chain import Chain, chain_for
from locator.geocoders.gazetteer import postcode_candidates, refresh_places
from locator.geocoders.gazetteer import reverse as _reverse
from locator.settings import Settings, get_settings

__all__ = [
    "MAX_QUERY_LENGTH",
    "Origin",
    "Source",
    "geocode",
    "parse_coordinates",
    "postcode_candidates",
    "precision_rank",
    "refresh_places",
    "reverse",
    "validate_country",
    "validate_query",
]


def geocode(
    conn: Connection,
    q: str,
    country: str | None = None,
    *,
    chain: Chain | None = None,
    settings: Settings | None = None,
    down: list[str] | None = None,
) -> Origin:
    """Locate a postcode, a place name or an address; NotFound (404) when nothing matches,
    GeocoderUnavailable (503) when nothing matched locally and every provider asked was down. Coordinates
    typed as text ("48.8738, 2.2950") are the point itself, labelled as `reverse` labels it.

    `chain` defaults to the one LOCATOR_GEOCODERS configures (`settings`, else the process settings); `down`,
    when given, receives the providers that did not answer.
    """
    q = validate_query(q)
    country = validate_country(country)
    point = parse_coordinates(q)
    if point is not None:
        return reverse(conn, *point)
    return (chain or chain_for(settings or get_settings())).geocode(conn, q, country, down)


def reverse(conn: Connection, lat: float, lon: float) -> Origin:
    """The origin of a coordinate query, labelled with the nearest postcode when the gazetteer has one."""
    return _reverse(conn, lat, lon)
