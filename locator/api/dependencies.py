"""What routes need from the app: its settings and its database engines (created in the lifespan)."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy import Engine

from locator.settings import Settings


def settings(request: Request) -> Settings:
    value: Settings = request.app.state.settings
    return value


def engine(request: Request) -> Engine:
    """The engine for reads: the replica when LOCATOR_DATABASE_READ_URL is set."""
    value: Engine = request.app.state.read_engine
    return value


def write_engine(request: Request) -> Engine:
    value: Engine = request.app.state.engine
    return value
