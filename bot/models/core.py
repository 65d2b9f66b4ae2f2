"""Places, residents, conversations, agendas and bookings (revisions 0001 and 0002)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Stable constraint names so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """An aware instant stored in UTC and read back aware, on SQLite as on PostgreSQL.

    SQLite keeps no offset, so two writers using different offsets for one instant would store
    two different texts, and a unique index on the column would not see them as equal.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive values; store UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: every datetime must be aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Aware UTC (SQLite gives back the naive UTC text)."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Place(Base):
    """A lieu de médiation numérique, fields as in the national standard v1.0.x.

    Multi-valued fields of the standard (`a|b|c`) are stored as JSON lists.
    """

    __tablename__ = "places"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    pivot: Mapped[str] = mapped_column(String(14))
    nom: Mapped[str] = mapped_column(String(300))
    commune: Mapped[str] = mapped_column(String(200))
    code_postal: Mapped[str] = mapped_column(String(5), index=True)
    code_insee: Mapped[str | None] = mapped_column(String(5), index=True)
    adresse: Mapped[str] = mapped_column(String(300))
    complement_adresse: Mapped[str | None] = mapped_column(String(300))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    typologie: Mapped[list[str]] = mapped_column(JSON, default=list)
    telephone: Mapped[str | None] = mapped_column(String(20))
    courriels: Mapped[list[str]] = mapped_column(JSON, default=list)
    site_web: Mapped[list[str]] = mapped_column(JSON, default=list)
    horaires: Mapped[str | None] = mapped_column(Text)
    presentation_resume: Mapped[str | None] = mapped_column(Text)
    presentation_detail: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(300))
    itinerance: Mapped[list[str]] = mapped_column(JSON, default=list)
    structure_parente: Mapped[str | None] = mapped_column(String(300))
    date_maj: Mapped[date] = mapped_column(Date)
    services: Mapped[list[str]] = mapped_column(JSON, default=list)
    publics_specifiquement_adresses: Mapped[list[str]] = mapped_column(JSON, default=list)
    prise_en_charge_specifique: Mapped[list[str]] = mapped_column(JSON, default=list)
    frais_a_charge: Mapped[list[str]] = mapped_column(JSON, default=list)
    dispositif_programmes_nationaux: Mapped[list[str]] = mapped_column(JSON, default=list)
    formations_labels: Mapped[list[str]] = mapped_column(JSON, default=list)
    autres_formations_labels: Mapped[list[str]] = mapped_column(JSON, default=list)
    modalites_acces: Mapped[list[str]] = mapped_column(JSON, default=list)
    modalites_accompagnement: Mapped[list[str]] = mapped_column(JSON, default=list)
    fiche_acces_libre: Mapped[str | None] = mapped_column(String(500))
    prise_rdv: Mapped[str | None] = mapped_column(String(500))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    workshops: Mapped[list[Workshop]] = relationship(
        back_populates="place", cascade="all, delete-orphan", order_by="Workshop.id"
    )


class Workshop(Base):
    """A recurring group workshop held at a place (the standard has no such table)."""

    __tablename__ = "workshops"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    place_id: Mapped[str] = mapped_column(ForeignKey("places.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    schedule: Mapped[str] = mapped_column(String(200))  # OSM opening_hours syntax
    seats: Mapped[int | None] = mapped_column(Integer)
    audience: Mapped[str | None] = mapped_column(String(200))
    registration: Mapped[bool] = mapped_column(Boolean, default=True)

    place: Mapped[Place] = relationship(back_populates="workshops")


class Resident(Base):
    """A phone number that wrote or called. The number is the only personal datum kept."""

    __tablename__ = "residents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone: Mapped[str] = mapped_column(String(32), unique=True)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    opted_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    conversation: Mapped[Conversation | None] = relationship(
        back_populates="resident", cascade="all, delete-orphan"
    )


class Conversation(Base):
    """The opaque flows state of one resident's conversation (JSON)."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), unique=True
    )
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    resident: Mapped[Resident] = relationship(back_populates="conversation")


class ProcessedMessage(Base):
    """One inbound provider message handled, so that a Twilio retry gets the same reply.

    The resident's text is not kept here (data minimisation): only the intent and our reply.
    """

    __tablename__ = "processed_messages"
    __table_args__ = (UniqueConstraint("provider_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="SET NULL"), index=True
    )
    intent: Mapped[str | None] = mapped_column(String(40))
    confidence: Mapped[float | None] = mapped_column(Float)
    reply: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


# Agendas, appointments, workshop seats and waiting lists (revision 0002, bot/data/AGENDAS.md).

BOOKED = "booked"
CANCELLED = "cancelled"
WAITING = "waiting"
# A freed slot or seat kept for the first resident of a waiting list until they answer.
HELD = "held"
# The statuses that occupy a slot or a seat.
TAKEN = (BOOKED, HELD)


def unique_while(status: str | tuple[str, ...], name: str, *columns: str) -> Index:
    """A unique index over the rows in some statuses (partial index, SQLite and PostgreSQL)."""
    statuses = (status,) if isinstance(status, str) else status
    where = text("status IN (" + ", ".join(f"'{s}'" for s in statuses) + ")")
    if len(statuses) == 1:
        where = text(f"status = '{statuses[0]}'")
    return Index(name, *columns, unique=True, sqlite_where=where, postgresql_where=where)


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
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    advisor_id: Mapped[int] = mapped_column(ForeignKey("advisors.id", ondelete="CASCADE"))
    place_id: Mapped[str] = mapped_column(ForeignKey("places.id", ondelete="CASCADE"), index=True)
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
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
