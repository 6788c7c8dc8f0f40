"""The tolerant opening-hours normaliser: each repair family, rejections with positions, pass-through."""

from __future__ import annotations

import opening_hours
import pytest

from locator.hours_syntax import HoursSyntaxError, NormalizedHours, normalize


def _canonical(raw: str) -> str:
    result = normalize(raw)
    assert result.warnings, f"{raw!r} was repaired without a warning"
    assert opening_hours.validate(result.canonical), result.canonical
    return result.canonical


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # 12-hour clock
        ("10am-7pm", "10:00-19:00"),
        ("10:00 a.m. - 7:30 p.m.", "10:00-19:30"),
        ("12pm-1pm", "12:00-13:00"),
        ("Mo 12am-6am", "Mo 00:00-06:00"),
        # dotted, French and single-digit hours
        ("10.00-12.00", "10:00-12:00"),
        ("9h-18h", "09:00-18:00"),
        ("Mo-Fr 9h30-18h30", "Mo-Fr 09:30-18:30"),
        ("9:00-17:00", "09:00-17:00"),
        ("Mo 7-18", "Mo 07:00-18:00"),
        # dashes and range words
        ("Mo 12:00–14:00", "Mo 12:00-14:00"),
        ("Mo 12:00 — 14:00", "Mo 12:00-14:00"),
        ("Mo 12:00 to 14:00", "Mo 12:00-14:00"),
        ("Mo 12:00 until 14:00", "Mo 12:00-14:00"),
        ("Mo 12:00 à 14:00", "Mo 12:00-14:00"),
        ("Montag bis Freitag 8 bis 17 Uhr", "Mo-Fr 08:00-17:00"),
        ("Mo 12:00 до 14:00", "Mo 12:00-14:00"),
        # weekday names
        ("Montags 07:00-18:00", "Mo 07:00-18:00"),
        ("Lu-Ve 09:00-18:00", "Mo-Fr 09:00-18:00"),
        ("lun.-ven. 09:00-18:00", "Mo-Fr 09:00-18:00"),
        ("lunes-viernes 09:00-18:00", "Mo-Fr 09:00-18:00"),
        ("monday-friday 09:00-18:00", "Mo-Fr 09:00-18:00"),
        ("mo-fr 09:00-18:00", "Mo-Fr 09:00-18:00"),
        ("пн-пт 09:00-18:00", "Mo-Fr 09:00-18:00"),
        ("Mo, Di, Do 15:00-18:00", "Mo,Tu,Th 15:00-18:00"),
        ("lun, mar 10:00-12:00", "Mo,Tu 10:00-12:00"),
        ("Mo-Fr: 10:00-12:00", "Mo-Fr 10:00-12:00"),
        ("Mo12:00-14:00", "Mo 12:00-14:00"),
        # always / every day
        ("24h/24", "00:00-24:00"),
        ("24/24 7j/7", "Mo-Su 00:00-24:00"),
        ("7/7 9h-18h", "Mo-Su 09:00-18:00"),
        ("24x7", "24/7"),
        ("daily", "Mo-Su"),
        ("Mo,We 24/7", "Mo,We 00:00-24:00"),
        # closed words and holidays
        ("Mo-Fr 09:00-18:00; Sa fermé", "Mo-Fr 09:00-18:00; Sa off"),
        ("Mo geschlossen", "Mo off"),
        ("Do cerrado", "Su off"),
        ("Mo-Fr 09:00-18:00; jours fériés fermé", "Mo-Fr 09:00-18:00; PH off"),
        ("Mo-Fr 09:00-18:00; Feiertag geschlossen", "Mo-Fr 09:00-18:00; PH off"),
        ("Mo-Fr 09:00-18:00; holidays closed", "Mo-Fr 09:00-18:00; PH closed"),
        ("Su,PH off", "PH,Su off"),
        # months
        ("janvier 10:00-18:00", "Jan 10:00-18:00"),
        ("Dezember 10:00-18:00", "Dec 10:00-18:00"),
        ("Dec 24.-25. off", "Dec 24-25 off"),
        # stray punctuation and spacing
        ("10:00-12:00;", "10:00-12:00"),
        ("  Mo-Fr   10:00-12:00 ,", "Mo-Fr 10:00-12:00"),
        ("Mo 12:00-14:00 16:00-18:00", "Mo 12:00-14:00,16:00-18:00"),
        ('Mo 10:00-12:00 open"call first"', 'Mo 10:00-12:00 open "call first"'),
        ("17:00-late", "17:00+"),
    ],
)
def test_repairs(raw: str, expected: str) -> None:
    assert _canonical(raw) == expected


def test_warning_names_the_repair() -> None:
    result = normalize("10am-7pm")
    assert "12-hour clock '10am' read as 10:00" in result.warnings
    assert "12-hour clock '7pm' read as 19:00" in result.warnings


def test_comment_text_is_never_rewritten() -> None:
    result = normalize('Mo 10am-12pm "fermé le lundi 9h-18h"')
    assert result.canonical == 'Mo 10:00-12:00 "fermé le lundi 9h-18h"'


def test_language_of_the_value_decides_ambiguous_day_names() -> None:
    assert normalize("Di-Do 10:00-12:00").canonical == "Tu-Th 10:00-12:00"  # German
    assert normalize("lu-ve 10:00-12:00; di fermé").canonical == "Mo-Fr 10:00-12:00; Su off"  # French


@pytest.mark.parametrize(
    "value",
    [
        "Mo-Fr 10:00-20:00; PH off",
        "24/7",
        "Mo-Fr 08:00-12:00,13:00-17:30; Sa 08:00-12:00",
        'Mo-Sa 10:00-20:00; Su 10:00-18:00 "summer only"',
        "Tu-Sa 18:00-02:00",
        "sunrise-sunset",
        "Jan 01,Dec 25-26 off",
        "Mo[1] 10:00-12:00",
        "2024 May 20,2024 May 30 off",
        "Mo-Fr 09:00-17:00 || unknown",
        "We 12:00-18:00; easter off",
    ],
)
def test_valid_values_pass_through_unchanged(value: str) -> None:
    assert normalize(value) == NormalizedHours(value, ())


@pytest.mark.parametrize(
    ("raw", "position", "fragment"),
    [
        ("foo", 0, 'unknown word "foo"'),
        ("Mo-Xy 10:00", 3, 'unknown weekday "Xy"'),
        ("25:00-26:00", 0, "hour 25 out of range"),
        ("Mo 10:75-12:00", 3, "minute 75 out of range"),
        ("Mo–Fr 10:00-12:00; Sa blah", 22, 'unknown word "blah"'),
        ("Feb 30 off", 4, "Feb 30 does not exist"),
        ('Mo 10:00-12:00 "unterminated', 15, "unterminated comment"),
        ("Mo 10:00-", 9, "unexpected end of value"),
    ],
)
def test_garbage_is_rejected_with_its_position(raw: str, position: int, fragment: str) -> None:
    with pytest.raises(HoursSyntaxError) as caught:
        normalize(raw)
    error = caught.value
    assert error.value == raw
    assert error.position == position
    assert fragment in error.reason
    assert str(error).startswith(f'cannot parse opening hours at position {position} ("{raw}"): ')


def test_position_points_into_the_original_text_after_repairs() -> None:
    # The repairs shorten "Montag bis Freitag" to "Mo-Fr"; the error must still point at "Xy" as typed.
    raw = "Montag bis Freitag 9-18 Uhr; Xy 10:00-12:00"
    with pytest.raises(HoursSyntaxError) as caught:
        normalize(raw)
    assert caught.value.position == raw.index("Xy")


@pytest.mark.parametrize("raw", ["", "   ", "\t\n"])
def test_empty_values_are_rejected(raw: str) -> None:
    with pytest.raises(HoursSyntaxError) as caught:
        normalize(raw)
    assert caught.value.reason == "empty value"
    assert caught.value.position is None
    assert "cannot parse opening hours (" in str(caught.value)


def test_error_is_a_value_error() -> None:
    assert issubclass(HoursSyntaxError, ValueError)
