"""A resident's rights over their data (RGPD articles 15 and 17): see all of it, or erase it.

`relais resident export NUMBER` gives everything Relais holds about a number as JSON;
`relais resident erase NUMBER` deletes it: the resident, their memory, appointments, seats,
waiting lists, offers, messages sent and received, voicemails and tickets. Slots and seats they
held become free again (an erased booking is not a cancellation: nobody is texted about it).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.models import (
    Appointment,
    CallbackTicket,
    Conversation,
    OutboundMessage,
    ProcessedMessage,
    Resident,
    Voicemail,
    WaitingListEntry,
    WaitingOffer,
    WorkshopRegistration,
)
from bot.services.phone_numbers import normalise_number


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
        "callback_tickets": _rows(session, CallbackTicket, CallbackTicket.resident_id == rid),
    }


def erase_resident(session: Session, number: str) -> int:
    """Delete everything held about a number; how many rows went."""
    resident = _resident(session, number)
    rid = resident.id
    removed = 0
    # Message records only lose their link when a resident is purged (the anonymous statistics
    # stay); for an erasure they go too. Children first, so no foreign key stands in the way.
    for model in (
        ProcessedMessage,
        CallbackTicket,
        Voicemail,
        OutboundMessage,
        WaitingOffer,
        WaitingListEntry,
        WorkshopRegistration,
        Appointment,
        Conversation,
    ):
        result = session.execute(delete(model).where(model.resident_id == rid))
        removed += int(getattr(result, "rowcount", 0) or 0)
    session.delete(resident)
    session.flush()
    return removed + 1
