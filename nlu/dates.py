"""French dates and times in residents' words, resolved against today in Europe/Paris.

Decisions (documented here because residents and flows both depend on them):
- a bare weekday ("samedi", "ce samedi") is the next such day, today included: "samedi" sent on
  a Saturday means today. "samedi prochain" is the next one strictly after today (said on a
  Wednesday it is the coming Saturday, as most people mean it); "samedi en huit" is a week later
  than "samedi";
- a day and month without a year ("3 décembre", "03/12") is the next such date, today included;
- "dans N jours" is literally N days ahead (so "dans 15 jours" is 15 days, not the idiomatic 14);
- an hour from 1 to 7 with no "du matin" is read as afternoon ("à 3h" is 15:00): nobody books a
  digital-inclusion appointment at 3 a.m.;
- periods ("matin", "après-midi", "soir") give their start as value and the range in `extra`;
- a day without a month ("le 15") is not a date: "le 2" is far more often a menu answer.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta
from typing import TypeVar

from nlu.types import Entity

WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = (
    "janvier",
    "fevrier",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "aout",
    "septembre",
    "octobre",
    "novembre",
    "decembre",
)
_MONTH_ALIASES = {
    **{name: number for number, name in enumerate(MONTHS, start=1)},
    "janv": 1,
    "jan": 1,
    "fevr": 2,
    "fev": 2,
    "avr": 4,
    "juil": 7,
    "sept": 9,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
NUMBER_WORDS = {
    "zero": 0,
    "un": 1,
    "une": 1,
    "deux": 2,
    "trois": 3,
    "quatre": 4,
    "cinq": 5,
    "six": 6,
    "sept": 7,
    "huit": 8,
    "neuf": 9,
    "dix": 10,
    "onze": 11,
    "douze": 12,
    "quinze": 15,
    "vingt": 20,
    "trente": 30,
}
PERIODS = {
    "matin": ("08:00", "12:00"),
    "apres-midi": ("12:00", "18:00"),
    "soir": ("18:00", "22:00"),
}

_WD = "|".join(WEEKDAYS)
_MONTH = "|".join(sorted(_MONTH_ALIASES, key=len, reverse=True))
_NUMBER = r"\d{1,3}|" + "|".join(NUMBER_WORDS)
_SEP = r"[\s'’-]*"

_TEXT_DATE = re.compile(
    rf"\b(?:(?:{_WD})\s+)?(?:le\s+)?(?P<day>1er|premier|[0-3]?\d)\s*(?P<month>{_MONTH})\b\.?"
    r"(?:\s+(?P<year>20\d\d)\b)?"
)
_NUMERIC_DATE = re.compile(
    r"(?<![\d/.])(?P<day>[0-3]?\d)(?:/(?P<month>[01]?\d)(?:/(?P<year>\d{4}|\d{2}))?"
    r"|(?P<sep>[.-])(?P<month2>[01]?\d)(?P=sep)(?P<year2>\d{4}|\d{2}))(?![\d/])"
)
_RELATIVE_DAY = re.compile(
    rf"\b(?P<word>apres{_SEP}demain|avant{_SEP}hier|aujourd{_SEP}hui|auj|ajd|demain|dem1|2main"
    rf"|hier|ce\s+soir|ce\s+matin|cet{_SEP}apres{_SEP}midi|cette{_SEP}apres{_SEP}midi)\b"
)
_WEEKDAY = re.compile(
    rf"\b(?:ce\s+)?(?P<wd>{_WD})(?P<mod>\s+prochain|\s+qui\s+vient|\s+en\s+huit)?\b"
)
_IN_N = re.compile(rf"\bdans\s+(?P<n>{_NUMBER})\s+(?P<unit>jours?|semaines?|mois)\b")
_WEEK = re.compile(
    rf"\b(?P<week>la\s+semaine\s+prochaine)\b|\b(?:ce|le){_SEP}(?P<weekend>week{_SEP}end|weekend)\b"
)

_CLOCK_TIME = re.compile(
    r"(?<![\d/:.,])(?P<h>[01]?\d|2[0-3])\s*(?:h(?![a-z])|heures?\b|:(?=\d\d))(?:\s*(?P<m>[0-5]\d))?"
    r"(?:\s*min(?:utes?)?\b)?"
    r"(?P<frac>\s+et\s+demie?\b|\s+et\s+quart\b|\s+moins\s+(?:le\s+)?quart\b)?"
    rf"(?P<qual>\s+du\s+matin\b|\s+de\s+l{_SEP}apres{_SEP}midi\b|\s+de\s+l{_SEP}aprem\b"
    r"|\s+du\s+soir\b)?"
)
_NOON = re.compile(
    r"(?<!apres-)(?<!apres )(?<!apres)\b(?P<word>midi|minuit)"
    r"(?P<frac>\s+et\s+demie?\b|\s+et\s+quart\b)?\b"
)
_PERIOD = re.compile(rf"\b(?P<p>matin(?:ee)?|apres{_SEP}midi|aprem|soir(?:ee)?)\b")
_V = TypeVar("_V")
_Span = tuple[int, int, _V, dict[str, str]]

_DURATION_BEFORE = re.compile(r"\b(?:dans|pendant|depuis|durant|il y a|en|dure|durer|duree de)\s+$")
_GREETING_BEFORE = re.compile(r"\b(?:bonne|bon|belle)\s+$")


def find_dates(text: str, folded: str, today: date) -> list[Entity]:
    """Date entities (ISO value) in a message; `folded` is `fold(text)`."""
    found: list[_Span[date]] = []
    for match in _TEXT_DATE.finditer(folded):
        day = 1 if match["day"] in {"1er", "premier"} else int(match["day"])
        month = _MONTH_ALIASES[match["month"]]
        year = int(match["year"]) if match["year"] else None
        _add(found, match, _calendar_date(today, day, month, year))
    for match in _NUMERIC_DATE.finditer(folded):
        month_text = match["month"] or match["month2"]
        year_text = match["year"] or match["year2"]
        year = None if year_text is None else int(year_text) + (2000 if len(year_text) == 2 else 0)
        _add(found, match, _calendar_date(today, int(match["day"]), int(month_text), year))
    for match in _RELATIVE_DAY.finditer(folded):
        _add(found, match, today + timedelta(days=_relative_offset(match["word"])))
    for match in _WEEKDAY.finditer(folded):
        _add(found, match, _weekday_date(today, WEEKDAYS.index(match["wd"]), match["mod"]))
    for match in _IN_N.finditer(folded):
        _add(found, match, _in_n(today, _number(match["n"]), match["unit"]))
    for match in _WEEK.finditer(folded):
        if match["week"]:
            monday = today + timedelta(days=7 - today.weekday())
            _add(found, match, monday, {"granularity": "week"})
        else:
            _add(found, match, _weekday_date(today, 5, None), {"granularity": "weekend"})
    return [
        Entity("date", value.isoformat(), text[start:end], start, end, extra=extra)
        for start, end, value, extra in _without_overlaps(found)
    ]


def find_times(text: str, folded: str) -> list[Entity]:
    """Time entities ("HH:MM") in a message; periods carry their range in `extra`."""
    found: list[_Span[str]] = []
    for match in _CLOCK_TIME.finditer(folded):
        if _DURATION_BEFORE.search(folded, 0, match.start()):
            continue
        hour, minute = _clock(int(match["h"]), int(match["m"] or 0), match["frac"], match["qual"])
        found.append((match.start(), _end(match), f"{hour:02d}:{minute:02d}", {}))
    for match in _NOON.finditer(folded):
        hour = 12 if match["word"] == "midi" else 0
        _, minute = _clock(hour, 0, match["frac"], None)
        found.append((match.start(), _end(match), f"{hour:02d}:{minute:02d}", {}))
    for match in _PERIOD.finditer(folded):
        if _GREETING_BEFORE.search(folded, 0, match.start()):
            continue
        period = _period_name(match["p"])
        start, end = PERIODS[period]
        extra = {"period": period, "from": start, "to": end}
        found.append((match.start(), _end(match), start, extra))
    return [
        Entity("time", value, text[start:end], start, end, extra=extra)
        for start, end, value, extra in _without_overlaps(found)
    ]


def format_day_month(day: date) -> str:
    """ "3 décembre" without accents, as a resident would type it (used by tests and augment)."""
    return f"{day.day} {MONTHS[day.month - 1]}"


def _add(
    found: list[_Span[date]],
    match: re.Match[str],
    value: date | None,
    extra: dict[str, str] | None = None,
) -> None:
    if value is not None:
        found.append((match.start(), _end(match), value, extra or {}))


def _end(match: re.Match[str]) -> int:
    # Patterns may swallow trailing spaces or a dot; the entity ends on the last letter or digit.
    return match.start() + len(match.group(0).rstrip(" ."))


def _without_overlaps(found: list[_Span[_V]]) -> list[_Span[_V]]:
    # Longest span first among overlapping candidates: "jeudi 3 décembre" beats "jeudi".
    kept: list[_Span[_V]] = []
    for item in sorted(found, key=lambda f: (f[0] - f[1], f[0])):
        if all(item[1] <= k[0] or item[0] >= k[1] for k in kept):
            kept.append(item)
    return sorted(kept, key=lambda f: f[0])


def _calendar_date(today: date, day: int, month: int, year: int | None) -> date | None:
    if not 1 <= month <= 12:
        return None
    for candidate_year in (year,) if year else (today.year, today.year + 1):
        if day < 1 or day > calendar.monthrange(candidate_year, month)[1]:
            continue
        candidate = date(candidate_year, month, day)
        if year or candidate >= today:
            return candidate
    return None


def _relative_offset(word: str) -> int:
    if word.startswith("apres"):
        return 2
    if word.startswith("avant"):
        return -2
    if word == "hier":
        return -1
    return 1 if word in {"demain", "dem1", "2main"} else 0


def _weekday_date(today: date, weekday: int, modifier: str | None) -> date:
    ahead = (weekday - today.weekday()) % 7
    words = (modifier or "").split()
    if words and words[0] == "en":  # "samedi en huit"
        ahead += 7
    elif words and ahead == 0:  # "samedi prochain" / "qui vient", said on a Saturday
        ahead = 7
    return today + timedelta(days=ahead)


def _number(word: str) -> int:
    return int(word) if word.isdigit() else NUMBER_WORDS[word]


def _in_n(today: date, n: int, unit: str) -> date | None:
    if unit.startswith("jour"):
        return today + timedelta(days=n)
    if unit.startswith("semaine"):
        return today + timedelta(weeks=n)
    months = today.month - 1 + n
    year, month = today.year + months // 12, months % 12 + 1
    if year > 9999:
        return None
    return date(year, month, min(today.day, calendar.monthrange(year, month)[1]))


def _clock(hour: int, minute: int, frac: str | None, qual: str | None) -> tuple[int, int]:
    fraction = " ".join((frac or "").split())
    if fraction.startswith("et demi"):
        minute = 30
    elif fraction == "et quart":
        minute = 15
    elif fraction.startswith("moins"):
        hour, minute = (hour - 1) % 24, 45
    qualifier = " ".join((qual or "").split())
    afternoon = "matin" not in qualifier and hour < 12 if qualifier else 1 <= hour <= 7
    if afternoon:
        hour += 12
    return hour, minute


def _period_name(word: str) -> str:
    if word.startswith("matin"):
        return "matin"
    if word.startswith("soir"):
        return "soir"
    return "apres-midi"
