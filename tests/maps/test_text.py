from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from maps.text import (
    address_lines,
    format_distance,
    hours_heading,
    place_date,
    safe_http_url,
    shorten,
    state_text,
    tel_url,
    today_hours,
)


@pytest.mark.parametrize(
    ("metres", "units", "lang", "expected"),
    [
        (4.0, "km", "en", "10 m"),
        (590.4, "km", "en", "590 m"),
        (2450.0, "km", "fr", "2,5 km"),
        (2450.0, "mi", "en", "1.5 mi"),
        (100.0, "mi", "en", "330 ft"),
        (None, "km", "en", ""),
    ],
)
def test_format_distance(metres: float | None, units: str, lang: str, expected: str) -> None:
    assert format_distance(metres, units, lang) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (" https://example.com/stores/1 ", "https://example.com/stores/1"),
        ("HTTP://example.com", "HTTP://example.com"),
        ("https://example.com/search?q=a\\b", "https://example.com/search?q=a\\b"),
        ("javascript:alert(1)", None),
        ("data:text/html,<script>alert(1)</script>", None),
        # urlsplit reads the host good.test; a browser reads the backslash as '/' and opens evil.test
        ("https://evil.test\\@good.test/", None),
        ("https://good.test\\evil", None),
        (None, None),
    ],
)
def test_safe_http_url(value: object, expected: str | None) -> None:
    assert safe_http_url(value) == expected


def _item(**kw: Any) -> dict[str, Any]:
    return {"timezone": "Europe/Paris", "address": {"country": "FR"}, **kw}


def test_today_hours_evaluates_canonical_hours() -> None:
    at = datetime.fromisoformat("2025-11-24T23:30:00+01:00")  # a Monday in Paris
    hours = {"repair": "Mo-Fr 09:00-12:00,14:00-19:00", "sales": "24/7", "kiosk": "Tu 10:00-11:00"}
    out = dict(today_hours(_item(hours=hours), at, "en"))
    assert out == {"Repair": "09:00–12:00, 14:00–19:00", "Sales": "open 24 hours", "Kiosk": "closed"}


def test_today_is_the_places_day_not_the_callers() -> None:
    # 23:30 UTC on Monday is already Tuesday in Paris.
    at = datetime.fromisoformat("2025-11-24T23:30:00+00:00")
    assert place_date(_item(), at).isoformat() == "2025-11-25"
    assert dict(today_hours(_item(hours={"repair": "Tu 10:00-11:00"}), at, "en")) == {"Repair": "10:00–11:00"}


def test_today_hours_on_dst_night() -> None:
    at = datetime.fromisoformat("2025-03-30T12:00:00+02:00")  # spring forward in Paris
    assert dict(today_hours(_item(hours={"sales": "Su 01:00-05:00"}), at, "en")) == {"Sales": "01:00–05:00"}


def test_public_holiday_needs_country() -> None:
    at = datetime.fromisoformat("2025-12-25T10:00:00+01:00")
    assert dict(today_hours(_item(hours={"sales": "Mo-Su 10:00-19:00; PH off"}), at, "fr")) == {"Vente": "fermé"}


def test_unusable_hours_fall_back_to_the_expression() -> None:
    at = datetime.fromisoformat("2025-11-24T10:00:00+01:00")
    out = today_hours(_item(hours={"repair": "not hours"}), at, "en")
    assert out == [("Repair", "not hours")]
    no_tz = today_hours({"hours": {"repair": "Mo 10:00-11:00"}}, at, "en")
    assert no_tz == [("Repair", "Mo 10:00-11:00")]


def test_state_text() -> None:
    at = datetime.fromisoformat("2025-11-24T22:00:00+01:00")
    late = _item(open=True, closes_at="2025-11-25T01:00:00+01:00")
    assert state_text(late, at, "en") == "Open, closes at 01:00"
    weekend = _item(open=True, closes_at="2025-11-29T20:00:00+01:00")
    assert state_text(weekend, at, "fr") == "Ouvert, ferme sam. à 20:00"
    # Midnight ends the day before (a 24/7 desk with short hours on Thursday closes Wednesday night).
    midnight = _item(open=True, closes_at="2025-11-27T00:00:00+01:00")
    assert state_text(midnight, at, "en") == "Open, closes Wed at 24:00"
    assert state_text(midnight, at, "fr") == "Ouvert, ferme mer. à 24:00"
    assert state_text(midnight, at, "en", clock="12h") == "Open, closes Wed at midnight"
    tonight = _item(open=True, closes_at="2025-11-25T00:00:00+01:00")
    assert state_text(tonight, at, "en") == "Open, closes at 24:00"
    assert state_text(_item(open=True), at, "en") == "Open"
    assert state_text(_item(open=False), at, "en") == "Closed"
    later = _item(open=False, next_open="2025-11-24T23:00:00+01:00")
    assert state_text(later, at, "en") == "Closed, opens at 23:00"
    tomorrow = _item(open=False, next_open="2025-11-25T09:00:00+01:00")
    assert state_text(tomorrow, at, "en") == "Closed, opens tomorrow at 09:00"
    assert state_text(tomorrow, at, "fr") == "Fermé, ouvre demain à 09:00"
    # Beyond a week the weekday alone would mislead: the date is given.
    works = _item(open=False, next_open="2027-03-01T09:00:00+01:00", status_comment="fermé pour travaux")
    assert state_text(works, at, "en") == "Closed, opens Mon 1 Mar at 09:00 (fermé pour travaux)"
    assert state_text(works, at, "fr") == "Fermé, ouvre lun. 1 mars à 09:00 (fermé pour travaux)"


def test_hours_heading() -> None:
    at = datetime.fromisoformat("2025-11-24T23:30:00+00:00")  # already Tuesday in Paris
    assert hours_heading(_item(), at, "en", now=datetime.fromisoformat("2025-11-25T08:00:00+01:00")) == "Today"
    assert hours_heading(_item(), at, "en", now=datetime.fromisoformat("2025-11-24T08:00:00+01:00")) == (
        "Hours on Tue 25 Nov"
    )


def test_address_lines() -> None:
    fr = {"street": "1 rue de Rivoli", "postcode": "75001", "city": "Paris", "country": "FR"}
    us = {"street": "1 Main St", "postcode": "36067", "city": "Prattville", "region": "AL", "country": "US"}
    assert address_lines(fr) == ["1 rue de Rivoli", "75001 Paris"]
    assert address_lines(us) == ["1 Main St", "Prattville, AL 36067"]
    assert address_lines(None) == []


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("+33 1 23 45 67 89", "tel:+33123456789"),
        ("01.44.00.00.01", "tel:0144000001"),
        ("(555) 123-4567", "tel:5551234567"),
        ("112", "tel:112"),
        # The trunk prefix written after a country code is not dialled from abroad.
        ("+33 (0)1 44 00 00 01", "tel:+33144000001"),
        ("+44 (0) 20 7946 0000", "tel:+442079460000"),
        # An extension is reached after the call connects: it is not part of the number.
        ("01 44 00 00 01 ext. 12", "tel:0144000001"),
        ("+1 555 123 4567 x12", "tel:+15551234567"),
        ("555-123-4567x12", "tel:5551234567"),
        ("01 44 00 00 01 poste 12", "tel:0144000001"),
        ("+49 30 1234567 Durchwahl 12", "tel:+49301234567"),
        ("+1 555 123 4567 #12", "tel:+15551234567"),
        ("+1 555 123 4567;ext=12", "tel:+15551234567"),
        # Two numbers: the first one, not both glued together.
        ("+377 93 15 06 06 / +377 93 15 06 07", "tel:+37793150606"),
        ("01 44 00 00 01, 01 44 00 00 02", "tel:0144000001"),
        ("01 44 00 00 01 or 01 44 00 00 02", "tel:0144000001"),
        ("01 44 00 00 01 (standard)", "tel:0144000001"),
        # A German area code written before a slash is part of the number.
        ("030/1234567", "tel:0301234567"),
        # Letters (a vanity number), digits of other scripts, or too many digits: no link, rather than a wrong one.
        ("+1-800-FLOWERS", None),
        ("²³ ٣٤٥", None),
        ("+33 ١ 23 45 67 89", None),
        ("1" * 500, None),
        ("+1234567890123456", None),
        ("12", None),
        ("+", None),
        ("0033+1 23", None),
        ("", None),
        (None, None),
        (33144000001, None),
    ],
)
def test_tel_url_dials_the_number_shown(phone: object, expected: str | None) -> None:
    assert tel_url(phone) == expected


def test_shorten() -> None:
    assert shorten("Opéra") == "Opéra"
    assert shorten("W" * 80) == "W" * 80
    assert shorten("W" * 500) == "W" * 79 + "…"
    assert shorten("Grand magasin " * 10, 20) == "Grand magasin Grand…"


def test_today_hours_where_the_clocks_spring_forward_at_midnight() -> None:
    """Santiago's clocks go from 00:00 to 01:00 on 5 September 2027: Saturday ends, and Sunday begins, at 01:00 on
    the wall. The page showed a shop open round the clock as open 00:00-01:00 on Saturday, 01:00-24:00 on Sunday."""
    santiago = {"timezone": "America/Santiago", "address": {"country": "CL"}}
    saturday = {
        "sales": [{"from": "2027-09-04T00:00:00-04:00", "to": "2027-09-05T01:00:00-03:00"}],
        "evening": [{"from": "2027-09-04T20:00:00-04:00", "to": "2027-09-05T01:00:00-03:00"}],
    }
    sunday = {"sales": [{"from": "2027-09-05T01:00:00-03:00", "to": "2027-09-06T00:00:00-03:00"}]}
    at = datetime.fromisoformat("2027-09-04T23:30:00-04:00")
    assert today_hours({**santiago, "hours_today": saturday}, at, "en") == [
        ("Sales", "open 24 hours"), ("Evening", "20:00–24:00"),
    ]  # fmt: skip
    later = datetime.fromisoformat("2027-09-05T12:00:00-03:00")
    assert today_hours({**santiago, "hours_today": sunday}, later, "en") == [("Sales", "open 24 hours")]
    # A spell that ends at 01:00 on a day whose clocks do not jump still reads 01:00.
    paris = {"timezone": "Europe/Paris", "hours_today": {"sales": [
        {"from": "2027-09-04T20:00:00+02:00", "to": "2027-09-05T01:00:00+02:00"}]}}  # fmt: skip
    assert today_hours(paris, at, "en") == [("Sales", "20:00–01:00")]


def test_a_day_of_unknown_hours_is_not_shown_closed() -> None:
    """An open end (`Mo-Su 17:00+`) or hours "on appointment" left `hours_today` empty: the list and the popup
    said "Today: Sales: closed" under a line saying the hours were not stated."""
    paris = {"timezone": "Europe/Paris"}
    at = datetime.fromisoformat("2026-12-12T12:00:00+01:00")
    open_end = {**paris, "hours_today": {"sales": []},
                "unknown_today": {"sales": [{"from": "2026-12-12T17:00:00+01:00", "to": "2026-12-13T00:00:00+01:00"}]}}
    assert today_hours(open_end, at, "en") == [("Sales", "17:00–24:00 (hours unknown)")]
    morning = {"from": "2026-12-12T09:00:00+01:00", "to": "2026-12-12T12:00:00+01:00"}
    afternoon = {"from": "2026-12-12T14:00:00+01:00", "to": "2026-12-12T18:00:00+01:00"}
    both = {**paris, "hours_today": {"repair": [morning]}, "unknown_today": {"repair": [afternoon]}}
    assert today_hours(both, at, "fr") == [("Réparation", "09:00–12:00, 14:00–18:00 (horaires inconnus)")]
    assert today_hours({**paris, "hours_today": {"sales": []}}, at, "en") == [("Sales", "closed")]
