"""Appointment reminders sent exactly once through a local fake Twilio (the official client,
checked against Twilio's OpenAPI file): status callbacks, concurrent dispatchers, an outage
(SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest

from bot import clock
from bot.database import transaction
from bot.dispatch import Dispatcher, DispatchReport
from bot.dispatch.dispatcher import BACKOFF
from bot.models import Appointment, OutboundMessage
from bot.runtime import Runtime
from bot.services import reminders
from bot.services.conversations import get_or_create_resident
from bot.services.gateway import SmsGateway
from bot.wording.gsm7 import is_gsm7
from tests.conftest import PUBLIC_URL, SERVICE_NUMBER, Twilio
from tests.outbox_support import (
    ALICE,
    DAY_BEFORE,
    LEASE,
    NOW,
    THIPI,
    THURSDAY_11_15,
    TWO_HOURS_BEFORE,
    advisor,
    book,
    claim_and_render,
    make_gateway,
    message,
    messages,
    opted_out,
    paris,
    reminder_text,
    run_at,
)
from tests.twilio_server import (
    ACCOUNT_SID,
    SERVER_ERROR,
    FakeTwilio,
)

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
