"""The answers the API, the CLI and the map page give, as plain JSON-ready dicts (no HTTP here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Engine

from locator.errors import InvalidParameter
from locator.geocode import Origin, geocode, parse_coordinates, reverse, validate_country, validate_query
from locator.hours import Schedule
from locator.jsonld import local_business
from locator.search import (
    NearestQuery,
    OpenState,
    OpenWhen,
    Place,
    SearchResult,
    check_instant,
    get_place,
    nearest,
    open_state,
    raise_if_unavailable,
    read_connection,
    statement_connection,
    week,
)
from locator.search_async import AsyncReads, nearest_on_loop
from locator.settings import Settings


@dataclass(frozen=True)
class Where:
    """Where the customer is: free text or coordinates (exactly one of the two). Coordinates typed as text
    (`q=48.8738, 2.2950`, pasted from a map app) become lat+lon, so they are searched as such."""

    q: str | None = None
    lat: float | None = None
    lon: float | None = None
    country: str | None = None

    def __post_init__(self) -> None:
        has_point = self.lat is not None or self.lon is not None
        if self.q and has_point:
            raise InvalidParameter("q", "give either q or lat+lon, not both")
        if has_point and (self.lat is None or self.lon is None):
            raise InvalidParameter("lat" if self.lat is None else "lon", "lat and lon go together")
        if not self.q and not has_point:
            raise InvalidParameter("q", "give q (a postcode or address) or lat+lon")
        if self.q is not None:
            point = parse_coordinates(validate_query(self.q))
            if point is not None:
                object.__setattr__(self, "q", None)
                object.__setattr__(self, "lat", point[0])
                object.__setattr__(self, "lon", point[1])
        validate_country(self.country)


def locate(engine: Engine, where: Where, settings: Settings | None = None) -> Origin:
    """Where `where` is. A typed query goes through the geocoder chain `settings` configure (the process's
    settings when None)."""
    try:
        with read_connection(engine) as conn:
            return locate_on(conn, where, settings)
    except Exception as exc:
        raise_if_unavailable(exc)
        raise


def locate_on(conn: Connection, where: Where, settings: Settings | None = None) -> Origin:
    if where.q:
        return geocode(conn, where.q, where.country, settings=settings)
    assert where.lat is not None and where.lon is not None
    NearestQuery(lat=where.lat, lon=where.lon)  # validates the range
    return reverse(conn, where.lat, where.lon)


def origin_dict(origin: Origin) -> dict[str, Any]:
    return {
        "lat": round(origin.lat, 7),
        "lon": round(origin.lon, 7),
        "label": origin.label,
        "source": origin.source,
        "geocoder": origin.geocoder,
        "precision": origin.precision,
        "country": origin.country,
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def place_dict(place: Place, state: OpenState) -> dict[str, Any]:
    head, tail = _fixed_parts(place)
    return {
        **head,
        "distance_m": round(place.distance_m, 1) if place.distance_m is not None else None,
        "timezone": place.timezone,
        "open": state.open,
        "state": state.state,
        "closes_at": _iso(state.closes_at),
        "next_open": _iso(state.next_open),
        "closing_soon": state.closing_soon,
        "status_comment": state.comment,
        **tail,
    }


def _fixed_parts(place: Place) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields of `place_dict` that depend on the place alone, built once per place: a cached place's
    per-answer copies share its memo (about half of `place_dict`'s CPU, alternating runs). Shared between
    answers, so never changed."""
    found: tuple[dict[str, Any], dict[str, Any]] | None = place.memo.get("json")
    if found is None:
        head = {
            "id": place.id,
            "name": place.name,
            "kind": place.kind,
            "kinds": place.kinds,
            "address": {
                "street": place.street,
                "postcode": place.postcode,
                "city": place.city,
                "region": place.region,
                "country": place.country,
            },
            "lat": round(place.lat, 7),
            "lon": round(place.lon, 7),
        }
        tail = {
            "hours": place.hours_by_service(),
            "services": place.services,
            "products": place.products,
            "phone": place.phone,
            "url": place.url,
            "geo_precision": place.geo_precision,
        }
        found = place.memo["json"] = (head, tail)
    return found


Spells = dict[str, list[dict[str, str]]]


def hours_today(place: Place, at: datetime) -> Spells:
    """Each shown service's open intervals on the place's local day of `at` (holidays and exceptions applied).
    Kept with the place for that day (a cached place's answers share it): serialised, never changed."""
    return _today(place, at)[0]


def unknown_today(place: Place, at: datetime) -> Spells:
    """The services whose hours leave some time of that day unknown (an open end, "on appointment"), with those
    intervals: without them a day of unknown hours read as closed all day on the page and the map."""
    return _today(place, at)[1]


def _today(place: Place, at: datetime) -> tuple[Spells, Spells]:
    shown = place.shown_schedules()
    if not shown:
        return {}, {}
    day = shown[0][1].local(at).date()  # one zone for all of a place's schedules: the place's
    kept: tuple[date, tuple[Spells, Spells]] | None = place.memo.get("today")
    if kept is not None and kept[0] == day:
        return kept[1]
    spells = {service: _spells(schedule, day) for service, schedule in shown}
    out = ({service: found[0] for service, found in spells.items()},
           {service: found[1] for service, found in spells.items() if found[1]})  # fmt: skip
    place.memo["today"] = (day, out)
    return out


# A chain's places share schedule objects (cached in locator.open_intervals), so an answer formats each
# distinct schedule's day once; the entries are small and the memo is bounded.
_SPELLS: dict[tuple[int, date], tuple[Schedule, list[dict[str, str]], list[dict[str, str]]]] = {}


def _spells(schedule: Schedule, day: date) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(open, unknown) intervals of the day."""
    key = (id(schedule), day)
    found = _SPELLS.get(key)
    if found is None or found[0] is not schedule:  # an id can be reused once its schedule is gone
        if len(_SPELLS) > 10_000:
            _SPELLS.clear()
        intervals = schedule.day(day)
        found = _SPELLS[key] = (
            schedule,
            [{"from": i.start.isoformat(), "to": i.end.isoformat()} for i in intervals if i.state == "open"],
            [{"from": i.start.isoformat(), "to": i.end.isoformat()} for i in intervals if i.state == "unknown"],
        )
    return found[1], found[2]  # shared between answers: serialised, never changed


def nearest_answer(
    engine: Engine,
    settings: Settings,
    where: Where,
    *,
    now: datetime | None = None,
    jsonld: bool = False,
    origin: Origin | None = None,
    **question: Any,
) -> dict[str, Any]:
    """The nearest answer to `question` (`nearest_query`'s keyword arguments: filters, instant, limit, radius);
    `origin` when the caller has located `where` already (not geocoded again)."""
    query = nearest_query(where, **question)
    try:
        # One connection for the whole answer; the search and its places are one statement (one snapshot).
        with statement_connection(engine) as conn:
            if origin is None and where.q:
                origin = locate_on(conn, where, settings)
            if origin is not None:
                query = NearestQuery(**{**query.__dict__, "lat": origin.lat, "lon": origin.lon})
            # Coordinates are labelled by the search statement itself (one round trip for the answer).
            result = nearest(
                conn, query, now=now, closing_soon_minutes=settings.closing_soon_minutes,
                oversample=settings.knn_oversample, label_origin=origin is None,
            )  # fmt: skip
            origin = origin or result.origin or reverse(conn, query.lat, query.lon)
    except Exception as exc:
        raise_if_unavailable(exc)
        raise
    return _nearest_dict(origin, result, jsonld)


async def nearest_answer_on_loop(
    reads: AsyncReads, engine: Engine, settings: Settings, where: Where, *, now: datetime | None = None, **question: Any
) -> dict[str, Any] | None:
    """`nearest_answer` for a coordinate query (`question`: its keyword arguments but `jsonld` and `origin`),
    its statements awaited on the event loop (the API's hot route, locator.search_async); None when only
    `nearest_answer` can answer it (on a thread)."""
    if where.lat is None or where.lon is None:
        return None
    result = await nearest_on_loop(
        reads, engine, nearest_query(where, **question), now=now,
        closing_soon_minutes=settings.closing_soon_minutes, oversample=settings.knn_oversample,
    )  # fmt: skip
    if result is None or result.origin is None:
        return None
    return _nearest_dict(result.origin, result, jsonld=False)


def nearest_query(
    where: Where,
    *,
    kinds: tuple[str, ...] = (),
    products: tuple[str, ...] = (),
    services: tuple[str, ...] = (),
    open: OpenWhen = "now",
    at: datetime | None = None,
    open_for: int = 0,
    limit: int = 10,
    radius_km: float = 50.0,
) -> NearestQuery:
    """The search's question for `where`'s coordinates (the origin's, once a typed address is located)."""
    return NearestQuery(
        lat=where.lat if where.lat is not None else 0.0,
        lon=where.lon if where.lon is not None else 0.0,
        kinds=tuple(k.lower() for k in kinds),
        products=tuple(p.lower() for p in products),
        services=tuple(s.lower() for s in services),
        open=open,
        at=at,
        open_for=open_for,
        limit=limit,
        radius_km=radius_km,
    )


def _nearest_dict(origin: Origin, result: SearchResult, jsonld: bool) -> dict[str, Any]:
    return {
        "origin": origin_dict(origin),
        "at": result.at.astimezone(UTC).isoformat(),
        "results": [
            {**place_dict(p, s), "hours_today": hours_today(p, result.at),
             "unknown_today": unknown_today(p, result.at)}
            | ({"jsonld": local_business(p, result.at)} if jsonld else {})
            for p, s in zip(result.places, result.states, strict=True)
        ],
    }


def location_jsonld(engine: Engine, location_id: str, at: datetime | None = None) -> dict[str, Any]:
    """One location as schema.org JSON-LD (a LocalBusiness with its opening hours and exceptions)."""
    check_instant(at)
    moment = at or datetime.now(UTC)
    return local_business(get_place(engine, location_id, moment), moment)


def location_answer(engine: Engine, settings: Settings, location_id: str, at: datetime | None = None) -> dict[str, Any]:
    check_instant(at)
    moment = at or datetime.now(UTC)
    place = get_place(engine, location_id, moment)
    body = place_dict(place, open_state(place.schedule(), moment, settings.closing_soon_minutes))
    body["special_hours"] = [
        {"service": service or None, "start": sp.start.isoformat(), "end": sp.end.isoformat(), "hours": sp.hours,
         "comment": sp.comment}
        for service, items in place.special.items() for sp in items
    ]  # fmt: skip
    body["week"] = {
        service: [
            {"from": i.start.isoformat(), "to": i.end.isoformat(), "state": i.state, "comment": i.comment}
            for i in intervals
        ]
        for service, intervals in week(place, moment).items()
    }
    return body


def geojson(answer: dict[str, Any]) -> dict[str, Any]:
    """The nearest answer as an RFC 7946 FeatureCollection, the same fields as properties."""
    features = [
        {
            "type": "Feature",
            "id": item["id"],
            "geometry": {"type": "Point", "coordinates": [item["lon"], item["lat"]]},
            "properties": item,
        }
        for item in answer["results"]
    ]
    return {"type": "FeatureCollection", "features": features, "origin": answer["origin"], "at": answer["at"]}
