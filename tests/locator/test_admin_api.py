"""Admin endpoints, rate limiting and HTML security headers, over a real uvicorn."""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.conftest import ScratchDatabase, Server, start_server, stop_server

TOKEN = "test-admin-token"
FEED = (
    "id,name,kind,country,lat,lon,opening_hours,services\n"
    "is-1,Reykjavik Demo,store,IS,64.1466,-21.9426,Mo-Fr 10:00-18:00,sales\n"
    "is-2,Akureyri Demo,service_centre,IS,65.6835,-18.0878,Mo-Fr 09:00-17:00,repair\n"
)


def call(server: Server, path: str, *, method: str = "GET", body: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:  # fmt: skip
    request = urllib.request.Request(server.url + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw, status, response_headers = response.read(), response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        raw, status, response_headers = error.read(), error.code, dict(error.headers)
    kind = response_headers.get("content-type", "")
    return status, response_headers, json.loads(raw) if "json" in kind and raw else raw.decode()


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_admin_requires_the_token(server: Server) -> None:
    status, headers, _ = call(server, "/v1/admin/ingest-runs")
    assert status == 401 and headers["content-type"].startswith("application/problem+json")
    status, _, _ = call(server, "/v1/admin/ingest-runs", headers=auth("wrong-token"))
    assert status == 401
    status, _, _ = call(server, "/v1/admin/ingest?source=x", method="POST", body=b"id\n", headers=auth("nope"))
    assert status == 401


def test_wrong_tokens_lock_the_client_out_for_the_minute(database: ScratchDatabase, tmp_path: Path) -> None:
    """The token could be guessed at the server's speed: after LOCATOR_ADMIN_FAILED_LOGINS wrong ones a minute,
    the client's admin calls are refused, a right token's too (else a right guess would still get through)."""
    running = start_server(
        {"LOCATOR_DATABASE_URL": database.url, "LOCATOR_ADMIN_TOKEN": TOKEN, "LOCATOR_ADMIN_FAILED_LOGINS": "3"},
        tmp_path / "u.log",
    )
    try:
        assert call(running, "/v1/admin/ingest-runs", headers=auth())[0] == 200  # right tokens count for nothing
        if time.time() % 60 > 45:  # the count is per clock minute: start with most of one ahead
            time.sleep(61 - time.time() % 60)
        statuses = [call(running, "/v1/admin/ingest-runs", headers=auth(f"guess-{i}"))[0] for i in range(3)]
        assert statuses == [401, 401, 401]
        status, headers, body = call(running, "/v1/admin/ingest-runs", headers=auth())
        assert status == 429 and 1 <= int(headers["retry-after"]) <= 60, (status, body)
        assert headers["content-type"].startswith("application/problem+json") and "wrong tokens" in body["detail"]
    finally:
        stop_server(running)


def test_admin_refuses_everything_while_the_token_is_unset(database: ScratchDatabase, tmp_path: Path) -> None:
    running = start_server({"LOCATOR_DATABASE_URL": database.url, "LOCATOR_ADMIN_TOKEN": ""}, tmp_path / "u.log")
    try:
        status, _, body = call(running, "/v1/admin/ingest-runs", headers=auth(""))
        assert status == 403 and "LOCATOR_ADMIN_TOKEN" in body["detail"]
    finally:
        stop_server(running)


def test_upload_dry_run_publish_and_audit(server: Server) -> None:
    source = f"api-{uuid.uuid4().hex[:8]}"
    status, _, report = call(server, f"/v1/admin/ingest?source={source}&dry_run=true", method="POST",
                             body=FEED.encode(), headers={**auth(), "Content-Type": "text/csv"})  # fmt: skip
    assert status == 200, report
    assert report["published"] is False and report["added"] == 2 and report["outcome"] == "dry-run"
    boundary = "locatorboundary"
    multipart = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="iceland.csv"\r\n'
        f"Content-Type: text/csv\r\n\r\n{FEED}\r\n--{boundary}--\r\n"
    ).encode()
    status, _, report = call(server, f"/v1/admin/ingest?source={source}", method="POST", body=multipart,
                             headers={**auth(), "Content-Type": f"multipart/form-data; boundary={boundary}",
                                      "X-Actor": "ops-jane"})  # fmt: skip
    assert status == 200 and report["published"] is True and report["added"] == 2
    status, _, runs = call(server, f"/v1/admin/ingest-runs?source={source}", headers=auth())
    assert status == 200
    assert [r["outcome"] for r in runs["runs"]] == ["published", "dry-run"]
    assert runs["runs"][0]["actor"].startswith("api:ops-jane@") and runs["runs"][0]["file_name"] == "iceland.csv"
    # Paged by id, and filtered by outcome (both were ignored: only the newest 500 runs could be read).
    newest = runs["runs"][0]["id"]
    status, _, page = call(server, f"/v1/admin/ingest-runs?source={source}&limit=1&before={newest}", headers=auth())
    assert status == 200 and [r["outcome"] for r in page["runs"]] == ["dry-run"]
    status, _, page = call(server, f"/v1/admin/ingest-runs?source={source}&outcome=dry-run", headers=auth())
    assert status == 200 and [r["id"] for r in page["runs"]] == [runs["runs"][1]["id"]]
    status, _, _ = call(server, "/v1/admin/ingest-runs?outcome=maybe", headers=auth())
    assert status == 422


def test_rejected_upload_is_a_problem_with_the_report(server: Server) -> None:
    bad = FEED.replace("is-", "bad-") + "bad-3,,store,IS,64.0,-21.0,24/7,sales\n"
    status, headers, body = call(server, "/v1/admin/ingest?source=api-bad", method="POST", body=bad.encode(),
                                 headers={**auth(), "Content-Type": "text/csv"})  # fmt: skip
    assert status == 422 and headers["content-type"].startswith("application/problem+json")
    assert body["rejected"] == [{"row": 4, "column": "name", "value": "", "reason": "empty name"}]
    assert (body["type"], body["status"], body["title"]) == ("about:blank", 422, "feed rejected")  # RFC 9457
    status, _, body = call(server, "/v1/admin/ingest?source=api-bad", method="POST", body=b"\xff\xfe\x00garbage",
                           headers={**auth(), "Content-Type": "text/csv"})  # fmt: skip
    assert status == 422 and "UTF-8" in body["detail"]


@pytest.mark.postcodes
def test_rate_limit_and_security_headers(database: ScratchDatabase, tmp_path: Path) -> None:
    running = start_server({"LOCATOR_DATABASE_URL": database.url, "LOCATOR_RATE_LIMIT": "5"}, tmp_path / "r.log")
    try:
        statuses = []
        for _ in range(7):
            status, headers, _ = call(running, "/v1/geocode?q=75008&country=FR")
            statuses.append(status)
        assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]
        assert 1 <= int(headers["retry-after"]) <= 60
        status, _, _ = call(running, "/v1/health")
        assert status == 200  # health is not rate limited
    finally:
        stop_server(running)


@pytest.mark.postcodes
def test_html_security_headers(server: Server) -> None:
    status, headers, _ = call(server, "/?q=75008&country=FR")
    assert status == 200
    assert headers["x-content-type-options"] == "nosniff" and "x-frame-options" in {k.lower() for k in headers}


GEOJSON_FEED = {
    "type": "FeatureCollection",
    "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-21.9426, 64.1466]},
         "properties": {"id": "gj-1", "name": "Reykjavik GeoJSON", "country": "IS", "opening_hours": "24/7"}}
    ],
}  # fmt: skip
BESTBUY_FEED = [
    {"id": 987654, "type": "BigBox", "name": "Upload Test", "address": "340 W Market", "city": "Bloomington",
     "state": "MN", "zip": "55425", "location": {"lat": 44.85466, "lon": -93.24565},
     "hours": "Mon: 10-9; Tue: 10-9; Wed: 10-9; Thurs: 10-9; Fri: 10-9; Sat: 10-9; Sun: 11-7", "services": []}
]  # fmt: skip


def multipart(name: str, content: bytes, boundary: str = "locatorboundary") -> tuple[bytes, dict[str, str]]:
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, {**auth(), "Content-Type": f"multipart/form-data; boundary={boundary}"}


def test_format_auto_reads_a_json_body_by_its_content(server: Server) -> None:
    """The body was always saved as upload.csv: a GeoJSON or Best Buy body failed as a CSV without a header."""
    for feed, fmt, added in ((GEOJSON_FEED, "geojson", "gj-1"), (BESTBUY_FEED, "bestbuy", "987654")):
        status, _, report = call(server, "/v1/admin/ingest?source=api-auto&dry_run=true", method="POST",
                                 body=json.dumps(feed).encode(),
                                 headers={**auth(), "Content-Type": "application/json"})  # fmt: skip
        assert status == 200, report
        assert report["format"] == fmt and report["added"] == 1 and report["examples"]["added"] == [added]
    # A multipart upload whose name says nothing about the format is read by its content too.
    body, headers = multipart("stores", json.dumps(BESTBUY_FEED).encode())
    status, _, report = call(server, "/v1/admin/ingest?source=api-auto&dry_run=true", method="POST", body=body,
                             headers=headers)  # fmt: skip
    assert status == 200 and report["format"] == "bestbuy", report


def test_messages_name_the_uploaded_file(server: Server) -> None:
    body, headers = multipart("C:\\exports\\my feed.csv", b"1;Shop;FR\n")
    status, _, report = call(server, "/v1/admin/ingest?source=api-named", method="POST", body=body, headers=headers)
    assert status == 422 and report["detail"].startswith("my feed.csv: line 1 must be a header"), report
    assert "upload" not in report["detail"]
    status, _, runs = call(server, "/v1/admin/ingest-runs?source=api-named", headers=auth())
    assert runs["runs"][0]["file_name"] == "my feed.csv"


def test_a_deeply_nested_upload_is_a_broken_file_not_a_500(server: Server) -> None:
    deep = b'{"type":"FeatureCollection","features":[' + b"[" * 100_000
    status, headers, report = call(server, "/v1/admin/ingest?source=api-deep", method="POST", body=deep,
                                   headers={**auth(), "Content-Type": "application/geo+json"})  # fmt: skip
    assert status == 422 and headers["content-type"].startswith("application/problem+json"), report
    assert "nested too deeply" in report["detail"] and report["outcome"] == "failed"


def admin_routes(server: Server, special_id: str = "1") -> list[tuple[str, str]]:
    """(method, path) of every admin route the app serves, from its OpenAPI document, path parameters filled."""
    status, _, spec = call(server, "/openapi.json")
    assert status == 200
    routes = [
        (method.upper(), path.replace("{location_id}", "is-1").replace("{special_id}", special_id))
        for path, operations in spec["paths"].items()
        if path.startswith("/v1/admin")
        for method in operations
    ]
    assert len(routes) >= 5, routes  # ingest, ingest-runs and the three special-hours routes at least
    return routes


# Malformed in every way a route could check: a broken JSON body, bad query parameters and header, a path
# parameter that is not a number.
MALFORMED_QUERY = "?source=%00bad&format=nope&dry_run=maybe&limit=abc"
MALFORMED_HEADERS = {"Content-Type": "application/json", "X-Actor": "a" * 500}
MALFORMED_BODY = b'{"start": "2030-02-10", "hours": '


def announce_body(server: Server, method: str, path: str, headers: dict[str, str], length: int) -> tuple[int, Any]:
    """A request announcing a body of `length` bytes and sending none: the answer, if one comes before the body
    (a server waiting for the body makes this time out)."""
    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=15)
    try:
        connection.putrequest(method, path)
        for key, value in {**headers, "Content-Length": str(length)}.items():
            connection.putheader(key, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_every_admin_route_is_guarded(server: Server, database: ScratchDatabase, tmp_path: Path) -> None:
    """A route added without the guard would be open to anyone: each one refuses an anonymous call, a token in
    the query string, another scheme, and everything while the token is unset. The refusal comes before any
    look at the request: an anonymous malformed JSON body was answered 422 with the schema's field names (FastAPI
    parses a body before a route's dependencies run), and the body a caller announced was read first."""
    routes = admin_routes(server)
    malformed = admin_routes(server, special_id="not-a-number")
    for (method, path), (_, bad_path) in zip(routes, malformed, strict=True):
        for query, headers in (("", {}), (f"?token={TOKEN}&access_token={TOKEN}", {}),
                               ("", {"Authorization": f"Basic {TOKEN}"}), ("", {"Authorization": TOKEN})):  # fmt: skip
            status, response_headers, body = call(server, path + query, method=method, headers=headers)
            assert status == 401, (method, path, query, headers, body)
            assert response_headers["content-type"].startswith("application/problem+json")
            status, _, body = call(server, bad_path + MALFORMED_QUERY, method=method, body=MALFORMED_BODY,
                                   headers={**MALFORMED_HEADERS, **headers})  # fmt: skip
            assert status == 401 and "errors" not in body, (method, bad_path, headers, body)
        status, body = announce_body(server, method, path, MALFORMED_HEADERS, 1 << 30)
        assert status == 401, (method, path, body)
    running = start_server({"LOCATOR_DATABASE_URL": database.url, "LOCATOR_ADMIN_TOKEN": ""}, tmp_path / "u.log")
    try:
        for (method, path), (_, bad_path) in zip(routes, malformed, strict=True):
            status, _, body = call(running, path, method=method, headers=auth(""))
            assert status == 403 and "LOCATOR_ADMIN_TOKEN" in body["detail"], (method, path, body)
            status, _, body = call(running, bad_path + MALFORMED_QUERY, method=method, body=MALFORMED_BODY,
                                   headers={**MALFORMED_HEADERS, **auth("")})  # fmt: skip
            assert status == 403 and "LOCATOR_ADMIN_TOKEN" in body["detail"], (method, bad_path, body)
    finally:
        stop_server(running)


UPLOAD_LIMIT = 64 * 1024


def send_unfinished(server: Server, path: str, headers: dict[str, str], data: bytes) -> tuple[int, dict[str, str], Any]:
    """POST `data` as a chunked body that is never ended: the answer comes only from a server that stopped
    reading (one that reads on times out)."""
    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=15)
    try:
        connection.putrequest("POST", path)
        for key, value in {**headers, "Transfer-Encoding": "chunked"}.items():
            connection.putheader(key, value)
        connection.endheaders()
        for start in range(0, len(data), 16 * 1024):
            piece = data[start : start + 16 * 1024]
            connection.send(b"%x\r\n%s\r\n" % (len(piece), piece))
        response = connection.getresponse()
        return response.status, dict(response.headers), json.loads(response.read())
    finally:
        connection.close()


def multipart_head(name: str, boundary: str = "locatorboundary") -> bytes:
    return (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()


def test_an_upload_past_the_limit_is_refused_as_it_arrives(database: ScratchDatabase, tmp_path: Path) -> None:
    """The limit held only for the raw body: a multipart upload was read whole (spooled by Starlette's form
    parser) before its size was checked. Now either is refused with a 413 naming the limit as soon as it goes
    past it (or announces it will), unread beyond; an upload of exactly the limit is taken."""
    env = {"LOCATOR_DATABASE_URL": database.url, "LOCATOR_ADMIN_TOKEN": TOKEN, "LOCATOR_RATE_LIMIT": "0",
           "LOCATOR_ADMIN_UPLOAD_MAX_BYTES": str(UPLOAD_LIMIT)}  # fmt: skip
    running = start_server(env, tmp_path / "limit.log")
    path = "/v1/admin/ingest?source=api-limit&dry_run=true"
    raw = {**auth(), "Content-Type": "text/csv"}
    form = {**auth(), "Content-Type": "multipart/form-data; boundary=locatorboundary"}
    try:
        for headers, head in ((raw, b""), (form, multipart_head("big.csv"))):
            # One byte too many, sent last: an answer proves the server stopped there.
            status, response_headers, body = send_unfinished(running, path, headers, head + b"x" * (UPLOAD_LIMIT + 1))
            assert status == 413 and response_headers["content-type"].startswith("application/problem+json"), body
            assert f"{UPLOAD_LIMIT} bytes" in body["detail"] and "LOCATOR_ADMIN_UPLOAD_MAX_BYTES" in body["detail"]
            assert body["limit_bytes"] == UPLOAD_LIMIT, body
            status, body = announce_body(running, "POST", path, headers, 1 << 30)
            assert status == 413 and body["limit_bytes"] == UPLOAD_LIMIT, body
        # Each refused upload is a failed run in the audit (none was recorded), with who sent it.
        with database.engine.connect() as conn:
            refused = conn.execute(
                text("SELECT outcome, actor, report->>'message' FROM ingest_runs WHERE source = 'api-limit'")
            ).all()
        assert len(refused) == 4 and all(r[0] == "failed" and r[1].startswith("api:admin@") for r in refused), refused
        assert all("LOCATOR_ADMIN_UPLOAD_MAX_BYTES" in r[2] for r in refused), refused
        at_limit = FEED.replace("is-", "limit-").encode().ljust(UPLOAD_LIMIT, b"\n")  # blank lines: two places
        status, _, report = call(running, path, method="POST", body=at_limit, headers=raw)
        assert status == 200 and report["added"] == 2, report
        body, headers = multipart("at-limit.csv", at_limit)
        status, _, report = call(running, path, method="POST", body=body, headers=headers)
        assert status == 200 and report["added"] == 2, report
    finally:
        stop_server(running)


def test_multipart_edge_cases_answer_as_before(server: Server, database: ScratchDatabase) -> None:
    """The streaming multipart reader keeps the form parser's answers: no `file` field, a text field named
    `file`, a broken body; and refuses an ambiguous body with two files. Each refusal is a failed run in the
    audit (none was), as an empty raw body is."""
    path = "/v1/admin/ingest?source=api-form&dry_run=true"
    form = {**auth(), "Content-Type": "multipart/form-data; boundary=b"}
    text_field = b'--b\r\nContent-Disposition: form-data; name="file"\r\n\r\nid,name\r\n--b--\r\n'
    other = b'--b\r\nContent-Disposition: form-data; name="feed"; filename="x.csv"\r\n\r\nid\r\n--b--\r\n'
    for body in (text_field, other):
        status, _, answer = call(server, path, method="POST", body=body, headers=form)
        assert status == 422 and "'file' field" in answer["detail"], answer
    status, _, answer = call(server, path, method="POST", body=b"garbage", headers=form)
    assert status == 400 and answer["status"] == 400, answer
    status, _, answer = call(
        server, path, method="POST", body=b"", headers={**auth(), "Content-Type": "multipart/form-data"}
    )
    assert status == 400 and "boundary" in answer["detail"], answer
    one = multipart_head("a.csv", "b") + FEED.encode() + b"\r\n"
    two = one + multipart_head("b.csv", "b") + FEED.encode() + b"\r\n--b--\r\n"
    status, _, answer = call(server, path, method="POST", body=two, headers=form)
    assert status == 422 and "more than one 'file'" in answer["detail"], answer
    status, _, answer = call(server, path, method="POST", body=b"", headers={**auth(), "Content-Type": "text/csv"})
    assert status == 422 and "empty" in answer["detail"], answer
    with database.engine.connect() as conn:
        runs = conn.execute(
            text("SELECT outcome, report->>'message' FROM ingest_runs WHERE source = 'api-form' ORDER BY id")
        ).all()
    assert [outcome for outcome, _ in runs] == ["failed"] * 6, runs
    assert "boundary" in runs[3][1] and "empty" in runs[5][1], runs


def test_the_bearer_header_as_clients_send_it(server: Server, database: ScratchDatabase, tmp_path: Path) -> None:
    """RFC 6750 allows several spaces after `Bearer`, and the scheme in any case; a non-ASCII token arrives as
    its UTF-8 bytes (curl, requests), which the server decoded as Latin-1 and then compared re-encoded."""
    for header in (f"Bearer  {TOKEN}", f"bearer {TOKEN}", f"BEARER {TOKEN}"):
        status, _, body = call(server, "/v1/admin/ingest-runs?limit=1", headers={"Authorization": header})
        assert status == 200, (header, body)
    token = "clé-d’accès"
    running = start_server({"LOCATOR_DATABASE_URL": database.url, "LOCATOR_ADMIN_TOKEN": token}, tmp_path / "t.log")
    try:
        host, port = running.url.removeprefix("http://").split(":")
        for sent, expected in ((f"Bearer {token}".encode(), 200), (b"Bearer cl\xe9-d", 401)):
            connection = http.client.HTTPConnection(host, int(port), timeout=30)
            connection.putrequest("GET", "/v1/admin/ingest-runs?limit=1")
            connection.putheader("Authorization", sent)
            connection.endheaders()
            response = connection.getresponse()
            assert response.status == expected, (sent, response.read())
            connection.close()
    finally:
        stop_server(running)


def test_a_nul_in_the_uploaded_file_name_still_leaves_an_audit_row(server: Server) -> None:
    """PostgreSQL text holds no NUL: the audit insert failed (silently, by design) and the run went unrecorded."""
    source = f"api-nul-{uuid.uuid4().hex[:8]}"
    body, headers = multipart("feed\x00.csv", FEED.replace("is-", "nul-").encode())
    status, _, report = call(server, f"/v1/admin/ingest?source={source}&dry_run=true", method="POST", body=body,
                             headers=headers)  # fmt: skip
    assert status == 200 and report["outcome"] == "dry-run", report
    assert report["run_id"] is not None, report
    status, _, runs = call(server, f"/v1/admin/ingest-runs?source={source}", headers=auth())
    assert [run["outcome"] for run in runs["runs"]] == ["dry-run"], runs
    assert runs["runs"][0]["file_name"] == "feed.csv" and runs["runs"][0]["actor"].startswith("api:admin@")


def published_place(server: Server, prefix: str) -> str:
    """A place of a source of its own (Mo-Fr 10:00-18:00, in Reykjavik), published through the API."""
    source = f"api-{prefix}-{uuid.uuid4().hex[:8]}"
    feed = FEED.replace("is-", f"{source}-")
    status, _, report = call(server, f"/v1/admin/ingest?source={source}", method="POST", body=feed.encode(),
                             headers={**auth(), "Content-Type": "text/csv"})  # fmt: skip
    assert status == 200 and report["published"], report
    return f"{source}-1"


def test_special_hours_stay_within_their_dates(server: Server) -> None:
    """The exception is appended as `<dates> <hours>`: hours holding a second rule (`; Mo off`, `, Mo 08:00-09:00`,
    `|| …`, or French the normaliser turns into two rules) applied that rule every week, for good."""
    place = published_place(server, "sh")
    headers = {**auth(), "Content-Type": "application/json"}
    path = f"/v1/admin/locations/{place}/special-hours"
    for hours in ("10:00-14:00; Mo off", "10:00-14:00, Mo 08:00-09:00", "off || Mo unknown",
                  "10:00-14:00 et lundi fermé", "off; 2030 Jan 01-Dec 31 off"):  # fmt: skip
        payload = json.dumps({"start": "2030-02-10", "hours": hours}).encode()
        status, _, body = call(server, path, method="POST", body=payload, headers=headers)
        assert status == 422 and body["parameter"] == "hours", (hours, body)
    status, _, listed = call(server, path, headers=auth())
    assert status == 200 and listed["special_hours"] == [], listed
    # One rule, time lists and comments holding separators are fine.
    for hours, comment in (
        ("10:00-12:00,13:00-17:00", None),
        ("10:00-12:00, sunset-22:00", None),
        ("off", "Xmas; closed"),
    ):
        payload = json.dumps({"start": "2030-02-10", "hours": hours, "comment": comment}).encode()
        status, _, body = call(server, path, method="POST", body=payload, headers=headers)
        assert status == 201, (hours, body)
        status, _, _ = call(server, f"/v1/admin/special-hours/{body['id']}", method="DELETE", headers=auth())
        assert status == 204
    status, _, body = call(server, "/v1/admin/special-hours/2147483647", method="DELETE", headers=auth())
    assert status == 404 and body["status"] == 404


def test_special_hours_of_an_unknown_place_is_not_found(server: Server) -> None:
    """Listing answered 200 with an empty list for a mistyped id, as if the place simply had no exceptions."""
    status, headers, body = call(server, "/v1/admin/locations/no-such-place/special-hours", headers=auth())
    assert status == 404 and headers["content-type"].startswith("application/problem+json"), body
    assert "no-such-place" in body["detail"]


def test_a_place_whose_id_holds_a_slash_is_served_by_its_id(server: Server) -> None:
    """Feed ids may hold '/' (`ingest.validate.ID_PATTERN`), and answers carry them: the detail route and the
    exceptions' routes matched one path segment, so such a place was a 404 wherever its id was asked for."""
    source = f"api-slash-{uuid.uuid4().hex[:8]}"
    feed = (  # away from the other tests' places
        "id,name,kind,country,lat,lon,opening_hours,services\n"
        f"{source}/shops/1,Grindavik Demo,store,IS,63.8424,-22.4338,Mo-Fr 10:00-18:00,sales\n"
    )
    status, _, report = call(server, f"/v1/admin/ingest?source={source}", method="POST", body=feed.encode(),
                             headers={**auth(), "Content-Type": "text/csv"})  # fmt: skip
    assert status == 200 and report["published"], report
    place = f"{source}/shops/1"
    status, _, near = call(server, "/v1/locations/nearest?lat=63.8424&lon=-22.4338&open=any&limit=1")
    assert status == 200 and near["results"][0]["id"] == place
    for path in (place, place.replace("/", "%2F")):
        status, _, body = call(server, f"/v1/locations/{path}")
        assert status == 200 and body["id"] == place and body["week"], (path, body)
    status, _, body = call(server, f"/v1/locations/{place}-nothing")
    assert status == 404 and place in body["detail"], body
    status, _, body = call(server, "/v1/locations/nearest?lat=64.1466&lon=-21.9426")  # still the nearest route
    assert status == 200 and "results" in body

    headers = {**auth(), "Content-Type": "application/json"}
    payload = json.dumps({"start": "2030-02-10", "hours": "off"}).encode()
    status, _, added = call(server, f"/v1/admin/locations/{place}/special-hours", method="POST", body=payload,
                            headers=headers)  # fmt: skip
    assert status == 201, added
    status, _, listed = call(server, f"/v1/admin/locations/{place}/special-hours", headers=auth())
    assert status == 200 and [s["id"] for s in listed["special_hours"]] == [added["id"]], listed


def test_the_audit_trail_names_a_nul_in_its_source_filter(server: Server) -> None:
    status, _, body = call(server, "/v1/admin/ingest-runs?source=a%00b", headers=auth())
    assert status == 422 and body["detail"].startswith("source:"), body
