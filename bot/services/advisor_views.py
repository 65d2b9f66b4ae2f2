"""What an advisor reads: the escalations of their places and a resident's whole thread.

The thread mixes the resident's thread lines (bot/services/threads.py), the messages we sent them
(the outbox: reminders, offers; an advisor's reply appears once, as its thread line, with its
delivery status) and their voicemails, in time order. The phone number is shown in full only to
the advisor who holds the conversation. Rules for acting: bot/services/advisor_actions.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.models import (
    CallbackTicket,
    OutboundMessage,
    Place,
    Resident,
    ThreadEntry,
    User,
    Voicemail,
)
from bot.models.escalations import ACTIVE, CLOSED, OPEN, TAKEN_BY_ADVISOR
from bot.privacy import display_phone
from bot.services import outbox, threads
from bot.services.advisor_actions import MAX_ID, NotVisible, visible_ticket
from bot.services.users import Account, can_see_place


@dataclass(frozen=True, slots=True)
class Listed:
    """One line of the inbox list."""

    id: int
    place_id: str | None
    place_name: str
    reason: str
    channel: str
    status: str
    opened_at: datetime
    phone: str  # masked
    taken_by: str | None  # the holder's email
    taken_by_me: bool
    unread: bool  # the resident wrote or called since an advisor last acted


@dataclass(frozen=True, slots=True)
class Item:
    """One line of a conversation: a text, an event, a message we sent, or a voicemail."""

    at: datetime
    kind: str  # "resident", "assistant", "advisor", "system" (events), "outbound", "voicemail"
    channel: str
    body: str | None = None
    event: str | None = None
    advisor: str | None = None  # email of the advisor who wrote or acted
    delivery: str | None = None  # outbox status of a message we sent
    outbound_kind: str | None = None  # "reminder", "waiting_offer", "text"
    voicemail_id: int | None = None
    duration_seconds: int | None = None
    has_recording: bool = False


@dataclass(frozen=True, slots=True)
class Conversation:
    """An escalation and the resident's whole thread, as one account may see it."""

    id: int
    status: str
    reason: str
    channel: str
    place_name: str
    opened_at: datetime | None
    taken_by: str | None
    held_by_me: bool
    closed_at: datetime | None
    outcome: str | None
    phone: str  # in full only for the advisor who holds the conversation
    opted_out: bool
    resident_known: bool
    items: list[Item]
    can_take: bool
    can_reply: bool
    can_hand_back: bool
    can_close: bool


def _last_advisor_activity(session: Session, ticket_ids: list[int]) -> dict[int, datetime]:
    query = (
        select(ThreadEntry.ticket_id, func.max(ThreadEntry.created_at))
        .where(ThreadEntry.ticket_id.in_(ticket_ids), ThreadEntry.author == threads.ADVISOR)
        .group_by(ThreadEntry.ticket_id)
    )
    return {ticket_id: at for ticket_id, at in session.execute(query) if ticket_id is not None}


def visible_escalations(
    session: Session, account: Account, place_id: str | None = None
) -> list[Listed]:
    """Open and taken escalations this account sees, by place name then oldest first."""
    query = (
        select(CallbackTicket, Place.nom, Resident.phone, User.email)
        .outerjoin(Place, Place.id == CallbackTicket.place_id)
        .outerjoin(Resident, Resident.id == CallbackTicket.resident_id)
        .outerjoin(User, User.id == CallbackTicket.taken_by_id)
        .where(CallbackTicket.status.in_(ACTIVE))
    )
    if not account.is_admin:
        query = query.where(CallbackTicket.place_id.in_(sorted(account.place_ids)))
    if place_id is not None:
        query = query.where(CallbackTicket.place_id == place_id)
    rows = session.execute(query).all()
    activity = _last_advisor_activity(session, [row[0].id for row in rows])
    listed = []
    for ticket, place_name, phone, holder in rows:
        seen = activity.get(ticket.id)
        mine = ticket.status == TAKEN_BY_ADVISOR and ticket.taken_by_id == account.id
        inbound = ticket.last_inbound_at
        listed.append(
            Listed(
                id=ticket.id,
                place_id=ticket.place_id,
                place_name=place_name or "",
                reason=ticket.reason,
                channel=ticket.channel,
                status=ticket.status,
                opened_at=ticket.opened_at or ticket.created_at,
                phone=display_phone(phone, full=mine) if phone else "",
                taken_by=holder,
                taken_by_me=mine,
                unread=inbound is not None and (seen is None or inbound > seen),
            )
        )
    # Places by name, the escalations with no place last; in each, the longest waiting first.
    listed.sort(
        key=lambda e: (e.place_id is None, e.place_name, e.place_id or "", e.opened_at, e.id)
    )
    return listed


def conversation(session: Session, account: Account, ticket_id: int) -> Conversation:
    """An escalation and the resident's whole thread; NotVisible for another place's."""
    if not 0 < ticket_id <= MAX_ID:
        raise NotVisible()
    ticket = visible_ticket(account, session.get(CallbackTicket, ticket_id))
    resident = session.get(Resident, ticket.resident_id) if ticket.resident_id else None
    place = session.get(Place, ticket.place_id) if ticket.place_id else None
    emails = {uid: email for uid, email in session.execute(select(User.id, User.email))}
    mine = ticket.status == TAKEN_BY_ADVISOR and ticket.taken_by_id == account.id
    held_by_other = ticket.status == TAKEN_BY_ADVISOR and not mine
    # A closed request shows the thread as it was when closed: what the resident said later
    # (perhaps to another place) is not this request's.
    until = ticket.closed_at if ticket.status == CLOSED else None
    items = _items(session, account, resident.id, emails, until) if resident else []
    return Conversation(
        id=ticket.id,
        status=ticket.status,
        reason=ticket.reason,
        channel=ticket.channel,
        place_name=place.nom if place else "",
        opened_at=ticket.opened_at,
        taken_by=emails.get(ticket.taken_by_id) if ticket.taken_by_id else None,
        held_by_me=mine,
        closed_at=ticket.closed_at,
        outcome=ticket.outcome,
        phone=display_phone(resident.phone, full=mine) if resident else "",
        opted_out=bool(resident and resident.opted_out),
        resident_known=resident is not None,
        items=items,
        can_take=ticket.status == OPEN or (held_by_other and account.is_admin),
        can_reply=mine and resident is not None,
        can_hand_back=mine or (held_by_other and account.is_admin),
        can_close=ticket.status == OPEN or mine or (account.is_admin and ticket.status != CLOSED),
    )


def _items(
    session: Session,
    account: Account,
    resident_id: int,
    emails: dict[int, str],
    until: datetime | None,
) -> list[Item]:
    """Thread lines, messages we sent (unless a thread line already shows them), voicemails.

    Lines of another place's requests (its advisor's replies, its events) are left out, as are
    voicemails left for a place the account does not see, and anything after `until`.
    """
    keyed: list[tuple[datetime, int, int, Item]] = []
    everything = threads.thread_of(session, resident_id)
    shown = {e.outbound_id for e in everything if e.outbound_id is not None}
    hidden = _hidden_tickets(session, account, resident_id)
    entries = [
        e for e in everything if e.ticket_id not in hidden and (until is None or e.at <= until)
    ]
    sent = {
        row.id: row
        for row in session.scalars(
            select(OutboundMessage).where(OutboundMessage.resident_id == resident_id)
        )
    }
    for e in entries:
        row = sent.get(e.outbound_id) if e.outbound_id is not None else None
        item = Item(
            at=e.at,
            kind=threads.SYSTEM
            if e.direction == threads.EVENT and e.author != threads.ADVISOR
            else e.author,
            channel=e.channel,
            body=e.body,
            event=e.event,
            advisor=emails.get(e.user_id) if e.user_id else None,
            delivery=row.status if row else None,
            outbound_kind=row.kind if row else None,
        )
        keyed.append((e.at, 0, e.id, item))
    for row in sent.values():
        if row.id in shown or row.status == outbox.CANCELLED:
            continue
        at = row.sent_at or row.due_at
        if until is not None and at > until:
            continue
        item = Item(
            at=at,
            kind="outbound",
            channel=row.channel,
            body=row.body,
            delivery=row.status,
            outbound_kind=row.kind,
        )
        keyed.append((at, 2, row.id, item))
    for vm in session.scalars(select(Voicemail).where(Voicemail.resident_id == resident_id)):
        if (until is not None and vm.created_at > until) or not _voicemail_visible(
            session, account, vm
        ):
            continue
        item = Item(
            at=vm.created_at,
            kind="voicemail",
            channel="voice",
            body=vm.transcription,
            voicemail_id=vm.id,
            duration_seconds=vm.duration_seconds,
            has_recording=bool(vm.recording_url),
        )
        keyed.append((vm.created_at, 1, vm.id, item))
    keyed.sort(key=lambda k: k[:3])
    return [k[3] for k in keyed]


@dataclass(frozen=True, slots=True)
class Recording:
    """Where Twilio keeps a voicemail's audio."""

    url: str
    duration_seconds: int | None


def recording(session: Session, account: Account, voicemail_id: int) -> Recording:
    """A voicemail's recording address, if this account sees one of its resident's escalations."""
    if not 0 < voicemail_id <= MAX_ID:
        raise NotVisible()
    vm = session.get(Voicemail, voicemail_id)
    if vm is None or not vm.recording_url:
        raise NotVisible()
    if not _voicemail_visible(session, account, vm):
        raise NotVisible()
    return Recording(vm.recording_url, vm.duration_seconds)


def _hidden_tickets(session: Session, account: Account, resident_id: int) -> set[int]:
    """The resident's requests this account may not read (another place's)."""
    if account.is_admin:
        return set()
    rows = session.execute(
        select(CallbackTicket.id, CallbackTicket.place_id).where(
            CallbackTicket.resident_id == resident_id
        )
    )
    return {ticket_id for ticket_id, place_id in rows if not can_see_place(account, place_id)}


def _voicemail_visible(session: Session, account: Account, vm: Voicemail) -> bool:
    """A voicemail is for the place it was left for, or for the request it opened."""
    if can_see_place(account, vm.place_id):
        return True
    ticket_place = session.scalar(
        select(CallbackTicket.place_id).where(CallbackTicket.voicemail_id == vm.id)
    )
    return ticket_place is not None and can_see_place(account, ticket_place)
