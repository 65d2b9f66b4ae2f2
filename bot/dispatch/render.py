"""What an outbound message says: the SMS text or the call's TwiML, rendered when it is claimed.

Rendering at claim time (not at scheduling) means a reminder always carries the appointment as
it is when sent. None means there is nothing to say any more (appointment cancelled, offer
closed): the message is cancelled instead of sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload
from twilio.twiml.voice_response import Gather, VoiceResponse

from bot.models import BOOKED, OFFERED, Appointment
from bot.services import outbox, places, reminders, waiting_offers
from bot.services.bookings import appointment_info
from bot.services.outbox import Outbound
from bot.wording import say
from bot.wording.dates import format_time, format_when, spoken_time

VOICE_LANGUAGE = "fr-FR"
# Seconds a person called has to press a key (seniors: generous).
GATHER_TIMEOUT = 8
# An advisor's text that could not go out for this long (Twilio down) is dropped, not sent late.
WRITTEN_TEXT_TTL = timedelta(days=2)


@dataclass(frozen=True, slots=True)
class Rendered:
    """The text of one message: an SMS body, or TwiML for a call."""

    content: str
    deadline: datetime  # after this, the message is pointless (appointment start, offer end)


def _reminder(row: Appointment | None, now: datetime, voice: bool) -> Rendered | None:
    if row is None or row.status != BOOKED or row.starts_at <= now:
        return None
    appointment = appointment_info(row)
    place = places.place_info(row.place)
    text = say(
        "reminder",
        voice=voice,
        when=format_when(appointment.starts_at, voice),
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
        "when": format_when(offer.starts_at, voice),
        "place": place.name if place else "",
        "until": spoken_time(offer.expires_at) if voice else format_time(offer.expires_at),
        "title": offer.workshop_title or "",
    }
    key = "offer.slot" if offer.workshop_id is None else "offer.seat"
    return Rendered(say(key, voice=voice, **values), offer.expires_at)


def _written(message: Outbound, now: datetime) -> Rendered | None:
    """A text written when it was queued (advisor's reply or notice): sent as it is."""
    if not message.body:
        return None
    return Rendered(message.body, message.expires_at or now + WRITTEN_TEXT_TTL)


def render_batch(
    session: Session, messages: list[Outbound], now: datetime
) -> dict[int, Rendered | None]:
    """The SMS (or spoken text) of each message, None for those that no longer apply.

    A batch's appointments are read in one query with their advisor, place and motif: the
    dispatcher renders thousands of reminders a minute.
    """
    ids = [m.appointment_id for m in messages if m.appointment_id is not None]
    appointments = {
        row.id: row
        for row in session.scalars(
            select(Appointment)
            .options(
                joinedload(Appointment.advisor),
                joinedload(Appointment.place),
                joinedload(Appointment.motif_row),
            )
            .where(Appointment.id.in_(ids))
        ).unique()
    }
    rendered: dict[int, Rendered | None] = {}
    for message in messages:
        voice = message.channel == "voice"
        if message.kind == reminders.REMINDER:
            row = appointments.get(message.appointment_id or 0)
            rendered[message.id] = _reminder(row, now, voice)
        elif message.kind == waiting_offers.WAITING_OFFER:
            rendered[message.id] = _offer(session, message, now, voice)
        elif message.kind == outbox.TEXT:
            rendered[message.id] = _written(message, now)
        else:
            raise ValueError(f"unknown outbound kind {message.kind!r}")
    return rendered


def render_text(session: Session, message: Outbound, now: datetime) -> Rendered | None:
    """One message's text (see render_batch)."""
    return render_batch(session, [message], now)[message.id]


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
    if message.kind == reminders.REMINDER:
        return keypad_twiml(
            spoken, action, say("reminder.voice_repeat"), say("reminder.voice_no_answer")
        )
    return keypad_twiml(spoken, action, say("offer.voice_repeat"), say("offer.voice_no_answer"))
