"""From what a customer typed to a point: the PostGIS postcode gazetteer first.

A postcode (or an address containing one) is looked up in the gazetteer; a code shared by several places
answers with their centroid. A bare place name matches without regard to case or accents. Coordinates get a
label from the nearest postcode (reverse geocoding).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Literal

from sqlalchemy import Connection, text

from locator.errors import InvalidParameter, NotFound

MAX_QUERY_LENGTH = 200

# CONTRACT.md fixes these three; `precision` says more (postcode centroid, place centroid, ...).
Source = Literal["coordinates", "postcode", "address"]


@dataclass(frozen=True)
class Origin:
    lat: float
    lon: float
    label: str
    source: Source
    geocoder: str | None
    country: str | None = None
    precision: str = "exact"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# Postcode shapes per country, tried on the query's tokens. GB has only outward codes in the gazetteer.
_POSTCODE_PATTERNS: dict[str, re.Pattern[str]] = {
    "FR": re.compile(r"\b(\d{5})(?:\s+CEDEX(?:\s+\d{1,2})?)?\b", re.I),
    "MC": re.compile(r"\b(980\d{2})\b"),
    "DE": re.compile(r"\b(\d{5})\b"),
    "US": re.compile(r"\b(\d{5})(?:-\d{4})?\b"),
    "RU": re.compile(r"\b(\d{6})\b"),
    "LI": re.compile(r"\b(94\d{2})\b"),
    "GB": re.compile(r"\b([A-Z]{1,2}\d[A-Z\d]?)(?:\s*\d[A-Z]{2})?\b", re.I),
}
_GENERIC_POSTCODE = re.compile(r"\b(\d{4,6})\b")


def validate_query(q: str, parameter: str = "q") -> str:
    cleaned = " ".join(q.split())
    if not cleaned:
        raise InvalidParameter(parameter, "must not be empty")
    if len(cleaned) > MAX_QUERY_LENGTH:
        raise InvalidParameter(parameter, f"must be at most {MAX_QUERY_LENGTH} characters")
    return cleaned


def validate_country(country: str | None) -> str | None:
    if country is None or country == "":
        return None
    if not re.fullmatch(r"[A-Za-z]{2}", country):
        raise InvalidParameter("country", "must be an ISO 3166-1 alpha-2 code such as FR")
    return country.upper()


def postcode_candidates(q: str, country: str | None) -> list[tuple[str, str | None]]:
    """(postcode key, country or None) pairs to look up, most specific first."""
    out: list[tuple[str, str | None]] = []
    patterns = [(country, _POSTCODE_PATTERNS[country])] if country in _POSTCODE_PATTERNS else []
    if not patterns:
        patterns = [(None, _GENERIC_POSTCODE), (None, _POSTCODE_PATTERNS["GB"])]
    for cc, pattern in patterns:
        for match in pattern.finditer(q):
            key = match.group(1).upper().replace(" ", "")
            if (key, cc or country) not in out:
                out.append((key, cc or country))
    return out


def geocode(conn: Connection, q: str, country: str | None = None) -> Origin:
    """Locate a postcode, an address containing one, or a place name; NotFound when nothing matches."""
    q = validate_query(q)
    country = validate_country(country)
    for key, cc in postcode_candidates(q, country):
        origin = _lookup_postcode(conn, key, cc)
        if origin is not None:
            has_more = bool(re.sub(re.escape(key), "", q.upper().replace(" ", ""), count=1).strip(" ,"))
            if has_more:
                return Origin(**{**origin.as_dict(), "source": "address", "precision": "postcode"})
            return origin
    origin = _lookup_place(conn, q, country)
    if origin is not None:
        return origin
    where = f" in {country}" if country else ""
    raise NotFound(f"no postcode or place matches {q!r}{where}")


def _lookup_postcode(conn: Connection, key: str, country: str | None) -> Origin | None:
    # Several countries may share a code (75008 is Paris and a Texas ZIP): without a hint, the country with
    # the most locations in the database wins, then the one with the most gazetteer rows for the code.
    row = conn.execute(
        text(
            """
            SELECT p.country,
                   avg(p.lat) AS lat,
                   avg(p.lon) AS lon,
                   min(p.postcode) AS postcode,
                   string_agg(DISTINCT p.place_name, ', ' ORDER BY p.place_name) AS places,
                   count(*) AS n
              FROM postcodes AS p
             WHERE p.postcode_key = :key
               AND (CAST(:country AS text) IS NULL OR p.country = :country)
             GROUP BY p.country
             ORDER BY (SELECT count(*) FROM locations AS l WHERE l.country = p.country) DESC, n DESC
             LIMIT 1
            """
        ),
        {"key": key, "country": country},
    ).first()
    if row is None:
        return None
    places = row.places if len(row.places) <= 80 else row.places[:77] + "..."
    return Origin(
        lat=float(row.lat),
        lon=float(row.lon),
        label=f"{row.postcode} {places}, {row.country}",
        source="postcode",
        geocoder="gazetteer",
        country=row.country,
        precision="postcode" if row.n == 1 else "postcode centroid",
    )


def _lookup_place(conn: Connection, q: str, country: str | None) -> Origin | None:
    row = conn.execute(
        text(
            """
            SELECT country, place_name, avg(lat) AS lat, avg(lon) AS lon, count(*) AS n
              FROM postcodes
             WHERE lower(unaccent_name(place_name)) = lower(unaccent_name(:q))
               AND (CAST(:country AS text) IS NULL OR country = :country)
             GROUP BY country, place_name
             ORDER BY n DESC
             LIMIT 1
            """
        ),
        {"q": q, "country": country},
    ).first()
    if row is None:
        return None
    return Origin(
        lat=float(row.lat),
        lon=float(row.lon),
        label=f"{row.place_name}, {row.country}",
        source="address",
        geocoder="gazetteer",
        country=row.country,
        precision="place centroid",
    )


def reverse(conn: Connection, lat: float, lon: float) -> Origin:
    """The origin of a coordinate query, labelled with the nearest postcode when the gazetteer has one."""
    row = conn.execute(
        text(
            """
            SELECT postcode, place_name, country
              FROM postcodes
             ORDER BY geog <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography
             LIMIT 1
            """
        ),
        {"lat": lat, "lon": lon},
    ).first()
    label = f"{row.postcode} {row.place_name}, {row.country}" if row else f"{lat:.5f}, {lon:.5f}"
    return Origin(
        lat=lat,
        lon=lon,
        label=label,
        source="coordinates",
        geocoder=None,
        country=row.country if row else None,
    )
