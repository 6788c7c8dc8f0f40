"""Self-hosted geocoders through geopy: Nominatim, Photon, Pelias and BAN (France's address API).

Each provider gets a timeout, retries with backoff for transient errors (timeouts, 5xx, 429), a rate limit
(geopy's RateLimiter: the public Nominatim allows one request a second in total), a circuit breaker, and an
identifying user agent. A provider raises ProviderDown when it cannot answer; "nothing found" is None.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from geopy.adapters import URLLibAdapter
from geopy.exc import (
    GeocoderAuthenticationFailure,
    GeocoderInsufficientPrivileges,
    GeocoderParseError,
    GeocoderQueryError,
    GeocoderQuotaExceeded,
    GeocoderRateLimited,
    GeocoderTimedOut,
    GeopyError,
)
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import BANFrance, Nominatim, Pelias, Photon
from geopy.geocoders.base import Geocoder
from geopy.location import Location

from locator.countries import alpha2
from locator.geocoders.base import Origin, Source
from locator.geocoders.resilience import CircuitBreaker

log = logging.getLogger(__name__)

# Errors that retrying cannot fix: the provider refuses us, not the moment (a 429 is the moment: see lookup).
_PERMANENT = (GeocoderAuthenticationFailure, GeocoderInsufficientPrivileges, GeocoderQuotaExceeded)
# The longest a 429's Retry-After is waited for before the next attempt: a customer is waiting.
MAX_RETRY_AFTER_S = 5.0
# A provider's answer larger than this is no geocoding answer (a proxy's page, a runaway response).
MAX_BODY_BYTES = 5 * 1024 * 1024


# Requests in flight at once per provider and process, each on a daemon thread of its own (DeadlineAdapter), and
# how long past its deadline one is waited for (its body's own check cuts it at the deadline).
FETCHES_PER_PROVIDER = 8
DEADLINE_SLACK_S = 0.05


class DeadlineAdapter(URLLibAdapter):  # type: ignore[misc]  # geopy ships no type hints
    """urllib's timeout bounds each socket read, not the request: a server sending a byte a second held a
    request (and its worker thread and database connection) for 50 s under a 3 s timeout. Here the body is
    read in chunks until the request's deadline (its timeout from the start) and cut there, and an oversized
    or undecodable body is a parse error, not an exception geopy lets through."""

    _local = threading.local()  # the deadline of the request this thread is making

    def __init__(self, *, proxies: Any, ssl_context: Any) -> None:
        super().__init__(proxies=proxies, ssl_context=ssl_context)
        # Per provider (geopy makes an adapter per geocoder): one provider's stuck requests leave the others'.
        self._slots = threading.BoundedSemaphore(FETCHES_PER_PROVIDER)

    def get_text(self, url: str, *, timeout: float, headers: dict[str, str]) -> str:
        deadline = time.monotonic() + timeout
        if not self._slots.acquire(timeout=timeout):
            raise GeocoderTimedOut("Service timed out (every request to it is still waiting for an answer)")
        outcome: dict[str, Any] = {}
        done = threading.Event()

        def fetch() -> None:
            self._local.deadline = deadline
            try:
                outcome["text"] = URLLibAdapter.get_text(self, url, timeout=timeout, headers=headers)
            except BaseException as exc:  # handed to the waiting request
                outcome["error"] = exc
            finally:
                self._slots.release()
                done.set()

        # On a daemon thread, waited for until the deadline: a server trickling its header lines (each within
        # the per-read timeout) held the request in urllib for as long as it liked. The thread is left to its
        # socket's timeouts (a daemon: it holds no exit up); the slots bound how many one provider can hold.
        threading.Thread(target=fetch, name="geocoder-http", daemon=True).start()
        if not done.wait(max(0.0, deadline - time.monotonic()) + DEADLINE_SLACK_S):
            raise GeocoderTimedOut("Service timed out (the whole answer took too long)")
        if "error" in outcome:
            raise outcome["error"]
        text: str = outcome["text"]
        return text

    def _decode_page(self, page: Any) -> str:
        deadline = getattr(self._local, "deadline", None)
        chunks: list[bytes] = []
        size = 0
        while True:
            if deadline is not None and time.monotonic() > deadline:
                raise GeocoderTimedOut("Service timed out (the whole answer took too long)")
            try:
                chunk = page.read1(65536) if hasattr(page, "read1") else page.read(65536)
            except OSError as exc:
                if "timed out" in str(exc):
                    raise GeocoderTimedOut("Service timed out") from None
                raise GeocoderParseError(f"Unable to read the response ({exc})") from None
            if not chunk:
                break
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise GeocoderParseError(f"the answer is larger than {MAX_BODY_BYTES} bytes")
            chunks.append(chunk)
        encoding = page.headers.get_content_charset() or "utf-8"
        try:
            return b"".join(chunks).decode(encoding)
        except (LookupError, ValueError):  # an unknown charset ("bogus") is a LookupError
            raise GeocoderParseError(f"Unable to decode the response as {encoding!r}") from None


class ProviderDown(Exception):
    """The provider did not answer (timeout, connection refused, 5xx after retries, circuit open);
    `retry_after_s`: how long it asked to be left alone, when it did (a 429's Retry-After)."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class ProviderOptions:
    url: str
    user_agent: str
    timeout: float = 3.0
    retries: int = 1
    retry_wait: float = 0.5
    min_delay: float = 0.0
    breaker_failures: int = 3
    breaker_reset: float = 30.0
    api_key: str = ""


def split_url(url: str) -> tuple[str, str]:
    """(scheme, domain) as geopy wants them; a path prefix stays in the domain ("host:8080/nominatim")."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if not parts.netloc:
        raise ValueError(f"not a geocoder URL: {url!r}")
    return parts.scheme or "http", parts.netloc + parts.path.rstrip("/")


class RemoteProvider:
    """A geopy geocoder with a timeout, retries, a rate limit and a circuit breaker."""

    name = "remote"
    countries: frozenset[str] | None = None  # what the provider covers; None: the world

    def __init__(self, options: ProviderOptions, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.options = options
        self.breaker = CircuitBreaker(options.breaker_failures, options.breaker_reset)
        self._sleep = sleep
        scheme, domain = split_url(options.url)
        # urllib's adapter: no hidden retries below ours (requests' adapter retries connections by itself).
        self.geocoder = self._make(
            scheme=scheme,
            domain=domain,
            user_agent=options.user_agent,
            timeout=options.timeout,
            adapter_factory=DeadlineAdapter,
        )
        self._limited = RateLimiter(
            self._request, min_delay_seconds=options.min_delay, max_retries=0, swallow_exceptions=False
        )

    def _make(self, **kwargs: Any) -> Geocoder:
        raise NotImplementedError

    def _request(self, q: str, country: str | None) -> list[Location]:
        raise NotImplementedError

    def _origin(self, location: Location, country: str | None) -> Origin | None:
        raise NotImplementedError

    def accepts(self, country: str | None) -> bool:
        return self.countries is None or country is None or country in self.countries

    def lookup(self, q: str, country: str | None) -> Origin | None:
        """The provider's best answer, None when it found nothing; ProviderDown when it could not answer."""
        if not self.breaker.allow():
            resting = self.breaker.resting_for()
            if resting:
                raise ProviderDown(f"{self.name}: asked us to wait {resting:.0f} s more", resting)
            raise ProviderDown(f"{self.name}: circuit open after repeated failures")
        try:
            return self._attempts(q, country)
        except ProviderDown:
            raise
        except BaseException:
            # Whatever escaped must still end a half-open circuit's trial: left set, it kept the circuit open for
            # good once the provider was back.
            self.breaker.record_failure()
            raise

    def _attempts(self, q: str, country: str | None) -> Origin | None:
        last: Exception | None = None
        wait = 0.0
        for attempt in range(self.options.retries + 1):
            if attempt:
                self._sleep(max(wait, self.options.retry_wait * 2 ** (attempt - 1)))
            try:
                locations = self._limited(q, country)
                origins = [self._origin(location, country) for location in locations]
            except GeocoderQueryError:
                # The provider rejected this question (400): an answer about the question, not an outage.
                self.breaker.record_success()
                return None
            except GeocoderRateLimited as exc:  # 429: asked to wait, which the next attempt does (a while)
                last = exc
                asked = float(exc.retry_after or 0)
                log.info("%s rate-limited us (attempt %d): %s", self.name, attempt + 1, exc)
                if asked > MAX_RETRY_AFTER_S:
                    # Longer than a customer waits: not asked again until then (an attempt after 5 s was refused
                    # again, the customer's 503 came 5 s late, and its Retry-After said 5 s, not the 120 asked).
                    self.breaker.rest(asked)
                    raise ProviderDown(f"{self.name}: rate-limited us for {asked:.0f} s", asked) from None
                wait = asked
                continue
            except _PERMANENT as exc:
                last = exc
                break
            except GeopyError as exc:
                last = exc
                log.info("%s failed (attempt %d): %s", self.name, attempt + 1, exc)
                continue
            except Exception as exc:
                # A 200 whose body is not the provider's shape (a proxy's error object, an API change, JSON
                # nested past Python's recursion limit): geopy's parsers fail with whatever Python raises. The
                # provider did not answer; asking again gets the same body.
                last = exc
                break
            self.breaker.record_success()
            for origin in origins:
                if origin is not None and (country is None or origin.country in (None, country)):
                    return origin
            return None
        self.breaker.record_failure()
        raise ProviderDown(f"{self.name}: {type(last).__name__}: {last}")


def _as_list(found: Location | list[Location] | None) -> list[Location]:
    if found is None:
        return []
    return found if isinstance(found, list) else [found]


def _origin(
    location: Location,
    *,
    name: str,
    precision: str,
    country: str | None,
    source: Source = "address",
    label: str | None = None,
) -> Origin:
    lat, lon = _raw_point(location)
    return Origin(
        lat=lat,
        lon=lon,
        label=label or str(location.address),
        source=source,
        geocoder=name,
        country=country.upper() if country else None,
        precision=precision,
    )


def _raw_point(location: Location) -> tuple[float, float]:
    """The point as the provider wrote it: geopy's Point wraps a longitude of 270 to -90, a point the provider
    never gave. ValueError (the answer is not taken) for one off the globe."""
    raw: Any = location.raw
    coordinates = (raw.get("geometry") or {}).get("coordinates") if isinstance(raw, dict) else None
    if isinstance(raw, dict) and "lat" in raw and "lon" in raw:
        lat, lon = float(raw["lat"]), float(raw["lon"])
    elif isinstance(coordinates, list) and len(coordinates) >= 2:  # GeoJSON: lon, lat
        lon, lat = float(coordinates[0]), float(coordinates[1])
    else:
        lat, lon = float(location.latitude), float(location.longitude)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):  # NaN fails both
        raise ValueError(f"the answer's point ({lat}, {lon}) is off the globe")
    return lat, lon


class ErrorObject(Exception):
    """A 200 answer whose body is an error object (a proxy's, an overloaded server's): not an answer."""


# A country or a state (region, province) is not a place: its centroid is no origin of a nearest search, which
# would answer "the nearest to the middle of France" as if the customer stood there. The gazetteer answers "not
# found" for a country named alone; a provider's such answer is not taken either. Nominatim's address ranks:
# 4 a country, 5-9 a state or region; Photon's and Pelias' kinds of the same.
_REGIONS = frozenset({"country", "state", "region", "province", "macroregion", "dependency", "continent", "empire",
                      "ocean", "marinearea", "territory"})  # fmt: skip
_NOMINATIM_REGION_RANK = 10


def _features_or_error(body: Any) -> None:
    """A GeoJSON answer (Photon, the BAN) whose body holds no features list is an error object a server sent
    with a 200 (`{"error": ...}`, `{"message": "maintenance"}`): an outage, not "no such address" (geopy read
    it as none found, and the cache kept that for a day)."""
    if not isinstance(body, dict) or not isinstance(body.get("features"), list):
        shown = str(body.get("error") or body.get("message") or body) if isinstance(body, dict) else str(body)
        raise ErrorObject(f"error object in a 200 answer: {shown[:200]}")


class _Photon(Photon):  # type: ignore[misc]  # geopy ships no types
    def _parse_json(self, resources: Any, exactly_one: bool = True) -> Any:
        _features_or_error(resources)
        return super()._parse_json(resources, exactly_one)


class _BANFrance(BANFrance):  # type: ignore[misc]  # geopy ships no types
    def _parse_json(self, response: Any, exactly_one: bool) -> Any:
        _features_or_error(response)
        return super()._parse_json(response, exactly_one)


class _Nominatim(Nominatim):  # type: ignore[misc]  # geopy ships no types
    def _parse_json(self, places: Any, exactly_one: bool) -> Any:
        # geopy raises the question's fault (GeocoderQueryError, as for a 400) for any error object, so a
        # "Bandwidth limit exceeded" answered with 200 was cached as "no such address" for the cache's lifetime.
        if isinstance(places, dict) and "error" in places:
            raise ErrorObject(f"error object in a 200 answer: {str(places['error'])[:200]}")
        return super()._parse_json(places, exactly_one)


class NominatimProvider(RemoteProvider):
    name = "nominatim"

    def _make(self, **kwargs: Any) -> Geocoder:
        return _Nominatim(**kwargs)

    def _request(self, q: str, country: str | None) -> list[Location]:
        found = self.geocoder.geocode(q, exactly_one=True, addressdetails=True, country_codes=country)
        return _as_list(found)

    def _origin(self, location: Location, country: str | None) -> Origin | None:
        raw: dict[str, Any] = location.raw
        rank = int(raw.get("place_rank") or 0)
        is_postcode = raw.get("type") == "postcode" or raw.get("addresstype") == "postcode"
        if is_postcode:
            precision = "postcode"
        elif rank >= 28:
            precision = "address"
        elif rank >= 26:
            precision = "street"
        else:
            precision = "place centroid"
        if raw.get("addresstype") in _REGIONS or (raw.get("place_rank") is not None and rank < _NOMINATIM_REGION_RANK):
            return None  # a country or a state: no point to measure distances from (see _REGIONS)
        cc = (raw.get("address") or {}).get("country_code") or country
        return _origin(
            location, name=self.name, precision=precision, country=cc, source="postcode" if is_postcode else "address"
        )


class PhotonProvider(RemoteProvider):
    name = "photon"

    def _make(self, **kwargs: Any) -> Geocoder:
        return _Photon(**kwargs)

    def _request(self, q: str, country: str | None) -> list[Location]:
        # Photon has no country filter: ask for a few answers and keep the first in the country.
        return _as_list(self.geocoder.geocode(q, exactly_one=False, limit=5 if country else 1))

    def _origin(self, location: Location, country: str | None) -> Origin | None:
        props: dict[str, Any] = location.raw.get("properties") or {}
        kind = props.get("type") or props.get("osm_key")
        if kind in _REGIONS or props.get("osm_value") in _REGIONS:
            return None  # a country or a state (see _REGIONS)
        if props.get("housenumber") or kind == "house":
            precision = "address"
        elif kind in ("street", "highway"):
            precision = "street"
        elif props.get("osm_value") == "postcode":
            precision = "postcode"
        else:
            precision = "place centroid"
        return _origin(location, name=self.name, precision=precision, country=props.get("countrycode"))


class PeliasProvider(RemoteProvider):
    name = "pelias"

    def _make(self, **kwargs: Any) -> Geocoder:
        return Pelias(api_key=self.options.api_key or None, **kwargs)

    def _request(self, q: str, country: str | None) -> list[Location]:
        return _as_list(self.geocoder.geocode(q, exactly_one=True, countries=[country] if country else None))

    def _origin(self, location: Location, country: str | None) -> Origin | None:
        props: dict[str, Any] = location.raw.get("properties") or {}
        layer = props.get("layer")
        if layer in _REGIONS:
            return None  # a country or a state (see _REGIONS)
        precision = {
            "address": "address", "venue": "address", "street": "street", "postalcode": "postcode",
        }.get(str(layer), "place centroid")  # fmt: skip
        # Older Pelias versions give only the alpha-3 code: a place elsewhere is elsewhere, whatever was asked.
        cc = props.get("country_code") or alpha2(str(props.get("country_a") or ""))
        # geopy's address is Pelias' `name` ("123 Main St"); `label` is the full one.
        return _origin(location, name=self.name, precision=precision, country=cc, label=props.get("label"))


# The BAN's relevance score (0-1) below which its answer is taken for a guess, not the address asked about.
MIN_BAN_SCORE = 0.5


class BANProvider(RemoteProvider):
    """France's Base Adresse Nationale (api-adresse, self-hostable as addok): French addresses only."""

    name = "ban"
    countries = frozenset({"FR"})

    def _make(self, **kwargs: Any) -> Geocoder:
        return _BANFrance(**kwargs)

    def _request(self, q: str, country: str | None) -> list[Location]:
        return _as_list(self.geocoder.geocode(q, exactly_one=True))

    def _origin(self, location: Location, country: str | None) -> Origin | None:
        props: dict[str, Any] = location.raw.get("properties") or {}
        score = props.get("score")
        if isinstance(score, int | float) and score < MIN_BAN_SCORE:
            # The BAN answers every question with its nearest French spelling ("Calle de Alcalá 50" -> a street
            # in Toulouse, score 0.31): a low score is no address of the customer's.
            return None
        precision = {"housenumber": "address", "street": "street"}.get(str(props.get("type")), "place centroid")
        return _origin(location, name=self.name, precision=precision, country="FR")


PROVIDERS: dict[str, type[RemoteProvider]] = {
    "nominatim": NominatimProvider,
    "photon": PhotonProvider,
    "pelias": PeliasProvider,
    "ban": BANProvider,
}
