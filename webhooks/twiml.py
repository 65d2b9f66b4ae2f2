"""Rendering replies as TwiML, in pure functions."""

from __future__ import annotations

from twilio.twiml.messaging_response import MessagingResponse

from bot.wording.gsm7 import prepare_sms
from flows.messages import Reply


def reply_text(reply: Reply) -> str:
    """The single SMS text of a reply: its text followed by its numbered choices."""
    lines = [reply.text] if reply.text else []
    lines += [f"{number} {label}" for number, label in enumerate(reply.choices, start=1)]
    return "\n".join(lines).strip()


def messaging_twiml(texts: list[str], unicode_allowed: bool = False) -> str:
    """A <Response> with one <Message> per non-empty text (none: an empty Response)."""
    response = MessagingResponse()
    for text in texts:
        if text:
            response.message(prepare_sms(text, unicode_allowed))
    return str(response)
