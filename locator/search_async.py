"""The nearest search on the API's event loop: its statements on an asyncio psycopg pool, no thread hop.

A request handed to a thread and back cost ~0.2 ms of latency on this 2-core machine (a wake-up each way;
with a canned answer under uvicorn, one connection: p50 0.25 ms inline against 0.45 ms through the executor),
a third of what the API added to the statement it sends. Here the coordinate searches the API answers most
(open now within the materialised window, and `open=any`) await their statements instead, and the rest of
the answer is the same Python as the thread's path (`search.exact_knn_steps`, `search.result_of`).

Everything else returns None and the caller runs the thread's path (`answers.nearest_answer`): a typed
address (geocoders may call out over HTTP), an instant outside the window (the direct evaluation), a
window row this process has to read (again), the day's table dropped meanwhile, and a pool with no
connection ready (reconnecting after an outage: the threads' engine reconnects at once).

The pool does what the threads' engine does around its statements (`db.make_engine` with `watchdog`): a
statement past the statement timeout has its socket cut from this side (a frozen server enforces none), and
a connection found broken drains the pool, whose other connections died in the same outage. Searches queue
for one of `pool_size` slots, as requests queued for the executor's threads: a slow search makes the others
wait, never fail.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.rows import namedtuple_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy import Engine

from locator.db import IDENTIFY_SQL, WATCHDOG_GRACE_S, connect_options, connection_said_goodbye, cut_socket, driver_sql
from locator.errors import DatabaseUnavailable
from locator.search import (
    KnnSteps,
    NearestQuery,
    Place,
    SearchResult,
    exact_knn_steps,
    forget_window,
    knn_any_sql,
    knn_open_sql,
    knn_open_statement,
    raise_if_unavailable,
    result_of,
    statement_params,
    warn_no_day_function,
    window_covers,
)
from locator.settings import Settings

log = logging.getLogger("locator.search")


# How long a search waits for a pooled connection before the threads' path answers it instead, and how long
# the pool is then left alone. A worker's searches queue for one of its `pool_size` slots first (as requests
# queued for the executor's threads), so a healthy pool has a connection ready for each slot holder: a wait
# means the pool is reconnecting (after an outage its attempts back off), and the threads' engine, which
# reconnects at once, answers meanwhile.
POOL_WAIT_S = 0.1
POOL_REST_S = 1.0
# The pool's attempts at a lost connection back off (1, 2, 4 s ...) until they give up after this long; a
# search waiting for a connection then starts a new attempt at once. The default, five minutes, left the pool
# empty for minutes after the database came back.
RECONNECT_GIVE_UP_S = 5.0
# At most one drain per outage: requests that held connections broken by the same outage fail one after the
# other, and each drain closed the fresh connections the one before had made.
DRAIN_EVERY_S = 5.0


class AsyncReads:
    """The API's public reads on the event loop, on the read engine's database (the replica when there is
    one, the same connection parameters: several hosts, quoted passwords), `pool_size` connections per worker
    as the threads' engine keeps."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        _, params = engine.dialect.create_connect_args(engine.url)
        params.pop("context", None)  # SQLAlchemy's adapters, for its own connections
        self.limit_s = settings.statement_timeout_ms / 1000 + WATCHDOG_GRACE_S
        self._identity: weakref.WeakKeyDictionary[psycopg.AsyncConnection[Any], str] = weakref.WeakKeyDictionary()
        self._slots = asyncio.Semaphore(settings.pool_size)
        self._rest_until = 0.0
        self._drained_at = -DRAIN_EVERY_S
        self.pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] = AsyncConnectionPool(
            "",
            kwargs={**params, **connect_options(settings), "autocommit": True},
            min_size=settings.pool_size,
            max_size=settings.pool_size,
            timeout=POOL_WAIT_S,
            reconnect_timeout=RECONNECT_GIVE_UP_S,
            configure=self._identify,
            check=_check,
            open=False,
            name="locator-reads",
        )

    async def open(self) -> None:
        await self.pool.open(wait=False)  # a database down at start-up is an outage, not a failed start

    async def close(self) -> None:
        await self.pool.close()

    async def _identify(self, conn: psycopg.AsyncConnection[Any]) -> None:
        # The place cache is keyed by the database a connection reads (db.database_identity): the same text
        # here as on the engine's connections, so both paths share the cache. Cut as a search's statement is:
        # a server frozen just after the login held one of the pool's three workers for good.
        cut = asyncio.get_running_loop().call_later(self.limit_s, cut_socket, conn.pgconn.socket)
        try:
            cursor = await conn.execute(IDENTIFY_SQL)
            row = await cursor.fetchone()
        finally:
            cut.cancel()
        self._identity[conn] = row[0] if row else "unknown"

    async def run(self, make_steps: Callable[[object], KnnSteps]) -> tuple[list[Place], Any] | None:
        """The steps `make_steps(database identity)` gives, each statement on one pooled connection; None
        when the pool has no connection ready (the caller answers on a thread)."""
        async with self._slots:
            if time.monotonic() < self._rest_until:
                self._raise_in_outage()
                return None  # the threads answer
            try:
                conn = await self.pool.getconn()
            except PoolTimeout:
                self._rest_until = time.monotonic() + POOL_REST_S
                self._raise_in_outage()
                return None
            try:
                steps = make_steps(self._identity.get(conn, "unknown"))
                try:
                    statement, bound = next(steps)
                    while True:
                        statement, bound = steps.send(await self._fetch(conn, statement, bound))
                except StopIteration as done:
                    found: tuple[list[Place], Any] = done.value
                    return found
                except psycopg.Error:
                    if conn.broken or conn.closed:
                        self._drain()
                    raise
            finally:
                await self.pool.putconn(conn)

    async def _fetch(self, conn: psycopg.AsyncConnection[Any], statement: str, params: dict[str, Any]) -> list[Any]:
        # The watchdog's cut, on the loop's clock: psycopg then fails the statement as a lost connection.
        cut = asyncio.get_running_loop().call_later(self.limit_s, cut_socket, conn.pgconn.socket)
        try:
            async with conn.cursor(row_factory=namedtuple_row) as cursor:
                await cursor.execute(driver_sql(statement), params)
                return await cursor.fetchall()
        finally:
            cut.cancel()

    def _raise_in_outage(self) -> None:
        """A pool without a connection ready while the outage that drained it is a moment old: a 503 at once.
        Later (the pool reconnecting after the outage ended) the threads answer instead. A search that queued
        behind ones held up by a frozen server otherwise paid the threads' own timeout too: 4.8 s for its 503
        in a review's test."""
        if self._drained_lately():
            raise DatabaseUnavailable("the database did not answer in time")

    def _drained_lately(self) -> bool:
        return time.monotonic() - self._drained_at < DRAIN_EVERY_S

    def _drain(self) -> None:
        if self._drained_lately():
            return
        self._drained_at = time.monotonic()
        log.warning("a pooled connection broke: reconnecting the asyncio pool")
        task = asyncio.get_running_loop().create_task(self.pool.drain())
        task.add_done_callback(_log_failed_drain)


async def _check(conn: psycopg.AsyncConnection[Any]) -> None:
    """A pooled connection the database dropped (a restart) is replaced before a search is sent on it, as the
    threads' engine replaces one (db.said_goodbye)."""
    if connection_said_goodbye(conn):
        raise psycopg.OperationalError("the database closed this pooled connection")


def _log_failed_drain(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("draining the asyncio pool failed: %s", task.exception())


async def nearest_on_loop(
    reads: AsyncReads,
    engine: Engine,
    query: NearestQuery,
    *,
    now: datetime | None = None,
    closing_soon_minutes: int = 30,
    oversample: int = 2,
) -> SearchResult | None:
    """`search.nearest(engine, query, label_origin=True)` for a coordinate query, on the loop; None when
    only the thread's path can answer it. `engine` is the read engine whose window this process trusts."""
    at = query.at or now or datetime.now(UTC)
    params = statement_params(query, at)
    if query.open == "any":
        candidates, path = knn_any_sql(query), "any"
    elif window_covers(engine, at, params["until"]):
        candidates, path = knn_open_sql(query, params["day"]), "materialised"
    else:
        return None
    try:
        try:
            searched = await reads.run(
                lambda database: exact_knn_steps(candidates, params, query.limit, oversample, True, database)
            )
        except psycopg.errors.UndefinedFunction:
            if path != "materialised":
                raise
            # The day's search functions missing (a day made by older code, until the next tick makes them): the
            # statement they hold, planned for its values, as the threads' path reads it.
            warn_no_day_function(params["day"])
            statement = knn_open_statement(query, params["day"])
            searched = await reads.run(
                lambda database: exact_knn_steps(statement, params, query.limit, oversample, True, database)
            )
    except psycopg.errors.UndefinedTable:
        if path != "materialised":
            raise
        forget_window(engine)  # the day's table dropped: the threads' path reads the window again
        return None
    except Exception as exc:
        raise_if_unavailable(exc)
        raise
    if searched is None or searched[1] is None:
        return None  # no connection ready; or no row at all: the thread's path labels the point itself
    found, origin = searched
    return result_of(query, at, closing_soon_minutes, found, path, origin)
