"""The persistent answer cache of the external providers (table geocode_cache, 0002_geocoding.sql).

Keyed by provider, normalised question and country hint. A provider's "nothing found" is cached too (for a
shorter time), so that a customer retyping a hopeless query does not hit the provider again; failures are
never cached. Writes go through their own short transaction: the caller's connection may be read-only.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from datetime import timedelta

from sqlalchemy import Connection, Engine, text

from locator.geocoders.base import Origin

log = logging.getLogger(__name__)


def cache_key(q: str) -> str:
    """The question as asked, minus what does not change the answer: case, spacing, comma spacing."""
    key = " ".join(unicodedata.normalize("NFKC", q).casefold().split())
    return re.sub(r"\s*,\s*", ", ", key).strip(" ,")


def get(conn: Connection, provider: str, q: str, country: str | None) -> tuple[bool, Origin | None]:
    """(hit, answer): a fresh cached answer, None meaning the provider found nothing."""
    row = conn.execute(
        text(
            """
            SELECT answer
              FROM geocode_cache
             WHERE provider = :provider
               AND query_key = :key
               AND country = :country
               AND expires_at > now()
            """
        ),
        {"provider": provider, "key": cache_key(q), "country": country or ""},
    ).first()
    if row is None:
        return False, None
    return True, Origin.from_dict(row.answer) if row.answer is not None else None


def put(engine: Engine, provider: str, q: str, country: str | None, answer: Origin | None, ttl: timedelta) -> None:
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    """
                    INSERT INTO geocode_cache (provider, query_key, country, answer, expires_at)
                    VALUES (:provider, :key, :country, CAST(:answer AS jsonb), now() + :ttl)
                    ON CONFLICT (provider, query_key, country)
                    DO UPDATE SET answer = excluded.answer,
                                  created_at = now(),
                                  expires_at = excluded.expires_at
                    """
                ),
                {
                    "provider": provider,
                    "key": cache_key(q),
                    "country": country or "",
                    "answer": json.dumps(answer.as_dict()) if answer is not None else None,
                    "ttl": ttl,
                },
            )
    except Exception as exc:  # the cache is an optimisation: a full disk or an outage must not fail a search
        lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        reason = lines[0] if lines else type(exc).__name__
        log.warning("could not cache the %s answer for %r: %s", provider, q, reason)


def purge_expired(engine: Engine) -> int:
    """Delete stale answers (the table otherwise only grows); returns how many."""
    with engine.begin() as conn:
        return conn.execute(text("DELETE FROM geocode_cache WHERE expires_at <= now()")).rowcount
