"""Support lines: hours in a named timezone, available now, next available."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from locator.errors import InvalidParameter
from locator.support import SupportFileError, contacts, read_channels
from tests.conftest import ROOT, Server
from tests.locator.test_api import get

MOSCOW = ZoneInfo("Europe/Moscow")


def by_id(answer: dict[str, object]) -> dict[str, dict[str, object]]:
    return {c["id"]: c for c in answer["contacts"]}  # type: ignore[index, union-attr]


def test_moscow_phone_line_weekdays_9_to_20_moscow_time(engine: Engine) -> None:
    tuesday_evening = datetime(2026, 12, 1, 19, 30, tzinfo=MOSCOW)
    lines = by_id(contacts(engine, "RU", tuesday_evening))
    assert lines["ru-phone"]["available_now"] is True
    assert lines["ru-phone"]["available_until"] == "2026-12-01T20:00:00+03:00"
    assert lines["ru-chat"]["available_now"] is True and lines["ru-chat"]["available_until"] is None
    later = by_id(contacts(engine, "RU", datetime(2026, 12, 1, 20, 30, tzinfo=MOSCOW)))
    assert later["ru-phone"]["available_now"] is False
    assert later["ru-phone"]["next_available"] == "2026-12-02T09:00:00+03:00"
    # The same instant seen from Paris: the Moscow line's hours do not move with the caller.
    paris = datetime(2026, 12, 1, 17, 30, tzinfo=ZoneInfo("Europe/Paris"))
    assert by_id(contacts(engine, "RU", paris))["ru-phone"]["available_now"] is True


def test_weekend_and_holidays(engine: Engine) -> None:
    saturday = datetime(2026, 12, 5, 12, 0, tzinfo=MOSCOW)
    assert by_id(contacts(engine, "RU", saturday))["ru-phone"]["next_available"] == "2026-12-07T09:00:00+03:00"
    new_year = datetime(2027, 1, 4, 12, 0, tzinfo=MOSCOW)  # Russian New Year holidays run to 8 January
    assert by_id(contacts(engine, "RU", new_year))["ru-phone"]["available_now"] is False
    bastille = datetime(2026, 7, 14, 12, 0, tzinfo=ZoneInfo("Europe/Paris"))
    lines = by_id(contacts(engine, "FR", bastille))
    assert lines["fr-phone"]["available_now"] is False and lines["fr-chat"]["available_now"] is True


def test_global_lines_and_product_filter(engine: Engine) -> None:
    lines = by_id(contacts(engine, "FR"))
    assert "global-chat-en" in lines and "ru-phone" not in lines
    assert "fr-phone-business" not in by_id(contacts(engine, "FR", product="iphone"))
    assert "fr-phone-business" in by_id(contacts(engine, "FR", product="mac"))
    with pytest.raises(InvalidParameter):
        contacts(engine, "France")


def test_endpoint(server: Server) -> None:
    status, _, body = get(server, "/v1/support/contacts?country=ru&at=2026-12-01T10:00:00%2B03:00")
    assert status == 200 and body["country"] == "RU"
    assert by_id(body)["ru-phone"]["available_now"] is True
    status, _, body = get(server, "/v1/support/contacts?country=RUS")
    assert status == 422 and "country" in body["detail"]


def test_bad_support_file_names_the_line(tmp_path: Path) -> None:
    source = (ROOT / "data" / "support.csv").read_text(encoding="utf-8")
    path = tmp_path / "support.csv"
    path.write_text(source.replace("Mo-Fr 09:00-20:00; PH off", "Mo-Xy 09:00"), encoding="utf-8")
    with pytest.raises(SupportFileError, match="line 6, column opening_hours"):
        read_channels(path)
