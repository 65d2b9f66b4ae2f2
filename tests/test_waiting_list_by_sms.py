"""A resident joins a waiting list by SMS when the wished day is full; a cancellation holds the
slot (or workshop seat) for them, an SMS offers it, OUI takes it, NON or silence passes it on
(SQLite, and PostgreSQL when configured).

The clock starts frozen at Monday 2026-11-23 10:00 (Paris). THI'PI Thionville (Sébastien)
has four slots on Thursday 26 November: 9:00, 9:45, 10:30 and 11:15. An offer is held for
3 hours. Le Puzzle's workshop: Thursdays 14:00-16:00, 8 seats.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bot.clock import PARIS
from bot.database import transaction
from bot.models import (
    Advisor,
    Appointment,
    OutboundMessage,
    Resident,
    WaitingListEntry,
    WaitingOffer,
    Workshop,
    WorkshopRegistration,
)
from bot.runtime import Runtime
from bot.services import bookings
from bot.services.conversations import get_or_create_resident
from bot.services.workshop_seats import cancel_registration, register_for_workshop
from tests.conftest import DEFAULT_NOW, RESIDENT, Clock, Twilio, gsm
from tests.sms_phones import Phones, dispatch_once, phones_for

A = RESIDENT
B = "+33639980043"
C = "+33639980044"
THIPI = "demo-thipi-thionville"
PUZZLE = "demo-puzzle-thionville"
THURSDAY = datetime(2026, 11, 26, 0, 0, tzinfo=PARIS)
THURSDAY_SLOTS = [
    datetime(2026, 11, 26, 9, 0, tzinfo=PARIS) + timedelta(minutes=45 * n) for n in range(4)
]
B_SLOT = THURSDAY_SLOTS[1]  # 9:45
WORKSHOP_START = datetime(2026, 11, 26, 14, 0, tzinfo=PARIS)
WORKSHOP_END = datetime(2026, 11, 26, 16, 0, tzinfo=PARIS)


def at(hour: int, minute: int = 0) -> datetime:
    """That time on Monday 23 November."""
    return datetime(2026, 11, 23, hour, minute, tzinfo=PARIS)


@pytest.fixture
def phones(twilio: Twilio, caplog: pytest.LogCaptureFixture) -> Phones:
    return phones_for(twilio, caplog)


def _resident_id(runtime: Runtime, phone: str) -> int:
    with transaction(runtime.sessions) as session:
        return get_or_create_resident(session, phone, DEFAULT_NOW).id


def _fill_thursday(runtime: Runtime) -> None:
    """B takes Thursday 9:45 at THI'PI, neighbours the three other slots (through the service)."""
    with transaction(runtime.sessions) as session:
        advisor = session.scalars(select(Advisor).where(Advisor.ref == "thipi-sebastien")).one()
        for n, starts_at in enumerate(THURSDAY_SLOTS):
            phone = B if starts_at == B_SLOT else f"+336399800{n + 50:02d}"
            resident = get_or_create_resident(session, phone, DEFAULT_NOW)
            bookings.book_slot(session, resident.id, advisor.id, starts_at, None, DEFAULT_NOW)


def _slot_holders(runtime: Runtime, starts_at: datetime = B_SLOT) -> list[tuple[str, str]]:
    """Who occupies or occupied THI'PI's slot: (phone, status), oldest first."""
    with runtime.sessions() as session:
        rows = session.execute(
            select(Resident.phone, Appointment.status)
            .join(Resident, Resident.id == Appointment.resident_id)
            .where(Appointment.place_id == THIPI, Appointment.starts_at == starts_at)
            .order_by(Appointment.id)
        )
        return [(phone, status) for phone, status in rows]


def _entries(runtime: Runtime, phone: str) -> list[WaitingListEntry]:
    with runtime.sessions() as session:
        return list(
            session.scalars(
                select(WaitingListEntry)
                .join(Resident, Resident.id == WaitingListEntry.resident_id)
                .where(Resident.phone == phone)
            )
        )


def _offers(runtime: Runtime, phone: str) -> list[WaitingOffer]:
    with runtime.sessions() as session:
        return list(
            session.scalars(
                select(WaitingOffer)
                .join(Resident, Resident.id == WaitingOffer.resident_id)
                .where(Resident.phone == phone)
                .order_by(WaitingOffer.id)
            )
        )


def _outbox(runtime: Runtime, phone: str, kind: str | None = None) -> list[OutboundMessage]:
    with runtime.sessions() as session:
        query = (
            select(OutboundMessage)
            .join(Resident, Resident.id == OutboundMessage.resident_id)
            .where(Resident.phone == phone)
            .order_by(OutboundMessage.due_at, OutboundMessage.id)
        )
        if kind is not None:
            query = query.where(OutboundMessage.kind == kind)
        return list(session.scalars(query))


def _join_thursday_waiting_list(phones: Phones, phone: str) -> tuple[str, str]:
    key, slots = phones.send(phone, "je voudrais un rdv jeudi à Thionville")
    assert key == "booking.slots"
    assert gsm(
        "Répondez ATTENTE pour être prévenu si une place se libère le jeudi 26 novembre."
    ) in (slots), slots
    assert "jeudi 26" not in slots.split("\n", 1)[1].split("Répondez")[0]  # Thursday is full
    return phones.send(phone, "ATTENTE")


def _offer_text(until: str) -> str:
    return gsm(
        "Bonne nouvelle : un rendez-vous s'est libéré le jeudi 26 novembre à 9h45, "
        f"Pôle numérique THI'PI. Il est gardé pour vous jusqu'à {until}. "
        "Répondez OUI pour le prendre, NON sinon."
    )


def _b_cancels(phones: Phones, frozen: Clock) -> None:
    frozen.set("2026-11-23T10:10:00+01:00")
    key, asked = phones.send(B, "annulez mon rendez-vous")
    assert key == "cancel.confirm"
    assert "jeudi 26 novembre à 9h45" in asked
    assert phones.send(B, "oui")[0] == "cancel.done"


def _a_waits_and_b_cancels(phones: Phones, runtime: Runtime, frozen: Clock) -> None:
    """A joins the Thursday waiting list, B cancels 9:45, the dispatcher sends A the offer."""
    _fill_thursday(runtime)
    key, _ = _join_thursday_waiting_list(phones, A)
    assert key == "waiting.joined"
    _b_cancels(phones, frozen)
    assert dispatch_once(runtime, at(10, 10)).sent == 1


def test_a_full_day_offers_the_waiting_list_and_attente_joins_it(
    phones: Phones, runtime: Runtime
) -> None:
    _fill_thursday(runtime)
    key, slots = phones.send(A, "je voudrais un rdv jeudi à Thionville")
    assert key == "booking.slots"
    assert "1 mardi 24 novembre à 9h\n" in slots
    assert slots.endswith(
        gsm("Répondez ATTENTE pour être prévenu si une place se libère le jeudi 26 novembre.")
    ), slots
    key, joined = phones.send(A, "ATTENTE")
    assert key == "waiting.joined"
    assert joined == gsm(
        "C'est noté : si une place se libère le jeudi 26 novembre à Pôle numérique THI'PI, "
        "je vous préviens par SMS."
    )
    (entry,) = _entries(runtime, A)
    assert (entry.place_id, entry.workshop_id, entry.status) == (THIPI, None, "waiting")
    assert (entry.window_start, entry.window_end) == (THURSDAY, THURSDAY + timedelta(days=1))
    assert A not in {phone for slot in THURSDAY_SLOTS for phone, _ in _slot_holders(runtime, slot)}


def test_a_cancellation_holds_the_slot_for_the_waiting_resident_and_queues_an_offer(
    phones: Phones, runtime: Runtime, frozen: Clock
) -> None:
    _fill_thursday(runtime)
    _join_thursday_waiting_list(phones, A)
    _b_cancels(phones, frozen)
    assert _slot_holders(runtime) == [(B, "cancelled"), (A, "held")]
    (offer,) = _offers(runtime, A)
    assert offer.status == "offered"
    assert offer.expires_at == at(13, 10)
    (message,) = _outbox(runtime, A)
    assert (message.kind, message.status, message.offer_id) == (
        "waiting_offer",
        "pending",
        offer.id,
    )
    assert message.due_at == at(10, 10)
    # B's reminders are dropped with the appointment.
    assert {m.status for m in _outbox(runtime, B)} == {"cancelled"}
    # Nobody else can book the held slot meanwhile.
    key, slots = phones.send(C, "je voudrais un rdv jeudi à Thionville")
    assert "jeudi 26 novembre à 9h45" not in slots and "ATTENTE" in slots


def test_the_offer_sms_says_the_slot_until_when_and_oui(
    phones: Phones, runtime: Runtime, frozen: Clock
) -> None:
    _a_waits_and_b_cancels(phones, runtime, frozen)
    (message,) = _outbox(runtime, A)
    assert message.status == "sent" and message.sent_at == at(10, 10)
    assert gsm(message.body or "") == _offer_text("13h10")


def test_oui_to_the_offer_books_the_slot_and_schedules_its_reminders(
    phones: Phones, runtime: Runtime, frozen: Clock
) -> None:
    _a_waits_and_b_cancels(phones, runtime, frozen)
    frozen.set("2026-11-23T11:00:00+01:00")
    key, reply = phones.send(A, "OUI")
    assert key == "offer.accepted_slot"
    assert reply == gsm(
        "C'est à vous : rendez-vous le jeudi 26 novembre à 9h45, Pôle numérique THI'PI, "
        "12 rue du Cygne, Thionville. Apportez une pièce d'identité et l'appareil concerné."
    )
    assert _slot_holders(runtime) == [(B, "cancelled"), (A, "booked")]
    (offer,) = _offers(runtime, A)
    assert (offer.status, offer.answered_at) == ("accepted", at(11))
    (entry,) = _entries(runtime, A)
    assert entry.status == "served"
    offer_sms, *reminders = _outbox(runtime, A)
    assert (offer_sms.kind, offer_sms.answer) == ("waiting_offer", "yes")
    assert [(r.kind, r.due_at, r.status) for r in reminders] == [
        ("reminder", datetime(2026, 11, 25, 10, 0, tzinfo=PARIS), "pending"),
        ("reminder", datetime(2026, 11, 26, 8, 30, tzinfo=PARIS), "pending"),
    ]
    key, seen = phones.send(A, "c'est quand mon rdv ?")
    assert key == "appointments.one" and "jeudi 26 novembre à 9h45" in seen


def test_non_passes_the_slot_to_the_next_waiting_resident(
    phones: Phones, runtime: Runtime, frozen: Clock
) -> None:
    _fill_thursday(runtime)
    _join_thursday_waiting_list(phones, A)
    frozen.set("2026-11-23T10:05:00+01:00")
    assert _join_thursday_waiting_list(phones, C)[0] == "waiting.joined"
    _b_cancels(phones, frozen)
    assert dispatch_once(runtime, at(10, 10)).sent == 1  # only the first in line is asked
    assert _outbox(runtime, C) == []
    frozen.set("2026-11-23T10:30:00+01:00")
    key, reply = phones.send(A, "NON")
    assert key == "offer.declined"
    assert reply == gsm(
        "D'accord, je le propose à quelqu'un d'autre. Vous restez sur la liste d'attente."
    )
    assert _slot_holders(runtime) == [(B, "cancelled"), (A, "cancelled"), (C, "held")]
    assert [o.status for o in _offers(runtime, A)] == ["declined"]
    assert [e.status for e in _entries(runtime, A)] == ["waiting"]
    (offer,) = _offers(runtime, C)
    assert offer.expires_at == at(13, 30)
    assert dispatch_once(runtime, at(10, 30)).sent == 1
    (message,) = _outbox(runtime, C)
    assert gsm(message.body or "") == _offer_text("13h30")
    key, _ = phones.send(C, "oui")
    assert key == "offer.accepted_slot"
    assert _slot_holders(runtime)[-1] == (C, "booked")


def test_non_with_nobody_else_waiting_frees_the_slot(
    phones: Phones, runtime: Runtime, frozen: Clock
) -> None:
    _a_waits_and_b_cancels(phones, runtime, frozen)
    assert phones.send(A, "non merci")[0] == "offer.declined"
    assert _slot_holders(runtime) == [(B, "cancelled"), (A, "cancelled")]
    # Freed: it is listed again, to anyone.
    key, slots = phones.send(C, "je voudrais un rdv jeudi à Thionville")
    assert "1 jeudi 26 novembre à 9h45" in slots
    # A declined once: A is not asked for the same slot again.
    assert dispatch_once(runtime, at(10, 20)).sent == 0


def test_a_polite_merci_does_not_take_the_offered_slot(
    phones: Phones, runtime: Runtime, frozen: Clock
) -> None:
    _a_waits_and_b_cancels(phones, runtime, frozen)
    key, _ = phones.send(A, "merci")
    assert key != "offer.accepted_slot"
    assert _slot_holders(runtime)[-1] == (A, "held")  # still offered, still A's to take
    assert phones.send(A, "oui")[0] == "offer.accepted_slot"


def test_saying_one_cannot_to_an_offer_declines_it(
    phones: Phones, runtime: Runtime, frozen: Clock
) -> None:
    _a_waits_and_b_cancels(phones, runtime, frozen)
    assert phones.send(A, "je ne peux pas ce jour-là")[0] == "offer.declined"
    assert _slot_holders(runtime) == [(B, "cancelled"), (A, "cancelled")]


def test_a_slot_freed_in_the_evening_is_offered_the_next_morning(
    phones: Phones, runtime: Runtime, frozen: Clock
) -> None:
    _fill_thursday(runtime)
    _join_thursday_waiting_list(phones, A)
    frozen.set("2026-11-23T21:00:00+01:00")
    phones.send(B, "annulez mon rendez-vous")
    assert phones.send(B, "oui")[0] == "cancel.done"
    assert dispatch_once(runtime, at(21, 5)).sent == 0  # nobody is texted at night
    (offer,) = _offers(runtime, A)
    assert offer.expires_at == datetime(2026, 11, 24, 11, 30, tzinfo=PARIS)
    assert dispatch_once(runtime, datetime(2026, 11, 24, 8, 30, tzinfo=PARIS)).sent == 1


def test_an_unanswered_offer_expires_and_goes_to_the_next_in_line(
    phones: Phones, runtime: Runtime, frozen: Clock
) -> None:
    _fill_thursday(runtime)
    _join_thursday_waiting_list(phones, A)
    frozen.set("2026-11-23T10:05:00+01:00")
    _join_thursday_waiting_list(phones, C)
    _b_cancels(phones, frozen)
    assert dispatch_once(runtime, at(10, 10)).sent == 1
    frozen.set("2026-11-23T13:10:00+01:00")
    report = dispatch_once(runtime, at(13, 10))
    assert (report.expired_offers, report.sent) == (1, 1)
    assert [o.status for o in _offers(runtime, A)] == ["expired"]
    assert _slot_holders(runtime) == [(B, "cancelled"), (A, "cancelled"), (C, "held")]
    (message,) = _outbox(runtime, C)
    assert gsm(message.body or "") == _offer_text("16h10")
    frozen.set("2026-11-23T13:15:00+01:00")
    key, reply = phones.send(A, "OUI")
    assert key == "offer.too_late"
    assert reply == gsm(
        "Désolé, cette place n'est plus disponible : le délai pour répondre est passé. "
        "Vous restez sur la liste d'attente."
    )
    assert [e.status for e in _entries(runtime, A)] == ["waiting"]
    assert _slot_holders(runtime)[-1] == (C, "held")


def test_an_unanswered_offer_with_nobody_else_waiting_frees_the_slot(
    phones: Phones, runtime: Runtime, frozen: Clock
) -> None:
    _a_waits_and_b_cancels(phones, runtime, frozen)
    frozen.set("2026-11-23T13:10:00+01:00")
    assert dispatch_once(runtime, at(13, 10)).expired_offers == 1
    assert _slot_holders(runtime) == [(B, "cancelled"), (A, "cancelled")]
    assert phones.send(A, "oui")[0] == "offer.too_late"
    assert _slot_holders(runtime) == [(B, "cancelled"), (A, "cancelled")]


def test_oui_after_the_deadline_is_too_late_even_before_the_dispatcher_runs(
    phones: Phones, runtime: Runtime, frozen: Clock
) -> None:
    _a_waits_and_b_cancels(phones, runtime, frozen)
    frozen.set("2026-11-23T13:11:00+01:00")
    assert phones.send(A, "OUI")[0] == "offer.too_late"
    assert (A, "booked") not in _slot_holders(runtime)


# --- a workshop seat ------------------------------------------------------------------------------


def _workshop_id(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return session.scalars(select(Workshop.id).where(Workshop.place_id == PUZZLE)).one()


def _seat_holders(runtime: Runtime) -> list[tuple[str, str, int | None]]:
    with runtime.sessions() as session:
        rows = session.execute(
            select(Resident.phone, WorkshopRegistration.status, WorkshopRegistration.seat)
            .join(Resident, Resident.id == WorkshopRegistration.resident_id)
            .where(WorkshopRegistration.session_start == WORKSHOP_START)
            .order_by(WorkshopRegistration.id)
        )
        return [(phone, status, seat) for phone, status, seat in rows]


def test_a_freed_workshop_seat_is_offered_to_the_waiting_resident_and_oui_registers(
    phones: Phones, runtime: Runtime, frozen: Clock
) -> None:
    workshop_id = _workshop_id(runtime)
    registrations = []
    for n in range(8):
        with transaction(runtime.sessions) as session:
            neighbour = get_or_create_resident(session, f"+336399800{n + 10:02d}", DEFAULT_NOW)
            registrations.append(
                register_for_workshop(
                    session, neighbour.id, workshop_id, WORKSHOP_START, DEFAULT_NOW
                )
            )
    phones.send(A, "Thionville")
    phones.send(A, "vous faites des ateliers ?")
    assert phones.send(A, "1")[0] == "workshops.full_offer_next"
    assert phones.send(A, "non")[0] == "workshops.offer_waiting"
    key, joined = phones.send(A, "oui")
    assert key == "workshops.waiting_joined"
    assert gsm("Si une place se libère, je vous préviens par SMS.") in joined, joined
    (entry,) = _entries(runtime, A)
    assert (entry.workshop_id, entry.window_start, entry.window_end) == (
        workshop_id,
        WORKSHOP_START,
        WORKSHOP_END,
    )
    frozen.set("2026-11-23T10:20:00+01:00")
    freed = registrations[2]
    with transaction(runtime.sessions) as session:
        cancel_registration(session, freed.id, freed.resident_id, at(10, 20))
    assert _seat_holders(runtime)[2][1:] == ("cancelled", None)
    assert _seat_holders(runtime)[-1] == (A, "held", 3)
    assert dispatch_once(runtime, at(10, 20)).sent == 1
    (message,) = _outbox(runtime, A)
    with runtime.sessions() as session:
        title = session.get(Workshop, workshop_id).title  # type: ignore[union-attr]
    assert gsm(message.body or "") == gsm(
        f"Bonne nouvelle : une place s'est libérée à l'atelier {title} le jeudi 26 novembre "
        "à 14h, Le Puzzle. Gardée pour vous jusqu'à 13h20. Répondez OUI pour la prendre, "
        "NON sinon."
    )
    frozen.set("2026-11-23T10:45:00+01:00")
    key, reply = phones.send(A, "OUI")
    assert key == "offer.accepted_seat"
    assert reply.startswith(gsm(f"C'est à vous : atelier {title} le jeudi 26 novembre à 14h")), (
        reply
    )
    assert "3 place Claude-Arnoult, Thionville" in reply
    assert _seat_holders(runtime)[-1] == (A, "booked", 3)
    assert [e.status for e in _entries(runtime, A)] == ["served"]
    assert [o.status for o in _offers(runtime, A)] == ["accepted"]
