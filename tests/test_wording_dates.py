"""French date and time fragments: "jeudi 3 décembre", "14h30", "de 9h à 12h et de 14h à 17h"."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.clock import PARIS
from bot.wording.dates import (
    format_day,
    format_day_openings,
    format_interval,
    format_time,
    join_with_and,
    spoken_time,
)


@pytest.mark.parametrize(
    ("day", "text"),
    [
        (date(2026, 12, 3), "jeudi 3 décembre"),
        (date(2026, 12, 1), "mardi 1er décembre"),
        (date(2026, 8, 15), "samedi 15 août"),
        (datetime(2026, 12, 31, 23, 30, tzinfo=UTC), "vendredi 1er janvier"),  # Paris is ahead
    ],
)
def test_days_read_as_in_french(day: date, text: str) -> None:
    assert format_day(day) == text


def test_a_day_can_carry_its_year() -> None:
    assert format_day(date(2027, 1, 4), with_year=True) == "lundi 4 janvier 2027"


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (time(14, 30), "14h30"),
        (time(9, 0), "9h"),
        (time(9, 5), "9h05"),
        (time(0, 0), "0h"),
        (datetime(2026, 7, 1, 12, 0, tzinfo=UTC), "14h"),
        (datetime(2026, 1, 5, 8, 15, tzinfo=PARIS), "8h15"),
    ],
)
def test_times_drop_zero_minutes(moment: time | datetime, text: str) -> None:
    assert format_time(moment) == text


def test_an_interval_reads_de_to_a() -> None:
    assert format_interval(time(14), time(17)) == "de 14h à 17h"


def test_a_day_with_two_openings_joins_them_with_et() -> None:
    text = format_day_openings(date(2026, 12, 3), [(time(9), time(12)), (time(14), time(17))])

    assert text == "jeudi 3 décembre de 9h à 12h et de 14h à 17h"


def test_a_day_with_three_openings_uses_commas_then_et() -> None:
    day = date(2026, 12, 3)
    start = datetime(2026, 12, 3, 9, tzinfo=PARIS)
    intervals = [
        (start, start.replace(hour=10)),
        (start.replace(hour=11), start.replace(hour=12, minute=30)),
        (start.replace(hour=14), start.replace(hour=17)),
    ]

    assert format_day_openings(day, intervals) == (
        "jeudi 3 décembre de 9h à 10h, de 11h à 12h30 et de 14h à 17h"
    )


def test_a_day_without_openings_is_just_the_day() -> None:
    assert format_day_openings(date(2026, 12, 3), []) == "jeudi 3 décembre"


def test_lists_join_with_et() -> None:
    assert [join_with_and(parts) for parts in ([], ["a"], ["a", "b"], ["a", "b", "c"])] == [
        "",
        "a",
        "a et b",
        "a, b et c",
    ]


@given(st.times())
def test_any_time_reads_as_hours_then_optional_minutes(moment: time) -> None:
    assert re.fullmatch(r"([0-9]|1[0-9]|2[0-3])h([0-5][0-9])?", format_time(moment))


@pytest.mark.parametrize(
    ("moment", "spoken"),
    [
        (time(9), "9 heures"),
        (time(9, 45), "9 heures 45"),
        (time(12), "midi"),
        (time(14, 5), "14 heures 5"),
        (datetime(2026, 11, 26, 13, 30, tzinfo=UTC), "14 heures 30"),  # Paris wall clock
    ],
)
def test_times_are_spoken_without_abbreviation(moment: time | datetime, spoken: str) -> None:
    assert spoken_time(moment) == spoken
