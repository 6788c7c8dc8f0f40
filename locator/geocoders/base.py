"""What every geocoder answers with, and how answers compare."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any, Literal

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
