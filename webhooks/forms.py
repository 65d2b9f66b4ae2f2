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


def small_number(value: str | None, max_digits: int) -> int | None:
    """A non-negative whole number written in ASCII digits, or None.

    str.isdigit() accepts "²" or "١٢", which int() refuses or reads: a signed form or URL may
    carry anything, so only 0-9 count (webhooks/status.py, webhooks/voice_reminder.py).
    """
    text = (value or "").strip()
    if not text or len(text) > max_digits or not (text.isascii() and text.isdigit()):
        return None
    return int(text)


def form_text(value: str | None, limit: int) -> str:
    """A form value to store: stripped, without NUL (PostgreSQL refuses it), at most `limit`."""
    return (value or "").replace("\x00", "").strip()[:limit]


def _media_count(value: str | None) -> int:
    return small_number(value, 4) or 0


def parse_sms_form(form: Mapping[str, str], received_at: datetime, channel: Channel) -> Inbound:
    """An Inbound from Twilio's SMS webhook parameters (From, Body, MessageSid, NumMedia...)."""
    sender = normalise_number(form_text(form.get("From"), 64))
    if not sender:
        raise FormError("From is missing")
    message_id = form_text(form.get("MessageSid") or form.get("SmsSid"), 64)
    if not message_id:
        raise FormError("MessageSid is missing")
    body = (form.get("Body") or "").replace("\x00", "")
    return Inbound(
        channel=channel,
        sender=sender,
        text=body[:MAX_BODY].strip(),
        received_at=received_at,
        provider_id=message_id,
        has_media=_media_count(form.get("NumMedia")) > 0,
    )


# Speech longer than this is not an answer to a phone menu (a caller talking to someone else).
MAX_SPEECH = 500
_DIGITS = frozenset("0123456789*#")


def parse_voice_form(form: Mapping[str, str], received_at: datetime, turn: str = "") -> Inbound:
    """An Inbound from Twilio's voice webhook parameters (From, CallSid, Digits, SpeechResult).

    The provider id is the CallSid and the turn number, so a retried webhook is handled once.
    """
    call_id = form_text(form.get("CallSid"), 64)
    if not call_id:
        raise FormError("CallSid is missing")
    sender = normalise_number(form_text(form.get("From") or form.get("Caller"), 64))
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
