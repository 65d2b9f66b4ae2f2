"""The numbers behind the statistics page, on a seeded dataset (SQLite and PostgreSQL)."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from bot import clock
from bot.database import transaction
from bot.models import Advisor, Appointment, CallbackTicket, ProcessedMessage, User
from bot.runtime import Runtime
from bot.services.statistics import (
    Scope,
    Statistics,
    compute_statistics,
    intent_label,
    last_weeks,
    week_label,
)
from tests.inbox_support import THIONVILLE, YUTZ, make_user

_ids = itertools.count(1)
ALL = Scope(None)
PERIOD = last_weeks(date(2026, 11, 23))  # 2026-S37 to 2026-S48, DEFAULT_NOW's week last


def at(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


def add_request(
    runtime: Runtime, when: str, intent: str | None, place: str | None, channel: str = "sms"
) -> None:
    with transaction(runtime.sessions) as session:
        session.add(
            ProcessedMessage(
                provider_id=f"SMstats{next(_ids):027x}",
                channel=channel,
                intent=intent,
                place_id=place,
                reply="",
                created_at=at(when),
            )
        )


def add_appointment(
    runtime: Runtime, place: str, created: str, starts: str, **fields: object
) -> int:
    with transaction(runtime.sessions) as session:
        advisor = session.scalars(select(Advisor).where(Advisor.place_id == place)).first()
        assert advisor is not None
        row = Appointment(
            advisor_id=advisor.id,
            place_id=place,
            resident_id=None,
            starts_at=at(starts),
            ends_at=at(starts) + timedelta(minutes=30),
            status=fields.pop("status", "booked"),
            created_at=at(created),
            **fields,
        )
        session.add(row)
        session.flush()
        return row.id


def add_escalation(
    runtime: Runtime, place: str | None, created: str, reason: str, answered: str | None = None
) -> None:
    with transaction(runtime.sessions) as session:
        session.add(
            CallbackTicket(
                resident_id=None,
                place_id=place,
                reason=reason,
                channel="sms",
                status="closed" if answered else "open",
                created_at=at(created),
                updated_at=at(created),
                opened_at=at(created),
                first_answer_at=at(answered) if answered else None,
                closed_at=at(answered) if answered else None,
            )
        )


def stats(runtime: Runtime, scope: Scope = ALL) -> Statistics:
    with transaction(runtime.sessions) as session:
        return compute_statistics(session, scope, PERIOD, clock.now())


def test_the_period_is_whole_iso_weeks_ending_with_this_one() -> None:
    assert PERIOD.mondays[0] == date(2026, 9, 7)
    assert PERIOD.last_day == date(2026, 11, 29)
    assert [week_label(PERIOD.mondays[0]), week_label(PERIOD.mondays[-1])] == [
        "2026-S37",
        "2026-S48",
    ]
    assert last_weeks(date(2027, 1, 3), 4).mondays[-1] == date(2026, 12, 28)  # ISO 2026-S53


def test_requests_are_counted_per_week_in_paris_time_across_the_clock_change(
    runtime: Runtime,
) -> None:
    add_request(runtime, "2026-10-25T23:30:00+01:00", "greet", THIONVILLE)  # Sunday, S43
    add_request(runtime, "2026-10-26T00:30:00+01:00", "greet", THIONVILLE)  # Monday, S44
    add_request(runtime, "2026-11-23T09:00:00+01:00", "price", THIONVILLE)  # this week
    add_request(runtime, "2026-09-06T23:59:00+02:00", "price", THIONVILLE)  # before S37
    result = stats(runtime)
    per_week = {w.label: w.requests for w in result.weeks if w.requests}
    assert per_week == {"2026-S43": 1, "2026-S44": 1, "2026-S48": 1}
    assert result.requests == 3
    assert len(result.weeks) == 12


def test_requests_per_intent_place_and_channel_have_french_labels(runtime: Runtime) -> None:
    for intent in ("book_appointment", "book_appointment", "opening_hours", None):
        add_request(runtime, "2026-11-10T10:00:00+01:00", intent, THIONVILLE)
    add_request(runtime, "2026-11-10T11:00:00+01:00", "voice.welcome", YUTZ, channel="voice")
    add_request(runtime, "2026-11-10T11:00:00+01:00", "voice.transfer", None, channel="voice")
    result = stats(runtime)
    assert [(c.label, c.count) for c in result.intents] == [
        ("Appel (menu vocal)", 2),
        ("Prendre rendez-vous", 2),
        ("Horaires", 1),
        ("Non reconnu", 1),
    ]
    assert [(c.label, c.count) for c in result.places] == [
        ("Pôle numérique THI'PI", 4),
        ("Mission locale - antenne de Yutz", 1),
        ("Sans lieu", 1),
    ]
    assert {(c.code, c.label, c.count) for c in result.channels} == {
        ("sms", "SMS", 4),
        ("voice", "Téléphone", 2),
    }
    assert intent_label("scam_check") == "Arnaque ?"


def test_an_advisor_counts_only_their_places_and_an_admin_can_pick_rows_without_a_place(
    runtime: Runtime,
) -> None:
    add_request(runtime, "2026-11-10T10:00:00+01:00", "greet", THIONVILLE)
    add_request(runtime, "2026-11-10T10:00:00+01:00", "greet", YUTZ)
    add_request(runtime, "2026-11-10T10:00:00+01:00", "greet", None)
    add_escalation(runtime, YUTZ, "2026-11-10T10:00:00+01:00", "asked")
    add_escalation(runtime, None, "2026-11-10T10:00:00+01:00", "error")
    thionville = stats(runtime, Scope(frozenset({THIONVILLE})))
    assert (thionville.requests, thionville.escalations) == (1, 0)
    assert [c.label for c in thionville.places] == ["Pôle numérique THI'PI"]
    unplaced = stats(runtime, Scope(frozenset(), unplaced=True))
    assert (unplaced.requests, unplaced.escalations) == (1, 1)
    assert (stats(runtime).requests, stats(runtime).escalations) == (3, 2)


def test_bookings_per_week_leave_out_held_slots_and_moves_and_count_those_by_an_advisor(
    runtime: Runtime,
) -> None:
    make_user(runtime, "conseil@example.org", [THIONVILLE])
    with runtime.sessions() as session:
        advisor_user = session.scalars(select(User.id)).one()
    week = "2026-11-16T10:00:00+01:00"  # S47
    later = "2026-12-01T10:00:00+01:00"
    first = add_appointment(runtime, THIONVILLE, week, later)
    add_appointment(
        runtime, THIONVILLE, week, "2026-12-01T11:00:00+01:00", booked_by_id=advisor_user
    )
    add_appointment(
        runtime,
        THIONVILLE,
        week,
        "2026-12-01T12:00:00+01:00",
        status="cancelled",
        cancelled_at=at(week),
    )
    add_appointment(runtime, THIONVILLE, week, "2026-12-01T14:00:00+01:00", status="held")
    add_appointment(runtime, THIONVILLE, week, "2026-12-02T10:00:00+01:00", moved_from_id=first)
    add_appointment(runtime, YUTZ, week, "2026-12-01T10:00:00+01:00")
    result = stats(runtime, Scope(frozenset({THIONVILLE})))
    s47 = next(w for w in result.weeks if w.label == "2026-S47")
    assert (s47.bookings, s47.booked_by_advisor) == (3, 1)
    assert result.bookings == 3
    assert result.cancelled_bookings == 1
    assert stats(runtime).bookings == 4


def test_the_no_show_rate_counts_marked_past_appointments_and_reports_unmarked_ones(
    runtime: Runtime,
) -> None:
    booked = "2026-10-01T10:00:00+02:00"
    for day, attendance in enumerate(["attended", "attended", "attended", "no_show", None], 1):
        add_appointment(
            runtime, THIONVILLE, booked, f"2026-11-{day:02d}T10:00:00+01:00", attendance=attendance
        )
    add_appointment(runtime, THIONVILLE, booked, "2026-11-30T10:00:00+01:00")  # still ahead
    add_appointment(
        runtime,
        THIONVILLE,
        booked,
        "2026-11-10T10:00:00+01:00",
        status="cancelled",
        cancelled_at=at(booked),
    )
    attendance = stats(runtime).attendance
    assert (attendance.attended, attendance.no_show, attendance.unmarked) == (3, 1, 1)
    assert attendance.no_show_rate == pytest.approx(0.25)


def test_no_show_rate_is_unknown_when_nothing_was_marked(runtime: Runtime) -> None:
    assert stats(runtime).attendance.no_show_rate is None
    assert stats(runtime).answer_times.median_minutes is None


def test_escalations_per_reason_with_median_and_90th_percentile_time_to_first_answer(
    runtime: Runtime,
) -> None:
    opened = datetime.fromisoformat("2026-11-16T09:00:00+01:00")
    for minutes in (10, 20, 30, 40, 50, 60, 70, 80, 90, 600):
        answered = (opened + timedelta(minutes=minutes)).isoformat()
        add_escalation(runtime, THIONVILLE, opened.isoformat(), "asked", answered)
    add_escalation(runtime, THIONVILLE, opened.isoformat(), "voicemail")
    add_escalation(runtime, THIONVILLE, "2026-11-17T09:00:00+01:00", "distress")
    result = stats(runtime)
    assert [(c.label, c.count) for c in result.reasons] == [
        ("Demande d'une personne", 10),
        ("Détresse", 1),
        ("Message vocal", 1),
    ]
    times = result.answer_times
    assert (times.answered, times.unanswered) == (10, 2)
    assert times.median_minutes == pytest.approx(55)
    assert times.p90_minutes == pytest.approx(90)
    assert {w.label: w.escalations for w in result.weeks if w.escalations} == {"2026-S47": 12}
