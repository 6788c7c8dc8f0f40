"""End to end in headless Chromium: the customer page (`/`) and the Folium map (`/v1/map`) served by the
real uvicorn of tests/conftest.py (`server`: a throwaway PostGIS with the demo data and the FR/RU/MC
postcodes).

Searches use "open or closed" (`open=any`) or a chosen time in the future, so what they find does not depend
on the clock. Every request the browser makes is recorded: none may leave the app's own host.

Skips only when /usr/bin/chromium or the verified front-end files under .locator/assets are missing (the
Makefile's `test` target installs Chromium and fetches the files before pytest runs).
"""

from __future__ import annotations

import csv
import json
import re
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

import pytest

from locator.settings import Settings
from maps.assets import verify_assets
from tests.maps.conftest import CHROMIUM, CHROMIUM_ARGS, CSP_WATCH

ROOT = Path(__file__).resolve().parents[2]
ASSETS = Settings().home / "assets"
ARTIFACTS = ROOT / "tests" / "artifacts"
DEMO_CSV = ROOT / "data" / "locations.csv"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.postcodes,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed (make test installs it)"),
    pytest.mark.skipif(
        not verify_assets(ASSETS),
        reason=f"no verified front-end assets in {ASSETS}; "
        "run `python -m maps.assets .locator/assets` (make test does)",
    ),
]
sync_api = pytest.importorskip("playwright.sync_api")


def demo_names() -> set[str]:
    with DEMO_CSV.open(encoding="utf-8", newline="") as fh:
        return {row["name"] for row in csv.DictReader(fh)}


class Recorder:
    """Every request of a browser context, and what went wrong on its pages."""

    def __init__(self, ctx: Any, base: str) -> None:
        self.base = urlsplit(base)
        self.requests: list[str] = []
        self.failures: list[str] = []
        self.errors: list[str] = []
        ctx.on("request", lambda r: self.requests.append(r.url))
        ctx.on("requestfailed", lambda r: self.failures.append(f"{r.url} {r.failure}"))
        ctx.on("response", lambda r: self.failures.append(f"{r.url} {r.status}") if r.status >= 400 else None)
        ctx.on("page", lambda p: p.on("pageerror", lambda e: self.errors.append(str(e))))
        ctx.add_init_script(CSP_WATCH)

    @staticmethod
    def refused(page: Any) -> list[str]:
        """What the page's Content-Security-Policy blocked: nothing, when the policy fits the page."""
        found: list[str] = page.evaluate("window.__cspViolations || []")
        return found

    def foreign(self) -> list[str]:
        """Requests to anything but the app itself (data: and blob: URLs never leave the page)."""
        out = []
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in ("data", "blob"):
                continue
            if (parts.scheme, parts.netloc) != (self.base.scheme, self.base.netloc):
                out.append(url)
        return out


@contextmanager
def chromium(tmp_path: Path, base: str, **options: Any) -> Iterator[tuple[Any, Recorder]]:
    """A fresh headless Chromium (own user-data-dir) with its request recorder."""
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    with sync_api.sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            **{"viewport": {"width": 1280, "height": 900}, **options},
        )
        try:
            recorder = Recorder(ctx, base)
            yield ctx, recorder
        finally:
            ctx.close()


def nearest_json(base: str, **params: str) -> dict[str, Any]:
    """The API's own answer for the same question, to compare the page with."""
    with urllib.request.urlopen(f"{base}/v1/locations/nearest?{urlencode(params)}", timeout=30) as resp:
        body: dict[str, Any] = json.load(resp)
    return body


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def tab_to(page: Any, element_id: str, limit: int = 15) -> None:
    """Press Tab until the element has focus (fails when it is not reachable from the keyboard)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
    raise AssertionError(f"#{element_id} not reached with {limit} Tab presses")


def list_names(page: Any) -> list[str]:
    names: list[str] = page.locator("ol.places > li .place-name").evaluate_all(
        "els => els.map(e => e.lastChild.textContent.trim())"
    )
    return names


@pytest.fixture(scope="module")
def base(server: Any) -> str:
    url: str = server.url
    return url


def test_search_with_keyboard_shows_list_and_markers(base: str, tmp_path: Path) -> None:
    with chromium(tmp_path, base, locale="en-GB", timezone_id="Europe/Paris") as (ctx, rec):
        page = ctx.new_page()
        page.goto(base + "/", wait_until="networkidle")
        assert page.locator("ol.places > li").count() == 0
        # The search box is reachable from the keyboard; the filters are plain form controls.
        tab_to(page, "q")
        page.keyboard.type("75008")
        page.select_option("#product", "iphone")
        page.check("input[name=open][value=any]")
        page.focus("#q")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        page.wait_for_selector("#map[data-ready=true]", timeout=10_000)
        page.wait_for_load_state("networkidle")

        query = urlsplit(page.url).query
        assert "q=75008" in query and "product=iphone" in query and "open=any" in query
        items = page.locator("ol.places > li")
        count = items.count()
        assert count >= 1
        names = list_names(page)
        assert set(names) <= demo_names(), names
        # Nearest first, and the same places as the API gives for the same question.
        api = nearest_json(base, q="75008", product="iphone", open="any")
        assert names == [r["name"] for r in api["results"]]
        # One marker per result, plus the searched place.
        assert page.locator(".leaflet-marker-icon.place-icon").count() == count
        assert page.locator(".leaflet-marker-icon.origin-icon").count() == 1
        # Each item says whether it is open and gives today's hours, in British English and kilometres.
        first = items.first.inner_text()
        assert re.search(r"\d+\.\d mi|\d+ ft", first), first  # en-GB: miles, as on British road signs
        assert re.search(r"Open|Closed", first), first
        assert "Today:" in first
        assert page.evaluate("document.documentElement.lang") == "en"
        # Show on map opens the marker's popup from the keyboard.
        page.locator(".show-on-map").first.focus()
        page.keyboard.press("Enter")
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for(timeout=5_000)
        assert names[0] in popup.inner_text()
        screenshot(page, "e2e-page-en.png")
        assert rec.refused(page) == []
        assert rec.errors == []
        assert rec.failures == []
        assert rec.foreign() == []
        assert any("/assets/leaflet@" in u and u.endswith("leaflet.js") for u in rec.requests)


def _next_monday() -> date:
    today = date.today()
    return today + timedelta(days=7 - today.weekday())


def test_search_at_a_chosen_time(base: str, tmp_path: Path) -> None:
    """Open at a chosen weekday morning next week: every place shown is open then."""
    monday = _next_monday() + timedelta(days=7)  # a week ahead: never today, whatever the clock
    with chromium(tmp_path, base, locale="en-GB", timezone_id="America/New_York") as (ctx, rec):
        page = ctx.new_page()
        page.goto(base + "/", wait_until="networkidle")
        page.fill("#q", "75008")
        page.check("input[name=open][value=now]")
        page.fill("#at", f"{monday.isoformat()}T11:00")
        with page.expect_navigation():
            page.click("button[type=submit]")
        page.wait_for_selector("#map[data-ready=true]", timeout=10_000)
        items = page.locator("ol.places > li")
        assert items.count() >= 1
        states = page.locator("ol.places > li .place-state").all_inner_texts()
        assert all(s.startswith("Open") for s in states), states
        # The chosen time stays in the form; the status line and the hours say which day they are for.
        assert page.input_value("#at").startswith(monday.isoformat())
        day = f"Mon {monday.day} {monday.strftime('%b')}"
        assert f"open on {day} at 11:00 near 75008" in page.inner_text("#results-summary")
        assert page.locator(".place-hours > span").first.inner_text() == f"Hours on {day}:"
        # Read as 11:00 in Paris (the searched place), whatever the browser's own timezone.
        paris = datetime(monday.year, monday.month, monday.day, 11, tzinfo=ZoneInfo("Europe/Paris"))
        api = nearest_json(base, q="75008", open="now", at=paris.isoformat())
        assert list_names(page) == [r["name"] for r in api["results"]]
        screenshot(page, "e2e-page-at.png")
        assert rec.refused(page) == []
        assert rec.foreign() == []
        assert rec.errors == []


def _page_text(base: str, **params: str) -> str:
    request = urllib.request.Request(base + "/?" + urlencode(params), headers={"Accept-Language": "en-GB"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(response.read().decode())


def test_nothing_near_shows_the_nearest_farther_away(base: str) -> None:
    """Brest's nearest demo place is ~300 km away: the page said "No place matches near 29200 Brest. Try “Any
    time”", with Any time chosen already."""
    html = _page_text(base, q="29200", open="any")
    assert "Nothing within 31 mi; farther away:" in html  # en-GB reads miles
    assert html.count('<li id="place-') >= 1
    html = _page_text(base, q="75008", open="any")
    assert "Nothing within" not in html
    # Closed places near are no reason to search farther: Lyon's store on a Sunday was "nothing within 31 mi",
    # and the list went on with Marseille and Nice, where the advice to try "Any time" was the answer.
    html = _page_text(base, q="Lyon", country="FR", at="2026-12-27T12:00", kind="store")
    assert "Nothing within" not in html and "No place is open on Sun 27 Dec at 12:00 near Lyon" in html


def test_search_without_javascript(base: str, tmp_path: Path) -> None:
    with chromium(tmp_path, base, locale="en-GB", java_script_enabled=False) as (ctx, rec):
        page = ctx.new_page()
        page.goto(base + "/", wait_until="networkidle")
        assert page.locator("#locate").is_hidden()  # needs JavaScript: not offered
        page.fill("#q", "75008")
        page.select_option("#product", "iphone")
        page.check("input[name=open][value=any]")
        with page.expect_navigation():
            page.click("button[type=submit]")
        items = page.locator("ol.places > li")
        assert items.count() >= 1
        assert set(list_names(page)) <= demo_names()
        assert not page.locator(".map-panel").is_visible()
        assert "Today:" in items.first.inner_text()
        screenshot(page, "e2e-page-nojs.png")
        assert rec.foreign() == []
        assert not any(u.endswith(".js") for u in rec.requests)


@pytest.mark.parametrize(
    ("locale", "lang", "unit", "words"),
    [
        ("fr-FR", "fr", "km", ("Rechercher", "Résultats", "Aujourd’hui", "Itinéraire")),
        ("en-US", "en", "mi", ("Search", "Results", "Today", "Directions")),
        ("ru-RU", "ru", "км", ("Найти", "Результаты", "Сегодня", "Маршрут", "English", "Français")),
    ],
)
def test_language_and_units_follow_the_browser(
    base: str, tmp_path: Path, locale: str, lang: str, unit: str, words: tuple[str, ...]
) -> None:
    with chromium(tmp_path, base, locale=locale, timezone_id="Europe/Paris") as (ctx, rec):
        page = ctx.new_page()
        page.goto(base + "/?" + urlencode({"q": "75008", "open": "any"}), wait_until="networkidle")
        page.wait_for_selector("#map[data-ready=true]", timeout=10_000)
        assert page.evaluate("document.documentElement.lang") == lang
        text = page.locator("body").inner_text()
        for word in words:
            assert word in text, (word, locale)
        distances = page.locator("ol.places .distance").all_inner_texts()
        assert distances
        assert any(d.endswith(f" {unit}") for d in distances), distances
        if lang in ("fr", "ru"):
            assert all("," in d for d in distances if d.endswith(("km", "км"))), distances
            assert " mi" not in " ".join(distances)
        else:
            assert " km" not in " ".join(distances)
        # American English reads a 12-hour clock; the others 24 hours.
        twelve = re.search(r"\b\d{1,2}:\d\d\u202f[AP]M\b", text)
        assert bool(twelve) == (locale == "en-US"), (locale, text[:500])
        screenshot(page, f"e2e-page-{locale}.png")
        assert rec.foreign() == []
        assert rec.errors == []


def test_small_screen(base: str, tmp_path: Path) -> None:
    """On a phone the form, then the list, then the map stack up, with nothing wider than the screen."""
    with chromium(tmp_path, base, locale="fr-FR", viewport={"width": 390, "height": 844}, is_mobile=True) as (
        ctx,
        rec,
    ):
        page = ctx.new_page()
        page.goto(base + "/?" + urlencode({"q": "75008", "open": "any"}), wait_until="networkidle")
        page.wait_for_selector("#map[data-ready=true]", timeout=10_000)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        form, results, map_ = (page.locator(sel).bounding_box() for sel in ("form.search", "#results", "#map"))
        assert form and results and map_
        assert form["y"] < results["y"] < map_["y"]
        # The results start a screen below the form: the page takes the visitor to them.
        assert page.evaluate("document.activeElement.id") == "results-summary"
        assert 0 <= page.evaluate("document.getElementById('results-summary').getBoundingClientRect().top") < 844
        screenshot(page, "e2e-page-phone-fr.png")
        assert rec.foreign() == []


def test_folium_map_in_the_browser(base: str, tmp_path: Path) -> None:
    params = {"q": "75008", "country": "FR", "open": "any"}
    expected = nearest_json(base, **params)["results"]
    assert expected
    with chromium(tmp_path, base, locale="fr-FR") as (ctx, rec):
        page = ctx.new_page()
        page.goto(base + "/v1/map?" + urlencode(params), wait_until="networkidle")
        page.wait_for_selector(".leaflet-marker-pane .awesome-marker", timeout=10_000)
        markers = page.locator(".leaflet-marker-pane .awesome-marker")
        assert markers.count() == len(expected) + 1
        markers.nth(1).click()
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for(timeout=5_000)
        text = popup.inner_text()
        assert any(r["name"] in text for r in expected), text
        assert "Aujourd’hui" in text
        page.wait_for_load_state("networkidle")
        # Not wait_for_function: its string is evaluated by the page, which the map's policy forbids.
        sync_api.expect(page.locator(".leaflet-popup")).to_have_css("opacity", "1")
        screenshot(page, "e2e-folium.png")
        assert rec.refused(page) == []
        assert rec.errors == []
        assert rec.failures == []
        assert rec.foreign() == []
