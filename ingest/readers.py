"""Feed readers: each yields (row number, record) with CONTRACT.md's input column names.

Row numbers are what ops staff see in reports: the CSV line number (header = line 1), or the feature's
position (1-based) in a GeoJSON or JSON array.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import _csv

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
        f"{path.name}: cannot tell the format from the name or the content; pass --format csv|geojson|bestbuy"
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


DELIMITERS = (",", ";", "\t", "|")


def not_utf8(path: Path, *, lines_are_rows: bool = False) -> FeedError:
    """Name where the first undecodable byte is: a line and column a person can find in an editor.

    `lines_are_rows`: the file's line numbers are the report's row numbers (CSV), so the rejection gets it too.
    """
    with path.open("rb") as handle:
        head = handle.read(4)
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            return FeedError(f"{path.name}: UTF-16 text (a spreadsheet's 'Unicode text' export); save it as UTF-8")
        handle.seek(0)
        for number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                byte = line[exc.start]
                return FeedError(
                    f"{path.name}: not UTF-8 text (line {number}, column {exc.start + 1}: byte 0x{byte:02x}); "
                    "save it as UTF-8",
                    row=number if lines_are_rows else 0,
                )
    return FeedError(f"{path.name}: not UTF-8 text; save it as UTF-8")


def read_csv(path: Path) -> Iterator[tuple[int, Record]]:
    """Rows as they are read (never the whole file in memory); the delimiter is the header line's commonest."""
    with path.open("rb") as raw:
        head = raw.read(1 << 16)
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise not_utf8(path)
        if b"\x00" in head:
            # Python's csv module reads NUL bytes as text since 3.11: a binary file would pass as odd rows.
            raise FeedError(f"{path.name}: binary content (NUL bytes), not CSV text; is it a spreadsheet (.xlsx)?")
    reader: _csv.Reader | None = None  # kept for its line count when a csv.Error breaks off the reading
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = handle.readline()
            handle.seek(0)
            delimiter = max(DELIMITERS, key=header.count)
            reader = csv.reader(handle, delimiter=delimiter)
            names = [name.strip() for name in next(reader, [])]
            if "id" not in names:
                raise FeedError(
                    f"{path.name}: line 1 must be a header naming the columns, including 'id' "
                    f"(read {names[:6]!r}{' ...' if len(names) > 6 else ''}, delimiter {delimiter!r})"
                )
            width = len(names)
            for fields in reader:
                if not fields:
                    continue  # a blank line
                line = reader.line_num
                if len(fields) > width:
                    raise FeedError(
                        f"{path.name}, line {line}: {len(fields)} fields but the header has {width} columns"
                        " (an unquoted delimiter in a value?)",
                        row=line,
                    )
                # A short row (a spreadsheet trims trailing empty cells) leaves the rest empty, as DictReader did.
                yield line, {name: value.strip() for name, value in zip(names, fields, strict=False)}
    except UnicodeDecodeError:
        raise not_utf8(path, lines_are_rows=True) from None
    except csv.Error as exc:
        # The reader has counted the lines of the broken record by now: past the last good row's line.
        line = reader.line_num if reader is not None else 1
        raise FeedError(f"{path.name}, line {line}: not a readable CSV file ({exc})", row=line) from None


_OSM_PROPERTY_MAP = {
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
        column = self.pos - (self.buffer.rfind("\n", 0, self.pos) + 1) + 1
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
                # Cut off by the end of the window, or broken: only the end of the file tells them apart.
                if self._fill():
                    continue
                self.pos = exc.pos
                raise self.error(exc.msg) from None
            # A number at the very end of the window may go on in the next chunk ("12" of "123").
            if end == len(self.buffer) and not self.eof and self._fill():
                continue
            self.pos = end
            return value

    def end(self) -> None:
        self._skip_space()
        if self.pos < len(self.buffer):
            raise self.error("extra data after the FeatureCollection")


def feature_record(feature: Any) -> Record:
    """A GeoJSON feature as an input record, OSM/alltheplaces property names included."""
    if not isinstance(feature, dict):
        return {"_error": "the feature is not a JSON object"}
    properties = feature.get("properties") or {}
    if not isinstance(properties, dict):
        return {"_error": "'properties' is not a JSON object"}
    record: Record = {}
    for key, value in properties.items():
        target = _OSM_PROPERTY_MAP.get(key, key) if isinstance(key, str) else str(key)
        if target not in record or key == target:
            record[target] = value
    if "street" not in record and properties.get("addr:street"):
        number = properties.get("addr:housenumber")
        record["street"] = f"{number} {properties['addr:street']}" if number else properties["addr:street"]
    if not record.get("id") and feature.get("id") is not None:
        record["id"] = str(feature["id"])
    if not record.get("name") and properties.get("brand"):
        record["name"] = properties["brand"]
    geometry = feature.get("geometry")
    if isinstance(geometry, dict) and geometry.get("type") == "Point":
        coordinates = geometry.get("coordinates")
        if isinstance(coordinates, list) and len(coordinates) >= 2:
            record.setdefault("lon", coordinates[0])
            record.setdefault("lat", coordinates[1])
    elif geometry is not None:
        record["_geometry_error"] = (
            f"geometry type {geometry.get('type') if isinstance(geometry, dict) else geometry!r} is not a Point"
        )
    return record
