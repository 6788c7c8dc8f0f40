"""Throwaway PostgreSQL clusters for tests that must stop, freeze or replicate a server: never the shared one.

Each lives in a fresh directory under /tmp owned by the server's OS user (`postgres` when we are root:
PostgreSQL refuses to run as root) and listens on a free loopback port.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text

from locator.db import find_pg_bin
from tests.conftest import free_port

RUN_AS = "postgres" if os.geteuid() == 0 else None


def pg(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run a server binary (initdb, pg_ctl, pg_basebackup) as the cluster's OS user."""
    command = [str(find_pg_bin() / args[0]), *args[1:]]
    if RUN_AS:
        command = ["runuser", "-u", RUN_AS, "--", *command]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise RuntimeError(f"{args[0]} failed ({result.returncode}): {result.stderr.strip()}")
    return result


def _owned_dir(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    if RUN_AS:
        shutil.chown(path, RUN_AS, RUN_AS)
    return path


@dataclass
class Cluster:
    root: Path
    port: int

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "postgres.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    @classmethod
    def create(cls, prefix: str = "locator-pg-") -> Cluster:
        cluster = cls(_owned_dir(prefix), free_port())
        pg("initdb", "-D", str(cluster.data_dir), "-U", "postgres", "--auth=trust", "-E", "UTF8",
           "--locale=C.UTF-8")  # fmt: skip
        cluster.configure()
        return cluster

    def configure(self) -> None:
        # Small and fast: a test cluster, not a durable one. initdb's pg_hba already trusts replication
        # from 127.0.0.1, and wal_level=replica is the default.
        settings = (
            f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = '{self.root}'\n"
            "fsync = off\nshared_buffers = '32MB'\nmax_connections = 50\nmax_wal_senders = 4\n"
        )
        with (self.data_dir / "postgresql.auto.conf").open("a") as conf:
            conf.write(settings)

    def start(self) -> None:
        pg("pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data_dir), "-l", str(self.log))

    def stop(self, mode: str = "fast") -> None:
        pg("pg_ctl", "stop", "-w", "-m", mode, "-D", str(self.data_dir), check=False)

    def replica(self) -> Cluster:
        """A streaming replica of this (running) cluster: pg_basebackup -R, its own port, started."""
        replica = Cluster(_owned_dir("locator-replica-"), free_port())
        pg("pg_basebackup", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-D",
           str(replica.data_dir), "-R", "-X", "stream", "-c", "fast")  # fmt: skip
        replica.configure()  # later lines win: the replica's own port and socket directory
        replica.start()
        return replica

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def wait_ready(self, timeout: float = 30) -> None:
        engine = create_engine(self.url().replace("postgresql://", "postgresql+psycopg://"))
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    with engine.connect() as conn:
                        conn.execute(text("SELECT 1"))
                        return
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
        finally:
            engine.dispose()
