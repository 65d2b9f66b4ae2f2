"""Phone numbers and secrets stay out of logs; test tools stay off with real credentials."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session

from bot.app import build_intent_engine, create_app
from bot.config import DEV_AUTH_TOKEN, Settings, settings_from_env
from bot.models import Resident
from bot.privacy import PhoneMaskingFilter, url_origin
from bot.runtime import runtime_of
from bot.services import conversations
from tests.conftest import RESIDENT, Twilio

REAL_TOKEN = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def masked_caplog(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """caplog whose handler masks numbers, as install_log_masking does for real handlers."""
    mask = PhoneMaskingFilter()
    caplog.handler.addFilter(mask)
    caplog.set_level(logging.DEBUG)
    yield caplog
    caplog.handler.removeFilter(mask)


def _insert_resident_twice(session: Session, phone: str, now: datetime) -> Resident:
    """A service whose SQL fails with the number among its parameters."""
    row = {"phone": phone, "opted_out": False, "created_at": now, "last_seen_at": now}
    session.execute(insert(Resident).values(**row))
    session.execute(insert(Resident).values(**row))  # unique constraint on phone
    raise AssertionError("the second insert should have failed")


def test_a_database_error_is_logged_without_the_number(
    twilio: Twilio, masked_caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(conversations, "get_or_create_resident", _insert_resident_twice)
    reply = twilio.text("Bonjour")
    assert reply  # an apology, never silence
    errors = [r for r in masked_caplog.records if r.exc_info]
    assert errors and any("IntegrityError" in (r.exc_text or "") for r in errors)
    logged = "\n".join(masked_caplog.handler.format(r) for r in masked_caplog.records)
    assert "IntegrityError" in logged
    assert "SQL parameters hidden" in logged
    assert RESIDENT not in logged
    assert RESIDENT.removeprefix("+33") not in logged
    assert RESIDENT not in masked_caplog.text


def test_a_number_in_an_exception_message_is_masked() -> None:
    logger = logging.getLogger("tests.privacy.exception")
    record: logging.LogRecord | None = None

    class Keep(logging.Handler):
        def emit(self, r: logging.LogRecord) -> None:
            nonlocal record
            record = r

    handler = Keep()
    handler.addFilter(PhoneMaskingFilter())
    logger.addHandler(handler)
    logger.propagate = False  # only our handler sees (and formats) the record
    try:
        try:
            raise ValueError(f"Key (phone)=({RESIDENT}) already exists.")
        except ValueError:
            logger.exception("failed for 06 39 98 00 42", stack_info=True)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    assert record is not None
    text = logging.Formatter().format(record)
    assert "ValueError: Key (phone)=(+33*******42) already exists." in text
    assert "Stack (most recent call last)" in text
    assert RESIDENT not in text and "06 39 98 00 42" not in text


def test_a_traceback_formatted_by_an_earlier_handler_is_masked_too() -> None:
    try:
        raise ValueError(RESIDENT)
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", None, sys.exc_info())
    logging.Formatter().format(record)  # a handler without the filter ran first
    assert RESIDENT in (record.exc_text or "")
    PhoneMaskingFilter().filter(record)
    assert RESIDENT not in (record.exc_text or "")


def test_a_number_in_the_stack_info_is_masked() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", None, None)
    record.stack_info = f'  File "x.py", line 1, in f\n    send("{RESIDENT}")'
    PhoneMaskingFilter().filter(record)
    assert RESIDENT not in (record.stack_info or "")


@pytest.mark.parametrize(
    ("url", "logged"),
    [
        ("http://127.0.0.1:5005", "http://127.0.0.1:5005"),
        (
            "https://user:s3cret@rasa.example.org:8443/base?token=abc#x",
            "https://rasa.example.org:8443",
        ),
        ("https://rasa.example.org/webhooks?token=abc", "https://rasa.example.org"),
        ("http://[::1]:5005/", "http://[::1]:5005"),
        ("http://token@localhost", "http://localhost"),
    ],
)
def test_url_origin_keeps_only_scheme_host_and_port(url: str, logged: str) -> None:
    assert url_origin(url) == logged


def test_the_rasa_url_is_logged_without_credentials(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import nlu

    monkeypatch.setattr(nlu, "load_engine", lambda **_kwargs: object())
    caplog.set_level(logging.INFO, logger="bot.app")
    url = "https://relais:s3cret@rasa.example.org:8443/prefix?token=t0ken"
    build_intent_engine(settings.with_overrides(nlu_backend="rasa", rasa_url=url))
    assert "https://rasa.example.org:8443" in caplog.text
    for secret in ("s3cret", "t0ken", "relais:", "prefix"):
        assert secret not in caplog.text


@pytest.mark.parametrize(
    ("environ", "simulator", "nlu_api"),
    [
        ({}, True, True),
        ({"TWILIO_AUTH_TOKEN": REAL_TOKEN}, False, False),
        ({"TWILIO_AUTH_TOKEN": REAL_TOKEN, "RELAIS_SIMULATOR": "1"}, True, False),
        ({"TWILIO_AUTH_TOKEN": REAL_TOKEN, "RELAIS_NLU_API_TOKEN": "s3cret"}, False, True),
        ({"RELAIS_SIMULATOR": "0"}, False, True),
        (
            {
                "RELAIS_ENV": "production",
                "TWILIO_AUTH_TOKEN": REAL_TOKEN,
                "RELAIS_SECRET_KEY": "k" * 32,
            },
            False,
            False,
        ),
        (
            {
                "RELAIS_ENV": "production",
                "TWILIO_AUTH_TOKEN": REAL_TOKEN,
                "RELAIS_SECRET_KEY": "k" * 32,
                "RELAIS_NLU_API_TOKEN": "s3cret",
            },
            False,
            True,
        ),
    ],
    ids=[
        "demo",
        "real-token",
        "real-token-simulator-asked",
        "real-token-with-nlu-token",
        "demo-simulator-refused",
        "production",
        "production-with-nlu-token",
    ],
)
def test_test_tools_are_on_only_for_the_development_token(
    environ: dict[str, str], simulator: bool, nlu_api: bool
) -> None:
    settings = settings_from_env(environ)
    settings.check()
    assert settings.simulator is simulator
    assert settings.nlu_api_enabled is nlu_api


def test_asking_for_the_simulator_in_production_is_refused() -> None:
    from bot.config import ConfigError

    environ = {
        "RELAIS_ENV": "production",
        "TWILIO_AUTH_TOKEN": REAL_TOKEN,
        "RELAIS_SECRET_KEY": "k" * 32,
        "RELAIS_SIMULATOR": "1",
    }
    with pytest.raises(ConfigError, match="RELAIS_SIMULATOR"):
        settings_from_env(environ).check()


@pytest.mark.parametrize(("token", "warned"), [(REAL_TOKEN, True), (DEV_AUTH_TOKEN, False)])
def test_the_simulator_with_a_real_token_is_warned_about_at_start(
    settings: Settings,
    nlu_engine: Any,
    caplog: pytest.LogCaptureFixture,
    token: str,
    warned: bool,
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.app")
    app = create_app(settings.with_overrides(twilio_auth_token=token), nlu_engine=nlu_engine)
    runtime_of(app).db.dispose()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "simulator" in r.msg]
    assert bool(warnings) is warned
