"""Find resources an HTML document would load from another host.

Used by render_map as a last guard (a folium upgrade or plugin that adds a CDN link fails loudly
instead of leaking visitors' IPs to a CDN) and by the tests.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

__all__ = ["external_resources", "loaded_urls"]

# Attributes whose URL the browser fetches by itself. <a href> and <form action> are navigations the
# user chooses, so they are not listed.
_FETCHING_ATTRS = {
    "script": ("src",),
    "link": ("href",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "frame": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "input": ("src",),
    "image": ("href", "xlink:href"),
    "use": ("href", "xlink:href"),
}
_CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)|@import\s+(['"])([^'"]+)\3""", re.I)


def _css_urls(css: str) -> list[str]:
    return [m.group(2) or m.group(4) for m in _CSS_URL.finditer(css)]


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = _FETCHING_ATTRS.get(tag, ())
        for name, value in attrs:
            if value is None:
                continue
            if name in wanted:
                if name == "srcset":
                    self.urls.extend(part.strip().split(" ")[0] for part in value.split(",") if part.strip())
                else:
                    self.urls.append(value.strip())
            elif name == "style":
                self.urls.extend(_css_urls(value))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.urls.extend(_css_urls(data))


def loaded_urls(html: str) -> list[str]:
    """Every URL the document loads by itself: script/link/img/... attributes and CSS url()/@import."""
    parser = _Collector()
    parser.feed(html)
    parser.close()
    return parser.urls


def external_resources(html: str, allowed_hosts: tuple[str, ...] = ()) -> list[str]:
    """The loaded URLs that name a host (absolute or protocol-relative) not in `allowed_hosts`."""
    out = []
    for url in loaded_urls(html):
        parts = urlsplit(url)
        if parts.scheme in ("", "data", "blob") and not url.startswith("//"):
            continue
        if parts.scheme not in ("", "http", "https"):
            out.append(url)  # file:, ftp:, javascript: ... none belong in our pages
            continue
        if (parts.hostname or "") not in allowed_hosts:
            out.append(url)
    return out
