"""Escalations to a person and the thread advisors read (revisions 0004 and 0006).

An escalation (table `callback_tickets`, its name since the phone line opened the first ones)
is a resident waiting for a person: they asked for one, were not understood twice, left a
voicemail, or wrote words of distress. A resident has at most one escalation open or taken at
a time (partial unique index): a new reason reopens or joins it. While an advisor holds it
("taken"), the assistant stays quiet except for STOP.

The thread keeps what was said (residents' texts, our answers, advisors' replies, call
events). The texts are personal data: the retention purge deletes the entries, and erasing a
resident deletes them at once. An escalation outlives its resident anonymously (resident NULL)
so that the statistics (counts, time to first answer) stay.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.core import Base, UtcDateTime, unique_while

OPEN = "open"
TAKEN_BY_ADVISOR = "taken"
CLOSED = "closed"
ACTIVE = (OPEN, TAKEN_BY_ADVISOR)


class CallbackTicket(Base):
    """An escalation: a resident waiting for a person, from open to taken to closed."""

    __tablename__ = "callback_tickets"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'taken', 'closed')", name="status_known"),
        # One live escalation per resident: a second reason joins the first.
        unique_while(ACTIVE, "uq_callback_tickets_active_resident", "resident_id"),
        CheckConstraint("(status = 'taken') = (taken_by_id IS NOT NULL)", name="taken_by_someone"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # NULL once the resident is purged or erased (the anonymous statistics stay).
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="SET NULL"), index=True
    )
    place_id: Mapped[str | None] = mapped_column(
        ForeignKey("places.id", ondelete="SET NULL"), index=True
    )
    # Why it was opened (or last reopened): "asked", "not_understood", "voicemail", "distress",
    # "no_answer" (a transfer nobody picked up), "error".
    reason: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    voicemail_id: Mapped[int | None] = mapped_column(
        ForeignKey("voicemails.id", ondelete="SET NULL"), unique=True
    )
    status: Mapped[str] = mapped_column(String(16), default=OPEN)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # When it was (last) opened or reopened: the age shown in the inbox counts from here.
    opened_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    taken_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    taken_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The first advisor reply (or a close, for a call back by phone): time to first answer.
    first_answer_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # How it ended: "resolved", "called_back", "appointment", "redirected", "no_reply", "other".
    outcome: Mapped[str | None] = mapped_column(String(32))
    # The last time the resident wrote or called while it was open or taken (unread marker).
    last_inbound_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ThreadEntry(Base):
    """One line of a resident's thread: a text in or out, or an event (call, take, close...)."""

    __tablename__ = "thread_entries"
    __table_args__ = (
        CheckConstraint("direction IN ('in', 'out', 'event')", name="direction_known"),
        Index("ix_thread_entries_resident_time", "resident_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    channel: Mapped[str] = mapped_column(String(16))  # "sms", "voice", "simulator", "inbox"
    direction: Mapped[str] = mapped_column(String(8))
    # "resident", "assistant", "advisor" or "system".
    author: Mapped[str] = mapped_column(String(16))
    body: Mapped[str | None] = mapped_column(Text)
    # For events: "call", "transfer", "voicemail", "escalated", "taken", "handed_back",
    # "closed", "appointment"; None for texts.
    event: Mapped[str | None] = mapped_column(String(32))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("callback_tickets.id", ondelete="SET NULL"), index=True
    )
    # An advisor's reply goes out through the outbox: its delivery status is read there.
    outbound_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbound_messages.id", ondelete="SET NULL")
    )
