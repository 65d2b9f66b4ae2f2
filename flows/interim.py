"""Honest interim answers: places that take no appointment by SMS, and hand-off to a person.

Never a dead end: the resident always leaves with a phone number or an address to go to, and a
commune we already know is never asked again.
"""

from __future__ import annotations

from bot.services import places as place_service
from bot.wording import say
from flows import locate
from flows.context import Turn
from flows.hours import next_opening_sentence, schedule_of
from flows.messages import Reply
from nlu import Intent

# The standard's access mode for walking in without an appointment.
WALK_IN = "Se présenter"


def _place_for(turn: Turn, intent: Intent) -> place_service.PlaceInfo | Reply | None:
    """The place named, else the nearest one (with a phone if any), else the one remembered."""
    place = locate.place_named_in(turn)
    if place is not None:
        return place
    if locate.mentions_location(turn.understanding) or not turn.state.place_id:
        where = locate.resolve_location(turn, intent)
        if isinstance(where, Reply):
            return where
        if where is not None:
            nearest = locate.nearest_place(turn, where, with_phone=True)
            nearest = nearest or locate.nearest_place(turn, where)
            if nearest is None:
                return Reply(say("human.none_near", commune=where.name), key="human.none_near")
            turn.state.place_id = nearest.id
            return nearest
    return locate.remembered_place(turn)


def _next(place: place_service.PlaceInfo, turn: Turn) -> str:
    return next_opening_sentence(schedule_of(place), turn.now).rstrip(".")


def without_agenda(turn: Turn, place: place_service.PlaceInfo) -> Reply:
    """A place that takes no appointment through Relais: its phone, else how to go there."""
    turn.state.place_id = place.id
    if place.phone:
        return Reply(
            say("appointment.interim_place", place=place.name, phone=place.phone),
            key="appointment.interim_place",
        )
    if WALK_IN in place.access_modes:
        return Reply(
            say("appointment.interim_visit", place=place.name, address=place.address),
            key="appointment.interim_visit",
        )
    return Reply(
        say(
            "appointment.interim_address",
            place=place.name,
            address=place.address,
            next=_next(place, turn),
        ),
        key="appointment.interim_address",
    )


def human(turn: Turn) -> Reply:
    """A person: the nearest advisor's phone and when they're there, or where to find one."""
    place = _place_for(turn, Intent.HUMAN_ADVISOR)
    if isinstance(place, Reply):
        return place
    if place is None:
        turn.state.ask("location", turn.now, pending_intent=Intent.HUMAN_ADVISOR.value)
        return Reply(
            f"{say('human.interim_no_place')} {say('ask_location')}",
            key="human.interim_no_place",
            expects="location",
            handoff=True,
        )
    if not place.phone:
        return Reply(
            say(
                "human.interim_visit",
                place=place.name,
                address=place.address,
                next=_next(place, turn),
            ),
            key="human.interim_visit",
            handoff=True,
        )
    return Reply(
        say("human.interim_place", place=place.name, phone=place.phone, next=_next(place, turn)),
        key="human.interim_place",
        handoff=True,
    )
