"""The PostGIS gazetteer: postcodes and place names from the GeoNames postal files, without leaving the machine.

A query is read the way addresses are written in the countries we serve: a postcode (the last one wins, as
it follows the street in every national order), the locality beside it, a street before them. A postcode
found answers with its place (or the centroid of the places sharing it); a place name found answers with the
place's centroid. Place names match through the SQL function place_key() (locator/migrations/
0002_geocoding.sql): case, accents, hyphens and Saint/St do not matter. Ambiguous names go to the `country`
hint, then to the place with the most postcodes (the size proxy GeoNames gives us).

A match says whether it explained the whole query: "75008" or "80331 München" are complete, "55 rue du
Faubourg Saint-Honoré, Paris" is not (the street was not found), and a configured address geocoder gets the
chance to do better (locator/geocoders/chain.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, text

from locator.geocoders.base import Origin

log = logging.getLogger(__name__)

NAME = "gazetteer"
REFRESH_LOCK = 7_214_002  # pg_advisory_xact_lock key: one rebuild of gazetteer_places at a time

# Postcode shapes per country. GB has only outward codes in the gazetteer: the inward part is matched and
# dropped ("SW1A 1AA" -> "SW1A"). FR codes may carry CEDEX and its office number.
POSTCODE_PATTERNS: dict[str, re.Pattern[str]] = {
    "FR": re.compile(r"\b(\d{2} ?\d{3})(?:\s*CEDEX(?:\s*\d{1,2})?)?\b", re.I),
    "MC": re.compile(r"\b(980\d{2})\b"),
    "DE": re.compile(r"\b(\d{5})\b"),
    "US": re.compile(r"\b(\d{5})(?:-\d{4})?\b"),
    "RU": re.compile(r"\b(\d{3} ?\d{3})\b"),
    "LI": re.compile(r"\b(94\d{2})\b"),
    "GB": re.compile(r"\b([A-Z]{1,2}\d[A-Z\d]?)(?:\s*\d[A-Z]{2})?\b", re.I),
}
# Without a country: any 4-6 digit code (a CEDEX or ZIP+4 suffix included), then a GB postcode, but only a
# full one or an outward code alone ("B2" in "Bâtiment B2, Paris" is not Birmingham).
GENERIC_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\b(\d{4,6})(?:\s*CEDEX(?:\s*\d{1,2})?|-\d{4})?\b", re.I),
    re.compile(r"\b([A-Z]{1,2}\d[A-Z\d]?)\s*\d[A-Z]{2}\b", re.I),
    re.compile(r"^\s*([A-Z]{1,2}\d[A-Z\d]?)\s*$", re.I),
    re.compile(r"^\s*(\d{2,3} \d{3})\s*$"),  # "75 008", "101 000" typed alone
)
_CEDEX = re.compile(r"\bCEDEX(?:\s*\d{1,2})?\b", re.I)

# A trailing ", France" names the country rather than a place.
COUNTRY_NAMES: dict[str, str] = {
    "france": "FR", "deutschland": "DE", "germany": "DE", "allemagne": "DE", "russia": "RU", "russie": "RU",
    "россия": "RU", "российская федерация": "RU", "monaco": "MC", "liechtenstein": "LI", "united kingdom": "GB",
    "uk": "GB", "great britain": "GB", "royaume-uni": "GB", "usa": "US", "united states": "US",
    "united states of america": "US", "états-unis": "US",
}  # fmt: skip

MAX_SUFFIX_TOKENS = 6


@dataclass(frozen=True)
class Match:
    origin: Origin
    complete: bool  # the whole query was explained (nothing like a street was left over)


@dataclass(frozen=True)
class PostcodeToken:
    key: str  # upper case, no spaces, no CEDEX suffix: how the gazetteer's base keys read
    start: int
    end: int
    country: str | None


def postcode_tokens(q: str, country: str | None) -> list[PostcodeToken]:
    """Postcode-shaped tokens of the query, the most likely first (the last in the text)."""
    patterns = [POSTCODE_PATTERNS[country]] if country in POSTCODE_PATTERNS else []
    if country is None:
        patterns = list(GENERIC_PATTERNS)
    found: list[PostcodeToken] = []
    for pattern in patterns:
        for m in reversed(list(pattern.finditer(q))):
            key = m.group(1).upper().replace(" ", "")
            if not any(t.start <= m.start() < t.end for t in found):
                found.append(PostcodeToken(key, m.start(), m.end(), country))
    return found


def postcode_candidates(q: str, country: str | None) -> list[tuple[str, str | None]]:
    """(postcode key, country or None) pairs to look up, most likely first."""
    out: list[tuple[str, str | None]] = []
    for token in postcode_tokens(q, country):
        if (token.key, token.country) not in out:
            out.append((token.key, token.country))
    return out


def _segments(q: str) -> list[str]:
    return [s.strip(" .;") for s in q.split(",") if s.strip(" .;")]


def locality_candidates(segments: Sequence[str]) -> list[str]:
    """Strings that may name the locality, most likely first: the suffixes of the last segment, longest
    first ("rue de la Paix Paris" ends with the city when no comma separates it), then earlier segments."""
    if not segments:
        return []
    tokens = segments[-1].split()
    out = [" ".join(tokens[i:]) for i in range(max(0, len(tokens) - MAX_SUFFIX_TOKENS), len(tokens))]
    out += [s for s in reversed(segments[:-1]) if s not in out]
    return out


def lookup(conn: Connection, q: str, country: str | None) -> Match | None:
    """The gazetteer's best reading of `q` (already validated), or None."""
    segments = _segments(q)
    if len(segments) > 1 and segments[-1].casefold() in COUNTRY_NAMES:
        named = COUNTRY_NAMES[segments.pop().casefold()]
        country = country or named
    text_q = ", ".join(segments)
    tokens = postcode_tokens(text_q, country)
    for token in tokens:
        match = _postcode_match(conn, text_q, token, country)
        if match is not None:
            return match
    # No postcode known: the locality alone. A postcode-like token that was not found (a CEDEX code the
    # gazetteer lacks) still says in which département, Land or oblast to look: its first two digits.
    hint = next((t.key[:2] for t in tokens if t.key[:2].isdigit()), None)
    rest = text_q
    for token in sorted(tokens, key=lambda t: t.start, reverse=True):
        rest = rest[: token.start] + " " + rest[token.end :]
    rest_segments = _segments(_CEDEX.sub(" ", rest))
    candidates = locality_candidates(rest_segments)
    found = _place_match(conn, candidates, country, hint)
    if found is not None:
        origin, used = found
        complete = not tokens and len(rest_segments) == 1 and candidates[used] == rest_segments[0]
        return Match(origin, complete)
    if rest_segments and not re.search(r"\d", rest_segments[-1]):
        origin_fuzzy = _fuzzy_place(conn, rest_segments[-1], country)
        if origin_fuzzy is not None:
            return Match(origin_fuzzy, False)
    return None


# -- postcodes -----------------------------------------------------------------------------------------------


def _postcode_match(conn: Connection, q: str, token: PostcodeToken, country: str | None) -> Match | None:
    # The range keeps the (postcode_key, country) index usable for CEDEX keys ("75384CEDEX08") while the
    # regexp keeps only the code itself; several countries may share a code (75008 is Paris and a Texas ZIP):
    # without a hint, the country with the most locations in the database wins, then the most rows.
    rows = conn.execute(
        text(
            """
            SELECT p.country, p.postcode, p.place_name, place_key(p.place_name) AS key, p.lat, p.lon,
                   (SELECT count(*) FROM locations AS l WHERE l.country = p.country) AS locations
              FROM postcodes AS p
             WHERE p.postcode_key >= :key
               AND p.postcode_key <= :key || 'CEDEXZ'
               AND regexp_replace(p.postcode_key, 'CEDEX[0-9]*$', '') = :key
               AND (CAST(:country AS text) IS NULL OR p.country = :country)
            """
        ),
        {"key": token.key, "country": country},
    ).all()
    if not rows:
        return None
    # What is left once the postcode is taken out: the locality (checked against the code's own places) and
    # perhaps a street. A locality that names one of the code's places settles which country is meant
    # ("80331 München" is Munich, not the CEDEX code 80331 of Longueau), then a plain code beats a CEDEX one.
    rest_segments = _segments(_CEDEX.sub(" ", q[: token.start] + " " + q[token.end :]))
    candidates = locality_candidates(rest_segments)
    keys = _keys(conn, candidates, country)

    def reading(group: list[Any]) -> tuple[list[Any], int | None]:
        for i, keyset in enumerate(keys):
            named = [r for r in group if r.key in keyset]
            if named:
                return named, i
        return group, None

    wants_cedex = "CEDEX" in q[token.start : token.end].upper()
    by_country: dict[str, list[Any]] = {}
    for row in rows:
        by_country.setdefault(row.country, []).append(row)
    readings = {cc: reading(group) for cc, group in by_country.items()}
    cc = max(
        by_country,
        key=lambda c: (
            readings[c][1] is not None,
            any(("CEDEX" in r.postcode.upper()) == wants_cedex for r in by_country[c]),
            by_country[c][0].locations,
            len(by_country[c]),
        ),
    )
    chosen, used = readings[cc]
    explained = not rest_segments or (
        used is not None and len(rest_segments) == 1 and candidates[used] == rest_segments[0]
    )
    places = _names(chosen)
    # GeoNames files a city's codes twice: under the city ("Paris", at the city centre, for all 21 codes) and
    # under the district ("Paris 08", at the district). The district's point is where the code is.
    district_bases = {re.sub(r"\s+\d+$", "", r.place_name) for r in chosen if re.search(r"\s\d+$", r.place_name)}
    located = [r for r in chosen if r.place_name not in district_bases] or chosen
    lat = sum(r.lat for r in located) / len(located)
    lon = sum(r.lon for r in located) / len(located)
    postcode = min((r.postcode for r in chosen), key=len)
    shared = len({r.key for r in located}) > 1 or len({(round(r.lat, 3), round(r.lon, 3)) for r in located}) > 1
    label_places = places if len(places) <= 80 else places[:77] + "..."
    origin = Origin(
        lat=float(lat),
        lon=float(lon),
        label=f"{postcode} {label_places}, {cc}",
        source="postcode" if explained else "address",
        geocoder=NAME,
        country=cc,
        precision="postcode centroid" if shared else "postcode",
    )
    return Match(origin, explained)


def _names(rows: Sequence[Any]) -> str:
    """One spelling per place: the one without a district number when there is one ("Paris", not "Paris 08")."""
    best: dict[str, str] = {}
    for row in sorted(rows, key=lambda r: (bool(re.search(r"\d$", r.place_name)), len(r.place_name))):
        best.setdefault(row.key, row.place_name)
    return ", ".join(sorted(best.values()))


def _keys(conn: Connection, candidates: Sequence[str], country: str | None) -> list[set[str]]:
    """place_key() of each candidate, with the keys of the places it is an alias of ("Moscow" -> москва)."""
    if not candidates:
        return []
    rows = conn.execute(
        text(
            """
            SELECT c.ord, place_key(c.name) AS key, place_key(a.place_name) AS alias_of
              FROM unnest(CAST(:names AS text[])) WITH ORDINALITY AS c (name, ord)
              LEFT JOIN place_aliases AS a
                ON place_key(a.alias) = place_key(c.name)
               AND (CAST(:country AS text) IS NULL OR a.country = :country)
            """
        ),
        {"names": list(candidates), "country": country},
    ).all()
    out: list[set[str]] = [set() for _ in candidates]
    for row in rows:
        out[row.ord - 1].update(k for k in (row.key, row.alias_of) if k)
    return out


# -- place names ---------------------------------------------------------------------------------------------


def _place_match(
    conn: Connection, candidates: Sequence[str], country: str | None, hint: str | None
) -> tuple[Origin, int] | None:
    """The best place named by a candidate (earlier candidates first) and the candidate's index."""
    if not candidates:
        return None
    ensure_places(conn)
    row = conn.execute(
        text(
            """
            WITH wanted AS (
                SELECT c.ord, place_key(c.name) AS key, NULL AS country
                  FROM unnest(CAST(:names AS text[])) WITH ORDINALITY AS c (name, ord)
                UNION ALL
                SELECT c.ord, place_key(a.place_name), a.country
                  FROM unnest(CAST(:names AS text[])) WITH ORDINALITY AS c (name, ord)
                  JOIN place_aliases AS a ON place_key(a.alias) = place_key(c.name)
            )
            SELECT w.ord, g.country, g.place_name, g.admin1, g.admin2, g.lat, g.lon, g.n_postcodes
              FROM wanted AS w
              JOIN gazetteer_places AS g
                ON g.place_key = w.key
               AND (w.country IS NULL OR g.country = w.country)
             WHERE w.key <> ''
               AND (CAST(:country AS text) IS NULL OR g.country = :country)
             ORDER BY w.ord,
                      EXISTS (SELECT 1 FROM unnest(g.postcodes) AS pc WHERE left(pc, 2) = :hint) DESC,
                      g.n_postcodes DESC,
                      g.country
             LIMIT 1
            """
        ),
        {"names": list(candidates), "country": country, "hint": hint},
    ).first()
    if row is None:
        return None
    return _place_origin(row, "place centroid"), int(row.ord) - 1


def _fuzzy_place(conn: Connection, name: str, country: str | None) -> Origin | None:
    # Typos ("Saint-Etiene"): trigram similarity on the place keys, strict enough not to invent a town.
    ensure_places(conn)
    row = conn.execute(
        text(
            """
            SELECT g.country, g.place_name, g.admin1, g.admin2, g.lat, g.lon, g.n_postcodes,
                   similarity(g.place_key, place_key(:name)) AS score
              FROM gazetteer_places AS g
             WHERE g.place_key % place_key(:name)
               AND similarity(g.place_key, place_key(:name)) >= 0.6
               AND (CAST(:country AS text) IS NULL OR g.country = :country)
             ORDER BY score DESC, g.n_postcodes DESC
             LIMIT 1
            """
        ),
        {"name": name, "country": country},
    ).first()
    return _place_origin(row, "place centroid (approximate)") if row is not None else None


def _place_origin(row: Any, precision: str) -> Origin:
    area = row.admin2 or row.admin1
    parts = [row.place_name] + ([area] if area and area != row.place_name else []) + [row.country]
    return Origin(
        lat=float(row.lat),
        lon=float(row.lon),
        label=", ".join(parts),
        source="address",
        geocoder=NAME,
        country=row.country,
        precision=precision,
    )


# -- the place index -----------------------------------------------------------------------------------------


def ensure_places(conn: Connection) -> None:
    """Rebuild gazetteer_places for the countries a postcode load touched since the last question."""
    if conn.execute(text("SELECT EXISTS (SELECT 1 FROM gazetteer_stale)")).scalar():
        try:
            refresh_places(conn.engine)
        except Exception:  # a read replica cannot write: answer from the index as it is
            log.warning("could not rebuild the gazetteer place index", exc_info=True)


def refresh_places(engine: Engine) -> list[str]:
    """Rebuild the place index of every stale country (after `locator ingest postcodes`); returns them.

    Runs in its own transaction without the service's statement timeout (a large country takes a second or
    two). When another process is rebuilding already, returns at once: its result will serve.
    """
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL statement_timeout = 0"))
        if not conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": REFRESH_LOCK}).scalar():
            return []
        countries = list(conn.execute(text("DELETE FROM gazetteer_stale RETURNING country")).scalars())
        if not countries:
            return []
        conn.execute(text("DELETE FROM gazetteer_places WHERE country = ANY(:c)"), {"c": countries})
        conn.execute(
            text(
                """
                INSERT INTO gazetteer_places
                       (country, place_key, place_name, admin1, admin1_code, admin2, lat, lon, n_postcodes,
                        postcodes)
                SELECT country,
                       place_key(place_name),
                       coalesce(mode() WITHIN GROUP (ORDER BY place_name) FILTER (WHERE place_name !~ '[0-9]$'),
                                mode() WITHIN GROUP (ORDER BY place_name)),
                       min(admin1),
                       admin1_code,
                       admin2,
                       avg(lat),
                       avg(lon),
                       count(DISTINCT postcode_key),
                       array_agg(DISTINCT postcode_key ORDER BY postcode_key)
                  FROM postcodes
                 WHERE country = ANY(:c)
                   AND place_key(place_name) <> ''
                 GROUP BY country, place_key(place_name), admin1_code, admin2
                """
            ),
            {"c": countries},
        )
    log.info("rebuilt the gazetteer place index for %s", ", ".join(sorted(countries)))
    return countries


# -- reverse -------------------------------------------------------------------------------------------------


# The postcode nearest a point: what labels a coordinate query. The search runs it inside its own statement
# (locator/search.py), so that a nearest answer for coordinates is one round trip.
# Two kinds of rows are not where a point is: CEDEX codes (mail bags of big senders) and the US military codes
# (APO/FPO/DPO), which GeoNames places at bases abroad (Frankfurt was "09039 APO AE, US"). And a postcode
# farther than LABEL_RADIUS_M (mid-ocean) says nothing about the point: the coordinates label it instead.
# The first two conditions are also the predicate of the partial index the scan reads (migration 0009):
# change them together, or the planner falls back to the full index.
LABEL_RADIUS_M = 100_000
NEAREST_POSTCODE_SQL = f"""
SELECT postcode, place_name, country
  FROM postcodes
 WHERE postcode NOT ILIKE '%cedex%'
   AND NOT (country = 'US' AND place_name ~ '^[ADF]PO ')
   AND ST_DWithin(geog, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, {LABEL_RADIUS_M})
 ORDER BY geog <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography
 LIMIT 1
"""


def reverse(conn: Connection, lat: float, lon: float) -> Origin:
    """The origin of a coordinate query, labelled with the nearest postcode when the gazetteer has one."""
    row = conn.execute(text(NEAREST_POSTCODE_SQL), {"lat": lat, "lon": lon}).first()
    if row is None:
        return coordinates_origin(lat, lon, None, None, None)
    return coordinates_origin(lat, lon, row.postcode, row.place_name, row.country)


def coordinates_origin(lat: float, lon: float, postcode: str | None, place: str | None, country: str | None) -> Origin:
    """A coordinate query's origin from its nearest postcode (all None: the gazetteer has none)."""
    label = f"{postcode} {place}, {country}" if postcode is not None else f"{lat:.5f}, {lon:.5f}"
    return Origin(
        lat=lat,
        lon=lon,
        label=label,
        source="coordinates",
        geocoder=None,
        country=country if postcode is not None else None,
        precision="coordinates",
    )
