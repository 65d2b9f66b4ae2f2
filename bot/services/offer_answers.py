"""Answers to a waiting-list offer: OUI books the held slot or seat, NON or silence passes it on.

Offers are made by bot/services/waiting_offers.py when a slot or seat is freed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import (
    BOOKED,
    HELD,
    OFFERED,
    WAITING,
    Appointment,
    WaitingListEntry,
    WaitingOffer,
    WorkshopRegistration,
)
from bot.services import outbox, reminders
from bot.services.waiting_list import SERVED
from bot.services.waiting_offers import (
    ACCEPTED,
    DECLINED,
    EXPIRED,
    OfferInfo,
    OfferNotOpen,
    offer_freed_seat,
    offer_freed_slot,
    offer_info,
    release_hold,
)


def _locked_offer(session: Session, offer_id: int, resident_id: int, now: datetime) -> WaitingOffer:
    offer = session.scalar(
        select(WaitingOffer)
        .where(WaitingOffer.id == offer_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if (
        offer is None
        or offer.resident_id != resident_id
        or offer.status != OFFERED
        or offer.expires_at <= now
    ):
        raise OfferNotOpen(offer_id)
    return offer


def accept_offer(session: Session, offer_id: int, resident_id: int, now: datetime) -> OfferInfo:
    """OUI: the held slot or seat becomes the resident's booking; their waiting ends."""
    offer = _locked_offer(session, offer_id, resident_id, now)
    offer.status, offer.answered_at = ACCEPTED, now
    if offer.appointment_id is not None:
        appointment = session.get(Appointment, offer.appointment_id)
        assert appointment is not None and appointment.status == HELD
        appointment.status, appointment.created_at = BOOKED, now
        session.flush()
        reminders.schedule_reminders(session, appointment, now)
    else:
        registration = session.get(WorkshopRegistration, offer.registration_id)
        assert registration is not None and registration.status == HELD
        registration.status, registration.created_at = BOOKED, now
    entry = session.get(WaitingListEntry, offer.entry_id)
    if entry is not None and entry.status == WAITING:
        entry.status, entry.updated_at = SERVED, now
    session.flush()
    return offer_info(session, offer)


def _end_offer(
    session: Session, offer: WaitingOffer, status: str, now: datetime
) -> OfferInfo | None:
    """Close an offer, free what it held, and offer that to the next resident in line."""
    offer.status, offer.answered_at = status, now if status == DECLINED else None
    outbox.cancel_pending(session, now, offer_id=offer.id, reason=f"offer {status}")
    if offer.appointment_id is not None:
        hold = session.get(Appointment, offer.appointment_id)
        assert hold is not None
        release_hold(hold, now)
        session.flush()
        return offer_freed_slot(
            session,
            advisor_id=hold.advisor_id,
            place_id=hold.place_id,
            starts_at=hold.starts_at,
            ends_at=hold.ends_at,
            motif=hold.motif,
            now=now,
        )
    seat_hold = session.get(WorkshopRegistration, offer.registration_id)
    assert seat_hold is not None
    seat = seat_hold.seat
    release_hold(seat_hold, now)
    session.flush()
    if seat is None:
        return None
    return offer_freed_seat(
        session,
        workshop_id=seat_hold.workshop_id,
        session_start=seat_hold.session_start,
        session_end=seat_hold.session_end,
        seat=seat,
        now=now,
    )


def decline_offer(session: Session, offer_id: int, resident_id: int, now: datetime) -> OfferInfo:
    """NON: the resident stays on the waiting list; the slot goes to the next in line."""
    offer = _locked_offer(session, offer_id, resident_id, now)
    _end_offer(session, offer, DECLINED, now)
    return offer_info(session, offer)


def expired_offer_ids(session: Session, now: datetime, limit: int = 100) -> list[int]:
    """Offers whose answer time is over and that are still open."""
    return list(
        session.scalars(
            select(WaitingOffer.id)
            .where(WaitingOffer.status == OFFERED, WaitingOffer.expires_at <= now)
            .order_by(WaitingOffer.expires_at, WaitingOffer.id)
            .limit(limit)
        )
    )


def expire_offer(session: Session, offer_id: int, now: datetime) -> bool:
    """Close one unanswered offer and pass its slot on; False if answered or taken meanwhile.

    One offer per transaction (the dispatcher's loop): passing a slot on locks other waiting
    entries, and two dispatchers doing several at once could wait on each other.
    """
    offer = session.scalar(
        select(WaitingOffer)
        .where(
            WaitingOffer.id == offer_id,
            WaitingOffer.status == OFFERED,
            WaitingOffer.expires_at <= now,
        )
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    if offer is None:
        return False
    _end_offer(session, offer, EXPIRED, now)
    return True
