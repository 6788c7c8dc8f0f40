from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import Engine, text

from locator.api import dependencies as deps
from locator.api.errors import problem
from locator.api.locations import PROBLEM_CONTENT
from locator.db import outage_reason
from locator.settings import Settings

log = logging.getLogger("locator.api")

router = APIRouter(prefix="/v1", tags=["health"])

# The planner's count of places (each publish ends with ANALYZE), not count(*): 50-90 ms at a million places
# on every probe of an endpoint open to anyone, without a rate limit. A table never analysed (-1) is counted.
PLACES_SQL = """
SELECT CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint ELSE (SELECT count(*) FROM locations) END
  FROM pg_class AS c
 WHERE c.oid = 'locations'::regclass
"""


class Health(BaseModel):
    status: Literal["ok", "degraded"] = Field(description="degraded: reads answer, the primary (writes) does not")
    database: Literal["ok"]
    locations: int = Field(
        description="about how many places the read database holds (the planner's count, which every publish "
        "brings up to date)"
    )
    primary: str | None = Field(default=None, description="with a read replica: ok, or why the primary does not answer")


@router.get(
    "/health",
    response_model=None,
    responses={
        200: {"model": Health},
        503: {"description": "database unreachable (see Retry-After)", "content": PROBLEM_CONTENT},
    },
)
def health(
    engine: Annotated[Engine, Depends(deps.engine)],
    primary: Annotated[Engine, Depends(deps.write_engine)],
    settings: Annotated[Settings, Depends(deps.settings)],
) -> Any:
    """Reads answer (the replica's count of places); with a replica, whether the primary answers too."""
    try:
        with engine.connect() as conn:
            count = conn.execute(text(PLACES_SQL)).scalar_one()
    except Exception as exc:  # any failure to answer is an outage from the client's point of view
        reason = outage_reason(exc)
        if reason is not None:  # one line, as every request's outage is logged
            log.warning("health: the database did not answer (%s)", reason)
        else:  # not an outage (a table missing: `locator db init` not run?): what the server log needs to say why
            log.error("health: the database answered with an error", exc_info=True)
        return problem(503, "database unavailable", f"the database did not answer: {type(exc).__name__}")
    body: dict[str, Any] = {"status": "ok", "database": "ok", "locations": int(count)}
    if settings.database_read_url:
        # Searches still answer from the replica (200: a balancer keeps the instance), but ingests, refreshes
        # and the admin API need the primary: say so.
        try:
            with primary.connect() as conn:
                conn.execute(text("SELECT 1"))
            body["primary"] = "ok"
        except Exception as exc:
            body |= {"status": "degraded", "primary": f"unavailable: {type(exc).__name__}"}
    return JSONResponse(body)
