"""STOP opts a number out of every outbound message; START opts it back in; confirmed once."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.models import Resident
from bot.runtime import Runtime
from tests.conftest import RESIDENT, Twilio, gsm


def _opted_out(runtime: Runtime, phone: str = RESIDENT) -> bool:
    with runtime.sessions() as session:
        resident = session.scalar(select(Resident).where(Resident.phone == phone))
        return bool(resident and resident.opted_out)


@pytest.mark.parametrize(
    "word",
    [
        "STOP",
        "stop",
        "Stop.",
        "ARRET",
        "arrêt",
        "Arrêt",
        "DESABONNEMENT",
        "désabonnement",
        " STOP ",
    ],
)
def test_stop_words_opt_the_number_out(twilio: Twilio, runtime: Runtime, word: str) -> None:
    reply = twilio.text(word)
    assert "vous ne recevrez plus de messages" in reply
    assert "START" in reply
    assert _opted_out(runtime)


def test_stop_is_confirmed_once(twilio: Twilio, runtime: Runtime) -> None:
    assert "ne recevrez plus" in twilio.text("STOP")
    response = twilio.sms(RESIDENT, "STOP")
    assert response.status_code == 200
    assert "<Message>" not in response.get_data(as_text=True)
    assert _opted_out(runtime)


@pytest.mark.parametrize("word", ["START", "start", "REPRENDRE", "reprendre"])
def test_start_opts_back_in(twilio: Twilio, runtime: Runtime, word: str) -> None:
    twilio.text("STOP")
    reply = twilio.text(word)
    assert "à nouveau" in reply or "a nouveau" in reply
    assert not _opted_out(runtime)


def test_start_without_stop_says_messages_are_on(twilio: Twilio) -> None:
    assert gsm("déjà") in twilio.text("START")


def test_opt_out_is_per_number(twilio: Twilio, runtime: Runtime) -> None:
    twilio.text("STOP")
    twilio.text("Bonjour", sender="+33639980099")
    assert _opted_out(runtime, RESIDENT)
    assert not _opted_out(runtime, "+33639980099")


def test_a_question_after_stop_is_still_answered(twilio: Twilio, runtime: Runtime) -> None:
    twilio.text("STOP")
    assert "gratuit" in twilio.text("c'est gratuit ?")
    assert _opted_out(runtime)


def test_delivery_error_21610_opts_the_recipient_out(twilio: Twilio, runtime: Runtime) -> None:
    twilio.text("Bonjour")
    form = {
        "MessageSid": "SM" + "b" * 32,
        "MessageStatus": "undelivered",
        "ErrorCode": "21610",
        "To": RESIDENT,
        "From": "+33700000001",
        "AccountSid": "AC" + "1" * 32,
    }
    assert twilio.post("/twilio/status", form).status_code == 204
    assert _opted_out(runtime)


def test_unsigned_status_callback_is_rejected(twilio: Twilio, runtime: Runtime) -> None:
    form = {
        "MessageSid": "SM" + "c" * 32,
        "MessageStatus": "undelivered",
        "ErrorCode": "21610",
        "To": RESIDENT,
    }
    assert twilio.post("/twilio/status", form, signature="").status_code == 403
    assert not _opted_out(runtime)
