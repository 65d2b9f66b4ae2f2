"""Personal data is kept no longer than the retention period, except what honours a STOP."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from bot.models import Conversation, ProcessedMessage, Resident
from bot.runtime import Runtime
from bot.scheduler import purge_personal_data
from tests.conftest import RESIDENT, Clock, Twilio

OTHER = "+33639980077"


def _count(runtime: Runtime, model: type) -> int:
    with runtime.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _residents(runtime: Runtime) -> dict[str, bool]:
    """Phone -> opted out, for every resident still stored."""
    with runtime.sessions() as session:
        return {r.phone: r.opted_out for r in session.scalars(select(Resident))}


def test_messages_memory_and_residents_older_than_retention_are_purged(
    twilio: Twilio, runtime: Runtime, frozen: Clock
) -> None:
    twilio.text("Bonjour")
    frozen.set("2027-01-10T10:00:00+01:00")
    twilio.text("57100", sender=OTHER)
    assert _count(runtime, ProcessedMessage) == 2
    assert set(_residents(runtime)) == {RESIDENT, OTHER}
    frozen.set("2027-03-01T10:00:00+01:00")  # 98 days after the first, 50 after the second
    # One message record, one conversation, one resident.
    assert purge_personal_data(runtime) == 3
    assert _count(runtime, ProcessedMessage) == 1
    assert _count(runtime, Conversation) == 1
    assert _residents(runtime) == {OTHER: False}


def test_a_purged_resident_who_writes_again_starts_afresh(
    twilio: Twilio, runtime: Runtime, frozen: Clock
) -> None:
    twilio.text("57100")
    frozen.set("2027-03-01T10:00:00+01:00")
    purge_personal_data(runtime)
    assert _residents(runtime) == {}
    twilio.text("Bonjour")
    assert _residents(runtime) == {RESIDENT: False}


def test_an_opted_out_number_is_kept_so_stop_is_still_honoured(
    twilio: Twilio, runtime: Runtime, frozen: Clock
) -> None:
    assert "ne recevrez plus" in twilio.text("STOP")
    twilio.text("Bonjour", sender=OTHER)
    frozen.set("2027-03-01T10:00:00+01:00")
    purge_personal_data(runtime)
    assert _residents(runtime) == {RESIDENT: True}
    assert _count(runtime, Conversation) == 0
    assert _count(runtime, ProcessedMessage) == 0
    # Still opted out: a repeated STOP gets no second confirmation.
    response = twilio.sms(RESIDENT, "STOP")
    assert response.status_code == 200
    assert "<Message>" not in response.get_data(as_text=True)


def test_a_resident_seen_within_retention_keeps_their_memory(
    twilio: Twilio, runtime: Runtime, frozen: Clock
) -> None:
    twilio.text("57100")
    frozen.set("2027-02-20T10:00:00+01:00")  # 89 days later
    assert purge_personal_data(runtime) == 0
    assert _residents(runtime) == {RESIDENT: False}
    assert _count(runtime, Conversation) == 1


def test_a_resident_with_an_upcoming_appointment_is_kept_until_it_has_passed(
    twilio: Twilio, runtime: Runtime, frozen: Clock
) -> None:
    from bot.clock import now
    from bot.services.bookings import book_slot
    from bot.services.slots import free_slots

    twilio.text("Bonjour")
    with runtime.sessions() as session, session.begin():
        resident = session.scalars(select(Resident)).one()
        # The demo's Thionville advisor: book as far ahead as the agenda allows.
        slots = free_slots(session, "demo-thipi-thionville", now(), limit=200)
        latest = slots[-1]
        book_slot(session, resident.id, latest.advisor_id, latest.starts_at, None, now())
    frozen.set("2027-02-22T10:00:00+01:00")  # 91 days of silence, the appointment still ahead
    assert latest.starts_at > datetime.fromisoformat("2027-02-22T10:00:00+01:00")
    purge_personal_data(runtime)
    assert RESIDENT in _residents(runtime)
    frozen.set((latest.ends_at + timedelta(days=1)).isoformat())
    purge_personal_data(runtime)
    assert RESIDENT not in _residents(runtime)


def test_voicemails_and_sent_messages_past_retention_are_purged_even_for_residents_still_seen(
    twilio: Twilio, runtime: Runtime, frozen: Clock
) -> None:
    from bot.database import transaction
    from bot.models import CallbackTicket, OutboundMessage, Voicemail
    from bot.services.conversations import get_or_create_resident
    from bot.services.outbox import enqueue
    from bot.services.voicemails import record_voicemail
    from tests.conftest import DEFAULT_NOW

    with transaction(runtime.sessions) as session:
        record_voicemail(
            session,
            phone=RESIDENT,
            call_sid="CA" + "7" * 32,
            place_id=None,
            recording_url="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
            recording_sid="RE" + "1" * 32,
            duration_seconds=12,
            now=DEFAULT_NOW,
        )
        resident = get_or_create_resident(session, RESIDENT, DEFAULT_NOW)
        for key in ("sent-long-ago", "still-due"):
            enqueue(
                session,
                resident_id=resident.id,
                kind="reminder",
                channel="sms",
                dedupe_key=key,
                due_at=DEFAULT_NOW,
                now=DEFAULT_NOW,
            )
        session.execute(
            OutboundMessage.__table__.update()
            .where(OutboundMessage.dedupe_key == "sent-long-ago")
            .values(status="sent")
        )
    frozen.set("2027-03-01T10:00:00+01:00")  # 98 days later
    twilio.text("Bonjour")  # still seen: the resident stays, their old voice message does not
    purge_personal_data(runtime)
    assert _count(runtime, Voicemail) == 0
    assert _count(runtime, CallbackTicket) == 0
    with runtime.sessions() as session:
        kept = list(session.scalars(select(OutboundMessage.dedupe_key)))
    assert kept == ["still-due"]  # what is still to send is not personal history yet
    assert RESIDENT in _residents(runtime)
