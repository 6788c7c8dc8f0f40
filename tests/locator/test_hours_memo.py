"""state/closes_at/next_open answer from Schedule.day()'s memo first (the API's hot path); they must agree with
what the intervals say over a long walk, DST days and spells past midnight included."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta

import pytest

from locator.hours import Schedule, open_spells

EXPRESSIONS = [
    "Mo-Fr 09:00-18:00; Sa 10:00-13:00",
    "24/7",
    "Mo-Su 22:00-02:00",
    "Mo-Fr 08:00-12:00,13:00-24:00; Sa 00:00-24:00",
    "Mo-Sa 10:00-20:00; PH off",
    "Fr 18:00-06:00",
    'Mo-Fr 10:00-19:00 "call first"; Sa 00:00-24:00 open "weekend desk"; Su 00:00-03:00',
    "Tu-Su 01:00-04:00",
    "2026 Dec 20-2027 Jan 05 off; Mo-Fr 09:00-17:00",
    "Mo-Su 12:00-24:00; Mo-Su 00:00-02:00",
    'Mo-Fr 09:00-18:00 || "by appointment"',
]
ZONES = [("Europe/Paris", "FR"), ("America/New_York", "US"), ("Europe/Moscow", "RU")]
WALK = timedelta(days=14)


def instants(rng: random.Random, n: int) -> list[datetime]:
    out = [datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(0, 366 * 24 * 60)) for _ in range(n)]
    # Both DST changes in Europe and the US, around the changing hour.
    for day in (datetime(2026, 3, 8, tzinfo=UTC), datetime(2026, 3, 29, tzinfo=UTC), datetime(2026, 10, 25, tzinfo=UTC),
                datetime(2026, 11, 1, tzinfo=UTC)):  # fmt: skip
        out += [day + timedelta(minutes=30 * k) for k in range(0, 16)]
    return out


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_memoised_answers_agree_with_a_walk_over_the_intervals(expression: str) -> None:
    rng = random.Random(expression)
    for zone, country in ZONES:
        schedule = Schedule(expression, zone, country, None)
        for at in instants(rng, 60):
            spans = schedule.intervals(at - timedelta(days=1), at + WALK)
            local = schedule.local(at)
            current = next((s for s in spans if s.start <= local < s.end), None)
            state, comment = schedule.state(at)
            assert state == (current.state if current else "closed"), (expression, zone, at)
            if current is not None:
                assert comment == current.comment, (expression, zone, at)
            closes = schedule.closes_at(at)
            if state != "open":
                assert closes is None
            elif current is not None:
                # Adjacent open spans that differ only in their comment are one spell.
                end = next(b for a, b in open_spells(spans) if a <= local < b)
                if end < schedule.local(at + WALK):
                    assert closes == end, (expression, zone, at)
            opens = schedule.next_open(at)
            if state == "open":
                assert opens is None
            else:
                # From a closed state an unknown spell from a time the hours name opens too (an open end,
                # "10:00-19:00 'call first'"); not one from midnight, nor one continuing an unknown spell.
                unknown_ends = {s.end for s in spans if s.state == "unknown"}
                first = next((s.start for s in spans if s.start >= local and (
                    s.state == "open" or (state == "closed" and s.start.time() != time(0)
                                          and s.start not in unknown_ends))), None)  # fmt: skip
                if first is not None:
                    assert opens == first, (expression, zone, at)
