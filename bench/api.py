"""API benchmark: the nearest-open endpoint under wrk against the raw SQL query on the same data, same run.

`python -m bench.api [--sizes 10000,1000000] [--seconds 15] [--write BENCHMARKS.md]` (`make bench-api`):

1. N synthetic places from bench/synth.py (a chain's mix of hours, ~1% round the clock), loaded through the real
   ingest (`ingest.publish.ingest_file`) into `locator_bench_api_<N>` on the embedded cluster; a database that
   already holds N places from an earlier run is reused.
2. `locator serve --workers 2` on a free loopback port; wrk (Lua: a fixed list of 512 origins around five
   European cities, one per request in turn) at 1, 16 and 64 connections, for the busy instant (Saturday 14:00
   local) and the sparse one (Saturday 03:00, ~1% open); then, at one connection, the same with each filter of
   `--filters` (default `service=repair`: a repair desk, none of which is open at 03:00 on a Saturday).
3. The raw SQL: the search's own KNN statement (locator.search.knn_open_statement, the body of the function the
   API calls) on one psycopg connection, prepared, over the same origins and instants: the physical limit of the
   query the API is built around; and the whole statement the API sends.
4. Memory: the server's processes (RSS) and PostgreSQL's (PSS, so shared buffers count once), database size.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from locator import db
from locator.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".locator" / "bench"
PARIS = ZoneInfo("Europe/Paris")
# (lat, lon) of synth.py's European cities: origins are drawn within its ±0.2° scatter.
CENTRES = ((48.8566, 2.3522), (45.7640, 4.8357), (52.5200, 13.4050), (51.5072, -0.1276), (50.9375, 6.9603))
ORIGINS = 512
LIMIT = 10


@dataclass
class Run:
    size: int
    case: str  # busy | sparse, then ", <filter>" for a filtered cell
    connections: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int


@dataclass
class Sql:
    size: int
    case: str
    p50_ms: float
    p99_ms: float
    rows: float
    # The API's whole statement on a warm cache: the same candidates, the chosen 10's row versions, the label.
    answer_p50_ms: float = 0.0
    answer_p99_ms: float = 0.0


# -- data -----------------------------------------------------------------------------------------------------


def database_url(settings: Settings, name: str) -> str:
    return make_url(settings.sqlalchemy_url()).set(database=name).render_as_string(hide_password=False)


def ensure_places(settings: Settings, size: int) -> tuple[str, float | None]:
    """The bench database for `size` places (its URL), loaded through the real ingest unless already there;
    the second value is the ingest's duration, None when reused."""
    name = f"locator_bench_api_{size}"
    url = database_url(settings, name)
    admin = create_engine(database_url(settings, "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
    if exists:
        engine = db.make_engine(settings.model_copy(update={"database_url": url}))
        try:
            with engine.connect() as conn:
                count = conn.execute(text("SELECT count(*) FROM locations")).scalar_one()
            if count == size:
                if _refresh_window(engine):
                    _settle(url)
                return url, None
        except Exception:
            pass
        finally:
            engine.dispose()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    from bench.synth import write_csv
    from ingest.publish import ingest_file

    CACHE.mkdir(parents=True, exist_ok=True)
    csv_path = CACHE / f"places-{size}.csv"
    if not csv_path.exists():
        write_csv(csv_path, size)
    engine = db.make_engine(settings.model_copy(update={"database_url": url}))
    try:
        db.init_schema(engine)
        started = time.perf_counter()
        report = ingest_file(engine, csv_path, source="bench")
        seconds = time.perf_counter() - started
        if not report.published:
            raise SystemExit(f"the ingest did not publish: {report.message}")
    finally:
        engine.dispose()
    _settle(url)
    return url, seconds


# The origins lie around Paris, Lyon, Berlin, London and Cologne: the API labels each by its nearest postcode
# inside the search statement, so the benchmark's database holds those countries' postcodes (from ../shared)
# for that part of the statement to cost what it costs in production.
GEONAMES = ROOT.parent / "shared" / "data" / "geonames-postcodes"
POSTCODE_FILES = [GEONAMES / f"zipcodes.{cc}.csv" for cc in ("fr", "de", "gb")]


def ensure_postcodes(url: str) -> int:
    """Load the origins' countries' postcodes into the bench database unless there; how many it holds."""
    from ingest.postcodes import load_file

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            count: int = conn.execute(text("SELECT count(*) FROM postcodes")).scalar_one()
        if count == 0:
            for path in POSTCODE_FILES:
                if path.exists():
                    load_file(engine, path)
            with engine.connect() as conn:
                count = conn.execute(text("SELECT count(*) FROM postcodes")).scalar_one()
                conn.exec_driver_sql("ANALYZE postcodes")
        return count
    finally:
        engine.dispose()


def _settle(url: str) -> None:
    """A fresh load as a database looks once autovacuum has caught up: visibility map set (index-only scans
    skip the heap), statistics taken, dirty pages written. Measured right after the load, autovacuum and the
    checkpointer share the 2 cores with the run (the first 1M run after a load: raw KNN 0.65 ms against
    0.41 ms on the settled database)."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SET statement_timeout = 0")  # the service's 2 s bound is not for maintenance
            conn.exec_driver_sql("VACUUM (ANALYZE)")
            conn.exec_driver_sql("CHECKPOINT")
    finally:
        engine.dispose()


def _refresh_window(engine: object) -> bool:
    """A reused database's materialised window may have slid past today: refresh it like the timer would
    (True when it did)."""
    from locator import open_intervals

    assert hasattr(engine, "begin")
    with engine.begin() as conn:
        db.unbounded(conn)
        window = open_intervals.current_window(conn)
        if window is None or window != open_intervals.window_for(datetime.now(UTC)):
            open_intervals.refresh(conn)
            return True
    return False


def instants(now: datetime | None = None) -> dict[str, datetime]:
    """Next Saturday 14:00 (busy) and 03:00 (sparse), Paris time: inside the materialised window."""
    local = (now or datetime.now(UTC)).astimezone(PARIS)
    days = (5 - local.weekday()) % 7 or 7
    saturday = (local + timedelta(days=days)).date()
    return {
        "busy": datetime(saturday.year, saturday.month, saturday.day, 14, tzinfo=PARIS),
        "sparse": datetime(saturday.year, saturday.month, saturday.day, 3, tzinfo=PARIS),
    }


def origins(seed: int = 7) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    out = []
    for _ in range(ORIGINS):
        lat, lon = CENTRES[rng.randrange(len(CENTRES))]
        out.append((round(lat + rng.uniform(-0.2, 0.2), 5), round(lon + rng.uniform(-0.2, 0.2), 5)))
    return out


# -- the API under wrk ----------------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Served:
    url: str
    process: subprocess.Popen[bytes]


def serve(url: str, workers: int, log: Path) -> Served:
    port = free_port()
    env = {**os.environ, "LOCATOR_DATABASE_URL": url, "LOCATOR_RATE_LIMIT": "0"}
    locator = Path(sys.executable).parent / "locator"
    process = subprocess.Popen(
        [str(locator), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
        env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/v1/health", timeout=2):
                return Served(base, process)
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit(f"locator serve did not answer: {log.read_text(errors='replace')[-2000:]}")


def stop(served: Served) -> None:
    os.killpg(served.process.pid, signal.SIGTERM)
    try:
        served.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(served.process.pid, signal.SIGKILL)


def paths(at: datetime, extra: str = "") -> list[str]:
    stamp = at.isoformat().replace("+", "%2B")
    tail = f"&{extra}" if extra else ""
    return [f"/v1/locations/nearest?lat={lat}&lon={lon}&at={stamp}&limit={LIMIT}{tail}" for lat, lon in origins()]


def lua_script(urls: list[str], directory: Path) -> Path:
    script = directory / "origins.lua"
    listed = ",\n".join(f'  "{u}"' for u in urls)
    script.write_text(
        "local paths = {\n" + listed + "\n}\n"
        "local i = 0\n"
        "function request()\n  i = i + 1\n  return wrk.format('GET', paths[(i % #paths) + 1])\nend\n"
    )
    return script


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk(base: str, script: Path, connections: int, seconds: int) -> tuple[float, float, float, int]:
    """(requests/s, p50 ms, p99 ms, errors) of one wrk run."""
    command = ["wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d", f"{seconds}s", "--latency",
               "--timeout", "10s", "-s", str(script), base]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    p50 = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not (p50 and p99 and rate):
        raise SystemExit(f"cannot read wrk's output:\n{out}")
    errors = 0
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(match.group(1))
    if match := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(g) for g in match.groups())
    return float(rate.group(1)), _ms(*p50.groups()), _ms(*p99.groups()), errors


# -- the raw SQL ----------------------------------------------------------------------------------------------


def raw_sql(url: str, at: datetime, rounds: int = 3, whole: bool = False) -> tuple[float, float, float]:
    """(p50 ms, p99 ms, rows per query) of the search's KNN statement alone (or, `whole`, of the statement the
    API sends: the same candidates with the chosen places' rows), prepared, on one connection."""
    from locator.search import first_candidates

    sql = psycopg_sql(at, whole)
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    timings: list[float] = []
    rows = 0
    k = first_candidates(LIMIT, Settings().knn_oversample)
    with psycopg.connect(dsn, prepare_threshold=0) as conn:
        for round_ in range(rounds):
            for lat, lon in origins():
                params = knn_params(lat, lon, at, k)
                started = time.perf_counter()
                got = conn.execute(sql, params).fetchall()
                elapsed = time.perf_counter() - started
                if round_:  # the first round warms the cache, as the API's warm-up requests do
                    timings.append(elapsed * 1000)
                    rows += len(got)
            conn.rollback()
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.99)], rows / len(timings)


def psycopg_sql(at: datetime, whole: bool = False) -> str:
    """The search's KNN statement for an unfiltered "open at `at`" query, as one statement naming the day's table
    (`whole`: the statement the API sends for a coordinate query whose places are in its cache: the same
    candidates through the function that keeps their plan, with their places' versions and the origin's
    postcode label), SQLAlchemy's :name binds as %(name)s."""
    from locator.db import driver_sql
    from locator.search import NearestQuery, knn_open_sql, knn_open_statement, with_label

    query, day = NearestQuery(0.0, 0.0, at=at, limit=LIMIT), at.astimezone(UTC).date()
    if whole:
        return driver_sql(with_label(knn_open_sql(query, day), label_origin=True))
    return driver_sql(knn_open_statement(query, day))


def knn_params(lat: float, lon: float, at: datetime, k: int) -> dict[str, object]:
    """The search statement's parameters for an unfiltered "open at `at`" query of 50 km, as the API binds them."""
    from locator.search import NearestQuery, statement_params

    return {**statement_params(NearestQuery(lat, lon, at=at, limit=LIMIT), at), "k": k, "limit": LIMIT}


def explain(url: str, at: datetime) -> str:
    sql = psycopg_sql(at)
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    lat, lon = origins()[0]
    params = knn_params(lat, lon, at, LIMIT * 4)
    with psycopg.connect(dsn) as conn:
        plan = conn.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params).fetchall()
    return "\n".join(row[0] for row in plan)


# -- memory ---------------------------------------------------------------------------------------------------


def _descendants(pid: int) -> Iterator[int]:
    yield pid
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        for child in children.read_text().split():
            yield from _descendants(int(child))


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def server_rss_mb(pid: int) -> float:
    return sum(_status_kb(p, "VmRSS") for p in _descendants(pid)) / 1024


def postgres_pss_mb() -> float:
    total = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if proc.joinpath("comm").read_text().strip() != "postgres":
                continue
            rollup = proc.joinpath("smaps_rollup").read_text()
        except OSError:
            continue
        match = re.search(r"^Pss:\s+(\d+) kB", rollup, re.M)
        total += int(match.group(1)) if match else 0
    return total / 1024


def database_mb(url: str) -> float:
    engine = create_engine(url)
    with engine.connect() as conn:
        size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    engine.dispose()
    return float(size) / 1024 / 1024


# -- report ---------------------------------------------------------------------------------------------------


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine())  # fmt: skip
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))  # fmt: skip
    pg = subprocess.run([str(db.find_pg_bin() / "postgres"), "--version"], capture_output=True, text=True).stdout
    return (f"{os.cpu_count()} CPUs ({cpu}), {mem_kb / 1024 / 1024:.0f} GiB RAM, {pg.strip()}, "
            f"Python {platform.python_version()}")  # fmt: skip


def cpu_probe() -> float:
    """Seconds of a fixed pure-Python loop (best of three): how fast this shared machine is right now. The same
    kind of loop (at module level, so slower) took 0.86 s on this host and 1.5 s an hour later, the whole
    benchmark slowing with it: compare runs only at like speed."""
    best = math.inf
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(10_000_000):
            total += i
        best = min(best, time.perf_counter() - started)
    return best


def render(
    runs: list[Run], sqls: list[Sql], notes: dict[int, str], command: str, seconds: int, probes: list[float]
) -> str:
    speed = " / ".join(f"{p:.2f} s" for p in probes)
    lines = [
        "## API",
        "",
        f"Command: `{command}` (`make bench-api`; `make bench` runs it with the ingest benchmark).",
        f"Machine: {machine()}. Shared machine: figures move by 10-20% between runs.",
        f"Machine speed at the start / end of the run (`bench.api.cpu_probe`, a 10M-step Python loop): {speed}.",
        f"`locator serve --workers 2`, rate limit off; wrk {seconds} s per cell, `--latency`, origins from a list",
        f"of {ORIGINS} points around five European cities; `limit={LIMIT}`, open at the instant (the default).",
        "Busy = next Saturday 14:00 Paris time (most places open), sparse = 03:00 (~1% open); a case with a",
        "filter (`service=repair`) asks for it too: at 03:00 no repair desk is open, and the search reads every",
        "open row within its radius (50 km) before it answers with none.",
        'Raw SQL, prepared, one psycopg connection, the same origins and instants: "KNN" = the search\'s own KNN',
        "statement alone (`locator.search.knn_open_statement`: ids, sphere and ellipsoidal distances of the first",
        "round's candidates; the API calls the same query through its day's function, which keeps its plan,",
        'migration 0025); "whole" = the one statement the API sends when its places are cached',
        "(`locator.search.with_label`: the same candidates with their places' versions, and the origin's postcode",
        "label; on a cache miss `with_places`, with the places' rows, hours and exceptions, follows it).",
        "",
        "| places | case | connections | req/s | p50 ms | p99 ms | errors |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        lines.append(f"| {r.size:,} | {r.case} | {r.connections} | {r.requests_per_s:,.0f} | {r.p50_ms:.2f} | "
                     f"{r.p99_ms:.2f} | {r.errors} |")  # fmt: skip
    lines += ["", "| places | case | KNN p50 ms | KNN p99 ms | candidates | whole p50 ms | whole p99 ms "
              "| API p50 (1 conn) / KNN p50 | API p50 / whole p50 |",
              "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for s in sqls:
        api = next((r for r in runs if r.size == s.size and r.case == s.case and r.connections == 1), None)
        ratio = f"{api.p50_ms / s.p50_ms:.1f}x" if api and s.p50_ms else "-"
        whole = f"{api.p50_ms / s.answer_p50_ms:.1f}x" if api and s.answer_p50_ms else "-"
        lines.append(f"| {s.size:,} | {s.case} | {s.p50_ms:.3f} | {s.p99_ms:.3f} | {s.rows:.0f} | "
                     f"{s.answer_p50_ms:.3f} | {s.answer_p99_ms:.3f} | {ratio} | {whole} |")  # fmt: skip
    lines += ["", "Targets (issue 7, at the largest size):", ""]
    lines += targets(runs, sqls)
    lines += [""]
    for size, note in sorted(notes.items()):
        lines.append(f"- {size:,} places: {note}")
    return "\n".join(lines) + "\n"


def targets(runs: list[Run], sqls: list[Sql]) -> list[str]:
    if not runs:
        return []
    big, small = max(r.size for r in runs), min(r.size for r in runs)

    def cell(size: int, case: str, conns: int) -> Run | None:
        return next((r for r in runs if (r.size, r.case, r.connections) == (size, case, conns)), None)

    out = []
    one, sql = cell(big, "busy", 1), next((s for s in sqls if (s.size, s.case) == (big, "busy")), None)
    if one and sql:
        out.append(f"- API p50 within 3x of the raw SQL: {one.p50_ms / sql.p50_ms:.1f}x of the KNN statement "
                   f"({one.p50_ms:.2f} vs {sql.p50_ms:.3f} ms), {one.p50_ms / sql.answer_p50_ms:.1f}x of the "
                   f"whole statement ({sql.answer_p50_ms:.3f} ms)")  # fmt: skip
    worst_p99 = max(
        (r.p99_ms for r in runs if r.size == big and r.connections == 1 and r.case in ("busy", "sparse")), default=0.0
    )
    out.append(f"- p99 <= 10 ms at one connection: {worst_p99:.2f} ms (worse of busy and sparse)")
    busy, sparse = cell(big, "busy", 1), cell(big, "sparse", 1)
    if busy and sparse:
        out.append(f"- sparse <= 1.1x busy (p50, 1 connection): {sparse.p50_ms / busy.p50_ms:.2f}x")
    if big != small:
        a, b = cell(small, "busy", 1), cell(big, "busy", 1)
        if a and b:
            out.append(f"- growth {small:,} -> {big:,} <= 1.5x (p50, busy, 1 connection): {b.p50_ms / a.p50_ms:.2f}x")
    best = max((r.requests_per_s for r in runs if r.size == big), default=0.0)
    out.append(f"- >= 1,000 req/s with --workers 2: {best:,.0f} req/s (best concurrency)")
    errors = sum(r.errors for r in runs)
    out.append(f"- errors over every run: {errors}")
    return out


def write_section(path: Path, section: str) -> None:
    """Replace the "## API" section (up to the next "## "), leaving the other sections (Ingest) alone;
    hand-written notes after the generated part start at "### " and are carried over."""
    existing = (
        path.read_text() if path.exists() else "# Benchmarks\n\n## Ingest\n\n(not run yet: `make bench-ingest`)\n"
    )
    pattern = re.compile(r"^## API\n.*?(?=^## |\Z)", re.S | re.M)
    match = pattern.search(existing)
    notes = ""
    if match and (kept := re.search(r"^### .*", match.group(0), re.S | re.M)):
        notes = "\n" + kept.group(0).rstrip("\n") + "\n"
    body = section + notes
    if match:
        updated = existing[: match.start()] + body + "\n" + existing[match.end() :]
    else:
        updated = existing.rstrip("\n") + "\n\n" + body
    path.write_text(updated.rstrip("\n") + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="nearest-open API vs raw SQL under wrk")
    parser.add_argument("--sizes", default="10000,1000000", help="comma-separated numbers of places")
    parser.add_argument("--seconds", type=int, default=15, help="wrk duration per cell")
    parser.add_argument("--connections", default="1,16,64")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--filters", default="service=repair", help="comma-separated query strings measured at one connection too"
    )
    parser.add_argument("--write", type=Path, help="update this file's 'API' section (BENCHMARKS.md)")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the raw query")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")

    settings = Settings()
    db.up(settings)
    probes = [cpu_probe()]
    runs: list[Run] = []
    sqls: list[Sql] = []
    notes: dict[int, str] = {}
    moments = instants()
    for size in (int(s) for s in args.sizes.split(",")):
        url, loaded = ensure_places(settings, size)
        postcodes = ensure_postcodes(url)
        print(f"{size:,} places ready" + (f" (ingest {loaded:.0f} s)" if loaded else " (reused)"), file=sys.stderr)
        with tempfile.TemporaryDirectory(prefix="locator-bench-") as tmp:
            served = serve(url, args.workers, Path(tmp) / "serve.log")
            try:
                for case, at in moments.items():
                    script = lua_script(paths(at), Path(tmp))
                    wrk(served.url, script, 4, 3)  # warm-up: pools, caches, schedules
                    for connections in (int(c) for c in args.connections.split(",")):
                        rate, p50, p99, errors = wrk(served.url, script, connections, args.seconds)
                        runs.append(Run(size, case, connections, rate, p50, p99, errors))
                        print(f"  {case} c={connections}: {rate:,.0f} req/s p50 {p50:.2f} p99 {p99:.2f} ms "
                              f"errors {errors}", file=sys.stderr)  # fmt: skip
                    p50, p99, rows = raw_sql(url, at)
                    whole50, whole99, _ = raw_sql(url, at, whole=True)
                    sqls.append(Sql(size, case, p50, p99, rows, whole50, whole99))
                    print(f"  {case} raw SQL: KNN p50 {p50:.3f} p99 {p99:.3f} ms, {rows:.1f} rows; whole "
                          f"p50 {whole50:.3f} p99 {whole99:.3f} ms", file=sys.stderr)  # fmt: skip
                    if args.explain:
                        print(explain(url, at), file=sys.stderr)
                    for extra in filter(None, args.filters.split(",")):
                        script = lua_script(paths(at, extra), Path(tmp))
                        wrk(served.url, script, 4, 2)
                        rate, p50, p99, errors = wrk(served.url, script, 1, args.seconds)
                        runs.append(Run(size, f"{case}, {extra}", 1, rate, p50, p99, errors))
                        print(f"  {case}, {extra} c=1: {rate:,.0f} req/s p50 {p50:.2f} p99 {p99:.2f} ms "
                              f"errors {errors}", file=sys.stderr)  # fmt: skip
                rss = server_rss_mb(served.process.pid)
            finally:
                stop(served)
        notes[size] = (f"server RSS {rss:.0f} MB (2 workers + supervisor), PostgreSQL PSS {postgres_pss_mb():.0f} MB "
                       f"(whole cluster), database {database_mb(url):.0f} MB, "
                       f"{postcodes:,} postcodes labelling the origins"
                       + (f"; loaded through the real ingest in {loaded:.0f} s" if loaded else ""))  # fmt: skip
    probes.append(cpu_probe())
    section = render(runs, sqls, notes, "python -m bench.api " + " ".join(argv or sys.argv[1:]), args.seconds, probes)
    print(section)
    if args.write:
        write_section(args.write, section)


if __name__ == "__main__":
    main()
