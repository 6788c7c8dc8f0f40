"""What every place has, whether it comes from a feed (ingest) or from the database (search)."""

from __future__ import annotations

from dataclasses import dataclass


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
