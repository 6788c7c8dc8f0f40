"""The FastAPI app: settings and engines created in the lifespan, routers, errors mapped once."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from locator.api import admin, docs, errors, health, limits, locations, pages, support
from locator.countries import timezone_at, zone_countries
from locator.db import make_engine, outage_reason
from locator.search_async import AsyncReads
from locator.settings import Settings, get_settings

log = logging.getLogger("locator.api")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    from locator.geocoders.chain import chain_for

    chain_for(settings)  # a bad LOCATOR_GEOCODERS fails at start-up, not on the first request

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        # Sync routes run on anyio's thread limiter: one thread per pooled connection (see locator/db.py). More
        # threads than cores only thrash the GIL; requests beyond them wait in the event loop, cheaply.
        to_thread.current_default_thread_limiter().total_tokens = settings.pool_size
        # Two engines even without a replica, both watched from this side (a frozen database enforces no
        # statement timeout: admin calls and the health check's look at the primary hung for good) and failing
        # new connections at once for a moment after one failed; the writes' unbounded transactions (ingests
        # through the admin API, the window's refresh) may run as long as they need (db.unbounded).
        app.state.engine = make_engine(settings, watchdog=True)
        app.state.read_engine = make_engine(settings, read=True, watchdog=True)
        # The hot route's threads (dependencies.run_blocking): as many as anyio's, for the same reason.
        app.state.executor = ThreadPoolExecutor(settings.pool_size, thread_name_prefix="locator-request")
        # Its coordinate searches' connections, awaited on the loop (locator.search_async).
        app.state.reads = AsyncReads(settings, app.state.read_engine)
        await app.state.reads.open()
        refresher = asyncio.create_task(_keep_window_fresh(app.state.engine, settings.refresh_interval_s))
        # The zone finder and the tz tables that check a coordinate query's label (~0.2 s to load): before the
        # first request, and frozen below with the rest of start-up.
        zone_countries(timezone_at(48.85, 2.35) or "")
        # What the worker imported and built so far lives as long as it does: out of the cyclic collector's
        # sight, a full collection scans only what requests left behind (~40 ms with every imported module in
        # view, measured in one request loop: a latency spike for the requests waiting on it).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            refresher.cancel()
            app.state.executor.shutdown(wait=False, cancel_futures=True)
            await app.state.reads.close()
            app.state.engine.dispose()
            app.state.read_engine.dispose()

    app = FastAPI(
        title="Store and service-centre locator",
        version="0.1.0",
        summary="Nearest open shops and service centres",
        lifespan=lifespan,
        # No redirect from `/path/` to `/path`: Starlette builds its Location from the request's Host header,
        # so a proxy or cache passing any Host along would redirect visitors to that host.
        redirect_slashes=False,
        docs_url=None,  # locator.api.docs serves both pages on pinned local scripts
        redoc_url=None,
    )
    errors.install(app)
    limits.install(app, settings)
    app.include_router(locations.router)
    app.include_router(health.router)
    app.include_router(pages.router)
    app.include_router(support.router)
    app.include_router(admin.router)
    app.include_router(docs.router)
    mount_static(app, settings)
    return app


async def _keep_window_fresh(engine: Engine, interval_s: int) -> None:
    """Move the materialised open-interval window when the day changes (and once at start-up)."""
    from locator.open_intervals import refresh_if_stale

    while True:
        try:
            await run_in_threadpool(refresh_if_stale, engine)
        except Exception as exc:  # the database may be down: answers fall back to direct evaluation meanwhile
            reason = outage_reason(exc)
            if reason is not None:  # one line a tick while it is down, not a traceback per worker
                log.warning("open-interval refresh failed (%s); retrying in %s s", reason, interval_s)
            else:
                log.warning("open-interval refresh failed; retrying in %s s", interval_s, exc_info=True)
        await asyncio.sleep(interval_s)


def mount_static(app: FastAPI, settings: Settings) -> None:
    """Leaflet & co. (fetched from the npm registry at set-up into .locator/assets) and the page's own files."""
    from maps.page import STATIC_DIR

    assets = settings.home / "assets"
    assets.mkdir(parents=True, exist_ok=True)
    app.mount("/assets", StaticFiles(directory=assets), name="assets")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
