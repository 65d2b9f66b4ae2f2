"""A resident's thread: what they wrote, what we answered, call events and advisors' replies.

Personal data: read only by an advisor of the place (bot/inbox), exported and erased with the
resident (resident_data.py), deleted after the retention period (retention.purge_expired).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import ThreadEntry

IN = "in"
OUT = "out"
EVENT = "event"

RESIDENT = "resident"
ASSISTANT = "assistant"
ADVISOR = "advisor"
SYSTEM = "system"

# A text longer than this is cut in the thread (an SMS is at most a few hundred characters;
# Twilio concatenates at most 1,600).
MAX_BODY = 2000


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of the thread, as the inbox shows it."""

    id: int
    at: datetime
    channel: str
    direction: str
    author: str
    body: str | None
    event: str | None
    user_id: int | None
    ticket_id: int | None
    outbound_id: int | None


def record(
    session: Session,
    *,
    resident_id: int,
    channel: str,
    direction: str,
    author: str,
    now: datetime,
    body: str | None = None,
    event: str | None = None,
    user_id: int | None = None,
    ticket_id: int | None = None,
    outbound_id: int | None = None,
) -> int:
    """Add one line to a resident's thread; its id."""
    entry = ThreadEntry(
        resident_id=resident_id,
        created_at=now,
        channel=channel,
        direction=direction,
        author=author,
        body=body[:MAX_BODY] if body else body,
        event=event,
        user_id=user_id,
        ticket_id=ticket_id,
        outbound_id=outbound_id,
    )
    session.add(entry)
    session.flush()
    return entry.id


def record_exchange(
    session: Session,
    *,
    resident_id: int,
    channel: str,
    text: str,
    reply: str,
    received_at: datetime,
) -> None:
    """A resident's message and our answer (no answer while an advisor holds the thread)."""
    record(
        session,
        resident_id=resident_id,
        channel=channel,
        direction=IN,
        author=RESIDENT,
        body=text,
        now=received_at,
    )
    if reply:
        record(
            session,
            resident_id=resident_id,
            channel=channel,
            direction=OUT,
            author=ASSISTANT,
            body=reply,
            now=received_at,
        )


def thread_of(session: Session, resident_id: int, limit: int = 500) -> list[Entry]:
    """The newest `limit` lines of a resident's thread, oldest first."""
    rows = session.scalars(
        select(ThreadEntry)
        .where(ThreadEntry.resident_id == resident_id)
        .order_by(ThreadEntry.created_at.desc(), ThreadEntry.id.desc())
        .limit(limit)
    ).all()
    return [
        Entry(
            r.id,
            r.created_at,
            r.channel,
            r.direction,
            r.author,
            r.body,
            r.event,
            r.user_id,
            r.ticket_id,
            r.outbound_id,
        )
        for r in reversed(rows)
    ]
