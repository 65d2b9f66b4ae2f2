"""Appointment reminders through the outbox: scheduled at booking, sent exactly once through a
local fake Twilio (the official client, checked against Twilio's OpenAPI file), with quiet
hours, retries, reconciliation after a crash, status callbacks and concurrent dispatchers
(SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, time, timedelta
from time import monotonic, sleep

import pytest
from sqlalchemy import select

from bot import clock
from bot.clock import PARIS
from bot.database import transaction
from bot.dispatch import Dispatcher, DispatchReport
from bot.dispatch.dispatcher import BACKOFF, MAX_ATTEMPTS
from bot.dispatch.render import render_text
from bot.models import Advisor, Appointment, OutboundMessage, Resident
from bot.runtime import Runtime
from bot.services import outbox, reminders
from bot.services.bookings import book_slot, cancel_appointment, move_appointment
from bot.services.conversations import get_or_create_resident
from bot.services.gateway import SmsGateway
from bot.services.reminders import Policy, reminder_times
from bot.wording.gsm7 import is_gsm7
from tests.conftest import DEFAULT_NOW, PUBLIC_URL, SERVICE_NUMBER, Twilio, gsm
from tests.twilio_server import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    INVALID_NUMBER,
    OPTED_OUT,
    RATE_LIMITED,
    SERVER_ERROR,
    Failure,
    FakeTwilio,
    slow,
)

NOW = DEFAULT_NOW  # Monday 23 November 2026, 10:00, Paris
ALICE, BRUNO = "+33639980042", "+33639980043"  # ARCEP fiction range (mobile)
THIPI = "demo-thipi-thionville"  # Sébastien, Tu Th 09:00-12:00, 45 min
SEBASTIEN = "thipi-sebastien"
LEASE = timedelta(minutes=2)


def paris(iso: str) -> datetime:
    """An aware Paris time from "2026-11-26 11:15"."""
    return datetime.fromisoformat(iso).replace(tzinfo=PARIS)


THURSDAY_11_15 = paris("2026-11-26 11:15")
DAY_BEFORE = paris("2026-11-25 10:00")  # Wednesday 10:00
TWO_HOURS_BEFORE = paris("2026-11-26 09:15")


# --- fixtures and helpers --------------------------------------------------------------------


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    """The fake Twilio, on our frozen clock; every request must conform to Twilio's spec."""
    with FakeTwilio(clock=clock.now) as server:
        yield server
    assert server.violations == []


def make_gateway(server: FakeTwilio, timeout: float = 5) -> SmsGateway:
    return SmsGateway(ACCOUNT_SID, AUTH_TOKEN, SERVICE_NUMBER, api_url=server.url, timeout=timeout)


@pytest.fixture
def gateway(fake_twilio: FakeTwilio) -> Iterator[SmsGateway]:
    gw = make_gateway(fake_twilio)
    yield gw
    gw.close()


def make_dispatcher(runtime: Runtime, gateway: SmsGateway, worker: str) -> Dispatcher:
    return Dispatcher(runtime.sessions, gateway, public_url=PUBLIC_URL, worker=worker, lease=LEASE)


@pytest.fixture
def dispatcher(runtime: Runtime, gateway: SmsGateway) -> Iterator[Dispatcher]:
    d = make_dispatcher(runtime, gateway, "test-dispatcher-a")
    yield d
    d.close()


def run_at(d: Dispatcher, at: datetime) -> DispatchReport:
    """One dispatcher pass at `at` (the fake Twilio dates what it creates with that clock)."""
    clock.freeze(at)
    return d.run_once(at)


def resident(runtime: Runtime, phone: str) -> int:
    with transaction(runtime.sessions) as session:
        return get_or_create_resident(session, phone, NOW).id


def advisor(runtime: Runtime, ref: str = SEBASTIEN) -> int:
    with runtime.sessions() as session:
        return session.scalars(select(Advisor.id).where(Advisor.ref == ref)).one()


def book(runtime: Runtime, phone: str, starts_at: datetime = THURSDAY_11_15) -> int:
    """Book Sébastien for that number at NOW; the appointment id."""
    resident_id, advisor_id = resident(runtime, phone), advisor(runtime)
    with transaction(runtime.sessions) as session:
        return book_slot(session, resident_id, advisor_id, starts_at, "email", NOW).id


def insert_appointment(runtime: Runtime, phone: str, starts_at: datetime) -> int:
    """An appointment row outside the agendas (any start), with its reminders scheduled at NOW."""
    resident_id, advisor_id = resident(runtime, phone), advisor(runtime)
    with transaction(runtime.sessions) as session:
        row = Appointment(
            advisor_id=advisor_id,
            place_id=THIPI,
            resident_id=resident_id,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=45),
            status="booked",
            created_at=NOW,
        )
        session.add(row)
        session.flush()
        reminders.schedule_reminders(session, row, NOW)
        return row.id


def messages(runtime: Runtime, appointment_id: int | None = None) -> list[OutboundMessage]:
    """Outbox rows (detached), by due time."""
    with runtime.sessions() as session:
        query = select(OutboundMessage).order_by(OutboundMessage.due_at, OutboundMessage.id)
        if appointment_id is not None:
            query = query.where(OutboundMessage.appointment_id == appointment_id)
        return list(session.scalars(query))


def message(runtime: Runtime, message_id: int) -> OutboundMessage:
    with runtime.sessions() as session:
        row = session.get(OutboundMessage, message_id)
        assert row is not None
        return row


def opted_out(runtime: Runtime, phone: str) -> bool:
    with runtime.sessions() as session:
        row = session.scalar(select(Resident).where(Resident.phone == phone))
        return bool(row and row.opted_out)


def reminder_text(
    when: str = "jeudi 26 novembre à 11h15",
    place: str = "Pôle numérique THI'PI",
    address: str = "12 rue du Cygne, Thionville",
) -> str:
    """The reminder as the resident receives it (GSM-7)."""
    return gsm(
        f"Rappel : rendez-vous le {when}, {place}, {address}. Répondez OUI pour confirmer, "
        "ANNULER pour libérer la place, DECALER pour changer."
    )


# --- 1. scheduling at booking ----------------------------------------------------------------


def test_booking_schedules_a_reminder_the_day_before_at_ten_and_one_two_hours_before(
    runtime: Runtime,
) -> None:
    appointment = book(runtime, ALICE)

    rows = messages(runtime, appointment)
    assert [r.due_at for r in rows] == [DAY_BEFORE, TWO_HOURS_BEFORE]
    assert [r.due_at.astimezone(PARIS).strftime("%a %H:%M") for r in rows] == [
        "Wed 10:00",
        "Thu 09:15",
    ]
    assert {(r.status, r.channel, r.kind, r.attempts) for r in rows} == {
        ("pending", "sms", "reminder", 0)
    }
    assert all(r.expires_at == THURSDAY_11_15 for r in rows)
    assert all(r.next_attempt_at == r.due_at for r in rows)


def test_cancelling_an_appointment_cancels_its_pending_reminders(runtime: Runtime) -> None:
    appointment = book(runtime, ALICE)
    with transaction(runtime.sessions) as session:
        cancel_appointment(session, appointment, resident(runtime, ALICE), NOW)

    assert [r.status for r in messages(runtime, appointment)] == ["cancelled", "cancelled"]


def test_moving_an_appointment_replaces_its_reminders_by_the_new_ones(runtime: Runtime) -> None:
    old = book(runtime, ALICE)
    new_start = paris("2026-12-01 10:30")  # Tuesday
    with transaction(runtime.sessions) as session:
        new = move_appointment(
            session, old, resident(runtime, ALICE), advisor(runtime), new_start, NOW
        ).id

    assert [r.status for r in messages(runtime, old)] == ["cancelled", "cancelled"]
    rows = messages(runtime, new)
    assert [(r.due_at, r.status) for r in rows] == [
        (paris("2026-11-30 10:00"), "pending"),
        (paris("2026-12-01 08:30"), "pending"),
    ]


def test_scheduling_the_same_appointment_twice_adds_no_second_reminder(runtime: Runtime) -> None:
    appointment = book(runtime, ALICE)
    with transaction(runtime.sessions) as session:
        row = session.get(Appointment, appointment)  # read back: starts_at in UTC this time
        assert row is not None
        assert reminders.schedule_reminders(session, row, NOW) == 0
        assert reminders.schedule_reminders(session, row, NOW + timedelta(hours=1)) == 0

    assert len(messages(runtime, appointment)) == 2


# --- 2. sending once -------------------------------------------------------------------------


def test_a_due_reminder_is_sent_once_through_twilio_in_french(
    runtime: Runtime, dispatcher: Dispatcher, fake_twilio: FakeTwilio
) -> None:
    appointment = book(runtime, ALICE)
    first, second = messages(runtime, appointment)

    assert run_at(dispatcher, DAY_BEFORE - timedelta(seconds=1)).sent == 0
    assert fake_twilio.messages == []

    report = run_at(dispatcher, DAY_BEFORE)

    assert (report.sent, report.retried, report.failed, report.cancelled) == (1, 0, 0, 0)
    [sms] = fake_twilio.messages
    assert (sms.to, sms.from_) == (ALICE, SERVICE_NUMBER)
    assert sms.body == reminder_text()
    assert sms.body is not None and is_gsm7(sms.body)
    assert "jeudi 26 novembre à 11h15" in sms.body and "THI'PI" in sms.body
    assert sms.status_callback == f"{PUBLIC_URL}/twilio/status?outbound={first.id}"
    row = message(runtime, first.id)
    assert (row.status, row.provider_sid, row.provider_status) == ("sent", sms.sid, "queued")
    assert (row.attempts, row.sent_at, row.lease_until) == (1, DAY_BEFORE, None)
    assert message(runtime, second.id).status == "pending"

    assert run_at(dispatcher, DAY_BEFORE).sent == 0
    assert run_at(dispatcher, DAY_BEFORE + timedelta(hours=3)).sent == 0
    assert len(fake_twilio.messages) == 1

    assert run_at(dispatcher, TWO_HOURS_BEFORE).sent == 1
    assert run_at(dispatcher, TWO_HOURS_BEFORE + timedelta(minutes=1)).sent == 0
    assert [m.body for m in fake_twilio.sent_to(ALICE)] == [reminder_text()] * 2
    assert message(runtime, second.id).status == "sent"


def test_a_late_pass_after_the_appointment_started_sends_nothing(
    runtime: Runtime, dispatcher: Dispatcher, fake_twilio: FakeTwilio
) -> None:
    appointment = book(runtime, ALICE)

    report = run_at(dispatcher, THURSDAY_11_15 + timedelta(minutes=5))

    assert (report.sent, report.cancelled) == (0, 2)
    assert [r.status for r in messages(runtime, appointment)] == ["cancelled", "cancelled"]
    assert fake_twilio.messages == []


# --- 3. opted out, cancelled -----------------------------------------------------------------


def test_resident_who_texted_stop_after_booking_gets_no_reminder(
    runtime: Runtime, dispatcher: Dispatcher, fake_twilio: FakeTwilio, twilio: Twilio
) -> None:
    appointment = book(runtime, ALICE)
    assert "ne recevrez plus" in twilio.text("STOP", sender=ALICE)

    report = run_at(dispatcher, DAY_BEFORE)

    assert (report.sent, report.cancelled) == (0, 1)
    first, second = messages(runtime, appointment)
    assert (first.status, first.error) == ("cancelled", "resident opted out")
    assert second.status == "pending"
    assert fake_twilio.messages == []
    assert run_at(dispatcher, TWO_HOURS_BEFORE).cancelled == 1
    assert fake_twilio.messages == []


def test_an_opted_out_resident_gets_no_reminder_scheduled(runtime: Runtime, twilio: Twilio) -> None:
    twilio.text("STOP", sender=ALICE)
    appointment = book(runtime, ALICE)
    assert messages(runtime, appointment) == []


def test_reminder_of_an_appointment_cancelled_after_scheduling_is_not_sent(
    runtime: Runtime, dispatcher: Dispatcher, fake_twilio: FakeTwilio
) -> None:
    appointment = book(runtime, ALICE)
    with transaction(runtime.sessions) as session:
        cancel_appointment(session, appointment, resident(runtime, ALICE), NOW)

    assert run_at(dispatcher, DAY_BEFORE).sent == 0
    assert run_at(dispatcher, TWO_HOURS_BEFORE).sent == 0

    assert fake_twilio.messages == []
    assert [r.status for r in messages(runtime, appointment)] == ["cancelled", "cancelled"]


def test_reminder_being_sent_when_its_appointment_is_cancelled_is_cancelled_at_once(
    runtime: Runtime, dispatcher: Dispatcher, fake_twilio: FakeTwilio
) -> None:
    """A dispatcher holds the reminder (claimed, not sent yet); meanwhile the resident cancels."""
    appointment = book(runtime, ALICE)
    with transaction(runtime.sessions) as session:
        [claimed] = outbox.claim_due(session, DAY_BEFORE, "dead-worker", 10, LEASE)
    with transaction(runtime.sessions) as session:
        cancel_appointment(session, appointment, resident(runtime, ALICE), DAY_BEFORE)
    assert message(runtime, claimed.id).status == "cancelled"

    report = run_at(dispatcher, DAY_BEFORE + LEASE + timedelta(seconds=1))

    assert (report.reconciled, report.sent) == (0, 0)
    assert fake_twilio.messages == []


def test_a_cancellation_between_claim_and_send_stops_the_reminder(
    runtime: Runtime, fake_twilio: FakeTwilio
) -> None:
    """The dispatcher checks again just before sending (the claim committed a moment before)."""
    appointment = book(runtime, ALICE)
    gw = make_gateway(fake_twilio)
    d = make_dispatcher(runtime, gw, "checks-before-sending")
    original = d._claim

    def claim_then_cancel(now: datetime):  # type: ignore[no-untyped-def]
        jobs, report = original(now)
        if jobs:
            with transaction(runtime.sessions) as session:
                cancel_appointment(session, appointment, resident(runtime, ALICE), now)
        return jobs, report

    d._claim = claim_then_cancel  # type: ignore[method-assign]
    try:
        report = run_at(d, DAY_BEFORE)
    finally:
        d.close()
        gw.close()
    assert (report.sent, report.cancelled) == (0, 1)
    assert fake_twilio.messages == []


# --- 4. quiet hours --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "starts_at", "expected"),
    [
        pytest.param(
            Policy(time(21, 0), None),
            "2026-11-26 11:15",
            ["2026-11-26 08:30"],
            id="21h-moves-to-8h30-next-morning",
        ),
        pytest.param(
            Policy(None, 24),
            "2026-11-30 09:30",
            ["2026-11-30 08:30"],
            id="sunday-moves-to-monday-8h30",
        ),
        pytest.param(
            Policy(),
            "2026-11-30 09:30",
            ["2026-11-28 10:00", "2026-11-30 08:30"],
            id="day-before-a-monday-is-the-saturday",
        ),
        pytest.param(
            Policy(None, 2),
            "2026-11-26 08:00",
            ["2026-11-26 06:00"],
            id="night-kept-when-the-appointment-comes-first",
        ),
        pytest.param(
            Policy(None, 24),
            "2026-11-30 08:00",
            ["2026-11-29 08:00"],
            id="sunday-kept-when-the-appointment-comes-first",
        ),
        pytest.param(
            Policy(time(21, 0), 2),
            "2026-11-26 10:00",
            ["2026-11-26 08:30"],
            id="two-reminders-moved-to-one-time-become-one",
        ),
        pytest.param(
            Policy(),
            "2026-11-24 09:00",
            ["2026-11-24 08:30"],
            id="day-before-already-past-at-booking",
        ),
    ],
)
def test_reminder_times_respect_quiet_hours_unless_the_appointment_comes_first(
    policy: Policy, starts_at: str, expected: list[str]
) -> None:
    assert reminder_times(policy, paris(starts_at), NOW) == [paris(e) for e in expected]


def test_a_reminder_due_in_a_late_night_pass_is_postponed_to_8h30(
    runtime: Runtime, dispatcher: Dispatcher, fake_twilio: FakeTwilio
) -> None:
    appointment = book(runtime, ALICE)
    first, _ = messages(runtime, appointment)

    report = run_at(dispatcher, paris("2026-11-25 21:00"))  # the dispatcher was down all day

    assert (report.postponed, report.sent) == (1, 0)
    row = message(runtime, first.id)
    assert (row.status, row.next_attempt_at, row.attempts) == (
        "pending",
        paris("2026-11-26 08:30"),
        0,
    )
    assert fake_twilio.messages == []
    assert run_at(dispatcher, paris("2026-11-26 08:29")).sent == 0
    assert run_at(dispatcher, paris("2026-11-26 08:30")).sent == 1
    assert len(fake_twilio.messages) == 1


def test_a_reminder_due_on_a_sunday_is_postponed_to_monday_8h30(
    runtime: Runtime, dispatcher: Dispatcher, fake_twilio: FakeTwilio
) -> None:
    appointment = book(runtime, ALICE, paris("2026-12-01 09:00"))  # Tuesday
    with transaction(runtime.sessions) as session:
        outbox.enqueue(
            session,
            resident_id=resident(runtime, ALICE),
            kind=reminders.REMINDER,
            channel=outbox.SMS,
            dedupe_key=f"test:{appointment}:saturday",
            due_at=paris("2026-11-28 19:50"),
            now=NOW,
            appointment_id=appointment,
            expires_at=paris("2026-12-01 09:00"),
        )

    report = run_at(dispatcher, paris("2026-11-29 12:00"))  # Sunday noon

    assert (report.postponed, report.sent) == (1, 0)
    [postponed] = [r for r in messages(runtime, appointment) if r.due_at.day == 28]
    assert postponed.next_attempt_at == paris("2026-11-30 08:30")
    assert fake_twilio.messages == []


def test_a_night_reminder_is_sent_at_once_when_the_appointment_comes_before_morning(
    runtime: Runtime, dispatcher: Dispatcher, fake_twilio: FakeTwilio
) -> None:
    early = paris("2026-11-26 08:00")  # before 08:30: a reminder at 06:00 is better than none
    appointment = insert_appointment(runtime, ALICE, early)
    rows = messages(runtime, appointment)
    assert [r.due_at for r in rows] == [paris("2026-11-25 10:00"), paris("2026-11-26 06:00")]

    assert run_at(dispatcher, paris("2026-11-25 10:00")).sent == 1
    report = run_at(dispatcher, paris("2026-11-26 06:00"))

    assert (report.sent, report.postponed) == (1, 0)
    assert len(fake_twilio.messages) == 2


# --- 5. retries and permanent errors ---------------------------------------------------------


@pytest.mark.parametrize(
    "failure", [SERVER_ERROR, RATE_LIMITED], ids=["500-server-error", "429-rate-limited"]
)
def test_a_temporary_twilio_error_is_retried_after_the_backoff_and_sent_once(
    runtime: Runtime, dispatcher: Dispatcher, fake_twilio: FakeTwilio, failure: Failure
) -> None:
    appointment = book(runtime, ALICE)
    first, _ = messages(runtime, appointment)
    fake_twilio.fail_next(failure, failure)

    report = run_at(dispatcher, DAY_BEFORE)

    assert (report.sent, report.retried, report.failed) == (0, 1, 0)
    row = message(runtime, first.id)
    assert body_of(failure) is not None
    assert (row.status, row.attempts, row.error_code) == ("pending", 1, body_of(failure))
    assert row.next_attempt_at == DAY_BEFORE + BACKOFF[0]

    assert run_at(dispatcher, DAY_BEFORE + BACKOFF[0] - timedelta(seconds=1)).retried == 0
    second_try = DAY_BEFORE + BACKOFF[0]
    assert run_at(dispatcher, second_try).retried == 1
    assert message(runtime, first.id).next_attempt_at == second_try + BACKOFF[1]
    assert fake_twilio.messages == []

    report = run_at(dispatcher, second_try + BACKOFF[1])

    assert (report.sent, report.retried) == (1, 0)
    [sms] = fake_twilio.messages
    row = message(runtime, first.id)
    assert (row.status, row.attempts, row.provider_sid) == ("sent", 3, sms.sid)
    assert run_at(dispatcher, second_try + BACKOFF[1] + timedelta(minutes=10)).sent == 0
    assert len(fake_twilio.messages) == 1


def body_of(failure: Failure) -> int | None:
    return None if failure.body is None else int(failure.body["code"])


def test_an_invalid_number_fails_for_good_and_is_not_retried(
    runtime: Runtime, dispatcher: Dispatcher, fake_twilio: FakeTwilio
) -> None:
    appointment = book(runtime, ALICE)
    first, second = messages(runtime, appointment)
    fake_twilio.fail_next(INVALID_NUMBER)

    report = run_at(dispatcher, DAY_BEFORE)

    assert (report.sent, report.retried, report.failed) == (0, 0, 1)
    row = message(runtime, first.id)
    assert (row.status, row.error_code, row.attempts) == ("failed", 21211, 1)
    assert ALICE not in (row.error or "")  # Twilio's text may quote the number: masked
    for later in (BACKOFF[0], BACKOFF[-1], timedelta(hours=6)):
        assert run_at(dispatcher, DAY_BEFORE + later).sent == 0
    assert fake_twilio.messages == []
    assert message(runtime, first.id).status == "failed"
    assert message(runtime, second.id).status == "pending"  # the next reminder still tries
    assert not opted_out(runtime, ALICE)


def test_twilio_error_21610_fails_the_reminder_and_opts_the_resident_out(
    runtime: Runtime, dispatcher: Dispatcher, fake_twilio: FakeTwilio
) -> None:
    appointment = book(runtime, ALICE)
    first, second = messages(runtime, appointment)
    fake_twilio.fail_next(OPTED_OUT)

    report = run_at(dispatcher, DAY_BEFORE)

    assert (report.failed, report.retried) == (1, 0)
    assert (message(runtime, first.id).status, message(runtime, first.id).error_code) == (
        "failed",
        21610,
    )
    assert opted_out(runtime, ALICE)
    assert run_at(dispatcher, TWO_HOURS_BEFORE).cancelled == 1
    assert message(runtime, second.id).status == "cancelled"
    assert fake_twilio.messages == []


def test_a_reminder_is_given_up_after_the_last_backoff(
    runtime: Runtime, dispatcher: Dispatcher, fake_twilio: FakeTwilio
) -> None:
    appointment = book(runtime, ALICE)
    first, _ = messages(runtime, appointment)
    fake_twilio.outage(SERVER_ERROR)

    at = DAY_BEFORE
    for attempt in range(1, MAX_ATTEMPTS):
        assert run_at(dispatcher, at).retried == 1, attempt
        at += BACKOFF[attempt - 1]
    report = run_at(dispatcher, at)

    assert (report.failed, report.retried) == (1, 0)
    row = message(runtime, first.id)
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)
    assert (row.error or "").startswith("gave up")
    fake_twilio.end_outage()
    assert run_at(dispatcher, at + timedelta(hours=1)).sent == 0
    assert fake_twilio.messages == []


def wait_for(condition: Callable[[], bool], seconds: float = 5) -> bool:
    """Poll a condition set by the fake's thread (a slow answer finishes after our timeout)."""
    deadline = monotonic() + seconds
    while not condition():
        if monotonic() > deadline:
            return False
        sleep(0.02)
    return True


def test_a_message_twilio_accepted_but_answered_too_late_is_not_sent_twice(
    runtime: Runtime, fake_twilio: FakeTwilio
) -> None:
    gw = make_gateway(fake_twilio, timeout=0.3)
    d = make_dispatcher(runtime, gw, "test-timeout")
    try:
        appointment = book(runtime, ALICE)
        first, _ = messages(runtime, appointment)
        fake_twilio.fail_next(slow(0.8))  # Twilio creates the message, answers after our timeout

        assert run_at(d, DAY_BEFORE).retried == 1
        assert wait_for(lambda: len(fake_twilio.messages) == 1)  # Twilio has it, all the same
        run_at(d, DAY_BEFORE + BACKOFF[0])

        assert len(fake_twilio.sent_to(ALICE)) == 1
        assert message(runtime, first.id).provider_sid == fake_twilio.messages[0].sid
    finally:
        d.close()
        gw.close()


# --- 6. a dispatcher that died mid-send ------------------------------------------------------


def claim_and_render(runtime: Runtime, at: datetime, worker: str = "dead-worker") -> int:
    """What a dispatcher commits before sending: the claim under a lease and the text."""
    with transaction(runtime.sessions) as session:
        [claimed] = outbox.claim_due(session, at, worker, 1, LEASE)
        rendered = render_text(session, claimed, at)
        assert rendered is not None
        outbox.set_body(session, claimed.id, rendered.content)
        return claimed.id


def test_a_reminder_twilio_accepted_before_the_dispatcher_died_is_reconciled_not_resent(
    runtime: Runtime, dispatcher: Dispatcher, gateway: SmsGateway, fake_twilio: FakeTwilio
) -> None:
    book(runtime, ALICE)
    clock.freeze(DAY_BEFORE)
    message_id = claim_and_render(runtime, DAY_BEFORE)
    body = message(runtime, message_id).body
    assert body is not None
    sent = gateway.send_sms(ALICE, body)  # Twilio accepts; the process dies before recording
    assert message(runtime, message_id).status == "sending"

    assert run_at(dispatcher, DAY_BEFORE + LEASE - timedelta(seconds=1)).reconciled == 0
    report = run_at(dispatcher, DAY_BEFORE + LEASE + timedelta(seconds=1))

    assert (report.reconciled, report.sent) == (1, 0)
    row = message(runtime, message_id)
    assert (row.status, row.provider_sid, row.provider_status) == ("sent", sent.sid, "reconciled")
    assert len(fake_twilio.messages) == 1
    assert run_at(dispatcher, DAY_BEFORE + timedelta(hours=1)).sent == 0
    assert len(fake_twilio.messages) == 1


def test_a_reminder_claimed_by_a_dispatcher_that_died_before_sending_is_sent_once(
    runtime: Runtime, dispatcher: Dispatcher, fake_twilio: FakeTwilio
) -> None:
    book(runtime, ALICE)
    clock.freeze(DAY_BEFORE)
    message_id = claim_and_render(runtime, DAY_BEFORE)

    assert run_at(dispatcher, DAY_BEFORE + timedelta(seconds=30)).sent == 0  # still leased
    report = run_at(dispatcher, DAY_BEFORE + LEASE + timedelta(seconds=1))

    assert (report.reconciled, report.sent) == (1, 1)
    [sms] = fake_twilio.messages
    assert sms.body == reminder_text()
    row = message(runtime, message_id)
    assert (row.status, row.provider_sid, row.attempts) == ("sent", sms.sid, 1)
    assert run_at(dispatcher, DAY_BEFORE + timedelta(hours=1)).sent == 0
    assert len(fake_twilio.messages) == 1


def test_a_dispatcher_whose_lease_ran_out_does_not_record_over_its_successor(
    runtime: Runtime, dispatcher: Dispatcher, fake_twilio: FakeTwilio
) -> None:
    """The first claim's worker comes back after its lease was taken over: its answer is ignored."""
    book(runtime, ALICE)
    clock.freeze(DAY_BEFORE)
    message_id = claim_and_render(runtime, DAY_BEFORE, worker="slow-worker")
    run_at(dispatcher, DAY_BEFORE + LEASE + timedelta(seconds=1))  # reconciled and sent

    with transaction(runtime.sessions) as session:
        late = outbox.record_retry(
            session, message_id, "slow-worker", DAY_BEFORE, DAY_BEFORE, "timeout"
        )

    assert late is False
    assert message(runtime, message_id).status == "sent"
    assert len(fake_twilio.messages) == 1


# --- 7. status callbacks ---------------------------------------------------------------------


def status_form(sid: str, status: str, to: str = ALICE, **extra: str) -> dict[str, str]:
    """The form of Twilio's message status callback."""
    form = {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "From": SERVICE_NUMBER,
        "MessageSid": sid,
        "MessageStatus": status,
        "SmsSid": sid,
        "SmsStatus": status,
        "To": to,
    }
    form.update(extra)
    return form


def sent_reminder(runtime: Runtime, dispatcher: Dispatcher) -> OutboundMessage:
    appointment = book(runtime, ALICE)
    assert run_at(dispatcher, DAY_BEFORE).sent == 1
    return messages(runtime, appointment)[0]


def test_a_delivered_status_callback_marks_the_reminder_delivered(
    runtime: Runtime, dispatcher: Dispatcher, twilio: Twilio
) -> None:
    row = sent_reminder(runtime, dispatcher)
    assert row.provider_sid is not None
    path = f"/twilio/status?outbound={row.id}"

    assert twilio.post(path, status_form(row.provider_sid, "sent")).status_code == 204
    assert message(runtime, row.id).status == "sent"
    assert twilio.post(path, status_form(row.provider_sid, "delivered")).status_code == 204

    row = message(runtime, row.id)
    assert (row.status, row.provider_status) == ("delivered", "delivered")


def test_an_undelivered_status_callback_marks_the_reminder_failed(
    runtime: Runtime, dispatcher: Dispatcher, twilio: Twilio
) -> None:
    row = sent_reminder(runtime, dispatcher)
    assert row.provider_sid is not None
    form = status_form(row.provider_sid, "undelivered", ErrorCode="30003")

    assert twilio.post(f"/twilio/status?outbound={row.id}", form).status_code == 204

    row = message(runtime, row.id)
    assert (row.status, row.error_code) == ("failed", 30003)
    assert not opted_out(runtime, ALICE)


def test_a_status_callback_with_error_21610_opts_the_resident_out(
    runtime: Runtime, dispatcher: Dispatcher, twilio: Twilio
) -> None:
    row = sent_reminder(runtime, dispatcher)
    assert row.provider_sid is not None
    form = status_form(row.provider_sid, "undelivered", ErrorCode="21610")

    assert twilio.post(f"/twilio/status?outbound={row.id}", form).status_code == 204

    assert message(runtime, row.id).status == "failed"
    assert opted_out(runtime, ALICE)


def test_a_status_callback_for_a_message_never_recorded_marks_it_sent_so_it_is_not_resent(
    runtime: Runtime,
    dispatcher: Dispatcher,
    gateway: SmsGateway,
    fake_twilio: FakeTwilio,
    twilio: Twilio,
) -> None:
    book(runtime, ALICE)
    clock.freeze(DAY_BEFORE)
    message_id = claim_and_render(runtime, DAY_BEFORE)
    body = message(runtime, message_id).body
    assert body is not None
    callback = f"{PUBLIC_URL}/twilio/status?outbound={message_id}"
    sent = gateway.send_sms(ALICE, body, status_callback=callback)  # then the dispatcher died

    response = twilio.post(f"/twilio/status?outbound={message_id}", status_form(sent.sid, "sent"))

    assert response.status_code == 204
    row = message(runtime, message_id)
    assert (row.status, row.provider_sid) == ("sent", sent.sid)
    report = run_at(dispatcher, DAY_BEFORE + LEASE + timedelta(seconds=1))
    assert (report.reconciled, report.sent) == (0, 0)
    assert len(fake_twilio.messages) == 1


def test_an_unsigned_status_callback_is_refused_and_changes_nothing(
    runtime: Runtime, dispatcher: Dispatcher, twilio: Twilio
) -> None:
    row = sent_reminder(runtime, dispatcher)
    assert row.provider_sid is not None
    path = f"/twilio/status?outbound={row.id}"

    unsigned = twilio.post(path, status_form(row.provider_sid, "undelivered"), signature="")
    forged = twilio.post(path, status_form(row.provider_sid, "undelivered"), signature="AAAA")

    assert (unsigned.status_code, forged.status_code) == (403, 403)
    assert message(runtime, row.id).status == "sent"


# --- 8. concurrent dispatchers ---------------------------------------------------------------


def many_due_reminders(runtime: Runtime, count: int) -> list[str]:
    """`count` residents, each with an appointment on Thursday afternoon: reminders due at
    DAY_BEFORE (and others on Thursday, not yet due). Their numbers."""
    phones = [f"+336399{n:05d}" for n in range(count)]
    advisor_id = advisor(runtime)
    with transaction(runtime.sessions) as session:
        for n, phone in enumerate(phones):
            person = get_or_create_resident(session, phone, NOW)
            starts_at = paris("2026-11-26 12:00") + timedelta(minutes=n)
            row = Appointment(
                advisor_id=advisor_id,
                place_id=THIPI,
                resident_id=person.id,
                starts_at=starts_at,
                ends_at=starts_at + timedelta(minutes=30),
                status="booked",
                created_at=NOW,
            )
            session.add(row)
            session.flush()
            assert reminders.schedule_reminders(session, row, NOW) == 2
    return phones


@pytest.mark.postgres
def test_two_dispatchers_at_once_send_each_of_200_reminders_exactly_once(
    runtime: Runtime, fake_twilio: FakeTwilio
) -> None:
    phones = many_due_reminders(runtime, 200)
    gateways = [make_gateway(fake_twilio), make_gateway(fake_twilio)]
    dispatchers = [
        Dispatcher(runtime.sessions, gw, public_url=PUBLIC_URL, worker=f"w{i}", batch=20)
        for i, gw in enumerate(gateways)
    ]
    clock.freeze(DAY_BEFORE)
    barrier = threading.Barrier(2)
    reports: list[DispatchReport | BaseException | None] = [None, None]

    def run(index: int) -> None:
        barrier.wait()
        try:
            reports[index] = dispatchers[index].run_once(DAY_BEFORE)
        except BaseException as error:  # reported below
            reports[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads)
    finally:
        for d in dispatchers:
            d.close()
        for gw in gateways:
            gw.close()

    done = [r for r in reports if isinstance(r, DispatchReport)]
    assert len(done) == 2, reports
    assert sum(r.sent for r in done) == 200
    assert sum(r.retried + r.failed for r in done) == 0
    created = fake_twilio.messages
    assert len(created) == 200
    assert Counter((m.to, m.body) for m in created).most_common(1)[0][1] == 1
    assert sorted(m.to for m in created) == sorted(phones)
    due = [r for r in messages(runtime) if r.due_at == DAY_BEFORE]
    assert len(due) == 200
    assert {(r.status, r.attempts) for r in due} == {("sent", 1)}
    assert {r.provider_sid for r in due} == {m.sid for m in created}
    assert {r.claimed_by for r in due} <= {"w0", "w1"}


# --- 9. an outage -----------------------------------------------------------------------------


def test_reminders_caught_in_a_twilio_outage_are_all_sent_once_afterwards(
    runtime: Runtime, dispatcher: Dispatcher, fake_twilio: FakeTwilio
) -> None:
    phones = many_due_reminders(runtime, 30)
    fake_twilio.outage(SERVER_ERROR)

    report = run_at(dispatcher, DAY_BEFORE)

    assert (report.sent, report.retried, report.failed) == (0, 30, 0)
    assert fake_twilio.messages == []
    due = [r for r in messages(runtime) if r.due_at == DAY_BEFORE]
    assert {(r.status, r.next_attempt_at) for r in due} == {("pending", DAY_BEFORE + BACKOFF[0])}

    fake_twilio.end_outage()
    assert run_at(dispatcher, DAY_BEFORE + timedelta(seconds=10)).sent == 0
    report = run_at(dispatcher, DAY_BEFORE + BACKOFF[0])

    assert (report.sent, report.retried, report.failed) == (30, 0, 0)
    assert sorted(m.to for m in fake_twilio.messages) == sorted(phones)
    assert run_at(dispatcher, DAY_BEFORE + timedelta(hours=1)).sent == 0
    assert len(fake_twilio.messages) == 30
    due = [r for r in messages(runtime) if r.due_at == DAY_BEFORE]
    assert {(r.status, r.attempts) for r in due} == {("sent", 2)}


def test_a_batch_slower_than_its_lease_stops_sending_and_nothing_is_sent_twice(
    runtime: Runtime, fake_twilio: FakeTwilio
) -> None:
    """A throttled dispatcher stops at half its lease; the successor reconciles the rest."""
    phones = many_due_reminders(runtime, 10)
    slow_gw, quick_gw = make_gateway(fake_twilio), make_gateway(fake_twilio)
    # 4 messages a second with a 1-second lease: at most half the lease is used for sending.
    slow = Dispatcher(
        runtime.sessions,
        slow_gw,
        worker="slow",
        batch=10,
        threads=1,
        rate=4,
        lease=timedelta(seconds=1),
        max_batches=1,
    )
    quick = Dispatcher(runtime.sessions, quick_gw, worker="quick", batch=10)
    try:
        clock.freeze(DAY_BEFORE)
        first = slow.run_once(DAY_BEFORE)
        assert 1 <= first.sent < 10  # it stopped before the end of the batch
        assert len(fake_twilio.messages) == first.sent
        # After the lease, the rest is reconciled (not at Twilio) and sent once.
        later = DAY_BEFORE + timedelta(seconds=2)
        clock.freeze(later)
        second = quick.run_once(later)
        assert second.reconciled == 10 - first.sent
        assert second.sent == 10 - first.sent
    finally:
        for item in (slow, quick, slow_gw, quick_gw):
            item.close()
    created = fake_twilio.messages
    assert sorted(m.to for m in created) == sorted(phones)
    assert Counter(m.to for m in created).most_common(1)[0][1] == 1
