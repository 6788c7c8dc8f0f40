from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import folium

from maps.htmlcheck import external_resources
from maps.page import STATIC_DIR
from maps.render import js_html_escape, marker_style, render_map, render_map_message


class _Links(HTMLParser):
    """Independent of maps.htmlcheck on purpose: the test should not trust the code it checks."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        d = dict(attrs)
        if tag == "script" and d.get("src"):
            self.urls.append(d["src"] or "")
        if tag == "link" and d.get("href"):
            self.urls.append(d["href"] or "")
        if tag == "img" and d.get("src"):
            self.urls.append(d["src"] or "")


def _foreign(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    urls = parser.urls + re.findall(r"url\(\s*['\"]?([^'\")]+)", html)
    return [u for u in urls if urlsplit(u).scheme in ("http", "https") or u.startswith("//")]


def test_one_marker_per_result_plus_origin(answer: dict[str, Any]) -> None:
    html = render_map(answer)
    assert len(re.findall(r"\bL\.marker\(", html)) == len(answer["results"]) + 1
    assert html.count("L.AwesomeMarkers.icon(") == len(answer["results"]) + 1
    assert "fitBounds" in html


def test_results_without_coordinates_are_skipped(answer: dict[str, Any]) -> None:
    answer["results"][1]["lat"] = None
    html = render_map(answer)
    assert len(re.findall(r"\bL\.marker\(", html)) == len(answer["results"])


def test_no_resource_from_another_host(answer: dict[str, Any]) -> None:
    html = render_map(answer, asset_prefix="/assets")
    assert _foreign(html) == []
    assert external_resources(html) == []
    srcs = re.findall(r'<script src="([^"]+)"', html)
    assert srcs and all(s.startswith("/assets/") for s in srcs)
    assert "cdn" not in html.lower()
    assert "netdna" not in html and "cloudflare" not in html and "jsdelivr" not in html


def test_folium_class_defaults_untouched(answer: dict[str, Any]) -> None:
    render_map(answer)
    # Our local URLs live on the instance; other folium users in the process keep theirs.
    assert any("jsdelivr" in url for _, url in folium.Map.default_js)


def test_asset_prefix_is_used(answer: dict[str, Any]) -> None:
    html = render_map(answer, asset_prefix="/static/vendor/")
    assert '<script src="/static/vendor/leaflet@1.9.3/dist/leaflet.js">' in html


def test_no_tiles_by_default_and_tiles_when_configured(answer: dict[str, Any]) -> None:
    assert "L.tileLayer" not in render_map(answer)
    html = render_map(
        answer,
        tiles_url="https://tiles.example.org/{z}/{x}/{y}.png",
        tiles_attribution="&copy; Example contributors",
    )
    assert "L.tileLayer" in html
    assert "https://tiles.example.org/{z}/{x}/{y}.png" in html
    assert "Example contributors" in html
    # A tile template is not a <script>/<link>: the page still loads no script or stylesheet elsewhere.
    assert _foreign(html) == []


def test_popups_and_tooltips_are_escaped(answer: dict[str, Any], hostile_name: str) -> None:
    html = render_map(answer)
    assert hostile_name not in html
    assert "<script>alert(" not in html
    # The markers' title option is a JSON string (folium's tojavascript: quotes escaped, '<' as \u003c), where
    # `${...}` is plain text; anywhere else it would run inside folium's JS template literals.
    titles = re.findall(r'"title": "((?:[^"\\]|\\.)*)"', html)
    assert any("`${alert(1)}`" in title for title in titles) and not any("<" in title for title in titles)
    rest = re.sub(r'"title": "(?:[^"\\]|\\.)*"', '"title": ""', html)
    assert "${alert(1)}" not in rest
    assert "`${" not in rest
    assert js_html_escape(hostile_name) in html
    assert "&lt;script&gt;" in html
    assert "javascript:alert" not in html  # a non-http url is dropped, not linked


def test_template_syntax_in_a_value_is_shown_not_run(answer: dict[str, Any]) -> None:
    """branca compiles each marker's rendered script as a Jinja template and renders it again: a feed's
    `{{ ... }}` ran on the server (`os.popen` from a shop's name), and an unbalanced `{{` failed the map."""
    answer["results"][0]["name"] = "Shop {{ 7*7 }} {{ cycler.__init__.__globals__.os.getpid() }}"
    answer["results"][1]["name"] = "Kiosk {{ broken {% if %} {# note"
    answer["results"][1]["address"]["street"] = "{%raw%} 1 rue {{x}}"
    answer["origin"]["label"] = "{{ 6*7 }} Paris"
    html = render_map(answer)
    assert "Shop 49" not in html and " 42 Paris" not in html
    assert "Shop &#123;&#123; 7*7 &#125;&#125;" in html and "Kiosk &#123;&#123; broken &#123;% if %&#125;" in html
    assert "&#123;%raw%&#125; 1 rue &#123;&#123;x&#125;&#125;" in html
    titles = re.findall(r'"title": "((?:[^"\\]|\\.)*)"', html)
    assert any(title.startswith("1. ") and "Shop {\\u2060{ 7*7 }}" in title for title in titles), titles
    assert len(titles) == len(answer["results"]) + 1, titles
    assert all("{{" not in title and "{%" not in title and "{#" not in title for title in titles), titles
    empty = render_map({**answer, "results": []}, empty_note="nothing near {{ 6*7 }} {{")
    assert "nothing near &#123;&#123; 6*7 &#125;&#125; &#123;&#123;" in empty


def test_popup_content(answer: dict[str, Any]) -> None:
    html = render_map(answer, lang="en")
    assert "Open, closes at 21:00" in html
    assert "Closed, opens tomorrow at 09:00" in html
    assert "closing soon" in html
    assert "Repair: 10:00–12:00, 14:00–19:00" in html
    assert "Sales: 10:00–21:00" in html
    assert "Distance: 590 m" in html
    assert "tel:+33123456789" in html
    assert "https://www.openstreetmap.org/directions?to=48.871800%2C2.300300" in html
    assert "https://example.com/repair" in html
    fr = render_map(answer, lang="fr")
    assert '<html lang="fr">' in fr
    assert "Fermé, ouvre demain à 09:00" in fr


def test_marker_colours() -> None:
    assert marker_style({"kind": "store", "open": True}) == ("blue", "store")
    assert marker_style({"kind": "service_centre", "open": True}) == ("purple", "screwdriver-wrench")
    assert marker_style({"kind": "store", "open": False})[0] == "gray"
    assert marker_style({"kind": "store", "open": True, "closing_soon": True})[0] == "orange"
    assert marker_style({"kind": "kiosk", "open": True}) == ("cadetblue", "location-dot")


def test_empty_answer_still_renders(answer: dict[str, Any]) -> None:
    answer["results"] = []
    html = render_map(answer, empty_note="No place is open now near 75008 Paris.")
    assert len(re.findall(r"\bL\.marker\(", html)) == 1
    assert _foreign(html) == []
    # A grey map with the search's marker alone said nothing.
    assert 'class="locator-empty" role="status"' in html and "No place is open now near" in html
    assert "No place matches near" in render_map(answer)


def test_markers_are_named_and_the_page_zooms(answer: dict[str, Any]) -> None:
    """axe on /v1/map: focusable markers without a name (their tooltip shows on hover only), and a viewport
    that forbids zooming (WCAG 1.4.4)."""
    html = render_map(answer)
    assert len(re.findall(r'"title": "\d\. ', html)) == len(answer["results"])
    assert '"title": "Your search: ' in html
    assert "user-scalable=no" not in html and "maximum-scale" not in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html


def test_the_message_page_has_no_map(answer: dict[str, Any]) -> None:
    html = render_map_message("Aucune adresse ne correspond à « <x> ».", "fr")
    assert '<html lang="fr">' in html and "« &lt;x&gt; »" in html and 'role="alert"' in html
    assert "<script" not in html


def test_the_map_and_its_message_link_the_pages_icon(answer: dict[str, Any]) -> None:
    # Without a link of their own the browser asked /favicon.ico: a 404 in the console of every map.
    for html in (render_map(answer), render_map_message("Not found", "en")):
        (href,) = re.findall(r'<link rel="icon" type="image/svg\+xml" href="/static/([^"]+)">', html)
        assert (STATIC_DIR / href).is_file()


def test_miles(answer: dict[str, Any]) -> None:
    assert "Distance: 1.5 mi" in render_map(answer, units="mi")


def test_precomputed_hours_today_win(answer: dict[str, Any]) -> None:
    answer["results"][0]["hours_today"] = {
        "repair": [{"from": "2025-11-24T11:00:00+01:00", "to": "2025-11-24T13:00:00+01:00"}]
    }
    html = render_map(answer)
    assert "Repair: 11:00–13:00" in html


def test_bidi_controls_do_not_leak_into_popup_or_tooltip(answer: dict[str, Any]) -> None:
    answer["results"][1]["name"] = "Repair \u202edesolC"
    answer["results"][1]["address"]["city"] = "Paris\u2066"
    answer["origin"]["label"] = "\u202e75008"
    html = render_map(answer, lang="en")
    assert not set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067") & set(html)
    assert "<strong><bdi>Repair desolC</bdi></strong>" in html
    # Plain-text tooltip: the name isolated (FSI … PDI), so " — Closed" after it keeps its order.
    assert "2. \u2068Repair desolC\u2069 — Closed, opens tomorrow at 09:00" in html


def test_a_long_name_is_cut_in_the_tooltip_and_wraps_in_the_popup(answer: dict[str, Any]) -> None:
    answer["results"][1]["name"] = "W" * 500
    html = render_map(answer, lang="en")
    # The tooltip holds the first 79 characters and an ellipsis; the popup the whole name, wrapped in its bubble.
    assert "2. \u2068" + "W" * 79 + "…\u2069 — Closed" in html
    assert html.count("W" * 500) == 1
    assert '<div class="locator-popup" lang="en" style="min-width:0;overflow-wrap:anywhere">' in html


def test_a_phone_without_a_dialable_number_is_shown_as_text(answer: dict[str, Any]) -> None:
    answer["results"][0]["phone"] = "+1-800-FLOWERS"
    html = render_map(answer, lang="en")
    assert "tel:" not in html
    assert "+1-800-FLOWERS" in html
