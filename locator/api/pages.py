"""HTML: the customer page (`/`) and the Folium map (`/v1/map`). Rendering lives in `maps/`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine
from timezonefinder import TimezoneFinder

from locator.answers import Where, locate, nearest_answer
from locator.api import dependencies as deps
from locator.api.locations import PROBLEM_RESPONSES
from locator.api.params import NEAREST_OPENAPI, NearestParams, filter_values, nearest_params
from locator.errors import InvalidParameter, LocatorError, NotFound
from locator.geocode import Origin
from locator.settings import Settings
from maps.page import error_message, pick_language, pick_units, render_page
from maps.render import render_map

router = APIRouter(tags=["pages"])

_FINDER: TimezoneFinder | None = None


@router.get("/v1/map", response_class=HTMLResponse, responses=PROBLEM_RESPONSES, openapi_extra=NEAREST_OPENAPI)
def map_page(
    request: Request,
    params: Annotated[NearestParams, Depends(nearest_params)],
    engine: Annotated[Engine, Depends(deps.engine)],
    settings: Annotated[Settings, Depends(deps.settings)],
) -> HTMLResponse:
    """The nearest answer on a Folium map: one marker per result and one for the origin."""
    answer = nearest_answer(engine, settings, params.where, **params.as_kwargs())  # type: ignore[arg-type]
    accept = request.headers.get("accept-language")
    html = render_map(
        answer,
        tiles_url=settings.tiles_url,
        tiles_attribution=settings.tiles_attribution,
        lang=pick_language(accept, query_lang=request.query_params.get("lang")),
        units=pick_units(accept),
    )
    return HTMLResponse(html)


def _local_instant(raw: str, origin: Origin) -> datetime:
    """The page's `at` comes from a datetime-local input (no offset): it is a time at the searched place,
    so it is read in that place's timezone (as the page's hint says), whatever the visitor's own zone."""
    moment = datetime.fromisoformat(raw)
    if moment.tzinfo is not None:
        return moment
    global _FINDER
    _FINDER = _FINDER or TimezoneFinder()
    name = _FINDER.timezone_at(lng=origin.lon, lat=origin.lat)
    # In UTC at once: a wall-clock time that does not exist there (02:30 on the spring-forward night) is
    # read as the clocks read it after the change, and arithmetic on the instant is elapsed time.
    return moment.replace(tzinfo=ZoneInfo(name) if name else ZoneInfo("UTC")).astimezone(UTC)


def _float(form: dict[str, str], key: str) -> float | None:
    value = form.get(key, "").strip()
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise InvalidParameter(key, "must be a number") from None


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def customer_page(
    request: Request,
    engine: Annotated[Engine, Depends(deps.engine)],
    settings: Annotated[Settings, Depends(deps.settings)],
) -> HTMLResponse:
    """Search box, results list first, map beside it; works without JavaScript (a GET form)."""
    accept = request.headers.get("accept-language")
    lang = pick_language(accept, query_lang=request.query_params.get("lang"))
    form = {k: v[:200] for k, v in request.query_params.items()}
    answer: dict[str, Any] | None = None
    error: str | None = None
    status = 200
    q = form.get("q", "").strip()
    lat, lon = None, None
    try:
        lat, lon = _float(form, "lat"), _float(form, "lon")
        if q or (lat is not None and lon is not None):
            where = Where(
                q=q or None, lat=None if q else lat, lon=None if q else lon, country=form.get("country") or None
            )
            at_raw = form.get("at", "").strip()
            at, origin = None, None
            if at_raw:
                # A local time needs the origin first: its timezone gives the instant.
                origin = locate(engine, where)
                try:
                    at = _local_instant(at_raw, origin)
                except ValueError:
                    raise InvalidParameter("at", "must be a date and time") from None
            answer = nearest_answer(
                engine, settings, where,
                kinds=_one(form, "kind"), products=_one(form, "product"), services=_one(form, "service"),
                open="any" if form.get("open") == "any" else "now", at=at, jsonld=True, origin=origin,
            )  # fmt: skip
    except NotFound:
        error, status = error_message(lang, 404, q=q), 404
    except InvalidParameter as exc:
        error, status = error_message(lang, 422, parameter=exc.parameter, detail=str(exc)), 422
    except LocatorError:
        error, status = error_message(lang, 503), 503
    html = render_page(
        lang=lang,
        form=form,
        answer=answer,
        error=error,
        units=pick_units(accept),
        tiles_url=settings.tiles_url,
        tiles_attribution=settings.tiles_attribution,
    )
    return HTMLResponse(html, status_code=status)


def _one(form: dict[str, str], key: str) -> tuple[str, ...]:
    # The JSON API's own check: a NUL or a stray character reached the database and answered 500.
    return filter_values(key, [form[key]] if form.get(key) else None)
