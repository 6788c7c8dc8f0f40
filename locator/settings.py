"""Every setting of the service, in one class (environment prefix `LOCATOR_`, also read from `.env`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    geocoders: str = "gazetteer"
    nominatim_url: str = ""
    user_agent: str = "store-locator/0.1 (self-hosted)"
    tiles_url: str = ""
    tiles_attribution: str = ""
    rate_limit: int = Field(default=120, ge=0)
    # Comma-separated origins allowed to call the public API from a browser (e.g. the marketing site's map).
    cors_origins: str = ""

    closing_soon_minutes: int = Field(default=30, ge=0, le=24 * 60)
    statement_timeout_ms: int = Field(default=2000, ge=100)
    connect_timeout_s: int = Field(default=2, ge=1)
    pool_size: int = Field(default=5, ge=1)
    # KNN candidates re-ranked by ellipsoidal distance per result asked for (see locator/search.py).
    knn_oversample: int = Field(default=4, ge=1)

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
        return url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
