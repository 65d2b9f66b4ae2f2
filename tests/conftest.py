"""Shared fixtures: the app on a fresh database (SQLite, and PostgreSQL when configured),
a frozen clock, and a `twilio` helper that signs requests exactly as Twilio does."""

from __future__ import annotations

import itertools
import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from twilio.request_validator import RequestValidator

from bot import clock
from bot.app import build_intent_engine, create_app, prepare_database
from bot.config import Settings
from bot.dispatch import Dispatcher
from bot.runtime import Runtime, runtime_of
from bot.services.gateway import SmsGateway
from tests.twilio_server import ACCOUNT_SID as FAKE_ACCOUNT_SID
from tests.twilio_server import AUTH_TOKEN as FAKE_API_TOKEN
from tests.twilio_server import FakeTwilio

AUTH_TOKEN = "test-auth-token-0123456789abcdef"
PUBLIC_URL = "https://relais.example.org"
SERVICE_NUMBER = "+33700000001"
RESIDENT = "+33639980042"  # ARCEP fiction range 06 39 98 xx xx
PG_URL = os.environ.get("RELAIS_TEST_DATABASE_URL", "")

# A Monday morning in Paris, outside holidays: 2026-11-23 10:00.
DEFAULT_NOW = datetime.fromisoformat("2026-11-23T10:00:00+01:00")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any connection that leaves this machine."""
    real_connect = socket.socket.connect

    def guarded(sock: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if (
            isinstance(host, str)
            and host not in {"127.0.0.1", "::1", "localhost"}
            and not (host.startswith("127.") or host.startswith("/"))
        ):
            raise RuntimeError(f"test tried to reach {host}: only localhost is allowed")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(autouse=True)
def frozen_clock() -> Iterator[None]:
    """Every test starts at DEFAULT_NOW; the `clock` fixture moves it."""
    clock.freeze(DEFAULT_NOW)
    yield
    clock.freeze(None)


@dataclass
class Clock:
    """Moves the frozen clock."""

    def set(self, iso: str) -> datetime:
        """Freeze at an ISO-8601 time (Paris offset included)."""
        at = datetime.fromisoformat(iso)
        clock.freeze(at)
        return at


@pytest.fixture
def frozen() -> Clock:
    """Move the frozen clock: `frozen.set("2026-12-25T10:00:00+01:00")`."""
    return Clock()


@pytest.fixture(scope="session")
def nlu_engine(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One trained engine for the whole run (training is the slow part)."""
    settings = Settings(instance_dir=tmp_path_factory.mktemp("nlu-instance"))
    return build_intent_engine(settings)


def _fresh_postgres_schema(base_url: str) -> tuple[str, str]:
    """A new schema in the test database, so parallel or repeated runs never collide."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(base_url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), schema


def _drop_postgres_schema(base_url: str, schema: str) -> None:
    engine = create_engine(base_url)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


DATABASES = ["sqlite"] + (["postgresql"] if PG_URL else [])


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh empty database: a temp SQLite file, and PostgreSQL when configured."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'relais.sqlite3'}"
        return
    url, schema = _fresh_postgres_schema(PG_URL)
    try:
        yield url
    finally:
        _drop_postgres_schema(PG_URL, schema)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Test settings: our own token and public URL, no scheduler."""
    return Settings(
        instance_dir=tmp_path / "instance",
        database_url=database_url,
        public_url=PUBLIC_URL,
        twilio_auth_token=AUTH_TOKEN,
        twilio_from=SERVICE_NUMBER,
        scheduler=False,
    )


@pytest.fixture
def app(settings: Settings, nlu_engine: Any) -> Iterator[Flask]:
    """The app on a migrated database with the demo territory loaded."""
    application = create_app(settings, nlu_engine=nlu_engine)
    application.config["TESTING"] = True
    prepare_database(runtime_of(application))
    yield application
    runtime_of(application).db.dispose()


@pytest.fixture
def runtime(app: Flask) -> Runtime:
    """The app's runtime (settings, database sessions, engine)."""
    return runtime_of(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client."""
    return app.test_client()


_sids = itertools.count(1)


@dataclass
class Twilio:
    """Posts webhook forms signed as Twilio signs them (HMAC-SHA1 of URL + sorted params)."""

    client: FlaskClient
    token: str = AUTH_TOKEN
    base: str = PUBLIC_URL
    sent: list[str] = field(default_factory=list)

    def signature(self, path: str, form: dict[str, str]) -> str:
        """The X-Twilio-Signature for this path and form."""
        return str(RequestValidator(self.token).compute_signature(self.base + path, form))

    def post(
        self,
        path: str,
        form: dict[str, str],
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """POST a form, signed unless a signature (or "" for none) is given."""
        sig = self.signature(path, form) if signature is None else signature
        all_headers = {"X-Twilio-Signature": sig} if sig else {}
        all_headers.update(headers or {})
        return self.client.post(path, data=form, headers=all_headers)

    def sms_form(
        self, sender: str, body: str, sid: str | None = None, **extra: str
    ) -> dict[str, str]:
        """The form Twilio sends for an inbound SMS."""
        form = {
            "ToCountry": "FR",
            "ToState": "",
            "SmsMessageSid": "",
            "NumMedia": "0",
            "ToCity": "",
            "FromZip": "",
            "SmsSid": "",
            "FromState": "",
            "SmsStatus": "received",
            "FromCity": "",
            "Body": body,
            "FromCountry": "FR",
            "To": SERVICE_NUMBER,
            "ToZip": "",
            "NumSegments": "1",
            "MessageSid": "",
            "AccountSid": "AC" + "1" * 32,
            "From": sender,
            "ApiVersion": "2010-04-01",
        }
        message_sid = sid or f"SM{next(_sids):032x}"
        form.update(MessageSid=message_sid, SmsMessageSid=message_sid, SmsSid=message_sid)
        form.update(extra)
        return form

    def sms(self, sender: str, body: str, sid: str | None = None, **extra: str) -> Any:
        """Send an SMS from a resident and return the response."""
        return self.post("/twilio/sms", self.sms_form(sender, body, sid, **extra))

    def text(self, body: str, sender: str = RESIDENT) -> str:
        """Send an SMS and return the reply text (all <Message> bodies joined)."""
        import xml.etree.ElementTree as ET

        response = self.sms(sender, body)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.mimetype == "text/xml"
        root = ET.fromstring(response.get_data(as_text=True))
        return "\n".join(m.text or "" for m in root.iter("Message"))


@pytest.fixture
def twilio(client: FlaskClient) -> Twilio:
    """Sign and post Twilio webhooks: `twilio.text("Bonjour")`."""
    return Twilio(client)


def gsm(text: str) -> str:
    """The text as the resident receives it: mapped to GSM-7 (ô→o, ’→')."""
    from bot.wording.gsm7 import to_gsm7

    return to_gsm7(text)


# --- the local Twilio, a gateway to it and a dispatcher (outbox and reminder tests) ----------


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    """The fake Twilio, on our frozen clock; every request must conform to Twilio's spec."""
    with FakeTwilio(clock=clock.now) as server:
        yield server
    assert server.violations == []


@pytest.fixture
def gateway(fake_twilio: FakeTwilio) -> Iterator[SmsGateway]:
    """The official Twilio client, pointed at the fake."""
    gw = SmsGateway(
        FAKE_ACCOUNT_SID, FAKE_API_TOKEN, SERVICE_NUMBER, api_url=fake_twilio.url, timeout=5
    )
    yield gw
    gw.close()


@pytest.fixture
def dispatcher(runtime: Runtime, gateway: SmsGateway) -> Iterator[Dispatcher]:
    """A dispatcher sending through that gateway (lease: 2 minutes, the default)."""
    d = Dispatcher(runtime.sessions, gateway, public_url=PUBLIC_URL, worker="test-dispatcher-a")
    yield d
    d.close()


@pytest.fixture
def call(twilio: Twilio) -> Any:
    """A phone call from the resident (tests/phone_calls.py)."""
    from tests.phone_calls import Call  # it imports this module

    return Call(twilio)
