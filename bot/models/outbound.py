"""Waiting-list offers, the outbox and reminder policies (revision 0003)."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.core import Base, UtcDateTime, unique_while

OFFERED = "offered"


class WaitingOffer(Base):
    """A freed slot or seat held for one waiting resident until they answer, or time runs out."""

    __tablename__ = "waiting_offers"
    __table_args__ = (
        CheckConstraint(
            "status IN ('offered', 'accepted', 'declined', 'expired', 'withdrawn')",
            name="status_known",
        ),
        CheckConstraint(
            "(appointment_id IS NULL AND registration_id IS NOT NULL)"
            " OR (appointment_id IS NOT NULL AND registration_id IS NULL)",
            name="one_hold",
        ),
        # One open offer per waiting entry at a time.
        unique_while(OFFERED, "uq_waiting_offers_offered_entry", "entry_id"),
        # A slot or seat is offered once to each entry: the next freed one goes to the next.
        UniqueConstraint("entry_id", "slot_ref", name="uq_waiting_offers_entry_slot"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("waiting_list.id", ondelete="CASCADE"), index=True
    )
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE")
    )
    registration_id: Mapped[int | None] = mapped_column(
        ForeignKey("workshop_registrations.id", ondelete="CASCADE")
    )
    slot_ref: Mapped[str] = mapped_column(String(80))  # "a<advisor>@<UTC start>", "w<id>@..."
    status: Mapped[str] = mapped_column(String(16), default=OFFERED)
    offered_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class OutboundMessage(Base):
    """One SMS or call we start (reminder, offer, advisor reply): the outbox, sent exactly once.

    Dispatchers claim due rows (FOR UPDATE SKIP LOCKED on PostgreSQL) with a lease; the body is
    rendered and stored when claimed, so that a dispatcher that died after Twilio accepted the
    message can be reconciled with Twilio's list of sent messages instead of sending it again.
    """

    __tablename__ = "outbound_messages"
    __table_args__ = (
        UniqueConstraint("dedupe_key"),
        UniqueConstraint("provider_sid"),
        CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'delivered', 'failed', 'cancelled')",
            name="status_known",
        ),
        CheckConstraint("channel IN ('sms', 'voice')", name="channel_known"),
        Index("ix_outbound_messages_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))  # "reminder", "waiting_offer", "text"
    channel: Mapped[str] = mapped_column(String(8))
    dedupe_key: Mapped[str] = mapped_column(String(160))
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )
    offer_id: Mapped[int | None] = mapped_column(
        ForeignKey("waiting_offers.id", ondelete="CASCADE"), index=True
    )
    body: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    provider_sid: Mapped[str | None] = mapped_column(String(64))
    provider_status: Mapped[str | None] = mapped_column(String(20))
    error_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(300))
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    answer: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ReminderPolicy(Base):
    """When a place's appointments are reminded; without a row, the defaults of reminders.py."""

    __tablename__ = "reminder_policies"
    __table_args__ = (
        CheckConstraint("hours_before IS NULL OR hours_before BETWEEN 1 AND 48", name="hours"),
    )

    place_id: Mapped[str] = mapped_column(
        ForeignKey("places.id", ondelete="CASCADE"), primary_key=True
    )
    day_before_at: Mapped[time | None] = mapped_column(Time)  # None: no reminder the day before
    hours_before: Mapped[int | None] = mapped_column(Integer)  # None: no reminder hours before


class Voicemail(Base):
    """A message left on the phone line: Twilio keeps the recording, we keep its address.

    Personal data (a voice): deleted with the resident, and after the retention period.
    """

    __tablename__ = "voicemails"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    place_id: Mapped[str | None] = mapped_column(
        ForeignKey("places.id", ondelete="SET NULL"), index=True
    )
    recording_url: Mapped[str | None] = mapped_column(String(500))
    recording_sid: Mapped[str | None] = mapped_column(String(64))
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    transcription: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class PendingRecordingDeletion(Base):
    """A recording still to delete at Twilio, once its voicemail is gone from our tables.

    Written in the transaction that deletes the voicemail (retention purge, erasure), so a
    recording is never forgotten; the row goes once Twilio confirms (revision 0007). It holds
    the Recording SID only: no resident, number, call or place.
    """

    __tablename__ = "pending_recording_deletions"

    recording_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
