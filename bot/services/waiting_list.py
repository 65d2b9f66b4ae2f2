"""Waiting lists: residents who want a slot at a place, or a seat at a workshop, in a window.

The SMS offer of a freed slot or seat comes later; this keeps the queue. One live entry per
resident and target (partial unique indexes): joining again only updates the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.clock import PARIS
from bot.models import CANCELLED, WAITING, WaitingListEntry

OFFERED = "offered"  # a slot or seat was proposed; the resident has not answered yet
SERVED = "served"  # the resident booked


class WaitingEntryNotFound(LookupError):
    """No such waiting list entry for that resident."""


@dataclass(frozen=True, slots=True)
class WaitingInfo:
    """A place in a queue; times in Europe/Paris."""

    id: int
    resident_id: int
    place_id: str | None
    workshop_id: int | None
    window_start: datetime
    window_end: datetime
    status: str
    created_at: datetime


def waiting_info(row: WaitingListEntry) -> WaitingInfo:
    """The detached view of a WaitingListEntry row."""
    return WaitingInfo(
        id=row.id,
        resident_id=row.resident_id,
        place_id=row.place_id,
        workshop_id=row.workshop_id,
        window_start=row.window_start.astimezone(PARIS),
        window_end=row.window_end.astimezone(PARIS),
        status=row.status,
        created_at=row.created_at.astimezone(PARIS),
    )


def _target(place_id: str | None, workshop_id: int | None) -> ColumnElement[bool]:
    if (place_id is None) == (workshop_id is None):
        raise ValueError("wait for either a place or a workshop")
    if place_id is not None:
        return WaitingListEntry.place_id == place_id
    return WaitingListEntry.workshop_id == workshop_id


def join_waiting_list(
    session: Session,
    resident_id: int,
    now: datetime,
    *,
    window_start: datetime,
    window_end: datetime,
    place_id: str | None = None,
    workshop_id: int | None = None,
) -> WaitingInfo:
    """Queue the resident for a slot at a place or a seat at a workshop between two instants."""
    target = _target(place_id, workshop_id)
    if window_start >= window_end:
        raise ValueError("the window must end after it starts")
    entry = WaitingListEntry(
        resident_id=resident_id,
        place_id=place_id,
        workshop_id=workshop_id,
        window_start=window_start,
        window_end=window_end,
        status=WAITING,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(entry)
            session.flush()
    except IntegrityError:
        existing = session.scalar(
            select(WaitingListEntry).where(
                WaitingListEntry.resident_id == resident_id,
                WaitingListEntry.status == WAITING,
                target,
            )
        )
        if existing is None:
            raise
        # Keeps its place in the queue (created_at) with the new window.
        existing.window_start, existing.window_end, existing.updated_at = (
            window_start,
            window_end,
            now,
        )
        session.flush()
        entry = existing
    return waiting_info(entry)


def first_in_line(
    session: Session,
    starts_at: datetime,
    *,
    place_id: str | None = None,
    workshop_id: int | None = None,
) -> WaitingInfo | None:
    """The longest-waiting resident whose window holds a slot or session starting then."""
    row = session.scalar(
        select(WaitingListEntry)
        .where(
            _target(place_id, workshop_id),
            WaitingListEntry.status == WAITING,
            WaitingListEntry.window_start <= starts_at,
            WaitingListEntry.window_end > starts_at,
        )
        .order_by(WaitingListEntry.created_at, WaitingListEntry.id)
        .limit(1)
    )
    return waiting_info(row) if row is not None else None


def leave_waiting_list(
    session: Session, entry_id: int, resident_id: int, now: datetime
) -> WaitingInfo:
    """Take the resident out of that queue."""
    row = session.get(WaitingListEntry, entry_id)
    if row is None or row.resident_id != resident_id:
        raise WaitingEntryNotFound(entry_id)
    if row.status == WAITING:
        row.status, row.updated_at = CANCELLED, now
        session.flush()
    return waiting_info(row)
