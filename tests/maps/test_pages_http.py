"""The HTML routes (`GET /`, `GET /v1/map`) over HTTP, from the real uvicorn of tests/conftest.py: what a
visitor's odd input, an unreachable database or a busy limiter get back (a page in their language with the
right status, never JSON or a stack trace), and the headers every HTML answer carries."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from locator.api.pages import rate_limited_page
from tests.conftest import free_port, start_server, stop_server

PARIS = {"lat": "48.8698", "lon": "2.3075"}  # coordinates: no gazetteer needed to locate them


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Message, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, resp.headers, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read().decode()


def assert_page(headers: Message, body: str) -> None:
    """An HTML page with the page's own policy, not a problem+json body or a traceback."""
    assert headers["Content-Type"].startswith("text/html"), headers["Content-Type"]
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "Accept-Language" in headers["Vary"]
    assert body.startswith("<!DOCTYPE html>")
    assert "Traceback" not in body


@pytest.fixture(scope="module")
def base(server: Any) -> str:
    url: str = server.url
    return url


def test_page_policy_and_vary(base: str) -> None:
    status, headers, body = get(base + "/")
    assert status == 200
    assert_page(headers, body)
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "'unsafe-inline'" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_map_policy_names_its_inline_scripts(base: str) -> None:
    status, headers, _body = get(base + "/v1/map?" + urlencode({**PARIS, "open": "any"}))
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    script_src = next(d for d in headers["Content-Security-Policy"].split(";") if d.split()[0] == "script-src")
    assert "'sha256-" in script_src and "'unsafe-inline'" not in script_src
    assert "Accept-Language" in headers["Vary"]


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        # Midnight of year 1 in Paris (UTC+0:09 then) is before year 1 in UTC: the conversion overflowed into the
        # app's JSON error handler.
        ({**PARIS, "at": "0001-01-01T00:00"}, 422, "The date and time are not valid."),
        ({**PARIS, "at": "1969-07-20T20:17"}, 422, "The date and time are not valid."),
        ({**PARIS, "at": "tomorrow"}, 422, "The date and time are not valid."),
        # Cut to 200 characters and searched as such, a long address found nothing or something else.
        ({"q": "7" * 250}, 422, "The address or postcode is too long (at most 200 characters)."),
        ({"q": "   "}, 200, "Type an address or a postcode"),
        ({"lat": "nan", "lon": "nan"}, 422, "Your position could not be read"),
        ({**PARIS, "kind": "<b>x</b>"}, 422, "(kind: &#39;&lt;b&gt;x&lt;/b&gt;&#39; is not a valid kind)"),
    ],
)
def test_odd_input_answers_with_the_page(base: str, query: dict[str, str], status: int, message: str) -> None:
    got, headers, body = get(base + "/?" + urlencode(query), {"Accept-Language": "en"})
    assert got == status, body[:500]
    assert_page(headers, body)
    assert message in body


def test_coordinates_typed_into_the_search_box(base: str) -> None:
    """Coordinates pasted from a map app into the page's box are the point itself (they were "not found")."""
    by_point = get(base + "/?" + urlencode({**PARIS, "open": "any"}), {"Accept-Language": "en"})
    typed = get(base + "/?" + urlencode({"q": "48.8698, 2.3075", "open": "any"}), {"Accept-Language": "en"})
    assert by_point[0] == typed[0] == 200, typed[2][:500]
    places = [re.findall(r'<li id="([^"]+)" class="place', body) for _, _, body in (by_point, typed)]
    assert places[0] and places[0] == places[1]


def test_an_instant_with_an_offset_is_shown_as_the_places_wall_clock(base: str) -> None:
    """A link's `at` with an offset: the search ran at 02:00 Paris time, the page said "at 10:00" and its
    datetime-local field, unable to hold the offset, was left blank (the next search dropped the time)."""
    query = {**PARIS, "at": "2026-12-08T10:00:00+09:00"}
    status, headers, body = get(base + "/?" + urlencode(query), {"Accept-Language": "en"})
    assert status == 200, body[:500]
    assert_page(headers, body)
    assert 'value="2026-12-08T02:00"' in body, body
    assert "on Tue 8 Dec at 02:00" in body and "at 10:00" not in body


def test_accept_language_garbage(base: str) -> None:
    garbage = "*;q=nan, ;;, xx-!!;q=0.9, fr;q=1e999, en-US;q=abc, " + "a" * 500
    status, headers, body = get(base + "/", {"Accept-Language": garbage})
    assert status == 200
    assert_page(headers, body)
    assert '<html lang="fr"' in body


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ({"q": "Xyzzyville", "open": "any"}, 404, "Aucune adresse ni aucun code postal ne correspond à « Xyzzyville »"),
        ({**PARIS, "limit": "0"}, 422, "Certains critères de recherche ne sont pas valides (limit)"),
        ({**PARIS, "at": "2026-12-10T11:00"}, 422, "La date et l’heure ne sont pas valides."),
    ],
)
def test_the_map_answers_a_browser_in_html(base: str, query: dict[str, str], status: int, message: str) -> None:
    """A browser opening /v1/map got raw problem+json, in English, for every error."""
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8", "Accept-Language": "fr"}
    got, headers, body = get(base + "/v1/map?" + urlencode(query), browser)
    assert got == status
    assert headers["Content-Type"].startswith("text/html") and body.startswith("<!DOCTYPE html>")
    assert '<html lang="fr">' in body and message in body, body
    assert "Accept" in [v.strip() for v in headers["Vary"].split(",")] and headers["Cache-Control"] == "no-cache"
    # Other clients get problem+json, as from every route; one URL, two bodies: a cache is told so.
    got, headers, _ = get(base + "/v1/map?" + urlencode(query))
    assert got == status and headers["Content-Type"].startswith("application/problem+json")
    assert "Accept" in [v.strip() for v in (headers["Vary"] or "").split(",")]


def test_an_empty_map_says_what_was_asked(base: str) -> None:
    """With `at`, the map said "try another product, service or type of place", where the page said nothing
    was open at that time."""
    query = {"q": "75008", "at": "2026-12-27T04:00:00+01:00", "kind": "store"}
    status, _, body = get(base + "/v1/map?" + urlencode(query), {"Accept-Language": "en-GB"})
    assert status == 200 and "No place is open on Sun 27 Dec at 04:00 near 75008 Paris" in body, body[-2000:]


def test_database_down(tmp_path: Path) -> None:
    dead = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing"
    server = start_server({"LOCATOR_DATABASE_URL": dead, "LOCATOR_RATE_LIMIT": "0"}, tmp_path / "uvicorn.log")
    try:
        status, headers, body = get(server.url + "/?" + urlencode(PARIS), {"Accept-Language": "fr"})
        assert status == 503
        assert_page(headers, body)
        assert headers["Retry-After"] == "5"
        assert "La recherche est momentanément indisponible" in body
        # The form is still there, with what the visitor asked.
        assert 'name="lat" value="48.8698"' in body
        status, headers, body = get(server.url + "/v1/map?" + urlencode(PARIS), {"Accept": "text/html"})
        assert status == 503 and headers["Retry-After"] == "5" and "The search is unavailable" in body
    finally:
        stop_server(server)


def test_rate_limited_page() -> None:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "query_string": b"q=75008&open=any",
        "headers": [(b"accept-language", b"fr-FR,fr;q=0.9")],
    }
    response = rate_limited_page(scope, 42)
    body = bytes(response.body).decode()
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "42"
    assert response.headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "Trop de recherches" in body and 'role="alert"' in body
    assert 'value="75008"' in body


CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.mark.parametrize(
    "query",
    [{"q": "\x00"}, {"q": "750\x0008\x1b"}, {**PARIS, "at": "\x00"}, {**PARIS, "product": "hifi\x00\u202e"}],
)
def test_control_characters_are_not_echoed_into_the_form(base: str, query: dict[str, str]) -> None:
    """`/?q=%00` rendered `value="\\x00"`: raw control characters in the page, sent back with the next search."""
    _status, headers, body = get(base + "/?" + urlencode(query), {"Accept-Language": "en"})
    assert_page(headers, body)
    assert not CONTROLS.search(body), CONTROLS.findall(body)


def test_rate_limited_page_does_not_echo_control_characters() -> None:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "query_string": b"q=75%0008&at=%1b&product=x%C2%85",
        "headers": [],
    }
    body = bytes(rate_limited_page(scope, 1).body).decode()
    assert not CONTROLS.search(body) and 'value="7508"' in body


def test_a_page_answers_a_core_error_with_the_apis_status() -> None:
    """The pages mapped errors themselves: every error but 'not found' and 'invalid' was a 503 'unavailable, try
    again', a misconfiguration too, where the API answers 500."""
    from locator.api.pages import _visitor_failure
    from locator.errors import Busy, ConfigurationError, DatabaseUnavailable, NotFound

    assert _visitor_failure(ConfigurationError("LOCATOR_GEOCODERS: unknown geocoder"), "en", "")[::2] == (500, {})
    assert _visitor_failure(NotFound("nothing"), "en", "x")[0] == 404
    assert _visitor_failure(DatabaseUnavailable("down"), "en", "")[::2] == (503, {"Retry-After": "5"})
    assert _visitor_failure(Busy("a batch"), "en", "")[::2] == (503, {"Retry-After": str(Busy.retry_after_s)})


def test_repeated_filters_on_the_page_are_all_read(base: str) -> None:
    """`kind=kiosk&kind=service_centre` on the page searched the last value alone (fewer places than the JSON
    API gave for the same link) and showed that one selected."""
    import json

    query = [("lat", PARIS["lat"]), ("lon", PARIS["lon"]), ("open", "any"), ("kind", "store"),
             ("kind", "service_centre")]  # fmt: skip
    status, _, body = get(base + "/?" + urlencode(query))
    assert status == 200
    _, _, api = get(base + "/v1/locations/nearest?" + urlencode(query))
    ids = [place["id"] for place in json.loads(api)["results"]]
    kinds = {place["kind"] for place in json.loads(api)["results"]}
    assert kinds == {"store", "service_centre"}, kinds  # the link asks for both, and both are near
    assert all(f'data-id="{i}"' in body or i in body for i in ids)
    assert 'value="store,service_centre" selected' in body
