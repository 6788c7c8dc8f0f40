"""Semantics of locator.hours that a customer would notice: each test names the behaviour it pins down."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from locator.hours import HoursError, HoursSyntaxError, Schedule, SpecialHours, resolve_region

PARIS = ZoneInfo("Europe/Paris")
MOSCOW = ZoneInfo("Europe/Moscow")


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc,arg-type]


def hours(value: str, **kwargs: object) -> Schedule:
    kwargs.setdefault("timezone", "Europe/Paris")
    kwargs.setdefault("country", "FR")
    return Schedule.parse(value, **kwargs)  # type: ignore[arg-type]


def open_days(schedule: Schedule, start: datetime, end: datetime) -> list[date]:
    return sorted({i.start.date() for i in schedule.intervals(start, end) if i.state == "open"})


# -- spans past midnight, 24:00 ------------------------------------------------------------------------


def test_friday_night_span_is_open_on_saturday_morning() -> None:
    s = hours("Fr 22:00-02:00")
    saturday_1am = paris(2026, 3, 7, 1, 0)
    assert s.state(saturday_1am)[0] == "open"
    assert s.closes_at(saturday_1am) == paris(2026, 3, 7, 2, 0)
    assert s.state(paris(2026, 3, 7, 2, 0))[0] == "closed"
    assert s.state(paris(2026, 3, 6, 21, 59))[0] == "closed"


def test_24_00_closes_at_midnight_and_spells_join_across_it() -> None:
    s = hours("Mo-Su 08:00-24:00")
    assert s.state(paris(2026, 3, 2, 23, 59))[0] == "open"
    assert s.state(paris(2026, 3, 3, 0, 30))[0] == "closed"
    assert s.closes_at(paris(2026, 3, 2, 23, 0)) == paris(2026, 3, 3, 0, 0)
    always = hours("Mo-Su 00:00-24:00")
    assert always.closes_at(paris(2026, 3, 2, 23, 0)) is None  # never closes within the horizon


def test_saturday_night_runs_past_midnight_into_a_sunday_with_its_own_hours() -> None:
    # The later Saturday rule owns its hours past midnight; the earlier Sunday rule does not cut them.
    bar = hours("Mo-Th,Su 11:00-01:00; Fr,Sa 11:00-02:00")
    assert bar.state(paris(2026, 3, 8, 1, 30))[0] == "open"  # Sunday 01:30, Saturday's night
    assert bar.closes_at(paris(2026, 3, 8, 1, 30)) == paris(2026, 3, 8, 2, 0)
    assert bar.state(paris(2026, 3, 9, 0, 30))[0] == "open"  # Monday 00:30, Sunday's night
    assert bar.state(paris(2026, 3, 9, 1, 30))[0] == "closed"
    # A later rule for the next day still overrides it.
    assert hours("Sa 11:00-02:00; Su off").state(paris(2026, 3, 8, 1, 0))[0] == "closed"


# -- DST -------------------------------------------------------------------------------------------------


def _open_seconds(s: Schedule, start: datetime, end: datetime) -> float:
    # In UTC: Python subtracts two datetimes sharing a tzinfo by wall clock, which hides the DST hour.
    spans = s.intervals(start, end)
    return sum((i.end.astimezone(UTC) - i.start.astimezone(UTC)).total_seconds() for i in spans if i.state == "open")


def test_spring_forward_day_is_two_hours_short_of_a_01_to_04_opening() -> None:
    s = hours("Mo-Su 01:00-04:00")
    # 2026-03-29: 02:00 local jumps to 03:00 in Paris.
    assert _open_seconds(s, paris(2026, 3, 29, 0, 0), paris(2026, 3, 30, 0, 0)) == 2 * 3600
    assert _open_seconds(s, paris(2026, 3, 28, 0, 0), paris(2026, 3, 29, 0, 0)) == 3 * 3600


def test_autumn_day_gives_a_01_to_04_opening_four_hours() -> None:
    s = hours("Mo-Su 01:00-04:00")
    # 2026-10-25: 03:00 local falls back to 02:00 in Paris.
    assert _open_seconds(s, paris(2026, 10, 25, 0, 0), paris(2026, 10, 26, 0, 0)) == 4 * 3600


def test_a_wall_clock_time_that_does_not_exist_is_never_reached() -> None:
    s = hours("Mo-Su 02:30-02:45")
    assert s.intervals(paris(2026, 3, 29, 0, 0), paris(2026, 3, 30, 0, 0)) == []
    # The instant the naive arithmetic would produce (01:30 + 1 h) is evaluated as the real 03:30.
    instant = paris(2026, 3, 29, 1, 30).astimezone(UTC) + timedelta(hours=1)
    assert s.local(instant).hour == 3
    assert s.state(instant)[0] == "closed"


def test_a_day_whose_midnight_does_not_exist_is_evaluated() -> None:
    # Santiago springs forward at midnight (2026-09-06 starts at 01:00): the day's first instant is 01:00.
    santiago = ZoneInfo("America/Santiago")
    s = hours("Mo-Su 08:00-20:00", timezone="America/Santiago", country="CL")
    noon = datetime(2026, 9, 6, 12, 0, tzinfo=santiago)
    assert s.state(noon)[0] == "open"
    assert s.closes_at(noon) == datetime(2026, 9, 6, 20, 0, tzinfo=santiago)
    night = hours("sunset-sunrise", timezone="America/Santiago", coords=(-33.45, -70.66))
    assert night.state(datetime(2026, 9, 6, 3, 0, tzinfo=santiago))[0] == "open"


def test_moscow_offsets_are_plus_three_all_year() -> None:
    s = Schedule.parse("Mo-Fr 09:00-20:00", timezone="Europe/Moscow", country="RU")
    spans = s.intervals(datetime(2026, 7, 6, tzinfo=UTC), datetime(2026, 7, 7, tzinfo=UTC))
    assert spans[0].start == datetime(2026, 7, 6, 9, 0, tzinfo=MOSCOW)
    assert spans[0].start.utcoffset() == timedelta(hours=3)
    assert spans[0].start.astimezone(UTC).hour == 6
    assert s.is_open(datetime(2026, 1, 12, 6, 0, tzinfo=UTC))  # 09:00 Moscow in winter too
    assert not s.is_open(datetime(2026, 1, 12, 5, 59, tzinfo=UTC))


# -- rule order, open_for, next_open ------------------------------------------------------------------


def test_later_rule_overrides_earlier_one_for_the_days_it_names() -> None:
    s = hours("Mo-Fr 09:00-18:00; We 14:00-16:00")
    assert s.state(paris(2026, 3, 4, 10, 0))[0] == "closed"  # Wednesday morning: overridden
    assert s.state(paris(2026, 3, 4, 15, 0))[0] == "open"
    assert s.state(paris(2026, 3, 5, 10, 0))[0] == "open"  # Thursday keeps the first rule


def test_open_for_needs_the_whole_span() -> None:
    s = hours("Mo-Fr 09:00-18:00")
    at = paris(2026, 3, 2, 17, 0)
    assert s.is_open(at, minutes=60)
    assert not s.is_open(at, minutes=61)
    night = hours("Fr 22:00-02:00")
    assert night.is_open(paris(2026, 3, 6, 23, 0), minutes=180)  # across midnight counts as one spell


def test_next_open_after_a_long_closure() -> None:
    s = hours("Mo-Fr 09:00-18:00; 2026 Nov 01-2027 Feb 28 off")
    reopens = s.next_open(paris(2026, 11, 2, 10, 0))
    assert reopens == paris(2027, 3, 1, 9, 0)
    assert reopens is not None and reopens.utcoffset() == timedelta(hours=1)


def test_an_open_end_is_the_next_opening_of_a_closed_place() -> None:
    # `18:00+`: open from 18:00, the closing time not given (unknown). At noon the bar showed closed with no
    # opening in sight, as a place closed for good does.
    bar = hours("Mo-Sa 18:00+")
    assert bar.state(paris(2026, 12, 8, 12, 0))[0] == "closed"
    assert bar.next_open(paris(2026, 12, 8, 12, 0)) == paris(2026, 12, 8, 18, 0)
    assert bar.next_open(paris(2026, 12, 13, 12, 0)) == paris(2026, 12, 14, 18, 0)  # Sunday: Monday's
    assert bar.state(paris(2026, 12, 8, 19, 0))[0] == "unknown" and bar.next_open(paris(2026, 12, 8, 19, 0)) is None
    # Times the hours name as unknown open too; a day "on appointment" names none.
    assert hours("Mo-Fr 10:00-12:00 unknown").next_open(paris(2026, 12, 8, 13, 0)) == paris(2026, 12, 9, 10, 0)
    assert hours('Mo-Fr "on appointment"').next_open(paris(2026, 12, 13, 12, 0)) is None
    # Far ahead, past the memoised days: the same.
    assert hours("Dec 24 18:00+").next_open(paris(2026, 12, 8, 12, 0)) == paris(2026, 12, 24, 18, 0)


def test_a_closure_written_first_is_overridden_by_the_weekly_rule_after_it() -> None:
    # Later rules win (OSM specification, and opening_hours.js): the closure must come last to count.
    s = hours("2026 Nov 01-2027 Feb 28 off; Mo-Fr 09:00-18:00")
    assert s.is_open(paris(2026, 11, 2, 10, 0))
    assert s.state(paris(2026, 11, 1, 10, 0))[0] == "closed"  # a Sunday: no weekday rule, the closure holds


# -- public holidays by country and region ------------------------------------------------------------


def test_moselle_has_good_friday_france_does_not() -> None:
    good_friday = paris(2026, 4, 3, 11, 0)
    assert hours("Mo-Sa 10:00-19:00; PH off").is_open(good_friday)
    assert not hours("Mo-Sa 10:00-19:00; PH off", region="FR-57").is_open(good_friday)
    assert not hours("Mo-Sa 10:00-19:00; PH off", region="Moselle").is_open(good_friday)
    assert not hours("Mo-Sa 10:00-19:00; PH off").is_open(paris(2026, 5, 1, 11, 0))  # national: 1 May


def test_bavaria_has_epiphany_and_regions_resolve_by_name() -> None:
    berlin = {"timezone": "Europe/Berlin", "country": "DE"}
    epiphany = datetime(2026, 1, 6, 11, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert hours("Mo-Sa 10:00-19:00; PH off", **berlin).is_open(epiphany)
    assert not hours("Mo-Sa 10:00-19:00; PH off", region="DE-BY", **berlin).is_open(epiphany)
    assert not hours("Mo-Sa 10:00-19:00; PH off", region="Bayern", **berlin).is_open(epiphany)
    assert not hours("Mo-Sa 10:00-19:00; PH off", region="Baden-Württemberg", **berlin).is_open(epiphany)
    assert resolve_region("DE", "Baden-Württemberg") == "BW"
    assert resolve_region("FR", "57") == "57"
    assert resolve_region("FR", "Atlantis") is None


def test_ph_without_country_warns_instead_of_silently_ignoring() -> None:
    s = Schedule.parse("Mo-Sa 10:00-19:00; PH off", timezone="Europe/Paris")
    assert any("no country" in w for w in s.warnings)
    assert not any("no country" in w for w in hours("Mo-Sa 10:00-19:00; PH off").warnings)


def test_ph_with_a_comment_keeps_the_comment() -> None:
    s = hours('PH 12:00-13:00 open "holiday desk"')
    spans = s.intervals(paris(2026, 5, 1), paris(2026, 5, 2))
    assert [(i.start.hour, i.end.hour, i.state, i.comment) for i in spans] == [(12, 13, "open", "holiday desk")]


def test_ph_offset_and_weekday_intersection() -> None:
    after = hours("PH +1 day 10:00-12:00")
    assert open_days(after, paris(2026, 5, 1), paris(2026, 5, 10)) == [date(2026, 5, 2), date(2026, 5, 9)]
    on_fridays = hours("Fr PH 10:00-12:00")
    # 2026: 1 May and 8 May are Fridays, Ascension (14 May) a Thursday.
    assert open_days(on_fridays, paris(2026, 4, 30), paris(2026, 5, 31)) == [date(2026, 5, 1), date(2026, 5, 8)]


def test_day_before_a_holiday() -> None:
    before = hours("PH -1 day 10:00-12:00")
    # 2026: 1 May (Friday) and 8 May (Friday) are holidays in France, Ascension is 14 May.
    assert open_days(before, paris(2026, 4, 29), paris(2026, 5, 16)) == [
        date(2026, 4, 30),
        date(2026, 5, 7),
        date(2026, 5, 13),
    ]
    weekdays = hours("Mo-We PH -1 day 10:00-12:00")
    assert open_days(weekdays, paris(2026, 4, 29), paris(2026, 5, 16)) == [date(2026, 5, 13)]


def test_holidays_side_by_side_are_a_list() -> None:
    # Baden-Württemberg 2026: Wednesday 13 May is the day before Ascension (not a school day off); the
    # Christmas school break starts on Wednesday 23 December. Both are Mo-We; Thursday 24 December is not.
    berlin = ZoneInfo("Europe/Berlin")
    s = hours("PH -1 day SH Mo-We", timezone="Europe/Berlin", country="DE", region="DE-BW")
    assert "missing ',' between holidays added" in s.warnings
    assert open_days(s, datetime(2026, 5, 11, tzinfo=berlin), datetime(2026, 5, 18, tzinfo=berlin)) == [
        date(2026, 5, 13)
    ]
    assert open_days(s, datetime(2026, 12, 20, tzinfo=berlin), datetime(2026, 12, 27, tzinfo=berlin)) == [
        date(2026, 12, 23)
    ]


def test_us_federal_holidays_hold_in_every_state() -> None:
    # Columbus Day (2025-10-13) is a federal holiday that California does not keep as a state holiday;
    # Cesar Chavez Day (2025-03-31) is California's own.
    la = {"timezone": "America/Los_Angeles", "country": "US", "region": "California"}
    zone = ZoneInfo("America/Los_Angeles")
    s = hours("Mo-Fr 09:00-17:00; PH off", **la)
    assert not s.is_open(datetime(2025, 10, 13, 12, 0, tzinfo=zone))
    assert not s.is_open(datetime(2025, 3, 31, 12, 0, tzinfo=zone))
    assert s.is_open(datetime(2025, 10, 14, 12, 0, tzinfo=zone))


@pytest.mark.parametrize("state", ["California", "Maryland", "Nevada", "Indiana", "Georgia"])
def test_black_friday_is_not_a_holiday_for_shops(state: str) -> None:
    # States close their offices the day after Thanksgiving under many names ("Day After Thanksgiving",
    # "American Indian Heritage Day", "Family Day", Indiana's moved "Lincoln's Birthday"); shops do not.
    zone = ZoneInfo("America/New_York")
    s = hours("Mo-Sa 09:00-21:00; PH 10:00-18:00", timezone="America/New_York", country="US", region=state)
    assert s.state(datetime(2025, 11, 27, 9, 30, tzinfo=zone))[0] == "closed"  # Thanksgiving: holiday hours
    assert s.state(datetime(2025, 11, 28, 9, 30, tzinfo=zone))[0] == "open"  # Black Friday: usual hours


def test_election_day_is_not_a_holiday_for_shops() -> None:
    zone = ZoneInfo("America/New_York")
    s = hours("Mo-Fr 09:00-17:00; PH off", timezone="America/New_York", country="US", region="NY")
    assert s.is_open(datetime(2025, 11, 4, 12, 0, tzinfo=zone))
    assert not s.is_open(datetime(2025, 11, 11, 12, 0, tzinfo=zone))  # Veterans Day still is one


def test_australian_substitute_days_hold_without_a_state() -> None:
    # Christmas 2027 is a Saturday and Boxing Day a Sunday: every state keeps Monday 27 and Tuesday 28.
    sydney = ZoneInfo("Australia/Sydney")
    s = hours("Mo-Fr 09:00-17:00; PH off", timezone="Australia/Sydney", country="AU")
    assert not s.is_open(datetime(2027, 12, 27, 12, 0, tzinfo=sydney))
    assert not s.is_open(datetime(2027, 12, 28, 12, 0, tzinfo=sydney))
    assert s.is_open(datetime(2027, 12, 29, 12, 0, tzinfo=sydney))


def test_easter_relative_dates() -> None:
    # Easter 2012: 8 April; 2011: 24 April; 2026: 5 April.
    good_friday = hours("easter -2 days 10:00-12:00")
    assert open_days(good_friday, paris(2026, 1, 1), paris(2027, 1, 1)) == [date(2026, 4, 3)]
    around = hours("easter -7 days-Nov 01 Tu-Sa 10:00-12:00")
    days = open_days(around, paris(2026, 3, 20), paris(2026, 4, 2))
    assert days[0] == date(2026, 3, 31)  # Palm Sunday 29 March, the first Tuesday after it


def test_range_from_easter_to_a_fixed_date_follows_each_years_easter() -> None:
    # The engine alone lets 2011's range (24 Apr, after 20 Apr) wrap into 2012: Jan 01-Apr 20.
    s = hours("easter-Apr 20 10:00-12:00")
    days = open_days(s, paris(2012, 1, 1), paris(2013, 1, 1))
    assert days[0] == date(2012, 4, 8)
    assert days[-1] == date(2012, 4, 20)
    assert len(days) == 13
    # A year whose Easter falls after the end date wraps within that year, like `Dec 25-Jan 06`.
    wrapped = hours("easter-Apr 02").intervals(paris(2012, 1, 1), paris(2013, 1, 1))
    assert [(i.start, i.end) for i in wrapped] == [
        (paris(2012, 1, 1), paris(2012, 4, 3)),
        (paris(2012, 4, 8), paris(2013, 1, 1)),
    ]


def test_monthday_steps_and_selector_order_evaluate_to_the_same_days() -> None:
    steps = open_days(hours("Jan 01-31/8"), paris(2012, 1, 1), paris(2012, 2, 1))
    assert steps == [date(2012, 1, 1), date(2012, 1, 9), date(2012, 1, 17), date(2012, 1, 25)]
    dated = open_days(hours("2012 Jan 01-31/8"), paris(2012, 12, 1), paris(2013, 2, 1))
    assert dated == []
    week = hours("00:00-24:00 week 05 Feb").intervals(paris(2012, 1, 1), paris(2013, 1, 1))
    assert [(i.start, i.end) for i in week] == [(paris(2012, 2, 1), paris(2012, 2, 6))]
    every_ten = open_days(hours("2013/10 Dec 31"), paris(2012, 1, 1), paris(2024, 1, 1))
    assert every_ten == [date(2013, 12, 31), date(2023, 12, 31)]


def test_us_territory_names_resolve() -> None:
    assert resolve_region("US", "United States Virgin Islands") == "VI"
    assert resolve_region("US", "U.S. Virgin Islands") == "VI"
    assert resolve_region("US", "Guam") == "GU"


def test_school_holidays_from_the_holidays_package() -> None:
    s = Schedule.parse("SH 10:00-12:00", timezone="Europe/Berlin", country="DE", region="BW")
    berlin = ZoneInfo("Europe/Berlin")
    days = open_days(s, datetime(2024, 3, 20, tzinfo=berlin), datetime(2024, 4, 10, tzinfo=berlin))
    assert days[0] == date(2024, 3, 23) and days[-1] == date(2024, 4, 5)


# -- OSM semantics the raw engine reads differently ---------------------------------------------------


def test_open_end_and_comment_only_rules_are_unknown_not_open() -> None:
    s = hours("Mo-Su 17:00+")
    assert s.state(paris(2026, 3, 2, 18, 0))[0] == "unknown"
    assert not s.is_open(paris(2026, 3, 2, 18, 0))
    maybe = hours('Mo-Fr 09:00-18:00; Sa 10:00-12:00 "call us first"')
    assert maybe.state(paris(2026, 3, 7, 11, 0)) == ("unknown", "call us first")


def test_fallback_applies_only_where_the_main_rules_are_closed() -> None:
    s = hours('Mo-Fr 09:00-18:00 || "by appointment"')
    assert s.state(paris(2026, 3, 2, 10, 0))[0] == "open"
    assert s.state(paris(2026, 3, 2, 20, 0)) == ("unknown", "by appointment")
    assert s.state(paris(2026, 3, 7, 10, 0))[0] == "unknown"


# -- exceptions ----------------------------------------------------------------------------------------


def test_special_closure_and_holiday_hours_override_regular_hours() -> None:
    closure = SpecialHours(date(2026, 8, 1), date(2026, 8, 16), "off", "works")
    xmas = SpecialHours(date(2026, 12, 24), date(2026, 12, 24), "10:00-14:00", "Christmas Eve")
    s = Schedule.parse("Mo-Sa 10:00-19:00", timezone="Europe/Paris", country="FR", special=[closure, xmas])
    assert not s.is_open(paris(2026, 8, 3, 12, 0))
    assert s.next_open(paris(2026, 8, 3, 12, 0)) == paris(2026, 8, 17, 10, 0)
    assert s.state(paris(2026, 12, 24, 11, 0)) == ("open", "Christmas Eve")
    assert s.closes_at(paris(2026, 12, 24, 11, 0)) == paris(2026, 12, 24, 14, 0)
    assert s.is_open(paris(2026, 12, 23, 18, 0))


def test_exception_inside_the_expression() -> None:
    s = hours("Mo-Sa 10:00-19:00; 2026 Dec 24 10:00-14:00")
    assert s.closes_at(paris(2026, 12, 24, 11, 0)) == paris(2026, 12, 24, 14, 0)
    assert s.closes_at(paris(2026, 12, 23, 11, 0)) == paris(2026, 12, 23, 19, 0)


# -- errors ----------------------------------------------------------------------------------------------


def test_errors_are_typed() -> None:
    with pytest.raises(HoursSyntaxError):
        hours("whenever we feel like it")
    with pytest.raises(HoursError):
        Schedule.parse("Mo-Fr 09:00-18:00", timezone="Mars/Olympus")
    with pytest.raises(HoursError):
        hours("Mo-Fr 09:00-18:00").state(datetime(2026, 3, 2, 10, 0))  # naive instant


def test_alsace_departments_get_alsace_holidays() -> None:
    good_friday = datetime(2026, 4, 3, 11, 0, tzinfo=ZoneInfo("Europe/Paris"))
    for region in ("FR-67", "FR-68", "Alsace"):
        schedule = Schedule.parse("Mo-Sa 10:00-19:00; PH off", timezone="Europe/Paris", country="FR", region=region)
        assert not schedule.is_open(good_friday), region
    paris = Schedule.parse("Mo-Sa 10:00-19:00; PH off", timezone="Europe/Paris", country="FR", region="FR-IDF")
    assert paris.is_open(good_friday) and paris.warnings == ()  # an ISO region without holidays of its own
    named = Schedule.parse("Mo-Sa 10:00-19:00; PH off", timezone="Europe/Paris", country="FR", region="Atlantis")
    assert any("Atlantis" in w for w in named.warnings)


# -- elapsed time across DST changes, closures ops add, regions by name ---------------------------------


def test_open_for_counts_elapsed_minutes_on_the_spring_forward_day() -> None:
    # 01:00-04:00 on 30 March 2025 in Paris lasts 2 h: at 01:30 local, 90 minutes are left, not 150.
    s = hours("01:00-04:00")
    at = paris(2025, 3, 30, 1, 30)  # the place's own ZoneInfo, as the map page builds it
    assert s.is_open(at, 90)
    assert not s.is_open(at, 120)
    assert s.is_open(at.astimezone(UTC), 90) and not s.is_open(at.astimezone(UTC), 120)


def test_closing_soon_counts_elapsed_minutes_and_follows_the_setting() -> None:
    from locator.search import open_state

    s = hours("01:00-03:00")
    at = paris(2025, 3, 30, 1, 45)  # 15 minutes before 03:00 CEST (02:00-03:00 does not exist that day)
    assert open_state(s, at, 30).closing_soon
    assert not open_state(s, at, 10).closing_soon
    assert open_state(s, paris(2025, 3, 31, 2, 15), 30).closing_soon is False  # 45 minutes left


def test_an_ops_closure_is_not_reopened_by_a_fallback_and_keeps_its_comment() -> None:
    travaux = SpecialHours(date(2025, 12, 1), date(2025, 12, 31), "off", "travaux")
    s = hours('Mo-Fr 09:00-18:00 || "sur rendez-vous"', special=(travaux,))
    assert s.state(paris(2025, 12, 1, 12, 0)) == ("closed", "travaux")
    assert s.state(paris(2025, 12, 6, 12, 0)) == ("closed", "travaux")  # a Saturday: no fallback either
    assert s.state(paris(2026, 1, 5, 12, 0)) == ("open", None)
    assert s.state(paris(2026, 1, 10, 12, 0)) == ("unknown", "sur rendez-vous")
    inline = hours('Mo-Fr 09:00-18:00 || "sur rendez-vous"; 2025 Dec 01-2025 Dec 31 off "travaux"')
    assert inline.state(paris(2025, 12, 1, 12, 0)) == ("closed", "travaux")


def test_next_open_behind_the_longest_closure_ops_may_add() -> None:
    from locator.special_hours import MAX_DAYS

    start = date(2025, 6, 1)
    closure = SpecialHours(start, start + timedelta(days=MAX_DAYS - 1), "off", "renovation")
    s = hours("Mo-Fr 09:00-18:00", special=(closure,))
    reopening = closure.end + timedelta(days=1)
    while reopening.weekday() > 4:
        reopening += timedelta(days=1)
    assert s.next_open(paris(2025, 6, 2, 12, 0)) == paris(reopening.year, reopening.month, reopening.day, 9, 0)


@pytest.mark.parametrize(
    ("country", "name", "code"),
    [("FR", "Bas-Rhin", "6AE"), ("FR", "Haut-Rhin", "6AE"), ("DE", "Bavaria", "BY"), ("AT", "Vienna", "9"),
     ("ES", "Catalonia", "CT"), ("CH", "Geneva", "GE")],
)  # fmt: skip
def test_regions_by_the_names_feeds_use(country: str, name: str, code: str) -> None:
    assert resolve_region(country, name) == code


def test_alsace_by_department_name_has_st_stephens_day() -> None:
    assert hours("Mo-Su 10:00-18:00; PH off", region="Bas-Rhin").state(paris(2025, 12, 26, 12, 0))[0] == "closed"
    assert hours("Mo-Su 10:00-18:00; PH off", region="Paris").state(paris(2025, 12, 26, 12, 0))[0] == "open"


def test_a_long_spell_ends_where_it_ends_whatever_the_hour_asked_from() -> None:
    # Memoised by the day asked from: every instant of that day gets what a fresh schedule computes, in the
    # place's own offset even when asked in UTC.
    closure = SpecialHours(date(2026, 3, 20), date(2026, 3, 22), "off", "inventory")
    shared = hours("24/7", special=(closure,))
    for hour in (0, 3, 15, 23):
        at = paris(2026, 3, 10, hour, 30)
        assert shared.closes_at(at.astimezone(UTC)) == hours("24/7", special=(closure,)).closes_at(at)
        assert shared.closes_at(at) == paris(2026, 3, 20, 0, 0)
        assert shared.closes_at(at.astimezone(UTC)).utcoffset() == timedelta(hours=1)  # type: ignore[union-attr]
    assert hours("24/7").closes_at(paris(2026, 3, 10, 3, 0)) is None


def _spells(schedule: Schedule, start: datetime, end: datetime) -> list[tuple[str, str, str | None]]:
    return [(i.start.strftime("%m-%d %H:%M"), i.end.strftime("%m-%d %H:%M"), i.comment)
            for i in schedule.intervals(start, end) if i.state == "open"]  # fmt: skip


def test_nights_around_a_closure_ops_add_belong_to_the_day_they_start_on() -> None:
    closure = SpecialHours(date(2025, 6, 1), date(2025, 6, 30), "off", "travaux")
    bar = hours("Mo-Su 20:00-02:00", special=(closure,))
    # The night of 31 May runs to 02:00 on 1 June; the night of 30 June (closed) does not show on 1 July.
    assert _spells(bar, paris(2025, 5, 31, 12, 0), paris(2025, 6, 2)) == [("05-31 20:00", "06-01 02:00", None)]
    assert _spells(bar, paris(2025, 6, 30), paris(2025, 7, 2, 3, 0)) == [("07-01 20:00", "07-02 02:00", None)]
    assert bar.next_open(paris(2025, 6, 15, 12, 0)) == paris(2025, 7, 1, 20, 0)
    # No night before it to keep: a bar open on Friday and Saturday nights, closed from a Tuesday.
    weekend = hours("Fr,Sa 20:00-02:00", special=(SpecialHours(date(2025, 6, 3), date(2025, 6, 5), "off"),))
    assert _spells(weekend, paris(2025, 6, 2), paris(2025, 6, 6)) == []


def test_holiday_hours_keep_their_own_night_and_replace_the_regular_one() -> None:
    eve = SpecialHours(date(2025, 12, 31), date(2025, 12, 31), "20:00-04:00", "Réveillon")
    bar = hours("Mo-Su 20:00-02:00", special=(eve,))
    assert _spells(bar, paris(2025, 12, 31), paris(2026, 1, 2)) == [
        ("12-31 00:00", "12-31 02:00", None),  # the night of the 30th
        ("12-31 20:00", "01-01 04:00", "Réveillon"),
        ("01-01 20:00", "01-02 00:00", None),
    ]
    shop = hours("Mo-Sa 10:00-19:00", special=(eve,))
    assert ("12-31 20:00", "01-01 04:00", "Réveillon") in _spells(shop, paris(2025, 12, 31), paris(2026, 1, 2))
    # Consecutive exceptions: the second owns the day after the first, so no regular night comes back between.
    noel = (SpecialHours(date(2025, 12, 24), date(2025, 12, 24), "10:00-14:00", "Noël"),
            SpecialHours(date(2025, 12, 25), date(2025, 12, 25), "off", "Noël"))  # fmt: skip
    assert _spells(hours("Mo-Su 20:00-02:00", special=noel), paris(2025, 12, 24), paris(2025, 12, 27)) == [
        ("12-24 00:00", "12-24 02:00", None),
        ("12-24 10:00", "12-24 14:00", "Noël"),
        ("12-26 20:00", "12-27 00:00", None),
    ]


# -- found by tests/locator/test_hours_invariants.py -----------------------------------------------------


def test_an_exception_on_the_spring_forward_day_of_a_bar_is_accepted() -> None:
    # The regular night before it was looked up until midnight + 2 h by wall clock: 02:00 on 29 March 2026 does
    # not exist in Paris, and the library rejected it (TypeError while adding the exception).
    closure = SpecialHours(date(2026, 3, 29), date(2026, 3, 29), "off", "travaux")
    bar = hours("Mo-Su 20:00-02:00", special=(closure,))
    # The night of the 28th still runs to 02:00 by the clock (the clocks go from 02:00 to 03:00 in it).
    assert _spells(bar, paris(2026, 3, 28, 12, 0), paris(2026, 3, 30, 12, 0)) == [("03-28 20:00", "03-29 03:00", None)]
    # A time the clocks skip, given in the place's own ZoneInfo, is the real instant it names (02:30 -> 03:30).
    assert bar.state(paris(2026, 3, 29, 2, 30)) == ("closed", "travaux")
    assert hours("Mo-Su 09:00-18:00").next_open(paris(2026, 3, 29, 2, 30)) == paris(2026, 3, 29, 9, 0)


def test_a_bar_closing_at_two_on_the_night_paris_falls_back_closes_at_the_first_two() -> None:
    # 25 October 2026: 03:00 CEST falls back to 02:00 CET, so 02:00 is shown twice. The library's state closes
    # at the first; its intervals gave the second (an hour more), so closes_at and open_for promised an hour
    # the place is not open.
    bar = hours("Mo-Su 20:00-02:00")
    at = paris(2026, 10, 25, 1, 30)
    closes = bar.closes_at(at)
    # In UTC: Python never finds an instant of the repeated hour equal to one of another zone.
    assert closes is not None and closes.astimezone(UTC) == datetime(2026, 10, 25, 0, 0, tzinfo=UTC)  # 02:00 CEST
    assert bar.is_open(at, 30) and not bar.is_open(at, 31)
    assert bar.state(datetime(2026, 10, 25, 0, 30, tzinfo=UTC))[0] == "closed"  # 02:30 CEST
    # And a range from 02:00 opens at the first 02:00, where the state says open.
    early = hours("Mo-Su 02:00-05:00")
    spans = early.intervals(paris(2026, 10, 25, 0, 0), paris(2026, 10, 25, 12, 0))
    assert [(i.start.astimezone(UTC), i.end.astimezone(UTC)) for i in spans] == [
        (datetime(2026, 10, 25, 0, 0, tzinfo=UTC), datetime(2026, 10, 25, 4, 0, tzinfo=UTC))
    ]
    assert early.state(datetime(2026, 10, 25, 0, 30, tzinfo=UTC))[0] == "open"


def test_intervals_end_where_the_window_asked_for_ends_in_the_repeated_hour() -> None:
    # New York repeats 01:00-02:00 on 1 November 2026; a window ending at 01:00 EDT got a span to 01:00 EST.
    bar = hours("Mo-Su 20:00-02:00", timezone="America/New_York", country="US")
    spans = bar.intervals(datetime(2026, 11, 1, 4, 0, tzinfo=UTC), datetime(2026, 11, 1, 5, 0, tzinfo=UTC))
    assert [(i.start.astimezone(UTC), i.end.astimezone(UTC)) for i in spans] == [
        (datetime(2026, 11, 1, 4, 0, tzinfo=UTC), datetime(2026, 11, 1, 5, 0, tzinfo=UTC))
    ]


def _utc_spans(schedule: Schedule, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    return [(i.start.astimezone(UTC), i.end.astimezone(UTC)) for i in schedule.intervals(start, end)]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_a_window_ending_in_the_second_pass_of_the_repeated_hour_keeps_its_last_hour() -> None:
    # The library reads wall clocks: a window ending at the second 01:15 (Dublin falls back 02:00 -> 01:00 on 25
    # October 2026) ended at the first, and the loop compared the two 01:xx by wall clock (found by an audit).
    always = hours("24/7", timezone="Europe/Dublin")
    assert _utc_spans(always, utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 15)) == [
        (utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 15))
    ]
    havana = hours("24/7", timezone="America/Havana")  # repeats 00:00-01:00
    assert _utc_spans(havana, utc(2026, 11, 1, 4, 30), utc(2026, 11, 1, 5, 15)) == [
        (utc(2026, 11, 1, 4, 30), utc(2026, 11, 1, 5, 15))
    ]
    late = hours("Mo-Su 01:15-03:00", timezone="Europe/Dublin")
    assert _utc_spans(late, utc(2026, 10, 24, 12, 0), utc(2026, 10, 25, 1, 15)) == [
        (utc(2026, 10, 25, 0, 15), utc(2026, 10, 25, 1, 15))
    ]
    # Chisinau falls back 03:00 -> 02:00 at 00:00 UTC, where a materialised day ends: a bar closing at the
    # first 02:30 ran to the window's end, and was listed open after it closed.
    bar = hours("Mo-Su 22:00-02:30", timezone="Europe/Chisinau")
    assert _utc_spans(bar, utc(2026, 10, 24, 12, 0), utc(2026, 10, 25, 0, 0)) == [
        (utc(2026, 10, 24, 19, 0), utc(2026, 10, 24, 23, 30))
    ]
    # And the answer does not depend on where the window is cut.
    for cut in (utc(2026, 10, 24, 23, 15), utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 0, 45)):
        assert _utc_spans(bar, utc(2026, 10, 24, 12, 0), cut) + _utc_spans(bar, cut, utc(2026, 10, 25, 12, 0)) == [
            (utc(2026, 10, 24, 19, 0), min(cut, utc(2026, 10, 24, 23, 30))),
            *([(cut, utc(2026, 10, 24, 23, 30))] if cut < utc(2026, 10, 24, 23, 30) else []),
        ]
    # next_open looks two days ahead at a time: from 01:00 UTC on the Friday its window ended at the second
    # 01:00 of Sunday, and the Sunday opening at the first 01:30 came an hour late.
    sunday = hours("Su 01:30-03:00", timezone="Europe/Dublin")
    opens = sunday.next_open(utc(2026, 10, 23, 1, 0))
    assert opens is not None and opens.astimezone(UTC) == utc(2026, 10, 25, 0, 30)


def test_a_long_spell_ends_at_its_closure_whatever_the_hour_asked_from() -> None:
    # The lookahead's step ended exactly where the "inventory desk" day starts: the answer depended on the hour
    # asked from. A note on the way is no closing (see test_a_comment_change_is_no_closing); the closure is.
    desk = SpecialHours(date(2026, 1, 3), date(2026, 1, 3), "00:00-24:00", "inventory desk")
    closed = SpecialHours(date(2026, 1, 5), date(2026, 1, 5), "off", "stock-taking")
    shop = hours("24/7", special=(desk, closed))
    for at in (paris(2025, 12, 28, 23, 59), paris(2025, 12, 29, 12, 0), paris(2025, 12, 30, 12, 0)):
        assert shop.closes_at(at) == paris(2026, 1, 5, 0, 0), at


# -- findings of the hours audit (session 8) -----------------------------------------------------------


def spans(schedule: Schedule, start: datetime, end: datetime) -> list[tuple[str, str]]:
    return [(i.start.strftime("%m-%d %H:%M"), i.end.strftime("%m-%d %H:%M")) for i in schedule.intervals(start, end)]


@pytest.mark.parametrize(
    ("value", "country", "region", "zone", "holiday", "plain"),
    [
        ("Mo-Sa 10:00-21:00; Su,PH 11:00-18:00", "US", "CA", "America/Los_Angeles", date(2024, 7, 4), date(2024, 7, 5)),
        ("Mo-Sa 10:00-21:00; PH,Su 11:00-18:00", "DE", "BY", "Europe/Berlin", date(2024, 5, 30), date(2024, 5, 29)),
        ("Mo-Sa 10:00-21:00; Sa,Su,PH 11:00-18:00", "FR", None, "Europe/Paris", date(2024, 5, 8), date(2024, 5, 7)),
    ],
)
def test_sunday_and_holiday_hours_replace_the_weekday_hours_on_a_weekday_holiday(
    value: str, country: str, region: str | None, zone: str, holiday: date, plain: date
) -> None:
    # The holidays were an additional rule (`Su 11:00-18:00, <dates> 11:00-18:00`), which overrides nothing:
    # July 4th kept the store's weekday 10:00-21:00.
    s = hours(value, country=country, region=region, timezone=zone)
    tz = ZoneInfo(zone)

    def on(day: date, schedule: Schedule = s) -> list[tuple[str, str]]:
        start = datetime.combine(day, datetime.min.time(), tz)
        return spans(schedule, start, start + timedelta(days=1))

    assert on(holiday) == [(f"{holiday:%m-%d} 11:00", f"{holiday:%m-%d} 18:00")]
    assert on(plain) == [(f"{plain:%m-%d} 10:00", f"{plain:%m-%d} 21:00")]
    # Written as an additional rule, it still adds to the weekday hours.
    added = hours(value.replace("; ", ", ").replace("11:00-18:00", "07:00-08:00"), country=country, region=region,
                  timezone=zone)  # fmt: skip
    assert on(holiday, added) == [(f"{holiday:%m-%d} 07:00", f"{holiday:%m-%d} 08:00"),
                                  (f"{holiday:%m-%d} 10:00", f"{holiday:%m-%d} 21:00")]  # fmt: skip


@pytest.mark.parametrize(
    ("value", "inside", "outside"),
    [
        # December's Sundays and holidays: the Sunday part was every Sunday of the year.
        ("Mo-Sa 10:00-19:00; Dec Su,PH 11:00-18:00", (2027, 12, 5, 12), (2027, 6, 6, 12)),
        ("Mo-Sa 10:00-19:00; 2027 Su,PH 11:00-18:00", (2027, 6, 6, 12), (2026, 12, 13, 12)),
    ],
)
def test_a_year_or_month_before_a_day_and_holiday_list_selects_the_days_too(
    value: str, inside: tuple[int, ...], outside: tuple[int, ...]
) -> None:
    s = hours(value, country="FR")
    assert s.is_open(paris(*inside)) and not s.is_open(paris(*outside))
    closed = hours("Mo-Su 10:00-19:00; Jan-Feb Su,PH off", country="FR")
    assert not closed.is_open(paris(2027, 1, 3, 12)) and closed.is_open(paris(2027, 6, 6, 12))
    assert not closed.is_open(paris(2027, 1, 1, 12)) and closed.is_open(paris(2027, 7, 14, 12))  # holidays alike


def test_an_exceptions_open_end_and_note_read_as_the_values_own() -> None:
    """`18:00+` as an exception was open until midnight (closing soon at 23:45, a closing time nobody gave), and
    `10:00-14:00 "sur rendez-vous"` plainly open: in the regular hours both are unknown."""
    day = date(2026, 12, 12)
    late = hours("Mo-Sa 10:00-19:00", special=(SpecialHours(day, day, "18:00+", "late opening"),))
    assert [(i.start, i.end, i.state) for i in late.intervals(paris(2026, 12, 12), paris(2026, 12, 14))] == [
        (paris(2026, 12, 12, 18), paris(2026, 12, 13, 4), "unknown")
    ]
    assert late.closes_at(paris(2026, 12, 12, 23, 45)) is None and not late.is_open(paris(2026, 12, 12, 23, 45))
    note = hours("Mo-Sa 10:00-19:00", special=(SpecialHours(day, day, '10:00-14:00 "sur rendez-vous"'),))
    assert [(i.state, i.comment) for i in note.intervals(paris(2026, 12, 12), paris(2026, 12, 13))] == [
        ("unknown", "sur rendez-vous")
    ]
    short = hours("Mo-Sa 10:00-19:00", special=(SpecialHours(day, day, "10:00-14:00", "short hours"),))
    assert [(i.state, i.comment) for i in short.intervals(paris(2026, 12, 12), paris(2026, 12, 13))] == [
        ("open", "short hours")  # an ops comment on plain hours is no note: holiday hours are meant as open
    ]


def test_two_exceptions_on_adjacent_days_read_the_same_whichever_came_first() -> None:
    """A bar closed on Saturday 12 and open round the clock on Sunday 13: added Sunday first, the closure's cut
    of the regular night (`Dec13 00:00-03:00 off`) came after Sunday's own rule and closed it until 03:00."""
    sunday = SpecialHours(date(2026, 12, 13), date(2026, 12, 13), "00:00-24:00")
    saturday = SpecialHours(date(2026, 12, 12), date(2026, 12, 12), "off")
    for special in ((sunday, saturday), (saturday, sunday)):
        bar = hours("Mo-Th 18:00-24:00; Fr,Sa 18:00-03:00", special=special)
        assert spans(bar, paris(2026, 12, 11), paris(2026, 12, 15)) == [
            ("12-11 18:00", "12-12 03:00"), ("12-13 00:00", "12-14 00:00"), ("12-14 18:00", "12-15 00:00")
        ], special


def test_a_desk_under_a_late_opening_with_an_open_end_is_open_where_both_are() -> None:
    """The shop's `09:00-18:00+` over a desk open 10:00-20:00 made the desk unknown all day (closed at noon)."""
    from locator.hours import within_own_hours

    desk = hours("Mo-Sa 10:00-20:00")
    day = date(2026, 12, 12)
    assert within_own_hours(desk, (SpecialHours(day, day, "09:00-18:00+"),)) == (SpecialHours(day, day, "10:00-18:00"),)
    assert within_own_hours(desk, (SpecialHours(day, day, '09:00-12:00 "sur rendez-vous"'),)) == (
        SpecialHours(day, day, "10:00-12:00 unknown"),
    )


def test_a_night_desk_under_a_place_closing_after_midnight_closes_with_it() -> None:
    """The desk's 18:00-03:00 under the shop's Christmas Eve 10:00-01:00: its night past the exception's last
    midnight was not bounded, open until 03:00."""
    from locator.hours import within_own_hours

    desk = hours("Mo-Su 18:00-03:00")
    eve = date(2026, 12, 24)
    bounded = hours("Mo-Su 18:00-03:00", special=within_own_hours(desk, (SpecialHours(eve, eve, "10:00-01:00"),)))
    assert spans(bounded, paris(2026, 12, 24, 12), paris(2026, 12, 26)) == [
        ("12-24 18:00", "12-25 01:00"), ("12-25 18:00", "12-26 00:00")
    ]
    # Over three days, every night is bounded (the first day's was cut at midnight and read as the desk's own).
    three = within_own_hours(desk, (SpecialHours(eve, eve + timedelta(days=2), "10:00-01:00"),))
    bounded = hours("Mo-Su 18:00-03:00", special=three)
    assert spans(bounded, paris(2026, 12, 24, 12), paris(2026, 12, 27, 12)) == [
        ("12-24 18:00", "12-25 01:00"), ("12-25 18:00", "12-26 01:00"), ("12-26 18:00", "12-27 01:00")
    ]


def test_a_comment_change_is_no_closing() -> None:
    # A 24/7 shop with a commented exception tomorrow "closed at midnight": closing soon, and out of open_for
    # answers. Plain values with two comments the same.
    always = hours("24/7", special=(SpecialHours(date(2024, 12, 24), date(2024, 12, 24), "00:00-18:00",
                                                 "Christmas Eve: closes at 18:00"),))  # fmt: skip
    at = paris(2024, 12, 23, 23, 40)
    assert always.closes_at(at) == paris(2024, 12, 24, 18, 0)
    assert always.is_open(at, 30)
    noted = hours('Mo-Su 09:00-12:00 open "morning", Mo-Su 12:00-18:00 open "afternoon"')
    assert noted.closes_at(paris(2024, 12, 23, 11, 50)) == paris(2024, 12, 23, 18, 0)
    assert noted.state(paris(2024, 12, 23, 12, 10)) == ("open", "afternoon")  # the note itself still shows
    # A long spell (past two days) with a note on its way runs on too.
    long = hours("24/7", special=(SpecialHours(date(2024, 12, 27), date(2024, 12, 27), "00:00-24:00", "stock"),))
    assert long.closes_at(at) is None


def test_an_exception_s_night_is_kept_whichever_exception_was_added_first() -> None:
    # New Year's Eve until 04:00, then closed on New Year's Day: entered in date order, the night ended at
    # midnight (the day after's exception replaced it); entered the other way round it ran to 04:00.
    eve = SpecialHours(date(2024, 12, 31), date(2024, 12, 31), "20:00-04:00", "New Year's Eve")
    day = SpecialHours(date(2025, 1, 1), date(2025, 1, 1), "off", "New Year's Day")
    for special in ((eve, day), (day, eve)):
        s = hours("Mo-Su 10:00-20:00", special=special)
        got = spans(s, paris(2024, 12, 31), paris(2025, 1, 2))
        assert got == [("12-31 20:00", "01-01 04:00")], (special, got)  # the exception's hours replace the day's
        assert s.state(paris(2025, 1, 1, 0, 30))[0] == "open"


@pytest.mark.parametrize(("country", "region"), [("FR", "FR-75"), ("FR", None), ("DE", None), ("NL", None)])
def test_school_holidays_without_a_school_zone_warn(country: str, region: str | None) -> None:
    # They never matched, silently: a school shown open in the Paris winter break.
    s = hours("Mo-Fr 08:00-16:00; SH off", country=country, region=region)
    assert any("SH never matches" in w for w in s.warnings), s.warnings


@pytest.mark.parametrize(("country", "region"), [("FR", "Zone C"), ("DE", "BY")])
def test_school_holidays_of_a_school_zone_do_not_warn(country: str, region: str) -> None:
    assert not hours("Mo-Fr 08:00-16:00; SH off", country=country, region=region).warnings


@pytest.mark.parametrize(
    ("value", "region", "day"),
    [
        ("Mo-Sa 10:00-20:00; Dec 31 20:00-02:00", None, date(2024, 12, 31)),  # New Year's Eve, a Tuesday
        ("Mo-Su 10:00-20:00; Jun-Aug Fr-Sa 10:00-02:00", None, date(2024, 7, 6)),  # a summer Saturday
        ("Mo-Su 10:00-20:00; Jun-Aug Fr-Sa 10:00-02:00", None, date(2024, 8, 31)),  # into September
        ("Mo-Sa 10:00-20:00; PH 20:00-02:00", "BY", date(2024, 5, 30)),  # Corpus Christi
    ],
)
def test_dated_hours_past_midnight_run_past_midnight(value: str, region: str | None, day: date) -> None:
    # The earlier rule selecting the next day made the library end them at 00:00 (only weekday rules were
    # restated past midnight).
    s = hours(value, country="DE", region=region, timezone="Europe/Berlin")
    berlin = ZoneInfo("Europe/Berlin")
    night = datetime.combine(day + timedelta(days=1), datetime.min.time(), berlin) + timedelta(minutes=30)
    assert s.state(night)[0] == "open"
    assert s.closes_at(night) == night.replace(hour=2, minute=0)


def test_the_second_pass_of_the_repeated_hour_answers_consistently() -> None:
    # New York falls back on 3 November 2024: 01:00-02:00 happens twice, and spans end at the first pass. At the
    # second 01:10 the bar "was open, closing now", next_open lay in the past, intervals began before `start`.
    bar = hours("Mo-Su 18:00-01:30", timezone="America/New_York", country="US")
    second = datetime.fromisoformat("2024-11-03T01:10-05:00")
    assert bar.state(second) == ("closed", None) and bar.closes_at(second) is None
    assert bar.state(datetime.fromisoformat("2024-11-03T01:10-04:00"))[0] == "open"  # the first pass
    early = hours("Su 01:15-01:45", timezone="America/New_York", country="US")
    at = datetime.fromisoformat("2024-11-03T01:05-05:00")
    opens = early.next_open(at)
    assert opens is not None and opens >= at
    assert all(i.start >= at for i in early.intervals(at, at + timedelta(days=1)))
