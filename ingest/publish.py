"""Validate a feed, diff it against what its source holds now, and publish the whole snapshot atomically.

One transaction per publish, under a per-source advisory lock: the places, their hours and their materialised
open intervals change together, so a reader sees the old snapshot or the new one, never a mix. A process killed
in the middle leaves the transaction uncommitted, which PostgreSQL rolls back. Every run is recorded in
`ingest_runs`, in its own transaction, whatever its outcome.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text

from ingest.readers import FeedError, Record, read_feed
from ingest.validate import LocationRecord, Rejection, RowValidator, Warning
from locator import open_intervals
from locator.db import copy_rows, unbounded

REMOVAL_GUARD = 0.20
EXAMPLES = 5


@dataclass
class IngestReport:
    source: str
    format: str
    file_name: str | None
    file_sha256: str | None
    dry_run: bool
    published: bool = False
    outcome: str = "dry-run"
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    rows: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    warnings: list[Warning] = field(default_factory=list)
    message: str = ""
    run_id: int | None = None
    # Ids of rejected rows: under --partial their published version stays (a rejection is not a removal).
    rejected_ids: set[str] = field(default_factory=set)
    # Seconds per phase (read+validate, diff, write, materialise...), for benchmarks and slow-run diagnosis.
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return 1 if self.rejected or self.outcome in ("refused", "failed") else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "published": self.published,
            "added": len(self.added),
            "changed": len(self.changed),
            "removed": len(self.removed),
            "unchanged": self.unchanged,
            "rejected": [r.as_dict() for r in self.rejected],
            "warnings": [w.as_dict() for w in self.warnings],
            "source": self.source,
            "format": self.format,
            "dry_run": self.dry_run,
            "outcome": self.outcome,
            "message": self.message,
            "rows": self.rows,
            "examples": {
                "added": self.added[:EXAMPLES],
                "changed": self.changed[:EXAMPLES],
                "removed": self.removed[:EXAMPLES],
            },
            "file_sha256": self.file_sha256,
            "run_id": self.run_id,
        }


@contextmanager
def _timed(report: IngestReport, phase: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        report.timings[phase] = report.timings.get(phase, 0.0) + time.perf_counter() - started


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def ingest_file(
    engine: Engine,
    path: Path,
    *,
    source: str,
    fmt: str = "auto",
    dry_run: bool = False,
    partial: bool = False,
    allow_removals: bool = False,
    actor: str | None = None,
    file_name: str | None = None,
    locate: Callable[[dict[str, Any]], tuple[float, float, str] | None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> IngestReport:
    report = IngestReport(source, fmt, file_name or path.name, None, dry_run)
    try:
        with _timed(report, "hash"):
            report.file_sha256 = file_sha256(path)
        with _timed(report, "validate"):
            rows = read_feed(path, fmt)
            records = _validate(rows, report, locate, progress)
    except FeedError as exc:
        report.outcome = "failed"
        report.message = str(exc)
        report.rejected.append(Rejection(0, "", None, str(exc)))
        _audit(engine, report, actor)
        return report
    return publish(engine, records, report, partial=partial, allow_removals=allow_removals, actor=actor)


def _validate(
    rows: Iterable[tuple[int, Record]],
    report: IngestReport,
    locate: Callable[[dict[str, Any]], tuple[float, float, str] | None] | None,
    progress: Callable[[int], None] | None,
) -> list[LocationRecord]:
    validator = RowValidator(locate)
    records: list[LocationRecord] = []
    seen: dict[str, int] = {}
    for number, raw in rows:
        report.rows += 1
        record = validator.validate(number, raw)
        if progress is not None and report.rows % 1000 == 0:
            progress(report.rows)
        if record is None:
            continue
        if record.id in seen:
            validator.rejections.append(
                Rejection(number, "id", record.id, f"duplicate id: row {seen[record.id]} has the same id")
            )
            continue
        seen[record.id] = number
        records.append(record)
    if progress is not None:
        progress(report.rows)
    report.rejected.extend(validator.rejections)
    report.rejected_ids = validator.rejected_ids
    report.warnings.extend(validator.warnings)
    if report.rows == 0:
        report.rejected.append(Rejection(0, "", None, "the feed holds no rows"))
    return records


def publish(
    engine: Engine,
    records: list[LocationRecord],
    report: IngestReport,
    *,
    partial: bool = False,
    allow_removals: bool = False,
    actor: str | None = None,
) -> IngestReport:
    """Diff and, unless a dry run or refused, swap the source's snapshot in one transaction."""
    with engine.begin() as conn:
        unbounded(conn)
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('ingest:' || :s))"), {"s": report.source})
        foreign = _reject_foreign_ids(conn, records, report)
        records = [r for r in records if r.id not in foreign]
        current = {
            row.id: row.content_hash
            for row in conn.execute(
                text("SELECT id, content_hash FROM locations WHERE source = :s"), {"s": report.source}
            )
        }
        incoming = {r.id: r for r in records}
        # A row rejected under --partial keeps its published version: rejection must not read as removal.
        kept = report.rejected_ids
        report.added = sorted(i for i in incoming if i not in current)
        report.changed = sorted(i for i in incoming if i in current and current[i] != incoming[i].content_hash)
        report.removed = sorted(i for i in current if i not in incoming and i not in kept)
        report.unchanged = sum(1 for i in incoming if current.get(i) == incoming[i].content_hash)

        if report.rejected and not partial:
            report.outcome = "rejected"
            report.message = (
                f"{len(report.rejected)} row(s) rejected: nothing published (use --partial to publish the rest)"
            )
        elif current and len(report.removed) > REMOVAL_GUARD * len(current) and not allow_removals:
            report.outcome = "refused"
            report.message = (
                f"the feed would remove {len(report.removed)} of {len(current)} places of source "
                f"{report.source!r} (more than {REMOVAL_GUARD:.0%}): refused; pass --allow-removals if intended"
            )
        elif report.dry_run:
            report.outcome = "dry-run"
            report.message = "dry run: nothing changed"
        else:
            _write(conn, report, [incoming[i] for i in report.added + report.changed])
            report.published = True
            report.outcome = "published"
            report.message = (
                f"published {len(report.added)} added, {len(report.changed)} changed, {len(report.removed)} removed"
            )
        if not report.published:
            conn.rollback()
        commit = _timed(report, "commit")
        commit.__enter__()
    commit.__exit__(None, None, None)
    with _timed(report, "audit"):
        _audit(engine, report, actor)
    return report


def _reject_foreign_ids(conn: Connection, records: list[LocationRecord], report: IngestReport) -> set[str]:
    ids = [r.id for r in records]
    if not ids:
        return set()
    clashes = conn.execute(
        text("SELECT id, source FROM locations WHERE id = ANY(:ids) AND source <> :s"),
        {"ids": ids, "s": report.source},
    ).all()
    by_id = {r.id: r for r in records}
    for clash in clashes:
        report.rejected.append(
            Rejection(by_id[clash.id].row, "id", clash.id, f"id already held by source {clash.source!r}")
        )
    return {clash.id for clash in clashes}


def _write(conn: Connection, report: IngestReport, upserts: list[LocationRecord]) -> None:
    if report.removed:
        conn.execute(text("DELETE FROM locations WHERE id = ANY(:ids)"), {"ids": report.removed})
    if upserts:
        conn.execute(
            text(
                "CREATE TEMP TABLE staged_locations (LIKE locations INCLUDING DEFAULTS) ON COMMIT DROP;"
                "CREATE TEMP TABLE staged_hours (LIKE location_hours) ON COMMIT DROP"
            )
        )
        now = datetime.now(UTC)
        stage = _timed(report, "stage")
        stage.__enter__()
        copy_rows(
            conn,
            "COPY staged_locations (id, source, name, kind, kinds, street, postcode, city, region, country,"
            " geog, geo_precision, timezone, phone, url, products, services, hours_services, content_hash,"
            " updated_at) FROM STDIN",
            (
                (
                    r.id, report.source, r.name, r.kind, r.kinds, r.street, r.postcode, r.city, r.region,
                    r.country, f"SRID=4326;POINT({r.lon!r} {r.lat!r})", r.geo_precision, r.timezone,
                    r.phone, r.url, r.products, r.services, sorted(s for s in r.hours if s),
                    r.content_hash, now,
                )
                for r in upserts
            ),
        )  # fmt: skip
        copy_rows(
            conn,
            "COPY staged_hours (location_id, service, raw, canonical) FROM STDIN",
            ((r.id, service, raw, canonical) for r in upserts for service, (raw, canonical) in r.hours.items()),
        )
        stage.__exit__(None, None, None)
        upsert = _timed(report, "upsert")
        upsert.__enter__()
        conn.execute(
            text(
                """
                INSERT INTO locations
                SELECT * FROM staged_locations
                    ON CONFLICT (id) DO UPDATE
                   SET source = excluded.source, name = excluded.name, kind = excluded.kind,
                       kinds = excluded.kinds, street = excluded.street, postcode = excluded.postcode,
                       city = excluded.city, region = excluded.region, country = excluded.country,
                       geog = excluded.geog, geo_precision = excluded.geo_precision,
                       timezone = excluded.timezone, phone = excluded.phone, url = excluded.url,
                       products = excluded.products, services = excluded.services,
                       hours_services = excluded.hours_services, content_hash = excluded.content_hash,
                       updated_at = excluded.updated_at
                """
            )
        )
        conn.execute(text("DELETE FROM location_hours WHERE location_id IN (SELECT id FROM staged_locations)"))
        conn.execute(text("INSERT INTO location_hours SELECT * FROM staged_hours"))
        upsert.__exit__(None, None, None)
        with _timed(report, "open_intervals"):
            open_intervals.refresh(conn, [r.id for r in upserts])


def _audit(engine: Engine, report: IngestReport, actor: str | None) -> None:
    try:
        with engine.begin() as conn:
            report.run_id = conn.execute(
                text(
                    """
                    INSERT INTO ingest_runs (finished_at, source, format, file_name, file_sha256, dry_run, outcome,
                                             added, changed, removed, unchanged, rejected, warnings, actor, report)
                    VALUES (now(), :source, :format, :file_name, :sha, :dry_run, :outcome, :added, :changed,
                            :removed, :unchanged, :rejected, :warnings, :actor, CAST(:report AS jsonb))
                    RETURNING id
                    """
                ),
                {
                    "source": report.source,
                    "format": report.format,
                    "file_name": report.file_name,
                    "sha": report.file_sha256,
                    "dry_run": report.dry_run,
                    "outcome": report.outcome,
                    "added": len(report.added),
                    "changed": len(report.changed),
                    "removed": len(report.removed),
                    "unchanged": report.unchanged,
                    "rejected": len(report.rejected),
                    "warnings": len(report.warnings),
                    "actor": actor,
                    "report": json.dumps({**report.as_dict(), "warnings": report.as_dict()["warnings"][:200]}),
                },
            ).scalar_one()
    except Exception:
        # The audit must not turn a published snapshot into a reported failure; the run itself stands.
        report.run_id = None
