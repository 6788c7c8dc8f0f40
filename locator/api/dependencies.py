"""What routes need from the app: its settings and its database engines (created in the lifespan).

Dependencies are `async def` when they do not block: FastAPI runs a plain `def` dependency in the thread pool,
a thread hop each, and the nearest route had four of them per request (a third of the framework's CPU)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from functools import partial
from typing import Any, TypeVar

from fastapi import Request
from sqlalchemy import Engine

from locator.settings import Settings

T = TypeVar("T")


async def settings(request: Request) -> Settings:
    value: Settings = request.app.state.settings
    return value


async def engine(request: Request) -> Engine:
    """The engine for reads: the replica when LOCATOR_DATABASE_READ_URL is set."""
    value: Engine = request.app.state.read_engine
    return value


async def write_engine(request: Request) -> Engine:
    value: Engine = request.app.state.engine
    return value


async def run_blocking(request: Request, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`function` on the app's executor (`LOCATOR_POOL_SIZE` threads, one per pooled connection, made in the
    lifespan). For the hot route: a hop there and back costs ~0.1 ms less latency than through anyio's thread
    pool (Starlette's `run_in_threadpool`), measured on this machine with a canned answer."""
    executor: Executor = request.app.state.executor
    return await asyncio.get_running_loop().run_in_executor(executor, partial(function, *args, **kwargs))
