"""Country codes, from the tz database's own tables (they ship wherever timezones do, and their maintainers
follow ISO's changes in every release)."""

from __future__ import annotations

import importlib.resources
import logging
import re
import zoneinfo
from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from holidays import registry

log = logging.getLogger(__name__)

# Kosovo's code is user-assigned, so not in ISO's list, but GeoNames, CLDR and the EU use it.
_IN_USE = frozenset({"XK"})


def tz_table(name: str) -> str | None:
    """The text of one of the tz database's tables (`iso3166.tab`, `zone1970.tab`, `zone.tab`): the `tzdata`
    package's when installed (the one `zoneinfo` then reads too), else the system's (/usr/share/zoneinfo, or
    wherever zoneinfo.TZPATH says); None when there is none."""
    try:
        return importlib.resources.files("tzdata").joinpath("zoneinfo", name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, OSError):
        pass
    for directory in zoneinfo.TZPATH:
        path = Path(directory) / name
        if path.is_file():
            return path.read_text(encoding="utf-8")
    return None


@lru_cache(maxsize=1)
def iso_countries() -> frozenset[str]:
    """The ISO 3166-1 alpha-2 codes in use; empty when no table is found."""
    table = tz_table("iso3166.tab")
    if table is None:
        log.warning("no iso3166.tab found: country codes are checked for their shape only")
        return frozenset()
    codes = {line.split("\t", 1)[0] for line in table.splitlines() if line and not line.startswith("#")}
    return frozenset(codes) | _IN_USE


def is_country(code: str) -> bool:
    """Whether `code` (upper case) is an assigned ISO 3166-1 alpha-2 code: `ZZ`, `XX` or `UK` (the UK is GB)
    are two letters, not countries."""
    known = iso_countries()
    return code in known if known else re.fullmatch("[A-Z]{2}", code) is not None


@lru_cache(maxsize=1)
def _alpha2_by_alpha3() -> dict[str, str]:
    # The holidays package's country table lists each country's alpha-2 and alpha-3 codes.
    return {entry[2]: entry[1] for entry in registry.COUNTRIES.values() if len(entry) >= 3}


def alpha2(alpha3: str) -> str | None:
    """`DEU` -> `DE`; None for a code that is no country's."""
    return _alpha2_by_alpha3().get(alpha3.strip().upper())


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    # tzdata's names, less the two that name no place's clock ("Factory", "localtime": the hours engine cannot
    # read them). ZoneInfo also opens paths such as posix/Europe/Paris or right/Europe/Paris, which the engine
    # cannot read either: a feed with one failed whole, with a traceback.
    return frozenset(zoneinfo.available_timezones()) - {"Factory", "localtime"}


def is_zone_name(name: str) -> bool:
    """Whether `name` is an IANA timezone name a place's hours can be read in (`Europe/Paris`)."""
    return name in _zone_names()


@lru_cache(maxsize=1)
def _timezone_finder() -> Any:
    from timezonefinder import TimezoneFinder

    # In memory (~35 MB against ~26): from its files, each lookup made ~15 read/lseek calls, and each one lets
    # go of the GIL, a hand-over to another request thread per call in the API's workers (and ~15 system
    # calls per row in an ingest).
    return TimezoneFinder(in_memory=True)


def timezone_at(lat: float, lon: float) -> str | None:
    """The tz zone at a point (timezonefinder: the zones' own borders, a few microseconds a point), or None."""
    name = _timezone_finder().timezone_at(lng=lon, lat=lat)
    return str(name) if name else None


# ISO 3166-2 lists these territories, which have alpha-2 codes (and tz zones) of their own, as subdivisions of
# another country: a feed may state either code (Best Buy writes US, region US-PR, for Puerto Rico).
_TERRITORY_OF = {
    **dict.fromkeys(("AS", "GU", "MP", "PR", "UM", "VI"), "US"),
    **dict.fromkeys(("BL", "GF", "GP", "MF", "MQ", "NC", "PF", "PM", "RE", "TF", "WF", "YT"), "FR"),
    **dict.fromkeys(("AW", "BQ", "CW", "SX"), "NL"),
    **dict.fromkeys(("BV", "SJ"), "NO"),
    "AX": "FI",
    **dict.fromkeys(("HK", "MO"), "CN"),
}


def _zone_tables() -> Iterator[str]:
    """The text of the tz database's zone1970.tab and zone.tab (see `tz_table`)."""
    tables = [table for table in map(tz_table, ("zone1970.tab", "zone.tab")) if table is not None]
    if not tables:
        log.warning("no zone1970.tab/zone.tab found: points are not checked against countries")
    yield from tables


def _zone_lines(table: str) -> Iterator[tuple[str, str]]:
    """(country codes, zone name) of each line of a zone table (zone.tab: one code; zone1970.tab: several)."""
    for line in table.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        codes, _, zone = line.split("\t")[:3]
        yield codes, zone


@lru_cache(maxsize=1)
def _countries_by_zone() -> dict[str, tuple[frozenset[str], str]]:
    """Zone name -> (the country codes a point in it may be stated with, the zone's countries as listed), both
    tables merged: zone1970.tab groups countries that share a zone since 1970 (Europe/Paris: FR, MC), zone.tab
    names each country's own zone (Europe/Monaco: MC), and timezonefinder answers with either kind of name.
    Read once per process (~600 zones), so a point costs one dict lookup."""
    listed: dict[str, dict[str, None]] = {}  # insertion-ordered sets: the tables' order reads best
    for table in _zone_tables():
        for codes, zone in _zone_lines(table):
            listed.setdefault(zone, {}).update(dict.fromkeys(codes.split(",")))
    return {
        zone: (frozenset(codes) | {_TERRITORY_OF[c] for c in codes if c in _TERRITORY_OF}, ", ".join(codes))
        for zone, codes in listed.items()
    }


def zone_countries(zone: str) -> tuple[frozenset[str], str] | None:
    """The country codes a point in `zone` may be stated with (a territory's and its country's), and the zone's
    countries as the tables list them; None for a zone the tables do not know (the nautical Etc/ ones)."""
    return _countries_by_zone().get(zone)


@lru_cache(maxsize=1)
def _zones_by_country() -> dict[str, tuple[str, ...]]:
    """Country code -> its own zones as zone.tab lists them (Europe/Paris for FR; DE has Berlin and Busingen)."""
    zones: dict[str, list[str]] = {}
    for code, zone in _zone_lines(tz_table("zone.tab") or ""):
        zones.setdefault(code, []).append(zone)
    return {code: tuple(names) for code, names in zones.items()}


@lru_cache(maxsize=1)
def _country_by_zone() -> dict[str, str]:
    return {zone: code for code, zone in _zone_lines(tz_table("zone.tab") or "")}


def zone_country(zone: str) -> str | None:
    """The one country whose own zone `zone` is in zone.tab (Europe/Paris: FR, Europe/Monaco: MC); None for a
    zone the table does not list (the nautical Etc/ ones)."""
    return _country_by_zone().get(zone)


def country_zone(country: str, year: int | None = None) -> str | None:
    """The country's zone when its zones keep one clock (FR: Europe/Paris; DE: Berlin, Büsingen keeping the same
    time), else None (RU, US, ES with the Canaries)."""
    zones = _zones_by_country().get(country.upper(), ())
    if not zones:
        return None
    year = year or datetime.now().year
    winter, summer = datetime(year, 1, 15, 12), datetime(year, 7, 15, 12)
    clocks = {(zoneinfo.ZoneInfo(z).utcoffset(winter), zoneinfo.ZoneInfo(z).utcoffset(summer)) for z in zones}
    return zones[0] if len(clocks) == 1 else None
