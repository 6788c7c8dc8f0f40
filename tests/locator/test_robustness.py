"""Hard to break: a database outage while serving, a stuck database, rate limits, input limits, CORS, security
headers on HTML, and a minute of load at 64 connections. All against a real uvicorn.

Timing bounds here are contract requirements (503 within 2 s), asserted with generous slack because the
machine is shared; speed itself is measured in bench/, never asserted.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from locator import db
from locator.settings import Settings
from tests.conftest import DEMO_CSV, ScratchDatabase, Server, start_server, stop_server
from tests.locator.pgcluster import Cluster

OUTAGE_BOUND_S = 5.0  # the contract says 2 s; the slack is for a loaded 2-core machine, not for the code
PARIS = "lat=48.8716&lon=2.3336"
TOKEN = "outage-token"


def get(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            body, status, response_headers = response.read(), response.status, response.headers
    except urllib.error.HTTPError as error:
        body, status, response_headers = error.read(), error.code, error.headers
    # Header names are case-insensitive: keep them lower-cased for lookups.
    lowered = {k.lower(): v for k, v in response_headers.items()}
    kind = lowered.get("content-type", "")
    return status, lowered, json.loads(body) if "json" in kind else body.decode(errors="replace")


def assert_problem(status: int, headers: dict[str, str], body: Any, expected: int) -> None:
    assert status == expected, body
    assert headers["content-type"].startswith("application/problem+json"), headers
    assert body["status"] == expected and body["title"] and body["detail"], body
    assert "Traceback" not in json.dumps(body)


# -- a database outage while serving -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def own_cluster() -> Iterator[Cluster]:
    """A throwaway cluster with the schema and the demo places: this module stops and locks it at will."""
    cluster = Cluster.create("locator-outage-")
    cluster.start()
    try:
        settings = Settings(database_url=cluster.url("locator"))
        db.ensure_database(settings)
        engine = db.make_engine(settings)
        db.init_schema(engine)
        from ingest.publish import ingest_file

        report = ingest_file(engine, DEMO_CSV, source="demo")
        assert report.published, report.as_dict()
        engine.dispose()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(scope="module")
def outage_server(own_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("outage") / "uvicorn.log"
    running = start_server(
        {"LOCATOR_DATABASE_URL": own_cluster.url("locator"), "LOCATOR_RATE_LIMIT": "0", "LOCATOR_ADMIN_TOKEN": TOKEN},
        log,
    )
    yield running
    stop_server(running)


def timed_get(url: str) -> tuple[float, int, dict[str, str], Any]:
    started = time.monotonic()
    status, headers, body = get(url)
    return time.monotonic() - started, status, headers, body


def test_outage_gives_fast_503_and_the_server_recovers_by_itself(own_cluster: Cluster, outage_server: Server) -> None:
    nearest = f"{outage_server.url}/v1/locations/nearest?{PARIS}&open=any&limit=3"
    status, _, body = get(nearest)
    assert status == 200 and len(body["results"]) == 3, body
    status, _, body = get(outage_server.url + "/v1/health")
    assert status == 200 and body["database"] == "ok"

    # The pool now holds live connections; "immediate" kills their backends without a goodbye.
    logged = outage_server.log.stat().st_size
    own_cluster.stop("immediate")
    try:
        paths = ("/v1/locations/fr-par-opera", "/v1/health", "/v1/geocode?q=75008", "/v1/support/contacts?country=FR")
        for path in (nearest, *(outage_server.url + p for p in paths)):
            for _ in range(2):  # the first request finds a dead pooled connection, the second a refused connect
                elapsed, status, headers, body = timed_get(path)
                assert_problem(status, headers, body, 503)
                assert elapsed < OUTAGE_BOUND_S, (path, elapsed)
                assert headers.get("retry-after"), headers
        status, _, body = get(outage_server.url + "/v1/health")
        assert body["title"] == "database unavailable"
        # Ops scripts: an upload while the database is down is to be retried, not a bad feed (it was 422 "feed
        # unreadable", with a rejected row 0).
        upload = urllib.request.Request(
            outage_server.url + "/v1/admin/ingest?source=demo&dry_run=true", data=DEMO_CSV.read_bytes(),
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "text/csv"}, method="POST",
        )  # fmt: skip
        try:
            with urllib.request.urlopen(upload, timeout=30) as response:
                status, upload_headers, body = response.status, response.headers, json.loads(response.read())
        except urllib.error.HTTPError as error:
            status, upload_headers, body = error.code, error.headers, json.loads(error.read())
        assert status == 503 and upload_headers["Retry-After"] and body["rejected"] == [], body
        status, headers, body = get(outage_server.url + "/v1/admin/ingest-runs", {"Authorization": f"Bearer {TOKEN}"})
        assert_problem(status, headers, body, 503)
        # An outage is one line a failed request in the log, not a traceback each (the support and admin routes
        # let SQLAlchemy's errors reach the catch-all handler, whose error Starlette raises again to uvicorn).
        with outage_server.log.open("rb") as handle:
            handle.seek(logged)
            during = handle.read().decode(errors="replace")
        assert "Traceback" not in during, during[-3000:]
        assert "database unavailable on /v1/support/contacts" in during
    finally:
        own_cluster.start()

    # No restart of the API: each pool notices its dead connections and reconnects by itself (the coordinate
    # search's on the event loop, locator.search_async; the threads' engine, which the health check reads,
    # once the second after its last failed connection attempt is over, db.ConnectBreaker).
    deadline = time.monotonic() + 30
    for path in (nearest, outage_server.url + "/v1/health"):
        while True:
            status, _, body = get(path)
            if status == 200:
                break
            assert time.monotonic() < deadline, (path, body)
            time.sleep(0.5)
        if path == nearest:
            assert len(body["results"]) == 3
        else:
            assert body["locations"] > 0


def test_a_restarted_database_answers_the_first_requests(own_cluster: Cluster, outage_server: Server) -> None:
    """A restart of the database (a minor upgrade, a config change) drops every pooled connection; the first
    request on each of them, sent to a database that was up again, got a 503."""
    paths = [f"/v1/locations/nearest?{PARIS}&open=any&limit=3", "/v1/locations/fr-par-opera", "/v1/health",
             "/v1/support/contacts?country=FR"]  # fmt: skip
    admin = {"Authorization": f"Bearer {TOKEN}"}
    for _ in range(3):  # connections in every pool of the worker: the loop's, the reads' and the writes' engines
        for path in paths:
            assert get(outage_server.url + path)[0] == 200, path
        assert get(outage_server.url + "/v1/admin/ingest-runs", admin)[0] == 200
    own_cluster.stop("fast")
    own_cluster.start()
    own_cluster.wait_ready()
    for path in paths:
        status, _, body = get(outage_server.url + path)
        assert status == 200, (path, body)
    assert get(outage_server.url + "/v1/admin/ingest-runs", admin)[0] == 200


def test_the_nearest_route_answers_at_once_when_a_long_outage_ends(own_cluster: Cluster, outage_server: Server) -> None:
    """An outage longer than a few reconnection attempts: the coordinate search's pool (locator.search_async)
    backed off 1, 2, 4, 8, 16 s between attempts, and answered 503 for ~15 s after the database was back."""
    nearest = f"{outage_server.url}/v1/locations/nearest?{PARIS}&open=any&limit=3"
    assert get(nearest)[0] == 200
    own_cluster.stop("immediate")
    try:
        assert get(nearest)[0] == 503
        time.sleep(17)
        assert get(nearest)[0] == 503
    finally:
        own_cluster.start()
    back = time.monotonic()
    while (status := get(nearest)[0]) != 200:
        assert status == 503 and time.monotonic() - back < 3, "the route did not answer soon after the database"
        time.sleep(0.2)


def test_a_stuck_database_gives_503_within_the_statement_timeout(own_cluster: Cluster, outage_server: Server) -> None:
    """A database that accepts connections but does not answer (here: a table locked by someone else)."""
    engine = create_engine(own_cluster.url("locator").replace("postgresql://", "postgresql+psycopg://"))
    nearest = f"{outage_server.url}/v1/locations/nearest?{PARIS}&open=any&limit=3"
    assert get(nearest)[0] == 200
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("LOCK TABLE locations IN ACCESS EXCLUSIVE MODE")
            for path in (nearest, outage_server.url + "/v1/health"):
                elapsed, status, headers, body = timed_get(path)
                assert_problem(status, headers, body, 503)
                assert elapsed < OUTAGE_BOUND_S, (path, elapsed)
            conn.rollback()
    finally:
        engine.dispose()
    assert get(nearest)[0] == 200


def _cluster_processes(cluster: Cluster) -> list[int]:
    """The postmaster and every process under it (backends, background workers)."""
    found = [int((cluster.data_dir / "postmaster.pid").read_text().split()[0])]
    for pid in found:  # grows while it is read: children of children
        children = Path(f"/proc/{pid}/task/{pid}/children")
        found += [int(child) for child in children.read_text().split()] if children.exists() else []
    return found


def test_a_frozen_database_gives_503_and_the_server_recovers(own_cluster: Cluster, outage_server: Server) -> None:
    """A database that enforces nothing (stopped processes; a host behind a network that drops packets): the
    server's statement timeout never fires, and requests on pooled connections waited forever."""
    nearest = f"{outage_server.url}/v1/locations/nearest?{PARIS}&open=any&limit=3"
    runs = f"{outage_server.url}/v1/admin/ingest-runs"
    admin = {"Authorization": f"Bearer {TOKEN}"}
    assert get(nearest)[0] == 200  # a pooled connection whose backend is about to freeze
    assert get(runs, headers=admin)[0] == 200  # and one of the write engine's (the admin API's)
    processes = _cluster_processes(own_cluster)
    for pid in processes:
        os.kill(pid, signal.SIGSTOP)
    try:
        for path in (nearest, outage_server.url + "/v1/health"):  # a pooled connection, then a new one
            elapsed, status, headers, body = timed_get(path)
            assert_problem(status, headers, body, 503)
            assert elapsed < OUTAGE_BOUND_S, (path, elapsed)
        # The admin API's engine was not watched: its calls hung for good, holding the worker's threads.
        started = time.monotonic()
        status, headers, body = get(runs, headers=admin)
        assert_problem(status, headers, body, 503)
        assert time.monotonic() - started < OUTAGE_BOUND_S
        # Many at once: the worker runs 4 at a time, and each of them waited out the connect timeout in turn
        # (503s after 2, 4, 6, 8 s for 16 requests).
        answers: list[tuple[float, int, dict[str, str], Any]] = []
        clients = [threading.Thread(target=lambda: answers.append(timed_get(nearest))) for _ in range(16)]
        for client in clients:
            client.start()
        for client in clients:
            client.join()
        assert sorted(a[1] for a in answers) == [503] * 16, answers
        assert max(a[0] for a in answers) < OUTAGE_BOUND_S, sorted(a[0] for a in answers)
    finally:
        for pid in processes:
            os.kill(pid, signal.SIGCONT)
    deadline = time.monotonic() + 30
    while get(nearest)[0] != 200:
        assert time.monotonic() < deadline, "the server did not recover from the frozen database"
        time.sleep(0.5)


def test_the_watchdog_spares_unbounded_transactions_alone(database: ScratchDatabase) -> None:
    """The API's write engine is watched now (admin calls hung on a frozen primary): a load or a refresh it runs
    in an unbounded transaction must still take as long as it needs, and the next transaction is watched again."""
    engine = db.make_engine(Settings(database_url=database.url, statement_timeout_ms=200), watchdog=True)
    try:
        with engine.begin() as conn:
            db.unbounded(conn)
            assert conn.execute(text("SELECT pg_sleep(1.0), 1")).one()[1] == 1  # past 0.2 s + the grace
        with pytest.raises(OperationalError), engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL statement_timeout = 0")  # the server's limit gone, not the watchdog's
            conn.execute(text("SELECT pg_sleep(1.0)"))
        # Statements that cannot run in a transaction (the window's concurrent detach, which waits for older
        # transactions) lift the session's timeout themselves: cut at 2.3 s, the day's table stayed half detached.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("SET statement_timeout = 0")
            with db.unwatched(conn):
                assert conn.execute(text("SELECT pg_sleep(1.0), 1")).one()[1] == 1
            with pytest.raises(OperationalError):
                conn.execute(text("SELECT pg_sleep(1.0)"))
    finally:
        engine.dispose()


# -- rate limiting, CORS, security headers ---------------------------------------------------------------------

SHOP = "https://shop.example"


@pytest.fixture(scope="module")
def limited_server(database: ScratchDatabase, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("limited") / "uvicorn.log"
    running = start_server(
        {"LOCATOR_DATABASE_URL": database.url, "LOCATOR_RATE_LIMIT": "5", "LOCATOR_CORS_ORIGINS": SHOP},
        log,
    )
    yield running
    stop_server(running)


def test_rate_limit_is_per_client_with_retry_after(limited_server: Server) -> None:
    url = f"{limited_server.url}/v1/locations/nearest?{PARIS}&open=any"
    statuses = []
    for _ in range(8):
        status, headers, body = get(url)
        statuses.append(status)
        if status == 429:
            assert_problem(status, headers, body, 429)
            assert 1 <= int(headers["retry-after"]) <= 60
            assert headers["x-content-type-options"] == "nosniff"  # as every answer (it was sent around them)
    # A fixed one-minute window: 5 allowed, then refused (unless the minute turned over mid-loop).
    assert statuses.count(429) >= 2, statuses
    assert statuses[0] == 200
    # The customer page over the limit: the page with a message, not JSON a browser would show as raw text.
    for _ in range(8):
        status, headers, body = get(limited_server.url + "/?q=75008", {"Accept-Language": "fr"})
        if status == 429:
            break
    assert status == 429 and headers["content-type"].startswith("text/html"), (status, headers)
    assert 1 <= int(headers["retry-after"]) <= 60 and "Trop de recherches" in body
    assert "x-content-type-options" in headers and "script-src 'self'" in headers["content-security-policy"]
    # The map a browser asks for, the same (it answers a browser its other errors in HTML); another client, JSON.
    for _ in range(8):  # the minute may have turned
        status, headers, body = get(limited_server.url + "/v1/map?q=75008", {"Accept": "text/html",
                                                                             "Accept-Language": "fr"})  # fmt: skip
        if status == 429:
            break
    assert status == 429 and headers["content-type"].startswith("text/html"), (status, headers, body[:300])
    assert 1 <= int(headers["retry-after"]) <= 60 and "Trop de recherches" in body
    assert_problem(*get(limited_server.url + "/v1/map?q=75008"), 429)
    # Health and the schema are not public data: monitors must never be rate limited.
    assert get(limited_server.url + "/v1/health")[0] == 200
    assert get(limited_server.url + "/openapi.json")[0] == 200


def test_a_client_address_is_cut_before_it_keys_a_bucket() -> None:
    """Behind a proxy trusted with "*", X-Forwarded-For names the client: 80 distinct 2 MB values held 100 MB of
    buckets until the minute turned."""
    import asyncio

    from locator.api.limits import MAX_CLIENT_KEY, FixedWindowLimiter, Guard

    async def app(scope: Any, receive: Any, send: Any) -> None:
        return None

    limiter = FixedWindowLimiter(5)
    scope = {"type": "http", "method": "GET", "path": "/v1/locations/nearest", "client": ("1." * 1_000_000, 1)}
    asyncio.run(Guard(app, limiter, 5)(scope, None, None))  # type: ignore[arg-type]
    assert [len(key) for key in limiter._counts] == [MAX_CLIENT_KEY]


def test_an_ipv6_client_is_counted_by_its_64_and_a_flood_of_clients_shares_one_count() -> None:
    """One host holds a whole /64: 12 addresses of it got 12 buckets of 5, and any number of distinct clients in a
    minute held memory without a bound."""
    from locator.api.limits import OVERFLOW, FixedWindowLimiter, client_key

    assert client_key("2001:db8:1:2::7") == client_key("2001:db8:1:2:ffff::1") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::7") != client_key("2001:db8:1:2::7")
    assert client_key("::ffff:192.0.2.7") == "192.0.2.7" and client_key("192.0.2.7") == "192.0.2.7"
    assert client_key("fe80::1%eth0") == "fe80::/64" and client_key("not an address") == "not an address"
    limiter = FixedWindowLimiter(5)
    results = [limiter.hit(client_key(f"2001:db8:1:2::{i}"), now=30.0) for i in range(1, 13)]
    assert results[:5] == [None] * 5 and all(wait is not None for wait in results[5:])
    small = FixedWindowLimiter(2, max_clients=3)
    assert [small.hit(f"10.0.0.{i}", now=30.0) for i in range(3)] == [None] * 3
    assert [small.hit(f"10.0.1.{i}", now=30.0) is None for i in range(4)] == [True, True, False, False]
    assert set(small._counts) == {"10.0.0.0", "10.0.0.1", "10.0.0.2", OVERFLOW}
    assert small.hit("10.0.0.9", now=90.0) is None and len(small._counts) == 1  # the next minute starts afresh
    # `exceeded` (the admin lockout's check) reads the count `hit` keeps: with the table full, the shared one
    # (it read the client's own, never counted, and let a guesser through for the rest of the minute).
    full = FixedWindowLimiter(2, max_clients=1)
    full.hit("10.0.0.1", now=30.0)
    assert [full.exceeded("10.9.9.9", now=30.0) is None for _ in range(1)] == [True]
    full.hit("10.9.9.9", now=30.0)
    full.hit("10.9.9.9", now=30.0)
    assert full.exceeded("10.9.9.9", now=30.0) is not None and full.exceeded("10.8.8.8", now=30.0) is not None


def test_cors_allows_configured_origins_only(limited_server: Server) -> None:
    preflight = {"Origin": SHOP, "Access-Control-Request-Method": "GET"}
    status, headers, _ = get(limited_server.url + "/v1/locations/nearest", preflight, method="OPTIONS")
    assert status == 200
    assert headers["access-control-allow-origin"] == SHOP
    status, headers, _ = get(limited_server.url + "/v1/health", {"Origin": SHOP})
    assert headers.get("access-control-allow-origin") == SHOP
    # The page's script may read how long a 429 asks it to wait.
    assert "retry-after" in headers.get("access-control-expose-headers", "").lower()
    status, headers, _ = get(limited_server.url + "/v1/health", {"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in headers
    preflight["Origin"] = "https://evil.example"
    status, headers, body = get(limited_server.url + "/v1/locations/nearest", preflight, method="OPTIONS")
    assert status == 400 and "access-control-allow-origin" not in headers
    # As every error of the API: it was a text/plain "Disallowed CORS origin".
    assert_problem(status, headers, body, 400)
    assert body["detail"] == "Disallowed CORS origin"


@pytest.mark.parametrize(("origins", "expected"), [(SHOP, SHOP), ("*", "*")])
def test_an_internal_error_carries_the_headers_of_every_answer(origins: str, expected: str) -> None:
    """Starlette answers an unexpected error from outside our middleware: the 500 had no nosniff, and no CORS
    header, so a page on an allowed origin saw a network error instead of the problem."""
    import asyncio

    from locator.api.factory import create_app

    settings = Settings(cors_origins=origins, rate_limit=0)
    app = create_app(settings)
    app.state.settings = settings

    @app.get("/v1/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/v1/boom", "raw_path": b"/v1/boom",
             "query_string": b"", "headers": [(b"origin", SHOP.encode()), (b"host", b"x")], "client": ("1.2.3.4", 1),
             "server": ("x", 80), "scheme": "http", "root_path": "", "http_version": "1.1", "app": app}  # fmt: skip
    with pytest.raises(RuntimeError):  # Starlette raises it again to the server, after answering
        asyncio.run(app(scope, receive, send))
    start = next(message for message in sent if message["type"] == "http.response.start")
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    assert start["status"] == 500 and headers["x-content-type-options"] == "nosniff"
    assert headers["access-control-allow-origin"] == expected


def test_no_cors_without_configured_origins(server: Server) -> None:
    _, headers, _ = get(server.url + "/v1/health", {"Origin": SHOP})
    assert "access-control-allow-origin" not in headers


def test_security_headers_on_html(server: Server) -> None:
    for path in ("/", f"/v1/map?{PARIS}&open=any"):
        status, headers, body = get(server.url + path)
        assert status == 200 and headers["content-type"].startswith("text/html"), path
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] in ("SAMEORIGIN", "DENY")
        assert headers["referrer-policy"]
        assert "frame-ancestors 'self'" in headers["content-security-policy"]
        assert "<html" in body.lower()


def test_json_answers_are_not_sniffed(server: Server) -> None:
    # Their bodies carry feed text: a name may hold markup that a sniffing browser would render.
    for path in ("/v1/health", f"/v1/locations/nearest?{PARIS}&open=any", "/v1/locations/nearest?lat=x"):
        _, headers, _ = get(server.url + path)
        assert headers["x-content-type-options"] == "nosniff", path


def test_a_trailing_slash_is_not_redirected_to_the_host_header(server: Server) -> None:
    """Starlette's slash redirect built its Location from the Host header (an open redirect behind a proxy
    or cache that passes Host along): such paths are plain 404s."""
    import http.client

    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", "/v1/health/", headers={"Host": "evil.example"})
        response = conn.getresponse()
        response.read()
    finally:
        conn.close()
    assert response.status == 404 and response.getheader("location") is None


# -- input limits on every parameter ------------------------------------------------------------------------

LIMITS = [
    ("q=" + "7" * 201, "q"),
    ("q=7500%008", "q"),
    (f"{PARIS}&limit=0", "limit"),
    (f"{PARIS}&limit=101", "limit"),
    (f"{PARIS}&limit=1e9", "limit"),
    (f"{PARIS}&radius_km=0", "radius_km"),
    (f"{PARIS}&radius_km=1000.5", "radius_km"),
    (f"{PARIS}&radius_km=nan", "radius_km"),
    (f"{PARIS}&radius_km=inf", "radius_km"),
    (f"{PARIS}&open_for=-1", "open_for"),
    (f"{PARIS}&open_for=100000", "open_for"),
    ("lat=91&lon=2", "lat"),
    ("lat=nan&lon=2", "lat"),
    ("lat=48&lon=-180.1", "lon"),
    ("lat=48", "lon"),
    (f"{PARIS}&country=FRA", "country"),
    (f"{PARIS}&open=sometimes", "open"),
    (f"{PARIS}&at=2026-05-01T10:00:00", "at"),
    (f"{PARIS}&at=yesterday", "at"),
    (f"{PARIS}&at=9999-07-03T13:42:55.5-12:52", "at"),  # hours are evaluated 400 days on: past year 9999
    (f"{PARIS}&" + "&".join(["kind=store"] * 21), "kind"),
    (f"{PARIS}&kind=" + ",".join(["store"] * 21), "kind"),  # one parameter, 21 values
    (f"{PARIS}&product=" + "x" * 41, "product"),
    (f"{PARIS}&service=rep%20air", "service"),
    (f"{PARIS}&format=xml", "format"),
]


@pytest.mark.parametrize(("query", "parameter"), LIMITS)
def test_every_nearest_parameter_is_bounded(server: Server, query: str, parameter: str) -> None:
    status, headers, body = get(f"{server.url}/v1/locations/nearest?{query}")
    assert_problem(status, headers, body, 422)
    assert parameter in body["detail"], body


@pytest.mark.parametrize(
    "path",
    [
        "/v1/locations/" + "x" * 129,
        "/v1/geocode?q=" + "a" * 201,
        "/v1/geocode?q=",
        "/v1/geocode?q=75008&country=F",
        "/v1/support/contacts?country=FRA",
        "/v1/support/contacts?country=ZV&at=9999-07-03T13%3A42%3A55.5-12%3A52",  # found by schemathesis
        "/v1/locations/fr-par-opera?at=9999-07-03T13%3A42%3A55%2B00%3A00",
        "/v1/map?q=" + "7" * 201,
        "/v1/map?lat=48&lon=2&limit=500",
        "/v1/support/contacts?country=FR&product=%00",
    ],
)
def test_other_endpoints_bound_their_parameters(server: Server, path: str) -> None:
    status, headers, body = get(server.url + path)
    assert_problem(status, headers, body, 422)
    if "product=" in path:
        assert "product" in json.dumps(body), body  # named, not "a value the database cannot store"


@pytest.mark.parametrize("query", ["kind=%00", "product=%00", "service=%00", "kind=" + ",".join(["store"] * 21)])
def test_the_customer_page_checks_its_filters(server: Server, query: str) -> None:
    # They reached the database unchecked: a NUL answered 500.
    status, headers, body = get(f"{server.url}/?{PARIS}&{query}")
    assert status == 422 and headers["content-type"].startswith("text/html"), (status, body[:300])


def test_the_customer_page_reads_a_time_the_clocks_skip(server: Server) -> None:
    # 02:30 on the spring-forward night does not exist in Paris (the engine raised on it: 500).
    status, _, body = get(f"{server.url}/?{PARIS}&at=2026-03-29T02:30")
    assert status == 200, body[:300]


def test_an_over_long_url_is_refused_without_a_5xx(server: Server) -> None:
    status, _, _ = get(f"{server.url}/v1/locations/nearest?{PARIS}&q={'x' * 20_000}")
    assert 400 <= status < 500


# -- load -----------------------------------------------------------------------------------------------------

LOAD_SECONDS = int(os.environ.get("LOCATOR_LOAD_SECONDS", "60"))
LOAD_CONNECTIONS = 64

LUA = """
-- Vary the origin over Paris and the request kind, so caches do not make a single URL look fast.
local paths = {}
local i = 0
function init(args)
  for n = 0, 63 do
    local lat = 48.80 + (n % 8) * 0.015
    local lon = 2.25 + math.floor(n / 8) * 0.02
    paths[#paths + 1] = string.format("/v1/locations/nearest?lat=%.4f&lon=%.4f&open=any&limit=10", lat, lon)
    paths[#paths + 1] = string.format("/v1/locations/nearest?lat=%.4f&lon=%.4f&limit=5", lat, lon)
  end
  paths[#paths + 1] = "/v1/locations/nearest?q=75008&country=FR&open=any"
  paths[#paths + 1] = "/v1/locations/fr-par-opera"
end
function request()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
"""


@pytest.mark.slow
@pytest.mark.postcodes
def test_a_minute_at_64_connections_without_an_error(server: Server, tmp_path: Path) -> None:
    wrk = shutil.which("wrk")
    if wrk is None:
        pytest.skip("wrk is not installed (apt-get install wrk)")
    script = tmp_path / "vary.lua"
    script.write_text(LUA)
    # A probe in parallel: /v1/health keeps answering while the API is saturated.
    health: list[int] = []
    stop = threading.Event()

    def probe() -> None:
        while not stop.wait(2):
            health.append(get(server.url + "/v1/health")[0])

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    try:
        result = subprocess.run(
            [wrk, "-t", "2", "-c", str(LOAD_CONNECTIONS), "-d", f"{LOAD_SECONDS}s", "--timeout", "10s",
             "-s", str(script), server.url],
            capture_output=True, text=True, timeout=LOAD_SECONDS + 60,
        )  # fmt: skip
    finally:
        stop.set()
        prober.join()
    out = result.stdout
    assert result.returncode == 0, result.stderr
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    assert requests > LOAD_SECONDS * 10, out  # it really ran (no speed claim: that is bench/'s job)
    assert "Socket errors" not in out, out
    assert "Non-2xx or 3xx responses" not in out, out
    assert health and set(health) == {200}, health


def test_a_worker_keeps_its_start_up_objects_out_of_the_collector(database: ScratchDatabase) -> None:
    # Full collections then scan what requests leave behind, not every imported module (a latency spike).
    import asyncio
    import gc

    from locator.api.factory import create_app

    app = create_app(Settings(database_url=database.url))

    async def frozen_while_serving() -> int:
        async with app.router.lifespan_context(app):
            return gc.get_freeze_count()

    before = gc.get_freeze_count()
    assert asyncio.run(frozen_while_serving()) > before + 10_000
    assert gc.get_freeze_count() == before  # and given back when the worker stops


def test_health_says_when_the_primary_is_gone_but_the_replica_answers(database: ScratchDatabase) -> None:
    from locator.api.health import health
    from locator.db import make_engine

    replica = make_engine(Settings(database_url=database.url))
    gone = make_engine(Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/locator"))
    try:
        with_replica = Settings(database_url=database.url, database_read_url=database.url)
        body = json.loads(bytes(health(replica, gone, with_replica).body))
        assert body["status"] == "degraded" and body["database"] == "ok" and body["primary"].startswith("unavailable")
        assert json.loads(bytes(health(replica, replica, with_replica).body))["primary"] == "ok"
        assert "primary" not in json.loads(bytes(health(replica, replica, Settings(database_url=database.url)).body))
    finally:
        replica.dispose()
        gone.dispose()


@pytest.mark.parametrize("path", ["/", "/v1/health", f"/v1/locations/nearest?{PARIS}&open=any&limit=1"])
def test_head_answers_as_get_without_a_body(server: Server, path: str) -> None:
    # Monitors and link checkers ask HEAD; FastAPI's GET routes refused it with 405.
    request = urllib.request.Request(server.url + path, method="HEAD")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        assert response.read() == b""
        assert int(response.headers["content-length"]) > 0  # the GET's length, as HTTP asks
    # And a 405 says so: its Allow named GET alone.
    status, headers, _ = get(server.url + path, method="POST")
    assert status == 405 and headers["allow"] == "GET, HEAD", headers
