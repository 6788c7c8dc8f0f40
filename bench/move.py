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

from sqlalchemy import Connection, text

from bench.load import fresh_database
from locator import db, open_intervals
from locator.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="a database loaded by bench.api or bench.load")
    parser.add_argument("--batch", type=int, default=open_intervals.MOVE_BATCH)
    args = parser.parse_args()
    settings = Settings()
    db.up(settings)
    # The copy is migrated too: the benchmark's database may predate a migration of this code.
    with fresh_database(settings, f"{args.database}_move", template=args.database) as engine:
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
    print(
        f"{places:,} places. Daily move: {moved:,} rows in {move_s:.1f} s, {len(batches)} transactions "
        f"(lock held: median {statistics.median(batches):.2f} s, longest {max(batches):.2f} s). "
        f"Full recomputation: {full:,} rows in {full_s:.1f} s (one transaction). Move / full: "
        f"{move_s / full_s:.2f}"
    )


if __name__ == "__main__":
    main()
