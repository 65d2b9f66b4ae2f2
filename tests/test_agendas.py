"""Advisors' agendas and the free slots they give: hours, slot length, closures, public holidays,
DST, minimum notice and residents' wishes (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.clock import PARIS
from bot.database import transaction
from bot.models import Advisor, AdvisorAvailability, AgendaClosure, AppointmentMotif
from bot.runtime import Runtime
from bot.services.agendas import (
    DEMO_AGENDAS_PATH,
    AgendaFileError,
    has_agenda,
    list_motifs,
    load_agendas,
    places_with_agenda,
)
from bot.services.bookings import book_slot, upcoming_appointments
from bot.services.conversations import get_or_create_resident
from bot.services.slots import NoAgenda, PartOfDay, SlotWish, free_slots
from tests.conftest import DEFAULT_NOW

DEMO = json.loads(DEMO_AGENDAS_PATH.read_text(encoding="utf-8"))
THIPI = "demo-thipi-thionville"  # Sébastien, Tu Th 09:00-12:00, 45 min (Moselle)
TURBINE = "demo-la-turbine-forbach"  # Sabrina, Mo Fr 09:30-12:00, 30 min (Moselle)
CRETEIL = "demo-mediatheque-creteil"  # Nadia, Tu Fr 14:00-17:00, 30 min (Val-de-Marne)
SAINT_ETIENNE = "demo-mla-saint-etienne"  # Pauline, Mo-Fr 09:30-11:30, 30 min (Loire)


def paris(iso: str) -> datetime:
    """An aware Paris time from "2026-11-24 09:00"."""
    return datetime.fromisoformat(iso).replace(tzinfo=PARIS)


def starts(runtime: Runtime, place_id: str, now: datetime = DEFAULT_NOW, **kw: Any) -> list[str]:
    """Start times of the free slots, as "YYYY-MM-DD HH:MM" in Paris."""
    with runtime.sessions() as session:
        slots = free_slots(session, place_id, now, now=now, **kw)
    return [slot.starts_at.strftime("%Y-%m-%d %H:%M") for slot in slots]


def write_agendas(tmp_path: Path, document: dict[str, Any]) -> Path:
    path = tmp_path / "agendas.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def one_place(place_id: str, advisor: dict[str, Any], **place: Any) -> dict[str, Any]:
    """An agenda file for one place and one advisor."""
    return {
        "format": "relais-agendas/1",
        "time_zone": "Europe/Paris",
        "places": [{"place_id": place_id, "advisors": [advisor], **place}],
    }


def load(runtime: Runtime, path: Path) -> None:
    with transaction(runtime.sessions) as session:
        load_agendas(session, path)


def counts(runtime: Runtime) -> dict[str, int]:
    with runtime.sessions() as session:
        return {
            model.__tablename__: int(session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (Advisor, AdvisorAvailability, AgendaClosure, AppointmentMotif)
        }


# --- the agenda file ---------------------------------------------------------------------------


def test_the_demo_territory_takes_appointments_at_eight_places(runtime: Runtime) -> None:
    with runtime.sessions() as session:
        ids = {place.id for place in places_with_agenda(session, DEFAULT_NOW)}
        assert len(ids) == 8 and {THIPI, TURBINE, CRETEIL, SAINT_ETIENNE} <= ids
        assert has_agenda(session, THIPI, DEFAULT_NOW)
        assert not has_agenda(session, "demo-puzzle-thionville", DEFAULT_NOW)


def test_a_place_without_agenda_says_so_rather_than_having_no_free_slot(runtime: Runtime) -> None:
    with runtime.sessions() as session, pytest.raises(NoAgenda):
        free_slots(session, "demo-puzzle-thionville", DEFAULT_NOW, now=DEFAULT_NOW)


def test_motifs_are_offered_in_the_order_of_the_file(runtime: Runtime) -> None:
    with runtime.sessions() as session:
        labels = [motif.label for motif in list_motifs(session)]
    assert labels == [
        "e-mail",
        "démarche en ligne (CAF, ameli, impôts, ANTS, CESU...)",
        "smartphone ou tablette",
        "CV et recherche d'emploi",
        "mots de passe et comptes",
        "autre",
    ]


def test_loading_the_agendas_again_changes_nothing(runtime: Runtime) -> None:
    before = counts(runtime)
    with runtime.sessions() as session:
        ids_before = sorted(session.scalars(select(AdvisorAvailability.id)))
    for _ in range(2):
        load(runtime, DEMO_AGENDAS_PATH)
    assert (
        counts(runtime)
        == before
        == {
            "advisors": 8,
            "advisor_availabilities": 18,
            "agenda_closures": 0,
            "appointment_motifs": 6,
        }
    )
    with runtime.sessions() as session:
        assert sorted(session.scalars(select(AdvisorAvailability.id))) == ids_before


def test_loading_an_edited_file_updates_advisors_in_place(runtime: Runtime, tmp_path: Path) -> None:
    edited = copy.deepcopy(DEMO)
    thipi = next(p for p in edited["places"] if p["place_id"] == THIPI)
    thipi["advisors"][0]["availability"] = [
        {"days": ["Th"], "from": "14:00", "to": "15:00", "slot_minutes": 60}
    ]
    sucy = next(p for p in edited["places"] if p["place_id"] == "demo-mediatheque-sucy")
    sucy["advisors"] = []  # Karim leaves
    load(runtime, write_agendas(tmp_path, edited))
    assert starts(runtime, THIPI, limit=2) == ["2026-11-26 14:00", "2026-12-03 14:00"]
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Advisor)) == 8
        karim = session.scalars(select(Advisor).where(Advisor.ref == "sucy-karim")).one()
        assert not karim.active
        assert not has_agenda(session, "demo-mediatheque-sucy", DEFAULT_NOW)
    load(runtime, DEMO_AGENDAS_PATH)  # Karim is back, with the same id
    assert starts(runtime, "demo-mediatheque-sucy", limit=1) == ["2026-11-25 10:00"]


def test_an_agenda_for_a_place_not_imported_is_skipped(runtime: Runtime, tmp_path: Path) -> None:
    advisor = {"id": "x-ann", "name": "Ann", "availability": []}
    with transaction(runtime.sessions) as session:
        report = load_agendas(session, write_agendas(tmp_path, one_place("nowhere", advisor)))
    assert report.skipped_places == ("nowhere",) and report.advisors == 0


@pytest.mark.parametrize(
    ("window", "where", "problem"),
    [
        ({"days": ["Lu"], "from": "09:00", "to": "12:00", "slot_minutes": 30}, "[0]", "'days'"),
        ({"days": ["Mo"], "from": "9h", "to": "12:00", "slot_minutes": 30}, "[0]", "'from'"),
        ({"days": ["Mo"], "from": "12:00", "to": "09:00", "slot_minutes": 30}, "[0]", "'to'"),
        ({"days": ["Mo"], "from": "09:00", "to": "12:00", "slot_minutes": 0}, "[0]", "slot"),
        ({"days": ["Mo"], "from": "11:00", "to": "13:00", "slot_minutes": 30}, "[1]", "overlaps"),
    ],
)
def test_a_wrong_agenda_file_is_refused_saying_where(
    runtime: Runtime, tmp_path: Path, window: dict[str, Any], where: str, problem: str
) -> None:
    first = {"days": ["Mo"], "from": "09:00", "to": "12:00", "slot_minutes": 30}
    windows = [window] if where == "[0]" else [first, window]
    advisor = {"id": "mla-pauline", "name": "Pauline", "availability": windows}
    path = write_agendas(tmp_path, one_place(SAINT_ETIENNE, advisor))
    with runtime.sessions() as session, pytest.raises(AgendaFileError) as error:
        load_agendas(session, path)
    assert f"places[0].advisors[0].availability{where}" in str(error.value)
    assert problem in str(error.value)


def test_an_agenda_in_another_time_zone_is_refused(runtime: Runtime, tmp_path: Path) -> None:
    document = {**DEMO, "time_zone": "Europe/London"}
    with runtime.sessions() as session, pytest.raises(AgendaFileError, match="time_zone"):
        load_agendas(session, write_agendas(tmp_path, document))


def test_the_documented_example_loads(runtime: Runtime, tmp_path: Path) -> None:
    text = (DEMO_AGENDAS_PATH.parent / "AGENDAS.md").read_text(encoding="utf-8")
    example = json.loads(re.findall(r"```json\n(.*?)```", text, re.DOTALL)[-1])
    load(runtime, write_agendas(tmp_path, example))
    # The end-of-year closure of the example: nothing from 24 December to 1 January.
    wish = SlotWish(from_date=date(2026, 12, 22))
    assert starts(runtime, THIPI, wish=wish, limit=4) == [
        "2026-12-22 09:00",
        "2026-12-22 09:45",
        "2026-12-22 10:30",
        "2026-12-22 11:15",
    ]
    assert starts(runtime, THIPI, wish=SlotWish(from_date=date(2026, 12, 23)), limit=1) == [
        "2027-01-05 09:00"
    ]


# --- free slots --------------------------------------------------------------------------------


def test_slots_follow_the_advisors_hours_and_slot_length(runtime: Runtime) -> None:
    with runtime.sessions() as session:
        slots = free_slots(session, THIPI, DEFAULT_NOW, now=DEFAULT_NOW, limit=5)
    # Monday 23 November 10:00: Sébastien works on Tuesdays and Thursdays, 45-minute slots.
    assert [(s.starts_at.strftime("%a %d %H:%M"), s.ends_at.strftime("%H:%M")) for s in slots] == [
        ("Tue 24 09:00", "09:45"),
        ("Tue 24 09:45", "10:30"),
        ("Tue 24 10:30", "11:15"),
        ("Tue 24 11:15", "12:00"),
        ("Thu 26 09:00", "09:45"),
    ]
    assert {(s.advisor_name, s.place_id) for s in slots} == {("Sébastien", THIPI)}
    assert all(s.starts_at.tzinfo == PARIS for s in slots)


def test_a_slot_starting_within_two_hours_is_not_offered(runtime: Runtime) -> None:
    tuesday_8_30 = paris("2026-11-24 08:30")
    assert starts(runtime, THIPI, tuesday_8_30, limit=2) == ["2026-11-24 10:30", "2026-11-24 11:15"]


def test_no_slot_is_offered_in_the_past_even_when_asked(runtime: Runtime) -> None:
    with runtime.sessions() as session:
        slots = free_slots(
            session, THIPI, DEFAULT_NOW - timedelta(days=30), now=DEFAULT_NOW, limit=1
        )
    assert slots[0].starts_at == paris("2026-11-24 09:00")


def test_slots_are_offered_up_to_three_months_ahead(runtime: Runtime) -> None:
    with runtime.sessions() as session:
        slots = free_slots(session, THIPI, DEFAULT_NOW, now=DEFAULT_NOW, limit=1000)
    assert slots[-1].starts_at <= DEFAULT_NOW + timedelta(days=92)
    assert slots[-1].starts_at.date() >= date(2027, 2, 18)


def test_christmas_day_is_closed(runtime: Runtime) -> None:
    around_christmas = SlotWish(from_date=date(2026, 12, 24), to_date=date(2026, 12, 29))
    days = {s[:10] for s in starts(runtime, CRETEIL, wish=around_christmas, limit=20)}
    assert days == {"2026-12-29"}  # Friday 25 is Christmas; Tuesday 29 is open


@pytest.mark.parametrize(
    ("place_id", "slots_on_good_friday"),
    [(TURBINE, []), (CRETEIL, ["2027-03-26 14:00"])],
    ids=["moselle-closed", "val-de-marne-open"],
)
def test_good_friday_is_a_holiday_in_moselle_only(
    runtime: Runtime, place_id: str, slots_on_good_friday: list[str]
) -> None:
    now = paris("2027-03-22 10:00")
    good_friday = SlotWish(day=date(2027, 3, 26))
    assert starts(runtime, place_id, now, wish=good_friday, limit=1) == slots_on_good_friday


@pytest.mark.parametrize(
    ("now", "before", "after"),
    [
        ("2026-03-20 10:00", "2026-03-23", "2026-03-30"),  # summer time from 29 March 2026
        ("2026-10-16 10:00", "2026-10-19", "2026-10-26"),  # winter time from 25 October 2026
    ],
    ids=["march", "october"],
)
def test_monday_nine_oclock_stays_nine_oclock_across_a_dst_change(
    runtime: Runtime, tmp_path: Path, now: str, before: str, after: str
) -> None:
    advisor = {
        "id": "mla-pauline",
        "name": "Pauline",
        "availability": [{"days": ["Mo"], "from": "09:00", "to": "10:00", "slot_minutes": 30}],
    }
    load(runtime, write_agendas(tmp_path, one_place(SAINT_ETIENNE, advisor)))
    with runtime.sessions() as session:
        slots = free_slots(session, SAINT_ETIENNE, paris(now), now=paris(now), limit=4)
    wall = [s.starts_at.strftime("%Y-%m-%d %H:%M") for s in slots]
    assert wall == [f"{before} 09:00", f"{before} 09:30", f"{after} 09:00", f"{after} 09:30"]
    offsets = {s.starts_at.date().isoformat(): s.starts_at.utcoffset() for s in slots}
    assert offsets[before] != offsets[after]
    assert all(s.ends_at - s.starts_at == timedelta(minutes=30) for s in slots)
    utc_hours = [s.starts_at.astimezone(UTC).time() for s in slots[::2]]
    assert utc_hours == ([time(8), time(7)] if before < "2026-06" else [time(7), time(8)])
    # Booked and read back from the database, 09:00 is still 09:00.
    with transaction(runtime.sessions) as session:
        resident = get_or_create_resident(session, "+33639980042", paris(now))
        book_slot(session, resident.id, slots[2].advisor_id, slots[2].starts_at, None, paris(now))
    with runtime.sessions() as session:
        (booked,) = upcoming_appointments(session, resident.id, paris(now))
    assert booked.starts_at.strftime("%Y-%m-%d %H:%M %z") == slots[2].starts_at.strftime(
        "%Y-%m-%d %H:%M %z"
    )


def test_closures_of_an_advisor_and_of_a_place_remove_their_days(
    runtime: Runtime, tmp_path: Path
) -> None:
    advisor = {
        "id": "thipi-sebastien",
        "name": "Sébastien",
        "availability": [
            {"days": ["Tu", "Th"], "from": "09:00", "to": "10:30", "slot_minutes": 45}
        ],
        "closures": [{"from": "2026-11-24", "until": "2026-11-24", "reason": "formation"}],
    }
    place_closed = [{"from": "2026-11-26", "until": "2026-12-01"}]
    load(runtime, write_agendas(tmp_path, one_place(THIPI, advisor, closures=place_closed)))
    assert starts(runtime, THIPI, limit=2) == ["2026-12-03 09:00", "2026-12-03 09:45"]


@pytest.mark.parametrize(
    ("wish", "expected"),
    [
        (SlotWish(not_before=time(10)), ["2026-11-24 10:30", "2026-11-24 11:15"]),
        (SlotWish(weekday=3), ["2026-11-26 09:00", "2026-11-26 09:45"]),
        (SlotWish(day=date(2026, 12, 3)), ["2026-12-03 09:00", "2026-12-03 09:45"]),
        (SlotWish.next_week(date(2026, 11, 23)), ["2026-12-01 09:00", "2026-12-01 09:45"]),
        (SlotWish(part_of_day=PartOfDay.MORNING), ["2026-11-24 09:00", "2026-11-24 09:45"]),
        (SlotWish(part_of_day=PartOfDay.AFTERNOON), []),
        (
            SlotWish(weekday=3, not_before=time(11), from_date=date(2026, 12, 7)),
            ["2026-12-10 11:15", "2026-12-17 11:15"],
        ),
    ],
    ids=["not-before-10h", "thursday", "a-day", "next-week", "morning", "afternoon", "mixed"],
)
def test_wishes_narrow_the_slots_offered(
    runtime: Runtime, wish: SlotWish, expected: list[str]
) -> None:
    assert starts(runtime, THIPI, wish=wish, limit=2) == expected


def test_afternoon_means_from_noon(runtime: Runtime) -> None:
    afternoon = SlotWish(part_of_day=PartOfDay.AFTERNOON)
    assert starts(runtime, CRETEIL, wish=afternoon, limit=1) == ["2026-11-24 14:00"]
    assert afternoon.accepts(paris("2026-11-24 12:00"))
    assert not afternoon.accepts(paris("2026-11-24 11:59"))


SEBASTIEN = {
    "id": "thipi-sebastien",
    "name": "Sébastien",
    "availability": [{"days": ["Tu", "Th"], "from": "09:00", "to": "12:00", "slot_minutes": 45}],
}


def test_a_place_can_have_its_own_reminder_times(runtime: Runtime, tmp_path: Path) -> None:
    from bot.services.reminders import Policy, policy_for

    own = {"day_before_at": "17:30", "hours_before": None}
    load(runtime, write_agendas(tmp_path, one_place(THIPI, SEBASTIEN, reminders=own)))
    with runtime.sessions() as session:
        assert policy_for(session, THIPI) == Policy(day_before_at=time(17, 30), hours_before=None)
        assert policy_for(session, TURBINE) == Policy(time(10, 0), 2)  # the defaults
    # Reloading without "reminders" brings the defaults back.
    load(runtime, write_agendas(tmp_path, one_place(THIPI, SEBASTIEN)))
    with runtime.sessions() as session:
        assert policy_for(session, THIPI) == Policy(time(10, 0), 2)


@pytest.mark.parametrize(
    ("reminders", "problem"),
    [
        ({"day_before_at": "25:00"}, '"day_before_at" must be "HH:MM" or null'),
        ({"hours_before": 0}, '"hours_before" must be between 1 and 48'),
        ({"hours_before": "2"}, '"hours_before" must be a whole number of hours or null'),
        ({"at": "10:00"}, '"reminders" takes "day_before_at" and "hours_before"'),
    ],
)
def test_wrong_reminder_times_say_where(
    runtime: Runtime, tmp_path: Path, reminders: dict[str, Any], problem: str
) -> None:
    path = write_agendas(tmp_path, one_place(THIPI, SEBASTIEN, reminders=reminders))
    with runtime.sessions() as session, pytest.raises(AgendaFileError) as error:
        load_agendas(session, path)
    assert str(error.value) == f"places[0].reminders: {problem}"
