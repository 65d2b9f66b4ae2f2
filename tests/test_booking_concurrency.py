"""Residents booking the same thing at the same instant, each in their own transaction: the last
slot goes to one of them and a workshop seats no more than its capacity (SQLite, whose writers
BEGIN IMMEDIATE, and PostgreSQL under READ COMMITTED when configured)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import PARIS
from bot.database import transaction
from bot.models import Advisor, Appointment, Workshop, WorkshopRegistration
from bot.runtime import Runtime
from bot.services.bookings import book_slot
from bot.services.conversations import get_or_create_resident
from bot.services.slots import free_slots
from bot.services.workshop_seats import register_for_workshop
from tests.conftest import DEFAULT_NOW

NOW = DEFAULT_NOW  # Monday 23 November 2026, 10:00
THIPI = "demo-thipi-thionville"  # Sébastien, Tuesday 24: 09:00, 09:45, 10:30, 11:15
LAST_SLOT = datetime(2026, 11, 24, 11, 15, tzinfo=PARIS)
PUZZLE_THURSDAY = datetime(2026, 11, 26, 14, tzinfo=PARIS)  # Le Puzzle, 8 seats


def residents(runtime: Runtime, count: int) -> list[int]:
    with transaction(runtime.sessions) as session:
        return [get_or_create_resident(session, f"+336399{n:05d}", NOW).id for n in range(count)]


def all_at_once(runtime: Runtime, attempts: list[Callable[[Session], object]]) -> Counter[str]:
    """Run each attempt in its own thread and transaction, released together; count outcomes."""
    barrier = threading.Barrier(len(attempts))
    outcomes: list[str] = [""] * len(attempts)

    def run(index: int) -> None:
        barrier.wait()
        try:
            with transaction(runtime.sessions) as session:
                attempts[index](session)
            outcomes[index] = "ok"
        except Exception as error:  # counted, so that any unexpected error fails the test
            outcomes[index] = type(error).__name__

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(attempts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return Counter(outcomes)


def test_fifty_residents_booking_the_last_free_slot_at_once_get_it_once(
    runtime: Runtime,
) -> None:
    people = residents(runtime, 51)
    with transaction(runtime.sessions) as session:
        sebastien = session.scalars(
            select(Advisor.id).where(Advisor.ref == "thipi-sebastien")
        ).one()
        for slot in free_slots(session, THIPI, NOW, now=NOW, limit=3):  # all but 11:15 on Tuesday
            book_slot(session, people[0], sebastien, slot.starts_at, None, NOW)
        (last,) = free_slots(session, THIPI, NOW, now=NOW, limit=1)
    assert last.starts_at == LAST_SLOT

    def attempt(resident_id: int) -> Callable[[Session], object]:
        return lambda session: book_slot(session, resident_id, sebastien, LAST_SLOT, "email", NOW)

    outcomes = all_at_once(runtime, [attempt(r) for r in people[1:]])

    assert outcomes == Counter({"ok": 1, "SlotTaken": 49})
    with runtime.sessions() as session:
        holders = session.scalars(
            select(Appointment.resident_id).where(
                Appointment.starts_at == LAST_SLOT, Appointment.status == "booked"
            )
        ).all()
    assert len(holders) == 1 and holders[0] in people[1:]


def test_thirty_residents_registering_for_eight_seats_at_once_get_eight(
    runtime: Runtime,
) -> None:
    people = residents(runtime, 30)
    with runtime.sessions() as session:
        workshop = session.scalars(
            select(Workshop).where(Workshop.place_id == "demo-puzzle-thionville")
        ).one()
        workshop_id = workshop.id
    assert workshop.seats == 8

    def attempt(resident_id: int) -> Callable[[Session], object]:
        return lambda session: register_for_workshop(
            session, resident_id, workshop_id, PUZZLE_THURSDAY, NOW
        )

    outcomes = all_at_once(runtime, [attempt(r) for r in people])

    assert outcomes == Counter({"ok": 8, "WorkshopFull": 22})
    with runtime.sessions() as session:
        seats = session.scalars(
            select(WorkshopRegistration.seat).where(
                WorkshopRegistration.workshop_id == workshop_id,
                WorkshopRegistration.status == "booked",
            )
        ).all()
    assert sorted(seats) == list(range(1, 9))  # type: ignore[type-var]
