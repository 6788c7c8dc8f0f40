"""The `locator` command line, run as a real process (in-process where a test must hold the database in a
state of its own meanwhile)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from locator.db import get_engine
from locator.settings import get_settings
from tests.conftest import DEMO_CSV, ROOT, ScratchDatabase, free_port


def locator(*args: str, url: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "locator", *args],
        input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=120,
        env={**os.environ, "LOCATOR_DATABASE_URL": url, "COLUMNS": "200"},
    )  # fmt: skip


def test_ingest_json_report_and_exit_codes(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    first = locator("ingest", "locations", str(DEMO_CSV), "--source", "demo", "--json", url=scratch_db.url)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["published"] is True and report["added"] >= 20
    assert {"published", "added", "changed", "removed", "unchanged", "rejected", "warnings"} <= set(report)
    again = locator("ingest", "locations", str(DEMO_CSV), "--source", "demo", "--dry-run", url=scratch_db.url)
    assert again.returncode == 0 and "dry run" in again.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("id,name,country,lat,lon,opening_hours\nx1,,FR,48.8,2.3,24/7\n", encoding="utf-8")
    rejected = locator("ingest", "locations", str(bad), "--source", "other", url=scratch_db.url)
    assert rejected.returncode == 1
    assert "empty name" in rejected.stdout and "Traceback" not in rejected.stdout + rejected.stderr


def test_special_hours_for_many_places_and_back(scratch_db: ScratchDatabase) -> None:
    url = scratch_db.url
    assert locator("ingest", "locations", str(DEMO_CSV), "--source", "demo", url=url).returncode == 0
    args = ("hours", "special", "add-many", "--country", "RU", "--from", "2031-12-31", "--hours", "10:00-16:00")
    counted = locator(*args, "--dry-run", url=url)
    assert counted.returncode == 0 and "to 4 places" in counted.stdout and "nothing written" in counted.stdout
    added = locator(*args, "--comment", "Новый год", url=url)
    assert added.returncode == 0, added.stderr
    batch = added.stdout.split("batch #")[1].split()[0]
    listed = locator("hours", "special", "list", "ru-msk-ars-arbat", url=url)
    assert "2031-12-31" in listed.stdout and batch in listed.stdout
    held = locator("hours", "special", "batches", url=url)
    assert held.returncode == 0 and "Новый год" in held.stdout and f"│ {batch} " in held.stdout
    removed = locator("hours", "special", "remove-batch", batch, url=url)
    assert removed.returncode == 0 and "removed from 4 places" in removed.stdout
    again = locator("hours", "special", "remove-batch", batch, url=url)
    assert again.returncode == 1 and f"no special hours in batch {batch}" in again.stderr + again.stdout
    nothing = locator("hours", "special", "add-many", "--from", "2031-12-31", url=url)
    assert nothing.returncode == 2 and "name the places" in nothing.stderr + nothing.stdout  # usage, as options
    # Both Moscow shops are closed on New Year's Day: the batch is kept for the shops later feeds add.
    closed = locator("hours", "special", "add-many", "--country", "RU", "--kind", "store", "--from", "2032-01-01",
                     "--hours", "12:00-18:00", url=url)  # fmt: skip
    assert closed.returncode == 0, closed.stderr
    assert "added to no place yet" in closed.stdout and "closed on those days" in closed.stdout


def test_hours_eval_json_lines(scratch_db: ScratchDatabase) -> None:
    lines = "\n".join(
        json.dumps(x)
        for x in (
            {"value": "Mo-Fr 10am-7pm", "from": "2026-12-01T00:00:00+01:00", "to": "2026-12-02T00:00:00+01:00",
             "timezone": "Europe/Paris", "country": "FR"},
            {"value": "Mo-Xy 10:00-12:00"},
            {"value": "Fr 13:00-18:00; PH off", "from": "2026-04-03T00:00:00+02:00", "to": "2026-04-04T00:00:00+02:00",
             "timezone": "Europe/Paris", "country": "FR", "region": "FR-57"},
        )
    )  # fmt: skip
    result = locator("hours", "eval", "-", url=scratch_db.url, stdin=lines)
    outputs = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 1  # one value failed
    first, bad, moselle = outputs
    assert first["ok"] and first["normalized"] == "Mo-Fr 10:00-19:00" and first["warnings"]
    assert first["intervals"] == [
        {"from": "2026-12-01T10:00:00+01:00", "to": "2026-12-01T19:00:00+01:00", "state": "open", "comment": None}
    ]
    assert not bad["ok"] and "position" in bad["error"]
    assert moselle["ok"] and moselle["intervals"] == []  # Good Friday is a holiday in Moselle


def test_ops_errors_are_one_clear_line(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    """From an audit of the CLI: each of these printed a traceback or a driver's dump."""
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    for args, url, expected in [
        (("db", "init"), "mysql://x:secret@y/z", "LOCATOR_DATABASE_URL must be a PostgreSQL URL"),
        (("db", "init"), "notaurl", "LOCATOR_DATABASE_URL must be a PostgreSQL URL"),
        (("db", "init"), dead, "Connection refused"),
        (("db", "init"), dead, "start it with `locator db up`"),  # the hint every other command gives
        # Was "the database did not answer in time", with nothing to check.
        (("nearest", "48.85,2.35"), dead, "the database does not answer: connection failed"),
        (("ingest", "postcodes", str(ROOT / "pyproject.toml")), scratch_db.url, "pyproject.toml"),
        (("ingest", "postcodes", "--country", "France"), scratch_db.url, "--country: must be an ISO 3166-1"),
    ]:
        result = locator(*args, url=url)
        assert result.returncode in (1, 2), (args, result.stdout, result.stderr)
        assert expected in " ".join(result.stderr.split()) and "Traceback" not in result.stderr, (args, result.stderr)
        assert "secret" not in result.stderr and "sqlalche.me" not in result.stderr
    # A line nested thousands deep answered with a traceback, and the lines after it were never read.
    deep = '{"value":' + "[" * 5000 + "]" * 5000 + "}"
    result = locator("hours", "eval", "-", url=scratch_db.url, stdin=deep + '\n{"value": "24/7"}\n')
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["error"] == "JSON nested too deeply to be a request" and second["ok"], result.stderr
    # A usage error exits 2, as the options' own checks do (not a failed run with a rejected row 0, exit 1).
    assert locator("nearest", "48.85,2.35", "--limit", "0", url=scratch_db.url).returncode == 2
    # Named as the command line spells them (it said "country:", the API's name, beside "--at:").
    for args, named in ((("--country", "France"), "--country:"), (("--limit", "0"), "--limit:")):
        result = locator("nearest", "75008", *args, url=scratch_db.url)
        assert result.returncode == 2 and f"error: {named}" in result.stderr, result.stderr
    for args in (
        ("ingest", "locations", str(tmp_path / "nothing.csv")),
        ("ingest", "locations", str(DEMO_CSV), "--format", "xml"),
        ("ingest", "support", str(tmp_path / "nothing.csv")),  # a traceback it was, and for a directory too
        ("ingest", "support", str(tmp_path)),
        ("serve", "--port", "70000"),  # uvicorn listened on 70000 modulo 65536, saying 70000
        ("serve", "--workers", "0"),
        ("ingest", "postcodes", str(tmp_path / "nothing.csv")),
        ("hours", "special", "add", "fr-par-opera", "--from", "2026-12-24", "--to", "2026-12-20"),
    ):
        result = locator(*args, url=scratch_db.url)
        assert result.returncode == 2 and "rejected" not in result.stdout, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr, result.stderr


def test_the_report_counts_rows_and_lists_every_change_when_asked(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    feed = tmp_path / "feed.csv"
    # A capitalised header (a spreadsheet's) was refused whole; a row rejected for two reasons counted twice.
    feed.write_text(
        "ID,Name,Country,Lat,Lon,Opening_Hours\n"
        + "".join(f"r{i},Shop {i},IS,64.1,-21.9,24/7\n" for i in range(8))
        + "bad,,ZZ,64.1,-21.9,24/7\n",
        encoding="utf-8",
    )
    result = locator("ingest", "locations", str(feed), "--source", "rows", "--dry-run", "--json", "--partial",
                     "--examples", "0", url=scratch_db.url)  # fmt: skip
    report = json.loads(result.stdout)
    assert len(report["rejected"]) == 2 and report["rejected_rows"] == 1, report["rejected"]
    assert sorted(report["examples"]["added"]) == [f"r{i}" for i in range(8)]
    human = locator("ingest", "locations", str(feed), "--source", "rows", "--dry-run", url=scratch_db.url)
    assert "1 row(s) rejected" in human.stdout, human.stdout


def test_db_init_is_idempotent(scratch_db: ScratchDatabase) -> None:
    result = locator("db", "init", url=scratch_db.url)
    assert result.returncode == 0 and "no migration pending" in result.stdout


def test_refresh_materialises_the_window_and_makes_tomorrow_ahead(scratch_db: ScratchDatabase) -> None:
    from datetime import UTC, datetime, timedelta

    from locator.open_intervals import partition_name, window_days, window_for
    from tests.locator.test_open_intervals import partitions

    assert locator("ingest", "locations", str(DEMO_CSV), "--source", "demo", url=scratch_db.url).returncode == 0
    result = locator("refresh", url=scratch_db.url)
    assert result.returncode == 0, result.stderr
    assert "moved to the current window: 0 rows written" in result.stdout  # the ingest materialised it
    result = locator("refresh", "--full", url=scratch_db.url)
    assert result.returncode == 0, result.stderr
    assert "open intervals recomputed" in result.stdout and " 0 rows" not in result.stdout
    now = datetime.now(UTC)
    days = set(window_days(window_for(now))) | set(window_days(window_for(now + timedelta(days=1))))
    assert partitions(scratch_db) == sorted(partition_name(day) for day in days)


def test_refresh_after_days_says_the_days_left_go_later(scratch_db: ScratchDatabase) -> None:
    from datetime import UTC, datetime, timedelta

    from locator.open_intervals import partition_name, window_for
    from tests.locator.test_open_intervals import _age_window_row, _start_from, partitions

    assert locator("ingest", "locations", str(DEMO_CSV), "--source", "demo", url=scratch_db.url).returncode == 0
    _start_from(scratch_db, datetime.now(UTC) - timedelta(days=3))  # the timer stopped for three days
    result = locator("refresh", url=scratch_db.url)
    assert result.returncode == 0, result.stderr
    assert "(0 past days dropped, 3 kept a minute for searches under way" in result.stdout, result.stdout
    _age_window_row(scratch_db, 120)
    result = locator("refresh", url=scratch_db.url)
    assert "0 rows written (3 past days dropped)" in result.stdout, result.stdout
    first = partition_name(window_for(datetime.now(UTC)).start.date())
    assert min(partitions(scratch_db)) == first


def _served_log(url: str, tmp_path: Path, *flags: str) -> str:
    """What `locator serve` prints while answering two requests: a health check and a search (on the loop's
    pool)."""
    port = free_port()
    log = tmp_path / f"serve{len(flags)}.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "locator", "serve", "--port", str(port), *flags],
            stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT,
            env={**os.environ, "LOCATOR_DATABASE_URL": url, "LOCATOR_ACCESS_LOG": "false"},
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    for path in ("/v1/health", "/v1/locations/nearest?lat=48.85&lon=2.35"):
                        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
                            assert response.status == 200
                    break
                except OSError:
                    assert time.monotonic() < deadline and process.poll() is None, log.read_text()
                    time.sleep(0.2)
        finally:
            process.terminate()
            process.wait(timeout=20)
    return log.read_text(errors="replace")


def test_serve_logs_requests_only_when_asked(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    quiet = _served_log(scratch_db.url, tmp_path)
    assert "Uvicorn running" in quiet and "GET /v1/health" not in quiet
    # psycopg's pool says at INFO that it lent and took back a connection: two lines per search were written
    assert "psycopg" not in quiet, quiet
    logged = _served_log(scratch_db.url, tmp_path, "--access-log")
    assert logged.count("GET /v1/health") == 1 and logged.count("GET /v1/locations/nearest") == 1


def test_human_report_shows_a_missing_value_as_a_dash(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("id,name,country,lat,lon,opening_hours\n", encoding="utf-8")
    result = locator("ingest", "locations", str(empty), "--source", "empty", url=scratch_db.url)
    assert result.returncode == 1, result.stderr
    line = next(line for line in result.stdout.splitlines() if "the feed holds no rows" in line)
    cells = [cell.strip() for cell in line.strip(" │|").split("│")]
    assert cells[:3] == ["0", "", "-"], line  # row, column, value
    assert "None" not in result.stdout


def test_human_report_prints_feed_text_as_it_is(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    # Rich read "[/bold]" in a value as its closing tag: a MarkupError traceback after the publish, exit 1; and
    # "[red]" as a style, the name printed without it.
    feed = tmp_path / "markup.csv"
    feed.write_text("id,name,country,lat,lon,opening_hours,[internal] notes\n"
                    "mk1,Shop,FR,48.85,2.35,[/bold] 9-5,x\n"
                    "mk2,[red]Shop,FR,48.85,2.35,Mo-Fr 09:00-18:00,y\n", encoding="utf-8")  # fmt: skip
    for flags in (["--dry-run"], ["--partial"]):  # exit 1: a row was rejected (CONTRACT.md)
        result = locator("ingest", "locations", str(feed), "--source", "mk", *flags, url=scratch_db.url)
        assert result.returncode == 1 and not result.stderr, result.stderr
        assert "[/bold] 9-5" in result.stdout and "added: mk2" in result.stdout, result.stdout
        assert "[internal] notes" in result.stdout, result.stdout  # the unknown column's warning names it whole
    result = locator("nearest", "48.85,2.35", "--at", "2026-12-08T10:00:00+01:00", url=scratch_db.url)
    assert result.returncode == 0 and "[red]Shop" in result.stdout, result.stdout + result.stderr


def _statuses_by_client(url: str, tmp_path: Path, proxies: str) -> list[int]:
    """`locator serve` with a limit of 2 a minute: statuses of 3 requests from one forwarded client, then 1 from
    another, all through this process (the "proxy")."""
    port = free_port()
    env = {**os.environ, "LOCATOR_DATABASE_URL": url, "LOCATOR_RATE_LIMIT": "2", "LOCATOR_FORWARDED_ALLOW_IPS": proxies}
    log = tmp_path / f"serve-{bool(proxies)}.log"
    with log.open("wb") as handle:
        process = subprocess.Popen([sys.executable, "-m", "locator", "serve", "--port", str(port)], stdout=handle,
                                   stderr=subprocess.STDOUT, cwd=ROOT, env=env)  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health", timeout=2).close()
                    break
                except OSError:
                    assert time.monotonic() < deadline and process.poll() is None, log.read_text()
                    time.sleep(0.2)
            statuses = []
            for client in ("203.0.113.1", "203.0.113.1", "203.0.113.1", "203.0.113.2"):
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/v1/locations/nearest?lat=48.87&lon=2.33&open=any&limit=1",
                    headers={"X-Forwarded-For": client},
                )
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:
                        statuses.append(response.status)
                except urllib.error.HTTPError as error:
                    statuses.append(error.code)
            return statuses
        finally:
            process.terminate()
            process.wait(timeout=20)


def test_the_rate_limit_counts_clients_behind_a_trusted_proxy_only(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    # Behind a load balancer every request came from its address: one bucket for all clients.
    assert _statuses_by_client(scratch_db.url, tmp_path, "127.0.0.1") == [200, 200, 429, 200]
    # With no proxy trusted, the header is the client's own word: ignored (one bucket, the socket's).
    assert _statuses_by_client(scratch_db.url, tmp_path, "") == [200, 200, 429, 429]


def test_refresh_says_so_when_a_publish_holds_the_places(
    scratch_db: ScratchDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from locator import open_intervals
    from locator.cli import app

    monkeypatch.setenv("LOCATOR_DATABASE_URL", scratch_db.url)
    monkeypatch.setattr(open_intervals, "FULL_REFRESH_WAIT", "200ms")
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        with scratch_db.engine.begin() as publishing:
            open_intervals.hold_places(publishing, "1s")
            result = CliRunner().invoke(app, ["refresh", "--full"])
    finally:
        get_engine.cache_clear()
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "the window was not moved" in result.output and "Traceback" not in result.output


def test_the_table_names_the_day_a_place_closes_when_it_is_not_today() -> None:
    from locator.cli import _status

    paris = {"open": True, "closing_soon": False, "timezone": "Europe/Paris"}
    assert _status({**paris, "closes_at": "2026-12-12T00:00:00+01:00"}, "2026-12-07T11:00:00+00:00") == (
        "open until Sat 2026-12-12 00:00"
    )
    assert _status({**paris, "closes_at": "2026-12-07T19:00:00+01:00"}, "2026-12-07T11:00:00+00:00") == (
        "open until 19:00"
    )
    # The night the clocks go forward: 23:30 is Saturday in Paris, the 03:00 closing Sunday's; read in the
    # closing time's offset (+02:00) the two were the same day. And the night they go back, the other way.
    assert _status({**paris, "closes_at": "2027-03-28T03:00:00+02:00"}, "2027-03-27T23:30:00+01:00") == (
        "open until Sun 2027-03-28 03:00"
    )
    assert _status({**paris, "closes_at": "2027-10-31T02:30:00+01:00"}, "2027-10-31T00:30:00+02:00") == (
        "open until 02:30"
    )


@pytest.mark.parametrize(
    ("env", "code", "said"),
    [
        ({"LOCATOR_RATE_LIMIT": "abc"}, 2, "error: LOCATOR_RATE_LIMIT: Input should be a valid integer"),
        ({"LOCATOR_HOME": "/proc/locator-nope"}, 1, "/proc/locator-nope"),
        ({"LOCATOR_DATABASE_URL": "mysql://x@y/z"}, 1, "LOCATOR_DATABASE_URL must be a PostgreSQL URL"),
    ],
    ids=["not-a-number", "home-not-writable", "not-postgresql"],
)
def test_serve_refuses_bad_settings_in_one_line_before_starting(env: dict[str, str], code: int, said: str) -> None:
    """A pydantic dump of 47 lines, three tracebacks, or (with two workers and a bad URL) a traceback per worker
    and exit 0."""
    result = subprocess.run(
        [sys.executable, "-m", "locator", "serve", "--workers", "2", "--port", str(free_port())],
        capture_output=True, text=True, cwd=ROOT, timeout=60, env={**os.environ, **env},
    )  # fmt: skip
    assert result.returncode == code, (result.returncode, result.stderr)
    assert said in " ".join(result.stderr.split()) and "Traceback" not in result.stderr, result.stderr
