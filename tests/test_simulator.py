"""The local simulator: a resident's message goes through the real, signed SMS webhook."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.app import create_app, prepare_database
from bot.config import Settings
from bot.models import Voicemail
from bot.runtime import Runtime, runtime_of
from tests.conftest import gsm


def test_simulator_page_is_served(client: FlaskClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "Relais : simulateur SMS" in page.get_data(as_text=True)


def test_simulator_answers_through_the_signed_webhook(client: FlaskClient) -> None:
    response = client.post(
        "/simulateur/envoyer",
        json={"from": "+33639980001", "body": "il y a une permanence près de 57970 ?"},
    )
    assert response.status_code == 200
    (reply,) = response.get_json()["replies"]
    assert "1 Yutz" in reply
    follow = client.post("/simulateur/envoyer", json={"from": "+33639980001", "body": "1"})
    assert gsm("Mission locale - antenne de Yutz") in follow.get_json()["replies"][0]


def test_simulator_refuses_a_non_json_post(client: FlaskClient) -> None:
    assert client.post("/simulateur/envoyer", data={"body": "x"}).status_code == 400


def test_simulator_is_off_in_production(settings: Settings, nlu_engine: object) -> None:
    production = settings.with_overrides(
        env="production", simulator=False, secret_key="s" * 32, twilio_auth_token="t" * 32
    )
    app = create_app(production, nlu_engine=nlu_engine)
    client = app.test_client()
    assert client.get("/").status_code == 404
    assert client.post("/simulateur/envoyer", json={"body": "x"}).status_code == 404
    runtime_of(app).db.dispose()


def test_production_refuses_development_secrets(settings: Settings) -> None:
    import pytest

    from bot.config import ConfigError

    with pytest.raises(ConfigError):
        settings.with_overrides(env="production", simulator=False).check()


def test_reminders_sent_in_the_demo_appear_in_the_simulator(client: FlaskClient) -> None:
    from datetime import datetime

    from bot.clock import PARIS
    from bot.dispatch import Dispatcher
    from bot.dispatch.simulated import SimulatedSender

    number = "+33639980001"
    for body in ("je voudrais un rdv", "Thionville", "1", "0"):
        reply = client.post("/simulateur/envoyer", json={"from": number, "body": body})
    assert "Rendez-vous confirmé : le mardi 24 novembre à 9h" in gsm(reply.get_json()["replies"][0])
    assert client.get(f"/simulateur/recus?numero={number}&apres=0").get_json()["messages"] == []
    runtime = runtime_of(client.application)
    dispatcher = Dispatcher(runtime.sessions, SimulatedSender())
    try:
        report = dispatcher.run_once(datetime(2026, 11, 24, 8, 30, tzinfo=PARIS))
    finally:
        dispatcher.close()
    # Booked Monday 10:00 for Tuesday 9:00: the day-before time has passed, and 2 hours before
    # (7:00) is in the quiet hours, so the one reminder goes at 8:30.
    assert report.sent == 1
    (message,) = client.get(f"/simulateur/recus?numero={number}&apres=0").get_json()["messages"]
    assert message["appel"] is False
    assert message["texte"].startswith("Rappel : rendez-vous le mardi 24 novembre à 9h")
    later = client.get(f"/simulateur/recus?numero={number}&apres={message['id']}")
    assert later.get_json()["messages"] == []


# --- the phone: a call through the signed /twilio/voice and the actions its TwiML names ---

CALLER = "+33639980007"


class Call:
    """A call placed from the simulator page: each answer goes to the last TwiML's action."""

    def __init__(self, client: FlaskClient, caller: str = CALLER) -> None:
        self.client = client
        self.caller = caller
        self.last = self._check(client.post("/simulateur/appeler", json={"from": caller}))

    @staticmethod
    def _check(response: Any) -> dict[str, Any]:
        assert response.status_code == 200, response.get_data(as_text=True)
        data: dict[str, Any] = response.get_json()
        return data

    def answer(self, **fields: object) -> dict[str, Any]:
        """Keys (digits=), words (speech=), a voicemail (message=), or nothing: what comes next."""
        payload = {"from": self.caller, "call": self.last["call"], "action": self.last["action"]}
        payload.update(fields)
        self.last = self._check(self.client.post("/simulateur/repondre", json=payload))
        return self.last

    @property
    def heard(self) -> str:
        return " ".join(self.last["said"])


def test_a_call_plays_the_voice_menu_through_the_real_webhook(client: FlaskClient) -> None:
    call = Call(client)
    assert call.last["call"].startswith("CA")
    assert "ici Relais" in call.heard
    assert "tapez 1 pour les horaires et adresses" in call.heard
    assert call.last["kind"] == "gather"
    assert call.last["action"] == "/twilio/voice/answer?turn=1"
    assert call.last["ended"] is False

    call.answer(digits="1")
    assert "Dans quelle commune habitez-vous ?" in call.heard
    call.answer(digits="57100")
    assert "Le code 57100 couvre plusieurs communes. Laquelle ?" in call.heard
    assert "Thionville, tapez 1" in call.heard
    call.answer()  # silence: the question again
    assert call.heard.startswith("Je ne vous ai pas entendu.")
    assert call.last["action"] == "/twilio/voice/answer?turn=4"


def test_typed_speech_is_understood_like_words(client: FlaskClient) -> None:
    call = Call(client)
    call.answer(speech="il y a une permanence près de 57970 ?")
    assert "Yutz, tapez 1" in call.heard
    assert call.last["kind"] == "gather"


def test_after_hours_a_zero_leaves_a_voicemail(
    client: FlaskClient, frozen: Any, runtime: Runtime
) -> None:
    frozen.set("2026-11-23T21:00:00+01:00")
    call = Call(client)
    call.answer(digits="0")
    assert "Dans quelle commune habitez-vous ?" in call.heard  # which advisor: the nearest
    call.answer(speech="Yutz")
    assert "Laissez votre nom et votre message après le bip" in call.heard
    assert call.last["kind"] == "record"
    assert call.last["action"].startswith("/twilio/voice/voicemail?place=")

    call.answer(message="Bonjour, rappelez-moi pour ma carte grise, merci.")
    assert (
        call.heard
        == "Merci, votre message est enregistré. Un conseiller vous rappellera. Au revoir."
    )
    assert call.last["ended"] is True
    assert call.last["action"] is None
    with runtime.sessions() as session:
        (voicemail,) = session.scalars(select(Voicemail)).all()
    assert voicemail.recording_url is not None
    assert "/Recordings/RE" in voicemail.recording_url
    assert voicemail.duration_seconds and voicemail.duration_seconds > 0


def test_an_empty_recording_is_not_kept(client: FlaskClient, frozen: Any) -> None:
    frozen.set("2026-11-23T21:00:00+01:00")
    call = Call(client)
    call.answer(digits="0")
    call.answer(speech="Yutz")
    call.answer(message="", hangup=True)
    assert call.heard.startswith("Je n'ai pas reçu de message.")
    assert call.last["ended"] is True


def test_a_transfer_nobody_answers_ends_in_the_voicemail(client: FlaskClient) -> None:
    call = Call(client)
    call.answer(digits="1")
    call.answer(speech="57970")
    call.answer(digits="1")  # Yutz
    assert "Mission locale - antenne de Yutz" in call.heard
    call.answer(digits="1")  # the Mission locale, open on Monday morning
    call.answer(digits="0")
    assert call.last["kind"] == "dial", call.last
    assert call.last["number"].startswith("+33")
    assert call.last["action"] == "/twilio/voice/dial-ended?place=demo-mission-locale-yutz"
    call.answer()  # the simulator cannot ring a phone: "no-answer"
    assert call.heard.startswith("Le conseiller ne répond pas.")
    assert call.last["kind"] == "record"


def test_the_call_is_signed_for_the_local_url_without_a_public_url(
    settings: Settings, nlu_engine: object
) -> None:
    app = create_app(settings.with_overrides(public_url=""), nlu_engine=nlu_engine)
    prepare_database(runtime_of(app))
    try:
        call = Call(app.test_client())
        call.answer(digits="1")
        assert "Dans quelle commune habitez-vous ?" in call.heard
    finally:
        runtime_of(app).db.dispose()


def test_the_call_refuses_a_non_json_post(client: FlaskClient) -> None:
    assert client.post("/simulateur/appeler", data={"from": CALLER}).status_code == 400
    assert client.post("/simulateur/repondre", data={"digits": "1"}).status_code == 400


@pytest.mark.parametrize(
    "action",
    ["/twilio/sms", "/inbox/", "", "/twilio/voice", "/twilio/voice/answer#x", "x" * 400],
)
def test_an_answer_goes_only_to_a_voice_action(client: FlaskClient, action: str) -> None:
    sid = Call(client).last["call"]
    payload = {"from": CALLER, "call": sid, "action": action, "digits": "1"}
    assert client.post("/simulateur/repondre", json=payload).status_code == 400


def test_an_answer_needs_a_call_sid(client: FlaskClient) -> None:
    payload = {"from": CALLER, "call": "SM1", "action": "/twilio/voice/answer?turn=1"}
    assert client.post("/simulateur/repondre", json=payload).status_code == 400


def test_only_known_twiml_verbs_are_described() -> None:
    from bot.simulator import _call_from_twiml

    twiml = (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Play>https://x/a.mp3</Play>'
        "<Say>Bonjour.</Say><Redirect>https://evil.example/x</Redirect>"
        '<Gather action="https://elsewhere.example/twilio/sms" numDigits="1"><Say>Tapez.</Say>'
        "</Gather></Response>"
    )
    described = _call_from_twiml(twiml, "https://relais.example.org")
    assert described == {
        "said": ["Bonjour.", "Tapez."],
        "kind": None,
        "action": None,
        "ended": True,
    }
    gather = _call_from_twiml(
        '<Response><Gather numDigits="1" action="https://relais.example.org/twilio/voice/answer'
        '?turn=2"><Say>Oui ?</Say></Gather><Hangup/></Response>',
        "https://relais.example.org",
    )
    assert gather == {
        "said": ["Oui ?"],
        "kind": "gather",
        "numDigits": 1,
        "action": "/twilio/voice/answer?turn=2",
        "ended": False,
    }
