"""What the outbox and dispatcher tests share: the demo appointment, the times, and helpers to
book, run the dispatcher at a given time and read the outbox back (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from bot import clock
from bot.clock import PARIS
from bot.database import transaction
from bot.dispatch import Dispatcher, DispatchReport
from bot.dispatch.render import render_text
from bot.models import Advisor, Appointment, OutboundMessage, Resident
from bot.runtime import Runtime
from bot.services import outbox, reminders
from bot.services.bookings import book_slot
from bot.services.conversations import get_or_create_resident
from bot.services.gateway import SmsGateway
from tests.conftest import DEFAULT_NOW, PUBLIC_URL, SERVICE_NUMBER, gsm
from tests.twilio_server import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    FakeTwilio,
)

NOW = DEFAULT_NOW  # Monday 23 November 2026, 10:00, Paris
ALICE, BRUNO = "+33639980042", "+33639980043"  # ARCEP fiction range (mobile)
THIPI = "demo-thipi-thionville"  # Sébastien, Tu Th 09:00-12:00, 45 min
SEBASTIEN = "thipi-sebastien"
LEASE = timedelta(minutes=2)


def paris(iso: str) -> datetime:
    """An aware Paris time from "2026-11-26 11:15"."""
    return datetime.fromisoformat(iso).replace(tzinfo=PARIS)


THURSDAY_11_15 = paris("2026-11-26 11:15")
DAY_BEFORE = paris("2026-11-25 10:00")  # Wednesday 10:00
TWO_HOURS_BEFORE = paris("2026-11-26 09:15")


def make_gateway(server: FakeTwilio, timeout: float = 5) -> SmsGateway:
    return SmsGateway(ACCOUNT_SID, AUTH_TOKEN, SERVICE_NUMBER, api_url=server.url, timeout=timeout)


def make_dispatcher(runtime: Runtime, gateway: SmsGateway, worker: str) -> Dispatcher:
    return Dispatcher(runtime.sessions, gateway, public_url=PUBLIC_URL, worker=worker, lease=LEASE)


def run_at(d: Dispatcher, at: datetime) -> DispatchReport:
    """One dispatcher pass at `at` (the fake Twilio dates what it creates with that clock)."""
    clock.freeze(at)
    return d.run_once(at)


def resident(runtime: Runtime, phone: str) -> int:
    with transaction(runtime.sessions) as session:
        return get_or_create_resident(session, phone, NOW).id


def advisor(runtime: Runtime, ref: str = SEBASTIEN) -> int:
    with runtime.sessions() as session:
        return session.scalars(select(Advisor.id).where(Advisor.ref == ref)).one()


def book(runtime: Runtime, phone: str, starts_at: datetime = THURSDAY_11_15) -> int:
    """Book Sébastien for that number at NOW; the appointment id."""
    resident_id, advisor_id = resident(runtime, phone), advisor(runtime)
    with transaction(runtime.sessions) as session:
        return book_slot(session, resident_id, advisor_id, starts_at, "email", NOW).id


def insert_appointment(runtime: Runtime, phone: str, starts_at: datetime) -> int:
    """An appointment row outside the agendas (any start), with its reminders scheduled at NOW."""
    resident_id, advisor_id = resident(runtime, phone), advisor(runtime)
    with transaction(runtime.sessions) as session:
        row = Appointment(
            advisor_id=advisor_id,
            place_id=THIPI,
            resident_id=resident_id,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=45),
            status="booked",
            created_at=NOW,
        )
        session.add(row)
        session.flush()
        reminders.schedule_reminders(session, row, NOW)
        return row.id


def messages(runtime: Runtime, appointment_id: int | None = None) -> list[OutboundMessage]:
    """Outbox rows (detached), by due time."""
    with runtime.sessions() as session:
        query = select(OutboundMessage).order_by(OutboundMessage.due_at, OutboundMessage.id)
        if appointment_id is not None:
            query = query.where(OutboundMessage.appointment_id == appointment_id)
        return list(session.scalars(query))


def message(runtime: Runtime, message_id: int) -> OutboundMessage:
    with runtime.sessions() as session:
        row = session.get(OutboundMessage, message_id)
        assert row is not None
        return row


def opted_out(runtime: Runtime, phone: str) -> bool:
    with runtime.sessions() as session:
        row = session.scalar(select(Resident).where(Resident.phone == phone))
        return bool(row and row.opted_out)


def reminder_text(
    when: str = "jeudi 26 novembre à 11h15",
    place: str = "Pôle numérique THI'PI",
    address: str = "12 rue du Cygne, Thionville",
) -> str:
    """The reminder as the resident receives it (GSM-7)."""
    return gsm(
        f"Rappel : rendez-vous le {when}, {place}, {address}. Répondez OUI pour confirmer, "
        "ANNULER pour libérer la place, DECALER pour changer."
    )


def claim_and_render(runtime: Runtime, at: datetime, worker: str = "dead-worker") -> int:
    """What a dispatcher commits before sending: the claim under a lease and the text."""
    with transaction(runtime.sessions) as session:
        [claimed] = outbox.claim_due(session, at, worker, 1, LEASE)
        rendered = render_text(session, claimed, at)
        assert rendered is not None
        outbox.set_bodies(session, {claimed.id: rendered.content})
        return claimed.id
