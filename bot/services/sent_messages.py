"""Messages we sent, read back: what a resident may be answering, and the simulator's inbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.models import OutboundMessage, Resident
from bot.services.outbox import DELIVERED, SENDING, SENT


@dataclass(frozen=True, slots=True)
class Prompt:
    """The last message we sent that asked the resident something (a reminder, an offer)."""

    id: int
    resident_id: int
    kind: str
    appointment_id: int | None
    offer_id: int | None
    sent_at: datetime


def last_prompt(
    session: Session, resident_id: int, now: datetime, within: timedelta
) -> Prompt | None:
    """The most recent unanswered reminder or offer sent to the resident within `within`."""
    row = session.scalar(
        select(OutboundMessage)
        .where(
            OutboundMessage.resident_id == resident_id,
            OutboundMessage.status.in_((SENT, DELIVERED)),
            OutboundMessage.answered_at.is_(None),
            OutboundMessage.sent_at > now - within,
        )
        .order_by(OutboundMessage.sent_at.desc(), OutboundMessage.id.desc())
        .limit(1)
    )
    if row is None or row.sent_at is None:
        return None
    return _prompt(row)


def _prompt(row: OutboundMessage) -> Prompt:
    sent_at = row.sent_at or row.created_at
    return Prompt(row.id, row.resident_id, row.kind, row.appointment_id, row.offer_id, sent_at)


def prompt_by_id(session: Session, message_id: int) -> Prompt | None:
    """A message we sent (a call being answered on the keypad), or None if unknown or unsent."""
    row = session.get(OutboundMessage, message_id)
    if row is None or row.status not in (SENDING, SENT, DELIVERED):
        return None
    return _prompt(row)


@dataclass(frozen=True, slots=True)
class SentText:
    """A message sent to a number, as the simulator page shows it."""

    id: int
    channel: str
    body: str


def sent_to(session: Session, phone: str, after_id: int, limit: int = 20) -> list[SentText]:
    """Messages sent to a number since message `after_id`, oldest first (simulator page)."""
    rows = session.execute(
        select(OutboundMessage.id, OutboundMessage.channel, OutboundMessage.body)
        .join(Resident, Resident.id == OutboundMessage.resident_id)
        .where(
            Resident.phone == phone,
            OutboundMessage.id > after_id,
            OutboundMessage.status.in_((SENT, DELIVERED)),
        )
        .order_by(OutboundMessage.id)
        .limit(limit)
    ).all()
    return [SentText(id, channel, body or "") for id, channel, body in rows]


def mark_answered(session: Session, message_id: int, answer: str, now: datetime) -> None:
    """Remember the resident's answer to a message, so it is not taken as answered twice."""
    session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.id == message_id)
        .values(answered_at=now, answer=answer[:16], updated_at=now)
    )
