"""Country codes, zones and the zone finder (locator.countries)."""

from __future__ import annotations

from locator import countries


def test_the_zone_finder_is_built_once_per_process() -> None:
    """Built per call (a decorator lost to a function inserted above it), every coordinate answer and every feed
    row loaded its polygons from disk again: ~15 ms of CPU each, measured in a profile of the API."""
    assert countries._timezone_finder() is countries._timezone_finder()
    assert countries.timezone_at(48.8566, 2.3522) == "Europe/Paris"


def test_alpha3_codes_and_zone_names() -> None:
    assert (countries.alpha2("DEU"), countries.alpha2(" fra "), countries.alpha2("XXX")) == ("DE", "FR", None)
    assert countries.is_zone_name("Europe/Paris") and countries.is_zone_name("US/Eastern")
    for name in ("posix/Europe/Paris", "right/Europe/Paris", "localtime", "Factory", "europe/paris", ""):
        assert not countries.is_zone_name(name), name
