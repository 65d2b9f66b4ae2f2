"""French dates and times, resolved against a frozen today in Europe/Paris."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nlu import EmbeddedEngine
from nlu.dates import WEEKDAYS, find_dates, find_times, format_day_month
from nlu.normalise import fold

TODAY = date(2026, 11, 25)  # a Wednesday, the day the `engine` fixture is frozen on
DAYS = st.dates(date(2000, 1, 1), date(2099, 12, 31))


def dates_in(text: str, today: date = TODAY) -> list[str]:
    return [e.value for e in find_dates(text, fold(text), today)]


def times_in(text: str) -> list[str]:
    return [e.value for e in find_times(text, fold(text))]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("aujourd'hui", "2026-11-25"),
        ("ajd", "2026-11-25"),
        ("demain", "2026-11-26"),
        ("après-demain", "2026-11-27"),
        ("apres demain", "2026-11-27"),
        ("samedi", "2026-11-28"),
        ("mercredi", "2026-11-25"),  # said on a Wednesday: today
        ("mercredi prochain", "2026-12-02"),
        ("jeudi prochain", "2026-11-26"),
        ("samedi en huit", "2026-12-05"),
        ("le 3 déc", "2026-12-03"),
        ("3 décembre", "2026-12-03"),
        ("jeudi 3 décembre", "2026-12-03"),
        ("1er janvier", "2027-01-01"),
        ("03/12", "2026-12-03"),
        ("3/12/2027", "2027-12-03"),
        ("03.12.26", "2026-12-03"),
        ("le 2 novembre", "2027-11-02"),  # past this year: next year
        ("dans 15 jours", "2026-12-10"),
        ("dans une semaine", "2026-12-02"),
        ("dans 2 mois", "2027-01-25"),
        ("la semaine prochaine", "2026-11-30"),
        ("ce week-end", "2026-11-28"),
    ],
)
def test_french_date_is_resolved_from_today(text: str, expected: str) -> None:
    assert dates_in(text) == [expected]


@pytest.mark.parametrize("text", ["31/02", "le 15", "2 rendez-vous", "à 9.30", "14h30", "le 2"])
def test_text_that_is_no_date_gives_none(text: str) -> None:
    assert dates_in(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("14h30", "14:30"),
        ("14h", "14:00"),
        ("à 9h", "09:00"),
        ("9 h 15", "09:15"),
        ("16 heures 30", "16:30"),
        ("14:30", "14:30"),
        ("midi", "12:00"),
        ("midi et demi", "12:30"),
        ("10h et quart", "10:15"),
        ("11h moins le quart", "10:45"),
        ("à 3h", "15:00"),  # no appointment at 3 a.m.
        ("6h du matin", "06:00"),
        ("2h de l'après-midi", "14:00"),
    ],
)
def test_french_time_is_read_as_hours_and_minutes(text: str, expected: str) -> None:
    assert times_in(text) == [expected]


@pytest.mark.parametrize("text", ["dans 2h", "bonne soirée", "bon après-midi", "ça dure 2 heures"])
def test_durations_and_greetings_are_not_times(text: str) -> None:
    assert times_in(text) == []


def test_weekday_and_hour_give_a_date_and_a_time(engine: EmbeddedEngine) -> None:
    understood = engine.parse("rdv jeudi 14h ?")
    assert [(e.entity, e.value) for e in understood.entities] == [
        ("date", "2026-11-26"),
        ("time", "14:00"),
    ]


def test_demain_matin_gives_a_date_and_a_morning_range(engine: EmbeddedEngine) -> None:
    understood = engine.parse("je peux venir demain matin ?")
    date_entity, time_entity = understood.first("date"), understood.first("time")
    assert date_entity is not None and date_entity.value == "2026-11-26"
    assert time_entity is not None and time_entity.value == "08:00"
    assert time_entity.extra == {
        "period": "matin",
        "from": "08:00",
        "to": "12:00",
        "datetime": "2026-11-26T08:00:00+01:00",
    }


def test_clock_in_another_zone_is_read_in_paris_time() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from nlu import load_engine

    # 23:30 in New York on Tuesday is already Wednesday in Paris.
    late = datetime(2026, 11, 24, 23, 30, tzinfo=ZoneInfo("America/New_York"))
    engine = load_engine(clock=lambda: late)
    date_entity = engine.parse("demain").first("date")
    assert date_entity is not None and date_entity.value == "2026-11-26"


@given(DAYS, st.sampled_from(WEEKDAYS))
def test_any_weekday_is_that_day_within_the_coming_week(today: date, name: str) -> None:
    [value] = dates_in(f"je viens {name}", today)
    day = date.fromisoformat(value)
    assert day.weekday() == WEEKDAYS.index(name)
    assert today <= day < today + timedelta(days=7)


@given(DAYS, st.sampled_from(WEEKDAYS))
def test_any_next_weekday_is_that_day_after_today(today: date, name: str) -> None:
    [value] = dates_in(f"{name} prochain", today)
    day = date.fromisoformat(value)
    assert day.weekday() == WEEKDAYS.index(name)
    assert today < day <= today + timedelta(days=7)


@given(DAYS, st.integers(0, 364))
def test_any_day_and_month_parses_back_to_that_date(today: date, ahead: int) -> None:
    day = today + timedelta(days=ahead)
    assert dates_in(f"le {format_day_month(day)}", today) == [day.isoformat()]
    assert dates_in(f"{day.day:02d}/{day.month:02d}", today) == [day.isoformat()]


@given(DAYS, st.integers(0, 400))
def test_any_number_of_days_ahead_is_counted_from_today(today: date, n: int) -> None:
    assert dates_in(f"dans {n} jours", today) == [(today + timedelta(days=n)).isoformat()]


@given(st.integers(0, 23), st.integers(0, 59), st.sampled_from(["{h}h{m:02d}", "{h}:{m:02d}"]))
def test_any_clock_time_is_read_back(hour: int, minute: int, template: str) -> None:
    expected = hour + 12 if 1 <= hour <= 7 else hour
    assert times_in(f"rdv à {template.format(h=hour, m=minute)}") == [
        f"{expected:02d}:{minute:02d}"
    ]


def test_a_time_resolves_to_a_concrete_paris_datetime_on_the_day_mentioned() -> None:
    from datetime import date

    from nlu.entities import EntityExtractor

    found = EntityExtractor().extract("le 3 déc à 14h30", date(2026, 11, 23))
    time_entity = next(e for e in found if e.entity == "time")
    assert time_entity.extra["datetime"] == "2026-12-03T14:30:00+01:00"


def test_a_time_without_a_day_is_today_and_follows_summer_time() -> None:
    from datetime import date

    from nlu.entities import EntityExtractor

    found = EntityExtractor().extract("à 9h", date(2027, 6, 1))
    assert found[0].extra["datetime"] == "2027-06-01T09:00:00+02:00"
