from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import Engine

from locator.api import dependencies as deps
from locator.api.locations import PROBLEM_RESPONSES
from locator.search import check_instant
from locator.support import contacts

router = APIRouter(prefix="/v1/support", tags=["support"])


@router.get("/contacts", responses=PROBLEM_RESPONSES)
def support_contacts(
    engine: Annotated[Engine, Depends(deps.engine)],
    country: Annotated[str, Query(pattern="^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2")],
    at: Annotated[datetime | None, Query(description="ISO-8601 instant with offset; default now")] = None,
    product: Annotated[str | None, Query(max_length=40, pattern=r"^[A-Za-z0-9_-]*$")] = None,
) -> dict[str, Any]:
    """Support lines for a country (and those serving every country) with availability now and next."""
    check_instant(at)
    return contacts(engine, country, at, product)
