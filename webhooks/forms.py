"""Twilio form bodies decoded into typed values; anything malformed becomes a FormError."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import phonenumbers

from flows.messages import Channel, Inbound

# Twilio caps an SMS body at 1,600 characters; anything longer is not from a phone.
MAX_BODY = 1600
MAX_SENDER = 32


class FormError(ValueError):
    """A webhook form that lacks what we need to answer."""


def normalise_sender(raw: str) -> str:
    """E.164 for a valid number (French national format accepted); the raw value otherwise."""
    raw = raw.strip()
    try:
        parsed = phonenumbers.parse(raw, "FR")
        if phonenumbers.is_valid_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException:
        pass
    return raw[:MAX_SENDER]


def _media_count(value: str | None) -> int:
    try:
        return max(0, int(value or 0))
    except ValueError:
        return 0


def parse_sms_form(form: Mapping[str, str], received_at: datetime, channel: Channel) -> Inbound:
    """An Inbound from Twilio's SMS webhook parameters (From, Body, MessageSid, NumMedia...)."""
    sender = normalise_sender(form.get("From") or "")
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
