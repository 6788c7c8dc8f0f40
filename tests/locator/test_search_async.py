"""The nearest search on the event loop: the same answers as the thread's path, and None where only it answers."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest

from locator import search
from locator.answers import Where, nearest_answer, nearest_answer_on_loop
from locator.db import make_engine
from locator.errors import DatabaseUnavailable
from locator.open_intervals import day_search_functions, partition_name
from locator.search import NearestQuery, nearest
from locator.search_async import AsyncReads, nearest_on_loop
from locator.settings import Settings
from tests.conftest import ScratchDatabase
from tests.locator.test_search import _publish_random

T = TypeVar("T")


def on_loop(settings: Settings, work: Callable[[AsyncReads], Awaitable[T]]) -> T:
    engine = make_engine(settings, read=True)

    async def run() -> T:
        reads = AsyncReads(settings, engine)
        await reads.open()
        try:
            return await work(reads)
        finally:
            await reads.close()

    try:
        return asyncio.run(run())
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def places(module_db: ScratchDatabase) -> ScratchDatabase:
    _publish_random(module_db.engine, 800, seed=13)
    return module_db


@pytest.mark.parametrize("scan_per_candidate", [search.SCAN_PER_CANDIDATE, 1])
def test_the_loop_answers_as_the_threads_do(
    places: ScratchDatabase, monkeypatch: pytest.MonkeyPatch, scan_per_candidate: int
) -> None:
    """Random questions (filters, limits, open now / for a while / any, instants across the window): the loop's
    answer is the thread's, to the last field, and the loop answered every one of them itself, with its places
    read from the database (an empty cache) and then from the cache. With one scanned row per candidate, most
    filtered questions take several rounds of a scan cut short (`search.knn_open_sql`'s last row)."""
    monkeypatch.setattr(search, "SCAN_PER_CANDIDATE", scan_per_candidate)
    engine, settings = places.engine, places.settings
    rng = random.Random(17)
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    questions: list[tuple[Where, dict[str, Any]]] = []
    for _ in range(80):
        questions.append(
            (
                Where(lat=rng.uniform(-33.0, -17.0), lon=rng.uniform(125.0, 145.0)),
                {
                    "at": base + timedelta(minutes=rng.randrange(0, 5 * 24 * 60, 10)),
                    "open": rng.choice(["now", "now", "any"]),
                    "open_for": rng.choice([0, 0, 45]),
                    "limit": rng.choice([1, 5, 10, 40]),
                    "radius_km": rng.choice([50.0, 400.0, 1000.0]),
                    "services": rng.choice([(), (), ("repair",), ("sales", "repair")]),
                    "kinds": rng.choice([(), ("service_centre",)]),
                    "products": rng.choice([(), ("mac",)]),
                },
            )
        )
    expected = [nearest_answer(engine, settings, where, **kwargs) for where, kwargs in questions]

    async def ask(reads: AsyncReads) -> list[dict[str, Any] | None]:
        return [await nearest_answer_on_loop(reads, engine, settings, w, **kw) for w, kw in questions]

    monkeypatch.setattr(search, "PLACES", search.PlaceCache(10_000))
    got = on_loop(settings, ask)
    assert None not in got
    assert got == expected
    assert on_loop(settings, ask) == expected
    assert sum(bool(answer["results"]) for answer in expected) > 40  # not a comparison of empty answers


def test_what_only_the_threads_answer_is_left_to_them(places: ScratchDatabase) -> None:
    engine, settings = places.engine, places.settings
    at = datetime.now(UTC) + timedelta(days=1)
    nearest(engine, NearestQuery(lat=-25.0, lon=135.0, at=at))  # this process reads the window row

    async def ask(reads: AsyncReads) -> list[object]:
        return [
            # A typed address: geocoders may call out over HTTP.
            await nearest_answer_on_loop(reads, engine, settings, Where(q="75008"), at=at),
            # Past the materialised window: the direct evaluation.
            await nearest_on_loop(reads, engine, NearestQuery(lat=-25.0, lon=135.0, at=at + timedelta(days=60))),
            # Within it: answered here.
            await nearest_on_loop(reads, engine, NearestQuery(lat=-25.0, lon=135.0, at=at, radius_km=1000.0)),
        ]

    address, far, near = on_loop(settings, ask)
    assert address is None and far is None
    assert isinstance(near, search.SearchResult) and near.path == "materialised" and near.places

    search.forget_window(engine)  # a window row to read: the threads' path reads it
    query = NearestQuery(lat=-25.0, lon=135.0, at=at)
    assert on_loop(settings, lambda reads: nearest_on_loop(reads, engine, query)) is None


def test_a_day_without_its_functions_is_read_on_the_loop_by_the_statement(scratch_db: ScratchDatabase) -> None:
    """As the threads' path reads such a day (tests/locator/test_search.py), filtered or not: it was handed to
    the threads, a thread hop per request until the next tick made the functions. The window stays."""
    engine, settings = scratch_db.engine, scratch_db.settings
    _publish_random(engine, 60, seed=3)
    at = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=2, hours=3)
    queries = [NearestQuery(lat=-25.0, lon=135.0, at=at, radius_km=1000.0, **kw)
               for kw in ({}, {"services": ("repair",)}, {"kinds": ("store",), "products": ("mac",)})]  # fmt: skip
    before = [nearest(engine, query) for query in queries]
    assert all(result.path == "materialised" for result in before)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP FUNCTION {', '.join(day_search_functions(partition_name(at.date())))}")
    for query, expected in zip(queries, before, strict=True):
        found = on_loop(settings, lambda reads, query=query: nearest_on_loop(reads, engine, query))
        assert isinstance(found, search.SearchResult) and found.path == "materialised"
        assert [p.id for p in found.places] == [p.id for p in expected.places] and found.places
    assert engine in search._window_cache


@pytest.mark.parametrize("with_function", [False, True], ids=["table", "table-and-function"])
def test_a_day_table_dropped_under_a_cached_window_is_left_to_the_threads(
    scratch_db: ScratchDatabase, with_function: bool
) -> None:
    engine, settings = scratch_db.engine, scratch_db.settings
    _publish_random(engine, 60, seed=3)
    at = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=2, hours=3)
    query = NearestQuery(lat=-25.0, lon=135.0, at=at, radius_km=1000.0)
    assert nearest(engine, query).path == "materialised"
    with engine.begin() as conn:
        conn.exec_driver_sql(f"ALTER TABLE open_intervals DETACH PARTITION {partition_name(at.date())}")
        conn.exec_driver_sql(f"DROP TABLE {partition_name(at.date())}")
        if with_function:
            conn.exec_driver_sql(f"DROP FUNCTION {day_search_functions(partition_name(at.date()))[0]}")
    assert on_loop(settings, lambda reads: nearest_on_loop(reads, engine, query)) is None
    # The table gone, the window is read again; its functions gone too, the statement read in their place
    # finds the table gone.
    assert engine not in search._window_cache
    assert nearest(engine, query).path == "direct"
    assert engine not in search._window_cache


def test_a_statement_held_up_past_the_timeout_is_a_503_and_the_pool_goes_on(places: ScratchDatabase) -> None:
    """A lock held by someone else (a long ingest, a migration): the statement's own timeout ends the wait as
    the database being unavailable, and the next question on the same pool is answered."""
    engine = places.engine
    settings = places.settings.model_copy(update={"statement_timeout_ms": 300, "pool_size": 1})
    at = datetime.now(UTC) + timedelta(days=1)
    query = NearestQuery(lat=-25.0, lon=135.0, at=at, open="any", radius_km=1000.0)

    async def ask(reads: AsyncReads) -> tuple[BaseException | None, search.SearchResult | None]:
        with engine.connect() as conn:
            conn.exec_driver_sql("LOCK TABLE locations IN ACCESS EXCLUSIVE MODE")
            try:
                await nearest_on_loop(reads, engine, query)
            except DatabaseUnavailable as exc:
                failure: BaseException | None = exc
            else:
                failure = None
            conn.rollback()
        return failure, await nearest_on_loop(reads, engine, query)

    failure, after = on_loop(settings, ask)
    assert isinstance(failure, DatabaseUnavailable), failure
    assert after is not None and after.places


def test_searches_queue_for_the_pool_behind_a_slow_one_and_none_fails(places: ScratchDatabase) -> None:
    """More searches than connections, the first held up by a lock for longer than a connection is waited
    for: they queue as requests queued for the threads, and each is answered (a wait on the pool gave the
    ones behind a 503 "the database did not answer" though it had)."""
    engine = places.engine
    settings = places.settings.model_copy(update={"statement_timeout_ms": 4000, "connect_timeout_s": 1, "pool_size": 1})
    query = NearestQuery(lat=-25.0, lon=135.0, at=datetime.now(UTC), open="any", radius_km=1000.0)

    async def ask(reads: AsyncReads) -> list[search.SearchResult | None]:
        await reads.pool.wait()
        with engine.connect() as conn:
            conn.exec_driver_sql("LOCK TABLE locations IN ACCESS EXCLUSIVE MODE")
            searches = [asyncio.ensure_future(nearest_on_loop(reads, engine, query)) for _ in range(4)]
            await asyncio.sleep(1.5)
            conn.rollback()
        return list(await asyncio.gather(*searches))

    answers = on_loop(settings, ask)
    assert all(answer is not None and answer.places for answer in answers), answers


def test_a_pool_without_a_connection_ready_leaves_the_search_to_the_threads(places: ScratchDatabase) -> None:
    """A pool still reconnecting after an outage answers nothing for a moment (POOL_REST_S), at once; while
    the outage that drained it is a moment old, the search is a 503 at once instead (the threads would wait out
    their own timeouts on the same dead database)."""
    engine, settings = places.engine, places.settings
    query = NearestQuery(lat=-25.0, lon=135.0, at=datetime.now(UTC), open="any", radius_km=1000.0)

    async def ask(reads: AsyncReads) -> tuple[object, object, float]:
        await reads.pool.wait()
        taken = [await reads.pool.getconn() for _ in range(settings.pool_size)]  # none left for the search
        first = await nearest_on_loop(reads, engine, query)
        for conn in taken:
            await reads.pool.putconn(conn)
        started = asyncio.get_running_loop().time()
        resting = await nearest_on_loop(reads, engine, query)  # the pool is left alone for a moment
        waited = asyncio.get_running_loop().time() - started
        reads._drained_at = time.monotonic()  # as a connection broken by an outage drains the pool
        with pytest.raises(DatabaseUnavailable):
            await nearest_on_loop(reads, engine, query)
        return first, resting, waited

    first, resting, waited = on_loop(settings, ask)
    assert first is None and resting is None and waited < 0.05
