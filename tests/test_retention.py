"""Personal data goes after the retention period (six months by default); statistics stay."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from bot.cli import main
from bot.config import ConfigError, Settings, settings_from_env
from bot.database import transaction
from bot.models import (
    Appointment,
    CallbackTicket,
    Conversation,
    OutboundMessage,
    ProcessedMessage,
    Resident,
    ThreadEntry,
    Voicemail,
)
from bot.runtime import Runtime
from bot.scheduler import purge_personal_data, start_scheduler
from tests.conftest import DEFAULT_NOW, RESIDENT, Clock, Twilio
from tests.twilio_server import ACCOUNT_SID as FAKE_ACCOUNT_SID
from tests.twilio_server import AUTH_TOKEN as FAKE_API_TOKEN
from tests.twilio_server import FakeTwilio

OTHER = "+33639980077"
SIX_MONTHS_LATER = "2027-05-26T10:00:00+02:00"  # 184 days after DEFAULT_NOW


def _count(runtime: Runtime, model: Any, *where: Any) -> int:
    with runtime.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _residents(runtime: Runtime) -> dict[str, bool]:
    """Phone -> opted out, for every resident still stored."""
    with runtime.sessions() as session:
        return {r.phone: r.opted_out for r in session.scalars(select(Resident))}


def test_retention_is_six_months_unless_configured_otherwise() -> None:
    assert Settings().retention_days == 183
    assert settings_from_env({}).retention_days == 183
    assert settings_from_env({"RELAIS_RETENTION_DAYS": " 30 "}).retention_days == 30


@pytest.mark.parametrize("value", ["0", "-5", "six mois", "1.5"])
def test_a_retention_that_is_not_a_whole_number_of_days_is_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="RELAIS_RETENTION_DAYS.*durée de conservation"):
        settings_from_env({"RELAIS_RETENTION_DAYS": value})
    with pytest.raises(ConfigError, match="RELAIS_RETENTION_DAYS"):
        Settings(retention_days=0).check()


def test_after_six_months_texts_and_memory_go_but_anonymous_statistics_stay(
    twilio: Twilio, runtime: Runtime, frozen: Clock
) -> None:
    twilio.text("Vous êtes ouverts le samedi à Thionville ?")
    frozen.set("2027-04-10T10:00:00+02:00")
    twilio.text("57100", sender=OTHER)
    assert _count(runtime, ThreadEntry) >= 4
    frozen.set(SIX_MONTHS_LATER)
    report = purge_personal_data(runtime)
    assert (report.residents, report.conversations, report.anonymised_requests) == (1, 1, 1)
    assert report.thread_entries >= 2
    assert _residents(runtime) == {OTHER: False}
    assert _count(runtime, Conversation) == 1
    # The other resident's recent thread stays; the first one's is gone.
    with runtime.sessions() as session:
        bodies = list(session.scalars(select(ThreadEntry.body)))
        requests = list(session.scalars(select(ProcessedMessage).order_by(ProcessedMessage.id)))
    assert "57100" in bodies and not any("samedi" in (b or "") for b in bodies)
    # Both messages are still counted: the old one without resident or reply.
    assert [(r.resident_id, r.reply == "", r.channel) for r in requests][0] == (None, True, "sms")
    assert requests[0].intent == "opening_hours"
    assert requests[1].resident_id is not None and requests[1].reply


def test_data_within_six_months_is_kept(twilio: Twilio, runtime: Runtime, frozen: Clock) -> None:
    twilio.text("57100")
    frozen.set("2027-05-23T10:00:00+02:00")  # 181 days later
    assert purge_personal_data(runtime).total == 0
    assert _residents(runtime) == {RESIDENT: False}
    assert _count(runtime, Conversation) == 1
    assert _count(runtime, ThreadEntry) >= 2


def test_a_shorter_configured_retention_is_honoured(
    twilio: Twilio, runtime: Runtime, frozen: Clock
) -> None:
    twilio.text("57100")
    frozen.set("2026-12-24T10:00:00+01:00")  # 31 days later
    short = Runtime(
        runtime.settings.with_overrides(retention_days=30),
        runtime.db,
        runtime.sessions,
        runtime.nlu,
    )
    assert purge_personal_data(short).residents == 1
    assert _residents(runtime) == {}


def test_a_purged_resident_who_writes_again_starts_afresh(
    twilio: Twilio, runtime: Runtime, frozen: Clock
) -> None:
    twilio.text("57100")
    frozen.set(SIX_MONTHS_LATER)
    purge_personal_data(runtime)
    assert _residents(runtime) == {}
    twilio.text("Bonjour")
    assert _residents(runtime) == {RESIDENT: False}


def test_an_opted_out_number_is_kept_so_stop_is_still_honoured(
    twilio: Twilio, runtime: Runtime, frozen: Clock
) -> None:
    assert "ne recevrez plus" in twilio.text("STOP")
    twilio.text("Bonjour", sender=OTHER)
    frozen.set(SIX_MONTHS_LATER)
    purge_personal_data(runtime)
    assert _residents(runtime) == {RESIDENT: True}
    assert _count(runtime, Conversation) == 0
    assert _count(runtime, ThreadEntry) == 0
    assert _count(runtime, ProcessedMessage, ProcessedMessage.resident_id.is_not(None)) == 0
    assert _count(runtime, ProcessedMessage) == 2  # anonymous, for the statistics
    # Still opted out: a repeated STOP gets no second confirmation.
    response = twilio.sms(RESIDENT, "STOP")
    assert response.status_code == 200
    assert "<Message>" not in response.get_data(as_text=True)


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
        latest = free_slots(session, "demo-thipi-thionville", now(), limit=200)[-1]
        book_slot(session, resident.id, latest.advisor_id, latest.starts_at, None, now())
    # A short retention, so that the silence outlasts it while the appointment is ahead.
    short = Runtime(
        runtime.settings.with_overrides(retention_days=30),
        runtime.db,
        runtime.sessions,
        runtime.nlu,
    )
    frozen.set("2027-01-10T10:00:00+01:00")
    assert latest.starts_at > datetime.fromisoformat("2027-01-10T10:00:00+01:00")
    purge_personal_data(short)
    assert RESIDENT in _residents(runtime)
    frozen.set((latest.ends_at + timedelta(days=1)).isoformat())
    report = purge_personal_data(short)
    assert RESIDENT not in _residents(runtime)
    assert report.anonymised_appointments == 1
    # The appointment stays for the statistics, with nobody behind it.
    with runtime.sessions() as session:
        kept = session.scalars(select(Appointment)).one()
    assert (kept.resident_id, kept.status) == (None, "booked")


def test_voicemails_and_sent_messages_go_after_six_months_even_for_residents_still_seen(
    twilio: Twilio, runtime: Runtime, frozen: Clock, fake_twilio: FakeTwilio
) -> None:
    from bot.services.conversations import get_or_create_resident
    from bot.services.outbox import enqueue
    from bot.services.voicemails import record_voicemail

    with transaction(runtime.sessions) as session:
        record_voicemail(
            session,
            phone=RESIDENT,
            call_sid="CA" + "7" * 32,
            place_id="demo-thipi-thionville",
            recording_url="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
            recording_sid=fake_twilio.add_recording("RE" + "1" * 32),
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
    frozen.set(SIX_MONTHS_LATER)
    twilio.text("Bonjour")  # still seen: the resident stays, their old voice message does not
    at_twilio = runtime.settings.with_overrides(
        twilio_api_url=fake_twilio.url,
        twilio_account_sid=FAKE_ACCOUNT_SID,
        twilio_auth_token=FAKE_API_TOKEN,
    )
    report = purge_personal_data(Runtime(at_twilio, runtime.db, runtime.sessions, runtime.nlu))
    assert (report.voicemails, report.sent_messages, report.recordings_deleted) == (1, 1, 1)
    assert _count(runtime, Voicemail) == 0
    assert fake_twilio.recordings == set()  # its recording is deleted at Twilio too
    with runtime.sessions() as session:
        kept = list(session.scalars(select(OutboundMessage.dedupe_key)))
        ticket = session.scalars(select(CallbackTicket)).one()
    assert kept == ["still-due"]  # what is still to send is not personal history yet
    # The escalation stays for the statistics; only the voicemail it pointed to is gone.
    assert (ticket.reason, ticket.place_id, ticket.voicemail_id) == (
        "voicemail",
        "demo-thipi-thionville",
        None,
    )
    assert RESIDENT in _residents(runtime)


def test_an_escalation_of_a_forgotten_resident_is_closed_and_kept_anonymous(
    twilio: Twilio, runtime: Runtime, frozen: Clock
) -> None:
    from bot.services.conversations import get_or_create_resident
    from bot.services.escalations import escalate

    twilio.text("Bonjour")
    with transaction(runtime.sessions) as session:
        resident = get_or_create_resident(session, RESIDENT, DEFAULT_NOW)
        escalate(
            session,
            resident_id=resident.id,
            place_id=None,
            reason="asked",
            channel="sms",
            now=DEFAULT_NOW,
        )
    assert _count(runtime, CallbackTicket, CallbackTicket.status == "open") == 1
    frozen.set(SIX_MONTHS_LATER)
    assert purge_personal_data(runtime).anonymised_escalations == 1
    with runtime.sessions() as session:
        ticket = session.scalars(select(CallbackTicket)).one()
    assert (ticket.resident_id, ticket.status, ticket.reason) == (None, "closed", "asked")


def test_relais_purge_says_in_french_what_it_removed(
    twilio: Twilio, runtime: Runtime, frozen: Clock
) -> None:
    twilio.text("57100")
    env = {"RELAIS_DATABASE_URL": runtime.settings.database_url}
    frozen.set(SIX_MONTHS_LATER)
    result = CliRunner().invoke(main, ["purge"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Purge : ")
    assert "1 mémoire de conversation, 1 résident supprimés" in result.output
    assert "1 ligne de statistiques anonymisée" in result.output
    # The demo's settings (no Twilio account): nothing to delete at Twilio, and it says so.
    assert "Enregistrements audio : pas de compte Twilio (mode simulateur)" in result.output
    assert _residents(runtime) == {}


def test_the_nightly_purge_job_is_scheduled_with_the_configured_retention(
    runtime: Runtime, twilio: Twilio, frozen: Clock
) -> None:
    twilio.text("57100")
    configured = Runtime(
        runtime.settings.with_overrides(retention_days=10),
        runtime.db,
        runtime.sessions,
        runtime.nlu,
    )
    scheduler = start_scheduler(configured)
    try:
        job = scheduler.get_job("retention_purge")
        assert job is not None
        fields = {f.name: str(f) for f in job.trigger.fields}
        assert (fields["hour"], fields["minute"]) == ("3", "30")
        assert str(job.trigger.timezone) == "Europe/Paris"
        frozen.set("2026-12-04T10:00:00+01:00")  # 11 days later
        report = job.func(*job.args)
    finally:
        scheduler.shutdown(wait=False)
    assert report.residents == 1
