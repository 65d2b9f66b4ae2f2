"""Twilio form bodies decoded into typed values; anything malformed becomes a FormError."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from bot.services.phone_numbers import normalise_number
from flows.messages import ANONYMOUS_CALLER, Channel, Inbound

# Twilio caps an SMS body at 1,600 characters; anything longer is not from a phone.
MAX_BODY = 1600


class FormError(ValueError):
    """A webhook form that lacks what we need to answer."""


def _media_count(value: str | None) -> int:
    try:
        return max(0, int(value or 0))
    except ValueError:
        return 0


def parse_sms_form(form: Mapping[str, str], received_at: datetime, channel: Channel) -> Inbound:
    """An Inbound from Twilio's SMS webhook parameters (From, Body, MessageSid, NumMedia...)."""
    sender = normalise_number(form.get("From") or "")
    if not sender:
        raise FormError("From is missing")
    message_id = (form.get("MessageSid") or form.get("SmsSid") or "").strip()
    if not message_id:
        raise FormError("MessageSid is missing")
    body = (form.get("Body") or "").replace("\x00", "")
    return Inbound(
        channel=channel,
        sender=sender,
        text=body[:MAX_BODY].strip(),
        received_at=received_at,
        provider_id=message_id[:64],
        has_media=_media_count(form.get("NumMedia")) > 0,
    )


# Speech longer than this is not an answer to a phone menu (a caller talking to someone else).
MAX_SPEECH = 500
_DIGITS = frozenset("0123456789*#")


def parse_voice_form(form: Mapping[str, str], received_at: datetime, turn: str = "") -> Inbound:
    """An Inbound from Twilio's voice webhook parameters (From, CallSid, Digits, SpeechResult).

    The provider id is the CallSid and the turn number, so a retried webhook is handled once.
    """
    call_id = (form.get("CallSid") or "").strip()
    if not call_id:
        raise FormError("CallSid is missing")
    sender = normalise_number(form.get("From") or form.get("Caller") or "")
    if not sender.startswith("+"):
        # Withheld ("anonymous"), or not a number: this call only, never another caller's memory.
        sender = ANONYMOUS_CALLER + call_id[-24:]
    digits = "".join(c for c in (form.get("Digits") or "") if c in _DIGITS)[:12]
    speech = (form.get("SpeechResult") or "").replace("\x00", "")[:MAX_SPEECH].strip()
    try:
        confidence: float | None = float(form.get("Confidence") or "")
    except ValueError:
        confidence = None
    return Inbound(
        channel=Channel.VOICE,
        sender=sender,
        text=speech,
        received_at=received_at,
        provider_id=f"{call_id[:48]}:{turn[:8]}" if turn else call_id[:64],
        digits=digits.rstrip("#"),
        confidence=confidence if speech else None,
    )
