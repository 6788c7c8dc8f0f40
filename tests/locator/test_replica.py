"""LOCATOR_DATABASE_READ_URL against a real streaming replica (pg_basebackup -R from a throwaway primary).

What a reader sees right after a publish: admin endpoints read and write the primary (read-your-writes); the
public API reads the replica and is eventually consistent: it sees a publish once the replica has replayed it,
normally within milliseconds. The test pauses replay to make the stale window observable, then checks the
replica catches up within a bounded wait once replay resumes.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from locator import db
from locator.settings import Settings
from tests.conftest import DEMO_CSV, SHARED_DATA, Server, start_server, stop_server
from tests.locator.pgcluster import Cluster

pytestmark = pytest.mark.slow

TOKEN = "replica-test-token"
CATCH_UP_BOUND_S = 30.0
NEW_PLACE = (
    "id,name,kind,street,postcode,city,region,country,lat,lon,timezone,opening_hours,products,services\n"
    "rep-new-1,Replica Test Store,store,1 rue de Rivoli,75001,Paris,FR-IDF,FR,48.8606,2.3376,Europe/Paris,"
    "Mo-Su 00:00-24:00,iphone,sales\n"
)


def request(url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    req = urllib.request.Request(url, data=data, headers=headers or {}, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _engine(url: str) -> Engine:
    return db.make_engine(Settings(database_url=url))


@pytest.fixture(scope="module")
def clusters() -> Iterator[tuple[Cluster, Cluster]]:
    primary = Cluster.create("locator-primary-")
    primary.start()
    replica: Cluster | None = None
    try:
        settings = Settings(database_url=primary.url("locator"))
        db.ensure_database(settings)
        engine = _engine(primary.url("locator"))
        db.init_schema(engine)
        from ingest.postcodes import load_file
        from ingest.publish import ingest_file

        postcodes = SHARED_DATA / "geonames-postcodes" / "zipcodes.fr.csv"
        if postcodes.exists():
            load_file(engine, postcodes)
        assert ingest_file(engine, DEMO_CSV, source="demo").published
        engine.dispose()
        replica = primary.replica()
        replica.wait_ready()
        yield primary, replica
    finally:
        if replica is not None:
            replica.destroy()
        primary.destroy()


@pytest.fixture(scope="module")
def replica_server(clusters: tuple[Cluster, Cluster], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    primary, replica = clusters
    log = tmp_path_factory.mktemp("replica") / "uvicorn.log"
    running = start_server(
        {
            "LOCATOR_DATABASE_URL": primary.url("locator"),
            "LOCATOR_DATABASE_READ_URL": replica.url("locator"),
            "LOCATOR_ADMIN_TOKEN": TOKEN,
            "LOCATOR_RATE_LIMIT": "0",
        },
        log,
    )
    yield running
    stop_server(running)


def wait_until_replayed(primary: Engine, replica: Engine) -> float:
    """Seconds until the replica has replayed everything the primary has written so far."""
    with primary.connect() as conn:
        target = conn.execute(text("SELECT pg_current_wal_lsn()")).scalar_one()
    started = time.monotonic()
    while True:
        with replica.connect() as conn:
            caught_up = conn.execute(
                text("SELECT pg_last_wal_replay_lsn() >= CAST(:lsn AS pg_lsn)"), {"lsn": target}
            ).scalar_one()
        if caught_up:
            return time.monotonic() - started
        assert time.monotonic() - started < CATCH_UP_BOUND_S, "the replica did not catch up"
        time.sleep(0.05)


def test_public_reads_go_to_the_replica(clusters: tuple[Cluster, Cluster], replica_server: Server) -> None:
    _, replica = clusters
    engine = _engine(replica.url("locator"))
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT pg_is_in_recovery()")).scalar_one() is True
    finally:
        engine.dispose()
    status, body = request(replica_server.url + "/v1/health")
    assert status == 200 and body["locations"] > 0, body
    status, body = request(replica_server.url + "/v1/locations/nearest?lat=48.8716&lon=2.3336&open=any&limit=3")
    assert status == 200 and len(body["results"]) == 3, body
    if (SHARED_DATA / "geonames-postcodes" / "zipcodes.fr.csv").exists():
        # Geocoding from a read-only server: nothing on the public path may need to write.
        status, body = request(replica_server.url + "/v1/locations/nearest?q=75008&country=FR&open=any")
        assert status == 200 and body["results"], body


def test_what_a_reader_sees_right_after_a_publish(
    clusters: tuple[Cluster, Cluster], replica_server: Server, tmp_path: Path
) -> None:
    primary, replica = clusters
    primary_engine, replica_engine = _engine(primary.url("locator")), _engine(replica.url("locator"))
    superuser = _engine(replica.url("postgres"))
    place = replica_server.url + "/v1/locations/rep-new-1"
    admin = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "text/csv"}
    try:
        assert request(place)[0] == 404
        before = request(replica_server.url + "/v1/health")[1]["locations"]
        # Freeze replay so that "right after the publish" lasts long enough to look at.
        with superuser.connect() as conn:
            conn.execute(text("SELECT pg_wal_replay_pause()"))
        status, report = request(replica_server.url + "/v1/admin/ingest?source=extra", data=NEW_PLACE.encode(),
                                 headers=admin)  # fmt: skip
        assert status == 200 and report["published"] and report["added"] == 1, report

        # Admin reads the primary: its own write is there at once (read-your-writes).
        status, runs = request(replica_server.url + "/v1/admin/ingest-runs?source=extra", headers=admin)
        assert status == 200 and runs["runs"][0]["added"] == 1, runs
        # The public API reads the replica: it still answers from before the publish (stale, not an error).
        status, body = request(place)
        assert status == 404, body
        status, body = request(replica_server.url + "/v1/health")
        assert status == 200 and body["locations"] == before, body

        with superuser.connect() as conn:
            conn.execute(text("SELECT pg_wal_replay_resume()"))
        waited = wait_until_replayed(primary_engine, replica_engine)
        assert waited < CATCH_UP_BOUND_S
        status, body = request(place)
        assert status == 200 and body["name"] == "Replica Test Store", body
        status, body = request(replica_server.url + "/v1/locations/nearest?lat=48.8606&lon=2.3376&limit=1")
        assert status == 200 and body["results"][0]["id"] == "rep-new-1", body
    finally:
        with superuser.connect() as conn:
            conn.execute(text("SELECT pg_wal_replay_resume()"))
        for engine in (primary_engine, replica_engine, superuser):
            engine.dispose()


def test_replication_lag_without_pausing_is_small_and_bounded(
    clusters: tuple[Cluster, Cluster], replica_server: Server
) -> None:
    """Normal operation: publish, then poll the public API until the place shows (bounded, not timed)."""
    csv = NEW_PLACE.replace("rep-new-1", "rep-new-2").replace("Replica Test Store", "Second Store")
    admin = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "text/csv"}
    status, report = request(replica_server.url + "/v1/admin/ingest?source=extra2", data=csv.encode(),
                             headers=admin)  # fmt: skip
    assert status == 200 and report["published"], report
    deadline = time.monotonic() + CATCH_UP_BOUND_S
    while request(replica_server.url + "/v1/locations/rep-new-2")[0] != 200:
        assert time.monotonic() < deadline, "the public API never saw the publish"
        time.sleep(0.05)
