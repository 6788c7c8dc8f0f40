"""The opening-hours engine: one place's hours, evaluated in its own timezone with its own holidays.

`opening_hours` (opening-hours-py, a Rust core) does the evaluation. Around it this module adds what a
locator needs and the library does not do:

* tolerant input (`locator.hours_syntax.normalize`) so that the sloppy forms vendor feeds carry are repaired,
  with a warning each, instead of rejected;
* public and school holidays by country *and region*: the library knows countries only (and no school
  holidays), so `PH`/`SH` are expanded into the explicit dates the `holidays` package gives for the country
  and subdivision (Moselle's Good Friday, Bavaria's Epiphany, Baden-Württemberg's school breaks), year by
  year as evaluation needs them; `PH +1 day` shifts those dates and `We,Fr PH` keeps the ones on those days;
  US state-office days that are not shop holidays (Black Friday, Election Day) are left out of `PH`;
* sun events at a known place (`sunrise-sunset`) computed per local day by `locator.sun` (the reference's
  SunCalc, to the minute) and written into that day's rules, so that `sunrise-08:00` on a day the sun rises
  after 08:00 is not open, instead of the library's 24-hour span from sunrise to the next morning;
* the OSM semantics the library reads differently from the opening_hours.js reference: an open end
  (`17:00+`) is `unknown` for a bounded time, a rule whose only content is a comment is `unknown`, a `||`
  fallback rule applies only where the rules before it leave the time closed without saying so;
* dated exceptions (holiday hours, a closure until a reopening date) appended as later rules, which override
  earlier ones exactly as the OSM specification says;
* the DST traps: every instant is converted to the place's `ZoneInfo` before it reaches the library, and
  arithmetic is done on aware instants, never on wall-clock times.

The rewriting is an internal compilation step: `Schedule.canonical` stays the text the user gave (repaired),
and what the library evaluates is derived from it per year (per day for sun times at a known place).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

import holidays
import opening_hours

from locator import regional_holidays
from locator.countries import is_zone_name
from locator.hours_syntax import HoursSyntaxError, cyclic_set, normalize
from locator.sun import sun_minutes

__all__ = [
    "HoursError",
    "HoursSyntaxError",
    "Interval",
    "Schedule",
    "SpecialHours",
    "resolve_region",
]

State = Literal["open", "closed", "unknown"]

# How far ahead `next_open` looks: a shop "closed for renovation until" next year still gets an answer, and so
# does one behind the longest closure ops may add (locator.special_hours.MAX_DAYS, three years).
NEXT_OPEN_HORIZON = timedelta(days=3 * 366 + 31)
# How far ahead `closes_at` looks for the end of an open spell: past it, "no end in sight".
OPEN_END_HORIZON = timedelta(days=400)

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WEEKDAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
# The library's ParserError is not a SyntaxError subclass (and the stubs do not declare it).
_ENGINE_ERRORS: tuple[type[Exception], ...] = (SyntaxError, getattr(opening_hours, "ParserError", SyntaxError))
# Raised for a country the library has no calendar for (not in the stubs either).
_UNKNOWN_COUNTRY: type[Exception] = getattr(opening_hours, "UnknownCountryError", LookupError)
# Marks the comment of an explicit closing rule so that a `||` fallback can tell "closed because a rule says
# so" from "closed because no rule matched"; an invisible separator never typed in a feed.
_EXPLICIT = "\u2063"


class HoursError(ValueError):
    """Hours that cannot be evaluated for a reason other than syntax (unknown timezone, bad exception)."""


@dataclass(frozen=True)
class Interval:
    start: datetime
    end: datetime
    state: Literal["open", "unknown"]
    comment: str | None = None


@dataclass(frozen=True)
class SpecialHours:
    """A dated exception ops staff add beside a place's regular hours.

    `hours` is OSM time selectors for those days (`10:00-14:00`) or `off` for a closure; `end` is inclusive.
    """

    start: date
    end: date
    hours: str = "off"
    comment: str | None = None

    @property
    def closes(self) -> bool:
        """A closure: the days closed all day, whatever hours they had."""
        return self.hours.strip().lower() in ("", "off", "closed")

    def as_rule(self) -> str:
        span = _osm_date(self.start)
        if self.end != self.start:
            span += "-" + _osm_date(self.end)
        hours = self.hours.strip() or "off"
        if self.comment and not _MODIFIER.search(hours):
            # A comment alone would make the rule `unknown` (see `_prepare`); holiday hours are meant as open.
            hours += " open"
        comment = f' "{self.comment}"' if self.comment else ""
        return f"{span} {hours}{comment}"


def exceptions_for(
    service: str, place_wide: Iterable[SpecialHours], own: Iterable[SpecialHours]
) -> tuple[SpecialHours, ...]:
    """The exceptions a service's hours take (`service` '': the place's hours, `own` then being the place's):
    the place's first, the service's own after them, so that on a day both have the later rule, the more
    specific one, wins (a closed repair desk on a day of short hours for the whole place)."""
    return (tuple(place_wide) if service else ()) + tuple(own)


def within_own_hours(
    regular: Schedule, place_wide: Iterable[SpecialHours], coords: tuple[float, float] | None = None
) -> tuple[SpecialHours, ...]:
    """The place's exceptions as a service with hours of its own (`regular`) takes them: a closure closes it,
    and hours bound its own on those days, day by day, each day's night included (open where both are; a
    day unknown where either is stays unknown, or keeps its open part when it has one). Days the bound leaves
    as they were are left out. Taken as they are, a shop's Sunday opening opened its repair desk, which never
    opens on Sundays, and a late night kept the desk open until 23:00."""
    out: list[SpecialHours] = []
    zone = ZoneInfo(regular.timezone)
    for special in place_wide:
        if special.closes:
            out.append(special)
            continue
        start = datetime.combine(special.start, time(0), zone)
        # A day past the last: its night (the desk's 18:00-03:00 under the shop's 10:00-01:00) is its own.
        end = datetime.combine(special.end + timedelta(days=2), time(0), zone)
        theirs = Schedule(regular.canonical, regular.timezone, regular.country, regular.region,
                          coords=coords or regular.coords, special=(special,)).intervals(start, end)  # fmt: skip
        own = regular.intervals(start, end)
        both = [
            Interval(max(a.start, b.start), min(a.end, b.end), "unknown" if "unknown" in (a.state, b.state) else "open")
            for a in theirs
            for b in own
            if max(a.start, b.start) < min(a.end, b.end)
        ]
        days, plain = _by_local_day(both, zone), _by_local_day(own, zone)
        _join_nights(days, special.start, special.end, zone)
        _join_nights(plain, special.start, special.end, zone)
        runs: list[SpecialHours] = []
        day = special.start
        while day <= special.end:
            spans = days.get(day, [])
            if spans == plain.get(day, []):
                day += timedelta(days=1)
                continue  # the service's own hours already (the desk closed on the shop's Sunday opening)
            # One rule a day holds one state: a day open in part and unknown in part (the shop's late opening
            # `09:00-18:00+` over a desk open until 20:00) keeps the open part, and the rest is closed. Unknown
            # over the whole day, it made the desk unknown at noon too, and out of every "open now" answer.
            known = [(a, b) for a, b, state in spans if state == "open"]
            unknown = not known and bool(spans)
            hours = ",".join(f"{a.astimezone(zone):%H:%M}-{_wall_end(a, b, zone)}" for a, b, _ in spans if unknown
                             or (a, b) in known) or "off"  # fmt: skip
            if unknown:
                hours += " unknown"
            if runs and runs[-1].hours == hours and runs[-1].end + timedelta(days=1) == day:
                runs[-1] = SpecialHours(runs[-1].start, day, hours, special.comment)
            else:
                runs.append(SpecialHours(day, day, hours, special.comment))
            day += timedelta(days=1)
        out.extend(runs)
    return tuple(out)


def _by_local_day(intervals: Iterable[Interval], zone: ZoneInfo) -> dict[date, list[tuple[datetime, datetime, str]]]:
    """(start, end, state) of `intervals` cut at local midnights, by local day."""
    days: dict[date, list[tuple[datetime, datetime, str]]] = {}
    for item in intervals:
        first = item.start
        while first < item.end:
            local = first.astimezone(zone).date()
            midnight = datetime.combine(local + timedelta(days=1), time(0), zone)
            days.setdefault(local, []).append((first, min(item.end, midnight), item.state))
            first = min(item.end, midnight)
    return days


def _join_nights(
    days: dict[date, list[tuple[datetime, datetime, str]]], first: date, last: date, zone: ZoneInfo
) -> None:
    """A span of each day from `first` to `last` that runs on past its midnight into the next morning takes that
    morning's part back (`18:00-01:00`: the night is the day's, as the OSM rules read a range past midnight).
    Cut at midnight, a desk's 18:00-03:00 under the shop's 10:00-01:00 read as its own evening that day, and its
    regular night ran on until 03:00."""
    day = first
    while day <= last:
        spans, after = days.get(day), days.get(day + timedelta(days=1))
        if spans and after and spans[-1][1] == after[0][0] and spans[-1][2] == after[0][2]:
            noon = datetime.combine(day + timedelta(days=1), time(12), zone)
            if after[0][1] <= noon:  # a night, not the next day's own opening
                spans[-1] = (spans[-1][0], after[0][1], spans[-1][2])
                days[day + timedelta(days=1)] = after[1:]
        day += timedelta(days=1)


def _wall_end(start: datetime, end: datetime, zone: ZoneInfo) -> str:
    """A span's end as the day's rule writes it: past its midnight in extended hours (`25:00`), so that a span
    from 00:00 into the next morning is not read as an hour of the same day."""
    local, day = end.astimezone(zone), start.astimezone(zone).date()
    hours = (local.date() - day).days * 24 + local.hour
    return f"{hours:02d}:{local:%M}"


def _osm_date(d: date) -> str:
    return f"{d.year}{_MONTHS[d.month - 1]}{d.day:02d}"


# --------------------------------------------------------------------------------------------------------
# Holiday calendars
# --------------------------------------------------------------------------------------------------------


def _holiday_calendar(country: str | None, region: str | None) -> tuple[str, str | None] | None:
    """(country, subdivision) the `holidays` package knows, or None when it does not know the country."""
    if not country:
        return None
    cls = _calendar_class(country.upper())
    if cls is None:
        return None
    return country.upper(), resolve_region(country, region, cls)


@lru_cache(maxsize=512)
def _calendar_class(country: str) -> type | None:
    try:
        return holidays.country_holidays(country).__class__
    except NotImplementedError:
        return None


def resolve_region(country: str, region: str | None, cls: type | None = None) -> str | None:
    """Map `FR-57`, `57`, `Moselle`, `DE-BY`, `Baden-Württemberg` to the `holidays` subdivision code.

    Returns None for no region or a region the package does not know (the country's national holidays apply).
    """
    if not region:
        return None
    if cls is None:
        cls = _calendar_class(country.upper())
        if cls is None:
            return None
    code = region.strip()
    prefix = country.upper() + "-"
    if code.upper().startswith(prefix):
        code = code[len(prefix) :]
    subdivisions: tuple[str, ...] = tuple(getattr(cls, "subdivisions", ()))
    by_upper = {s.upper(): s for s in subdivisions}
    if code.upper() in by_upper:
        return by_upper[code.upper()]
    # ISO 3166-2 codes the package files under a wider subdivision (Bas-Rhin and Haut-Rhin form Alsace).
    wider = _ISO_ALIASES.get(country.upper(), {}).get(code.upper())
    if wider in by_upper:
        return by_upper[wider]
    aliases: dict[str, str] = dict(getattr(cls, "subdivisions_aliases", {}))
    aliases.update({name: target for name, target in _REGION_NAMES.get(country.upper(), {}).items()
                    if target in by_upper})  # fmt: skip
    folded = _fold(code)
    for alias, target in aliases.items():
        if _fold(alias) == folded:
            return target
    # Word order and "U.S." vs "United States" differ between sources: the package's "Virgin Islands, U.S."
    # is "United States Virgin Islands" in OSM and Nominatim.
    words = _name_words(code)
    for alias, target in aliases.items():
        if _name_words(alias) == words:
            return target
    # Regions the package has no calendar for, from the supplement (Russia's republics and regions).
    supplement = regional_holidays.calendar_class(country)
    if supplement is not None and cls is not supplement:
        return resolve_region(country, region, supplement)
    return None


def _name_words(name: str) -> frozenset[str]:
    text = re.sub(r"\bunited\s+states\b|\bu\.\s*s\.?(?=\W|$)", " us ", name.casefold())
    return frozenset(_fold(word) for word in re.split(r"[\s,()/-]+", text) if _fold(word))


_ISO_ALIASES: dict[str, dict[str, str]] = {"FR": {"67": "6AE", "68": "6AE"}}
# Region names feeds carry that the package's aliases (each country's own language) lack: the departments
# that make up Alsace, and the English names of regions whose holidays differ.
_REGION_NAMES: dict[str, dict[str, str]] = {
    "FR": {"Bas-Rhin": "6AE", "Haut-Rhin": "6AE"},
    "DE": {"Bavaria": "BY", "Hesse": "HE", "Lower Saxony": "NI", "North Rhine-Westphalia": "NW",
           "Rhineland-Palatinate": "RP", "Saxony": "SN", "Saxony-Anhalt": "ST", "Thuringia": "TH",
           "Mecklenburg-Western Pomerania": "MV"},
    "AT": {"Carinthia": "2", "Lower Austria": "3", "Upper Austria": "4", "Styria": "6", "Tyrol": "7", "Vienna": "9"},
    "CH": {"Geneva": "GE", "Zurich": "ZH", "Lucerne": "LU", "Grisons": "GR", "Saint Gallen": "SG", "Basel-City": "BS",
           "Basel-Country": "BL"},
    "ES": {"Andalusia": "AN", "Aragon": "AR", "Canary Islands": "CN", "Catalonia": "CT", "Balearic Islands": "IB",
           "Basque Country": "PV", "Navarre": "NC", "Valencia": "VC", "Valencian Community": "VC",
           "Castile and Leon": "CL", "Castile-La Mancha": "CM"},
}  # fmt: skip
# An ISO 3166-2 code (FR-IDF, RU-MOW): a region that simply has no holidays of its own is not worth a warning.
_ISO_REGION = re.compile(r"^[A-Z]{2}-[A-Z0-9]{1,3}$")


def _foreign_region(region: str, country: str) -> str | None:
    """The country an ISO 3166-2 code of another country names (`DE-BY` given for a French place), else None."""
    code = region.strip().upper()
    if _ISO_REGION.match(code) and code[:2] != country.upper():
        return code[:2]
    return None


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if c.isalnum())


def _has_school_holidays(country: str) -> bool:
    cls = _calendar_class(country)
    return cls is not None and "school" in tuple(getattr(cls, "supported_categories", ()))


@lru_cache(maxsize=512)
def _holiday_dates(
    country: str, subdiv: str | None, first_year: int, last_year: int, kind: str = "PH"
) -> frozenset[date]:
    categories = ("school",) if kind == "SH" else ("public",)
    years = range(first_year, last_year + 1)
    # A subdivision only the supplement knows: the package's national calendar plus the supplement's days.
    package_subdiv = subdiv if subdiv in getattr(_calendar_class(country), "subdivisions", ()) else None
    cal = holidays.country_holidays(country, subdiv=package_subdiv, years=years, categories=categories)
    dates = frozenset(cal.keys())
    if kind != "PH":
        return dates
    if country in _SUBSTITUTED_DAYS_OFF_NOT_PH:
        dates -= _substituted_days_off(cal)
    if subdiv is not None and package_subdiv is None:
        dates |= frozenset(regional_holidays.subdivision_holidays(country, subdiv, years))
    if subdiv and country in _FEDERAL_PLUS_STATE:
        dates |= frozenset(holidays.country_holidays(country, years=years, categories=categories).keys())
    if subdiv is None and country in _COMMON_TO_SUBDIVISIONS:
        # Known only by its country, the place is in one of the subdivisions: what they all keep holds there.
        every = [
            frozenset(holidays.country_holidays(country, subdiv=s, years=years, categories=categories).keys())
            for s in getattr(cal, "subdivisions", ())
        ]
        if every:
            dates |= frozenset.intersection(*every)
    if country == "US":
        dates -= _us_state_office_days(cal)
    return dates


# Countries whose national holidays hold in every subdivision while the package's subdivision calendar lists
# only the subdivision's own: the US federal "legal public holidays" (5 U.S.C. 6103, Columbus Day, Washington's
# Birthday) close federal offices, banks and post offices in states that do not keep them as state holidays.
_FEDERAL_PLUS_STATE = frozenset({"US"})
# Countries whose national calendar in the package leaves out holidays every state keeps: Australia's
# substitute days (Christmas on a Saturday -> Monday 27th, New Year's Day on a Sunday -> Monday 2nd) are
# state law, the same in every state, and the reference keeps them nationally too.
_COMMON_TO_SUBDIVISIONS = frozenset({"AU"})


# `PH` means public holidays, for Russia the non-working holidays of Labour Code art. 112. A transfer by
# decree ("Day off (substituted from ...)") moves a day off, mostly swapping a weekday with a Saturday that
# becomes a working day; that working Saturday cannot be expressed, so honouring only the day-off half would be
# inconsistent, and opening_hours.js leaves transfers out too. Only Russia: other countries' transfers are kept.
# Hours that follow the official calendar, both halves, opt in apart (locator.working_days: support lines).
_SUBSTITUTED_DAYS_OFF_NOT_PH = frozenset({"RU"})


def _substituted_days_off(cal: Any) -> frozenset[date]:
    """Days whose only names are the package's "Day off (substituted from %s)" label, in the calendar's language."""
    if not getattr(cal, "has_substituted_holidays", False):
        return frozenset()
    prefix = cal.tr(cal.substituted_label).split("%s")[0]
    return frozenset(
        day
        for day in cal.get_named(prefix, lookup="startswith")
        if all(name.startswith(prefix) for name in cal.get_list(day))
    )


def _us_state_office_days(cal: Any) -> frozenset[date]:
    """US state holidays that close state offices while shops keep their usual hours: not `PH` for a shop.

    The day after Thanksgiving (Black Friday, whatever a state names it: "Day After Thanksgiving", "Family
    Day", "American Indian Heritage Day", Indiana's moved "Lincoln's Birthday") is the busiest shopping day
    of the year, and Election Day closes schools and state offices, not shops; the reference keeps neither.
    Both are found through the package's own names for the federal Thanksgiving and the election days.
    """
    days = {thanksgiving + timedelta(days=1) for thanksgiving in cal.get_named("Thanksgiving Day", lookup="exact")}
    days |= set(cal.get_named("Election Day"))
    return frozenset(days)


def _date_list(dates: Iterable[date]) -> str:
    """OSM date selectors for a set of dates, consecutive days folded into ranges (school breaks are long)."""
    ordered = sorted(set(dates))
    if not ordered:
        # No holiday in range: a selector that never matches keeps the rule's syntax valid.
        return "1900Jan01"
    parts: list[str] = []
    first = last = ordered[0]
    for day in ordered[1:]:
        if day == last + timedelta(days=1):
            last = day
            continue
        parts.append(_osm_date(first) if first == last else f"{_osm_date(first)}-{_osm_date(last)}")
        first = last = day
    parts.append(_osm_date(first) if first == last else f"{_osm_date(first)}-{_osm_date(last)}")
    return ",".join(parts)


# --------------------------------------------------------------------------------------------------------
# Rules: split, take apart, put back together
# --------------------------------------------------------------------------------------------------------


def rule_count(expression: str) -> int:
    """How many rules an expression holds (`;`, `||` and additional `, ` rules; a list of times is one)."""
    return len(_split_rules(expression))


def _split_rules(expression: str) -> list[tuple[str, str]]:
    """Split at `;`, `||` and the additional-rule `, ` outside quotes, keeping each separator.

    `, ` only separates rules when what follows is not a time (`10:00-12:00, 14:00-18:00` is one list).
    """
    parts: list[tuple[str, str]] = []
    current: list[str] = []
    in_quote = False
    i = 0
    while i < len(expression):
        ch = expression[i]
        if ch == '"':
            in_quote = not in_quote
        if not in_quote and ch == ";":
            parts.append(("".join(current), ";"))
            current = []
        elif not in_quote and expression.startswith("||", i):
            parts.append(("".join(current), "||"))
            current = []
            i += 1
        elif not in_quote and expression.startswith(", ", i) and _starts_rule("".join(current), expression[i + 2 :]):
            parts.append(("".join(current), ","))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append(("".join(current), ""))
    return parts


_TIME_START = re.compile(r"\s*(?:\d{1,2}:\d{2}|\(?(?:sunrise|sunset|dawn|dusk)\b)")


def _starts_rule(before: str, rest: str) -> bool:
    before = before.rstrip()
    return before.endswith('"') or _MODIFIER.search(before) is not None or _TIME_START.match(rest) is None


_MODIFIER = re.compile(r"(?:^|(?<=[\s+]))(open|closed|off|unknown)$")


@dataclass
class _Rule:
    body: str  # selectors and times
    modifier: str  # open / closed / off / unknown / ""
    comment: str  # with its quotes, or ""
    sep: str  # what follows the rule: ";", ",", "||" or ""

    @classmethod
    def parse(cls, text: str, sep: str) -> _Rule:
        quote = text.find('"')
        head, comment = (text[:quote], text[quote:].strip()) if quote >= 0 else (text, "")
        head = head.strip()
        match = _MODIFIER.search(head)
        modifier = ""
        if match:
            modifier = match.group(1)
            head = head[: match.start()].rstrip()
        return cls(head, modifier, comment, sep)

    def text(self) -> str:
        return " ".join(part for part in (self.body, self.modifier, self.comment) if part)


def _join(rules: Sequence[_Rule]) -> str:
    out: list[str] = []
    for rule in rules:
        out.append(rule.text())
        if rule.sep == ";":
            out.append("; ")
        elif rule.sep == ",":
            out.append(", ")
        elif rule.sep == "||":
            out.append(" || ")
    return "".join(out).strip()


# Time selectors at the end of a rule's body: 10:00-12:00, 17:00+, sunrise-(sunset+01:00)+, 10:00-16:00/01:00.
_T = r"(?:\d{1,2}:\d{2}|sunrise|sunset|dawn|dusk|\((?:sunrise|sunset|dawn|dusk)[+-]\d{1,2}:\d{2}\))"
_ITEM = rf"{_T}(?:-{_T})?(?:/\d{{1,2}}(?::\d{{2}})?)?\+?"
_TIMES = re.compile(rf"(?:^|(?<=\s))(?P<times>{_ITEM}(?:,{_ITEM})*)$")
_TIME_PART = re.compile(rf"(?P<a>{_T})(?:-(?P<b>{_T}))?(?:/[\d:]+)?(?P<plus>\+?)$")
_SUN = re.compile(r"\((sunrise|sunset|dawn|dusk)([+-])(\d{1,2}):(\d{2})\)|\b(sunrise|sunset|dawn|dusk)\b")
# What opening_hours.js assumes for sun events when it cannot compute them, and for open-end lengths.
_SUN_DEFAULT = {"dawn": 5 * 60 + 30, "sunrise": 6 * 60, "sunset": 18 * 60, "dusk": 18 * 60 + 30}
_DAY = 24 * 60


# Sun words as feeds may write them before the tolerant parser canonicalises them (`daylight`, `Sunset`);
# whole words, so that `Sun: 11-8` (a Sunday) does not make every row of a feed a schedule of its own.
_SUN_WORDS = re.compile(r"(?<![a-z])(?:sunrise|sunset|dawn|dusk|daylight|daytime)(?![a-z])", re.IGNORECASE)


def sun_coordinates(
    hours: str, lat: float | None, lon: float | None, special: Iterable[SpecialHours] = ()
) -> tuple[float, float] | None:
    """Where the sun events of `hours` and its exceptions (`special`) are computed: the place, rounded to 0.01
    degree (~1 km, under a tenth of a minute of sun time) so that nearby places still share one schedule; None
    for hours without sun events (they need no coordinates, and schedules are shared by everyone with the same
    text). An exception's `sunrise-sunset` was computed without the place's position (07:00-19:00 in Paris in
    December, where the sun is up 08:40-16:55) when the regular hours named no sun event."""
    if lat is None or lon is None:
        return None
    if not _SUN_WORDS.search(hours) and not any(_SUN_WORDS.search(s.hours) for s in special):
        return None
    return (round(lat, 2), round(lon, 2))


def _minutes(token: str) -> int:
    sun = _SUN.fullmatch(token)
    if sun:
        if sun.group(5):
            return _SUN_DEFAULT[sun.group(5)]
        offset = int(sun.group(3)) * 60 + int(sun.group(4))
        return _SUN_DEFAULT[sun.group(1)] + (offset if sun.group(2) == "+" else -offset)
    hours, minutes = token.split(":")
    return int(hours) * 60 + int(minutes)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _open_end(minutes_from: int) -> int:
    """Where an open end (`+`) stops being plausible: the opening_hours.js reference's bounds."""
    if minutes_from >= 22 * 60:
        return minutes_from + 8 * 60
    if minutes_from >= 17 * 60:
        return minutes_from + 10 * 60
    return _DAY


def _rewrite_open_end(rule: _Rule) -> list[_Rule]:
    """`13:00-17:00+` = open 13:00-17:00, then `unknown` until a plausible closing time.

    The library reads `+` as plain open; the specification and the reference say the state after the last
    known time is unknown. The unknown span is an additional rule (`,`) after the open one, and the open
    spans are asserted once more after it, because the later of two overlapping additional rules wins.
    """
    if rule.modifier not in ("", "open") or "+" not in rule.body:
        return [rule]
    match = _TIMES.search(rule.body)
    if match is None or "+" not in match.group("times"):
        return [rule]
    selectors = rule.body[: match.start()].strip() or "Mo-Su"
    items = match.group("times").split(",")
    starts = sorted(_minutes(m.group("a")) for item in items if (m := _TIME_PART.match(item)))
    plain: list[str] = []
    unknown: list[str] = []
    reassert: list[str] = []
    seen_open_end = False
    for item in items:
        part = _TIME_PART.match(item)
        if part is None:
            return [rule]
        if not part.group("plus"):
            plain.append(item)
            if seen_open_end:
                # Later ranges of a list win where they overlap an earlier open end.
                reassert.append(item)
            continue
        seen_open_end = True
        a = _minutes(part.group("a"))
        if part.group("b") is None:
            begin, begin_text = a, part.group("a")
        else:
            plain.append(item[:-1])
            b = _minutes(part.group("b"))
            begin = b + _DAY if b < a else b
            if begin >= _DAY:
                # The open end starts after midnight: write it from the range's start (the library wants
                # start times within the day) and let the re-asserted range win the known part.
                begin_text = part.group("a")
                reassert.append(item[:-1])
            else:
                begin_text = part.group("b")
        end = _open_end(begin)
        # Another range of the same rule that starts later ends the open end (the reference does the same).
        later = [start for start in starts if begin < start < _DAY]
        if later and begin < _DAY:
            end = min(end, later[0])
        if end > begin:
            unknown.append(f"{begin_text}-{_hhmm(end)}")
    out: list[_Rule] = []
    comment = rule.comment
    if plain:
        out.append(_Rule(f"{selectors} {','.join(plain)}", rule.modifier, comment, ","))
    if unknown:
        out.append(_Rule(f"{selectors} {','.join(unknown)}", "unknown", comment, ","))
    if reassert:
        out.append(_Rule(f"{selectors} {','.join(reassert)}", rule.modifier or "open", comment, ","))
    if not out:
        return [rule]
    if rule.body[: match.start()].strip() == "" and plain:
        # The first part keeps the original's selectors (none = every day), so the rule still overrides.
        out[0] = _Rule(",".join(plain), rule.modifier, comment, ",")
    out[-1].sep = rule.sep
    return out


def _sun_constants(rule: _Rule) -> _Rule:
    """Without coordinates sun events cannot be computed: use the reference's fixed times, in local time."""
    match = _TIMES.search(rule.body)
    if match is None or not _SUN.search(match.group("times")):
        return rule
    times = _SUN.sub(lambda m: _hhmm(_minutes(m.group(0))), match.group("times"))
    return _Rule(rule.body[: match.start()] + times, rule.modifier, rule.comment, rule.sep)


_TIME_ITEM = re.compile(rf"^(?P<a>{_T})(?:-(?P<b>{_T}))?(?P<period>/[\d:]+)?(?P<plus>\+?)$")


def _sun_day(rule: _Rule, day: date, place: tuple[float, float], timezone: str) -> _Rule | None:
    """A rule's sun events written as that local day's times (`sunrise-08:00` -> `07:59-08:00`).

    The reference reads a range with a sun event per day, but decides once, from the default times (sunrise
    06:00, sunset 18:00, ...), whether it runs past midnight: `sunset-sunrise` and `19:00-sunrise` do,
    `sunrise-08:00` does not. So on a winter day whose sunrise is after 08:00, `sunrise-08:00` is simply not
    open, rather than open from sunrise until 08:00 the next day (the engine's reading of a start after the
    end: 24 hours open). A range that should wrap but does not that day (`19:00-sunset` in June) stays the
    plain 19:00-21:30, where the reference would open until the next day's sunset. Returns None when no
    time of the rule is left that day.
    """
    match = _TIMES.search(rule.body)
    if match is None or not _SUN.search(match.group("times")):
        return rule
    lat, lon = place
    items: list[str] = []
    for item in match.group("times").split(","):
        part = _TIME_ITEM.match(item)
        if part is None or not _SUN.search(item):
            items.append(item)
            continue
        start = _sun_day_minutes(part.group("a"), day, lat, lon, timezone)
        end = None if part.group("b") is None else _sun_day_minutes(part.group("b"), day, lat, lon, timezone)
        if start is None or (part.group("b") is not None and end is None):
            continue  # no such event that day (polar day or night)
        start = max(start, 0)
        if start >= _DAY:
            continue
        text = _hhmm(start)
        if part.group("b") is not None and end is not None:
            wraps = _minutes(part.group("b")) < _minutes(part.group("a"))
            if not wraps:
                if end <= start:
                    continue  # `sunrise-08:00` on a day the sun rises at 08:01: not open at all
                text += "-" + _hhmm(end)
            else:
                end %= _DAY
                if end == start:
                    continue
                text += "-" + _hhmm(end)
        items.append(text + (part.group("period") or "") + part.group("plus"))
    if not items:
        return None
    return _Rule(rule.body[: match.start()] + ",".join(items), rule.modifier, rule.comment, rule.sep)


def _sun_day_minutes(token: str, day: date, lat: float, lon: float, timezone: str) -> int | None:
    sun = _SUN.fullmatch(token)
    if sun is None:
        return _minutes(token)
    event = sun.group(5) or sun.group(1)
    base = sun_minutes(day, lat, lon, timezone, event)
    if base is None:
        return None
    if sun.group(5):
        return base
    offset = int(sun.group(3)) * 60 + int(sun.group(4))
    return base + (offset if sun.group(2) == "+" else -offset)


# --------------------------------------------------------------------------------------------------------
# Holidays inside rules
# --------------------------------------------------------------------------------------------------------

_WD = "(?:Mo|Tu|We|Th|Fr|Sa|Su)"
_WEEKDAY_SELECTOR = re.compile(rf"^{_WD}(?:-{_WD})?(?:,{_WD}(?:-{_WD})?)*$")
_YEAR = re.compile(r"^(\d{4})(?:-(\d{4}))?$")
_MO = "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_MONTH_RANGE = re.compile(rf"^{_MO}(?:-{_MO})?$")
# A weekday list holding holidays (`PH`, `Su,PH`, `PH +1 day`, `SH,PH -1 day`); offsets contain spaces.
_HOLIDAY_TERM = r"(?:PH|SH)(?: [+-]\d+ days?)?"
_DAY_TERM = rf"(?:{_HOLIDAY_TERM}|{_WD}(?:-{_WD})?(?:\[[^\]]*\])?)"
_HOLIDAY_LIST = re.compile(
    rf"(?<![\w,])(?={_DAY_TERM}(?:,{_DAY_TERM})*(?![\w,\[]))(?=[^ ]*?(?:PH|SH))({_DAY_TERM}(?:,{_DAY_TERM})*)"
)
_HOLIDAY_OFFSET = re.compile(r"^(PH|SH)(?: ([+-])(\d+) days?)?$")


class _CannotExpand(Exception):
    pass


def _weekday_set(selector: str) -> set[int]:
    return cyclic_set(selector, _WEEKDAYS)


def _expand_holidays(
    rule: _Rule, holiday_dates: dict[str, frozenset[date] | None], additional: bool = False
) -> list[_Rule]:
    """Replace `PH`/`SH` selectors in one rule by explicit dates.

    `holiday_dates[kind]` is None when that calendar is unknown (the token is then left to the library).
    Forms: `PH`, `Su,PH` (union: the rule is split in two, of the same kind as the rule: a normal rule, which
    overrides earlier rules on every day it selects, or, `additional`, one after a `,`), `PH +1 day` and
    `SH,PH -1 day` (dates shifted, then united), `We,Fr PH` and `SH We` (intersection), `2024 SH` / `Jan-Feb
    SH` (filtered by year/month).
    """
    found = _HOLIDAY_LIST.search(rule.body)
    if found is None:
        return [rule]
    items = found.group(1).split(",")
    terms = [m for item in items if (m := _HOLIDAY_OFFSET.match(item))]
    if any(holiday_dates.get(term.group(1)) is None for term in terms):
        return [rule]
    others = [item for item in items if not _HOLIDAY_OFFSET.match(item)]
    dates: set[date] = set()
    for term in terms:
        shift = int(term.group(3) or 0) * (-1 if term.group(2) == "-" else 1)
        dates |= {d + timedelta(days=shift) for d in holiday_dates[term.group(1)] or frozenset()}
    after = rule.body[found.end() :].split()
    before = rule.body[: found.start()].split()
    if before and _WEEKDAY_SELECTOR.match(before[-1]) and not others:
        # `We,Fr PH`: the holidays that fall on those weekdays.
        wanted = _weekday_set(before.pop())
        dates = {d for d in dates if d.weekday() in wanted}
    # `Dec Su,PH`, `2027 Su,PH`: the year or month selects the weekdays too (left out, Sunday opened all year).
    ranges = " ".join(before)
    while before:
        token = before[-1]
        year = _YEAR.match(token)
        month = _MONTH_RANGE.match(token)
        if year:
            first, last = int(year.group(1)), int(year.group(2) or year.group(1))
            dates = {d for d in dates if first <= d.year <= last}
        elif month:
            a = _MONTHS.index(month.group(1)) + 1
            b = _MONTHS.index(month.group(2) or month.group(1)) + 1
            dates = {d for d in dates if (a <= d.month <= b if a <= b else d.month >= a or d.month <= b)}
        else:
            raise _CannotExpand(rule.body)
        before.pop()
    if any(item in ("PH", "SH") for t in after for item in t.split(",")):
        raise _CannotExpand(rule.body)
    rest = " ".join(after)
    date_rule = _Rule(" ".join(p for p in (_date_list(dates), rest) if p), rule.modifier, rule.comment, rule.sep)
    if not others:
        return [date_rule]
    # Joined by `;` unless the rule was an additional one: `Mo-Sa 10:00-21:00; Su,PH 11:00-18:00` joined by
    # `,` made the holidays an additional rule, which overrides nothing: a weekday holiday kept 10:00-21:00.
    other_rule = _Rule(
        " ".join(p for p in (ranges, ",".join(others), rest) if p), rule.modifier, rule.comment,
        "," if additional else ";",
    )  # fmt: skip
    return [other_rule, date_rule]


# --------------------------------------------------------------------------------------------------------
# Easter-relative date ranges
# --------------------------------------------------------------------------------------------------------

# `easter-Apr 20`, `easter +1 day-Apr 20`: the library lets the previous year's range (Easter 2011 was Apr 24,
# after Apr 20) wrap into the next year, so 2012 reads Jan 01-Apr 20 instead of Apr 08-Apr 20. As in the
# reference, a year's span is decided by that year's Easter: written out with explicit dates per year.
_EASTER_TO_DATE = re.compile(rf"(?<![\w-])easter(?: (?P<sign>[+-])(?P<n>\d+) days?)?-{_MO} (?P<day>\d\d)(?![\d:])")


def _easter(year: int) -> date:
    """Western (Gregorian) Easter Sunday: the anonymous Gregorian algorithm."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l = (32 + 2 * e + 2 * i - h - k) % 7  # noqa: E741 - the algorithm's own name
    m = (a + 11 * h + 22 * l) // 451
    month, day = divmod(h + l - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _expand_easter_ranges(rule: _Rule, year: int) -> _Rule:
    if "easter" not in rule.body:
        return rule

    def explicit(match: re.Match[str]) -> str:
        offset = int(match["n"] or 0) * (-1 if match["sign"] == "-" else 1)
        month = _MONTHS.index(match.group(3)) + 1
        spans = []
        for y in (year - 1, year, year + 1):
            start = _easter(y) + timedelta(days=offset)
            end = date(y, month, int(match["day"]))
            if end >= start:
                spans.append(f"{_osm_date(start)}-{_osm_date(end)}")
            else:
                # Easter falls after the end date this year: the range wraps within the year, as a
                # fixed-date range (`Dec 25-Jan 06`) does; each year's span depends on that year's Easter.
                spans.append(f"{_osm_date(date(y, 1, 1))}-{_osm_date(end)}")
                spans.append(f"{_osm_date(start)}-{_osm_date(date(y, 12, 31))}")
        return ",".join(spans)

    body = _EASTER_TO_DATE.sub(explicit, rule.body)
    return rule if body == rule.body else _Rule(body, rule.modifier, rule.comment, rule.sep)


# --------------------------------------------------------------------------------------------------------
# Compilation: canonical text -> what the library evaluates
# --------------------------------------------------------------------------------------------------------


def _groups(expression: str, sun_constants: bool) -> list[list[_Rule]]:
    """The main rules, then each `||` fallback rule (with its `,` additional rules).

    As in the reference, a fallback applies wherever the rules before it leave the time closed, and the
    normal (`;`) rules after a fallback still override every day they select: they join the main rules,
    their explicit closures tagged so that no fallback reopens what they close.
    """
    main: list[_Rule] = []
    fallbacks: list[list[_Rule]] = []
    target = main
    after_fallback = False
    for text, sep in _split_rules(expression):
        rule = _Rule.parse(text, "")
        if not (rule.body or rule.modifier or rule.comment):
            continue
        prepared = _prepare([rule], sun_constants, after_fallback and target is main, target)
        if target is main and main:
            main[-1].sep = main[-1].sep or ";"
        target.extend(prepared)
        if sep == "||":
            fallbacks.append([])
            target = fallbacks[-1]
            after_fallback = True
        elif sep == ";":
            target = main
        elif sep == ",":
            target[-1].sep = ","
    for group in (main, *fallbacks):
        if group:
            group[-1].sep = ""
    return [main, *(g for g in fallbacks if g)] if main else [g for g in fallbacks if g]


def _prepare(rules: list[_Rule], sun_constants: bool, tag_closed: bool, earlier: list[_Rule]) -> list[_Rule]:
    out: list[_Rule] = []
    for rule in rules:
        if rule.comment and not rule.modifier:
            # A comment without a state ("Sa 10:00-12:00 "call us"", "on appointment") says nothing certain:
            # the specification and the reference make it unknown, and a locator must not promise "open".
            rule = _Rule(rule.body, "unknown", rule.comment, rule.sep)
        if sun_constants:
            rule = _sun_constants(rule)
        rule = _explicit(rule, tag_closed)
        out.extend(_rewrite_open_end(rule) if "+" in rule.body else _with_spill(rule, earlier))
    return out


def _past_midnight(item: str) -> int | None:
    """How many minutes past midnight a plain range (`20:00-02:00`, `18:00-26:00`) runs; 0 when it ends by
    midnight, None when it is no plain range (sun times, open ends)."""
    plain = _PLAIN_RANGE.match(item)
    if plain is None:
        return None
    start = int(plain.group(1)) * 60 + int(plain.group(2))
    end = int(plain.group(3)) * 60 + int(plain.group(4))
    if end < start:
        end += _DAY
    return max(0, end - _DAY)


def _spill_end(canonical: str) -> int:
    """Minutes past midnight the latest plain range of `canonical` that crosses midnight runs to (0: none)."""
    latest = 0
    for text, _ in _split_rules(canonical):
        match = _TIMES.search(_Rule.parse(text, "").body)
        for item in match.group("times").split(",") if match else ():
            latest = max(latest, _past_midnight(item) or 0)
    return latest


def _nights_around(
    schedule: Schedule, specials: Sequence[SpecialHours]
) -> dict[SpecialHours, tuple[list[str], list[str], list[str]]]:
    """Rules before and after each dated exception's own that keep the nights around it right, for hours that
    run past midnight (the part past midnight belongs to the day a range starts on).

    An exception is a later rule for its days, so on its own it cut the regular night before it at midnight
    (a bar closed from 1 June shut at 00:00 on 31 May), left the replaced last day's night showing on the
    day after (the same bar "opened" 1 July 00:00-02:00), and lost its own nights (a New Year's Eve 20:00-04:00
    ended at midnight: the library drops a range's part past midnight whenever any rule selects the next
    day). So: before the exception's rule, the regular night onto the day after its end is closed; after it,
    as additional rules, which keep the exception's own hours, the regular night of the day before its start
    is restated (unless another exception owns that day); and the exception's own part past midnight, on each
    day after one of its days, is a third list: the caller adds those after every exception's rules, so that
    an exception of the next day (closed on 1 January after a New Year's Eve until 04:00) does not cut it,
    whichever was added first. An own range of the day after, starting before the regular night ends, closes
    with it: hours that both run past midnight and open again right after it are rare."""
    latest = _spill_end(schedule.canonical)
    regular = (
        Schedule(schedule.canonical, schedule.timezone, schedule.country, schedule.region, schedule.coords)
        if latest
        else None
    )
    covered = {s.start + timedelta(days=n) for s in specials for n in range((s.end - s.start).days + 1)}
    out: dict[SpecialHours, tuple[list[str], list[str], list[str]]] = {}
    for special in specials:
        before: list[str] = []
        after: list[str] = []
        own_night: list[str] = []
        if regular is not None:
            if special.end + timedelta(days=1) not in covered:
                # A day after with an exception of its own is that exception's: cut here, one added earlier for it
                # lost its first hours (00:00-03:00 of a day ops opened round the clock).
                before.append(f"{_osm_date(special.end + timedelta(days=1))} 00:00-{_hhmm(latest)} off")
            eve = special.start - timedelta(days=1)
            if eve not in covered:
                midnight = regular.midnight(special.start)
                until = midnight + timedelta(minutes=latest)
                night = next((i for i in regular.intervals(regular.midnight(eve), until)
                              if i.state == "open" and i.start < midnight < i.end), None)  # fmt: skip
                if night is not None:
                    after.append(f"{_osm_date(special.start)} 00:00-{min(night.end, until).strftime('%H:%M')} open")
        own = _spill_end(special.hours)
        if own:
            span = f"{_osm_date(special.start + timedelta(days=1))}-{_osm_date(special.end + timedelta(days=1))}"
            comment = f' "{special.comment}"' if special.comment else ""
            own_night.append(f"{span} 00:00-{_hhmm(own)} open{comment}")
        if before or after or own_night:
            out[special] = (before, after, own_night)
    return out


def _special_rules(special: SpecialHours, sep: str, tag: bool) -> list[_Rule]:
    """An exception's rule read as the value's own rules are (`_prepare`): a note without a state is unknown
    (`10:00-14:00 "sur rendez-vous"`), an open end is unknown past its start (`18:00+`). Taken as written,
    both were plainly open, the open end until midnight (closing soon at 23:45, a closing time nobody gave)."""
    rule = _explicit(_Rule.parse(special.as_rule(), sep), tag)
    if rule.comment and not rule.modifier:
        rule = _Rule(rule.body, "unknown", rule.comment, rule.sep)
    return _rewrite_open_end(rule) if "+" in rule.body else [rule]


def _explicit(rule: _Rule, tag: bool) -> _Rule:
    """A closing rule marked so that no `||` fallback reopens what it closes (`tag`: the value has some)."""
    if not tag or rule.modifier not in ("off", "closed"):
        return rule
    inner = rule.comment[1:-1] if rule.comment else ""
    return _Rule(rule.body, rule.modifier, f'"{_EXPLICIT}{inner}"', rule.sep)


_PLAIN_RANGE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


def _with_spill(rule: _Rule, earlier: Sequence[_Rule]) -> list[_Rule]:
    """`Su 11:00-01:00; Sa 11:00-02:00`: Saturday's hours run until 02:00 on Sunday.

    The part of a range past midnight belongs to the day the range starts on, so only a *later* rule that
    selects the next day overrides it (the specification, and the reference). The library drops it whenever
    any rule selects the next day, an earlier one included: a bar's Saturday night would end at midnight. The
    part past midnight is restated as an additional rule right after its own, on the following weekdays, so
    that the rules after it still override it and the ones before it no longer do. Only where an earlier rule
    may select one of those days: every other schedule keeps its rules, and its evaluation cost, as they are.
    """
    if rule.modifier not in ("", "open", "unknown"):
        return [rule]
    match = _TIMES.search(rule.body)
    if match is None:
        return [rule]
    selectors = rule.body[: match.start()].strip()
    if selectors and not _WEEKDAY_SELECTOR.match(selectors):
        return [rule]  # months, dates, weeks, holidays: their next day is not a weekday shift
    spills: list[str] = []
    for item in match.group("times").split(","):
        past = _past_midnight(item)
        if past is None:
            return [rule]
        if past:
            spills.append(f"00:00-{_hhmm(past)}")
    if not spills:
        return [rule]
    following = ",".join(_next_weekdays(part) for part in selectors.split(",")) if selectors else ""
    if not any(_may_select(other, following) for other in earlier):
        return [rule]
    spill = _Rule(" ".join(p for p in (following, ",".join(spills)) if p), rule.modifier, rule.comment, rule.sep)
    return [_Rule(rule.body, rule.modifier, rule.comment, ","), spill]


def _with_date_spills(rules: list[_Rule], year: int, zone: ZoneInfo) -> list[_Rule]:
    """`_with_spill` for rules selecting dates, months, weeks or holidays (`Mo-Sa 10:00-20:00; Dec 31
    20:00-02:00`, `PH 20:00-02:00` once its dates are written out): their next day is no weekday shift, so the
    days after the ones the rule selects around `year` are found by evaluating the rule alone, and its part
    past midnight is restated on those dates as an additional rule right after it. Without it, the earlier
    rule selecting 1 January made a New Year's Eve until 02:00 end at midnight."""
    out: list[_Rule] = []
    for n, rule in enumerate(rules):
        out.append(rule)
        if n == 0 or rule.modifier not in ("", "open", "unknown"):
            continue
        match = _TIMES.search(rule.body)
        selectors = rule.body[: match.start()].strip() if match else ""
        if match is None or not selectors or _WEEKDAY_SELECTOR.match(selectors):
            continue
        past = [_past_midnight(item) for item in match.group("times").split(",")]
        if None in past or not any(past):
            continue
        ends: dict[int, list[date]] = {}
        try:
            alone = _build(rule.text(), {"timezone": zone})
            first = datetime(year - 1, 12, 31, tzinfo=zone)
            for a, b, raw_state, _ in alone.intervals(first, datetime(year + 1, 1, 2, tzinfo=zone)):
                day = _aware_like(a, first).date()
                if _state_name(raw_state) != "closed" and _aware_like(b, first).date() == day + timedelta(days=1):
                    ends.setdefault(b.hour * 60 + b.minute, []).append(day + timedelta(days=1))
        except _ENGINE_ERRORS:
            continue  # the rule is evaluated as it is, past midnight cut where the library cuts it
        if not (ends := {minutes: days for minutes, days in ends.items() if minutes}):
            continue
        out[-1] = _Rule(rule.body, rule.modifier, rule.comment, ",")
        for k, (minutes, days) in enumerate(sorted(ends.items())):
            sep = rule.sep if k == len(ends) - 1 else ","
            out.append(_Rule(f"{_date_list(days)} 00:00-{_hhmm(minutes)}", rule.modifier, rule.comment, sep))
    return out


def _may_select(rule: _Rule, weekdays: str) -> bool:
    """Whether `rule` may select one of `weekdays` ("" = every day); anything but weekdays counts as yes."""
    match = _TIMES.search(rule.body)
    selectors = (rule.body[: match.start()] if match else rule.body).strip()
    if not selectors or not weekdays:
        return True
    if not _WEEKDAY_SELECTOR.match(selectors):
        return True
    return bool(_weekday_set(selectors) & _weekday_set(weekdays))


def _next_weekdays(part: str) -> str:
    return "-".join(_WEEKDAYS[(_WEEKDAYS.index(day) + 1) % 7] for day in part.split("-"))


class _Engine:
    """One year's compiled schedule: the main engine and the `||` fallbacks, if any."""

    def __init__(self, engines: list[opening_hours.OpeningHours]) -> None:
        self.engines = engines

    def raw(self, start: datetime, end: datetime, level: int = 0) -> list[tuple[datetime, datetime, State, str]]:
        out: list[tuple[datetime, datetime, State, str]] = []
        engine = self.engines[level]
        last = level == len(self.engines) - 1
        for a, b, raw_state, comment in engine.intervals(start, end):
            state = _state_name(raw_state)
            if state == "closed":
                if last:
                    continue  # nobody reads closed spans: skip the conversions
                if not (level == 0 and (comment or "").startswith(_EXPLICIT)):
                    out.extend(self.raw(_aware_like(a, start), _aware_like(b, start), level + 1))
                continue
            comment = comment or ""
            if comment.startswith(_EXPLICIT):
                comment = comment[1:]
            out.append((_aware_like(a, start), _aware_like(b, start), state, comment))
        return out

    def state(self, at: datetime) -> tuple[State, str]:
        raw_state, comment = self.engines[0].state(at)
        state, comment = _state_name(raw_state), comment or ""
        if len(self.engines) == 1 or state != "closed" or comment.startswith(_EXPLICIT):
            # An explicit closure keeps its comment ("travaux"): raw() leaves closed time out.
            return state, comment.removeprefix(_EXPLICIT)
        spans = self.raw(at, at + timedelta(minutes=1))  # closed by the main rules: the fallbacks decide
        return (spans[0][2], spans[0][3]) if spans and spans[0][0] <= at else ("closed", "")

    def next_change(self, at: datetime, limit: datetime) -> datetime | None:
        if len(self.engines) == 1:
            change = self.engines[0].next_change(at)
            return None if change is None else _aware_like(change, at)
        # raw() leaves closed time out: a gap between spans is a change too.
        current = self.state(at)
        cursor = at
        for a, b, state, comment in self.raw(at, limit):
            if a > cursor:
                if current[0] != "closed":
                    return cursor
                current = ("closed", "")
            if (state, comment) != current:
                return a
            cursor = b
        return cursor if cursor < limit and current[0] != "closed" else None


def _first_pass(moment: datetime, edge: datetime) -> datetime:
    """A boundary the library gives, as a UTC instant: a wall-clock time the clocks show twice (02:00 on the night
    Paris falls back) is its first occurrence, where the library's own `state` changes (closed from the first
    02:00), not the second, which its intervals give (a bar's night an hour longer, spans past the window asked
    for); the window's own edge (`edge`, echoed by the library) stays what it is. In UTC, because Python compares
    two times of one ZoneInfo by wall clock, fold ignored: 02:00 CET "equals" 02:00 CEST."""
    if moment.replace(tzinfo=None) == edge.replace(tzinfo=None):
        return edge.astimezone(UTC)
    return moment.replace(fold=0).astimezone(UTC)


def _past_repeat(end: datetime) -> datetime:
    """`end` as the end of a window to ask the library for: past the hour the clocks repeat when `end` falls in
    its second pass. The library reads wall clocks, so it ended such a window at the first pass, up to an hour
    early: after Dublin's clocks went back, a 24/7 window ending at the second 01:15 was empty, and a window
    ending at 00:00 UTC in Chisinau (03:00 -> 02:00 there) let a bar closing at 02:30 run to the window's end.
    The caller clips what comes back at `end`, in UTC."""
    repeat = end.replace(fold=0).utcoffset() - end.utcoffset() if end.fold else None  # type: ignore[operator]
    if not repeat or repeat <= timedelta(0):
        return end
    return (end.replace(tzinfo=None) + repeat).replace(tzinfo=end.tzinfo)  # the wall clock after the repeat


def _aware_like(moment: datetime, reference: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=reference.tzinfo)
    return moment


# --------------------------------------------------------------------------------------------------------
# Schedule
# --------------------------------------------------------------------------------------------------------


@dataclass
class Schedule:
    """One opening-hours value bound to a place: its timezone, country and region."""

    canonical: str
    timezone: str = "UTC"
    country: str | None = None
    region: str | None = None
    coords: tuple[float, float] | None = None
    warnings: tuple[str, ...] = ()
    special: tuple[SpecialHours, ...] = ()
    _zone: ZoneInfo = field(init=False, repr=False)
    _engines: dict[tuple[int, date | None], _Engine] = field(init=False, repr=False, default_factory=dict)
    _calendar: tuple[str, str | None] | None = field(init=False, repr=False, default=None)
    _groups: list[list[_Rule]] = field(init=False, repr=False, default_factory=list)
    _kinds: frozenset[str] = field(init=False, repr=False, default=frozenset())
    _expand: bool = field(init=False, repr=False, default=True)
    _sun_days: bool = field(init=False, repr=False, default=False)
    _days: dict[date, list[Interval]] = field(init=False, repr=False, default_factory=dict)
    # closes_at of a spell still open two days on, by the local day asked from: see `closes_at`.
    _long_spells: dict[date, datetime | None] = field(init=False, repr=False, default_factory=dict)
    # What callers derive from the schedule and keep with it (search.open_state): it lives as long as the
    # schedule, which a place's every version and a chain's places share.
    memo: dict[str, Any] = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        if not is_zone_name(self.timezone):
            raise HoursError(f"unknown timezone {self.timezone!r}")
        self._zone = ZoneInfo(self.timezone)
        if self.country:
            self.country = self.country.upper()
        warnings = list(self.warnings)
        code = " ".join(_split_comments_out(self.canonical))
        kinds = {kind for kind in ("PH", "SH") if re.search(rf"(?<![A-Za-z]){kind}(?![A-Za-z])", code)}
        self._kinds = frozenset(kinds)
        self._calendar = _holiday_calendar(self.country, self.region)
        if kinds and not self.country:
            warnings.append(f"{'/'.join(sorted(kinds))} (holidays) never match: the place has no country")
        elif kinds and self._calendar is None:
            warnings.append(f"holidays of {self.country} are unknown: PH/SH never match")
        elif kinds and self.region and self.country and (other := _foreign_region(self.region, self.country)):
            warnings.append(f"region {self.region!r} is not in {self.country} (its code is {other}'s): "
                            f"{self.country}'s national holidays apply")  # fmt: skip
        elif (
            kinds
            and self.region
            and self._calendar
            and self._calendar[1] is None
            and not _ISO_REGION.match(self.region.strip().upper())
        ):
            if regional_holidays.calendar_class(self._calendar[0]) is not None:
                # The supplement lists only the regions with days off of their own: Moscow has none, and is no
                # typo, but a misspelt Tatarstan lands here too.
                warnings.append(
                    f"region {self.region!r} has no holidays of its own known for {self.country} (a region "
                    "without days off of its own, or a misspelling): national holidays apply"
                )
            else:
                warnings.append(f"region {self.region!r} is unknown for {self.country}: national holidays apply")
        if "SH" in kinds and self._calendar and not _has_school_holidays(self._calendar[0]):
            warnings.append(f"school holidays (SH) of {self.country} are unknown: SH never matches")
        elif "SH" in kinds and self._calendar:
            # The package keeps school holidays per school zone or state: a region it does not take as one
            # (FR-75 where the zones are A, B and C; Germany without a state) has none.
            year = datetime.now(UTC).year
            if not _holiday_dates(*self._calendar, year - 1, year + 1, "SH"):
                which = f"which region {self.region!r} is not" if self.region else "and the place has no region"
                warnings.append(f"school holidays (SH) of {self.country} are kept per school zone or state, {which}: "
                                "SH never matches")  # fmt: skip
        has_sun = bool(_SUN.search(code))
        sun = self.coords is None and has_sun
        if sun:
            warnings.append("sun times need coordinates: assumed dawn 05:30, sunrise 06:00, sunset 18:00, dusk 18:30")
        # With coordinates, sun events are computed per local day here (locator.sun), not by the library.
        self._sun_days = self.coords is not None and has_sun
        self._groups = _groups(self.canonical, sun)
        if self.special:
            self._groups[0][-1].sep = ";"
            # Tagged as explicit closures where the value has `||` fallbacks: a closure ops added ("travaux")
            # must not be reopened by a fallback's "sur rendez-vous".
            fallbacks = len(self._groups) > 1
            nights = _nights_around(self, self.special)
            for special in self.special:
                before, after, _ = nights.get(special, ((), (), ()))
                self._groups[0].extend(_Rule.parse(rule, ";") for rule in before)
                # The night restated as an additional rule (`,`): a normal rule with times would replace the
                # exception's own hours that day.
                self._groups[0].extend(_special_rules(special, "," if after else ";", fallbacks))
                self._groups[0].extend(
                    _Rule.parse(rule, "," if n < len(after) - 1 else ";") for n, rule in enumerate(after)
                )
            # The exceptions' own nights last, as additional rules: no later exception's day replaces them.
            own_nights = [rule for special in self.special for rule in nights.get(special, ((), (), ()))[2]]
            if own_nights:
                self._groups[0][-1].sep = ","
                self._groups[0].extend(_Rule.parse(rule, ",") for rule in own_nights)
            self._groups[0][-1].sep = ""
        self.warnings = tuple(warnings)
        # Build once now so that a bad exception or rewrite fails at load time, not at query time.
        self._engine_at(datetime.now(self._zone))

    @classmethod
    def parse(
        cls,
        value: str,
        *,
        timezone: str = "UTC",
        country: str | None = None,
        region: str | None = None,
        coords: tuple[float, float] | None = None,
        special: Iterable[SpecialHours] = (),
    ) -> Schedule:
        normalized = normalize(value, country=country)
        return cls(
            canonical=normalized.canonical,
            timezone=timezone,
            country=country.upper() if country else None,
            region=region or None,
            coords=coords,
            warnings=normalized.warnings,
            special=tuple(special),
        )

    # -- compilation ------------------------------------------------------------------------------------

    def _compile(self, year: int, day: date | None = None) -> list[str]:
        """Library expressions (main, then fallbacks) valid for instants in `year` (on `day`, with sun times)."""
        dates: dict[str, frozenset[date] | None] = {"PH": None, "SH": None}
        if self._calendar is not None and self._expand:
            country, subdiv = self._calendar
            dates["PH"] = _holiday_dates(country, subdiv, year - 1, year + 2, "PH")
            if _has_school_holidays(country):
                dates["SH"] = _holiday_dates(country, subdiv, year - 1, year + 2, "SH")
        out: list[str] = []
        for group in self._groups:
            rules: list[_Rule] = []
            for rule in group:
                if day is not None and self.coords is not None:
                    sunny = _sun_day(rule, day, self.coords, self.timezone)
                    if sunny is None and rules and rules[-1].sep == ",":
                        # An additional rule with no time left that day adds nothing.
                        rules[-1] = _Rule(rules[-1].body, rules[-1].modifier, rules[-1].comment, rule.sep)
                        continue
                    if sunny is None:
                        # A rule still owns the days it selects when none of its times happen on one.
                        match = _TIMES.search(rule.body)
                        selectors = rule.body[: match.start()].strip() if match else rule.body
                        sunny = _Rule(selectors, "off", rule.comment, rule.sep)
                    rule = sunny
                rule = _expand_easter_ranges(rule, year)
                additional = bool(rules) and rules[-1].sep == ","
                rules.extend(_expand_holidays(rule, dates, additional) if self._kinds else [rule])
            out.append(_join(_with_date_spills(rules, year, self._zone)))
        return out

    def _engine_at(self, local: datetime) -> tuple[_Engine, datetime]:
        """The engines valid at a local instant, and until when: the year, or the day with sun times."""
        if not self._sun_days:
            return self._engine(local.year), datetime(local.year + 1, 1, 1, tzinfo=self._zone)
        day = local.date()
        following = self.midnight(day + timedelta(days=1))
        return self._engine(local.year, day), following

    def _engine(self, year: int, day: date | None = None) -> _Engine:
        """The compiled engines valid for instants in `year` (holiday dates cover year-1 .. year+2), or on
        `day` alone for hours with sun events at a known place (each day has its own sun times)."""
        key = (year, day)
        engine = self._engines.get(key)
        if engine is not None:
            return engine
        kwargs: dict[str, object] = {"timezone": self._zone}
        if self.country:
            # Only used for a PH the expansion left in place (a form it cannot rewrite).
            kwargs["country"] = self.country
        if self.coords is not None:
            kwargs["coords"] = self.coords
        try:
            try:
                expressions = self._compile(year, day)
            except _CannotExpand:
                self._expand = False
                self.warnings = (*self.warnings, "PH/SH is used in a form evaluated with national holidays only")
                expressions = self._compile(year, day)
            engines = [_build(text, kwargs) for text in expressions]
        except _ENGINE_ERRORS:
            # A rewrite the library rejects is our bug, not the user's: evaluate the text as written.
            try:
                engines = [_build(self.canonical + self._special_suffix(), kwargs)]
            except _ENGINE_ERRORS as exc:
                raise HoursError(f"hours cannot be evaluated: {exc}") from exc
        built = _Engine(engines)
        if len(self._engines) > (64 if self._sun_days else 8):
            self._engines.clear()
        self._engines[key] = built
        return built

    def _special_suffix(self) -> str:
        return "".join(f"; {s.as_rule()}" for s in self.special)

    # -- evaluation -------------------------------------------------------------------------------------

    def midnight(self, day: date) -> datetime:
        """The first instant of a local day: 01:00 where the clocks spring forward at midnight (Santiago,
        Cairo, Havana), since the library rejects a wall-clock time that does not exist."""
        wall = datetime.combine(day, datetime.min.time(), tzinfo=self._zone)
        return wall.astimezone(UTC).astimezone(self._zone)

    def local(self, at: datetime) -> datetime:
        if at.tzinfo is None:
            raise HoursError("instants must carry a UTC offset")
        if at.tzinfo is not self._zone:
            return at.astimezone(self._zone)
        # Through UTC: `astimezone` returns an instant already in the place's ZoneInfo as it is, and wall-clock
        # arithmetic on one (`midnight + 2 h`, `at + step`) can give a time the clocks skip (02:30 on a
        # spring-forward day), which the library rejects; this maps it to the real instant (03:30).
        return at.astimezone(UTC).astimezone(self._zone)

    def spell(self, at: datetime) -> Interval | None:
        """The open or unknown interval of `at`'s local day that holds `at`; None when closed at `at`. Within
        it the state, its comment and `closes_at` stay the same."""
        local = self.local(at)
        # Open and unknown time is in the memoised day (an answer asks again for each place of a chain);
        # closed time is not kept there. Compared with the UTC instant: between two times of the place's
        # ZoneInfo Python compares wall clocks, and the hour the clocks repeat in autumn would be read twice.
        instant = local.astimezone(UTC)
        for interval in self.day(local.date()):
            if interval.start <= instant < interval.end:
                return interval
        return None

    def state(self, at: datetime) -> tuple[State, str | None]:
        spell = self.spell(at)
        if spell is not None:
            return spell.state, spell.comment
        local = self.local(at)
        # Not in the day's open or unknown time: closed, with the closure's comment. Not the library's state:
        # it reads the wall clock, and in the hour the clocks repeat it said "open" at the second 01:10 of a
        # night whose spell ended at the first 01:30 (and closes_at then answered `at` itself).
        state, comment = self._engine_at(local)[0].state(local)
        return "closed", (comment or None) if state == "closed" else None

    def next_change(self, at: datetime) -> datetime | None:
        local = self.local(at)
        if self._sun_days:
            return self._next_change_by_day(local)
        year_end = datetime(local.year + 1, 1, 1, tzinfo=self._zone)
        change = self._engine(local.year).next_change(local, min(year_end, local + NEXT_OPEN_HORIZON))
        if change is None:
            return None
        return change.astimezone(self._zone)

    def _next_change_by_day(self, local: datetime) -> datetime | None:
        """next_change for hours whose engines hold one day each: read it off the merged intervals."""
        state, comment = self.state(local)
        cursor = local
        horizon = local + NEXT_OPEN_HORIZON
        step = timedelta(days=2)
        while cursor < horizon:
            window_end = min(horizon, cursor + step)
            step = timedelta(days=14)
            for interval in self.intervals(cursor, window_end):
                if interval.start > cursor:
                    if state != "closed":
                        return cursor
                    return interval.start
                if (interval.state, interval.comment) != (state, comment):
                    return interval.start
                cursor = interval.end
            if cursor < window_end and state != "closed":
                return cursor
            cursor = max(cursor, window_end)
        return None

    def day(self, local_day: date) -> list[Interval]:
        """The open and unknown intervals of one local day (from its midnight to the next), memoised:
        a chain's thousands of places share a few schedules, and answers ask for today again and again."""
        found = self._days.get(local_day)
        if found is None:
            start = self.midnight(local_day)
            end = self.midnight(local_day + timedelta(days=1))
            found = self.intervals(start, end)
            if len(self._days) > 64:
                self._days.clear()
            self._days[local_day] = found
        return found

    def intervals(self, start: datetime, end: datetime) -> list[Interval]:
        """Open and unknown intervals between two instants, merged, in the place's local time."""
        out: list[Interval] = []
        cursor = self.local(start)
        stop = self.local(end)
        # In the hour the clocks repeat, the library's spans may begin before `start` (read as its first pass).
        floor = cursor.astimezone(UTC)
        # The engine is per year (holiday expansion), or per day (sun times): walk chunk by chunk. Compared in
        # UTC: Python compares two times of one ZoneInfo by wall clock, and in the hour the clocks repeat the
        # first 01:30 "comes after" the second 01:15.
        while cursor.astimezone(UTC) < stop.astimezone(UTC):
            engine, valid_until = self._engine_at(cursor)
            chunk_end = stop if stop.astimezone(UTC) <= valid_until.astimezone(UTC) else valid_until
            asked = _past_repeat(chunk_end)
            for lo, hi, name, comment in engine.raw(cursor, asked):
                if name == "closed":
                    continue
                lo = max(_first_pass(lo, cursor), floor)
                hi = min(_first_pass(hi, asked), chunk_end.astimezone(UTC))
                if lo >= hi:
                    continue
                lo, hi = lo.astimezone(self._zone), hi.astimezone(self._zone)
                text = comment or None
                if out and out[-1].end == lo and out[-1].state == name and out[-1].comment == text:
                    out[-1] = Interval(out[-1].start, hi, name, text)
                else:
                    out.append(Interval(lo, hi, name, text))
            cursor = chunk_end
        return out

    def opens_on(self, day: date) -> bool:
        """Whether it opens on the local `day` (`opening_days` of that day alone)."""
        return day in self.opening_days(day, day)

    def opening_days(self, first: date, last: date) -> set[date]:
        """The local days from `first` to `last` on which it opens (or opens on conditions: "on appointment"),
        or is open all day long. The end of the night before does not count: a bar open Fr-Sa 20:00-02:00 is
        closed on Sundays."""
        out: set[date] = set()
        for interval in self.intervals(
            self.midnight(first - timedelta(days=1)), self.midnight(last + timedelta(days=1))
        ):
            out.add(interval.start.date())
            day = interval.start.date() + timedelta(days=1)
            while day <= last and self.midnight(day + timedelta(days=1)) <= interval.end:
                out.add(day)  # open all day long within a longer spell
                day += timedelta(days=1)
        return {day for day in out if first <= day <= last}

    def is_open(self, at: datetime, minutes: int = 0) -> bool:
        """Open at `at` and for `minutes` after it (a span crossing midnight counts as one)."""
        state, _ = self.state(at)
        if state != "open":
            return False
        if minutes <= 0:
            return True
        closes = self.closes_at(at)
        # In UTC: `at` may carry the place's own ZoneInfo, and Python adds to such a datetime in wall-clock
        # time, so 90 minutes left on a DST morning would pass for 120.
        return closes is None or closes >= at.astimezone(UTC) + timedelta(minutes=minutes)

    def closes_at(self, at: datetime) -> datetime | None:
        """When the current open spell ends (None: open with no end in sight, or not open now)."""
        if self.state(at)[0] != "open":
            return None
        # Today and tomorrow from the memoised days first: that is where nearly every spell ends, and an
        # answer asks it for each of its places.
        local = self.local(at)
        today = self.day(local.date())
        instant = local.astimezone(UTC)  # not compared by wall clock: see `state`
        current = next((i for i in today if i.start <= instant < i.end), None)
        if current is None or current.state != "open":
            return at
        # The spell runs on through adjacent open spans, whatever their comment (a note is no closing: a 24/7
        # shop "closed" at midnight before a day with a commented exception, and left open_for answers).
        end = current.end
        for offset in (0, 1, 2):
            if offset:
                midnight = self.midnight(local.date() + timedelta(days=offset))
                if end < midnight:
                    return end
            for span in today if offset == 0 else self.day(midnight.date()):
                if span.end <= end:
                    continue
                if span.start != end or span.state != "open":
                    return end
                end = span.end
        if end < self.midnight(local.date() + timedelta(days=3)):
            return end
        # Only the last spell of a day runs on like this, so from here on the answer depends on the day alone
        # (the horizon counts from its midnight): memoised, for at 03:00 the open places are the round-the-clock
        # ones, which share a few schedules, and each answer asked again (~0.15 ms of CPU an answer).
        key = local.date()
        if key in self._long_spells:
            return self._long_spells[key]
        found = self._long_spell_end(self.midnight(key + timedelta(days=2)), self.midnight(key) + OPEN_END_HORIZON)
        if len(self._long_spells) > 64:
            self._long_spells.clear()
        self._long_spells[key] = found
        return found

    def _long_spell_end(self, cursor: datetime, horizon: datetime) -> datetime | None:
        """The end of the open spell running from `cursor`, None if it lasts past `horizon`.

        A spell still open two days on is long (24/7, open until a date): look ahead in growing steps, so that
        "no end in sight" costs a handful of evaluations rather than one per week of the horizon (0.57 ms of
        each nearest answer at 03:00 before). An open spell that runs into the next step continues there; open
        spans that only change comment are one spell, as in `closes_at`."""
        step = timedelta(days=4)
        while cursor < horizon:
            window_end = min(horizon, cursor + step)
            step *= 4
            spans = open_spells(self.intervals(cursor, window_end))
            if not spans or spans[0][0] > cursor.astimezone(UTC):
                return self.local(cursor)
            if spans[0][1] < window_end.astimezone(UTC):  # in UTC: not by wall clock, see `state`
                return spans[0][1]
            cursor = window_end
        return None

    def next_open(self, at: datetime, *, unknown: bool = True) -> datetime | None:
        """The next instant the place opens, when it is not open at `at`. From a closed state an open end
        opens too (`18:00+`: open from 18:00, the closing time not given), as does any unknown spell from a
        time the hours name: a bar with `Mo-Sa 18:00+` showed closed at noon with no opening in sight, as if
        closed for good. A spell unknown from midnight on (a day "on appointment") names no time. `unknown`
        False: open time only (a support line "available" at 09:00 "sur rendez-vous" is not)."""
        now_state = self.state(at)[0]
        if now_state == "open":
            return None
        local = self.local(at)
        instant = local.astimezone(UTC)  # not compared by wall clock: see `state`
        with_unknown = unknown and now_state == "closed"
        for offset in (0, 1):  # the memoised days first: most places open again today or tomorrow
            for interval in self.day(local.date() + timedelta(days=offset)):
                if interval.start >= instant and self._opens(interval, with_unknown):
                    return interval.start
        horizon = at + NEXT_OPEN_HORIZON
        # A stretch already walked without open time is not walked again: hours that are never "open" (every
        # rule a comment: "on appointment") walked the whole horizon, ~30 ms, for each answer that showed them.
        start, cursor = instant, at
        key = "no_opening_time" if with_unknown else "no_open_time"
        walked: tuple[datetime, datetime] | None = self.memo.get(key)  # UTC: nothing opens between
        if walked is not None and walked[0] <= instant < walked[1]:
            start, cursor = walked
        step = timedelta(days=2)  # most places open again within a day or two: look there first
        found = None
        while cursor < horizon and found is None:
            step_end = min(horizon, cursor + step)
            step = max(timedelta(days=31), step * 2)  # then a month, growing: a closure for years is rare
            found = next((i.start for i in self.intervals(cursor, step_end) if self._opens(i, with_unknown)), None)
            cursor = step_end
        self.memo[key] = (start, (found or cursor).astimezone(UTC))
        return found

    def _opens(self, interval: Interval, with_unknown: bool) -> bool:
        """Whether `interval` starts an opening: open, or (`with_unknown`) unknown from a time the hours name,
        not from midnight and not from where a range of intervals cut a spell that began before it."""
        if interval.state == "open":
            return True
        if not with_unknown or interval.start.time() == time(0):
            return False
        return self.state(interval.start - timedelta(minutes=1))[0] != "unknown"


def open_spells(intervals: Iterable[Interval]) -> list[tuple[datetime, datetime]]:
    """The open time of `intervals` as spells: adjacent open spans that differ only in their comment are one
    (a note is no closing)."""
    out: list[tuple[datetime, datetime]] = []
    for interval in intervals:
        if interval.state != "open":
            continue
        if out and out[-1][1] == interval.start:
            out[-1] = (out[-1][0], interval.end)
        else:
            out.append((interval.start, interval.end))
    return out


def _split_comments_out(expression: str) -> list[str]:
    """The parts of an expression outside quoted comments."""
    return expression.split('"')[::2]


def _build(expression: str, kwargs: dict[str, object]) -> opening_hours.OpeningHours:
    build: Any = opening_hours.OpeningHours  # the stubs type each keyword; kwargs is assembled at run time
    try:
        return build(expression, **kwargs)  # type: ignore[no-any-return]
    except _UNKNOWN_COUNTRY:
        reduced = {k: v for k, v in kwargs.items() if k != "country"}
        return build(expression, **reduced)  # type: ignore[no-any-return]


_STATE_NAMES: dict[object, State] = {}


def _state_name(raw: object) -> State:
    # Called once per span on the materialisation path: remember each engine state's name.
    known = _STATE_NAMES.get(raw)
    if known is not None:
        return known
    name = str(getattr(raw, "name", raw)).lower().rsplit(".", 1)[-1]
    if name not in ("open", "closed", "unknown"):
        raise HoursError(f"unexpected state {raw!r}")
    _STATE_NAMES[raw] = name  # type: ignore[assignment]
    return name  # type: ignore[return-value]
