"""Nearest places, free computer access and group workshops near the resident."""

from __future__ import annotations

from typing import Any

from bot.services import places as place_service
from bot.services.communes import Commune
from bot.services.opening_hours import PlaceSchedule
from bot.wording import say
from bot.wording.dates import format_time
from bot.wording.gsm7 import count_segments, to_gsm7
from flows import locate
from flows.context import Turn
from flows.messages import Reply
from nlu import Intent

# No reply above 3 segments (issue 3); a list of places stops growing before that.
MAX_SEGMENTS = 3
MAX_PLACES = 3
FREE_ACCESS_SERVICE = "Accès internet et matériel informatique"
ON_YOUR_OWN = "En autonomie"
# The question asked after a list of workshops (flows/workshops.py answers it).
WORKSHOP_CHOICE = "workshop_choice"


def _distance(km: float) -> str:
    if km < 0.5:
        return say("places.here")
    shown = f"{km:.1f}".replace(".", ",") if km < 10 else str(round(km))
    return say("places.distance_km", km=shown)


def _next_label(place: place_service.PlaceInfo, turn: Turn) -> str:
    from flows.hours import when_phrase  # hours imports this module for nearest_list

    schedule = PlaceSchedule(place.horaires, place.department)
    if not schedule.known:
        return say("hours.unknown_label")
    upcoming = schedule.next_openings(turn.now, limit=1)
    if not upcoming:
        return say("hours.closed_label")
    start, end = upcoming[0]
    if start <= turn.now < end:
        return say("hours.open_until", until=format_time(end))
    return say("hours.next_open_label", when=when_phrase(start, turn.now))


def _item(number: int, nearby: place_service.NearbyPlace, turn: Turn) -> str:
    place = nearby.place
    values: dict[str, Any] = dict(
        number=number,
        name=place.name,
        address=place.address,
        commune=place.commune,
        distance=_distance(nearby.distance_km),
        next=_next_label(place, turn),
    )
    if place.phone:
        return say("places.item", phone=place.phone, **values)
    return say("places.item_no_phone", **values)


def _fits(text: str) -> bool:
    return count_segments(to_gsm7(text)).segments <= MAX_SEGMENTS


def list_reply(
    turn: Turn, intro: str, found: list[place_service.NearbyPlace], pending: Intent
) -> Reply:
    """Up to three places, as many as fit in three SMS segments, numbered for a follow-up."""
    lines = [intro]
    shown: list[place_service.NearbyPlace] = []
    for nearby in found[:MAX_PLACES]:
        candidate = [*lines, _item(len(shown) + 1, nearby, turn)]
        if shown and not _fits("\n".join(candidate)):
            break
        lines, shown = candidate, [*shown, nearby]
    if len(shown) > 1:
        more = say("places.more", choices=choices_phrase(len(shown)))
        if _fits("\n".join([*lines, more])):
            lines.append(more)
        turn.state.ask(
            "place_choice", turn.now, [n.place.id for n in shown], pending_intent=pending.value
        )
    else:
        turn.state.place_id = shown[0].place.id
    return Reply(
        "\n".join(lines), key="places.list", expects="place_choice" if len(shown) > 1 else ""
    )


def choices_phrase(count: int) -> str:
    """ "1 ou 2" or "1, 2 ou 3": what the resident may answer to a list."""
    return say("choices.two") if count == 2 else say("choices.three")


def nearest_list(turn: Turn, commune: Commune, pending: Intent = Intent.OPENING_HOURS) -> Reply:
    """The 1-3 places nearest to a commune, with distance, address, next opening, phone."""
    found = locate.places_near(turn, commune, limit=MAX_PLACES)
    if not found:
        return Reply(say("places.none_near", commune=commune.name), key="places.none_near")
    return list_reply(turn, say("places.nearest_intro", commune=commune.name), found, pending)


def _place_details(turn: Turn, place: place_service.PlaceInfo) -> Reply:
    nearby = place_service.NearbyPlace(place=place, distance_km=0.0)
    turn.state.place_id = place.id
    text = _item(1, nearby, turn).removeprefix("1. ")
    return Reply(text, key="places.details")


def find_place(turn: Turn) -> Reply:
    """Where to go: a place named in the message, else the nearest to the resident's commune."""
    named = locate.place_named_in(turn)
    if named is not None and not locate.mentions_location(turn.understanding):
        return _place_details(turn, named)
    where = locate.resolve_location(turn, Intent.FIND_PLACE)
    if isinstance(where, Reply):
        return where
    if where is None:
        return locate.ask_for_location(turn, Intent.FIND_PLACE)
    return nearest_list(turn, where)


def free_access(turn: Turn) -> Reply:
    """Computers and internet to use on one's own, near the resident."""
    where = locate.resolve_location(turn, Intent.FREE_ACCESS)
    if isinstance(where, Reply):
        return where
    if where is None:
        turn.state.ask("location", turn.now, pending_intent=Intent.FREE_ACCESS.value)
        return Reply(say("free_access.general"), key="free_access.general", expects="location")
    found = [
        n
        for n in locate.places_near(turn, where, limit=20)
        if FREE_ACCESS_SERVICE in n.place.services or ON_YOUR_OWN in n.place.modalities
    ]
    if not found:
        return Reply(say("free_access.none", commune=where.name), key="free_access.none")
    return list_reply(turn, say("free_access.intro"), found, Intent.OPENING_HOURS)


def registrable(workshop: place_service.WorkshopInfo) -> bool:
    """True when Relais can register the resident by SMS: registration and known seats."""
    return workshop.registration and bool(workshop.seats)


def _workshop_line(turn: Turn, workshop: place_service.WorkshopInfo, number: int) -> str:
    from flows.hours import when_phrase

    assert workshop.next_start is not None
    values: dict[str, Any] = dict(
        place=workshop.place.name,
        commune=workshop.place.commune,
        when=when_phrase(workshop.next_start, turn.now),
        title=workshop.title,
    )
    if number:
        line = say("workshops.item_numbered", number=number, **values)
    else:
        line = say("workshops.item", **values)
    if workshop.registration and workshop.place.phone:
        line += " " + say("workshops.registration", phone=workshop.place.phone)
    return line


def workshops(turn: Turn) -> Reply:
    """Group workshops near the resident, numbered to register by SMS when Relais can."""
    where = locate.resolve_location(turn, Intent.WORKSHOPS)
    if isinstance(where, Reply):
        return where
    if where is None:
        return locate.ask_for_location(turn, Intent.WORKSHOPS)
    found = place_service.find_workshops_near(
        turn.session, where.latitude, where.longitude, turn.now, limit=3, max_km=locate.NEAR_KM
    )
    found = [w for w in found if w.next_start is not None]
    if not found:
        return Reply(say("workshops.none", commune=where.name), key="workshops.none")
    intro = say("workshops.intro")
    if not any(registrable(w) for w in found):
        lines = [intro]
        for workshop in found:
            line = _workshop_line(turn, workshop, 0)
            if len(lines) > 1 and not _fits("\n".join([*lines, line])):
                break
            lines.append(line)
        return Reply("\n".join(lines), key="workshops.list")
    # Numbered, with the question last: drop workshops until the question fits (issue 3).
    shown = list(found)
    while True:
        lines = [intro, *(_workshop_line(turn, w, n) for n, w in enumerate(shown, start=1))]
        ask = say("workshops.ask_register", choices=_choices(len(shown)))
        if len(shown) == 1 or _fits("\n".join([*lines, ask])):
            break
        shown.pop()
    turn.state.ask(
        WORKSHOP_CHOICE, turn.now, [str(w.id) for w in shown], pending_intent=Intent.WORKSHOPS.value
    )
    return Reply("\n".join([*lines, ask]), key="workshops.list", expects=WORKSHOP_CHOICE)


def _choices(count: int) -> str:
    return say("choices.one") if count == 1 else choices_phrase(count)
