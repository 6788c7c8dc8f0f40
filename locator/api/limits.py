"""Per-client rate limiting on public endpoints, CORS, and security headers (all of them on HTML).

The limiter is a fixed one-minute window per client address, in process memory: with N workers a client
gets up to N times the limit, which is the price of needing no shared store. Put a proxy's limiter in
front for exact global limits.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from locator.api.errors import problem
from locator.settings import Settings

PUBLIC_PREFIXES = ("/v1/locations", "/v1/geocode", "/v1/map", "/v1/support")
HTML_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "geolocation=(self), camera=(), microphone=()",
    # Framing, plugins, <base> and form targets only: each of our pages sends a policy of its own with what it
    # runs (maps.csp, locator.api.docs); this is for any other HTML, such as an error page.
    "Content-Security-Policy": "frame-ancestors 'self'; object-src 'none'; base-uri 'self'; form-action 'self'",
    # The pages say what is open now: a cache may keep one only to ask whether it still holds.
    "Cache-Control": "no-cache",
}


# Clients counted in one minute, at most: past it (a flood from many addresses), the new ones share one count,
# so memory stays bounded (~10 MB) and the flood is held to one client's rate.
MAX_CLIENTS = 100_000
OVERFLOW = "(every other client)"


class FixedWindowLimiter:
    def __init__(self, per_minute: int, max_clients: int = MAX_CLIENTS) -> None:
        self.per_minute = per_minute
        self.max_clients = max_clients
        self._window = 0
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def hit(self, client: str, now: float | None = None) -> float | None:
        """None when allowed, else the seconds until the client may try again."""
        moment = time.time() if now is None else now
        window = int(moment // 60)
        with self._lock:
            if window != self._window:
                self._window, self._counts = window, {}
            if client not in self._counts and len(self._counts) >= self.max_clients:
                client = OVERFLOW
            count = self._counts.get(client, 0) + 1
            self._counts[client] = count
        if count > self.per_minute:
            return 60 - (moment % 60)
        return None

    def exceeded(self, client: str, now: float | None = None) -> float | None:
        """`hit`'s answer for one more, without counting it: None while `client` has some of this minute left."""
        moment = time.time() if now is None else now
        with self._lock:
            if int(moment // 60) != self._window:
                counted = 0
            elif client not in self._counts and len(self._counts) >= self.max_clients:
                counted = self._counts.get(OVERFLOW, 0)  # where `hit` counts it: a full table is no way round
            else:
                counted = self._counts.get(client, 0)
        return 60 - (moment % 60) if counted >= self.per_minute else None


class Guard:
    """Rate limit on the public paths and security headers on HTML, as plain ASGI middleware: Starlette's
    `@app.middleware("http")` wraps every response in a task and a stream, a cost paid on every request."""

    def __init__(self, app: ASGIApp, limiter: FixedWindowLimiter | None, per_minute: int) -> None:
        self.app = app
        self.limiter = limiter
        self.per_minute = per_minute

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "HEAD":
            # Monitors and link checkers ask HEAD; FastAPI's GET routes answer it with 405. The GET's headers
            # it is: uvicorn itself sends no body for a HEAD request, whatever the app writes.
            scope = {**scope, "method": "GET"}
        path = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                # Every answer, not only HTML: JSON bodies carry feed text (a name may hold markup).
                headers.setdefault("X-Content-Type-Options", "nosniff")
                if headers.get("content-type", "").startswith("text/html"):
                    for key, value in HTML_HEADERS.items():
                        headers.setdefault(key, value)
                if path == "/v1/map":
                    # HTML for a browser, problem+json for other clients, at one URL: a cache must tell them apart.
                    headers.add_vary_header("Accept")
                allow = headers.get("allow")
                if message["status"] == 405 and allow and "HEAD" not in allow and "GET" in allow:
                    headers["Allow"] = f"{allow}, HEAD"  # answered as GET above, which the router never saw
            await send(message)

        if self.limiter is not None and (path == "/" or path.startswith(PUBLIC_PREFIXES)):
            # Cut: behind a trusted proxy the address comes from X-Forwarded-For, whose entries may be megabytes
            # long, and each distinct one holds a bucket until the minute turns.
            client = client_key(scope["client"][0]) if scope.get("client") else "unknown"
            wait = self.limiter.hit(client)
            if wait is not None:
                retry_after = max(1, math.ceil(wait))
                if path == "/" or (path == "/v1/map" and _asks_html(scope)):
                    # A visitor's browser would show a problem+json body as raw text: the page says it instead (the
                    # map, as it answers a browser its other errors).
                    from locator.api.pages import rate_limited_map, rate_limited_page  # lazy: they import routers

                    page = rate_limited_page if path == "/" else rate_limited_map
                    await page(scope, retry_after)(scope, receive, send_with_headers)
                    return
                detail = f"at most {self.per_minute} requests per minute per client"
                response = problem(429, "too many requests", detail)
                response.headers["Retry-After"] = str(retry_after)
                await response(scope, receive, send_with_headers)
                return

        await self.app(scope, receive, send_with_headers)


MAX_CLIENT_KEY = 64  # an IPv6 address with its zone is shorter


def client_key(address: str) -> str:
    """The bucket of a client address: an IPv6 client's /64 (one host holds a whole /64, 2^64 addresses to
    rotate through, one bucket each), an IPv4 one as it is (IPv4-mapped IPv6 included)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:  # not an address (a proxy's odd X-Forwarded-For): cut, as it is
        return address[:MAX_CLIENT_KEY]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def _asks_html(scope: Scope) -> bool:
    return b"text/html" in Headers(scope=scope).get("accept", "").encode()


class _CORS(CORSMiddleware):
    """Starlette's CORS, with a refused preflight (another origin, a header not allowed) answered as every
    error of the API is, problem+json, instead of a text/plain 400."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        refused = problem(400, "cors preflight refused", bytes(response.body).decode())
        refused.headers.update({k: v for k, v in response.headers.items() if k.lower().startswith("access-control")})
        refused.headers["Vary"] = response.headers.get("Vary", "Origin")
        return refused


class Compress:
    """gzip for the clients that ask (an app on a phone's network: a 100-place answer is ~15 kB, ~2 kB
    compressed). The others' requests go straight through: Starlette's middleware would wrap each of their
    responses too, on the hot route."""

    def __init__(self, app: ASGIApp, minimum_size: int = 1024) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=minimum_size, compresslevel=6)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and any(
            name == b"accept-encoding" and b"gzip" in value.lower() for name, value in scope["headers"]
        ):
            await self.gzip(scope, receive, send)
            return
        await self.app(scope, receive, send)


def install(app: FastAPI, settings: Settings) -> None:
    limiter = FixedWindowLimiter(settings.rate_limit) if settings.rate_limit > 0 else None
    app.add_middleware(Guard, limiter=limiter, per_minute=settings.rate_limit)
    app.add_middleware(Compress)

    origins = settings.cors_origin_list
    if origins:
        app.add_middleware(
            _CORS,
            allow_origins=origins,
            allow_methods=["GET", "HEAD"],
            allow_headers=["Accept", "Accept-Language"],
            expose_headers=["Retry-After"],  # the map page's script reads how long a 429 asks it to wait
        )
