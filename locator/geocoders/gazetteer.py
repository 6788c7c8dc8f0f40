"""The PostGIS gazetteer: postcodes and place names from the GeoNames postal files, without leaving the machine.

A query is read the way addresses are written in the countries we serve: a postcode (the last one wins, as
it follows the street in every national order), the locality beside it, a street before them. A postcode
found answers with its place (or the centroid of the places sharing it); a place name found answers with the
place's centroid. Place names match through the SQL function place_key() (locator/migrations/
0002_geocoding.sql): case, accents, hyphens and Saint/St do not matter. Ambiguous names go to the `country`
hint, then to the place with the most postcodes (the size proxy GeoNames gives us). The country may also be
written into the query ("F-75008", "75008 Paris, FR", "..., France"); a country named alone is no place.

A match says whether it explained the whole query: "75008" or "80331 München" are complete, "55 rue du
Faubourg Saint-Honoré, Paris" is not (the street was not found), and a configured address geocoder gets the
chance to do better (locator/geocoders/chain.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from geopy.distance import great_circle
from rapidfuzz.distance import OSA
from sqlalchemy import Connection, Engine, text

from locator.countries import timezone_at, tz_table, zone_countries
from locator.db import GAZETTEER_LOCK
from locator.geocoders.base import Origin, precision_rank

log = logging.getLogger(__name__)

NAME = "gazetteer"

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
    # GeoNames files the Netherlands' and Canada's codes by their first part: the four digits ("1012 AB"), the
    # forward sortation area ("K1A 0B1").
    "NL": re.compile(r"\b(\d{4})(?:\s?[A-Z]{2})?\b", re.I),
    "CA": re.compile(r"\b([A-Z]\d[A-Z])(?:\s?\d[A-Z]\d)?\b", re.I),
}
# Without a country: any 4-6 digit code (a CEDEX or ZIP+4 suffix included), then a GB postcode, but only a
# full one or an outward code alone ("B2" in "Bâtiment B2, Paris" is not Birmingham).
DIGITS_PATTERN = re.compile(r"\b(\d{4,6})(?:\s*CEDEX(?:\s*\d{1,2})?|-\d{4})?\b", re.I)
GENERIC_PATTERNS: tuple[re.Pattern[str], ...] = (
    # Dutch and Canadian codes whole ("1012AB" has no word break after its digits; "K1A 0B1").
    re.compile(r"\b(\d{4})\s?[A-Z]{2}\b", re.I),
    re.compile(r"\b([A-Z]\d[A-Z])\s?\d[A-Z]\d\b", re.I),
    DIGITS_PATTERN,
    re.compile(r"\b([A-Z]{1,2}\d[A-Z\d]?)\s*\d[A-Z]{2}\b", re.I),
    re.compile(r"^\s*([A-Z]{1,2}\d[A-Z\d]?)\s*$", re.I),
    re.compile(r"^\s*(\d{2,3} \d{3})\s*$"),  # "75 008", "101 000" typed alone
)
_CEDEX = re.compile(r"\bCEDEX(?:\s*\d{1,2})?\b", re.I)
_FRENCH_OVERSEAS = re.compile(r"97[1-8]\d{2}|98[4-9]\d{2}")  # not 980xx: Monaco's

# A trailing ", France" or ", FR" names the country rather than a place; so does "France" typed alone.
COUNTRY_NAMES: dict[str, str] = {
    "france": "FR", "deutschland": "DE", "germany": "DE", "allemagne": "DE", "russia": "RU", "russie": "RU",
    "россия": "RU", "российская федерация": "RU", "monaco": "MC", "liechtenstein": "LI", "united kingdom": "GB",
    "uk": "GB", "great britain": "GB", "royaume-uni": "GB", "england": "GB", "scotland": "GB", "wales": "GB",
    "northern ireland": "GB", "angleterre": "GB", "écosse": "GB", "usa": "US", "united states": "US",
    "united states of america": "US", "états-unis": "US",
}  # fmt: skip
# Territories the gazetteer reads as part of their country (GeoNames files some apart, the post does not):
# "97400 Saint-Denis, Réunion" is a French address. And the US state that shares a country's name.
_NOT_FOREIGN = frozenset({"RE", "GP", "MQ", "GF", "YT", "PM", "BL", "MF", "NC", "PF", "WF", "TF", "PR", "GU", "VI",
                          "AS", "MP", "UM"})  # fmt: skip
_STATE_NAMES = frozenset({"georgia"})


def _world_country_names() -> dict[str, str]:
    """Every country's English name (the tz database's iso3166.tab: "Italy", "Korea (South)" as "korea
    (south)" and "south korea"), read as a country at a query's end: "Rome, Italy" was Italy, Texas, "Dublin,
    Ireland" a farm in Orkney, and the providers were asked in those countries alone."""
    table = tz_table("iso3166.tab") or ""
    rows = [line.split("\t")[:2] for line in table.splitlines() if line and not line.startswith("#")]
    bases = [re.sub(r" \(.*\)$", "", name) for _, name in rows]
    names: dict[str, str] = {}
    for (code, name), base in zip(rows, bases, strict=True):
        if code in _NOT_FOREIGN:
            continue
        spellings = {name, name.replace("&", "and")}
        if bases.count(base) == 1:
            spellings.add(base)  # "Myanmar (Burma)" -> "Myanmar"; not "Korea", two countries' name
        qualified = re.fullmatch(r"(.+?) \((.+)\)", name)
        if qualified and qualified[2][0].isupper() and " " not in qualified[2] and "." not in qualified[2]:
            spellings.add(f"{qualified[2]} {qualified[1]}")  # "Korea (South)" -> "South Korea"
        for spelling in spellings:
            folded = spelling.casefold()
            if folded not in _STATE_NAMES:
                names.setdefault(folded, code)
    return names


COUNTRY_NAMES.update({name: code for name, code in _world_country_names().items() if name not in COUNTRY_NAMES})
# The codes a query's last words may name its country by ("75008 Paris, FR"); not CA or NL, which end American
# addresses as states ("Los Angeles, CA").
COUNTRY_CODES = frozenset({"FR", "MC", "DE", "US", "RU", "LI", "GB"})

# International mail puts the destination's letters before its postcode: the old European ones ("F-75008",
# "D-80331", "FL-9490", "RUS-101000") or ISO codes ("FR-75008", "MC-98000", "CH-8001": any country's).
# (Not the other old letters: "Apt E-1204" is no Spanish postcode.)
POSTAL_PREFIXES: dict[str, str] = {"F": "FR", "D": "DE", "FL": "LI", "RUS": "RU", **{cc: cc for cc in COUNTRY_CODES}}
# ISO codes written on the postcodes of countries whose postcodes the gazetteer may not hold, at the start of a
# segment: the European ones (none of them a US state's code: "Atlanta, GA-30303" is no Gabonese address).
ISO_PREFIXES = frozenset(
    ["AT", "BE", "BG", "CH", "CZ", "DK", "EE", "ES", "FI", "GR", "HR", "HU", "IE", "IS", "IT", "LT", "LU", "LV",
     "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK"]
)  # fmt: skip
_POSTAL_PREFIX = re.compile(r"(?<![\w-])([A-Z]{1,3})-(?=\d)", re.I)

# Paris, Lyon and Marseille are divided into arrondissements, each with its own postcode: the city's département
# and the number (75008, 69001, 13015; the 16th has 75116 too). Customers write them as ordinals ("Paris 8e",
# "8ème", "1er", "VIIIe"), GeoNames as districts ("Paris 08").
ARRONDISSEMENTS: dict[str, tuple[str, int]] = {"paris": ("75", 20), "lyon": ("69", 9), "marseille": ("13", 16)}
_ROMAN: dict[str, int] = {
    "I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7, "VIII": 8, "IX": 9, "X": 10, "XI": 11, "XII": 12,
    "XIII": 13, "XIV": 14, "XV": 15, "XVI": 16, "XVII": 17, "XVIII": 18, "XIX": 19, "XX": 20,
}  # fmt: skip
_ORDINAL = r"(?i:er|ème|eme|e|è)"
_ARRONDISSEMENT = re.compile(
    rf"(?<!\S)(?P<city>(?i:{'|'.join(ARRONDISSEMENTS)}))\s+"
    rf"(?:(?P<number>\d{{1,2}}){_ORDINAL}?|(?P<roman>{'|'.join(sorted(_ROMAN, key=len, reverse=True))}){_ORDINAL})"
    r"(?:\s+(?i:arrondissement|arrt?\.?))?$"
)

APPROXIMATE = "place centroid (approximate)"
FUZZY_CANDIDATES = 50

MAX_SUFFIX_TOKENS = 6


@dataclass(frozen=True)
class Match:
    origin: Origin
    complete: bool  # the whole query was explained (nothing like a street was left over)
    # A place read beside a postcode the gazetteer does not know ("8001 Zürich" without Swiss postcodes: Zurich,
    # Montana): a guess, whose country says nothing of the query's.
    guess: bool = False


@dataclass(frozen=True)
class PostcodeToken:
    key: str  # upper case, no spaces, no CEDEX suffix: how the gazetteer's base keys read
    start: int
    end: int
    country: str | None
    # The code as typed says more than the gazetteer holds: a full British postcode ("SW1A 1AA", a street or
    # a building) of which only the outward code (a district) is known, a ZIP+4 (a block) of which the ZIP.
    finer: bool = False
    # The whole code as typed, when it says more than `key` ("SW1A1AA", "1012AB", "K1A0B1"): looked up first,
    # for a gazetteer loaded from GeoNames' full-code files (GB_full, NL_full, CA_full) holds those.
    full: str | None = None


def postcode_tokens(q: str, country: str | None) -> list[PostcodeToken]:
    """Postcode-shaped tokens of the query, the most likely first (the last in the text)."""
    # A country without a pattern of its own (its postcodes loaded with `ingest postcodes --country`) reads
    # codes of any shape, in that country alone: with the hint, Spain's 28001 was not looked for at all.
    patterns = [POSTCODE_PATTERNS[country]] if country in POSTCODE_PATTERNS else list(GENERIC_PATTERNS)
    found: list[PostcodeToken] = []
    for pattern in patterns:
        for m in reversed(list(pattern.finditer(q))):
            key = m.group(1).upper().replace(" ", "")
            if not any(t.start <= m.start() < t.end for t in found):
                # More than the key and a CEDEX: an inward code, a ZIP+4, the Dutch letters, a Canadian LDU.
                rest = m.string[m.start() : m.start(1)] + m.string[m.end(1) : m.end()]
                finer = bool(_CEDEX.sub("", rest).strip(" -"))
                whole = _CEDEX.sub("", m.group(0)).upper().replace(" ", "")
                full = whole if finer and "-" not in whole else None  # not a ZIP+4: no file holds those
                found.append(PostcodeToken(key, m.start(), m.end(), country, finer, full))
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


# Words that make what follows them part of a street's or a building's name, not the town ("rue du Faubourg
# Saint-Honoré" is in Paris, not in Saint-Honoré, Seine-Maritime; "Gare de Lyon" is in Paris), and, in English or
# German word order, the end of one ("Baker Street", "Fifth Avenue"). No abbreviation a town name starts with:
# "St" and "Ste" are saints far more often than streets ("St Etienne").
_STREET_WORDS = frozenset([
    "rue", "av", "avenue", "bd", "boulevard", "blvd", "chemin", "allée", "allee", "impasse", "place", "quai", "cours",
    "route", "rte", "faubourg", "fbg", "passage", "square", "esplanade", "gare", "parvis", "street", "road", "rd",
    "lane", "ave", "drive", "way", "court", "terrace", "crescent", "close", "row", "straße", "strasse", "str", "weg",
    "platz", "gasse", "damm", "ufer", "chaussee", "chaussée", "bahnhof", "улица", "ул", "проспект", "переулок", "шоссе",
    "бульвар", "площадь", "набережная", "вокзал", "пр", "пр-т", "пер", "наб", "пл", "ш", "calle", "avenida",
    "plaza", "paseo", "carrer", "via", "viale", "piazza", "corso",
])  # fmt: skip
_LINK_WORDS = frozenset([
    "de", "du", "des", "d'", "la", "le", "les", "of", "am", "an", "der", "den", "im", "zum", "zur", "von", "на",
])  # fmt: skip


# Words British and Irish addresses write before a county ("Co. Antrim" is no town of Antrim).
_COUNTY_WORDS = frozenset(["county", "co"])


def _street_suffix(tokens: Sequence[str], start: int) -> bool:
    """Whether tokens[start:] is (the end of) a street or building name, or a county's, rather than a town's."""
    # "ул.", "Blvd.": abbreviations are written with their dot
    first, last = tokens[start].lower().rstrip("."), tokens[-1].lower().rstrip(".")
    before = tokens[start - 1].lower().rstrip(".") if start else ""
    return (
        first in _STREET_WORDS
        or last in _STREET_WORDS
        or before in _STREET_WORDS
        or before in _COUNTY_WORDS
        # "Chemin de Moscou", "Frankfurt am Main" (not "am Main"); "De Panne" typed alone stays a town.
        or (start >= 1 and (first in _LINK_WORDS or (before in _LINK_WORDS and start >= 2)))
    )


def locality_candidates(segments: Sequence[str]) -> list[str]:
    """Strings that may name the locality, most likely first: the suffixes of the last segment, longest
    first ("rue de la Paix Paris" ends with the city when no comma separates it), then earlier segments.
    A suffix that is part of a street's name ("… Saint-Honoré" after "rue du Faubourg") is none."""
    if not segments:
        return []
    tokens = segments[-1].split()
    out = [
        " ".join(tokens[i:])
        for i in range(max(0, len(tokens) - MAX_SUFFIX_TOKENS), len(tokens))
        if not _street_suffix(tokens, i)
    ]
    out += [s for s in reversed(segments[:-1]) if s not in out]
    return out


def covers(conn: Connection, country: str) -> bool:
    """Whether the gazetteer holds the country's postcodes (`locator ingest postcodes --country CC`)."""
    return bool(
        conn.execute(text("SELECT EXISTS (SELECT 1 FROM postcodes WHERE country = :c)"), {"c": country}).scalar()
    )


def lookup(conn: Connection, q: str, country: str | None) -> Match | None:
    """The gazetteer's best reading of `q` (already validated), or None."""
    q, country = _postal_prefix(q, country)
    segments = _segments(q)
    if not segments:  # punctuation alone (",", "..."): nothing to read, and the readers below index segments
        return None
    alone = _country_named(segments[0]) if len(segments) == 1 else None
    if alone is not None and country in (None, alone):
        return _country_alone(conn, segments[0], alone)
    if country is None:
        outward = _outward_after_town(conn, segments)
        if outward is not None:
            return outward
    split = _country_split(segments)
    plain = _with_country(conn, segments, country)
    if split is None:
        return plain
    # "London UK", "Lyon France": the country without its comma ("London UK" read as it stands is the
    # village of Uk, Chelyabinsk). Unless the words read as part of the text place it more finely: Monaco's
    # name is also its own places' ("98000 Monaco"), and "Ile de France" is no "Ile de" in France.
    match = _with_country(conn, split, country)
    if match is None or (
        plain is not None and precision_rank(plain.origin.precision) > precision_rank(match.origin.precision)
    ):
        return plain
    return match


# The nations of the United Kingdom name GB, and are also the region of its places ("Bangor, Wales" is not
# the one in Northern Ireland).
_GB_NATIONS = frozenset(["england", "scotland", "wales", "northern ireland", "angleterre", "écosse"])


def _with_country(conn: Connection, segments: list[str], country: str | None) -> Match | None:
    named = _country_named(segments[-1]) if len(segments) > 1 else None
    if named is None:
        return _read(conn, segments, country)
    nation = [segments[-1]] if segments[-1].casefold() in _GB_NATIONS else []
    match = _read(conn, segments[:-1], country or named, regions=nation)
    if segments[-1].casefold() in COUNTRY_NAMES or (match is not None and match.origin.precision != APPROXIMATE):
        return match
    # A bare code may be something else: DE is also Delaware ("Dover, DE", nowhere in Germany). When the
    # country it names has nothing better than a guess, the code is read as part of the address, as before.
    plain = _read(conn, segments, country)
    if plain is not None and (match is None or plain.origin.precision != APPROXIMATE):
        return plain
    return match


def _country_split(segments: list[str]) -> list[str] | None:
    """The segments with a country named by the last words of the last one made a segment of its own
    ("Moscow Russia" -> "Moscow", "Russia"), or None when no country ends it."""
    tokens = segments[-1].split()
    for n in (3, 2, 1):
        if len(tokens) > n and _country_named(" ".join(tokens[-n:])) is not None:
            return [*segments[:-1], " ".join(tokens[:-n]), " ".join(tokens[-n:])]
    return None


# A town and a British outward code, no country given ("London SW1A", "Manchester M1"): without the town's
# check an outward code is only read as one typed alone, since "B2" in "Bâtiment B2" is no Birmingham code.
_OUTWARD_AFTER_TOWN = re.compile(r"(.*[^\W\d_].*?)\s+([A-Z]{1,2}\d[A-Z\d]?)", re.I)
OUTWARD_TOWN_KM = 30.0


def _outward_after_town(conn: Connection, segments: list[str]) -> Match | None:
    """The outward code's answer when the words before it name a British place within OUTWARD_TOWN_KM of it."""
    m = _OUTWARD_AFTER_TOWN.fullmatch(segments[-1])
    if m is None:
        return None
    match = _read(conn, segments, "GB")
    if match is None or match.origin.precision not in ("postcode", "postcode centroid"):
        return None
    ensure_places(conn)
    near = conn.execute(
        text(
            """
            SELECT EXISTS (
                SELECT 1
                  FROM gazetteer_places AS g
                 WHERE g.country = 'GB'
                   AND (g.place_key = place_key(:town) OR g.short_key = place_key(:town))
                   AND ST_DWithin(ST_MakePoint(g.lon, g.lat)::geography, ST_MakePoint(:lon, :lat)::geography,
                                  :metres))
            """
        ),
        {"town": m[1], "lat": match.origin.lat, "lon": match.origin.lon, "metres": OUTWARD_TOWN_KM * 1000},
    ).scalar()
    return match if near else None


def country_written(q: str) -> str | None:
    """The country written on the query's postcode ("CH-8001 Zürich") or named by its last words ("Rome,
    Italy", "Toronto Canada"), whether the gazetteer holds its postcodes or not, or None."""
    q, named = _postal_prefix(q, None)
    if named is not None:
        return named
    segments = _segments(q)
    if not segments:
        return None
    segments = _country_split(segments) or segments
    last = segments[-1].casefold()
    return COUNTRY_NAMES[last] if len(segments) > 1 and last in COUNTRY_NAMES else None


def _postal_prefix(q: str, country: str | None) -> tuple[str, str | None]:
    """The query without the country letters written on its postcode ("F-75008"), and the country they name
    (a hint given wins, like over a trailing ", France")."""
    for m in reversed(list(_POSTAL_PREFIX.finditer(q))):
        letters = m[1].upper()
        named = POSTAL_PREFIXES.get(letters)
        before = q[: m.start()].rstrip()
        if named is None and letters in ISO_PREFIXES and (not before or before.endswith(",")):
            named = letters  # "Bahnhofstrasse 1, CH-8001 Zürich"; not "Unit AT-1204", inside a segment
        shape = POSTCODE_PATTERNS.get(named or "", DIGITS_PATTERN)
        if named is not None and country in (None, named) and shape.match(q, m.end()):
            return q[: m.start()] + q[m.end() :], named
    return q, country


def _country_named(segment: str) -> str | None:
    """The country a segment names by name or ISO code ("France", "FR"), or None."""
    if segment.casefold() in COUNTRY_NAMES:
        return COUNTRY_NAMES[segment.casefold()]
    return segment.upper() if segment.upper() in COUNTRY_CODES else None


def _country_alone(conn: Connection, name: str, country: str) -> Match | None:
    # A country is no point to measure distances from, and its name is no place elsewhere: "France" was La
    # France (South Carolina, by trigrams), "Russia" Russia (Ohio). Only a city-state is a place of its own
    # name (Monaco).
    found = _place_match(conn, [name], country, None)
    return Match(found[0], True) if found is not None else None


def _read(conn: Connection, segments: list[str], country: str | None, regions: Sequence[str] = ()) -> Match | None:
    """The reading of the query's segments once its country is known (or not); `regions` may name the
    place's region besides its own segments (see _place_match)."""
    if not segments or country not in (None, "FR"):
        return _read_text(conn, ", ".join(segments), country, regions)
    has_postcode = bool(postcode_tokens(", ".join(segments), country))
    spelled = _arrondissement(segments[-1], has_postcode)
    if spelled is None:
        return _read_text(conn, ", ".join(segments), country, regions)
    match = _read_text(conn, ", ".join([*segments[:-1], spelled]), "FR")
    if match is None or has_postcode:
        return match
    # Placed at the arrondissement's postcode, but the customer typed none: `source` says so.
    return replace(match, origin=replace(match.origin, source="address"))


def _arrondissement(segment: str, has_postcode: bool) -> str | None:
    """The segment with the arrondissement it ends with ("Paris 8e") spelled as GeoNames' district ("Paris 08")
    and, unless the query has a postcode already, preceded by the arrondissement's postcode; None without one."""
    m = _ARRONDISSEMENT.search(segment)
    if m is None:
        return None
    number = int(m["number"]) if m["number"] else _ROMAN[m["roman"]]
    district = f"{m['city']} {number:02d}"
    departement, count = ARRONDISSEMENTS[m["city"].casefold()]
    if not has_postcode and 1 <= number <= count:
        district = f"{departement}{number:03d} {district}"
    return segment[: m.start()] + district


def _read_text(conn: Connection, text_q: str, country: str | None, regions: Sequence[str] = ()) -> Match | None:
    tokens = postcode_tokens(text_q, country)
    for token in tokens:
        match = _postcode_match(conn, text_q, token, country)
        if match is not None:
            return match
    # No postcode known: the locality alone. A postcode-like token that was not found (a CEDEX code the
    # gazetteer lacks) still says in which département, Land or oblast to look: its first two digits.
    hint = next((t.key[:2] for t in tokens if t.key[:2].isdigit()), None)
    # A French overseas code (97400 Saint-Denis, Réunion) that the gazetteer lacks (GeoNames files those under
    # RE, GP, MQ...): a namesake in metropolitan France is 9,000 km off, so only a place of that département
    # will do.
    overseas = any(_FRENCH_OVERSEAS.fullmatch(t.key) for t in tokens)
    rest = text_q
    for token in sorted(tokens, key=lambda t: t.start, reverse=True):
        rest = rest[: token.start] + " " + rest[token.end :]
    rest_segments = _segments(_CEDEX.sub(" ", rest))
    candidates = locality_candidates(rest_segments)
    found = _place_match(
        conn, candidates, country, hint, regions=rest_segments, extra_regions=regions, hint_required=overseas
    )
    if found is not None:
        origin, used = found
        named = candidates[used] if used < len(candidates) else None  # else a town before its region's name
        outside = False  # the last segment names a region the place is not in
        if not tokens and len(rest_segments) > 1 and (origin.precision != QUALIFIED or regions):
            reading = _region_reading(conn, rest_segments[:-1], rest_segments[-1], country)
            if reading is not None:
                nearer, inside = reading
                if (nearer.lat, nearer.lon) == (origin.lat, origin.lon):
                    outside = not inside
                # Taken when the last segment was read as a town of another country than the region's ("Richmond,
                # Surrey" was Surrey, North Dakota), or when it was not read at all (the town's other namesake).
                elif nearer.country != origin.country or named in rest_segments[:-1]:
                    return Match(nearer, False)
        complete = (
            not tokens
            and not outside
            and origin.precision != APPROXIMATE
            and (
                (len(rest_segments) == 1 and named in (None, rest_segments[0]))
                # "Paris, TX": the place and its region, both explained
                or (len(rest_segments) == 2 and origin.precision == QUALIFIED and named in rest_segments)
            )
        )
        if origin.precision == QUALIFIED:
            origin = replace(origin, precision="place centroid")
        if _postcode_elsewhere(text_q, tokens, origin):
            return None
        return Match(origin, complete, guess=bool(tokens))
    if rest_segments and not (overseas and country in (None, "FR")) and not re.search(r"\d", rest_segments[-1]):
        origin_fuzzy = _fuzzy_place(conn, rest_segments[-1], country)
        if origin_fuzzy is not None and not _postcode_elsewhere(text_q, tokens, origin_fuzzy):
            # A spelling the gazetteer corrected is a guess: its country says nothing of the query's ("Zürich"
            # read as Юрич in Russia had the providers asked in Russia alone, and their Zürich refused).
            return Match(origin_fuzzy, False, guess=True)
    return None


def _postcode_elsewhere(q: str, tokens: Sequence[PostcodeToken], origin: Origin) -> bool:
    """Whether the query's postcode cannot be one of the place's country: "H2X 1Y4, Montréal" (a Canadian
    code the gazetteer lacks) is not Montréal in the Yonne, 5,800 km off."""
    shape = POSTCODE_PATTERNS.get(origin.country or "")
    return bool(tokens) and shape is not None and not any(shape.search(q[t.start : t.end]) for t in tokens)


# -- postcodes -----------------------------------------------------------------------------------------------


LOCATIONS_COUNTED = 1000  # enough to tell the countries a locator serves from those it has a few places in


def _postcode_match(conn: Connection, q: str, token: PostcodeToken, country: str | None) -> Match | None:
    # The range keeps the (postcode_key, country) index usable for CEDEX keys ("75384CEDEX08") while the
    # regexp keeps only the code itself; several countries may share a code (75008 is Paris and a Texas ZIP):
    # without a hint, the country with the most locations in the database wins, then the most rows. Counted up
    # to LOCATIONS_COUNTED on the country index (migration 0013): a full count took 0.3-1.4 s at 1M places.
    if token.full is not None:
        whole = _postcode_match(conn, q, replace(token, key=token.full, finer=False, full=None), country)
        if whole is not None:
            return whole
    rows = conn.execute(
        text(
            f"""
            SELECT p.country, p.postcode, p.place_name, place_key(p.place_name) AS key, p.lat, p.lon,
                   (SELECT count(*)
                      FROM (SELECT FROM locations AS l WHERE l.country = p.country LIMIT {LOCATIONS_COUNTED}) AS n)
                       AS locations
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
    # A ZIP+4 ("10115-1234") is American, whichever country has more places under its first five digits.
    zip4 = re.search(r"\d{5}-\d{4}", q[token.start : token.end]) is not None
    by_country: dict[str, list[Any]] = {}
    for row in rows:
        by_country.setdefault(row.country, []).append(row)
    readings = {cc: reading(group) for cc, group in by_country.items()}
    cc = max(
        by_country,
        key=lambda c: (
            readings[c][1] is not None,
            zip4 and c == "US",
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
    located = _core([r for r in chosen if r.place_name not in district_bases] or chosen)
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
        precision="postcode centroid" if shared or token.finer else "postcode",
    )
    return Match(origin, explained)


# A postcode's rows farther than this from their median are not where the code is: GeoNames files German
# "Großkunden" codes (a company's own code) at the company's seat and elsewhere, and GB outward codes carry
# placeholder points; their mean put 42895 (Remscheid) 79 km away and 10875 (Berlin) near Leipzig.
OUTLIER_KM = 15.0


def _core(rows: Sequence[Any]) -> list[Any]:
    """The rows within OUTLIER_KM of the rows' median point (all of them when none is)."""
    if len(rows) < 3:
        return list(rows)
    lats = sorted(r.lat for r in rows)
    lons = sorted(r.lon for r in rows)
    middle = (lats[len(lats) // 2], lons[len(lons) // 2])
    near = [r for r in rows if great_circle(middle, (r.lat, r.lon)).km <= OUTLIER_KM]
    return near or list(rows)


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


# A place picked by its region's name or code besides its own ("Paris, TX", "Dover, Kent", "Portland Maine"):
# _read_text reads the query as fully explained, then labels the answer a place centroid like any other.
QUALIFIED = "place centroid (region named)"
MAX_REGION_TOKENS = 3  # "Paris TX", "Springfield New Jersey", "Dover Kent England"


def region_tails(segment: str) -> list[tuple[str, str]]:
    """(town, region) readings of one segment whose last words may name the town's region or state ("Paris
    TX", "Portland Maine"): each is taken only when a place of that name lies in a region so named."""
    tokens = segment.split()
    return [
        (" ".join(tokens[:i]), " ".join(tokens[i:]))
        for i in range(max(1, len(tokens) - MAX_REGION_TOKENS), len(tokens))
        # No street-word check: a reading is kept only where the region names the place's own, and "LA" is
        # Louisiana as well as a French article ("Baton Rouge LA").
        if any(c.isalpha() for c in " ".join(tokens[i:]))
    ]


def _place_match(
    conn: Connection,
    candidates: Sequence[str],
    country: str | None,
    hint: str | None,
    regions: Sequence[str] = (),
    extra_regions: Sequence[str] = (),
    hint_required: bool = False,
) -> tuple[Origin, int] | None:
    """The best place named by a candidate and the candidate's index (len(candidates) and beyond: a town
    read off the end of the last of `regions`, see region_tails). A place whose region (state, county, Land,
    or its code) another segment of `regions` names comes first ("Paris, TX" is not the French capital, nor
    "Dover, Kent" Kent, Washington), precision QUALIFIED; then earlier candidates first. A long form read by
    its first words whose rest the place does not hold is APPROXIMATE (see the `checked` step)."""
    tails = region_tails(regions[-1]) if regions else []
    names = [*candidates, *(town for town, _ in tails)]
    if not names:
        return None
    qualifiers = [None] * len(candidates) + [region for _, region in tails]
    # The segment each name was read from: a region must be named by another one ("New York" is no York in
    # the state of New York).
    last = len(regions) - 1
    sources = [next((i for i, seg in enumerate(regions[:-1]) if seg == name), last) for name in candidates]
    sources += [last] * len(tails)
    ensure_places(conn)
    row = conn.execute(
        text(
            """
            WITH typed AS (
                SELECT c.ord, c.name, place_key(c.name) AS typed_key, region_key(c.region) AS region, c.source
                  FROM unnest(CAST(:names AS text[]), CAST(:qualifiers AS text[]), CAST(:sources AS int[]))
                       WITH ORDINALITY AS c (name, region, source, ord)
            )
            , regions AS (
                SELECT region_key(r.name) AS key, r.idx - 1 AS source
                  FROM unnest(CAST(:regions AS text[])) WITH ORDINALITY AS r (name, idx)
                 WHERE r.name ~ '[[:alpha:]]'
            )
            -- respelled: 0 the name as typed (or an alias of it), 1 a respelling of it, 2 its first words
            -- dropped: the words of a qualifier the name was typed with and the key left out (see below)
            , wanted AS (
                SELECT t.ord, t.typed_key, t.region, t.source, t.typed_key AS key, NULL AS country, 0 AS respelled,
                       CAST(NULL AS text[]) AS dropped
                  FROM typed AS t
                UNION ALL
                SELECT t.ord, t.typed_key, t.region, t.source, place_key(a.place_name), a.country, 0, NULL
                  FROM typed AS t
                  JOIN place_aliases AS a ON place_key(a.alias) = t.typed_key
                UNION ALL
                -- German umlauts typed without them ("Koeln", "Muenchen", "Goettingen"): the key drops the
                -- accent (Köln -> koln), so the e goes too; after the name as typed ("Rouen" stays Rouen).
                SELECT t.ord, t.typed_key, t.region, t.source,
                       place_key(regexp_replace(t.name, '([aou])e', '\\1', 'gi')), NULL, 1, NULL
                  FROM typed AS t
                 WHERE t.name ~* '[aou]e'
                UNION ALL
                -- A qualifier written out ("Frankfurt an der Oder" is GeoNames' Frankfurt (Oder))
                SELECT t.ord, t.typed_key, t.region, t.source,
                       place_key(regexp_replace(t.name, :link_words, ' ', 'gi')), NULL, 1, NULL
                  FROM typed AS t
                 WHERE t.name ~* :link_words
                UNION ALL
                -- Words the name is typed with: a Russian address's locality type ("г. Москва", "пос. ..."),
                -- the abbreviated Fort and Mount ("Ft Worth", "Mt Pleasant")
                SELECT t.ord, t.typed_key, t.region, t.source, place_key(regexp_replace(regexp_replace(
                           regexp_replace(t.name, :locality_type, ''), '\\mft\\M\\.?', 'fort', 'gi'),
                           '\\mmt\\M\\.?', 'mount', 'gi')), NULL, 1, NULL
                  FROM typed AS t
                 WHERE t.name ~ :locality_type OR t.name ~* '\\m(ft|mt)\\M'
                UNION ALL
                -- An official long form written otherwise than GeoNames' ("Frankfurt (Main)", "Freiburg i. Br.",
                -- "Frankfurt a.d. Oder"): its first words, taken only for a place whose name or regions hold
                -- each word of the rest, as typed or abbreviated (Frankfurt (Oder) for "Oder" or "O.", not
                -- Frankfurt am Main; not Halle (Saale) for "Halle (Westf.)")
                SELECT t.ord, t.typed_key, t.region, t.source, place_key(place_short_name(t.name)), NULL, 2,
                       ARRAY(SELECT w
                               FROM regexp_split_to_table(
                                        place_key(substr(t.name, length(place_short_name(t.name)) + 1)), ' ') AS w
                              WHERE w <> '' AND w <> ALL (CAST(:qualifier_links AS text[])))
                  FROM typed AS t
                 WHERE place_short_name(t.name) <> t.name
            )
            , named AS (
                SELECT w.ord, w.typed_key, w.region, w.source, w.respelled, w.dropped, g.*
                  FROM wanted AS w
                  JOIN gazetteer_places AS g
                    ON g.place_key = w.key
                   AND (w.country IS NULL OR g.country = w.country)
                 WHERE w.key <> ''
                UNION ALL
                -- "Frankfurt" for Frankfurt am Main (migration 0014)
                SELECT w.ord, w.typed_key, w.region, w.source, w.respelled, w.dropped, g.*
                  FROM wanted AS w
                  JOIN gazetteer_places AS g ON g.short_key = w.key
                 WHERE w.key <> '' AND w.country IS NULL
                UNION ALL
                -- "Nizhny Novgorod" for Нижний Новгород (migration 0016)
                SELECT t.ord, t.typed_key, t.region, t.source, 1, NULL, g.*
                  FROM typed AS t
                  JOIN gazetteer_places AS g ON g.latin_key = latin_key(t.name)
                 WHERE g.latin_key IS NOT NULL AND t.name !~* '[а-яё]' AND latin_key(t.name) <> ''
            )
            , checked AS (
                -- verified: each dropped word is (the start of) a word of the place's name or regions
                SELECT g.*,
                       g.dropped IS NULL OR NOT EXISTS (
                           SELECT 1
                             FROM unnest(g.dropped) AS q (word)
                            WHERE NOT EXISTS (
                                SELECT 1
                                  FROM unnest(string_to_array(concat_ws(' ', place_key(g.place_name),
                                                                        place_key(g.admin1), place_key(g.admin2)),
                                                              ' ')) AS n (word)
                                 WHERE starts_with(n.word, q.word))) AS verified,
                       -- hinted: a postcode of the département (Land, oblast) an unknown code in the query names
                       EXISTS (SELECT 1 FROM unnest(g.postcodes) AS pc WHERE left(pc, 2) = :hint) AS hinted
                  FROM named AS g
            )
            , placed AS (
                SELECT g.*,
                       g.region IS NOT NULL OR EXISTS (
                           SELECT 1
                             FROM regions AS r
                            WHERE r.source <> g.source
                              AND region_names(r.key, g.country, g.admin1, g.admin1_code, g.admin2)) AS qualified
                  FROM checked AS g
                 WHERE (CAST(:country AS text) IS NULL OR g.country = :country)
                   AND (NOT :hint_required
                        OR g.country <> 'FR'  -- 97xxx and 98xxx are also German codes (Würzburg, Suhl)
                        OR g.hinted)
                   AND (g.region IS NULL OR region_names(g.region, g.country, g.admin1, g.admin1_code, g.admin2))
                   -- Unverified, a place whose own name carries no other qualifier, as a guess: GeoNames
                   -- writes plain "Offenbach" for Offenbach am Main, "Halle" for Halle (Saale); not
                   -- Frankfurt am Main for "Frankfurt a.d. Oder", nor Dillingen/Saar for "Dillingen a.d. Donau"
                   AND (g.verified OR place_short_name(g.place_name) = g.place_name)
            )
            SELECT g.ord, g.country, g.place_name, g.admin1, g.admin1_code, g.admin2, g.lat, g.lon, g.n_postcodes,
                   g.qualified, g.verified
              FROM placed AS g
             ORDER BY g.qualified DESC,
                      g.ord,
                      g.respelled,
                      g.verified DESC,
                      g.hinted DESC,
                      -- A namesake where the locator has places first: a GB-only locator's "Birmingham" is not
                      -- Alabama's (whose more postcodes, ZIPs against GB's outward codes, compare nothing).
                      EXISTS (SELECT 1 FROM locations AS l WHERE l.country = g.country) DESC,
                      g.n_postcodes DESC,
                      g.country
             LIMIT 1
            """
        ),
        {
            "names": names,
            "qualifiers": qualifiers,
            "sources": sources,
            "regions": [*regions, *extra_regions],
            "country": country,
            "hint": hint,
            "hint_required": hint_required,
            "link_words": r"\m(am|an der|an den|im|in der|ob der|vor der)\M",
            # "a.d.", "i.", "b.": how German names abbreviate "an der", "im", "bei"
            "qualifier_links": ["a", "d", "i", "b", "am", "an", "der", "den", "dem", "im", "in", "ob", "bei", "vor"],
            "locality_type": r"^\s*(г|гор|город|пос|пгт|посёлок|поселок|с|село|д|дер|деревня|ст|станица)\.?\s+",
        },
    ).first()
    if row is None:
        return None
    precision = APPROXIMATE if not row.verified else QUALIFIED if row.qualified else "place centroid"
    return _place_origin(row, precision), int(row.ord) - 1


# How far from a region's centre a town typed with it may lie: a British county's towns (Romford is ~40 km from
# the middle of Essex) but not another part of the country.
MAX_REGION_KM = 100


def _region_reading(
    conn: Connection, names: Sequence[str], region: str, country: str | None
) -> tuple[Origin, bool] | None:
    """The place `names` name nearest the region `region` names (gazetteer_regions, migration 0020), and
    whether it lies in it: in it first, else the nearest within MAX_REGION_KM of its centre; None when no such
    place or region is known.

    For a region the town is not filed under: British addresses carry the postal county ("Richmond, Surrey",
    which GeoNames files under Greater London; "Harrow, Middlesex", a county until 1965), which _place_match
    cannot qualify the town by, so it read the region as a town ("Surrey", North Dakota)."""
    row = conn.execute(
        text(
            """
            -- The key once (MATERIALIZED): inlined, region_key() ran for each of the thousands of regions
            WITH typed AS MATERIALIZED (
                SELECT k.key, string_to_array(k.key, ' ') AS words FROM (SELECT region_key(:region) AS key) AS k
            )
            , named AS (
                SELECT r.country, t.key, ST_SetSRID(ST_MakePoint(r.lon, r.lat), 4326)::geography AS centre
                  FROM gazetteer_regions AS r, typed AS t
                 WHERE (r.key = t.key OR (r.county AND t.words <@ string_to_array(r.key, ' ')))
                   AND (CAST(:country AS text) IS NULL OR r.country = :country)
                   AND :region ~ '[[:alpha:]]'
            )
            SELECT g.country, g.place_name, g.admin1, g.admin1_code, g.admin2, g.lat, g.lon,
                   region_names(r.key, g.country, g.admin1, g.admin1_code, g.admin2) AS inside
              FROM named AS r
              JOIN gazetteer_places AS g
                ON g.country = r.country
               AND g.place_key = ANY(ARRAY(SELECT place_key(n) FROM unnest(CAST(:names AS text[])) AS n))
             CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(g.lon, g.lat), 4326)::geography AS point) AS p
             WHERE ST_DWithin(p.point, r.centre, :max_m)
             ORDER BY inside DESC, ST_Distance(p.point, r.centre), g.country
             LIMIT 1
            """
        ),
        {"region": region, "names": list(names), "country": country, "max_m": MAX_REGION_KM * 1000},
    ).first()
    return None if row is None else (_place_origin(row, "place centroid"), bool(row.inside))


def _fuzzy_place(conn: Connection, name: str, country: str | None) -> Origin | None:
    # Typos ("Saint-Etiene", "Toulouze", "Grenbole"): a place whose name, or alias ("Nuremburg"), is a few edits
    # from the query. Trigram similarity (and its index) only finds candidates: it also scores names that
    # contain the query highly ("La France" for "France", "Toulouzette" for "Toulouze"), and those are other
    # places, in other countries as often as not. The fewest edits win, then the closest trigrams, then the
    # larger place.
    ensure_places(conn)
    wanted = str(conn.execute(text("SELECT place_key(:name)"), {"name": name}).scalar_one())
    budget = typo_budget(wanted)
    if budget == 0:
        return None
    rows = conn.execute(
        text(
            """
            WITH named AS (
                SELECT g.*, g.place_key AS spelled, CAST(:wanted AS text) AS typed
                  FROM gazetteer_places AS g
                 WHERE g.place_key % :wanted
                UNION ALL
                SELECT g.*, place_key(a.alias), :wanted
                  FROM place_aliases AS a
                  JOIN gazetteer_places AS g ON g.place_key = place_key(a.place_name) AND g.country = a.country
                 WHERE place_key(a.alias) % :wanted
                UNION ALL
                -- Cyrillic names spelled in Latin letters, against the query loosened alike (migration 0016)
                SELECT g.*, g.latin_key, latin_key(:wanted)
                  FROM gazetteer_places AS g
                 WHERE g.latin_key IS NOT NULL AND g.latin_key % latin_key(:wanted)
            )
            SELECT n.country, n.place_name, n.admin1, n.admin1_code, n.admin2, n.lat, n.lon, n.spelled, n.typed,
                   similarity(n.spelled, n.typed) AS score
              FROM named AS n
             WHERE abs(length(n.spelled) - length(n.typed)) <= :budget  -- each missing letter is an edit
               AND (CAST(:country AS text) IS NULL OR n.country = :country)
             ORDER BY score DESC, n.n_postcodes DESC
             LIMIT :limit
            """
        ),
        {"wanted": wanted, "budget": budget, "country": country, "limit": FUZZY_CANDIDATES},
    ).all()
    # Optimal string alignment: a swap of neighbours is one typo ("grenbole"), not two substitutions.
    typos = [(OSA.distance(row.typed, row.spelled), rank, row) for rank, row in enumerate(rows)]
    close = [t for t in typos if t[0] <= budget]
    return _place_origin(min(close, key=lambda t: t[:2])[2], APPROXIMATE) if close else None


def typo_budget(key: str) -> int:
    """Edits a name of this length may carry and still be recognised: one per six characters. Shorter names sit
    one letter away from other real places ("Vaduz" and Laduz in the Yonne, "Fr" and Fry)."""
    return len(key) // 6


# Where a town is known by its state, not its county: "Portland, ME", not "Portland, Cumberland".
_STATE_NAMED = frozenset({"US"})


def _place_origin(row: Any, precision: str) -> Origin:
    area = (row.admin1_code if row.country in _STATE_NAMED else None) or row.admin2 or row.admin1
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
        if not conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": GAZETTEER_LOCK}).scalar():
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
        conn.execute(
            text(
                """
                UPDATE gazetteer_places
                   SET short_key = nullif(place_key(place_short_name(place_name)), '')
                 WHERE country = ANY(:c)
                   AND place_short_name(place_name) <> place_name
                """
            ),
            {"c": countries},
        )
        # Where each region lies (migration 0020): states by name and code, counties outside the US, and the
        # former counties addresses still carry.
        conn.execute(text("DELETE FROM gazetteer_regions WHERE country = ANY(:c)"), {"c": countries})
        conn.execute(
            text(
                """
                WITH divisions AS (
                    SELECT country, admin1, admin1_code, admin2, count(*) AS n, sum(lat) AS lat, sum(lon) AS lon
                      FROM gazetteer_places
                     WHERE country = ANY(:c)
                     GROUP BY country, admin1, admin1_code, admin2
                )
                INSERT INTO gazetteer_regions (country, key, county, lat, lon)
                SELECT d.country, r.key, r.county, sum(d.lat) / sum(d.n), sum(d.lon) / sum(d.n)
                  FROM divisions AS d
                 CROSS JOIN LATERAL (VALUES (place_key(d.admin1), false),
                                            (place_key(d.admin1_code), false),
                                            (CASE WHEN d.country <> 'US' THEN place_key(d.admin2) END, true))
                       AS r (key, county)
                 WHERE r.key ~ '[[:alpha:]]'
                 GROUP BY d.country, r.key, r.county
                 UNION ALL
                SELECT country, alias, true, lat, lon
                  FROM region_aliases
                 WHERE region IS NULL AND country = ANY(:c)
                """
            ),
            {"c": countries},
        )
        # Cyrillic names spelled in Latin letters, for queries typed so (migration 0016).
        conn.execute(
            text(
                """
                UPDATE gazetteer_places
                   SET latin_key = nullif(latin_key(place_name), '')
                 WHERE country = ANY(:c)
                   AND place_name ~* '[а-яё]'
                """
            ),
            {"c": countries},
        )
    log.info("rebuilt the gazetteer place index for %s", ", ".join(sorted(countries)))
    return countries


# -- reverse -------------------------------------------------------------------------------------------------


# The postcode nearest a point: what labels a coordinate query. The search runs it inside its own statement
# (locator/search.py), so that a nearest answer for coordinates is one round trip. The query itself is the
# function origin_label (migration 0011: its plan is made once per connection, where the search's statement
# is planned for each query): it skips CEDEX codes and US military codes (not where a point is), and
# postcodes farther than 30 km (migration 0015: a name that far away is not the point's; the coordinates
# label it instead).
NEAREST_POSTCODE_SQL = "SELECT postcode, place_name, country FROM origin_label(:lat, :lon)"


def reverse(conn: Connection, lat: float, lon: float) -> Origin:
    """The origin of a coordinate query, labelled with the nearest postcode when the gazetteer has one."""
    row = conn.execute(text(NEAREST_POSTCODE_SQL), {"lat": lat, "lon": lon}).first()
    if row is None:
        return coordinates_origin(lat, lon, None, None, None)
    return coordinates_origin(lat, lon, row.postcode, row.place_name, row.country)


def coordinates_origin(lat: float, lon: float, postcode: str | None, place: str | None, country: str | None) -> Origin:
    """A coordinate query's origin from its nearest postcode (all None: the gazetteer has none). A postcode of
    a country the point is not in does not label it: near a border whose other side has no postcodes loaded
    (Brussels, with France's only, had a French village's), the zone at the point says which countries it may
    be in. Without a label the origin's country is the zone's when the zone has one country."""
    zone = timezone_at(lat, lon)
    known = zone_countries(zone) if zone else None
    if postcode is not None and country is not None and known is not None and country not in known[0]:
        postcode = None
    if postcode is None:
        listed = known[1].split(", ") if known is not None else []
        country = listed[0] if len(listed) == 1 else None
    return Origin(
        lat=lat,
        lon=lon,
        label=f"{postcode} {place}, {country}" if postcode is not None else f"{lat:.5f}, {lon:.5f}",
        source="coordinates",
        geocoder=None,
        country=country,
        precision="coordinates",
    )
