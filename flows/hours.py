"""Opening hours: the week in one sentence, a given day ("et samedi ?"), the next opening."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from bot.services import places as place_service
from bot.services.opening_hours import ClosedReason, PlaceSchedule
from bot.wording import say
from bot.wording.dates import (
    format_day,
    format_day_openings,
    format_interval,
    format_time,
    join_with_and,
    weekday_name,
)
from flows import locate, places
from flows.context import Turn
from flows.messages import Reply
from nlu import Intent

# How many weeks ahead we look to tell "every Saturday" from "some Saturdays".
WEEKS_LOOKED_AT = 5

Hours = tuple[tuple[time, time], ...]


def schedule_of(place: place_service.PlaceInfo) -> PlaceSchedule:
    """The evaluated opening hours of a place (its département decides regional holidays)."""
    return PlaceSchedule(place.horaires, place.department)


def _hours_on(schedule: PlaceSchedule, day: date) -> Hours:
    return tuple(
        (a.timetz().replace(tzinfo=None), b.timetz().replace(tzinfo=None))
        for a, b in schedule.openings_on(day)
    )


def _format_hours(hours: Hours) -> str:
    return join_with_and([format_interval(a, b) for a, b in hours])


def _weekday_patterns(schedule: PlaceSchedule, today: date) -> list[tuple[str, Hours]]:
    """For each weekday: ("every"|"some"|"never", hours), ignoring public-holiday closures."""
    patterns: list[tuple[str, Hours]] = []
    for weekday in range(7):
        first = today + timedelta(days=(weekday - today.weekday()) % 7)
        seen: list[Hours] = []
        for week in range(WEEKS_LOOKED_AT):
            day = first + timedelta(weeks=week)
            if schedule.closed_reason(day) == ClosedReason.PUBLIC_HOLIDAY:
                continue
            seen.append(_hours_on(schedule, day))
        opened = [h for h in seen if h]
        if not opened:
            patterns.append(("never", ()))
        elif len(opened) == len(seen) and len(set(opened)) == 1:
            patterns.append(("every", opened[0]))
        else:
            patterns.append(("some", opened[0]))
    return patterns


def _days_phrase(weekdays: list[int]) -> str:
    names = [weekday_name(d) for d in weekdays]
    consecutive = weekdays == list(range(weekdays[0], weekdays[0] + len(weekdays)))
    if len(weekdays) >= 3 and consecutive:
        return say("week.range", first=names[0], last=names[-1])
    if len(weekdays) == 1:
        return say("week.single", day=names[0])
    return join_with_and(names)


def describe_week(schedule: PlaceSchedule, today: date) -> str:
    """ "du lundi au vendredi de 9h à 12h ; certains samedis de 10h à 12h"."""
    patterns = _weekday_patterns(schedule, today)
    groups: dict[Hours, list[int]] = {}
    for weekday, (kind, hours) in enumerate(patterns):
        if kind == "every":
            groups.setdefault(hours, []).append(weekday)
    phrases = [
        say("week.group", days=_days_phrase(days), hours=_format_hours(hours))
        for hours, days in groups.items()
    ]
    phrases += [
        say(
            "week.group",
            days=say("week.some", day=weekday_name(weekday)),
            hours=_format_hours(hours),
        )
        for weekday, (kind, hours) in enumerate(patterns)
        if kind == "some"
    ]
    return say("week.separator").join(phrases) if phrases else say("hours.never")


def when_phrase(moment: datetime, now: datetime) -> str:
    """ "aujourd'hui à 14h", "demain à 9h" or "jeudi 3 décembre à 9h"."""
    day = moment.date()
    if day == now.date():
        label = say("days.today")
    elif day == now.date() + timedelta(days=1):
        label = say("days.tomorrow")
    else:
        label = format_day(day)
    return say("hours.at", day=label, time=format_time(moment))


def next_opening_sentence(schedule: PlaceSchedule, now: datetime) -> str:
    """ "Ouvert en ce moment, jusqu'à 17h." or "Prochaine ouverture : demain à 9h."."""
    if not schedule.known:
        return say("hours.unknown_sentence")
    upcoming = schedule.next_openings(now, limit=1)
    if not upcoming:
        return say("hours.closed_next_weeks")
    start, end = upcoming[0]
    if start <= now < end:
        return say("hours.now_open", until=format_time(end))
    return say("hours.next", when=when_phrase(start, now))


def _holiday_notes(schedule: PlaceSchedule, today: date) -> list[str]:
    return [
        say("hours.holiday_note", day=format_day(today + timedelta(days=n)))
        for n in range(7)
        if schedule.closed_reason(today + timedelta(days=n)) == ClosedReason.PUBLIC_HOLIDAY
    ]


def week_answer(place: place_service.PlaceInfo, now: datetime) -> Reply:
    """The place's week, holiday closures in the coming days, and its next opening."""
    schedule = schedule_of(place)
    if not schedule.known:
        if place.phone:
            return Reply(
                say("hours.unknown", place=place.name, phone=place.phone), key="hours.unknown"
            )
        return Reply(
            say(
                "hours.unknown_no_phone",
                place=place.name,
                address=place.address,
                commune=place.commune,
            ),
            key="hours.unknown",
        )
    parts = [say("hours.week", place=place.name, week=describe_week(schedule, now.date()))]
    parts += _holiday_notes(schedule, now.date())
    parts.append(next_opening_sentence(schedule, now))
    return Reply(" ".join(parts), key="hours.week")


def day_answer(place: place_service.PlaceInfo, day: date, now: datetime) -> Reply:
    """Open or closed on one day; if closed, the next opening on that weekday (or at all)."""
    schedule = schedule_of(place)
    if not schedule.known:
        return week_answer(place, now)
    intervals = schedule.openings_on(day)
    if intervals:
        return Reply(
            say("hours.day_open", place=place.name, day=format_day_openings(day, intervals)),
            key="hours.day_open",
        )
    holiday = schedule.closed_reason(day) == ClosedReason.PUBLIC_HOLIDAY
    key = "hours.day_closed_holiday" if holiday else "hours.day_closed"
    parts = [say(key, place=place.name, day=format_day(day))]
    same_weekday = _next_on_weekday(schedule, day)
    if same_weekday is not None:
        parts.append(
            say(
                "hours.next_same_weekday",
                weekday=weekday_name(day.weekday()),
                when=format_day_openings(same_weekday, schedule.openings_on(same_weekday)),
            )
        )
    else:
        parts.append(next_opening_sentence(schedule, now))
    return Reply(" ".join(parts), key=key)


def _next_on_weekday(schedule: PlaceSchedule, day: date) -> date | None:
    for week in range(1, WEEKS_LOOKED_AT + 1):
        candidate = day + timedelta(weeks=week)
        if schedule.openings_on(candidate):
            return candidate
    return None


def _asked_day(turn: Turn) -> date | None:
    entity = turn.understanding.first("date")
    if entity is None and turn.state.pending_date:
        return date.fromisoformat(turn.state.pending_date)
    if entity is None:
        return None
    try:
        return date.fromisoformat(str(entity.value))
    except ValueError:
        return None


def answer_for_place(turn: Turn, place: place_service.PlaceInfo) -> Reply:
    """Hours of a known place, for the day asked if any."""
    turn.state.place_id = place.id
    day = _asked_day(turn)
    turn.state.pending_date = ""
    if day is not None:
        return day_answer(place, day, turn.now)
    return week_answer(place, turn.now)


def opening_hours(turn: Turn) -> Reply:
    """When is it open: the place named, else near the commune given, else the one remembered."""
    place = locate.place_named_in(turn)
    if place is not None:
        return answer_for_place(turn, place)
    if locate.mentions_location(turn.understanding) or not turn.state.place_id:
        where = locate.resolve_location(turn, Intent.OPENING_HOURS)
        if isinstance(where, Reply):
            return where
        if where is not None:
            in_commune = place_service.places_in_commune(turn.session, where.insee)
            if len(in_commune) == 1:
                return answer_for_place(turn, in_commune[0])
            day = _asked_day(turn)
            reply = places.nearest_list(turn, where, pending=Intent.OPENING_HOURS)
            turn.state.pending_date = day.isoformat() if day and reply.expects else ""
            return reply
    place = locate.remembered_place(turn)
    if place is not None:
        return answer_for_place(turn, place)
    day = _asked_day(turn)
    turn.state.ask(
        "location",
        turn.now,
        pending_intent=Intent.OPENING_HOURS.value,
        pending_date=day.isoformat() if day else "",
    )
    return Reply(say("ask_place"), key="ask_place", expects="location")
