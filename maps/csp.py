"""Content-Security-Policy values for the documents the locator serves: the two maps/ renders, and the API docs.

The customer page runs no inline script (its data is a JSON block, its code /static/locator-page.js), so
`script-src 'self'` is all it needs: a name that slipped past escaping cannot run there. The Folium map is
inline script by nature, so its policy names each inline script of the document by hash; an `onerror=`
attribute still needs 'unsafe-inline', and an injected `<script>` element, which would be hashed with
folium's own, makes `maps.render.render_map` refuse the document (it holds more inline scripts than folium
writes). Tiles are the only thing fetched from another host: that host is allowed for images and nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import urlsplit

__all__ = ["docs_policy", "map_policy", "page_policy", "tiles_source"]

# What every HTML answer of ours may do whatever it holds: no plugins, no <base>, framed by ourselves only.
_COMMON = ("default-src 'none'", "base-uri 'none'", "frame-ancestors 'self'")
_INLINE_SCRIPT = re.compile(r"<script(\s[^>]*)?>(.*?)</script\s*>", re.S | re.I)
_HOST_LABEL = re.compile(r"^[a-z0-9-]+$")


def tiles_source(tiles_url: str) -> str:
    """The CSP source expression allowing a Leaflet tile template's host ("https://{s}.tile.example.org/...":
    "https://*.tile.example.org"), "" when it names no http(s) host (relative URLs are covered by 'self').

    Only hostname characters are let through: the template comes from settings, and a `;` in it must not
    add a directive of its own."""
    parts = urlsplit(tiles_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    try:
        port = parts.port
    except ValueError:
        return ""
    labels = (parts.hostname or "").split(".")
    if "{" in labels[0]:
        labels[0] = "*"  # Leaflet's {s} subdomains
    if any("{" in label for label in labels[1:]):
        return parts.scheme + ":"  # a placeholder CSP cannot match: any host of that scheme
    if not all(_HOST_LABEL.match(label) for label in labels if label != "*"):
        return ""
    return f"{parts.scheme}://{'.'.join(labels)}" + (f":{port}" if port else "")


def _join(*directives: str) -> str:
    return "; ".join(directives)


def page_policy(tiles_url: str = "") -> str:
    """The customer page's policy: its own scripts, stylesheets and images, the tile host for images."""
    images = " ".join(filter(None, ("'self'", tiles_source(tiles_url))))
    return _join(
        *_COMMON,
        "script-src 'self'",
        "style-src 'self'",
        f"img-src {images}",
        "font-src 'self'",
        "form-action 'self'",
    )


def _script_hash(body: str) -> str:
    # The browser hashes the script as parsed: its input stream turns CR LF and lone CR into LF.
    text = body.replace("\r\n", "\n").replace("\r", "\n")
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def inline_script_hashes(html: str) -> list[str]:
    """The CSP hash sources of every inline <script> (no src) in `html`, in document order."""
    return [
        _script_hash(body)
        for attrs, body in _INLINE_SCRIPT.findall(html)
        if not re.search(r"\bsrc\s*=", attrs or "", re.I)
    ]


def map_policy(html: str, tiles_url: str = "") -> str:
    """The Folium map's policy: /assets scripts plus the document's own inline scripts by hash.

    Styles stay 'unsafe-inline': folium writes <style> blocks and style attributes into popup markup,
    and a style cannot run script. Bootstrap's CSS draws some icons as data: images."""
    scripts = " ".join(["'self'", *dict.fromkeys(inline_script_hashes(html))])
    images = " ".join(filter(None, ("'self'", "data:", tiles_source(tiles_url))))
    return _join(
        *_COMMON,
        f"script-src {scripts}",
        "style-src 'self' 'unsafe-inline'",
        f"img-src {images}",
        "font-src 'self'",
        "form-action 'none'",
    )


def docs_policy(html: str, workers: str = "") -> str:
    """The API documentation pages' policy (locator.api.docs): /assets scripts plus the page's inline start-up
    script by hash (it holds the OpenAPI URL, nothing from a request); Swagger UI and ReDoc draw with inline
    styles and data: images and fetch the schema from this origin; `workers` for ReDoc's search worker."""
    scripts = " ".join(["'self'", *inline_script_hashes(html)])
    return _join(
        *_COMMON,
        "form-action 'none'",
        f"script-src {scripts}",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        *filter(None, [workers]),
    )
