"""Load a GeoNames postal gazetteer: the tab-separated original (`FR.txt`, or its zip) or the CSV variant.

A country's rows are replaced in one transaction, so a search never sees a country half-loaded.
"""

from __future__ import annotations

import csv
import io
import itertools
import urllib.request
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from locator.db import REMOVAL_GUARD, copy_rows, unbounded

# The GeoNames tab-separated layout (readme.txt of download.geonames.org/export/zip).
GEONAMES_COLUMNS = (
    "country_code", "zipcode", "place", "state", "state_code", "province", "province_code",
    "community", "community_code", "latitude", "longitude", "accuracy",
)  # fmt: skip
GEONAMES_DOWNLOAD = "https://download.geonames.org/export/zip/{country}.zip"


class PostcodeFileError(ValueError):
    """The file is not a GeoNames postal file; the message names the line and what is wrong."""


@dataclass(frozen=True)
class PostcodeRow:
    country: str
    postcode: str
    place_name: str
    admin1: str | None
    admin1_code: str | None
    admin2: str | None
    lat: float
    lon: float
    accuracy: int | None


def postcode_key(postcode: str) -> str:
    """What queries match: upper case without spaces, CEDEX suffixes kept apart (`67302 CEDEX` -> 67302)."""
    key = postcode.upper().replace(" ", "")
    return key.removesuffix("CEDEX") if key[:-5].isdigit() else key


def read_rows(text_stream: io.TextIOBase | io.TextIOWrapper, name: str) -> Iterator[PostcodeRow]:
    first = text_stream.readline()
    if not first:
        return
    if first.startswith("country_code,"):
        reader: Iterator[list[str]] = csv.reader(text_stream)
        lines = ((n, [*r, ""]) for n, r in enumerate(reader, start=2))
    else:
        # The first line read back in front: parsed with the rest, inside the one `csv.Error` guard below.
        reader = csv.reader(itertools.chain([first], text_stream), delimiter="\t", quoting=csv.QUOTE_NONE)
        lines = ((n, r) for n, r in enumerate(reader, start=1))
    try:
        for line_no, fields in lines:
            if len(fields) < 11:
                raise PostcodeFileError(f"{name}, line {line_no}: expected 11 or 12 columns, found {len(fields)}")
            record = dict(zip(GEONAMES_COLUMNS, fields, strict=False))
            try:
                lat, lon = float(record["latitude"]), float(record["longitude"])
            except ValueError:
                raise PostcodeFileError(
                    f"{name}, line {line_no}: latitude/longitude are not numbers "
                    f"({record['latitude']!r}, {record['longitude']!r})"
                ) from None
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise PostcodeFileError(f"{name}, line {line_no}: coordinates out of range ({lat}, {lon})")
            country = record["country_code"].strip().upper()
            if len(country) != 2:
                raise PostcodeFileError(f"{name}, line {line_no}: country code {country!r} is not alpha-2")
            # A row without a code or a place cannot be found and would label points with nothing.
            for column, label in (("zipcode", "postcode"), ("place", "place name")):
                if not record[column].strip():
                    raise PostcodeFileError(f"{name}, line {line_no}: {label} is empty (column {column})")
            accuracy = record.get("accuracy", "").strip()
            yield PostcodeRow(
                country=country,
                postcode=record["zipcode"].strip(),
                place_name=record["place"].strip(),
                admin1=record["state"].strip() or None,
                admin1_code=record["state_code"].strip() or None,
                admin2=record["province"].strip() or None,
                lat=lat,
                lon=lon,
                accuracy=int(accuracy) if accuracy.isdigit() else None,
            )
    except csv.Error as exc:  # a file of another kind (one line of 130 kB: the reader's field limit)
        raise PostcodeFileError(f"{name}: not a GeoNames postal file ({exc})") from None


def open_text(path: Path) -> tuple[io.TextIOWrapper, str]:
    """A text stream over a .txt/.csv file or the country member of a GeoNames zip."""
    with path.open("rb") as head:
        magic = head.read(2)
    if magic == b"PK" and not zipfile.is_zipfile(path):  # a zip cut short: its directory, at the end, is gone
        raise PostcodeFileError(f"{path.name}: a damaged zip file (truncated?)")
    if zipfile.is_zipfile(path):
        archive = zipfile.ZipFile(path)
        members = [m for m in archive.namelist() if m.endswith((".txt", ".csv")) and m != "readme.txt"]
        if not members:
            raise PostcodeFileError(f"{path.name}: the zip holds no postal file")
        return io.TextIOWrapper(archive.open(members[0]), encoding="utf-8-sig", newline=""), members[0]
    # utf-8-sig: spreadsheets save "UTF-8 CSV" with a byte order mark, which hid the CSV header.
    return path.open(encoding="utf-8-sig", newline=""), path.name


def load_file(
    engine: Engine, path: Path, country: str | None = None, *, allow_removals: bool = False
) -> dict[str, int]:
    """Replace the gazetteer rows of every country in the file; returns rows loaded per country. `country`:
    the one country the file must hold (a download for it): another's file loads nothing. A file holding more
    than REMOVAL_GUARD fewer postcodes for a country than are loaded (a truncated download, a sample) loads
    nothing unless `allow_removals`."""
    try:
        stream, name = open_text(path)
        with stream:
            rows = list(read_rows(stream, name))
    except UnicodeDecodeError as exc:
        raise PostcodeFileError(f"{path.name}: not UTF-8 text (byte {exc.start})") from None
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:  # a truncated or corrupted download
        raise PostcodeFileError(f"{path.name}: a damaged zip file ({exc})") from None
    if not rows:
        raise PostcodeFileError(f"{name}: no rows")
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.country] = counts.get(row.country, 0) + 1
    if country is not None and set(counts) != {country.upper()}:
        # A mirror serving LI.zip as MC.zip replaced Liechtenstein's postcodes and left Monaco's empty.
        held = ", ".join(sorted(counts))
        raise PostcodeFileError(f"{name}: holds the postcodes of {held}, not of {country.upper()}: nothing loaded")
    with engine.begin() as conn:
        unbounded(conn)
        if not allow_removals:
            _refuse_shrinking(conn, name, counts)
        conn.execute(text("DELETE FROM postcodes WHERE country = ANY(:c)"), {"c": list(counts)})
        copy_rows(
            conn,
            "COPY postcodes (country, postcode, postcode_key, place_name, admin1, admin1_code, admin2,"
            " lat, lon, accuracy) FROM STDIN",
            (
                (r.country, r.postcode, postcode_key(r.postcode), r.place_name, r.admin1, r.admin1_code, r.admin2,
                 r.lat, r.lon, r.accuracy)
                for r in rows
            ),
        )  # fmt: skip
    # The place index is rebuilt now rather than on the first customer question after the load.
    from locator.geocoders.gazetteer import refresh_places

    refresh_places(engine)
    return counts


def _refuse_shrinking(conn: Connection, name: str, counts: dict[str, int]) -> None:
    statement = text("SELECT country, count(*) FROM postcodes WHERE country = ANY(:c) GROUP BY country")
    held: dict[str, int] = {row[0]: row[1] for row in conn.execute(statement, {"c": list(counts)})}
    for country, loaded in sorted(held.items()):
        if counts[country] < loaded * (1 - REMOVAL_GUARD):
            raise PostcodeFileError(
                f"{name}: {counts[country]:,} postcodes of {country} against {loaded:,} loaded, more than "
                f"{REMOVAL_GUARD:.0%} fewer (a truncated file?): nothing loaded; --allow-removals loads it anyway"
            )


def loaded_countries(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return {row[0] for row in conn.execute(text("SELECT DISTINCT country FROM postcodes"))}


def country_of_file(path: Path) -> str | None:
    """The country of a single-country file, from its first row (None when unreadable)."""
    try:
        stream, name = open_text(path)
        with stream:
            first = next(read_rows(stream, name), None)
    except (PostcodeFileError, OSError, UnicodeDecodeError, zipfile.BadZipFile, zlib.error, EOFError):
        return None
    return first.country if first else None


def download(country: str, target: Path, url_template: str = GEONAMES_DOWNLOAD, timeout: float = 60) -> Path:
    """Fetch a country's GeoNames zip (for real users; tests point url_template at a local server)."""
    url = url_template.format(country=country.upper())
    target.parent.mkdir(parents=True, exist_ok=True)
    with urllib.request.urlopen(url, timeout=timeout) as response:
        target.write_bytes(response.read())
    if not zipfile.is_zipfile(target):
        raise PostcodeFileError(f"{url} did not return a zip file")
    return target
