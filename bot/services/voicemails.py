"""Messages left on the phone line, and the callback tickets advisors work from (issue 7).

Twilio keeps the recording; we keep its address, length and (when Twilio sends one) its
transcription. Recording the same call twice (a retried webhook) gives one voicemail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.models import CallbackTicket, Place, Voicemail
from bot.services import escalations
from bot.services.conversations import get_or_create_resident


@dataclass(frozen=True, slots=True)
class VoicemailInfo:
    """A voicemail and the ticket that asks an advisor to call back."""

    id: int
    ticket_id: int
    resident_id: int
    place_id: str | None
    duration_seconds: int | None


def record_voicemail(
    session: Session,
    *,
    phone: str,
    call_sid: str,
    place_id: str | None,
    recording_url: str,
    recording_sid: str,
    duration_seconds: int | None,
    now: datetime,
) -> VoicemailInfo:
    """Keep a voicemail and open a callback ticket for it (once per call)."""
    resident = get_or_create_resident(session, phone, now)
    if place_id is not None and session.get(Place, place_id) is None:
        place_id = None
    voicemail = Voicemail(
        resident_id=resident.id,
        call_sid=call_sid,
        place_id=place_id,
        recording_url=recording_url or None,
        recording_sid=recording_sid or None,
        duration_seconds=duration_seconds,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(voicemail)
            session.flush()
    except IntegrityError:
        voicemail = session.scalars(select(Voicemail).where(Voicemail.call_sid == call_sid)).one()
    ticket = session.scalar(
        select(CallbackTicket).where(CallbackTicket.voicemail_id == voicemail.id)
    )
    if ticket is None:  # not a retried webhook: open an escalation, or join the live one
        ticket_id = escalations.escalate(
            session,
            resident_id=resident.id,
            place_id=voicemail.place_id,
            reason=escalations.VOICEMAIL,
            channel="voice",
            now=now,
            voicemail_id=voicemail.id,
        ).id
    else:
        ticket_id = ticket.id
    return VoicemailInfo(
        voicemail.id, ticket_id, resident.id, voicemail.place_id, voicemail.duration_seconds
    )


def add_transcription(session: Session, recording_sid: str, text: str, now: datetime) -> bool:
    """Store the transcription Twilio sent for a recording; False if the recording is unknown."""
    voicemail = session.scalar(select(Voicemail).where(Voicemail.recording_sid == recording_sid))
    if voicemail is None:
        return False
    voicemail.transcription = text[:5000]
    session.flush()
    return True
