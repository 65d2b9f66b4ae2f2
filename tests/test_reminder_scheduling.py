"""Reminders in the outbox: scheduled at booking, dropped with the appointment or a STOP, and
kept out of quiet hours (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from bot.clock import PARIS
from bot.database import transaction
from bot.dispatch import Dispatcher
from bot.models import Appointment
from bot.runtime import Runtime
from bot.services import outbox, reminders
from bot.services.bookings import cancel_appointment, move_appointment
from bot.services.reminders import Policy, reminder_times
from tests.conftest import Twilio
from tests.outbox_support import (
    ALICE,
    DAY_BEFORE,
    LEASE,
    NOW,
    THURSDAY_11_15,
    TWO_HOURS_BEFORE,
    advisor,
    book,
    insert_appointment,
    make_dispatcher,
    make_gateway,
    message,
    messages,
    paris,
    resident,
    run_at,
)
from tests.twilio_server import (
    FakeTwilio,
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
