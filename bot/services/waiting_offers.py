"""Offering a freed slot or seat to the first resident of the waiting list (issue 5, item 6).

When an appointment is cancelled (or moved away from), the slot is *held* for the longest-waiting
resident whose window holds it: a "held" appointment occupies it (the same partial unique index
as bookings), and an SMS asks them to answer OUI before `expires_at`. OUI books it; NON, or no
answer in time, frees it and offers it to the next in line; each entry is offered a given slot
once. Workshop seats go the same way. The offer SMS goes through the outbox, so no outbound HTTP
happens while a resident's message is being answered. Answers: bot/services/offer_answers.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.clock import PARIS
from bot.models import (
    CANCELLED,
    HELD,
    OFFERED,
    WAITING,
    Appointment,
    Resident,
    WaitingListEntry,
    WaitingOffer,
    WorkshopRegistration,
)
from bot.services import outbox, quiet_hours, reminders
from bot.services.slots import MINIMUM_NOTICE as NOTICE

WAITING_OFFER = "waiting_offer"
ACCEPTED, DECLINED, EXPIRED, WITHDRAWN = "accepted", "declined", "expired", "withdrawn"
# How long a resident has to answer (seniors don't live on their phone), at most until the
# booking notice before the slot starts.
ANSWER_WITHIN = timedelta(hours=3)
# Below this, an offer is not worth sending: nobody can answer in time.
SHORTEST_OFFER = timedelta(minutes=30)


class OfferNotOpen(LookupError):
    """No open offer with that id for that resident (answered, expired or someone else's)."""


@dataclass(frozen=True, slots=True)
class OfferInfo:
    """An offer as flows and the dispatcher need it; times in Europe/Paris."""

    id: int
    resident_id: int
    place_id: str
    workshop_id: int | None
    workshop_title: str | None
    starts_at: datetime
    expires_at: datetime
    status: str
    appointment_id: int | None
    registration_id: int | None


def offer_info(session: Session, offer: WaitingOffer) -> OfferInfo:
    if offer.appointment_id is not None:
        appointment = session.get(Appointment, offer.appointment_id)
        assert appointment is not None  # ON DELETE CASCADE removes the offer with it
        place_id, starts_at, workshop_id, title = (
            appointment.place_id,
            appointment.starts_at,
            None,
            None,
        )
    else:
        registration = session.get(WorkshopRegistration, offer.registration_id)
        assert registration is not None
        place_id, starts_at = registration.workshop.place_id, registration.session_start
        workshop_id, title = registration.workshop_id, registration.workshop.title
    return OfferInfo(
        id=offer.id,
        resident_id=offer.resident_id,
        place_id=place_id,
        workshop_id=workshop_id,
        workshop_title=title,
        starts_at=starts_at.astimezone(PARIS),
        expires_at=offer.expires_at.astimezone(PARIS),
        status=offer.status,
        appointment_id=offer.appointment_id,
        registration_id=offer.registration_id,
    )


def _slot_ref(prefix: str, target: int, starts_at: datetime) -> str:
    return f"{prefix}{target}@{starts_at.astimezone(UTC).isoformat()}"


def _candidates(
    session: Session,
    starts_at: datetime,
    slot_ref: str,
    *,
    place_id: str | None,
    workshop_id: int | None,
) -> list[WaitingListEntry]:
    """Waiting entries whose window holds `starts_at`, longest waiting first, not yet offered it."""
    target = (
        WaitingListEntry.place_id == place_id
        if place_id is not None
        else WaitingListEntry.workshop_id == workshop_id
    )
    return list(
        session.scalars(
            select(WaitingListEntry)
            .join(Resident, Resident.id == WaitingListEntry.resident_id)
            .where(
                target,
                WaitingListEntry.status == WAITING,
                WaitingListEntry.window_start <= starts_at,
                WaitingListEntry.window_end > starts_at,
                Resident.opted_out.is_(False),  # they could not receive the offer
                ~exists().where(
                    WaitingOffer.entry_id == WaitingListEntry.id,
                    (WaitingOffer.status == OFFERED) | (WaitingOffer.slot_ref == slot_ref),
                ),
            )
            .order_by(WaitingListEntry.created_at, WaitingListEntry.id)
            .limit(5)
        )
    )


def _timing(now: datetime, starts_at: datetime) -> tuple[datetime, datetime] | None:
    """When the offer SMS goes out and until when it can be answered; None if too late.

    Unlike a reminder, an offer is never sent in quiet hours, and its answer time ends by the
    evening: a slot that cannot be offered in daytime simply becomes bookable again.
    """
    latest = starts_at - NOTICE
    send_at = quiet_hours.next_allowed(now)
    evening = quiet_hours.day_ends_after(send_at)
    expires_at = min(send_at + ANSWER_WITHIN, latest, evening)
    if expires_at - send_at < SHORTEST_OFFER:
        return None
    return send_at, expires_at


def _open_offer(
    session: Session,
    entry: WaitingListEntry,
    slot_ref: str,
    now: datetime,
    expires_at: datetime,
    send_at: datetime,
    **hold: int,
) -> WaitingOffer | None:
    offer = WaitingOffer(
        entry_id=entry.id,
        resident_id=entry.resident_id,
        slot_ref=slot_ref,
        status=OFFERED,
        offered_at=now,
        expires_at=expires_at,
        **hold,
    )
    try:
        with session.begin_nested():
            session.add(offer)
            session.flush()
    except IntegrityError:
        return None  # a concurrent offer for the same entry won
    resident = session.get(Resident, entry.resident_id)
    assert resident is not None
    outbox.enqueue(
        session,
        resident_id=entry.resident_id,
        kind=WAITING_OFFER,
        channel=reminders.channel_for(resident.phone),
        dedupe_key=f"offer:{offer.id}",
        due_at=send_at,
        now=now,
        offer_id=offer.id,
        expires_at=expires_at,
    )
    return offer


Hold = Appointment | WorkshopRegistration


def _offer_to_first_in_line(
    session: Session,
    entries: list[WaitingListEntry],
    slot_ref: str,
    timing: tuple[datetime, datetime],
    make_hold: Callable[[int], Hold],
    now: datetime,
    *,
    taken_means_gone: bool,
) -> OfferInfo | None:
    """Hold the freed slot or seat for the first entry that can have it, and queue the SMS.

    `taken_means_gone`: an appointment slot that cannot be held was booked by someone else
    meanwhile; a seat that cannot be held may only mean this resident already has one.
    """
    send_at, expires_at = timing
    for entry in entries:
        hold = make_hold(entry.resident_id)
        try:
            with session.begin_nested():
                session.add(hold)
                session.flush()
        except IntegrityError:
            if taken_means_gone:
                return None
            continue
        kind = "appointment_id" if isinstance(hold, Appointment) else "registration_id"
        offer = _open_offer(session, entry, slot_ref, now, expires_at, send_at, **{kind: hold.id})
        if offer is not None:
            return offer_info(session, offer)
        release_hold(hold, now)
    return None


def offer_freed_slot(
    session: Session,
    *,
    advisor_id: int,
    place_id: str,
    starts_at: datetime,
    ends_at: datetime,
    motif: str | None,
    now: datetime,
) -> OfferInfo | None:
    """Hold a slot just freed for the first waiting resident and queue the offer SMS."""
    timing = _timing(now, starts_at)
    if timing is None:
        return None
    slot_ref = _slot_ref("a", advisor_id, starts_at)
    entries = _candidates(session, starts_at, slot_ref, place_id=place_id, workshop_id=None)

    def hold(resident_id: int) -> Hold:
        return Appointment(
            advisor_id=advisor_id,
            place_id=place_id,
            resident_id=resident_id,
            starts_at=starts_at,
            ends_at=ends_at,
            motif=motif,
            status=HELD,
            created_at=now,
        )

    return _offer_to_first_in_line(
        session, entries, slot_ref, timing, hold, now, taken_means_gone=True
    )


def offer_freed_seat(
    session: Session,
    *,
    workshop_id: int,
    session_start: datetime,
    session_end: datetime,
    seat: int,
    now: datetime,
) -> OfferInfo | None:
    """Hold a workshop seat just freed for the first waiting resident and queue the offer SMS."""
    timing = _timing(now, session_start)
    if timing is None:
        return None
    slot_ref = _slot_ref("w", workshop_id, session_start)
    entries = _candidates(session, session_start, slot_ref, place_id=None, workshop_id=workshop_id)

    def hold(resident_id: int) -> Hold:
        return WorkshopRegistration(
            workshop_id=workshop_id,
            session_start=session_start,
            session_end=session_end,
            resident_id=resident_id,
            seat=seat,
            status=HELD,
            created_at=now,
        )

    return _offer_to_first_in_line(
        session, entries, slot_ref, timing, hold, now, taken_means_gone=False
    )


def release_hold(hold: Hold, now: datetime) -> None:
    """Give back a slot or seat held for an offer."""
    if hold.status != HELD:
        return
    hold.status, hold.cancelled_at = CANCELLED, now
    if isinstance(hold, WorkshopRegistration):
        hold.seat = None


def open_offer(session: Session, resident_id: int, now: datetime) -> OfferInfo | None:
    """The resident's offer still waiting for an answer, if any (the most recent)."""
    offer = session.scalar(
        select(WaitingOffer)
        .where(
            WaitingOffer.resident_id == resident_id,
            WaitingOffer.status == OFFERED,
            WaitingOffer.expires_at > now,
        )
        .order_by(WaitingOffer.offered_at.desc(), WaitingOffer.id.desc())
        .limit(1)
    )
    return offer_info(session, offer) if offer is not None else None


def get_offer(session: Session, offer_id: int) -> OfferInfo | None:
    """One offer, whatever its status."""
    offer = session.get(WaitingOffer, offer_id)
    return offer_info(session, offer) if offer is not None else None
