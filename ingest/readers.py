"""Feed readers: each yields (row number, record) with CONTRACT.md's input column names.

Row numbers are what ops staff see in reports: the CSV line number (header = line 1), or the feature's
position (1-based) in a GeoJSON or JSON array.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

Record = dict[str, Any]
FORMATS = ("auto", "csv", "geojson", "bestbuy")


class FeedError(ValueError):
    """The file as a whole cannot be read; the message names the file and the place in it."""


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        return "csv"
    if suffix in (".geojson",):
        return "geojson"
    if suffix == ".json":
        with path.open("rb") as handle:
            head = handle.read(4096).lstrip()
        if head.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"["):
            return "bestbuy"
        return "geojson"
    raise FeedError(f"{path.name}: cannot tell the format from the name; pass --format csv|geojson|bestbuy")


def read_feed(path: Path, fmt: str = "auto") -> Iterator[tuple[int, Record]]:
    if fmt not in FORMATS:
        raise FeedError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if not path.is_file():
        raise FeedError(f"{path}: no such file")
    if fmt == "auto":
        fmt = detect_format(path)
    if fmt == "csv":
        return read_csv(path)
    if fmt == "geojson":
        return read_geojson(path)
    from ingest.bestbuy import FeedError as BestBuyFeedError
    from ingest.bestbuy import read_bestbuy

    def bestbuy() -> Iterator[tuple[int, Record]]:
        pending: dict[int, list[str]] = {}
        try:
            rows = read_bestbuy(path, on_warning=lambda row, message: pending.setdefault(row, []).append(message))
            for number, record in rows:
                # The adapter's own repairs (a missing day read as closed...) join the ingest report.
                if number in pending:
                    record["_warnings"] = pending.pop(number)
                yield number, record
        except BestBuyFeedError as exc:
            raise FeedError(str(exc)) from None

    return bestbuy()


def read_csv(path: Path) -> Iterator[tuple[int, Record]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            sample = handle.read(8192)
            handle.seek(0)
            delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
            reader = csv.DictReader(handle, delimiter=delimiter)
            if not reader.fieldnames or "id" not in [f.strip() for f in reader.fieldnames]:
                raise FeedError(f"{path.name}: line 1 must be a header naming the columns, including 'id'")
            for record in reader:
                line = reader.line_num
                if None in record:
                    raise FeedError(f"{path.name}, line {line}: more fields than the header has columns")
                yield line, {k.strip(): (v.strip() if isinstance(v, str) else v) for k, v in record.items()}
    except UnicodeDecodeError as exc:
        raise FeedError(f"{path.name}: not UTF-8 text (invalid byte at offset {exc.start}); save it as UTF-8") from None
    except csv.Error as exc:
        raise FeedError(f"{path.name}: not a readable CSV file ({exc})") from None


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
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise FeedError(f"{path.name}: not UTF-8 text (invalid byte at offset {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise FeedError(f"{path.name}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise FeedError(f"{path.name}: a GeoJSON FeatureCollection is expected at the top level")
    features = data.get("features")
    if not isinstance(features, list):
        raise FeedError(f"{path.name}: 'features' must be a list")
    for number, feature in enumerate(features, start=1):
        yield number, feature_record(feature)


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
