"""Places, residents, conversations, agendas and bookings (revisions 0001 and 0002)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
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

    The resident's text is not kept here but in the thread (bot/models/escalations.py), which
    the retention purge empties; once purged, this row keeps only what the statistics need
    (channel, intent, place, time), without the resident or our reply.
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
    # The place the conversation was about after this message, for statistics per place.
    place_id: Mapped[str | None] = mapped_column(
        ForeignKey("places.id", ondelete="SET NULL"), index=True
    )
    reply: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


# Statuses of appointments, workshop seats and waiting lists (bot/models/agendas.py).

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
