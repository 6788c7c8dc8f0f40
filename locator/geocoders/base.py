"""What every geocoder answers with, and how answers compare."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any, Literal

from geopy.point import Point

from locator.countries import is_country
from locator.errors import InvalidParameter

MAX_QUERY_LENGTH = 200

# CONTRACT.md fixes these three; `precision` says more (see PRECISION_RANK).
Source = Literal["coordinates", "postcode", "address"]

# How finely an answer places the customer, coarse to fine. A partial gazetteer answer (a postcode found in
# a full address) is kept only until a provider answers more finely.
PRECISION_RANK: dict[str, int] = {
    "place centroid (approximate)": 0,
    "place centroid": 1,
    "postcode centroid": 2,
    "postcode": 3,
    "street": 4,
    "address": 5,
    "coordinates": 6,
}


def precision_rank(precision: str) -> int:
    return PRECISION_RANK.get(precision, 0)


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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Origin:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def normalise_spaces(q: str) -> str:
    """NFKC (full-width digits, ligatures), without invisible format characters (a zero-width space or a byte
    order mark pasted with "75008" made it an address for a provider), and single spaces: what every geocoder
    is handed."""
    text = unicodedata.normalize("NFKC", q)
    if not text.isascii():
        text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    return " ".join(text.split())


def validate_query(q: str, parameter: str = "q") -> str:
    cleaned = normalise_spaces(q)
    if not cleaned:
        raise InvalidParameter(parameter, "must not be empty")
    # A NUL reaches PostgreSQL as a DataError and a lone surrogate (a non-UTF-8 byte of a shell argument) as an
    # encoding error: both were 500s. No postcode or address holds a control character.
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in cleaned):
        raise InvalidParameter(parameter, "must not contain control characters")
    if len(cleaned) > MAX_QUERY_LENGTH:
        raise InvalidParameter(parameter, f"must be at most {MAX_QUERY_LENGTH} characters")
    return cleaned


# Coordinates typed or pasted into the search box ("48.8738, 2.2950" from a map app): two decimal numbers, at
# least one with a fraction ("59, 30" or "1 2" is text), or degrees with their hemispheres or signs, which
# geopy reads ("48°52'26\"N 2°17'42\"E", "48.87N 2.31E"). geopy alone is too lenient for free text: it reads
# "48,87 2,31" as (2, 31), so only strings made of these characters, with a degree sign or a decimal point (a
# London postcode such as "W1 1NS" has neither), reach it.
_DECIMAL_PAIR = re.compile(r"([+-]?\d{1,3}(?:\.\d+)?)\s*[,;\s]\s*([+-]?\d{1,3}(?:\.\d+)?)")
_DEGREE_TEXT = re.compile(r"[\d\s.,;°º'\"′″’”NSEWnsew+-]+")
_DEGREE_MARK = re.compile(r"[°º]|\d\.\d")
_HEMISPHERE = re.compile(r"[°º′″'\"’”NSEWnsew]")


def parse_coordinates(q: str, parameter: str = "q") -> tuple[float, float] | None:
    """(lat, lon) when `q` is a pair of coordinates rather than a postcode or an address, else None.
    InvalidParameter when it reads as coordinates off the globe (a latitude past 90)."""
    text = q.strip()
    pair = _DECIMAL_PAIR.fullmatch(text)
    if pair and "." in text:
        lat, lon = float(pair[1]), float(pair[2])
    elif _DEGREE_TEXT.fullmatch(text) and _DEGREE_MARK.search(text) and _HEMISPHERE.search(text):
        # Typographic primes and quotes as geopy reads them (NFKC, which every query goes through, makes a
        # double prime two single ones).
        for typed, ascii_mark in (("′′", '"'), ("″", '"'), ("”", '"'), ("′", "'"), ("’", "'"), ("º", "°")):
            text = text.replace(typed, ascii_mark)
        read = _degrees(text, parameter)
        if read is None:
            return None
        lat, lon = read
    else:
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidParameter(
            parameter, f"reads as coordinates ({lat:g}, {lon:g}): latitude must be within ±90, longitude ±180"
        )
    return lat, lon


def _degrees(text: str, parameter: str) -> tuple[float, float] | None:
    """(lat, lon) of degrees with hemispheres or signs as geopy reads them (`Point.from_string`'s own pattern
    and arithmetic), before geopy's normalisation: it wrapped a longitude of 200°E to 160°W, and read
    "-48.87S" (a sign and a hemisphere saying the same, or the opposite) as 48.87°N."""
    text = text.replace("''", '"')  # seconds typed as two primes, as geopy reads them
    match = re.match(Point.POINT_PATTERN, text)
    if match is None or match.end() != len(text):
        return None
    coordinates = []
    for axis in ("latitude", "longitude"):
        direction = match[f"{axis}_direction_front"] or match[f"{axis}_direction_back"]
        parts = [match[f"{axis}_{unit}"] for unit in ("degrees", "arcminutes", "arcseconds")]
        if direction and any(part and part.lstrip()[:1] in "+-" for part in parts):
            raise InvalidParameter(parameter, f"gives the {axis} both a sign and a hemisphere ({direction}): "
                                              "write one or the other")  # fmt: skip
        coordinates.append(Point.parse_degrees(*(part or 0.0 for part in parts), direction))
    return coordinates[0], coordinates[1]


def validate_country(country: str | None) -> str | None:
    if country is None or country == "":
        return None
    if not re.fullmatch(r"[A-Za-z]{2}", country):
        raise InvalidParameter("country", "must be an ISO 3166-1 alpha-2 code such as FR")
    if not is_country(country.upper()):
        # Two letters that name no country (UK is GB) limited the search to nowhere: "not found", misleadingly.
        hint = " (the United Kingdom is GB)" if country.upper() == "UK" else ""
        raise InvalidParameter("country", f"{country.upper()!r} is not an ISO 3166-1 alpha-2 country code{hint}")
    return country.upper()
