"""The Folium map for `GET /v1/map`: one marker per place of a nearest answer, and the origin.

Every script and stylesheet comes from the app's own `/assets` (see maps.assets); tiles only from an
operator-configured `LOCATOR_TILES_URL`. Without tiles the markers sit on Leaflet's plain background.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import folium

from maps.assets import asset_urls
from maps.csp import inline_script_hashes
from maps.htmlcheck import external_resources
from maps.text import (
    address_lines,
    clean_text,
    colon,
    directions_url,
    format_distance,
    hours_heading,
    isolate,
    kind_label,
    norm_lang,
    origin_label,
    parse_iso,
    place_name,
    safe_http_url,
    shorten,
    state_text,
    t,
    tel_url,
    today_hours,
)

__all__ = [
    "ExternalResourceError",
    "UnsafeMapError",
    "js_html_escape",
    "marker_style",
    "popup_html",
    "render_map",
    "render_map_message",
]

# Awesome-markers colours (folium.Icon.color_options) and Font Awesome 6 icons per kind. The glyph
# carries the kind, so a closed place can turn grey without losing it.
_KIND_STYLE = {
    "store": ("blue", "store"),
    "service_centre": ("purple", "screwdriver-wrench"),
}
_OTHER_STYLE = ("cadetblue", "location-dot")
_CLOSED_COLOR = "gray"
# A long word wraps in a popup's bubble rather than running out of it (the map's policy allows inline styles);
# Leaflet's tooltips never wrap (white-space: nowrap), and a long one ran off a phone's screen.
_WRAP_STYLE = "min-width:0;overflow-wrap:anywhere"
_TOOLTIP_STYLE = "white-space:normal;max-width:20rem;overflow-wrap:anywhere"
_CLOSING_SOON_COLOR = "orange"
_NOTE_STYLE = (
    "position:absolute;z-index:1000;top:.5rem;left:3.5rem;right:.5rem;margin:0;padding:.5rem .75rem;"
    "background:#fff;border-radius:.375rem;box-shadow:0 1px 4px rgba(0,0,0,.3);font:14px/1.4 system-ui,sans-serif"
)
_FOLIUM_VIEWPORT = re.compile(r'<meta name="viewport"[^>]*>')


class ExternalResourceError(RuntimeError):
    """The rendered map would load a script, stylesheet, image or font from another host."""


def html_text(value: object) -> str:
    """HTML-escape `value` for anything folium renders, braces included.

    branca renders each element's template, then compiles what came out as a Jinja template of its own and
    renders that again (`Element(script(self, kwargs))`): a `{{ ... }}` in a feed's value ran on the server
    (a name could call `os.popen`), and an unbalanced `{{` failed the whole map. `&#123;` is inert to Jinja
    and a `{` once the browser parses the HTML."""
    return html.escape(str(value), quote=True).replace("{", "&#123;").replace("}", "&#125;")


def js_html_escape(value: object) -> str:
    """HTML-escape `value` for folium popups and tooltips (`html_text`).

    Folium puts popup/tooltip HTML inside a JavaScript template literal (`$(`...`)`), where a
    backtick ends the string and `${...}` runs code, and `\\` starts an escape. Turning those into
    character references keeps them inert in JavaScript and unchanged once the browser parses HTML.
    """
    return html_text(value).replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;")


def plain_title(value: str) -> str:
    """A marker's `title` (plain text, written into folium's script as JSON): an invisible word joiner after
    a `{` that opens `{{`, `{%` or `{#`, so that none reaches branca's second Jinja pass (see `html_text`)."""
    return _JINJA_OPENER.sub("{\u2060", value)


_JINJA_OPENER = re.compile(r"\{(?=[{%#])")


def marker_style(item: Mapping[str, Any]) -> tuple[str, str]:
    """(awesome-markers colour, Font Awesome icon) for a result: kind colour when open,
    orange when closing soon, grey when closed."""
    color, icon = _KIND_STYLE.get(str(item.get("kind")), _OTHER_STYLE)
    if not item.get("open"):
        color = _CLOSED_COLOR
    elif item.get("closing_soon"):
        color = _CLOSING_SOON_COLOR
    return color, icon


def popup_html(
    item: Mapping[str, Any],
    *,
    origin: Mapping[str, Any] | None,
    at: str | None,
    units: str = "km",
    lang: str = "en",
    now: datetime | None = None,
    clock: str = "24h",
) -> str:
    """The popup body for one result; every value from the data is escaped with js_html_escape.

    `now` (default: the clock) decides whether the hours shown are headed "Today" or with their date."""
    e = js_html_escape
    at_dt = parse_iso(at)
    parts = [f'<div class="locator-popup" lang="{e(lang)}" style="{_WRAP_STYLE}">']
    parts.append(f"<strong><bdi>{e(place_name(item))}</bdi></strong><br>")
    parts.append(f"<small>{e(kind_label(item.get('kind'), lang))}</small>")
    for line in address_lines(item.get("address")):
        parts.append(f"<br>{e(line)}")
    dist = format_distance(item.get("distance_m"), units, lang)
    if dist:
        parts.append(f"<br>{e(t(lang, 'distance'))}{colon(lang)} {e(dist)}")
    parts.append(f"<br><b>{e(state_text(item, at_dt, lang, clock))}</b>")
    hours = today_hours(item, at_dt, lang, clock)
    if hours:
        heading = hours_heading(item, at_dt, lang, now)
        parts.append(f'<br>{e(heading)}{colon(lang)}<ul style="margin:0;padding-left:1.2em">')
        parts.extend(f"<li>{e(svc)}{colon(lang)} {e(text)}</li>" for svc, text in hours)
        parts.append("</ul>")
    links = []
    tel = tel_url(item.get("phone"))
    phone = clean_text(item.get("phone") or "").strip()
    if tel:
        links.append(f'<a href="{e(tel)}">{e(phone)}</a>')
    elif phone:
        links.append(e(phone))  # not one plain number ("+1-800-FLOWERS"): shown, not linked
    site = safe_http_url(item.get("url"))
    if site:
        links.append(f'<a href="{e(site)}" target="_blank" rel="noopener noreferrer">{e(t(lang, "website"))}</a>')
    route = directions_url(item, origin)
    if route:
        links.append(f'<a href="{e(route)}" target="_blank" rel="noopener noreferrer">{e(t(lang, "directions"))}</a>')
    if links:
        # After the hours list (a block) no line break is needed; after plain text it is.
        parts.append(("" if hours else "<br>") + " · ".join(links))
    parts.append("</div>")
    return "".join(parts)


def _coords(obj: Mapping[str, Any] | None) -> tuple[float, float] | None:
    if not obj:
        return None
    lat, lon = obj.get("lat"), obj.get("lon")
    if isinstance(lat, (int, float)) and isinstance(lon, (int, float)):
        return float(lat), float(lon)
    return None


class UnsafeMapError(ExternalResourceError):
    """The rendered map holds inline scripts folium did not write: a value broke out of its escaping."""


def render_map(
    answer: dict[str, Any],
    *,
    tiles_url: str = "",
    tiles_attribution: str = "",
    asset_prefix: str = "/assets",
    lang: str = "en",
    units: str = "km",
    now: datetime | None = None,
    empty_note: str = "",
    clock: str = "24h",
) -> str:
    """A complete HTML document: the map of `answer` (the nearest API body); `empty_note`: what a map without
    results says (maps.page.results_summary's words for what was asked), by default that nothing matches.

    `tiles_url` is a Leaflet URL template ("https://tiles.example/{z}/{x}/{y}.png"); empty means no
    tile layer. `tiles_attribution` is operator-provided HTML shown in the corner (required by most
    tile licences). Raises ExternalResourceError if folium would link a script or stylesheet elsewhere,
    and UnsafeMapError if the document holds more inline scripts than folium writes for any map.

    The page's policy allows its inline scripts by hash (`maps.csp.map_policy`), so a `<script>` that a
    feed's value slipped in past the escaping would be hashed and allowed with folium's own: the count of
    inline scripts, the same for every map (markers and popups go into folium's one script), is checked
    against a bare folium map's, and a document with more is refused rather than served."""
    lang = norm_lang(lang)
    origin = answer.get("origin") if isinstance(answer.get("origin"), Mapping) else None
    results = [r for r in answer.get("results") or [] if isinstance(r, Mapping)]
    at = answer.get("at") if isinstance(answer.get("at"), str) else None

    origin_pt = _coords(origin)
    points = [p for p in (_coords(r) for r in results) if p is not None]
    center = origin_pt or (points[0] if points else (0.0, 0.0))

    fmap = folium.Map(
        location=list(center),
        tiles=None,
        zoom_start=13 if (origin_pt or points) else 2,
        control_scale=True,
    )
    # Instance attributes, fresh lists: folium's add_*_link mutates the list in place, and the class
    # lists are shared by every Map in the process.
    js, css = asset_urls(asset_prefix)
    fmap.default_js = js
    fmap.default_css = css

    if tiles_url:
        host = urlsplit(tiles_url).hostname or "tiles"
        folium.TileLayer(
            tiles=tiles_url,
            attr=tiles_attribution or html.escape(host),
            name="tiles",
            max_zoom=19,
        ).add_to(fmap)

    if origin_pt is not None and origin is not None:
        text = t(lang, "you_are_here", label=origin_label(origin, lang))
        folium.Marker(
            location=list(origin_pt),
            # The focusable marker's name for screen readers, not only its hover tooltip.
            title=plain_title(shorten(text)),
            icon=folium.Icon(color="red", icon="crosshairs", prefix="fa"),
            tooltip=folium.Tooltip(js_html_escape(text), style=_TOOLTIP_STYLE),
            popup=folium.Popup(f'<div style="{_WRAP_STYLE}">{js_html_escape(text)}</div>', max_width=300),
        ).add_to(fmap)

    for rank, item in enumerate(results, start=1):
        pt = _coords(item)
        if pt is None:
            continue
        color, icon = marker_style(item)
        # Plain text: the name isolated by characters, so a right-to-left one leaves " — Open" in order; cut, and
        # wrapped past the popup's width, as a tooltip is one line (a 500-character name made it 8,000 px wide).
        tip = f"{rank}. {isolate(shorten(place_name(item)))} — {state_text(item, parse_iso(at), lang, clock)}"
        folium.Marker(
            location=list(pt),
            title=plain_title(tip),
            icon=folium.Icon(color=color, icon=icon, prefix="fa"),
            tooltip=folium.Tooltip(js_html_escape(tip), style=_TOOLTIP_STYLE),
            popup=folium.Popup(
                popup_html(item, origin=origin, at=at, units=units, lang=lang, now=now, clock=clock), max_width=320
            ),
        ).add_to(fmap)

    if not results:
        # Only the origin's marker on an empty map, otherwise: say why, as the page does.
        note = empty_note or t(lang, "no_results", label=origin_label(origin, lang) if origin else "")
        fmap.get_root().html.add_child(  # type: ignore[attr-defined]  # a branca Figure's body
            folium.Element(f'<p class="locator-empty" role="status" style="{_NOTE_STYLE}">{html_text(note)}</p>')
        )

    bounds = points + ([origin_pt] if origin_pt else [])
    if len(bounds) >= 2:
        lats = [p[0] for p in bounds]
        lons = [p[1] for p in bounds]
        fmap.fit_bounds([[min(lats), min(lons)], [max(lats), max(lons)]], padding=(30, 30), max_zoom=16)

    root = fmap.get_root()
    out: str = root.render()
    # branca's Figure has no lang or title; both help screen readers when the map is framed.
    title = html.escape(t(lang, "map"))
    out = out.replace("<html>", f'<html lang="{lang}">', 1)
    out = out.replace("<head>", f"<head>\n    <title>{title}</title>\n    {FAVICON_LINK}", 1)
    # Folium forbids zooming the page on a phone (WCAG 1.4.4: text must scale to 200%).
    out = _FOLIUM_VIEWPORT.sub('<meta name="viewport" content="width=device-width, initial-scale=1">', out, count=1)
    leaks = external_resources(out)
    if leaks:
        raise ExternalResourceError(f"map would load from other hosts: {leaks}")
    if len(inline_script_hashes(out)) != _folium_script_count():
        raise UnsafeMapError("the map holds inline scripts folium did not write (a value escaped its quoting)")
    return out


# The customer page's icon (maps/static): without a link of its own the browser asked /favicon.ico, a 404 in
# the console of every map.
FAVICON_LINK = '<link rel="icon" type="image/svg+xml" href="/static/favicon.svg">'


def render_map_message(message: str, lang: str = "en") -> str:
    """The document `/v1/map` answers a browser with when there is no map to draw (the place is not found, a
    parameter is wrong, the database is down): the message in the visitor's language, where a problem+json
    body would show as raw JSON in English."""
    lang = norm_lang(lang)
    title, text = html.escape(t(lang, "map")), html.escape(message)
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{text} · {title}</title>\n{FAVICON_LINK}\n</head>\n<body>\n<main>\n<h1>{title}</h1>\n"
        f'<p role="alert">{text}</p>\n</main>\n</body>\n</html>\n'
    )


@functools.cache
def _folium_script_count() -> int:
    return len(inline_script_hashes(folium.Map(tiles=None).get_root().render()))
