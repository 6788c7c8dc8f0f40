"""Every setting of the service, in one class (environment prefix `LOCATOR_`, also read from `.env`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from locator.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOCATOR_", env_file=".env", extra="ignore")

    # Empty: use the embedded cluster under `home`.
    database_url: str = ""
    # Read-only queries go here when set (a streaming replica); writes always go to database_url.
    database_read_url: str = ""
    home: Path = Field(default=PROJECT_ROOT / ".locator", description="embedded cluster, assets, caches")
    pg_port: int = Field(default=54329, ge=1, le=65535)
    pg_database: str = "locator"

    admin_token: str = ""
    # The largest feed file the admin API takes (the raw body, or a multipart `file` field): reading stops as
    # soon as an upload goes past it, and a 413 names it.
    admin_upload_max_bytes: int = Field(default=512 * 1024 * 1024, ge=1)
    geocoders: str = "gazetteer"
    nominatim_url: str = ""
    user_agent: str = "store-locator/0.1 (self-hosted)"
    # The other self-hosted geocoders of the chain (base URLs, e.g. http://127.0.0.1:2322 for Photon).
    photon_url: str = ""
    pelias_url: str = ""
    pelias_api_key: str = ""
    ban_url: str = ""
    # Per provider: seconds before a request is abandoned, retries of transient failures (timeouts, 5xx)
    # with exponential backoff from retry_wait, the minimum interval between two requests (1.0 for the
    # public Nominatim), and the circuit breaker (open after N failures in a row, retry after reset seconds).
    geocoder_timeout_s: float = Field(default=3.0, gt=0, le=60)
    geocoder_retries: int = Field(default=1, ge=0, le=5)
    geocoder_retry_wait_s: float = Field(default=0.5, ge=0, le=30)
    geocoder_min_delay_s: float = Field(default=0.0, ge=0, le=60)
    geocoder_breaker_failures: int = Field(default=3, ge=1)
    geocoder_breaker_reset_s: float = Field(default=30.0, ge=0)
    # How long a provider's answer (and, for less long, its "nothing found") is reused from geocode_cache.
    geocoder_cache_ttl_s: int = Field(default=30 * 24 * 3600, ge=0)
    geocoder_negative_ttl_s: int = Field(default=24 * 3600, ge=0)
    tiles_url: str = ""
    tiles_attribution: str = ""
    rate_limit: int = Field(default=120, ge=0)
    # Wrong admin tokens a client may send a minute (per worker) before its admin calls are refused until the
    # minute turns, a right token too: the token cannot be guessed at the server's speed. 0: no limit.
    admin_failed_logins: int = Field(default=10, ge=0)
    # Comma-separated origins allowed to call the public API from a browser (e.g. the marketing site's map).
    cors_origins: str = ""
    # Addresses of the proxies or load balancers in front (comma-separated, or "*"), whose X-Forwarded-For
    # names the client: the rate limit then counts each client, not the proxy. Empty: no such header is
    # believed, so a client cannot pick its own bucket. "*" believes every peer: only where nothing but the
    # proxy can reach the server, or any client names its own bucket with the header.
    forwarded_allow_ips: str = ""

    closing_soon_minutes: int = Field(default=30, ge=0, le=24 * 60)
    statement_timeout_ms: int = Field(default=2000, ge=100)
    connect_timeout_s: int = Field(default=2, ge=1)
    # Database connections per API worker, and the most requests one worker runs at once (its thread pool):
    # equal, so that no request waits on the pool and no connection is opened and closed per burst. A request
    # is mostly CPU (Python under one GIL, then its statement): past a few threads a worker only adds
    # contention. At 1M places, 2 workers, 64 connections: 2 -> 818, 3 -> 913, 4 -> 884, 6 -> 761, 8 -> 840
    # req/s, p99 falling from ~320 to ~220 ms below 6 (docs/scaling.md). The coordinate searches' asyncio pool
    # (locator.search_async) holds as many again.
    pool_size: int = Field(default=4, ge=1, le=100)
    # How often API workers check whether the materialised open intervals' window must move (a new day).
    refresh_interval_s: int = Field(default=600, ge=10)
    # KNN candidates re-ranked by ellipsoidal distance per result asked for (see locator/search.py); at least
    # limit + 10 are fetched. 2 (20 candidates for 10 results) never needed a second round on the benchmark's
    # 512 origins and is ~15% faster than 4; on 400 random points over Europe (radius 200 km, 1M places) it
    # sent 1.39 statements per answer busy and 1.06 sparse, against 1.36 and 1.03 with 26 candidates.
    knn_oversample: int = Field(default=2, ge=1)
    # One log line per request from uvicorn. Off by default, as in gunicorn: the proxy or load balancer in
    # front logs requests already, and the line costs each request ~0.05 ms of a worker's CPU (BENCHMARKS.md).
    access_log: bool = False

    @property
    def cors_origin_list(self) -> list[str]:
        """LOCATOR_CORS_ORIGINS, comma-separated, as a list."""
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    @property
    def embedded(self) -> bool:
        return not self.database_url

    def sqlalchemy_url(self, *, read: bool = False) -> str:
        """A psycopg 3 URL: plain `postgresql://` URLs from users are accepted and rewritten."""
        url = (self.database_read_url if read and self.database_read_url else self.database_url) or (
            f"postgresql://postgres@127.0.0.1:{self.pg_port}/{self.pg_database}"
        )
        for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        # Anything else would fail deep in SQLAlchemy (a missing MySQL driver, "could not parse URL"): say so.
        name = "LOCATOR_DATABASE_READ_URL" if read and self.database_read_url else "LOCATOR_DATABASE_URL"
        raise ConfigurationError(
            f"{name} must be a PostgreSQL URL (postgresql://user@host:port/database), got {url.split('@')[-1]!r}"
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
