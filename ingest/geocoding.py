"""Coordinates for feed rows that have none: the service's geocoder chain (LOCATOR_GEOCODERS, the gazetteer
first), so a row is placed as precisely as the configured geocoders allow: the address itself when a
self-hosted Nominatim/Photon/Pelias/BAN knows it, else its postcode or town from the gazetteer."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import Engine

from ingest.addresses import address_query
from ingest.validate import Locate, Located
from locator.errors import GeocoderUnavailable, LocatorError
from locator.geocode import geocode
from locator.geocoders.chain import Chain, chain_for
from locator.settings import Settings, get_settings

__all__ = ["Locate", "address_query", "chain_locator"]



def chain_locator(engine: Engine, settings: Settings | None = None, chain: Chain | None = None) -> Locate:
    the_chain = chain or chain_for(settings or get_settings())

    @lru_cache(maxsize=4096)
    def lookup(query: str, country: str | None) -> Located | None:
        down: list[str] = []
        try:
            with engine.connect() as conn:
                origin = geocode(conn, query, country, chain=the_chain, down=down)
        except GeocoderUnavailable:
            # Not "could not be located": the row may be fine and the run is worth repeating. Raised through the
            # validation into the publish, which publishes nothing and says so (lru_cache keeps no raise).
            raise
        except LocatorError:
            return None
        return origin.lat, origin.lon, origin.precision, tuple(down)

    def locate(record: dict[str, Any]) -> Located | None:
        country = str(record.get("country") or "").strip().upper() or None
        if country is not None and len(country) != 2:
            country = None
        query = address_query(record)
        return lookup(query, country) if query else None

    return locate
