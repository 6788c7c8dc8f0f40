"""The GeoNames postal gazetteer loader: both file layouts, a zip, the download, errors."""

from __future__ import annotations

import http.server
import io
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from ingest.postcodes import PostcodeFileError, download, load_file, postcode_key
from tests.conftest import ScratchDatabase, shared

TSV = (
    "FR\t75008\tParis 08\tÎle-de-France\t11\tParis\t75\tParis\t751\t48.8763\t2.3183\t5\n"
    "FR\t67302 CEDEX\tSchiltigheim\tGrand Est\t44\tBas-Rhin\t67\t\t\t48.6075\t7.7493\t\n"
)


def test_tab_separated_original(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    path = tmp_path / "FR.txt"
    path.write_text(TSV, encoding="utf-8")
    assert load_file(scratch_db.engine, path) == {"FR": 2}
    with scratch_db.engine.connect() as conn:
        rows = conn.execute(text("SELECT postcode, postcode_key, accuracy FROM postcodes ORDER BY 1")).all()
    assert [tuple(r) for r in rows] == [("67302 CEDEX", "67302", None), ("75008", "75008", 5)]


def test_reloading_a_country_replaces_it(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    """A reload of far fewer postcodes (a truncated file: France's 51,611 became 3, and its postcode searches
    404s) is refused unless removals are allowed."""
    path = tmp_path / "FR.txt"
    path.write_text(TSV, encoding="utf-8")
    load_file(scratch_db.engine, path)
    path.write_text(TSV.splitlines(keepends=True)[0], encoding="utf-8")
    with pytest.raises(PostcodeFileError, match="1 postcodes of FR against 2 loaded, more than 20% fewer"):
        load_file(scratch_db.engine, path)
    with scratch_db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM postcodes")).scalar_one() == 2
    assert load_file(scratch_db.engine, path, allow_removals=True) == {"FR": 1}
    with scratch_db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM postcodes")).scalar_one() == 1
    path.write_text(TSV, encoding="utf-8")
    assert load_file(scratch_db.engine, path) == {"FR": 2}  # more is no removal


def test_a_damaged_zip_is_a_clear_error(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    """A corrupted download was a zlib traceback."""
    path = tmp_path / "LI.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("LI.txt", "LI\t9490\tVaduz\tLiechtenstein\t\tVaduz\t11\t\t\t47.1415\t9.5215\t4\n" * 50)
    data = bytearray(path.read_bytes())
    start = data.index(b"LI.txt") + len(b"LI.txt")  # the member's compressed bytes follow its local header
    data[start + 5 : start + 25] = b"\xff" * 20
    path.write_bytes(bytes(data))
    with pytest.raises(PostcodeFileError, match=r"LI\.zip: a damaged zip file"):
        load_file(scratch_db.engine, path)
    path.write_bytes(bytes(data[: len(data) // 2]))  # cut short: read as text, it was "not UTF-8 text"
    with pytest.raises(PostcodeFileError, match=r"LI\.zip: a damaged zip file \(truncated\?\)"):
        load_file(scratch_db.engine, path)


def test_csv_variant_from_shared_data(scratch_db: ScratchDatabase) -> None:
    counts = load_file(scratch_db.engine, shared("geonames-postcodes", "zipcodes.mc.csv"))
    assert counts == {"MC": 29}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("FR\t75008\tParis\n", "line 1: expected 11 or 12 columns"),
        ("FR\t75008\tParis\t\t\t\t\t\t\tnorth\t2.3\t\n", "line 1: latitude/longitude are not numbers"),
        ("FR\t75008\tParis\t\t\t\t\t\t\t95\t2.3\t\n", "line 1: coordinates out of range"),
        ("", "no rows"),
        ("FR\t\tParis\t\t\t\t\t\t\t48.8\t2.3\t\n", "line 1: postcode is empty"),
        (
            "FR\t75008\tParis\t\t\t\t\t\t\t48.8\t2.3\t\nFR\t75009\t \t\t\t\t\t\t\t48.8\t2.3\t\n",
            "line 2: place name is empty",
        ),
    ],
)
def test_bad_files_name_the_line(scratch_db: ScratchDatabase, tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(PostcodeFileError, match=message):
        load_file(scratch_db.engine, path)


def test_a_bad_file_loads_nothing(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    path = tmp_path / "FR.txt"
    path.write_text(TSV, encoding="utf-8")
    load_file(scratch_db.engine, path)
    path.write_text(TSV + "FR\t\tNowhere\t\t\t\t\t\t\t48.8\t2.3\t\n", encoding="utf-8")
    with pytest.raises(PostcodeFileError, match="line 3"):
        load_file(scratch_db.engine, path)
    with scratch_db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM postcodes")).scalar_one() == 2


def test_csv_with_a_byte_order_mark(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    # Spreadsheets save "UTF-8 CSV" with a BOM: the header was then not recognised and line 1 rejected.
    source = shared("geonames-postcodes", "zipcodes.mc.csv").read_text(encoding="utf-8")
    path = tmp_path / "mc.csv"
    path.write_text("\ufeff" + source, encoding="utf-8")
    assert load_file(scratch_db.engine, path) == {"MC": 29}


def test_non_utf8_file(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes(TSV.encode("latin-1"))
    with pytest.raises(PostcodeFileError, match="not UTF-8"):
        load_file(scratch_db.engine, path)


@pytest.fixture()
def zip_server(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("readme.txt", "GeoNames readme")
        z.writestr("LI.txt", "LI\t9490\tVaduz\tLiechtenstein\t\tVaduz\t11\t\t\t47.1415\t9.5215\t4\n")
    payload = archive.getvalue()
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            if self.path != "/export/zip/LI.zip":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/zip")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/export/zip/{{country}}.zip", requests
    httpd.shutdown()


def test_download_from_a_local_geonames(
    scratch_db: ScratchDatabase, tmp_path: Path, zip_server: tuple[str, list[str]]
) -> None:
    url, requests = zip_server
    path = download("li", tmp_path / "LI.zip", url)
    assert requests == ["/export/zip/LI.zip"]
    assert load_file(scratch_db.engine, path) == {"LI": 1}
    with pytest.raises(OSError):
        download("xx", tmp_path / "XX.zip", url)


def test_a_download_holding_another_country_loads_nothing(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    # A mirror answering MC.zip with Liechtenstein's file replaced LI's postcodes and left Monaco's empty.
    path = tmp_path / "MC.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("LI.txt", "LI\t9490\tVaduz\tLiechtenstein\t\tVaduz\t11\t\t\t47.1415\t9.5215\t4\n")
    with pytest.raises(PostcodeFileError, match="holds the postcodes of LI, not of MC: nothing loaded"):
        load_file(scratch_db.engine, path, "mc")
    with scratch_db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM postcodes")).scalar_one() == 0
    assert load_file(scratch_db.engine, path, "LI") == {"LI": 1}


def test_postcode_key() -> None:
    assert postcode_key("67302 CEDEX") == "67302"
    assert postcode_key("sw1a 1aa") == "SW1A1AA"
    assert postcode_key("BN91") == "BN91"
