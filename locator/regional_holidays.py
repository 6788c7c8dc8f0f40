"""Non-working holidays of Russian republics and regions: a supplement to the `holidays` package.

`holidays.RU` has federal holidays only (no subdivisions). Regions may add non-working days of their own
(their own laws, and religious feasts under Federal Law 125-FZ art. 4 p. 7), and those close government
offices and many shops there. `RussiaRegionalHolidays` is a `holidays`-style entity keyed by the ISO 3166-2
code without its `RU-` prefix (`TA`, `BA`, ...), with the region's Russian and English names as subdivision
aliases; it lists the regional days only, never the federal ones. Moveable feasts come from the package's
own calendars (Islamic lunar, Mongolian and Tibetan lunisolar, Orthodox Easter); regions announce the
actual dates by yearly decree, so those days carry the package's "estimated" label.

Sources (regional laws and the ministries' yearly notices as reported by consultant.ru's table of regional
holidays 2022-2024, docs.cntd.ru, garant.ru and regional news), start years, and assumptions:

* TA Tatarstan, law of 19.02.1992 No. 1448-XII: Republic Day 30 Aug, Constitution Day 6 Nov, Uraza and
  Kurban Bayram. A Republic/Constitution Day on a weekend gave a day off in lieu in 2005 and 2014 but not
  in 2022 or 2025; the change year is unknown, so in lieu days are applied up to 2014 only.
* BA Bashkortostan, law of 27.02.1992 No. VS-10/21: Republic Day 11 Oct, Uraza and Kurban Bayram (the
  Constitution Day, 24 Dec, is a memorial day, not a day off). Days off in lieu (2014, 2020, 2022).
* CU Chuvashia, law of 04.05.2000 No. 4: Republic Day 24 Jun, not moved off a weekend (2023).
* SA Sakha (Yakutia), law of 26.04.2018 No. 1545-V: Republic Day 27 Apr and Ysyakh 21 Jun, from 2018, with
  days off in lieu (2025). Binding on the republic's own bodies and institutions; other employers decide.
  Statehood Day (27 Sep) is not a day off.
* KL Kalmykia, law of 13.10.2004 No. 156-III-Z (from 2005): Tsagan Sar, Buddha's birthday and Zul on the
  Tibetan calendar (it matches the decreed dates 2018-2025 where the Mongolian one misses 2022 and 2025;
  Zul, the 25th of the 10th month, is the 22nd of the 9th + 33 days and can be a day or a month off),
  Steppe Code Day 5 Apr until 2020, Republic Day 5 Jul from 2021, deportation memorial 28 Dec; the law
  gives days off in lieu.
* BU Buryatia: Sagaalgan (Mongolian calendar, 2004-2100 in the package; matches the decreed dates checked,
  2010-2026), a day off since 1990, with days off in lieu since law of 23.12.2008 No. 675-IV.
* TY Tuva, law of 12.02.1999 No. 143: Shagaa (Mongolian calendar) and Republic Day 15 Aug, in lieu days.
* AD Adygea, law of 14.02.1995: Republic Day 5 Oct, Uraza and Kurban Bayram, in lieu days (2025). Radonitsa
  is a day off by yearly decree in recent years only (start unknown): not included.
* DA Dagestan: Constitution Day 26 Jul (State Council decree of 18.07.1995), Unity Day 15 Sep (since 2011),
  Uraza and Kurban Bayram; days off in lieu (2015, 2019, 2025).
* IN Ingushetia, CE Chechnya: Uraza and Kurban Bayram (first day; decrees often add one or two more days).
  Ingushetia's 4 Jun and Chechnya's 16 Apr are holidays but no source makes them days off.
* KC Karachay-Cherkessia: 3 May (since 1997), Uraza and Kurban Bayram, by yearly decree.
* KB Kabardino-Balkaria: 28 Mar, 21 May, 1 Sep (applied from 1997, the statehood day's year), Uraza and
  Kurban Bayram. The 20 Sep day of 2014 rests on one report and is left out.
* KO Komi, law of 05.05.2014 No. 30-RZ: Republic Day 22 Aug from 2014 (republic bodies; others decide).
* SAR Saratov (law of 22.03.2012 No. 26-ZSO, from 2012) and STA Stavropol (law of 23.06.2016 No. 60-KZ,
  from 2017): Radonitsa, Orthodox Easter + 9 days, a Tuesday.
* Uraza and Kurban Bayram are applied from 1992 in Tatarstan and Bashkortostan (their 1992 laws) and from
  1998 elsewhere (Federal Law 125-FZ of 1997).

Not included: Karelia (8 Jun, 30 Sep are holidays, not days off), Bryansk (Radonitsa and 17 Sep are yearly
swaps with a Saturday, like the federal transfers `PH` leaves out), Altai Republic (Chaga Bayram is decreed
yearly and missed the Mongolian date in both years checked, 2013 and 2021), Udmurtia (no source makes a
day of its own a day off). A day off in lieu is the next working day after a regional holiday that falls on
a weekend or a federal non-working day; where no source shows the region moving it, it is not moved.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import holidays
from holidays.calendars.gregorian import APR, AUG, DEC, JUL, JUN, MAR, MAY, NOV, OCT, SEP
from holidays.calendars.julian import JULIAN_CALENDAR
from holidays.groups.christian import ChristianHolidays
from holidays.groups.islamic import IslamicHolidays
from holidays.groups.mongolian import MongolianCalendarHolidays
from holidays.groups.tibetan import TibetanCalendarHolidays
from holidays.holiday_base import HolidayBase

__all__ = ["RussiaRegionalHolidays", "calendar_class", "subdivision_holidays"]

URAZA_BAYRAM = "Ураза-байрам"
KURBAN_BAYRAM = "Курбан-байрам"
RADONITSA = "Радоница"
# Zul (25th day of the 10th month) counted from Lhabab Duchen (22nd day of the 9th month), the nearest feast
# the package's Tibetan calendar has: 8 days to the month's end and 25 into the next.
_LHABAB_TO_ZUL = 33


# The regions' Russian and English names (OSM, Nominatim, common usage); compared case- and accent-folded.
_NAMES: dict[str, str] = {
    "Адыгея": "AD",
    "Республика Адыгея": "AD",
    "Республика Адыгея (Адыгея)": "AD",
    "Adygea": "AD",
    "Adygeya": "AD",
    "Republic of Adygea": "AD",
    "Башкортостан": "BA",
    "Республика Башкортостан": "BA",
    "Башкирия": "BA",
    "Bashkortostan": "BA",
    "Republic of Bashkortostan": "BA",
    "Bashkiria": "BA",
    "Бурятия": "BU",
    "Республика Бурятия": "BU",
    "Buryatia": "BU",
    "Buryatiya": "BU",
    "Republic of Buryatia": "BU",
    "Чечня": "CE",
    "Чеченская Республика": "CE",
    "Chechnya": "CE",
    "Chechen Republic": "CE",
    "Чувашия": "CU",
    "Чувашская Республика": "CU",
    "Чувашская Республика — Чувашия": "CU",
    "Chuvashia": "CU",
    "Chuvashiya": "CU",
    "Chuvash Republic": "CU",
    "Дагестан": "DA",
    "Республика Дагестан": "DA",
    "Dagestan": "DA",
    "Daghestan": "DA",
    "Republic of Dagestan": "DA",
    "Ингушетия": "IN",
    "Республика Ингушетия": "IN",
    "Ingushetia": "IN",
    "Ingushetiya": "IN",
    "Republic of Ingushetia": "IN",
    "Кабардино-Балкария": "KB",
    "Кабардино-Балкарская Республика": "KB",
    "Kabardino-Balkaria": "KB",
    "Kabardino-Balkariya": "KB",
    "Kabardino-Balkar Republic": "KB",
    "Карачаево-Черкесия": "KC",
    "Карачаево-Черкесская Республика": "KC",
    "Karachay-Cherkessia": "KC",
    "Karachayevo-Cherkesiya": "KC",
    "Karachay-Cherkess Republic": "KC",
    "Калмыкия": "KL",
    "Республика Калмыкия": "KL",
    "Kalmykia": "KL",
    "Kalmykiya": "KL",
    "Republic of Kalmykia": "KL",
    "Коми": "KO",
    "Республика Коми": "KO",
    "Komi": "KO",
    "Komi Republic": "KO",
    "Republic of Komi": "KO",
    "Якутия": "SA",
    "Саха": "SA",
    "Республика Саха": "SA",
    "Республика Саха (Якутия)": "SA",
    "Yakutia": "SA",
    "Sakha": "SA",
    "Sakha Republic": "SA",
    "Republic of Sakha (Yakutia)": "SA",
    "Саратовская область": "SAR",
    "Saratov Oblast": "SAR",
    "Saratov Region": "SAR",
    "Ставропольский край": "STA",
    "Ставрополье": "STA",
    "Stavropol Krai": "STA",
    "Stavropol Territory": "STA",
    "Татарстан": "TA",
    "Республика Татарстан": "TA",
    "Tatarstan": "TA",
    "Republic of Tatarstan": "TA",
    "Тыва": "TY",
    "Тува": "TY",
    "Республика Тыва": "TY",
    "Tuva": "TY",
    "Tyva": "TY",
    "Tuva Republic": "TY",
}


class RussiaRegionalHolidays(
    HolidayBase, ChristianHolidays, IslamicHolidays, MongolianCalendarHolidays, TibetanCalendarHolidays
):
    """Regional non-working holidays of Russia by ISO 3166-2 subdivision (federal holidays not included)."""

    subdivisions = ("AD", "BA", "BU", "CE", "CU", "DA", "IN", "KB", "KC", "KL", "KO", "SA", "SAR", "STA", "TA", "TY")
    subdivisions_aliases = _NAMES
    # The decrees fix the lunar feasts' dates each year: the package's dates are estimates.
    estimated_label = "%s (ориентировочно)"
    observed_label = "%s (выходной)"
    start_year = 1990

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        ChristianHolidays.__init__(self, JULIAN_CALENDAR)
        IslamicHolidays.__init__(self)
        MongolianCalendarHolidays.__init__(self, show_estimated=True)
        TibetanCalendarHolidays.__init__(self, show_estimated=True)
        super().__init__(*args, **kwargs)

    # -- helpers ---------------------------------------------------------------------------------------

    def _fixed(self, name: str, month: int, day: int) -> date | None:
        return self._add_holiday(name, date(self._year, month, day))

    def _eid_days(self, since: int) -> None:
        if self._year >= since:
            self._add_eid_al_fitr_day(URAZA_BAYRAM)
            self._add_eid_al_adha_day(KURBAN_BAYRAM)

    def _this_year(self) -> set[date]:
        return {day for day in self if day.year == self._year}

    def _add_days_off_in_lieu(self, days: Iterable[date | None]) -> None:
        """The next working day off for each regional holiday that falls on a day off anyway.

        "Day off" is a weekend or a federal non-working day (transfers included): Bashkortostan moved 2022's
        Uraza Bayram off 2 May (a federal day) past 3 May (a transferred one) to 4 May.
        """
        if not self.observed:
            return
        federal = _federal_calendar(self._year)
        for day in sorted(d for d in days if d is not None):
            if federal.is_working_day(day):
                continue
            lieu = day + timedelta(days=1)
            # Within the year, as the package keeps each year's days (asking `self` about the next year would
            # populate it mid-way); a day off in lieu past 31 December is dropped by `_add_holiday` anyway.
            while lieu.year == self._year and (not federal.is_working_day(lieu) or lieu in self):
                lieu += timedelta(days=1)
            self._add_holiday(self.observed_label % self[day], lieu)

    # -- regions (`_populate_subdiv_<code>_public_holidays`, as the package names them) ------------------

    def _populate_subdiv_ad_public_holidays(self) -> None:
        if self._year >= 1995:
            self._fixed("День образования Республики Адыгея", OCT, 5)
        self._eid_days(since=1998)
        self._add_days_off_in_lieu(self._this_year())

    def _populate_subdiv_ba_public_holidays(self) -> None:
        if self._year >= 1992:
            self._fixed("День Республики Башкортостан", OCT, 11)
        self._eid_days(since=1992)
        self._add_days_off_in_lieu(self._this_year())

    def _populate_subdiv_bu_public_holidays(self) -> None:
        self._add_tsagaan_sar("Праздник Белого месяца «Сагаалган»")
        if self._year >= 2009:
            self._add_days_off_in_lieu(self._this_year())

    def _populate_subdiv_ce_public_holidays(self) -> None:
        self._eid_days(since=1998)

    def _populate_subdiv_cu_public_holidays(self) -> None:
        if self._year >= 2000:
            self._fixed("День Чувашской Республики", JUN, 24)

    def _populate_subdiv_da_public_holidays(self) -> None:
        if self._year >= 1995:
            self._fixed("День Конституции Республики Дагестан", JUL, 26)
        if self._year >= 2011:
            self._fixed("День единства народов Дагестана", SEP, 15)
        self._eid_days(since=1998)
        self._add_days_off_in_lieu(self._this_year())

    def _populate_subdiv_in_public_holidays(self) -> None:
        self._eid_days(since=1998)

    def _populate_subdiv_kb_public_holidays(self) -> None:
        if self._year >= 1997:
            self._fixed("День возрождения балкарского народа", MAR, 28)
            self._fixed("День памяти адыгов (черкесов) — жертв Кавказской войны", MAY, 21)
            self._fixed("День государственности Кабардино-Балкарской Республики", SEP, 1)
        self._eid_days(since=1998)

    def _populate_subdiv_kc_public_holidays(self) -> None:
        if self._year >= 1997:
            self._fixed("День возрождения карачаевского народа", MAY, 3)
        self._eid_days(since=1998)

    def _populate_subdiv_kl_public_holidays(self) -> None:
        if self._year < 2005:
            return
        self._add_losar("Цаган Сар")
        self._add_buddha_parinirvana("День рождения Будды Шакьямуни")
        self._add_tibetan_calendar_holiday(
            "Зул",
            self._tibetan_calendar.descending_day_of_lord_buddha_date(self._year),
            days_delta=_LHABAB_TO_ZUL,
        )
        if self._year <= 2020:
            self._fixed("День принятия Степного Уложения (Конституции) Республики Калмыкия", APR, 5)
        else:
            self._fixed("День Республики Калмыкия", JUL, 5)
        self._fixed("День памяти жертв депортации калмыцкого народа", DEC, 28)
        self._add_days_off_in_lieu(self._this_year())

    def _populate_subdiv_ko_public_holidays(self) -> None:
        if self._year >= 2014:
            self._fixed("День Республики Коми", AUG, 22)

    def _populate_subdiv_sa_public_holidays(self) -> None:
        if self._year < 2018:
            return
        self._fixed("День Республики Саха (Якутия)", APR, 27)
        self._fixed("Национальный праздник Ысыах", JUN, 21)
        self._add_days_off_in_lieu(self._this_year())

    def _populate_subdiv_sar_public_holidays(self) -> None:
        if self._year >= 2012:
            self._add_rejoicing_day(RADONITSA)

    def _populate_subdiv_sta_public_holidays(self) -> None:
        if self._year >= 2017:
            self._add_rejoicing_day(RADONITSA)

    def _populate_subdiv_ta_public_holidays(self) -> None:
        state_days: set[date | None] = set()
        if self._year >= 1992:
            state_days.add(self._fixed("День Республики Татарстан", AUG, 30))
        if self._year >= 1993:
            state_days.add(self._fixed("День Конституции Республики Татарстан", NOV, 6))
        self._eid_days(since=1992)
        # The in lieu rule covered the state days, not the religious ones, until at least 2014; no longer (2022).
        if self._year <= 2014:
            self._add_days_off_in_lieu(state_days)

    def _populate_subdiv_ty_public_holidays(self) -> None:
        if self._year < 1999:
            return
        self._add_tsagaan_sar("Шагаа")
        self._fixed("День Республики Тыва", AUG, 15)
        self._add_days_off_in_lieu(self._this_year())


@lru_cache(maxsize=64)
def _federal_calendar(year: int) -> HolidayBase:
    # The next year too: a day off in lieu of a late-December holiday may only be found there.
    return holidays.country_holidays("RU", years=(year, year + 1))


_SUPPLEMENTS: dict[str, type[HolidayBase]] = {"RU": RussiaRegionalHolidays}


def calendar_class(country: str) -> type[HolidayBase] | None:
    """The supplement entity for a country (its subdivisions and their aliases), or None."""
    return _SUPPLEMENTS.get(country.upper())


def subdivision_holidays(country: str, subdiv: str, years: Iterable[int]) -> dict[date, str]:
    """{date: name} of the regional holidays of `subdiv` (a code of `calendar_class(country)`) in `years`."""
    cls = calendar_class(country)
    if cls is None or subdiv not in cls.subdivisions:
        return {}
    return dict(cls(subdiv=subdiv, years=set(years)))
