"""Joining a waiting list by SMS: the period wished for, in dates and in words (issue 5).

When nothing is free at the wished time, the resident can answer ATTENTE to be told by SMS if a
slot frees up then (bot/services/waiting_offers.py sends the offer).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from bot.clock import PARIS
from bot.services import waiting_list
from bot.services.places import PlaceInfo
from bot.services.slots import PartOfDay
from bot.wording import say
from bot.wording.dates import format_day
from flows.context import Turn
from flows.messages import Reply


def waiting_window(wish: dict[str, str], now: datetime) -> tuple[datetime, datetime, str] | None:
    """The period a wish names (a day, part of a day, a week), with its French phrase."""
    if wish.get("day"):
        day = date.fromisoformat(wish["day"])
        start = datetime.combine(day, time(0), tzinfo=PARIS)
        end = start + timedelta(days=1)
        noon = datetime.combine(day, time(12), tzinfo=PARIS)
        part = wish.get("part")
        if part == PartOfDay.MORNING.value:
            end = noon
        elif part == PartOfDay.AFTERNOON.value:
            start = noon
        elif wish.get("not_before"):
            start = datetime.combine(day, time.fromisoformat(wish["not_before"]), tzinfo=PARIS)
        if part:
            phrase = say(
                "waiting.window_day_part", day=format_day(day), part=say(f"waiting.part.{part}")
            )
        else:
            phrase = say("waiting.window_day", day=format_day(day))
    elif wish.get("from") and wish.get("to"):
        first, last = date.fromisoformat(wish["from"]), date.fromisoformat(wish["to"])
        start = datetime.combine(first, time(0), tzinfo=PARIS)
        end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=PARIS)
        phrase = say("waiting.window_range", first=format_day(first), last=format_day(last))
    else:
        return None
    start = max(start, now)
    return (start, end, phrase) if start < end else None


def join(
    turn: Turn, place: PlaceInfo, wish: dict[str, str], fallback_end: datetime, fallback: str
) -> Reply:
    """Put the resident on the place's waiting list for the wished period (or until a date)."""
    window = waiting_window(wish, turn.now)
    if window is None:
        window = (turn.now, fallback_end, fallback)
    start, end, phrase = window
    assert turn.resident_id is not None
    waiting_list.join_waiting_list(
        turn.session,
        turn.resident_id,
        turn.now,
        window_start=start,
        window_end=end,
        place_id=place.id,
    )
    turn.state.clear_question()
    return Reply(say("waiting.joined", window=phrase, place=place.name), key="waiting.joined")
