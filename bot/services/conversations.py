"""Residents, their conversation memory, and inbound messages handled once (Twilio retries)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session

from bot.models import Conversation, Place, ProcessedMessage, Resident


@dataclass(frozen=True, slots=True)
class AlreadyHandled:
    """A provider message id we've answered before, with the reply we gave."""

    reply: str


def claim_message(
    session: Session, provider_id: str, channel: str, now: datetime
) -> AlreadyHandled | ProcessedMessage:
    """Record that we're handling this message id, or return the earlier reply if it was handled.

    The unique constraint on provider_id decides, not a check-then-write: a concurrent retry
    blocks on the first transaction (PostgreSQL) or the database lock (SQLite), then sees it.
    """
    earlier = session.scalar(
        select(ProcessedMessage).where(ProcessedMessage.provider_id == provider_id)
    )
    if earlier is not None:
        return AlreadyHandled(earlier.reply)
    record = ProcessedMessage(provider_id=provider_id, channel=channel, created_at=now, reply="")
    try:
        with session.begin_nested():
            session.add(record)
            session.flush()
    except IntegrityError:
        earlier = session.scalar(
            select(ProcessedMessage).where(ProcessedMessage.provider_id == provider_id)
        )
        return AlreadyHandled(earlier.reply if earlier else "")
    return record


def record_outcome(
    record: ProcessedMessage,
    resident: Resident | None,
    intent: str | None,
    confidence: float | None,
    reply: str,
    place_id: str | None = None,
) -> None:
    """Store what we understood and answered (not the resident's text), and the place talked
    about after it (kept only if that place still exists: the memory may name a removed one)."""
    record.resident_id = resident.id if resident else None
    record.intent = intent
    record.confidence = confidence
    record.reply = reply
    session = object_session(record)
    if place_id and session is not None and session.get(Place, place_id) is not None:
        record.place_id = place_id
    else:
        record.place_id = None


def get_or_create_resident(session: Session, phone: str, now: datetime) -> Resident:
    """The resident behind a number, created on first contact."""
    resident = session.scalar(select(Resident).where(Resident.phone == phone))
    if resident is None:
        resident = Resident(phone=phone, opted_out=False, created_at=now, last_seen_at=now)
        try:
            with session.begin_nested():
                session.add(resident)
                session.flush()
        except IntegrityError:  # the same number wrote twice at the same instant
            resident = session.scalars(select(Resident).where(Resident.phone == phone)).one()
    resident.last_seen_at = now
    return resident


def load_state(session: Session, resident: Resident) -> dict[str, Any]:
    """The stored conversation memory of a resident (empty on first contact)."""
    conversation = session.scalar(
        select(Conversation).where(Conversation.resident_id == resident.id)
    )
    return dict(conversation.state) if conversation else {}


def save_state(session: Session, resident: Resident, state: dict[str, Any], now: datetime) -> None:
    """Replace the stored conversation memory."""
    conversation = session.scalar(
        select(Conversation).where(Conversation.resident_id == resident.id)
    )
    if conversation is None:
        session.add(Conversation(resident_id=resident.id, state=state, updated_at=now))
    else:
        conversation.state = state
        conversation.updated_at = now
    session.flush()


def set_opt_out(session: Session, resident: Resident, opted_out: bool, now: datetime) -> bool:
    """Opt a number out of (or back into) outbound messages; True when the status changed."""
    if resident.opted_out == opted_out:
        return False
    resident.opted_out = opted_out
    resident.opted_out_at = now if opted_out else None
    session.flush()
    return True


def opt_out_phone(session: Session, phone: str, now: datetime) -> bool:
    """Twilio says this number sent STOP (error 21610): no more messages to it."""
    resident = session.scalar(select(Resident).where(Resident.phone == phone))
    if resident is None:
        return False
    return set_opt_out(session, resident, True, now)
