"""The address text a feed row is geocoded from: its own module, so that validation can name what was looked up
without importing the geocoder chain (half a second of imports) that only the CLI and the API need."""

from __future__ import annotations

from typing import Any


def address_query(record: dict[str, Any]) -> str:
    """The "street, postcode city" order: the one every country we serve writes, and the gazetteer reads."""
    street, postcode, city = (str(record.get(k) or "").strip() for k in ("street", "postcode", "city"))
    locality = " ".join(p for p in (postcode, city) if p)
    return ", ".join(p for p in (street, locality) if p)
