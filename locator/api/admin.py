"""Admin endpoints: feed upload (the same report as the CLI) and the audit trail of ingest runs."""

from __future__ import annotations

import hmac
import tempfile
from datetime import date
from pathlib import Path, PureWindowsPath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import Engine, text

from locator.api import dependencies as deps
from locator.api.errors import PROBLEM
from locator.settings import Settings

router = APIRouter(prefix="/v1/admin", tags=["admin"])

MAX_UPLOAD_BYTES = 512 * 1024 * 1024
# A body without a file name is saved under this one, without a suffix: with format auto the readers then tell
# the format from the content (a suffix would decide it: `.csv` made every GeoJSON body a broken CSV).
BODY_NAME = "request-body"


# No I/O: async, so FastAPI runs it on the event loop, not with a hop to the thread pool.
async def require_admin(
    settings: Annotated[Settings, Depends(deps.settings)],
    authorization: Annotated[str | None, Header()] = None,
) -> None:
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


Admin = Annotated[None, Depends(require_admin)]


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


async def _upload_to_file(request: Request, directory: Path) -> tuple[Path, str | None]:
    """The feed from a multipart upload (field `file`) or the raw request body, streamed to disk."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise HTTPException(422, "the multipart body needs a 'file' field")
        # PostgreSQL text holds no NUL: one in the name made the audit insert fail, and the run went unrecorded.
        name = upload.filename.replace("\x00", "") if upload.filename else None
        target = directory / (_safe_name(name) or BODY_NAME)
        size = 0
        with target.open("wb") as out:
            while chunk := await upload.read(1 << 20):
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    raise HTTPException(413, f"the file is larger than {MAX_UPLOAD_BYTES >> 20} MiB")
                out.write(chunk)
        return target, name
    target = directory / BODY_NAME
    size = 0
    with target.open("wb") as out:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                raise HTTPException(413, f"the body is larger than {MAX_UPLOAD_BYTES >> 20} MiB")
            out.write(chunk)
    if size == 0:
        raise HTTPException(422, "the request body is empty: send the feed file")
    return target, None


@router.post("/ingest")
async def ingest(
    request: Request,
    _: Admin,
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

    from ingest.geocoding import gazetteer_locator
    from ingest.publish import ingest_file

    client = request.client.host if request.client else "unknown"
    actor = f"api:{x_actor or 'admin'}@{client}"
    with tempfile.TemporaryDirectory(prefix="locator-upload-") as directory:
        path, name = await _upload_to_file(request, Path(directory))
        report = await run_in_threadpool(
            ingest_file, engine, path, source=source, fmt=format, dry_run=dry_run, partial=partial,
            allow_removals=allow_removals, actor=actor, file_name=name, locate=gazetteer_locator(engine),
        )  # fmt: skip
    body = report.as_dict()
    if report.outcome in ("published", "dry-run") and not report.rejected:
        return body
    status = 409 if report.outcome == "refused" else 422
    if report.outcome == "published":
        status = 200  # --partial: published with rejections listed
        return JSONResponse(body, status_code=status)
    title = {"refused": "removal guard", "rejected": "feed rejected", "failed": "feed unreadable"}.get(
        report.outcome, "ingest failed"
    )
    return JSONResponse({"status": status, "title": title, "detail": report.message, **body}, status_code=status,
                        media_type=PROBLEM)  # fmt: skip


@router.get("/ingest-runs")
def ingest_runs(
    _: Admin,
    engine: Annotated[Engine, Depends(deps.write_engine)],
    source: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """The audit trail, newest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """
                SELECT id, started_at, finished_at, source, format, file_name, file_sha256, dry_run, outcome,
                       added, changed, removed, unchanged, rejected, warnings, actor,
                       report -> 'message' AS message
                  FROM ingest_runs
                 WHERE CAST(:source AS text) IS NULL OR source = :source
                 ORDER BY id DESC
                 LIMIT :limit
                """
            ),
            {"source": source, "limit": limit},
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
    service: str = Field(default="", max_length=40)
    comment: str | None = Field(default=None, max_length=200)


@router.get("/locations/{location_id}/special-hours")
def special_hours_list(
    _: Admin, engine: Annotated[Engine, Depends(deps.write_engine)], location_id: str
) -> dict[str, Any]:
    from locator.special_hours import list_for

    return {"special_hours": list_for(engine, location_id)}


@router.post("/locations/{location_id}/special-hours", status_code=201)
def special_hours_add(
    _: Admin, engine: Annotated[Engine, Depends(deps.write_engine)], location_id: str, body: SpecialHoursIn
) -> dict[str, Any]:
    """Holiday hours or a closure for some days; overrides the feed's hours on those days."""
    from locator.special_hours import add

    return add(engine, location_id, body.start, body.end or body.start, hours=body.hours, service=body.service,
               comment=body.comment)  # fmt: skip


@router.delete("/special-hours/{special_id}", status_code=204)
def special_hours_remove(_: Admin, engine: Annotated[Engine, Depends(deps.write_engine)], special_id: int) -> None:
    from locator.special_hours import remove

    remove(engine, special_id)
