"""Appointment reminders: scheduled in the outbox at booking, dropped when it no longer holds.

By default a resident is reminded the day before at 10:00 and 2 hours before; a place can change
both (agenda file, `reminders`). A day before that falls on a Sunday moves to the Saturday (no
messages on Sundays). Quiet hours (bot/services/quiet_hours.py) push a reminder to the next
allowed time unless that would be after the appointment. Two reminders that end up less than
MIN_APART apart become one (the later). Numbers that `phonenumbers` says are landlines get a call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

import phonenumbers
from phonenumbers import PhoneNumberType
from sqlalchemy.orm import Session

from bot.clock import PARIS
from bot.models import Appointment, ReminderPolicy, Resident
from bot.services import outbox, quiet_hours

REMINDER = "reminder"
DAY_BEFORE_AT = time(10, 0)
HOURS_BEFORE = 2
MIN_APART = timedelta(hours=3)
SATURDAY, SUNDAY = 5, 6


@dataclass(frozen=True, slots=True)
class Policy:
    """When a place's appointments are reminded (None: that reminder is not sent)."""

    day_before_at: time | None = DAY_BEFORE_AT
    hours_before: int | None = HOURS_BEFORE


def policy_for(session: Session, place_id: str) -> Policy:
    """The place's reminder policy, or the default one."""
    row = session.get(ReminderPolicy, place_id)
    if row is None:
        return Policy()
    return Policy(day_before_at=row.day_before_at, hours_before=row.hours_before)


def policy_from_json(value: object) -> Policy:
    """A place's `reminders` in an agenda file: {"day_before_at": "HH:MM" or null,
    "hours_before": 1 to 48 or null}; a key left out keeps its default. ValueError if wrong."""
    if not isinstance(value, dict) or set(value) - {"day_before_at", "hours_before"}:
        raise ValueError('"reminders" takes "day_before_at" and "hours_before"')
    day_before_at: time | None = DAY_BEFORE_AT
    hours_before: int | None = HOURS_BEFORE
    if "day_before_at" in value:
        raw = value["day_before_at"]
        try:
            day_before_at = None if raw is None else time.fromisoformat(str(raw))
        except ValueError:
            raise ValueError('"day_before_at" must be "HH:MM" or null') from None
    if "hours_before" in value:
        raw = value["hours_before"]
        if raw is not None and (not isinstance(raw, int) or isinstance(raw, bool)):
            raise ValueError('"hours_before" must be a whole number of hours or null')
        if raw is not None and not 1 <= raw <= 48:
            raise ValueError('"hours_before" must be between 1 and 48')
        hours_before = raw
    return Policy(day_before_at=day_before_at, hours_before=hours_before)


def set_policy(session: Session, place_id: str, policy: Policy | None) -> None:
    """Give a place its own reminder times, or back to the defaults (None)."""
    row = session.get(ReminderPolicy, place_id)
    if policy is None:
        if row is not None:
            session.delete(row)
        return
    if row is None:
        row = ReminderPolicy(place_id=place_id)
        session.add(row)
    row.day_before_at, row.hours_before = policy.day_before_at, policy.hours_before
    session.flush()


def reminder_times(policy: Policy, starts_at: datetime, now: datetime) -> list[datetime]:
    """When to remind an appointment booked at `now`: future instants, soonest first."""
    wanted: list[datetime] = []
    local = starts_at.astimezone(PARIS)
    if policy.day_before_at is not None:
        day = local.date() - timedelta(days=1)
        if day.weekday() == SUNDAY:
            day -= timedelta(days=1)
        wanted.append(datetime.combine(day, policy.day_before_at, tzinfo=PARIS))
    if policy.hours_before is not None:
        wanted.append(starts_at - timedelta(hours=policy.hours_before))
    times = sorted(
        {quiet_hours.send_time(due, deadline=starts_at) for due in wanted if now < due < starts_at}
    )
    kept: list[datetime] = []
    for due in reversed(times):  # the later of two close reminders is the more useful
        if not kept or kept[-1] - due >= MIN_APART:
            kept.append(due)
    return sorted(kept)


def channel_for(phone: str) -> str:
    """ "voice" for a number `phonenumbers` says is a fixed line, else "sms"."""
    try:
        number = phonenumbers.parse(phone, "FR")
    except phonenumbers.NumberParseException:
        return outbox.SMS
    if phonenumbers.number_type(number) == PhoneNumberType.FIXED_LINE:
        return outbox.VOICE
    return outbox.SMS


def schedule_reminders(session: Session, appointment: Appointment, now: datetime) -> int:
    """Put the appointment's reminders in the outbox (idempotent); how many were added."""
    resident = session.get(Resident, appointment.resident_id)
    if resident is None or resident.opted_out:
        return 0
    channel = channel_for(resident.phone)
    added = 0
    for due in reminder_times(
        policy_for(session, appointment.place_id), appointment.starts_at, now
    ):
        key = f"reminder:{appointment.id}:{due.astimezone(PARIS).isoformat()}"
        added += outbox.enqueue(
            session,
            resident_id=resident.id,
            kind=REMINDER,
            channel=channel,
            dedupe_key=key,
            due_at=due,
            now=now,
            appointment_id=appointment.id,
            expires_at=appointment.starts_at,
        )
    return added


def cancel_reminders(session: Session, appointment_id: int, now: datetime) -> int:
    """Drop the reminders not yet sent of a cancelled or moved appointment."""
    return outbox.cancel_pending(
        session, now, appointment_id=appointment_id, reason="appointment cancelled"
    )
