"""The Content-Security-Policy values of the customer page and the Folium map."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

import pytest

from maps.csp import map_policy, page_policy, tiles_source
from maps.render import render_map


def _directives(policy: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in policy.split(";"):
        name, *values = part.split()
        assert name not in out, f"{name} twice"
        out[name] = values
    return out


def test_page_runs_only_its_own_scripts() -> None:
    d = _directives(page_policy())
    assert d["default-src"] == ["'none'"]
    assert d["script-src"] == ["'self'"]
    assert d["style-src"] == ["'self'"]
    assert d["img-src"] == ["'self'"]
    assert d["form-action"] == ["'self'"]
    assert d["base-uri"] == ["'none'"]
    assert d["frame-ancestors"] == ["'self'"]


@pytest.mark.parametrize(
    ("template", "source"),
    [
        ("https://tiles.example.org/{z}/{x}/{y}.png", "https://tiles.example.org"),
        ("https://{s}.tile.example.org/{z}/{x}/{y}.png", "https://*.tile.example.org"),
        ("http://127.0.0.1:8080/{z}/{x}/{y}.png", "http://127.0.0.1:8080"),
        ("https://TILES.Example.org/{z}/{x}/{y}.png?key=abc", "https://tiles.example.org"),
        ("https://a.{s}.example.org/{z}/{x}/{y}.png", "https:"),  # no CSP host pattern for it: the scheme
        ("/tiles/{z}/{x}/{y}.png", ""),  # the app's own: 'self' covers it
        ("", ""),
        ("javascript:alert(1)//{z}", ""),
        ("https://x.org; script-src *;/{z}.png", ""),  # cannot add a directive
        ("https://x.org:99999/{z}.png", ""),
    ],
)
def test_tiles_source(template: str, source: str) -> None:
    assert tiles_source(template) == source


def test_tiles_host_is_allowed_for_images_only() -> None:
    d = _directives(page_policy("https://{s}.tile.example.org/{z}/{x}/{y}.png"))
    assert d["img-src"] == ["'self'", "https://*.tile.example.org"]
    assert d["script-src"] == ["'self'"]


def _inline_script_hashes(html: str) -> set[str]:
    bodies = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert bodies
    return {"'sha256-" + base64.b64encode(hashlib.sha256(b.encode()).digest()).decode() + "'" for b in bodies}


def test_map_allows_exactly_its_inline_scripts(answer: dict[str, Any]) -> None:
    html = render_map(answer, tiles_url="https://tiles.example.org/{z}/{x}/{y}.png")
    d = _directives(map_policy(html, "https://tiles.example.org/{z}/{x}/{y}.png"))
    assert d["default-src"] == ["'none'"]
    assert set(d["script-src"]) == {"'self'"} | _inline_script_hashes(html)
    assert "'unsafe-inline'" not in d["script-src"] and "'unsafe-eval'" not in d["script-src"]
    assert d["img-src"] == ["'self'", "data:", "https://tiles.example.org"]
    assert d["font-src"] == ["'self'"]
    assert d["base-uri"] == ["'none'"]


def test_map_hash_follows_the_html_parser_newlines() -> None:
    # The browser hashes the script as parsed, where CR LF and CR are LF.
    policy = map_policy("<script>a\r\nb\rc</script>")
    digest = base64.b64encode(hashlib.sha256(b"a\nb\nc").digest()).decode()
    assert f"'sha256-{digest}'" in policy


def test_a_map_with_a_script_folium_did_not_write_is_refused(
    answer: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The map's policy allows its inline scripts by hash, an injected one too: a name that escaped its
    quoting (here with the escaping switched off) must make the map refuse to render, not be served."""
    import maps.render

    render_map(answer)  # as served
    monkeypatch.setattr(maps.render, "js_html_escape", str)
    hostile = {**answer, "results": [{**answer["results"][0], "name": "</script><script>alert(1)</script>"}]}
    with pytest.raises(maps.render.UnsafeMapError):
        render_map(hostile)
