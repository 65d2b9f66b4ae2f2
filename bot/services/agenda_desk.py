"""The advisors' agenda (issue 8): appointments of a place by day or week, attendance, and
appointments booked, moved or cancelled for a resident on the phone.

Every function takes the signed-in Account and refuses (NotVisible) what it may not see: an
advisor sees only their places, an admin every place. Bookings go through bookings.py, so the
same rules hold as by SMS (notice, horizon, closures, one booking per slot, waiting list). The
resident is told by SMS (an outbox TEXT, written now), only on a mobile that did not opt out:
a landline would not receive it (bot/services/reminders.channel_for).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from bot.clock import PARIS
from bot.models import BOOKED, Advisor, Appointment, Place, Resident
from bot.privacy import display_phone
from bot.services import bookings, outbox, places, reminders
from bot.services.conversations import get_or_create_resident
from bot.services.phone_numbers import normalise_number
from bot.services.slots import NoAgenda, Slot, free_slots
from bot.services.users import Account, can_see_place
from bot.wording import say
from bot.wording.dates import format_when

ATTENDED, NO_SHOW = "attended", "no_show"
# Database integers are 32-bit on PostgreSQL: a larger id in a URL is simply not found.
MAX_ID = 2**31 - 1
# More than any agenda offers in a day, so that the list is never cut.
SLOTS_PER_DAY = 200
# Why the resident got no SMS.
OPTED_OUT, LANDLINE = "opted_out", "landline"


class DeskError(Exception):
    """Base of the errors the inbox turns into French messages."""


class NotVisible(DeskError):
    """No such place, advisor or appointment, or not one of the account's places (a 404)."""


class NotStarted(DeskError):
    """Attendance is marked once the appointment has started."""


class NotBooked(DeskError):
    """The appointment is cancelled (or held for the waiting list, or its resident erased)."""


class InvalidNumber(DeskError):
    """Not a French or international phone number."""


@dataclass(frozen=True, slots=True)
class AgendaEntry:
    """One appointment as the agenda shows it; times in Europe/Paris, the number masked."""

    id: int
    place_id: str
    advisor_id: int
    advisor_name: str
    starts_at: datetime
    ends_at: datetime
    motif_label: str | None
    status: str  # booked, held or cancelled
    attendance: str | None  # attended, no_show or None
    masked_phone: str
    confirmed: bool  # the resident answered a reminder: they will come
    booked_by_advisor: bool
    started: bool

    @property
    def booked(self) -> bool:
        """True while the appointment holds its slot for its resident."""
        return self.status == BOOKED


@dataclass(frozen=True, slots=True)
class DeskChange:
    """What an advisor did for a resident, and whether the resident was told by SMS."""

    appointment: bookings.AppointmentInfo
    phone: str  # as stored (E.164): the advisor typed it, or it is masked by the caller
    sms_queued: bool
    no_sms_because: str | None  # OPTED_OUT, LANDLINE or None


def _valid_id(value: int) -> bool:
    return 0 < value <= MAX_ID


def check_place(session: Session, account: Account, place_id: str) -> Place:
    """The place, if it exists and the account sees it; NotVisible otherwise."""
    place = session.get(Place, place_id) if place_id else None
    if place is None or not can_see_place(account, place.id):
        raise NotVisible(place_id)
    return place


def check_advisor(session: Session, account: Account, advisor_id: int) -> Advisor:
    """The advisor, if at one of the account's places; NotVisible otherwise."""
    advisor = session.get(Advisor, advisor_id) if _valid_id(advisor_id) else None
    if advisor is None or not can_see_place(account, advisor.place_id):
        raise NotVisible(advisor_id)
    return advisor


def _appointment(session: Session, account: Account, appointment_id: int) -> Appointment:
    row = session.get(Appointment, appointment_id) if _valid_id(appointment_id) else None
    if row is None or not can_see_place(account, row.place_id):
        raise NotVisible(appointment_id)
    return row


def advisors_of(session: Session, account: Account, place_id: str) -> list[Advisor]:
    """The active advisors of a place the account sees, by name."""
    check_place(session, account, place_id)
    query = (
        select(Advisor)
        .where(Advisor.place_id == place_id, Advisor.active.is_(True))
        .order_by(Advisor.name, Advisor.id)
    )
    return list(session.scalars(query))


def week_of(day: date) -> tuple[date, date]:
    """Monday and Sunday of the ISO week holding `day`."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def _entry(row: Appointment, phone: str | None, now: datetime) -> AgendaEntry:
    return AgendaEntry(
        id=row.id,
        place_id=row.place_id,
        advisor_id=row.advisor_id,
        advisor_name=row.advisor.name,
        starts_at=row.starts_at.astimezone(PARIS),
        ends_at=row.ends_at.astimezone(PARIS),
        motif_label=row.motif_row.label if row.motif_row is not None else None,
        status=row.status,
        attendance=row.attendance,
        masked_phone=display_phone(phone, full=False) if phone else "",
        confirmed=row.confirmed_at is not None,
        booked_by_advisor=row.booked_by_id is not None,
        started=row.starts_at <= now,
    )


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=PARIS)


def appointments_between(
    session: Session,
    account: Account,
    place_id: str,
    first: date,
    last: date,
    now: datetime,
    *,
    advisor_id: int | None = None,
) -> list[AgendaEntry]:
    """A place's appointments (optionally one advisor's) from `first` to `last` included."""
    check_place(session, account, place_id)
    query = (
        select(Appointment, Resident.phone)
        .outerjoin(Resident, Resident.id == Appointment.resident_id)
        .options(joinedload(Appointment.advisor), joinedload(Appointment.motif_row))
        .where(
            Appointment.place_id == place_id,
            Appointment.starts_at >= _day_start(first),
            Appointment.starts_at < _day_start(last + timedelta(days=1)),
        )
        .order_by(Appointment.starts_at, Appointment.advisor_id, Appointment.id)
    )
    if advisor_id is not None:
        query = query.where(Appointment.advisor_id == advisor_id)
    return [_entry(row, phone, now) for row, phone in session.execute(query)]


def get_entry(
    session: Session, account: Account, appointment_id: int, now: datetime
) -> AgendaEntry:
    """One appointment of the account's places (NotVisible otherwise)."""
    row = _appointment(session, account, appointment_id)
    resident = session.get(Resident, row.resident_id) if row.resident_id else None
    return _entry(row, resident.phone if resident else None, now)


def mark_attendance(
    session: Session, account: Account, appointment_id: int, attendance: str | None, now: datetime
) -> AgendaEntry:
    """Record that the resident came (ATTENDED), did not (NO_SHOW), or clear it (None)."""
    if attendance not in (ATTENDED, NO_SHOW, None):
        raise ValueError(f"unknown attendance {attendance!r}")
    row = _appointment(session, account, appointment_id)
    if row.status != BOOKED:
        raise NotBooked(appointment_id)
    if row.starts_at > now:
        raise NotStarted(appointment_id)
    row.attendance = attendance
    row.attendance_marked_at = now if attendance is not None else None
    session.flush()
    return get_entry(session, account, appointment_id, now)


def free_slots_on(
    session: Session, account: Account, place_id: str, day: date, now: datetime
) -> list[Slot]:
    """The slots of that day still free to book at a place (none without agenda)."""
    check_place(session, account, place_id)
    try:
        return free_slots(
            session,
            place_id,
            _day_start(day),
            until=_day_start(day + timedelta(days=1)),
            limit=SLOTS_PER_DAY,
            now=now,
        )
    except NoAgenda:
        return []


def _tell(
    session: Session,
    resident: Resident,
    key: str,
    appointment: bookings.AppointmentInfo,
    dedupe: str,
    now: datetime,
) -> DeskChange:
    """Queue the SMS about this change, unless the resident opted out or has a landline."""
    reason = None
    if resident.opted_out:
        reason = OPTED_OUT
    elif reminders.channel_for(resident.phone) != outbox.SMS:
        reason = LANDLINE
    queued = False
    if reason is None:
        place = places.get_place(session, appointment.place_id)
        body = say(
            key,
            when=format_when(appointment.starts_at),
            place=appointment.place_name,
            address=f"{place.address}, {place.commune}" if place else "",
        )
        queued = outbox.enqueue(
            session,
            resident_id=resident.id,
            kind=outbox.TEXT,
            channel=outbox.SMS,
            dedupe_key=f"{dedupe}:{appointment.id}",
            due_at=now,
            now=now,
            appointment_id=appointment.id,
            body=body,
        )
    return DeskChange(appointment, resident.phone, queued, reason)


def book_for_resident(
    session: Session,
    account: Account,
    phone: str,
    advisor_id: int,
    starts_at: datetime,
    motif: str | None,
    now: datetime,
) -> DeskChange:
    """Book a slot for the resident at that number (created if new), as they would by SMS.

    Raises InvalidNumber, NotVisible, and the bookings errors (SlotTaken, SlotUnavailable,
    UnknownMotif). The appointment records who booked it; its reminders are scheduled.
    """
    check_advisor(session, account, advisor_id)
    number = normalise_number(phone)
    if not number.startswith("+"):
        raise InvalidNumber(phone)
    resident = get_or_create_resident(session, number, now)
    info = bookings.book_slot(session, resident.id, advisor_id, starts_at, motif, now)
    row = session.get(Appointment, info.id)
    assert row is not None
    row.booked_by_id = account.id
    session.flush()
    return _tell(session, resident, "desk.booked", info, "desk-booked", now)


def _resident_of(session: Session, row: Appointment) -> Resident:
    resident = session.get(Resident, row.resident_id) if row.resident_id else None
    if resident is None or row.status != BOOKED:
        raise NotBooked(row.id)
    return resident


def move_for_resident(
    session: Session,
    account: Account,
    appointment_id: int,
    advisor_id: int,
    starts_at: datetime,
    now: datetime,
) -> DeskChange:
    """Move an appointment to another free slot of the same place; the old one is freed for
    the waiting list, as when a resident moves it. Raises the bookings errors."""
    row = _appointment(session, account, appointment_id)
    resident = _resident_of(session, row)
    if check_advisor(session, account, advisor_id).place_id != row.place_id:
        raise NotVisible(advisor_id)
    info = bookings.move_appointment(session, row.id, resident.id, advisor_id, starts_at, now)
    if info.id == row.id:  # the same slot: nothing moved, nothing to tell
        return DeskChange(info, resident.phone, False, None)
    new = session.get(Appointment, info.id)
    assert new is not None
    new.booked_by_id = account.id
    session.flush()
    return _tell(session, resident, "desk.moved", info, "desk-moved", now)


def cancel_for_resident(
    session: Session, account: Account, appointment_id: int, now: datetime
) -> DeskChange:
    """Cancel a booked appointment; its slot goes to the waiting list and the resident is told."""
    row = _appointment(session, account, appointment_id)
    resident = _resident_of(session, row)
    info = bookings.cancel_appointment(session, row.id, resident.id, now)
    return _tell(session, resident, "desk.cancelled", info, "desk-cancelled", now)
