"""The provider chain against local fake geocoders (http.server on loopback serving recorded-shape JSON):
answers, failover, retries, timeouts, the circuit breaker, the cache, the user agent. No network."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from locator.errors import GeocoderUnavailable, NotFound
from locator.geocode import Origin, geocode
from locator.geocoders import cache
from locator.geocoders.chain import Chain, build
from locator.geocoders.providers import (
    MAX_RETRY_AFTER_S,
    BANProvider,
    NominatimProvider,
    PeliasProvider,
    PhotonProvider,
    ProviderOptions,
    RemoteProvider,
)
from locator.geocoders.resilience import CircuitBreaker
from locator.settings import Settings
from tests.conftest import SHARED_DATA, ScratchDatabase, start_server, stop_server

UA = "store-locator-tests/1.0 (ops@example.invalid)"

# Shapes as the real servers answer (Nominatim 5 `format=json`, Photon, Pelias /v1/search, BAN /search).
NOMINATIM_BAKERY = [{
    "place_id": 108518, "licence": "Data © OpenStreetMap contributors, ODbL 1.0. http://osm.org/copyright",
    "osm_type": "node", "osm_id": 6522627624, "lat": "47.0660892", "lon": "9.5036065", "class": "shop",
    "type": "bakery", "place_rank": 30, "importance": 1e-05, "addresstype": "shop", "name": "Dorfbäckerei Herrmann",
    "display_name": "Dorfbäckerei Herrmann, 29, Gnetsch, Mäls, Balzers, Oberland, 9496, Liechtenstein",
    "address": {"shop": "Dorfbäckerei Herrmann", "house_number": "29", "road": "Gnetsch", "village": "Mäls",
                "town": "Balzers", "county": "Oberland", "postcode": "9496", "country": "Liechtenstein",
                "country_code": "li"},
    "boundingbox": ["47.0660392", "47.0661392", "9.5035565", "9.5036565"],
}]  # fmt: skip
NOMINATIM_MONACO_STREET = [{
    "place_id": 1, "lat": "43.7400", "lon": "7.4260", "class": "highway", "type": "primary", "place_rank": 26,
    "addresstype": "road", "display_name": "Boulevard des Moulins, Monte-Carlo, Monaco, 98000, Monaco",
    "address": {"road": "Boulevard des Moulins", "postcode": "98000", "country_code": "mc"},
}]  # fmt: skip
PHOTON = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "geometry": {"type": "Point", "coordinates": [13.3888, 52.5170]},
     "properties": {"osm_key": "place", "osm_value": "city", "type": "city", "name": "Berlin",
                    "countrycode": "DE", "country": "Deutschland"}},
    {"type": "Feature", "geometry": {"type": "Point", "coordinates": [2.3417, 48.8592]},
     "properties": {"osm_key": "building", "type": "house", "housenumber": "12", "street": "Rue de Berlin",
                    "city": "Paris", "postcode": "75001", "countrycode": "FR", "country": "France"}},
]}  # fmt: skip
PELIAS = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-86.4751, 32.4609]},
     "properties": {"layer": "address", "name": "123 Main St", "label": "123 Main St, Prattville, AL, USA",
                    "country_a": "USA", "country_code": "US", "confidence": 1}},
]}  # fmt: skip
BAN = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "geometry": {"type": "Point", "coordinates": [2.3163, 48.8698]},
     "properties": {"label": "55 Rue du Faubourg Saint-Honoré 75008 Paris", "score": 0.97,
                    "type": "housenumber", "postcode": "75008", "city": "Paris", "housenumber": "55"}},
]}  # fmt: skip


@dataclass
class Reply:
    body: Any = None
    status: int = 200
    delay: float = 0.0
    content_type: str = "application/json"
    trickle: float = 0.0  # seconds between the body's bytes
    header_trickle: float = 0.0  # seconds between header lines (this many extra lines are sent: 40)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeGeocoder:
    """A loopback HTTP server: `replies` is consumed in order, the last one repeats; every request is kept."""

    replies: list[Reply]
    requests: list[dict[str, Any]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def count(self) -> int:
        return len(self.requests)

    def start(self) -> FakeGeocoder:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urllib.parse.urlsplit(self.path)
                fake.requests.append(
                    {"path": parts.path, "query": dict(urllib.parse.parse_qsl(parts.query)),
                     "user_agent": self.headers.get("User-Agent")}
                )  # fmt: skip
                reply = fake.replies[min(len(fake.requests), len(fake.replies)) - 1]
                if reply.delay:
                    time.sleep(reply.delay)
                if isinstance(reply.body, bytes):  # not JSON at all (a proxy's HTML page, a truncated body)
                    payload = reply.body
                else:
                    payload = json.dumps(reply.body if reply.status == 200 else {"error": "boom"}).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    for n in range(40 if reply.header_trickle else 0):
                        self.send_header(f"X-Slow-{n}", "x")
                        self.flush_headers()  # one line at a time
                        time.sleep(reply.header_trickle)
                    self.end_headers()
                    if not reply.trickle:
                        self.wfile.write(payload)
                    for byte in payload if reply.trickle else b"":
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(reply.trickle)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture()
def fakes() -> Iterator[Callable[..., FakeGeocoder]]:
    started: list[FakeGeocoder] = []

    def make(*replies: Reply) -> FakeGeocoder:
        fake = FakeGeocoder(list(replies)).start()
        started.append(fake)
        return fake

    yield make
    for fake in started:
        fake.stop()


@pytest.fixture()
def engine(module_db: ScratchDatabase) -> Iterator[Engine]:
    """An empty gazetteer (the providers are under test), the cache emptied before each test."""
    with module_db.engine.begin() as conn:
        conn.execute(text("TRUNCATE geocode_cache"))
    yield module_db.engine


def options(fake: FakeGeocoder, **overrides: Any) -> ProviderOptions:
    base: dict[str, Any] = {
        "url": fake.url, "user_agent": UA, "timeout": 2.0, "retries": 1, "retry_wait": 0.0,
        "breaker_failures": 3, "breaker_reset": 60.0,
    }  # fmt: skip
    return ProviderOptions(**{**base, **overrides})


def state(provider: RemoteProvider) -> str:
    return provider.breaker.state


def ask(engine: Engine, chain: Chain, q: str, country: str | None = None) -> Origin:
    with engine.connect() as conn:
        return geocode(conn, q, country, chain=chain)


def test_nominatim_answer_user_agent_and_country(engine: Engine, fakes: Callable[..., FakeGeocoder]) -> None:
    fake = fakes(Reply(NOMINATIM_BAKERY))
    chain = Chain(["gazetteer", NominatimProvider(options(fake))])
    origin = ask(engine, chain, "Gnetsch 29, Balzers", "LI")
    assert (origin.geocoder, origin.source, origin.precision, origin.country) == (
        "nominatim",
        "address",
        "address",
        "LI",
    )
    assert origin.label.startswith("Dorfbäckerei Herrmann, 29, Gnetsch")
    assert (origin.lat, origin.lon) == (47.0660892, 9.5036065)
    request = fake.requests[0]
    assert request["path"] == "/search" and request["user_agent"] == UA
    assert request["query"]["q"] == "Gnetsch 29, Balzers"
    assert request["query"]["countrycodes"] == "LI" and request["query"]["format"] == "json"


def test_the_same_question_is_asked_once(engine: Engine, fakes: Callable[..., FakeGeocoder]) -> None:
    fake = fakes(Reply(NOMINATIM_BAKERY))
    chain = Chain([NominatimProvider(options(fake))])
    first = ask(engine, chain, "Gnetsch 29, Balzers", "LI")
    # Case, spacing and comma spacing do not make a new question; a new process (chain) reads the same table.
    again = ask(engine, Chain([NominatimProvider(options(fake))]), "  gnetsch 29 ,BALZERS ", "li")
    assert again == first and fake.count == 1
    ask(engine, chain, "Gnetsch 29, Balzers")  # another country hint is another question
    assert fake.count == 2
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT provider, query_key, country FROM geocode_cache ORDER BY country")).all()
    assert [tuple(r) for r in stored] == [
        ("nominatim", "gnetsch 29, balzers", ""),
        ("nominatim", "gnetsch 29, balzers", "LI"),
    ]


def test_nothing_found_is_cached_and_is_a_404(engine: Engine, fakes: Callable[..., FakeGeocoder]) -> None:
    fake = fakes(Reply([]))
    chain = Chain(["gazetteer", NominatimProvider(options(fake))])
    for _ in range(2):
        with pytest.raises(NotFound):
            ask(engine, chain, "Nowhere Lane 1")
    assert fake.count == 1


def test_expired_answers_are_asked_again(engine: Engine, fakes: Callable[..., FakeGeocoder]) -> None:
    fake = fakes(Reply(NOMINATIM_BAKERY))
    chain = Chain([NominatimProvider(options(fake))])
    ask(engine, chain, "Gnetsch 29")
    with engine.begin() as conn:
        conn.execute(text("UPDATE geocode_cache SET expires_at = now() - interval '1 second'"))
    ask(engine, chain, "Gnetsch 29")
    assert fake.count == 2
    assert cache.purge_expired(engine) == 0  # the second answer replaced the expired one


def test_a_5xx_is_retried(engine: Engine, fakes: Callable[..., FakeGeocoder]) -> None:
    fake = fakes(Reply(status=500), Reply(NOMINATIM_BAKERY))
    origin = ask(engine, Chain([NominatimProvider(options(fake, retries=1))]), "Gnetsch 29")
    assert origin.geocoder == "nominatim" and fake.count == 2


def test_a_timeout_passes_to_the_next_provider(engine: Engine, fakes: Callable[..., FakeGeocoder]) -> None:
    slow = fakes(Reply(NOMINATIM_BAKERY, delay=1.5))
    photon = fakes(Reply(PHOTON))
    chain = Chain([NominatimProvider(options(slow, timeout=0.3, retries=1)), PhotonProvider(options(photon))])
    started = time.monotonic()
    origin = ask(engine, chain, "Berlin")
    assert origin.geocoder == "photon" and origin.label.startswith("Berlin")
    assert slow.count == 2  # one try and one retry, each abandoned after 0.3 s
    assert time.monotonic() - started < 1.5
    with engine.connect() as conn:  # the failure was not cached, the answer was
        assert conn.execute(text("SELECT array_agg(provider) FROM geocode_cache")).scalar() == ["photon"]


@pytest.mark.parametrize(
    "garbage",
    [
        b"<html>502 Bad Gateway</html>",  # not JSON
        {"type": "FeatureCollection"},  # JSON, not the provider's shape
        [{"lat": "abc", "lon": "1"}],
        [{"place_id": 1}],
        "maintenance",
        {"error": "Bandwidth limit exceeded"},  # sent with a 200: geopy called it a 400 (the question's fault)
    ],
)
def test_garbage_passes_to_the_next_provider(engine: Engine, fakes: Callable[..., FakeGeocoder], garbage: Any) -> None:
    # Well-formed JSON of the wrong shape used to escape as KeyError/TypeError/ValueError: a 500, no failover.
    broken = fakes(Reply(garbage))
    photon = fakes(Reply(PHOTON))
    for first in (NominatimProvider(options(broken)), PeliasProvider(options(broken))):
        chain = Chain([first, PhotonProvider(options(photon))])
        origin = ask(engine, chain, "Berlin")
        assert origin.geocoder == "photon" and origin.label.startswith("Berlin"), origin
        assert first.breaker.state == "closed"  # one failure of three
        with engine.connect() as conn:  # nothing cached for the broken provider
            providers = conn.execute(text("SELECT array_agg(provider) FROM geocode_cache")).scalar()
        assert providers == ["photon"]


def test_all_providers_down_is_a_503(engine: Engine, fakes: Callable[..., FakeGeocoder]) -> None:
    broken = fakes(Reply(status=500))
    refused = FakeGeocoder([]).start()
    url = refused.url
    refused.stop()  # nothing listens there any more: connection refused
    chain = Chain([
        "gazetteer",
        NominatimProvider(options(broken, retries=0)),
        PeliasProvider(ProviderOptions(url=url, user_agent=UA, timeout=1.0, retries=0)),
    ])  # fmt: skip
    with pytest.raises(GeocoderUnavailable, match="nominatim, pelias did not answer"):
        ask(engine, chain, "Gnetsch 29")


def test_the_breaker_opens_and_recovers(engine: Engine, fakes: Callable[..., FakeGeocoder]) -> None:
    fake = fakes(Reply(status=503), Reply(status=503), Reply(NOMINATIM_BAKERY))
    provider = NominatimProvider(options(fake, retries=0, breaker_failures=2, breaker_reset=30.0))
    # The breaker's own clock, moved by hand: slept past a 0.3 s reset, the test failed on a machine slower than that.
    now = [0.0]
    provider.breaker = CircuitBreaker(2, 30.0, clock=lambda: now[0])
    chain = Chain([provider])
    for q in ("a 1", "a 2"):
        with pytest.raises(GeocoderUnavailable):
            ask(engine, chain, q)
    assert state(provider) == "open"
    with pytest.raises(GeocoderUnavailable):
        ask(engine, chain, "a 3")
    assert fake.count == 2  # the open circuit did not call out
    now[0] = 30.0
    assert state(provider) == "half-open"
    assert ask(engine, chain, "a 4").geocoder == "nominatim"
    assert state(provider) == "closed" and fake.count == 3


def test_breaker_half_open_lets_one_trial_through() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failures=1, reset_after=10, clock=lambda: now[0])
    breaker.record_failure()
    assert not breaker.allow()
    now[0] = 10.0
    assert breaker.allow() and not breaker.allow()  # one trial at a time
    breaker.record_failure()
    assert str(breaker.state) == "open" and not breaker.allow()
    now[0] = 20.0
    assert breaker.allow()
    breaker.record_success()
    assert str(breaker.state) == "closed" and breaker.allow() and breaker.allow()


def test_a_400_is_no_answer_not_an_outage(engine: Engine, fakes: Callable[..., FakeGeocoder]) -> None:
    fake = fakes(Reply(status=400))
    provider = NominatimProvider(options(fake, breaker_failures=1))
    with pytest.raises(NotFound):
        ask(engine, Chain([provider]), "???")
    assert state(provider) == "closed" and fake.count == 1


def test_rate_limit_spaces_requests(engine: Engine, fakes: Callable[..., FakeGeocoder]) -> None:
    fake = fakes(Reply(NOMINATIM_BAKERY))
    chain = Chain([NominatimProvider(options(fake, min_delay=0.4))])
    started = time.monotonic()
    for q in ("q 1", "q 2", "q 3"):
        ask(engine, chain, q)
    assert time.monotonic() - started >= 0.8 and fake.count == 3


def test_photon_keeps_the_answer_in_the_country(engine: Engine, fakes: Callable[..., FakeGeocoder]) -> None:
    fake = fakes(Reply(PHOTON))
    origin = ask(engine, Chain([PhotonProvider(options(fake))]), "12 rue de Berlin", "FR")
    assert (origin.country, origin.precision, origin.geocoder) == ("FR", "address", "photon")
    assert fake.requests[0]["path"] == "/api" and fake.requests[0]["query"]["limit"] == "5"


def test_pelias_and_ban_shapes(engine: Engine, fakes: Callable[..., FakeGeocoder]) -> None:
    pelias, ban = fakes(Reply(PELIAS)), fakes(Reply(BAN))
    origin = ask(engine, Chain([PeliasProvider(options(pelias))]), "123 Main St, Prattville", "US")
    assert (origin.label, origin.precision, origin.country) == ("123 Main St, Prattville, AL, USA", "address", "US")
    assert pelias.requests[0]["path"] == "/v1/search" and pelias.requests[0]["query"]["boundary.country"] == "US"
    chain = Chain([BANProvider(options(ban))])
    origin = ask(engine, chain, "55 rue du Faubourg Saint-Honoré, Paris", "FR")
    assert (origin.precision, origin.country, origin.geocoder) == ("address", "FR", "ban")
    assert ban.requests[0]["path"] == "/search"
    with pytest.raises(NotFound):  # BAN knows France only: not asked about Germany
        ask(engine, chain, "Marienplatz 1, München", "DE")
    assert ban.count == 1


@pytest.fixture()
def monaco(engine: Engine) -> Iterator[Engine]:
    from ingest.postcodes import load_file

    path = SHARED_DATA / "geonames-postcodes" / "zipcodes.mc.csv"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    load_file(engine, path)
    yield engine
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM postcodes"))


def test_gazetteer_first_provider_for_the_street(monaco: Engine, fakes: Callable[..., FakeGeocoder]) -> None:
    fake = fakes(Reply(NOMINATIM_MONACO_STREET))
    chain = Chain(["gazetteer", NominatimProvider(options(fake))])
    assert ask(monaco, chain, "98000", "MC").geocoder == "gazetteer"  # a postcode alone never leaves the machine
    assert fake.count == 0
    origin = ask(monaco, chain, "Boulevard des Moulins, 98000 Monaco", "MC")
    assert (origin.geocoder, origin.precision) == ("nominatim", "street") and fake.count == 1


@pytest.mark.parametrize("q", ["MC-98000", "98000 Monaco, MC", "98000, MC"])
def test_a_postcode_with_its_country_code_never_leaves_the_machine(
    monaco: Engine, fakes: Callable[..., FakeGeocoder], q: str
) -> None:
    # The country code was taken for a street the gazetteer could not place, and Nominatim was asked.
    fake = fakes(Reply(NOMINATIM_MONACO_STREET))
    chain = Chain(["gazetteer", NominatimProvider(options(fake))])
    origin = ask(monaco, chain, q)
    assert (origin.geocoder, origin.source, origin.country) == ("gazetteer", "postcode", "MC"), origin
    assert fake.count == 0


def test_the_gazetteer_answer_stands_when_providers_are_down(
    monaco: Engine, fakes: Callable[..., FakeGeocoder]
) -> None:
    fake = fakes(Reply(status=500))
    chain = Chain(["gazetteer", NominatimProvider(options(fake, retries=0))])
    origin = ask(monaco, chain, "Boulevard des Moulins, 98000 Monaco", "MC")
    assert (origin.geocoder, origin.source, origin.precision) == ("gazetteer", "address", "postcode")


def test_a_provider_answer_must_refine_the_gazetteers(monaco: Engine, fakes: Callable[..., FakeGeocoder]) -> None:
    """Without a country hint, the gazetteer's country goes to the provider, and an answer far from the
    gazetteer's reading (a namesake street in Kentucky for "…, 98000 Monaco") is not taken."""
    kentucky = [{**NOMINATIM_MONACO_STREET[0], "lat": "38.2009", "lon": "-84.8733", "address": {
        "road": "Boulevard des Moulins", "country_code": "us"}}]  # fmt: skip
    fake = fakes(Reply(kentucky))
    chain = Chain(["gazetteer", NominatimProvider(options(fake))])
    origin = ask(monaco, chain, "Boulevard des Moulins, 98000 Monaco")
    assert (origin.geocoder, origin.country, origin.precision) == ("gazetteer", "MC", "postcode"), origin
    assert fake.count == 1 and fake.requests[0]["query"].get("countrycodes", "").lower() == "mc"
    near = fakes(Reply(NOMINATIM_MONACO_STREET))
    chain = Chain(["gazetteer", NominatimProvider(options(near))])
    # (another question: the first answer is cached under the provider's name)
    assert ask(monaco, chain, "1 Boulevard des Moulins, 98000 Monaco").geocoder == "nominatim"


def test_the_answers_geocode_through_the_settings_they_are_given(
    engine: Engine, fakes: Callable[..., FakeGeocoder]
) -> None:
    """`create_app(settings)` checked its settings' chain at start-up, then geocoded every request through the
    environment's (get_settings)."""
    from locator.answers import Where, locate

    fake = fakes(Reply(NOMINATIM_BAKERY))
    settings = Settings(geocoders="gazetteer,nominatim", nominatim_url=fake.url + "/", user_agent=UA)
    assert locate(engine, Where(q="Settings Street 7"), settings).geocoder == "nominatim" and fake.count == 1
    with pytest.raises(NotFound):  # the environment's chain: the gazetteer alone
        locate(engine, Where(q="Settings Street 8"))


def test_chain_configuration() -> None:
    settings = Settings(geocoders="gazetteer, nominatim,photon", nominatim_url="http://127.0.0.1:1/nominatim/",
                        photon_url="127.0.0.1:2", user_agent=UA, geocoder_timeout_s=1.5)  # fmt: skip
    chain = build(settings)
    assert chain.names == ["gazetteer", "nominatim", "photon"]
    nominatim = chain.provider("nominatim")
    assert nominatim.geocoder.domain == "127.0.0.1:1/nominatim" and nominatim.geocoder.scheme == "http"
    assert nominatim.geocoder.timeout == 1.5 and nominatim.geocoder.headers["User-Agent"] == UA
    with pytest.raises(ValueError, match="LOCATOR_NOMINATIM_URL is not set"):
        build(Settings(geocoders="gazetteer,nominatim", nominatim_url=""))
    with pytest.raises(ValueError, match="unknown geocoder"):
        build(Settings(geocoders="gazetteer,google"))
    assert build(Settings()).names == ["gazetteer"]  # nothing leaves the machine unless configured


def test_the_api_says_503_when_providers_are_down(
    module_db: ScratchDatabase, fakes: Callable[..., FakeGeocoder], tmp_path: Path
) -> None:
    up, down = fakes(Reply(NOMINATIM_BAKERY)), fakes(Reply(status=500))
    for fake, expected in ((up, 200), (down, 503)):
        server = start_server(
            {"LOCATOR_DATABASE_URL": module_db.url, "LOCATOR_RATE_LIMIT": "0",
             "LOCATOR_GEOCODERS": "gazetteer,nominatim", "LOCATOR_NOMINATIM_URL": fake.url,
             "LOCATOR_GEOCODER_RETRIES": "0", "LOCATOR_USER_AGENT": UA},
            tmp_path / f"uvicorn-{expected}.log",
        )  # fmt: skip
        try:
            try:
                with urllib.request.urlopen(server.url + "/v1/geocode?q=Gnetsch+29+Balzers+" + str(expected)) as r:
                    status, content_type, body = r.status, r.headers["content-type"], json.loads(r.read())
            except urllib.error.HTTPError as exc:
                status, content_type, body = exc.code, exc.headers["content-type"], json.loads(exc.read())
        finally:
            stop_server(server)
        assert status == expected, body
        if expected == 200:
            assert body["geocoder"] == "nominatim" and body["source"] == "address"
        else:
            assert content_type == "application/problem+json" and body["status"] == 503
            assert "nominatim did not answer" in body["detail"]
    assert up.requests[0]["user_agent"] == UA


def test_remote_provider_is_abstract() -> None:
    with pytest.raises(NotImplementedError):
        RemoteProvider(ProviderOptions(url="http://127.0.0.1:9", user_agent=UA))


def test_a_cache_that_cannot_be_written_does_not_fail_the_answer(engine: Engine) -> None:
    # A read-only replica as the engine: the write is refused, logged, and the caller goes on.
    origin = Origin(1.0, 2.0, "x", "address", "nominatim", None, "address")
    readonly = engine.execution_options(postgresql_readonly=True)
    cache.put(readonly, "nominatim", "q", None, origin, timedelta(minutes=1))
    with engine.connect() as conn:
        assert cache.get(conn, "nominatim", "q", None) == (False, None)
    cache.put(engine, "nominatim", "Q ", None, origin, timedelta(minutes=1))
    with engine.connect() as conn:
        assert cache.get(conn, "nominatim", "q", None) == (True, origin)


@pytest.mark.parametrize(
    "reply",
    [
        Reply(NOMINATIM_BAKERY, content_type="application/json; charset=bogus"),  # LookupError in geopy
        Reply(b"[" * 100_000 + b"]" * 100_000),  # RecursionError in json
        Reply([{**NOMINATIM_BAKERY[0], "lat": "45", "lon": "270"}]),  # wrapped to -90 by geopy's Point
    ],
    ids=["unknown-charset", "nested-too-deep", "longitude-off-the-globe"],
)
def test_any_body_the_parsers_choke_on_is_an_outage(
    engine: Engine, fakes: Callable[..., FakeGeocoder], reply: Reply
) -> None:
    """Exceptions geopy lets through were a 500 with a traceback on every route; a point off the globe was
    answered as another point."""
    broken, photon = fakes(reply), fakes(Reply(PHOTON))
    first = NominatimProvider(options(broken))
    origin = ask(engine, Chain([first, PhotonProvider(options(photon))]), "Berlin")
    assert origin.geocoder == "photon" and first.breaker.state == "closed"
    with pytest.raises(GeocoderUnavailable):
        ask(engine, Chain([NominatimProvider(options(broken))]), "Berlin 2")


def test_whatever_escapes_a_trial_opens_the_breaker_again(fakes: Callable[..., FakeGeocoder]) -> None:
    """A trial call of a half-open circuit that ended in an exception nobody caught left the trial set: the
    circuit stayed open for good, whatever the provider did after."""
    fake = fakes(Reply(NOMINATIM_BAKERY))
    provider = NominatimProvider(options(fake, retries=0))
    now = [0.0]
    provider.breaker = CircuitBreaker(1, 30.0, clock=lambda: now[0])
    provider.breaker.record_failure()
    now[0] = 30.0

    def interrupted(q: str, country: str | None) -> list[Any]:
        raise KeyboardInterrupt

    working = provider._limited
    provider._limited = interrupted  # type: ignore[assignment]
    with pytest.raises(KeyboardInterrupt):
        provider.lookup("Gnetsch 29", None)
    assert provider.breaker.state == "open"
    now[0] = 60.0
    provider._limited = working
    assert provider.lookup("Gnetsch 29", None) is not None and provider.breaker.state == "closed"


@pytest.mark.parametrize(
    ("reply", "bound"),
    [
        (Reply(NOMINATIM_BAKERY, trickle=0.05), 5),  # the body alone takes 40 s
        (Reply(NOMINATIM_BAKERY, header_trickle=0.2), 3),  # the headers alone take 8 s
    ],
    ids=["body", "header-lines"],
)
def test_a_trickling_answer_is_cut_at_the_timeout(
    engine: Engine, fakes: Callable[..., FakeGeocoder], reply: Reply, bound: float
) -> None:
    """urllib's timeout bounds each read: a byte every 50 ms never tripped a 0.5 s timeout, and the request
    held its thread for the whole body (50 s in a review's run with a 3 s timeout); header lines each within
    the per-read timeout the same (12 s under a 0.5 s timeout)."""
    fake = fakes(reply)
    started = time.monotonic()
    with pytest.raises(GeocoderUnavailable):
        ask(engine, Chain([NominatimProvider(options(fake, timeout=0.5, retries=0))]), "Gnetsch 29")
    assert time.monotonic() - started < bound


def test_a_429_is_retried_after_the_wait_it_asks_for(engine: Engine, fakes: Callable[..., FakeGeocoder]) -> None:
    waits: list[float] = []
    fake = fakes(Reply(status=429, headers={"Retry-After": "2"}), Reply(NOMINATIM_BAKERY))
    provider = NominatimProvider(options(fake, retries=1, retry_wait=0.1), sleep=waits.append)
    assert ask(engine, Chain([provider]), "Gnetsch 29").geocoder == "nominatim"
    assert fake.count == 2 and waits == [2.0]

def test_a_429_asking_for_longer_than_a_customer_waits_rests_the_provider(
    engine: Engine, fakes: Callable[..., FakeGeocoder]
) -> None:
    """A 429 asking for an hour was asked again after 5 s (refused again, the customer's 503 five seconds late),
    and the 503 said Retry-After: 5. Now the provider is left alone for the hour it asked, and the 503 says so."""
    waits: list[float] = []
    many = fakes(Reply(status=429, headers={"Retry-After": "3600"}), Reply(NOMINATIM_BAKERY))
    provider = NominatimProvider(options(many, retries=1, retry_wait=0.1), sleep=waits.append)
    with pytest.raises(GeocoderUnavailable) as caught:
        ask(engine, Chain([provider]), "Gnetsch 30")
    assert many.count == 1 and waits == [] and caught.value.retry_after_s == 3600
    with pytest.raises(GeocoderUnavailable) as again:
        ask(engine, Chain([provider]), "Gnetsch 31")
    assert many.count == 1 and again.value.retry_after_s is not None and again.value.retry_after_s > 3500
    assert MAX_RETRY_AFTER_S < 3600
    # The API's and the page's 503 say how long (locator.api.errors.retry_after).
    from locator.api.errors import RETRY_AFTER_S, retry_after

    assert retry_after(caught.value) == 3600 and retry_after(GeocoderUnavailable("down")) == RETRY_AFTER_S


def test_a_pelias_answer_in_another_country_is_not_taken(engine: Engine, fakes: Callable[..., FakeGeocoder]) -> None:
    """Older Pelias versions give the alpha-3 code alone: Berlin's Pariser Platz was taken for France because
    France had been asked for."""
    berlin = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [13.3777, 52.5163]},
         "properties": {"layer": "address", "name": "Pariser Platz 1", "label": "Pariser Platz 1, Berlin, Germany",
                        "country_a": "DEU"}},
    ]}  # fmt: skip
    fake = fakes(Reply(berlin))
    with pytest.raises(NotFound):
        ask(engine, Chain([PeliasProvider(options(fake))]), "Pariser Platz 1", "FR")
    assert ask(engine, Chain([PeliasProvider(options(fake))]), "Pariser Platz 1").country == "DE"


def test_a_ban_guess_is_no_address(engine: Engine, fakes: Callable[..., FakeGeocoder]) -> None:
    """The BAN answers any question with its nearest French spelling: "Calle de Alcalá 50" was a street in
    Toulouse."""
    toulouse = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1.4442, 43.6047]},
         "properties": {"label": "Rue Alsace Lorraine 31000 Toulouse", "score": 0.31, "type": "street"}},
    ]}  # fmt: skip
    fake = fakes(Reply(toulouse))
    with pytest.raises(NotFound):
        ask(engine, Chain([BANProvider(options(fake))]), "Calle de Alcalá 50")


ZURICH = [{
    "place_id": 2, "lat": "47.3717", "lon": "8.5387", "class": "highway", "type": "residential", "place_rank": 30,
    "addresstype": "house", "display_name": "1, Bahnhofstrasse, Zürich, 8001, Schweiz",
    "address": {"road": "Bahnhofstrasse", "house_number": "1", "postcode": "8001", "country_code": "ch"},
}]  # fmt: skip


def test_a_country_written_on_any_postcode_scopes_the_providers(
    monaco: Engine, fakes: Callable[..., FakeGeocoder]
) -> None:
    """`CH-8001` names Switzerland, whose postcodes the gazetteer does not hold: the letters were dropped
    without a word and the provider asked about the world."""
    fake = fakes(Reply(ZURICH))
    origin = ask(monaco, Chain(["gazetteer", NominatimProvider(options(fake))]), "Bahnhofstrasse 1, CH-8001 Zürich")
    assert origin.country == "CH" and fake.requests[0]["query"].get("countrycodes", "").lower() == "ch"


def test_a_town_read_beside_an_unknown_postcode_does_not_scope_the_providers(
    monaco: Engine, fakes: Callable[..., FakeGeocoder]
) -> None:
    """A place found by name beside a postcode the gazetteer does not know is a guess ("8001 Zürich" was
    Zurich, Montana, without Swiss postcodes): the providers are asked about the world, and their answer is
    not held to the guess's 30 km."""
    fake = fakes(Reply(ZURICH))
    chain = Chain(["gazetteer", NominatimProvider(options(fake))])
    origin = ask(monaco, chain, "Bahnhofstrasse 1, 8001 Monte-Carlo")
    assert (origin.geocoder, origin.country) == ("nominatim", "CH")
    assert "countrycodes" not in fake.requests[0]["query"]
    # With its own postcode the town scopes the question, and a far answer is still not taken.
    far = fakes(Reply(ZURICH))
    chain = Chain(["gazetteer", NominatimProvider(options(far))])
    origin = ask(monaco, chain, "Bahnhofstrasse 1, 98000 Monte-Carlo")
    assert (origin.geocoder, origin.country) == ("gazetteer", "MC")
    assert far.requests[0]["query"].get("countrycodes", "").lower() == "mc"


def test_a_country_hint_finds_postcodes_of_countries_without_a_pattern(engine: Engine, tmp_path: Path) -> None:
    """Postcodes loaded with `ingest postcodes --country NL` (or ES, CA): the hint made the gazetteer look for
    none at all (404), and Dutch and Canadian codes written whole were not read."""
    from ingest.postcodes import load_file

    rows = [
        ("NL", "1012", "Amsterdam", "52.3731", "4.8922"),
        ("ES", "28001", "Madrid", "40.4250", "-3.6833"),
        ("CA", "K1A", "Ottawa", "45.4215", "-75.6972"),
    ]
    path = tmp_path / "extra.txt"
    path.write_text("".join(f"{c}\t{code}\t{town}\t\t\t\t\t\t\t{lat}\t{lon}\t4\n" for c, code, town, lat, lon in rows))
    load_file(engine, path)
    try:
        gazetteer = Chain(["gazetteer"])
        for q, country, expected in [
            ("1012", "NL", "NL"),
            ("1012 AB", "NL", "NL"),
            ("1012AB", "NL", "NL"),
            ("28001", "ES", "ES"),
            ("K1A 0B1", "CA", "CA"),
            ("K1A0B1", "CA", "CA"),
            ("K1A", "CA", "CA"),
        ]:
            origin = ask(engine, gazetteer, q, country)
            assert (origin.country, origin.source) == (expected, "postcode"), (q, origin)
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM postcodes"))


def test_answers_are_cached_on_the_primary_when_reads_go_to_a_replica(
    engine: Engine, fakes: Callable[..., FakeGeocoder], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API asks on the replica's connections, which cannot write: no answer was ever cached, and every
    question went to the provider again."""
    fake = fakes(Reply(NOMINATIM_BAKERY))
    url = engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("LOCATOR_DATABASE_URL", url)
    monkeypatch.setenv("LOCATOR_DATABASE_READ_URL", url)
    monkeypatch.setenv("LOCATOR_GEOCODERS", "nominatim")
    monkeypatch.setenv("LOCATOR_NOMINATIM_URL", fake.url)
    chain = build(Settings())
    readonly = engine.execution_options(postgresql_readonly=True)
    for _ in range(2):
        with readonly.connect() as conn:
            assert geocode(conn, "Gnetsch 29", None, chain=chain).geocoder == "nominatim"
    assert fake.count == 1
    assert chain.writer is not None
    chain.writer().dispose()


MONTE_CARLO_TOWN = [{
    **ZURICH[0], "place_rank": 16, "type": "city", "addresstype": "city", "display_name": "Zürich, Schweiz",
    "address": {"city": "Zürich", "country_code": "ch"},
}]  # fmt: skip


def test_a_guess_yields_to_an_answer_as_fine_as_itself(monaco: Engine, fakes: Callable[..., FakeGeocoder]) -> None:
    """A town read beside an unknown postcode is a guess: the provider's town, no finer but not a guess, wins
    (the guess won the tie, the very case the guess was made for)."""
    fake = fakes(Reply(MONTE_CARLO_TOWN))
    origin = ask(monaco, Chain(["gazetteer", NominatimProvider(options(fake))]), "8001 Monte-Carlo")
    assert (origin.geocoder, origin.country, origin.precision) == ("nominatim", "CH", "place centroid")


@pytest.mark.parametrize("q", ["Atlanta, GA-30303", "Springfield, IL-62701", "Unit AT-1204, Vienna"])
def test_a_state_code_or_a_unit_is_no_country_on_a_postcode(
    engine: Engine, fakes: Callable[..., FakeGeocoder], q: str
) -> None:
    """Any ISO code before digits scoped the providers: Atlanta's ZIP was asked about in Gabon."""
    fake = fakes(Reply(ZURICH))
    ask(engine, Chain(["gazetteer", NominatimProvider(options(fake))]), q)
    assert "countrycodes" not in fake.requests[0]["query"], fake.requests[0]


ROME = [{
    "place_id": 3, "lat": "41.8933", "lon": "12.4829", "class": "place", "type": "city", "place_rank": 16,
    "addresstype": "city", "display_name": "Roma, Lazio, Italia",
    "address": {"city": "Roma", "state": "Lazio", "country": "Italia", "country_code": "it"},
}]  # fmt: skip
ZURICH_CITY = [{
    "place_id": 4, "lat": "47.3744", "lon": "8.5410", "class": "place", "type": "city", "place_rank": 16,
    "addresstype": "city", "display_name": "Zürich, Schweiz",
    "address": {"city": "Zürich", "country": "Schweiz", "country_code": "ch"},
}]  # fmt: skip
FRANCE = [{
    "place_id": 5, "lat": "46.6034", "lon": "1.8883", "class": "boundary", "type": "administrative",
    "place_rank": 4, "addresstype": "country", "display_name": "France",
    "address": {"country": "France", "country_code": "fr"},
}]  # fmt: skip


def test_a_country_named_at_the_end_scopes_the_providers(engine: Engine, fakes: Callable[..., FakeGeocoder]) -> None:
    """"Rome, Italy" was read as Italy, Texas (or a town of the gazetteer's countries), the provider asked in that
    country alone, and its Rome refused as too far from the misreading."""
    fake = fakes(Reply(ROME))
    origin = ask(engine, Chain(["gazetteer", NominatimProvider(options(fake))]), "Rome, Italy")
    assert (origin.geocoder, origin.country) == ("nominatim", "IT")
    assert fake.requests[0]["query"].get("countrycodes", "").lower() == "it"


def test_a_spelling_the_gazetteer_corrected_does_not_scope_the_providers(
    engine: Engine, fakes: Callable[..., FakeGeocoder]
) -> None:
    """"Zürich" (no Swiss places loaded) was corrected to Юрич in Russia: the provider was asked in Russia alone
    and its Zürich refused."""
    fake = fakes(Reply(ZURICH_CITY))
    origin = ask(engine, Chain(["gazetteer", NominatimProvider(options(fake))]), "Zürich")
    assert (origin.geocoder, origin.country) == ("nominatim", "CH")
    assert "countrycodes" not in fake.requests[0]["query"]


PHOTON_FRANCE = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1.8883, 46.6034]},
     "properties": {"osm_key": "place", "osm_value": "country", "type": "country", "name": "France",
                    "countrycode": "FR"}},
]}  # fmt: skip
PELIAS_REGION = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "geometry": {"type": "Point", "coordinates": [2.5, 48.7]},
     "properties": {"layer": "region", "name": "Île-de-France", "label": "Île-de-France, France",
                    "country_code": "FR"}},
]}  # fmt: skip


@pytest.mark.parametrize(
    ("make", "reply"),
    [(NominatimProvider, FRANCE), (PhotonProvider, PHOTON_FRANCE), (PeliasProvider, PELIAS_REGION)],
)
def test_a_country_or_a_state_is_no_place(
    engine: Engine, fakes: Callable[..., FakeGeocoder], make: type[RemoteProvider], reply: Any
) -> None:
    """A provider's answer for "France" was taken as a point (the middle of France), and the nearest search
    answered from it."""
    fake = fakes(Reply(reply))
    with pytest.raises(NotFound):
        ask(engine, Chain([make(options(fake))]), "Somewhere Else")


@pytest.mark.parametrize(
    ("make", "body"),
    [
        (BANProvider, {"error": "Service overloaded"}),
        (BANProvider, {"message": "maintenance"}),
        (BANProvider, {"type": "FeatureCollection"}),
        (PhotonProvider, {"message": "maintenance"}),
    ],
)
def test_an_error_object_in_a_200_is_an_outage_and_not_cached(
    engine: Engine, fakes: Callable[..., FakeGeocoder], make: type[RemoteProvider], body: Any
) -> None:
    """The BAN's (and Photon's) error objects answered with a 200 were read as "no such address" and cached for
    a day."""
    fake = fakes(Reply(body))
    q = "55 rue du Faubourg Saint-Honoré, Paris"
    with pytest.raises(GeocoderUnavailable):
        ask(engine, Chain([make(options(fake, retries=0))]), q, "FR")
    with engine.connect() as conn:
        assert cache.get(conn, make.name, q, "FR") == (False, None)


def test_a_slow_provider_holds_at_most_its_share_of_the_threads(
    monaco: Engine, fakes: Callable[..., FakeGeocoder]
) -> None:
    """With every API thread waiting on a slow provider (under its timeout), a postcode the gazetteer answers
    alone waited seconds behind them. Questions waiting on the providers are capped (half the threads): one
    more is answered without them, at once, as when they are down."""
    from concurrent.futures import ThreadPoolExecutor

    fake = fakes(Reply(NOMINATIM_MONACO_STREET, delay=4.0))
    chain = Chain(["gazetteer", NominatimProvider(options(fake, timeout=6.0, retries=0))], max_asking=1)
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(ask, monaco, chain, "1 Boulevard des Moulins, 98000 Monaco")
        deadline = time.monotonic() + 5
        while fake.count == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert fake.count == 1  # the first question is with the provider
        other = ask(monaco, chain, "3 Avenue de la Costa, 98000 Monaco")  # no turn: the gazetteer's postcode
        assert (other.geocoder, other.precision) == ("gazetteer", "postcode") and not waiting.done()
        assert fake.count == 1
        assert waiting.result(timeout=10).geocoder == "nominatim"


def test_the_api_chain_lets_half_its_threads_wait_on_providers() -> None:
    settings = Settings(geocoders="gazetteer,nominatim", nominatim_url="http://127.0.0.1:9", pool_size=6)
    assert build(settings)._asking_limit == 3
