"""The API's documentation pages, /docs (Swagger UI) and /redoc, on the scripts of /assets.

FastAPI links both from a CDN without pinning a version or an integrity hash, and the default policy for
HTML left scripts unrestricted: an operator who typed the admin token into Swagger UI's Authorize box ran
the CDN's current code on this origin (and on a closed network the pages stayed blank). The files come
from the npm registry with the maps' (maps.assets: pinned sha512), and each page names what it may run.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

from maps.assets import REDOC, SWAGGER_UI
from maps.csp import docs_policy

router = APIRouter(include_in_schema=False)

_ASSETS = "/assets"


def _with_policy(page: HTMLResponse, workers: str = "") -> HTMLResponse:
    html = bytes(page.body).decode()
    return HTMLResponse(html, headers={"Content-Security-Policy": docs_policy(html, workers)})


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    title = f"{request.app.title} - Swagger UI"
    page = get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=title,
        swagger_js_url=SWAGGER_UI.url(_ASSETS, "swagger-ui-bundle.js"),
        swagger_css_url=SWAGGER_UI.url(_ASSETS, "swagger-ui.css"),
        swagger_favicon_url=SWAGGER_UI.url(_ASSETS, "favicon-32x32.png"),
    )
    return _with_policy(page)


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    page = get_redoc_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=REDOC.url(_ASSETS, "bundles/redoc.standalone.js"),
        redoc_favicon_url=SWAGGER_UI.url(_ASSETS, "favicon-32x32.png"),
        with_google_fonts=False,
    )
    # ReDoc's search runs in a worker it makes from a blob.
    return _with_policy(page, "worker-src blob:")
