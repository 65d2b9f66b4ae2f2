"""Free appointment slots: weekly availability minus closures, public holidays and bookings.

Slots are cut from each availability window in Paris wall-clock time ("Monday 09:00" stays 09:00
on both sides of a DST change), then compared as instants. A slot is only offered with at least
MINIMUM_NOTICE before it starts, so that the advisor can see the booking before the resident
arrives, and no further ahead than BOOKING_HORIZON (bot/data/AGENDAS.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot import clock
from bot.clock import PARIS
from bot.models import TAKEN, Advisor, AdvisorAvailability, AgendaClosure, Appointment, Place
from bot.services.agendas import has_agenda
from bot.services.opening_hours import department_from_codes, is_public_holiday

# Residents book from 2 hours to about 3 months ahead: the advisor sees the booking before the
# resident arrives, and agendas further out are too uncertain to promise (bot/data/AGENDAS.md).
MINIMUM_NOTICE = timedelta(hours=2)
BOOKING_HORIZON = timedelta(days=92)
NOON = time(12)

Interval = tuple[datetime, datetime]


class NoAgenda(LookupError):
    """The place takes no appointments through Relais (no advisor with an availability)."""


@dataclass(frozen=True, slots=True)
class Slot:
    """A free appointment with one advisor; times are aware, in Europe/Paris."""

    advisor_id: int
    advisor_name: str
    place_id: str
    starts_at: datetime
    ends_at: datetime


class PartOfDay(StrEnum):
    """Morning starts before noon; afternoon at noon or later."""

    MORNING = "morning"
    AFTERNOON = "afternoon"


@dataclass(frozen=True, slots=True)
class SlotWish:
    """What a resident asked for; every field set must hold (days inclusive, weekday 0 = Monday)."""

    day: date | None = None
    weekday: int | None = None
    part_of_day: PartOfDay | None = None
    not_before: time | None = None
    from_date: date | None = None
    to_date: date | None = None

    def __post_init__(self) -> None:
        """Refuse impossible wishes early (a flow bug, not a resident's mistake)."""
        if self.weekday is not None and not 0 <= self.weekday <= 6:
            raise ValueError("weekday must be 0 (Monday) to 6 (Sunday)")
        if self.from_date and self.to_date and self.from_date > self.to_date:
            raise ValueError("from_date is after to_date")

    @classmethod
    def next_week(cls, today: date) -> SlotWish:
        """ "La semaine prochaine": Monday to Sunday of the week after `today`'s.

        Narrow it further with dataclasses.replace(wish, part_of_day=PartOfDay.MORNING).
        """
        monday = today + timedelta(days=7 - today.weekday())
        return cls(from_date=monday, to_date=monday + timedelta(days=6))

    @property
    def first_day(self) -> date | None:
        """The earliest day the wish allows, if it says."""
        days = [d for d in (self.day, self.from_date) if d is not None]
        return max(days) if days else None

    @property
    def last_day(self) -> date | None:
        """The latest day the wish allows, if it says."""
        days = [d for d in (self.day, self.to_date) if d is not None]
        return min(days) if days else None

    def accepts_day(self, day: date) -> bool:
        """True if a slot on that day could suit."""
        first, last = self.first_day, self.last_day
        return (
            (first is None or day >= first)
            and (last is None or day <= last)
            and (self.weekday is None or day.weekday() == self.weekday)
        )

    def accepts(self, starts_at: datetime) -> bool:
        """True if a slot starting then suits."""
        local = starts_at.astimezone(PARIS)
        wall = local.time()
        if self.part_of_day is PartOfDay.MORNING and wall >= NOON:
            return False
        if self.part_of_day is PartOfDay.AFTERNOON and wall < NOON:
            return False
        if self.not_before is not None and wall < self.not_before:
            return False
        return self.accepts_day(local.date())


def _paris(wall: datetime) -> datetime | None:
    """Aware Paris time for a wall-clock time; None for times skipped by the spring change.

    An autumn time that happens twice (02:00-03:00) is taken at its first occurrence (fold=0).
    """
    at = wall.replace(tzinfo=PARIS)
    if at.astimezone(UTC).astimezone(PARIS).replace(tzinfo=None) != wall:
        return None
    return at


def _windows_on(availability: AdvisorAvailability, day: date) -> bool:
    return (
        availability.weekday == day.weekday()
        and (availability.valid_from is None or availability.valid_from <= day)
        and (availability.valid_until is None or day <= availability.valid_until)
    )


def _grid(availability: AdvisorAvailability, day: date) -> Iterator[Interval]:
    """The slots of one availability window on one day, in order."""
    step = timedelta(minutes=availability.slot_minutes)
    start = datetime.combine(day, availability.start_time)
    end = datetime.combine(day, availability.end_time)
    while start + step <= end:
        begin, finish = _paris(start), _paris(start + step)
        if begin is not None and finish is not None:
            yield begin, finish
        start += step


@dataclass
class _AdvisorAgenda:
    """One advisor's agenda over a range of days, with closures and holidays applied."""

    advisor: Advisor
    department: str | None
    closed: list[tuple[date, date]]
    booked: list[Interval]

    def slots_on(self, day: date) -> Iterator[Interval]:
        if is_public_holiday(day, self.department):
            return
        if any(first <= day <= last for first, last in self.closed):
            return
        for availability in self.advisor.availabilities:
            if _windows_on(availability, day):
                yield from _grid(availability, day)

    def is_booked(self, slot: Interval) -> bool:
        return any(slot[0] < end and start < slot[1] for start, end in self.booked)

    def slot(self, interval: Interval) -> Slot:
        return Slot(
            advisor_id=self.advisor.id,
            advisor_name=self.advisor.name,
            place_id=self.advisor.place_id,
            starts_at=interval[0].astimezone(PARIS),
            ends_at=interval[1].astimezone(PARIS),
        )


def _agendas(
    session: Session, advisors: list[Advisor], first: date, last: date
) -> list[_AdvisorAgenda]:
    """Agendas of advisors (all of one place) between two days, bookings included."""
    if not advisors:
        return []
    place = session.get(Place, advisors[0].place_id)
    department = department_from_codes(place.code_insee, place.code_postal) if place else None
    closures = session.scalars(
        select(AgendaClosure).where(
            AgendaClosure.place_id == advisors[0].place_id,
            AgendaClosure.first_day <= last,
            AgendaClosure.last_day >= first,
        )
    ).all()
    start = datetime.combine(first, time(0), tzinfo=PARIS)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=PARIS)
    booked = session.execute(
        select(Appointment.advisor_id, Appointment.starts_at, Appointment.ends_at).where(
            Appointment.advisor_id.in_([a.id for a in advisors]),
            Appointment.status.in_(TAKEN),  # a slot held for a waiting resident is not free
            Appointment.starts_at < end,
            Appointment.ends_at > start,
        )
    ).all()
    return [
        _AdvisorAgenda(
            advisor=advisor,
            department=department,
            closed=[
                (c.first_day, c.last_day)
                for c in closures
                if c.advisor_id is None or c.advisor_id == advisor.id
            ],
            booked=[(s, e) for advisor_id, s, e in booked if advisor_id == advisor.id],
        )
        for advisor in advisors
    ]


def bookable_between(now: datetime) -> Interval:
    """The earliest and latest start of a slot that can be booked at `now`."""
    return now + MINIMUM_NOTICE, now + BOOKING_HORIZON


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def free_slots(
    session: Session,
    place_id: str,
    after: datetime,
    *,
    until: datetime | None = None,
    limit: int = 3,
    wish: SlotWish | None = None,
    now: datetime | None = None,
) -> list[Slot]:
    """The first free slots at a place starting at or after `after` (and before `until`).

    Only slots that can be booked: from MINIMUM_NOTICE to BOOKING_HORIZON after `now` (the
    clock by default). Raises NoAgenda for a place without agenda.
    """
    now = clock.now() if now is None else now
    if not has_agenda(session, place_id, now):
        raise NoAgenda(place_id)
    earliest, latest = bookable_between(now)
    earliest = max(earliest, after)
    latest = latest if until is None else min(latest, until)
    first, last = earliest.astimezone(PARIS).date(), latest.astimezone(PARIS).date()
    if wish is not None:
        first, last = max(first, wish.first_day or first), min(last, wish.last_day or last)
    if limit <= 0 or first > last:
        return []
    advisors = list(
        session.scalars(
            select(Advisor)
            .where(Advisor.place_id == place_id, Advisor.active.is_(True))
            .options(selectinload(Advisor.availabilities))
            .order_by(Advisor.name, Advisor.id)
        )
    )
    agendas = _agendas(session, advisors, first, last)
    found: list[Slot] = []
    for day in _days(first, last):
        if wish is not None and not wish.accepts_day(day):
            continue
        today = [
            agenda.slot(interval)
            for agenda in agendas
            for interval in agenda.slots_on(day)
            if earliest <= interval[0] < latest
            and not agenda.is_booked(interval)
            and (wish is None or wish.accepts(interval[0]))
        ]
        found += sorted(today, key=lambda slot: (slot.starts_at, slot.advisor_name))
        if len(found) >= limit:
            break
    return found[:limit]


def scheduled_slot(session: Session, advisor_id: int, starts_at: datetime) -> Slot | None:
    """The slot of that active advisor's agenda starting at that instant, if the day is open.

    Bookings and notice are not considered: callers decide what "taken" and "too late" mean.
    """
    if starts_at.tzinfo is None:
        raise ValueError("starts_at must be aware")
    advisor = session.get(Advisor, advisor_id)
    if advisor is None or not advisor.active:
        return None
    day = starts_at.astimezone(PARIS).date()
    (agenda,) = _agendas(session, [advisor], day, day)
    for interval in agenda.slots_on(day):
        if interval[0] == starts_at:
            return agenda.slot(interval)
    return None
