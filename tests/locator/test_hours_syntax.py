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
        # raised and subscript digits
        ("Mo 12°°-14:00", "Mo 12:00-14:00"),
        ("Mo 00³°-14:09", "Mo 00:30-14:09"),
        ("Mo ₀:₃₀-₁₄:₉", "Mo 00:30-14:09"),
        # day offsets keep their space (the engine reads "PH-1 day" as a broken range)
        ("PH-1day", "PH -1 day"),
        ("day before public holiday Mo-We", "PH -1 day Mo-We"),
        ("one day after public holiday", "PH +1 day"),
        ("Easter - 07 days - Nov 01: Tu-Sa 10:00-12:00", "easter -7 days-Nov 01 Tu-Sa 10:00-12:00"),
        ("Easter -7 day-Nov 01 off", "easter -7 days-Nov 01 off"),
        ("SHWe", "SH We"),
        # holidays side by side are a list
        ("PH -1 day SH Mo-We", "PH -1 day,SH Mo-We"),
        ("SH PH -1 day Mo-We", "SH,PH -1 day Mo-We"),
        # a rule that starts without its ';'
        ("Mo-Fr 10:00-18:00 Sa 10:00-14:00", "Mo-Fr 10:00-18:00; Sa 10:00-14:00"),
        ("Mo-Fr 10:00-18:00 PH off", "Mo-Fr 10:00-18:00; PH off"),
        ("Oct Tu-Su 10:00-14:30 Nov off; Dec off", "Oct Tu-Su 10:00-14:30; Nov off; Dec off"),
        # months before a day range inside them select nothing more
        ("Jan-Feb Jan 09-15", "Jan 09-15"),
        ("Dec-Jan Dec 25-Jan 06 10:00-12:00", "Dec 25-Jan 06 10:00-12:00"),
        # date forms the engine's grammar lacks, written out with the same days
        ("Jan 01,Dec 24,25 off", "Jan 01,Dec 24,Dec 25 off"),
        ("Jan 01-31/8 10:00-12:00", "Jan 01,Jan 09,Jan 17,Jan 25 10:00-12:00"),
        ("Dec 11,15-17,19-23/2", "Dec 11,Dec 15-17,Dec 19,Dec 21,Dec 23"),
        ("2010 Dec 01-31/8", "2010 Dec 01,2010 Dec 09,2010 Dec 17,2010 Dec 25"),
        ("2013/10 Dec 31", "2013-9999/10 Dec 31"),
        # selectors in another order than the specification's
        ("00:00-24:00 week 05 Feb", "Feb week 05 00:00-24:00"),
        ("Mo-Su 00:00-24:00 2012 week 05 Feb", "2012 Feb week 05 Mo-Su 00:00-24:00"),
        ("week 05 Feb 2012-2014", "2012-2014 Feb week 05"),
        ("open week 06 Feb", "Feb week 06 open"),
        # comments: unquoted well-known free text, and a comment in the middle of a rule
        ("Mo-Fr 13:00-17:00 open nach Vereinbarung", 'Mo-Fr 13:00-17:00 open "nach Vereinbarung"'),
        ("Mo-Fr 13:00-17:00 open on_appointment", 'Mo-Fr 13:00-17:00 open "on appointment"'),
        ('Mo off; We "call first" 10:00-16:00', 'Mo off; We 10:00-16:00 "call first"'),
        ('Mo off; "call first" We 10:00-16:00', 'Mo off; We 10:00-16:00 "call first"'),
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


def test_country_decides_national_day_abbreviations() -> None:
    assert normalize("pn 10:00-12:00").canonical == "Mo 10:00-12:00"  # Polish poniedziałek
    assert normalize("pn 10:00-12:00", country="LT").canonical == "Fr 10:00-12:00"  # Lithuanian penktadienis


def test_compact_year_range_after_a_month_is_not_a_time() -> None:
    assert normalize("Mo 2000-2200").canonical == "Mo 20:00-22:00"


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
        "PH -1 day 10:00-12:00",
        "easter -2 days-easter +1 day off",
        "Feb week 05 Mo-Su 00:00-24:00",
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
        ("PH + 2 day", 0, "only the day before or after a holiday"),
        ("easter + 370 days", 0, "offset of more than a year"),
        ("easter - 2 days - 2012 easter + 2 days", 0, "a year on only one end of the range"),
        ("Mar Jan 09-15", 4, "unexpected 'Jan 09-15'"),
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
