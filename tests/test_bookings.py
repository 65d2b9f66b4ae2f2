"""Booking, cancelling and moving one-to-one appointments; the appointment waiting list
(SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot.clock import PARIS
from bot.database import transaction
from bot.models import Advisor, Appointment
from bot.runtime import Runtime
from bot.services.bookings import (
    AppointmentNotFound,
    AppointmentPast,
    SlotTaken,
    SlotUnavailable,
    UnknownMotif,
    book_slot,
    cancel_appointment,
    move_appointment,
    upcoming_appointments,
)
from bot.services.conversations import get_or_create_resident
from bot.services.slots import free_slots
from bot.services.waiting_list import first_in_line, join_waiting_list, leave_waiting_list
from tests.conftest import DEFAULT_NOW

NOW = DEFAULT_NOW  # Monday 23 November 2026, 10:00
THIPI = "demo-thipi-thionville"  # Sébastien, Tu Th 09:00-12:00, 45 min
CRETEIL = "demo-mediatheque-creteil"  # Nadia, Tu Fr 14:00-17:00, 30 min
ALICE, BRUNO = "+33639980042", "+33639980043"  # ARCEP fiction range


def paris(iso: str) -> datetime:
    """An aware Paris time from "2026-11-24 09:00"."""
    return datetime.fromisoformat(iso).replace(tzinfo=PARIS)


TUESDAY_9 = paris("2026-11-24 09:00")
TUESDAY_9_45 = paris("2026-11-24 09:45")


def resident(runtime: Runtime, phone: str) -> int:
    with transaction(runtime.sessions) as session:
        return get_or_create_resident(session, phone, NOW).id


def advisor(runtime: Runtime, ref: str = "thipi-sebastien") -> int:
    with runtime.sessions() as session:
        return session.scalars(select(Advisor.id).where(Advisor.ref == ref)).one()


def book(
    runtime: Runtime,
    phone: str,
    starts_at: datetime,
    motif: str | None = "email",
    *,
    ref: str = "thipi-sebastien",
    now: datetime = NOW,
) -> int:
    """Book an advisor (Sébastien) for that number in its own transaction; the appointment id."""
    resident_id, advisor_id = resident(runtime, phone), advisor(runtime, ref)
    with transaction(runtime.sessions) as session:
        return book_slot(session, resident_id, advisor_id, starts_at, motif, now).id


def free_starts(runtime: Runtime, limit: int = 2) -> list[datetime]:
    with runtime.sessions() as session:
        return [s.starts_at for s in free_slots(session, THIPI, NOW, now=NOW, limit=limit)]


def booked_count(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        query = select(func.count()).select_from(Appointment).where(Appointment.status == "booked")
        return int(session.scalar(query) or 0)


def test_a_booked_slot_is_the_residents_and_no_longer_offered(runtime: Runtime) -> None:
    book(runtime, ALICE, TUESDAY_9, motif="demarche-en-ligne")
    with runtime.sessions() as session:
        (appointment,) = upcoming_appointments(session, resident(runtime, ALICE), NOW)
    assert (appointment.advisor_name, appointment.place_name) == (
        "Sébastien",
        "Pôle numérique THI'PI",
    )
    assert appointment.starts_at == TUESDAY_9 and appointment.starts_at.tzinfo == PARIS
    assert appointment.ends_at == paris("2026-11-24 09:45")
    assert appointment.motif_label == "démarche en ligne (CAF, ameli, impôts, ANTS, CESU...)"
    assert free_starts(runtime) == [TUESDAY_9_45, paris("2026-11-24 10:30")]


def test_booking_a_slot_already_booked_raises_slot_taken(runtime: Runtime) -> None:
    book(runtime, ALICE, TUESDAY_9)
    with pytest.raises(SlotTaken):
        book(runtime, BRUNO, TUESDAY_9)
    with pytest.raises(SlotTaken):  # the same resident twice, too
        book(runtime, ALICE, TUESDAY_9)
    assert booked_count(runtime) == 1


def test_a_taken_slot_leaves_the_callers_transaction_usable(runtime: Runtime) -> None:
    book(runtime, ALICE, TUESDAY_9)
    bruno, sebastien = resident(runtime, BRUNO), advisor(runtime)
    with transaction(runtime.sessions) as session:
        with pytest.raises(SlotTaken):
            book_slot(session, bruno, sebastien, TUESDAY_9, None, NOW)
        book_slot(session, bruno, sebastien, TUESDAY_9_45, None, NOW)
    with runtime.sessions() as session:
        assert [a.starts_at for a in upcoming_appointments(session, bruno, NOW)] == [TUESDAY_9_45]


def test_the_database_refuses_two_booked_appointments_for_one_advisor_and_start(
    runtime: Runtime,
) -> None:
    alice, bruno, sebastien = resident(runtime, ALICE), resident(runtime, BRUNO), advisor(runtime)

    def row(resident_id: int, status: str, starts_at: datetime = TUESDAY_9) -> Appointment:
        return Appointment(
            advisor_id=sebastien,
            place_id=THIPI,
            resident_id=resident_id,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=45),
            status=status,
            created_at=NOW,
            cancelled_at=NOW if status == "cancelled" else None,
        )

    with transaction(runtime.sessions) as session:
        # Cancelled appointments keep their history and do not hold the slot.
        session.add_all([row(alice, "cancelled"), row(alice, "booked"), row(bruno, "cancelled")])
    with pytest.raises(IntegrityError), transaction(runtime.sessions) as session:
        # The same instant written in UTC rather than Paris time is still the same start.
        session.add(row(bruno, "booked", TUESDAY_9.astimezone(UTC)))
        session.flush()
    assert booked_count(runtime) == 1


@pytest.mark.parametrize(
    ("ref", "starts_at", "now"),
    [
        ("thipi-sebastien", "2026-11-24 09:10", NOW),  # not on the 45-minute grid
        ("thipi-sebastien", "2026-11-25 09:00", NOW),  # Wednesday: not his day
        ("thipi-sebastien", "2026-11-24 09:45", paris("2026-11-24 08:00")),  # within 2 hours
        ("thipi-sebastien", "2026-11-17 09:00", NOW),  # last week
        ("thipi-sebastien", "2027-03-02 09:00", NOW),  # beyond three months
        ("creteil-nadia", "2026-12-25 14:00", NOW),  # Christmas, a Friday
        ("creteil-nadia", "2026-12-26 14:00", NOW),  # Saturday
    ],
    ids=["off-grid", "other-day", "too-soon", "past", "too-far", "christmas", "saturday"],
)
def test_a_time_that_is_not_a_bookable_slot_is_unavailable(
    runtime: Runtime, ref: str, starts_at: str, now: datetime
) -> None:
    with pytest.raises(SlotUnavailable):
        book(runtime, ALICE, paris(starts_at), ref=ref, now=now)
    assert booked_count(runtime) == 0


def test_an_unknown_motif_is_refused(runtime: Runtime) -> None:
    with pytest.raises(UnknownMotif):
        book(runtime, ALICE, TUESDAY_9, motif="banque")


def test_cancelling_frees_the_slot(runtime: Runtime) -> None:
    appointment_id = book(runtime, ALICE, TUESDAY_9)
    alice = resident(runtime, ALICE)
    with transaction(runtime.sessions) as session:
        cancelled = cancel_appointment(session, appointment_id, alice, NOW)
    assert cancelled.status == "cancelled"
    assert free_starts(runtime, 1) == [TUESDAY_9]
    with transaction(runtime.sessions) as session:  # cancelling twice changes nothing
        assert cancel_appointment(session, appointment_id, alice, NOW).status == "cancelled"
        assert upcoming_appointments(session, alice, NOW) == []
    book(runtime, BRUNO, TUESDAY_9)
    assert booked_count(runtime) == 1


def test_a_resident_cannot_cancel_someone_elses_appointment(runtime: Runtime) -> None:
    appointment_id = book(runtime, ALICE, TUESDAY_9)
    bruno = resident(runtime, BRUNO)
    with transaction(runtime.sessions) as session, pytest.raises(AppointmentNotFound):
        cancel_appointment(session, appointment_id, bruno, NOW)
    assert booked_count(runtime) == 1


def test_an_appointment_that_has_started_can_no_longer_be_cancelled(runtime: Runtime) -> None:
    appointment_id = book(runtime, ALICE, TUESDAY_9)
    alice = resident(runtime, ALICE)
    with transaction(runtime.sessions) as session, pytest.raises(AppointmentPast):
        cancel_appointment(session, appointment_id, alice, paris("2026-11-24 09:05"))


def test_moving_books_the_new_slot_and_cancels_the_old_one(runtime: Runtime) -> None:
    old_id = book(runtime, ALICE, TUESDAY_9, motif="cv-emploi")
    alice, sebastien = resident(runtime, ALICE), advisor(runtime)
    thursday = paris("2026-11-26 09:45")
    with transaction(runtime.sessions) as session:
        new = move_appointment(session, old_id, alice, sebastien, thursday, NOW)
    assert (new.starts_at, new.moved_from_id, new.motif) == (thursday, old_id, "cv-emploi")
    with runtime.sessions() as session:
        assert [a.id for a in upcoming_appointments(session, alice, NOW)] == [new.id]
    assert free_starts(runtime, 1) == [TUESDAY_9]


def test_moving_to_another_place_works_too(runtime: Runtime) -> None:
    old_id = book(runtime, ALICE, TUESDAY_9)
    alice, nadia = resident(runtime, ALICE), advisor(runtime, "creteil-nadia")
    with transaction(runtime.sessions) as session:
        new = move_appointment(session, old_id, alice, nadia, paris("2026-11-24 14:00"), NOW)
    assert (new.place_id, new.advisor_name) == (CRETEIL, "Nadia")


@pytest.mark.parametrize("new_time", ["2026-11-24 09:45", "2026-11-24 09:10"])
def test_moving_to_a_slot_that_fails_keeps_the_old_appointment(
    runtime: Runtime, new_time: str
) -> None:
    old_id = book(runtime, ALICE, TUESDAY_9)
    book(runtime, BRUNO, TUESDAY_9_45)
    alice, sebastien = resident(runtime, ALICE), advisor(runtime)
    with pytest.raises((SlotTaken, SlotUnavailable)), transaction(runtime.sessions) as session:
        move_appointment(session, old_id, alice, sebastien, paris(new_time), NOW)
    with runtime.sessions() as session:
        kept = upcoming_appointments(session, alice, NOW)
    assert [(a.id, a.starts_at, a.status) for a in kept] == [(old_id, TUESDAY_9, "booked")]


def test_a_slot_taken_while_moving_leaves_the_transaction_and_old_slot_usable(
    runtime: Runtime,
) -> None:
    old_id = book(runtime, ALICE, TUESDAY_9)
    book(runtime, BRUNO, TUESDAY_9_45)
    alice, sebastien = resident(runtime, ALICE), advisor(runtime)
    with transaction(runtime.sessions) as session:
        with pytest.raises(SlotTaken):
            move_appointment(session, old_id, alice, sebastien, TUESDAY_9_45, NOW)
        # The flow offers another slot in the same transaction.
        later = paris("2026-11-24 10:30")
        assert move_appointment(session, old_id, alice, sebastien, later, NOW).starts_at == later
    assert booked_count(runtime) == 2


def test_the_longest_waiting_resident_whose_window_fits_is_first_in_line(
    runtime: Runtime,
) -> None:
    alice, bruno = resident(runtime, ALICE), resident(runtime, BRUNO)
    week = (paris("2026-11-30 00:00"), paris("2026-12-07 00:00"))
    with transaction(runtime.sessions) as session:
        join_waiting_list(
            session, alice, NOW, place_id=THIPI, window_start=week[0], window_end=week[1]
        )
        join_waiting_list(
            session,
            bruno,
            NOW + timedelta(minutes=5),
            place_id=THIPI,
            window_start=week[0] - timedelta(days=7),
            window_end=week[1],
        )

    def first(starts_at: datetime, place_id: str = THIPI) -> int | None:
        with runtime.sessions() as session:
            entry = first_in_line(session, starts_at, place_id=place_id)
        return entry.resident_id if entry is not None else None

    assert first(paris("2026-12-01 09:00")) == alice  # both fit: Alice asked first
    assert first(TUESDAY_9) == bruno  # only Bruno's window holds this week
    assert first(paris("2026-12-08 09:00")) is None
    assert first(TUESDAY_9, CRETEIL) is None


def test_joining_a_waiting_list_again_updates_the_window_and_keeps_the_turn(
    runtime: Runtime,
) -> None:
    alice = resident(runtime, ALICE)
    with transaction(runtime.sessions) as session:
        first = join_waiting_list(
            session,
            alice,
            NOW,
            place_id=THIPI,
            window_start=NOW,
            window_end=NOW + timedelta(days=7),
        )
        again = join_waiting_list(
            session,
            alice,
            NOW + timedelta(hours=1),
            place_id=THIPI,
            window_start=NOW,
            window_end=NOW + timedelta(days=14),
        )
    assert again.id == first.id and again.created_at == first.created_at
    assert again.window_end == NOW + timedelta(days=14)
    with transaction(runtime.sessions) as session:
        assert leave_waiting_list(session, first.id, alice, NOW).status == "cancelled"
        assert first_in_line(session, TUESDAY_9, place_id=THIPI) is None
