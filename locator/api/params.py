"""Query parameters shared by the nearest, map and page endpoints, validated once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Query

from locator.answers import Where
from locator.errors import InvalidParameter
from locator.geocode import MAX_QUERY_LENGTH
from locator.search import MAX_LIMIT, MAX_OPEN_FOR, MAX_RADIUS_KM, check_instant

MAX_FILTER_VALUES = 20
# PostgreSQL text cannot hold NUL: refuse it at the edge (a 422 naming the parameter) instead of letting the
# database fail the query.
NO_NUL = r"^[^\x00]*$"


@dataclass(frozen=True)
class NearestParams:
    where: Where
    kinds: tuple[str, ...]
    products: tuple[str, ...]
    services: tuple[str, ...]
    open: Literal["now", "any"]
    at: datetime | None
    open_for: int
    limit: int
    radius_km: float

    def as_kwargs(self) -> dict[str, object]:
        return {
            "kinds": self.kinds,
            "products": self.products,
            "services": self.services,
            "open": self.open,
            "at": self.at,
            "open_for": self.open_for,
            "limit": self.limit,
            "radius_km": self.radius_km,
        }


def _values(name: str, values: list[str] | None) -> tuple[str, ...]:
    if not values:
        return ()
    if len(values) > MAX_FILTER_VALUES:
        raise InvalidParameter(name, f"at most {MAX_FILTER_VALUES} values")
    out = []
    for value in values:
        for part in value.split(","):
            part = part.strip().lower()
            if not part:
                continue
            if len(part) > 40 or not all(c.isalnum() or c in "_-" for c in part):
                raise InvalidParameter(name, f"{part[:40]!r} is not a valid {name}")
            out.append(part)
    return tuple(out)


# No I/O: async, so FastAPI runs it on the event loop, not with a hop to the thread pool.
async def nearest_params(
    q: Annotated[
        str | None, Query(max_length=MAX_QUERY_LENGTH, pattern=NO_NUL, description="postcode or address")
    ] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    country: Annotated[str | None, Query(pattern="^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2")] = None,
    kind: Annotated[list[str] | None, Query(description="store, service_centre, ...")] = None,
    product: Annotated[list[str] | None, Query(description="iphone, mac, ...")] = None,
    service: Annotated[list[str] | None, Query(description="repair, sales, ...")] = None,
    open: Annotated[Literal["now", "any"], Query(description="only places open at `at`, or any")] = "now",
    at: Annotated[datetime | None, Query(description="ISO-8601 instant with offset; default now")] = None,
    open_for: Annotated[int, Query(ge=0, le=MAX_OPEN_FOR, description="minutes open after `at`")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10,
    radius_km: Annotated[float, Query(gt=0, le=MAX_RADIUS_KM)] = 50.0,
) -> NearestParams:
    check_instant(at)
    if q is not None and not q.strip():
        q = None if lat is not None else q
    return NearestParams(
        where=Where(q=q, lat=lat, lon=lon, country=country),
        kinds=_values("kind", kind),
        products=_values("product", product),
        services=_values("service", service),
        open=open,
        at=at,
        open_for=open_for,
        limit=limit,
        radius_km=radius_km,
    )
