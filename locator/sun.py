"""Sun events (dawn, sunrise, sunset, dusk) for one place and one local day, as opening hours read them.

OSM `sunrise-sunset` is evaluated per local day. The opening_hours.js reference takes its times from SunCalc
(`getTimes`, the current Meeus-based version: apparent solar coordinates, Meeus ch. 25, transit and
rise/set refined per Meeus ch. 15), picks the event that falls on the requested local calendar day (probing
the day itself, then the day before and after), and reads it in whole minutes, truncated (`getHours() * 60 +
getMinutes()`). This module does the same in pure Python, so that a place's hours match the reference to
the minute and `sunrise-08:00` is decided per day rather than by whatever the engine does with its own times.

Dawn and dusk are civil twilight (the sun 6° below the horizon); sunrise and sunset are the sun's upper limb
on the horizon (-0.833°, refraction included). At polar latitudes an event may not happen on a day: None.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

__all__ = ["EVENTS", "sun_minutes"]

# Event name -> (altitude of the sun in degrees, -1 for the morning event / +1 for the evening one).
EVENTS: dict[str, tuple[float, int]] = {
    "dawn": (-6.0, -1),
    "sunrise": (-0.833, -1),
    "sunset": (-0.833, 1),
    "dusk": (-6.0, 1),
}

_RAD = math.pi / 180
_DAY_SECONDS = 86400.0
_J2000_UNIX = 946728000.0  # 2000-01-01T12:00:00Z, the J2000.0 epoch, in Unix seconds
_J0 = 0.0009


def _days(unix: float) -> float:
    return (unix - _J2000_UNIX) / _DAY_SECONDS


def _unix(days: float) -> float:
    return days * _DAY_SECONDS + _J2000_UNIX


def _delta_t(d: float) -> float:
    """TT - UT in seconds (Espenak & Meeus polynomial fits); negligible for the sun, kept for fidelity."""
    y = 2000 + d / 365.2425
    if y < 1986:
        t = y - 1975
        return 45.45 + t * (1.067 + t * (-1 / 260 - t / 718))
    if y < 2005:
        t = y - 2000
        return 63.86 + t * (0.3345 + t * (-0.060374 + t * (0.0017275 + t * (0.000651814 + t * 0.00002373599))))
    if y < 2050:
        t = y - 2000
        return 62.92 + t * (0.32217 + t * 0.005589)
    t = (y - 1820) / 100
    return -20 + 32 * t * t - 0.5628 * (2150 - y)


def _tt(d: float) -> float:
    return d + _delta_t(d) / _DAY_SECONDS


def _sidereal(d: float, lw: float) -> float:
    return _RAD * (280.46061837 + 360.98564736629 * d) - lw


def _sun_coords(d: float) -> tuple[float, float]:
    """Apparent right ascension and declination of the sun (Meeus ch. 25), d in TT days since J2000."""
    t = d / 36525
    l0 = _RAD * (280.46646 + t * (36000.76983 + t * 0.0003032))
    m = _RAD * (357.52911 + t * (35999.05029 - t * 0.0001537))
    c = _RAD * (
        (1.914602 - t * (0.004817 + t * 0.000014)) * math.sin(m)
        + (0.019993 - 0.000101 * t) * math.sin(2 * m)
        + 0.000289 * math.sin(3 * m)
    )
    omega = _RAD * (125.04 - 1934.136 * t)
    longitude = l0 + c - _RAD * (0.00569 + 0.00478 * math.sin(omega))
    obliquity = _RAD * (23.439291 - t * (0.0130042 + t * (0.00000016 - t * 0.000000504))) + _RAD * 0.00256 * math.cos(
        omega
    )
    ra = math.atan2(math.cos(obliquity) * math.sin(longitude), math.cos(longitude))
    dec = math.asin(math.sin(obliquity) * math.sin(longitude))
    return ra, dec


def _wrap_pi(angle: float) -> float:
    return angle - 2 * math.pi * round(angle / (2 * math.pi))


def _transit(dt: float, lw: float) -> float:
    for _ in range(3):
        hour_angle = _wrap_pi(_sidereal(dt, lw) - _sun_coords(_tt(dt))[0])
        dt -= hour_angle / (2 * math.pi)
    return dt


def _crossing(h0: float, dt: float, sign: int, lw: float, phi: float) -> float | None:
    """When the sun reaches altitude h0 before (sign -1) or after (+1) the transit at dt; None if never."""
    dec = _sun_coords(_tt(dt))[1]
    cos_h0 = (math.sin(h0) - math.sin(phi) * math.sin(dec)) / (math.cos(phi) * math.cos(dec))
    if not -1 <= cos_h0 <= 1:
        return None
    d = dt + sign * math.acos(cos_h0) / (2 * math.pi)
    for _ in range(2):
        ra, dec_d = _sun_coords(_tt(d))
        hour_angle = _wrap_pi(_sidereal(d, lw) - ra)
        altitude = math.asin(math.sin(phi) * math.sin(dec_d) + math.cos(phi) * math.cos(dec_d) * math.cos(hour_angle))
        sin_h = math.cos(phi) * math.cos(dec_d) * math.sin(hour_angle)
        if abs(sin_h) < 1e-6:
            break
        d += (altitude - h0) / (2 * math.pi * sin_h)
    return d


def _event_unix(unix: float, lat: float, lon: float, event: str) -> float | None:
    """SunCalc's `getTimes(date, lat, lon)[event]` for the instant `unix` (the solar day nearest to it)."""
    lw = _RAD * -lon
    phi = _RAD * lat
    d = _days(unix)
    dt = _transit(round(d - _J0 - lw / (2 * math.pi)) + _J0 + lw / (2 * math.pi), lw)
    altitude, sign = EVENTS[event]
    crossing = _crossing(altitude * _RAD, dt, sign, lw, phi)
    return None if crossing is None else _unix(crossing)


@lru_cache(maxsize=4096)
def sun_minutes(day: date, lat: float, lon: float, timezone: str, event: str) -> int | None:
    """Minutes after local midnight of `day` at which `event` happens, truncated to the minute.

    The event of that local calendar day: SunCalc answers for the solar day nearest the instant it is
    given, which for a place far from its timezone's meridian can be the day before or after, so the day
    itself is tried first, then the day before and the day after (as the reference does). None when the
    event does not happen on that day (polar day or night).
    """
    zone = ZoneInfo(timezone)
    noon = datetime.combine(day, time(12), tzinfo=zone).timestamp()
    for offset in (0, -1, 1):
        found = _event_unix(noon + offset * _DAY_SECONDS, lat, lon, event)
        if found is None:
            continue
        # JavaScript dates hold whole milliseconds (truncated); getMinutes() truncates the seconds.
        local = datetime.fromtimestamp(math.floor(found * 1000) / 1000, UTC).astimezone(zone)
        if local.date() == day:
            # Wall-clock minutes: a DST day's events are read off the clock, as the reference does.
            return local.hour * 60 + local.minute
    return None
