"""Feed readers: each yields (row number, record) with CONTRACT.md's input column names.

Row numbers are what ops staff see in reports: the CSV row as a spreadsheet shows it (header = row 1; the file's
line unless a quoted value above spans lines), or the feature's position (1-based) in a GeoJSON or JSON array.
A GeoJSON feature's position is its Point geometry (see `point_of` for why other geometries are rejected).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from locator.csvfiles import csv_problem, delimiter_of, first_undecodable
from locator.places import filter_word

Record = dict[str, Any]
FORMATS = ("auto", "csv", "geojson", "bestbuy")


class FeedError(ValueError):
    """The file as a whole cannot be read; the message names the file and the place in it.

    `row` is the report's row number where the file broke (the CSV line, the GeoJSON feature), 0 when the
    file is broken before any row or the place is not a row: the report's rejection carries it.
    """

    def __init__(self, message: str, *, row: int = 0) -> None:
        super().__init__(message)
        self.row = row


def detect_format(path: Path) -> str:
    """The format from the file name, or from the first bytes when the name says nothing (an upload, `.txt`)."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix == ".geojson":
        return "geojson"
    with path.open("rb") as handle:
        head = handle.read(4096).removeprefix(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"["):
        return "bestbuy"
    if head.startswith(b"{") or suffix == ".json":
        return "geojson"
    if suffix in (".txt", "") and head:
        first_line = head.split(b"\n", 1)[0]
        if any(d in first_line for d in b",;\t|"):
            return "csv"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        # A spreadsheet's UTF-16 text export (an upload has no name to go by): the encoding is what to fix.
        raise not_utf8(path)
    raise FeedError(
        f"{path.name}: cannot tell the format from the name or the content; name it: --format, or format= in the"
        " admin API (csv, geojson, bestbuy)"
    )


def resolve_format(path: Path, fmt: str = "auto") -> str:
    """The format the file will be read as (`auto` detected): the audit records what was read, not `auto`."""
    if fmt not in FORMATS:
        raise FeedError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if not path.is_file():
        raise FeedError(f"{path}: no such file")
    return detect_format(path) if fmt == "auto" else fmt


def read_feed(path: Path, fmt: str = "auto") -> Iterator[tuple[int, Record]]:
    fmt = resolve_format(path, fmt)
    if fmt == "csv":
        return read_csv(path)
    if fmt == "geojson":
        return read_geojson(path)
    from ingest.bestbuy import RowProblem, read_bestbuy  # it imports this module: a top-level one is circular

    def bestbuy() -> Iterator[tuple[int, Record]]:
        pending: dict[int, list[RowProblem]] = {}
        rows = read_bestbuy(path, on_problem=lambda row, problem: pending.setdefault(row, []).append(problem))
        for number, record in rows:
            # The adapter's own repairs (a missing day read as closed...) join the ingest report as warnings,
            # with their column and value; what it could not read at all (hours it cannot convert) rejects the
            # row, since the raw text would otherwise reach the tolerant hours parser and be misread.
            for problem in pending.pop(number, ()):
                note = (problem.column, problem.value, problem.message)
                record.setdefault("_rejections" if problem.rejects else "_warnings", []).append(note)
            yield number, record

    return bestbuy()


# The contract's input columns (CONTRACT.md, "Location input"), besides the per-service `hours:<service>` ones.
INPUT_COLUMNS = frozenset(
    {
        "id", "name", "kind", "street", "postcode", "city", "region", "country", "lat", "lon", "timezone",
        "opening_hours", "service_hours", "products", "services", "phone", "url",
    }
)  # fmt: skip
# Python's csv stops at 131,072 characters a value, which made a long value fail the whole file; a value this
# long is read, and rejected by validation with its row and column. The csv module holds a value as 4 bytes a
# character while it reads it, so a quoted value never closed still stops at 64 MB of memory.
FIELD_LIMIT = 16 << 20


def is_input_column(name: str) -> bool:
    return name in INPUT_COLUMNS or name.startswith("hours:")


def hours_service(column: str) -> str:
    """The service an `hours:<service>` column holds hours for, as validation reads it ("hours:Repair " ->
    "repair", "hours:Express Repair" -> "express-repair", as the service is listed)."""
    return filter_word(column.split(":", 1)[1])


def service_hours_key(name: str) -> str:
    """A column's name with an `hours:` column's service as validation reads it: two names with one key are
    one column."""
    return f"hours:{hours_service(name)}" if name.startswith("hours:") else name


def _column_name(name: str, header: set[str]) -> str:
    """A header's name as the contract spells it ("ID", "Opening_Hours" are its columns), unless `header` (every
    name of the line) holds that spelling already."""
    if is_input_column(name):
        return name
    lowered = name.lower()
    return lowered if is_input_column(lowered) and lowered not in header else name


def not_utf8(path: Path, *, rows: Callable[[int], int] | None = None) -> FeedError:
    """Name where the first undecodable byte is: a line and column a person can find in an editor.

    `rows`: the report's row for a line of the file (CSV), for the rejection; without it the error is no row's.
    """
    with path.open("rb") as handle:
        head = handle.read(4)
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            return FeedError(f"{path.name}: UTF-16 text (a spreadsheet's 'Unicode text' export); save it as UTF-8")
    found = first_undecodable(path)
    if found is None:
        return FeedError(f"{path.name}: not UTF-8 text; save it as UTF-8")
    number, column, byte = found
    row = rows(number) if rows is not None else 0
    where = f"line {number}" if row in (0, number) else f"row {row}, line {number}"
    return FeedError(
        f"{path.name}: not UTF-8 text ({where}, column {column}: byte 0x{byte:02x}); save it as UTF-8", row=row
    )


@dataclass(frozen=True)
class _Header:
    """What line 1 says: the name read at each position (None: the column is not read) and notes on it."""

    names: list[str | None]
    unnamed: list[int]  # positions without a name: a value there would be lost without a word
    notes: list[tuple[int, str, Any, str]]  # warnings on the header itself, reported as row 1's

    @classmethod
    def read(cls, path: Path, fields: list[str], delimiter: str) -> _Header:
        # Spreadsheets capitalise headers ("ID;Name;Kind"): a contract column in other letter cases is that column,
        # unless the header also names it as the contract does (then "Name" beside "name" is another column).
        written = [name.strip() for name in fields]
        names = [_column_name(name, set(written)) for name in written]
        aliases: list[tuple[int, str, Any, str]] = []
        for i, name in enumerate(names):
            alias = COORDINATE_ALIASES.get(name.lower())
            if alias and alias not in names:
                # Ignored, the rows were geocoded to their postcodes' centroids instead, published without a word.
                names[i] = alias
                aliases.append((1, name, None, f"read as the contract's {alias!r} column"))
        missing = [column for column in ("id", "name") if column not in names]
        if "id" in missing:
            raise FeedError(
                f"{path.name}: line 1 must be a header naming the columns, including 'id' "
                f"(read {names[:6]!r}{' ...' if len(names) > 6 else ''}, delimiter {delimiter!r})"
            )
        if missing:
            raise FeedError(f"{path.name}: the header (line 1) has no 'name' column; every place needs a name")
        # "hours:repair" and "hours:Repair " are one service's hours, as validation reads them.
        keys = [service_hours_key(name) if name else name for name in names]
        for key in dict.fromkeys(keys):
            positions = [i for i, other in enumerate(keys) if other == key]
            if key and len(positions) > 1:
                # Reading one of them would drop the other's values without a word: the file must say which.
                spelt = " and ".join(dict.fromkeys(repr(names[i]) for i in positions))
                raise FeedError(
                    f"{path.name}: the header (line 1) names column {spelt} {len(positions)} times "
                    f"(columns {', '.join(str(i + 1) for i in positions)}); keep one"
                )
        notes = aliases + [
            (1, name, None, "not a column of the contract (CONTRACT.md, 'Location input'): its values are ignored")
            for name in names
            if name and not is_input_column(name)
        ]
        # Names starting with '_' are the readers' own notes (see ingest/validate.py): never read from a feed.
        kept: list[str | None] = [name if name and is_input_column(name) else None for name in names]
        return cls(kept, [i for i, name in enumerate(names) if not name], notes)

    def unnamed_values(self, fields: list[str]) -> list[tuple[str, Any, str]]:
        return [
            (f"column {i + 1}", fields[i].strip(), "a value in a column the header gives no name: ignored")
            for i in self.unnamed
            if i < len(fields) and fields[i].strip()
        ]


def _where(row: int, line: int) -> str:
    """The place in a report: a line is the spreadsheet's row unless a quoted value above spans lines."""
    return f"line {line}" if row == line else f"row {row} (line {line} of the file)"


def _row_of_line(path: Path, delimiter: str, line: int) -> int:
    """The spreadsheet row holding a line of the file, for an error found by line (an undecodable byte)."""
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            for row, _ in enumerate(reader, start=1):
                if reader.line_num >= line:
                    return row
        except csv.Error:
            pass
    return line


def read_csv(path: Path) -> Iterator[tuple[int, Record]]:
    """Rows as they are read (never the whole file in memory); the delimiter is the header line's commonest.

    A row's number is the spreadsheet's: the header is row 1 and each record one row, blank ones included, however
    many lines its quoted values span.
    """
    with path.open("rb") as raw:
        head = raw.read(1 << 16)
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise not_utf8(path)
        if b"\x00" in head:
            # Python's csv module reads NUL bytes as text since 3.11: a binary file would pass as odd rows.
            raise FeedError(f"{path.name}: binary content (NUL bytes), not CSV text; is it a spreadsheet (.xlsx)?")
    csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))
    delimiter = ","
    row = end = 0  # the last record read and its last line: a broken record is the next row, from the next line
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            delimiter = delimiter_of(handle.readline())
            handle.seek(0)
            # Strict: a quote never closed would otherwise swallow every row after it into one value.
            reader = csv.reader(handle, delimiter=delimiter, strict=True)
            header = _Header.read(path, next(reader, []), delimiter)
            row, end = 1, reader.line_num
            width, pending = len(header.names), header.notes
            for fields in reader:
                row, start, end = row + 1, end + 1, reader.line_num
                if not "".join(fields).strip():
                    continue  # a blank line, or a spreadsheet's empty row (",,,,")
                if len(fields) > width and "".join(fields[width:]).strip():
                    raise FeedError(
                        f"{path.name}, {_where(row, start)}: {len(fields)} fields but the header has {width} columns"
                        " (an unquoted delimiter in a value?)",
                        row=row,
                    )
                # A short row (a spreadsheet trims trailing empty cells) leaves the rest empty, as DictReader did.
                record: Record = {
                    name: value.strip() for name, value in zip(header.names, fields, strict=False) if name
                }
                notes = [*pending, *header.unnamed_values(fields)] if pending or header.unnamed else None
                if notes:
                    record["_warnings"] = notes
                pending = []
                yield row, record
    except UnicodeDecodeError:
        raise not_utf8(path, rows=lambda line: _row_of_line(path, delimiter, line)) from None
    except csv.Error as exc:
        raise FeedError(f"{path.name}, {_where(row + 1, end + 1)}: {csv_problem(exc)}", row=row + 1) from None


# Names feeds give the coordinates, read as the contract's columns when the feed has none of those.
COORDINATE_ALIASES = {"latitude": "lat", "longitude": "lon", "lng": "lon", "long": "lon"}

_OSM_PROPERTY_MAP = {
    "addr:street_address": "street",  # alltheplaces: the street line whole ("123 Main St")
    "addr:postcode": "postcode",
    "addr:city": "city",
    "addr:country": "country",
    "addr:state": "region",
    "addr:province": "region",
    "contact:phone": "phone",
    "contact:website": "url",
    "website": "url",
    "ref": "id",
}


def read_geojson(path: Path) -> Iterator[tuple[int, Record]]:
    """Features as they are parsed: a FeatureCollection of a million places never sits in memory whole."""
    stream = _JsonStream(path)
    try:
        top_level_type: object = None
        saw_features = False
        stream.expect("{", "a GeoJSON FeatureCollection (a JSON object) is expected at the top level")
        if not stream.take("}"):
            while True:
                key = stream.value()
                if not isinstance(key, str):
                    raise stream.error("expected a property name")
                stream.expect(":", "expected ':'")
                if key == "features":
                    saw_features = True
                    stream.expect("[", "'features' must be a list")
                    number = 0
                    if not stream.take("]"):
                        while True:
                            number += 1
                            stream.row = number  # a feature broken half-way is rejected as that row
                            yield number, feature_record(stream.value())
                            if stream.take("]"):
                                break
                            stream.expect(",", "expected ',' or ']' after a feature")
                    stream.row = 0
                else:
                    value = stream.value()
                    if key == "type":
                        top_level_type = value
                        if value != "FeatureCollection":
                            raise FeedError(f"{path.name}: a GeoJSON FeatureCollection is expected, not {value!r}")
                if stream.take("}"):
                    break
                stream.expect(",", "expected ',' or '}'")
        stream.end()
        if top_level_type != "FeatureCollection" or not saw_features:
            raise FeedError(f"{path.name}: a GeoJSON FeatureCollection with a 'features' list is expected")
    except UnicodeDecodeError:
        raise not_utf8(path) from None
    except RecursionError:
        # The standard decoder recurses per nesting level: `[[[[...` 100,000 deep exhausts the stack. No GeoJSON
        # place is nested that deep, so it is a broken file, not a crash (as ingest/bestbuy.py says for its JSON).
        raise FeedError(
            f"{path.name}: not valid GeoJSON (JSON nested too deeply to be a place)", row=stream.row
        ) from None
    finally:
        stream.close()


class _JsonStream:
    """Just enough of an incremental JSON reader for GeoJSON's outer object: values are decoded one at a time by
    the standard decoder from a window of the text, refilled from the file as needed."""

    CHUNK = 1 << 20
    _SPACE = re.compile(r"[ \t\n\r]*")

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle = path.open(encoding="utf-8-sig", newline="")
        self.buffer = ""
        self.pos = 0
        self.eof = False
        self.lines_before = 0  # newlines in the text already dropped from the buffer, for error positions
        # Characters dropped so far, and where in the file the last dropped line began: a minified file is one
        # line, whose columns go on past the window.
        self.dropped = 0
        self.line_start = 0
        self.decoder = json.JSONDecoder()
        self.row = 0  # the feature being read (1-based), 0 outside the features list

    def close(self) -> None:
        self.handle.close()

    def _fill(self) -> bool:
        if self.eof:
            return False
        chunk = self.handle.read(self.CHUNK)
        if not chunk:
            self.eof = True
            return False
        dropped = self.buffer[: self.pos]
        self.lines_before += dropped.count("\n")
        newline = dropped.rfind("\n")
        if newline >= 0:
            self.line_start = self.dropped + newline + 1
        self.dropped += self.pos
        self.buffer = self.buffer[self.pos :] + chunk
        self.pos = 0
        return True

    def _skip_space(self) -> None:
        while True:
            self.pos = self._SPACE.match(self.buffer, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buffer) or not self._fill():
                return

    def error(self, message: str) -> FeedError:
        line = self.lines_before + self.buffer.count("\n", 0, self.pos) + 1
        newline = self.buffer.rfind("\n", 0, self.pos)
        line_start = self.dropped + newline + 1 if newline >= 0 else self.line_start
        column = self.dropped + self.pos - line_start + 1
        return FeedError(f"{self.path.name}: not valid GeoJSON (line {line}, column {column}: {message})", row=self.row)

    def take(self, char: str) -> bool:
        self._skip_space()
        if self.buffer.startswith(char, self.pos):
            self.pos += 1
            return True
        return False

    def expect(self, char: str, message: str) -> None:
        if not self.take(char):
            raise self.error(message)

    def value(self) -> Any:
        self._skip_space()
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as exc:
                # Cut off by the end of the window, or broken: more text tells them apart. An error short of the
                # window's end is no cut: refilling then read the rest of a broken file into the window, MBs at a
                # time, each copy longer than the last.
                if self._may_be_cut(exc) and self._fill():
                    continue
                self.pos = exc.pos
                raise self.error(exc.msg) from None
            except ValueError:
                # Python converts at most 4,300 digits to an int (a guard against quadratic time): no place has more.
                raise self.error("a number too long to read (more than 4300 digits)") from None
            # A number at the very end of the window may go on in the next chunk ("12" of "123").
            if end == len(self.buffer) and not self.eof and self._fill():
                continue
            self.pos = end
            return value

    def _may_be_cut(self, exc: json.JSONDecodeError) -> bool:
        # A string is reported where it opens; anything else where the decoder stopped, within a token's length
        # ("-Infinity", a \uXXXX escape) of the end when the window cut it.
        return exc.msg.startswith("Unterminated string") or exc.pos >= len(self.buffer) - 16

    def end(self) -> None:
        self._skip_space()
        if self.pos < len(self.buffer):
            raise self.error("extra data after the FeatureCollection")


def feature_record(feature: Any) -> Record:
    """A GeoJSON feature as an input record, OSM/alltheplaces property names included."""
    if not isinstance(feature, dict):
        return {"_error": "the feature is not a JSON object"}
    if feature.get("type", "Feature") != "Feature":
        return {"_error": f"not a GeoJSON Feature (type {_shown(feature['type'])})"}
    properties = feature.get("properties")
    if properties is None:
        properties = {}
    elif not isinstance(properties, dict):
        return {"_error": "'properties' is not a JSON object"}
    record: Record = {}
    for key, value in properties.items():
        target = _OSM_PROPERTY_MAP.get(key, key) if isinstance(key, str) else str(key)
        if target.startswith("_"):
            continue  # the readers' own notes go by these names (see ingest/validate.py): never a feed's
        if target not in record or key == target:
            record[target] = value
    street, number = properties.get("addr:street"), properties.get("addr:housenumber")
    if "street" not in record and street:
        # Joined only from text: an object, a list or true was written into the street as Python's repr.
        text_number = isinstance(number, (int, str)) and not isinstance(number, bool)
        if isinstance(street, str) and number and text_number:
            record["street"] = f"{number} {street}"
        else:
            record["street"] = street  # validation refuses what is not text, by name
            if isinstance(street, str) and number and not text_number:
                record.setdefault("_warnings", []).append(("street", number, "addr:housenumber is not text: left out"))
    if not record.get("id") and feature.get("id") is not None:
        record["id"] = str(feature["id"])
    if not record.get("name") and properties.get("brand"):
        record["name"] = properties["brand"]
    geometry = feature.get("geometry")
    if geometry is None and "lat" not in properties and "lon" not in properties:
        # A feature without a geometry may name its coordinates otherwise; with one, the geometry is the place's.
        for alias, column in COORDINATE_ALIASES.items():
            if properties.get(alias) not in (None, "") and column not in record:
                record[column] = properties[alias]
    if geometry is not None:
        position = point_of(geometry)
        if isinstance(position, str):
            record["_geometry_error"] = position
        else:
            stated = (record.get("lon"), record.get("lat"))
            record.setdefault("lon", position[0])
            record.setdefault("lat", position[1])
            if stated != (None, None) and _apart(stated, position):
                # The properties win, as before; but two positions for one place is worth a word to ops.
                geometry_says = f"the Point geometry says {position[1]}, {position[0]}"
                note = ("lat", f"{stated[1]}, {stated[0]}", f"the lat/lon properties are used; {geometry_says}")
                record.setdefault("_warnings", []).append(note)
    return record


def _apart(stated: tuple[Any, Any], position: tuple[Any, Any]) -> bool:
    """Whether lat/lon properties name another point than the geometry (beyond ~10 cm); unreadable numbers
    are validation's to reject, not a disagreement."""
    try:
        return any(abs(float(a) - float(b)) > 1e-6 for a, b in zip(stated, position, strict=True))
    except (TypeError, ValueError, OverflowError):
        return False


def point_of(geometry: Any) -> tuple[Any, Any] | str:
    """(lon, lat) of a Point geometry (an altitude, RFC 7946's optional third value, is left out), or why not.

    Other geometries are rejected rather than reduced to a point: a place is one position, and a polygon's
    centroid or a line's middle may be a street away from the door (or outside an L-shaped building). A feature
    with a null geometry takes lat/lon properties, or is geocoded.
    """
    if not isinstance(geometry, dict):  # "geometry": "Point" was a traceback (a 500 in the admin API)
        return f"the geometry must be a GeoJSON object such as {{\"type\": \"Point\", ...}}, not {_shown(geometry)}"
    kind = geometry.get("type")
    if kind != "Point":
        return (
            f"geometry type {_shown(kind)} is not a Point: give the place's position as a Point (its entrance), "
            "or a null geometry with lat and lon properties"
        )
    coordinates = geometry.get("coordinates")
    if not isinstance(coordinates, list) or len(coordinates) < 2 or coordinates[0] is None or coordinates[1] is None:
        # Read as "no coordinates", it would be geocoded from its address without a word.
        return f"a Point's coordinates must be [longitude, latitude], not {_shown(coordinates)}"
    return coordinates[0], coordinates[1]


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
