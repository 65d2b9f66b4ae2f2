"""Structured logs (RELAIS_LOG_FORMAT=json): one JSON object per line, phone numbers masked."""

from __future__ import annotations

import io
import json
import logging

import pytest

from bot.config import ConfigError, settings_from_env
from bot.log_format import JsonFormatter
from bot.privacy import PhoneMaskingFilter


def _logged(action: str) -> dict[str, object]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(PhoneMaskingFilter())
    logger = logging.getLogger("relais.test.json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        if action == "message":
            logger.warning("reply to %s failed", "+33639980042")
        else:
            try:
                raise ValueError("bad number +33639980042")
            except ValueError:
                logger.exception("webhook error")
    finally:
        logger.removeHandler(handler)
    [line] = stream.getvalue().splitlines()
    return dict(json.loads(line))


def test_a_json_log_line_carries_level_logger_and_the_masked_message() -> None:
    entry = _logged("message")
    assert entry["level"] == "WARNING" and entry["logger"] == "relais.test.json"
    assert entry["message"] == "reply to +33*******42 failed"
    assert str(entry["time"]).endswith("+00:00")


def test_a_json_traceback_is_masked_too() -> None:
    entry = _logged("exception")
    assert "ValueError: bad number +33*******42" in str(entry["exception"])
    assert "39980042" not in json.dumps(entry)


def test_an_unknown_log_format_is_refused() -> None:
    with pytest.raises(ConfigError):
        settings_from_env({"RELAIS_LOG_FORMAT": "xml"}).check()
