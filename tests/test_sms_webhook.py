"""The SMS webhook: signatures, Twilio retries, TwiML, health, and bad input never breaking it."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import func, select

from bot import clock
from bot.models import CallbackTicket, Conversation, ProcessedMessage, Resident, ThreadEntry
from bot.runtime import Runtime, runtime_of
from bot.services.users import add_user
from tests.conftest import AUTH_TOKEN, PUBLIC_URL, RESIDENT, Twilio


def _count(runtime: Runtime, model: type) -> int:
    with runtime.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _messages(body: str) -> list[str]:
    return [m.text or "" for m in ET.fromstring(body).iter("Message")]


def test_signed_sms_gets_a_twiml_message_reply(twilio: Twilio) -> None:
    response = twilio.sms(RESIDENT, "Bonjour")
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    body = response.get_data(as_text=True)
    assert body.startswith('<?xml version="1.0" encoding="UTF-8"?><Response><Message>')
    assert "Relais" in _messages(body)[0]


FORGERIES = [
    pytest.param({"signature": ""}, id="missing signature"),
    pytest.param({"signature": "bm90IGEgc2lnbmF0dXJl"}, id="invalid signature"),
    pytest.param({"token": "another-accounts-token"}, id="signed with another token"),
    pytest.param({"tamper": True}, id="body changed after signing"),
    pytest.param({"base": "https://attacker.example"}, id="signed for another URL"),
]


@pytest.mark.parametrize("forgery", FORGERIES)
def test_forged_or_unsigned_sms_is_rejected_and_nothing_stored(
    twilio: Twilio, runtime: Runtime, forgery: dict[str, object]
) -> None:
    form = twilio.sms_form(RESIDENT, "STOP")
    signer = Twilio(
        twilio.client,
        token=str(forgery.get("token", AUTH_TOKEN)),
        base=str(forgery.get("base", PUBLIC_URL)),
    )
    signature = (
        str(forgery["signature"])
        if "signature" in forgery
        else signer.signature("/twilio/sms", form)
    )
    if forgery.get("tamper"):
        form["Body"] = "START"
    response = twilio.post("/twilio/sms", form, signature=signature)
    assert response.status_code == 403
    assert "<Message>" not in response.get_data(as_text=True)
    assert _count(runtime, ProcessedMessage) == 0
    assert _count(runtime, Resident) == 0


def test_signature_is_checked_against_the_public_url(twilio: Twilio) -> None:
    local = Twilio(twilio.client, base="http://localhost")
    assert local.sms(RESIDENT, "Bonjour").status_code == 403
    assert twilio.sms(RESIDENT, "Bonjour").status_code == 200


def test_retried_message_gets_the_same_reply_and_is_processed_once(
    twilio: Twilio, runtime: Runtime
) -> None:
    first = twilio.sms(RESIDENT, "zorglub wabadaba", sid="SM" + "a" * 32)
    again = twilio.sms(RESIDENT, "zorglub wabadaba", sid="SM" + "a" * 32)
    assert first.get_data() == again.get_data()
    assert _count(runtime, ProcessedMessage) == 1
    # Processed once: the conversation counted one misunderstanding, not two.
    with runtime.sessions() as session:
        assert session.scalars(select(Conversation)).one().state["failures"] == 1


def test_health_check_answers_when_the_database_is_up(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_health_check_fails_when_the_database_is_down(settings, nlu_engine) -> None:  # type: ignore[no-untyped-def]
    from bot.app import create_app

    down = settings.with_overrides(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    app = create_app(down, nlu_engine=nlu_engine)
    response = app.test_client().get("/healthz")
    runtime_of(app).db.dispose()
    assert response.status_code == 503
    assert response.get_json()["database"] == "down"


BAD_INPUTS = [
    pytest.param({"Body": ""}, id="empty body"),
    pytest.param({"Body": "   \n  "}, id="blank body"),
    pytest.param({"Body": "horaires " * 250}, id="2000-character body"),
    pytest.param({"Body": "😀🙏👍"}, id="emoji only"),
    pytest.param(
        {
            "Body": "",
            "NumMedia": "1",
            "MediaUrl0": "https://api.twilio.com/x.jpg",
            "MediaContentType0": "image/jpeg",
        },
        id="MMS without text",
    ),
    pytest.param({"NumMedia": "plenty"}, id="malformed NumMedia"),
    pytest.param({"From": "client:anonymous"}, id="unknown From format"),
    pytest.param({"From": "36179"}, id="short code sender"),
    pytest.param({"From": ""}, id="missing From"),
    pytest.param({"MessageSid": "", "SmsSid": "", "SmsMessageSid": ""}, id="missing MessageSid"),
    pytest.param({"Body": "'; DROP TABLE residents; --"}, id="SQL in body"),
    pytest.param({"Body": "<script>alert(1)</script><b>]]></b>"}, id="HTML in body"),
    pytest.param({"Body": "\x00\x01\x02"}, id="control characters"),
]


@pytest.mark.parametrize("fields", BAD_INPUTS)
def test_bad_input_gets_a_helpful_reply_never_an_error(
    twilio: Twilio, fields: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    form = twilio.sms_form(RESIDENT, "x")
    form.update(fields)
    response = twilio.post("/twilio/sms", form)
    assert response.status_code == 200
    replies = _messages(response.get_data(as_text=True))
    assert len(replies) == 1 and len(replies[0]) > 20
    assert "Traceback" not in replies[0]
    assert "Traceback" not in caplog.text
    assert RESIDENT not in caplog.text and "639980042" not in caplog.text


def test_logs_mask_the_residents_number(twilio: Twilio, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    twilio.text("c'est ouvert quand la médiathèque de la Côte des Roses ?")
    assert "+33*******42" in caplog.text
    assert RESIDENT not in caplog.text


def test_an_internal_error_gets_an_apology_not_silence(
    twilio: Twilio, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_text: str) -> None:
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(runtime.nlu, "parse", broken)
    reply = twilio.text("Bonjour")
    assert "problème technique" in reply
    assert "engine exploded" not in reply


def test_an_internal_error_passes_the_message_to_the_advisors(
    twilio: Twilio, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_text: str) -> None:
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(runtime.nlu, "parse", broken)
    twilio.text("Bonjour, j'ai besoin d'aide pour la CAF")
    twilio.text("Vous êtes là ?")
    with runtime.sessions() as session:
        [ticket] = session.scalars(select(CallbackTicket)).all()  # one, joined by the second
        assert (ticket.reason, ticket.status) == ("error", "open")
        texts = session.scalars(
            select(ThreadEntry.body).where(ThreadEntry.ticket_id == ticket.id)
        ).all()
        assert "Bonjour, j'ai besoin d'aide pour la CAF" in texts
        assert "Vous êtes là ?" in texts
        user = add_user(
            session,
            "claire@example.org",
            "correct horse battery",
            [],
            is_admin=True,
            now=clock.now(),
        )
        ticket.status, ticket.taken_by_id = "taken", user.id
        session.commit()
    # Held by an advisor: even our failure does not make the assistant speak.
    assert "<Message>" not in twilio.sms(RESIDENT, "Allo ?").get_data(as_text=True)


def test_unknown_paths_and_methods_answer_plainly(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/twilio/sms").status_code == 405
    assert client.get("/nowhere").status_code == 404
