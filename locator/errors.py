"""Typed errors of the core. The HTTP layer maps each to a status in one place (locator/api/errors.py)."""

from __future__ import annotations


class LocatorError(Exception):
    """Base class: `title` is the problem's short name, the message its detail."""

    title = "error"


class ConfigurationError(LocatorError, ValueError):
    """A setting is malformed or does not fit with another; the message names it. (A ValueError too, as
    settings validation expects.)"""

    title = "configuration error"


class InvalidParameter(LocatorError):
    """A parameter is out of range or malformed; `parameter` names it."""

    title = "invalid parameter"

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message


class NotFound(LocatorError):
    title = "not found"


class Busy(LocatorError):
    """The database is doing something this request must wait for (a full refresh of the open intervals):
    try again shortly."""

    title = "busy"
    retry_after_s = 30  # a full refresh takes seconds at thousands of places, minutes at a million


class DatabaseUnavailable(LocatorError):
    title = "database unavailable"


class GeocoderUnavailable(LocatorError):
    """Every configured geocoder failed (as opposed to answering that nothing matched); `retry_after_s`: how
    long a provider asked to be left alone (its 429's Retry-After), if longer than the usual wait."""

    title = "geocoder unavailable"

    def __init__(self, message: str, retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
