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
