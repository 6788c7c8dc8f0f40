"""Shared sample data for the maps tests: a nearest answer shaped like CONTRACT.md's 200 body."""

from __future__ import annotations

import copy
from typing import Any

import pytest

# Debian's Chromium, never a downloaded browser; without the background-networking flags it keeps trying to
# reach Google's hosts, which this closed network refuses.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Run in every page before its own scripts (CDP injection, which the page's CSP does not apply to): what the
# page's Content-Security-Policy refused, read back with `window.__cspViolations`.
CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""

HOSTILE_NAME = 'Apple <script>alert("x")</script> `${alert(1)}` \\u0041 & Co'

SAMPLE_ANSWER: dict[str, Any] = {
    "origin": {
        "lat": 48.8698,
        "lon": 2.3075,
        "label": "75008 Paris",
        "source": "postcode",
        "geocoder": "gazetteer",
    },
    "at": "2025-11-24T10:00:00+01:00",
    "results": [
        {
            "id": "fr-1",
            "name": HOSTILE_NAME,
            "kind": "store",
            "address": {
                "street": "114 av. des Champs-Élysées",
                "postcode": "75008",
                "city": "Paris",
                "region": "FR-IDF",
                "country": "FR",
            },
            "lat": 48.8718,
            "lon": 2.3003,
            "distance_m": 590.4,
            "timezone": "Europe/Paris",
            "open": True,
            "closes_at": "2025-11-24T21:00:00+01:00",
            "next_open": None,
            "closing_soon": False,
            "hours": {"sales": "Mo-Sa 10:00-21:00; Su 11:00-19:00", "repair": "Mo-Fr 10:00-12:00,14:00-19:00"},
            "services": ["sales", "repair"],
            "products": ["iphone", "mac"],
            "phone": "+33 1 23 45 67 89",
            "url": "javascript:alert(1)",
            "jsonld": {
                "@context": "https://schema.org",
                "@type": "Store",
                "name": "</script><script>alert(2)</script>",
            },
        },
        {
            "id": "fr-2",
            "name": "Repair & Co",
            "kind": "service_centre",
            "address": {"street": "1 rue de Rivoli", "postcode": "75001", "city": "Paris", "country": "FR"},
            "lat": 48.8606,
            "lon": 2.3376,
            "distance_m": 2450.0,
            "timezone": "Europe/Paris",
            "open": False,
            "closes_at": None,
            "next_open": "2025-11-25T09:00:00+01:00",
            "closing_soon": False,
            "hours": {"repair": "Tu-Sa 09:00-18:00"},
            "services": ["repair"],
            "products": ["iphone"],
            "phone": None,
            "url": "https://example.com/repair",
        },
        {
            "id": "fr-3",
            "name": "Opéra",
            "kind": "store",
            "address": {"street": "12 rue Halévy", "postcode": "75009", "city": "Paris", "country": "FR"},
            "lat": 48.8716,
            "lon": 2.3331,
            "distance_m": 1900.0,
            "timezone": "Europe/Paris",
            "open": True,
            "closes_at": "2025-11-24T10:30:00+01:00",
            "next_open": None,
            "closing_soon": True,
            "hours": {"sales": "Mo-Su 08:00-10:30"},
            "services": ["sales"],
            "products": [],
            "phone": "",
            "url": None,
            "jsonld": {"@context": "https://schema.org", "@type": "Store", "name": "Opéra"},
        },
    ],
}


@pytest.fixture
def answer() -> dict[str, Any]:
    return copy.deepcopy(SAMPLE_ANSWER)


@pytest.fixture
def hostile_name() -> str:
    return HOSTILE_NAME
