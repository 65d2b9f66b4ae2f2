"""The outbox: SMS and calls we start, each sent exactly once, whatever the number of dispatchers.

A message is written here in the transaction that decides it (a booking schedules its reminders,
a cancellation its waiting-list offer), so nothing is lost if the process dies afterwards. Its
`dedupe_key` is unique: scheduling twice gives one row. Dispatchers (`bot/dispatcher.py`) claim
due rows under a lease, with `FOR UPDATE SKIP LOCKED` on PostgreSQL so that two dispatchers never
claim the same row (SQLite serialises writers with BEGIN IMMEDIATE), send outside any
transaction, then record what Twilio answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.models import OutboundMessage, Resident

PENDING = "pending"  # waiting for its time (or for a retry)
SENDING = "sending"  # claimed by a dispatcher, lease running
SENT = "sent"  # Twilio accepted it (we have its SID)
DELIVERED = "delivered"  # Twilio's status callback says it arrived (or the call was answered)
FAILED = "failed"  # refused for good (invalid number, opted out, retries exhausted)
CANCELLED = "cancelled"  # no longer needed (appointment cancelled or moved, offer expired)

UNCERTAIN = "uncertain: "  # error prefix of a send whose outcome is unknown (release_uncertain)

SMS = "sms"
VOICE = "voice"

# An SMS written when queued (advisor's reply or notice): sent as written, even in quiet hours.
TEXT = "text"

# Twilio's statuses (https://www.twilio.com/docs/messaging/api/message-resource#message-status-values
# and call statuses) mapped to ours; others (queued, sending, ringing...) change nothing.
_PROVIDER_DONE = {
    "delivered": DELIVERED,
    "read": DELIVERED,
    "completed": DELIVERED,
    "undelivered": FAILED,
    "failed": FAILED,
    "busy": FAILED,
    "no-answer": FAILED,
    "canceled": FAILED,
}


@dataclass(frozen=True, slots=True)
class Outbound:
    """A claimed message, as the dispatcher needs it."""

    id: int
    resident_id: int
    phone: str
    opted_out: bool
    kind: str
    channel: str
    appointment_id: int | None
    offer_id: int | None
    body: str | None
    attempts: int
    due_at: datetime
    expires_at: datetime | None
    claimed_at: datetime | None
    provider_sid: str | None
    uncertain: bool = False  # the last send timed out: Twilio may or may not have it


def enqueue(
    session: Session,
    *,
    resident_id: int,
    kind: str,
    channel: str,
    dedupe_key: str,
    due_at: datetime,
    now: datetime,
    appointment_id: int | None = None,
    offer_id: int | None = None,
    expires_at: datetime | None = None,
    body: str | None = None,
) -> bool:
    """Schedule a message; False if its dedupe key exists. Only TEXT messages come with a body."""
    if (kind == TEXT) != bool(body) or (kind == TEXT and channel != SMS):
        raise ValueError("a TEXT message is an SMS with its body, and only it has one")
    row = OutboundMessage(
        resident_id=resident_id,
        kind=kind,
        channel=channel,
        dedupe_key=dedupe_key,
        appointment_id=appointment_id,
        offer_id=offer_id,
        body=body,
        due_at=due_at,
        next_attempt_at=due_at,
        expires_at=expires_at,
        status=PENDING,
        attempts=0,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return False
    return True


def cancel_pending(
    session: Session,
    now: datetime,
    *,
    appointment_id: int | None = None,
    offer_id: int | None = None,
    reason: str = "",
) -> int:
    """Cancel the messages not yet sent about an appointment or an offer; how many."""
    if appointment_id is None and offer_id is None:
        raise ValueError("cancel messages about an appointment or an offer")
    # A message being sent ("sending") is cancelled too: the dispatcher checks again just
    # before sending, so a reminder claimed a moment before its appointment was cancelled
    # does not go out after the "c'est annulé".
    statement = update(OutboundMessage).where(OutboundMessage.status.in_((PENDING, SENDING)))
    if appointment_id is not None:
        statement = statement.where(OutboundMessage.appointment_id == appointment_id)
    if offer_id is not None:
        statement = statement.where(OutboundMessage.offer_id == offer_id)
    result = session.execute(
        statement.values(status=CANCELLED, error=reason or None, updated_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _outbound(row: OutboundMessage, resident: Resident) -> Outbound:
    return Outbound(
        id=row.id,
        resident_id=row.resident_id,
        phone=resident.phone,
        opted_out=resident.opted_out,
        kind=row.kind,
        channel=row.channel,
        appointment_id=row.appointment_id,
        offer_id=row.offer_id,
        body=row.body,
        attempts=row.attempts,
        due_at=row.due_at,
        expires_at=row.expires_at,
        claimed_at=row.claimed_at,
        provider_sid=row.provider_sid,
        uncertain=(row.error or "").startswith(UNCERTAIN),
    )


def _claim(
    session: Session,
    ids: list[int],
    worker: str,
    now: datetime,
    lease: timedelta,
    *,
    new_attempt: bool,
) -> list[Outbound]:
    if not ids:
        return []
    values: dict[str, object] = {
        "status": SENDING,
        "claimed_by": worker,
        "lease_until": now + lease,
        "updated_at": now,
    }
    if new_attempt:
        # A stale claim keeps its first claimed_at: reconciliation looks for Twilio's copy
        # from that time on.
        values["attempts"] = OutboundMessage.attempts + 1
        values["claimed_at"] = now
    session.execute(update(OutboundMessage).where(OutboundMessage.id.in_(ids)).values(**values))
    rows = session.execute(
        select(OutboundMessage, Resident)
        .join(Resident, Resident.id == OutboundMessage.resident_id)
        .where(OutboundMessage.id.in_(ids))
        .order_by(OutboundMessage.next_attempt_at, OutboundMessage.id)
        .execution_options(populate_existing=True)
    ).all()
    return [_outbound(row, resident) for row, resident in rows]


def claim_due(
    session: Session, now: datetime, worker: str, limit: int, lease: timedelta
) -> list[Outbound]:
    """Take up to `limit` due messages for this worker; no other worker can take them meanwhile."""
    ids = list(
        session.scalars(
            select(OutboundMessage.id)
            .where(OutboundMessage.status == PENDING, OutboundMessage.next_attempt_at <= now)
            .order_by(OutboundMessage.next_attempt_at, OutboundMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    return _claim(session, ids, worker, now, lease, new_attempt=True)


def claim_stale(
    session: Session, now: datetime, worker: str, limit: int, lease: timedelta
) -> list[Outbound]:
    """Take messages whose dispatcher's lease ran out mid-send (it died or hung): to reconcile.

    Twilio may or may not have accepted them; the caller asks Twilio before sending again.
    """
    ids = list(
        session.scalars(
            select(OutboundMessage.id)
            .where(OutboundMessage.status == SENDING, OutboundMessage.lease_until <= now)
            .order_by(OutboundMessage.lease_until, OutboundMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    return _claim(session, ids, worker, now, lease, new_attempt=False)


def _mine(session: Session, message_id: int, worker: str) -> OutboundMessage | None:
    """The row if this worker still holds it (a lease taken over by another worker is theirs),
    locked against a concurrent status callback or cancellation."""
    row = session.get(OutboundMessage, message_id, populate_existing=True, with_for_update=True)
    if row is None or row.status != SENDING or row.claimed_by != worker:
        return None
    return row


def uncount_attempt(session: Session, message_id: int) -> None:
    """Take back the attempt counted at claim time (postponed, or reconciled as never sent)."""
    session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.id == message_id, OutboundMessage.attempts > 0)
        .values(attempts=OutboundMessage.attempts - 1)
    )


def set_bodies(session: Session, bodies: dict[int, str]) -> None:
    """Store the texts about to be sent (rendered at claim time), for reconciliation and audit."""
    if bodies:
        session.execute(
            update(OutboundMessage),
            [{"id": message_id, "body": body} for message_id, body in bodies.items()],
        )


def record_sent_many(
    session: Session, worker: str, sent: list[tuple[int, str, str]], now: datetime
) -> int:
    """Twilio accepted these (id, SID, status): one read and one write for a whole batch.

    Only rows this worker still holds are recorded (a lease taken over is the successor's).
    """
    if not sent:
        return 0
    held = set(still_held(session, worker, [message_id for message_id, _, _ in sent]))
    rows = [
        {
            "id": message_id,
            "status": SENT,
            "provider_sid": sid,
            "provider_status": status[:20],
            "sent_at": now,
            "lease_until": None,
            "error": None,
            "error_code": None,
            "updated_at": now,
        }
        for message_id, sid, status in sent
        if message_id in held
    ]
    if rows:
        session.execute(update(OutboundMessage), rows)
    return len(rows)


def still_held(session: Session, worker: str, message_ids: list[int]) -> list[int]:
    """Those of the messages this worker still holds, locked against a concurrent change
    (a status callback, a cancellation, a successor's reconciliation)."""
    if not message_ids:
        return []
    return list(
        session.scalars(
            select(OutboundMessage.id)
            .where(
                OutboundMessage.id.in_(message_ids),
                OutboundMessage.status == SENDING,
                OutboundMessage.claimed_by == worker,
            )
            .order_by(OutboundMessage.id)
            .with_for_update()
        )
    )


def release_uncertain(
    session: Session, message_id: int, worker: str, now: datetime, error: str
) -> bool:
    """Twilio may have taken the message (timeout): leave it to reconciliation, never resend blind.

    The row stays "sending" with its lease ended, so the next pass asks Twilio before sending.
    """
    row = _mine(session, message_id, worker)
    if row is None:
        return False
    row.lease_until, row.error, row.updated_at = now, f"{UNCERTAIN}{error}"[:300], now
    return True


def record_sent(
    session: Session, message_id: int, worker: str, sid: str, provider_status: str, now: datetime
) -> bool:
    """Twilio accepted the message: keep its SID. False if another worker took it over."""
    row = _mine(session, message_id, worker)
    if row is None:
        return False
    row.status, row.provider_sid, row.provider_status = SENT, sid, provider_status
    row.sent_at = row.sent_at or now
    row.lease_until, row.error, row.error_code, row.updated_at = None, None, None, now
    return True


def record_retry(
    session: Session,
    message_id: int,
    worker: str,
    now: datetime,
    retry_at: datetime,
    error: str,
    code: int | None = None,
) -> bool:
    """A temporary failure: back to pending, tried again at `retry_at`."""
    row = _mine(session, message_id, worker)
    if row is None:
        return False
    row.status, row.next_attempt_at, row.lease_until = PENDING, retry_at, None
    row.error, row.error_code, row.updated_at = error[:300], code, now
    return True


def record_failed(
    session: Session,
    message_id: int,
    worker: str,
    now: datetime,
    error: str,
    code: int | None = None,
    *,
    status: str = FAILED,
) -> bool:
    """A message we will not send (refused for good, or no longer needed)."""
    row = _mine(session, message_id, worker)
    if row is None:
        return False
    row.status, row.lease_until = status, None
    row.error, row.error_code, row.updated_at = error[:300], code, now
    return True


def record_provider_status(
    session: Session,
    sid: str,
    provider_status: str,
    now: datetime,
    *,
    message_id: int | None = None,
    error_code: int | None = None,
) -> bool:
    """Apply a signed status callback; True if it matched one of our messages.

    The callback URL carries our message id, so a callback for a message whose SID we never
    recorded (the dispatcher died after Twilio accepted it) still marks it sent, and the
    reconciliation will not send it again.
    """
    row = session.scalar(select(OutboundMessage).where(OutboundMessage.provider_sid == sid))
    if row is None and message_id is not None:
        row = session.get(OutboundMessage, message_id)
        if row is None or row.provider_sid not in (None, sid):
            return False
        row.provider_sid = sid
        if row.status in (PENDING, SENDING):
            row.status, row.sent_at, row.lease_until = SENT, row.sent_at or now, None
    if row is None:
        return False
    row.provider_status = provider_status[:20]
    done = _PROVIDER_DONE.get(provider_status)
    if done is not None and row.status in (SENT, DELIVERED, SENDING):
        row.status = done
        if done == FAILED:
            row.error = f"Twilio status {provider_status}"
            row.error_code = error_code
    row.updated_at = now
    return True
