"""Tests for the Best Buy store-list adapter (ingest/bestbuy.py)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import opening_hours
import pytest
from sqlalchemy import text

from ingest.bestbuy import FeedError, convert_hours, read_bestbuy
from ingest.publish import ingest_file
from tests.conftest import ScratchDatabase

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
STORES_JSON = SHARED_DATA / "bestbuy-stores" / "stores.json"

VENDOR_DAYS = ("Mon", "Tue", "Wed", "Thurs", "Fri", "Sat", "Sun")

# 2024-07-01 is a Monday; the expressions carry no holidays, so any week would do.
MONDAY = datetime(2024, 7, 1)


def week(value: str) -> str:
    return "; ".join(f"{day}: {value}" for day in VENDOR_DAYS)


def open_intervals(value: str) -> list[tuple[datetime, datetime]]:
    oh = opening_hours.OpeningHours(value)
    return [
        (start, end)
        for start, end, state, _comment in oh.intervals(MONDAY, datetime(2024, 7, 8))
        if state == opening_hours.State.OPEN
    ]


# --- convert_hours: every one of the 30 range forms in the 2016 file ----------------------------------

# Vendor range -> the same range on a 24-hour clock.
EVERY_RANGE_IN_THE_FILE = {
    "10-9": "10:00-21:00",
    "11-8": "11:00-20:00",
    "10-8": "10:00-20:00",
    "10-9:30": "10:00-21:30",
    "10-10": "10:00-22:00",
    "9-9": "09:00-21:00",
    "11-6": "11:00-18:00",
    "12-6": "12:00-18:00",
    "9-10": "09:00-22:00",
    "11-7": "11:00-19:00",
    "10-7": "10:00-19:00",
    "12-8": "12:00-20:00",
    "11-9": "11:00-21:00",
    "9:30-9": "09:30-21:00",
    "12:30-6": "12:30-18:00",
    "10-6": "10:00-18:00",
    "12-7": "12:00-19:00",
    "12-5": "12:00-17:00",
    "12-5:30": "12:00-17:30",
    "11-5": "11:00-17:00",
    "8-11:59": "08:00-24:00",
    "11-10": "11:00-22:00",
    "9-8": "09:00-20:00",
    "1-5:30": "13:00-17:30",
    "11-7:30": "11:00-19:30",
    "12:30-5:30": "12:30-17:30",
    "11:30-5:30": "11:30-17:30",
    "1-6": "13:00-18:00",
}


@pytest.mark.parametrize(("vendor", "expected"), sorted(EVERY_RANGE_IN_THE_FILE.items()))
def test_every_plain_range_form(vendor: str, expected: str) -> None:
    value, warnings = convert_hours(week(vendor))
    assert value == f"Mo-Su {expected}"
    assert warnings == []
    assert opening_hours.validate(value)


def test_0_to_1159_every_day_is_24_7() -> None:
    # The 189 Express kiosks (vending machines in airports and at HQ).
    assert convert_hours(week("0-11:59")) == ("24/7", [])


def test_0_to_1159_on_some_days_is_whole_days() -> None:
    value, warnings = convert_hours("Mon: 0-11:59; Tue: 0-11:59; Wed: 10-9")
    assert value == "Mo-Tu 00:00-24:00; We 10:00-21:00; Th-Su off"
    assert warnings == ["Th-Su not listed: read as closed"]


def test_12_to_1159_is_the_whole_day_with_a_warning() -> None:
    # Store 1531, Union Square NY, verbatim.
    text = "Mon: 8-11:59; Tue: 12-11:59; Wed: 12-11:59; Thurs: 12-11:59; Fri: 12-11:59; Sat: 12-11:59; Sun: 11-10"
    value, warnings = convert_hours(text)
    assert value == "Mo 08:00-24:00; Tu-Sa 00:00-24:00; Su 11:00-22:00"
    assert warnings == ["Tu-Sa: '12-11:59' read as the whole day (00:00-24:00), not noon to midnight"]
    # The reason for that reading: one unbroken run from Monday 08:00 to Saturday midnight.
    assert open_intervals(value) == [
        (datetime(2024, 7, 1, 8), datetime(2024, 7, 7, 0)),
        (datetime(2024, 7, 7, 11), datetime(2024, 7, 7, 22)),
    ]


def test_12_30_to_1159_opens_at_half_past_noon() -> None:
    # Only "12-11:59" is the whole day; rule 1 (12 is noon) holds for any other time in the 12 o'clock hour. It
    # was read as 00:30, under a warning about "12-11:59".
    value, warnings = convert_hours("Mon: 12:30-11:59; Tue: 10-9; Wed: 10-9; Thurs: 10-9; Fri: 10-9; Sat: 10-9; "
                                    "Sun: 11-8")  # fmt: skip
    assert value == "Mo 12:30-24:00; Tu-Sa 10:00-21:00; Su 11:00-20:00" and warnings == []


def test_closing_at_1159_leaves_no_gap_before_midnight() -> None:
    value, _ = convert_hours("Mon: 8-11:59; Tue: 0-11:59")
    assert open_intervals(value) == [(datetime(2024, 7, 1, 8), datetime(2024, 7, 3, 0))]


def test_a_typical_week_is_compressed_into_day_ranges() -> None:
    value, warnings = convert_hours("Mon: 10-9; Tue: 10-9; Wed: 10-9; Thurs: 10-9; Fri: 10-10; Sat: 10-10; Sun: 11-8")
    assert value == "Mo-Th 10:00-21:00; Fr-Sa 10:00-22:00; Su 11:00-20:00"
    assert warnings == []


def test_equal_days_apart_share_one_rule() -> None:
    value, _ = convert_hours("Mon: 10-9; Tue: 10-10; Wed: 10-9; Thurs: 10-9; Fri: 10-9; Sat: 10-10; Sun: 10-9")
    assert value == "Mo,We-Fr,Su 10:00-21:00; Tu,Sa 10:00-22:00"
    assert opening_hours.validate(value)


def test_missing_sunday_is_closed_with_a_warning() -> None:
    # The four Paramus, NJ stores (blue laws), verbatim.
    value, warnings = convert_hours(
        "Mon: 10-9:30; Tue: 10-9:30; Wed: 10-9:30; Thurs: 10-9:30; Fri: 10-9:30; Sat: 10-9:30"
    )
    assert value == "Mo-Sa 10:00-21:30; Su off"
    assert warnings == ["Su not listed: read as closed"]
    assert not opening_hours.OpeningHours(value).is_open(datetime(2024, 7, 7, 12))


@pytest.mark.parametrize("closed", ["Closed", "closed", "CLOSED", "off"])
def test_a_day_listed_as_closed_is_off_without_warning(closed: str) -> None:
    text = f"Mon: 10-9; Tue: 10-9; Wed: 10-9; Thurs: 10-9; Fri: 10-9; Sat: 10-9; Sun: {closed}"
    value, warnings = convert_hours(text)
    assert value == "Mo-Sa 10:00-21:00; Su off"
    assert warnings == []


def test_tolerated_spellings() -> None:
    value, _ = convert_hours("monday: 10 - 9 ;Tues:10-9; Thu: 10-9;  ; Fri : 10-21; Saturday: 10\u20139")
    assert value == "Mo-Tu,Th-Sa 10:00-21:00; We,Su off"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("", "no days listed"),
        (" ; ", "no days listed"),
        ("Mon 10-9", "'Mon 10-9'"),
        ("Funday: 10-9", "'Funday'"),
        ("Mon: 10-9; Mon: 10-8", "'Mon' is listed twice"),
        ("Mon: 10am-9pm", "'10am-9pm'"),
        ("Mon: 10-12", "closing hour 12 is ambiguous"),
        ("Mon: 5-4", "closes before it opens"),
        ("Mon: 10:75-9", "minutes above 59"),
        ("Mon: 25-9", "opening hour 25"),
        ("Mon: 10-9:61", "minutes above 59"),
    ],
)
def test_bad_hours_raise_value_error_naming_the_part(text: str, names: str) -> None:
    with pytest.raises(ValueError) as raised:
        convert_hours(text)
    assert names in str(raised.value)


def test_non_text_hours_raise_type_error() -> None:
    with pytest.raises(TypeError):
        convert_hours(42)  # type: ignore[arg-type]


# --- read_bestbuy on small files ----------------------------------------------------------------------

MALL_OF_AMERICA: dict[str, Any] = {
    "id": 1000,
    "type": "BigBox",
    "name": "Mall of America",
    "address": "340 W Market",
    "address2": "",
    "city": "Bloomington",
    "state": "MN",
    "zip": "55425",
    "location": {"lat": 44.85466, "lon": -93.24565},
    "hours": "Mon: 10-9:30; Tue: 10-9:30; Wed: 10-9:30; Thurs: 10-9:30; Fri: 10-9:30; Sat: 10-9:30; Sun: 11-7",
    "services": [
        "Geek Squad Services",
        "Best Buy Mobile",
        "Best Buy For Business",
        "Apple Shop",
        "Hablamos Espa\u00f1ol",
        "Camera Experience Shop ",
        "Electronics Recycling",
        "Magnolia Home Theater",
        "Samsung Experience Shop",
        "Windows Store",
    ],
}


def write_json(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "stores.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def read_all(path: Path) -> tuple[list[tuple[int, dict[str, Any]]], list[tuple[int, str]]]:
    warnings: list[tuple[int, str]] = []
    rows = list(read_bestbuy(path, on_warning=lambda row, message: warnings.append((row, message))))
    return rows, warnings


def test_a_store_maps_to_the_contract_columns(tmp_path: Path) -> None:
    rows, warnings = read_all(write_json(tmp_path, [MALL_OF_AMERICA]))
    assert warnings == []
    assert rows == [
        (
            1,
            {
                "id": "1000",
                "name": "Best Buy \u2013 Mall of America",
                "kind": "store",
                "street": "340 W Market",
                "postcode": "55425",
                "city": "Bloomington",
                "region": "US-MN",
                "country": "US",
                "lat": 44.85466,
                "lon": -93.24565,
                "timezone": None,
                "opening_hours": "Mo-Sa 10:00-21:30; Su 11:00-19:00",
                "products": "apple;cameras;samsung;windows",
                "services": "sales;business;home_theater;mobile;recycling;repair;spanish_spoken",
                "phone": None,
                "url": None,
            },
        )
    ]


def test_express_kiosk_and_puerto_rico(tmp_path: Path) -> None:
    kiosk = {
        "id": 2500,
        "type": "Express",
        "name": "SJU - Luis Munoz Marin Airport ",
        "address": "Terminal  B",
        "address2": None,
        "city": "Carolina",
        "state": "PR",
        "zip": 979,
        "location": {"lat": "18.4394", "lon": -66.0018},
        "hours": week("0-11:59"),
        "services": [],
    }
    rows, warnings = read_all(write_json(tmp_path, [kiosk]))
    record = rows[0][1]
    assert record["name"] == "Best Buy Express \u2013 SJU - Luis Munoz Marin Airport"
    assert record["street"] == "Terminal B"
    assert record["postcode"] == "00979"
    assert record["region"] == "US-PR"
    assert (record["lat"], record["lon"]) == (18.4394, -66.0018)
    assert record["opening_hours"] == "24/7"
    assert (record["products"], record["services"]) == ("", "sales")
    assert warnings == []


def test_row_problems_are_warnings_and_the_row_carries_what_was_read(tmp_path: Path) -> None:
    bad_hours = dict(MALL_OF_AMERICA, id=1001, hours="Mon: 10am-9pm", services=["Geek Squad Services", "Drone Zone"])
    no_location = dict(MALL_OF_AMERICA, id=1002, location=None, hours=None)
    bad_coordinates = dict(MALL_OF_AMERICA, id=1003, location={"lat": "north", "lon": float("nan")})
    rows, warnings = read_all(write_json(tmp_path, [bad_hours, ["not", "an", "object"], no_location, bad_coordinates]))

    assert [row for row, _ in rows] == [1, 2, 3, 4]
    first = rows[0][1]
    # The raw text goes on, for the pipeline's validation to reject the row by name.
    assert first["opening_hours"] == "Mon: 10am-9pm"
    assert first["services"] == "sales;repair"
    assert rows[1][1] == dict.fromkeys(first)
    assert (rows[2][1]["lat"], rows[2][1]["lon"], rows[2][1]["opening_hours"]) == (None, None, None)
    assert (rows[3][1]["lat"], rows[3][1]["lon"]) == ("north", "nan")

    assert [row for row, _ in warnings] == [1, 1, 2, 3]
    assert "'10am-9pm'" in warnings[0][1]
    assert "unknown vendor service 'Drone Zone'" in warnings[1][1]
    assert "not an object" in warnings[2][1]
    assert warnings[3][1] == "hours: missing"


def test_default_warnings_go_to_the_log(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    list(read_bestbuy(write_json(tmp_path, [dict(MALL_OF_AMERICA, hours="Mon: 10-9")])))
    assert "bestbuy row 1: hours: Tu-Su not listed: read as closed" in caplog.text


def test_an_empty_array_yields_nothing(tmp_path: Path) -> None:
    assert read_all(write_json(tmp_path, [])) == ([], [])


# --- broken files: FeedError at the call, with a message that says what is wrong ---------------------


def test_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "stores.json"
    path.write_text('[\n  {"id": 1},\n  {"id": 2,,}\n]\n', encoding="utf-8")
    with pytest.raises(FeedError, match=r"invalid JSON at line 3, column 12: Expecting property name"):
        read_bestbuy(path)


def test_latin1_bytes_name_the_byte_and_where(tmp_path: Path) -> None:
    path = tmp_path / "stores.json"
    path.write_bytes('[\n{"name": "Hablamos Espa\u00f1ol"}\n]'.encode("latin-1"))
    with pytest.raises(FeedError, match=r"not UTF-8 text \(line 2, column 24: byte 0xf1\)"):
        read_bestbuy(path)


def test_a_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "stores.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps([MALL_OF_AMERICA]).encode())
    assert [row for row, _ in read_bestbuy(path)] == [1]


@pytest.mark.parametrize(
    ("data", "kind"),
    [({"stores": []}, "an object"), ("stores", "a JSON str"), (12, "a JSON int"), (None, "a JSON NoneType")],
)
def test_wrong_top_level(tmp_path: Path, data: object, kind: str) -> None:
    with pytest.raises(FeedError, match=f"the top level is {kind}; expected a JSON array of store objects"):
        read_bestbuy(write_json(tmp_path, data))


def test_a_coordinate_past_a_floats_range_is_passed_on_as_text(tmp_path: Path) -> None:
    """float() of a 400-digit JSON int raised OverflowError: a traceback instead of a rejected row."""
    path = tmp_path / "stores.json"
    path.write_text(json.dumps([dict(MALL_OF_AMERICA, location={"lat": 10**400, "lon": -93.2})]))
    [(_, record)] = read_all(path)[0]
    assert record["lat"] == str(10**400) and record["lon"] == -93.2


def test_a_number_past_pythons_digit_limit_is_a_broken_file(tmp_path: Path) -> None:
    path = tmp_path / "stores.json"
    path.write_text('[{"id": ' + "1" * 5000 + "}]")
    with pytest.raises(FeedError, match="invalid JSON: Exceeds the limit"):
        read_bestbuy(path)


def test_an_array_of_geojson_features_is_named(tmp_path: Path) -> None:
    """A .json file starting with '[' is read as this feed: each feature was rejected as a store without an id."""
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [2.3, 48.8]}, "properties": {}}
    with pytest.raises(FeedError, match="a JSON array of GeoJSON features, not Best Buy stores"):
        read_bestbuy(write_json(tmp_path, [feature]))


def test_empty_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    with pytest.raises(FeedError, match="the file is empty"):
        read_bestbuy(empty)
    with pytest.raises(FeedError, match="cannot read the file"):
        read_bestbuy(tmp_path / "absent.json")


def test_feed_error_is_a_value_error() -> None:
    assert issubclass(FeedError, ValueError)


# --- the real 2016 file --------------------------------------------------------------------------------

# (south, north, west, east) in degrees.
CONTIGUOUS_US = (24.3, 49.5, -125.0, -66.8)
BOXES = {
    "US-AK": (51.0, 71.6, -180.0, -129.9),
    "US-HI": (18.8, 22.4, -160.4, -154.7),
    "US-PR": (17.8, 18.6, -67.4, -65.2),
}


@pytest.mark.skipif(not STORES_JSON.is_file(), reason=f"shared data set not present at {STORES_JSON}")
def test_the_whole_real_file() -> None:
    rows, warnings = read_all(STORES_JSON)

    assert len(rows) == 1565
    assert [row for row, _ in rows] == list(range(1, 1566))
    records = [record for _, record in rows]
    assert len({record["id"] for record in records}) == 1565

    for record in records:
        # Every value converted; a raw vendor string would fail here.
        opening_hours.OpeningHours(record["opening_hours"])
        south, north, west, east = BOXES.get(record["region"], CONTIGUOUS_US)
        assert south <= record["lat"] <= north, record
        assert west <= record["lon"] <= east, record
        assert record["kind"] == "store"
        assert record["country"] == "US"
        assert record["services"].split(";")[0] == "sales"
    assert {record["region"] for record in records} >= set(BOXES)

    raw = json.loads(STORES_JSON.read_text(encoding="utf-8"))
    geek_squad = sum("Geek Squad Services" in [name.strip() for name in store["services"]] for store in raw)
    repair = sum("repair" in record["services"].split(";") for record in records)
    assert geek_squad == repair == 1036
    assert sum("apple" in record["products"].split(";") for record in records) == 756
    assert Counter(record["opening_hours"] for record in records)["24/7"] == 189

    # The only interpretations worth a person's look: Paramus without Sunday, Union Square's 12-11:59, and the
    # New England and New Jersey ZIPs the feed writes without their leading zero.
    messages = Counter(message for _, message in warnings)
    zips = {message: n for message, n in messages.items() if message.startswith("ZIP ")}
    assert messages - Counter(zips) == {
        "hours: Su not listed: read as closed": 4,
        "hours: Tu-Sa: '12-11:59' read as the whole day (00:00-24:00), not noon to midnight": 1,
    }
    assert sum(zips.values()) == 19 and zips["ZIP '2128' read as 02128 (its leading zeros lost)"] == 3
    boston = [record["postcode"] for record in records if record["city"] == "Boston"]
    assert "02128" in boston and all(len(code) in (5, 10) for code in (r["postcode"] for r in records))


@pytest.mark.skipif(not STORES_JSON.is_file(), reason=f"shared data set not present at {STORES_JSON}")
def test_every_range_form_in_the_real_file_is_covered_here() -> None:
    raw = json.loads(STORES_JSON.read_text(encoding="utf-8"))
    forms = {part.split(": ", 1)[1] for store in raw for part in store["hours"].split("; ")}
    assert len(forms) == 30
    assert forms == set(EVERY_RANGE_IN_THE_FILE) | {"0-11:59", "12-11:59"}


# --- through the ingest pipeline ------------------------------------------------------------------------------


def test_hours_the_adapter_cannot_convert_reject_the_store(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    """Handed on raw, `Tue: 10-9` reached the tolerant OSM parser and was published as `Tu 10:00-09:00`."""
    ambiguous = week("10-9").replace("Mon: 10-9", "Mon: 10-12")
    stores = [
        dict(MALL_OF_AMERICA, id=1, hours=ambiguous),
        dict(MALL_OF_AMERICA, id=2, hours=week("10-9").replace("Mon: 10-9", "Mon: 10-9:30pm")),
        dict(MALL_OF_AMERICA, id=3, hours="Mon: 10-9; Tue: 10-9; Wed: 10-9; Thurs: 10-9; Fri: 10-9; Sat: 10-9"),
    ]
    report = ingest_file(scratch_db.engine, write_json(tmp_path, stores), source="bestbuy", partial=True)
    assert [(r.row, r.column, r.value) for r in report.rejected] == [
        (1, "opening_hours", ambiguous), (2, "opening_hours", stores[1]["hours"]),
    ]  # fmt: skip
    assert "closing hour 12 is ambiguous" in report.rejected[0].reason and "Mon" in report.rejected[0].reason
    assert "'10-9:30pm'" in report.rejected[1].reason
    assert report.added == ["3"] and report.format == "bestbuy"
    # The adapter's warnings name the column and the vendor's value, like every other warning.
    sunday = [w for w in report.warnings if w.row == 3 and "Su not listed" in w.message]
    assert [(w.column, w.value) for w in sunday] == [("opening_hours", stores[2]["hours"])]
    assert not [w for w in report.warnings if w.row in (1, 2) and w.column == "opening_hours"]
    with scratch_db.engine.connect() as conn:
        hours = conn.execute(text("SELECT location_id, canonical FROM location_hours")).all()
    assert [tuple(h) for h in hours] == [("3", "Mo-Sa 10:00-21:00; Su off")]
