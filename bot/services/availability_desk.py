"""Advisors' weekly windows and closures, edited in the inbox (issue 8).

The same rules as agenda files (bot/data/AGENDAS.md): a window ends at least one slot after it
starts, slots last 5 to 480 minutes, and two windows of one advisor never overlap on a weekday
while both are valid. A closure cancels nothing: the booked appointments it covers are listed so
that the advisor moves or cancels them (each resident is then told). Reloading an agenda file
replaces the windows and closures of the places it lists, edits made here included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import TAKEN, Advisor, AdvisorAvailability, AgendaClosure
from bot.services.agenda_desk import (
    AgendaEntry,
    DeskError,
    NotVisible,
    appointments_between,
    check_advisor,
    check_place,
)
from bot.services.users import Account, can_see_place

SHORTEST_SLOT, LONGEST_SLOT = 5, 480
MAX_REASON = 200
MAX_ID = 2**31 - 1


class InvalidWindow(DeskError):
    """Times in the wrong order, a slot length out of range, or validity dates reversed."""


class WindowOverlap(DeskError):
    """The window overlaps another of the same advisor on that weekday."""


class InvalidClosure(DeskError):
    """The last day is before the first."""


@dataclass(frozen=True, slots=True)
class Window:
    """A weekly window of an advisor (weekday 0 = Monday, Paris wall-clock times)."""

    id: int
    advisor_id: int
    weekday: int
    start: time
    end: time
    slot_minutes: int
    valid_from: date | None
    valid_until: date | None


@dataclass(frozen=True, slots=True)
class Closure:
    """Days without appointments, for one advisor or the whole place (advisor_id None)."""

    id: int
    place_id: str
    advisor_id: int | None
    advisor_name: str | None
    first_day: date
    last_day: date
    reason: str | None


@dataclass(frozen=True, slots=True)
class AdvisorWindows:
    """An advisor and their windows."""

    id: int
    name: str
    windows: list[Window]


@dataclass(frozen=True, slots=True)
class ClosureAdded:
    """The new closure and the booked appointments it covers (not cancelled)."""

    closure: Closure
    covered: list[AgendaEntry]


def _window(row: AdvisorAvailability) -> Window:
    return Window(
        id=row.id,
        advisor_id=row.advisor_id,
        weekday=row.weekday,
        start=row.start_time,
        end=row.end_time,
        slot_minutes=row.slot_minutes,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
    )


def _closure(row: AgendaClosure, names: dict[int, str]) -> Closure:
    return Closure(
        id=row.id,
        place_id=row.place_id,
        advisor_id=row.advisor_id,
        advisor_name=names.get(row.advisor_id) if row.advisor_id is not None else None,
        first_day=row.first_day,
        last_day=row.last_day,
        reason=row.reason,
    )


def windows_of_place(session: Session, account: Account, place_id: str) -> list[AdvisorWindows]:
    """The active advisors of a place the account sees, each with their windows."""
    check_place(session, account, place_id)
    advisors = session.scalars(
        select(Advisor)
        .where(Advisor.place_id == place_id, Advisor.active.is_(True))
        .order_by(Advisor.name, Advisor.id)
    )
    return [AdvisorWindows(a.id, a.name, [_window(w) for w in a.availabilities]) for a in advisors]


def closures_of_place(
    session: Session, account: Account, place_id: str, today: date
) -> list[Closure]:
    """The place's closures (its own and its advisors') not yet over, soonest first."""
    check_place(session, account, place_id)
    names = {row.id: row.name for row in session.execute(select(Advisor.id, Advisor.name))}
    rows = session.scalars(
        select(AgendaClosure)
        .where(AgendaClosure.place_id == place_id, AgendaClosure.last_day >= today)
        .order_by(AgendaClosure.first_day, AgendaClosure.id)
    )
    return [_closure(row, names) for row in rows]


def _minutes(at: time) -> int:
    return at.hour * 60 + at.minute


def _valid_together(a: AdvisorAvailability, first: date | None, last: date | None) -> bool:
    """True if the two validity periods share a day (None: unbounded)."""
    return (a.valid_until is None or first is None or first <= a.valid_until) and (
        a.valid_from is None or last is None or a.valid_from <= last
    )


def add_window(
    session: Session,
    account: Account,
    advisor_id: int,
    *,
    weekday: int,
    start: time,
    end: time,
    slot_minutes: int,
    valid_from: date | None = None,
    valid_until: date | None = None,
) -> Window:
    """Add a weekly window to an advisor; InvalidWindow or WindowOverlap if it cannot be."""
    advisor = check_advisor(session, account, advisor_id)
    if not 0 <= weekday <= 6 or not SHORTEST_SLOT <= slot_minutes <= LONGEST_SLOT:
        raise InvalidWindow("weekday or slot length")
    if _minutes(end) - _minutes(start) < slot_minutes:
        raise InvalidWindow("the window must hold at least one slot")
    if valid_from and valid_until and valid_from > valid_until:
        raise InvalidWindow("validity dates in the wrong order")
    for other in advisor.availabilities:
        if (
            other.weekday == weekday
            and other.start_time < end
            and start < other.end_time
            and _valid_together(other, valid_from, valid_until)
        ):
            raise WindowOverlap(other.id)
    row = AdvisorAvailability(
        advisor_id=advisor.id,
        weekday=weekday,
        start_time=start,
        end_time=end,
        slot_minutes=slot_minutes,
        valid_from=valid_from,
        valid_until=valid_until,
    )
    session.add(row)
    session.flush()
    return _window(row)


def remove_window(session: Session, account: Account, window_id: int) -> Window:
    """Remove a weekly window; booked appointments stay (they show in the agenda)."""
    row = session.get(AdvisorAvailability, window_id) if 0 < window_id <= MAX_ID else None
    if row is None or not can_see_place(account, row.advisor.place_id):
        raise NotVisible(window_id)
    window = _window(row)
    session.delete(row)
    session.flush()
    return window


def add_closure(
    session: Session,
    account: Account,
    place_id: str,
    *,
    advisor_id: int | None,
    first_day: date,
    last_day: date,
    reason: str | None,
    now: datetime,
) -> ClosureAdded:
    """Close a place or one of its advisors for some days (both included).

    Nothing is cancelled: the booked appointments it covers come back, to be moved or cancelled.
    """
    check_place(session, account, place_id)
    names: dict[int, str] = {}
    if advisor_id is not None:
        advisor = check_advisor(session, account, advisor_id)
        if advisor.place_id != place_id:
            raise NotVisible(advisor_id)
        names[advisor.id] = advisor.name
    if last_day < first_day:
        raise InvalidClosure("last day before first day")
    row = AgendaClosure(
        place_id=place_id,
        advisor_id=advisor_id,
        first_day=first_day,
        last_day=last_day,
        reason=(reason or "").strip()[:MAX_REASON] or None,
    )
    session.add(row)
    session.flush()
    covered = [
        entry
        for entry in appointments_between(
            session, account, place_id, first_day, last_day, now, advisor_id=advisor_id
        )
        if entry.status in TAKEN and entry.starts_at > now
    ]
    return ClosureAdded(_closure(row, names), covered)


def remove_closure(session: Session, account: Account, closure_id: int) -> Closure:
    """Open the days of a closure again."""
    row = session.get(AgendaClosure, closure_id) if 0 < closure_id <= MAX_ID else None
    if row is None or not can_see_place(account, row.place_id):
        raise NotVisible(closure_id)
    closure = _closure(row, {})
    session.delete(row)
    session.flush()
    return closure
