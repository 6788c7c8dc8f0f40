"""Geocoders: the PostGIS gazetteer and self-hosted providers through geopy, chained with a cache.

locator.geocode is the entry point the rest of the service calls; this package holds the parts.
"""

from locator.geocoders.base import Origin
from locator.geocoders.chain import Chain, build, chain_for
from locator.geocoders.providers import ProviderDown, ProviderOptions, RemoteProvider

__all__ = ["Chain", "Origin", "ProviderDown", "ProviderOptions", "RemoteProvider", "build", "chain_for"]
