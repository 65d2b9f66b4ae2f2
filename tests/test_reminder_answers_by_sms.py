"""A resident answers a reminder by SMS, in capitals or in their own words: OUI confirms, ANNULER
frees the slot, DECALER lists other slots; an unrelated question is answered as usual, and after
36 hours a "oui" is no longer taken as an answer (SQLite, and PostgreSQL when configured).

The clock starts frozen at Monday 2026-11-23 10:00 (Paris). Demo agendas: THI'PI Thionville,
Sébastien, Tuesday and Thursday 9:00-12:00 in 45 minutes; Mission locale de Yutz, Caroline,
Monday to Thursday 14:00-16:30 in 30 minutes. Reminders go the day before at 10:00 (Saturday for
a Monday) and 2 hours before, pushed out of quiet hours (20:00-08:30).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pytest
from sqlalchemy import select

from bot.clock import PARIS
from bot.database import transaction
from bot.models import Appointment, OutboundMessage, Resident
from bot.runtime import Runtime
from bot.services import bookings
from bot.wording import say
from tests.conftest import RESIDENT, Clock, Twilio, gsm
from tests.sms_phones import Phones, dispatch_once, phones_for

THURSDAY_9H = datetime(2026, 11, 26, 9, 0, tzinfo=PARIS)
THURSDAY_9H45 = datetime(2026, 11, 26, 9, 45, tzinfo=PARIS)
DAY_BEFORE_10H = datetime(2026, 11, 25, 10, 0, tzinfo=PARIS)
SAME_DAY_8H30 = datetime(2026, 11, 26, 8, 30, tzinfo=PARIS)
MONDAY_14H = datetime(2026, 11, 30, 14, 0, tzinfo=PARIS)
SATURDAY_10H = datetime(2026, 11, 28, 10, 0, tzinfo=PARIS)
MONDAY_12H = datetime(2026, 11, 30, 12, 0, tzinfo=PARIS)
THIPI = "Pôle numérique THI'PI"
THIPI_ADDRESS = "12 rue du Cygne, Thionville"


@dataclass
class Phone:
    """The resident's phone: sends an SMS, returns the reply's wording key and its text."""

    phones: Phones
    number: str = RESIDENT

    def send(self, body: str) -> tuple[str, str]:
        return self.phones.send(self.number, body)


@pytest.fixture
def phone(twilio: Twilio, caplog: pytest.LogCaptureFixture) -> Phone:
    return Phone(phones_for(twilio, caplog))


def _appointments(runtime: Runtime, phone: str = RESIDENT) -> list[Appointment]:
    with runtime.sessions() as session:
        return list(
            session.scalars(
                select(Appointment)
                .join(Resident, Resident.id == Appointment.resident_id)
                .where(Resident.phone == phone)
                .order_by(Appointment.id)
            )
        )


def _reminders(runtime: Runtime, appointment_id: int) -> list[OutboundMessage]:
    with runtime.sessions() as session:
        return list(
            session.scalars(
                select(OutboundMessage)
                .where(OutboundMessage.appointment_id == appointment_id)
                .order_by(OutboundMessage.due_at)
            )
        )


def _book_thursday_at_thipi(phone: Phone, runtime: Runtime) -> Appointment:
    phone.send("je voudrais un rdv jeudi à Thionville")
    phone.send("1")
    key, _ = phone.send("0")
    assert key == "booking.confirmed"
    (appointment,) = _appointments(runtime)
    return appointment


def _reminded_on_wednesday(phone: Phone, runtime: Runtime, frozen: Clock) -> Appointment:
    """Book Thursday 9:00 at THI'PI by SMS, then send Wednesday's 10:00 reminder."""
    appointment = _book_thursday_at_thipi(phone, runtime)
    assert appointment.starts_at == THURSDAY_9H
    frozen.set("2026-11-25T10:00:00+01:00")
    report = dispatch_once(runtime, DAY_BEFORE_10H)
    assert report.sent == 1
    frozen.set("2026-11-25T14:30:00+01:00")
    return appointment


def test_the_reminder_names_the_appointment_and_the_three_answers(
    phone: Phone, runtime: Runtime, frozen: Clock
) -> None:
    appointment = _book_thursday_at_thipi(phone, runtime)
    assert [(r.due_at, r.status) for r in _reminders(runtime, appointment.id)] == [
        (DAY_BEFORE_10H, "pending"),
        (SAME_DAY_8H30, "pending"),
    ]
    frozen.set("2026-11-25T10:00:00+01:00")
    assert dispatch_once(runtime, DAY_BEFORE_10H).sent == 1
    sent, later = _reminders(runtime, appointment.id)
    assert sent.status == "sent" and sent.sent_at == DAY_BEFORE_10H
    assert sent.body == (
        "Rappel : rendez-vous le jeudi 26 novembre à 9h, Pôle numérique THI'PI, "
        "12 rue du Cygne, Thionville. Répondez OUI pour confirmer, ANNULER pour libérer "
        "la place, DECALER pour changer."
    )
    assert later.status == "pending" and later.body is None


# "je serai là" and "je viendrai" read as cancellations to the intent engine out of context: the
# resident's words are matched before the engine's guess (flows/prompted.py).
@pytest.mark.parametrize(
    "answer",
    [
        "OUI",
        "oui je serai là",
        "je serai là",
        "je viendrai",
        "merci, bien reçu",
    ],
)
def test_yes_to_a_reminder_confirms_the_appointment(
    phone: Phone, runtime: Runtime, frozen: Clock, answer: str
) -> None:
    appointment = _reminded_on_wednesday(phone, runtime, frozen)
    key, reply = phone.send(answer)
    assert key == "reminder.confirmed"
    assert reply == gsm(
        "Merci, c'est noté : à jeudi 26 novembre à 9h. "
        "Apportez une pièce d'identité et l'appareil concerné."
    )
    (confirmed,) = _appointments(runtime)
    assert confirmed.status == "booked"
    assert confirmed.confirmed_at == datetime(2026, 11, 25, 14, 30, tzinfo=PARIS)
    sent, later = _reminders(runtime, appointment.id)
    assert (sent.answer, sent.answered_at) == ("confirmed", confirmed.confirmed_at)
    assert later.status == "pending"  # the morning reminder still goes


@pytest.mark.parametrize("answer", ["ANNULER", "annuler svp"])
def test_cancelling_in_answer_to_a_reminder_frees_the_slot_and_drops_the_next_reminder(
    phone: Phone, runtime: Runtime, frozen: Clock, answer: str
) -> None:
    appointment = _reminded_on_wednesday(phone, runtime, frozen)
    key, reply = phone.send(answer)
    assert key == "reminder.cancelled"
    assert reply == gsm(
        "C'est noté, votre rendez-vous du jeudi 26 novembre à 9h est annulé. "
        "Merci d'avoir prévenu. Écrivez-moi pour en prendre un autre."
    )
    (cancelled,) = _appointments(runtime)
    assert cancelled.status == "cancelled" and cancelled.confirmed_at is None
    sent, later = _reminders(runtime, appointment.id)
    assert (sent.status, sent.answer) == ("sent", "cancelled")
    assert later.status == "cancelled"
    key, _ = phone.send("c'est quand mon rdv ?")
    assert key == "appointments.none"


@pytest.mark.parametrize(
    "answer", ["je peux plus venir", "je viens pas", "j'y serai pas", "je ne pourrai pas venir"]
)
def test_saying_one_cannot_come_asks_before_cancelling(
    phone: Phone, runtime: Runtime, frozen: Clock, answer: str
) -> None:
    _reminded_on_wednesday(phone, runtime, frozen)
    key, question = phone.send(answer)
    assert key == "cancel.confirm"
    assert "Répondez OUI pour annuler votre rendez-vous du jeudi 26 novembre à 9h" in question
    assert _appointments(runtime)[0].status == "booked"
    key, _ = phone.send("oui")
    assert key == "cancel.done"
    assert _appointments(runtime)[0].status == "cancelled"


@pytest.mark.parametrize(
    "answer",
    ["oui je viendrai mais je ne peux pas rester longtemps", "merci mais non"],
)
def test_a_mixed_answer_to_a_reminder_asks_again_plainly(
    phone: Phone, runtime: Runtime, frozen: Clock, answer: str
) -> None:
    appointment = _reminded_on_wednesday(phone, runtime, frozen)
    key, reply = phone.send(answer)
    assert key == "reminder.which"
    assert reply == gsm(
        "Pour votre rendez-vous du jeudi 26 novembre à 9h : répondez OUI si vous venez, "
        "ANNULER si vous ne pouvez pas venir, DECALER pour changer."
    )
    assert _appointments(runtime)[0].confirmed_at is None
    key, _ = phone.send("OUI")  # still read against the reminder
    assert key == "reminder.confirmed"
    sent, _later = _reminders(runtime, appointment.id)
    assert sent.answer == "confirmed"


def test_ok_pas_de_souci_confirms(phone: Phone, runtime: Runtime, frozen: Clock) -> None:
    _reminded_on_wednesday(phone, runtime, frozen)
    key, _ = phone.send("ok pas de souci")
    assert key == "reminder.confirmed"


def test_decaler_lists_other_slots_and_a_number_moves_the_appointment(
    phone: Phone, runtime: Runtime, frozen: Clock
) -> None:
    appointment = _reminded_on_wednesday(phone, runtime, frozen)
    key, slots = phone.send("DECALER")
    assert key == "booking.slots"
    assert slots.startswith(gsm("Pour déplacer votre rendez-vous du jeudi 26 novembre à 9h")), slots
    assert (
        "1 jeudi 26 novembre à 9h45\n2 jeudi 26 novembre à 10h30\n3 jeudi 26 novembre à 11h15"
        in slots
    )
    assert "ATTENTE" not in slots
    key, done = phone.send("1")
    assert key == "move.done"
    assert gsm(f"déplacé au jeudi 26 novembre à 9h45, {THIPI}") in done
    old, new = _appointments(runtime)
    assert (old.id, old.status) == (appointment.id, "cancelled")
    assert (new.status, new.starts_at, new.moved_from_id) == ("booked", THURSDAY_9H45, old.id)
    sent, dropped = _reminders(runtime, old.id)
    assert (sent.status, sent.answer) == ("sent", "move")
    assert dropped.status == "cancelled"
    # Booked on Wednesday afternoon: only the morning reminder is still ahead.
    assert [(r.due_at, r.status) for r in _reminders(runtime, new.id)] == [
        (SAME_DAY_8H30, "pending")
    ]


def test_an_answer_about_an_appointment_cancelled_meanwhile_says_it_is_gone(
    phone: Phone, runtime: Runtime, frozen: Clock
) -> None:
    appointment = _reminded_on_wednesday(phone, runtime, frozen)
    with transaction(runtime.sessions) as session:  # the place cancels it
        bookings.cancel_appointment(
            session,
            appointment.id,
            appointment.resident_id,
            datetime(2026, 11, 25, 12, 0, tzinfo=PARIS),
        )
    key, reply = phone.send("OUI")
    assert key == "reminder.gone"
    assert reply == gsm(
        "Ce rendez-vous est passé ou déjà annulé. Écrivez-moi si vous voulez en prendre un autre."
    )
    (cancelled,) = _appointments(runtime)
    assert cancelled.status == "cancelled" and cancelled.confirmed_at is None
    sent, dropped = _reminders(runtime, appointment.id)
    assert sent.answer == "confirmed" and dropped.status == "cancelled"


def test_a_question_after_a_reminder_is_answered_as_usual(
    phone: Phone, runtime: Runtime, frozen: Clock
) -> None:
    appointment = _reminded_on_wednesday(phone, runtime, frozen)
    key, reply = phone.send("c'est ouvert quand ?")
    assert key == "hours.week", (key, reply)
    assert gsm(THIPI) in reply
    (kept,) = _appointments(runtime)
    assert (kept.status, kept.confirmed_at) == ("booked", None)
    sent, _ = _reminders(runtime, appointment.id)
    assert (sent.answered_at, sent.answer) == (None, None)


def test_after_36_hours_oui_is_no_longer_taken_as_an_answer_to_the_reminder(
    phone: Phone, runtime: Runtime, frozen: Clock
) -> None:
    phone.send("un rdv le lundi 30 novembre après-midi à Yutz")
    phone.send("1")
    assert phone.send("0")[0] == "booking.confirmed"
    (appointment,) = _appointments(runtime)
    assert appointment.starts_at == MONDAY_14H
    # Monday's day-before reminder goes on Saturday (none on Sundays).
    assert [r.due_at for r in _reminders(runtime, appointment.id)] == [SATURDAY_10H, MONDAY_12H]
    frozen.set("2026-11-28T10:00:00+01:00")
    assert dispatch_once(runtime, SATURDAY_10H).sent == 1
    frozen.set("2026-11-29T22:01:00+01:00")  # 36 hours and a minute later
    key, reply = phone.send("oui")
    assert key == "affirm"  # a yes with nothing pending
    assert reply == gsm(say("affirm"))
    (kept,) = _appointments(runtime)
    assert (kept.status, kept.confirmed_at) == ("booked", None)
    sent, later = _reminders(runtime, appointment.id)
    assert (sent.answered_at, later.status) == (None, "pending")


def test_within_36_hours_oui_still_confirms(phone: Phone, runtime: Runtime, frozen: Clock) -> None:
    phone.send("un rdv le lundi 30 novembre après-midi à Yutz")
    phone.send("1")
    phone.send("0")
    frozen.set("2026-11-28T10:00:00+01:00")
    assert dispatch_once(runtime, SATURDAY_10H).sent == 1
    frozen.set("2026-11-29T21:59:00+01:00")
    key, reply = phone.send("oui")
    assert key == "reminder.confirmed"
    assert gsm("c'est noté : à lundi 30 novembre à 14h.") in reply
    (confirmed,) = _appointments(runtime)
    assert confirmed.confirmed_at == datetime(2026, 11, 29, 21, 59, tzinfo=PARIS)
