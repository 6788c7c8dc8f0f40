"""Feed readers: CSV dialects, GeoJSON shapes, format detection, and errors that name the place in the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ingest.readers import FeedError, detect_format, read_csv, read_feed, read_geojson
from tests.conftest import SHARED_DATA


def rows(path: Path, fmt: str = "auto") -> list[tuple[int, dict[str, Any]]]:
    return list(read_feed(path, fmt))


# -- CSV --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_csv_delimiter_is_read_from_the_header(tmp_path: Path, delimiter: str) -> None:
    path = tmp_path / "feed.csv"
    # The quoted value holds every delimiter: only the header line decides.
    path.write_text(delimiter.join(["id", "name", "opening_hours"]) + "\n"
                    + delimiter.join(["1", "\"A, B; C|D\"", "Mo-Fr 09:00-18:00"]) + "\n")  # fmt: skip
    assert rows(path) == [(2, {"id": "1", "name": "A, B; C|D", "opening_hours": "Mo-Fr 09:00-18:00"})]


def test_csv_bom_and_crlf_and_padding(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffid , name\r\n 1 ,  Café  \r\n".encode())
    assert rows(path) == [(2, {"id": "1", "name": "Café"})]


def test_csv_quoted_fields_with_delimiters_quotes_and_newlines(tmp_path: Path) -> None:
    path = tmp_path / "quoted.csv"
    path.write_text('id,name,opening_hours\n1,"Shop ""Chez Paul"", Paris","Mo-Fr 09:00-12:00,14:00-18:00\nSa off"\n'
                    "2,Plain,24/7\n")  # fmt: skip
    (first_line, first), (second_line, second) = rows(path)
    assert first == {
        "id": "1",
        "name": 'Shop "Chez Paul", Paris',
        "opening_hours": "Mo-Fr 09:00-12:00,14:00-18:00\nSa off",
    }
    # Row numbers are file lines: the quoted newline makes the second record line 4.
    assert (first_line, second_line) == (3, 4) and second["name"] == "Plain"


def test_csv_short_rows_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("id,name,phone\n1,A\n\n2,B,+33 1\n")
    assert rows(path) == [(2, {"id": "1", "name": "A"}), (4, {"id": "2", "name": "B", "phone": "+33 1"})]


def test_csv_extra_fields_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("id,name\n1,A\n2,B,oops\n")
    with pytest.raises(FeedError, match=r"ragged.csv, line 3: 3 fields but the header has 2"):
        rows(path)


def test_csv_without_an_id_header(tmp_path: Path) -> None:
    path = tmp_path / "noid.csv"
    path.write_text("name,city\nA,Paris\n")
    with pytest.raises(FeedError, match="header naming the columns, including 'id'"):
        rows(path)


def test_csv_not_utf8_names_line_and_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("id,name\n1,Ok\n2,Caf\xe9\n".encode("latin-1"))
    with pytest.raises(FeedError, match=r"not UTF-8 text \(line 3, column 6: byte 0xe9\)"):
        rows(path)


def test_csv_streams(tmp_path: Path) -> None:
    """The reader yields before it has read the file: a broken tail is found only when reached."""
    path = tmp_path / "tail.csv"
    path.write_bytes(b"id,name\n" + b"".join(b"%d,n\n" % i for i in range(50_000)) + b"9,\xff\n")
    reader = read_csv(path)
    assert next(reader) == (2, {"id": "0", "name": "n"})
    with pytest.raises(FeedError, match="line 50002"):
        list(reader)


# -- GeoJSON ----------------------------------------------------------------------------------------------------


def feature(geometry: Any, properties: Any, **extra: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": properties, **extra}


def write_geojson(path: Path, features: list[Any], **top: Any) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", **top, "features": features}))
    return path


def test_geojson_points_and_osm_properties(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "osm.geojson", [
        feature({"type": "Point", "coordinates": [7.42, 43.73]},
                {"ref": "r1", "brand": "Brand", "addr:street": "Rue X", "addr:housenumber": "3",
                 "addr:postcode": "98000", "addr:country": "MC", "website": "https://x.example"}),
    ])  # fmt: skip
    [(number, record)] = rows(path)
    assert number == 1
    assert record["id"] == "r1" and record["name"] == "Brand" and record["street"] == "3 Rue X"
    assert (record["lat"], record["lon"], record["country"], record["url"]) == (43.73, 7.42, "MC", "https://x.example")


def test_geojson_edge_cases(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "edges.geojson", [
        feature({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}, {"id": "poly"}),
        feature(None, {"id": "nogeom", "lat": 1.5, "lon": 2.5}),  # no geometry: coordinates from properties
        feature({"type": "Point", "coordinates": [2.0, 48.0]}, None, id=42),  # no properties: the feature id
        "not an object",
        feature({"type": "Point", "coordinates": [2.0, 48.0]}, ["a", "list"]),
    ], name="extra top-level member", crs={"type": "name"})  # fmt: skip
    records = dict(rows(path))
    assert "is not a Point" in records[1]["_geometry_error"]
    assert (records[2]["lat"], records[2]["lon"]) == (1.5, 2.5) and "_geometry_error" not in records[2]
    assert records[3] == {"id": "42", "lon": 2.0, "lat": 48.0}
    assert records[4] == {"_error": "the feature is not a JSON object"}
    assert records[5] == {"_error": "'properties' is not a JSON object"}


def test_geojson_members_in_any_order_and_empty(tmp_path: Path) -> None:
    path = tmp_path / "order.geojson"
    path.write_text('{"features": [], "type": "FeatureCollection"}')
    assert rows(path) == []
    path.write_text('\ufeff{"features": [{"type": "Feature", "geometry": null, "properties": {"id": "x"}}],\n'
                    ' "type": "FeatureCollection"}', encoding="utf-8")  # fmt: skip
    assert rows(path) == [(1, {"id": "x"})]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"type": "Feature", "geometry": null, "properties": {}}', "FeatureCollection is expected, not 'Feature'"),
        ('{"type": "FeatureCollection"}', "with a 'features' list"),
        ('{"type": "FeatureCollection", "features": {}}', "'features' must be a list"),
        ('{"type": "FeatureCollection", "features": [{"a": 1},\n  {"b": }]}', r"line 2, column 9"),
        ('{"type": "FeatureCollection", "features": []} trailing', "extra data"),
        ("", "JSON object"),
    ],
)
def test_geojson_errors_name_the_place(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.geojson"
    path.write_text(content)
    with pytest.raises(FeedError, match=message):
        rows(path)


def test_geojson_streams_across_read_windows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Values cut by the edge of a read window (numbers included) come out whole."""
    from ingest import readers

    monkeypatch.setattr(readers._JsonStream, "CHUNK", 7)
    features = [feature({"type": "Point", "coordinates": [2.123456 + i, 48.5]}, {"id": f"f{i}", "n": 12345})
                for i in range(30)]  # fmt: skip
    path = write_geojson(tmp_path / "small-windows.geojson", features)
    records = rows(path)
    assert [r["id"] for _, r in records] == [f"f{i}" for i in range(30)]
    assert all(r["n"] == 12345 and r["lon"] == pytest.approx(2.123456 + i) for i, (_, r) in enumerate(records))


def test_geojson_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.geojson"
    path.write_bytes(
        '{"type": "FeatureCollection", "features": [\n{"properties": {"name": "Caf\xe9"}}]}'.encode("latin-1")
    )
    with pytest.raises(FeedError, match="not UTF-8 text \\(line 2"):
        list(read_geojson(path))


# -- format detection -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("a.csv", b"whatever", "csv"),
        ("a.TSV", b"id\tname", "csv"),
        ("a.geojson", b"[]", "geojson"),
        ("a.json", b'\xef\xbb\xbf  [{"id": 1}]', "bestbuy"),
        ("a.json", b'{"type": "FeatureCollection"}', "geojson"),
        ("upload", b'{"type": "FeatureCollection"}', "geojson"),
        ("upload.txt", b"id;name\n1;x\n", "csv"),
        ("upload", b"[1]", "bestbuy"),
    ],
)
def test_format_detection(tmp_path: Path, name: str, content: bytes, expected: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert detect_format(path) == expected


def test_unknown_format_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "image.dat"
    path.write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(FeedError, match="pass --format"):
        rows(path)
    with pytest.raises(FeedError, match="no such file"):
        rows(tmp_path / "absent.csv")
    with pytest.raises(FeedError, match="unknown format"):
        rows(path, "xlsx")


def test_bestbuy_feed_is_detected_and_read() -> None:
    path = SHARED_DATA / "bestbuy-stores" / "stores.json"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    first = next(iter(read_feed(path)))
    assert first[0] == 1 and first[1]["country"] == "US" and first[1]["opening_hours"]
