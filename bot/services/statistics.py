"""Statistics for the inbox: requests, bookings, no-shows and escalations, over ISO weeks.

Anonymous by construction: only counts and durations leave this module, never a number or a
text. Rows are counted in SQL (GROUP BY over a CASE that puts each row in its week, the week
bounds being Paris midnights, so DST changes fall where they should); only the times to first
answer of escalations, a small table, are read one by one to take a median.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from statistics import median
from typing import Any

from sqlalchemy import ColumnElement, and_, case, false, func, or_, select, true
from sqlalchemy.orm import Session

from bot.clock import PARIS
from bot.models import HELD, Appointment, CallbackTicket, Place, ProcessedMessage, WaitingOffer

UNPLACED = "sans-lieu"  # the place filter value for requests and escalations with no place
INTENT_LABELS = {
    "greet": "Salutation",
    "opening_hours": "Horaires",
    "find_place": "Trouver un lieu",
    "what_to_bring": "Quoi apporter",
    "book_appointment": "Prendre rendez-vous",
    "cancel_appointment": "Annuler un rendez-vous",
    "reschedule_appointment": "Déplacer un rendez-vous",
    "my_appointment": "Mon rendez-vous",
    "human_advisor": "Parler à quelqu'un",
    "workshops": "Ateliers",
    "services": "Services proposés",
    "price": "Tarif",
    "device_repair": "Réparation d'appareil",
    "free_access": "Accès libre (ordinateur, impression)",
    "scam_check": "Arnaque ?",
    "affirm": "Oui",
    "deny": "Non",
    "thanks": "Remerciements",
    "goodbye": "Au revoir",
    "opt_out": "STOP",
    "help": "Aide",
    "out_of_scope": "Hors sujet",
    "call": "Appel (menu vocal)",
}
CHANNEL_LABELS = {"sms": "SMS", "voice": "Téléphone", "simulator": "Simulateur"}
REASON_LABELS = {
    "asked": "Demande d'une personne",
    "not_understood": "Pas compris",
    "voicemail": "Message vocal",
    "distress": "Détresse",
    "no_answer": "Appel sans réponse",
    "error": "Erreur technique",
}
NO_PLACE_LABEL = "Sans lieu"


def intent_code(stored: str | None) -> str:
    """The code counted: a phone turn stores its reply key ("voice.welcome"), counted as "call"."""
    if stored is None:
        return ""
    return "call" if stored.startswith("voice.") else stored


def intent_label(code: str | None) -> str:
    """A short French label for an intent code."""
    if not code:
        return "Non reconnu"
    return INTENT_LABELS.get(intent_code(code), code)


@dataclass(frozen=True, slots=True)
class Period:
    """Whole ISO weeks, Monday 00:00 Paris of the first to Monday 00:00 after the last."""

    first_monday: date
    weeks: int

    @property
    def mondays(self) -> list[date]:
        """The Monday of each week, in order."""
        return [self.first_monday + timedelta(weeks=i) for i in range(self.weeks)]

    @property
    def bounds(self) -> list[datetime]:
        """Each week's start, then the end of the period (aware, Paris midnights)."""
        days = [*self.mondays, self.first_monday + timedelta(weeks=self.weeks)]
        return [datetime.combine(d, time(0), tzinfo=PARIS) for d in days]

    @property
    def last_day(self) -> date:
        """The Sunday that ends the period."""
        return self.first_monday + timedelta(weeks=self.weeks, days=-1)


def last_weeks(today: date, weeks: int = 12) -> Period:
    """The `weeks` ISO weeks ending with the one holding `today`."""
    monday = today - timedelta(days=today.weekday())
    return Period(monday - timedelta(weeks=weeks - 1), weeks)


def week_label(monday: date) -> str:
    """ISO week as shown and exported: "2026-S48"."""
    year, week, _ = monday.isocalendar()
    return f"{year}-S{week:02d}"


@dataclass(frozen=True, slots=True)
class Scope:
    """Which places are counted: None for all (admins, rows with no place included)."""

    place_ids: frozenset[str] | None
    unplaced: bool = False

    def where(self, column: Any) -> ColumnElement[bool]:
        """The filter on a place_id column."""
        if self.place_ids is None:
            return true()
        conditions = []
        if self.place_ids:
            conditions.append(column.in_(sorted(self.place_ids)))
        if self.unplaced:
            conditions.append(column.is_(None))
        return or_(*conditions) if conditions else false()


@dataclass(frozen=True, slots=True)
class Count:
    """One bar: a code (for the CSV), its French label and its count."""

    code: str
    label: str
    count: int


@dataclass(frozen=True, slots=True)
class Week:
    """One ISO week's counts."""

    monday: date
    requests: int
    bookings: int
    booked_by_advisor: int
    escalations: int

    @property
    def label(self) -> str:
        """ "2026-S48"."""
        return week_label(self.monday)


@dataclass(frozen=True, slots=True)
class Attendance:
    """Appointments that have passed in the period: marked attended, no-show, or not marked."""

    attended: int
    no_show: int
    unmarked: int

    @property
    def no_show_rate(self) -> float | None:
        """no_show / (attended + no_show); None when nothing was marked."""
        marked = self.attended + self.no_show
        return self.no_show / marked if marked else None


@dataclass(frozen=True, slots=True)
class AnswerTimes:
    """Escalations opened in the period: answered (with median and 90th percentile), or not."""

    answered: int
    unanswered: int
    median_minutes: float | None
    p90_minutes: float | None


@dataclass(frozen=True, slots=True)
class Statistics:
    """Everything the statistics page shows, for one period and scope."""

    period: Period
    weeks: list[Week]
    intents: list[Count]
    places: list[Count]
    channels: list[Count]
    reasons: list[Count]
    attendance: Attendance
    answer_times: AnswerTimes
    cancelled_bookings: int

    @property
    def requests(self) -> int:
        """Messages handled in the period."""
        return sum(w.requests for w in self.weeks)

    @property
    def bookings(self) -> int:
        """Appointments booked in the period."""
        return sum(w.bookings for w in self.weeks)

    @property
    def escalations(self) -> int:
        """Escalations opened in the period."""
        return sum(w.escalations for w in self.weeks)


def _week_of(column: Any, bounds: Sequence[datetime]) -> Any:
    """SQL: the index of the week a time falls in (bounds are checked by the WHERE)."""
    return case(
        *((column < bound, i) for i, bound in enumerate(bounds[1:-1])), else_=len(bounds) - 2
    )


def _in_period(column: Any, period: Period) -> ColumnElement[bool]:
    bounds = period.bounds
    return and_(column >= bounds[0], column < bounds[-1])


def _per_week(session: Session, column: Any, *where: Any, period: Period) -> list[int]:
    bucket = _week_of(column, period.bounds)
    query = select(bucket, func.count()).where(_in_period(column, period), *where).group_by(bucket)
    counts = [0] * period.weeks
    for index, count in session.execute(query):
        counts[int(index)] += int(count)
    return counts


def _grouped(session: Session, column: Any, *where: Any) -> list[tuple[Any, int]]:
    query = select(column, func.count()).where(*where).group_by(column)
    return [(key, int(count)) for key, count in session.execute(query)]


def _bars(pairs: list[tuple[Any, int]], label: Any) -> list[Count]:
    """Counts merged by label, largest first."""
    merged: dict[str, Count] = {}
    for key, count in pairs:
        name = label(key)
        code = merged[name].code if name in merged else (key or "")
        merged[name] = Count(code, name, count + (merged[name].count if name in merged else 0))
    return sorted(merged.values(), key=lambda c: (-c.count, c.label))


def _place_names(session: Session, ids: list[str]) -> dict[str, str]:
    return dict(session.execute(select(Place.id, Place.nom).where(Place.id.in_(ids))).all())


def _bookings(scope: Scope) -> list[Any]:
    """New bookings: not a slot held for a waiting-list offer (accepted ones count), not a move."""
    released_holds = select(WaitingOffer.appointment_id).where(
        WaitingOffer.appointment_id.is_not(None), WaitingOffer.status != "accepted"
    )
    return [
        scope.where(Appointment.place_id),
        Appointment.status != HELD,
        Appointment.moved_from_id.is_(None),
        ~Appointment.id.in_(released_holds),
    ]


def _attendance(session: Session, scope: Scope, period: Period, now: datetime) -> Attendance:
    ended = min(now, period.bounds[-1])
    query = (
        select(Appointment.attendance, func.count())
        .where(
            scope.where(Appointment.place_id),
            Appointment.status != "cancelled",
            Appointment.status != HELD,
            Appointment.ends_at >= period.bounds[0],
            Appointment.ends_at <= ended,
        )
        .group_by(Appointment.attendance)
    )
    counts = {key: int(n) for key, n in session.execute(query)}
    return Attendance(counts.get("attended", 0), counts.get("no_show", 0), counts.get(None, 0))


def _percentile(sorted_values: list[float], share: float) -> float:
    """Nearest-rank percentile (the value below which `share` of them fall)."""
    rank = max(1, math.ceil(share * len(sorted_values)))
    return sorted_values[rank - 1]


def _answer_times(session: Session, scope: Scope, period: Period) -> AnswerTimes:
    in_scope = [scope.where(CallbackTicket.place_id), _in_period(CallbackTicket.created_at, period)]
    unanswered = session.scalar(
        select(func.count())
        .select_from(CallbackTicket)
        .where(*in_scope, CallbackTicket.first_answer_at.is_(None))
    )
    rows = session.execute(
        select(
            CallbackTicket.created_at, CallbackTicket.opened_at, CallbackTicket.first_answer_at
        ).where(*in_scope, CallbackTicket.first_answer_at.is_not(None))
    ).all()
    minutes = []
    for created, opened, answered in rows:
        if answered is None:  # excluded by the query; keeps the types honest
            continue
        # From the last (re)opening when the answer came after it, else from the creation.
        start = opened if opened is not None and opened <= answered else created
        minutes.append(max(0.0, (answered - start).total_seconds() / 60))
    minutes.sort()
    return AnswerTimes(
        answered=len(minutes),
        unanswered=int(unanswered or 0),
        median_minutes=median(minutes) if minutes else None,
        p90_minutes=_percentile(minutes, 0.9) if minutes else None,
    )


def compute_statistics(session: Session, scope: Scope, period: Period, now: datetime) -> Statistics:
    """Counts for the period and places in scope (see the module docstring)."""
    requests_scope = [
        scope.where(ProcessedMessage.place_id),
        _in_period(ProcessedMessage.created_at, period),
    ]
    bookings = _bookings(scope)
    by_advisor = [*bookings, Appointment.booked_by_id.is_not(None)]
    tickets = [scope.where(CallbackTicket.place_id)]
    per_week = zip(
        period.mondays,
        _per_week(session, ProcessedMessage.created_at, requests_scope[0], period=period),
        _per_week(session, Appointment.created_at, *bookings, period=period),
        _per_week(session, Appointment.created_at, *by_advisor, period=period),
        _per_week(session, CallbackTicket.created_at, *tickets, period=period),
        strict=True,
    )
    place_pairs = _grouped(session, ProcessedMessage.place_id, *requests_scope)
    names = _place_names(session, [p for p, _ in place_pairs if p is not None])
    cancelled = session.scalar(
        select(func.count())
        .select_from(Appointment)
        .where(
            *bookings,
            _in_period(Appointment.created_at, period),
            Appointment.status == "cancelled",
        )
    )
    return Statistics(
        period=period,
        weeks=[Week(*row) for row in per_week],
        intents=_bars(
            [
                (intent_code(k), n)
                for k, n in _grouped(session, ProcessedMessage.intent, *requests_scope)
            ],
            intent_label,
        ),
        places=_bars(place_pairs, lambda p: names.get(p, p) if p else NO_PLACE_LABEL),
        channels=_bars(
            _grouped(session, ProcessedMessage.channel, *requests_scope),
            lambda c: CHANNEL_LABELS.get(c, c),
        ),
        reasons=_bars(
            _grouped(
                session,
                CallbackTicket.reason,
                *tickets,
                _in_period(CallbackTicket.created_at, period),
            ),
            lambda r: REASON_LABELS.get(r, r),
        ),
        attendance=_attendance(session, scope, period, now),
        answer_times=_answer_times(session, scope, period),
        cancelled_bookings=int(cancelled or 0),
    )
