"""Real addresses through the chain and a real Nominatim: the feed's places are placed by it at ingest, the
customer's address is located by it, and the nearest places come back in true distance order."""

from __future__ import annotations

import csv
from collections.abc import Iterator

import pytest
from geopy.distance import geodesic
from sqlalchemy import Engine, text

from locator.geocode import Origin, geocode
from locator.geocoders.chain import Chain, build
from locator.search import NearestQuery, nearest
from locator.settings import Settings
from tests.conftest import SHARED_DATA, ScratchDatabase, free_port

UA = "store-locator-tests/1.0 (nominatim)"

# Real addresses of the extract (Liechtenstein), as a vendor feed would carry them: no coordinates.
PLACES = [
    {"id": "li-baeckerei", "name": "Dorfbäckerei Herrmann", "street": "Gnetsch 29", "postcode": "9496",
     "city": "Balzers"},
    {"id": "li-staedtle", "name": "Shop Städtle", "street": "Städtle 35", "postcode": "9490", "city": "Vaduz"},
    {"id": "li-kirch", "name": "Service Kirchstrasse", "street": "Kirchstrasse 10", "postcode": "9490",
     "city": "Vaduz"},
]  # fmt: skip
# Where Nominatim places them (its own answers for the extract, to a few metres).
EXPECTED = {
    "li-baeckerei": (47.0660892, 9.5036065),
    "li-staedtle": (47.1392374, 9.5227432),
    "li-kirch": (47.1370904, 9.5201358),
}


@pytest.fixture(scope="module")
def chain(nominatim_url: str) -> Chain:
    return build(Settings(geocoders="gazetteer,nominatim", nominatim_url=nominatim_url, user_agent=UA))


@pytest.fixture(scope="module")
def liechtenstein(
    module_db: ScratchDatabase, chain: Chain, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """The LI postcodes and three places ingested without coordinates (geocoded through the chain)."""
    from ingest.geocoding import chain_locator
    from ingest.postcodes import load_file
    from ingest.publish import ingest_file

    gazetteer = SHARED_DATA / "geonames-postcodes" / "zipcodes.li.csv"
    if gazetteer.exists():
        load_file(module_db.engine, gazetteer)
    feed = tmp_path_factory.mktemp("feed") / "li.csv"
    with feed.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, ["id", "name", "kind", "street", "postcode", "city", "country",
                                         "opening_hours", "services"])  # fmt: skip
        writer.writeheader()
        for place in PLACES:
            writer.writerow({**place, "kind": "store", "country": "LI", "opening_hours": "24/7", "services": "sales"})
    report = ingest_file(module_db.engine, feed, source="li", locate=chain_locator(module_db.engine, chain=chain))
    assert report.published and not report.rejected, report.as_dict()
    yield module_db.engine


def locate(engine: Engine, chain: Chain, q: str, country: str | None = "LI") -> Origin:
    with engine.connect() as conn:
        return geocode(conn, q, country, chain=chain)


def test_a_full_address_goes_to_nominatim(liechtenstein: Engine, chain: Chain) -> None:
    origin = locate(liechtenstein, chain, "Gnetsch 29, 9496 Balzers")
    assert (origin.geocoder, origin.source, origin.precision, origin.country) == (
        "nominatim",
        "address",
        "address",
        "LI",
    )
    assert "Gnetsch" in origin.label and "Balzers" in origin.label
    assert geodesic((origin.lat, origin.lon), EXPECTED["li-baeckerei"]).m < 25


def test_a_postcode_stays_in_the_gazetteer(liechtenstein: Engine, chain: Chain) -> None:
    origin = locate(liechtenstein, chain, "9490")
    if (SHARED_DATA / "geonames-postcodes" / "zipcodes.li.csv").exists():
        assert origin.geocoder == "gazetteer" and origin.label == "9490 Vaduz, LI"
    else:
        assert origin.geocoder == "nominatim"


def test_a_street_without_number(liechtenstein: Engine, chain: Chain) -> None:
    origin = locate(liechtenstein, chain, "Landstrasse, Schaan")
    assert (origin.geocoder, origin.precision) == ("nominatim", "street")
    assert geodesic((origin.lat, origin.lon), (47.1571, 9.5096)).km < 2


def test_ingest_placed_the_feed_with_nominatim(liechtenstein: Engine) -> None:
    with liechtenstein.connect() as conn:
        rows = conn.execute(
            text("SELECT id, ST_Y(geog::geometry) AS lat, ST_X(geog::geometry) AS lon, geo_precision FROM locations")
        ).all()
    assert {r.id for r in rows} == set(EXPECTED)
    for row in rows:
        assert row.geo_precision == "address", row
        assert geodesic((row.lat, row.lon), EXPECTED[row.id]).m < 25, row


def test_nearest_places_around_a_real_address(liechtenstein: Engine, chain: Chain) -> None:
    origin = locate(liechtenstein, chain, "Städtle 35, Vaduz")
    assert origin.geocoder == "nominatim"
    result = nearest(liechtenstein, NearestQuery(lat=origin.lat, lon=origin.lon, open="any", radius_km=30))
    ids = [p.id for p in result.places]
    assert ids == ["li-staedtle", "li-kirch", "li-baeckerei"]
    distances = [p.distance_m for p in result.places]
    assert distances[0] is not None and distances[0] < 25
    for place in result.places:
        true = geodesic((origin.lat, origin.lon), (place.lat, place.lon)).m
        assert place.distance_m is not None and abs(place.distance_m - true) < 1


def test_repeated_questions_come_from_the_cache(liechtenstein: Engine, chain: Chain) -> None:
    first = locate(liechtenstein, chain, "Kirchstrasse 10, Vaduz")
    assert first.geocoder == "nominatim"
    # Another process whose Nominatim is unreachable still answers the same question, from the cache.
    offline = build(Settings(geocoders="gazetteer,nominatim", nominatim_url=f"http://127.0.0.1:{free_port()}",
                             user_agent=UA, geocoder_retries=0))  # fmt: skip
    assert locate(liechtenstein, offline, "kirchstrasse 10,  VADUZ") == first
