"""The geocoder chain: LOCATOR_GEOCODERS in order, the gazetteer first by default.

Each step either answers fully (the first full answer wins), answers in part (a postcode or a town found in
a full address: kept, and the next steps are asked for something finer), finds nothing, or is down (timeout,
5xx after retries, circuit open). When the chain runs out: the best partial answer if any, else
GeocoderUnavailable (503) if some provider was down, else NotFound (404).

Provider answers are cached in PostgreSQL (geocode_cache) per provider, question and country, so a question
reaches a provider once per TTL whatever the number of API workers.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
from collections.abc import Callable, Sequence
from datetime import timedelta

from geopy.distance import great_circle
from sqlalchemy import Connection, Engine

from locator.db import make_engine
from locator.errors import ConfigurationError, GeocoderUnavailable, NotFound
from locator.geocoders import cache, gazetteer
from locator.geocoders.base import Origin, precision_rank
from locator.geocoders.providers import PROVIDERS, ProviderDown, ProviderOptions, RemoteProvider
from locator.settings import Settings

log = logging.getLogger(__name__)

GAZETTEER = gazetteer.NAME
KNOWN = (GAZETTEER, *PROVIDERS)


class Chain:
    def __init__(
        self,
        steps: Sequence[str | RemoteProvider],
        *,
        cache_ttl: timedelta = timedelta(days=30),
        negative_ttl: timedelta = timedelta(days=1),
        writer: Callable[[], Engine] | None = None,
        max_asking: int = 2,
    ) -> None:
        """`writer`: the engine the answers' cache is written through, when the connections a question comes
        on cannot write (a read replica's); by default theirs. `max_asking`: questions waiting on providers at
        once (see PROVIDER_SLOT_WAIT_S)."""
        for step in steps:
            if isinstance(step, str) and step != GAZETTEER:
                raise ValueError(f"unknown geocoder {step!r}")
        self.steps = list(steps)
        self.cache_ttl = cache_ttl
        self.negative_ttl = negative_ttl
        self.writer = writer
        self._asking_limit = max(1, max_asking)
        self._asking = threading.BoundedSemaphore(self._asking_limit)

    @property
    def names(self) -> list[str]:
        return [s if isinstance(s, str) else s.name for s in self.steps]

    def provider(self, name: str) -> RemoteProvider:
        return next(s for s in self.steps if isinstance(s, RemoteProvider) and s.name == name)

    def geocode(self, conn: Connection, q: str, country: str | None, down: list[str] | None = None) -> Origin:
        """Locate an already validated query (see locator.geocode.geocode); `down`, when given, receives the
        providers that did not answer (a partial answer, a postcode's centroid, may be all they left)."""
        partial: Origin | None = None
        guess = False  # the partial answer is a place read beside a postcode the gazetteer does not know
        down = [] if down is None else down
        wait: float | None = None  # the longest a provider that is down asked us to wait
        for step in self.steps:
            if isinstance(step, str):
                match = gazetteer.lookup(conn, q, country)
                if match is None:
                    continue
                if match.complete:
                    return match.origin
                if _finer(partial, match.origin) is match.origin:
                    partial, guess = match.origin, match.guess
                continue
            # The country written on the postcode ("CH-8001"), else the gazetteer's when the customer gave none:
            # "7 rue Royale, 75008 Paris" is in France, whatever Kentucky's 7 Royale Street has to say. Not a
            # guess's: "8001 Zürich" read as Zurich, Montana (no Swiss postcodes loaded) had the providers asked
            # for Zürich in the US alone.
            scope = country or gazetteer.country_written(q) or (partial.country if partial and not guess else None)
            if not step.accepts(scope):
                continue
            try:
                origin = self._ask(conn, step, q, scope)
            except ProviderDown as exc:
                log.warning("geocoder down: %s", exc)
                down.append(step.name)
                if exc.retry_after_s:
                    wait = max(wait or 0.0, exc.retry_after_s)
                continue
            if origin is None:
                continue
            if partial is not None and not guess and _km(partial, origin) > MAX_REFINEMENT_KM:
                # A finer answer must refine the gazetteer's (a street in the postcode's area or the town),
                # not contradict it: a namesake street elsewhere is not the customer's.
                log.info("%s placed %r %.0f km from the gazetteer's reading: not taken", step.name, q,
                         _km(partial, origin))  # fmt: skip
                continue
            finer = precision_rank(origin.precision) - (precision_rank(partial.precision) if partial else -1)
            if finer > 0 or (guess and finer == 0):  # a guess yields to an answer as fine as itself
                return origin
        if partial is not None:
            return partial
        where = f" in {country}" if country else ""
        if down:
            raise GeocoderUnavailable(
                f"could not locate {q!r}{where}: the gazetteer has no match and {', '.join(down)} did not answer",
                math.ceil(wait) if wait else None,
            )
        if country and GAZETTEER in self.steps and not gazetteer.covers(conn, country):
            # Not "nothing matches": the customer's town may well exist, the locator just cannot read it.
            raise NotFound(f"cannot locate {q!r}: the gazetteer has no postcodes or places for {country}")
        raise NotFound(f"no postcode, place or address matches {q!r}{where}")

    def _ask(self, conn: Connection, provider: RemoteProvider, q: str, country: str | None) -> Origin | None:
        hit, answer = cache.get(conn, provider.name, q, country)
        if hit:
            return answer
        if not self._asking.acquire(timeout=PROVIDER_SLOT_WAIT_S):
            raise ProviderDown(f"{provider.name}: {self._asking_limit} questions already waiting on the providers")
        try:
            answer = provider.lookup(q, country)
        finally:
            self._asking.release()
        ttl = self.cache_ttl if answer is not None else self.negative_ttl
        if ttl > timedelta(0):
            cache.put(self.writer() if self.writer else conn.engine, provider.name, q, country, answer, ttl)
        return answer


# A slow provider (under its timeout, or before its circuit opens) holds each question's thread and connection
# for seconds: with every API thread waiting on it, a postcode the gazetteer answers alone waited 6 s behind them.
# At most `max_asking` questions wait on the providers at once (half the API's threads, `build`); one more waits
# this long for a turn, then is answered as if the providers were down (the gazetteer's partial answer, or 503).
PROVIDER_SLOT_WAIT_S = 0.5

# How far a provider's finer answer may lie from the gazetteer's postcode or place centroid: a postcode area or a
# town (Paris's arrondissements and communes of 20-30 km across), not another region.
MAX_REFINEMENT_KM = 30.0


def _km(a: Origin, b: Origin) -> float:
    return float(great_circle((a.lat, a.lon), (b.lat, b.lon)).km)  # a sphere is close enough for a 30 km bound


def _finer(current: Origin | None, new: Origin) -> Origin:
    if current is None or precision_rank(new.precision) > precision_rank(current.precision):
        return new
    return current


def parse_names(value: str) -> list[str]:
    names = [n.strip().lower() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in KNOWN]
    if unknown:
        known = ", ".join(KNOWN)
        raise ConfigurationError(f"LOCATOR_GEOCODERS: unknown geocoder(s) {', '.join(unknown)}; known: {known}")
    return names


def build(settings: Settings) -> Chain:
    """The chain LOCATOR_GEOCODERS names; ConfigurationError when a provider is named without its URL."""
    urls = {
        "nominatim": settings.nominatim_url,
        "photon": settings.photon_url,
        "pelias": settings.pelias_url,
        "ban": settings.ban_url,
    }
    steps: list[str | RemoteProvider] = []
    for name in parse_names(settings.geocoders):
        if name == GAZETTEER:
            steps.append(name)
            continue
        if not urls[name]:
            raise ConfigurationError(f"LOCATOR_GEOCODERS names {name} but LOCATOR_{name.upper()}_URL is not set")
        options = ProviderOptions(
            url=urls[name],
            user_agent=settings.user_agent,
            timeout=settings.geocoder_timeout_s,
            retries=settings.geocoder_retries,
            retry_wait=settings.geocoder_retry_wait_s,
            min_delay=settings.geocoder_min_delay_s,
            breaker_failures=settings.geocoder_breaker_failures,
            breaker_reset=settings.geocoder_breaker_reset_s,
            api_key=settings.pelias_api_key if name == "pelias" else "",
        )
        steps.append(PROVIDERS[name](options))
    return Chain(
        steps,
        cache_ttl=timedelta(seconds=settings.geocoder_cache_ttl_s),
        negative_ttl=timedelta(seconds=settings.geocoder_negative_ttl_s),
        # The API asks on the replica's connections, which cannot write: the answers go to the primary (an engine
        # of its own, made at the first answer), else every question reached the provider again.
        # Watched as the API's engines are: a frozen primary held the request that cached an answer for good.
        writer=functools.cache(functools.partial(make_engine, settings, watchdog=True))
        if settings.database_read_url
        else None,
        max_asking=settings.pool_size // 2,
    )


_chains: dict[tuple[object, ...], Chain] = {}
_chains_lock = threading.Lock()


def chain_for(settings: Settings) -> Chain:
    """One chain per configuration and process, so that rate limits and circuit breakers hold across calls."""
    key = tuple(
        getattr(settings, f)
        for f in sorted(Settings.model_fields)
        if f.startswith("geocoder") or f.endswith(("_url", "_api_key")) or f in ("user_agent", "pool_size")
    )
    with _chains_lock:
        if key not in _chains:
            _chains[key] = build(settings)
        return _chains[key]
