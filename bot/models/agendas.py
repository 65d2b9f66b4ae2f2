"""Agendas, appointments, workshop seats and waiting lists (revision 0002, bot/data/AGENDAS.md)."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.models.core import BOOKED, TAKEN, WAITING, Base, Place, UtcDateTime, Workshop, unique_while


class Advisor(Base):
    """A person at a place who gives one-to-one appointments (from an agenda file)."""

    __tablename__ = "advisors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(100), unique=True)  # the agenda file's "id"
    place_id: Mapped[str] = mapped_column(ForeignKey("places.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    place: Mapped[Place] = relationship()
    availabilities: Mapped[list[AdvisorAvailability]] = relationship(
        back_populates="advisor",
        cascade="all, delete-orphan",
        order_by="(AdvisorAvailability.weekday, AdvisorAvailability.start_time)",
    )


class AdvisorAvailability(Base):
    """A weekly window of appointments: weekday (0 = Monday), Paris wall-clock times, slot size."""

    __tablename__ = "advisor_availabilities"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_from_monday"),
        CheckConstraint("start_time < end_time", name="starts_before_it_ends"),
        CheckConstraint("slot_minutes BETWEEN 5 AND 480", name="slot_length"),
        CheckConstraint(
            "valid_from IS NULL OR valid_until IS NULL OR valid_from <= valid_until",
            name="validity_in_order",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    advisor_id: Mapped[int] = mapped_column(
        ForeignKey("advisors.id", ondelete="CASCADE"), index=True
    )
    weekday: Mapped[int] = mapped_column(Integer)
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    slot_minutes: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)

    advisor: Mapped[Advisor] = relationship(back_populates="availabilities")


class AgendaClosure(Base):
    """Days (inclusive) without appointments: for one advisor, or a whole place (advisor NULL)."""

    __tablename__ = "agenda_closures"
    __table_args__ = (CheckConstraint("first_day <= last_day", name="days_in_order"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    place_id: Mapped[str] = mapped_column(ForeignKey("places.id", ondelete="CASCADE"), index=True)
    advisor_id: Mapped[int | None] = mapped_column(
        ForeignKey("advisors.id", ondelete="CASCADE"), index=True
    )
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(200))


class AppointmentMotif(Base):
    """A reason for an appointment ("e-mail", "CV et recherche d'emploi"...), in display order."""

    __tablename__ = "appointment_motifs"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Appointment(Base):
    """A one-to-one appointment; at most one taken per advisor and start (partial unique index).

    "held" is a freed slot kept for a resident of the waiting list until they answer the offer
    (bot/services/waiting_offers.py); it occupies the slot like a booking.
    """

    __tablename__ = "appointments"
    __table_args__ = (
        CheckConstraint("status IN ('booked', 'held', 'cancelled')", name="status_known"),
        CheckConstraint("starts_at < ends_at", name="starts_before_it_ends"),
        CheckConstraint(
            "(status IN ('booked', 'held') AND cancelled_at IS NULL)"
            " OR (status = 'cancelled' AND cancelled_at IS NOT NULL)",
            name="cancelled_when_cancelled",
        ),
        # The guarantee against double booking: concurrent inserts of the same advisor and start
        # cannot both commit. Cancelled rows stay for history and free the slot.
        unique_while(TAKEN, "uq_appointments_taken_advisor_start", "advisor_id", "starts_at"),
        CheckConstraint(
            "attendance IS NULL OR attendance IN ('attended', 'no_show')", name="attendance_known"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    advisor_id: Mapped[int] = mapped_column(ForeignKey("advisors.id", ondelete="CASCADE"))
    place_id: Mapped[str] = mapped_column(ForeignKey("places.id", ondelete="CASCADE"), index=True)
    # NULL once the resident is purged or erased: the row stays, anonymous, for the statistics.
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="SET NULL"), index=True
    )
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    motif: Mapped[str | None] = mapped_column(
        ForeignKey("appointment_motifs.code", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(16), default=BOOKED)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Set on the new appointment when a resident moves one; the old one is then cancelled.
    moved_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL")
    )
    # When the resident confirmed they will come (answer to a reminder).
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Marked by an advisor in the inbox once the time has come: "attended" or "no_show".
    attendance: Mapped[str | None] = mapped_column(String(16))
    attendance_marked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The inbox account that booked it for a resident on the phone (None: booked by the resident).
    booked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    advisor: Mapped[Advisor] = relationship()
    place: Mapped[Place] = relationship()
    motif_row: Mapped[AppointmentMotif | None] = relationship()


class WorkshopRegistration(Base):
    """A seat at one session of a workshop; seat numbers 1..capacity are unique per session."""

    __tablename__ = "workshop_registrations"
    __table_args__ = (
        # Seat n of a session can be held once; a cancelled registration gives its seat back
        # (NULL), so capacity holds as long as seats are numbered from 1 to Workshop.seats.
        UniqueConstraint(
            "workshop_id", "session_start", "seat", name="uq_workshop_registrations_seat"
        ),
        CheckConstraint("seat >= 1", name="seat_from_one"),
        CheckConstraint("status IN ('booked', 'held', 'cancelled')", name="status_known"),
        CheckConstraint(
            "(status IN ('booked', 'held') AND seat IS NOT NULL AND cancelled_at IS NULL)"
            " OR (status = 'cancelled' AND seat IS NULL AND cancelled_at IS NOT NULL)",
            name="seat_held_while_booked",
        ),
        unique_while(
            TAKEN,
            "uq_workshop_registrations_taken_resident",
            *("workshop_id", "session_start", "resident_id"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"))
    session_start: Mapped[datetime] = mapped_column(UtcDateTime)
    session_end: Mapped[datetime] = mapped_column(UtcDateTime)
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    seat: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=BOOKED)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    workshop: Mapped[Workshop] = relationship()


class WaitingListEntry(Base):
    """A resident waiting for a slot at a place, or a seat at a workshop, within a time window."""

    __tablename__ = "waiting_list"
    __table_args__ = (
        CheckConstraint(
            "(place_id IS NULL AND workshop_id IS NOT NULL)"
            " OR (place_id IS NOT NULL AND workshop_id IS NULL)",
            name="one_target",
        ),
        CheckConstraint("window_start < window_end", name="window_in_order"),
        CheckConstraint(
            "status IN ('waiting', 'offered', 'served', 'cancelled')", name="status_known"
        ),
        # One live entry per resident and target: joining again updates it.
        unique_while(WAITING, "uq_waiting_list_waiting_place", "resident_id", "place_id"),
        unique_while(WAITING, "uq_waiting_list_waiting_workshop", "resident_id", "workshop_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    place_id: Mapped[str | None] = mapped_column(
        ForeignKey("places.id", ondelete="CASCADE"), index=True
    )
    workshop_id: Mapped[int | None] = mapped_column(
        ForeignKey("workshops.id", ondelete="CASCADE"), index=True
    )
    window_start: Mapped[datetime] = mapped_column(UtcDateTime)
    window_end: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16), default=WAITING)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
