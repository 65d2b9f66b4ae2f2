"""When places are open: OSM hours, French and Alsace-Moselle public holidays, DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.clock import PARIS
from bot.services.opening_hours import (
    ClosedReason,
    PlaceSchedule,
    department_from_codes,
    regional_holidays,
)

THIPI = "Mo-Fr 09:00-12:00,14:00-17:00; PH off"  # Thionville, Moselle (57)
CRETEIL = "Tu,Fr 14:00-18:00; We,Sa 10:00-13:00,14:00-18:00; PH off"  # Val-de-Marne (94)
PUZZLE = "Th 14:00-17:00; Sa[1,3] 10:00-12:00; PH off"
EVERY_MORNING = "Mo-Su 09:00-12:00; PH off"

GOOD_FRIDAY_2026 = date(2026, 4, 3)
CHRISTMAS_2026 = date(2026, 12, 25)  # a Friday
SAINT_STEPHEN_2026 = date(2026, 12, 26)  # a Saturday


def paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def test_christmas_is_closed_with_public_holiday_as_the_reason() -> None:
    schedule = PlaceSchedule(THIPI, "57")

    assert schedule.openings_on(CHRISTMAS_2026) == []
    assert schedule.is_open(paris(2026, 12, 25, 10, 0)) is False
    assert schedule.closed_reason(CHRISTMAS_2026) == ClosedReason.PUBLIC_HOLIDAY
    assert schedule.openings_on(CHRISTMAS_2026 - timedelta(days=1))  # Thursday 24th is open


def test_good_friday_is_closed_in_thionville_but_open_in_creteil() -> None:
    thionville = PlaceSchedule(THIPI, "57")
    creteil = PlaceSchedule(CRETEIL, "94")

    assert thionville.openings_on(GOOD_FRIDAY_2026) == []
    assert thionville.is_open(paris(2026, 4, 3, 10, 0)) is False
    assert thionville.closed_reason(GOOD_FRIDAY_2026) == ClosedReason.PUBLIC_HOLIDAY
    assert creteil.openings_on(GOOD_FRIDAY_2026) == [(paris(2026, 4, 3, 14), paris(2026, 4, 3, 18))]
    assert creteil.is_open(paris(2026, 4, 3, 15, 0)) is True
    assert creteil.closed_reason(GOOD_FRIDAY_2026) is None


@pytest.mark.parametrize(
    ("department", "closed"), [("57", True), ("67", True), ("68", True), ("94", False)]
)
@pytest.mark.parametrize("day", [GOOD_FRIDAY_2026, SAINT_STEPHEN_2026, date(2027, 3, 26)])
def test_alsace_moselle_holidays_close_only_there(department: str, closed: bool, day: date) -> None:
    schedule = PlaceSchedule(EVERY_MORNING, department)

    assert (schedule.openings_on(day) == []) is closed
    assert (schedule.closed_reason(day) == ClosedReason.PUBLIC_HOLIDAY) is closed


def test_opening_hours_library_alone_does_not_know_alsace_moselle_holidays() -> None:
    # Why regional_holidays() exists: opening-hours-py's FR calendar is national only.
    from opening_hours import OpeningHours

    rules = OpeningHours(EVERY_MORNING, timezone=PARIS, country="FR")

    assert rules.is_open(paris(2026, 4, 3, 10, 0))
    assert regional_holidays("57", 2026) == {GOOD_FRIDAY_2026, SAINT_STEPHEN_2026}


def test_next_openings_skip_a_regional_holiday() -> None:
    schedule = PlaceSchedule(THIPI, "57")

    openings = schedule.next_openings(paris(2026, 4, 2, 18, 0), limit=1)

    # Friday 3 is Good Friday, Monday 6 is Easter Monday: next is Tuesday 7 April.
    assert openings == [(paris(2026, 4, 7, 9), paris(2026, 4, 7, 12))]


def test_saturday_one_out_of_two_opens_on_first_and_third_saturdays_only() -> None:
    schedule = PlaceSchedule(PUZZLE, "57")
    saturdays = [date(2026, 2, day) for day in (7, 14, 21, 28)]

    opened = [day.day for day in saturdays if schedule.openings_on(day)]

    assert opened == [7, 21]
    assert schedule.closed_reason(date(2026, 2, 14)) == ClosedReason.NOT_AN_OPENING_DAY
    assert schedule.openings_on(date(2026, 2, 7)) == [
        (paris(2026, 2, 7, 10), paris(2026, 2, 7, 12))
    ]


def test_third_saturday_on_a_public_holiday_stays_closed() -> None:
    schedule = PlaceSchedule(PUZZLE, "57")  # 15 August 2026 is the third Saturday

    assert schedule.openings_on(date(2026, 8, 1))
    assert schedule.openings_on(date(2026, 8, 15)) == []
    assert schedule.closed_reason(date(2026, 8, 15)) == ClosedReason.PUBLIC_HOLIDAY


def test_next_openings_across_spring_dst_change_are_aware_and_correct() -> None:
    schedule = PlaceSchedule(THIPI, "57")

    openings = schedule.next_openings(paris(2026, 3, 27, 16, 0), limit=3)

    assert openings == [
        (paris(2026, 3, 27, 14), paris(2026, 3, 27, 17)),  # under way: keeps its real start
        (paris(2026, 3, 30, 9), paris(2026, 3, 30, 12)),
        (paris(2026, 3, 30, 14), paris(2026, 3, 30, 17)),
    ]
    assert openings[0][0].utcoffset() == timedelta(hours=1)
    assert openings[1][0].utcoffset() == timedelta(hours=2)
    assert openings[1][0].astimezone(UTC).hour == 7


def test_next_openings_across_autumn_dst_change_are_aware_and_correct() -> None:
    schedule = PlaceSchedule(THIPI, "57")

    openings = schedule.next_openings(paris(2026, 10, 23, 17, 30), limit=1)

    assert openings == [(paris(2026, 10, 26, 9), paris(2026, 10, 26, 12))]
    assert openings[0][0].utcoffset() == timedelta(hours=1)


def test_an_opening_spanning_the_dst_change_lasts_real_time() -> None:
    schedule = PlaceSchedule("Su 01:00-04:00", "94", closed_on_public_holidays=False)

    (start, end), *_ = schedule.openings_on(date(2026, 3, 29))

    # Python subtracts same-zone datetimes as wall clocks, so compare in UTC.
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=2)
    assert (start.utcoffset(), end.utcoffset()) == (timedelta(hours=1), timedelta(hours=2))


def test_is_open_accepts_any_timezone() -> None:
    schedule = PlaceSchedule(THIPI, "57")

    assert schedule.is_open(datetime(2026, 3, 30, 7, 30, tzinfo=UTC)) is True  # 9h30 in Paris
    assert schedule.is_open(datetime(2026, 3, 30, 10, 30, tzinfo=UTC)) is False  # 12h30


def test_hours_without_a_holiday_rule_still_close_on_public_holidays() -> None:
    assert PlaceSchedule("Mo-Fr 09:00-12:00", "94").openings_on(CHRISTMAS_2026) == []
    assert PlaceSchedule("Mo-Fr 09:00-12:00", "94", closed_on_public_holidays=False).openings_on(
        CHRISTMAS_2026
    )


def test_unknown_state_is_reported_as_none() -> None:
    schedule = PlaceSchedule("Mo-Fr 09:00-12:00; We unknown", "94")

    assert schedule.is_open(paris(2026, 3, 4, 10, 0)) is None


@pytest.mark.parametrize("horaires", [None, "", "   ", "lundi 9h-12h", "Mo-Fr 9h-12h"])
def test_missing_or_unreadable_hours_are_unknown_not_an_error(horaires: str | None) -> None:
    schedule = PlaceSchedule(horaires, "57")

    assert schedule.known is False
    assert schedule.is_open(paris(2026, 3, 30, 10, 0)) is None
    assert schedule.openings_on(date(2026, 3, 30)) == []
    assert schedule.next_openings(paris(2026, 3, 30, 10, 0)) == []
    assert schedule.closed_reason(date(2026, 3, 30)) is None


def test_a_place_that_never_opens_has_no_next_opening() -> None:
    assert PlaceSchedule("off", "94").next_openings(paris(2026, 1, 1, 0, 0)) == []


@given(st.text(max_size=40), st.sampled_from([None, "57", "94", "974", "??"]))
def test_any_text_as_hours_never_raises(horaires: str, department: str | None) -> None:
    schedule = PlaceSchedule(horaires, department)

    schedule.is_open(paris(2026, 12, 25, 10, 0))
    schedule.openings_on(date(2026, 12, 26))
    schedule.closed_reason(date(2026, 4, 3))
    assert len(schedule.next_openings(paris(2026, 1, 1, 0, 0), limit=2)) <= 2


@pytest.mark.parametrize(
    ("insee", "postal", "department"),
    [
        ("57672", "57100", "57"),
        (None, "67000", "67"),
        ("", "68100", "68"),
        ("2A004", "20000", "2A"),
        (None, "20200", "2B"),
        (None, "97411", "974"),
        ("97411", None, "974"),
        (None, "7510", None),
        (None, None, None),
    ],
)
def test_department_comes_from_insee_code_else_postal_code(
    insee: str | None, postal: str | None, department: str | None
) -> None:
    assert department_from_codes(insee, postal) == department
