"""Hostile data end to end: a feed and a postcode file whose names, addresses and URLs carry markup, script,
template-literal breakouts, `javascript:`/`data:` URLs and bidi overrides, ingested into a scratch database and
served by a real uvicorn; headless Chromium (JS on) loads the customer page and the Folium map and opens every
popup and tooltip. Every payload would set `window.__xss` (or open a dialog) if it ran.

The postcode file stands for what a geocoder may answer: labels come from GeoNames files or, with
LOCATOR_GEOCODERS, from OpenStreetMap data anyone can edit.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from sqlalchemy import text

from ingest.postcodes import load_file
from ingest.publish import ingest_file
from locator.settings import Settings
from maps.assets import verify_assets
from tests.conftest import ScratchDatabase, Server, start_server, stop_server
from tests.maps.conftest import CHROMIUM, CHROMIUM_ARGS, CSP_WATCH
from tests.maps.test_pages_http import get

ASSETS = Settings().home / "assets"
# Embeddings and overrides (LRE RLE PDF LRO RLO) and isolates (LRI RLI), which only the data could bring; FSI
# and PDI come in pairs from the page itself, around names in plain-text titles and tooltips.
BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067")
QUERY = {"q": "98099", "country": "MC", "open": "any"}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed (make test installs it)"),
    pytest.mark.skipif(not verify_assets(ASSETS), reason=f"no verified front-end assets in {ASSETS}"),
]
sync_api = pytest.importorskip("playwright.sync_api")

LABEL = "<img src=x onerror=\"window.__xss='label'\"> \u202eMonaco"
PLACES = [
    {
        "id": "mc-markup",
        "name": "<img src=x onerror=\"window.__xss='name'\"></script><script>window.__xss='script'</script>",
        "street": "<svg onload=\"window.__xss='street'\"></svg>",
        "url": "javascript:window.__xss='url'",
        "phone": "+377 <b>93</b> 00",
    },
    {
        "id": "mc-template",
        "name": "`${window.__xss='template'}` \\u0060 \u202eNEPO",
        "street": "1 ${window.__xss='street2'} \u2067avenue",
        "url": "data:text/html,<script>window.__xss='data'</script>",
        "phone": "+377 93 00 00 01",
    },
    {
        "id": "mc-attribute",
        "name": '"><img src=x onerror="window.__xss=\'attr\'">',
        "street": "2 boulevard",
        "url": "  JaVaScRiPt:window.__xss='url2'",
        "phone": "",
    },
    {
        "id": "mc-plain",
        "name": "Plain shop",
        "street": "3 quai",
        "url": "https://example.com/plain\"><script>window.__xss='href'</script>",
        "phone": "",
    },
]


COMMON = {
    "kind": "store",
    "postcode": "98099",
    "city": "Monaco",
    "country": "MC",
    "lon": "7.4200",
    "timezone": "Europe/Monaco",
    "opening_hours": "Mo-Su 00:00-24:00",
    "products": "iphone",
    "services": "sales",
}


def _write_feed(path: Path, urls: bool = True) -> None:
    columns = ["id", "name", "kind", "street", "postcode", "city", "country", "lat", "lon", "timezone",
               "opening_hours", "products", "services", "phone", "url"]  # fmt: skip
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, columns)
        writer.writeheader()
        for n, place in enumerate(PLACES):
            url = place["url"] if urls else ""
            writer.writerow({**place, **COMMON, "url": url, "lat": f"{43.7400 + n * 0.001:.4f}"})


def _write_postcodes(path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["country_code", "zipcode", "place", "state", "state_code", "province", "province_code",
                         "community", "community_code", "latitude", "longitude"])  # fmt: skip
        writer.writerow(["MC", "98099", LABEL, "Monaco", "01", "Monaco", "01", "", "", "43.7395", "7.4190"])


@pytest.fixture(scope="module")
def hostile(module_db: ScratchDatabase, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("hostile")
    _write_feed(folder / "places.csv")
    _write_postcodes(folder / "postcodes.csv")
    load_file(module_db.engine, folder / "postcodes.csv")
    # The feed check refuses the non-http(s) URLs and removes the bidi controls (ingest.validate); the rows go in
    # with them written straight into the table, as data from before those checks or from another writer would
    # be: the pages are the last line, and must hold on their own.
    report = ingest_file(module_db.engine, folder / "places.csv", source="hostile", partial=True)
    assert report.published and {r.column for r in report.rejected} == {"url"}, report.as_dict()
    _write_feed(folder / "places.csv", urls=False)
    assert ingest_file(module_db.engine, folder / "places.csv", source="hostile").published
    with module_db.engine.begin() as conn:
        for place in PLACES:
            conn.execute(text("UPDATE locations SET url = :url, name = :name, street = :street WHERE id = :id"), place)
    server = start_server(
        {"LOCATOR_DATABASE_URL": module_db.url, "LOCATOR_RATE_LIMIT": "0"}, folder / "uvicorn.log", wait_path="/"
    )
    yield server
    stop_server(server)


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Any]:
    """A Chromium page that records dialogs (alert & co) and what its CSP refused."""
    with sync_api.sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, locale="en-GB"
        )
        ctx.add_init_script(CSP_WATCH)
        try:
            tab = ctx.new_page()
            tab.dialogs = []
            tab.on("dialog", lambda d: (tab.dialogs.append(d.message), d.dismiss()))
            yield tab
        finally:
            ctx.close()


def published(server: Server) -> int:
    """How many places the API answers for QUERY: all of PLACES unless the feed check refused some."""
    status, _headers, body = get(server.url + "/v1/locations/nearest?" + urlencode(QUERY))
    assert status == 200, body
    count = len(json.loads(body)["results"])
    assert count >= 2, body
    return count


def assert_nothing_ran(page: Any) -> None:
    assert page.evaluate("window.__xss === undefined"), page.evaluate("window.__xss")
    assert page.dialogs == []
    # A payload the page's policy stopped is an injection all the same.
    assert page.evaluate("window.__cspViolations") == []


def test_customer_page_shows_hostile_data_as_text(hostile: Server, page: Any) -> None:
    page.goto(hostile.url + "/?" + urlencode(QUERY), wait_until="networkidle")
    page.wait_for_selector("#map[data-ready=true]", timeout=10_000)
    assert page.locator("ol.places > li").count() == published(hostile)
    # The origin's label (geocoder data) in the marker's tooltip.
    page.hover(".origin-icon", force=True)
    tooltip = page.locator(".leaflet-tooltip")
    tooltip.wait_for(timeout=5_000)
    assert "<img src=x" in tooltip.inner_text()
    for button in page.locator(".show-on-map").all():
        button.click()
        page.locator(".leaflet-popup-content").last.wait_for(timeout=5_000)
    names = page.locator("ol.places .place-name bdi").all_inner_texts()
    assert any("window.__xss='name'" in n for n in names), names
    assert not BIDI & set(page.content())
    assert_nothing_ran(page)


OPEN_EVERY_MARKER = """() => Array.from(document.querySelectorAll(".leaflet-marker-pane .awesome-marker"), (m) => {
  m.dispatchEvent(new MouseEvent("mouseover", {bubbles: true}));
  m.click();
  const last = (selector) => Array.from(document.querySelectorAll(selector), (e) => e.innerText).pop() || "";
  return last(".leaflet-tooltip") + "\\n" + last(".leaflet-popup-content");
})"""


def test_folium_map_shows_hostile_data_as_text(hostile: Server, page: Any) -> None:
    page.goto(hostile.url + "/v1/map?" + urlencode(QUERY), wait_until="networkidle")
    markers = page.locator(".leaflet-marker-pane .awesome-marker")
    markers.first.wait_for(timeout=10_000)
    assert markers.count() == published(hostile) + 1
    # Opened from the page's side: Playwright's own selector engine trips over these names in its logs.
    texts: list[str] = page.evaluate(OPEN_EVERY_MARKER)
    assert any("<img src=x" in t for t in texts), texts
    shown = " ".join(texts)
    assert not BIDI & set(shown) and shown.count("\u2068") == shown.count("\u2069")
    assert_nothing_ran(page)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs.extend(v or "" for k, v in attrs if k in ("href", "src", "action"))


@pytest.mark.parametrize("path", ["/", "/v1/map"])
def test_hostile_urls_are_never_links(hostile: Server, path: str) -> None:
    status, _headers, body = get(hostile.url + path + "?" + urlencode(QUERY))
    assert status == 200
    links = _Links()
    links.feed(body)
    schemes = {urlsplit(h.strip()).scheme.lower() for h in links.hrefs}
    assert schemes <= {"", "http", "https", "tel"}, schemes
    # Nor in the page's JSON-LD, which search engines turn into links.
    assert not re.search(r"javascript:|data:text", body, re.I)
