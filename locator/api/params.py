"""Query parameters shared by the nearest, map and page endpoints, validated once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, get_args, get_origin

from fastapi import Path, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from locator.answers import Where
from locator.geocode import MAX_QUERY_LENGTH
from locator.hours import NEXT_OPEN_HORIZON, OPEN_END_HORIZON
from locator.search import MAX_LIMIT, MAX_OPEN_FOR, MAX_RADIUS_KM, filter_values, parse_instant

# PostgreSQL text cannot hold NUL: refuse it at the edge (a 422 naming the parameter) instead of letting the
# database fail the query.
NO_NUL = r"^[^\x00]*$"
# The OpenAPI format of `at` parameters, which are taken as text and read by `search.parse_instant`.
DATE_TIME: dict[str, Any] = {"format": "date-time"}
AT_DESCRIPTION = "ISO-8601 instant with offset, between 1970 and 2100; default now"
# Why an answer's "until when" or "from when" may be null: the hours engine's horizons, as the schema says them.
NO_END_IN_SIGHT = f"no end within the next {OPEN_END_HORIZON.days} days (round the clock)"
NOT_IN_SIGHT = f"not within the next {NEXT_OPEN_HORIZON.days // 365} years"
# A place's id in a path, declared `{location_id:path}`: feed ids may hold '/' (ingest.validate.ID_PATTERN).
LocationId = Annotated[str, Path(max_length=128, pattern=NO_NUL)]


@dataclass(frozen=True)
class NearestParams:
    where: Where
    kinds: tuple[str, ...]
    products: tuple[str, ...]
    services: tuple[str, ...]
    open: Literal["now", "any"]
    at: datetime | None
    open_for: int
    limit: int
    radius_km: float

    def as_kwargs(self) -> dict[str, Any]:
        return {
            "kinds": self.kinds,
            "products": self.products,
            "services": self.services,
            "open": self.open,
            "at": self.at,
            "open_for": self.open_for,
            "limit": self.limit,
            "radius_km": self.radius_km,
        }


class NearestQueryParams(BaseModel):
    """The where/what/when/how-many parameters, validated as one model: FastAPI validates each separate
    parameter with its own pydantic call, ~0.05 ms of CPU per nearest request more (a canned answer, 12
    parameters)."""

    # `lat=nan` was refused as "less than or equal to 90": the number is the problem, not its size.
    model_config = ConfigDict(allow_inf_nan=False)

    q: str | None = Field(
        None,
        max_length=MAX_QUERY_LENGTH,
        pattern=NO_NUL,
        description="postcode or address; coordinates typed as text (`48.8738, 2.2950`, `48°52′26″N 2°17′42″E`) "
        "are searched as lat+lon",
    )
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    country: str | None = Field(None, pattern="^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2")
    # The three filters combine as customers mean them: a shop or a service centre, an iPhone or a Mac, but a
    # place with a repair desk *and* sales.
    kind: list[str] | None = Field(
        None,
        description="store, service_centre, ...; repeated or comma-separated: a place of any of them. "
        "service_centre alone: places where a repair is done (a shop with a repair desk too), open while their "
        "repair desk is",
    )
    product: list[str] | None = Field(
        None, description="iphone, mac, ...; repeated or comma-separated: a place with any of them"
    )
    service: list[str] | None = Field(
        None,
        description="repair, sales, ...; repeated or comma-separated: a place offering all of them, open (with "
        "open=now) while all of them are",
    )
    open: Literal["now", "any"] = Field("now", description="only places open at `at`, or any")
    # Text, read by parse_instant (documented as a date-time, which schemathesis generates).
    at: str | None = Field(None, max_length=64, description=AT_DESCRIPTION, json_schema_extra=DATE_TIME)
    open_for: int = Field(0, ge=0, le=MAX_OPEN_FOR, description="minutes open after `at`")
    limit: int = Field(10, ge=1, le=MAX_LIMIT)
    radius_km: float = Field(50.0, gt=0, le=MAX_RADIUS_KM)


# Repeatable parameters (`?service=repair&service=sales`): the fields typed as lists.
_LISTS = frozenset(
    name
    for name, info in NearestQueryParams.model_fields.items()
    if any(get_origin(arg) is list for arg in get_args(info.annotation))
)


def _openapi_parameters() -> list[dict[str, Any]]:
    """The query parameters as FastAPI would document the model (schemathesis generates requests from them)."""
    schema = NearestQueryParams.model_json_schema()
    required = set(schema.get("required", ()))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        | ({"description": prop["description"]} if "description" in prop else {})
        for name, prop in schema["properties"].items()
    ]


# For the routes that take `nearest_params`: `openapi_extra=NEAREST_OPENAPI`.
NEAREST_OPENAPI: dict[str, Any] = {"parameters": _openapi_parameters()}


# The model is validated here in one pydantic call instead of through FastAPI's query-model support, which
# inspects every field's annotation again on each request: 0.18 -> 0.06 ms of CPU per request (a canned
# answer). No I/O: async, so FastAPI runs it on the event loop, not with a hop to the thread pool.
async def nearest_params(request: Request) -> NearestParams:
    raw: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        if key in _LISTS:
            raw.setdefault(key, []).append(value)
        else:
            raw[key] = value  # the last of repeated values, as FastAPI reads a scalar
    try:
        query = NearestQueryParams.model_validate(raw)
    except ValidationError as exc:
        raise RequestValidationError([{**error, "loc": ("query", *error["loc"])} for error in exc.errors()]) from None
    at = parse_instant(query.at)
    q = query.q
    if q is not None and not q.strip():
        q = None if query.lat is not None else q
    return NearestParams(
        where=Where(q=q, lat=query.lat, lon=query.lon, country=query.country),
        kinds=filter_values("kind", query.kind),
        products=filter_values("product", query.product),
        services=filter_values("service", query.service),
        open=query.open,
        at=at,
        open_for=query.open_for,
        limit=query.limit,
        radius_km=query.radius_km,
    )


# The nearest route's own parameter (locations.nearest reads its request itself).
AnswerFormat = Literal["json", "geojson"]
_FORMAT: TypeAdapter[AnswerFormat] = TypeAdapter(AnswerFormat)
FORMAT_PARAMETER: dict[str, Any] = {
    "name": "format",
    "in": "query",
    "required": False,
    "schema": {**_FORMAT.json_schema(), "default": "json", "title": "Format"},
    "description": "json, or geojson: the places as a FeatureCollection (application/geo+json)",
}


def answer_format(request: Request) -> AnswerFormat:
    """`format`, checked as FastAPI checks a Literal query parameter (the same 422)."""
    try:
        return _FORMAT.validate_python(request.query_params.get("format", "json"))
    except ValidationError as exc:
        raise RequestValidationError([{**error, "loc": ("query", "format")} for error in exc.errors()]) from None
