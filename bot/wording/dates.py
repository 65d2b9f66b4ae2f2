"""French date and time fragments ("jeudi 3 décembre", "de 14h à 17h") for the wording catalogue."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from babel.dates import format_date
from babel.dates import format_time as babel_format_time

from bot.clock import PARIS
from bot.wording import say

LOCALE = "fr_FR"

TimeLike = time | datetime


def _paris_time(value: TimeLike) -> time:
    """Wall-clock time in Paris; aware datetimes are converted, naive ones taken as they are."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(PARIS)
        return value.time()
    return value


def _paris_date(value: date) -> date:
    if isinstance(value, datetime):
        return value.astimezone(PARIS).date() if value.tzinfo is not None else value.date()
    return value


def format_day(day: date, *, with_year: bool = False) -> str:
    """A day as "jeudi 3 décembre" ("mardi 1er décembre" on the first; the year on request)."""
    day = _paris_date(day)
    # French writes the first of the month as an ordinal ("1er"), which CLDR does not.
    number = say("dates.first_of_month") if day.day == 1 else str(day.day)
    weekday = format_date(day, "EEEE", locale=LOCALE)
    month = format_date(day, "MMMM", locale=LOCALE)
    text = f"{weekday} {number} {month}"
    return f"{text} {day.year}" if with_year else text


def weekday_name(weekday: int) -> str:
    """The French name of a weekday, Monday being 0 ("lundi")."""
    return format_date(date(2024, 1, 1) + timedelta(days=weekday), "EEEE", locale=LOCALE)


def format_time(value: TimeLike) -> str:
    """A time as "14h30", or "9h" on the hour."""
    moment = _paris_time(value)
    pattern = "H'h'" if moment.minute == 0 else "H'h'mm"
    return babel_format_time(moment, pattern, locale=LOCALE)


def spoken_time(value: TimeLike) -> str:
    """A time for the voice ("9 heures", "14 heures 30", "midi"): no "h" abbreviation to read."""
    moment = _paris_time(value)
    if moment.hour == 12 and moment.minute == 0:
        return say("dates.noon")
    hours = say("dates.spoken_hours", hours=moment.hour)
    return f"{hours} {moment.minute}" if moment.minute else hours


def format_when(moment: datetime, voice: bool = False) -> str:
    """A day and time, "jeudi 3 décembre à 14h30" ("à 14 heures 30" to be spoken)."""
    at = spoken_time(moment) if voice else format_time(moment)
    return say("hours.at", day=format_day(moment), time=at)


def format_interval(start: TimeLike, end: TimeLike) -> str:
    """An interval as "de 14h à 17h"."""
    return say("dates.interval", start=format_time(start), end=format_time(end))


def join_with_and(parts: Sequence[str]) -> str:
    """French list: "a", "a et b", "a, b et c"."""
    if len(parts) <= 1:
        return "".join(parts)
    return say("dates.list_separator").join(parts[:-1]) + say("dates.and") + parts[-1]


def format_day_openings(day: date, intervals: Sequence[tuple[TimeLike, TimeLike]]) -> str:
    """A day and its hours: "jeudi 3 décembre de 9h à 12h et de 14h à 17h" (or just the day)."""
    hours = join_with_and([format_interval(start, end) for start, end in intervals])
    return f"{format_day(day)} {hours}" if hours else format_day(day)
