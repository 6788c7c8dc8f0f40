"""The `locator` command line: the same core functions the API calls."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from locator.errors import DatabaseUnavailable, InvalidParameter, LocatorError
from locator.settings import get_settings

app = typer.Typer(help="Store and service-centre locator.", no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="The database: embedded cluster and schema.", no_args_is_help=True)
ingest_app = typer.Typer(help="Load locations, postcodes and support lines.", no_args_is_help=True)
hours_app = typer.Typer(help="Opening hours tools.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(ingest_app, name="ingest")
app.add_typer(hours_app, name="hours")

# No console markup: what they print holds feed text (a name "[red]Shop", hours "[/bold] 9-5"), which rich read
# as its tags, printing it wrong or failing with a MarkupError after the publish. Styles are given as Text.
console = Console(markup=False)
errors = Console(stderr=True, markup=False)


def error_line(message: str) -> None:
    errors.print(Text.assemble(("error:", "red"), " ", message), highlight=False)


def fail(message: str, code: int = 1) -> None:
    error_line(message)
    raise typer.Exit(code)


def _engine() -> Any:
    from locator.db import get_engine

    return get_engine()


@db_app.command("up")
def db_up() -> None:
    """Start the embedded PostGIS cluster (nothing to do when LOCATOR_DATABASE_URL is set)."""
    from locator.db import ClusterError, up

    try:
        cluster = up()
    except ClusterError as exc:
        fail(str(exc))
    else:
        where = f"{cluster.data_dir} on 127.0.0.1:{cluster.port}" if cluster else "LOCATOR_DATABASE_URL"
        console.print(f"database up: {where}")


@db_app.command("down")
def db_down() -> None:
    """Stop the embedded cluster."""
    from locator.db import ClusterError, down

    try:
        down()
    except ClusterError as exc:
        fail(str(exc))
    console.print("database stopped")


@db_app.command("init")
def db_init() -> None:
    """Create extensions and schema; apply pending migrations (idempotent)."""
    from locator.db import init_schema

    try:
        applied = init_schema(_engine())
    except DatabaseUnavailable:
        raise  # main() says why, and what to check (`locator db up`)
    except LocatorError as exc:
        fail(str(exc))
    console.print(f"schema up to date ({', '.join(applied) if applied else 'no migration pending'})")


@ingest_app.command("locations")
def ingest_locations(
    path: Annotated[Path, typer.Argument(help="CSV, GeoJSON or vendor file")],
    source: Annotated[str | None, typer.Option(help="feed name; default: the file's stem")] = None,
    format: Annotated[str, typer.Option("--format", help="auto|csv|geojson|bestbuy")] = "auto",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="report what would change, touch nothing")] = False,
    partial: Annotated[
        bool, typer.Option("--partial", help="publish the valid rows even if some are rejected")
    ] = False,
    allow_removals: Annotated[bool, typer.Option("--allow-removals", help="allow removing >20% of the source")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    examples: Annotated[
        int, typer.Option("--examples", min=0, help="ids listed per kind of change (added, changed, removed); 0: all")
    ] = 5,
) -> None:
    """Validate a feed, diff it against its source, publish atomically."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from ingest.geocoding import chain_locator
    from ingest.publish import ingest_file
    from ingest.readers import FORMATS

    # Usage errors, exit 2, before any run is recorded (they were failed runs with a rejected row 0, exit 1).
    if format not in FORMATS:
        fail(f"--format: {format!r} is none of {', '.join(FORMATS)}", 2)
    if not path.is_file():
        fail(f"{path}: no such file", 2)
    engine = _engine()
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=errors, transient=True,
        disable=as_json or not errors.is_terminal,
    ) as progress:  # fmt: skip
        task = progress.add_task("reading rows", total=None)
        report = ingest_file(
            engine,
            path,
            source=source or path.stem,
            fmt=format,
            dry_run=dry_run,
            partial=partial,
            allow_removals=allow_removals,
            actor="cli",
            locate=chain_locator(engine),
            progress=lambda n: progress.update(task, description=f"validated {n:,} rows"),
        )
    if as_json:
        sys.stdout.write(json.dumps(report.as_dict(examples), ensure_ascii=False, indent=2) + "\n")
    else:
        print_report(report.as_dict(examples))
    raise typer.Exit(report.exit_code)


def print_report(report: dict[str, Any]) -> None:
    summary = Table(title=f"ingest {report['source']} ({report['outcome']})", show_header=True)
    for column in ("added", "changed", "removed", "unchanged", "rejected", "warnings"):
        summary.add_column(column, justify="right")
    counts = {**report, "rejected": report["rejected_rows"]}  # rows, not reasons: a row may have several
    summary.add_row(
        *(str(counts[c]) if not isinstance(counts[c], list) else str(len(counts[c])) for c in (
            "added", "changed", "removed", "unchanged", "rejected", "warnings"))
    )  # fmt: skip
    console.print(summary)
    fields = report.get("changed_fields", {})
    for key, ids in report["examples"].items():
        if ids:
            # A changed place with the columns that changed: "fr-par-opera (opening_hours, phone)"
            shown = [f"{i} ({', '.join(fields[i])})" if key == "changed" and fields.get(i) else i for i in ids]
            console.print(f"{key}: {', '.join(shown)}{' ...' if report[key] > len(ids) else ''}", highlight=False)
    for batch, places in report.get("batches", {}).items():
        if report["dry_run"]:
            console.print(f"ops' batch {batch} of special hours would apply to {places} place(s) the feed adds "
                          "or brings into its selection (those closed all its days left out)",
                          highlight=False)  # fmt: skip
        else:
            console.print(f"ops' batch {batch} of special hours applied to {places} place(s) the feed added or "
                          "brought into its selection", highlight=False)  # fmt: skip
    for title, items, text_key in (
        ("rejected rows", report["rejected"], "reason"),
        ("warnings", report["warnings"], "message"),
    ):
        if not items:
            continue
        table = Table(title=title)
        for column in ("row", "column", "value", text_key):
            table.add_column(column, overflow="fold")
        for item in items[:200]:
            # A missing value (JSON null) is an empty-looking dash, not Python's "None", which reads as a value.
            value = "-" if item["value"] is None else str(item["value"])[:60]
            table.add_row(str(item["row"]), item["column"], value, item[text_key])
        if len(items) > 200:
            table.caption = f"{len(items) - 200} more not shown (use --json)"
        console.print(table)
    console.print(report["message"])


@ingest_app.command("postcodes")
def ingest_postcodes(
    path: Annotated[Path | None, typer.Argument(help="GeoNames postal file (.txt, .csv or .zip)")] = None,
    country: Annotated[str | None, typer.Option(help="download this country's GeoNames file instead")] = None,
    url: Annotated[
        str, typer.Option(help="download URL template")
    ] = "https://download.geonames.org/export/zip/{country}.zip",
    if_missing: Annotated[bool, typer.Option("--if-missing", help="skip when the country is loaded already")] = False,
    allow_removals: Annotated[
        bool, typer.Option("--allow-removals", help="load a file holding over 20% fewer postcodes than are loaded")
    ] = False,
) -> None:
    """Load a GeoNames-style postal gazetteer."""
    import urllib.error

    from ingest.postcodes import PostcodeFileError, country_of_file, download, load_file, loaded_countries
    from locator.geocode import validate_country

    if (path is None) == (country is None):
        fail("give a PATH or --country CC (one of the two)", 2)
    if path is not None and not path.is_file():
        fail(f"{path}: no such file", 2)  # as the other ingests say it
    if country is not None:
        try:
            country = validate_country(country)  # "France" fetched FRANCE.zip
        except InvalidParameter as exc:
            fail(f"--country: {exc.message}", 2)
    wanted = country.upper() if country else (country_of_file(path) if path else None)
    if if_missing and wanted and wanted in loaded_countries(_engine()):
        console.print(f"{wanted}: postcodes already loaded")
        return
    try:
        if country:
            target = get_settings().home / "downloads" / f"{country.upper()}.zip"
            console.print(f"downloading {url.format(country=country.upper())}")
            path = download(country, target, url)
        assert path is not None
        counts = load_file(_engine(), path, country, allow_removals=allow_removals)
    except urllib.error.URLError as exc:  # HTTPError too: what failed, and what to do
        reason = getattr(exc, "reason", exc)
        fail(f"could not download {url.format(country=(country or '').upper())}: {reason}; check the network, or "
             "download the file yourself and give its PATH")  # fmt: skip
    except (PostcodeFileError, OSError) as exc:
        if country and path is not None:
            path.unlink(missing_ok=True)  # not kept as that country's file
        fail(str(exc))
    else:
        for cc, n in sorted(counts.items()):
            console.print(f"{cc}: {n:,} postcodes loaded")


@ingest_app.command("support")
def ingest_support(
    path: Annotated[Path, typer.Argument(help="support channels CSV (see data/support.csv)")],
    allow_removals: Annotated[
        bool,
        typer.Option("--allow-removals", help="load a file that removes over 20% of the lines loaded, or every line"),
    ] = False,
) -> None:
    """Replace the support lines (phone, chat, ...) with the file's."""
    from locator.support import SupportFileError, load_channels

    if not path.is_file():
        fail(f"{path}: no such file", 2)  # as `ingest locations` says it (a traceback it was)
    try:
        count = load_channels(_engine(), path, on_warning=lambda message: errors.print(f"warning: {message}"),
                              allow_removals=allow_removals)  # fmt: skip
    except SupportFileError as exc:
        fail(str(exc))
    console.print(f"{count} support channels loaded")


@app.command("refresh")
def refresh(
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="recompute every place's intervals (after an upgrade of the hours engine or the holiday "
            "calendars), not only the days the window gained",
        ),
    ] = False,
) -> None:
    """Move the materialised open intervals to the current window (what the API's timer does daily)."""
    from psycopg.errors import LockNotAvailable
    from sqlalchemy.exc import OperationalError

    from locator.geocoders.cache import purge_expired
    from locator.open_intervals import advance, expired_partitions, maintain_partitions
    from locator.open_intervals import refresh as refresh_intervals

    try:
        if full:
            with _engine().begin() as conn:
                rows: int | None = refresh_intervals(conn)
        else:
            rows = advance(_engine())
    except OperationalError as exc:
        if not isinstance(exc.orig, LockNotAvailable):
            raise
        fail("a publish or an exception change has held the places for over a minute (a refresh waits for them to "
             "commit): the window was not moved, searches read it as before; run it again when the publish has "
             "finished")  # fmt: skip
    if rows is None:
        fail("another refresh is moving the window (the API's timer, or another `locator refresh`): try again when "
             "it has finished")  # fmt: skip
    dropped = maintain_partitions(_engine())  # as the API's timer does after a move
    with _engine().connect() as conn:
        kept = len(expired_partitions(conn))
    purged = purge_expired(_engine())
    what = "recomputed" if full else "moved to the current window"
    # A window that has just moved keeps the days it left for a while: searches may still read them.
    later = (
        f", {kept} kept a minute for searches under way: the next refresh or API timer tick drops them" if kept else ""
    )
    console.print(f"open intervals {what}: {rows:,} rows written ({len(dropped)} past days dropped{later}); "
                  f"{purged:,} expired geocoder answers purged")  # fmt: skip


@app.command("nearest")
def nearest(
    query: Annotated[str, typer.Argument(help="postcode or address, or 'lat,lon'")],
    country: Annotated[str | None, typer.Option(help="ISO 3166-1 alpha-2")] = None,
    at: Annotated[str | None, typer.Option(help="ISO-8601 instant with offset")] = None,
    kind: Annotated[list[str] | None, typer.Option(help="store, service_centre (repeatable)")] = None,
    product: Annotated[list[str] | None, typer.Option(help="repeatable")] = None,
    service: Annotated[list[str] | None, typer.Option(help="repeatable")] = None,
    any_time: Annotated[bool, typer.Option("--any", help="open or not")] = False,
    open_for: Annotated[int, typer.Option(help="minutes open after --at")] = 0,
    limit: Annotated[int, typer.Option(help="1-100")] = 10,
    radius_km: Annotated[float, typer.Option(help="search radius")] = 50.0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The same answer as GET /v1/locations/nearest, in the terminal."""
    from locator.answers import nearest_answer
    from locator.search import filter_values, parse_instant

    try:
        # The options read as the API reads its parameters: the same answer, or the same error.
        when = parse_instant(at, "--at")
        kinds, products = filter_values("kind", kind), filter_values("product", product)
        services = filter_values("service", service)
        where = _where(query, country)
    except LocatorError as exc:
        fail(_as_option(exc), 2)
    try:
        answer = nearest_answer(
            _engine(), get_settings(), where, kinds=kinds, products=products, services=services,
            open="any" if any_time else "now", at=when, open_for=open_for, limit=limit, radius_km=radius_km,
        )  # fmt: skip
    except DatabaseUnavailable:
        raise  # main() says why, and what to check
    except InvalidParameter as exc:
        fail(_as_option(exc), 2)  # a usage error, as the options checked above (--limit 0 exited 1)
    except LocatorError as exc:
        fail(str(exc))
    if as_json:
        sys.stdout.write(json.dumps(answer, ensure_ascii=False, indent=2) + "\n")
        return
    origin = answer["origin"]
    console.print(Text.assemble("near ", (origin["label"], "bold"),
                                f" ({origin['lat']:.5f}, {origin['lon']:.5f}) at {answer['at']}"))  # fmt: skip
    table = Table(show_lines=False)
    for column in ("#", "name", "kind", "distance", "address", "status", "hours"):
        table.add_column(column, overflow="fold")
    for n, item in enumerate(answer["results"], start=1):
        hours = "\n".join(f"{k}: {v}" for k, v in item["hours"].items())
        table.add_row(str(n), item["name"], item["kind"], _distance(item["distance_m"]), _address(item["address"]),
                      _status(item, answer["at"]), hours)  # fmt: skip
    console.print(table)
    if not answer["results"]:
        console.print("no place matches" + (" that is open at that time" if not any_time else ""))


def _as_option(exc: LocatorError) -> str:
    """A parameter's error as the command line names it: `--country`, not the API's `country`."""
    if not isinstance(exc, InvalidParameter):
        return str(exc)
    if exc.parameter == "q":
        return f"QUERY: {exc.message}"
    if exc.parameter in ("country", "kind", "product", "service", "limit", "radius_km", "open_for"):
        return f"--{exc.parameter.replace('_', '-')}: {exc.message}"
    return str(exc)


def _where(query: str, country: str | None) -> Any:
    from locator.answers import Where

    return Where(q=query, country=country)  # "lat,lon" becomes a point there


def _distance(meters: float | None) -> str:
    if meters is None:
        return ""
    return f"{meters:.0f} m" if meters < 1000 else f"{meters / 1000:.1f} km"


def _address(address: dict[str, Any]) -> str:
    return ", ".join(
        p for p in (address["street"], f"{address['postcode'] or ''} {address['city'] or ''}".strip()) if p
    )


def _status(item: dict[str, Any], at: str) -> str:
    if item["open"]:
        text = "open"
        if item["closes_at"]:
            from datetime import datetime
            from zoneinfo import ZoneInfo

            # The day too when it is not the day asked about, in the place's own zone (not the closing time's
            # offset, which a clock change between the two makes another: 23:30 on the night the clocks go
            # forward read as the next day, and the closing at 03:00 as the same day's): "until 00:00" read as
            # tonight for a place open until Saturday.
            zone = ZoneInfo(item["timezone"])
            closes = datetime.fromisoformat(item["closes_at"]).astimezone(zone)
            same_day = datetime.fromisoformat(at).astimezone(zone).date() == closes.date()
            text = f"open until {closes:%H:%M}" if same_day else f"open until {closes:%a %Y-%m-%d %H:%M}"
        return text + (" (closing soon)" if item["closing_soon"] else "")
    if item.get("state") == "unknown":
        return f"hours unknown now ({item['status_comment']})" if item.get("status_comment") else "hours unknown now"
    return f"closed, opens {item['next_open'][:16].replace('T', ' ')}" if item["next_open"] else "closed"


@hours_app.command("eval")
def hours_eval(
    file: Annotated[str, typer.Argument(help="JSON lines file, or - for standard input")] = "-",
) -> None:
    """JSON lines in, JSON lines out: evaluate opening hours (see CONTRACT.md)."""
    from locator.hours_eval import evaluate_line

    # Bytes, decoded line by line: a line that is not UTF-8 gets its own error instead of ending the stream.
    try:
        stream = sys.stdin.buffer if file == "-" else open(file, "rb")  # noqa: SIM115
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}", code=2)
    failed = False
    with stream:
        for line in stream:
            if not line.strip():
                continue
            out = evaluate_line(line)
            failed = failed or not out["ok"]
            sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
            sys.stdout.flush()
    raise typer.Exit(1 if failed else 0)


special_app = typer.Typer(help="Dated exceptions: holiday hours, temporary closures.", no_args_is_help=True)
hours_app.add_typer(special_app, name="special")


@special_app.command("add")
def special_add(
    location_id: Annotated[str, typer.Argument(help="the place's id")],
    start: Annotated[str, typer.Option("--from", help="first day, YYYY-MM-DD")],
    end: Annotated[str | None, typer.Option("--to", help="last day (inclusive); default: --from")] = None,
    hours: Annotated[str, typer.Option(help="hours on those days, e.g. '10:00-14:00', or 'off'")] = "off",
    service: Annotated[str, typer.Option(help="only this service's hours (one the place offers)")] = "",
    comment: Annotated[str | None, typer.Option(help="shown to customers, e.g. 'closed for works'")] = None,
) -> None:
    """Add holiday hours or a closure for some days."""
    from datetime import date

    from locator.special_hours import add

    try:
        first = date.fromisoformat(start)
        last = date.fromisoformat(end) if end else first
        added = add(_engine(), location_id, first, last, hours=hours, service=service, comment=comment)
    except ValueError as exc:
        fail(f"dates are YYYY-MM-DD: {exc}", 2)
    except InvalidParameter as exc:
        fail(str(exc), 2)  # a usage error (--to before --from, hours that do not read), as the options' own
    except LocatorError as exc:
        fail(str(exc))
    held = "added" if added["created"] else "already held (the same exception), as"
    console.print(f"special hours #{added['id']} {held}: {added['start']}..{added['end']} {added['hours']}")


@special_app.command("add-many")
def special_add_many(
    start: Annotated[str, typer.Option("--from", help="first day, YYYY-MM-DD")],
    end: Annotated[str | None, typer.Option("--to", help="last day (inclusive); default: --from")] = None,
    hours: Annotated[str, typer.Option(help="hours on those days, e.g. '09:00-16:00', or 'off'")] = "off",
    country: Annotated[str | None, typer.Option(help="the places of this country (alpha-2)")] = None,
    region: Annotated[str | None, typer.Option(help="... of this region, as the feed names it")] = None,
    source: Annotated[str | None, typer.Option(help="... of this source (feed)")] = None,
    kind: Annotated[list[str] | None, typer.Option(help="... of this kind (repeatable: any of them)")] = None,
    location_id: Annotated[list[str] | None, typer.Option("--id", help="... with this id (repeatable)")] = None,
    service: Annotated[str, typer.Option(help="only this service's hours, at the places offering it")] = "",
    comment: Annotated[str | None, typer.Option(help="shown to customers, e.g. 'Christmas Eve'")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="count and check the places, write nothing")] = False,
    include_closed: Annotated[
        bool, typer.Option("--include-closed", help="also on days a place's own hours keep it closed")
    ] = False,
) -> None:
    """The same holiday hours or closure for many places at once (one batch, all or nothing). Days a place's
    own hours keep it closed (works, a regional holiday) are left out unless --include-closed."""
    from datetime import date

    from locator.special_hours import Places, add_to_places

    places = Places(country, region, source, tuple(kind or ()), tuple(location_id or ()))
    try:
        first = date.fromisoformat(start)
        last = date.fromisoformat(end) if end else first
    except ValueError as exc:
        fail(f"dates are YYYY-MM-DD: {exc}", 2)
    try:
        added = add_to_places(_engine(), places, first, last, hours=hours, service=service, comment=comment,
                              dry_run=dry_run, include_closed=include_closed)  # fmt: skip
    except InvalidParameter as exc:
        fail(str(exc), 2)  # no filter, a blank one, --to before --from: usage errors
    except LocatorError as exc:
        fail(str(exc))
    what = f"{added['start']}..{added['end']} {added['hours']}" + (f" for {service}" if service else "")
    if dry_run:
        console.print(f"would add {what} to {_some(added['location_ids'], added['places'])}; nothing written")
    elif added["batch"] is None:
        console.print(f"nothing to add: {what}")
    else:
        if added["places"]:
            places_text = _some(added["location_ids"], added["places"])
            console.print(f"special hours batch #{added['batch']} added to {places_text}: {what}")
        else:
            console.print(f"special hours batch #{added['batch']} added to no place yet, all closed those days; "
                          f"places later feeds add get it: {what}")  # fmt: skip
        console.print(f"to take it back: locator hours special remove-batch {added['batch']}")
    if added["closed"]:
        closed = _some(added["closed_ids"], added["closed"])
        console.print(f"left out, closed on those days by their own hours: {closed} (--include-closed to open them)")
    if added["already"]:
        console.print(f"left out, holding this exception already: {_some(added['already_ids'], added['already'])}")


def _some(ids: list[str], count: int, shown: int = 10) -> str:
    listed = ", ".join(ids[:shown]) + (", ..." if count > shown else "")
    return f"{count} place{'' if count == 1 else 's'}" + (f" ({listed})" if ids else "")


@special_app.command("list")
def special_list(location_id: Annotated[str, typer.Argument(help="the place's id")]) -> None:
    """The exceptions of a place."""
    from locator.special_hours import list_for

    table = Table("id", "service", "from", "to", "hours", "comment", "batch")
    for item in list_for(_engine(), location_id):
        table.add_row(str(item["id"]), item["service"] or "(all)", item["start"], item["end"], item["hours"],
                      item["comment"] or "", str(item["batch"] or ""))  # fmt: skip
    console.print(table)


@special_app.command("remove")
def special_remove(special_id: Annotated[int, typer.Argument(help="the exception's id (see list)")]) -> None:
    """Remove an exception."""
    from locator.special_hours import remove

    try:
        remove(_engine(), special_id)
    except LocatorError as exc:
        fail(str(exc))
    console.print(f"special hours #{special_id} removed")


@special_app.command("batches")
def special_batches(limit: Annotated[int, typer.Option(min=1, help="how many, newest first")] = 50) -> None:
    """The batches of exceptions added by add-many, newest first."""
    from locator.special_hours import batches

    table = Table("batch", "places", "service", "from", "to", "hours", "comment", "added", "for (and later places)")
    for item in batches(_engine(), limit):
        chosen = item["selection"]
        named = (" ".join(f"{k}={','.join(v) if isinstance(v, list) else v}" for k, v in chosen.items() if v)
                 if chosen else "ids named")  # fmt: skip
        added = item["created_at"][:16].replace("T", " ")
        table.add_row(str(item["batch"]), str(item["places"]), item["service"] or "(all)", item["start"], item["end"],
                      item["hours"], item["comment"] or "", added, named)  # fmt: skip
    console.print(table)


@special_app.command("remove-batch")
def special_remove_batch(batch: Annotated[int, typer.Argument(help="the batch's number (add-many prints it)")]) -> None:
    """Remove every exception of a batch added by add-many."""
    from locator.special_hours import remove_batch

    try:
        places = remove_batch(_engine(), batch)
    except LocatorError as exc:
        fail(str(exc))
    console.print(f"special hours batch #{batch} removed from {_some([], places)}")


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    # Bounded: uvicorn took 70000 modulo 65536 (it listened on 4464, saying 70000), and -5 ended in a traceback.
    port: Annotated[int, typer.Option(help="port", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes", min=1)] = 1,
    access_log: Annotated[
        bool | None, typer.Option("--access-log/--no-access-log", help="a log line per request [LOCATOR_ACCESS_LOG]")
    ] = None,
) -> None:
    """Run the API and the map page (uvicorn)."""
    import uvicorn

    settings = get_settings()
    # What each worker would find wrong at start-up, found here: with --workers 2 a bad URL printed a traceback
    # per worker, and the supervisor exited 0.
    settings.sqlalchemy_url()
    settings.sqlalchemy_url(read=True)
    (settings.home / "assets").mkdir(parents=True, exist_ok=True)
    log = settings.access_log if access_log is None else access_log
    proxies = settings.forwarded_allow_ips.strip()
    uvicorn.run(
        "locator.api:app", host=host, port=port, workers=workers, log_level="info", access_log=log,
        proxy_headers=bool(proxies), forwarded_allow_ips=proxies or None, log_config=_log_config(),
    )  # fmt: skip


def _log_config() -> dict[str, Any]:
    """uvicorn's logging, and the app's own loggers with a time, a level and a process id: without a handler
    of their own their lines came out bare, and two workers write to one log."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["app"] = {"format": "%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"}
    config["handlers"]["app"] = {"class": "logging.StreamHandler", "formatter": "app", "stream": "ext://sys.stderr"}
    for name in ("locator", "ingest"):
        config["loggers"][name] = {"handlers": ["app"], "level": "INFO", "propagate": False}
    # psycopg's pool warns of failed reconnections and broken connections (an outage of the replica, the
    # primary): bare lines without a handler. At INFO it also says it lent and took back a connection, two
    # lines for every search (~47k lines in a 22 s benchmark run, and their formatting on the request's path).
    config["loggers"]["psycopg"] = {"handlers": ["app"], "level": "WARNING", "propagate": False}
    return config


def main() -> None:
    """Run the CLI; database and core errors end in one clear line, never a traceback."""
    from pydantic import ValidationError
    from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

    try:
        app(standalone_mode=True)
    except ValidationError as exc:  # a LOCATOR_ setting that is not what it must be: the setting, not pydantic's dump
        error_line("\n".join(f"{_setting(error['loc'])}: {error['msg']}" for error in exc.errors()))
        raise SystemExit(2) from None
    except OSError as exc:  # LOCATOR_HOME where nothing can be written, a file that cannot be read
        error_line(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))
        raise SystemExit(1) from None
    except OperationalError as exc:
        error_line(f"the database does not answer: {_first_line(exc)}\n"
                   "start it with `locator db up` or check LOCATOR_DATABASE_URL")  # fmt: skip
        raise SystemExit(1) from None
    except ProgrammingError as exc:
        error_line(f"{_first_line(exc)}\nthe schema may be out of date: run `locator db init`")
        raise SystemExit(1) from None
    except DBAPIError as exc:
        error_line(f"database error: {_first_line(exc)}")
        raise SystemExit(1) from None
    except DatabaseUnavailable as exc:
        from locator.db import outage_reason  # here: `hours eval` and --help need no database driver

        # The driver's reason ("connection refused"), not the API's "did not answer in time"
        reason = outage_reason(exc.__cause__) if exc.__cause__ is not None else None
        error_line(f"the database does not answer: {reason or exc}\n"
                   "start it with `locator db up` or check LOCATOR_DATABASE_URL")  # fmt: skip
        raise SystemExit(1) from None
    except LocatorError as exc:
        error_line(str(exc))
        raise SystemExit(1) from None


def _setting(location: tuple[int | str, ...]) -> str:
    """`LOCATOR_RATE_LIMIT` for the field pydantic names `rate_limit`."""
    return "LOCATOR_" + "_".join(str(part) for part in location).upper() if location else "settings"


def _first_line(exc: Exception) -> str:
    original = getattr(exc, "orig", None) or exc
    return str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
