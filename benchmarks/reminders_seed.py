"""Seeding and reading the reminders benchmark's database (benchmarks/reminders_benchmark.py)."""

from __future__ import annotations

import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BENCH_NAME = "relais_bench"
SERVICE_NUMBER = "+33700000001"
FICTION_RANGE = "+3363998"  # 06 39 98 xx xx: 10,000 numbers
MAX_MESSAGES = 10_000
# Monday 23 November 2026, 10:00 in Paris: inside sending hours for the whole run.
BASE = "2026-11-23T10:00:00+01:00"
GOAL = 500.0  # reminders per second


def simulated_clock(t0: float) -> Any:
    """BASE + the wall-clock seconds since `t0` (time.time(), shared by all processes)."""
    base = datetime.fromisoformat(BASE)

    def now() -> datetime:
        return base + timedelta(seconds=time.time() - t0)

    return now


# --- database ---------------------------------------------------------------------------------


def bench_database(url: str) -> str:
    """A fresh, empty database for the benchmark, away from the test suite's; its URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        for suffix in ("", "-wal", "-shm"):
            Path(path + suffix).unlink(missing_ok=True)
        return url
    given = make_url(url)
    try:
        admin = create_engine(given, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{BENCH_NAME}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{BENCH_NAME}"'))
        admin.dispose()
        return given.set(database=BENCH_NAME).render_as_string(hide_password=False)
    except Exception as error:  # no CREATEDB right: a schema of the given database
        print(f"cannot create database {BENCH_NAME} ({type(error).__name__}); using a schema")
        engine = create_engine(given)
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{BENCH_NAME}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{BENCH_NAME}"'))
        engine.dispose()
        scoped = given.update_query_dict({"options": f"-csearch_path={BENCH_NAME}"})
        return scoped.render_as_string(hide_password=False)


def seed(url: str, count: int) -> None:
    """Schema, demo territory, then `count` residents, appointments and due reminders."""
    from sqlalchemy import insert, select

    from bot.database import make_engine, make_session_factory, transaction
    from bot.migrations import upgrade_database
    from bot.models import Advisor, Appointment, OutboundMessage, Resident
    from bot.services.demo import load_demo_territory_if_empty
    from bot.services.reminders import REMINDER

    now = datetime.fromisoformat(BASE)
    engine = make_engine(url)
    upgrade_database(engine)
    sessions = make_session_factory(engine)
    with transaction(sessions) as session:
        load_demo_territory_if_empty(session, now)
    with transaction(sessions) as session:
        advisors = session.execute(
            select(Advisor.id, Advisor.place_id).where(Advisor.active).order_by(Advisor.id)
        ).all()
        phones = [f"{FICTION_RANGE}{n:04d}" for n in range(count)]
        session.execute(
            insert(Resident),
            [
                {"phone": p, "opted_out": False, "created_at": now, "last_seen_at": now}
                for p in phones
            ],
        )
        by_phone = {p: i for p, i in session.execute(select(Resident.phone, Resident.id))}
        appointments = []
        for n, phone in enumerate(phones):
            advisor_id, place_id = advisors[n % len(advisors)]
            starts = now + timedelta(days=2, minutes=30 * (n // len(advisors)))
            appointments.append(
                {
                    "advisor_id": advisor_id,
                    "place_id": place_id,
                    "resident_id": by_phone[phone],
                    "starts_at": starts,
                    "ends_at": starts + timedelta(minutes=30),
                    "status": "booked",
                    "created_at": now,
                }
            )
        session.execute(insert(Appointment), appointments)
        booked = session.execute(
            select(Appointment.id, Appointment.resident_id, Appointment.starts_at)
        ).all()
        due = now - timedelta(minutes=1)
        session.execute(
            insert(OutboundMessage),
            [
                {
                    "resident_id": resident_id,
                    "kind": REMINDER,
                    "channel": "sms",
                    "dedupe_key": f"reminder:{appointment_id}:bench",
                    "appointment_id": appointment_id,
                    "due_at": due,
                    "next_attempt_at": due,
                    "expires_at": starts_at,
                    "status": "pending",
                    "attempts": 0,
                    "created_at": now,
                    "updated_at": now,
                }
                for appointment_id, resident_id, starts_at in booked
            ],
        )
    engine.dispose()


def status_counts(sessions: Any, worker: str | None = None) -> Counter[str]:
    """How many outbox rows are in each status (claimed by `worker`, if given)."""
    from sqlalchemy import func, select

    from bot.models import OutboundMessage

    query = select(OutboundMessage.status, func.count()).group_by(OutboundMessage.status)
    if worker is not None:
        query = query.where(OutboundMessage.claimed_by == worker)
    with sessions() as session:
        rows = session.execute(query).all()
    return Counter({status: int(n) for status, n in rows})


def wait_until_holding(sessions: Any, worker: str, seconds: float) -> None:
    """Return once `worker` holds claimed rows (its batch is being sent), or after `seconds`."""
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline and not status_counts(sessions, worker)["sending"]:
        time.sleep(0.002)


# --- processes --------------------------------------------------------------------------------
