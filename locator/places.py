"""What every place has, whether it comes from a feed (ingest) or from the database (search)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# A service centre is a place where a customer gets a repair: a shop with a repair desk counts as one (ingest),
# and one asked for by kind alone is open while its repair desk is (locator.search.NearestQuery), so that
# "service centres open now" at 20:30 names no shop whose desk closed at 20:00. A service centre offers repair
# whether its feed lists the service or not.
SERVICE_CENTRE = "service_centre"
SERVICE_CENTRE_SERVICE = "repair"

# The services a place `l` offers, in SQL: those its feed lists, and repair at a service centre. Searches filter
# on it (the day's filtered search function, migration 0027, says the same), and ops' exceptions for a service
# go to the places offering it: a service centre's repair desk could not be closed.
OFFERED_SQL = (f"(l.services || CASE WHEN '{SERVICE_CENTRE}' = ANY(l.kinds) THEN ARRAY['{SERVICE_CENTRE_SERVICE}'] "
               "ELSE '{}'::text[] END)")  # fmt: skip


def offered(services: list[str], kinds: list[str]) -> list[str]:
    """The services a place offers, as OFFERED_SQL says: those listed, then repair at a service centre."""
    if SERVICE_CENTRE in kinds and SERVICE_CENTRE_SERVICE not in services:
        return [*services, SERVICE_CENTRE_SERVICE]
    return services


def offers(services: list[str], kinds: list[str], service: str) -> bool:
    """Whether a place offers `service`."""
    return service in offered(services, kinds)


@dataclass
class PlaceFields:
    id: str
    name: str
    kind: str
    kinds: list[str]  # kind plus what the services imply (a shop with a repair desk is also a service centre)
    street: str | None
    postcode: str | None
    city: str | None
    region: str | None
    country: str
    lat: float
    lon: float
    timezone: str
    phone: str | None
    url: str | None
    products: list[str]
    services: list[str]


def filter_word(text: str) -> str:
    """A product or service as the API's filters name it (`locator.search.filter_values`: a word of letters,
    digits, '_' and '-'): "Apple Watch" -> "apple-watch"."""
    return _NOT_A_FILTER_WORD.sub("-", text.strip().lower()).strip("-")


_NOT_A_FILTER_WORD = re.compile(r"[^\w-]+")


@lru_cache(maxsize=4096)
def filter_words(value: str) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """A product or service list (`;`, `,` or `|` between values) as the API's filters name its values, and
    (written, read as) for each value that needed more than its case changed. Feeds repeat a few lists across
    all their rows."""
    words: set[str] = set()
    renamed: list[tuple[str, str]] = []
    for part in re.split(r"[;,|]", value):
        written = part.strip()
        word = filter_word(written)
        if not word:
            continue
        if word != written.lower():
            renamed.append((written, word))  # "Apple Watch" stored as is, no filter could ever name it
        words.add(word)
    return tuple(sorted(words)), tuple(renamed)
