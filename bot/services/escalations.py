"""Escalations from the resident's side: open or reopen one, and whether an advisor holds it.

The advisor's side (take, reply, hand back, close) is bot/services/advisor_actions.py. Model
and rules: bot/models/escalations.py. One live escalation per resident rests on a partial
unique index, not on check-then-write: two messages of one resident arriving together open one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.models import CallbackTicket, Place
from bot.models.escalations import ACTIVE, OPEN, TAKEN_BY_ADVISOR
from bot.services import threads

ASKED = "asked"  # "je veux parler à quelqu'un"
NOT_UNDERSTOOD = "not_understood"  # two messages in a row we could not handle
VOICEMAIL = "voicemail"  # a message left on the phone line
DISTRESS = "distress"  # words of distress ("au secours", "je suis perdu"...)
NO_ANSWER = "no_answer"  # a call put through that nobody picked up
ERROR = "error"  # our own failure: a person looks at it
REASONS = (ASKED, NOT_UNDERSTOOD, VOICEMAIL, DISTRESS, NO_ANSWER, ERROR)
# When a live escalation gets a new reason, the more pressing one is shown.
_URGENCY = {DISTRESS: 3, VOICEMAIL: 2, ASKED: 1, NO_ANSWER: 1, NOT_UNDERSTOOD: 0, ERROR: 0}


@dataclass(frozen=True, slots=True)
class Escalation:
    """A live escalation, and whether this call opened (or reopened) it."""

    id: int
    resident_id: int
    place_id: str | None
    reason: str
    status: str
    opened: bool  # False: the resident was already waiting for a person


def live(session: Session, resident_id: int) -> CallbackTicket | None:
    """The resident's open or taken escalation, if any."""
    return session.scalar(
        select(CallbackTicket).where(
            CallbackTicket.resident_id == resident_id, CallbackTicket.status.in_(ACTIVE)
        )
    )


def held_by_advisor(session: Session, resident_id: int) -> bool:
    """True while an advisor holds this resident's conversation (the assistant stays quiet).

    The row is locked (PostgreSQL) for the rest of the message's transaction: an advisor taking
    the conversation at that moment waits for it, so the assistant cannot answer after a take.
    """
    ticket = session.scalar(
        select(CallbackTicket)
        .where(CallbackTicket.resident_id == resident_id, CallbackTicket.status.in_(ACTIVE))
        .with_for_update()
    )
    return ticket is not None and ticket.status == TAKEN_BY_ADVISOR


def escalate(
    session: Session,
    *,
    resident_id: int,
    place_id: str | None,
    reason: str,
    channel: str,
    now: datetime,
    voicemail_id: int | None = None,
) -> Escalation:
    """Open an escalation for a resident, or join the live one (a new reason, a place now known).

    A new escalation starts "open" for the advisors of `place_id` (admins see those without a
    place). Joining a live one keeps it as it is (an advisor who holds it keeps holding it).
    A voicemail (`voicemail_id`) gets its own "voicemail" line in the thread.
    """
    if reason not in REASONS:
        raise ValueError(f"unknown escalation reason {reason!r}")
    if place_id is not None and session.get(Place, place_id) is None:
        place_id = None
    ticket = live(session, resident_id)
    opened = ticket is None
    if ticket is None:
        ticket = CallbackTicket(
            resident_id=resident_id,
            place_id=place_id,
            reason=reason,
            channel=channel,
            voicemail_id=voicemail_id,
            status=OPEN,
            created_at=now,
            updated_at=now,
            opened_at=now,
            last_inbound_at=now,
        )
        try:
            with session.begin_nested():
                session.add(ticket)
                session.flush()
        except IntegrityError:  # opened by a concurrent message of the same resident
            ticket = live(session, resident_id)
            opened = False
            if ticket is None:
                raise
    if not opened:
        if _URGENCY.get(reason, 0) > _URGENCY.get(ticket.reason, 0):
            ticket.reason = reason
        if ticket.place_id is None and place_id is not None:
            ticket.place_id = place_id
        if ticket.voicemail_id is None and voicemail_id is not None:
            ticket.voicemail_id = voicemail_id
        ticket.updated_at = now
        ticket.last_inbound_at = now
    if voicemail_id is not None:
        threads.record(
            session,
            resident_id=resident_id,
            channel=channel,
            direction=threads.EVENT,
            author=threads.SYSTEM,
            event="voicemail",
            ticket_id=ticket.id,
            now=now,
        )
    threads.record(
        session,
        resident_id=resident_id,
        channel=channel,
        direction=threads.EVENT,
        author=threads.SYSTEM,
        event="escalated",
        body=reason,
        ticket_id=ticket.id,
        now=now,
    )
    session.flush()
    return Escalation(ticket.id, resident_id, ticket.place_id, ticket.reason, ticket.status, opened)


def note_inbound(session: Session, resident_id: int, now: datetime) -> None:
    """The resident wrote or called again: their live escalation shows it (unread)."""
    ticket = live(session, resident_id)
    if ticket is not None:
        ticket.last_inbound_at = now
        ticket.updated_at = now
        session.flush()
