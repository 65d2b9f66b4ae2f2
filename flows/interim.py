"""Honest interim answers: places that take no appointment by SMS, and hand-off to a person.

Never a dead end: the resident always leaves with a phone number or an address to go to, and a
commune we already know is never asked again.
"""

from __future__ import annotations

from dataclasses import replace

from bot.services import escalations
from bot.services import places as place_service
from bot.wording import say
from flows import handoff, locate
from flows.context import Turn
from flows.hours import next_opening_sentence, schedule_of
from flows.messages import Channel, Reply
from nlu import Intent

# The standard's access mode for walking in without an appointment.
WALK_IN = "Se présenter"


def _place_for(turn: Turn, intent: Intent) -> place_service.PlaceInfo | Reply | None:
    """The place named, else the nearest reachable one, else the one remembered.

    A reply when a question must come first ("which commune?") or, on a call, none is near.
    """
    place = locate.place_named_in(turn)
    if place is not None:
        return place
    if locate.mentions_location(turn.understanding) or not turn.state.place_id:
        where = locate.resolve_location(turn, intent)
        if isinstance(where, Reply):
            return where
        if where is not None:
            nearest = handoff.reachable_place(turn, where)
            if nearest is None:
                none_near = say("human.none_near", commune=where.name)
                if turn.channel == Channel.VOICE:
                    return Reply(none_near, key="human.none_near")
                # Nobody near: an escalation without a place, which admins see.
                person = handoff.hand_off(turn, escalations.ASKED, find=False)
                return replace(person, text=f"{none_near} {person.text}")
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
    """A person: by SMS an escalation for the resident's place (asked for first if unknown)."""
    place = _place_for(turn, Intent.HUMAN_ADVISOR)
    if isinstance(place, Reply):
        return place
    if place is None:
        turn.state.ask("location", turn.now, pending_intent=Intent.HUMAN_ADVISOR.value)
        return Reply(
            f"{say('human.interim_no_place')} {say('ask_location')}",
            key="human.interim_no_place",
            expects="location",
        )
    if turn.channel != Channel.VOICE:
        return handoff.hand_off(turn, escalations.ASKED, place)
    # On a call the hand-off is a transfer or a voicemail (flows/calls.py): who, and when.
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
