"""Admin endpoints: feed upload (the same report as the CLI) and the audit trail of ingest runs."""

from __future__ import annotations

import codecs
import functools
import hmac
import math
import tempfile
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import date
from pathlib import Path, PureWindowsPath
from typing import IO, TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response, Security
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from sqlalchemy import Engine, text

from locator.api import dependencies as deps
from locator.api.errors import ContentTooLarge, problem
from locator.api.limits import FixedWindowLimiter, client_key
from locator.api.locations import PROBLEM_CONTENT
from locator.api.params import NO_NUL, LocationId
from locator.settings import Settings

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

# A body without a file name is saved under this one, without a suffix: with format auto the readers then tell
# the format from the content (a suffix would decide it: `.csv` made every GeoJSON body a broken CSV).
BODY_NAME = "request-body"
# A multipart body holds boundaries and part headers besides the file (and perhaps a browser form's small
# fields): this much more than the file's limit is read of it before it is refused.
MULTIPART_ALLOWANCE = 64 * 1024


@functools.cache
def _failed_logins(per_minute: int) -> FixedWindowLimiter | None:
    """The count of wrong admin tokens by client (LOCATOR_ADMIN_FAILED_LOGINS), one per process."""
    return FixedWindowLimiter(per_minute) if per_minute > 0 else None


def check_admin(settings: Settings, authorization: str | None) -> None:
    if not settings.admin_token:
        raise HTTPException(403, "admin endpoints are disabled: LOCATOR_ADMIN_TOKEN is not set")
    scheme, _, token = (authorization or "").partition(" ")
    # RFC 6750 allows several spaces after the scheme. The server decoded the header's bytes as Latin-1:
    # encoding back gives the bytes the client sent, a non-ASCII token's UTF-8 (re-encoding as UTF-8 never
    # matched). compare_digest: the time taken does not tell how much of a guessed token was right.
    sent = token.lstrip(" ").encode("latin-1")
    if scheme.lower() != "bearer" or not hmac.compare_digest(sent, settings.admin_token.encode()):
        raise HTTPException(401, "a valid 'Authorization: Bearer <token>' header is required",
                            headers={"WWW-Authenticate": "Bearer"})  # fmt: skip


class AdminRoute(APIRoute):
    """A route that checks the token before anything else of the request is looked at.

    As a dependency the check ran too late: FastAPI reads and parses a JSON body before it solves a route's
    dependencies, so an anonymous caller's malformed body was answered 422 with the schema's field names, and
    whatever body it announced was read first. Every route of this router is guarded by construction."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            settings = await deps.settings(request)
            limiter = _failed_logins(settings.admin_failed_logins)
            client = client_key(request.client.host) if request.client else "unknown"
            # Checked before the token: a right guess must not get through either.
            if limiter is not None and (wait := limiter.exceeded(client)) is not None:
                raise HTTPException(429, f"more than {limiter.per_minute} wrong tokens this minute",
                                    headers={"Retry-After": str(max(1, math.ceil(wait)))})  # fmt: skip
            try:
                check_admin(settings, request.headers.get("authorization"))
            except HTTPException as exc:
                if exc.status_code == 401 and limiter is not None:
                    limiter.hit(client)
                raise
            return await handler(request)

        return guarded


# Documents the scheme in the OpenAPI schema (the /docs page's Authorize button); the check is AdminRoute's.
_bearer = HTTPBearer(auto_error=False, description="LOCATOR_ADMIN_TOKEN")


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": PROBLEM_CONTENT}


# Every admin error is problem+json, as the API's others (the schema said 422 was FastAPI's own shape).
ADMIN_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _problem("no or a wrong bearer token"),
    403: _problem("LOCATOR_ADMIN_TOKEN is unset: every admin call is refused"),
    404: _problem("no such location or special hours"),
    422: _problem("invalid parameter, or a rejected feed (the report rides along)"),
    429: _problem("more wrong tokens from this client this minute than LOCATOR_ADMIN_FAILED_LOGINS (see Retry-After)"),
    503: _problem("database unavailable (see Retry-After)"),
}
router = APIRouter(
    prefix="/v1/admin",
    tags=["admin"],
    route_class=AdminRoute,
    dependencies=[Security(_bearer)],
    responses=ADMIN_RESPONSES,
)


def _safe_name(name: str | None) -> str | None:
    """The uploaded file's own name, usable as a file name in the upload's directory, or None.

    The file is saved under it, so that format detection reads its suffix and every message the readers write
    names the file ops staff sent, not a temporary one. Browsers may send a client's full path (backslashes
    included), and a hostile client anything: only the last component is kept.
    """
    if not name:
        return None
    base = PureWindowsPath(name).name.strip()  # splits on both / and \
    if base in ("", ".", "..") or "\x00" in base or len(base.encode()) > 200:
        return None
    return base


async def _body(request: Request, cap: int, limit: int, what: str) -> AsyncIterator[bytes]:
    """The request body as it arrives; ContentTooLarge (naming `limit`) as soon as more than `cap` bytes came,
    or were announced, without reading the rest."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise ContentTooLarge(what, limit)
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise ContentTooLarge(what, limit)
        yield chunk


def _decode(value: bytes, charset: str) -> str:
    try:
        return value.decode(charset)
    except UnicodeDecodeError:
        return value.decode("latin-1")  # as Starlette's form parser did: a name is shown, never refused


class _FileField:
    """Writes a multipart body's `file` field to disk as the body arrives, refusing it past `limit` bytes.

    Starlette's form parser spooled the whole body before the route saw any of it: the size check came after
    an upload of any size had been read in full. Other fields are parsed past, not kept."""

    def __init__(self, directory: Path, limit: int, charset: str) -> None:
        self.directory, self.limit, self.charset = directory, limit, charset
        self.name: str | None = None  # the client's file name, NULs removed
        self.path: Path | None = None  # set once the field has ended
        self._target = directory / BODY_NAME  # where the field is being written
        self._out: IO[bytes] | None = None
        self._size = 0
        self._header = bytearray()
        self._value = bytearray()
        self._disposition = b""

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda data, start, end: self._header.extend(data[start:end]),
            "on_header_value": lambda data, start, end: self._value.extend(data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _part_begin(self) -> None:
        self._disposition = b""

    def _header_end(self) -> None:
        if self._header.lower() == b"content-disposition":
            self._disposition = bytes(self._value)
        self._header.clear()
        self._value.clear()

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        # Without a file name, a `file` part is a form's text field, as Starlette read it too.
        if options.get(b"name") != b"file" or b"filename" not in options:
            return
        if self._out is not None or self.path is not None:
            raise HTTPException(422, "the multipart body has more than one 'file' field")
        filename = _decode(options[b"filename"], self.charset)
        # PostgreSQL text holds no NUL: one in the name made the audit insert fail, and the run went unrecorded.
        self.name = filename.replace("\x00", "") if filename else None
        self._target = self.directory / (_safe_name(self.name) or BODY_NAME)
        self._out = self._target.open("wb")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._out is None:
            return
        self._size += end - start
        if self._size > self.limit:
            raise ContentTooLarge("the file", self.limit)
        # Written from the event loop, as the raw body is: a chunk (tens of KiB) goes to the page cache.
        self._out.write(data[start:end])

    def _part_end(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
            self.path = self._target

    def close(self) -> None:
        if self._out is not None:
            self._out.close()


def _charset(params: dict[bytes, bytes]) -> str:
    try:
        return codecs.lookup(params.get(b"charset", b"utf-8").decode("latin-1")).name
    except LookupError:
        return "latin-1"


async def _save_multipart(request: Request, directory: Path, limit: int) -> tuple[Path, str | None]:
    _, params = parse_options_header(request.headers.get("content-type"))
    boundary = params.get(b"boundary")
    if not boundary:
        raise HTTPException(400, "Missing boundary in multipart.")  # Starlette's words, as before
    field = _FileField(directory, limit, _charset(params))
    parser = MultipartParser(boundary, field.callbacks())
    try:
        async for chunk in _body(request, limit + MULTIPART_ALLOWANCE, limit, "the file"):
            parser.write(chunk)
        parser.finalize()
    except FormParserError:
        raise HTTPException(400, "Invalid multipart data.") from None
    finally:
        field.close()
    if field.path is None:
        raise HTTPException(422, "the multipart body needs a 'file' field")
    return field.path, field.name


async def _save_body(request: Request, directory: Path, limit: int) -> Path:
    target = directory / BODY_NAME
    size = 0
    with target.open("wb") as out:
        async for chunk in _body(request, limit, limit, "the body"):
            size += len(chunk)
            out.write(chunk)
    if size == 0:
        raise HTTPException(422, "the request body is empty: send the feed file")
    return target


async def _upload_to_file(request: Request, directory: Path, limit: int) -> tuple[Path, str | None]:
    """The feed from a multipart upload (field `file`) or the raw request body, streamed to disk; never more
    than `limit` bytes of the file are read."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        return await _save_multipart(request, directory, limit)
    return await _save_body(request, directory, limit), None


_FEED = {"schema": {"type": "string", "format": "binary"}}
INGEST_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "the feed file as the body, or a multipart upload's `file` field",
        "content": {
            "text/csv": _FEED,
            "application/geo+json": _FEED,
            "application/json": _FEED,
            "application/octet-stream": _FEED,
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            },
        },
    }
}


@router.post(
    "/ingest",
    openapi_extra=INGEST_OPENAPI,
    responses={
        409: _problem("the removal guard refused the feed (allow_removals=true if intended)"),
        413: _problem("the file is larger than LOCATOR_ADMIN_UPLOAD_MAX_BYTES"),
    },
)
async def ingest(
    request: Request,
    settings: Annotated[Settings, Depends(deps.settings)],
    engine: Annotated[Engine, Depends(deps.write_engine)],
    source: Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")],
    format: Annotated[Literal["auto", "csv", "geojson", "bestbuy"], Query()] = "auto",
    dry_run: Annotated[bool, Query()] = False,
    partial: Annotated[bool, Query()] = False,
    allow_removals: Annotated[bool, Query()] = False,
    x_actor: Annotated[str | None, Header(max_length=100)] = None,
) -> Any:
    """Validate, diff and (unless a dry run) publish a feed; the report is the CLI's `--json` report."""
    from starlette.concurrency import run_in_threadpool

    from ingest.geocoding import chain_locator
    from ingest.publish import audit_unread, ingest_file

    client = request.client.host if request.client else "unknown"
    actor = f"api:{x_actor or 'admin'}@{client}"
    with tempfile.TemporaryDirectory(prefix="locator-upload-") as directory:
        try:
            path, name = await _upload_to_file(request, Path(directory), settings.admin_upload_max_bytes)
        except (ContentTooLarge, HTTPException) as exc:  # no file arrived whole: a failed run, as every attempt is
            message = str(exc.detail) if isinstance(exc, HTTPException) else str(exc)
            await run_in_threadpool(audit_unread, engine, source=source, fmt=format, dry_run=dry_run, actor=actor,
                                    message=message)  # fmt: skip
            raise
        report = await run_in_threadpool(
            ingest_file, engine, path, source=source, fmt=format, dry_run=dry_run, partial=partial,
            allow_removals=allow_removals, actor=actor, file_name=name, locate=chain_locator(engine, settings),
        )  # fmt: skip
    body = report.as_dict()
    if report.outcome in ("published", "dry-run") and not report.rejected:
        return body
    if report.unavailable:
        # Not the feed's fault: the same 503 as every route while the database (or a geocoder) does not answer.
        return problem(503, report.unavailable, report.message, **body)
    status = 409 if report.outcome == "refused" else 422
    if report.outcome == "published":
        status = 200  # --partial: published with rejections listed
        return JSONResponse(body, status_code=status)
    title = {"refused": "removal guard", "rejected": "feed rejected", "failed": "feed unreadable"}.get(
        report.outcome, "ingest failed"
    )
    return problem(status, title, report.message, **body)


@router.get("/ingest-runs")
def ingest_runs(
    engine: Annotated[Engine, Depends(deps.write_engine)],
    source: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="runs older than this run id: the next page of the trail")
    ] = None,
    outcome: Annotated[Literal["published", "dry-run", "rejected", "refused", "failed"] | None, Query()] = None,
) -> dict[str, Any]:
    """The audit trail, newest first; `before` the last id of a page gives the next page."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """
                SELECT id, started_at, finished_at, source, format, file_name, file_sha256, dry_run, outcome,
                       added, changed, removed, unchanged, rejected, warnings, actor,
                       report -> 'message' AS message
                  FROM ingest_runs
                 WHERE (CAST(:source AS text) IS NULL OR source = :source)
                   AND (CAST(:before AS bigint) IS NULL OR id < :before)
                   AND (CAST(:outcome AS text) IS NULL OR outcome = :outcome)
                 ORDER BY id DESC
                 LIMIT :limit
                """
            ),
            {"source": source, "limit": limit, "before": before, "outcome": outcome},
        ).mappings()
        runs = [
            {**row, "started_at": row["started_at"].isoformat(),
             "finished_at": row["finished_at"].isoformat() if row["finished_at"] else None}
            for row in rows
        ]  # fmt: skip
    return {"runs": runs}


class SpecialHoursIn(BaseModel):
    start: date
    end: date | None = None
    hours: str = Field(default="off", max_length=200, description="e.g. '10:00-14:00', or 'off'")
    service: str = Field(
        default="",
        max_length=40,
        pattern=NO_NUL,
        description="only this service's hours (one the place offers); '' for the place's",
    )
    comment: str | None = Field(default=None, max_length=200, pattern=NO_NUL)


class SpecialHoursManyIn(SpecialHoursIn):
    """One exception for every place matching all the filters given (at least one)."""

    country: str | None = Field(default=None, max_length=2, description="ISO 3166-1 alpha-2")
    region: str | None = Field(default=None, max_length=100, pattern=NO_NUL, description="as the feed names it")
    source: str | None = Field(default=None, max_length=100, pattern=NO_NUL)
    kinds: list[Annotated[str, Field(max_length=40, pattern=NO_NUL)]] = Field(
        default=[], max_length=20, description="any of these kinds"
    )
    ids: list[Annotated[str, Field(max_length=200, pattern=NO_NUL)]] = Field(
        default=[], max_length=10_000, description="these places"
    )
    dry_run: bool = Field(default=False, description="count and check the places, write nothing (answered 200)")
    include_closed: bool = Field(
        default=False, description="also on the days a place's own hours keep it closed (left out by default)"
    )

    # A misspelt filter ("kind" for "kinds") ignored would widen the batch to every kind.
    model_config = ConfigDict(extra="forbid")


@router.post(
    "/special-hours",
    status_code=201,
    responses={
        200: {
            "description": "a dry run, or nothing to add: every place already holding it, places named by id all "
            "closed those days, or the same selection kept already (a selection whose places are all closed is "
            "kept for the places later feeds add: 201)"
        }
    },
)
def special_hours_add_many(
    engine: Annotated[Engine, Depends(deps.write_engine)], body: SpecialHoursManyIn, response: Response
) -> dict[str, Any]:
    """The same holiday hours or closure for many places at once (Christmas Eve for a country's shops): one
    batch, all or nothing. Days a place's own hours keep it closed are left out (`closed`) unless
    `include_closed`; places already holding the same exception are left as they are (`already`). The answer
    counts the places and lists the first 100 ids of each; `batch` takes it back."""
    from locator.special_hours import Places, add_to_places

    places = Places(body.country, body.region, body.source, tuple(body.kinds), tuple(body.ids))
    added = add_to_places(engine, places, body.start, body.end or body.start, hours=body.hours,
                          service=body.service, comment=body.comment, dry_run=body.dry_run,
                          include_closed=body.include_closed)  # fmt: skip
    if body.dry_run or added["batch"] is None:  # nothing written: no batch created
        response.status_code = 200
    return added


@router.get("/special-hours/batches")
def special_hours_batches(
    engine: Annotated[Engine, Depends(deps.write_engine)], limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> dict[str, Any]:
    """The newest batches of exceptions still held, each with its places' count, days, hours and comment."""
    from locator.special_hours import batches

    return {"batches": batches(engine, limit)}


@router.delete("/special-hours/batches/{batch}", status_code=204)
def special_hours_remove_batch(engine: Annotated[Engine, Depends(deps.write_engine)], batch: int) -> None:
    """Every exception of a batch, removed."""
    from locator.special_hours import remove_batch

    remove_batch(engine, batch)


@router.get("/locations/{location_id:path}/special-hours")
def special_hours_list(
    engine: Annotated[Engine, Depends(deps.write_engine)], location_id: LocationId
) -> dict[str, Any]:
    from locator.special_hours import list_for

    return {"special_hours": list_for(engine, location_id)}


@router.post(
    "/locations/{location_id:path}/special-hours",
    status_code=201,
    responses={200: {"description": "the same exception was held already: that one"}},
)
def special_hours_add(
    engine: Annotated[Engine, Depends(deps.write_engine)],
    location_id: LocationId,
    body: SpecialHoursIn,
    response: Response,
) -> dict[str, Any]:
    """Holiday hours or a closure for some days; overrides the feed's hours on those days. The same exception
    sent again is the one held (200, `created: false`), not a second one."""
    from locator.special_hours import add

    added = add(engine, location_id, body.start, body.end or body.start, hours=body.hours, service=body.service,
                comment=body.comment)  # fmt: skip
    if not added["created"]:
        response.status_code = 200
    return added


@router.delete("/special-hours/{special_id}", status_code=204)
def special_hours_remove(engine: Annotated[Engine, Depends(deps.write_engine)], special_id: int) -> None:
    from locator.special_hours import remove

    remove(engine, special_id)
