"""Headless Chromium smoke test: the page and the Folium map load nothing from another host.

Needs the real front-end files. It uses the cached copy under .locator/assets (the Makefile fetches it
before the tests; `python -m maps.assets .locator/assets` does the same by hand) and skips when that
copy is missing or does not verify: a test never downloads anything.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from maps.assets import fetch_assets, verify_assets
from maps.page import STATIC_DIR, render_page
from maps.render import render_map
from tests.maps.conftest import CHROMIUM, CHROMIUM_ARGS

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


@pytest.fixture
def server(assets_dir: Path, answer: dict[str, Any]) -> Iterator[str]:
    pages: dict[str, Callable[[], str]] = {
        "/": lambda: render_page(lang="fr", form={"q": "75008", "open": "now"}, answer=answer, error=None, units="km"),
        "/en": lambda: render_page(lang="en", form={"q": "75008"}, answer=answer, error=None, units="mi"),
        "/v1/map": lambda: render_map(answer, lang="fr"),
    }
    mounts = {"/assets/": assets_dir, "/static/": STATIC_DIR}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            body: bytes | None = None
            ctype = TYPES[".html"]
            if path in pages:
                body = pages[path]().encode()
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
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
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
    # Keyboard: Tab from the top reaches the skip link first, with a visible outline.
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
