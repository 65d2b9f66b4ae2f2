"""Reminders to landlines are calls: the TwiML read to the resident, and the keypad answers
posted back to /twilio/voice/reminder (1 confirm, 2 cancel, 3 put through to the place),
through a local fake Twilio (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bot import clock
from bot.clock import PARIS
from bot.database import transaction
from bot.dispatch import Dispatcher
from bot.dispatch.render import render_text
from bot.models import Advisor, Appointment, OutboundMessage
from bot.runtime import Runtime
from bot.services import outbox
from bot.services.bookings import book_slot
from bot.services.conversations import get_or_create_resident
from bot.services.gateway import SmsGateway
from bot.services.reminders import channel_for
from tests.conftest import DEFAULT_NOW, PUBLIC_URL, SERVICE_NUMBER, Twilio
from tests.outbox_support import run_at
from tests.twilio_server import ACCOUNT_SID, FakeTwilio

NOW = DEFAULT_NOW  # Monday 23 November 2026, 10:00, Paris
LANDLINE = "+33353011234"  # ARCEP fiction range for fixed lines (03 53 01)
MOBILE = "+33639980042"
THIPI_PHONE = "+33353010101"  # Pôle numérique THI'PI, in the demo places
LEASE = timedelta(minutes=2)
THURSDAY_11_15 = datetime(2026, 11, 26, 11, 15, tzinfo=PARIS)
DAY_BEFORE = datetime(2026, 11, 25, 10, 0, tzinfo=PARIS)
TWO_HOURS_BEFORE = datetime(2026, 11, 26, 9, 15, tzinfo=PARIS)


def book(runtime: Runtime, phone: str = LANDLINE) -> tuple[int, int]:
    """Book Sébastien (THI'PI) on Thursday 11:15 for that number: (resident, appointment)."""
    with transaction(runtime.sessions) as session:
        resident_id = get_or_create_resident(session, phone, NOW).id
        sebastien = session.scalars(
            select(Advisor.id).where(Advisor.ref == "thipi-sebastien")
        ).one()
        appointment = book_slot(session, resident_id, sebastien, THURSDAY_11_15, "email", NOW)
        return resident_id, appointment.id


def reminders_of(runtime: Runtime, appointment_id: int) -> list[OutboundMessage]:
    with runtime.sessions() as session:
        return list(
            session.scalars(
                select(OutboundMessage)
                .where(OutboundMessage.appointment_id == appointment_id)
                .order_by(OutboundMessage.due_at)
            )
        )


def appointment(runtime: Runtime, appointment_id: int) -> Appointment:
    with runtime.sessions() as session:
        row = session.get(Appointment, appointment_id)
        assert row is not None
        return row


def called(runtime: Runtime, dispatcher: Dispatcher) -> tuple[int, OutboundMessage]:
    """A landline resident booked; the day-before reminder call placed: (appointment, message)."""
    _, appointment_id = book(runtime)
    assert run_at(dispatcher, DAY_BEFORE).sent == 1
    return appointment_id, reminders_of(runtime, appointment_id)[0]


def keypad_path(message_id: int) -> str:
    return f"/twilio/voice/reminder?outbound={message_id}"


def keypad_form(digits: str, call_sid: str = "CA" + "7" * 32) -> dict[str, str]:
    """What Twilio posts to a <Gather> action during our outbound call."""
    return {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "CallSid": call_sid,
        "CallStatus": "in-progress",
        "Called": LANDLINE,
        "Caller": SERVICE_NUMBER,
        "Digits": digits,
        "Direction": "outbound-api",
        "FinishedOnKey": "",
        "From": SERVICE_NUMBER,
        "To": LANDLINE,
        "msg": "Gather End",
    }


def press(twilio: Twilio, message_id: int, digits: str) -> ET.Element:
    response = twilio.post(keypad_path(message_id), keypad_form(digits))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/xml"
    return ET.fromstring(response.get_data(as_text=True))


@pytest.mark.parametrize(
    ("phone", "channel"),
    [
        (LANDLINE, "voice"),
        ("+33199000101", "voice"),  # Île-de-France fixed-line fiction range
        (MOBILE, "sms"),
        ("+33700000002", "sms"),
        ("not a number", "sms"),
    ],
)
def test_landlines_are_reminded_by_call_and_mobiles_by_sms(phone: str, channel: str) -> None:
    assert channel_for(phone) == channel


def test_a_resident_with_a_landline_is_called_with_the_reminder_in_french(
    runtime: Runtime, dispatcher: Dispatcher, fake_twilio: FakeTwilio
) -> None:
    _, appointment_id = book(runtime)
    rows = reminders_of(runtime, appointment_id)
    assert [(r.channel, r.due_at) for r in rows] == [
        ("voice", DAY_BEFORE),
        ("voice", TWO_HOURS_BEFORE),
    ]

    report = run_at(dispatcher, DAY_BEFORE)

    assert report.sent == 1
    assert fake_twilio.messages == []
    [call] = fake_twilio.calls
    assert (call.to, call.from_) == (LANDLINE, SERVICE_NUMBER)
    assert call.status_callback == f"{PUBLIC_URL}/twilio/status?outbound={rows[0].id}"
    assert call.twiml is not None
    root = ET.fromstring(call.twiml)
    assert root.tag == "Response"
    gathers = root.findall("Gather")
    assert len(gathers) == 2  # said once, asked once more
    for gather in gathers:
        assert gather.get("action") == f"{PUBLIC_URL}{keypad_path(rows[0].id)}"
        assert (gather.get("input"), gather.get("numDigits"), gather.get("method")) == (
            "dtmf",
            "1",
            "POST",
        )
        assert gather.find("Say") is not None
    said = [s.text or "" for s in root.iter("Say")]
    assert all(s.get("language") == "fr-FR" for s in root.iter("Say"))
    assert said[0].startswith("Bonjour, ici Relais. Vous avez rendez-vous le jeudi 26 novembre")
    assert (
        "à 11 heures 15" in said[0]
        and "11h" not in said[0]
        and "THI'PI" in said[0]
        and "12 rue du Cygne" in said[0]
    )
    assert "tapez 1" in said[0] and "tapez 2" in said[0] and "tapez 3" in said[0]
    row = reminders_of(runtime, appointment_id)[0]
    assert (row.status, row.provider_sid) == ("sent", call.sid)
    assert call.sid.startswith("CA")

    assert run_at(dispatcher, DAY_BEFORE + timedelta(minutes=5)).sent == 0
    assert len(fake_twilio.calls) == 1


def test_pressing_1_confirms_the_appointment(
    runtime: Runtime, dispatcher: Dispatcher, twilio: Twilio
) -> None:
    appointment_id, message = called(runtime, dispatcher)

    root = press(twilio, message.id, "1")

    assert [e.tag for e in root] == ["Say", "Hangup"]
    assert "Merci, c'est noté" in (root.findtext("Say") or "")
    assert appointment(runtime, appointment_id).confirmed_at == DAY_BEFORE
    assert appointment(runtime, appointment_id).status == "booked"
    answered = reminders_of(runtime, appointment_id)[0]
    assert (answered.answer, answered.answered_at) == ("confirmed", DAY_BEFORE)


def test_pressing_2_cancels_the_appointment_and_its_next_reminder(
    runtime: Runtime, dispatcher: Dispatcher, twilio: Twilio, fake_twilio: FakeTwilio
) -> None:
    appointment_id, message = called(runtime, dispatcher)

    root = press(twilio, message.id, "2")

    assert [e.tag for e in root] == ["Say", "Hangup"]
    assert "annulé" in (root.findtext("Say") or "")
    row = appointment(runtime, appointment_id)
    assert (row.status, row.cancelled_at, row.confirmed_at) == ("cancelled", DAY_BEFORE, None)
    assert [r.status for r in reminders_of(runtime, appointment_id)] == ["sent", "cancelled"]
    assert run_at(dispatcher, TWO_HOURS_BEFORE).sent == 0
    assert len(fake_twilio.calls) == 1


def test_pressing_3_puts_the_resident_through_to_the_place(
    runtime: Runtime, dispatcher: Dispatcher, twilio: Twilio
) -> None:
    appointment_id, message = called(runtime, dispatcher)

    root = press(twilio, message.id, "3")

    assert [e.tag for e in root] == ["Say", "Dial"]
    assert (root.findtext("Dial") or "").strip() == THIPI_PHONE
    assert appointment(runtime, appointment_id).status == "booked"
    assert reminders_of(runtime, appointment_id)[0].answer == "person"


@pytest.mark.parametrize("digits", ["9", "0", "*", ""])
def test_an_unknown_key_asks_again(
    runtime: Runtime, dispatcher: Dispatcher, twilio: Twilio, digits: str
) -> None:
    appointment_id, message = called(runtime, dispatcher)

    root = press(twilio, message.id, digits)

    gather = root.find("Gather")
    assert gather is not None
    assert gather.get("action") == f"{PUBLIC_URL}{keypad_path(message.id)}"
    assert "tapez 1" in (gather.findtext("Say") or "")
    row = appointment(runtime, appointment_id)
    assert (row.status, row.confirmed_at) == ("booked", None)
    assert reminders_of(runtime, appointment_id)[0].answered_at is None


@pytest.mark.parametrize("signature", ["", "bm90IGEgc2lnbmF0dXJl"], ids=["unsigned", "forged"])
def test_a_keypad_answer_not_signed_by_twilio_is_refused(
    runtime: Runtime, dispatcher: Dispatcher, twilio: Twilio, signature: str
) -> None:
    appointment_id, message = called(runtime, dispatcher)

    response = twilio.post(keypad_path(message.id), keypad_form("2"), signature=signature)

    assert response.status_code == 403
    assert appointment(runtime, appointment_id).status == "booked"


def test_a_keypad_answer_signed_for_another_message_is_refused(
    runtime: Runtime, dispatcher: Dispatcher, twilio: Twilio
) -> None:
    appointment_id, message = called(runtime, dispatcher)
    form = keypad_form("2")
    signature = twilio.signature(keypad_path(message.id + 1), form)

    response = twilio.post(keypad_path(message.id), form, signature=signature)

    assert response.status_code == 403
    assert appointment(runtime, appointment_id).status == "booked"


def test_a_keypad_answer_for_an_unknown_message_hangs_up_politely(
    runtime: Runtime, dispatcher: Dispatcher, twilio: Twilio
) -> None:
    root = press(twilio, 999_999, "1")

    assert [e.tag for e in root] == ["Say", "Hangup"]


def test_a_completed_call_status_marks_the_reminder_delivered(
    runtime: Runtime, dispatcher: Dispatcher, twilio: Twilio
) -> None:
    appointment_id, message = called(runtime, dispatcher)
    assert message.provider_sid is not None
    form = {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "CallSid": message.provider_sid,
        "CallStatus": "completed",
        "CallDuration": "42",
        "Direction": "outbound-api",
        "From": SERVICE_NUMBER,
        "To": LANDLINE,
    }

    response = twilio.post(f"/twilio/status?outbound={message.id}", form)

    assert response.status_code == 204
    assert reminders_of(runtime, appointment_id)[0].status == "delivered"


def test_a_call_placed_before_the_dispatcher_died_is_not_placed_again(
    runtime: Runtime, dispatcher: Dispatcher, gateway: SmsGateway, fake_twilio: FakeTwilio
) -> None:
    _, appointment_id = book(runtime)
    clock.freeze(DAY_BEFORE)
    with transaction(runtime.sessions) as session:
        [claimed] = outbox.claim_due(session, DAY_BEFORE, "dead-worker", 1, LEASE)
        rendered = render_text(session, claimed, DAY_BEFORE)
        assert rendered is not None
        outbox.set_bodies(session, {claimed.id: rendered.content})
    placed = gateway.place_call(LANDLINE, "<Response><Say>Bonjour</Say></Response>")

    report = run_at(dispatcher, DAY_BEFORE + LEASE + timedelta(seconds=1))

    assert (report.reconciled, report.sent) == (1, 0)
    assert len(fake_twilio.calls) == 1
    row = reminders_of(runtime, appointment_id)[0]
    assert (row.status, row.provider_sid) == ("sent", placed.sid)
