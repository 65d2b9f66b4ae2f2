"""Registering for a group workshop by SMS: a number after the list, a later session when the
chosen one is full, else the waiting list for it.

The resident answers the list of flows/places.py `workshops` with a number; Relais registers them
for that workshop's next session (bot/services/workshop_seats.py). A full session gets an offer of
the next one with free seats ("Répondez OUI"); a "non" gets an offer of the waiting list for the
full one. The SMS offering a freed seat is sent by the outbound messages, not here.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from bot.services import places as place_service
from bot.services import waiting_list, workshop_seats
from bot.services.workshop_seats import WorkshopSession
from bot.wording import say
from bot.wording.dates import format_day, format_when
from flows import appointments, menus
from flows.appointments import says_yes
from flows.context import Turn
from flows.messages import Reply
from flows.places import WORKSHOP_CHOICE
from flows.text import words
from nlu import Intent

# The questions this module asks (ConversationState.expects).
NEXT_SESSION_CONFIRM = "workshop_next_session"
WAITING_CONFIRM = "workshop_waiting"
LEAVE_CONFIRM = "workshop_leave"
EXPECTS = frozenset([WORKSHOP_CHOICE, NEXT_SESSION_CONFIRM, WAITING_CONFIRM, LEAVE_CONFIRM])
_ABOUT_WORKSHOP = re.compile(r"\b(atelier|ateliers|inscription|seance|cours)\b")
# How many later sessions we look through for one with a free seat (weekly: about two months).
SESSIONS_LOOKED_AT = 8


def _says_no(turn: Turn) -> bool:
    return turn.understanding.intent == Intent.DENY or words(turn.text).startswith("non")


def _confirmed(turn: Turn, registration: workshop_seats.RegistrationInfo) -> Reply:
    turn.state.clear_question()
    turn.state.failures = 0
    place = place_service.get_place(turn.session, registration.place_id)
    turn.state.place_id = registration.place_id
    return Reply(
        say(
            "workshops.registered",
            title=registration.title,
            when=format_when(registration.session_start),
            place=place.name if place else "",
            address=place.address if place else "",
            commune=place.commune if place else "",
        ),
        key="workshops.registered",
    )


def _cannot_register(turn: Turn, place_id: str | None) -> Reply:
    """Registration is not offered by SMS (or no longer): the place's phone, else its address."""
    turn.state.clear_question()
    place = place_service.get_place(turn.session, place_id) if place_id else None
    if place is not None and place.phone:
        text = say("workshops.by_phone", place=place.name, phone=place.phone)
        return Reply(text, key="workshops.by_phone")
    if place is not None:
        text = say(
            "workshops.at_place", place=place.name, address=place.address, commune=place.commune
        )
        return Reply(text, key="workshops.at_place")
    return Reply(say("appointments.gone"), key="appointments.gone")


def _next_sessions(turn: Turn, workshop_id: int, after: datetime) -> list[WorkshopSession]:
    return workshop_seats.next_workshop_sessions(
        turn.session, workshop_id, after, SESSIONS_LOOKED_AT, now=turn.now
    )


def _register(turn: Turn, workshop_id: int, starts_at: datetime, place_id: str) -> Reply:
    """Register for that session; a full one leads to the next free session or the waiting list."""
    if turn.resident_id is None:
        return _cannot_register(turn, place_id)
    try:
        registration = workshop_seats.register_for_workshop(
            turn.session, turn.resident_id, workshop_id, starts_at, turn.now
        )
    except workshop_seats.AlreadyRegistered as already:
        turn.state.clear_question()
        text = say(
            "workshops.already",
            title=already.registration.title,
            when=format_when(already.registration.session_start),
        )
        return Reply(text, key="workshops.already")
    except workshop_seats.WorkshopFull:
        return _offer_after_full(turn, workshop_id, starts_at)
    except workshop_seats.WorkshopError:
        return _cannot_register(turn, place_id)
    return _confirmed(turn, registration)


def _offer_after_full(turn: Turn, workshop_id: int, full: datetime) -> Reply:
    """The next session with a free seat, or (none soon) the waiting list for the full one."""
    later = _next_sessions(turn, workshop_id, full + timedelta(seconds=1))
    free = next((s for s in later if s.seats_left), None)
    state = turn.state
    if free is None:
        return _offer_waiting(turn, workshop_id, full, "workshops.full_offer_waiting")
    state.ask(NEXT_SESSION_CONFIRM, turn.now, pending_intent=Intent.WORKSHOPS.value)
    state.workshop_id, state.workshop_full = workshop_id, full.isoformat()
    state.workshop_offer = free.starts_at.isoformat()
    text = say("workshops.full_offer_next", day=format_day(full), when=format_when(free.starts_at))
    return Reply(text, key="workshops.full_offer_next", expects=NEXT_SESSION_CONFIRM)


def _offer_waiting(turn: Turn, workshop_id: int, full: datetime, key: str) -> Reply:
    state = turn.state
    state.ask(WAITING_CONFIRM, turn.now, pending_intent=Intent.WORKSHOPS.value)
    state.workshop_id, state.workshop_full = workshop_id, full.isoformat()
    return Reply(say(key, day=format_day(full)), key=key, expects=WAITING_CONFIRM)


def _answer_workshop_choice(turn: Turn) -> Reply | None:
    state = turn.state
    number = menus.chosen_number(turn)
    if number is None or number == 0:
        return None  # "0": a person, as everywhere (flows/menus.py)
    if not 1 <= number <= len(state.choices):
        return menus.invalid_choice(turn)
    workshop_id = int(state.choices[number - 1])
    state.clear_question()
    workshop = place_service.get_workshop(turn.session, workshop_id, turn.now)
    if workshop is None:
        return _cannot_register(turn, None)
    found = _next_sessions(turn, workshop_id, turn.now)
    if not found:
        return _cannot_register(turn, workshop.place.id)
    return _register(turn, workshop_id, found[0].starts_at, workshop.place.id)


def _answer_next_session(turn: Turn) -> Reply | None:
    state = turn.state
    workshop_id, full = state.workshop_id, datetime.fromisoformat(state.workshop_full)
    if _says_no(turn):
        return _offer_waiting(turn, workshop_id, full, "workshops.offer_waiting")
    if not says_yes(turn):
        return None
    offered = datetime.fromisoformat(state.workshop_offer)
    state.clear_question()
    workshop = place_service.get_workshop(turn.session, workshop_id, turn.now)
    if workshop is None:
        return _cannot_register(turn, None)
    return _register(turn, workshop_id, offered, workshop.place.id)


def _answer_waiting(turn: Turn) -> Reply | None:
    state = turn.state
    workshop_id, full = state.workshop_id, datetime.fromisoformat(state.workshop_full)
    if _says_no(turn):
        state.clear_question()
        return Reply(say("workshops.not_registered"), key="workshops.not_registered")
    if not says_yes(turn):
        return None
    state.clear_question()
    workshop = place_service.get_workshop(turn.session, workshop_id, turn.now)
    if workshop is None or turn.resident_id is None:
        return _cannot_register(turn, None)
    found = _next_sessions(turn, workshop_id, full)
    session = next((s for s in found if s.starts_at == full), None)
    if session is None:
        return _cannot_register(turn, workshop.place.id)
    # The window is that session only: the resident asked for this day, not any later one.
    waiting_list.join_waiting_list(
        turn.session,
        turn.resident_id,
        turn.now,
        window_start=session.starts_at,
        window_end=session.ends_at,
        workshop_id=workshop_id,
    )
    # A freed seat is offered by SMS (bot/services/waiting_offers.py).
    text = say("workshops.waiting_joined", day=format_day(full), place=workshop.place.name)
    return Reply(text, key="workshops.waiting_joined")


_LEAVE = re.compile(r"\b(annul\w*|desinscri\w*|plus venir|pourrai pas|viendrai pas)\b")


def asks_to_leave(turn: Turn) -> bool:
    """ "Annulez mon inscription à l'atelier": about workshops, but to leave one."""
    return bool(_LEAVE.search(words(turn.text)))


def cancel(turn: Turn) -> Reply:
    """ "Annulez mon rdv" / "je ne viendrai pas à l'atelier": an appointment or a workshop seat."""
    seats: list[workshop_seats.RegistrationInfo] = []
    if turn.resident_id is not None:
        seats = workshop_seats.upcoming_registrations(turn.session, turn.resident_id, turn.now)
    if not seats:
        return appointments.cancel(turn)
    about_workshop = bool(_ABOUT_WORKSHOP.search(words(turn.text)))
    if not about_workshop and appointments.has_upcoming(turn):
        return appointments.cancel(turn)
    seat = seats[0]  # the soonest; the resident can cancel the next one after
    state = turn.state
    state.ask(
        LEAVE_CONFIRM, turn.now, [str(seat.id)], pending_intent=Intent.CANCEL_APPOINTMENT.value
    )
    state.workshop_id, state.workshop_full = seat.workshop_id, seat.session_start.isoformat()
    text = say("cancel.workshop_confirm", title=seat.title, when=format_when(seat.session_start))
    return Reply(text, key="cancel.workshop_confirm", expects=LEAVE_CONFIRM)


def _answer_leave(turn: Turn) -> Reply | None:
    state = turn.state
    if _says_no(turn):
        state.clear_question()
        return Reply(say("workshops.not_registered"), key="workshops.not_registered")
    if not says_yes(turn):
        return None
    registration_id = int(state.choices[0]) if state.choices else 0
    state.clear_question()
    if turn.resident_id is None or not registration_id:
        return Reply(say("appointments.gone"), key="appointments.gone")
    try:
        seat = workshop_seats.cancel_registration(
            turn.session, registration_id, turn.resident_id, turn.now
        )
    except workshop_seats.WorkshopError:
        return Reply(say("appointments.gone"), key="appointments.gone")
    text = say("cancel.workshop_done", when=format_when(seat.session_start))
    return Reply(text, key="cancel.workshop_done")


def answer_pending(turn: Turn) -> Reply | None:
    """Answer a workshop question we asked; None (question dropped) if the message is not one."""
    expects = turn.state.expects
    if expects not in EXPECTS:
        return None
    reply: Reply | None = None
    if expects != WORKSHOP_CHOICE and not (turn.state.workshop_id and turn.state.workshop_full):
        turn.state.clear_question()  # stored by an older version, or damaged: ask nothing more
        return None
    if expects == WORKSHOP_CHOICE:
        reply = _answer_workshop_choice(turn)
    elif expects == NEXT_SESSION_CONFIRM:
        reply = _answer_next_session(turn)
    elif expects == WAITING_CONFIRM:
        reply = _answer_waiting(turn)
    elif expects == LEAVE_CONFIRM:
        reply = _answer_leave(turn)
    if reply is None and turn.text.strip() not in {"0", "00"}:
        # The resident asks something else: route it as any message ("0" still means a person).
        turn.state.clear_question()
    return reply
