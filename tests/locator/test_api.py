"""The HTTP API over a real uvicorn on loopback."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, Server, free_port, start_server, stop_server


def get(server: Server, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(server.url + path, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            body = response.read()
            status, response_headers = response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        body = error.read()
        status, response_headers = error.code, dict(error.headers)
    kind = response_headers.get("content-type", "")
    return status, response_headers, json.loads(body) if "json" in kind else body.decode()


def assert_problem(status: int, headers: dict[str, str], body: Any, expected: int) -> None:
    assert status == expected, body
    assert headers["content-type"].startswith("application/problem+json")
    assert body["status"] == expected and body["title"] and body["detail"]
    assert "Traceback" not in json.dumps(body)


AT = "2026-12-01T11:00:00%2B01:00"  # a Tuesday morning in Paris


@pytest.mark.postcodes
def test_nearest_by_postcode(server: Server) -> None:
    status, _, body = get(server, f"/v1/locations/nearest?q=75008&country=FR&product=iphone&at={AT}")
    assert status == 200
    assert body["origin"]["source"] == "postcode" and body["origin"]["geocoder"] == "gazetteer"
    results = body["results"]
    assert results, body
    distances = [r["distance_m"] for r in results]
    assert distances == sorted(distances)
    first = results[0]
    for key in ("id", "name", "kind", "address", "lat", "lon", "distance_m", "timezone", "open", "closes_at",
                "next_open", "closing_soon", "hours", "services", "products", "phone", "url"):  # fmt: skip
        assert key in first
    assert all(r["open"] for r in results)
    assert all("iphone" in r["products"] for r in results)
    assert first["closes_at"].endswith("+01:00")  # the place's own offset
    assert body["at"].startswith("2026-12-01T10:00:00")


def test_nearest_by_coordinates_and_geojson(server: Server) -> None:
    status, headers, body = get(server, "/v1/locations/nearest?lat=55.75&lon=37.61&format=geojson&open=any")
    assert status == 200 and headers["content-type"].startswith("application/geo+json")
    assert body["type"] == "FeatureCollection"
    feature = body["features"][0]
    assert feature["geometry"]["type"] == "Point"
    assert feature["properties"]["timezone"] == "Europe/Moscow"
    assert body["origin"]["source"] == "coordinates"


def test_repeated_parameters(server: Server) -> None:
    # A list parameter repeats or takes commas alike; a scalar given twice takes its last value.
    base = f"/v1/locations/nearest?lat=48.8566&lon=2.3522&at={AT}&open=any"
    _, _, repeated = get(server, base + "&service=sales&service=repair")
    _, _, commas = get(server, base + "&service=sales,repair")
    _, _, one = get(server, base + "&service=repair")
    assert repeated["results"] and [r["id"] for r in repeated["results"]] == [r["id"] for r in commas["results"]]
    assert len(repeated["results"]) < len(one["results"])  # the second value was not dropped
    _, _, limited = get(server, base + "&limit=5&limit=2")
    assert len(limited["results"]) == 2


@pytest.mark.postcodes
def test_moscow_offsets(server: Server) -> None:
    status, _, body = get(server, "/v1/locations/nearest?q=101000&country=RU&at=2026-12-01T12:00:00%2B03:00")
    assert status == 200 and body["results"]
    for result in body["results"]:
        if result["closes_at"]:
            assert result["closes_at"].endswith("+03:00")


def test_location_by_id_has_a_week(server: Server) -> None:
    status, _, body = get(server, f"/v1/locations/fr-par-opera?at={AT}")
    assert status == 200
    assert set(body["week"]) == {"sales", "repair", "training"}
    assert body["hours"]["repair"] != body["hours"]["sales"]
    assert len(body["week"]["sales"]) == 7  # open every day of that week (no holiday)


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("lat=91&lon=2", "lat"),
        ("lat=48&lon=2&limit=0", "limit"),
        ("lat=48&lon=2&limit=101", "limit"),
        ("lat=48&lon=2&radius_km=5000", "radius_km"),
        ("lat=48&lon=2&open=sometimes", "open"),
        ("lat=48&lon=2&at=2026-01-01T10:00", "at"),
        ("lat=48&lon=2&at=yesterday", "at"),
        ("lat=48&lon=2&at=1765000000", "at"),  # a bare number was read as Unix seconds: 200 about 2025-12-06
        ("lat=48&lon=2&at=99999999999", "at"),  # ... or milliseconds: 200 about 1973
        ("lat=48", "lon"),
        ("q=75008&lat=48&lon=2", "q"),
        ("", "q"),
        ("q=" + "x" * 300, "q"),
        ("q=75008&country=FRA", "country"),
        ("q=75008&country=UK", "country"),  # two letters, no country: it was a 404 "not found"
        ("q=75008&country=zz", "country"),
        ("lat=48&lon=2&kind=%3Cscript%3E", "kind"),
        ("lat=48&lon=2&open_for=-5", "open_for"),
    ],
)
def test_invalid_parameters_are_422_naming_the_parameter(server: Server, query: str, parameter: str) -> None:
    status, headers, body = get(server, "/v1/locations/nearest?" + query)
    assert_problem(status, headers, body, 422)
    assert parameter in body["detail"]


@pytest.mark.parametrize(
    ("query", "name"),
    [("lat=nan&lon=2", "lat"), ("lat=48&lon=inf", "lon"), ("lat=48&lon=2&radius_km=NaN", "radius_km")],
)
def test_a_number_that_is_not_finite_is_named_as_such(server: Server, query: str, name: str) -> None:
    status, headers, body = get(server, "/v1/locations/nearest?" + query)
    assert_problem(status, headers, body, 422)
    assert body["detail"].startswith(f"{name}:") and "finite number" in body["detail"], body  # not "<= 90"


@pytest.mark.parametrize("path", ["/v1/locations/fr-par-opera?at=1765000000", "/v1/support/contacts?country=FR&at=1"])
def test_every_at_is_an_iso_instant(server: Server, path: str) -> None:
    status, headers, body = get(server, path)
    assert_problem(status, headers, body, 422)
    assert body["detail"].startswith("at:")


@pytest.mark.parametrize(
    "at", ["2026-12-01T11:00:00%2B01", "20261201T110000%2B0100", "2026-12-01T10:00:00Z", "2026-12-01t10:00:00z"]
)
def test_iso_forms_the_cli_reads_are_read_by_the_api(server: Server, at: str) -> None:
    # The offset as hours alone and the basic format are ISO-8601 too: the API answered 422 where the CLI read them.
    status, _, body = get(server, f"/v1/locations/nearest?lat=48.87&lon=2.31&at={at}")
    assert status == 200 and body["at"] == "2026-12-01T10:00:00+00:00", body


def test_unknown_place_is_404(server: Server) -> None:
    status, headers, body = get(server, "/v1/locations/nearest?q=Nowhereville%20Xyzzy")
    assert_problem(status, headers, body, 404)
    status, headers, body = get(server, "/v1/locations/no-such-place")
    assert_problem(status, headers, body, 404)
    for path in ("/v1/locations/nearest?q=%2C", "/v1/geocode?q=...", "/v1/locations/nearest?q=%3B&country=FR"):
        status, headers, body = get(server, path)  # punctuation alone: a 500 with a traceback it was
        assert_problem(status, headers, body, 404)


@pytest.mark.postcodes
def test_geocode_endpoint(server: Server) -> None:
    status, _, body = get(server, "/v1/geocode?q=75008&country=FR")
    assert status == 200 and body["source"] == "postcode"
    assert abs(body["lat"] - 48.87) < 0.05 and abs(body["lon"] - 2.32) < 0.05
    status, headers, body = get(server, "/v1/geocode?q=" + "9" * 500)
    assert_problem(status, headers, body, 422)


def test_coordinates_typed_as_text_are_searched_as_a_point(server: Server) -> None:
    """A customer pastes "48.8738, 2.2950" from a map app into the search box: that was a 404 (not a postcode
    or an address); it is the point itself, with the same answer as lat+lon."""
    _, _, by_point = get(server, "/v1/locations/nearest?lat=48.8738&lon=2.295&open=any")
    for q in (
        "48.8738,%202.2950",
        "48.8738%202.295",
        "48%C2%B052%E2%80%B225.68%E2%80%B3N%202%C2%B017%E2%80%B242%E2%80%B3E",
    ):
        status, _, body = get(server, f"/v1/locations/nearest?q={q}&open=any")
        assert status == 200, body
        assert body["origin"]["source"] == "coordinates" and body["origin"]["precision"] == "coordinates"
        assert abs(body["origin"]["lat"] - 48.8738) < 1e-6 and abs(body["origin"]["lon"] - 2.295) < 1e-6
        assert [r["id"] for r in body["results"]] == [r["id"] for r in by_point["results"]]
    status, _, origin = get(server, "/v1/geocode?q=-33.86,151.21")
    assert status == 200 and (origin["lat"], origin["lon"], origin["source"]) == (-33.86, 151.21, "coordinates")
    status, headers, body = get(server, "/v1/locations/nearest?q=95.0,%202.0")
    assert_problem(status, headers, body, 422)
    assert body["parameter"] == "q" and "latitude" in body["detail"], body


def test_health_and_docs(server: Server) -> None:
    status, _, body = get(server, "/v1/health")
    assert status == 200 and body["status"] == "ok" and body["database"] == "ok" and body["locations"] >= 21
    status, _, html = get(server, "/docs")
    assert status == 200 and "swagger" in html.lower()


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_pages_run_local_scripts_only(server: Server, path: str) -> None:
    """Swagger UI and ReDoc from /assets (pinned, fetched at set-up), under a policy naming what they run:
    FastAPI's defaults load them from a CDN, unpinned, on the origin where ops type the admin token."""
    status, headers, html = get(server, path)
    assert status == 200
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert sources and all(src.startswith("/assets/") for src in sources), sources
    policy = headers["content-security-policy"]
    script_src = next(d for d in policy.split("; ") if d.startswith("script-src ")).split()[1:]
    assert script_src[0] == "'self'" and all(s.startswith("'sha256-") for s in script_src[1:]), policy
    for src in sources:
        with urllib.request.urlopen(server.url + src, timeout=15) as response:
            assert response.status == 200 and response.read(), src


def test_answers_are_compressed_for_clients_that_ask(server: Server) -> None:
    """A 100-place answer went out as ~15 kB of plain JSON to apps that accept gzip."""
    import gzip

    path = f"/v1/locations/nearest?lat=48.87&lon=2.33&open=any&limit=100&radius_km=1000&at={AT}"
    status, headers, plain = get(server, path)
    assert status == 200 and "content-encoding" not in {k.lower() for k in headers}
    request = urllib.request.Request(server.url + path, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=15) as response:
        assert response.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in response.headers["Vary"]
        body = response.read()
    assert json.loads(gzip.decompress(body)) == plain and len(body) < len(json.dumps(plain)) / 3


def test_the_schema_types_what_apps_decode(server: Server) -> None:
    """Code generators made strings of every instant, could not decode an admin error (the schema said
    FastAPI's validation shape), nor send a feed to POST /v1/admin/ingest (no request body), and /v1/health
    had no properties."""
    status, _, schema = get(server, "/openapi.json")
    assert status == 200
    models = schema["components"]["schemas"]
    for model, field in [("NearestAnswer", "at"), ("Spell", "from"), ("SupportContact", "next_available")]:
        prop = models[model]["properties"][field]
        formats = [prop.get("format")] + [branch.get("format") for branch in prop.get("anyOf", [])]
        assert "date-time" in formats, (model, field, prop)
    closes = models["NearestPlace"]["properties"]["closes_at"] if "closes_at" in models["NearestPlace"].get(
        "properties", {}) else models["Place"]["properties"]["closes_at"]  # fmt: skip
    assert {"type": "string", "format": "date-time"} in closes["anyOf"]
    assert set(models["Health"]["properties"]) >= {"status", "database", "locations"}
    ingest = schema["paths"]["/v1/admin/ingest"]["post"]
    assert "text/csv" in ingest["requestBody"]["content"] and "multipart/form-data" in ingest["requestBody"]["content"]
    for path, item in schema["paths"].items():
        if path.startswith("/v1/admin/"):
            for operation in item.values():
                for code in ("401", "422", "503"):
                    assert "application/problem+json" in operation["responses"][code]["content"], (path, code)


def test_a_malformed_json_body_names_the_body() -> None:
    from fastapi.exceptions import RequestValidationError

    from locator.api.errors import validation_detail

    error = {"type": "json_invalid", "loc": ("body", 1), "msg": "JSON decode error", "input": {}}
    _, errors = validation_detail(RequestValidationError([error]))
    assert errors == [{"parameter": "body", "message": "JSON decode error"}]  # was "1"


def test_unknown_route_is_problem_json(server: Server) -> None:
    status, headers, body = get(server, "/v1/nothing-here")
    assert_problem(status, headers, body, 404)


def test_database_outage_is_503_fast(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    down = start_server(
        {"LOCATOR_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/locator"}, tmp_path / "down.log"
    )
    try:
        for path in ("/v1/health", "/v1/locations/nearest?q=75008", "/v1/locations/nearest?lat=48&lon=2"):
            started = time.monotonic()
            status, headers, body = get(down, path)
            assert time.monotonic() - started < 5
            assert_problem(status, headers, body, 503)
    finally:
        stop_server(down)


@pytest.mark.postcodes
def test_cli_nearest_gives_the_api_answer(server: Server, database: Any) -> None:
    at = "2026-12-01T11:00:00+01:00"
    cli = subprocess.run(
        [sys.executable, "-m", "locator", "nearest", "75008", "--country", "FR", "--at", at, "--json"],
        capture_output=True, text=True, cwd=ROOT, env={**_env(), "LOCATOR_DATABASE_URL": database.url}, timeout=60,
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    _, _, api = get(server, "/v1/locations/nearest?q=75008&country=FR&at=" + at.replace("+", "%2B"))
    assert json.loads(cli.stdout) == api
    table = subprocess.run(
        [sys.executable, "-m", "locator", "nearest", "75008", "--country", "FR", "--at", at],
        capture_output=True, text=True, cwd=ROOT, env={**_env(), "LOCATOR_DATABASE_URL": database.url,
                                                       "COLUMNS": "200"}, timeout=60,
    )  # fmt: skip
    assert table.returncode == 0 and "Demo Store" in table.stdout
    # The filters as the API reads them: comma lists, and a bad value named.
    filters = ["--any", "--kind", "store,service_centre", "--product", "IPHONE"]
    cli = subprocess.run(
        [sys.executable, "-m", "locator", "nearest", "75008", "--country", "FR", "--at", at, "--json", *filters],
        capture_output=True, text=True, cwd=ROOT, env={**_env(), "LOCATOR_DATABASE_URL": database.url}, timeout=60,
    )  # fmt: skip
    query = "q=75008&country=FR&open=any&kind=store,service_centre&product=IPHONE&at=" + at.replace("+", "%2B")
    _, _, api = get(server, "/v1/locations/nearest?" + query)
    assert api["results"] and json.loads(cli.stdout) == api
    bad = subprocess.run(
        [sys.executable, "-m", "locator", "nearest", "75008", "--kind", "st ore"],
        capture_output=True, text=True, cwd=ROOT, env={**_env(), "LOCATOR_DATABASE_URL": database.url}, timeout=60,
    )  # fmt: skip
    assert bad.returncode == 2 and "kind: 'st ore' is not a valid kind" in bad.stderr


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def test_jsonld_from_the_same_hours_model(server: Server) -> None:
    status, headers, body = get(server, "/v1/locations/fr-par-opera?format=jsonld&at=2026-12-20T12:00:00%2B01:00")
    assert status == 200 and headers["content-type"].startswith("application/ld+json")
    assert body["@context"] == "https://schema.org" and body["@type"] == "Store"
    week = {(s["dayOfWeek"].rsplit("/", 1)[1], s["opens"], s["closes"]) for s in body["openingHoursSpecification"]}
    assert ("Monday", "10:00:00", "21:00:00") in week and ("Sunday", "11:00:00", "19:00:00") in week
    special = {(s["validFrom"], s["opens"], s["closes"]) for s in body["specialOpeningHoursSpecification"]}
    assert ("2026-12-25", "00:00:00", "00:00:00") in special  # closed on Christmas Day
    assert ("2027-01-01", "00:00:00", "00:00:00") in special


@pytest.mark.postcodes
def test_customer_page_embeds_jsonld_per_place(server: Server) -> None:
    status, _, html = get(server, "/?q=75008&country=FR&open=any", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert status == 200 and 'lang="fr"' in html
    assert html.count("application/ld+json") >= 5


def test_typed_errors_map_to_problems_with_retry_after() -> None:
    """One place maps the core's typed errors to HTTP: a busy database (a full refresh of the open intervals
    running) is a 503 that says when to try again, like an unavailable one, but later."""
    import asyncio

    import httpx
    from fastapi import FastAPI

    from locator.api import errors
    from locator.errors import Busy, DatabaseUnavailable

    app = FastAPI()
    errors.install(app)

    @app.get("/busy")
    def busy() -> None:
        raise Busy("the open intervals are being refreshed")

    @app.get("/down")
    def down() -> None:
        raise DatabaseUnavailable("the database did not answer in time")

    async def fetch(path: str) -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            return await client.get(path)

    for path, title, retry in (("/busy", "busy", "30"), ("/down", "database unavailable", "5")):
        response = asyncio.run(fetch(path))
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["retry-after"] == retry
        assert response.json()["title"] == title
