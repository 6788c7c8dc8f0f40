"""Reader for Best Buy's open-data store list (``stores.json``).

The feed is a JSON array of store objects (see ``docs/bestbuy-feed.md`` for the field-by-field mapping
and every interpretation decision). :func:`read_bestbuy` turns each store into a record that uses the
column names of CONTRACT.md's "Location input", so the ingest pipeline validates, diffs and publishes
it exactly like a CSV or GeoJSON row.

Hours come as ``Mon: 10-9; Tue: 10-9; ...; Sun: 11-8``: a 12-hour clock *without* am/pm.
:func:`convert_hours` reads them with these rules, all measured against the 1,565-store file:

* An opening hour 6-11 is a.m., 12 is noon, 1-5 is p.m. (only Sunday ``1-6`` / ``1-5:30`` use it;
  no Best Buy opens at 1 a.m.), ``0`` is midnight (the vendor's own way of writing it).
* A closing hour 1-11 is p.m. (every closing time in the file is 5 p.m. or later) and ``0`` is
  midnight.  ``11:59`` is the vendor's "until midnight" and becomes ``24:00``, so that a store open
  all day has no one-minute gap before midnight.  A closing ``12`` (noon or midnight?) is refused.
* ``0-11:59`` is the whole day (189 airport/HQ Express kiosks, every day), and so is ``12-11:59``
  (one store, Union Square NY, Tue-Sat after a Monday ``8-11:59``): read as 12 a.m.-11:59 p.m. it
  makes one continuous run from Monday 08:00 to Saturday midnight; read as noon it would make a
  flagship open at 8 on Mondays and at noon on other weekdays, which no other BigBox does.  The
  reading is reported as a warning.
* A day given as ``closed`` is ``off``; a day not listed is closed too (the four stores without
  Sunday are all in Paramus, NJ, whose blue laws close shops on Sundays) and is reported as a
  warning.
* Hour values 13-24 are taken as a 24-hour clock, since they cannot be anything else.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import opening_hours

from ingest.readers import FeedError, not_utf8

__all__ = ["FeedError", "RowProblem", "convert_hours", "read_bestbuy"]

logger = logging.getLogger(__name__)

WarningSink = Callable[[int, str], None]
"""Receives ``(row_number, message)`` for every warning."""


@dataclass(frozen=True)
class RowProblem:
    """A row-level problem with the contract column it concerns and the vendor's value, for the ingest report.

    ``rejects``: the adapter could not read the value at all (hours it cannot convert); the pipeline rejects the
    row rather than guessing, where a plain :data:`WarningSink` only gets the message.
    """

    column: str
    value: Any
    message: str
    rejects: bool = False


ProblemSink = Callable[[int, RowProblem], None]
"""Receives ``(row_number, problem)`` for every problem: what the pipeline reads (see ingest/readers.py)."""

_Warn = Callable[..., None]
"""``warn(message, column="", value=None, rejects=False)``, bound to one row."""


# --- hours -------------------------------------------------------------------------------------------

_OSM_DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")

# The file uses Mon Tue Wed Thurs Fri Sat Sun; the other spellings cost nothing and keep a
# hand-edited feed from being rejected for writing "Thu" or "Tuesday".
_DAY_ALIASES: dict[str, int] = {}
for _index, _names in enumerate(
    (
        ("mon", "mo", "monday"),
        ("tue", "tu", "tues", "tuesday"),
        ("wed", "we", "weds", "wednesday"),
        ("thu", "th", "thur", "thurs", "thursday"),
        ("fri", "fr", "friday"),
        ("sat", "sa", "saturday"),
        ("sun", "su", "sunday"),
    )
):
    for _name in _names:
        _DAY_ALIASES[_name] = _index

_PART = re.compile(r"\s*(?P<day>[A-Za-z]+)\.?\s*:\s*(?P<value>.*?)\s*")
_RANGE = re.compile(r"(?P<oh>\d{1,2})(?::(?P<om>\d{2}))?\s*[-\u2013]\s*(?P<ch>\d{1,2})(?::(?P<cm>\d{2}))?")
_CLOSED = frozenset({"closed", "close", "off"})

_MIDNIGHT_END = 24 * 60
_WHOLE_DAY = (0, _MIDNIGHT_END)


@dataclass(frozen=True)
class _Day:
    """One weekday: ``None`` when closed, else minutes from midnight (end may be 1440)."""

    span: tuple[int, int] | None


def _opening_minutes(hour: int, minute: int, closes_at_1159: bool) -> int:
    if (hour, minute) == (12, 0) and closes_at_1159:
        # 12-11:59 is the whole day, see the module docstring for why not noon; 12:30-11:59 is no such form.
        return 0
    if hour == 0 or 6 <= hour <= 11 or 13 <= hour <= 23:
        return hour * 60 + minute
    if hour == 12:
        return 12 * 60 + minute
    if 1 <= hour <= 5:
        return (hour + 12) * 60 + minute
    raise ValueError(f"opening hour {hour} is not a clock hour")


def _closing_minutes(hour: int, minute: int) -> int:
    if (hour, minute) == (11, 59) or (hour, minute) in ((0, 0), (24, 0)):
        return _MIDNIGHT_END
    if 1 <= hour <= 11:
        return (hour + 12) * 60 + minute
    if 13 <= hour <= 23:
        return hour * 60 + minute
    if hour == 12:
        raise ValueError("closing hour 12 is ambiguous (noon or midnight?); this feed writes midnight as 11:59")
    raise ValueError(f"closing time {hour}:{minute:02d} is not a clock time")


def _parse_range(day_name: str, value: str) -> tuple[_Day, bool]:
    """Returns the day and whether the ambiguous ``12-11:59`` form was read as the whole day."""
    if value.casefold() in _CLOSED:
        return _Day(None), False
    match = _RANGE.fullmatch(value)
    if match is None:
        raise ValueError(f"{day_name}: {value!r} is not an 'open-close' time range")
    oh, ch = int(match["oh"]), int(match["ch"])
    om, cm = int(match["om"] or 0), int(match["cm"] or 0)
    if om > 59 or cm > 59:
        raise ValueError(f"{day_name}: {value!r} has minutes above 59")
    closes_at_1159 = (ch, cm) == (11, 59)
    try:
        start = _opening_minutes(oh, om, closes_at_1159)
        end = _closing_minutes(ch, cm)
    except ValueError as error:
        # Named like the other errors here: a week has seven ranges, the person fixing it needs the day.
        raise ValueError(f"{day_name}: {value!r}: {error}") from None
    if end <= start:
        raise ValueError(f"{day_name}: {value!r} closes before it opens")
    ambiguous_whole_day = (oh, om) == (12, 0) and closes_at_1159
    return _Day((start, end)), ambiguous_whole_day


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _day_selector(days: list[int]) -> str:
    """Consecutive days become ranges (``Mo-Th``), the rest a comma list (``Mo-Th,Su``)."""
    runs: list[list[int]] = []
    for day in days:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ",".join(_OSM_DAYS[run[0]] if len(run) == 1 else f"{_OSM_DAYS[run[0]]}-{_OSM_DAYS[run[-1]]}" for run in runs)


def _render(week: list[_Day]) -> str:
    if all(day.span == _WHOLE_DAY for day in week):
        return "24/7"
    values = ["off" if day.span is None else f"{_clock(day.span[0])}-{_clock(day.span[1])}" for day in week]
    # Grouping equal values (in order of their first day) keeps the rules' day sets disjoint, so the
    # OSM rule-override semantics never come into play and the rule order cannot change the meaning.
    groups: dict[str, list[int]] = {}
    for index, value in enumerate(values):
        groups.setdefault(value, []).append(index)
    return "; ".join(f"{_day_selector(days)} {value}" for value, days in groups.items())


def convert_hours(text: str) -> tuple[str, list[str]]:
    """Convert the vendor's weekly hours to an OSM ``opening_hours`` value.

    ``"Mon: 10-9; Tue: 10-9; Wed: 10-9; Thurs: 10-9; Fri: 10-10; Sat: 10-10; Sun: 11-8"`` becomes
    ``"Mo-Th 10:00-21:00; Fr-Sa 10:00-22:00; Su 11:00-20:00"``.  The rules for the 12-hour clock without
    am/pm, ``0-11:59``, ``12-11:59``, closed and missing days are in the module docstring.

    Returns the value (checked with ``opening_hours.OpeningHours``) and human-readable warnings about
    interpretations a person may want to check.  Raises ValueError naming the offending part
    (TypeError when ``text`` is not a string).
    """
    if not isinstance(text, str):
        raise TypeError(f"hours must be text, got {type(text).__name__}")
    parts = [part for part in text.split(";") if part.strip()]
    if not parts:
        raise ValueError("no days listed")
    week: list[_Day | None] = [None] * 7
    whole_day_reads: list[int] = []
    for part in parts:
        match = _PART.fullmatch(part)
        if match is None:
            raise ValueError(f"{part.strip()!r} is not 'Day: open-close'")
        day_name = match["day"]
        index = _DAY_ALIASES.get(day_name.casefold())
        if index is None:
            raise ValueError(f"{day_name!r} is not a day of the week")
        if week[index] is not None:
            raise ValueError(f"{day_name!r} is listed twice")
        week[index], ambiguous = _parse_range(day_name, match["value"])
        if ambiguous:
            whole_day_reads.append(index)

    warnings: list[str] = []
    if whole_day_reads:
        warnings.append(
            f"{_day_selector(whole_day_reads)}: '12-11:59' read as the whole day (00:00-24:00), not noon to midnight"
        )
    missing = [index for index, day in enumerate(week) if day is None]
    if missing:
        warnings.append(f"{_day_selector(missing)} not listed: read as closed")
    value = _render([day if day is not None else _Day(None) for day in week])
    if not opening_hours.validate(value):  # pragma: no cover - would be a bug in _render
        raise ValueError(f"converted value {value!r} is not valid opening_hours")
    return value, warnings


# --- services ----------------------------------------------------------------------------------------

# Vendor service name (case-folded, trimmed) -> (products, services).  The vocabulary is the one the
# API filters on (`product=`, `service=`); "repair" is what makes the pipeline count a service centre.
_SERVICE_MAP: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "geek squad services": ((), ("repair",)),
    # Every Solution Central store also lists Geek Squad Services; the bigger desk is still a repair desk.
    "geek squad solution central": ((), ("repair",)),
    "best buy mobile": ((), ("mobile",)),
    "best buy mobile specialty store": ((), ("mobile",)),
    "best buy for business": ((), ("business",)),
    "electronics recycling": ((), ("recycling",)),
    "car & gps installation services": ((), ("car_installation",)),
    "best buy marine powered by geek squad": ((), ("marine_installation",)),
    "magnolia home theater": ((), ("home_theater",)),
    "magnolia design center": ((), ("home_theater",)),
    "hablamos español": ((), ("spanish_spoken",)),
    "apple shop": (("apple",), ()),
    "samsung experience": (("samsung",), ()),
    "samsung experience shop": (("samsung",), ()),
    "windows store": (("windows",), ()),
    "sony experience": (("sony",), ()),
    "lg experience": (("lg",), ()),
    "camera experience shop": (("cameras",), ()),
    "pacific kitchen & home": (("appliances",), ()),
    "pacific sales kitchen & home": (("appliances",), ()),
    "appliance outlet": (("appliances",), ("outlet",)),
}


def _map_services(raw: object, warn: _Warn) -> tuple[str, str]:
    """Returns the ``products`` and ``services`` columns (``;``-joined, sorted, "sales" first)."""
    if raw is None:
        names: list[object] = []
    elif isinstance(raw, str):
        names = [raw]
    elif isinstance(raw, list):
        names = list(raw)
    else:
        warn(f"services: expected a list, got {type(raw).__name__}; ignored", "services", repr(raw))
        names = []
    products: set[str] = set()
    services: set[str] = set()
    for name in names:
        if not isinstance(name, str):
            warn(f"services: {name!r} is not text; ignored", "services", repr(name))
            continue
        key = " ".join(name.split()).casefold()
        if not key:
            continue
        mapped = _SERVICE_MAP.get(key)
        if mapped is None:
            warn(f"services: unknown vendor service {name.strip()!r}; ignored", "services", name)
            continue
        products.update(mapped[0])
        services.update(mapped[1])
    services.discard("sales")
    # Every Best Buy outlet, kiosks included, sells; the vendor never lists that as a service.
    return ";".join(sorted(products)), ";".join(["sales", *sorted(services)])


# --- records -----------------------------------------------------------------------------------------

_COLUMNS = (
    "id",
    "name",
    "kind",
    "street",
    "postcode",
    "city",
    "region",
    "country",
    "lat",
    "lon",
    "timezone",
    "opening_hours",
    "products",
    "services",
    "phone",
    "url",
)

_BRANDS = {"bigbox": "Best Buy", "mobile": "Best Buy Mobile", "express": "Best Buy Express"}


def _text(value: object) -> str | None:
    """Trimmed text with runs of whitespace collapsed (the feed has trailing and double spaces)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        value = str(value)
    if not isinstance(value, str):
        return None
    cleaned = " ".join(value.split())
    return cleaned or None


def _coordinate(value: object) -> float | str | None:
    # An unreadable value is passed through as text so that the pipeline rejects the row and names it.
    if value is None or isinstance(value, bool):
        return None if value is None else str(value)
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            number = float(value)
        except ValueError:
            return value
    elif isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:  # an int past a float's range (JSON has no limit on digits): a traceback
            return str(value)
    else:
        return repr(value)
    # Python's json accepts NaN and Infinity; as text they fail the pipeline's range check by name
    # instead of slipping through comparisons that are all false.
    return number if math.isfinite(number) else str(value)


def _empty_record() -> dict[str, Any]:
    return dict.fromkeys(_COLUMNS)


def _store_record(store: Mapping[str, Any], warn: _Warn) -> dict[str, Any]:
    record = _empty_record()

    raw_id = store.get("id")
    # Store numbers are JSON ints; a float id such as 1000.0 would become "1000.0" and be kept
    # visibly odd rather than silently merged with store 1000.
    record["id"] = str(raw_id) if isinstance(raw_id, int) and not isinstance(raw_id, bool) else _text(raw_id)

    store_type = _text(store.get("type"))
    brand = _BRANDS.get((store_type or "").casefold())
    if store_type is not None and brand is None:
        warn(f"type: unknown store type {store_type!r}; named as a plain Best Buy", "name", store_type)
    vendor_name = _text(store.get("name"))
    # The vendor name is the mall or airport ("Mall of America"); customers look for the brand.
    record["name"] = f"{brand or 'Best Buy'} \N{EN DASH} {vendor_name}" if vendor_name else None
    record["kind"] = "store"

    street = ", ".join(part for part in (_text(store.get("address")), _text(store.get("address2"))) if part)
    record["street"] = street or None
    raw_zip = store.get("zip")
    # A ZIP read back from a spreadsheet as a number loses its leading zeros (Puerto Rico is 00xxx); the feed
    # itself writes 19 New England and New Jersey ZIPs as 3-4 digit text ("2128" for Boston's 02128).
    if isinstance(raw_zip, int) and not isinstance(raw_zip, bool) and 0 <= raw_zip <= 99999:
        record["postcode"] = f"{raw_zip:05d}"
    elif isinstance(raw_zip, str) and re.fullmatch(r"\d{3,4}", raw_zip.strip()):
        record["postcode"] = raw_zip.strip().zfill(5)
        warn(f"ZIP {raw_zip.strip()!r} read as {record['postcode']} (its leading zeros lost)", "zip", raw_zip)
    else:
        record["postcode"] = _text(raw_zip)
    record["city"] = _text(store.get("city"))
    state = _text(store.get("state"))
    if state is not None and re.fullmatch(r"[A-Za-z]{2}", state):
        record["region"] = f"US-{state.upper()}"
    else:
        record["region"] = state
    record["country"] = "US"

    location = store.get("location")
    if isinstance(location, Mapping):
        record["lat"] = _coordinate(location.get("lat"))
        record["lon"] = _coordinate(location.get("lon"))
    elif location is not None:
        warn(f"location: expected an object with lat and lon, got {type(location).__name__}", "lat", repr(location))
    record["timezone"] = None

    hours = store.get("hours")
    if hours is None or (isinstance(hours, str) and not hours.strip()):
        warn("hours: missing", "opening_hours", hours)
    else:
        try:
            record["opening_hours"], hour_warnings = convert_hours(hours)
        except (ValueError, TypeError) as error:
            # The raw text goes on for the record to show what was read, but it must not be published: the
            # tolerant OSM parser accepts much of this syntax with another meaning ("Tue: 10-9" as 10:00-09:00
            # overnight). A problem sink rejects the row; a plain warning sink gets the message.
            raw = hours if isinstance(hours, str) else repr(hours)
            record["opening_hours"] = raw
            warn(f"hours: cannot convert: {error}", "opening_hours", raw, rejects=True)
        else:
            for message in hour_warnings:
                warn(f"hours: {message}", "opening_hours", hours)

    record["products"], record["services"] = _map_services(store.get("services"), warn)
    return record


def _log_warning(row: int, message: str) -> None:
    logger.warning("bestbuy row %d: %s", row, message)


def _load(path: Path) -> list[Any]:
    try:
        # json.load reads the text once and builds the objects; at 700 KB (1,565 stores) that peaks at
        # a few MB.  A feed hundreds of MB large would want a streaming parser (ijson) instead.
        with path.open(encoding="utf-8-sig") as handle:
            data = json.load(handle)
    except UnicodeDecodeError:
        raise not_utf8(path) from None  # names the line, column and byte, as for every other feed
    except json.JSONDecodeError as error:
        if not error.doc.strip():
            raise FeedError(f"{path.name}: the file is empty") from error
        raise FeedError(
            f"{path.name}: invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        ) from error
    except ValueError as error:
        # Not a JSONDecodeError: a number past Python's 4,300-digit limit for int conversion.
        raise FeedError(f"{path.name}: invalid JSON: {str(error).split(':')[0]}") from error
    except RecursionError as error:
        raise FeedError(f"{path.name}: JSON nested too deeply to be a store list") from error
    except OSError as error:
        raise FeedError(f"{path.name}: cannot read the file: {error.strerror or error}") from error
    if not isinstance(data, list):
        kind = "an object" if isinstance(data, dict) else f"a JSON {type(data).__name__}"
        raise FeedError(f"{path.name}: the top level is {kind}; expected a JSON array of store objects")
    if data and isinstance(data[0], Mapping) and data[0].get("type") == "Feature":
        # A JSON file whose text starts with '[' is read as this feed: GeoJSON features would be rejected one by
        # one as stores without an id, name or hours.
        raise FeedError(
            f"{path.name}: a JSON array of GeoJSON features, not Best Buy stores; put them in a FeatureCollection "
            '({"type": "FeatureCollection", "features": [...]}) and load it as GeoJSON'
        )
    return data


def _records(data: list[Any], on_problem: ProblemSink) -> Iterator[tuple[int, dict[str, Any]]]:
    for index in range(len(data)):
        row = index + 1
        item = data[index]
        # Drop our reference as we go, so the parsed list and the consumer's records do not both stay
        # alive in full.
        data[index] = None

        def warn(message: str, column: str = "", value: Any = None, *, rejects: bool = False, row: int = row) -> None:
            on_problem(row, RowProblem(column, value, message, rejects))

        if isinstance(item, Mapping):
            yield row, _store_record(item, warn)
        else:
            # Yield it anyway: the pipeline rejects the row by number (no id, no name) and keeps going.
            warn(f"record is {type(item).__name__}, not an object; nothing can be read from it", "", repr(item)[:60])
            yield row, _empty_record()


def read_bestbuy(
    path: Path, *, on_warning: WarningSink | None = None, on_problem: ProblemSink | None = None
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Read ``stores.json`` and yield ``(row_number, record)`` for every store, row 1 being the first.

    Records use CONTRACT.md's input column names (``id``, ``name``, ``kind``, ``street``, ``postcode``,
    ``city``, ``region``, ``country``, ``lat``, ``lon``, ``timezone``, ``opening_hours``, ``products``,
    ``services``, ``phone``, ``url``); every key is present, ``None`` when the feed has no value.
    ``timezone`` is always ``None``: the pipeline infers it from the coordinates.

    The file is read and checked before this returns, so a broken file raises :class:`FeedError`
    at the call, never half-way through the rows.  Row-level problems never raise: they go to
    ``on_warning(row, message)`` (default: this module's logger) and the record carries what could be
    read, e.g. the raw hours text when it cannot be converted.  ``on_problem(row, RowProblem)``, when
    given, gets them instead with their column and value, and a ``rejects`` flag for what could not be read
    (the pipeline rejects such a row by name).
    """
    data = _load(Path(path))
    if on_problem is None:
        warning_sink = on_warning or _log_warning

        def on_problem(row: int, problem: RowProblem) -> None:
            warning_sink(row, problem.message)

    return _records(data, on_problem)
