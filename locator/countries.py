"""Country codes, from the tz database's own tables (they ship wherever timezones do, and their maintainers
follow ISO's changes in every release)."""

from __future__ import annotations

import importlib.resources
import logging
import re
import zoneinfo
from functools import lru_cache
from pathlib import Path

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
