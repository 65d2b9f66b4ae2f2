"""What an outbound message says: the SMS text or the call's TwiML, rendered when it is claimed.

Rendering at claim time (not at scheduling) means a reminder always carries the appointment as
it is when sent. None means there is nothing to say any more (appointment cancelled, offer
closed): the message is cancelled instead of sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session
from twilio.twiml.voice_response import Gather, VoiceResponse

from bot.models import BOOKED, OFFERED, Appointment
from bot.services import places, reminders, waiting_offers
from bot.services.bookings import appointment_info
from bot.services.outbox import Outbound
from bot.wording import say
from bot.wording.dates import format_day, format_time, spoken_time

VOICE_LANGUAGE = "fr-FR"
# Seconds a person called has to press a key (seniors: generous).
GATHER_TIMEOUT = 8


@dataclass(frozen=True, slots=True)
class Rendered:
    """The text of one message: an SMS body, or TwiML for a call."""

    content: str
    deadline: datetime  # after this, the message is pointless (appointment start, offer end)


def when(starts_at: datetime, voice: bool = False) -> str:
    """ "jeudi 3 décembre à 14h30" ("à 14 heures 30" for the voice)."""
    moment = spoken_time(starts_at) if voice else format_time(starts_at)
    return say("hours.at", day=format_day(starts_at), time=moment)


def _reminder(session: Session, message: Outbound, now: datetime, voice: bool) -> Rendered | None:
    row = session.get(Appointment, message.appointment_id) if message.appointment_id else None
    if row is None or row.status != BOOKED or row.starts_at <= now:
        return None
    appointment = appointment_info(row)
    place = places.get_place(session, appointment.place_id)
    text = say(
        "reminder",
        voice=voice,
        when=when(appointment.starts_at, voice),
        place=appointment.place_name,
        address=f"{place.address}, {place.commune}" if place else "",
    )
    return Rendered(text, row.starts_at)


def _offer(session: Session, message: Outbound, now: datetime, voice: bool) -> Rendered | None:
    offer = waiting_offers.get_offer(session, message.offer_id) if message.offer_id else None
    if offer is None or offer.status != OFFERED or offer.expires_at <= now:
        return None
    place = places.get_place(session, offer.place_id)
    values = {
        "when": when(offer.starts_at, voice),
        "place": place.name if place else "",
        "until": spoken_time(offer.expires_at) if voice else format_time(offer.expires_at),
        "title": offer.workshop_title or "",
    }
    key = "offer.slot" if offer.workshop_id is None else "offer.seat"
    return Rendered(say(key, voice=voice, **values), offer.expires_at)


def render_text(session: Session, message: Outbound, now: datetime) -> Rendered | None:
    """The SMS (or spoken text) of a message, or None if it no longer applies."""
    voice = message.channel == "voice"
    if message.kind == reminders.REMINDER:
        return _reminder(session, message, now, voice)
    if message.kind == waiting_offers.WAITING_OFFER:
        return _offer(session, message, now, voice)
    raise ValueError(f"unknown outbound kind {message.kind!r}")


def keypad_twiml(spoken: str, action_url: str, repeat: str, goodbye: str) -> str:
    """A call that says `spoken`, waits for one key (posted to `action_url`), asks once more."""
    response = VoiceResponse()
    for text in (spoken, repeat):
        gather = Gather(
            input="dtmf", num_digits=1, timeout=GATHER_TIMEOUT, action=action_url, method="POST"
        )
        gather.say(text, language=VOICE_LANGUAGE)
        response.append(gather)
    response.say(goodbye, language=VOICE_LANGUAGE)
    return str(response)


def call_twiml(message: Outbound, spoken: str, public_url: str) -> str:
    """The TwiML of a reminder or offer call; keys are answered at /twilio/voice/reminder."""
    action = f"{public_url}/twilio/voice/reminder?outbound={message.id}"
    repeat = say("reminder.voice_repeat") if message.kind == reminders.REMINDER else spoken
    return keypad_twiml(spoken, action, repeat, say("reminder.voice_no_answer"))
