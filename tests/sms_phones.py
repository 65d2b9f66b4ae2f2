"""Residents' phones for scripted SMS conversations, and one dispatcher pass without Twilio."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import pytest

from bot.dispatch.dispatcher import Dispatcher, DispatchReport
from bot.dispatch.simulated import SimulatedSender
from bot.runtime import Runtime
from bot.wording import say
from bot.wording.gsm7 import count_segments, is_gsm7
from tests.conftest import Twilio, gsm


@dataclass
class Phones:
    """Residents' phones: send an SMS, get back the reply's wording key and its text."""

    twilio: Twilio
    caplog: pytest.LogCaptureFixture

    def send(self, number: str, body: str) -> tuple[str, str]:
        self.caplog.clear()
        reply = self.twilio.text(body, sender=number)
        keys = [
            record.args[-1]
            for record in self.caplog.records
            if record.name == "webhooks.handling"
            and isinstance(record.args, tuple)
            and str(record.msg).startswith("message %s from")
        ]
        assert len(keys) == 1, self.caplog.text  # handled once, without an error
        assert "Traceback" not in reply and reply != gsm(say("error")), reply
        assert is_gsm7(reply), reply
        assert count_segments(reply).segments <= 3, reply
        return str(keys[0]), reply


def phones_for(twilio: Twilio, caplog: pytest.LogCaptureFixture) -> Phones:
    """Phones whose replies' wording keys are read from the webhook's log line."""
    caplog.set_level(logging.INFO, logger="webhooks.handling")
    return Phones(twilio, caplog)


def dispatch_once(runtime: Runtime, now: datetime) -> DispatchReport:
    """One dispatcher pass at `now`, sending through the simulator's stand-in for Twilio."""
    dispatcher = Dispatcher(runtime.sessions, SimulatedSender(), threads=1, now=lambda: now)
    try:
        return dispatcher.run_once(now)
    finally:
        dispatcher.close()
