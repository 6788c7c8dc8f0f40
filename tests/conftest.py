"""Test set-up: a real PostGIS (the embedded cluster, or LOCATOR_DATABASE_URL's server), a throwaway database
per test session with the schema, the demo data and the gazetteer, and a real uvicorn on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from locator import db
from locator.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
DEMO_CSV = ROOT / "data" / "locations.csv"


POSTCODES = SHARED_DATA / "geonames-postcodes"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `postcodes` geocode the demo's postcodes (75008, 101000...) through the gazetteer, which
    the session database fills from ../shared/data: without it, they are skipped, with the reason."""
    if (POSTCODES / "zipcodes.fr.csv").exists():
        return
    skip = pytest.mark.skip(reason=f"{POSTCODES} is absent: the gazetteer has no postcodes to geocode")
    for item in items:
        if "postcodes" in item.keywords:
            item.add_marker(skip)


def shared(*parts: str) -> Path:
    """A path in ../shared/data, or skip the test with the reason."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared data sets sit beside the checkout)")
    return path


@pytest.fixture(scope="session")
def base_settings() -> Settings:
    return Settings()


def _server_url(settings: Settings, database: str) -> str:
    url = make_url(settings.sqlalchemy_url()).set(database=database)
    return url.render_as_string(hide_password=False)


@dataclass
class ScratchDatabase:
    name: str
    url: str
    settings: Settings
    engine: Engine


def create_test_database(base: Settings, suffix: str) -> ScratchDatabase:
    name = f"locator_test_{os.getpid()}_{suffix}"
    admin = create_engine(_server_url(base, "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    url = _server_url(base, name)
    settings = base.model_copy(update={"database_url": url})
    engine = db.make_engine(settings)
    db.init_schema(engine)
    return ScratchDatabase(name, url, settings, engine)


def drop_test_database(base: Settings, database: ScratchDatabase) -> None:
    database.engine.dispose()
    admin = create_engine(_server_url(base, "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(scope="session")
def database(base_settings: Settings) -> Iterator[ScratchDatabase]:
    """The session's database: schema, gazetteer (FR, RU, MC) and the demo locations."""
    db.up(base_settings)
    test_db = create_test_database(base_settings, "main")
    from ingest.postcodes import load_file
    from ingest.publish import ingest_file

    for country in ("fr", "ru", "mc"):
        path = POSTCODES / f"zipcodes.{country}.csv"
        if path.exists():
            load_file(test_db.engine, path)
    report = ingest_file(test_db.engine, DEMO_CSV, source="demo")
    assert report.published, report.as_dict()
    from locator.support import load_channels

    load_channels(test_db.engine, ROOT / "data" / "support.csv")
    yield test_db
    drop_test_database(base_settings, test_db)


@pytest.fixture(scope="session")
def engine(database: ScratchDatabase) -> Engine:
    return database.engine


@pytest.fixture()
def scratch_db(base_settings: Settings, request: pytest.FixtureRequest) -> Iterator[ScratchDatabase]:
    """An empty database (schema only) for a test that loads its own data."""
    suffix = "".join(c for c in request.node.name.lower() if c.isalnum())[:30]
    db.up(base_settings)
    test_db = create_test_database(base_settings, suffix)
    yield test_db
    drop_test_database(base_settings, test_db)


@pytest.fixture(scope="module")
def module_db(base_settings: Settings, request: pytest.FixtureRequest) -> Iterator[ScratchDatabase]:
    """An empty database (schema only) shared by one test module."""
    suffix = "".join(c for c in request.module.__name__.rsplit(".", 1)[-1].lower() if c.isalnum())[:30]
    db.up(base_settings)
    test_db = create_test_database(base_settings, suffix)
    yield test_db
    drop_test_database(base_settings, test_db)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


def start_server(env_overrides: dict[str, str], log: Path, wait_path: str = "/docs") -> Server:
    port = free_port()
    env = {**os.environ, **env_overrides}
    handle = log.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "locator.api:app", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(url + wait_path, timeout=1):
                return Server(url, process, log)
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"uvicorn did not answer: {log.read_text(errors='replace')[-2000:]}")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(scope="session")
def server(database: ScratchDatabase, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real uvicorn on loopback serving the session's database."""
    log = tmp_path_factory.mktemp("server") / "uvicorn.log"
    running = start_server(
        # Limits off: the tests call it far faster than a client would, and try wrong admin tokens on purpose.
        {"LOCATOR_DATABASE_URL": database.url, "LOCATOR_ADMIN_TOKEN": "test-admin-token", "LOCATOR_RATE_LIMIT": "0",
         "LOCATOR_ADMIN_FAILED_LOGINS": "0"},
        log,
    )
    yield running
    stop_server(running)
