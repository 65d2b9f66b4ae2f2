"""Seats at group workshop sessions: registering, full sessions, cancelling, the waiting list
(SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.clock import PARIS
from bot.database import transaction
from bot.models import Workshop, WorkshopRegistration
from bot.runtime import Runtime
from bot.services.conversations import get_or_create_resident
from bot.services.waiting_list import first_in_line, join_waiting_list
from bot.services.workshop_seats import (
    AlreadyRegistered,
    RegistrationNotFound,
    SessionUnavailable,
    WorkshopFull,
    cancel_registration,
    next_workshop_sessions,
    register_for_workshop,
    upcoming_registrations,
)
from tests.conftest import DEFAULT_NOW

NOW = DEFAULT_NOW  # Monday 23 November 2026, 10:00
PUZZLE = "demo-puzzle-thionville"  # Thursdays 14:00-16:00, 8 seats
TURBINE = "demo-la-turbine-forbach"  # first Wednesday of the month 14:00-16:00, 6 seats


def paris(iso: str) -> datetime:
    """An aware Paris time from "2026-11-26 14:00"."""
    return datetime.fromisoformat(iso).replace(tzinfo=PARIS)


THURSDAY = paris("2026-11-26 14:00")
FIRST_WEDNESDAY = paris("2026-12-02 14:00")


def phone(n: int) -> str:
    return f"+336399800{n:02d}"  # ARCEP fiction range


def resident(runtime: Runtime, n: int) -> int:
    with transaction(runtime.sessions) as session:
        return get_or_create_resident(session, phone(n), NOW).id


def workshop(runtime: Runtime, place_id: str) -> int:
    with runtime.sessions() as session:
        return session.scalars(select(Workshop.id).where(Workshop.place_id == place_id)).one()


def register(runtime: Runtime, n: int, place_id: str = PUZZLE, start: datetime = THURSDAY) -> int:
    """Register resident n at that session in its own transaction; the seat number."""
    resident_id, workshop_id = resident(runtime, n), workshop(runtime, place_id)
    with transaction(runtime.sessions) as session:
        seat = register_for_workshop(session, resident_id, workshop_id, start, NOW).seat
    assert seat is not None
    return seat


def test_the_next_sessions_say_how_many_seats_are_left(runtime: Runtime) -> None:
    register(runtime, 1)
    register(runtime, 2)
    with runtime.sessions() as session:
        sessions = next_workshop_sessions(session, workshop(runtime, PUZZLE), NOW, 2, now=NOW)
    assert [(s.starts_at, s.ends_at.hour, s.seats_left) for s in sessions] == [
        (THURSDAY, 16, 6),
        (paris("2026-12-03 14:00"), 16, 8),
    ]


def test_the_next_sessions_skip_public_holidays(runtime: Runtime) -> None:
    now = paris("2027-04-28 10:00")  # Ascension is Thursday 6 May 2027
    with runtime.sessions() as session:
        sessions = next_workshop_sessions(session, workshop(runtime, PUZZLE), now, 3, now=now)
    assert [s.starts_at.date().isoformat() for s in sessions] == [
        "2027-04-29",
        "2027-05-13",
        "2027-05-20",
    ]


def test_a_session_starting_within_two_hours_is_not_offered(runtime: Runtime) -> None:
    now = paris("2026-11-26 12:30")
    with runtime.sessions() as session:
        (first,) = next_workshop_sessions(session, workshop(runtime, PUZZLE), now, 1, now=now)
    assert first.starts_at == paris("2026-12-03 14:00")


def test_registrations_take_the_lowest_free_seat(runtime: Runtime) -> None:
    assert [register(runtime, n) for n in (1, 2, 3)] == [1, 2, 3]
    with runtime.sessions() as session:
        (registration,) = upcoming_registrations(session, resident(runtime, 2), NOW)
    assert (registration.session_start, registration.seat) == (THURSDAY, 2)
    assert registration.session_start.tzinfo == PARIS


def test_a_full_session_refuses_one_more_resident(runtime: Runtime) -> None:
    assert [register(runtime, n, TURBINE, FIRST_WEDNESDAY) for n in range(6)] == [1, 2, 3, 4, 5, 6]
    with pytest.raises(WorkshopFull):
        register(runtime, 6, TURBINE, FIRST_WEDNESDAY)
    assert register(runtime, 6, TURBINE, paris("2027-01-06 14:00")) == 1  # next month's is free


def test_cancelling_gives_the_seat_back(runtime: Runtime) -> None:
    for n in range(6):
        register(runtime, n, TURBINE, FIRST_WEDNESDAY)
    second, third = resident(runtime, 1), resident(runtime, 2)
    with runtime.sessions() as session:
        (registration,) = upcoming_registrations(session, second, NOW)
    with transaction(runtime.sessions) as session:
        cancelled = cancel_registration(session, registration.id, second, NOW)
        assert (cancelled.status, cancelled.seat) == ("cancelled", None)
        # Twice is harmless; someone else's is not found.
        assert cancel_registration(session, registration.id, second, NOW).status == "cancelled"
        with pytest.raises(RegistrationNotFound):
            cancel_registration(session, registration.id, third, NOW)
    assert register(runtime, 7, TURBINE, FIRST_WEDNESDAY) == 2


def test_registering_twice_for_one_session_says_already_registered(runtime: Runtime) -> None:
    register(runtime, 1)
    with pytest.raises(AlreadyRegistered) as error:
        register(runtime, 1)
    assert error.value.registration.seat == 1


@pytest.mark.parametrize(
    "start",
    [
        "2026-11-26 15:00",  # not when the session starts
        "2026-11-27 14:00",  # a Friday
        "2026-11-19 14:00",  # last week
        "2027-05-06 14:00",  # Ascension Thursday
    ],
    ids=["wrong-time", "wrong-day", "past", "holiday"],
)
def test_a_time_that_is_not_a_session_is_refused(runtime: Runtime, start: str) -> None:
    with pytest.raises(SessionUnavailable):
        register(runtime, 1, PUZZLE, paris(start))


def test_a_session_starting_within_two_hours_is_refused(runtime: Runtime) -> None:
    resident_id, workshop_id = resident(runtime, 1), workshop(runtime, PUZZLE)
    with transaction(runtime.sessions) as session, pytest.raises(SessionUnavailable):
        register_for_workshop(
            session, resident_id, workshop_id, THURSDAY, THURSDAY - timedelta(hours=1)
        )


def test_the_database_refuses_one_seat_twice(runtime: Runtime) -> None:
    workshop_id = workshop(runtime, PUZZLE)
    first, second = resident(runtime, 1), resident(runtime, 2)

    def row(resident_id: int, start: datetime) -> WorkshopRegistration:
        return WorkshopRegistration(
            workshop_id=workshop_id,
            session_start=start,
            session_end=start + timedelta(hours=2),
            resident_id=resident_id,
            seat=1,
            status="booked",
            created_at=NOW,
        )

    with transaction(runtime.sessions) as session:
        session.add(row(first, THURSDAY))
    with pytest.raises(IntegrityError), transaction(runtime.sessions) as session:
        session.add(row(second, THURSDAY.astimezone(UTC)))
        session.flush()


def test_the_longest_waiting_resident_is_first_for_a_freed_seat(runtime: Runtime) -> None:
    workshop_id = workshop(runtime, PUZZLE)
    first, second = resident(runtime, 1), resident(runtime, 2)
    window = {"window_start": NOW, "window_end": NOW + timedelta(days=30)}
    with transaction(runtime.sessions) as session:
        join_waiting_list(session, first, NOW, workshop_id=workshop_id, **window)
        join_waiting_list(session, second, NOW + timedelta(1), workshop_id=workshop_id, **window)
    with runtime.sessions() as session:
        entry = first_in_line(session, THURSDAY, workshop_id=workshop_id)
        assert entry is not None and entry.resident_id == first
        assert first_in_line(session, THURSDAY, place_id=PUZZLE) is None
