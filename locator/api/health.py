from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text

from locator.api import dependencies as deps
from locator.api.errors import problem

router = APIRouter(prefix="/v1", tags=["health"])


@router.get("/health", responses={503: {"description": "database unreachable"}})
def health(engine: Annotated[Engine, Depends(deps.engine)]) -> Any:
    try:
        with engine.connect() as conn:
            count = conn.execute(text("SELECT count(*) FROM locations")).scalar_one()
    except Exception as exc:  # any failure to answer is an outage from the client's point of view
        return problem(503, "database unavailable", f"the database did not answer: {type(exc).__name__}")
    return JSONResponse({"status": "ok", "database": "ok", "locations": int(count)})
