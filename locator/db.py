"""Database access: the engine, the embedded PostGIS cluster, and schema migrations.

The embedded cluster lives under `Settings.home` and belongs to the project, not the system. PostgreSQL
refuses to run as root, so when the caller is root the server (never Python) runs as the `postgres` OS user
through `runuser`; its data directory must then be reachable by that user, which a checkout under /root is
not: such a cluster goes to /var/lib/locator/<hash of the home path> instead.
"""

from __future__ import annotations

import hashlib
import os
import re
import select
import shutil
import socket
import subprocess
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
import psycopg
from psycopg import pq
from psycopg.rows import namedtuple_row
from psycopg.types.json import set_json_loads
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DisconnectionError

from locator.errors import DatabaseUnavailable
from locator.settings import Settings, get_settings

# Advisory lock keys, one per kind of work, all here: two kinds once shared a key (the window's daily move and
# the gazetteer's rebuild each skipped its turn while the other ran; the drop of past days' tables held up every
# transaction creating a day's table).
MIGRATION_LOCK = 7_214_001  # one `db init` at a time
GAZETTEER_LOCK = 7_214_002  # one rebuild of gazetteer_places at a time (locator.geocoders.gazetteer)
PARTITION_LOCK = 7_214_003  # one transaction at a time creates day tables (locator.open_intervals)
MATERIALISE_LOCK = 7_214_004  # writers of places shared, a full refresh alone (locator.open_intervals)
BATCH_LOCK = 7_214_005  # one batch of exceptions chosen by filters at a time (locator.special_hours)
WINDOW_MOVE_LOCK = 7_214_006  # one mover of the window across API workers and the CLI (locator.open_intervals)
HOUSEKEEPING_LOCK = 7_214_007  # one process dropping the past days' tables (locator.open_intervals)

# A load that replaces what the database holds (a source's places, a country's postcodes, the support lines) may
# hold at most this share fewer rows than it replaces unless asked: a truncated file is refused, not published.
REMOVAL_GUARD = 0.20


class ClusterError(RuntimeError):
    """The embedded cluster cannot be set up or started; the message says what to do."""


def make_engine(settings: Settings, *, read: bool = False, watchdog: bool = False) -> Engine:
    """The engine for `settings`' database (`read`: the read replica's, when there is one). `watchdog`: the
    API's engines: cut statements that outlive the statement timeout from this side too (`Watchdog`; not those
    of a transaction `unbounded` lifted the timeout of), and fail new connections at once for a moment after
    one failed (`ConnectBreaker`)."""
    timeout = settings.statement_timeout_ms
    engine = create_engine(
        settings.sqlalchemy_url(read=read),
        # The API runs at most pool_size requests at once per worker (locator/api/factory.py), so every request
        # thread has a connection kept open. Overflow connections are closed on return: with anyio's default
        # 40 threads and a pool of 5, 64 connections of load opened and closed PostgreSQL connections all the
        # time, and throughput fell to a quarter of that at 16. The overflow is for a second connection a
        # request may take for a moment (a geocoder answer written to the cache) and the refresh timer.
        pool_size=settings.pool_size,
        max_overflow=settings.pool_size,
        # No pre-ping: it costs a round trip on every checkout (one per nearest request). A connection that
        # died in an outage fails its first statement instead; SQLAlchemy then invalidates the whole pool, the
        # request gets a 503, and later checkouts reconnect (tests/locator/test_robustness.py).
        pool_pre_ping=False,
        pool_timeout=settings.connect_timeout_s,
        connect_args={
            **connect_options(settings),
            # Every statement, SQLAlchemy's and `fetch_rows`' alike, through a cursor that the watchdog follows.
            # (SQLAlchemy cursor events would do it too, but any listener puts each connection of the engine on
            # SQLAlchemy's slower path with events: ~0.1 ms of CPU per nearest answer, measured.)
            **({"cursor_factory": _watched_cursor(Watchdog(timeout / 1000 + WATCHDOG_GRACE_S))} if watchdog else {}),
        },
    )
    event.listen(engine, "connect", _identify_database)
    event.listen(engine, "checkout", _drop_if_said_goodbye)
    if watchdog:
        breaker = ConnectBreaker(BREAKER_COOLDOWN_S)

        def connect(dialect: Any, _: Any, cargs: Any, cparams: Any) -> Any:
            return breaker.connect(lambda: dialect.connect(*cargs, **cparams))

        event.listen(engine, "do_connect", connect)
    return engine


def connect_options(settings: Settings) -> dict[str, Any]:
    """psycopg's connection options, for the engines and for the API's asyncio pool (locator.search_async)."""
    timeout = settings.statement_timeout_ms
    return {
        "connect_timeout": settings.connect_timeout_s,
        # Custom plans always: psycopg prepares a statement after five runs, and PostgreSQL may then settle on a
        # generic plan built without the values. For the search that plan is a bitmap scan of everything open
        # plus a sort (2.7 s at 1M places with a service filter, measured): planning each execution (~0.2 ms)
        # is the price of plans made for the instant and the place asked about. The statements with one
        # sensible plan keep theirs inside functions that rule the others out (the origin's label, the KNN
        # open at an instant, filtered or not: migrations 0011 and 0025-0027).
        "options": f"-c statement_timeout={timeout} -c lock_timeout={timeout} -c plan_cache_mode=force_custom_plan",
        "application_name": "locator",
    }


# How long new connections fail at once after one failed: about the time a request takes to reach a thread.
BREAKER_COOLDOWN_S = 1.0


class ConnectBreaker:
    """After a connection attempt fails, further attempts fail at once for `cooldown_s`.

    A worker runs `pool_size` requests at once; with the database gone, each waited out the connect timeout
    (2 s) before the next ones got a thread, so 16 requests at once got their 503s after 2, 4, 6 and 8 s.
    Now only the first ones wait; once the cool-down is over, the next request tries again (and the pool
    reconnects by itself when the database is back)."""

    def __init__(self, cooldown_s: float) -> None:
        self.cooldown_s = cooldown_s
        self._down_until = 0.0

    def connect(self, make: Callable[[], Any]) -> Any:
        if time.monotonic() < self._down_until:
            raise psycopg.OperationalError("the database failed to answer a moment ago")
        try:
            return make()
        except psycopg.OperationalError:
            self._down_until = time.monotonic() + self.cooldown_s
            raise


# How long past the statement timeout the watchdog waits: the server's own cancel, which leaves the
# connection usable, comes first whenever the server can still act.
WATCHDOG_GRACE_S = 0.3


class Watchdog:
    """Cuts the connection of a statement that outlives `limit_s`, from the client side.

    The statement timeout is the server's: a server that is frozen (stopped, swapping, its host gone behind a
    network that drops packets) enforces nothing, and libpq waits for its answer forever, so a request held
    a worker thread for good (measured: no answer after 100 s). One thread per engine looks at the
    statements in flight ten times a second and shuts down the socket of any past its deadline: psycopg then
    fails the statement as a broken connection, which the API answers with a 503 and the pool replaces."""

    def __init__(self, limit_s: float) -> None:
        self.limit_s = limit_s
        self._inflight: dict[int, tuple[float, int]] = {}  # id(connection) -> (deadline, socket fd)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def arm(self, raw: Any) -> None:
        if self._thread is None:
            self._start()
        entry = (time.monotonic() + self.limit_s, raw.pgconn.socket)
        with self._lock:
            self._inflight[id(raw)] = entry

    def disarm(self, raw: Any) -> None:
        with self._lock:
            self._inflight.pop(id(raw), None)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                # The thread holds its watchdog weakly: it ends once the engine (and so the watchdog) is gone.
                self._thread = threading.Thread(
                    target=Watchdog._watch, args=(weakref.ref(self),), name="statement-watchdog", daemon=True
                )
                self._thread.start()

    @staticmethod
    def _watch(ref: weakref.ref[Watchdog]) -> None:
        while True:
            time.sleep(0.1)
            watchdog = ref()
            if watchdog is None:
                return
            now = time.monotonic()
            with watchdog._lock:  # held while cutting: the owner cannot start another statement meanwhile
                for key, (deadline, fd) in list(watchdog._inflight.items()):
                    if now >= deadline:
                        del watchdog._inflight[key]
                        cut_socket(fd)
            del watchdog


def cut_socket(fd: int) -> None:
    try:
        # A duplicate of the descriptor: shutting it down ends the connection for libpq too, and closing the
        # duplicate leaves libpq's own descriptor to libpq.
        with socket.fromfd(fd, socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # closed meanwhile: nothing left to cut


# Connections whose transaction `unbounded` lifted the timeouts of: the watchdog leaves their statements alone
# until that transaction ends (a load or a refresh through the API's write engine may take minutes).
_UNBOUNDED: weakref.WeakSet[Any] = weakref.WeakSet()
# Connections inside `unwatched`: the statements a session runs without a transaction (a concurrent detach).
_UNWATCHED: weakref.WeakSet[Any] = weakref.WeakSet()


@contextmanager
def unwatched(conn: Connection) -> Iterator[None]:
    """The watchdog leaves this connection's statements alone inside the block: for statements that cannot run
    in a transaction (`unbounded` lifts the limits of one), whose session lifts the statement timeout itself."""
    raw = conn.connection.dbapi_connection
    _UNWATCHED.add(raw)
    try:
        yield
    finally:
        _UNWATCHED.discard(raw)


def _watched_cursor(guard: Watchdog) -> type[psycopg.Cursor[Any]]:
    class WatchedCursor(psycopg.Cursor[Any]):
        def execute(self, *args: Any, **kwargs: Any) -> Any:
            raw = self.connection
            if raw in _UNWATCHED:
                return super().execute(*args, **kwargs)
            if raw in _UNBOUNDED:
                if raw.info.transaction_status == pq.TransactionStatus.INTRANS:
                    return super().execute(*args, **kwargs)
                _UNBOUNDED.discard(raw)  # its transaction is over: this statement starts another
            guard.arm(raw)
            try:
                return super().execute(*args, **kwargs)
            finally:
                guard.disarm(raw)

    return WatchedCursor


# Which database a connection reads, for caches keyed by row versions (`search.PlaceCache`): transaction ids
# are unique within one cluster's life, not across clusters, so a restore elsewhere behind the same URL must
# not meet entries from before. The database's oid and its server's start time tell them apart (a physical
# replica counts as another database: it only costs cache misses).
IDENTIFY_SQL = (
    "SELECT oid::text || '@' || pg_postmaster_start_time()::text FROM pg_database WHERE datname = current_database()"
)


def _identify_database(dbapi_connection: Any, record: Any) -> None:
    with dbapi_connection.cursor() as cur:
        cur.execute(IDENTIFY_SQL)
        row = cur.fetchone()
    # The connection is in a transaction now unless it autocommits: end it, as the pool hands it out idle.
    if not dbapi_connection.autocommit:
        dbapi_connection.rollback()
    record.info["database"] = row[0] if row else None


def said_goodbye(fd: int) -> bool:
    """Whether an idle connection's socket has something to read. The server sends an idle connection nothing
    but its goodbye (a restart's "terminating connection", an end of file): one poll, about a microsecond, finds
    a connection the database dropped before a request sends it a statement. Without it, the first request on
    each pooled connection after a restart of the database got a 503 from a database that was up."""
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):  # closed meanwhile
        return True


def connection_said_goodbye(raw: psycopg.Connection[Any] | psycopg.AsyncConnection[Any]) -> bool:
    """`said_goodbye` for a psycopg connection, closed or broken ones included."""
    try:
        return raw.closed or said_goodbye(raw.pgconn.socket)
    except psycopg.Error:  # libpq has no socket for it any more
        return True


def _drop_if_said_goodbye(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    if connection_said_goodbye(dbapi_connection):
        raise DisconnectionError("the database closed this pooled connection")  # the pool connects anew


def database_identity(conn: Connection) -> object:
    """What `_identify_database` found for this connection (the engine itself for one made elsewhere)."""
    return conn.info.get("database") or conn.engine


def outage_reason(exc: BaseException) -> str | None:
    """One line saying why the database did not answer when `exc` is such a failure (a refused or broken
    connection, a pool or connect timeout): an outage needs no traceback in the log. None for other errors."""
    from sqlalchemy.exc import InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    if not isinstance(exc, OperationalError | InterfaceError | PoolTimeout | psycopg.OperationalError):
        return None
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


@lru_cache(maxsize=4)
def get_engine(read: bool = False) -> Engine:
    return make_engine(get_settings(), read=read)


def lock_source(conn: Connection, source: str) -> None:
    """Hold a source's places until the transaction ends: one publish, or batch of exceptions, at a time."""
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('ingest:' || :s))"), {"s": source})


def unbounded(conn: Connection) -> None:
    """Lift the API's 2 s statement timeout for this transaction (and the watchdog's, on an engine that has
    one): loads and refreshes take as long as they take, and wait (up to a minute) for a concurrent ingest of
    the same source rather than fail."""
    conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
    conn.exec_driver_sql("SET LOCAL lock_timeout = '60s'")
    _UNBOUNDED.add(conn.connection.dbapi_connection)


# json/jsonb columns (a place's hours and exceptions) decoded by orjson: the stdlib decoder was ~7% of a
# nearest answer's CPU.
set_json_loads(orjson.loads)

# `:name` parameters as sqlalchemy.text() reads them (not `::type` casts), for psycopg's `%(name)s`.
_TEXT_BIND = re.compile(r"(?<![:\w\\]):(\w+)(?!:)")


@lru_cache(maxsize=512)
def driver_sql(statement: str) -> str:
    """A statement written with `:name` parameters, in psycopg's `%(name)s` style (`%` escaped)."""
    return _TEXT_BIND.sub(r"%(\1)s", statement.replace("%", "%%"))


def fetch_rows(conn: Connection, statement: str, params: Mapping[str, Any]) -> list[Any]:
    """All rows (named tuples) of one statement with `:name` parameters, run by psycopg itself on the
    connection's own session and transaction.

    For the API's hot statements: SQLAlchemy's text compilation and result rows cost ~0.15 ms of CPU per
    statement, half of its client-side cost (measured on the benchmark's 1M places). Errors stay
    psycopg's (`search.raise_if_unavailable` maps them); a connection that broke is invalidated, and the
    pool with it, as SQLAlchemy does on a disconnect: its other connections died in the same outage."""
    raw = conn.connection.driver_connection
    if raw is None:
        raise RuntimeError("the connection is closed")
    try:
        with raw.cursor(row_factory=namedtuple_row) as cur:
            cur.execute(driver_sql(statement), params)
            rows: list[Any] = cur.fetchall()
            return rows
    except psycopg.Error as exc:
        if raw.broken or raw.closed:
            conn.invalidate(exc)
            conn.engine.dispose(close=False)
        raise


def copy_rows(conn: Connection, statement: str, rows: Iterable[Sequence[object]]) -> int:
    """COPY rows into a table on the connection's own transaction (psycopg 3); returns how many."""
    raw = conn.connection.driver_connection
    if raw is None:
        raise RuntimeError("the connection is closed")
    count = 0
    with raw.cursor() as cur, cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


# -- the embedded cluster -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cluster:
    data_dir: Path
    socket_dir: Path
    log_file: Path
    port: int
    bin_dir: Path
    run_as: str | None  # OS user that runs the server, None = the caller

    @classmethod
    def from_settings(cls, settings: Settings) -> Cluster:
        bin_dir = find_pg_bin()
        run_as = "postgres" if os.geteuid() == 0 else None
        base = settings.home / "pg"
        if run_as and not _reachable_by(run_as, settings.home.parent):
            digest = hashlib.sha1(str(settings.home.resolve()).encode()).hexdigest()[:12]
            base = Path("/var/lib/locator") / digest
        return cls(
            data_dir=base / "data",
            socket_dir=base / "run",
            log_file=base / "postgres.log",
            port=settings.pg_port,
            bin_dir=bin_dir,
            run_as=run_as,
        )

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True)

    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def running(self) -> bool:
        if not self.initialised():
            return False
        return self._run("pg_ctl", "status", "-D", str(self.data_dir), check=False).returncode == 0

    def init(self) -> None:
        for directory in (self.data_dir.parent, self.socket_dir):
            directory.mkdir(parents=True, exist_ok=True)
            if self.run_as:
                shutil.chown(directory, self.run_as, self.run_as)
        if self.initialised():
            return
        result = self._run(
            "initdb", "-D", str(self.data_dir), "-U", "postgres", "--auth=trust", "-E", "UTF8",
            "--locale=C.UTF-8", check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise ClusterError(f"initdb failed:\n{result.stderr.strip()}")
        with (self.data_dir / "postgresql.auto.conf").open("a") as conf:
            conf.write(
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.socket_dir}'\n"
                "fsync = on\nmax_connections = 200\nshared_buffers = '512MB'\n"
                "wal_level = replica\nmax_wal_senders = 5\n"
            )
        with (self.data_dir / "pg_hba.conf").open("a") as hba:
            hba.write("host replication all 127.0.0.1/32 trust\n")

    def start(self) -> None:
        self.init()
        if self.running():
            return
        result = self._run(
            "pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data_dir), "-l", str(self.log_file), check=False
        )
        if result.returncode != 0:
            log = self.log_file.read_text(errors="replace")[-2000:] if self.log_file.exists() else ""
            raise ClusterError(f"PostgreSQL did not start ({result.stderr.strip()}):\n{log}")

    def stop(self) -> None:
        if self.running():
            self._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.data_dir))


def find_pg_bin() -> Path:
    """The newest PostgreSQL server binaries with PostGIS available."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name))
    for pg_ctl in reversed(candidates):
        version = pg_ctl.parent.parent.name
        if Path(f"/usr/share/postgresql/{version}/extension/postgis.control").exists():
            return pg_ctl.parent
    if candidates:
        version = candidates[-1].parent.parent.name
        raise ClusterError(
            f"PostgreSQL {version} is installed without PostGIS: "
            f"sudo apt-get install postgresql-{version}-postgis-3 postgresql-contrib"
        )
    raise ClusterError("PostgreSQL is not installed: sudo apt-get install postgresql postgresql-postgis")


def _reachable_by(user: str, directory: Path) -> bool:
    probe = subprocess.run(["runuser", "-u", user, "--", "test", "-x", str(directory)], capture_output=True)
    return probe.returncode == 0


def ensure_database(settings: Settings, name: str | None = None) -> None:
    """Create the database on the server when it does not exist (embedded cluster or a given URL)."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.sqlalchemy_url())
    target = name or url.database
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target}).first()
            if not exists:
                conn.exec_driver_sql(f'CREATE DATABASE "{target}"')
    finally:
        admin.dispose()


def up(settings: Settings | None = None) -> Cluster | None:
    """Start the embedded cluster (when no URL is configured), create the database, wait until it answers."""
    settings = settings or get_settings()
    cluster = None
    if settings.embedded:
        cluster = Cluster.from_settings(settings)
        cluster.start()
    deadline = time.monotonic() + 30
    while True:
        try:
            ensure_database(settings)
            return cluster
        except Exception as exc:  # the server may still be starting: retry for a while, then say why
            if time.monotonic() > deadline:
                raise ClusterError(f"the database does not answer: {exc}") from exc
            time.sleep(0.5)


def down(settings: Settings | None = None) -> None:
    settings = settings or get_settings()
    if settings.embedded:
        Cluster.from_settings(settings).stop()


# -- migrations -------------------------------------------------------------------------------------------


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every file in locator/migrations, in order."""
    out = []
    for entry in resources.files("locator.migrations").iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            out.append((version, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(out)


def init_schema(engine: Engine) -> list[str]:
    """Apply the migrations not applied yet, each in its own transaction; returns their names."""
    applied: list[str] = []
    try:
        with engine.begin() as conn:
            unbounded(conn)
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
            conn.exec_driver_sql(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {row[0] for row in conn.execute(text("SELECT version FROM schema_migrations"))}
            for version, name, sql in migrations():
                if version in done:
                    continue
                # Through psycopg without parameters: a migration's text is SQL as psql would run it, `%` included
                # (a LIKE pattern), not a template with placeholders.
                raw = conn.connection.driver_connection
                assert raw is not None
                raw.execute(sql)
                conn.execute(
                    text("INSERT INTO schema_migrations (version, name) VALUES (:v, :n)"), {"v": version, "n": name}
                )
                applied.append(name)
    except Exception as exc:
        if _is_connection_error(exc):
            # PostgreSQL's own line, without SQLAlchemy's "(Background on this error at: ...)"
            raise DatabaseUnavailable(outage_reason(exc) or type(exc).__name__) from exc
        raise
    return applied


def _is_connection_error(exc: BaseException) -> bool:
    from sqlalchemy.exc import InterfaceError, OperationalError

    return isinstance(exc, OperationalError | InterfaceError)
