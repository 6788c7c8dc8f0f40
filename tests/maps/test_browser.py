"""Headless Chromium smoke test: the page and the Folium map load nothing from another host.

Needs the real front-end files. It uses the cached copy under .locator/assets (the Makefile fetches it
before the tests; `python -m maps.assets .locator/assets` does the same by hand) and skips when that
copy is missing or does not verify: a test never downloads anything.
"""

from __future__ import annotations

import base64
import contextlib
import shutil
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from maps.assets import fetch_assets, verify_assets
from maps.csp import map_policy, page_policy
from maps.page import STATIC_DIR, render_page
from maps.render import render_map
from tests.maps.conftest import CHROMIUM, CHROMIUM_ARGS, CSP_WATCH

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".locator" / "assets"
ARTIFACTS = ROOT / "tests" / "artifacts"
TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".png": "image/png",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".html": "text/html; charset=utf-8",
}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not verify_assets(CACHE),
        reason=f"no verified front-end assets in {CACHE}; "
        "run `python -m maps.assets .locator/assets` (make does) to enable this test",
    ),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} not installed"),
]
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def assets_dir(tmp_path: Path) -> Path:
    """A copy of the verified cache, installed through maps.assets (no network: it verifies and skips)."""
    target = tmp_path / "assets"
    shutil.copytree(CACHE, target)
    assert fetch_assets(target, registry="http://127.0.0.1:9") == []
    return target


# A 1x1 PNG: what the fake tile server answers for every tile.
TILE = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@pytest.fixture
def server(assets_dir: Path, answer: dict[str, Any]) -> Iterator[str]:
    """The pages with the policies the app sends (maps.csp); tiles from the same server named `localhost`,
    another origin than the pages' 127.0.0.1, as a tile host would be."""
    port = 0

    def tiles() -> str:
        return f"http://localhost:{port}/tiles/{{z}}/{{x}}/{{y}}.png"

    def page(**kw: Any) -> tuple[str, str]:
        return render_page(answer=answer, error=None, **kw), page_policy(kw.get("tiles_url", ""))

    def folium_map(**kw: Any) -> tuple[str, str]:
        html = render_map(answer, **kw)
        return html, map_policy(html, kw.get("tiles_url", ""))

    pages: dict[str, Callable[[], tuple[str, str]]] = {
        "/": lambda: page(lang="fr", form={"q": "75008", "open": "now"}, units="km"),
        "/en": lambda: page(lang="en", form={"q": "75008"}, units="mi"),
        "/v1/map": lambda: folium_map(lang="fr"),
        "/tiled": lambda: page(lang="en", form={"q": "75008"}, units="km", tiles_url=tiles()),
        "/tiled-map": lambda: folium_map(lang="en", tiles_url=tiles()),
    }
    mounts = {"/assets/": assets_dir, "/static/": STATIC_DIR}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            body: bytes | None = None
            ctype = TYPES[".html"]
            headers: dict[str, str] = {}
            if path in pages:
                html, policy = pages[path]()
                body = html.encode()
                headers["Content-Security-Policy"] = policy
            if path.startswith("/tiles/"):
                body, ctype = TILE, TYPES[".png"]
            for prefix, base in mounts.items():
                if path.startswith(prefix):
                    file = (base / path[len(prefix) :]).resolve()
                    if file.is_relative_to(base.resolve()) and file.is_file():
                        body = file.read_bytes()
                        ctype = TYPES.get(file.suffix, "application/octet-stream")
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            # A tile Leaflet no longer wants (it cancels those of the zoom it leaves) finds the socket closed.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1280, "height": 900},
        )
        ctx.add_init_script(CSP_WATCH)
        try:
            yield ctx
        finally:
            ctx.close()


def _watch(page: Any) -> tuple[list[str], list[str], list[str]]:
    requests: list[str] = []
    failures: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("requestfailed", lambda r: failures.append(r.url))
    page.on("response", lambda r: failures.append(r.url) if r.status >= 400 else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return requests, failures, errors


def _foreign(requests: list[str]) -> list[str]:
    return [u for u in requests if urlsplit(u).scheme not in ("data", "blob") and urlsplit(u).hostname != "127.0.0.1"]


def test_customer_page_in_chromium(server: str, browser: Any, answer: dict[str, Any]) -> None:
    page = browser.new_page()
    requests, failures, errors = _watch(page)
    page.goto(server + "/", wait_until="networkidle")
    page.wait_for_selector("#map[data-ready=true]", timeout=10_000)
    # A search's page takes the visitor to its outcome (a phone shows the form first; a screen reader hears
    # the summary, which a live region present at load does not announce).
    assert page.evaluate("document.activeElement.id") == "results-summary"
    assert page.evaluate("document.getElementById('results-summary').getBoundingClientRect().top") < 900
    # Keyboard: Tab from the top reaches the skip link first, with a visible outline.
    page.evaluate("window.scrollTo(0, 0)")
    page.mouse.click(1, 1)  # where the keyboard's next Tab starts from
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    assert page.locator("ol.places > li").count() == len(answer["results"])
    assert page.locator(".leaflet-marker-icon.place-icon").count() == len(answer["results"])
    assert page.locator(".leaflet-marker-icon.origin-icon").count() == 1
    # Markers are focusable and named for screen readers.
    assert page.locator(".place-icon[aria-label][tabindex='0']").count() == len(answer["results"])
    # The hostile name is shown as text, and no injected script ran.
    assert "<script>" in page.locator("ol.places > li h3").first.inner_text()
    page.locator(".show-on-map").first.click()
    assert "<script>" in page.locator(".leaflet-popup-content").inner_text()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "maps-page-fr.png"), full_page=True)
    assert page.evaluate("window.__cspViolations") == []
    assert errors == []
    assert failures == []
    assert _foreign(requests) == []
    assert any("/assets/leaflet@1.9.3/dist/leaflet.js" in u for u in requests)


def test_folium_map_in_chromium(server: str, browser: Any, answer: dict[str, Any]) -> None:
    page = browser.new_page()
    requests, failures, errors = _watch(page)
    page.goto(server + "/v1/map", wait_until="networkidle")
    page.wait_for_selector(".awesome-marker", timeout=10_000)
    assert page.locator(".leaflet-marker-pane .awesome-marker").count() == len(answer["results"]) + 1
    page.locator(".leaflet-marker-pane .awesome-marker").nth(1).click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=5_000)
    text = popup.inner_text()
    assert '<script>alert("x")</script>' in text and "${alert(1)}" in text  # shown, not run
    # Font Awesome glyphs loaded from /assets (the font request proves the CSS url() resolved).
    page.wait_for_load_state("networkidle")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "maps-folium.png"))
    assert page.evaluate("window.__cspViolations") == []
    assert errors == []
    assert failures == []
    assert _foreign(requests) == []
    assert any(u.endswith(".woff2") for u in requests)


def test_page_without_javascript(server: str, tmp_path: Path, answer: dict[str, Any]) -> None:
    with sync_api.sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(tmp_path / "nojs"),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            java_script_enabled=False,
        )
        try:
            page = ctx.new_page()
            requests, _failures, _errors = _watch(page)
            page.goto(server + "/en", wait_until="networkidle")
            items = page.locator("ol.places > li")
            assert items.count() == len(answer["results"])
            assert "mi" in items.nth(1).inner_text()
            assert not page.locator(".map-panel").is_visible()
            assert page.locator("#locate").is_hidden()
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "maps-page-nojs-en.png"), full_page=True)
            assert _foreign(requests) == []
        finally:
            ctx.close()


@pytest.mark.parametrize(("path", "ready"), [("/tiled", "#map[data-ready=true]"), ("/tiled-map", ".awesome-marker")])
def test_tiles_from_their_host_and_nothing_else(server: str, browser: Any, path: str, ready: str) -> None:
    """The policy lets the configured tile host serve images: the tiles load, and nothing is refused."""
    page = browser.new_page()
    requests, failures, errors = _watch(page)
    page.goto(server + path, wait_until="networkidle")
    page.wait_for_selector(ready, timeout=10_000)
    page.wait_for_load_state("networkidle")
    tiles = [u for u in requests if urlsplit(u).hostname == "localhost"]
    assert tiles and all(urlsplit(u).path.startswith("/tiles/") for u in tiles), requests
    assert page.locator("img.leaflet-tile-loaded").count() > 0
    assert page.evaluate("window.__cspViolations") == []
    # Leaflet cancels the tiles of the zoom it leaves (fitBounds): those requests fail by design.
    assert errors == [] and [u for u in failures if "/tiles/" not in u] == []


# One word as long as ingest lets a value be (500 characters): it made the page ~9,800 px wide.
LONG_VALUES = {
    "name": "W" * 500,
    "address": {"street": "S" * 500, "postcode": "75008", "city": "Paris", "country": "FR"},
    "phone": "1" * 500,
}
OVERFLOW = """() => {
  const root = document.documentElement, map = document.getElementById("map").getBoundingClientRect();
  const overlap = Array.from(document.querySelectorAll(".place"), (e) => e.getBoundingClientRect()).some(
    (r) => r.right > map.left && r.left < map.right && r.bottom > map.top && r.top < map.bottom);
  const popups = Array.from(document.querySelectorAll(".leaflet-popup-content"), (e) => e.scrollWidth - e.clientWidth);
  return {wide: root.scrollWidth - root.clientWidth, overlap: overlap, popup: popups};
}"""


@pytest.mark.parametrize("width", [1280, 375])
def test_a_long_value_does_not_widen_the_page(server: str, browser: Any, answer: dict[str, Any], width: int) -> None:
    answer["results"][0].update(LONG_VALUES)
    page = browser.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(server + "/", wait_until="networkidle")
    page.wait_for_selector("#map[data-ready=true]", timeout=10_000)
    page.locator(".show-on-map").first.click()
    page.locator(".leaflet-popup-content").wait_for(timeout=5_000)
    # Nothing wider than the window, no place under the map, the popup within its bubble.
    assert page.evaluate(OVERFLOW) == {"wide": 0, "overlap": False, "popup": [0]}


def test_a_long_value_stays_in_the_folium_popup_and_tooltip(server: str, browser: Any, answer: dict[str, Any]) -> None:
    answer["results"][0].update(LONG_VALUES)
    page = browser.new_page()
    page.goto(server + "/v1/map", wait_until="networkidle")
    marker = page.locator(".leaflet-marker-pane .awesome-marker").nth(1)
    marker.hover(force=True)
    page.locator(".leaflet-tooltip").wait_for(timeout=5_000)
    assert page.locator(".leaflet-tooltip").evaluate("(e) => e.offsetWidth") <= 400
    marker.click(force=True)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=5_000)
    assert popup.evaluate("(e) => e.scrollWidth - e.clientWidth") == 0
