"""What every place has, whether it comes from a feed (ingest) or from the database (search)."""

from __future__ import annotations

from dataclasses import dataclass

# A service centre is a place where a customer gets a repair: a shop with a repair desk counts as one (ingest),
# and one asked for by kind alone is open while its repair desk is (locator.search.NearestQuery), so that
# "service centres open now" at 20:30 names no shop whose desk closed at 20:00. A service centre offers repair
# whether its feed lists the service or not.
SERVICE_CENTRE = "service_centre"
SERVICE_CENTRE_SERVICE = "repair"


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
