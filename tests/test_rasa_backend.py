"""RELAIS_NLU=rasa: a Rasa server decides intents; its failures fall back to the embedded engine.

A local HTTP server plays Rasa's POST /model/parse, including its failure modes.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask.testing import FlaskClient

from bot.app import create_app, prepare_database
from bot.config import ConfigError, Settings
from bot.runtime import runtime_of
from nlu import Intent
from nlu.rasa_http import RasaHttpEngine
from tests.conftest import Twilio


@dataclass
class FakeRasa:
    """What the fake server answers next, and what it was asked."""

    intent: str = "price"
    confidence: float = 0.93
    status: int = 200
    delay: float = 0.0
    raw: bytes | None = None
    asked: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def answer(self) -> tuple[int, bytes]:
        if self.raw is not None:
            return self.status, self.raw
        body = {
            "text": self.asked[-1]["text"],
            "intent": {"name": self.intent, "confidence": self.confidence},
            "entities": [],
            "intent_ranking": [
                {"name": self.intent, "confidence": self.confidence},
                {"name": "greet", "confidence": 1 - self.confidence},
            ],
        }
        return self.status, json.dumps(body).encode()


@pytest.fixture
def rasa() -> Iterator[FakeRasa]:
    """A Rasa-speaking HTTP server on a free localhost port."""
    fake = FakeRasa()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length", 0))
            fake.asked.append({"path": self.path, **json.loads(self.rfile.read(length))})
            time.sleep(fake.delay)
            status, body = fake.answer()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # A client that timed out has closed its socket: that is the point of the test, not an error.
    server.handle_error = lambda *_args: None  # type: ignore[method-assign]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fake.url = f"http://127.0.0.1:{server.server_port}"
    yield fake
    server.shutdown()
    server.server_close()


def test_rasa_decides_the_intent_and_our_extractors_the_entities(
    rasa: FakeRasa, nlu_engine: Any
) -> None:
    rasa.intent, rasa.confidence = "opening_hours", 0.81
    engine = RasaHttpEngine(rasa.url, nlu_engine)
    result = engine.parse("ouvert samedi à Thionville ?")
    assert rasa.asked == [{"path": "/model/parse", "text": "ouvert samedi à Thionville ?"}]
    assert (result.intent, result.confidence) == (Intent.OPENING_HOURS, 0.81)
    assert result.first("commune") is not None and result.first("commune").value == "57672"
    assert result.first("date") is not None


FAILURES = [
    pytest.param({"status": 500, "raw": b"Internal Server Error"}, id="server error"),
    pytest.param({"delay": 0.5}, id="timeout"),
    pytest.param({"raw": b"<html>not json</html>"}, id="not JSON"),
    pytest.param({"intent": "order_pizza"}, id="intent unknown to Relais"),
    pytest.param({"raw": b'{"intent": null}'}, id="no intent"),
]


@pytest.mark.parametrize("failure", FAILURES)
def test_a_failing_rasa_falls_back_to_the_embedded_engine_and_logs_it(
    rasa: FakeRasa, nlu_engine: Any, failure: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    for name, value in failure.items():
        setattr(rasa, name, value)
    engine = RasaHttpEngine(rasa.url, nlu_engine, timeout=0.2)
    result = engine.parse("c'est gratuit ?")
    assert result == nlu_engine.parse("c'est gratuit ?")
    assert "the embedded engine answers" in caplog.text


def test_rasa_down_falls_back_and_is_left_alone_for_a_while(nlu_engine: Any) -> None:
    now = [1000.0]
    engine = RasaHttpEngine("http://127.0.0.1:9", nlu_engine, pause=30, monotonic=lambda: now[0])
    assert engine.parse("bonjour").intent == Intent.GREET
    assert engine._paused_until == 1030.0  # the next messages don't wait for a dead server
    now[0] = 1010.0
    assert engine.parse("merci").intent == Intent.THANKS


def test_stop_is_never_overruled_by_rasa(rasa: FakeRasa, nlu_engine: Any) -> None:
    rasa.intent = "greet"
    assert RasaHttpEngine(rasa.url, nlu_engine).parse("STOP").intent == Intent.OPT_OUT


def test_the_app_answers_residents_through_rasa(
    rasa: FakeRasa, settings: Settings, nlu_engine: Any
) -> None:
    rasa.intent = "what_to_bring"
    app = create_app(settings.with_overrides(nlu_backend="rasa", rasa_url=rasa.url))
    prepare_database(runtime_of(app))
    reply = Twilio(app.test_client()).text("euh alors voilà")
    runtime_of(app).db.dispose()
    assert "identit" in reply
    assert rasa.asked[-1]["text"] == "euh alors voilà"


def test_rasa_without_its_url_is_refused_at_start(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="RASA_URL"):
        settings.with_overrides(nlu_backend="rasa").check()


def test_embedded_engine_serves_rasas_model_parse(client: FlaskClient) -> None:
    response = client.post("/model/parse", json={"text": "jvoudrais 1 rdv pr mon ordi stp"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["intent"]["name"] == "book_appointment"
    assert {"text", "intent", "entities", "intent_ranking"} <= body.keys()


def test_model_parse_refuses_a_body_without_text(client: FlaskClient) -> None:
    assert client.post("/model/parse", json={"message": "x"}).status_code == 400


def test_model_parse_needs_the_token_when_one_is_set(settings: Settings, nlu_engine: Any) -> None:
    app = create_app(settings.with_overrides(nlu_api_token="s3cret"), nlu_engine=nlu_engine)
    client = app.test_client()
    assert client.post("/model/parse", json={"text": "bonjour"}).status_code == 401
    ok = client.post("/model/parse?token=s3cret", json={"text": "bonjour"})
    runtime_of(app).db.dispose()
    assert ok.status_code == 200


def test_model_parse_is_closed_in_production_without_a_token(
    settings: Settings, nlu_engine: Any
) -> None:
    production = settings.with_overrides(
        env="production", simulator=False, secret_key="k" * 32, twilio_auth_token="t" * 32
    )
    app = create_app(production, nlu_engine=nlu_engine)
    status = app.test_client().post("/model/parse", json={"text": "x"}).status_code
    runtime_of(app).db.dispose()
    assert status == 404


def test_rasa_failures_are_logged_without_the_message(
    rasa: FakeRasa, nlu_engine: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rasa.status, rasa.raw = 503, b"down"
    RasaHttpEngine(rasa.url, nlu_engine).parse("mon numéro est le 06 39 98 00 42")
    assert "06 39 98 00 42" not in caplog.text
