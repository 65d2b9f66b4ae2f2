"""The advisor's side of an escalation: take, reply, hand back, close (reading: advisor_views.py).

Rules (the resident's side is bot/services/escalations.py):
- An advisor sees the escalations of their places; an admin sees all, those with no place too.
  Anything else is NotVisible, which the inbox turns into a 404 (it does not say it exists).
- Take: open -> taken by me. Two advisors taking at once: a conditional UPDATE (WHERE status is
  still what we read) lets exactly one win. A ticket someone else holds can only be taken over
  by an admin; an advisor is told who holds it.
- Reply: only by the holder; sent as an SMS through the outbox (the dispatcher sends TEXT at
  once, quiet hours ignored), at most MAX_SEGMENTS segments as it will be sent.
- Hand back: the assistant answers the resident again and the escalation goes back to "open",
  in the list, for any advisor of the place to take or close. Only its holder (or an admin).
- Close: with an outcome from OUTCOMES; by the holder, by anyone who sees an open one, or by an
  admin. It counts as the first answer if none came before (a call back by phone).
Every action writes a thread event with the advisor's id. Services flush, never commit.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.models import (
    CallbackTicket,
    OutboundMessage,
    Resident,
    User,
)
from bot.models.escalations import CLOSED, OPEN, TAKEN_BY_ADVISOR
from bot.services import outbox, threads
from bot.services.users import Account, can_see_place
from bot.wording.gsm7 import count_segments, prepare_sms

MAX_SEGMENTS = 3
OUTCOMES = ("resolved", "called_back", "appointment", "redirected", "no_reply", "other")
CHANNEL = "inbox"  # the thread channel of advisors' actions
MAX_ID = 2**31 - 1  # ids are 32-bit integers: larger ones cannot exist


class ActionRefused(Exception):
    """An advisor's action that the rules refuse; the inbox says why in French."""


class NotVisible(ActionRefused):
    """No such escalation, or not one of this account's places."""


class AlreadyClosed(ActionRefused):
    """The escalation was closed (maybe a moment ago, by someone else)."""


class HeldBySomeoneElse(ActionRefused):
    """Another advisor holds the conversation."""

    def __init__(self, holder: str) -> None:
        super().__init__(holder)
        self.holder = holder


class NotHolder(ActionRefused):
    """Only the advisor who holds the conversation may do this (take it first)."""


class EmptyReply(ActionRefused):
    """Nothing to send."""


class ReplyTooLong(ActionRefused):
    """More than MAX_SEGMENTS segments once prepared for sending."""

    def __init__(self, segments: int) -> None:
        super().__init__(str(segments))
        self.segments = segments


class ResidentOptedOut(ActionRefused):
    """The resident answered STOP: we may not text them."""


class ResidentGone(ActionRefused):
    """The resident's data was erased or purged: nobody to write to."""


class UnknownOutcome(ActionRefused):
    """Not one of OUTCOMES."""


class DuplicateReply(ActionRefused):
    """This form was already sent (a double click): the reply went out once."""


def visible_ticket(account: Account, ticket: CallbackTicket | None) -> CallbackTicket:
    if ticket is None or not can_see_place(account, ticket.place_id):
        raise NotVisible()
    return ticket


def _locked(session: Session, account: Account, ticket_id: int) -> CallbackTicket:
    """The ticket, row-locked until commit (PostgreSQL), fresh from the database."""
    if not 0 < ticket_id <= MAX_ID:
        raise NotVisible()
    ticket = session.scalar(
        select(CallbackTicket)
        .where(CallbackTicket.id == ticket_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return visible_ticket(account, ticket)


def _event(
    session: Session,
    ticket: CallbackTicket,
    account: Account,
    event: str,
    now: datetime,
    body: str | None = None,
) -> None:
    if ticket.resident_id is None:  # erased resident: the thread went with them
        return
    threads.record(
        session,
        resident_id=ticket.resident_id,
        channel=CHANNEL,
        direction=threads.EVENT,
        author=threads.ADVISOR,
        event=event,
        body=body,
        user_id=account.id,
        ticket_id=ticket.id,
        now=now,
    )


def take(session: Session, account: Account, ticket_id: int, now: datetime) -> None:
    """Take an open escalation (an admin may take over one someone holds); one taker wins."""
    ticket = _locked(session, account, ticket_id)
    if ticket.status == CLOSED:
        raise AlreadyClosed()
    if ticket.status == TAKEN_BY_ADVISOR and ticket.taken_by_id == account.id:
        return
    previous = ticket.taken_by_id
    if previous is not None and not account.is_admin:
        raise HeldBySomeoneElse(_email(session, previous))
    # Conditional: only if nobody changed it since we read it (SQLite has no row locks).
    result = session.execute(
        update(CallbackTicket)
        .where(
            CallbackTicket.id == ticket.id,
            CallbackTicket.status == ticket.status,
            CallbackTicket.taken_by_id.is_(None)
            if previous is None
            else CallbackTicket.taken_by_id == previous,
        )
        .values(status=TAKEN_BY_ADVISOR, taken_by_id=account.id, taken_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        fresh = session.get(CallbackTicket, ticket.id, populate_existing=True)
        if fresh is None or fresh.status == CLOSED:
            raise AlreadyClosed()
        raise HeldBySomeoneElse(_email(session, fresh.taken_by_id))
    session.expire(ticket)
    _event(session, ticket, account, "taken", now)
    session.flush()


def _email(session: Session, user_id: int | None) -> str:
    user = session.get(User, user_id) if user_id else None
    return user.email if user else ""


def _held(session: Session, account: Account, ticket_id: int) -> CallbackTicket:
    ticket = _locked(session, account, ticket_id)
    if ticket.status == CLOSED:
        raise AlreadyClosed()
    if ticket.status != TAKEN_BY_ADVISOR or ticket.taken_by_id != account.id:
        raise NotHolder()
    return ticket


def reply(
    session: Session,
    account: Account,
    ticket_id: int,
    text: str,
    now: datetime,
    *,
    unicode_allowed: bool = False,
    form_id: str | None = None,
) -> int:
    """Queue the holder's reply as an SMS; the outbound message id. `form_id` dedupes resends."""
    ticket = _held(session, account, ticket_id)
    body = text.strip()
    if not body:
        raise EmptyReply()
    segments = count_segments(prepare_sms(body, unicode_allowed)).segments
    if segments > MAX_SEGMENTS:
        raise ReplyTooLong(segments)
    resident = session.get(Resident, ticket.resident_id) if ticket.resident_id else None
    if resident is None:
        raise ResidentGone()
    if resident.opted_out:
        raise ResidentOptedOut()
    key = f"advisor-reply:{ticket.id}:{form_id or uuid.uuid4().hex}"[:160]
    if not outbox.enqueue(
        session,
        resident_id=resident.id,
        kind=outbox.TEXT,
        channel=outbox.SMS,
        dedupe_key=key,
        due_at=now,
        now=now,
        body=body,
    ):
        raise DuplicateReply()
    outbound_id = session.scalars(
        select(OutboundMessage.id).where(OutboundMessage.dedupe_key == key)
    ).one()
    threads.record(
        session,
        resident_id=resident.id,
        channel=outbox.SMS,
        direction=threads.OUT,
        author=threads.ADVISOR,
        body=body,
        user_id=account.id,
        ticket_id=ticket.id,
        outbound_id=outbound_id,
        now=now,
    )
    if ticket.first_answer_at is None:
        ticket.first_answer_at = now
    ticket.updated_at = now
    session.flush()
    return outbound_id


def hand_back(session: Session, account: Account, ticket_id: int, now: datetime) -> None:
    """The assistant answers again; the escalation goes back to "open" for the place's advisors."""
    ticket = _locked(session, account, ticket_id)
    if ticket.status == CLOSED:
        raise AlreadyClosed()
    if ticket.status != TAKEN_BY_ADVISOR:
        raise NotHolder()
    if ticket.taken_by_id != account.id and not account.is_admin:
        raise HeldBySomeoneElse(_email(session, ticket.taken_by_id))
    ticket.status = OPEN
    ticket.taken_by_id = None
    ticket.updated_at = now
    _event(session, ticket, account, "handed_back", now)
    session.flush()


def close(session: Session, account: Account, ticket_id: int, outcome: str, now: datetime) -> None:
    """Close with an outcome; the assistant answers the resident again."""
    ticket = _locked(session, account, ticket_id)
    if outcome not in OUTCOMES:
        raise UnknownOutcome(outcome)
    if ticket.status == CLOSED:
        raise AlreadyClosed()
    if (
        ticket.status == TAKEN_BY_ADVISOR
        and ticket.taken_by_id != account.id
        and not account.is_admin
    ):
        raise HeldBySomeoneElse(_email(session, ticket.taken_by_id))
    ticket.status = CLOSED
    ticket.taken_by_id = None
    ticket.outcome = outcome
    ticket.closed_at = now
    ticket.updated_at = now
    if ticket.first_answer_at is None:
        ticket.first_answer_at = now
    _event(session, ticket, account, "closed", now, body=outcome)
    session.flush()
