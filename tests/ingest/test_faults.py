"""Faults: a killed ingest, readers during publishes, broken files, two ingests of one source at once.

No timing assertions: every wait polls the database for a state, with a generous deadline that only turns a hang
into a failure.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from ingest.publish import IngestReport, ingest_file
from tests.conftest import ROOT, ScratchDatabase, start_server, stop_server

# bench/ is not an installed package (pyproject lists locator, ingest, maps); the checkout root holds it.
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))
from bench.synth import write_csv

DEADLINE = 300.0
LOCATOR = [sys.executable, "-m", "locator"]


def wait_for(what: str, condition: Callable[[], bool], deadline: float = DEADLINE) -> None:
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def snapshot(engine: Engine, source: str) -> dict[str, tuple[str, str]]:
    """id -> (name, general canonical hours) of what the source holds."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """
                SELECT l.id, l.name, h.canonical
                  FROM locations AS l
                  JOIN location_hours AS h ON h.location_id = l.id AND h.service = ''
                 WHERE l.source = :source
                """
            ),
            {"source": source},
        )
        return {r.id: (r.name, r.canonical) for r in rows}


def cli_env(database: ScratchDatabase) -> dict[str, str]:
    return {**os.environ, "LOCATOR_DATABASE_URL": database.url, "LOCATOR_GEOCODERS": "gazetteer"}


def backend_in(engine: Engine, query_like: str) -> int | None:
    """The pid of a backend of this database holding an ingest's advisory lock whose current statement matches.
    (Both views cover the whole cluster: another test's server, moving its own database's window, matched, and
    the test waited for that long-lived backend to end.)"""
    with engine.connect() as conn:
        return conn.execute(
            text(
                """
                SELECT a.pid
                  FROM pg_stat_activity AS a
                  JOIN pg_locks AS k ON k.pid = a.pid AND k.locktype = 'advisory' AND k.granted
                 WHERE a.query ILIKE :pattern AND a.pid <> pg_backend_pid() AND a.datname = current_database()
                """
            ),
            {"pattern": query_like},
        ).scalar()


def backend_alive(engine: Engine, pid: int) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p"), {"p": pid}).scalar())


# -- kill -9 --------------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "phase",
    [
        # Validating and staging rows (the transaction holds the lock, locations untouched so far).
        "COPY staged_locations%",
        # Materialising open intervals: locations and their hours already rewritten inside the transaction.
        "%open_intervals%",
    ],
)
def test_kill_9_mid_publish_keeps_the_previous_snapshot(
    scratch_db: ScratchDatabase, tmp_path: Path, phase: str
) -> None:
    engine = scratch_db.engine
    before = write_csv(tmp_path / "a.csv", 400, variant="A")
    assert ingest_file(engine, before, source="vendor").published
    previous = snapshot(engine, "vendor")
    with engine.connect() as conn:
        intervals_before = conn.execute(text("SELECT count(*) FROM open_intervals")).scalar_one()

    # The same 400 places renamed and re-timed, plus enough new ones to make the publish take a while.
    bigger = write_csv(tmp_path / "b.csv", 6000, variant="B")
    process = subprocess.Popen(
        [*LOCATOR, "ingest", "locations", str(bigger), "--source", "vendor"],
        env=cli_env(scratch_db), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        found: list[int] = []

        def in_phase() -> bool:
            assert process.poll() is None, f"the ingest ended before {phase!r}: {process.stderr.read()!r}"  # type: ignore[union-attr]
            pid = backend_in(engine, phase)
            if pid is not None:
                found.append(pid)
            return pid is not None

        wait_for(f"the ingest to reach {phase!r}", in_phase)
        process.send_signal(signal.SIGKILL)
        process.wait()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL
    # The server notices the dead client at its next read or write and rolls the transaction back.
    wait_for("the killed ingest's backend to end", lambda: not backend_alive(engine, found[0]))

    assert snapshot(engine, "vendor") == previous
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM open_intervals")).scalar_one() == intervals_before
        assert conn.execute(text("SELECT count(*) FROM locations")).scalar_one() == 400

    again = ingest_file(engine, bigger, source="vendor")
    assert again.published, again.message
    assert (len(again.added), len(again.changed), len(again.removed)) == (5600, 400, 0)
    assert all(name.startswith("Shop ") for name, _ in snapshot(engine, "vendor").values())


# -- readers during publishes ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_readers_never_see_a_mix_of_two_snapshots(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    """Real uvicorn, two reader threads, publishes alternating between snapshots A and B of one source."""
    engine = scratch_db.engine
    feeds = {name: write_csv(tmp_path / f"{name}.csv", 1500, variant=name) for name in ("A", "B")}
    expected: dict[str, dict[str, tuple[str, str]]] = {}
    for name in ("B", "A"):  # A last: the server starts on A
        assert ingest_file(engine, feeds[name], source="vendor").published
        expected[name] = snapshot(engine, "vendor")
    assert set(expected["A"]) == set(expected["B"])

    server = start_server({"LOCATOR_DATABASE_URL": scratch_db.url, "LOCATOR_RATE_LIMIT": "0"}, tmp_path / "uvicorn.log")
    # Around Paris (one of the synthetic cities), both "any" and "open now" answers.
    queries = [
        "/v1/locations/nearest?lat=48.8566&lon=2.3522&open=any&limit=100&radius_km=100",
        "/v1/locations/nearest?lat=48.8566&lon=2.3522&open=now&limit=50&radius_km=100",
    ]
    stop = threading.Event()
    answers: list[str] = []  # which snapshot each answer came from
    problems: list[str] = []
    lock = threading.Lock()

    def judge(body: dict[str, Any], query: str) -> None:
        seen = set()
        for result in body["results"]:
            # Every synthetic place sells, and "sales" shows the general hours.
            pair = (result["name"], result["hours"]["sales"])
            matches = {name for name, places in expected.items() if places[result["id"]] == pair}
            if not matches:
                problems.append(f"{result['id']} {pair} belongs to no snapshot")
            seen |= matches if len(matches) == 1 else set()
            if "open=now" in query and not result["open"]:
                problems.append(f"{result['id']} listed as open now but its hours say closed: {pair}")
        if len(seen) > 1:
            problems.append(f"an answer mixes snapshots: {query}")
        with lock:
            answers.append(seen.pop() if seen else "")

    def reader(query: str) -> None:
        while not stop.is_set():
            try:
                with urllib.request.urlopen(server.url + query, timeout=60) as response:
                    judge(json.loads(response.read()), query)
            except Exception as exc:  # recorded, never swallowed: the assertion below lists it
                problems.append(f"{query}: {exc!r}")

    threads = [threading.Thread(target=reader, args=(q,), daemon=True) for q in queries]
    try:
        for thread in threads:
            thread.start()
        for name in ["B", "A"] * 3:
            report = ingest_file(engine, feeds[name], source="vendor")
            assert report.published and len(report.changed) == 1500, report.message
            # Let the readers answer at least once from this snapshot before the next publish.
            seen_before = len(answers)
            wait_for("readers to answer", lambda n=seen_before: len(answers) >= n + len(queries))  # type: ignore[misc]
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
        stop_server(server)
    assert not problems, problems[:10]
    assert {"A", "B"} <= set(answers)


# -- broken files ---------------------------------------------------------------------------------------------


BROKEN: dict[str, tuple[bytes, str]] = {
    "latin1.csv": ("id,name,country,lat,lon,opening_hours\n1,Café,FR,48.8,2.3,24/7\n".encode("latin-1"), "UTF-8"),
    "utf16.csv": ("id,name\n1,Café\n".encode("utf-16"), "UTF-16"),
    "truncated.geojson": (b'{"type": "FeatureCollection", "features": [{"type": "Feature",', "line 1"),
    "garbage.geojson": (b"\x00\x01\x02 not json", "not valid GeoJSON"),
    "binary.csv": (b"id,name\n1,\x00\x00\x00\n", "binary"),
    "no-header.csv": (b"1;Shop;FR\n", "header"),
    "ragged.csv": (b"id,name\n1,a,b,c\n", "line 2"),
    "empty.csv": (b"", "header"),
    "array.geojson": (b"[1, 2]", "FeatureCollection"),
    "stores.json": (b"[1, 2", "JSON"),
    "mystery.dat": (b"\x89PNG\r\n", "format"),
    # The standard JSON decoder recurses per level: this was a RecursionError traceback.
    "deep.geojson": (b'{"type":"FeatureCollection","features":[' + b"[" * 100_000, "nested too deeply"),
    # Python converts at most 4,300 digits to an int: a ValueError traceback from either JSON reader.
    "digits.geojson": (b'{"type":"FeatureCollection","features":[{"id":' + b"9" * 5000 + b"}]}", "too long"),
    "digits.json": (b'[{"id":' + b"9" * 5000 + b"}]", "4300 digits"),
    "unclosed-quote.csv": (b'id,name\n1,"Shop\n2,Other\n', "never closed"),
    "twice.csv": (b"id,name,name\n1,a,b\n", "2 times"),
    "features.json": (b'[{"type": "Feature", "geometry": null, "properties": {}}]', "FeatureCollection"),
}
CONTRACT_KEYS = {"published", "added", "changed", "removed", "unchanged", "rejected", "warnings"}


def strict_json_report(stdout: str) -> dict[str, Any]:
    """The --json report, read as JSON proper (Python's reader takes NaN), in CONTRACT.md's shape."""

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON")

    report: dict[str, Any] = json.loads(stdout, parse_constant=refuse)
    assert set(report) >= CONTRACT_KEYS
    assert isinstance(report["published"], bool) and isinstance(report["rejected"], list)
    assert all(isinstance(report[k], int) for k in ("added", "changed", "removed", "unchanged"))
    assert all(set(r) == {"row", "column", "value", "reason"} for r in report["rejected"])
    assert all(set(w) == {"row", "column", "value", "message"} for w in report["warnings"])
    return report


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_files_get_a_clear_error_from_the_cli(scratch_db: ScratchDatabase, tmp_path: Path, name: str) -> None:
    content, named = BROKEN[name]
    path = tmp_path / name
    path.write_bytes(content)
    run = subprocess.run(
        [*LOCATOR, "ingest", "locations", str(path), "--source", "vendor", "--json"],
        env=cli_env(scratch_db), cwd=ROOT, capture_output=True, text=True, timeout=DEADLINE,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    report = strict_json_report(run.stdout)
    assert report["outcome"] in ("failed", "rejected") and not report["published"]
    messages = [report["message"]] + [r["reason"] for r in report["rejected"]]
    assert any(named in m and name in m for m in messages) or (named in report["message"]), messages


ODD_VALUES: dict[str, tuple[str, str]] = {
    # NaN went into the --json report bare: not JSON, and jsonb refused the audit row, which was lost.
    "nan": ('"name": "G", "lat": NaN, "lon": 2.35', "lat"),
    # A lone surrogate failed the content hash's UTF-8 encoding; a NUL, PostgreSQL's COPY: both tracebacks.
    "surrogate": ('"name": "Caf\\udce9", "lat": 48.85, "lon": 2.35', "name"),
    "nul": ('"name": "G", "street": "1 rue\\u0000", "lat": 48.85, "lon": 2.35', "street"),
}


@pytest.mark.parametrize("case", sorted(ODD_VALUES))
def test_odd_json_values_reject_their_row_in_a_json_report(
    scratch_db: ScratchDatabase, tmp_path: Path, case: str
) -> None:
    values, column = ODD_VALUES[case]
    properties = '{"id": "g1", "country": "FR", "opening_hours": "24/7", ' + values + "}"
    path = tmp_path / f"{case}.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": null, '
                    f'"properties": {properties}}}]}}')  # fmt: skip
    run = subprocess.run(
        [*LOCATOR, "ingest", "locations", str(path), "--source", "vendor", "--json"],
        env=cli_env(scratch_db), cwd=ROOT, capture_output=True, text=True, timeout=DEADLINE,
    )  # fmt: skip
    assert run.returncode == 1 and "Traceback" not in run.stdout + run.stderr, run.stderr
    report = strict_json_report(run.stdout)
    assert [(r["row"], r["column"]) for r in report["rejected"]] == [(1, column)]
    with scratch_db.engine.connect() as conn:
        assert conn.execute(text("SELECT outcome FROM ingest_runs")).scalar_one() == "rejected"


def test_missing_file_is_named_not_a_traceback(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    run = subprocess.run(
        [*LOCATOR, "ingest", "locations", str(tmp_path / "nowhere.csv"), "--source", "vendor"],
        env=cli_env(scratch_db), cwd=ROOT, capture_output=True, text=True, timeout=DEADLINE,
    )  # fmt: skip
    assert run.returncode == 2 and "Traceback" not in run.stdout + run.stderr  # a usage error, as a bad option
    assert "nowhere.csv" in run.stdout + run.stderr


def test_a_file_broken_halfway_publishes_nothing(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    """The rows before the break were already streaming into staging: they must go with the transaction."""
    path = write_csv(tmp_path / "half.csv", 3000)
    with path.open("ab") as handle:
        handle.write(b"p9999,Caf\xe9,store\n")
    report = ingest_file(scratch_db.engine, path, source="vendor")
    assert report.outcome == "failed" and not report.published and report.exit_code == 1
    assert "line 3002" in report.message and "UTF-8" in report.message
    assert (report.added, report.changed, report.removed) == ([], [], [])
    assert snapshot(scratch_db.engine, "vendor") == {}


# -- two ingests of one source at once ------------------------------------------------------------------------


@pytest.mark.slow
def test_a_second_ingest_waits_for_the_first_then_diffs_against_it(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    engine = scratch_db.engine
    assert ingest_file(engine, write_csv(tmp_path / "a.csv", 2000, variant="A"), source="vendor").published
    feed_b = write_csv(tmp_path / "b.csv", 2000, variant="B")

    # The first ingest pauses inside its transaction (lock held, rows half staged) until released.
    paused, release = threading.Event(), threading.Event()

    def hold(rows: int) -> None:
        if not paused.is_set():
            paused.set()
            release.wait(DEADLINE)

    reports: dict[str, IngestReport] = {}

    def run(name: str, progress: Callable[[int], None] | None) -> None:
        reports[name] = ingest_file(engine, feed_b, source="vendor", progress=progress)

    first = threading.Thread(target=run, args=("first", hold))
    second = threading.Thread(target=run, args=("second", None))
    first.start()
    try:
        wait_for("the first ingest to pause", paused.is_set)
        second.start()

        def second_waits() -> bool:
            with engine.connect() as conn:
                return bool(
                    conn.execute(
                        text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                             " AND wait_event = 'advisory' AND datname = current_database()")
                    ).scalar()
                )  # fmt: skip

        wait_for("the second ingest to wait on the source's lock", second_waits)
        assert second.is_alive() and "second" not in reports
    finally:
        release.set()
        first.join(DEADLINE)
        second.join(DEADLINE)
    assert reports["first"].published and len(reports["first"].changed) == 2000
    # Diffed against what the first one published, not against what was there when it started.
    later = reports["second"]
    assert later.outcome == "published", later.message
    assert (len(later.added), len(later.changed), len(later.removed), later.unchanged) == (0, 0, 0, 2000)
