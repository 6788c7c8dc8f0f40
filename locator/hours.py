"""The opening-hours engine: one place's hours, evaluated in its own timezone with its own holidays.

`opening_hours` (opening-hours-py, a Rust core) does the evaluation. Around it this module adds what a
locator needs and the library does not do:

* tolerant input (`locator.hours_syntax.normalize`) so that the sloppy forms vendor feeds carry are repaired,
  with a warning each, instead of rejected;
* public holidays by country *and region*: the library knows countries only, so `PH` is expanded into the
  explicit dates that the `holidays` package gives for the country and subdivision (Moselle's Good Friday,
  Bavaria's Epiphany), year by year as evaluation needs them;
* dated exceptions (holiday hours, a closure until a reopening date) appended as later rules, which override
  earlier ones exactly as the OSM specification says;
* the DST traps: every instant is converted to the place's `ZoneInfo` before it reaches the library, and
  arithmetic is done on aware instants, never on wall-clock times.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import opening_hours

from locator.hours_syntax import HoursSyntaxError, normalize

__all__ = [
    "HoursError",
    "HoursSyntaxError",
    "Interval",
    "Schedule",
    "SpecialHours",
    "resolve_region",
]

State = Literal["open", "closed", "unknown"]

# How far ahead `next_open` looks: a shop "closed for renovation until" next year still gets an answer.
NEXT_OPEN_HORIZON = timedelta(days=400)

# `PH` as a selector token: not part of a word, not inside a quoted comment (handled by splitting on quotes).
_PH_TOKEN = re.compile(r"(?<![A-Za-z])PH(?![A-Za-z])")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


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

    def as_rule(self) -> str:
        span = _osm_date(self.start)
        if self.end != self.start:
            span += "-" + _osm_date(self.end)
        comment = f' "{self.comment}"' if self.comment else ""
        return f"{span} {self.hours}{comment}"


def _osm_date(d: date) -> str:
    return f"{d.year}{_MONTHS[d.month - 1]}{d.day:02d}"


def _holiday_calendar(country: str | None, region: str | None) -> tuple[str, str | None] | None:
    """(country, subdivision) the `holidays` package knows, or None when it does not know the country."""
    if not country:
        return None
    try:
        cls = holidays.country_holidays(country.upper()).__class__
    except NotImplementedError:
        return None
    return country.upper(), resolve_region(country, region, cls)


def resolve_region(country: str, region: str | None, cls: type | None = None) -> str | None:
    """Map `FR-57`, `57`, `Moselle`, `DE-BY`, `Baden-Württemberg` to the `holidays` subdivision code.

    Returns None for no region or a region the package does not know (the country's national holidays apply).
    """
    if not region:
        return None
    if cls is None:
        try:
            cls = holidays.country_holidays(country.upper()).__class__
        except NotImplementedError:
            return None
    code = region.strip()
    prefix = country.upper() + "-"
    if code.upper().startswith(prefix):
        code = code[len(prefix) :]
    subdivisions: tuple[str, ...] = tuple(getattr(cls, "subdivisions", ()))
    by_upper = {s.upper(): s for s in subdivisions}
    if code.upper() in by_upper:
        return by_upper[code.upper()]
    aliases: dict[str, str] = dict(getattr(cls, "subdivisions_aliases", {}))
    folded = _fold(code)
    for alias, target in aliases.items():
        if _fold(alias) == folded:
            return target
    return None


def _fold(text: str) -> str:
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if c.isalnum())


@lru_cache(maxsize=256)
def _holiday_dates(country: str, subdiv: str | None, first_year: int, last_year: int) -> tuple[date, ...]:
    cal = holidays.country_holidays(country, subdiv=subdiv, years=range(first_year, last_year + 1))
    return tuple(sorted(cal.keys()))


def _expand_ph(expression: str, dates: Iterable[date]) -> str:
    """Replace each `PH` selector with the explicit dates, outside quoted comments.

    `Mo-Fr,PH 10:00-12:00` cannot hold a date list in its weekday position, so such a rule is split in two
    joined by `,` (an additional rule), which the specification evaluates as the union of both selectors.
    """
    date_list = ",".join(_osm_date(d) for d in dates)
    if not date_list:
        # No holiday in range: a selector that never matches keeps the rule's syntax valid.
        date_list = "1900Jan01"
    rules = _split_rules(expression)
    out: list[str] = []
    for rule, separator in rules:
        out.append(_expand_rule(rule, date_list) + separator)
    return "".join(out)


def _split_rules(expression: str) -> list[tuple[str, str]]:
    """Split at `;` and `||` outside quotes, keeping each separator."""
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
        else:
            current.append(ch)
        i += 1
    parts.append(("".join(current), ""))
    return parts


def _expand_rule(rule: str, date_list: str) -> str:
    head, quote, tail = rule.partition('"')
    if not _PH_TOKEN.search(head):
        return rule
    leading = head[: len(head) - len(head.lstrip())]
    body = head.strip()
    match = re.match(r"^(\S+)(.*)$", body, re.S)
    if match is None:
        return rule
    selector, rest = match.groups()
    items = selector.split(",")
    if "PH" not in items:
        # `PH` with an offset or in a position we do not rewrite: let the engine's national calendar handle it.
        raise _CannotExpand(rule)
    others = [s for s in items if s != "PH"]
    suffix = rest + quote + tail
    if not others:
        return f"{leading}{date_list}{suffix}"
    return f"{leading}{','.join(others)}{suffix}, {date_list}{suffix}"


class _CannotExpand(Exception):
    pass


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
    _engines: dict[int, opening_hours.OpeningHours] = field(init=False, repr=False, default_factory=dict)
    _calendar: tuple[str, str | None] | None = field(init=False, repr=False, default=None)
    _native_ph: bool = field(init=False, repr=False, default=False)

    def __post_init__(self) -> None:
        try:
            self._zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise HoursError(f"unknown timezone {self.timezone!r}") from exc
        warnings = list(self.warnings)
        uses_ph = bool(_PH_TOKEN.search(self.canonical.split('"')[0])) or any(
            _PH_TOKEN.search(part) for part in self.canonical.split('"')[::2]
        )
        self._calendar = _holiday_calendar(self.country, self.region)
        if uses_ph and not self.country:
            warnings.append("PH (public holidays) is ignored: the place has no country")
        elif uses_ph and self.region and self._calendar and self._calendar[1] is None:
            warnings.append(f"region {self.region!r} is unknown for {self.country}: national holidays apply")
        if uses_ph and self._calendar is not None:
            try:
                _expand_ph(self.canonical, [])
            except _CannotExpand:
                self._native_ph = True
                if self._calendar[1]:
                    warnings.append("PH is used in a form evaluated with national holidays only")
        self.warnings = tuple(warnings)
        # Build once now so that an invalid exception or expansion fails at load time, not at query time.
        self._engine(datetime.now(self._zone).year)

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
        normalized = normalize(value)
        return cls(
            canonical=normalized.canonical,
            timezone=timezone,
            country=country.upper() if country else None,
            region=region or None,
            coords=coords,
            warnings=normalized.warnings,
            special=tuple(special),
        )

    # -- evaluation -------------------------------------------------------------------------------------

    def _engine(self, year: int) -> opening_hours.OpeningHours:
        """The library object valid for instants in `year` (holiday dates cover year-1 .. year+2)."""
        engine = self._engines.get(year)
        if engine is not None:
            return engine
        expression = self.canonical
        country_arg: str | None = self.country
        if self._calendar is not None and not self._native_ph and "PH" in expression:
            country_code, subdiv = self._calendar
            dates = _holiday_dates(country_code, subdiv, year - 1, year + 2)
            expression = _expand_ph(expression, dates)
        for exception in self.special:
            expression = f"{expression}; {exception.as_rule()}"
        kwargs: dict[str, object] = {"timezone": self._zone}
        if country_arg:
            kwargs["country"] = country_arg
        if self.coords is not None:
            kwargs["coords"] = self.coords
        try:
            engine = opening_hours.OpeningHours(expression, **kwargs)
        except opening_hours.UnknownCountryError:
            kwargs.pop("country", None)
            engine = opening_hours.OpeningHours(expression, **kwargs)
        except SyntaxError as exc:
            raise HoursError(f"hours cannot be evaluated: {exc}") from exc
        if len(self._engines) > 8:
            self._engines.clear()
        self._engines[year] = engine
        return engine

    def local(self, at: datetime) -> datetime:
        if at.tzinfo is None:
            raise HoursError("instants must carry a UTC offset")
        return at.astimezone(self._zone)

    def state(self, at: datetime) -> tuple[State, str | None]:
        local = self.local(at)
        raw_state, comment = self._engine(local.year).state(local)
        return _state_name(raw_state), comment or None

    def next_change(self, at: datetime) -> datetime | None:
        local = self.local(at)
        change = self._engine(local.year).next_change(local)
        if change is None:
            return None
        return _aware(change, self._zone)

    def intervals(self, start: datetime, end: datetime) -> list[Interval]:
        """Open and unknown intervals between two instants, merged, in the place's local time."""
        out: list[Interval] = []
        cursor = self.local(start)
        stop = self.local(end)
        # The engine is per year (holiday expansion): walk year by year.
        while cursor < stop:
            year_end = datetime(cursor.year + 1, 1, 1, tzinfo=self._zone)
            chunk_end = min(stop, year_end)
            for a, b, raw_state, comment in self._engine(cursor.year).intervals(cursor, chunk_end):
                name = _state_name(raw_state)
                if name == "closed":
                    continue
                lo, hi = _aware(a, self._zone), _aware(b, self._zone)
                hi = min(hi, stop)
                if lo >= hi:
                    continue
                item = Interval(lo, hi, name, comment or None)
                if out and out[-1].end == lo and out[-1].state == name and out[-1].comment == item.comment:
                    out[-1] = Interval(out[-1].start, hi, name, item.comment)
                else:
                    out.append(item)
            cursor = chunk_end
        return out

    def is_open(self, at: datetime, minutes: int = 0) -> bool:
        """Open at `at` and for `minutes` after it (a span crossing midnight counts as one)."""
        state, _ = self.state(at)
        if state != "open":
            return False
        if minutes <= 0:
            return True
        closes = self.closes_at(at)
        return closes is None or closes >= at + timedelta(minutes=minutes)

    def closes_at(self, at: datetime) -> datetime | None:
        """When the current open spell ends (None: open with no end in sight, or not open now)."""
        if self.state(at)[0] != "open":
            return None
        cursor = at
        horizon = at + NEXT_OPEN_HORIZON
        # Walk a week at a time: an open spell that runs into the next window (24/7, a span past midnight
        # at a year boundary) continues there.
        while cursor < horizon:
            window_end = min(horizon, cursor + timedelta(days=7))
            spans = self.intervals(cursor, window_end)
            if not spans or spans[0].state != "open" or spans[0].start > self.local(cursor):
                return cursor
            if spans[0].end < self.local(window_end):
                return spans[0].end
            cursor = window_end
        return None

    def next_open(self, at: datetime) -> datetime | None:
        """The next instant the place opens, when it is not open at `at`."""
        if self.state(at)[0] == "open":
            return None
        cursor = at
        horizon = at + NEXT_OPEN_HORIZON
        while cursor < horizon:
            step_end = min(horizon, cursor + timedelta(days=31))
            for interval in self.intervals(cursor, step_end):
                if interval.state == "open":
                    return interval.start
            cursor = step_end
        return None


def _state_name(raw: object) -> State:
    name = str(getattr(raw, "name", raw)).lower().rsplit(".", 1)[-1]
    if name in ("open", "closed", "unknown"):
        return name  # type: ignore[return-value]
    raise HoursError(f"unexpected state {raw!r}")


def _aware(moment: datetime, zone: ZoneInfo) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=zone)
    return moment.astimezone(zone)
