"""When a place is open: OSM `opening_hours` rules evaluated in Paris time with French holidays.

opening-hours-py knows the national French public holidays (`PH`) when given `country="FR"`, but
not the extra days of Alsace-Moselle (Good Friday, 26 December, départements 57, 67 and 68) nor
those of the overseas départements; those come from the `holidays` library and close the place
whenever its rules close on public holidays.
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache

import holidays
from opening_hours import OpeningHours, State

from bot.clock import PARIS

logger = logging.getLogger(__name__)

Interval = tuple[datetime, datetime]

# Départements with public holidays beyond the national list, as `holidays.France` subdivisions.
# https://www.service-public.fr/particuliers/vosdroits/F2405 (jours fériés, Alsace-Moselle, DOM)
_HOLIDAY_SUBDIVISIONS = {
    "57": "57",
    "67": "6AE",
    "68": "6AE",
    "971": "971",
    "972": "972",
    "973": "973",
    "974": "974",
    "976": "976",
}

# A rule that closes on public holidays, e.g. "PH off", "Su,PH closed".
_PH_CLOSED = re.compile(r"(?:^|;)[^;]*\bPH\b[^;]*\b(?:off|closed)\b", re.IGNORECASE)
_MENTIONS_PH = re.compile(r"\bPH\b")

# Searching further than this for an opening means the place never opens.
_HORIZON = timedelta(days=400)


class ClosedReason(StrEnum):
    """Why a place with known hours does not open on a given day."""

    PUBLIC_HOLIDAY = "public holiday"
    NOT_AN_OPENING_DAY = "not an opening day"


def department_from_codes(code_insee: str | None, code_postal: str | None) -> str | None:
    """Département code ("57", "2A", "974") from an INSEE commune code, else a postal code."""
    insee = (code_insee or "").strip().upper()
    if re.fullmatch(r"(?:\d{2}|2[AB])\d{3}", insee, re.ASCII):
        return insee[:3] if insee.startswith("97") else insee[:2]
    postal = (code_postal or "").strip()
    if not re.fullmatch(r"\d{5}", postal, re.ASCII):
        return None
    if postal.startswith("97"):
        return postal[:3]
    if postal.startswith("20"):
        # Corsica: 200xx-201xx are Corse-du-Sud, 202xx-206xx Haute-Corse.
        return "2A" if postal < "20200" else "2B"
    return postal[:2]


@lru_cache(maxsize=256)
def regional_holidays(department: str | None, year: int) -> frozenset[date]:
    """Public holidays of a département that are not national French holidays."""
    subdivision = _HOLIDAY_SUBDIVISIONS.get(department or "")
    if subdivision is None:
        return frozenset()
    local = holidays.country_holidays("FR", subdiv=subdivision, years=year)
    national = holidays.country_holidays("FR", years=year)
    return frozenset(day for day in local if day not in national)


@lru_cache(maxsize=64)
def _national_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("FR", years=year))


def is_public_holiday(day: date, department: str | None) -> bool:
    """True if `day` is a public holiday in France or in that département."""
    return day in _national_holidays(day.year) or day in regional_holidays(department, day.year)


def _as_paris(at: datetime) -> datetime:
    """Aware Paris time; a naive value is read as Paris wall time rather than rejected."""
    return at.replace(tzinfo=PARIS) if at.tzinfo is None else at.astimezone(PARIS)


def _day_bounds(day: date) -> Interval:
    start = datetime.combine(day, time(0), tzinfo=PARIS)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=PARIS)


def _parse(expression: str, *, country: str | None) -> OpeningHours | None:
    try:
        return OpeningHours(expression, timezone=PARIS, country=country, auto_country=False)
    except Exception:  # ParserError and friends: callers get "unknown hours", never an error.
        logger.debug("unreadable opening hours %r", expression)
        return None


def _open_intervals(rules: OpeningHours, start: datetime, end: datetime) -> list[Interval]:
    """Open intervals between start and end, merging neighbours that differ only by comment."""
    merged: list[Interval] = []
    for begin, finish, state, _comment in rules.intervals(start, end):
        if state != State.OPEN:
            continue
        begin, finish = _as_paris(begin), _as_paris(finish)
        if merged and merged[-1][1] == begin:
            merged[-1] = (merged[-1][0], finish)
        else:
            merged.append((begin, finish))
    return merged


class PlaceSchedule:
    """Opening hours of one place; unknown or unreadable hours answer None or empty lists."""

    def __init__(
        self,
        horaires: str | None,
        department: str | None = None,
        *,
        closed_on_public_holidays: bool = True,
    ) -> None:
        """Parse `horaires`; with no PH rule at all, public holidays count as closed."""
        expression = (horaires or "").strip()
        if (
            expression
            and closed_on_public_holidays
            and not _MENTIONS_PH.search(expression)
            and "||" not in expression
        ):
            # Mediation places are public services that close on public holidays (demo README);
            # an export that forgot "PH off" should not send a resident to a closed door.
            expression = f"{expression}; PH off"
        self.horaires = expression
        self.department = department
        self._rules = _parse(expression, country="FR") if expression else None
        # The same rules with no holiday calendar: what the place would do on an ordinary day.
        self._rules_without_holidays = (
            _parse(expression, country=None) if self._rules is not None else None
        )
        self._closes_on_holidays = bool(_PH_CLOSED.search(expression))

    @property
    def known(self) -> bool:
        """True when the hours could be read."""
        return self._rules is not None

    def _closed_for_regional_holiday(self, day: date) -> bool:
        return self._closes_on_holidays and day in regional_holidays(self.department, day.year)

    def is_open(self, at: datetime) -> bool | None:
        """Open at that instant; None when the hours are unknown or say "unknown"."""
        if self._rules is None:
            return None
        at = _as_paris(at)
        if self._closed_for_regional_holiday(at.date()):
            return False
        state = self._rules.state(at)[0]
        if state == State.UNKNOWN:
            return None
        return state == State.OPEN

    def openings_on(self, day: date) -> list[Interval]:
        """Open intervals on that day (Paris time), clipped to the day."""
        if self._rules is None or self._closed_for_regional_holiday(day):
            return []
        start, end = _day_bounds(day)
        return [
            (max(begin, start), min(finish, end))
            for begin, finish in _open_intervals(self._rules, start, end)
        ]

    def next_openings(self, after: datetime, limit: int = 3) -> list[Interval]:
        """The next `limit` open intervals ending after `after`, including one under way."""
        if self._rules is None or limit <= 0:
            return []
        after = _as_paris(after)
        # Start at midnight so that an interval under way keeps its real start.
        start = _day_bounds(after.date())[0]
        found: list[Interval] = []
        for begin, finish in _open_intervals(self._rules, start, after + _HORIZON):
            if finish <= after or self._closed_for_regional_holiday(begin.date()):
                continue
            found.append((begin, finish))
            if len(found) == limit:
                break
        return found

    def closed_reason(self, day: date) -> ClosedReason | None:
        """Why the place is closed all that day; None if it opens or its hours are unknown."""
        if self._rules is None or self._rules_without_holidays is None or self.openings_on(day):
            return None
        start, end = _day_bounds(day)
        opens_normally = bool(_open_intervals(self._rules_without_holidays, start, end))
        if opens_normally and is_public_holiday(day, self.department):
            return ClosedReason.PUBLIC_HOLIDAY
        return ClosedReason.NOT_AN_OPENING_DAY


def is_valid_horaires(horaires: str) -> bool:
    """True if the text is a readable OSM opening_hours expression."""
    return bool(horaires.strip()) and _parse(horaires.strip(), country="FR") is not None
