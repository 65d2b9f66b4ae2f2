"""Seats at group workshop sessions: never more registrations than Workshop.seats.

Each registration holds a seat number from 1 to the workshop's capacity, unique per session
(`uq_workshop_registrations_seat`). Registering takes the lowest free number; if a concurrent
registration took it first, the insert fails in its SAVEPOINT and the next free number is tried.
As numbers are bounded by the capacity, no interleaving can seat more people than that; a
cancellation gives its number back (seat NULL). One booked registration per resident and session
is a partial unique index too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import clock
from bot.clock import PARIS
from bot.models import BOOKED, CANCELLED, TAKEN, Resident, Workshop, WorkshopRegistration
from bot.services import waiting_offers
from bot.services.bookings import UnknownResident
from bot.services.opening_hours import Interval, PlaceSchedule, department_from_codes
from bot.services.slots import MINIMUM_NOTICE


class WorkshopError(Exception):
    """Base of the errors flows turn into wording."""


class WorkshopNotFound(WorkshopError):
    """No workshop with that id."""


class RegistrationNotOffered(WorkshopError):
    """The workshop takes no registrations, or its capacity is unknown: residents should call."""


class SessionUnavailable(WorkshopError):
    """Not a session of that workshop (holiday, wrong day or time), or it starts too soon."""


class WorkshopFull(WorkshopError):
    """Every seat of that session is taken."""


class RegistrationNotFound(WorkshopError):
    """No such registration for that resident."""


class SessionPast(WorkshopError):
    """The session has started: the registration can no longer be cancelled."""


@dataclass(frozen=True, slots=True)
class WorkshopSession:
    """One session of a workshop and how full it is; times in Europe/Paris."""

    workshop_id: int
    place_id: str
    title: str
    starts_at: datetime
    ends_at: datetime
    capacity: int | None
    seats_taken: int

    @property
    def seats_left(self) -> int | None:
        """Free seats, or None when the capacity is unknown."""
        return None if self.capacity is None else max(self.capacity - self.seats_taken, 0)


@dataclass(frozen=True, slots=True)
class RegistrationInfo:
    """A resident's seat at a session; `seat` is None once cancelled."""

    id: int
    workshop_id: int
    resident_id: int
    place_id: str
    title: str
    session_start: datetime
    session_end: datetime
    seat: int | None
    status: str  # "booked" or "cancelled"


class AlreadyRegistered(WorkshopError):
    """The resident already holds a seat at that session (given as `registration`)."""

    def __init__(self, registration: RegistrationInfo) -> None:
        """Keep the existing registration, so that flows can remind the resident of it."""
        super().__init__(registration.id)
        self.registration = registration


def registration_info(row: WorkshopRegistration) -> RegistrationInfo:
    """The detached view of a WorkshopRegistration row."""
    return RegistrationInfo(
        id=row.id,
        workshop_id=row.workshop_id,
        resident_id=row.resident_id,
        place_id=row.workshop.place_id,
        title=row.workshop.title,
        session_start=row.session_start.astimezone(PARIS),
        session_end=row.session_end.astimezone(PARIS),
        seat=row.seat,
        status=row.status,
    )


def _schedule(workshop: Workshop) -> PlaceSchedule:
    place = workshop.place
    return PlaceSchedule(
        workshop.schedule, department_from_codes(place.code_insee, place.code_postal)
    )


def _session_at(workshop: Workshop, starts_at: datetime) -> Interval | None:
    if starts_at.tzinfo is None:
        raise ValueError("session_start must be aware")
    day = starts_at.astimezone(PARIS).date()
    for start, end in _schedule(workshop).openings_on(day):
        if start == starts_at:
            return start, end
    return None


def _seats_taken(session: Session, workshop_id: int, starts: list[datetime]) -> dict[datetime, int]:
    rows = session.execute(
        select(WorkshopRegistration.session_start, func.count())
        .where(
            WorkshopRegistration.workshop_id == workshop_id,
            WorkshopRegistration.status.in_(TAKEN),
            WorkshopRegistration.session_start.in_(starts),
        )
        .group_by(WorkshopRegistration.session_start)
    )
    return {start.astimezone(UTC): count for start, count in rows}


def next_workshop_sessions(
    session: Session,
    workshop_id: int,
    after: datetime,
    limit: int = 3,
    *,
    now: datetime | None = None,
) -> list[WorkshopSession]:
    """The next sessions one can still register for (MINIMUM_NOTICE ahead), with seats taken."""
    workshop = session.get(Workshop, workshop_id)
    if workshop is None:
        raise WorkshopNotFound(workshop_id)
    now = clock.now() if now is None else now
    earliest = max(after, now + MINIMUM_NOTICE)
    # next_openings includes a session under way: ask for one more and drop it.
    openings = _schedule(workshop).next_openings(earliest, limit + 1)
    starts = [(start, end) for start, end in openings if start >= earliest][: max(limit, 0)]
    taken = _seats_taken(session, workshop_id, [start for start, _ in starts])
    return [
        WorkshopSession(
            workshop_id=workshop.id,
            place_id=workshop.place_id,
            title=workshop.title,
            starts_at=start,
            ends_at=end,
            capacity=workshop.seats,
            seats_taken=taken.get(start.astimezone(UTC), 0),
        )
        for start, end in starts
    ]


def _booked_by(
    session: Session, resident_id: int, workshop_id: int, starts_at: datetime
) -> WorkshopRegistration | None:
    return session.scalar(
        select(WorkshopRegistration).where(
            WorkshopRegistration.workshop_id == workshop_id,
            WorkshopRegistration.session_start == starts_at,
            WorkshopRegistration.resident_id == resident_id,
            WorkshopRegistration.status.in_(TAKEN),
        )
    )


def register_for_workshop(
    session: Session, resident_id: int, workshop_id: int, session_start: datetime, now: datetime
) -> RegistrationInfo:
    """Give the resident the lowest free seat of that session; WorkshopFull when none is left."""
    workshop = session.get(Workshop, workshop_id)
    if workshop is None:
        raise WorkshopNotFound(workshop_id)
    capacity = workshop.seats
    if not workshop.registration or not capacity:
        raise RegistrationNotOffered(workshop_id)
    if session.get(Resident, resident_id) is None:
        raise UnknownResident(resident_id)
    found = _session_at(workshop, session_start)
    if found is None or found[0] < now + MINIMUM_NOTICE:
        raise SessionUnavailable(f"workshop {workshop_id} at {session_start.isoformat()}")
    start, end = found
    # Each failed insert means a seat seen free was taken meanwhile, so this ends quickly; the
    # bound only guards against seats freed and retaken without end.
    for _attempt in range(2 * capacity + 2):
        mine = _booked_by(session, resident_id, workshop_id, start)
        if mine is not None:
            raise AlreadyRegistered(registration_info(mine))
        taken = set(
            session.scalars(
                select(WorkshopRegistration.seat).where(
                    WorkshopRegistration.workshop_id == workshop_id,
                    WorkshopRegistration.session_start == start,
                    WorkshopRegistration.status.in_(TAKEN),
                )
            )
        )
        seat = next((n for n in range(1, capacity + 1) if n not in taken), None)
        if seat is None:
            raise WorkshopFull(f"workshop {workshop_id} at {start.isoformat()}")
        row = WorkshopRegistration(
            workshop_id=workshop_id,
            session_start=start,
            session_end=end,
            resident_id=resident_id,
            seat=seat,
            status=BOOKED,
            created_at=now,
        )
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:
            continue  # seat taken meanwhile, or the resident registered from another message
        return registration_info(row)
    raise WorkshopFull(f"workshop {workshop_id} at {start.isoformat()}: seats kept changing")


def upcoming_registrations(
    session: Session, resident_id: int, now: datetime
) -> list[RegistrationInfo]:
    """The resident's seats at sessions that have not started, soonest first."""
    rows = session.scalars(
        select(WorkshopRegistration)
        .where(
            WorkshopRegistration.resident_id == resident_id,
            WorkshopRegistration.status == BOOKED,
            WorkshopRegistration.session_start > now,
        )
        .order_by(WorkshopRegistration.session_start, WorkshopRegistration.id)
    )
    return [registration_info(row) for row in rows]


def cancel_registration(
    session: Session, registration_id: int, resident_id: int, now: datetime
) -> RegistrationInfo:
    """Give the seat back; cancelling twice changes nothing."""
    row = session.scalar(
        select(WorkshopRegistration)
        .where(WorkshopRegistration.id == registration_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row is None or row.resident_id != resident_id:
        raise RegistrationNotFound(registration_id)
    if row.status == CANCELLED:
        return registration_info(row)
    if row.session_start <= now:
        raise SessionPast(registration_id)
    seat = row.seat
    row.status, row.seat, row.cancelled_at = CANCELLED, None, now
    session.flush()
    if seat is not None:
        waiting_offers.offer_freed_seat(
            session,
            workshop_id=row.workshop_id,
            session_start=row.session_start,
            session_end=row.session_end,
            seat=seat,
            now=now,
        )
    return registration_info(row)
