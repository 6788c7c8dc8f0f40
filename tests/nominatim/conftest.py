"""A real, self-hosted Nominatim for the tests in this folder (marker `nominatim`, `make nominatim`).

Built from ../shared/data/osm-extracts/nominatim-apidb-test-data.pbf (Liechtenstein and Autauga County: the
extract Nominatim's own API tests use) with PyPI's nominatim-db/nominatim-api (in their own venv under
.locator/nominatim, installed by `make nominatim-deps`) and Debian's osm2pgsql, into a database of the test
cluster, and served by `nominatim serve` (uvicorn) on loopback. The import (~80 s on 2 cores) is kept and
reused while the extract and the Nominatim version stay the same; the tests skip, saying why, when the tools
are not installed.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from locator import db
from locator.settings import Settings
from tests.conftest import ROOT, SHARED_DATA, free_port

NOMINATIM_HOME = Path(os.environ.get("LOCATOR_NOMINATIM_HOME", ROOT / ".locator" / "nominatim"))
NOMINATIM_BIN = NOMINATIM_HOME / "venv" / "bin" / "nominatim"
EXTRACT = SHARED_DATA / "osm-extracts" / "nominatim-apidb-test-data.pbf"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "nominatim: needs the self-hosted Nominatim (make nominatim)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.nominatim)


def _missing() -> str | None:
    if not EXTRACT.exists():
        return f"{EXTRACT} is absent"
    if not NOMINATIM_BIN.exists():
        return f"{NOMINATIM_BIN} is absent: run `make nominatim-deps`"
    if shutil.which("osm2pgsql") is None:
        return "osm2pgsql is not installed: run `make nominatim-deps`"
    return None


def _version() -> str:
    out = subprocess.run([str(NOMINATIM_BIN), "--version"], capture_output=True, text=True, check=True).stdout
    return out.strip()


@pytest.fixture(scope="session")
def nominatim_url(base_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a Nominatim serving the test extract."""
    reason = _missing()
    if reason:
        pytest.skip(reason)
    db.up(base_settings)
    digest = hashlib.sha256(EXTRACT.read_bytes() + _version().encode()).hexdigest()[:10]
    database = f"nominatim_{digest}"
    project = NOMINATIM_HOME / f"project-{digest}"
    project.mkdir(parents=True, exist_ok=True)
    url = make_url(base_settings.sqlalchemy_url())
    dsn = f"pgsql:host={url.host};port={url.port or 5432};user={url.username};dbname={database}"
    if url.password:
        dsn += f";password={url.password}"
    (project / ".env").write_text(
        f'NOMINATIM_DATABASE_DSN="{dsn}"\n'
        # The grants Nominatim gives its web user: the test server connects as the importing user.
        f'NOMINATIM_DATABASE_WEBUSER="{url.username}"\n'
    )
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with (project / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one import at a time across concurrent test sessions
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": database}).first()
            if not exists or not (project / "imported").exists():
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
                (project / "imported").unlink(missing_ok=True)
                started = time.monotonic()
                result = subprocess.run(
                    [str(NOMINATIM_BIN), "import", "--osm-file", str(EXTRACT), "--threads", "2",
                     "--project-dir", str(project)],
                    capture_output=True, text=True,
                )  # fmt: skip
                (project / "import.log").write_text(result.stdout + result.stderr)
                if result.returncode != 0:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
                    pytest.fail(f"nominatim import failed:\n{(result.stdout + result.stderr)[-3000:]}")
                (project / "imported").write_text(f"{time.monotonic() - started:.1f} s\n")
    admin.dispose()

    port = free_port()
    log = tmp_path_factory.mktemp("nominatim") / "serve.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [str(NOMINATIM_BIN), "serve", "--server", f"127.0.0.1:{port}", "--engine", "starlette",
             "--project-dir", str(project)],
            stdout=handle, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"nominatim serve exited: {log.read_text(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(base + "/status", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"nominatim serve did not answer: {log.read_text(errors='replace')[-2000:]}")
                time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
