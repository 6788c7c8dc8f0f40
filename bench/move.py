"""The daily move of the materialised window against a full recomputation, on a loaded database.

    python -m bench.move --database locator_bench_api_1000000

Copies the database (CREATE DATABASE ... TEMPLATE, so the source is left as it was), then on the copy: the
daily move (`open_intervals.advance`) from the stored window to the next day's, with how long each batch held
MATERIALISE_LOCK (what a publish or an exception change waits for at most), and a full recomputation of that
same window (`open_intervals.refresh`, one transaction). The copy is dropped at the end. Build the database
first with `python -m bench.api` (it loads 1M places through the real ingest).
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, create_engine, text

from bench.load import _url
from locator import db, open_intervals
from locator.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="a database loaded by bench.api or bench.load")
    parser.add_argument("--batch", type=int, default=open_intervals.MOVE_BATCH)
    args = parser.parse_args()
    settings = Settings()
    db.up(settings)
    copy = f"{args.database}_move"
    admin = create_engine(_url(settings, "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{copy}"')
        conn.exec_driver_sql(f'CREATE DATABASE "{copy}" TEMPLATE "{args.database}"')
    engine = db.make_engine(settings.model_copy(update={"database_url": _url(settings, copy)}))
    try:
        db.init_schema(engine)  # the copy may predate a migration of this code
        with engine.connect() as conn:
            stored = open_intervals.current_window(conn)
            places = conn.execute(text("SELECT count(*) FROM locations")).scalar_one()
        assert stored is not None, "the database has no materialised window"
        tomorrow = stored.start + timedelta(days=open_intervals.WINDOW_DAYS_BACK + 1, hours=12)

        held: list[float] = []
        original = open_intervals._lock_alone

        def timed_lock(conn: Connection, wait: str) -> None:
            original(conn, wait)
            held.append(time.perf_counter())

        open_intervals._lock_alone = timed_lock  # type: ignore[assignment]
        try:
            started = time.perf_counter()
            moved = open_intervals.advance(engine, now=tomorrow, batch=args.batch)
            move_s = time.perf_counter() - started
        finally:
            open_intervals._lock_alone = original  # type: ignore[assignment]
        batches = [b - a for a, b in zip(held, [*held[1:], started + move_s], strict=True)]

        with engine.connect() as conn:
            started = time.perf_counter()
            full = open_intervals.refresh(conn, now=tomorrow)
            full_s = time.perf_counter() - started
            conn.rollback()
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')
        admin.dispose()
    report: dict[str, Any] = {
        "places": places,
        "move_s": move_s,
        "move_rows": moved,
        "batches": len(batches),
        "batch_median_s": statistics.median(batches),
        "batch_max_s": max(batches),
        "full_s": full_s,
        "full_rows": full,
    }
    print(
        f"{places:,} places. Daily move: {moved:,} rows in {move_s:.1f} s, {len(batches)} transactions "
        f"(lock held: median {report['batch_median_s']:.2f} s, longest {report['batch_max_s']:.2f} s). "
        f"Full recomputation: {full:,} rows in {full_s:.1f} s (one transaction). Move / full: "
        f"{move_s / full_s:.2f}"
    )


if __name__ == "__main__":
    main()
