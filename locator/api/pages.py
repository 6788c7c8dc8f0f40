"""HTML: the customer page (`/`) and the Folium map (`/v1/map`). Rendering lives in `maps/`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.types import Scope

from locator.answers import Where, locate, nearest_answer
from locator.api import dependencies as deps
from locator.api.errors import retry_after, status_for, validation_detail
from locator.api.locations import PROBLEM_RESPONSES
from locator.api.params import NEAREST_OPENAPI, NearestParams, nearest_params
from locator.countries import timezone_at
from locator.errors import InvalidParameter, LocatorError, NotFound
from locator.geocode import MAX_QUERY_LENGTH, Origin
from locator.search import MAX_RADIUS_KM, filter_values
from locator.settings import Settings
from maps.csp import map_policy, page_policy
from maps.page import error_message, pick_clock, pick_language, pick_units, render_page, results_summary
from maps.render import render_map, render_map_message
from maps.text import clean_text, origin_label

log = logging.getLogger("locator.api")
router = APIRouter(tags=["pages"])

# The page searches as the API does by default; with nothing that near, as far as the API allows.
PAGE_RADIUS_KM = 50.0


@router.get("/v1/map", response_class=HTMLResponse, responses=PROBLEM_RESPONSES, openapi_extra=NEAREST_OPENAPI)
async def map_page(
    request: Request,
    engine: Annotated[Engine, Depends(deps.engine)],
    settings: Annotated[Settings, Depends(deps.settings)],
) -> Response:
    """The nearest answer on a Folium map: one marker per result and one for the origin. A browser is answered
    an error in HTML, in its language (problem+json for other clients, as everywhere)."""
    lang = _language(request)
    try:
        params = await nearest_params(request)
        html = await run_in_threadpool(_draw_map, engine, settings, params, lang, request)
    except (LocatorError, RequestValidationError) as exc:
        if "text/html" not in request.headers.get("accept", ""):
            raise
        status, message, headers = _visitor_failure(exc, lang, request.query_params.get("q", ""))
        return _html(render_map_message(message, lang), page_policy(), status, headers)
    return _html(html, map_policy(html, settings.tiles_url))


def _draw_map(engine: Engine, settings: Settings, params: NearestParams, lang: str, request: Request) -> str:
    answer = nearest_answer(engine, settings, params.where, **params.as_kwargs())
    accept = request.headers.get("accept-language")
    clock = pick_clock(accept, lang)
    note = ""
    if not answer["results"]:
        # As the page says it: open now, open at the time asked (the place's wall clock), or matching at all
        origin = answer["origin"]
        at = params.at
        if at is not None:
            zone = timezone_at(origin["lat"], origin["lon"])
            at = at.astimezone(ZoneInfo(zone) if zone else UTC).replace(tzinfo=None)
        note = results_summary(lang, 0, origin_label(origin, lang), params.open, at, clock)
    return render_map(
        answer,
        tiles_url=settings.tiles_url,
        tiles_attribution=settings.tiles_attribution,
        lang=lang,
        units=pick_units(accept),
        empty_note=note,
        clock=clock,
    )


def _visitor_failure(exc: Exception, lang: str, q: str) -> tuple[int, str, dict[str, str]]:
    """(status, the visitor's message, headers) for an error of a page's search (`/` and `/v1/map`)."""
    if isinstance(exc, RequestValidationError):
        errors = validation_detail(exc)[1]
        parameter = errors[0]["parameter"] if errors else "request"
        return 422, error_message(lang, 422, parameter=parameter, detail=parameter), {}
    assert isinstance(exc, LocatorError)
    status = status_for(exc)  # as the API answers it
    if isinstance(exc, NotFound):
        return status, error_message(lang, status, q=q), {}
    if isinstance(exc, InvalidParameter):
        limit = MAX_QUERY_LENGTH if exc.parameter == "q" and len(q) > MAX_QUERY_LENGTH else 0
        return status, error_message(lang, status, parameter=exc.parameter, detail=str(exc), limit=limit), {}
    if status != 503:  # not the database's or a geocoder's outage (a misconfiguration): logged as the API logs it
        log.error("the page's search failed: %s", exc)
        return status, error_message(lang, status), {}
    return status, error_message(lang, status), {"Retry-After": str(retry_after(exc))}


def _html(html: str, policy: str, status: int = 200, headers: Mapping[str, str] | None = None) -> HTMLResponse:
    """An HTML answer with its own Content-Security-Policy (locator.api.limits' default, for other HTML, has no
    script-src) and `Vary: Accept-Language`: the language and units follow that header, and
    a cache between us and the visitor must not hand a French page to the next English one."""
    return HTMLResponse(
        html,
        status_code=status,
        headers={"Content-Security-Policy": policy, "Vary": "Accept-Language", **(headers or {})},
    )


def _local_instant(raw: str, origin: Origin) -> datetime:
    """The page's `at` comes from a datetime-local input (no offset): it is a time at the searched place,
    so it is read in that place's timezone (as the page's hint says), whatever the visitor's own zone."""
    moment = datetime.fromisoformat(raw)
    if moment.tzinfo is not None:
        return moment
    name = timezone_at(origin.lat, origin.lon)
    # In UTC at once: a wall-clock time that does not exist there (02:30 on the spring-forward night) is
    # read as the clocks read it after the change, and arithmetic on the instant is elapsed time.
    return moment.replace(tzinfo=ZoneInfo(name) if name else ZoneInfo("UTC")).astimezone(UTC)


def _wall_clock(raw: str, origin: Mapping[str, Any]) -> str:
    """An `at` with an offset (a link, a bookmark) as the page shows and sends it: the wall-clock time at the
    searched place that it is, in the datetime-local field's form. As typed, the page said "at 10:00" for a
    search run at 02:00 Paris time (10:00+09:00), and the field could not hold it."""
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return raw
    if moment.tzinfo is None:
        return raw
    name = timezone_at(origin["lat"], origin["lon"])
    return moment.astimezone(ZoneInfo(name) if name else UTC).strftime("%Y-%m-%dT%H:%M")


def _float(form: Mapping[str, str], key: str) -> float | None:
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
    lang = _language(request)
    answer: dict[str, Any] | None = None
    error: str | None = None
    status = 200
    headers: dict[str, str] = {}
    q = request.query_params.get("q", "").strip()
    widened: float | None = None
    try:
        answer, widened = _search(engine, settings, request.query_params, q)
    except LocatorError as exc:
        status, error, headers = _visitor_failure(exc, lang, q)
    except Exception:
        # The app's own handler would answer problem+json: a visitor's browser gets the page and a message.
        log.exception("unexpected error on the customer page")
        error, status = error_message(lang, 500), 500
    html = _render(
        request, lang, answer=answer, error=error, tiles=(settings.tiles_url, settings.tiles_attribution),
        widened_from_km=widened,
    )  # fmt: skip
    return _html(html, page_policy(settings.tiles_url), status, headers)


def _language(request: Request) -> str:
    return pick_language(request.headers.get("accept-language"), query_lang=request.query_params.get("lang"))


def _render(
    request: Request,
    lang: str,
    *,
    answer: dict[str, Any] | None,
    error: str | None,
    tiles: tuple[str, str] = ("", ""),
    widened_from_km: float | None = None,
) -> str:
    # Echoed values are cut (a parameter as long as the URL allows is not sent back whole), and cleaned of control
    # and bidi characters: `?q=%00` was rendered as `value="\x00"`, and sent back with the next search.
    form = {k: clean_text(v[:MAX_QUERY_LENGTH]) for k, v in request.query_params.items()}
    for key in _REPEATABLE:  # the form sends every value again, as one comma-separated one
        if len(request.query_params.getlist(key)) > 1:
            form[key] = clean_text(",".join(request.query_params.getlist(key))[:MAX_QUERY_LENGTH])
    if answer is not None and form.get("at"):
        form["at"] = _wall_clock(form["at"], answer["origin"])
    accept = request.headers.get("accept-language")
    return render_page(
        lang=lang, form=form, answer=answer, error=error, units=pick_units(accept), tiles_url=tiles[0],
        tiles_attribution=tiles[1], widened_from_km=widened_from_km, clock=pick_clock(accept, lang),
    )  # fmt: skip


def _search(
    engine: Engine, settings: Settings, params: QueryParams, q: str
) -> tuple[dict[str, Any] | None, float | None]:
    """The nearest answer for the form's query, or None when it asks nothing yet (no q, no position); and the
    radius (km) it found nothing within, when the answer searched farther."""
    if len(q) > MAX_QUERY_LENGTH:
        # Cut and searched as such, it found nothing, or something else than what was typed.
        raise InvalidParameter("q", f"must be at most {MAX_QUERY_LENGTH} characters")
    lat, lon = _float(params, "lat"), _float(params, "lon")
    if not q and (lat is None or lon is None):
        return None, None
    where = Where(q=q or None, lat=None if q else lat, lon=None if q else lon, country=params.get("country") or None)
    # Located once: a local time needs the origin's timezone, and a search farther away the same origin.
    origin = locate(engine, where, settings)
    at_raw = params.get("at", "").strip()
    at = None
    if at_raw:
        try:
            at = _local_instant(at_raw, origin)
        except (ValueError, OverflowError):
            # OverflowError: a wall-clock time near year 1 or 9999 has no UTC instant.
            raise InvalidParameter("at", "must be a date and time") from None
    filters: dict[str, Any] = {
        "kinds": _one(params, "kind"), "products": _one(params, "product"), "services": _one(params, "service"),
        "open": "any" if params.get("open") == "any" else "now", "at": at, "jsonld": True, "origin": origin,
    }  # fmt: skip
    answer = nearest_answer(engine, settings, where, radius_km=PAGE_RADIUS_KM, **filters)
    if answer["results"]:
        return answer, None
    # Nothing near at all (Brest's nearest shop is 300 km away): the nearest farther away rather than an empty
    # page whose advice ("try Any time") cannot help. Only then: closed places near (Lyon on a Sunday) are the
    # answer's own advice, not a reason to send the visitor to Marseille.
    if (
        filters["open"] != "any"
        and nearest_answer(
            engine, settings, where, radius_km=PAGE_RADIUS_KM, limit=1, **{**filters, "open": "any", "jsonld": False}
        )["results"]
    ):
        return answer, None
    return nearest_answer(engine, settings, where, radius_km=MAX_RADIUS_KM, **filters), PAGE_RADIUS_KM


def rate_limited_page(scope: Scope, retry_after_s: int) -> HTMLResponse:
    """The customer page's answer to a visitor over LOCATOR_RATE_LIMIT (for locator.api.limits.Guard on
    `/`): the page with its form and a message in their language, rather than a problem+json body that the
    browser would show as raw text."""
    request = Request(scope)
    lang = _language(request)
    html = _render(request, lang, answer=None, error=error_message(lang, 429))
    return _html(html, page_policy(), 429, {"Retry-After": str(retry_after_s)})


def rate_limited_map(scope: Scope, retry_after_s: int) -> HTMLResponse:
    """`/v1/map`'s answer to a browser over LOCATOR_RATE_LIMIT: the message in the visitor's language, as the
    map answers its other errors."""
    lang = _language(Request(scope))
    return _html(render_map_message(error_message(lang, 429), lang), page_policy(), 429,
                 {"Retry-After": str(retry_after_s)})  # fmt: skip


# Filters a link may repeat (`kind=kiosk&kind=service_centre`), as the JSON API reads them.
_REPEATABLE = ("kind", "product", "service")


def _one(params: QueryParams, key: str) -> tuple[str, ...]:
    # The JSON API's own check: a NUL or a stray character reached the database and answered 500. Every value
    # given: the last one alone answered fewer places than the API, without a word.
    return filter_values(key, [value for value in params.getlist(key) if value] or None)
