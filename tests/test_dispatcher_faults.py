"""The outbox dispatcher under faults (PostgreSQL): a dispatcher killed mid-batch, a Twilio outage.

Every reminder must reach Twilio exactly once: counted at the fake Twilio of tests/twilio_server.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.database import make_engine, make_session_factory, transaction
from bot.dispatch.dispatcher import Dispatcher
from bot.migrations import upgrade_database
from bot.models import Advisor, Appointment, OutboundMessage, Resident
from bot.services import outbox
from bot.services.demo import load_demo_territory_if_empty
from bot.services.gateway import SmsGateway
from bot.services.reminders import REMINDER
from tests.conftest import (
    DEFAULT_NOW,
    PG_URL,
    SERVICE_NUMBER,
    _drop_postgres_schema,
    _fresh_postgres_schema,
)
from tests.twilio_server import ACCOUNT_SID, AUTH_TOKEN, SERVER_ERROR, FakeTwilio

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (RELAIS_TEST_DATABASE_URL)"),
]

ROOT = Path(__file__).resolve().parents[1]
NOW = DEFAULT_NOW  # Monday 23 November 2026, 10:00 in Paris: sending hours
REMINDERS = 40

# A dispatcher in a process of its own, to be killed: one batch of every reminder, two threads.
DISPATCHER = """
import sys
from datetime import datetime, timedelta
from bot.database import make_engine, make_session_factory
from bot.dispatch.dispatcher import Dispatcher
from bot.services.gateway import SmsGateway
from tests.twilio_server import ACCOUNT_SID, AUTH_TOKEN

url, api_url, at, batch = sys.argv[1:5]
now = datetime.fromisoformat(at)
gateway = SmsGateway(ACCOUNT_SID, AUTH_TOKEN, "+33700000001", api_url=api_url)
dispatcher = Dispatcher(
    make_session_factory(make_engine(url)), gateway, worker="doomed",
    batch=int(batch), threads=2, rate=0, lease=timedelta(minutes=1),
    now=lambda: now,  # this process's clock is not frozen: without this the lease counts
)                     # from the real time, however long after NOW the test runs
dispatcher.run_once(now)
"""


@pytest.fixture
def database() -> Iterator[str]:
    """A fresh PostgreSQL schema with the demo territory and REMINDERS reminders due at NOW."""
    url, schema = _fresh_postgres_schema(PG_URL)
    engine = make_engine(url)
    try:
        upgrade_database(engine)
        sessions = make_session_factory(engine)
        with transaction(sessions) as session:
            load_demo_territory_if_empty(session, NOW)
            advisors = session.execute(select(Advisor.id, Advisor.place_id)).all()
            for n in range(REMINDERS):
                resident = Resident(
                    phone=f"+336399800{n:02d}", opted_out=False, created_at=NOW, last_seen_at=NOW
                )
                session.add(resident)
                session.flush()
                advisor_id, place_id = advisors[n % len(advisors)]
                starts = NOW + timedelta(days=2, minutes=30 * n)
                appointment = Appointment(
                    advisor_id=advisor_id,
                    place_id=place_id,
                    resident_id=resident.id,
                    starts_at=starts,
                    ends_at=starts + timedelta(minutes=30),
                    status="booked",
                    created_at=NOW,
                )
                session.add(appointment)
                session.flush()
                outbox.enqueue(
                    session,
                    resident_id=resident.id,
                    kind=REMINDER,
                    channel=outbox.SMS,
                    dedupe_key=f"reminder:{appointment.id}:faults",
                    due_at=NOW - timedelta(minutes=1),
                    now=NOW,
                    appointment_id=appointment.id,
                    expires_at=starts,
                )
        yield url
    finally:
        engine.dispose()
        _drop_postgres_schema(PG_URL, schema)


@pytest.fixture
def twilio_api() -> Iterator[FakeTwilio]:
    """The fake Twilio, on the test's clock (reconciliation lists messages by date)."""
    with FakeTwilio(clock=lambda: NOW) as server:
        yield server
        assert server.violations == []


@contextmanager
def dispatcher(url: str, api_url: str, worker: str) -> Iterator[Dispatcher]:
    """A dispatcher in this process, with the doomed one's batch size and lease."""
    engine = make_engine(url)
    gateway = SmsGateway(ACCOUNT_SID, AUTH_TOKEN, SERVICE_NUMBER, api_url=api_url)
    running = Dispatcher(
        make_session_factory(engine),
        gateway,
        worker=worker,
        batch=REMINDERS,
        threads=4,
        lease=timedelta(minutes=1),
    )
    try:
        yield running
    finally:
        running.close()
        gateway.close()
        engine.dispose()


def outbox_rows(url: str) -> list[OutboundMessage]:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            return list(session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)))
    finally:
        engine.dispose()


def wait_until(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)


def test_reminders_of_a_dispatcher_killed_mid_batch_are_sent_once_after_its_lease(
    database: str, twilio_api: FakeTwilio
) -> None:
    twilio_api.set_latency(0.1)  # 40 messages on 2 threads: about 2 s for the batch
    doomed = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(DISPATCHER)]
        + [database, twilio_api.url, NOW.isoformat(), str(REMINDERS)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: twilio_api.created_count >= 10, 30)
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=10)
    finally:
        if doomed.poll() is None:
            doomed.kill()
            doomed.wait()
    twilio_api.set_latency(0)
    created_before = twilio_api.created_count
    assert 10 <= created_before < REMINDERS, "killed mid-batch"
    assert {row.status for row in outbox_rows(database)} == {outbox.SENDING}

    with dispatcher(database, twilio_api.url, "survivor") as second:
        early = second.run_once(NOW + timedelta(seconds=30))  # the lease still runs
        assert (early.sent, early.reconciled) == (0, 0)
        assert twilio_api.created_count == created_before

        report = second.run_once(NOW + timedelta(minutes=1, seconds=1))

    assert report.reconciled == REMINDERS
    rows = outbox_rows(database)
    assert [row.status for row in rows] == [outbox.SENT] * REMINDERS
    sent_to = Counter(message.to for message in twilio_api.messages)
    assert len(sent_to) == REMINDERS and set(sent_to.values()) == {1}  # none lost, none doubled
    sids = {message.sid for message in twilio_api.messages}
    assert {row.provider_sid for row in rows} == sids
    # Those Twilio had accepted before the kill were recognised, not sent again.
    assert sum(row.provider_status == "reconciled" for row in rows) >= created_before


def test_reminders_are_sent_once_after_a_twilio_outage_with_retries(
    database: str, twilio_api: FakeTwilio
) -> None:
    twilio_api.outage(SERVER_ERROR, seconds=2)
    with dispatcher(database, twilio_api.url, "dispatcher") as first:
        during = first.run_once(NOW)
        assert twilio_api.in_outage, "the pass must fall inside the outage"
        assert (during.sent, during.retried) == (0, REMINDERS)
        assert twilio_api.created_count == 0

        wait_until(lambda: not twilio_api.in_outage, 5)
        backing_off = first.run_once(NOW + timedelta(seconds=29))  # first retry after 30 s
        assert (backing_off.sent, backing_off.retried) == (0, 0)
        assert twilio_api.created_count == 0
        after = first.run_once(NOW + timedelta(seconds=31))

    assert (after.sent, after.retried, after.failed) == (REMINDERS, 0, 0)
    rows = outbox_rows(database)
    assert [(row.status, row.attempts) for row in rows] == [(outbox.SENT, 2)] * REMINDERS
    sent_to = Counter(message.to for message in twilio_api.messages)
    assert len(sent_to) == REMINDERS and set(sent_to.values()) == {1}
