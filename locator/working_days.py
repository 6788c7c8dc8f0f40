"""The government's moves of days off, for hours that follow the official working-day calendar.

`PH` is the public holidays (for Russia the non-working holidays of Labour Code art. 112; see
`locator.hours._SUBSTITUTED_DAYS_OFF_NOT_PH`): a decree that moves a day off ("31 December 2026 off, in
place of Saturday 3 January") is no holiday, and its other half, a Saturday that becomes a working day,
cannot be written in OSM hours at all. A support line whose staff work the official calendar opts in
(`calendar=official` in the support file): each moved day off is closed, and each weekend day made a working
day keeps the hours of the day it stands for, as dated exceptions after the line's own hours.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

import holidays

from locator.hours import Schedule, SpecialHours

CALENDARS = ("", "official")
# The comments the moved days carry, in the country's language where its lines speak it (the demo's Moscow
# line answered Russian customers "day off moved by decree"); English elsewhere.
_RUSSIAN = ("выходной день (перенос)", "рабочий день (перенос)")
_COMMENTS = {"": ("day off moved by decree", "working day by decree"), "RU": _RUSSIAN, "BY": _RUSSIAN, "KZ": _RUSSIAN}


def _transfers(cal: Any, year: int) -> list[tuple[date, date]]:
    """(day off, the day it was moved from) of one year, from the package's special holidays."""
    entries = getattr(cal, "special_public_holidays", {}).get(year, ())
    if entries and isinstance(entries[0], int):
        entries = (entries,)  # one entry, not a tuple of them
    out = []
    for entry in entries:
        if len(entry) >= 4:  # (to month, to day, from month, from day[, from year]); three: a one-off holiday
            to_month, to_day, from_month, from_day, *rest = entry
            out.append((date(year, to_month, to_day), date(rest[0] if rest else year, from_month, from_day)))
    return out


@lru_cache(maxsize=256)
def _moves(country: str, years: tuple[int, ...]) -> tuple[tuple[date, date | None], ...]:
    """(day off, the weekend day that works in its place, or None when it replaced a holiday) per move."""
    try:
        cal = holidays.country_holidays(country, years=years)
    except NotImplementedError:
        return ()
    workdays: set[date] = getattr(cal, "weekend_workdays", set())
    return tuple(
        (day_off, moved_from if moved_from in workdays else None)
        for year in years
        for day_off, moved_from in _transfers(cal, year)
    )


def official_exceptions(schedule: Schedule, country: str | None, years: Iterable[int]) -> tuple[SpecialHours, ...]:
    """The dated exceptions that make `schedule` follow the official working-day calendar of `country`."""
    if not country:
        return ()
    out = []
    off_comment, working_comment = _COMMENTS.get(country.upper(), _COMMENTS[""])
    for day_off, working in _moves(country, tuple(sorted(set(years)))):
        out.append(SpecialHours(day_off, day_off, "off", off_comment))
        if working is not None:
            out.append(SpecialHours(working, working, _day_hours(schedule, day_off), working_comment))
    return tuple(out)


def _day_hours(schedule: Schedule, day: date) -> str:
    """The open times of `day` by the line's own hours, as an exception's hours ('off' when none). A night that
    runs on past midnight keeps its end in extended hours (`22:00-30:00`): the working Saturday of a night line
    is its whole night, not one cut at 24:00. One that runs through the next day too (round the clock) ends at
    24:00: the next day's own hours say the rest."""
    midnight = schedule.midnight(day)
    next_midnight = schedule.midnight(day + timedelta(days=1))
    day_after = schedule.midnight(day + timedelta(days=2))
    spans = []
    for interval in schedule.intervals(midnight, day_after):
        if interval.state != "open" or interval.start >= next_midnight:
            continue
        start = max(interval.start, midnight)
        end = interval.end if next_midnight < interval.end < day_after else min(interval.end, next_midnight)
        spans.append(f"{_clock(start)}-{_wall_end(end, day)}")
    return ",".join(spans) or "off"


def _wall_end(end: datetime, day: date) -> str:
    """A span's end as `day`'s rule writes it: 24:00 at the next midnight, past it in extended hours."""
    hours = (end.date() - day).days * 24 + end.hour
    return f"{hours:02d}:{end.minute:02d}"


def _clock(moment: datetime) -> str:
    return time(moment.hour, moment.minute).strftime("%H:%M")
