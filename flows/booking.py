"""Booking a one-to-one appointment by SMS: where, which free slot, why, then book.

A typical booking takes the resident at most four messages ("je voudrais un rdv", the commune if
we don't know it, the slot's number, the motif's number). The slots come from the nearest place
with an agenda (bot/data/AGENDAS.md); a place without one gets the honest interim answer with its
phone (flows/interim.py).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from bot.services import bookings
from bot.services import places as place_service
from bot.services.agendas import has_agenda, list_motifs
from bot.services.communes import Commune
from bot.services.slots import NoAgenda, PartOfDay, Slot, SlotWish, free_slots
from bot.wording import say
from bot.wording.dates import format_when
from flows import answers, interim, locate, menus, waiting
from flows.context import Turn
from flows.messages import Reply
from flows.places import choices_phrase
from flows.text import words
from nlu import Intent, Understanding

# The questions this module asks (ConversationState.expects).
SLOT_CHOICE = "slot_choice"
MOTIF_CHOICE = "motif_choice"
SLOTS_SHOWN = 3
# Stored as the motif already given when the resident chose "0 pour passer".
NO_MOTIF = "-"
# How many nearby places we look through for one with an agenda.
PLACES_LOOKED_AT = 20
# "non", "autre", "d'autres", "plus tard": the resident wants other slots than those listed.
_OTHER_SLOTS = re.compile(
    r"^\W*(non|autre|autres|d autres|aucun|aucune|plus tard|suivants|la suite|ca ne va pas)\b"
)
_WAITING = re.compile(r"\b(attente|prevenez moi|prevenir|me prevenir|pas presse)\b")
_NOT_BEFORE = re.compile(r"\b(pas avant|apres|a partir de|plus tard que)\b")
_AFTERNOON = {"apres-midi", "après-midi", "aprem", "soir", "soiree", "soirée"}


def slot_key(slot: Slot) -> str:
    """The value stored behind a listed slot's number."""
    return f"{slot.advisor_id}|{slot.starts_at.isoformat()}"


def parse_key(key: str) -> tuple[int, datetime]:
    advisor, starts_at = key.split("|", 1)
    return int(advisor), datetime.fromisoformat(starts_at)


# --- what the resident wished -------------------------------------------------------------------


def wish_in(understanding: Understanding) -> dict[str, str]:
    """The day, part of day or earliest hour asked for, as stored in the state ({} if none)."""
    wish: dict[str, str] = {}
    day = understanding.first("date")
    if day is not None:
        if day.extra.get("granularity") == "week":
            first = date.fromisoformat(str(day.value))
            wish["from"], wish["to"] = first.isoformat(), (first + timedelta(days=6)).isoformat()
        else:
            wish["day"] = str(day.value)
    moment = understanding.first("time")
    if moment is not None:
        period = str(moment.extra.get("period") or "")
        if period == "matin":
            wish["part"] = PartOfDay.MORNING.value
        elif period in _AFTERNOON:
            wish["part"] = PartOfDay.AFTERNOON.value
        elif not period:
            wish["not_before"] = str(moment.value)
    return wish


def _slot_wish(stored: dict[str, str]) -> SlotWish | None:
    if not stored:
        return None

    def day(name: str) -> date | None:
        return date.fromisoformat(stored[name]) if stored.get(name) else None

    part = stored.get("part")
    not_before = stored.get("not_before")
    return SlotWish(
        day=day("day"),
        part_of_day=PartOfDay(part) if part else None,
        not_before=time.fromisoformat(not_before) if not_before else None,
        from_date=day("from"),
        to_date=day("to"),
    )


def _merged(old: dict[str, str], new: dict[str, str]) -> dict[str, str]:
    """A follow-up ("plutôt l'après-midi", "et jeudi ?") narrows or replaces the wish."""
    merged = dict(old)
    if "day" in new or "from" in new:
        for name in ("day", "from", "to"):
            merged.pop(name, None)
    if "part" in new or "not_before" in new:
        merged.pop("part", None)
        merged.pop("not_before", None)
    merged.update(new)
    return merged


# --- where ----------------------------------------------------------------------------------------


def _nearest_with_agenda(
    turn: Turn, commune: Commune
) -> tuple[place_service.PlaceInfo | None, place_service.PlaceInfo | None]:
    """The nearest place, and the nearest one taking appointments through Relais (maybe None)."""
    near = locate.places_near(turn, commune, limit=PLACES_LOOKED_AT)
    nearest = near[0].place if near else None
    for nearby in near:
        if has_agenda(turn.session, nearby.place.id, turn.now):
            return nearest, nearby.place
    return nearest, None


def book(turn: Turn) -> Reply:
    """ "Je voudrais un rdv": slots at the place named, remembered, or nearest to the commune."""
    named = locate.place_named_in(turn)
    if named is not None:
        return offer_slots(turn, named, wish_in(turn.understanding))
    remembered = locate.remembered_place(turn)
    if (
        remembered is not None
        and not locate.mentions_location(turn.understanding)
        and has_agenda(turn.session, remembered.id, turn.now)
    ):
        return offer_slots(turn, remembered, wish_in(turn.understanding))
    # "un rdv jeudi après-midi" then "Thionville": the wish waits for the commune.
    wish = wish_in(turn.understanding) or dict(turn.state.slot_wish)
    where = locate.resolve_location(turn, Intent.BOOK_APPOINTMENT)
    if isinstance(where, Reply):
        turn.state.slot_wish = wish
        return where
    if where is None:
        if remembered is not None:
            return offer_slots(turn, remembered, wish)
        asked = locate.ask_for_location(turn, Intent.BOOK_APPOINTMENT)
        turn.state.slot_wish = wish
        return asked
    nearest, bookable = _nearest_with_agenda(turn, where)
    if bookable is None:
        if nearest is None:
            return Reply(say("human.none_near", commune=where.name), key="human.none_near")
        return offer_slots(turn, nearest, wish)
    intro = ""
    if nearest is not None and nearest.id != bookable.id:
        intro = say("booking.nearest_without_agenda", name=nearest.name, place=bookable.name)
    return offer_slots(turn, bookable, wish, intro=intro)


# --- listing slots --------------------------------------------------------------------------------


def _slots(
    turn: Turn, place_id: str, wish: dict[str, str], after: datetime | None = None
) -> list[Slot]:
    return free_slots(
        turn.session,
        place_id,
        after or turn.now,
        limit=SLOTS_SHOWN,
        wish=_slot_wish(wish),
        now=turn.now,
    )


def _no_slot(place: place_service.PlaceInfo) -> Reply:
    if place.phone:
        return Reply(
            say("booking.no_slot", place=place.name, phone=place.phone), key="booking.no_slot"
        )
    return Reply(
        say(
            "booking.no_slot_visit", place=place.name, address=place.address, commune=place.commune
        ),
        key="booking.no_slot_visit",
    )


def offer_slots(
    turn: Turn,
    place: place_service.PlaceInfo,
    wish: dict[str, str],
    *,
    intro: str = "",
    after: datetime | None = None,
    moving_id: int = 0,
    pending: Intent = Intent.BOOK_APPOINTMENT,
) -> Reply:
    """The next free slots at a place (matching the wish if any), numbered, waiting for a choice."""
    turn.state.place_id = place.id
    full_wish: dict[str, str] = {}
    try:
        found = _slots(turn, place.id, wish, after)
        if not found and wish:
            found = _slots(turn, place.id, {}, after)
            intro = intro if moving_id else say("booking.none_for_wish", place=place.name)
            full_wish, wish = wish, {}
    except NoAgenda:
        turn.state.clear_question()
        return interim.without_agenda(turn, place)
    if not found:
        turn.state.clear_question()
        return _no_slot(place)
    lines = [intro or say("booking.slots_intro", place=place.name)]
    for number, slot in enumerate(found, start=1):
        lines.append(say("booking.slot_item", number=number, when=format_when(slot.starts_at)))
    count = len(found)
    choices = say("choices.one") if count == 1 else choices_phrase(count)
    lines.append(say("booking.slots_choose", choices=choices))
    window = waiting.waiting_window(full_wish, turn.now)
    if window is not None and not moving_id:
        lines.append(say("waiting.ask", window=window[2]))
    state = turn.state
    state.ask(SLOT_CHOICE, turn.now, [slot_key(s) for s in found], pending_intent=pending.value)
    state.booking_place, state.slot_wish, state.moving_id = place.id, wish, moving_id
    state.waiting_wish = full_wish
    state.slots_after = found[-1].starts_at.isoformat()
    return Reply("\n".join(lines), key="booking.slots", expects=SLOT_CHOICE)


def relist(
    turn: Turn, wish: dict[str, str], *, intro: str = "", after: datetime | None = None
) -> Reply:
    """List again at the place being booked, keeping what we were doing (booking or moving)."""
    state = turn.state
    place = place_service.get_place(turn.session, state.booking_place)
    if place is None:
        state.clear_question()
        return book(turn)
    pending = Intent(state.pending_intent or Intent.BOOK_APPOINTMENT.value)
    return offer_slots(
        turn, place, wish, intro=intro, after=after, moving_id=state.moving_id, pending=pending
    )


# --- answers to our questions ---------------------------------------------------------------------


def answer_slot_choice(turn: Turn) -> Reply | None:
    """ "2", "jeudi", "pas avant 10h", "autre": a slot, or other slots; None if not an answer."""
    state = turn.state
    number = menus.chosen_number(turn)
    if number is not None:
        if number == 0:
            return None  # "0": a person, as everywhere (flows/menus.py)
        if not 1 <= number <= len(state.choices):
            return menus.invalid_choice(turn)
        return _take_slot(turn, state.choices[number - 1])
    if _WAITING.search(words(turn.text)) and not state.moving_id:
        return _join_waiting_list(turn)
    wish = wish_in(turn.understanding)
    if wish:
        return relist(turn, _merged(state.slot_wish, wish))
    if turn.understanding.intent == Intent.DENY or _OTHER_SLOTS.match(words(turn.text)):
        after = datetime.fromisoformat(state.slots_after) + timedelta(seconds=1)
        return relist(turn, dict(state.slot_wish), after=after)
    return None


def _join_waiting_list(turn: Turn) -> Reply:
    """ATTENTE: told by SMS if a slot frees up when wished, else before the first one listed."""
    state = turn.state
    place = place_service.get_place(turn.session, state.booking_place)
    if place is None or turn.resident_id is None or not state.choices:
        state.clear_question()
        return book(turn)
    _, first = parse_key(state.choices[0])
    before = say("waiting.window_before", when=format_when(first))
    return waiting.join(turn, place, state.waiting_wish, first, before)


def _take_slot(turn: Turn, key: str) -> Reply:
    state = turn.state
    if state.moving_id:
        from flows.appointments import move_to  # appointments lists slots with this module

        return move_to(turn, state.moving_id, key)
    if state.booking_motif:  # the first slot chosen was taken: don't ask the motif twice
        return _book(turn, key, None if state.booking_motif == NO_MOTIF else state.booking_motif)
    motifs = list_motifs(turn.session)
    if not motifs:
        return _book(turn, key, None)
    place_id, wish = state.booking_place, state.slot_wish
    _, starts_at = parse_key(key)
    lines = [
        say("booking.motif_item", number=number, label=motif.label)
        for number, motif in enumerate(motifs, start=1)
    ]
    state.ask(
        MOTIF_CHOICE,
        turn.now,
        [m.code for m in motifs],
        pending_intent=Intent.BOOK_APPOINTMENT.value,
    )
    state.booking_place, state.booking_slot, state.slot_wish = place_id, key, wish
    text = say("booking.ask_motif", when=format_when(starts_at), motifs="\n".join(lines))
    return Reply(text, key="booking.ask_motif", expects=MOTIF_CHOICE)


# Tasks named in words ("pour mes mails") -> the demo motif codes they mean.
TOPIC_MOTIFS = {
    "email": "email",
    "taxes": "demarche-en-ligne",
    "caf": "demarche-en-ligne",
    "ameli": "demarche-en-ligne",
    "ants": "demarche-en-ligne",
    "pension": "demarche-en-ligne",
    "health": "demarche-en-ligne",
    "smartphone": "smartphone-tablette",
    "cv": "cv-emploi",
    "employment": "cv-emploi",
    "password": "mots-de-passe",
}


def motif_in_words(turn: Turn) -> str | None:
    """The offered motif a reason written in words names ("pour mes mails" -> "email")."""
    topic = answers.topic_of(turn.text)
    motif = TOPIC_MOTIFS.get(topic or "")
    return motif if motif in turn.state.choices else None


def answer_motif_choice(turn: Turn) -> Reply | None:
    """ "1".."6" or the reason in words: book; "0": book without one; None if something else."""
    number = menus.chosen_number(turn)
    worded = motif_in_words(turn) if number is None else None
    if worded is not None:
        return _book(turn, turn.state.booking_slot, worded)
    if number is None and turn.text.strip() not in {"0", "00"}:
        return None
    number = number or 0
    state = turn.state
    if not 0 <= number <= len(state.choices):
        return menus.invalid_choice(turn)
    motif = state.choices[number - 1] if number else None
    return _book(turn, state.booking_slot, motif)


def _book(turn: Turn, key: str, motif: str | None) -> Reply:
    state = turn.state
    place = place_service.get_place(turn.session, state.booking_place)
    if turn.resident_id is None or place is None:
        state.clear_question()
        return book(turn)
    advisor_id, starts_at = parse_key(key)
    try:
        booked = bookings.book_slot(
            turn.session, turn.resident_id, advisor_id, starts_at, motif, turn.now
        )
    except bookings.UnknownMotif:
        booked = bookings.book_slot(
            turn.session, turn.resident_id, advisor_id, starts_at, None, turn.now
        )
    except (bookings.SlotTaken, bookings.SlotUnavailable):
        reply = relist(turn, dict(state.slot_wish), intro=say("booking.slot_taken"))
        if state.expects == SLOT_CHOICE:
            state.booking_motif = motif or NO_MOTIF
        return reply
    state.clear_question()
    state.failures = 0
    return Reply(
        say(
            "booking.confirmed",
            when=format_when(booked.starts_at),
            place=place.name,
            address=place.address,
            commune=place.commune,
        ),
        key="booking.confirmed",
    )
