"""Every error becomes application/problem+json here, and nowhere else: never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from locator.db import outage_reason
from locator.errors import (
    Busy,
    DatabaseUnavailable,
    GeocoderUnavailable,
    InvalidParameter,
    LocatorError,
    NotFound,
)

log = logging.getLogger("locator.api")

PROBLEM = "application/problem+json"
STATUS: dict[type[LocatorError], int] = {
    InvalidParameter: 422,
    NotFound: 404,
    Busy: 503,
    DatabaseUnavailable: 503,
    GeocoderUnavailable: 503,
}


def status_for(exc: LocatorError) -> int:
    """The HTTP status of a core error: the API's problem+json and the pages' HTML answers say the same."""
    return next((code for cls, code in STATUS.items() if isinstance(exc, cls)), 500)


class ContentTooLarge(Exception):
    """An admin upload went past LOCATOR_ADMIN_UPLOAD_MAX_BYTES: refused before the rest of it is read."""

    def __init__(self, what: str, limit_bytes: int) -> None:
        super().__init__(f"{what} is larger than the limit of {_size(limit_bytes)} (LOCATOR_ADMIN_UPLOAD_MAX_BYTES)")
        self.limit_bytes = limit_bytes


def _size(n: int) -> str:
    mib = 1 << 20
    return f"{n // mib} MiB" if n % mib == 0 else f"{n} bytes"


# How long a 503's client should wait before it asks again (Retry-After), unless the error names its own (Busy).
RETRY_AFTER_S = 5


def retry_after(exc: Exception) -> int:
    """A 503's Retry-After: the error's own wait when it names one (a full refresh under way, a geocoder that
    rate-limited us for minutes), else RETRY_AFTER_S."""
    own = exc.retry_after_s if isinstance(exc, Busy | GeocoderUnavailable) else None
    return max(own or 0, RETRY_AFTER_S)


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    headers = {"Retry-After": str(RETRY_AFTER_S)} if status == 503 else None
    return JSONResponse(
        {"type": "about:blank", "status": status, "title": title, "detail": detail, **extra},
        status_code=status,
        media_type=PROBLEM,
        headers=headers,
    )


def validation_detail(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    errors = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ()) if part not in ("query", "path", "body")]
        if error.get("type") == "json_invalid":
            location = ["body"]  # its loc is the character where parsing stopped ("1" named no parameter)
        errors.append({"parameter": ".".join(location) or "request", "message": error.get("msg", "invalid")})
    detail = "; ".join(f"{e['parameter']}: {e['message']}" for e in errors) or "invalid request"
    return detail, errors


def install(app: FastAPI) -> None:
    from sqlalchemy.exc import DataError, InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    @app.exception_handler(LocatorError)
    async def locator_error(request: Request, exc: LocatorError) -> JSONResponse:
        status = status_for(exc)
        if status == 503:
            log.warning("%s on %s: %s", exc.title, request.url.path, exc)  # one line: an outage is no bug
        # Both 422 shapes carry `parameter` (the first) and `errors` (each): a client reads either.
        extra: dict[str, Any] = (
            {"parameter": exc.parameter, "errors": [{"parameter": exc.parameter, "message": exc.message}]}
            if isinstance(exc, InvalidParameter)
            else {}
        )
        response = problem(status, exc.title, str(exc), **extra)
        if status == 503:
            response.headers["Retry-After"] = str(retry_after(exc))
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail, errors = validation_detail(exc)
        first = errors[0]["parameter"] if errors else "request"
        return problem(422, "invalid parameter", detail, parameter=first, errors=errors)

    @app.exception_handler(ContentTooLarge)
    async def too_large(request: Request, exc: ContentTooLarge) -> JSONResponse:
        # The client may still be sending: the rest of its body is not read, so the connection is not reused.
        response = problem(413, "content too large", str(exc), limit_bytes=exc.limit_bytes)
        response.headers["Connection"] = "close"
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = {401: "unauthorized", 403: "forbidden", 404: "not found", 405: "method not allowed",
                 429: "too many requests"}  # fmt: skip
        response = problem(exc.status_code, title.get(exc.status_code, "error"), str(exc.detail))
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    # Handlers of their own rather than branches of the catch-all below: Starlette answers an `Exception` handler
    # from its outermost middleware and then raises the error again, so uvicorn logged a whole traceback for
    # each 503 of an outage (the support and admin routes let SQLAlchemy's errors through).
    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(PoolTimeout)
    @app.exception_handler(psycopg.OperationalError)
    async def unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable on %s: %s", request.url.path, outage_reason(exc))
        return problem(503, "database unavailable", "the database did not answer")

    @app.exception_handler(OverflowError)
    async def out_of_range(request: Request, exc: OverflowError) -> JSONResponse:
        # Date arithmetic past year 9999 (`at` near datetime.max plus a window): an input out of range.
        log.warning("date out of range on %s: %s", request.url.path, exc)
        return problem(422, "invalid parameter", "a date is outside the supported range")

    @app.exception_handler(DataError)
    @app.exception_handler(psycopg.DataError)
    async def refused_value(request: Request, exc: Exception) -> JSONResponse:
        # The database refused a value the request carried (NUL in text, a number out of range): the client's
        # mistake, not ours; logged all the same, since a parameter check is missing somewhere. (psycopg's own
        # from the hot statements, which run on the driver: locator.db.fetch_rows.)
        log.warning("database refused a request value on %s: %s", request.url.path, getattr(exc, "orig", exc))
        return problem(422, "invalid parameter", "a parameter holds a value the database cannot store")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        response = problem(500, "internal error", "an unexpected error occurred; it has been logged")
        # Starlette answers this one from its outermost middleware, outside ours: the headers they give every
        # answer are given here (without CORS's, a page on an allowed origin saw a network error, not this).
        response.headers["X-Content-Type-Options"] = "nosniff"
        origin = request.headers.get("origin")
        settings = getattr(request.app.state, "settings", None)
        allowed = settings.cors_origin_list if settings is not None else []
        if origin and "*" in allowed:
            response.headers["Access-Control-Allow-Origin"] = "*"  # as Starlette's CORS answers then
        elif origin and origin in allowed:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
        return response
