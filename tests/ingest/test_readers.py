"""Feed readers: CSV dialects, GeoJSON shapes, format detection, and errors that name the place in the file."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from ingest.readers import FIELD_LIMIT, FeedError, detect_format, read_csv, read_feed, read_geojson
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
    # Row numbers are a spreadsheet's rows: the quoted newline does not make the second record row 4.
    assert (first_line, second_line) == (2, 3) and second["name"] == "Plain"


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


def test_csv_headers_in_other_letter_cases(tmp_path: Path) -> None:
    path = tmp_path / "caps.csv"
    path.write_text("ID;Name;Opening_Hours\n1;A;24/7\n", encoding="utf-8")  # a spreadsheet's: was refused whole
    assert rows(path) == [(2, {"id": "1", "name": "A", "opening_hours": "24/7"})]
    # Beside the contract's own spelling, another case is another column (ignored, with a warning), as before.
    path.write_text("id;name;Name\n1;A;B\n", encoding="utf-8")
    [(_, record)] = rows(path)
    assert (record["id"], record["name"]) == ("1", "A") and "Name" not in record


def test_csv_coordinates_under_other_names(tmp_path: Path) -> None:
    """`latitude`/`longitude` were ignored with a note each: every row was geocoded to its postcode's centroid
    and published. `Lat,Lng` rejected every row's lon as missing."""
    path = tmp_path / "a.csv"
    path.write_text("id,name,latitude,longitude\nA,a,48.86,2.34\n", encoding="utf-8")
    [(_, record)] = rows(path)
    assert (record["lat"], record["lon"]) == ("48.86", "2.34")
    assert [note[1:] for note in record["_warnings"]] == [
        ("latitude", None, "read as the contract's 'lat' column"),
        ("longitude", None, "read as the contract's 'lon' column"),
    ]
    path.write_text("id,name,Lat,Lng\nA,a,48.86,2.34\n", encoding="utf-8")
    assert [(record["lat"], record["lon"]) for _, record in rows(path)] == [("48.86", "2.34")]
    path.write_text("id,name,lat,lon,latitude\nA,a,48.86,2.34,1\n", encoding="utf-8")  # the contract's win
    assert [(record["lat"], record["lon"]) for _, record in rows(path)] == [("48.86", "2.34")]


def test_csv_not_utf8_names_line_and_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("id,name\n1,Ok\n2,Caf\xe9\n".encode("latin-1"))
    with pytest.raises(FeedError, match=r"not UTF-8 text \(line 3, column 6: byte 0xe9\)"):
        rows(path)


def test_csv_rows_after_multiline_values_are_the_spreadsheets_rows(tmp_path: Path) -> None:
    """A record spanning lines 2-4 is row 2; errors further down name the row and the line apart."""
    path = tmp_path / "multi.csv"
    path.write_text('id,name,opening_hours\n1,A,"Mo 10:00-12:00\nTu 10:00-12:00\nWe off"\n2,B,24/7\n3,C,24/7,x\n')
    reader = read_csv(path)
    assert [row for row, _ in (next(reader), next(reader))] == [2, 3]
    with pytest.raises(FeedError, match=r"multi.csv, row 4 \(line 6 of the file\): 4 fields") as error:
        next(reader)
    assert error.value.row == 4


def test_csv_not_utf8_after_a_multiline_value_names_row_and_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes('id,name\n1,"A\nB"\n2,Caf\xe9\n'.encode("latin-1"))
    with pytest.raises(FeedError, match=r"not UTF-8 text \(row 3, line 4, column 6: byte 0xe9\)") as error:
        rows(path)
    assert error.value.row == 3


def test_csv_a_quote_never_closed_is_an_error_not_swallowed_rows(tmp_path: Path) -> None:
    """Read leniently, the open quote took every row after it into one name, and those places were lost."""
    path = tmp_path / "quote.csv"
    path.write_text('id,name\n1,A\n2,"B\n3,C\n4,D\n')
    with pytest.raises(FeedError, match=r"quote.csv, line 3: a quoted value in this row is never closed") as error:
        rows(path)
    assert error.value.row == 3


def test_csv_text_after_a_closing_quote_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "quote.csv"
    path.write_text('id,name\n1,"Chez "Paul" Paris"\n')
    with pytest.raises(FeedError, match=r"line 2: text after the closing quote"):
        rows(path)


def test_csv_a_value_past_pythons_field_limit_is_read(tmp_path: Path) -> None:
    """Python's csv stops at 131,072 characters: that failed the whole file instead of the row (see validation)."""
    path = tmp_path / "long.csv"
    path.write_text("id,name\n1," + "N" * 1_000_000 + "\n2,B\n")
    (_, first), second = rows(path)
    assert len(first["name"]) == 1_000_000 and second == (3, {"id": "2", "name": "B"})


def test_csv_a_value_past_the_readers_own_limit_names_its_row(tmp_path: Path) -> None:
    """Past FIELD_LIMIT (16 Mi characters, 64 MB while csv reads it) the file is broken: a quote never closed?"""
    path = tmp_path / "huge.csv"
    path.write_text('id,name\n1,A\n2,"' + "N" * (max(csv.field_size_limit(), FIELD_LIMIT) + 1) + '"\n')
    with pytest.raises(FeedError, match=r"huge.csv, line 3: a value longer than [\d,]+ characters") as error:
        rows(path)
    assert error.value.row == 3


def test_csv_a_column_named_twice_is_an_error(tmp_path: Path) -> None:
    """Read as a dict, the second column's values silently replaced the first's."""
    path = tmp_path / "twice.csv"
    path.write_text("id,name,city,name\n1,A,Paris,B\n")
    with pytest.raises(FeedError, match=r"names column 'name' 2 times \(columns 2, 4\)"):
        rows(path)


def test_csv_two_columns_of_one_services_hours_are_an_error(tmp_path: Path) -> None:
    """Validation reads "hours:repair" and "hours:Repair " as the repair desk's: one value was dropped."""
    path = tmp_path / "desk.csv"
    path.write_text("id,name,hours:repair,hours:Repair \n1,A,Tu-Sa 10:00-18:00,Mo 08:00-09:00\n")
    with pytest.raises(FeedError, match=r"names column 'hours:repair' and 'hours:Repair' 2 times \(columns 3, 4\)"):
        rows(path)


def test_csv_without_a_name_column(tmp_path: Path) -> None:
    path = tmp_path / "noname.csv"
    path.write_text("id,city\n1,Paris\n2,Lyon\n")
    with pytest.raises(FeedError, match="has no 'name' column"):
        rows(path)


def test_csv_columns_the_contract_does_not_read(tmp_path: Path) -> None:
    """Unknown, unnamed and '_' columns are not read: a warning names each; a value under no name is one too."""
    path = tmp_path / "extra.csv"
    path.write_text("id,name,lattitude,,_error,hours:repair\n1,A,48.8,,boom,Mo 10:00-12:00\n2,B,48.9,x,,\n")
    (first_row, first), (second_row, second) = rows(path)
    note = "not a column of the contract (CONTRACT.md, 'Location input'): its values are ignored"
    assert first == {"id": "1", "name": "A", "hours:repair": "Mo 10:00-12:00",
                     "_warnings": [(1, "lattitude", None, note), (1, "_error", None, note)]}  # fmt: skip
    unnamed = ("column 4", "x", "a value in a column the header gives no name: ignored")
    assert second == {"id": "2", "name": "B", "hours:repair": "", "_warnings": [unnamed]}
    assert (first_row, second_row) == (2, 3)


def test_csv_empty_rows_and_trailing_empty_cells_are_blank(tmp_path: Path) -> None:
    """A spreadsheet's export: empty rows as delimiters only, cells past the header's last column left empty."""
    path = tmp_path / "sheet.csv"
    path.write_text("id,name\n1,A,,\n,\n  ,  \n2,B\n,,,\n")
    assert rows(path) == [(2, {"id": "1", "name": "A"}), (5, {"id": "2", "name": "B"})]
    path.write_text("id,name\n1,A,,x\n")
    with pytest.raises(FeedError, match="line 2: 4 fields but the header has 2 columns"):
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


def test_alltheplaces_street_address(tmp_path: Path) -> None:
    """alltheplaces writes the street line whole as addr:street_address: it was dropped without a word."""
    path = write_geojson(tmp_path / "atp.geojson", [
        feature({"type": "Point", "coordinates": [-73.98, 40.75]},
                {"ref": "a1", "@spider": "demo", "addr:street_address": "350 Fifth Avenue", "addr:city": "New York",
                 "addr:postcode": "10118", "addr:country": "US", "name": "Demo"}),
    ])  # fmt: skip
    [(_, record)] = rows(path)
    assert record["street"] == "350 Fifth Avenue" and record["city"] == "New York"


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


@pytest.mark.parametrize("coordinates", [None, [], [2.0], {"lon": 2.0, "lat": 48.0}, "2.0 48.0", [None, None]])
def test_geojson_a_point_without_a_position_is_a_geometry_error(tmp_path: Path, coordinates: Any) -> None:
    """Read as no coordinates, the place was geocoded from its address without a word."""
    geometry = {"type": "Point"} if coordinates is None else {"type": "Point", "coordinates": coordinates}
    path = write_geojson(tmp_path / "points.geojson", [feature(geometry, {"id": "p", "street": "1 rue X"})])
    [(_, record)] = rows(path)
    assert "must be [longitude, latitude]" in record["_geometry_error"] and "lat" not in record


@pytest.mark.parametrize("geometry", ["Point", 7, ["Point"]])
def test_geojson_a_geometry_that_is_no_object_is_a_geometry_error(tmp_path: Path, geometry: Any) -> None:
    """`"geometry": "Point"` was an AttributeError: a traceback, a 500 from the admin API, no audit row."""
    path = write_geojson(tmp_path / "points.geojson", [feature(geometry, {"id": "p", "street": "1 rue X"})])
    [(_, record)] = rows(path)
    assert "must be a GeoJSON object" in record["_geometry_error"] and "lat" not in record


def test_geojson_a_house_number_that_is_not_text_is_left_out_of_the_street(tmp_path: Path) -> None:
    """`{"x": 1}`, true and 3.0 were joined into the street as Python wrote them: "3.0 Rue X"."""
    numbers: list[Any] = [{"x": 1}, True, 3.0, "3", 3]
    path = write_geojson(tmp_path / "n.geojson", [
        feature(None, {"id": str(i), "addr:street": "Rue X", "addr:housenumber": n}) for i, n in enumerate(numbers)
    ])  # fmt: skip
    streets = [record["street"] for _, record in rows(path)]
    assert streets == ["Rue X", "Rue X", "Rue X", "3 Rue X", "3 Rue X"]
    notes = [record.get("_warnings") for _, record in rows(path)]
    assert notes[:3] == [[("street", n, "addr:housenumber is not text: left out")] for n in numbers[:3]]


def test_geojson_coordinates_under_other_names_only_without_a_geometry(tmp_path: Path) -> None:
    """`"latitude": null` beside a Point discarded the geometry: the place was geocoded to its postcode."""
    point = {"type": "Point", "coordinates": [2.3336, 48.8716]}
    path = write_geojson(tmp_path / "a.geojson", [
        feature(point, {"id": "a", "latitude": None, "longitude": "", "long": "yes"}),
        feature(None, {"id": "b", "latitude": 48.1, "lng": 2.1}),
    ])  # fmt: skip
    records = dict(rows(path))
    assert (records[1]["lat"], records[1]["lon"]) == (48.8716, 2.3336)
    assert (records[2]["lat"], records[2]["lon"]) == (48.1, 2.1)


def test_geojson_altitude_is_left_out(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "3d.geojson", [feature({"type": "Point", "coordinates": [2.0, 48.0, 35.5]}, {})])
    assert rows(path) == [(1, {"lon": 2.0, "lat": 48.0})]


def test_geojson_lat_lon_properties_that_disagree_with_the_geometry_are_a_warning(tmp_path: Path) -> None:
    point = {"type": "Point", "coordinates": [2.35, 48.85]}
    path = write_geojson(
        tmp_path / "two.geojson",
        [feature(point, {"lat": 48.0, "lon": 2.0}), feature(point, {"lat": "48.85", "lon": "2.35"})],
    )
    (_, moved), (_, same) = rows(path)
    assert (moved["lat"], moved["lon"]) == (48.0, 2.0)  # the properties, as before
    assert moved["_warnings"] == [
        ("lat", "48.0, 2.0", "the lat/lon properties are used; the Point geometry says 48.85, 2.35")
    ]
    assert "_warnings" not in same


def test_geojson_properties_never_pass_for_reader_notes(tmp_path: Path) -> None:
    """'_error' is how a reader says a feature is unreadable: a property of that name rejected its row."""
    properties = {"id": "p", "_error": "boom", "_geometry_error": "bang", "_warnings": [], "_rejections": []}
    path = write_geojson(
        tmp_path / "notes.geojson", [feature({"type": "Point", "coordinates": [2.0, 48.0]}, properties)]
    )
    assert rows(path) == [(1, {"id": "p", "lon": 2.0, "lat": 48.0})]


def test_geojson_a_feature_of_another_type(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "bare.geojson", [{"type": "Point", "coordinates": [2.0, 48.0]}])
    assert rows(path) == [(1, {"_error": "not a GeoJSON Feature (type 'Point')"})]


def test_geojson_a_number_past_pythons_digit_limit_is_a_broken_file(tmp_path: Path) -> None:
    path = tmp_path / "digits.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", "id": ' + "1" * 5000 + "}]}")
    with pytest.raises(FeedError, match="a number too long to read"):
        rows(path)


def test_geojson_error_columns_count_from_the_line_not_the_read_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A minified file is one line: past its first read window, the column was counted from the window's start."""
    from ingest import readers

    monkeypatch.setattr(readers._JsonStream, "CHUNK", 64)
    good = json.dumps(feature({"type": "Point", "coordinates": [2.0, 48.0]}, {"id": "x"}))
    text = '{"type": "FeatureCollection", "features": [' + ", ".join([good] * 20) + ', {"id": ]}'
    path = tmp_path / "minified.geojson"
    path.write_text(text)
    with pytest.raises(FeedError, match=f"line 1, column {text.rindex(']') + 1}: Expecting value") as error:
        rows(path)
    assert error.value.row == 21


def test_geojson_a_broken_feature_is_found_without_reading_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every read window after a syntax error went into one growing buffer: a broken 500 MB file took minutes."""
    from ingest import readers

    monkeypatch.setattr(readers._JsonStream, "CHUNK", 64)
    fills = 0
    fill = readers._JsonStream._fill

    def counted(stream: Any) -> bool:
        nonlocal fills
        fills += 1
        return bool(fill(stream))

    monkeypatch.setattr(readers._JsonStream, "_fill", counted)
    good = json.dumps(feature({"type": "Point", "coordinates": [2.0, 48.0]}, {"id": "x"}))
    path = tmp_path / "broken.geojson"
    head = '{"type": "FeatureCollection", "features": [{"type": "Feature", "id": }, '
    path.write_text(head + ", ".join([good] * 2000) + "]}")
    # The column counts from the start of the line, not of the read window (the error is past the first one).
    with pytest.raises(FeedError, match=f"line 1, column {head.index('}') + 1}: Expecting value"):
        rows(path)
    assert fills < 5


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
    with pytest.raises(FeedError, match="name it: --format"):
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
