"""The demo's stand-in for Twilio: outbound messages are only recorded, never sent.

With the development token and no TWILIO_API_URL there is no Twilio to talk to; the simulator
page shows the messages sent to its number from the outbox instead (bot/simulator/).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from bot.services.gateway import SentSms


class SimulatedSender:
    """Accepts every message and call, as Twilio would, without sending anything."""

    def send_sms(self, to: str, body: str, status_callback: str | None = None) -> SentSms:
        """Pretend Twilio queued the SMS."""
        return SentSms(sid="SM" + uuid.uuid4().hex, status="queued", to=to)

    def place_call(self, to: str, twiml: str, status_callback: str | None = None) -> SentSms:
        """Pretend Twilio queued the call."""
        return SentSms(sid="CA" + uuid.uuid4().hex, status="queued", to=to)

    def find_sent(self, to: str, since: datetime, body: str | None = None) -> str | None:
        """Nothing left this machine, so nothing was sent."""
        return None
