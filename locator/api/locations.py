"""The public location endpoints: nearest, one location, geocode."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from sqlalchemy import Engine
from starlette.responses import JSONResponse, Response

from locator.answers import (
    Where,
    geojson,
    locate,
    location_answer,
    location_jsonld,
    nearest_answer,
    nearest_answer_on_loop,
    origin_dict,
)
from locator.api import dependencies as deps
from locator.api.params import (
    AT_DESCRIPTION,
    DATE_TIME,
    FORMAT_PARAMETER,
    NEAREST_OPENAPI,
    NO_END_IN_SIGHT,
    NO_NUL,
    NOT_IN_SIGHT,
    LocationId,
    answer_format,
    nearest_params,
)
from locator.api.responses import FastJSONResponse
from locator.geocode import MAX_QUERY_LENGTH
from locator.search import parse_instant
from locator.settings import Settings

router = APIRouter(prefix="/v1", tags=["locations"])


# -- response documentation ---------------------------------------------------------------------------------
# These models document the answers in the OpenAPI schema (schemathesis checks every response against them);
# routes still return plain dicts built in locator/answers.py, so a request pays for no second validation.


# An instant as the answers write it (ISO-8601 with an offset): typed date-time in the schema, so that generated
# clients read a date, not a string; built by the answers' own code, so no second validation.
Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]


class Problem(BaseModel):
    """RFC 9457 problem details: every error of the API."""

    model_config = ConfigDict(extra="allow")
    type: str = "about:blank"
    status: int
    title: str
    detail: str
    parameter: str | None = None


class OriginModel(BaseModel):
    lat: float
    lon: float
    label: str
    source: Literal["coordinates", "postcode", "address"]
    geocoder: str | None
    precision: str
    country: str | None


class Address(BaseModel):
    street: str | None
    postcode: str | None
    city: str | None
    region: str | None
    country: str


class Spell(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    from_: Timestamp = Field(alias="from", description="ISO-8601 with the place's UTC offset")
    to: Timestamp


class WeekSpell(Spell):
    state: Literal["open", "unknown"]
    comment: str | None


class Place(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    name: str
    kind: str
    kinds: list[str]
    address: Address
    lat: float
    lon: float
    distance_m: float | None
    timezone: str
    open: bool
    state: Literal["open", "closed", "unknown"] = Field(
        description="what the hours say now; unknown: times they leave open ('on appointment', an open end), "
        "where `open` is false"
    )
    closes_at: Timestamp | None = Field(
        description="when open, when the current opening ends (ISO-8601, the place's UTC offset); null: not open, "
        f"or {NO_END_IN_SIGHT}"
    )
    next_open: Timestamp | None = Field(
        description="when not open, when it next opens (ISO-8601, the place's UTC offset); null: open now, or "
        f"{NOT_IN_SIGHT} (closed for good, or the hours say 'off')"
    )
    closing_soon: bool
    status_comment: str | None = Field(description="the hours' comment for the current state, e.g. 'closed for works'")
    hours: dict[str, str] = Field(description="service -> canonical OSM opening_hours")
    services: list[str]
    products: list[str]
    phone: str | None
    url: str | None
    geo_precision: str


class NearestPlace(Place):
    hours_today: dict[str, list[Spell]] = Field(description="each service's open intervals on the place's local day")
    unknown_today: dict[str, list[Spell]] = Field(
        description="the services whose hours leave some of that day unknown (an open end, 'on appointment'), "
        "with those intervals; empty for most places"
    )


class LocationDetail(Place):
    week: dict[str, list[WeekSpell]]


class NearestAnswer(BaseModel):
    origin: OriginModel
    at: Timestamp
    results: list[NearestPlace]


PROBLEM_CONTENT = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "q cannot be located / no such location", "content": PROBLEM_CONTENT},
    422: {"model": Problem, "description": "invalid parameter", "content": PROBLEM_CONTENT},
    429: {"model": Problem, "description": "rate limit exceeded (see Retry-After)", "content": PROBLEM_CONTENT},
    503: {"model": Problem, "description": "database unavailable (see Retry-After)", "content": PROBLEM_CONTENT},
}

# format=geojson: an RFC 7946 FeatureCollection whose properties are the JSON answer's results.
_FEATURE_COLLECTION = {
    "type": "object",
    "required": ["type", "features", "origin", "at"],
    "properties": {
        "type": {"const": "FeatureCollection"},
        "origin": {"$ref": "#/components/schemas/OriginModel"},
        "at": {"type": "string", "format": "date-time"},
        "features": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "id", "geometry", "properties"],
                "properties": {
                    "type": {"const": "Feature"},
                    "id": {"type": "string"},
                    "geometry": {
                        "type": "object",
                        "required": ["type", "coordinates"],
                        "properties": {
                            "type": {"const": "Point"},
                            "coordinates": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
                        },
                    },
                    "properties": {"$ref": "#/components/schemas/NearestPlace"},
                },
            },
        },
    },
}


def _ok(model: type[BaseModel], extra: dict[str, Any] | None = None) -> dict[int | str, dict[str, Any]]:
    return {200: {"model": model, "content": extra or {}}, **PROBLEM_RESPONSES}


class _OwnResponse(APIRoute):
    """A route whose endpoint reads its request and returns its response itself (FastAPI's custom route
    class): no dependencies solved and no response checked per request, ~0.05 ms of CPU a nearest request
    (in-process, alternating runs). Its parameters are documented by `openapi_extra`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint: Callable[[Request], Coroutine[Any, Any, Response]] = self.endpoint
        return endpoint


async def nearest(request: Request) -> Response:
    """The nearest places, by true geodesic distance, open at `at` (default now) unless `open=any`."""
    # The hot route, kept lean: its parameters are validated here, the where/what/when ones in one call, and the
    # engine and settings read from the app, not solved as dependencies (~0.1 ms of CPU a request).
    # A coordinate query is answered on the event loop (locator.search_async: no thread hop, ~0.2 ms less
    # latency a request); the others on the app's executor, not anyio's thread pool (deps.run_blocking).
    format = answer_format(request)  # first, as FastAPI checked it before the route's own parameters
    params = await nearest_params(request)
    state = request.app.state
    answer = await nearest_answer_on_loop(
        state.reads, state.read_engine, state.settings, params.where, **params.as_kwargs()
    )
    if answer is None:
        answer = await deps.run_blocking(
            request, nearest_answer, state.read_engine, state.settings, params.where, **params.as_kwargs()
        )
    # The answer is plain JSON types already: no jsonable_encoder pass, and orjson encodes it ~10x faster.
    if format == "geojson":
        return FastJSONResponse(geojson(answer), media_type="application/geo+json")
    return FastJSONResponse(answer)


router.add_api_route(
    "/locations/nearest",
    nearest,
    methods=["GET"],
    response_model=None,
    responses=_ok(NearestAnswer, {"application/geo+json": {"schema": _FEATURE_COLLECTION}}),
    openapi_extra={"parameters": [*NEAREST_OPENAPI["parameters"], FORMAT_PARAMETER]},
    route_class_override=_OwnResponse,
)


@router.get(
    # `:path`: feed ids may hold '/' (ingest.validate.ID_PATTERN), plain or as %2F. The nearest route, declared
    # first, keeps /locations/nearest.
    "/locations/{location_id:path}",
    response_model=None,
    responses=_ok(LocationDetail, {"application/ld+json": {"schema": {"type": "object"}}}),
)
def location(
    location_id: LocationId,
    engine: Annotated[Engine, Depends(deps.engine)],
    settings: Annotated[Settings, Depends(deps.settings)],
    at: Annotated[str | None, Query(max_length=64, description=AT_DESCRIPTION, json_schema_extra=DATE_TIME)] = None,
    format: Annotated[Literal["json", "jsonld"], Query(description="jsonld: schema.org LocalBusiness")] = "json",
) -> Any:
    """One location with its open state and its open intervals for the next 7 days per service."""
    moment = parse_instant(at)
    if format == "jsonld":
        return JSONResponse(location_jsonld(engine, location_id, moment), media_type="application/ld+json")
    return location_answer(engine, settings, location_id, moment)


@router.get("/geocode", response_model=None, responses=_ok(OriginModel))
def geocode(
    engine: Annotated[Engine, Depends(deps.engine)],
    settings: Annotated[Settings, Depends(deps.settings)],
    q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_LENGTH, pattern=NO_NUL)],
    country: Annotated[str | None, Query(pattern="^[A-Za-z]{2}$")] = None,
) -> dict[str, Any]:
    """Where a postcode, address or place name is: the `origin` object of a nearest answer. Coordinates typed
    as text (`48.8738, 2.2950`) are the point itself, labelled with its nearest postcode."""
    return origin_dict(locate(engine, Where(q=q, country=country), settings))
