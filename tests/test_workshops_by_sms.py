"""A resident registers for a group workshop by SMS: a number after the list, a later session
when the chosen one is full, else its waiting list (SQLite, and PostgreSQL when configured).

The clock is frozen at Monday 2026-11-23 10:00 (Paris). Demo workshops
(bot/data/demo-workshops.json): Le Puzzle in Thionville, Thursdays 14:00-16:00, 8 seats.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from bot.clock import PARIS
from bot.database import transaction
from bot.models import Resident, WaitingListEntry, Workshop, WorkshopRegistration
from bot.runtime import Runtime
from bot.services.conversations import get_or_create_resident
from bot.services.workshop_seats import register_for_workshop
from bot.wording.gsm7 import count_segments, is_gsm7
from tests.conftest import DEFAULT_NOW, RESIDENT, Twilio, gsm

PUZZLE = "demo-puzzle-thionville"
THURSDAY = datetime(2026, 11, 26, 14, 0, tzinfo=PARIS)
NEXT_THURSDAY = datetime(2026, 12, 3, 14, 0, tzinfo=PARIS)


def _text(twilio: Twilio, body: str) -> str:
    """Send a message; every reply is GSM-7 and at most three segments."""
    reply = twilio.text(body)
    assert is_gsm7(reply), reply
    assert count_segments(reply).segments <= 3, reply
    return reply


def _workshop_id(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return session.scalars(select(Workshop.id).where(Workshop.place_id == PUZZLE)).one()


def _registered(runtime: Runtime, phone: str = RESIDENT) -> list[datetime]:
    """The sessions the resident holds a seat at, soonest first."""
    with runtime.sessions() as session:
        rows = session.scalars(
            select(WorkshopRegistration.session_start)
            .join(Resident, Resident.id == WorkshopRegistration.resident_id)
            .where(Resident.phone == phone, WorkshopRegistration.status == "booked")
            .order_by(WorkshopRegistration.session_start)
        )
        return [start.astimezone(PARIS) for start in rows]


def _waiting(runtime: Runtime, phone: str = RESIDENT) -> list[tuple[int | None, datetime, str]]:
    with runtime.sessions() as session:
        rows = session.scalars(
            select(WaitingListEntry)
            .join(Resident, Resident.id == WaitingListEntry.resident_id)
            .where(Resident.phone == phone)
        )
        return [(e.workshop_id, e.window_start.astimezone(PARIS), e.status) for e in rows]


def _fill(runtime: Runtime, starts_at: datetime) -> None:
    """Neighbours take every seat of that session, through the service."""
    workshop_id = _workshop_id(runtime)
    for n in range(8):
        with transaction(runtime.sessions) as session:
            neighbour = get_or_create_resident(session, f"+336399800{n + 10:02d}", DEFAULT_NOW)
            register_for_workshop(session, neighbour.id, workshop_id, starts_at, DEFAULT_NOW)


def _list_workshops(twilio: Twilio) -> str:
    _text(twilio, "Thionville")
    listed = _text(twilio, "vous faites des ateliers ?")
    assert "1. Le Puzzle (Thionville), jeudi 26 novembre à 14h" in gsm(listed)
    assert "Répondez 1 pour vous inscrire." in listed
    return listed


def test_three_messages_register_for_the_next_session(twilio: Twilio, runtime: Runtime) -> None:
    _list_workshops(twilio)
    confirmation = _text(twilio, "1")
    assert confirmation.startswith(gsm("Inscription confirmée : Les sites administratifs")), (
        confirmation
    )
    assert "le jeudi 26 novembre à 14h, Le Puzzle, 3 place Claude-Arnoult, Thionville." in (
        confirmation
    )
    assert confirmation.endswith("Apportez votre appareil si vous en avez un.")
    assert count_segments(confirmation).segments <= 2
    assert _registered(runtime) == [THURSDAY]


def test_a_postal_code_then_the_commune_then_workshops(twilio: Twilio, runtime: Runtime) -> None:
    _text(twilio, "57100")
    _text(twilio, "1")
    assert "Répondez 1 pour vous inscrire." in _text(twilio, "vous faites des ateliers ?")
    assert "Inscription confirmée" in gsm(_text(twilio, "1"))
    assert _registered(runtime) == [THURSDAY]


def test_a_full_session_offers_the_next_one_and_yes_registers_there(
    twilio: Twilio, runtime: Runtime
) -> None:
    _fill(runtime, THURSDAY)
    _list_workshops(twilio)
    offer = _text(twilio, "1")
    assert offer == gsm(
        "La séance du jeudi 26 novembre est complète. "
        "Je vous inscris jeudi 3 décembre à 14h ? Répondez OUI."
    )
    assert _registered(runtime) == []
    assert "le jeudi 3 décembre à 14h, Le Puzzle" in gsm(_text(twilio, "OUI"))
    assert _registered(runtime) == [NEXT_THURSDAY]
    assert _waiting(runtime) == []


def test_no_to_the_next_session_offers_the_waiting_list(twilio: Twilio, runtime: Runtime) -> None:
    _fill(runtime, THURSDAY)
    _list_workshops(twilio)
    _text(twilio, "1")
    offer = _text(twilio, "non")
    assert gsm("liste d'attente de la séance du jeudi 26 novembre ? Répondez OUI.") in offer
    joined = _text(twilio, "oui")
    assert gsm("liste d'attente du jeudi 26 novembre") in joined
    assert gsm("à Le Puzzle. Si une place se libère, je vous préviens par SMS.") in joined
    assert _registered(runtime) == []
    assert _waiting(runtime) == [(_workshop_id(runtime), THURSDAY, "waiting")]


def test_no_to_the_waiting_list_registers_nothing(twilio: Twilio, runtime: Runtime) -> None:
    _fill(runtime, THURSDAY)
    _list_workshops(twilio)
    _text(twilio, "1")
    _text(twilio, "non")
    assert gsm("je ne vous inscris pas") in _text(twilio, "non")
    assert _registered(runtime) == [] and _waiting(runtime) == []


def test_already_registered_is_told_the_day_and_hour(twilio: Twilio, runtime: Runtime) -> None:
    _list_workshops(twilio)
    _text(twilio, "1")
    _text(twilio, "vous faites des ateliers ?")
    again = _text(twilio, "1")
    assert gsm("Vous avez déjà une place à cet atelier le jeudi 26 novembre à 14h") in gsm(again)
    assert _registered(runtime) == [THURSDAY]


def test_an_out_of_range_number_asks_again(twilio: Twilio, runtime: Runtime) -> None:
    _list_workshops(twilio)
    assert gsm("Répondez 1, s'il vous plaît") in _text(twilio, "4")
    assert _registered(runtime) == []
    assert "Inscription confirm" in _text(twilio, "1")
    assert _registered(runtime) == [THURSDAY]


def test_another_question_after_the_list_is_answered_as_usual(
    twilio: Twilio, runtime: Runtime
) -> None:
    _list_workshops(twilio)
    assert "gratuit" in _text(twilio, "C'est gratuit ?")
    assert _registered(runtime) == []


def test_a_registered_resident_leaves_the_workshop_by_sms(twilio: Twilio, runtime: Runtime) -> None:
    _list_workshops(twilio)
    _text(twilio, "1")
    assert _registered(runtime) == [THURSDAY]
    question = _text(twilio, "je ne pourrai pas venir à l'atelier, annulez mon inscription")
    assert question.startswith(
        gsm("Répondez OUI pour annuler votre inscription à l'atelier Les sites administratifs")
    )
    assert question.endswith("du jeudi 26 novembre à 14h.")
    done = _text(twilio, "oui")
    assert done == gsm(
        "Votre inscription à l'atelier du jeudi 26 novembre à 14h est annulée. "
        "Merci d'avoir prévenu."
    )
    assert _registered(runtime) == []


def test_leaving_a_full_session_offers_the_seat_to_the_first_waiting(
    twilio: Twilio, runtime: Runtime
) -> None:
    _fill(runtime, THURSDAY)
    _list_workshops(twilio)
    _text(twilio, "1")
    _text(twilio, "non")
    _text(twilio, "oui")  # on the waiting list for Thursday
    neighbour = "+33639980010"  # holds seat 1 (see _fill)
    twilio.text("annulez mon inscription à l'atelier", sender=neighbour)
    assert "est annulée" in gsm(twilio.text("oui", sender=neighbour))
    with runtime.sessions() as session:
        held = session.scalars(
            select(WorkshopRegistration)
            .join(Resident, Resident.id == WorkshopRegistration.resident_id)
            .where(Resident.phone == RESIDENT, WorkshopRegistration.status == "held")
        ).all()
    assert [h.session_start.astimezone(PARIS) for h in held] == [THURSDAY]
