"""One-to-one appointments: book a free slot, list a resident's, cancel, move.

The database guarantees one booked appointment per advisor and start (the partial unique index
`uq_appointments_booked_advisor_start`): of two concurrent bookings of one slot, the second insert
fails (PostgreSQL: once the first commits; SQLite: writers are serialised by BEGIN IMMEDIATE, so
the second sees the first). The insert runs in a SAVEPOINT so that the caller's transaction
survives and can offer other slots; the failure becomes SlotTaken.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.clock import PARIS
from bot.models import BOOKED, CANCELLED, TAKEN, Appointment, AppointmentMotif, Resident
from bot.services import reminders, waiting_offers
from bot.services.slots import Slot, bookable_between, scheduled_slot


class BookingError(Exception):
    """Base of the errors flows turn into wording."""


class SlotTaken(BookingError):
    """Someone else holds that slot (or an overlapping one)."""


class SlotUnavailable(BookingError):
    """Not a slot of that advisor (hours, closure, holiday), or too soon or too far ahead."""


class AppointmentNotFound(BookingError):
    """No such appointment for that resident (someone else's counts as not found)."""


class AppointmentPast(BookingError):
    """The appointment has started or is over: it can no longer be cancelled or moved."""


class UnknownResident(BookingError):
    """No resident with that id."""


class UnknownMotif(BookingError):
    """Not the code of an offered motif (see agendas.list_motifs)."""


@dataclass(frozen=True, slots=True)
class AppointmentInfo:
    """An appointment as flows and wording need it; times aware, in Europe/Paris."""

    id: int
    resident_id: int | None  # None once the resident was purged or erased (past appointment)
    advisor_id: int
    advisor_name: str
    place_id: str
    place_name: str
    starts_at: datetime
    ends_at: datetime
    motif: str | None
    motif_label: str | None
    status: str  # "booked" or "cancelled"
    moved_from_id: int | None = None

    @property
    def booked(self) -> bool:
        """True while the appointment holds its slot."""
        return self.status == BOOKED


def appointment_info(row: Appointment) -> AppointmentInfo:
    """The detached view of an Appointment row."""
    return AppointmentInfo(
        id=row.id,
        resident_id=row.resident_id,
        advisor_id=row.advisor_id,
        advisor_name=row.advisor.name,
        place_id=row.place_id,
        place_name=row.place.nom,
        starts_at=row.starts_at.astimezone(PARIS),
        ends_at=row.ends_at.astimezone(PARIS),
        motif=row.motif,
        motif_label=row.motif_row.label if row.motif_row is not None else None,
        status=row.status,
        moved_from_id=row.moved_from_id,
    )


def _booked_over(session: Session, advisor_id: int, slot: Slot) -> bool:
    """True if a booked (or held) appointment of the advisor overlaps the slot."""
    return bool(
        session.scalar(
            select(
                exists().where(
                    Appointment.advisor_id == advisor_id,
                    Appointment.status.in_(TAKEN),
                    Appointment.starts_at < slot.ends_at,
                    Appointment.ends_at > slot.starts_at,
                )
            )
        )
    )


def _book(
    session: Session,
    resident_id: int,
    advisor_id: int,
    starts_at: datetime,
    motif: str | None,
    now: datetime,
    moved_from_id: int | None = None,
) -> Appointment:
    if session.get(Resident, resident_id) is None:
        raise UnknownResident(resident_id)
    slot = scheduled_slot(session, advisor_id, starts_at)
    earliest, latest = bookable_between(now)
    if slot is None or not earliest <= slot.starts_at < latest:
        raise SlotUnavailable(f"advisor {advisor_id} at {starts_at.isoformat()}")
    # Overlaps of different starts only happen when an agenda changed under a booking; the same
    # start is the common race, and the unique index below decides it.
    if _booked_over(session, advisor_id, slot):
        raise SlotTaken(f"advisor {advisor_id} at {slot.starts_at.isoformat()}")
    appointment = Appointment(
        advisor_id=advisor_id,
        place_id=slot.place_id,
        resident_id=resident_id,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        motif=motif,
        status=BOOKED,
        created_at=now,
        moved_from_id=moved_from_id,
    )
    try:
        with session.begin_nested():
            session.add(appointment)
            session.flush()
    except IntegrityError:
        if not _booked_over(session, advisor_id, slot):
            raise  # another constraint: a bug, not a race
        raise SlotTaken(f"advisor {advisor_id} at {slot.starts_at.isoformat()}") from None
    reminders.schedule_reminders(session, appointment, now)
    return appointment


def _free(session: Session, row: Appointment, now: datetime) -> None:
    """Cancel a booked appointment: its reminders go, its slot goes to the waiting list."""
    row.status, row.cancelled_at = CANCELLED, now
    session.flush()
    reminders.cancel_reminders(session, row.id, now)
    waiting_offers.offer_freed_slot(
        session,
        advisor_id=row.advisor_id,
        place_id=row.place_id,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        motif=row.motif,
        now=now,
    )


def book_slot(
    session: Session,
    resident_id: int,
    advisor_id: int,
    starts_at: datetime,
    motif: str | None,
    now: datetime,
) -> AppointmentInfo:
    """Book that advisor's slot for the resident; SlotTaken if held, SlotUnavailable if no slot."""
    if motif is not None:
        row = session.get(AppointmentMotif, motif)
        if row is None or not row.active:
            raise UnknownMotif(motif)
    return appointment_info(_book(session, resident_id, advisor_id, starts_at, motif, now))


def upcoming_appointments(
    session: Session, resident_id: int, now: datetime
) -> list[AppointmentInfo]:
    """The resident's booked appointments that have not started, soonest first."""
    rows = session.scalars(
        select(Appointment)
        .where(
            Appointment.resident_id == resident_id,
            Appointment.status == BOOKED,
            Appointment.starts_at > now,
        )
        .order_by(Appointment.starts_at, Appointment.id)
    )
    return [appointment_info(row) for row in rows]


def get_appointment(session: Session, appointment_id: int) -> AppointmentInfo | None:
    """One appointment, whatever its status."""
    row = session.get(Appointment, appointment_id)
    return appointment_info(row) if row is not None else None


def confirm_appointment(
    session: Session, appointment_id: int, resident_id: int, now: datetime
) -> AppointmentInfo:
    """The resident said they will come (answer to a reminder): advisors see it."""
    row = _locked(session, appointment_id, resident_id)
    if row.status != BOOKED:
        raise AppointmentNotFound(appointment_id)
    row.confirmed_at = row.confirmed_at or now
    session.flush()
    return appointment_info(row)


def _locked(session: Session, appointment_id: int, resident_id: int) -> Appointment:
    """The resident's appointment, locked until commit (PostgreSQL) against a concurrent change."""
    row = session.scalar(
        select(Appointment)
        .where(Appointment.id == appointment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row is None or row.resident_id != resident_id:
        raise AppointmentNotFound(appointment_id)
    return row


def cancel_appointment(
    session: Session, appointment_id: int, resident_id: int, now: datetime
) -> AppointmentInfo:
    """Cancel the resident's appointment and free its slot; cancelling twice changes nothing."""
    row = _locked(session, appointment_id, resident_id)
    if row.status == CANCELLED:
        return appointment_info(row)
    if row.starts_at <= now:
        raise AppointmentPast(appointment_id)
    _free(session, row, now)
    return appointment_info(row)


def move_appointment(
    session: Session,
    appointment_id: int,
    resident_id: int,
    new_advisor_id: int,
    new_starts_at: datetime,
    now: datetime,
) -> AppointmentInfo:
    """Book the new slot, then cancel the old appointment; if the new one fails, the old stays.

    Returns the new appointment (its `moved_from_id` is the old one). Raises SlotTaken or
    SlotUnavailable for the new slot, AppointmentNotFound if the old one is not a booked
    appointment of this resident, AppointmentPast if it has started.
    """
    old = _locked(session, appointment_id, resident_id)
    if old.status != BOOKED:
        raise AppointmentNotFound(appointment_id)
    if old.starts_at <= now:
        raise AppointmentPast(appointment_id)
    if old.advisor_id == new_advisor_id and old.starts_at == new_starts_at:
        return appointment_info(old)
    new = _book(session, resident_id, new_advisor_id, new_starts_at, old.motif, now, old.id)
    _free(session, old, now)
    return appointment_info(new)
