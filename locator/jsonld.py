"""schema.org JSON-LD for a place, generated from the same hours model as every other answer.

`openingHoursSpecification` is the regular week: for each weekday, the pattern it has most often over the next
eight weeks by the feed's hours (ops' exceptions left out: a closure of five weeks or more made "closed" the
regular week). Every day of the next 60 whose hours, exceptions included, differ from its weekday's pattern (a
public holiday, holiday hours, a closure) becomes a `specialOpeningHoursSpecification` for that date; a closed
day is written the way schema.org documents it, opens = closes = 00:00.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

from locator.hours import Schedule, sun_coordinates
from locator.open_intervals import schedule_for
from locator.search import GENERAL, Place

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
PATTERN_WEEKS = 8
SPECIAL_DAYS = 60

Pattern = tuple[tuple[str, str], ...]  # ((opens, closes), ...) on one local day


def _day_patterns(schedule: Schedule | None, start_day: date, days: int) -> dict[date, Pattern]:
    if schedule is None:
        return {}
    out: dict[date, list[tuple[str, str]]] = {start_day + timedelta(days=n): [] for n in range(days)}
    # Instants compared in UTC, days bounded by their first instants (Schedule.midnight): in the place's own
    # zone Python compares wall clocks, and Santiago's spring-forward Sunday, which begins at 01:00, got an
    # opening 00:00-01:00 the place never had.
    first = schedule.midnight(start_day).astimezone(UTC)
    for interval in schedule.intervals(first, schedule.midnight(start_day + timedelta(days=days))):
        if interval.state != "open":
            continue
        cursor, stop = interval.start.astimezone(UTC), interval.end.astimezone(UTC)
        while cursor < stop:  # split spans past midnight at each local day's start
            day = schedule.local(cursor).date()
            day_start = schedule.midnight(day).astimezone(UTC)
            next_start = schedule.midnight(day + timedelta(days=1)).astimezone(UTC)
            end = min(stop, next_start)
            opens = "00:00:00" if cursor == day_start else schedule.local(cursor).strftime("%H:%M:%S")
            closes = "23:59:59" if end == next_start else schedule.local(end).strftime("%H:%M:%S")
            if day in out:
                out[day].append((opens, closes))
            cursor = end
    return {day: tuple(spans) for day, spans in out.items()}


def local_business(place: Place, at: datetime | None = None) -> dict[str, Any]:
    moment = at or datetime.now(UTC)
    schedule = place.schedule(GENERAL)
    today = schedule.local(moment).date() if schedule else moment.date()
    patterns = _day_patterns(schedule, today, SPECIAL_DAYS)
    canonical = place.hours.get(GENERAL)
    feed = (
        schedule_for(canonical, place.timezone, place.country, place.region,
                     coords=sun_coordinates(canonical, place.lat, place.lon, ()))
        if canonical is not None else None
    )  # fmt: skip
    weeks = _day_patterns(feed, today, PATTERN_WEEKS * 7)
    regular: dict[int, Pattern] = {}
    for weekday in range(7):
        seen = Counter(p for d, p in weeks.items() if d.weekday() == weekday)
        regular[weekday] = seen.most_common(1)[0][0] if seen else ()
    specification = [
        {"@type": "OpeningHoursSpecification", "dayOfWeek": f"https://schema.org/{DAYS[weekday]}",
         "opens": opens, "closes": closes}
        for weekday in range(7) for opens, closes in regular[weekday]
    ]  # fmt: skip
    special: list[dict[str, str]] = []
    for day in sorted(patterns)[:SPECIAL_DAYS]:
        if patterns[day] == regular[day.weekday()]:
            continue
        spans = patterns[day] or (("00:00:00", "00:00:00"),)
        special.extend(
            {"@type": "OpeningHoursSpecification", "validFrom": day.isoformat(), "validThrough": day.isoformat(),
             "opens": opens, "closes": closes}
            for opens, closes in spans
        )  # fmt: skip
    body: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Store" if place.kind == "store" else "LocalBusiness",
        "@id": place.url or f"urn:locator:{place.id}",
        "identifier": place.id,
        "name": place.name,
        "address": {
            "@type": "PostalAddress",
            "streetAddress": place.street,
            "postalCode": place.postcode,
            "addressLocality": place.city,
            "addressRegion": place.region,
            "addressCountry": place.country,
        },
        "geo": {"@type": "GeoCoordinates", "latitude": round(place.lat, 7), "longitude": round(place.lon, 7)},
        "openingHoursSpecification": specification,
        "specialOpeningHoursSpecification": special,
    }
    if place.phone:
        body["telephone"] = place.phone
    if place.url:
        body["url"] = place.url
    if place.services:
        body["makesOffer"] = [
            {"@type": "Offer", "itemOffered": {"@type": "Service", "name": service}} for service in place.services
        ]
    return {k: v for k, v in body.items() if v not in (None, [], {})}
