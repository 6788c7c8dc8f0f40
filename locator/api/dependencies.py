"""What routes need from the app: its settings and its database engines (created in the lifespan).

Dependencies are `async def` when they do not block: FastAPI runs a plain `def` dependency in the thread pool,
a thread hop each, and the nearest route had four of them per request (a third of the framework's CPU)."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy import Engine

from locator.settings import Settings


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
