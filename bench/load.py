"""Load benchmark: the real ingest against a raw COPY + index build and geopandas `to_postgis`, same rows, same run.

    python -m bench.load --rows 1000000 [--write BENCHMARKS.md] [--only ingest,copy,to_postgis] [--profile OUT]

Each contender loads the same synthetic CSV (bench/synth.py) into a fresh database created for the run and
dropped after it:
- ingest: `ingest.publish.ingest_file` — read, validate (hours parsed, timezone inferred), hash, diff, publish in
  one transaction with the materialised open intervals, audit;
- copy: `COPY ... FROM STDIN (FORMAT csv)` of the file into an unindexed table of the same columns with a
  generated geography point, then its primary key and GiST index;
- to_postgis: `pandas.read_csv` + `geopandas.points_from_xy` + `GeoDataFrame.to_postgis` (its own spatial index).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import re
import resource
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from bench.synth import write_csv
from locator import db
from locator.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".locator" / "bench"


@dataclass
class Result:
    name: str
    rows: int
    seconds: float
    detail: dict[str, float] = field(default_factory=dict)
    peak_rss_mb: float | None = None

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


def _url(settings: Settings, database: str) -> str:
    return make_url(settings.sqlalchemy_url()).set(database=database).render_as_string(hide_password=False)


@contextmanager
def fresh_database(settings: Settings, name: str, template: str | None = None) -> Iterator[Engine]:
    """A database of its own (a copy of `template`, if given) with the schema up to date, dropped after."""
    admin = create_engine(_url(settings, "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    engine = db.make_engine(settings.model_copy(update={"database_url": _url(settings, name)}))
    try:
        db.init_schema(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def run_ingest(engine: Engine, path: Path, rows: int, profile: Path | None) -> Result:
    from ingest.publish import ingest_file

    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    report = ingest_file(engine, path, source="bench")
    if profiler:
        profiler.disable()
        profiler.dump_stats(str(profile))
    seconds = time.perf_counter() - started
    if not report.published or len(report.added) != rows:
        raise SystemExit(f"ingest did not publish {rows} rows: {report.message} {report.as_dict()['rejected'][:3]}")
    result = Result("ingest", rows, seconds, dict(report.timings))
    # ru_maxrss is in KiB on Linux: the whole benchmark process, so an upper bound on the ingest's own peak.
    result.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


_RAW_TABLE = """
CREATE TABLE raw_places (
    id text, name text, kind text, street text, postcode text, city text, region text, country text,
    lat double precision, lon double precision, opening_hours text, repair_hours text, products text,
    services text, phone text, url text,
    geog geography(Point, 4326) GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography) STORED
)
"""


def run_copy(engine: Engine, path: Path, rows: int) -> Result:
    detail: dict[str, float] = {}
    started = time.perf_counter()
    with engine.begin() as conn:
        db.unbounded(conn)
        conn.exec_driver_sql(_RAW_TABLE)
        raw = conn.connection.driver_connection
        assert raw is not None
        with (
            raw.cursor() as cur,
            cur.copy("COPY raw_places (id, name, kind, street, postcode, city, region, country, lat, lon,"
                     " opening_hours, repair_hours, products, services, phone, url) FROM STDIN (FORMAT csv, HEADER)")
            as copy,
            path.open("rb") as handle,
        ):  # fmt: skip
            while chunk := handle.read(1 << 20):
                copy.write(chunk)
        detail["copy"] = time.perf_counter() - started
        mark = time.perf_counter()
        conn.exec_driver_sql("ALTER TABLE raw_places ADD PRIMARY KEY (id)")
        conn.exec_driver_sql("CREATE INDEX raw_places_geog_idx ON raw_places USING gist (geog)")
        detail["index"] = time.perf_counter() - mark
        loaded = conn.execute(text("SELECT count(*) FROM raw_places")).scalar_one()
    if loaded != rows:
        raise SystemExit(f"COPY loaded {loaded} rows, expected {rows}")
    return Result("copy", rows, time.perf_counter() - started, detail)


def run_to_postgis(engine: Engine, path: Path, rows: int) -> Result:
    import geopandas
    import pandas

    started = time.perf_counter()
    frame = pandas.read_csv(path, dtype=str, keep_default_na=False)
    lat, lon = frame.pop("lat").astype(float), frame.pop("lon").astype(float)
    places = geopandas.GeoDataFrame(frame, geometry=geopandas.points_from_xy(lon, lat), crs="EPSG:4326")
    read = time.perf_counter() - started
    places.to_postgis("gpd_places", engine, if_exists="replace", index=False, chunksize=50_000)
    seconds = time.perf_counter() - started
    return Result("to_postgis", rows, seconds, {"read": read, "write": seconds - read})


def machine(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        pg = conn.execute(text("SHOW server_version")).scalar_one()
        postgis = conn.execute(text("SELECT postgis_lib_version()")).scalar_one()
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))  # fmt: skip
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine())  # fmt: skip
    return {
        "cpus": f"{os.cpu_count()} CPUs ({cpu})",
        "ram": f"{mem_kb / 1024 / 1024:.0f} GiB",
        "postgresql": str(pg).split()[0],
        "postgis": str(postgis),
        "python": platform.python_version(),
        "load": "{:.1f} {:.1f} {:.1f}".format(*os.getloadavg()),
    }


def render(results: list[Result], info: dict[str, str], command: str) -> str:
    by_name = {r.name: r for r in results}
    lines = [
        "## Ingest",
        "",
        f"Command: `{command}` (also `make bench-ingest`).",
        f"Machine: {info['cpus']}, {info['ram']} RAM,",
        f"PostgreSQL {info['postgresql']}, PostGIS {info['postgis']}, Python {info['python']}; the embedded",
        "cluster with its default settings. One run on a shared machine (load average at the start:",
        f"{info['load']}), so absolute figures move a lot between runs; the ratio, measured in the same run, less.",
        "",
        "| contender | rows | seconds | rows/s | breakdown (s) |",
        "|---|---:|---:|---:|---|",
    ]
    for r in results:
        breakdown = ", ".join(f"{k} {v:.1f}" for k, v in r.detail.items())
        lines.append(f"| {r.name} | {r.rows:,} | {r.seconds:.1f} | {r.rate:,.0f} | {breakdown} |")
    if "ingest" in by_name and by_name["ingest"].peak_rss_mb:
        lines += ["", f"Peak memory (RSS) of the process after the ingest: {by_name['ingest'].peak_rss_mb:,.0f} MB."]
    if "ingest" in by_name and "copy" in by_name:
        ratio = by_name["ingest"].rate / by_name["copy"].rate
        lines += ["", f"Ingest / (COPY + index): **{ratio:.2f}** (target: at least 0.5)."]
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str, notes: str) -> None:
    """Replace this benchmark's generated part of the "Ingest" section, keeping other sections and the notes."""
    body = section + ("\n" + notes if notes else "")
    existing = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(r"^## Ingest\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(existing):
        updated = pattern.sub(lambda _: body + "\n", existing, count=1)
    else:
        updated = existing.rstrip("\n") + "\n\n" + body
    path.write_text(updated.rstrip("\n") + "\n")


def _notes(path: Path) -> str:
    """The hand-written notes after the generated table (they start at "### "), carried over on rewrite."""
    if not path.exists():
        return ""
    match = re.search(r"^## Ingest\n.*?(^### .*?)(?=^## |\Z)", path.read_text(), re.S | re.M)
    return match.group(1).rstrip("\n") + "\n" if match else ""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="ingest vs COPY+index vs to_postgis")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--only", default="copy,ingest,to_postgis", help="comma-separated contenders")
    parser.add_argument("--write", type=Path, help="update this file's 'Ingest' section (BENCHMARKS.md)")
    parser.add_argument("--profile", type=Path, help="cProfile the ingest into this file")
    args = parser.parse_args(argv)

    CACHE.mkdir(parents=True, exist_ok=True)
    csv_path = CACHE / f"places-{args.rows}.csv"
    if not csv_path.exists():
        print(f"generating {csv_path}", file=sys.stderr)
        write_csv(csv_path, args.rows)
    settings = Settings()
    db.up(settings)
    runners: dict[str, Callable[[Engine], Result]] = {
        "copy": lambda engine: run_copy(engine, csv_path, args.rows),
        "ingest": lambda engine: run_ingest(engine, csv_path, args.rows, args.profile),
        "to_postgis": lambda engine: run_to_postgis(engine, csv_path, args.rows),
    }
    results: list[Result] = []
    info: dict[str, str] = {}
    for name in args.only.split(","):
        # A database per contender: each starts from the same empty schema and none pays for another's bloat.
        with fresh_database(settings, f"locator_bench_{os.getpid()}_{name}") as engine:
            info = info or machine(engine)
            result = runners[name](engine)
        results.append(result)
        breakdown = ", ".join(f"{k} {v:.1f}s" for k, v in result.detail.items())
        rate = f"{result.rows:,} rows in {result.seconds:.1f}s = {result.rate:,.0f} rows/s"
        print(f"{name:>10}: {rate} {breakdown} (load {os.getloadavg()[0]:.1f})", flush=True)
    command = "python -m bench.load " + " ".join(argv if argv is not None else sys.argv[1:])
    section = render(results, info, command.strip())
    print(section)
    if args.write:
        write_section(args.write, section, _notes(args.write))


if __name__ == "__main__":
    main()
