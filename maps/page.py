"""The customer page (`GET /`): search form, results list, map.

The server renders the whole answer as an ordered list, so the page works without JavaScript.
`maps/static/locator-page.js` then adds the map (Leaflet from `/assets`, drawn from the JSON
embedded in the page, no second request), the "use my location" button and the browser's timezone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape

from maps.assets import LEAFLET
from maps.text import (
    COUNTRIES,
    LANG_NAMES,
    LANGS,
    PRODUCTS,
    TWELVE_HOUR_REGIONS,
    address_lines,
    clean_text,
    colon,
    country_label,
    directions_url,
    format_distance,
    hours_heading,
    isolate,
    kind_label,
    norm_lang,
    origin_label,
    parse_iso,
    place_name,
    plural,
    product_label,
    radius_text,
    safe_http_url,
    service_label,
    shorten,
    state_text,
    t,
    tel_url,
    today_hours,
    when_label,
)

__all__ = [
    "STATIC_DIR",
    "TEMPLATES_DIR",
    "error_message",
    "pick_clock",
    "pick_language",
    "pick_units",
    "render_page",
    "results_summary",
]

STATIC_DIR = Path(__file__).parent / "static"
TEMPLATES_DIR = Path(__file__).parent / "templates"

FORM_FIELDS = ("q", "country", "product", "service", "kind", "open", "at", "lat", "lon", "tz")
DEFAULT_CHOICES: dict[str, tuple[str, ...]] = {
    "country": tuple(COUNTRIES),
    "product": tuple(PRODUCTS),
    "service": ("repair", "sales", "pickup", "training"),
    "kind": ("store", "service_centre"),
}
# Regions whose people read distances in miles: the US, the UK (road signs), Liberia and Myanmar.
MILE_REGIONS = frozenset({"US", "GB", "LR", "MM"})

_env = Environment(
    loader=FileSystemLoader(str(TEMPLATES_DIR)),
    autoescape=select_autoescape(("html",)),
    trim_blocks=True,
    lstrip_blocks=True,
)

_TAG = re.compile(r"^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$|^\*$")


def _parse_accept_language(header: str | None) -> list[str]:
    """Language tags from an Accept-Language header, most preferred first (q=0 dropped)."""
    if not header:
        return []
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        pieces = [p.strip() for p in part.split(";")]
        tag = pieces[0].replace("_", "-")
        if not tag or not _TAG.match(tag):
            continue
        q = 1.0
        for param in pieces[1:]:
            if param.lower().startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        if q > 0:
            weighted.append((-q, index, tag))
    return [tag for _, _, tag in sorted(weighted)]


def pick_language(accept_language: str | None, *, query_lang: str | None = None) -> str:
    """One of LANGS: an explicit `?lang=` wins, else the first of them in Accept-Language, else "en"."""
    if query_lang in LANGS:
        return query_lang
    for tag in _parse_accept_language(accept_language):
        primary = tag.split("-")[0].lower()
        if primary in LANGS:
            return primary
    return "en"


def _region(tag: str) -> str | None:
    # The region subtag is the 2-letter (or 3-digit) part after the language (and optional script).
    for sub in tag.split("-")[1:]:
        if len(sub) == 2 and sub.isalpha():
            return sub.upper()
        if len(sub) == 3 and sub.isdigit():
            return None
    return None


def _regional_tag(lang_or_locale: str | None) -> tuple[str, str] | None:
    """The most preferred tag that names a region, and the region: what units and clocks follow."""
    for tag in _parse_accept_language(lang_or_locale):
        region = _region(tag)
        if region:
            return tag, region
    return None


def pick_clock(lang_or_locale: str | None, lang: str = "en") -> str:
    """ "12h" or "24h" from a locale or a whole Accept-Language header, as pick_units decides: the most
    preferred tag that names a region, for English (en-US, en-AU: "9:00 AM"; en-GB and other languages: 24 h).
    `lang`: the page's language, which `?lang=` may have chosen: a French page is on 24 hours whatever the header."""
    found = _regional_tag(lang_or_locale) if lang == "en" else None
    if found is None:
        return "24h"
    tag, region = found
    return "12h" if tag.split("-")[0].lower() == "en" and region in TWELVE_HOUR_REGIONS else "24h"


def pick_units(lang_or_locale: str | None) -> str:
    """ "mi" or "km" from a locale ("en-US") or a whole Accept-Language header.

    The most preferred tag that names a region decides: "en, en-GB;q=0.9" gives miles, "en" alone
    or "fr-FR" gives kilometres. Miles for US, GB, LR and MM (whatever the language: es-US reads
    road signs in miles too).
    """
    found = _regional_tag(lang_or_locale)
    return "mi" if found is not None and found[1] in MILE_REGIONS else "km"


def error_message(lang: str, status: int, *, q: str = "", parameter: str = "", detail: str = "", limit: int = 0) -> str:
    """What to tell the visitor, in their language, when the search failed with `status`
    (404: `q` not located; 422: `parameter` invalid, `detail` the problem's own text, or `q` longer than
    `limit`; 429: over the rate limit; else unavailable)."""
    lang = norm_lang(lang)
    if status == 404:
        # Echoed from the URL: a bidi override in it would reverse the rest of our sentence.
        return t(lang, "err_not_found", q=clean_text(q))
    if status == 429:
        return t(lang, "err_busy")
    if status == 422:
        if parameter == "q" and limit:
            return t(lang, "err_q_long", limit=limit)
        if parameter == "at":
            return t(lang, "err_at")
        if parameter in ("lat", "lon"):
            return t(lang, "err_position")
        return t(lang, "err_invalid", detail=detail or parameter)
    return t(lang, "err_unavailable")


_ID_SAFE = re.compile(r"[^A-Za-z0-9-]")


def dom_id(place_id: object, index: int) -> str:
    """The list item's HTML id: every character outside [A-Za-z0-9-] written as `_hex_`, so that ids differing
    only in punctuation (`A.1`, `A/1`, `A 1`) stay apart, and stable across searches, unlike a position."""
    raw = str(place_id) if place_id not in (None, "") else str(index)
    return "place-" + _ID_SAFE.sub(lambda m: f"_{ord(m.group()):x}_", raw)


def _place_view(
    item: Mapping[str, Any],
    index: int,
    *,
    origin: Mapping[str, Any] | None,
    at: str | None,
    units: str,
    lang: str,
    now: datetime | None,
    clock: str = "24h",
) -> dict[str, Any]:
    at_dt = parse_iso(at)
    kind = str(item.get("kind") or "")
    name = place_name(item)
    state = state_text(item, at_dt, lang, clock)
    return {
        "index": index,
        "dom_id": dom_id(item.get("id"), index),
        "name": name,
        # The marker's tooltip and spoken label: plain text, so the name is isolated by characters, and cut (the list
        # and the popup show it whole).
        "title": f"{index + 1}. {isolate(shorten(name))} — {state}",
        "kind": kind,
        "kind_class": kind if kind in ("store", "service_centre") else "other",
        "kind_label": kind_label(kind, lang),
        "address": address_lines(item.get("address")),
        "distance": format_distance(item.get("distance_m"), units, lang),
        "open": bool(item.get("open")),
        "closing_soon": bool(item.get("closing_soon")),
        "state": state,
        "hours": today_hours(item, at_dt, lang, clock),
        "hours_heading": hours_heading(item, at_dt, lang, now),
        "phone": clean_text(item.get("phone") or ""),
        "tel": tel_url(item.get("phone")),
        "url": safe_http_url(item.get("url")),
        "directions": directions_url(item, origin),
        "lat": item.get("lat"),
        "lon": item.get("lon"),
        "jsonld": _safe_links(item["jsonld"]) if isinstance(item.get("jsonld"), Mapping) else None,
    }


# JSON-LD keys whose value is a link that search engines and link previews follow.
_LINK_KEYS = frozenset({"url", "@id", "sameAs", "image", "logo", "hasMap"})


def _unsafe_link(key: str, value: Any) -> bool:
    """A link value that is not a web link; `@id` may also be a URN (urn:locator:<id>, for a place
    without a website)."""
    if key not in _LINK_KEYS or not isinstance(value, str):
        return False
    return safe_http_url(value) is None and not (key == "@id" and value.lower().startswith("urn:"))


def _safe_links(value: Any, key: str = "") -> Any:
    """`value` (JSON-LD) without the link values that are not http(s): the feed's `url` is whatever the
    vendor wrote, and a `javascript:` or `data:` URL must not be published as the place's website."""
    if isinstance(value, Mapping):
        return {k: _safe_links(v, k) for k, v in value.items() if not _unsafe_link(k, v)}
    if isinstance(value, list):
        return [_safe_links(v, key) for v in value if not _unsafe_link(key, v)]
    return value


def _options(values: Sequence[str], selected: str, label: Any) -> list[dict[str, Any]]:
    # A value the list does not offer (a shared link's `product=hifi_speaker`) filters the results all the same:
    # the form shows it selected rather than "Any", and sends it again with the next search.
    shown = [*values, selected] if selected and selected not in values else values
    return [{"value": v, "label": label(v), "selected": v == selected} for v in shown]


def _form_moment(raw: str) -> datetime | None:
    """The `at` the visitor chose, as the wall-clock time they typed (a datetime-local value)."""
    try:
        return datetime.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def results_summary(lang: str, count: int, label: str, open_: str, at: datetime | None, clock: str = "24h") -> str:
    """The results status line: how many places, open when (or whose state on which day), near what; `at` is
    the wall-clock time asked for at the place, or None for now."""
    extra = {"when": when_label(at, lang, clock)} if at is not None else {}
    if open_ == "any":
        # Each place's state is the one at `at`: without the day, "Open, closes at 12:30" reads as now.
        empty, key = "no_results", "results_near_at" if at is not None else "results_near"
    elif at is not None:
        empty, key = "no_results_at", "results_at"
    else:
        empty, key = "no_results_now", "results_now"
    return t(lang, empty if count == 0 else plural(lang, key, count), n=count, label=label, **extra)


def _tiles_host(tiles_url: str) -> str:
    return urlsplit(tiles_url).hostname or ""


def render_page(
    *,
    lang: str,
    form: dict[str, str],
    answer: dict[str, Any] | None,
    error: str | None,
    units: str,
    asset_prefix: str = "/assets",
    tiles_url: str = "",
    tiles_attribution: str = "",
    static_prefix: str = "/static",
    action: str = "/",
    choices: Mapping[str, Sequence[str]] | None = None,
    now: datetime | None = None,
    widened_from_km: float | None = None,
    clock: str = "24h",
) -> str:
    """The whole customer page as HTML.

    `form` holds the query as received (q, country, product, service, kind, open, at, lat, lon, tz);
    `answer` is the nearest API body or None before a search; `error` a message for the visitor
    (already translated by the caller, or a problem `detail`). Everything from data is autoescaped.
    `now` (default: the clock) decides whether hours are headed "Today" or with their date.
    `widened_from_km`: nothing was found within that radius, and `answer` searched farther. `clock`: "12h"
    or "24h" (pick_clock).
    """
    lang = norm_lang(lang)
    units = "mi" if units == "mi" else "km"
    values = {k: str(form.get(k) or "") for k in FORM_FIELDS}
    if values["open"] not in ("now", "any"):
        values["open"] = "now"
    opts = {**DEFAULT_CHOICES, **(choices or {})}

    origin = answer.get("origin") if answer and isinstance(answer.get("origin"), Mapping) else None
    at = answer.get("at") if answer and isinstance(answer.get("at"), str) else None
    raw_results = [r for r in (answer or {}).get("results") or [] if isinstance(r, Mapping)]
    places = [
        _place_view(r, i, origin=origin, at=at, units=units, lang=lang, now=now, clock=clock)
        for i, r in enumerate(raw_results)
    ]
    label = origin_label(origin, lang) if origin else ""
    if answer is None:
        summary = "" if error else t(lang, "start")
    else:
        summary = results_summary(lang, len(places), label, values["open"], _form_moment(values["at"]), clock)
        if widened_from_km is not None and places:
            summary = f"{t(lang, 'farther', distance=radius_text(widened_from_km, units, lang))} {summary}"

    # What the page script needs to draw the map: display strings computed here, once, in the
    # visitor's language, so the script does no formatting of its own.
    map_data: dict[str, Any] = {
        "origin": (
            {"lat": origin.get("lat"), "lon": origin.get("lon"), "label": t(lang, "you_are_here", label=label)}
            if origin and isinstance(origin.get("lat"), (int, float)) and isinstance(origin.get("lon"), (int, float))
            else None
        ),
        "places": [
            {
                "n": p["index"] + 1,
                "lat": p["lat"],
                "lon": p["lon"],
                "name": p["name"],
                "title": p["title"],
                "kind": p["kind_class"],
                "kind_label": p["kind_label"],
                "open": p["open"],
                "closing_soon": p["closing_soon"],
                "state": p["state"],
                "distance": p["distance"],
                "address": p["address"],
                "directions": p["directions"],
            }
            for p in places
            if isinstance(p["lat"], (int, float)) and isinstance(p["lon"], (int, float))
        ],
        "tiles": {"url": tiles_url, "attribution": tiles_attribution or _tiles_host(tiles_url)} if tiles_url else None,
        "labels": {
            "directions": t(lang, "directions"),
            "locating": t(lang, "locating"),
            "geo_denied": t(lang, "geo_denied"),
            "map": t(lang, "map"),
        },
    }

    kept = [(k, v) for k, v in values.items() if v and k not in ("tz",)]
    languages = [
        {"code": code, "name": LANG_NAMES[code], "href": "?" + urlencode([*kept, ("lang", code)])}
        for code in LANGS
        if code != lang
    ]

    template = _env.get_template("page.html")
    return template.render(
        lang=lang,
        t=lambda key, **kw: t(lang, key, **kw),
        colon=colon(lang),
        form=values,
        error=error,
        summary=summary,
        answer=answer,
        places=places,
        map_data=map_data,
        has_map=bool(map_data["places"] or map_data["origin"]),
        action=action,
        languages=languages,
        country_options=_options(opts["country"], values["country"], lambda c: country_label(c, lang)),
        product_options=_options(opts["product"], values["product"], product_label),
        service_options=_options(opts["service"], values["service"], lambda s: service_label(s, lang)),
        kind_options=_options(opts["kind"], values["kind"], lambda k: kind_label(k, lang)),
        leaflet_css=LEAFLET.url(asset_prefix, "dist/leaflet.css"),
        leaflet_js=LEAFLET.url(asset_prefix, "dist/leaflet.js"),
        static_prefix=static_prefix.rstrip("/"),
    )
