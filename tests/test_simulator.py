"""The local simulator: a resident's message goes through the real, signed SMS webhook."""

from __future__ import annotations

from flask.testing import FlaskClient

from bot.app import create_app
from bot.config import Settings
from bot.runtime import runtime_of
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
