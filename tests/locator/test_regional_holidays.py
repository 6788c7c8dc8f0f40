"""Russian `PH`: transfers left out, regional non-working days (locator.regional_holidays) by code or name.

Expected dates are the ones the regions announced (ministry notices, decrees), not the module's own output.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from locator.hours import Schedule, resolve_region
from locator.regional_holidays import RussiaRegionalHolidays, subdivision_holidays

MOSCOW = ZoneInfo("Europe/Moscow")


def ph_days(year: int, region: str | None = None, country: str = "RU", timezone: str = "Europe/Moscow") -> set[date]:
    """The local days `PH` selects in `year`."""
    zone = ZoneInfo(timezone)
    schedule = Schedule.parse("PH", timezone=timezone, country=country, region=region)
    days: set[date] = set()
    for interval in schedule.intervals(datetime(year, 1, 1, tzinfo=zone), datetime(year + 1, 1, 1, tzinfo=zone)):
        day = interval.start.astimezone(zone).date()
        while datetime(day.year, day.month, day.day, tzinfo=zone) < interval.end:
            days.add(day)
            day += timedelta(days=1)
    return days


def regional_days(year: int, region: str) -> set[date]:
    """What a region adds to the federal `PH` days."""
    return ph_days(year, region) - ph_days(year)


# -- transfers ---------------------------------------------------------------------------------------------


def test_transferred_days_off_are_not_public_holidays_in_russia() -> None:
    days = ph_days(2014)
    assert date(2014, 5, 1) in days and date(2014, 6, 12) in days
    # Days off moved by the 2014 decree: from Saturday 4 Jan, Sunday 5 Jan and Sunday 23 Feb.
    assert {date(2014, 5, 2), date(2014, 6, 13), date(2014, 11, 3)}.isdisjoint(days)
    office = Schedule.parse("Mo-Fr 09:00-18:00; PH off", timezone="Europe/Moscow", country="RU")
    assert office.is_open(datetime(2014, 5, 2, 12, 0, tzinfo=MOSCOW))
    assert not office.is_open(datetime(2014, 5, 1, 12, 0, tzinfo=MOSCOW))


def test_days_off_in_lieu_of_a_weekend_holiday_stay_public_holidays_in_russia() -> None:
    # 1 May 2021 was a Saturday: Labour Code art. 112 moved the day off to Monday 3 May.
    assert date(2021, 5, 3) in ph_days(2021)


@pytest.mark.parametrize(
    ("country", "timezone", "transferred"),
    [
        ("BY", "Europe/Minsk", date(2014, 1, 2)),
        ("UA", "Europe/Kyiv", date(2014, 1, 2)),
        ("KZ", "Asia/Almaty", date(2014, 5, 2)),
    ],
)
def test_other_countries_keep_their_transferred_days_off(country: str, timezone: str, transferred: date) -> None:
    assert transferred in ph_days(2014, country=country, timezone=timezone)


# -- regions ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("region", ["RU-TA", "TA", "Татарстан", "Республика Татарстан", "TATARSTAN", "Tatarstan"])
def test_tatarstan_by_code_and_name(region: str) -> None:
    assert Schedule.parse("PH", timezone="Europe/Moscow", country="RU", region=region).warnings == ()
    assert regional_days(2014, region) == {
        date(2014, 7, 28),  # Uraza Bayram
        date(2014, 8, 30),  # Republic Day, a Saturday ...
        date(2014, 9, 1),  # ... so Monday off, as the law then said
        date(2014, 10, 4),  # Kurban Bayram, a Saturday: religious days were not moved
        date(2014, 11, 6),  # Constitution Day
    }


def test_tatarstan_no_longer_moves_a_weekend_holiday() -> None:
    # 2025: Republic Day on a Saturday, no Monday off.
    assert regional_days(2025, "Татарстан") == {
        date(2025, 3, 30),
        date(2025, 6, 6),
        date(2025, 8, 30),
        date(2025, 11, 6),
    }


def test_bashkortostan() -> None:
    days = regional_days(2014, "Башкортостан")
    # Kurban Bayram and Republic Day fell on Saturdays: Mondays 6 and 13 October off.
    assert days == {date(2014, 7, 28), date(2014, 10, 4), date(2014, 10, 6), date(2014, 10, 11), date(2014, 10, 13)}
    assert date(2014, 12, 24) not in ph_days(2014, "Башкортостан")  # Constitution Day is a memorial day only
    # 2022: Uraza Bayram on 2 May (a federal day off), 3 May a transferred one: 4 May off.
    assert {date(2022, 5, 2), date(2022, 5, 4)} <= ph_days(2022, "RU-BA")
    assert date(2022, 5, 4) not in ph_days(2022)
    # 2020: Uraza Bayram on Sunday 24 May, Monday 25 May off.
    assert {date(2020, 5, 24), date(2020, 5, 25)} <= regional_days(2020, "Bashkiria")


@pytest.mark.parametrize("region", ["RU-SA", "Республика Саха (Якутия)", "Якутия", "Sakha", "yakutia"])
def test_sakha(region: str) -> None:
    # 2025: Republic Day on a Sunday and Ysyakh on a Saturday, both moved to the Monday.
    assert regional_days(2025, region) == {date(2025, 4, 27), date(2025, 4, 28), date(2025, 6, 21), date(2025, 6, 23)}
    assert regional_days(2021, region) == {date(2021, 4, 27), date(2021, 6, 21)}


@pytest.mark.parametrize("region", ["RU-BU", "Республика Бурятия", "Бурятия", "Buryatia"])
def test_buryatia_sagaalgan_on_the_lunar_calendar(region: str) -> None:
    assert regional_days(2016, region) == {date(2016, 2, 9)}
    assert regional_days(2023, region) == {date(2023, 2, 21)}
    assert regional_days(2025, region) == {date(2025, 3, 1), date(2025, 3, 3)}  # a Saturday: Monday off
    assert regional_days(2010, region) == {date(2010, 2, 14), date(2010, 2, 15)}  # a Sunday


def test_kalmykia_feasts_on_the_tibetan_calendar() -> None:
    days_2022 = regional_days(2022, "Калмыкия")
    # Tsagan Sar 3 March (a month after Mongolia's), Buddha's birthday 14 June, Zul 18 December (a Sunday).
    assert {date(2022, 3, 3), date(2022, 6, 14), date(2022, 7, 5), date(2022, 12, 18), date(2022, 12, 19)} <= days_2022
    assert date(2022, 2, 2) not in days_2022
    # 2024: Tsagan Sar on Saturday 10 February, Monday 12 February off.
    assert {date(2024, 2, 10), date(2024, 2, 12), date(2024, 5, 23), date(2024, 12, 28)} <= regional_days(2024, "RU-KL")


def test_republic_days_moved_off_a_weekend() -> None:
    assert regional_days(2015, "Тыва") >= {date(2015, 8, 15), date(2015, 8, 17)}
    assert regional_days(2025, "Дагестан") >= {date(2025, 7, 26), date(2025, 7, 28)}
    assert regional_days(2025, "Адыгея") >= {date(2025, 3, 30), date(2025, 3, 31), date(2025, 10, 5), date(2025, 10, 6)}
    # Chuvashia's law leaves a weekend Republic Day where it is (2023: a Saturday).
    assert regional_days(2023, "Чувашия") == {date(2023, 6, 24)}


def test_caucasus_republics_and_radonitsa() -> None:
    for region in ("Чечня", "Чеченская Республика", "Chechnya", "RU-CE"):
        assert regional_days(2014, region) == {date(2014, 7, 28), date(2014, 10, 4)}, region
    kbr = {date(2014, 3, 28), date(2014, 5, 21), date(2014, 7, 28), date(2014, 9, 1), date(2014, 10, 4)}
    assert regional_days(2014, "Кабардино-Балкария") == kbr
    assert regional_days(2014, "Карачаево-Черкесия") == {date(2014, 5, 3), date(2014, 7, 28), date(2014, 10, 4)}
    assert regional_days(2023, "Саратовская область") == {date(2023, 4, 25)}
    assert regional_days(2025, "Stavropol Krai") == {date(2025, 4, 29)}


def test_moscow_gets_federal_holidays_only() -> None:
    moscow = Schedule.parse("PH", timezone="Europe/Moscow", country="RU", region="RU-MOW")
    assert moscow.warnings == ()
    assert ph_days(2014, "RU-MOW") == ph_days(2014)
    assert date(2014, 8, 30) not in ph_days(2014, "RU-MOW")


def test_a_federal_district_is_not_a_region() -> None:
    assert resolve_region("RU", "Приволжский федеральный округ") is None
    schedule = Schedule.parse("PH", timezone="Europe/Moscow", country="RU", region="Приволжский федеральный округ")
    assert any("has no holidays of its own known for RU" in warning for warning in schedule.warnings)
    assert ph_days(2014, "Приволжский федеральный округ") == ph_days(2014)


def test_a_region_without_days_off_of_its_own_is_not_called_unknown() -> None:
    # Moscow keeps the federal holidays only: "region 'Москва' is unknown" sent ops looking for a typo.
    for region in ("Москва", "Moscow", "RU-MOW"):
        schedule = Schedule.parse("Mo-Fr 09:00-18:00; PH off", timezone="Europe/Moscow", country="RU", region=region)
        assert not any("unknown" in warning for warning in schedule.warnings), schedule.warnings
    typo = Schedule.parse("Mo-Fr 09:00-18:00; PH off", timezone="Europe/Moscow", country="RU", region="Tatarsan")
    assert any("or a misspelling" in warning for warning in typo.warnings), typo.warnings
    germany = Schedule.parse("Mo-Fr 09:00-18:00; PH off", timezone="Europe/Berlin", country="DE", region="Bavarria")
    assert "region 'Bavarria' is unknown for DE: national holidays apply" in germany.warnings


def test_another_country_s_region_code_is_named_as_such() -> None:
    """`DE-BY` on a French place is no calendar of France's: it was taken silently as none (an ISO-shaped code is
    trusted to be a region the package files no holidays under, as FR-75 is), leaving Bavaria's Epiphany out."""
    schedule = Schedule.parse("Mo-Fr 09:00-18:00; PH off", timezone="Europe/Paris", country="FR", region="DE-BY")
    assert "region 'DE-BY' is not in FR (its code is DE's): FR's national holidays apply" in schedule.warnings
    for region in ("FR-75", "fr-57", "57"):
        own = Schedule.parse("Mo-Fr 09:00-18:00; PH off", timezone="Europe/Paris", country="FR", region=region)
        assert not own.warnings, (region, own.warnings)


def test_region_names_resolve_case_and_accent_insensitively() -> None:
    assert resolve_region("RU", "чечня") == "CE"
    assert resolve_region("RU", "Kabardino-Balkar Republic") == "KB"
    assert resolve_region("RU", "республика саха (якутия)") == "SA"
    assert resolve_region("RU", "Тува") == "TY"
    assert resolve_region("RU", "Чувашская Республика — Чувашия") == "CU"
    assert resolve_region("RU", "Республика Карелия") is None  # no days off of its own
    assert resolve_region("DE", "Baden-Württemberg") == "BW"  # the package's own subdivisions come first


def test_regional_days_have_names() -> None:
    tatarstan = RussiaRegionalHolidays(subdiv="TA", years=2014)
    assert tatarstan[date(2014, 8, 30)] == "День Республики Татарстан"
    assert tatarstan.get_named("Курбан-байрам") == [date(2014, 10, 4)]
    assert subdivision_holidays("RU", "MOW", [2014]) == {}
    assert subdivision_holidays("DE", "BY", [2014]) == {}
