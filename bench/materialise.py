"""Where the materialisation of open intervals (locator/open_intervals.py) spends its time inside a publish.

    python -m bench.materialise --rows 100000

Loads N synthetic places through the real ingest into a fresh database, then re-runs `open_intervals.refresh`
several ways, each in a transaction rolled back afterwards:
- python: evaluating the hours and formatting the rows, the COPY replaced by a counter;
- copy-plain: the same rows COPYed into a temporary table without index or foreign key;
- as-published: what a publish runs (`refresh(conn, ids)`, every id of the feed, indexes live);
- full: `refresh(conn)` (no id list);
- unordered: as-published with the places read in heap order, not along the space-filling curve;
- gist-after: the GiST indexes of the day partitions dropped first (transactionally) and built after the COPY.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text

from bench.load import CACHE, fresh_database
from bench.synth import write_csv
from locator import db, open_intervals
from locator.settings import Settings

# The two GiSTs of migration 0023, as it creates them (its CREATE INDEX statements), one by one.
_MIGRATION_0023 = (
    resources.files("locator.migrations").joinpath("0023_open_intervals_long_spells_apart.sql").read_text("utf-8")
)
_GIST_INDEXES = [
    statement.strip()
    for statement in "\n".join(line for line in _MIGRATION_0023.splitlines() if not line.startswith("--")).split(";")
    if statement.strip().startswith("CREATE INDEX")
]


def _timed_refresh(
    engine: Engine,
    ids: Sequence[str] | None,
    *,
    copy: Callable[[Connection, str, Iterable[Sequence[object]]], int] | None = None,
    before: str | None = None,
    after: Sequence[str] = (),
) -> tuple[float, int, float]:
    """(seconds of refresh, rows written, seconds of `after`), rolled back."""
    # Patched on the module, since refresh() looks copy_rows up there at each call.
    original = vars(open_intervals)["copy_rows"]
    with engine.connect() as conn:
        db.unbounded(conn)
        conn.exec_driver_sql("DELETE FROM open_intervals")
        if before:
            conn.exec_driver_sql(before)
        if copy is not None:
            setattr(open_intervals, "copy_rows", copy)  # noqa: B010
        try:
            started = time.perf_counter()
            written = open_intervals.refresh(conn, ids)
            seconds = time.perf_counter() - started
        finally:
            setattr(open_intervals, "copy_rows", original)  # noqa: B010
        extra = 0.0
        if after:
            mark = time.perf_counter()
            for statement in after:
                conn.exec_driver_sql(statement)
            extra = time.perf_counter() - mark
        conn.rollback()
    return seconds, written, extra


def _unordered(engine: Engine, ids: Sequence[str]) -> tuple[float, int, float]:
    """as-published with the places in heap order instead of along the space-filling curve."""
    ordered = open_intervals.HOURS_ORDER
    setattr(open_intervals, "HOURS_ORDER", "")  # noqa: B010
    try:
        return _timed_refresh(engine, ids)
    finally:
        setattr(open_intervals, "HOURS_ORDER", ordered)  # noqa: B010


def _count_only(conn: Connection, statement: str, rows: Iterable[Sequence[object]]) -> int:
    return sum(1 for _ in rows)


def _copy_plain(conn: Connection, statement: str, rows: Iterable[Sequence[object]]) -> int:
    conn.exec_driver_sql(
        "CREATE TEMP TABLE oi_plain (location_id text, service text, day date, during tstzrange,"
        " geog geography(Point, 4326), version text)"
        " ON COMMIT DROP"
    )
    return db.copy_rows(conn, statement.replace("open_intervals", "oi_plain"), rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    csv_path = CACHE / f"places-{args.rows}.csv"
    if not csv_path.exists():
        write_csv(csv_path, args.rows)
    settings = Settings()
    db.up(settings)
    from ingest.publish import ingest_file

    with fresh_database(settings, f"locator_bench_{os.getpid()}_materialise") as engine:
        report = ingest_file(engine, Path(csv_path), source="bench")
        assert report.published, report.message
        ids = report.added
        print(f"ingest {args.rows:,}: {report.timings}")
        results: dict[str, Any] = {
            "python": _timed_refresh(engine, None, copy=_count_only),
            "copy-plain": _timed_refresh(engine, None, copy=_copy_plain),
            "as-published": _timed_refresh(engine, ids),
            "full": _timed_refresh(engine, None),
            "unordered": _unordered(engine, ids),
            "gist-after": _timed_refresh(
                engine,
                None,
                before="DROP INDEX open_intervals_short_geog_during_idx, open_intervals_long_geog_during_idx",
                after=_GIST_INDEXES,
            ),
        }
        with engine.connect() as conn:
            per_place = conn.execute(text("SELECT count(*)::float / count(DISTINCT location_id) FROM open_intervals"))
            ratio = per_place.scalar_one()
    for name, (seconds, written, extra) in results.items():
        tail = f" + index build {extra:.1f}s" if extra else ""
        print(f"{name:>13}: {written:,} interval rows in {seconds:.1f}s = {written / seconds:,.0f} rows/s{tail}")
    print(f"{ratio:.1f} interval rows per place")


if __name__ == "__main__":
    main()
