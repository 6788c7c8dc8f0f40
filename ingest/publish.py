"""Validate a feed, diff it against what its source holds now, and publish the whole snapshot atomically.

One transaction per publish, under a per-source advisory lock: the places, their hours and their materialised
open intervals change together, so a reader sees the old snapshot or the new one, never a mix. A process killed
in the middle leaves the transaction uncommitted, which PostgreSQL rolls back. Every run is recorded in
`ingest_runs`, in its own transaction, whatever its outcome.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg.errors import LockNotAvailable, UniqueViolation
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from ingest.readers import FeedError, Record, read_feed, resolve_format
from ingest.validate import Locate, LocationRecord, Rejection, RowValidator, Warning
from locator import open_intervals
from locator.db import REMOVAL_GUARD, copy_rows, lock_source, outage_reason, unbounded
from locator.errors import Busy, GeocoderUnavailable
from locator.special_hours import (
    Selected,
    batches_for_staged,
    extend_batches,
    in_force_from,
    own_general_hours,
    selected_before,
    share_batches,
)

log = logging.getLogger("ingest")

LOCK_WAIT = "30min"
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
    # How many places the source held before this run (the removal guard's base).
    current: int = 0
    # When the run began, for the audit (its row is written at the end, so the database's now() is the end).
    started_at: datetime | None = None
    # Failed for a reason that is not the feed's: the feed may be fine, try again. What did not answer ("database
    # unavailable": a lost connection, a lock wait given up; "geocoder unavailable"; "busy"), else empty.
    unavailable: str = ""
    # The input columns that changed, for the first changed places (_changed_fields)
    changed_fields: dict[str, list[str]] = field(default_factory=dict)
    # Ops' batches of exceptions the places added or changed into their selections got
    # (locator.special_hours.extend_batches): batch -> ids; in a dry run, those they would get
    # (special_hours.batches_for_staged)
    batches: dict[int, list[str]] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return 1 if self.rejected or self.outcome in ("refused", "failed") else 0

    def fail(self, message: str) -> None:
        """A failed run: the transaction rolled back, so nothing of the diff happened."""
        self.published = False
        self.added, self.changed, self.removed, self.unchanged = [], [], [], 0
        self.changed_fields, self.batches = {}, {}
        self.outcome = "failed"
        self.message = message

    @property
    def rejected_rows(self) -> int:
        """Rows rejected (a row may be rejected for several reasons, each listed)."""
        return len({r.row for r in self.rejected})

    def as_dict(self, examples: int = EXAMPLES) -> dict[str, Any]:
        """The report (CONTRACT.md's keys and more); `examples` ids of each kind of change, 0 for all of them."""
        shown = slice(None) if examples <= 0 else slice(examples)
        return {
            "published": self.published,
            "added": len(self.added),
            "changed": len(self.changed),
            "removed": len(self.removed),
            "unchanged": self.unchanged,
            "rejected": [r.as_dict() for r in self.rejected],
            "rejected_rows": self.rejected_rows,
            "warnings": [w.as_dict() for w in self.warnings],
            "source": self.source,
            "format": self.format,
            "dry_run": self.dry_run,
            "outcome": self.outcome,
            "message": self.message,
            "rows": self.rows,
            "examples": {
                "added": self.added[shown],
                "changed": self.changed[shown],
                "removed": self.removed[shown],
            },
            # id -> the input columns that changed, for the changed places listed above
            "changed_fields": {i: self.changed_fields[i] for i in self.changed[shown] if i in self.changed_fields},
            # ops' batches of exceptions (by number) the added places (or those changed into their selections)
            # got, with how many of them
            "batches": {str(batch): len(ids) for batch, ids in self.batches.items()},
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
    locate: Locate | None = None,
    progress: Callable[[int], None] | None = None,
) -> IngestReport:
    """Read, validate, diff and publish a feed file; a file that cannot be read is a `failed` run, not a raise.

    Rows stream from the file through validation into the publish transaction's staging tables: only ids (for
    the duplicate check) and the report stay in memory, whatever the size of the file.
    """
    # A file name that is not UTF-8 (bytes Python keeps as surrogates) could not be written to the audit.
    shown = file_name or path.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    report = IngestReport(source, fmt, shown, None, dry_run, started_at=datetime.now(UTC))
    try:
        # First: the audit of a file that cannot be read says which file it was.
        with _timed(report, "hash"):
            report.file_sha256 = file_sha256(path)
        # The format actually read goes in the report and the audit, not `auto`; this also checks the file.
        report.format = resolve_format(path, fmt)
        rows = read_feed(path, report.format)
        return publish(
            engine, _validate(rows, report, locate, progress, empty_ok=allow_removals), report,
            partial=partial, allow_removals=allow_removals, actor=actor,
        )  # fmt: skip
    except (FeedError, OSError) as exc:
        # Raised while reading, so inside the publish transaction, which has rolled back: nothing changed.
        message = str(exc) if isinstance(exc, FeedError) else f"{path.name}: cannot read the file ({exc.strerror})"
        report.fail(message)
        # The row where the file broke (a CSV line with too many fields), 0 when it is no row's fault.
        report.rejected.append(Rejection(exc.row if isinstance(exc, FeedError) else 0, "", None, message))
        _audit(engine, report, actor)
        return report
    except Exception as exc:
        _audit_fault(engine, report, actor, exc)
        raise


def audit_unread(
    engine: Engine, *, source: str, fmt: str, dry_run: bool, actor: str | None, message: str
) -> IngestReport:
    """A run whose file never arrived whole (an admin upload past its size limit): a failed run in the audit,
    as a file that cannot be read is; the trail holds every attempt, the refused ones too."""
    report = IngestReport(source, fmt, None, None, dry_run, started_at=datetime.now(UTC))
    report.fail(message)
    report.rejected.append(Rejection(0, "", None, message))
    _audit(engine, report, actor)
    return report


def _validate(
    rows: Iterable[tuple[int, Record]],
    report: IngestReport,
    locate: Locate | None,
    progress: Callable[[int], None] | None,
    *,
    empty_ok: bool = False,
) -> Iterator[LocationRecord]:
    """Valid records as they are read; rejections and warnings land in the report once the rows run out.
    `empty_ok`: a feed without rows retires its source (asked with allow_removals), else it is refused."""
    validator = RowValidator(locate)
    seen: dict[str, int] = {}
    # Ids holding capitals, by their case-folded form: "S1" and "s1" are two places, and one is most often a
    # typo. Only those (most feeds' ids are lower-case or digits): 1M entries here were ~100 MB more at peak.
    capitals: dict[str, tuple[str, int]] = {}
    rejected_rows = validator.rejected_rows  # ids of rejected rows count as seen too (row 3 rejected, row 4 dup)
    for number, raw in rows:
        report.rows += 1
        record = validator.validate(number, raw)
        if progress is not None and report.rows % 1000 == 0:
            progress(report.rows)
        if record is None:
            continue
        first = seen.setdefault(record.id, number)
        if first == number and rejected_rows:
            first = rejected_rows.get(record.id, number)  # rejected rows so far are all earlier than this one
        if first != number:
            validator.rejections.append(
                Rejection(number, "id", record.id, f"duplicate id: row {first} has the same id")
            )
            continue
        folded = record.id.casefold()
        if folded != record.id:
            other, row = capitals.setdefault(folded, (record.id, number))
            if other == record.id and folded in seen:
                other, row = folded, seen[folded]
        else:
            other, row = capitals.get(folded, (record.id, number))
        if other != record.id:
            reason = f"row {row}'s id is {other!r}: two places whose ids differ only in case (a typo?)"
            validator.warnings.append(Warning(number, "id", record.id, reason))
        yield record
    if progress is not None:
        progress(report.rows)
    report.rejected.extend(validator.rejections)
    report.rejected_ids = set(validator.rejected_rows)
    report.warnings.extend(validator.warnings)
    if report.rows == 0 and not empty_ok:
        # A broken export more often than a retired source: that takes saying so.
        message = "the feed holds no rows (to remove every place of the source, publish it with --allow-removals)"
        report.rejected.append(Rejection(0, "", None, message))


def publish(
    engine: Engine,
    records: Iterable[LocationRecord],
    report: IngestReport,
    *,
    partial: bool = False,
    allow_removals: bool = False,
    actor: str | None = None,
) -> IngestReport:
    """Diff and, unless a dry run or refused, swap the source's snapshot in one transaction.

    The records (a list, or a stream straight from validation) are copied into temporary staging tables; the
    diff, the removal guard and the swap are then set operations in SQL. Unchanged places are not rewritten,
    so re-running a feed costs its reading and one join.
    """
    if report.started_at is None:  # called with records of its own (tests, tools), not through ingest_file
        report.started_at = datetime.now(UTC)
    try:
        with engine.begin() as conn:
            unbounded(conn)
            # A second ingest of the same source waits here, then diffs against what the first one published.
            # A big feed takes minutes, so this wait is long; the lock timeout then goes back to the usual.
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'")
            lock_source(conn, report.source)
            conn.exec_driver_sql("SET LOCAL lock_timeout = '60s'")
            _swap(conn, records, report, partial=partial, allow_removals=allow_removals)
            committing = time.perf_counter()
        report.timings["commit"] = time.perf_counter() - committing
    except Busy as exc:  # a batch of ops' exceptions held its lock for minutes (special_hours.extend_batches)
        report.fail(f"{exc}: nothing changed, run it again")
        report.unavailable = "busy"
    except GeocoderUnavailable as exc:  # rows without coordinates, their geocoders down: not the rows' fault
        report.fail(f"{exc}: nothing changed, run it again when the geocoder answers")
        report.unavailable = "geocoder unavailable"
    except (DBAPIError, psycopg.Error) as exc:
        # Whatever the database refused (a lock wait given up, an id another source published meanwhile, a lost
        # connection), the transaction rolled back: a failed run, in the audit like any other, not a traceback.
        # The staging COPY runs on psycopg itself, whose errors SQLAlchemy does not wrap.
        report.fail(_database_failure(report, exc))
        report.unavailable = "database unavailable" if outage_reason(exc) is not None else ""
        if not report.unavailable:  # a row of the feed may be at fault (an id another source holds)
            report.rejected.append(Rejection(0, "", None, report.message))
    except (FeedError, OSError):
        raise  # the file broke while read (rows stream into the transaction): ingest_file's to report
    except Exception as exc:
        _audit_fault(engine, report, actor, exc)
        raise
    report.rejected.sort(key=lambda r: r.row)
    with _timed(report, "audit"):
        _audit(engine, report, actor)
    return report


def _database_failure(report: IngestReport, exc: DBAPIError | psycopg.Error) -> str:
    """A one-paragraph account of a database error, for ops staff: PostgreSQL's own message and detail."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if isinstance(orig, LockNotAvailable):
        return (
            f"gave up waiting for a lock (another ingest of source {report.source!r}, or a full refresh of the open"
            " intervals?): nothing changed"
        )
    diag = getattr(orig, "diag", None)
    primary = getattr(diag, "message_primary", None) or str(orig or exc).strip().splitlines()[0]
    detail = getattr(diag, "message_detail", None)
    message = f"the database refused the publish ({primary}{'; ' + detail if detail else ''}): nothing changed"
    if isinstance(orig, UniqueViolation):
        message += "; another ingest may have published the same ids meanwhile: run it again to see which"
    return message


def _swap(
    conn: Connection, records: Iterable[LocationRecord], report: IngestReport, *, partial: bool, allow_removals: bool
) -> None:
    """Stage, diff, and unless refused or a dry run, write; rolls back what it staged when it does not publish."""
    with _timed(report, "validate+stage"):
        staged = _stage(conn, records)
    with _timed(report, "diff"):
        staged -= _reject_foreign_ids(conn, report)
        _diff(conn, report, staged)
        _changed_fields(conn, report)
        _warn_removed_exceptions(conn, report)

    if report.rejected and not partial:
        report.outcome = "rejected"
        report.message = (
            f"{report.rejected_rows} row(s) rejected: nothing published (--partial, or partial=true in the admin"
            " API, publishes the rest)"
        )
    elif report.current and len(report.removed) > REMOVAL_GUARD * report.current and not allow_removals:
        report.outcome = "refused"
        report.message = (
            f"the feed would remove {len(report.removed)} of {report.current} places of source "
            f"{report.source!r} (more than {REMOVAL_GUARD:.0%}): refused; --allow-removals (allow_removals=true in"
            " the admin API) if intended"
        )
    elif report.dry_run:
        report.outcome = "dry-run"
        report.message = "dry run: nothing changed"
        _keep_hours_for_exceptions(conn, report, write=False)  # the warnings a publish would give
        # ...and the batches of ops' exceptions it would apply, with their warnings
        report.batches, failed = batches_for_staged(conn, report.added, report.source, report.changed)
        _warn_unapplied(conn, report, failed)
    else:
        _write(conn, report)
        report.published = True
        report.outcome = "published"
        report.message = (
            f"published {len(report.added)} added, {len(report.changed)} changed, {len(report.removed)} removed"
        )
    if not report.published:
        conn.rollback()


_STAGING = """
CREATE TEMP TABLE staged_locations (
    id text NOT NULL, line int NOT NULL, name text NOT NULL, kind text NOT NULL, kinds text[] NOT NULL,
    street text, postcode text, city text, region text, country char(2) NOT NULL,
    lat double precision NOT NULL, lon double precision NOT NULL, geo_precision text NOT NULL,
    timezone text NOT NULL, phone text, url text, products text[] NOT NULL, services text[] NOT NULL,
    hours_services text[] NOT NULL, content_hash text NOT NULL,
    -- The location_hours rows ride along as arrays: a connection runs one COPY at a time.
    hours_service text[] NOT NULL, hours_raw text[] NOT NULL, hours_canonical text[] NOT NULL
) ON COMMIT DROP
"""


def _array(items: Iterable[str]) -> str:
    """A text[] literal: COPY takes it as text, cheaper than psycopg adapting a list per row."""
    return "{" + ",".join('"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"' for item in items) + "}"


def _stage(conn: Connection, records: Iterable[LocationRecord]) -> int:
    """COPY the records into the staging table (the transaction's own, dropped at commit); returns how many."""
    conn.exec_driver_sql(_STAGING)
    count = copy_rows(
        conn,
        "COPY staged_locations (id, line, name, kind, kinds, street, postcode, city, region, country, lat, lon,"
        " geo_precision, timezone, phone, url, products, services, hours_services, content_hash,"
        " hours_service, hours_raw, hours_canonical) FROM STDIN",
        (
            (
                r.id, r.row, r.name, r.kind, _array(r.kinds), r.street, r.postcode, r.city, r.region, r.country,
                r.lat, r.lon, r.geo_precision, r.timezone, r.phone, r.url, _array(r.products), _array(r.services),
                _array(sorted(s for s in r.hours if s)), r.content_hash,
                _array(r.hours), _array(raw for raw, _ in r.hours.values()),
                _array(canonical for _, canonical in r.hours.values()),
            )
            for r in records
        ),
    )  # fmt: skip
    # Ids are unique already (validation drops duplicates): the index is for the joins below.
    conn.exec_driver_sql("CREATE UNIQUE INDEX ON staged_locations (id)")
    # Temporary tables are never auto-analysed; without statistics the diff's joins are planned blind.
    conn.exec_driver_sql("ANALYZE staged_locations")
    return count


def _reject_foreign_ids(conn: Connection, report: IngestReport) -> int:
    """Reject (and unstage) rows whose id another source holds; returns how many."""
    clashes = conn.execute(
        text(
            """
            DELETE FROM staged_locations AS s
             USING locations AS l
             WHERE l.id = s.id AND l.source <> :source
            RETURNING s.id, s.line, l.source
            """
        ),
        {"source": report.source},
    ).all()
    for clash in clashes:
        report.rejected.append(Rejection(clash.line, "id", clash.id, f"id already held by source {clash.source!r}"))
    return len(clashes)


def _diff(conn: Connection, report: IngestReport, staged: int) -> None:
    report.current = conn.execute(
        text("SELECT count(*) FROM locations WHERE source = :source"), {"source": report.source}
    ).scalar_one()
    rows = conn.execute(
        text(
            """
            SELECT coalesce(s.id, l.id) AS id, l.id IS NULL AS added, s.id IS NULL AS removed
              FROM staged_locations AS s
              FULL JOIN (SELECT id, content_hash FROM locations WHERE source = :source) AS l ON l.id = s.id
             WHERE s.content_hash IS DISTINCT FROM l.content_hash
            """
        ),
        {"source": report.source},
    )
    # A row rejected under --partial keeps its published version: rejection must not read as removal.
    kept = report.rejected_ids
    added: list[str] = []
    changed: list[str] = []
    removed: list[str] = []
    for row in rows:
        if row.added:
            added.append(row.id)
        elif not row.removed:
            changed.append(row.id)
        elif row.id not in kept:
            removed.append(row.id)
    report.added, report.changed, report.removed = sorted(added), sorted(changed), sorted(removed)
    report.unchanged = staged - len(added) - len(changed)


def _warn_removed_exceptions(conn: Connection, report: IngestReport) -> None:
    """A warning (row 0: no row of the feed) for each removed place holding ops' exceptions still in force:
    they go with it, and the place, back in a later feed, reopened on its regular hours without a word."""
    if not report.removed:
        return
    rows = conn.execute(
        text(
            """
            SELECT location_id, count(*) AS n, min(start_date) AS first, max(end_date) AS last
              FROM special_hours
             WHERE location_id = ANY(:ids) AND end_date >= :in_force
             GROUP BY location_id
             ORDER BY location_id
            """
        ),
        {"ids": report.removed, "in_force": in_force_from()},
    )
    for row in rows:
        report.warnings.append(Warning(0, "id", row.location_id,
                                       f"removed with {row.n} exception(s) of ops in force ({row.first}..{row.last}): "
                                       "they are deleted with it"))  # fmt: skip


# How many changed places a report says the changed columns of (the first ones, by id): enough for ops to read
# what a refresh changes, bounded for a feed that changes everything.
CHANGED_FIELDS_MAX = 1000


def _changed_fields(conn: Connection, report: IngestReport) -> None:
    """Which input columns changed, for the first CHANGED_FIELDS_MAX changed places: staging against the
    published row (a dry run listed the ids alone, and ops could not tell a new phone from new hours)."""
    ids = report.changed[:CHANGED_FIELDS_MAX]
    if not ids:
        return
    rows = conn.execute(
        text(
            """
            WITH old_hours AS (
                SELECT location_id AS id, array_agg(service ORDER BY service) AS services,
                       array_agg(raw ORDER BY service) AS raws
                  FROM location_hours
                 WHERE location_id = ANY(:ids)
                 GROUP BY location_id
            )
            SELECT s.id, s.hours_service, s.hours_raw, h.services AS old_services, h.raws AS old_raws,
                   array_remove(ARRAY[
                       CASE WHEN s.name IS DISTINCT FROM l.name THEN 'name' END,
                       CASE WHEN s.kind IS DISTINCT FROM l.kind THEN 'kind' END,
                       CASE WHEN s.street IS DISTINCT FROM l.street THEN 'street' END,
                       CASE WHEN s.postcode IS DISTINCT FROM l.postcode THEN 'postcode' END,
                       CASE WHEN s.city IS DISTINCT FROM l.city THEN 'city' END,
                       CASE WHEN s.region IS DISTINCT FROM l.region THEN 'region' END,
                       CASE WHEN s.country IS DISTINCT FROM l.country THEN 'country' END,
                       CASE WHEN (s.lat, s.lon) IS DISTINCT FROM (ST_Y(l.geog::geometry), ST_X(l.geog::geometry))
                            THEN 'lat/lon' END,
                       CASE WHEN s.geo_precision IS DISTINCT FROM l.geo_precision THEN 'geo_precision' END,
                       CASE WHEN s.timezone IS DISTINCT FROM l.timezone THEN 'timezone' END,
                       CASE WHEN s.phone IS DISTINCT FROM l.phone THEN 'phone' END,
                       CASE WHEN s.url IS DISTINCT FROM l.url THEN 'url' END,
                       CASE WHEN s.products IS DISTINCT FROM l.products THEN 'products' END,
                       CASE WHEN s.services IS DISTINCT FROM l.services THEN 'services' END
                   ], NULL) AS fields
              FROM staged_locations AS s
              JOIN locations AS l ON l.id = s.id
              LEFT JOIN old_hours AS h ON h.id = s.id
             WHERE s.id = ANY(:ids)
            """
        ),
        {"ids": ids},
    )
    for row in rows:
        new = dict(zip(row.hours_service, row.hours_raw, strict=True))
        old = dict(zip(row.old_services or [], row.old_raws or [], strict=True))
        hours = [
            "opening_hours" if service == "" else f"hours:{service}"
            for service in sorted(new.keys() | old.keys())
            if new.get(service) != old.get(service)
        ]
        report.changed_fields[row.id] = [*row.fields, *hours]


def _write(conn: Connection, report: IngestReport) -> None:
    if not report.removed and not report.added and not report.changed:
        return
    # A full refresh of the open intervals (the daily one, at 1M places minutes long) finishes first, and none
    # starts until this publish commits: see open_intervals.MATERIALISE_LOCK.
    open_intervals.hold_places(conn, LOCK_WAIT)
    if report.removed:
        conn.execute(text("DELETE FROM locations WHERE id = ANY(:ids)"), {"ids": report.removed})
    if report.added or report.changed:
        _write_places(conn, report)
    with _timed(report, "analyze"):
        # The planner's statistics describe the snapshot being published, from its first query on: with an
        # empty table's statistics after a first load, it estimated one open interval and chose a scan of every
        # open one plus a sort over the KNN scan. Autovacuum would catch up only a minute or more later. (After
        # removals alone too: health reports the planner's count of places.)
        conn.exec_driver_sql("ANALYZE locations, location_hours, open_intervals")


def _write_places(conn: Connection, report: IngestReport) -> None:
    """The added and changed places' rows, hours, batches of ops' exceptions and open intervals."""
    if report.changed:  # their selections read before the changed places' new rows replace them
        share_batches(conn)
    before = selected_before(conn, report.changed)
    with _timed(report, "upsert"):
        # What is left in staging is what the publish writes, in the Hilbert order PostGIS sorts geometry by:
        # the GiST takes neighbouring inserts, and a first load lays neighbours out on the same heap pages,
        # which a nearest query then reads together.
        conn.execute(
            text(
                """
                DELETE FROM staged_locations AS s
                 USING locations AS l
                 WHERE l.id = s.id AND l.content_hash = s.content_hash
                """
            )
        )
        conn.execute(
            text(
                """
                INSERT INTO locations (id, source, name, kind, kinds, street, postcode, city, region, country, geog,
                                       geo_precision, timezone, phone, url, products, services, hours_services,
                                       content_hash, updated_at)
                SELECT id, :source, name, kind, kinds, street, postcode, city, region, country,
                       ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography,
                       geo_precision, timezone, phone, url, products, services, hours_services, content_hash, now()
                  FROM staged_locations
                 ORDER BY ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geometry
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
            ),
            {"source": report.source},
        )
    with _timed(report, "hours"):
        if report.changed:
            conn.execute(
                text(
                    """
                    DELETE FROM location_hours AS h
                     USING staged_locations AS s
                     WHERE h.location_id = s.id
                    """
                )
            )
        conn.execute(
            text(
                """
                INSERT INTO location_hours (location_id, service, raw, canonical)
                SELECT s.id, h.service, h.raw, h.canonical
                  FROM staged_locations AS s,
                       unnest(s.hours_service, s.hours_raw, s.hours_canonical) AS h (service, raw, canonical)
                """
            )
        )
        _keep_hours_for_exceptions(conn, report, write=True)
        _extend_batches(conn, report, before)
    with _timed(report, "open_intervals"):
        open_intervals.refresh(conn, report.added + report.changed)


# The changed places' services that lose their own hours in this feed (they follow the place's) while ops'
# exceptions for them are still in force, with the place's new general hours.
_EXCEPTIONS_LEFT_SQL = """
SELECT s.id, s.line, x.service, x.spans, x.service = ANY(s.services) AS offered, s.services,
       s.hours_raw[array_position(s.hours_service, '')] AS general
  FROM staged_locations AS s
  JOIN (SELECT location_id, service,
               string_agg(CASE WHEN start_date = end_date THEN to_char(start_date, 'YYYY-MM-DD')
                               ELSE to_char(start_date, 'YYYY-MM-DD') || '..' || to_char(end_date, 'YYYY-MM-DD')
                          END, ', ' ORDER BY start_date, id) AS spans
          FROM special_hours
         WHERE location_id = ANY(:ids) AND service <> '' AND end_date >= :in_force
         GROUP BY location_id, service) AS x ON x.location_id = s.id
 WHERE x.service <> ALL(s.hours_services)
 ORDER BY s.line, x.service
"""


def _extend_batches(conn: Connection, report: IngestReport, before: Selected) -> None:
    """Ops' batches of exceptions for places selected by filters (a country's Christmas Eve) reach the places
    this feed adds that they select, and those it changes into their selections (`before`: the pairs selected
    before the write); a place whose hours a batch's do not evaluate with gets a warning."""
    report.batches, failed = extend_batches(conn, report.added, report.changed, before)
    _warn_unapplied(conn, report, failed)


def _warn_unapplied(conn: Connection, report: IngestReport, failed: list[tuple[str, str, str]]) -> None:
    """A warning naming the row of each added place a batch of ops' exceptions could not be applied to."""
    if failed:
        found = conn.execute(
            text("SELECT id, line FROM staged_locations WHERE id = ANY(CAST(:ids AS text[]))"),
            {"ids": sorted({place for place, _, _ in failed})},
        )
        lines: dict[str, int] = {row.id: row.line for row in found}
        for place, service, why in sorted(failed, key=lambda item: lines.get(item[0], 0)):
            column = f"hours:{service}" if service else "opening_hours"
            outcome = "would not be applied" if report.dry_run else "is not applied"
            message = f"{place}: ops' {why}: the batch {outcome} to it"
            report.warnings.append(Warning(lines.get(place, 0), column, None, message))


def _keep_hours_for_exceptions(conn: Connection, report: IngestReport, *, write: bool) -> None:
    """Ops' exceptions for a service only apply to hours of its own (`locator.special_hours`): a service the feed
    no longer gives hours to keeps the place's as its own while they are in force, with a warning; one the place
    no longer offers gets a warning alone (no answer shows it). With `write`, after the places' rows are written:
    an exception added meanwhile held the row, so it is seen here, and one added later sees the new hours."""
    if not report.changed:
        return  # an added place has no exceptions yet, an unchanged one keeps the hours it has
    rows = conn.execute(text(_EXCEPTIONS_LEFT_SQL), {"ids": report.changed, "in_force": in_force_from()}).all()
    kept = []
    for row in rows:
        if row.offered:
            kept.append((row.id, row.service))
            message = (
                f"{row.id}: {row.service!r} has no hours of its own in the feed (it follows the place's), but ops'"
                f" exceptions for it still hold ({row.spans}): it keeps the place's hours ({row.general}) as its"
                " own so that they apply; remove the exceptions if they no longer do"
            )
            report.warnings.append(Warning(row.line, f"hours:{row.service}", None, message))
        else:
            message = (
                f"{row.id}: {row.service!r} is no longer among the place's services: ops' exceptions for it"
                f" ({row.spans}) apply to nothing any more"
            )
            report.warnings.append(Warning(row.line, "services", ";".join(row.services), message))
    if write:
        own_general_hours(conn, kept)


def _audit_fault(engine: Engine, report: IngestReport, actor: str | None, exc: Exception) -> None:
    """A run ended by a fault of this program (not of the feed, the database or a geocoder) is in the audit
    too, once, as failed: the trail holds every attempt. The caller raises it on (a traceback, a 500)."""
    if report.run_id is None:
        report.fail(f"internal error ({type(exc).__name__}): nothing changed")
        _audit(engine, report, actor)


def _audit(engine: Engine, report: IngestReport, actor: str | None) -> None:
    body = report.as_dict()
    try:
        with engine.begin() as conn:
            report.run_id = conn.execute(
                text(
                    """
                    INSERT INTO ingest_runs (started_at, finished_at, source, format, file_name, file_sha256, dry_run,
                                             outcome, added, changed, removed, unchanged, rejected, warnings, actor,
                                             report)
                    VALUES (coalesce(:started_at, now()), now(), :source, :format, :file_name, :sha, :dry_run,
                            :outcome, :added, :changed, :removed, :unchanged, :rejected, :warnings, :actor,
                            CAST(:report AS jsonb))
                    RETURNING id
                    """
                ),
                {
                    "started_at": report.started_at,
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
                    "rejected": report.rejected_rows,
                    "warnings": len(report.warnings),
                    "actor": actor,
                    # The counts are columns; the lists are capped (a feed with a bad value in each of 1M rows
                    # would make a row of ~150 MB of jsonb, whose limit is 255 MB).
                    "report": json.dumps(
                        {**body, "warnings": body["warnings"][:200], "rejected": body["rejected"][:1000]}
                    ),
                },
            ).scalar_one()
    except Exception as exc:
        # The audit must not turn a published snapshot into a reported failure; the run itself stands, and the
        # log says the trail lacks it: one line in an outage (as every request's), the traceback otherwise.
        reason = outage_reason(exc)
        log.warning("the audit of the %s run of %s could not be written%s", report.outcome, report.source,
                    f" (the database does not answer: {reason})" if reason else "",
                    exc_info=reason is None)  # fmt: skip
        report.run_id = None
