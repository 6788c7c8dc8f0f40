"""The public location endpoints: nearest, one location, geocode."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy import Engine

from locator.answers import Where, geojson, locate, location_answer, nearest_answer, origin_dict
from locator.api import dependencies as deps
from locator.api.params import NearestParams, nearest_params
from locator.geocode import MAX_QUERY_LENGTH
from locator.settings import Settings

router = APIRouter(prefix="/v1", tags=["locations"])

PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "q cannot be located / no such location", "content": {"application/problem+json": {}}},
    422: {"description": "invalid parameter", "content": {"application/problem+json": {}}},
    503: {"description": "database unavailable", "content": {"application/problem+json": {}}},
}


@router.get("/locations/nearest", responses=PROBLEM_RESPONSES)
def nearest(
    params: Annotated[NearestParams, Depends(nearest_params)],
    engine: Annotated[Engine, Depends(deps.engine)],
    settings: Annotated[Settings, Depends(deps.settings)],
    format: Annotated[Literal["json", "geojson"], Query()] = "json",
) -> Any:
    """The nearest places, by true geodesic distance, open at `at` (default now) unless `open=any`."""
    answer = nearest_answer(engine, settings, params.where, **params.as_kwargs())  # type: ignore[arg-type]
    if format == "geojson":
        from fastapi.responses import JSONResponse

        return JSONResponse(geojson(answer), media_type="application/geo+json")
    return answer


@router.get("/locations/{location_id}", responses=PROBLEM_RESPONSES)
def location(
    location_id: Annotated[str, Path(max_length=128)],
    engine: Annotated[Engine, Depends(deps.engine)],
    settings: Annotated[Settings, Depends(deps.settings)],
    at: Annotated[datetime | None, Query(description="ISO-8601 instant with offset; default now")] = None,
    format: Annotated[Literal["json", "jsonld"], Query(description="jsonld: schema.org LocalBusiness")] = "json",
) -> Any:
    """One location with its open state and its open intervals for the next 7 days per service."""
    from locator.errors import InvalidParameter

    if at is not None and at.tzinfo is None:
        raise InvalidParameter("at", "must carry a UTC offset")
    if format == "jsonld":
        from fastapi.responses import JSONResponse

        from locator.jsonld import local_business
        from locator.search import get_place

        moment = at or datetime.now(UTC)
        return JSONResponse(local_business(get_place(engine, location_id, moment), moment),
                            media_type="application/ld+json")  # fmt: skip
    return location_answer(engine, settings, location_id, at)


@router.get("/geocode", responses=PROBLEM_RESPONSES)
def geocode(
    engine: Annotated[Engine, Depends(deps.engine)],
    q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_LENGTH)],
    country: Annotated[str | None, Query(pattern="^[A-Za-z]{2}$")] = None,
) -> dict[str, Any]:
    """Where a postcode, address or place name is: the `origin` object of a nearest answer."""
    return origin_dict(locate(engine, Where(q=q, country=country)))
