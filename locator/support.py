"""Support lines (phone, chat, ...): hours in a named timezone, available now, next available.

"Phone support weekdays 09:00-20:00 Moscow time" is `Mo-Fr 09:00-20:00; PH off` with timezone
Europe/Moscow: evaluated by the same hours engine as the shops, with the line's country holidays.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from locator.countries import is_country, is_zone_name
from locator.csvfiles import csv_problem, delimiter_of, first_undecodable
from locator.db import REMOVAL_GUARD, unbounded
from locator.errors import InvalidParameter
from locator.geocoders.base import validate_country
from locator.hours import HoursError, HoursSyntaxError, Schedule
from locator.open_intervals import schedule_for
from locator.places import filter_words
from locator.search import check_instant, filter_values
from locator.working_days import CALENDARS, official_exceptions

CHANNELS = ("phone", "chat", "email", "messaging", "callback")
COLUMNS = ("id", "country", "channel", "label", "contact", "timezone", "opening_hours")
OPTIONAL = ("languages", "products", "region", "calendar")


class SupportFileError(ValueError):
    """A support file row is invalid; the message names the line and the column."""


@dataclass(frozen=True)
class Channel:
    id: str
    country: str
    channel: str
    label: str
    contact: str
    languages: list[str]
    products: list[str]
    timezone: str
    region: str | None
    hours_raw: str
    hours: str
    calendar: str = ""  # locator.working_days.CALENDARS


def read_channels(path: Path, on_warning: Callable[[str], None] | None = None) -> list[Channel]:
    """The file's channels; `on_warning` hears what the hours parser repaired or cannot honour, by line (`PH`
    on a line serving every country, which has no holidays to follow), and the columns nothing reads. Every
    problem is a SupportFileError naming the file's line (and column): the load replaces every line, so a
    file read wrong would take the right ones away."""
    name = path.name
    channels: list[Channel] = []
    lines: dict[str, list[int]] = {}
    # The file's line of each line the reader is given: blank lines are left out here, as the reader would skip
    # them without counting, and a row's line is the file's (it was one less per blank line above it).
    numbers: list[int] = []
    read = 0  # lines the reader has taken: the next row starts at numbers[read]

    def given(handle: Iterable[str]) -> Iterator[str]:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                numbers.append(number)
                yield line

    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            # The delimiter is the header line's commonest, as a location feed's (a spreadsheet's `;` export).
            delimiter = delimiter_of(next((line for line in handle if line.strip()), ""))
            handle.seek(0)
            # strict: a quote never closed is an error (it read to the end of the file as one value).
            reader = csv.DictReader(given(handle), delimiter=delimiter, strict=True)
            # Read as a location feed's header is: `ID`, `Country` are the columns.
            header = [column.strip().lower() for column in reader.fieldnames or []]
            _check_header(name, header, on_warning)
            reader.fieldnames = header
            read = reader.line_num
            for row in reader:
                start, read = numbers[read], reader.line_num
                if not any(_text(value) for value in row.values()):
                    continue  # a spreadsheet's empty row (",,,,"), as a location feed's
                channel = _channel(name, start, row, on_warning)
                channels.append(channel)
                lines.setdefault(channel.id, []).append(start)
    except UnicodeDecodeError:
        found = first_undecodable(path)
        raise SupportFileError(f"{name}: not UTF-8 text (line {found[0] if found else 0})") from None
    except csv.Error as exc:
        where = numbers[read] if read < len(numbers) else (numbers[-1] if numbers else 1)
        raise SupportFileError(f"{name}, line {where}: {csv_problem(exc)}") from None
    except OSError as exc:
        raise SupportFileError(f"{path}: cannot read the file ({exc.strerror})") from None
    duplicates = [f"{i} (lines {', '.join(map(str, at))})" for i, at in lines.items() if len(at) > 1]
    if duplicates:
        raise SupportFileError(f"{name}: duplicate id(s) {'; '.join(duplicates)}")
    return channels


def _text(value: str | list[str] | None) -> str:
    """A value as DictReader gives it, as text: the values past the header's columns come as a list."""
    return "".join(value).strip() if isinstance(value, list) else (value or "").strip()


def _check_header(name: str, header: list[str], on_warning: Callable[[str], None] | None) -> None:
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise SupportFileError(f"{name}: line 1: missing columns {', '.join(missing)}")
    twice = sorted({c for c in header if c and header.count(c) > 1})
    if twice:
        # Read as a dict, the last of them won without a word.
        raise SupportFileError(f"{name}: line 1: column(s) {', '.join(twice)} named twice; keep one")
    for column in header:
        if column not in (*COLUMNS, *OPTIONAL) and on_warning is not None:
            # A misspelt `calender` left a Russian line without its official calendar, without a word.
            on_warning(f"{name}: line 1: column {column!r} is not read (columns: {', '.join((*COLUMNS, *OPTIONAL))})")


def _channel(
    name: str, line: int, row: dict[str | None, Any], on_warning: Callable[[str], None] | None = None
) -> Channel:
    # DictReader files values beyond the header's columns under None: an unquoted comma in the hours
    # ("Mo-Fr 09:00-20:00, Sa 10:00-14:00") put Saturday there, and it was dropped without a word.
    extra = row.get(None)
    if extra:
        # From the last column on: the value a comma split may have pushed there (the hours' tail) is shown too.
        last = list(row)[-2]  # the header's last column; the None key (the extras) comes after it
        tail = ", ".join(map(repr, [row.get(last) or "", *extra]))
        raise SupportFileError(
            f"{name}, line {line}: more values than columns (from column {last}: {tail}); "
            "quote a value that holds a comma"
        )
    for column in (*COLUMNS, *OPTIONAL):
        # PostgreSQL text cannot hold NUL: the database refused the whole file without naming the row.
        if "\x00" in (row.get(column) or ""):
            raise SupportFileError(f"{name}, line {line}, column {column}: contains a NUL byte")
        if "\n" in (row.get(column) or ""):
            # No value of a support line spans lines: a quote left open swallowed the lines after it.
            raise SupportFileError(f"{name}, line {line}, column {column}: a value spanning lines (a quote never "
                                   "closed?)")  # fmt: skip

    def need(column: str) -> str:
        value = (row.get(column) or "").strip()
        if not value:
            raise SupportFileError(f"{name}, line {line}, column {column}: empty")
        return value

    country = need("country").upper()
    if country != "*" and not is_country(country):
        raise SupportFileError(
            f"{name}, line {line}, column country: {country!r} is not an ISO 3166-1 alpha-2 country code or '*'"
        )
    channel = need("channel").lower()
    if channel not in CHANNELS:
        raise SupportFileError(f"{name}, line {line}, column channel: {channel!r} is not one of {', '.join(CHANNELS)}")
    region = (row.get("region") or "").strip() or None
    calendar = (row.get("calendar") or "").strip().lower()
    if calendar not in CALENDARS:
        raise SupportFileError(
            f"{name}, line {line}, column calendar: {calendar!r} is not one of: empty (the hours as written), official"
        )
    if calendar and country == "*":
        raise SupportFileError(f"{name}, line {line}, column calendar: a line serving every country has no calendar")
    timezone = need("timezone")
    if not is_zone_name(timezone):
        # Checked here, not left to Schedule, so that the error names the one column at fault.
        raise SupportFileError(
            f"{name}, line {line}, column timezone: {timezone!r} is not an IANA timezone such as Europe/Moscow"
        )
    try:
        schedule = Schedule.parse(
            need("opening_hours"), timezone=timezone, country=None if country == "*" else country, region=region
        )
    except (HoursSyntaxError, HoursError) as exc:
        raise SupportFileError(f"{name}, line {line}, column opening_hours: {exc}") from None
    if on_warning is not None:
        for message in schedule.warnings:
            on_warning(f"{name}, line {line}, column opening_hours: {message}")
    return Channel(
        id=need("id"),
        country=country,
        channel=channel,
        label=need("label"),
        contact=need("contact"),
        languages=_languages(row.get("languages")),
        products=_products(name, line, row.get("products"), on_warning),
        timezone=schedule.timezone,
        region=region,
        hours_raw=need("opening_hours"),
        hours=schedule.canonical,
        calendar=calendar,
    )


def _languages(value: str | None) -> list[str]:
    return sorted({v.strip().lower() for v in re.split(r"[;,|]", value or "") if v.strip()})


def _products(name: str, line: int, value: str | None, on_warning: Callable[[str], None] | None) -> list[str]:
    """The line's products as the `product` filter names them, as a location feed's: `Apple Watch` is
    `apple-watch` (said), and `iphone, mac` two products."""
    words, renamed = filter_words(value or "")
    if renamed and on_warning is not None:
        read_as = ", ".join(f"{written!r} as {word!r}" for written, word in renamed)
        on_warning(f"{name}, line {line}, column products: read {read_as} (products are filtered on by such words)")
    return list(words)


def load_channels(
    engine: Engine, path: Path, on_warning: Callable[[str], None] | None = None, *, allow_removals: bool = False
) -> int:
    """Replace the whole table with the file's channels (one transaction). A file that would take away more
    than REMOVAL_GUARD of the lines loaded (a truncated export, one country's file given for all, every id
    renamed), or every line (an empty file), loads nothing unless `allow_removals`."""
    channels = read_channels(path, on_warning)
    with engine.begin() as conn:
        unbounded(conn)
        # Self-conflicting but not blocking reads: a second ingest at the same time waits for this one to
        # commit, and only then takes the snapshot its DELETE sees. Without it, that DELETE missed the rows
        # this one inserted and its own inserts failed on the primary key.
        conn.execute(text("LOCK TABLE support_channels IN SHARE ROW EXCLUSIVE MODE"))
        loaded, removed, some = conn.execute(
            text(
                """
                SELECT count(*), count(*) FILTER (WHERE NOT id = ANY(CAST(:ids AS text[]))),
                       (array_agg(id ORDER BY id) FILTER (WHERE NOT id = ANY(CAST(:ids AS text[]))))[1:5]
                  FROM support_channels
                """
            ),
            {"ids": [c.id for c in channels]},
        ).one()
        if not allow_removals and not channels and loaded:
            raise SupportFileError(
                f"{path.name}: no support lines; nothing changed (--allow-removals removes every line)"
            )
        # Lines removed, not lines counted: a file of one country's lines (as many as every country's) took
        # the others' away.
        if not allow_removals and removed > loaded * REMOVAL_GUARD:
            raise SupportFileError(
                f"{path.name}: would remove {removed} of the {loaded} support lines loaded (more than "
                f"{REMOVAL_GUARD:.0%}; {', '.join(some)}{' ...' if removed > len(some) else ''}): nothing loaded; "
                "--allow-removals loads it anyway"
            )
        conn.execute(text("DELETE FROM support_channels"))
        for c in channels:
            conn.execute(
                text(
                    """
                    INSERT INTO support_channels (id, country, channel, label, contact, languages, products,
                                                  timezone, region, hours_raw, hours, calendar)
                    VALUES (:id, :country, :channel, :label, :contact, :languages, :products,
                            :timezone, :region, :hours_raw, :hours, :calendar)
                    """
                ),
                c.__dict__,
            )
    return len(channels)


def contacts(
    engine: Engine, country: str, at: datetime | None = None, product: str | Sequence[str] | None = None
) -> dict[str, Any]:
    """The country's support lines (and those serving every country), with their availability at `at`; with
    `product` (repeated or comma-separated, as the nearest search reads it), the lines for any of them."""
    products = filter_values("product", [product] if isinstance(product, str) else product)
    checked = validate_country(country)  # the searches' own check of a country hint
    if checked is None:
        raise InvalidParameter("country", "required: an ISO 3166-1 alpha-2 code such as FR")
    country = checked
    check_instant(at)
    moment = at or datetime.now(UTC)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """
                SELECT * FROM support_channels
                 WHERE country IN (:country, '*')
                   AND (cardinality(CAST(:products AS text[])) = 0 OR cardinality(products) = 0
                        OR products && CAST(:products AS text[]))
                 ORDER BY country = '*', channel, id
                """
            ),
            {"country": country, "products": list(products)},
        ).mappings()
        channels = [Channel(**{k: row[k] for k in Channel.__dataclass_fields__}) for row in rows]
    out = []
    for c in channels:
        line_country = None if c.country == "*" else c.country
        schedule = schedule_for(c.hours, c.timezone, line_country, c.region)
        if c.calendar == "official":
            # The years an answer can reach: next_available looks up to three years ahead.
            moves = official_exceptions(schedule, line_country, range(moment.year - 1, moment.year + 4))
            schedule = schedule_for(c.hours, c.timezone, line_country, c.region, moves)
        # "unknown" (`Mo-Fr 09:00-18:00 "on appointment"`, `unknown`) is not available, and says why in its
        # comment, as a closure does ("closed for works"): both reach the caller, as a place's answer gives them.
        state, comment = schedule.state(moment)
        available = state == "open"
        closes = schedule.closes_at(moment) if available else None
        # When it answers: open time only, not a time the hours leave unknown ("sur rendez-vous").
        upcoming = None if available else schedule.next_open(moment, unknown=False)
        out.append(
            {
                "id": c.id,
                "channel": c.channel,
                "label": c.label,
                "contact": c.contact,
                "languages": c.languages,
                "products": c.products,
                "timezone": c.timezone,
                "hours": c.hours,
                "calendar": c.calendar or None,
                "available_now": available,
                "state": state,
                "status_comment": comment,
                "available_until": closes.isoformat() if closes else None,
                "next_available": upcoming.isoformat() if upcoming else None,
                "country": c.country,
            }
        )
    return {"country": country, "at": moment.astimezone(UTC).isoformat(), "contacts": out}
