"""The dispatcher when things go wrong: Twilio errors and time-outs, retries with back-off, and a
dispatcher that dies mid-send (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from time import monotonic, sleep

import pytest

from bot import clock
from bot.database import transaction
from bot.dispatch import Dispatcher
from bot.dispatch.dispatcher import BACKOFF, MAX_ATTEMPTS
from bot.runtime import Runtime
from bot.services import outbox
from bot.services.gateway import SmsGateway
from tests.outbox_support import (
    ALICE,
    DAY_BEFORE,
    LEASE,
    TWO_HOURS_BEFORE,
    book,
    claim_and_render,
    make_dispatcher,
    make_gateway,
    message,
    messages,
    opted_out,
    reminder_text,
    run_at,
)
from tests.twilio_server import (
    INVALID_NUMBER,
    OPTED_OUT,
    RATE_LIMITED,
    SERVER_ERROR,
    Failure,
    FakeTwilio,
    slow,
)

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
