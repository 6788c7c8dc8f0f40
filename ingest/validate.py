"""Row validation: a raw record in, a clean `LocationRecord` or a named rejection out.

Every rejection names the row, the column, the value and the reason; repairs (tolerant hours, a kind
spelled another way, an inferred timezone) are kept as warnings, apart from rejections.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from ingest.addresses import address_query
from ingest.readers import hours_service, is_input_column
from locator.countries import is_country, is_zone_name, timezone_at, zone_countries, zone_country
from locator.errors import GeocoderUnavailable
from locator.geocode import parse_coordinates
from locator.hours import HoursError, HoursSyntaxError, Schedule, resolve_region, sun_coordinates
from locator.open_intervals import schedule_for
from locator.places import SERVICE_CENTRE, SERVICE_CENTRE_SERVICE, PlaceFields, filter_words, offered

log = logging.getLogger(__name__)

KINDS = ("store", "service_centre", "kiosk", "pickup_point")
KIND_ALIASES = {
    "shop": "store",
    "retail": "store",
    "boutique": "store",
    "service_center": "service_centre",
    "service-centre": "service_centre",
    "service-center": "service_centre",
    "service centre": "service_centre",
    "service center": "service_centre",
    "repair": "service_centre",
    "repair_centre": "service_centre",
}
# Services that make a place count as a service centre whatever its own kind (a shop with a repair desk).
SERVICE_CENTRE_SERVICES = frozenset({SERVICE_CENTRE_SERVICE})
MAX_TEXT = 500
# Hours may be longer (dated exceptions), though OSM's own limit for a tag is 255 characters. Unbounded, a 10 MB
# value kept the parser busy 18 s for its one row, and came back twice in the report (value and reason).
MAX_HOURS = 2000
_HOURS_COLUMNS = ("opening_hours", "service_hours")
# Columns that take a JSON list (joined with ';'): the others are one value each.
_LIST_COLUMNS = ("products", "services", *_HOURS_COLUMNS)
# What no PostgreSQL text can hold: NUL, and lone surrogates (a JSON "\ud800" escape), which are not UTF-8.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# The longest value a report shows: a rejected hours value whole, not a 10 MB id rejected for its characters
# (copied into the report, then into the audit row, per rejection).
_MAX_SHOWN = MAX_HOURS
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-/]{0,127}$")
# Bidi embeddings, overrides, isolates and marks (LRE RLE PDF LRO RLO, LRI RLI FSI PDI, LRM RLM ALM) and the C0/C1
# control characters: the page's list drops them, but the JSON API and the JSON-LD published them as they came, and a
# name with an override ("\u202eevil\u202c RTL") reverses the text after it in any app. No published text needs one
# (a right-to-left name reads right without them); line breaks and tabs become a space, except in hours, where the
# parser reads them as the spaces they are. The id and coordinates are never changed: their own checks reject them.
_DROPPED = r"\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_BREAKS = r"\t\n\x0b\x0c\r\x1c-\x1f\x85\u2028\u2029"
_SCRUB_LINE = re.compile(rf"(?P<br> *[{_BREAKS}][{_BREAKS} ]*)|[{_DROPPED}]")
_SCRUB_HOURS = re.compile(rf"(?P<br>[\x0b\x0c\x1c-\x1f\x85\u2028\u2029])|[{_DROPPED}]")
_SCRUBBED_SHOWN = re.compile(rf"[{_BREAKS}{_DROPPED}]")
_KEPT_AS_WRITTEN = frozenset({"id", "lat", "lon"})
# A host name with a dot and nothing before it: a feed's website without its scheme ("www.example.com/x").
_BARE_HOST = re.compile(r"(?i)[a-z0-9][a-z0-9.-]*\.[a-z]{2,}(?::\d+)?(?:/\S*)?")


def _reported(value: Any) -> Any:
    """A value as the JSON report carries it: NaN and the infinities are not JSON (the CLI printed them bare, and
    jsonb refused the audit row), what PostgreSQL text cannot hold is escaped, and a long value is cut."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, int | float):
        return value
    text = value if isinstance(value, str) else str(value)
    if len(text) > _MAX_SHOWN:
        text = text[:_MAX_SHOWN] + "..."
    return _printable(text)


def _printable(text: str) -> str:
    if text.isascii() and "\x00" not in text:
        return text
    return _UNSTORABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


@dataclass(frozen=True)
class Rejection:
    row: int
    column: str
    value: Any
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": _printable(self.column),
            "value": _reported(self.value),
            "reason": _printable(self.reason),
        }


@dataclass(frozen=True)
class Warning:
    row: int
    column: str
    value: Any
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": _printable(self.column),
            "value": _reported(self.value),
            "message": _printable(self.message),
        }


@dataclass
class LocationRecord(PlaceFields):
    # service ('' = general) -> (raw text, canonical)
    hours: dict[str, tuple[str, str]]
    geo_precision: str = "coordinates"
    row: int = 0
    content_hash: str = field(default="", compare=False)

    def finalise(self) -> LocationRecord:
        # The payload is what dataclasses.asdict() gave (so stored hashes stay valid), built by hand: asdict's
        # deep copy cost 0.4 ms a row, most of an ingest's validation time at 1M rows.
        payload = {
            "id": self.id, "name": self.name, "kind": self.kind, "kinds": self.kinds, "street": self.street,
            "postcode": self.postcode, "city": self.city, "region": self.region, "country": self.country,
            # Coordinates rounded to ~1 cm so that a float printed differently is not a change.
            "lat": round(self.lat, 7), "lon": round(self.lon, 7), "timezone": self.timezone, "phone": self.phone,
            "url": self.url, "products": self.products, "services": self.services, "hours": self.hours,
            "geo_precision": self.geo_precision,
        }  # fmt: skip
        encoded = _HASH_ENCODER.encode(payload).encode()
        self.content_hash = hashlib.sha256(encoded).hexdigest()
        return self


_HASH_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False)


def country_mismatch(country: str, timezone: str) -> str | None:
    """Why a point in `timezone` (the zone at the point, not a stated one) is not in `country`, or None when it
    may be, or the zone is unknown to the tables. Coarse but cheap (a dict lookup per row): zones follow
    borders, though a zone covering two countries (Europe/Zurich: CH, DE, LI) lets a point in one pass for the
    other."""
    if timezone.startswith("Etc/"):
        # timezonefinder's answer away from any land: the nautical zones.
        return f"coordinates outside the stated country {country}: the point is at sea ({timezone})"
    known = zone_countries(timezone)
    if known is None or country in known[0]:
        return None
    return f"coordinates outside the stated country {country}: the point is in {timezone} ({known[1]})"


@lru_cache(maxsize=4096)
def zone_disagreement(stated: str, at_point: str, today: date) -> str | None:
    """Why hours read in the `stated` timezone would be off at a point whose zone is `at_point`, or None when
    the two keep the same time over the coming year (Europe/Brussels for a point in Paris's zone). A stated
    zone is taken as it is: a place in Paris stated in America/New_York showed open until midnight, Paris time."""
    first = datetime.combine(today, time(12), tzinfo=UTC)
    theirs, ours = ZoneInfo(stated), ZoneInfo(at_point)
    gaps = []
    for week in range(54):  # weekly over a year: every DST rule's change shows
        moment = first + timedelta(weeks=week)
        offset_stated, offset_point = moment.astimezone(theirs).utcoffset(), moment.astimezone(ours).utcoffset()
        assert offset_stated is not None and offset_point is not None
        gaps.append(offset_stated - offset_point)
    off = [gap for gap in gaps if gap]
    if not off:
        return None
    sizes = sorted({abs(gap) for gap in off})
    size = _duration(sizes[0]) if len(sizes) == 1 else f"{_duration(sizes[0])} to {_duration(sizes[-1])}"
    # Late: the stated clock behind the point's (09:00 in New York is 15:00 in Paris). Zones whose summers fall
    # in opposite halves of the year (Santiago, Halifax) are one, then the other.
    behind = {gap < timedelta(0) for gap in off}
    if len(behind) == 2:
        direction = "early for part of the year and late for another"
    else:
        direction = "late" if behind.pop() else "early"
        if len(off) < len(gaps):
            direction += " for part of the year"
    return f"not the time at the coordinates ({at_point}): the hours would be read {size} {direction}"


def _duration(span: timedelta) -> str:
    hours, minutes = divmod(int(span.total_seconds()) // 60, 60)
    return " ".join(part for part in (f"{hours} h" if hours else "", f"{minutes} min" if minutes else "") if part)


# The zones of each US state's territory (tzdata's, by hand from the zone boundaries): a store's coordinates in
# another state's zone ("Jonesboro, AR" at a point near Pittsburgh) are wrong, and its hours an hour off. A
# trailing '/' matches a zone family (America/Indiana/...). Coarse as country_mismatch: neighbours in one zone
# pass for each other.
_CT, _ET, _MT, _PT = "America/Chicago", "America/New_York", "America/Denver", "America/Los_Angeles"
US_STATE_ZONES: dict[str, tuple[str, ...]] = {
    "AL": (_CT,), "AK": ("America/Anchorage", "America/Juneau", "America/Sitka", "America/Yakutat", "America/Nome",
                         "America/Metlakatla", "America/Adak"),
    "AZ": ("America/Phoenix", _MT), "AR": (_CT,), "CA": (_PT,), "CO": (_MT,), "CT": (_ET,), "DE": (_ET,),
    "DC": (_ET,), "FL": (_ET, _CT), "GA": (_ET,), "HI": ("Pacific/Honolulu",), "ID": ("America/Boise", _PT),
    # Clark, Floyd and Harrison counties, Indiana, keep Louisville's time (tzdata's zone1970.tab)
    "IL": (_CT,), "IN": ("America/Indiana/", _CT, "America/Kentucky/Louisville"), "IA": (_CT,), "KS": (_CT, _MT),
    "KY": (_ET, "America/Kentucky/", _CT), "LA": (_CT,), "ME": (_ET,), "MD": (_ET,), "MA": (_ET,),
    "MI": ("America/Detroit", "America/Menominee"), "MN": (_CT,), "MS": (_CT,), "MO": (_CT,), "MT": (_MT,),
    "NE": (_CT, _MT), "NV": (_PT, _MT, "America/Boise"), "NH": (_ET,), "NJ": (_ET,), "NM": (_MT,), "NY": (_ET,),
    "NC": (_ET,), "ND": (_CT, "America/North_Dakota/", _MT), "OH": (_ET,), "OK": (_CT,), "OR": (_PT, "America/Boise"),
    "PA": (_ET,), "RI": (_ET,), "SC": (_ET,), "SD": (_CT, _MT), "TN": (_CT, _ET), "TX": (_CT, _MT), "UT": (_MT,),
    "VT": (_ET,), "VA": (_ET,), "WA": (_PT,), "WV": (_ET,), "WI": (_CT,), "WY": (_MT,), "PR": ("America/Puerto_Rico",),
}  # fmt: skip


def state_mismatch(country: str, region: str | None, timezone: str) -> str | None:
    """Why a point in `timezone` (the zone at the point) is not in the US state `region` names ("AR", "US-AR"),
    or None when it may be, or the region is no state code."""
    if country != "US" or not region:
        return None
    state = region.upper().removeprefix("US-")
    zones = US_STATE_ZONES.get(state)
    if zones is None or any(timezone == zone or (zone.endswith("/") and timezone.startswith(zone)) for zone in zones):
        return None
    return f"coordinates outside the stated state {state}: the point is in {timezone}, not {', '.join(zones)}"


# (lat, lon, precision, the providers that did not answer) of a row without coordinates, or None when nothing
# matched (ingest.geocoding.chain_locator).
Located = tuple[float, float, str, tuple[str, ...]]
Locate = Callable[[dict[str, Any]], "Located | None"]


class RowValidator:
    """Validates records one by one; `locate` finds coordinates for rows without them (geocoding)."""

    def __init__(self, locate: Locate | None = None, today: date | None = None) -> None:
        self.locate = locate
        # The first day of the year ahead in which a service's hours are checked against the place's.
        self.today = today or datetime.now(UTC).date()
        self.rejections: list[Rejection] = []
        self.warnings: list[Warning] = []
        # id -> the first rejected row that had it: a later row with the id is a duplicate of that row, even
        # though only valid rows go on to the publish's own duplicate check; its keys are the rejected ids
        # (under --partial their published versions stay).
        self.rejected_rows: dict[str, int] = {}
        # Product and service spellings read as another word: said for the first row that has each, as a feed
        # repeats its lists in every row (300k warnings and a 49 MB report for 100k rows).
        self._renamed: set[tuple[str, str]] = set()

    def _text(self, record: dict[str, Any], column: str) -> str | None:
        value = record.get(column)
        if value is None:
            return None
        if type(value) is str:  # the common case (every CSV value): skip the conversions below
            return value.strip() or None
        if column == "id":  # a place's key stays what it was read as before ("12.0"), or a republish renames it
            return str(value).strip() or None
        if isinstance(value, list):
            value = ";".join(_as_text(v) for v in value)
        value = _as_text(value).strip()
        return value or None

    def validate(self, row: int, record: dict[str, Any]) -> LocationRecord | None:
        rejections: list[Rejection] = []

        def reject(column: str, value: Any, reason: str) -> None:
            rejections.append(Rejection(row, column, value, reason))

        if "_error" in record:
            self.rejections.append(Rejection(row, "", None, str(record["_error"])))
            return None
        # A reader's own notes, under names starting with '_', which the readers never take from a feed (a CSV
        # column '_error' rejected every row with its text); and CSV and JSON make no tuples, a second guard.
        notes = record.get("_warnings")
        if type(notes) is list:
            # (column, value, text) about the row, or (row, column, value, text): a CSV header's, on row 1.
            for note in notes:
                if type(note) is tuple and len(note) in (3, 4):
                    self.warnings.append(Warning(row, *note) if len(note) == 3 else Warning(*note))
        notes = record.get("_rejections")
        if type(notes) is list:
            for note in notes:
                if type(note) is tuple and len(note) == 3:
                    reject(*note)
        if "_geometry_error" in record:
            reject("geometry", None, str(record["_geometry_error"]))
        for column, value in record.items():
            if type(value) is str and len(value) <= MAX_TEXT and value.isascii() and value.isprintable():
                # Nearly every CSV value (no control character either): fine whatever its column, at a fraction of the
                # checks' cost.
                continue
            # Only the contract's columns: a property no column reads (OSM's `description`) cannot fail a row.
            if not is_input_column(column):
                continue
            problem = _value_problem(column, value)
            if problem is not None:
                shown = value[:40] + "..." if isinstance(value, str) and len(value) > MAX_TEXT else value
                reject(column, shown, problem)
            elif column not in _KEPT_AS_WRITTEN:
                scrubbed = _scrubbed(column, value)
                if scrubbed is not None:
                    # Replacing a key's value while iterating is allowed (the dict keeps its size).
                    record[column], shown, message = scrubbed
                    self.warnings.append(Warning(row, column, shown, message))

        place_id = self._text(record, "id")
        if not place_id:
            reject("id", record.get("id"), "missing id")
        elif not ID_PATTERN.match(place_id):
            reject("id", place_id, "ids are 1-128 letters, digits and . _ : - / starting with a letter or digit")
        elif place_id == "nearest":  # /v1/locations/nearest is the search: the place could never be fetched
            reject("id", place_id, "'nearest' is a path of the API (/v1/locations/nearest): give the place another id")
        name = self._text(record, "name")
        if not name:
            reject("name", record.get("name"), "empty name")

        raw_kind = (self._text(record, "kind") or "store").lower()
        kind = KIND_ALIASES.get(raw_kind, raw_kind)
        if kind not in KINDS:
            reject("kind", record.get("kind"), f"unknown kind; expected one of {', '.join(KINDS)}")
        elif kind != raw_kind:
            self.warnings.append(Warning(row, "kind", record.get("kind"), f"read as {kind!r}"))

        country = (self._text(record, "country") or "").upper()
        if not country:
            pass  # read from the coordinates below, if any: OSM features seldom carry addr:country
        elif not re.fullmatch(r"[A-Z]{2}", country):
            reject("country", record.get("country"), "country must be an ISO 3166-1 alpha-2 code such as FR")
        elif not is_country(country):
            reject("country", record.get("country"), "not an assigned ISO 3166-1 alpha-2 code (GB, not UK)")

        url = self._url(row, record, reject)

        lat, lon, precision = (
            (None, None, "")
            if "_geometry_error" in record
            else self._coordinates(row, record, reject, geocode=not rejections and bool(country))
        )
        if not country:
            zone = timezone_at(lat, lon) if lat is not None and lon is not None else None
            country = (zone_country(zone) if zone else None) or ""
            if country:
                inferred = f"no country given: {country}, the country of the point's timezone ({zone})"
                self.warnings.append(Warning(row, "country", None, inferred))
            elif zone:
                reject("country", record.get("country"), f"no country given, and the point's timezone ({zone}) is "
                       "no country's: give an ISO 3166-1 alpha-2 code such as FR")  # fmt: skip
            else:
                reject("country", record.get("country"), "no country given, and no point to read one from: give an "
                       "ISO 3166-1 alpha-2 code such as FR")  # fmt: skip

        postcode = self._text(record, "postcode")
        stated_region = self._text(record, "region")
        region, reading = department_region(country, stated_region, postcode)
        if reading:
            self.warnings.append(Warning(row, "region", stated_region, reading))
        timezone = self._text(record, "timezone")
        zone_at_point: str | None = None
        if timezone:
            if not is_zone_name(timezone):
                reject("timezone", timezone, "not an IANA timezone name such as Europe/Paris")
                timezone = None
        elif lat is not None and lon is not None:
            timezone = zone_at_point = timezone_at(lat, lon)
            if timezone is None:
                reject("timezone", None, "no timezone given and none found at the coordinates")
        if lat is not None and lon is not None and len(country) == 2 and not rejections:
            # The zone at the point tells its country; a stated timezone says nothing about where the point is,
            # so only then is it looked up again (a few microseconds).
            zone_at_point = zone_at_point or timezone_at(lat, lon)
            mismatch = country_mismatch(country, zone_at_point) if zone_at_point else None
            if not mismatch and zone_at_point:
                mismatch = state_mismatch(country, region, zone_at_point)
            if mismatch:
                self.warnings.append(Warning(row, "lat", f"{lat}, {lon}", mismatch))
            elif timezone and zone_at_point and timezone != zone_at_point:
                other_time = zone_disagreement(timezone, zone_at_point, self.today)
                if other_time:
                    self.warnings.append(Warning(row, "timezone", timezone, other_time))

        services = self._list(row, record, "services")
        products = self._list(row, record, "products")
        hours: dict[str, tuple[str, str]] = {}
        if timezone and not rejections:
            # A service centre's desk repairs whether the feed lists the service or not (locator.places): its
            # `service_hours` are the repair desk's (they were dropped, "no service other than sales").
            hours = self._hours(row, record, offered(services, [kind]), timezone, country, region, (lat, lon), reject)

        if rejections:
            self.rejections.extend(rejections)
            if place_id:
                self.rejected_rows.setdefault(place_id, row)
            return None
        assert place_id and name and lat is not None and lon is not None and timezone
        problem = postcode_problem(postcode, country)
        if problem:
            self.warnings.append(Warning(row, "postcode", postcode, problem))
        phone = self._text(record, "phone")
        if phone and _SCIENTIFIC.fullmatch(phone):
            # A spreadsheet showed the number as 3,3123E+10: its last digits are gone, the page dials nothing.
            self.warnings.append(Warning(row, "phone", phone, "a number in scientific notation: its digits are lost"))
        kinds = sorted({kind} | ({SERVICE_CENTRE} if SERVICE_CENTRE_SERVICES & set(services) else set()))
        return LocationRecord(
            id=place_id,
            name=name,
            kind=kind,
            kinds=kinds,
            street=self._text(record, "street"),
            postcode=postcode,
            city=self._text(record, "city"),
            region=region,
            country=country,
            lat=lat,
            lon=lon,
            timezone=timezone,
            phone=phone,
            url=url,
            products=products,
            services=services,
            hours=hours,
            geo_precision=precision,
            row=row,
        ).finalise()

    def _list(self, row: int, record: dict[str, Any], column: str) -> list[str]:
        value = self._text(record, column)
        if not value:
            return []
        words, renamed = filter_words(value)
        for written, word in renamed:
            if (column, written) not in self._renamed:
                self._renamed.add((column, written))
                reading = f"read as {word!r}, a word the API's filters name (said for its first row only)"
                self.warnings.append(Warning(row, column, written, reading))
        return list(words)

    def _url(self, row: int, record: dict[str, Any], reject: Callable[[str, Any, str], None]) -> str | None:
        """The place's website, an absolute http(s) URL: it goes into the apps' answers, the page's links and
        the JSON-LD, where a `javascript:` or `data:` URL would be a script. A bare host ("www.example.com/x")
        gets https:// with a warning, as feeds often leave the scheme out."""
        url = self._text(record, "url")
        if not url:
            return None
        try:
            parts = urlsplit(url)
        except ValueError:  # a broken [IPv6] host
            parts = urlsplit("")
        if "\\" in url.split("?", 1)[0].split("#", 1)[0]:
            # Browsers read a backslash as '/' in an http(s) URL, Python does not: in "https://a.test\@b.test/"
            # this check would see the host b.test and a customer's browser goes to a.test.
            reject("url", url, "a backslash before the query: browsers read it as '/', so the link goes elsewhere")
            return None
        if parts.scheme.lower() in ("http", "https") and parts.hostname and not any(c.isspace() for c in url):
            return url
        if _BARE_HOST.fullmatch(url):
            self.warnings.append(Warning(row, "url", url, "no scheme: read as https://" + url))
            return "https://" + url
        reject("url", url, "not an http(s) address such as https://example.com/stores/12")
        return None

    def _coordinates(
        self, row: int, record: dict[str, Any], reject: Callable[[str, Any, str], None], *, geocode: bool = True
    ) -> tuple[float | None, float | None, str]:
        raw_lat, raw_lon = record.get("lat"), record.get("lon")
        if raw_lat in (None, "") and raw_lon in (None, ""):
            if self.locate is None:
                reject("lat", None, "no coordinates and no geocoder to find them")
                return None, None, ""
            if not geocode:
                # Rejected already: no lookup (maybe a rate-limited provider's) for it, nor its address's text
                # (a NUL made the geocoder's query fail the whole run).
                return None, None, ""
            # What was looked up, so that a person can see why it was not found (or what was).
            query = address_query(record) or None
            if query and parse_coordinates(query) is not None:
                # "0.0, 0.0" in the street column was taken as the point itself, none of lat/lon's checks made,
                # stored as if the feed had given coordinates.
                reject("lat", query, "coordinates written in the address columns: give them as lat and lon")
                return None, None, ""
            try:
                found = self.locate(record)
            except GeocoderUnavailable as exc:
                raise GeocoderUnavailable(f"row {row}: {exc}") from None
            if found is None:
                reason = "no coordinates, and the address/postcode could not be located"
                reject("lat", query, reason if query else "no coordinates, and no address or postcode to locate")
                return None, None, ""
            lat, lon, precision, down = found
            said = f"coordinates geocoded ({precision})"
            if down:
                # Placed by the gazetteer alone (a postcode's centroid) because a provider was down, not because
                # it knew no better: said, so that ops run the feed again once it is back.
                said += f": {', '.join(down)} did not answer, so not finer; run the ingest again to place it better"
            self.warnings.append(Warning(row, "lat", query, said))
            return lat, lon, precision
        coords: list[float] = []
        for column, value in (("lat", raw_lat), ("lon", raw_lon)):
            number = _number(value)
            if number is None:
                reject(column, value, "not a number")
                return None, None, ""
            if not math.isfinite(number):
                reject(column, value, "not a finite number")
                return None, None, ""
            coords.append(number)
        lat, lon = coords
        if not -90 <= lat <= 90:
            reject("lat", raw_lat, "latitude must be between -90 and 90")
        elif not -180 <= lon <= 180:
            reject("lon", raw_lon, "longitude must be between -180 and 180")
        elif lat == 0 and lon == 0:
            reject("lat", raw_lat, "(0, 0) is a missing position, not a place")
        else:
            return lat, lon, "coordinates"
        return None, None, ""

    def _hours(
        self,
        row: int,
        record: dict[str, Any],
        services: list[str],
        timezone: str,
        country: str,
        region: str | None,
        position: tuple[float | None, float | None],
        reject: Callable[[str, Any, str], None],
    ) -> dict[str, tuple[str, str]]:
        sources: list[tuple[str, str, str]] = []  # (column, service, raw)
        general = self._text(record, "opening_hours")
        if general:
            sources.append(("opening_hours", "", general))
        own: dict[str, str] = {}  # service -> the column its hours came from
        for column in record:
            if column.startswith("hours:"):
                value = self._text(record, column)
                service = hours_service(column)
                if value and not service:  # "hours:" names no service: its hours went nowhere, without a word
                    self.warnings.append(Warning(row, column, value, "no service named after 'hours:': ignored"))
                if value and service:
                    if service in own:
                        # "hours:repair" and "hours:Repair" (GeoJSON properties; a CSV header fails whole): one of
                        # the two would be dropped without a word.
                        reject(column, value, f"a second column of {service!r} hours, beside {own[service]!r}")
                        return {}
                    sources.append((column, service, value))
                    own[service] = column
        desk = self._text(record, "service_hours")
        if desk:
            # `service_hours` are the service desk's: every offered service but sales that has none of its own.
            desk_services = [s for s in services if s != "sales" and s not in own]
            if not desk_services:
                self.warnings.append(
                    Warning(row, "service_hours", desk, "no service other than sales to apply them to")
                )
            sources.extend(("service_hours", s, desk) for s in desk_services)
        if not sources:
            reject("opening_hours", None, "no opening hours")
            return {}
        if not general:
            # A place's open state, without a service asked for, follows its own hours: without them it was
            # "closed, never opens" beside service hours that said open. One service's hours can stand in.
            distinct = {raw for _, _, raw in sources}
            if len(distinct) > 1:
                reject("opening_hours", None, "empty: with different hours per service, the place needs its own")
                return {}
            self.warnings.append(
                Warning(row, "opening_hours", None, f"empty: the place's hours are its services' ({sources[0][2]})")
            )
            sources.insert(0, ("opening_hours", "", sources[0][2]))
        out: dict[str, tuple[str, str]] = {}
        for column, service, raw in sources:
            coords = sun_coordinates(raw, *position)
            canonical, messages, error = _parse_hours(raw, timezone, country, region, coords)
            if error is not None:
                reject(column, raw, error)
                continue
            for message in messages:
                self.warnings.append(Warning(row, column, raw, message))
            out[service] = (raw, canonical)
        checked = set()
        for column, service, raw in sources:
            if service in out and "" in out and out[service][1] != out[""][1] and column not in checked:
                checked.add(column)
                days = _open_while_place_closed(out[""][1], out[service][1], timezone, country, region, self.today)
                if days:
                    self.warnings.append(Warning(row, column, raw, _open_while_place_closed_message(days)))
        return out


@lru_cache(maxsize=65536)
def _parse_hours(
    raw: str, timezone: str, country: str, region: str | None, coords: tuple[float, float] | None
) -> tuple[str, tuple[str, ...], str | None]:
    """(canonical, warnings, error): feeds repeat a few hour patterns across thousands of rows (`coords` only
    for hours with sun events, so the cache still serves the rest)."""
    try:
        schedule = Schedule.parse(raw, timezone=timezone, country=country, region=region, coords=coords)
    except (HoursSyntaxError, HoursError) as exc:
        return "", (), str(exc)
    return schedule.canonical, schedule.warnings, None


@lru_cache(maxsize=65536)
def _open_while_place_closed(
    place_hours: str, service_hours: str, timezone: str, country: str, region: str | None, first: date
) -> tuple[date, ...]:
    """The days of the year from `first` on which a service opens while the place's own hours keep it closed
    all day though it opens on that weekday most weeks of the year: a holiday or a dated closure (`PH off`,
    `Dec 25 off`, a month of works) that the service's hours leave out, so the desk shows open on Christmas
    Day. A weekly day off the service does not share (a repair desk open on Sundays) is the feed's to decide,
    not warned. The year is walked once per place's hours; a service is asked about those days alone."""
    closed = _closed_days(place_hours, timezone, country, region, first)
    if not closed:
        return ()
    service = schedule_for(service_hours, timezone, country, region)
    return tuple(day for day in closed if service.opens_on(day))


# What makes one week of canonical hours differ from another: holidays, dates, months, years, week numbers,
# Easter (outside quoted comments).
_DATED = re.compile(r"\b(?:PH|SH|easter|week|Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec|\d{4})\b")


@lru_cache(maxsize=4096)
def _closed_days(place_hours: str, timezone: str, country: str, region: str | None, first: date) -> tuple[date, ...]:
    """The days of the year from `first` the place's hours close all day though the place opens on that
    weekday most weeks (26 of the 52)."""
    if not _DATED.search(" ".join(place_hours.split('"')[::2])):  # the parts outside comments
        return ()  # every week alike: no such day (and no walk of the year, ~10 ms)
    place = schedule_for(place_hours, timezone, country, region)
    year = [first + timedelta(days=offset) for offset in range(364)]  # 52 weeks: each weekday 52 times
    opens = place.opening_days(year[0], year[-1])
    weeks_open = Counter(day.weekday() for day in opens)
    return tuple(day for day in year if day not in opens and weeks_open[day.weekday()] >= 26)


def _open_while_place_closed_message(days: tuple[date, ...]) -> str:
    shown = ", ".join(f"{day:%a} {day.day} {day:%b %Y}" for day in days[:3])
    more = f" and {len(days) - 3} more" if len(days) > 3 else ""
    return (
        f"open on {shown}{more}, when the place's opening_hours close all day (a holiday or a dated closure): "
        "if this service closes then too, say so in its hours (e.g. `PH off`, `Dec 25 off`)"
    )


def _number(value: Any) -> float | None:
    """A coordinate as a float (a decimal comma accepted), or None when it is not a number: JSON true is not 1,
    and neither is "4_8.85", which Python's float() reads as 48.85."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if _finite(value) else math.inf
    text = str(value)
    if "_" in text:
        return None
    try:
        return float(text.replace(",", "."))
    except ValueError:
        return None


def _finite(number: float) -> bool:
    # An int too large for a float (JSON has no limit on digits) made math.isfinite and float() raise.
    return math.isfinite(number) if isinstance(number, float) else abs(number) < 1e308


def _is_hours_column(column: str) -> bool:
    return column in _HOURS_COLUMNS or column.startswith("hours:")


_SCIENTIFIC = re.compile(r"[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+")

# Postcode shapes of the countries feeds most often come from: a value of another shape is published as it is,
# with a warning (a spreadsheet drops a French code's leading zero, 02000 -> 2000, or makes a date of it).
POSTCODE_SHAPES: dict[str, tuple[re.Pattern[str], str]] = {
    country: (re.compile(pattern), shape)
    for country, pattern, shape in [
        ("FR", r"\d{5}", "5 digits"), ("DE", r"\d{5}", "5 digits"), ("IT", r"\d{5}", "5 digits"),
        ("ES", r"\d{5}", "5 digits"), ("MC", r"980\d\d", "980 and 2 digits"), ("RU", r"\d{6}", "6 digits"),
        ("US", r"\d{5}(-\d{4})?", "5 digits, or ZIP+4"), ("BE", r"\d{4}", "4 digits"), ("CH", r"\d{4}", "4 digits"),
        ("AT", r"\d{4}", "4 digits"), ("LI", r"94\d\d", "94 and 2 digits"), ("NL", r"\d{4} ?[A-Z]{2}", "1234 AB"),
        ("GB", r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}", "e.g. SW1A 1AA"), ("CA", r"[A-Z]\d[A-Z] ?\d[A-Z]\d", "A1A 1A1"),
    ]
}  # fmt: skip


# Alsace and Moselle keep holidays of their own (26 December, Good Friday) by department: a place there known by
# its wider region (FR-GES, Grand Est) or by none got the national calendar, and was listed open on the 26th.
_OWN_CALENDAR_DEPARTMENTS = {"57": "Moselle", "67": "Bas-Rhin", "68": "Haut-Rhin"}


def department_region(country: str, region: str | None, postcode: str | None) -> tuple[str | None, str | None]:
    """The region to keep for a place's holidays, and a warning when it is not the feed's: the postcode's
    department in Alsace-Moselle where the region names no calendar of the `holidays` package."""
    code = (postcode or "").strip()
    department = code[:2]
    # Five digits: "6700" is 06700 (Saint-Laurent-du-Var) without the zero a spreadsheet dropped, not Bas-Rhin.
    if country != "FR" or department not in _OWN_CALENDAR_DEPARTMENTS or not re.fullmatch(r"\d{5}", code):
        return region, None
    if resolve_region("FR", region) is not None:
        return region, None  # FR-57, Moselle, Alsace, FR-67...: the feed's own reading holds
    iso = f"FR-{department}"
    said = f"region {region!r}" if region else "no region"
    return iso, (
        f"{said}: read as {iso} ({_OWN_CALENDAR_DEPARTMENTS[department]}, from the postcode), whose holidays "
        "(26 December, Good Friday) are the department's own"
    )


def postcode_problem(postcode: str | None, country: str | None) -> str | None:
    """Why `postcode` is not of its country's shape (POSTCODE_SHAPES), or None (also for other countries)."""
    if not postcode or country not in POSTCODE_SHAPES:
        return None
    pattern, shape = POSTCODE_SHAPES[country]
    if pattern.fullmatch(postcode.upper()):
        return None
    if pattern.fullmatch("0" + postcode):
        return f"not a {country} postcode ({shape}): a leading zero lost (0{postcode}?), as spreadsheets do"
    return f"not a {country} postcode ({shape}); published as it is"


def _text_limit(column: str) -> int:
    return MAX_HOURS if _is_hours_column(column) else MAX_TEXT


def _value_problem(column: str, value: Any) -> str | None:
    """Why a value cannot be the column's text, or None. CSV gives text; JSON may give anything, and a Python repr
    (`{'en': 'x'}`, `True`, `nan`) must not be published as a name."""
    if type(value) is str:
        limit = _text_limit(column)
        if len(value) > limit:
            return f"longer than {limit} characters"
        if (not value.isascii() or "\x00" in value) and _UNSTORABLE.search(value):
            return "holds a NUL character or a lone surrogate (a broken \\u escape), which cannot be stored"
        return None
    if value is None or column in ("lat", "lon"):  # coordinates get their own checks and reasons
        return None
    items = value if isinstance(value, list) and (column in _LIST_COLUMNS or column.startswith("hours:")) else [value]
    for item in items:
        if isinstance(item, str):
            problem = _value_problem(column, item)
        elif isinstance(item, int | float) and not isinstance(item, bool) and _finite(item):
            # JSON has no limit on digits: a 4,000-digit number is as long a word as a 4,000-character name.
            limit = _text_limit(column)
            problem = f"longer than {limit} characters" if len(_as_text(item)) > limit else None
        else:
            problem = f"expected text, got {_json_kind(item)}"
        if problem is not None:
            return problem
    return None


def _as_text(value: Any) -> str:
    """A JSON value as a text column reads it: an integral number as an integer (a phone written 3.377e11 is
    "337700000000", a postcode 75008.0 is "75008", not str(float)'s "…0"), anything else as str() writes it."""
    if type(value) is float and value.is_integer():
        return str(int(value))
    return str(value)


def _scrubbed(column: str, value: Any) -> tuple[Any, str, str] | None:
    """(the value without bidi and control characters, the value as the report shows it, the warning), or None
    when it has none. A JSON list's texts are cleaned one by one."""
    if type(value) is str:
        if value.isprintable():  # one pass in C: what the search below looks for is never printable
            return None
        pattern = _SCRUB_HOURS if _is_hours_column(column) else _SCRUB_LINE
        if pattern.search(value) is None:  # a no-break space, say
            return None
        dropped: dict[str, None] = {}
        spaced: dict[str, None] = {}

        def replace(match: re.Match[str]) -> str:
            if match.group("br"):
                spaced.update(dict.fromkeys(match.group().replace(" ", "")))
                return " "
            dropped[match.group()] = None
            return ""

        cleaned = pattern.sub(replace, value)
        shown = _SCRUBBED_SHOWN.sub(lambda m: f"\\u{ord(m.group()):04x}", value)
        notes = []
        if dropped:
            notes.append(f"removed {_code_points(dropped)} (bidi controls and control characters: no text needs them)")
        if spaced:
            notes.append(f"read {_code_points(spaced)} as a space (a line break or a tab in one-line text)")
        return cleaned, shown, "; ".join(notes)
    if isinstance(value, list):
        items = [(_scrubbed(column, item), item) for item in value]
        if all(done is None for done, _ in items):
            return None
        cleaned_items = [done[0] if done else item for done, item in items]
        shown_items = [done[1] if done else item for done, item in items]
        messages = dict.fromkeys(done[2] for done, _ in items if done)
        return cleaned_items, ";".join(str(item) for item in shown_items), "; ".join(messages)
    return None


def _code_points(chars: dict[str, None]) -> str:
    return ", ".join(f"U+{ord(c):04X}" for c in chars)


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a JSON object"
    if isinstance(value, list):
        return "a JSON list"
    return repr(value) if isinstance(value, float) else type(value).__name__



