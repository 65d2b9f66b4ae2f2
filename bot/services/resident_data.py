"""A resident's rights over their data (RGPD articles 15 and 17): see all of it, or erase it.

`relais resident export NUMBER` gives everything Relais holds about a number as JSON, the
thread and escalations included; `relais resident erase NUMBER` deletes everything personal:
the number, conversation memory, thread, voicemails, messages sent, waiting lists, offers and
workshop seats. Upcoming appointments are cancelled, so their slots are free again (an erased
booking is not a cancellation by the resident: nobody is texted about it). The recordings of
their voicemails are written down for deletion at Twilio in the same transaction, and deleted
there once it commits (bot/services/recordings.py). What stays is anonymous, for the
statistics: handled messages (channel, intent, place, time, without our reply), past and
cancelled appointments, and escalations (closed if still open), all with no resident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.models import (
    CANCELLED,
    TAKEN,
    Appointment,
    CallbackTicket,
    Conversation,
    OutboundMessage,
    ProcessedMessage,
    Resident,
    ThreadEntry,
    Voicemail,
    WaitingListEntry,
    WaitingOffer,
    WorkshopRegistration,
)
from bot.services.phone_numbers import normalise_number
from bot.services.recordings import keep_recordings_to_delete
from bot.services.retention import anonymise_statistics, run_bulk


class UnknownNumber(LookupError):
    """No resident with that number."""


def _resident(session: Session, number: str) -> Resident:
    resident = session.scalar(select(Resident).where(Resident.phone == normalise_number(number)))
    if resident is None:
        raise UnknownNumber(number)
    return resident


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def _rows(session: Session, model: Any, *where: Any) -> list[dict[str, Any]]:
    columns = [c.key for c in model.__table__.columns]
    return [
        {name: _plain(getattr(row, name)) for name in columns}
        for row in session.scalars(select(model).where(*where).order_by(model.id))
    ]


def export_resident(session: Session, number: str) -> dict[str, Any]:
    """Everything held about a number, table by table (JSON-ready)."""
    resident = _resident(session, number)
    rid = resident.id
    conversation = session.scalar(select(Conversation).where(Conversation.resident_id == rid))
    return {
        "resident": {
            "phone": resident.phone,
            "opted_out": resident.opted_out,
            "opted_out_at": _plain(resident.opted_out_at),
            "first_contact": _plain(resident.created_at),
            "last_contact": _plain(resident.last_seen_at),
        },
        "conversation_memory": conversation.state if conversation else {},
        "messages_received": _rows(session, ProcessedMessage, ProcessedMessage.resident_id == rid),
        "messages_sent": _rows(session, OutboundMessage, OutboundMessage.resident_id == rid),
        "appointments": _rows(session, Appointment, Appointment.resident_id == rid),
        "workshop_seats": _rows(
            session, WorkshopRegistration, WorkshopRegistration.resident_id == rid
        ),
        "waiting_lists": _rows(session, WaitingListEntry, WaitingListEntry.resident_id == rid),
        "waiting_list_offers": _rows(session, WaitingOffer, WaitingOffer.resident_id == rid),
        "voicemails": _rows(session, Voicemail, Voicemail.resident_id == rid),
        "escalations": _rows(session, CallbackTicket, CallbackTicket.resident_id == rid),
        "thread": _rows(session, ThreadEntry, ThreadEntry.resident_id == rid),
    }


@dataclass(frozen=True, slots=True)
class Erasure:
    """What erasing a number did."""

    deleted: int  # rows deleted, the resident included
    freed: int  # upcoming appointments cancelled (their slots free again)
    anonymised: int  # rows kept for the statistics, detached from the resident
    # Their voicemails' recordings, written down for deletion at Twilio (pending_recording_
    # deletions) once this transaction commits: see recordings.delete_pending_recordings.
    recording_sids: tuple[str, ...] = ()


def erase_resident(
    session: Session, number: str, now: datetime, track_recordings: bool = True
) -> Erasure:
    """Delete everything personal held about a number; keep only anonymous statistics.

    With `track_recordings` (a Twilio account, not the simulator) the SIDs of their recordings
    are kept as pending deletions, in this transaction, so none is lost track of.
    """
    resident = _resident(session, number)
    rid = resident.id
    recordings: list[str] = []
    if track_recordings:
        recordings = keep_recordings_to_delete(session, Voicemail.resident_id == rid, now)
    # Not yet started: cancelled, so the slot can be booked again. The row stays anonymous.
    freed = run_bulk(
        session,
        update(Appointment)
        .where(
            Appointment.resident_id == rid,
            Appointment.status.in_(TAKEN),
            Appointment.starts_at > now,
        )
        .values(status=CANCELLED, cancelled_at=now),
    )
    anonymised = sum(anonymise_statistics(session, [rid], now))
    deleted = 0
    # Children first, so no foreign key stands in the way (a seat row going frees the seat).
    for model in (
        OutboundMessage,
        WaitingOffer,
        WaitingListEntry,
        WorkshopRegistration,
        ThreadEntry,
        Voicemail,
        Conversation,
    ):
        deleted += run_bulk(session, delete(model).where(model.resident_id == rid))
    session.expunge(resident)
    deleted += run_bulk(session, delete(Resident).where(Resident.id == rid))
    session.flush()
    return Erasure(
        deleted=deleted, freed=freed, anonymised=anonymised, recording_sids=tuple(recordings)
    )
