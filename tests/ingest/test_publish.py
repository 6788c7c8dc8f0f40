"""Ingest: validation that names rows, diff, atomic publish, the removal guard, the audit trail."""

from __future__ import annotations

import csv
import hashlib
import json
import time
from datetime import datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, text

from ingest.geocoding import chain_locator
from ingest.postcodes import load_file
from ingest.publish import ingest_file
from locator.answers import location_answer
from locator.errors import GeocoderUnavailable
from locator.search import NearestQuery, nearest
from locator.settings import Settings
from locator.special_hours import add, remove
from tests.conftest import DEMO_CSV, SHARED_DATA, ScratchDatabase

COLUMNS = ["id", "name", "kind", "street", "postcode", "city", "region", "country", "lat", "lon", "timezone",
           "opening_hours", "products", "services"]  # fmt: skip


PARIS = ZoneInfo("Europe/Paris")


def row(i: int, **overrides: Any) -> dict[str, Any]:
    base = {
        "id": f"p{i}", "name": f"Place {i}", "kind": "store", "street": f"{i} rue de Test", "postcode": "75001",
        "city": "Paris", "region": "", "country": "FR", "lat": 48.80 + i * 0.001, "lon": 2.30 + i * 0.001,
        "timezone": "", "opening_hours": "Mo-Sa 10:00-19:00", "products": "iphone", "services": "sales",
    }  # fmt: skip
    return {**base, **overrides}


def write_csv(path: Path, rows: list[dict[str, Any]], columns: list[str] | None = None) -> Path:
    columns = columns or list(dict.fromkeys(k for r in rows for k in r))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def count(engine: Engine, source: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM locations WHERE source = :s"), {"s": source}).scalar_one())


def test_publish_then_rerun_is_a_no_op(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    feed = write_csv(tmp_path / "feed.csv", [row(i) for i in range(10)])
    first = ingest_file(scratch_db.engine, feed, source="vendor")
    assert first.published and len(first.added) == 10 and first.exit_code == 0
    again = ingest_file(scratch_db.engine, feed, source="vendor")
    assert (len(again.added), len(again.changed), len(again.removed), again.unchanged) == (0, 0, 0, 10)
    with scratch_db.engine.connect() as conn:
        tz = conn.execute(text("SELECT DISTINCT timezone FROM locations")).scalar_one()
        intervals = conn.execute(text("SELECT count(*) FROM open_intervals")).scalar_one()
    assert tz == "Europe/Paris"  # inferred from the coordinates
    assert intervals > 0  # materialised with the publish


def test_rejected_rows_are_named_and_nothing_is_published(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    rows = [
        row(1),
        row(2, lat="abc"),
        row(3, lat=0, lon=0),
        row(4, name=""),
        row(5, kind="spaceport"),
        row(6, opening_hours="Mo-Xy 10:00-12:00"),
        row(1, name="duplicate of row 2"),
        row(8, lat=95),
        row(9, country="France"),
        row(10, timezone="Mars/Olympus"),
        row(11, country="UK"),  # two letters, but the UK is GB: its holidays and checks would be none
    ]
    report = ingest_file(scratch_db.engine, write_csv(tmp_path / "bad.csv", rows), source="vendor")
    assert not report.published and report.exit_code == 1
    rejected = {(r.row, r.column) for r in report.rejected}
    assert rejected == {
        (3, "lat"), (4, "lat"), (5, "name"), (6, "kind"), (7, "opening_hours"), (8, "id"), (9, "lat"),
        (10, "country"), (11, "timezone"), (12, "country"),
    }  # fmt: skip
    by_row = {r.row: r for r in report.rejected}
    assert by_row[3].value == "abc" and "number" in by_row[3].reason
    assert "(0, 0)" in by_row[4].reason
    assert "position" in by_row[7].reason
    assert "row 2" in by_row[8].reason
    assert by_row[12].value == "UK" and "GB, not UK" in by_row[12].reason
    assert count(scratch_db.engine, "vendor") == 0
    as_json = report.as_dict()
    assert set(as_json["rejected"][0]) == {"row", "column", "value", "reason"}
    assert as_json["published"] is False


def test_partial_publishes_valid_rows_and_keeps_rejected_ones(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    ingest_file(scratch_db.engine, write_csv(tmp_path / "v1.csv", [row(i) for i in range(10)]), source="vendor")
    rows = [row(i) for i in range(10)]
    rows[3] = row(3, opening_hours="garbage hours")
    rows[4] = row(4, name="Renamed 4")
    report = ingest_file(scratch_db.engine, write_csv(tmp_path / "v2.csv", rows), source="vendor", partial=True)
    assert report.published and report.exit_code == 1
    assert report.changed == ["p4"] and report.removed == []
    assert count(scratch_db.engine, "vendor") == 10  # p3 keeps its published version


def test_dry_run_reports_and_touches_nothing(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    ingest_file(scratch_db.engine, write_csv(tmp_path / "v1.csv", [row(i) for i in range(10)]), source="vendor")
    rows = [row(i) for i in range(1, 10)] + [row(20)]
    rows[0] = row(1, opening_hours="Mo-Fr 09:00-17:00")
    report = ingest_file(scratch_db.engine, write_csv(tmp_path / "v2.csv", rows), source="vendor", dry_run=True)
    assert not report.published and report.outcome == "dry-run"
    assert (report.added, report.changed, report.removed) == (["p20"], ["p1"], ["p0"])
    with scratch_db.engine.connect() as conn:
        ids = {r[0] for r in conn.execute(text("SELECT id FROM locations"))}
    assert "p0" in ids and "p20" not in ids


def test_a_dry_run_says_which_columns_changed(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    """The report listed the changed ids alone: ops could not tell a new phone number from new hours."""
    ingest_file(scratch_db.engine, write_csv(tmp_path / "v1.csv", [row(i) for i in range(4)]), source="vendor")
    rows = [row(0, phone="+33 1 00 00 00 00"), row(1, opening_hours="Mo-Fr 09:00-12:00"), row(2, lat=48.9), row(3)]
    report = ingest_file(scratch_db.engine, write_csv(tmp_path / "v2.csv", rows), source="vendor", dry_run=True)
    assert report.changed == ["p0", "p1", "p2"] and report.unchanged == 1
    assert report.as_dict()["changed_fields"] == {"p0": ["phone"], "p1": ["opening_hours"], "p2": ["lat/lon"]}


def test_removal_guard(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    ingest_file(scratch_db.engine, write_csv(tmp_path / "v1.csv", [row(i) for i in range(10)]), source="vendor")
    shrunk = write_csv(tmp_path / "v2.csv", [row(i) for i in range(7)])
    refused = ingest_file(scratch_db.engine, shrunk, source="vendor")
    assert refused.outcome == "refused" and not refused.published and refused.exit_code == 1
    assert "allow-removals" in refused.message and count(scratch_db.engine, "vendor") == 10
    allowed = ingest_file(scratch_db.engine, shrunk, source="vendor", allow_removals=True)
    assert allowed.published and len(allowed.removed) == 3 and count(scratch_db.engine, "vendor") == 7
    # A feed without rows: refused (a broken export), unless it is said to retire the source (it took
    # --partial --allow-removals, and exited 1 all the same).
    empty = tmp_path / "empty.csv"
    empty.write_text("id,name,country,lat,lon,opening_hours\n", encoding="utf-8")
    refused = ingest_file(scratch_db.engine, empty, source="vendor")
    assert not refused.published and "--allow-removals" in refused.rejected[0].reason
    retired = ingest_file(scratch_db.engine, empty, source="vendor", allow_removals=True)
    assert retired.published and retired.exit_code == 0 and len(retired.removed) == 7
    assert count(scratch_db.engine, "vendor") == 0


def test_ids_are_unique_across_sources(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    ingest_file(scratch_db.engine, write_csv(tmp_path / "a.csv", [row(1)]), source="a")
    report = ingest_file(scratch_db.engine, write_csv(tmp_path / "b.csv", [row(1), row(2)]), source="b")
    assert not report.published
    assert [(r.row, r.column) for r in report.rejected] == [(2, "id")]
    assert "source 'a'" in report.rejected[0].reason


def test_per_service_hours_columns(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    rows = [row(1, services="sales;repair", **{"hours:repair": "Mo-Fr 14:00-18:00"})]
    report = ingest_file(scratch_db.engine, write_csv(tmp_path / "s.csv", rows), source="vendor")
    assert report.published
    with scratch_db.engine.connect() as conn:
        hours = dict(conn.execute(text("SELECT service, canonical FROM location_hours")).all())
        kinds = conn.execute(text("SELECT kinds FROM locations")).scalar_one()
    assert hours == {"": "Mo-Sa 10:00-19:00", "repair": "Mo-Fr 14:00-18:00"}
    assert kinds == ["service_centre", "store"]


def test_broken_files_get_a_clear_error(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("id,name,country,lat,lon,opening_hours\n1,Caf\xe9,FR,48.8,2.3,24/7\n".encode("latin-1"))
    report = ingest_file(scratch_db.engine, latin1, source="vendor")
    assert report.outcome == "failed" and "UTF-8" in report.message and report.exit_code == 1
    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "FeatureCollection", "features": [')
    report = ingest_file(scratch_db.engine, broken, source="vendor")
    assert report.outcome == "failed" and "line 1" in report.message
    headerless = tmp_path / "x.csv"
    headerless.write_text("1,2,3\n")
    assert "header" in ingest_file(scratch_db.engine, headerless, source="vendor").message
    empty = write_csv(tmp_path / "empty.csv", [], columns=COLUMNS)
    report = ingest_file(scratch_db.engine, empty, source="vendor")
    assert not report.published and "no rows" in report.rejected[0].reason


def test_geojson_with_osm_properties(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    feed = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "id": "node/1", "geometry": {"type": "Point", "coordinates": [7.4246, 43.7384]},
             "properties": {"ref": "mc-1", "brand": "Demo", "addr:street": "Boulevard des Moulins",
                            "addr:housenumber": "12", "addr:postcode": "98000", "addr:city": "Monaco",
                            "addr:country": "MC", "opening_hours": "Mo-Sa 09:00-19:00", "kind": "store"}},
            {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
             "properties": {"id": "mc-2", "name": "Line", "country": "MC", "opening_hours": "24/7"}},
        ],
    }  # fmt: skip
    path = tmp_path / "osm.geojson"
    path.write_text(json.dumps(feed))
    report = ingest_file(scratch_db.engine, path, source="osm", partial=True)
    assert report.added == ["mc-1"]
    assert [(r.row, r.column) for r in report.rejected] == [(2, "geometry")]
    with scratch_db.engine.connect() as conn:
        place = conn.execute(text("SELECT name, street, timezone FROM locations")).one()
    assert tuple(place) == ("Demo", "12 Boulevard des Moulins", "Europe/Monaco")


def test_missing_coordinates_are_geocoded(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    gazetteer = SHARED_DATA / "geonames-postcodes" / "zipcodes.mc.csv"
    if not gazetteer.exists():
        pytest.skip(f"{gazetteer} is absent")
    load_file(scratch_db.engine, gazetteer)
    rows = [row(1, lat="", lon="", postcode="98000", city="Monaco", country="MC"),
            row(2, lat="", lon="", postcode="00000", city="Nowhere", country="MC")]  # fmt: skip
    report = ingest_file(
        scratch_db.engine, write_csv(tmp_path / "g.csv", rows), source="vendor", partial=True,
        locate=chain_locator(scratch_db.engine),
    )  # fmt: skip
    assert report.added == ["p1"]
    assert [(r.row, r.column) for r in report.rejected] == [(3, "lat")]
    with scratch_db.engine.connect() as conn:
        precision = conn.execute(text("SELECT geo_precision FROM locations")).scalar_one()
    assert "postcode" in precision


def test_a_row_placed_at_its_postcode_because_a_provider_was_down_says_so(
    scratch_db: ScratchDatabase, tmp_path: Path
) -> None:
    """A provider down during an ingest left its rows at their postcodes' centroids with the warning of a row
    no provider knew better: ops could not tell that a run later would place them at their addresses."""
    from locator.geocoders.chain import Chain
    from locator.geocoders.providers import NominatimProvider, ProviderOptions
    from tests.conftest import free_port

    gazetteer = SHARED_DATA / "geonames-postcodes" / "zipcodes.mc.csv"
    if not gazetteer.exists():
        pytest.skip(f"{gazetteer} is absent")
    load_file(scratch_db.engine, gazetteer)
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens: the provider is down
    provider = NominatimProvider(ProviderOptions(url=closed, user_agent="tests", timeout=1.0, retries=0))
    rows = [row(1, lat="", lon="", street="12 Boulevard des Moulins", postcode="98000", city="Monaco", country="MC")]
    report = ingest_file(
        scratch_db.engine, write_csv(tmp_path / "g.csv", rows), source="vendor", dry_run=True,
        locate=chain_locator(scratch_db.engine, chain=Chain(["gazetteer", provider])),
    )  # fmt: skip
    assert not report.rejected and report.added == ["p1"]
    [said] = [w.message for w in report.warnings if w.column == "lat"]
    assert said.startswith("coordinates geocoded (postcode") and "nominatim did not answer" in said, said


def test_every_run_is_audited(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    feed = write_csv(tmp_path / "feed.csv", [row(i) for i in range(3)])
    ingest_file(scratch_db.engine, feed, source="vendor", dry_run=True, actor="tester")
    ingest_file(scratch_db.engine, feed, source="vendor", actor="tester")
    with scratch_db.engine.connect() as conn:
        runs = conn.execute(text("SELECT outcome, added, actor, file_sha256 FROM ingest_runs ORDER BY id")).all()
    assert [r.outcome for r in runs] == ["dry-run", "published"]
    assert all(r.actor == "tester" and len(r.file_sha256) == 64 and r.added == 3 for r in runs)


def test_demo_data_loads_without_rejections(scratch_db: ScratchDatabase) -> None:
    report = ingest_file(scratch_db.engine, DEMO_CSV, source="demo")
    assert report.published and not report.rejected
    assert len(report.added) >= 20


def test_a_duplicate_of_a_rejected_row_is_rejected(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    # Rows 3 and 4 (CSV lines) share id a1; row 3 is rejected for its latitude, row 4 must not slip through.
    rows = [row(1), row(2, id="a1", lat=95), row(3, id="a1")]
    report = ingest_file(scratch_db.engine, write_csv(tmp_path / "dup.csv", rows), source="vendor", partial=True)
    assert [(r.row, r.column) for r in report.rejected] == [(3, "lat"), (4, "id")]
    assert report.rejected[1].value == "a1" and "row 3" in report.rejected[1].reason
    assert report.added == ["p1"]


def test_coordinates_outside_the_stated_country_are_a_warning(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    rows = [
        row(1),
        row(2, lat=40.71, lon=-74.0),  # New York, stated FR
        row(3, lat=40.71, lon=-74.0, timezone="Europe/Paris"),  # a stated timezone does not place the point
        row(4, lat=45.0, lon=-30.0),  # mid-Atlantic
        row(5, country="US", region="US-PR", lat=18.4394, lon=-66.0018),  # ISO 3166-2 lists PR under US
    ]
    report = ingest_file(scratch_db.engine, write_csv(tmp_path / "w.csv", rows), source="vendor", dry_run=True)
    assert not report.rejected and sorted(report.added) == ["p1", "p2", "p3", "p4", "p5"]
    outside = [w for w in report.warnings if "outside the stated country" in w.message]
    assert [(w.row, w.column, w.value) for w in outside] == [
        (3, "lat", "40.71, -74.0"), (4, "lat", "40.71, -74.0"), (5, "lat", "45.0, -30.0"),
    ]  # fmt: skip
    assert "America/New_York (US)" in outside[0].message and "FR" in outside[0].message
    assert "at sea" in outside[2].message
    as_json = report.as_dict()["warnings"]
    assert {"row": 3, "column": "lat", "value": "40.71, -74.0", "message": outside[0].message} in as_json


def test_values_a_spreadsheet_mangled_are_a_warning(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    """Stored as given, without a word: a French postcode without its leading zero, a date, a phone number in
    scientific notation (from an audit of spreadsheet exports)."""
    rows = [row(1, postcode="2000"), row(2, postcode="01-mars"), row(3, phone="3,3123E+10"), row(4)]
    report = ingest_file(scratch_db.engine, write_csv(tmp_path / "x.csv", rows), source="vendor", dry_run=True)
    assert not report.rejected and len(report.added) == 4
    notes = [(w.row, w.column, w.value) for w in report.warnings if w.column in ("postcode", "phone")]
    assert notes == [(2, "postcode", "2000"), (3, "postcode", "01-mars"), (4, "phone", "3,3123E+10")]
    assert "leading zero lost (02000?)" in report.warnings[[w.row for w in report.warnings].index(2)].message


def test_coordinates_outside_the_stated_us_state_are_a_warning(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    """Best Buy's Jonesboro, AR sits near Pittsburgh in the feed: published on New York time without a word."""
    rows = [
        row(1, country="US", region="AR", lat=40.4071615, lon=-79.830226),  # Pittsburgh's zone
        row(2, country="US", region="US-AR", lat=35.8423, lon=-90.7043),  # Jonesboro itself
        row(3, country="US", region="IN", lat=38.3275, lon=-85.7646),  # Clarksville, IN: Louisville's zone
        row(4, country="US", region="Arkansas", lat=40.4071615, lon=-79.830226),  # a name: not checked
    ]
    report = ingest_file(scratch_db.engine, write_csv(tmp_path / "s.csv", rows), source="vendor", dry_run=True)
    assert not report.rejected
    outside = [(w.row, w.message) for w in report.warnings if "outside the stated state" in w.message]
    assert outside == [(2, "coordinates outside the stated state AR: the point is in America/New_York, not "
                           "America/Chicago")]  # fmt: skip


def test_alsace_moselle_takes_its_holidays_from_the_postcode(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    """Strasbourg known by its wider region (FR-GES) or by none had the national calendar: open on 26 December,
    the department's own holiday. The postcode's department is kept as the region, with a warning."""
    strasbourg = {"postcode": "67000", "city": "Strasbourg", "lat": 48.5839, "lon": 7.7455,
                  "opening_hours": "Mo-Sa 10:00-19:00; PH off"}  # fmt: skip
    rows = [
        row(1, region="FR-GES", **strasbourg),
        row(2, region="", **strasbourg),
        row(3, region="Bas-Rhin", **strasbourg),  # a reading of its own: kept
        row(4, region="FR-GES", postcode="51100", city="Reims", lat=49.2583, lon=4.0317),  # Grand Est, not Alsace
        # 06700 without the zero a spreadsheet dropped: Saint-Laurent-du-Var, not Bas-Rhin.
        row(5, region="", postcode="6700", city="Saint-Laurent-du-Var", lat=43.6683, lon=7.1894),
    ]
    report = ingest_file(scratch_db.engine, write_csv(tmp_path / "a.csv", rows), source="vendor")
    assert report.published and not report.rejected
    readings = [(w.row, w.value) for w in report.warnings if w.column == "region"]
    assert readings == [(2, "FR-GES"), (3, None)]
    assert "read as FR-67 (Bas-Rhin" in report.warnings[[w.column for w in report.warnings].index("region")].message
    boxing_day = datetime(2031, 12, 26, 12, tzinfo=PARIS)  # a Friday
    states = {f"p{i}": location_answer(scratch_db.engine, Settings(), f"p{i}", boxing_day)["open"] for i in range(1, 6)}
    assert states == {"p1": False, "p2": False, "p3": False, "p4": True, "p5": True}
    regions = {f"p{i}": location_answer(scratch_db.engine, Settings(), f"p{i}")["address"]["region"] for i in (1, 2)}
    assert regions == {"p1": "FR-67", "p2": "FR-67"}


def test_a_row_not_geocoded_names_the_address_tried(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    rows = [row(1, lat="", lon="", street="1 rue Nulle", postcode="00000", city="Nowhere"),
            row(2, lat="", lon="", street="", postcode="", city="")]  # fmt: skip
    report = ingest_file(
        scratch_db.engine, write_csv(tmp_path / "g.csv", rows), source="vendor", dry_run=True,
        locate=lambda record: None,
    )  # fmt: skip
    assert [(r.row, r.column, r.value) for r in report.rejected] == [
        (2, "lat", "1 rue Nulle, 00000 Nowhere"), (3, "lat", None),
    ]  # fmt: skip
    assert "no address or postcode" in report.rejected[1].reason


def test_coordinates_written_in_the_address_are_refused(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    """`0.0, 0.0` in the street column was the point itself, (0, 0) and all, stored as if given as lat/lon."""
    rows = [row(1, lat="", lon="", street="0.0, 0.0", postcode="", city=""),
            row(2, lat="", lon="", street="40.7128, -74.0060", postcode="", city="")]  # fmt: skip
    report = ingest_file(
        scratch_db.engine, write_csv(tmp_path / "g.csv", rows), source="vendor", dry_run=True,
        locate=chain_locator(scratch_db.engine),
    )  # fmt: skip
    assert [(r.row, r.column, r.value) for r in report.rejected] == [
        (2, "lat", "0.0, 0.0"), (3, "lat", "40.7128, -74.0060"),
    ]  # fmt: skip
    assert all("give them as lat and lon" in r.reason for r in report.rejected)


def test_a_geocoder_outage_publishes_nothing_and_blames_no_row(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    """Rows without coordinates whose geocoders are down were rejected as "could not be located" (and --partial
    published the feed without them): it is the run that failed, to repeat when the geocoder answers."""

    def down(record: dict[str, Any]) -> tuple[float, float, str, tuple[str, ...]] | None:
        raise GeocoderUnavailable("could not locate '1 rue Nulle': nominatim did not answer")

    rows = [row(1), row(2, lat="", lon="", street="1 rue Nulle")]
    report = ingest_file(
        scratch_db.engine, write_csv(tmp_path / "g.csv", rows), source="vendor", partial=True, locate=down
    )
    assert (report.outcome, report.unavailable, report.published) == ("failed", "geocoder unavailable", False)
    assert report.message.startswith("row 3: could not locate") and not report.rejected
    with scratch_db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM locations")).scalar_one() == 0
        assert conn.execute(text("SELECT outcome FROM ingest_runs")).scalar_one() == "failed"


def test_a_publish_that_only_removes_places_updates_the_planner_s_count(
    scratch_db: ScratchDatabase, tmp_path: Path
) -> None:
    """Health reports the planner's count of places: a feed that only dropped places left it as it was."""
    ingest_file(scratch_db.engine, write_csv(tmp_path / "all.csv", [row(i) for i in range(10)]), source="vendor")
    fewer = ingest_file(scratch_db.engine, write_csv(tmp_path / "fewer.csv", [row(i) for i in range(9)]),
                        source="vendor")  # fmt: skip
    assert fewer.published and fewer.removed and not fewer.added and not fewer.changed
    with scratch_db.engine.connect() as conn:
        planned = conn.execute(text("SELECT reltuples FROM pg_class WHERE oid = 'locations'::regclass")).scalar()
        assert planned == conn.execute(text("SELECT count(*) FROM locations")).scalar_one() == 9


def test_a_file_no_reader_reads_is_audited_with_its_hash(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    # The hash came after the format was told: the audit of "cannot tell the format" named no file.
    path = tmp_path / "feed.dat"
    path.write_bytes(b"hello world\n")
    report = ingest_file(scratch_db.engine, path, source="vendor")
    assert report.outcome == "failed" and "format" in report.message
    with scratch_db.engine.connect() as conn:
        audited = conn.execute(text("SELECT outcome, file_sha256 FROM ingest_runs")).one()
    assert audited == ("failed", hashlib.sha256(b"hello world\n").hexdigest())


def test_a_file_level_error_names_its_row(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("id,name,country,lat,lon,opening_hours\np1,A,FR,48.8,2.3,24/7\np2,B,FR,48.8,2.3,24/7,extra\n")
    report = ingest_file(scratch_db.engine, path, source="vendor")
    assert report.outcome == "failed"
    assert [(r.row, r.column) for r in report.rejected] == [(3, "")] and "line 3" in report.rejected[0].reason


def test_a_deeply_nested_geojson_is_a_broken_file(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    path = tmp_path / "deep.geojson"
    path.write_text('{"type":"FeatureCollection","features":[' + "[" * 100_000)
    report = ingest_file(scratch_db.engine, path, source="vendor")
    assert report.outcome == "failed" and not report.published and report.exit_code == 1
    assert report.message.startswith("deep.geojson:") and "nested too deeply" in report.message
    assert report.rejected[0].row == 1  # the first feature is where it broke
    with scratch_db.engine.connect() as conn:
        assert conn.execute(text("SELECT outcome FROM ingest_runs")).scalar_one() == "failed"


def test_an_audit_that_cannot_be_written_is_logged_and_the_run_stands(
    scratch_db: ScratchDatabase, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # It was swallowed without a word: the trail lacked the run and nothing said so.
    with scratch_db.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE ingest_runs RENAME TO ingest_runs_away")
    report = ingest_file(scratch_db.engine, write_csv(tmp_path / "feed.csv", [row(1)]), source="vendor")
    assert report.outcome == "published" and report.run_id is None
    assert any("the audit of the published run of vendor could not be written" in r.getMessage()
               for r in caplog.records), caplog.text  # fmt: skip


@pytest.mark.parametrize("where", ["reading", "validating"])
def test_a_fault_of_the_program_is_a_failed_run_in_the_audit_once(
    scratch_db: ScratchDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """A bug (here forced) raised past the audit: no trace of the run in the trail, which holds every attempt."""
    import ingest.publish

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(ingest.publish, "read_feed" if where == "reading" else "RowValidator", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        ingest_file(scratch_db.engine, write_csv(tmp_path / "f.csv", [row(1)]), source="vendor", actor="t")
    assert count(scratch_db.engine, "vendor") == 0
    with scratch_db.engine.connect() as conn:
        runs = conn.execute(text("SELECT outcome, actor, report ->> 'message' FROM ingest_runs")).all()
    assert runs == [("failed", "t", "internal error (RuntimeError): nothing changed")]


def test_a_file_name_that_is_not_utf8_is_audited(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "feed.csv", [row(1)]).rename(tmp_path / "caf\udce9.csv")  # b"caf\xe9.csv"
    report = ingest_file(scratch_db.engine, path, source="vendor", dry_run=True)
    assert report.run_id is not None and report.file_name == "caf\ufffd.csv"


def test_a_database_error_is_a_failed_run_in_the_audit(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    # What a concurrent publish of the same id by another source looks like from here: a unique violation.
    with scratch_db.engine.begin() as conn:
        conn.exec_driver_sql(
            """
            CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE unique_violation
                      USING MESSAGE = 'duplicate key value violates unique constraint "locations_pkey"',
                            DETAIL = 'Key (id)=(p1) already exists.';
            END $$;
            CREATE TRIGGER refuse BEFORE INSERT ON locations FOR EACH ROW EXECUTE FUNCTION refuse();
            """
        )
    report = ingest_file(scratch_db.engine, write_csv(tmp_path / "f.csv", [row(1)]), source="vendor", actor="t")
    assert report.outcome == "failed" and not report.published and report.exit_code == 1
    assert "locations_pkey" in report.message and "Key (id)=(p1)" in report.message
    assert report.as_dict()["rejected"] == [{"row": 0, "column": "", "value": None, "reason": report.message}]
    assert count(scratch_db.engine, "vendor") == 0
    with scratch_db.engine.connect() as conn:
        run = conn.execute(text("SELECT id, outcome, report ->> 'message' AS message FROM ingest_runs")).one()
    assert run.outcome == "failed" and run.message == report.message and run.id == report.run_id


def test_the_audit_records_the_start_and_the_detected_format(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    feed = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [2.3, 48.8]},
         "properties": {"id": "g1", "name": "G", "country": "FR", "opening_hours": "24/7"}}]}  # fmt: skip
    path = tmp_path / "feed.txt"  # a name that says nothing: the content does
    path.write_text(json.dumps(feed))

    def progress(rows: int) -> None:
        time.sleep(0.05)  # the run lasts a measurable time: started_at and finished_at must tell it

    report = ingest_file(scratch_db.engine, path, source="vendor", progress=progress)
    assert report.published and report.format == "geojson" and report.as_dict()["format"] == "geojson"
    with scratch_db.engine.connect() as conn:
        run = conn.execute(text("SELECT format, started_at, finished_at FROM ingest_runs")).one()
    assert run.format == "geojson"
    assert (run.finished_at - run.started_at).total_seconds() >= 0.05


def test_the_audit_keeps_counts_and_caps_the_lists(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    # A bad value in every row of a big feed made the audit row as large as the report (jsonb ends at 255 MB).
    path = tmp_path / "bad.csv"
    lines = ["id,name,country,lat,lon,opening_hours"] + [f"b{i},B,FR,95,2.3,24/7" for i in range(1200)]
    path.write_text("\n".join(lines) + "\n")
    report = ingest_file(scratch_db.engine, path, source="bad")
    assert not report.published and len(report.rejected) == 1200  # the report itself keeps every row
    with scratch_db.engine.connect() as conn:
        run = conn.execute(text("SELECT rejected, report FROM ingest_runs WHERE source = 'bad'")).one()
    assert run.rejected == 1200 and len(run.report["rejected"]) == 1000


# -- adversarial feeds ------------------------------------------------------------------------------------------


def geojson(path: Path, *properties: dict[str, Any], geometry: Any = None) -> Path:
    point = geometry or {"type": "Point", "coordinates": [2.35, 48.85]}
    features = [{"type": "Feature", "geometry": point, "properties": p} for p in properties]
    # json.dumps writes NaN bare and a lone surrogate as its \u escape: both as a careless exporter would.
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def place(i: int, **overrides: Any) -> dict[str, Any]:
    return {"id": f"g{i}", "name": f"G {i}", "country": "FR", "opening_hours": "24/7", **overrides}


def test_values_json_cannot_carry_are_rejected_and_the_report_stays_json(
    scratch_db: ScratchDatabase, tmp_path: Path
) -> None:
    """NaN went into the --json report bare (not JSON) and made jsonb refuse the audit row; a NUL or a lone
    surrogate in a name was a traceback (psycopg's COPY, the hash's UTF-8 encoding); a dict or true was published
    as its Python repr."""
    path = geojson(
        tmp_path / "odd.geojson",
        place(1),
        place(2, lat=float("nan"), lon=2.35),
        place(3, name="Bad \ud800 name"),
        place(4, street="1 rue\x00X"),
        place(5, name={"en": "Shop"}),
        place(6, city=True),
        place(7, phone=float("inf")),
        place(8, lat=True, lon=False),
        place(9, services=["sales", {"repair": 1}]),
        place(10, products=["iphone", 12], id=10**30),
    )
    report = ingest_file(scratch_db.engine, path, source="odd", partial=True)
    assert [(r.row, r.column) for r in report.rejected] == [
        (2, "lat"), (3, "name"), (4, "street"), (5, "name"), (6, "city"), (7, "phone"), (8, "lat"), (9, "services"),
    ]  # fmt: skip
    assert sorted(report.added) == ["1000000000000000000000000000000", "g1"]
    reasons = {r.row: r.reason for r in report.rejected}
    assert "lone surrogate" in reasons[3] and "NUL" in reasons[4]
    assert (reasons[5], reasons[6], reasons[7]) == (
        "expected text, got a JSON object", "expected text, got true", "expected text, got inf",
    )  # fmt: skip
    body = report.as_dict()
    json.dumps(body, allow_nan=False, ensure_ascii=False).encode()  # what the CLI prints, strictly
    assert {r["row"]: r["value"] for r in body["rejected"]}[3] == "Bad \\ud800 name"
    with scratch_db.engine.connect() as conn:
        audited = conn.execute(text("SELECT rejected FROM ingest_runs WHERE id = :id"), {"id": report.run_id})
        assert report.run_id is not None and audited.scalar_one() == 8


def test_a_database_error_in_the_staging_copy_is_a_failed_run(scratch_db: ScratchDatabase) -> None:
    """The COPY runs on psycopg itself, whose errors SQLAlchemy does not wrap: they were a traceback."""
    from dataclasses import replace

    from ingest.publish import IngestReport, publish
    from ingest.validate import RowValidator

    valid = RowValidator().validate(2, {**row(1), "lat": "48.8", "lon": "2.3"})
    assert valid is not None
    report = IngestReport("vendor", "csv", "f.csv", None, dry_run=False)
    publish(scratch_db.engine, [replace(valid, name="A\x00B")], report)
    assert report.outcome == "failed" and not report.published and report.exit_code == 1
    assert "NUL" in report.message and report.run_id is not None
    assert count(scratch_db.engine, "vendor") == 0


def test_very_long_values_reject_their_row_only(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    """A 10 MB name failed the whole file (Python's csv limit); 10 MB of hours took the parser 18 s, and a long id
    went whole into the report and its audit row."""
    rows = [row(1), row(2, name="N" * 10_000_000), row(3, opening_hours="Mo 10:00-12:00; " * 100_000),
            row(4, id="x" * 50_000), row(5, opening_hours="; ".join(["Mo-Fr 10:00-19:00"] * 50))]  # fmt: skip
    started = time.perf_counter()
    report = ingest_file(scratch_db.engine, write_csv(tmp_path / "long.csv", rows), source="vendor", partial=True)
    assert time.perf_counter() - started < 60
    assert report.published and report.added == ["p1", "p5"]  # 50 rules: long, but hours
    rejected = {(r.row, r.column): r for r in report.rejected}
    assert set(rejected) == {(3, "name"), (4, "opening_hours"), (5, "id")}
    assert rejected[3, "name"].reason == "longer than 500 characters"
    assert rejected[4, "opening_hours"].reason == "longer than 2000 characters"
    assert all(len(json.dumps(r)) < 3000 for r in report.as_dict()["rejected"])


def test_a_property_no_column_reads_does_not_reject_its_row(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    """OSM features carry long `description` or `note` tags, which nothing reads."""
    path = geojson(tmp_path / "osm.geojson", place(1, description="d" * 600, note={"fixme": True}))
    report = ingest_file(scratch_db.engine, path, source="osm", dry_run=True)
    assert not report.rejected and report.added == ["g1"]


def test_bidi_and_control_characters_are_removed_with_a_warning(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    """The page's list drops bidi overrides from a name, but the JSON API and the JSON-LD published them as they
    came: "\u202eevil\u202c RTL" reversed the text around it wherever an app showed it."""
    path = geojson(
        tmp_path / "bidi.geojson",
        place(1, name="\u202eevil\u202c RTL", street="1 rue\u200f de la\x07 Paix", city="Paris\u2066"),
        place(2, name="Line\r\nbreak\tand\x85tab", services=["sales\u061c", "repair"]),
        place(3, name="Opéra\u00a0Garnier", opening_hours="Mo-Sa 09:00-19:00;\nSu off\u200e"),
        place(4, id="g4\u202e"),  # an id is the place's key: never changed, rejected as before
    )
    report = ingest_file(scratch_db.engine, path, source="bidi", partial=True)
    assert sorted(report.added) == ["g1", "g2", "g3"]
    assert [(r.row, r.column) for r in report.rejected] == [(4, "id")]
    warned = {(w.row, w.column): w for w in report.warnings}
    assert {"name", "street", "city"} <= {column for row, column in warned if row == 1}
    assert warned[1, "name"].value == "\\u202eevil\\u202c RTL"  # the report names what it removed, inert
    assert "U+202E" in warned[1, "name"].message and "U+202C" in warned[1, "name"].message
    assert (2, "name") in warned and (2, "services") in warned and (3, "opening_hours") in warned
    assert (3, "name") not in warned  # a no-break space is text
    with scratch_db.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, name, street, city, services FROM locations WHERE source = 'bidi'"))
        stored = {r.id: (r.name, r.street, r.city, sorted(r.services)) for r in rows}
    assert stored == {
        "g1": ("evil RTL", "1 rue de la Paix", "Paris", []),
        "g2": ("Line break and tab", None, None, ["repair", "sales"]),
        "g3": ("Opéra\u00a0Garnier", None, None, []),
    }
    # What the JSON API answers, and the JSON-LD built from the same place.
    assert location_answer(scratch_db.engine, Settings(), "g1")["name"] == "evil RTL"


def test_json_numbers_in_text_columns_read_as_written(tmp_path: Path) -> None:
    """A GeoJSON phone written as a number (3.377e11) was read through str(float), and shown as "337700000000.0"."""
    from ingest.readers import read_feed
    from ingest.validate import RowValidator

    path = geojson(
        tmp_path / "numbers.geojson",
        place(1, phone="PHONE", postcode=98000.0),
        place(2, phone=33144000001, postcode=75008),
        place(3, phone="0033144000001.0", postcode="75008.0", street=12.5),  # text stays as written
        place(4, products=["iphone", 15.0]),
    )
    path.write_text(path.read_text().replace('"PHONE"', "3.377e11"))
    validator = RowValidator()
    records = [validator.validate(number, record) for number, record in read_feed(path)]
    assert [(r.phone, r.postcode, r.street) for r in records if r] == [
        ("337700000000", "98000", None), ("33144000001", "75008", None), ("0033144000001.0", "75008.0", "12.5"),
        (None, None, None),
    ]  # fmt: skip
    assert records[3] is not None and records[3].products == ["15", "iphone"]
    assert not validator.rejections


def test_a_rejected_row_is_not_geocoded(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    """A lookup (maybe a rate-limited provider's) for a row that cannot be published is wasted."""
    looked_up: list[str] = []

    def locate(record: dict[str, Any]) -> tuple[float, float, str, tuple[str, ...]]:
        looked_up.append(record["id"])
        return 48.85, 2.35, "postcode", ()

    rows = [row(1, lat="", lon=""), row(2, lat="", lon="", kind="spaceport")]
    report = ingest_file(
        scratch_db.engine, write_csv(tmp_path / "g.csv", rows), source="vendor", dry_run=True, locate=locate
    )
    assert looked_up == ["p1"] and [(r.row, r.column) for r in report.rejected] == [(3, "kind")]


def test_csv_columns_nothing_reads_are_warnings_on_row_1(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    """A misspelt column (`lattitude`) was dropped without a word: its places were geocoded instead."""
    rows = [{**row(1), "lattitude": "48.8", "_error": "x"}]
    report = ingest_file(scratch_db.engine, write_csv(tmp_path / "typo.csv", rows), source="vendor", dry_run=True)
    assert not report.rejected and report.added == ["p1"]
    assert [(w.row, w.column) for w in report.warnings if w.row == 1] == [(1, "lattitude"), (1, "_error")]


def test_a_quote_never_closed_loses_no_place(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    """Read leniently, the open quote swallowed the rows after it: with --partial --allow-removals they were
    removed from the published source."""
    ingest_file(scratch_db.engine, write_csv(tmp_path / "v1.csv", [row(i) for i in range(1, 5)]), source="vendor")
    text_v1 = (tmp_path / "v1.csv").read_text()
    broken = tmp_path / "v2.csv"
    broken.write_text(text_v1.replace("Place 2", '"Place 2', 1))
    report = ingest_file(scratch_db.engine, broken, source="vendor", partial=True, allow_removals=True)
    assert report.outcome == "failed" and not report.published
    assert report.rejected[0].row == 3 and "never closed" in report.message
    assert count(scratch_db.engine, "vendor") == 4


def test_csv_rows_are_numbered_as_a_spreadsheet_shows_them(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    """A value with a line break (hours on two lines) made every rejection below it name the wrong row."""
    rows = [row(1, opening_hours="Mo-Fr 10:00-19:00;\nSa 10:00-12:00"), row(2, lat=95)]
    report = ingest_file(scratch_db.engine, write_csv(tmp_path / "multi.csv", rows), source="vendor", dry_run=True)
    assert [(r.row, r.column) for r in report.rejected] == [(3, "lat")]


def test_a_website_is_an_http_address(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    """The url goes into the apps' answers, the page's links and the JSON-LD: a `javascript:` one was published
    as the place's website."""
    rows = [
        row(1, url="javascript:alert(document.cookie)"),
        row(2, url="data:text/html,<script>alert(1)</script>"),
        row(3, url="https://exa mple.com"),
        row(4, url="http://[::1"),
        row(5, url="www.example.com/stores/5"),
        row(6, url="HTTPS://EXAMPLE.COM/stores/6"),
        # Python's urlsplit sees the host good.test; a browser reads the backslash as '/' and goes to evil.test.
        row(7, url="https://evil.test\\@good.test/"),
    ]
    report = ingest_file(scratch_db.engine, write_csv(tmp_path / "urls.csv", rows), source="vendor", partial=True)
    reasons = {r.row: r.reason for r in report.rejected if r.column == "url"}
    assert set(reasons) == {2, 3, 4, 5, 8}
    assert all("http(s)" in reasons[r] for r in (2, 3, 4, 5))
    assert "backslash" in reasons[8]
    assert [(w.row, w.column) for w in report.warnings if w.column == "url"] == [(6, "url")]
    with scratch_db.engine.connect() as conn:
        urls = dict(conn.execute(text("SELECT id, url FROM locations WHERE source = 'vendor'")).all())
    assert urls == {"p5": "https://www.example.com/stores/5", "p6": "HTTPS://EXAMPLE.COM/stores/6"}


def test_a_place_with_only_service_hours(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    """Without opening_hours a place was "closed, never opens" (its own open state has no hours) beside
    service hours that said open: one service's hours stand in, with a warning; several differing are a
    rejection naming the column."""
    rows = [
        row(1, opening_hours="", services="pickup", **{"hours:pickup": "Mo-Su 00:00-24:00"}),
        row(
            2,
            opening_hours="",
            services="pickup;repair",
            **{"hours:pickup": "Mo-Su 00:00-24:00", "hours:repair": "Tu-Sa 11:00-19:00"},
        ),
    ]
    report = ingest_file(scratch_db.engine, write_csv(tmp_path / "s.csv", rows), source="vendor", partial=True)
    assert report.published
    assert [(r.row, r.column) for r in report.rejected] == [(3, "opening_hours")]
    assert any(w.column == "opening_hours" and "services'" in w.message for w in report.warnings)
    with scratch_db.engine.connect() as conn:
        hours = dict(conn.execute(text("SELECT service, canonical FROM location_hours")).all())
    assert hours == {"": "Mo-Su 00:00-24:00", "pickup": "Mo-Su 00:00-24:00"}


# -- ops' exceptions across publishes ---------------------------------------------------------------------------


def _repair_open(engine: Engine, settings: Settings, at: datetime) -> dict[str, bool]:
    """Whether p1's repair desk is open at `at` by every path: the search's materialised intervals and its direct
    evaluation, the rows in open_intervals themselves, and the place's detail."""
    query = NearestQuery(lat=48.801, lon=2.301, at=at, services=("repair",), limit=5)
    fast = nearest(engine, query)
    assert fast.path == "materialised"
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """
                SELECT count(*) FROM open_intervals AS o JOIN locations AS l ON l.id = o.location_id
                 WHERE o.location_id = 'p1' AND o.during @> CAST(:at AS timestamptz)
                   AND o.service = CASE WHEN 'repair' = ANY(l.hours_services) THEN 'repair' ELSE '' END
                """
            ),
            {"at": at},
        ).scalar_one()
    week = location_answer(engine, settings, "p1", at)["week"]["repair"]
    return {
        "materialised": "p1" in [p.id for p in fast.places],
        "direct": "p1" in [p.id for p in nearest(engine, query, force_direct=True).places],
        "open_intervals": rows > 0,
        "detail": any(
            i["state"] == "open" and datetime.fromisoformat(i["from"]) <= at < datetime.fromisoformat(i["to"])
            for i in week
        ),
    }


def _hours(engine: Engine) -> tuple[dict[str, str], list[str]]:
    with engine.connect() as conn:
        hours = dict(conn.execute(text("SELECT service, canonical FROM location_hours WHERE location_id = 'p1'")).all())
        own = conn.execute(text("SELECT hours_services FROM locations WHERE id = 'p1'")).scalar_one()
    return hours, list(own)


def test_a_service_losing_its_own_hours_keeps_ops_exceptions(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    """A republish where the repair desk's own hours vanished (it follows the place's hours) dropped its hours row:
    ops' closure of the desk stayed listed but applied nowhere, and the desk showed open on the days it was closed."""
    day = datetime.now(PARIS).date() + timedelta(days=2)
    while day.weekday() >= 5:  # a weekday: open by both the place's hours and the desk's own
        day += timedelta(days=1)
    at = datetime.combine(day, dt_time(15, 0), tzinfo=PARIS)
    engine, settings = scratch_db.engine, scratch_db.settings
    own = write_csv(tmp_path / "v1.csv", [row(1, services="sales;repair", **{"hours:repair": "Mo-Fr 14:00-18:00"})])
    assert ingest_file(engine, own, source="vendor").published
    closure = add(engine, "p1", day, day, service="repair", comment="technicien absent")
    assert not any(_repair_open(engine, settings, at).values())

    follows = write_csv(tmp_path / "v2.csv", [row(1, services="sales;repair")])
    preview = ingest_file(engine, follows, source="vendor", dry_run=True)
    assert [(w.row, w.column) for w in preview.warnings] == [(2, "hours:repair")]
    assert _hours(engine) == ({"": "Mo-Sa 10:00-19:00", "repair": "Mo-Fr 14:00-18:00"}, ["repair"])
    report = ingest_file(engine, follows, source="vendor")
    assert report.published and report.changed == ["p1"]
    assert _repair_open(engine, settings, at) == dict.fromkeys(("materialised", "direct", "open_intervals", "detail"),
                                                               False)  # fmt: skip
    assert p1_open(engine, at)  # the shop itself stays open
    kept = [w for w in report.warnings if w.column == "hours:repair"]
    assert [(w.row, w.value) for w in kept] == [(2, None)]
    assert "p1" in kept[0].message and "'repair'" in kept[0].message and day.isoformat() in kept[0].message
    assert {"row": 2, "column": "hours:repair", "value": None, "message": kept[0].message} in (
        report.as_dict()["warnings"]
    )
    # The place's hours, as its own.
    assert _hours(engine) == ({"": "Mo-Sa 10:00-19:00", "repair": "Mo-Sa 10:00-19:00"}, ["repair"])

    again = ingest_file(engine, follows, source="vendor")
    assert (len(again.added), len(again.changed), len(again.removed), again.unchanged) == (0, 0, 0, 1)
    assert not [w for w in again.warnings if w.column == "hours:repair"]
    assert _hours(engine) == ({"": "Mo-Sa 10:00-19:00", "repair": "Mo-Sa 10:00-19:00"}, ["repair"])
    assert not any(_repair_open(engine, settings, at).values())

    # The feed gives the desk hours again: they are its own, and ops' closure still holds on them.
    back = write_csv(tmp_path / "v3.csv", [row(1, services="sales;repair", **{"hours:repair": "Mo-Fr 13:00-17:00"})])
    report = ingest_file(engine, back, source="vendor")
    assert report.changed == ["p1"] and not [w for w in report.warnings if w.column == "hours:repair"]
    assert _hours(engine) == ({"": "Mo-Sa 10:00-19:00", "repair": "Mo-Fr 13:00-17:00"}, ["repair"])
    assert not any(_repair_open(engine, settings, at).values())
    remove(engine, closure["id"])  # the feed's own hours stay
    assert _hours(engine) == ({"": "Mo-Sa 10:00-19:00", "repair": "Mo-Fr 13:00-17:00"}, ["repair"])
    assert all(_repair_open(engine, settings, at).values())


def p1_open(engine: Engine, at: datetime) -> bool:
    return "p1" in [p.id for p in nearest(engine, NearestQuery(lat=48.801, lon=2.301, at=at, limit=5)).places]


def test_a_service_no_longer_offered_warns_of_its_exceptions(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    """No answer shows a service the place no longer offers, so its hours are not kept; ops hear that their
    exceptions for it apply to nothing. Exceptions over before the publish's day are not mentioned."""
    engine = scratch_db.engine
    day = datetime.now(PARIS).date() + timedelta(days=3)
    own = write_csv(tmp_path / "v1.csv", [row(1, services="sales;repair", **{"hours:repair": "Mo-Fr 14:00-18:00"})])
    assert ingest_file(engine, own, source="vendor").published
    add(engine, "p1", day, day + timedelta(days=2), service="repair")
    add(engine, "p1", day - timedelta(days=60), day - timedelta(days=59), service="repair")  # long over
    report = ingest_file(engine, write_csv(tmp_path / "v2.csv", [row(1, services="sales")]), source="vendor")
    assert report.changed == ["p1"]
    assert [(w.row, w.column, w.value) for w in report.warnings] == [(2, "services", "sales")]
    span = f"{day.isoformat()}..{(day + timedelta(days=2)).isoformat()}"
    assert "p1" in report.warnings[0].message and "'repair'" in report.warnings[0].message
    assert f"({span})" in report.warnings[0].message
    assert _hours(engine) == ({"": "Mo-Sa 10:00-19:00"}, [])


def test_ids_that_differ_only_in_case_are_two_places_with_a_warning(
    scratch_db: ScratchDatabase, tmp_path: Path
) -> None:
    ids = ["S1", "s1", "p3", "t4", "T4", "Ab", "aB", "Cc"]
    path = write_csv(tmp_path / "f.csv", [row(n, id=place) for n, place in enumerate(ids, start=1)])
    report = ingest_file(scratch_db.engine, path, source="vendor", dry_run=True)
    assert len(report.added) == len(ids) and not report.rejected
    why = "two places whose ids differ only in case (a typo?)"
    assert [(w.row, w.value, w.message) for w in report.warnings if w.column == "id"] == [
        (3, "s1", f"row 2's id is 'S1': {why}"), (6, "T4", f"row 5's id is 't4': {why}"),
        (8, "aB", f"row 7's id is 'Ab': {why}"),
    ]  # fmt: skip
