"""What happens after an intent: pending questions first, then the intent, else the menu."""

from __future__ import annotations

from collections.abc import Callable

from bot.wording import say
from flows import (
    answers,
    appointments,
    booking,
    hours,
    interim,
    locate,
    menus,
    places,
    prompted,
    workshops,
)
from flows.context import Turn
from flows.messages import Reply
from flows.text import words
from nlu import CONFIDENCE_THRESHOLD, Intent, Understanding

Handler = Callable[[Turn], Reply]

# Words that may surround a bare day in a follow-up ("et pour samedi alors ?").
_FILLER = frozenset(
    [
        "et",
        "le",
        "la",
        "l",
        "pour",
        "ce",
        "cet",
        "cette",
        "alors",
        "euh",
        "ah",
        "bon",
        "sinon",
        "puis",
        "aussi",
        "donc",
        "mais",
        "ou",
        "ouvert",
        "ouverte",
        "c",
        "est",
        "ca",
        "qu",
        "en",
    ]
)

HANDLERS: dict[Intent, Handler] = {
    Intent.GREET: answers.greet,
    Intent.THANKS: answers.thanks,
    Intent.GOODBYE: answers.goodbye,
    Intent.AFFIRM: answers.affirm,
    Intent.DENY: answers.deny,
    Intent.OUT_OF_SCOPE: answers.out_of_scope,
    Intent.HELP: menus.help_menu,
    Intent.WHAT_TO_BRING: answers.what_to_bring,
    Intent.SERVICES: answers.services,
    Intent.PRICE: answers.price,
    Intent.DEVICE_REPAIR: answers.device_repair,
    Intent.SCAM_CHECK: answers.scam_check,
    Intent.OPENING_HOURS: hours.opening_hours,
    Intent.FIND_PLACE: places.find_place,
    Intent.FREE_ACCESS: places.free_access,
    Intent.WORKSHOPS: places.workshops,
    Intent.BOOK_APPOINTMENT: booking.book,
    Intent.CANCEL_APPOINTMENT: workshops.cancel,  # an appointment, or a workshop seat
    Intent.RESCHEDULE_APPOINTMENT: appointments.move,
    Intent.MY_APPOINTMENT: appointments.see,
    Intent.HUMAN_ADVISOR: interim.human,
    Intent.OPT_OUT: answers.out_of_scope,  # unsure opt-outs are handled before routing
}

# Intents that need to know where the resident is, and can be answered once we know.
LOCATED = {
    Intent.OPENING_HOURS,
    Intent.FIND_PLACE,
    Intent.FREE_ACCESS,
    Intent.WORKSHOPS,
    Intent.BOOK_APPOINTMENT,
    Intent.HUMAN_ADVISOR,
}


def dispatch(turn: Turn, intent: Intent) -> Reply:
    """Run the handler of an intent; anything but out-of-scope ends a run of misunderstandings."""
    if intent != Intent.OUT_OF_SCOPE:
        turn.state.failures = 0
    return HANDLERS[intent](turn)


def route(turn: Turn) -> Reply:
    """Answer one understood message, keeping the conversation's memory up to date."""
    reply, intent = _route(turn)
    turn.state.last_intent = intent.value if intent else ""
    return reply


def is_only_a_day(understanding: Understanding) -> bool:
    """True for "et samedi ?", "dimanche", "et lundi prochain ?": a day and nothing else."""
    spans = [e for e in understanding.entities if e.entity in {"date", "time"}]
    if not any(e.entity == "date" for e in spans):
        return False
    rest = understanding.text
    for entity in sorted(spans, key=lambda e: e.start, reverse=True):
        rest = rest[: entity.start] + " " + rest[entity.end :]
    return all(word in _FILLER for word in words(rest).split())


def _day_follow_up(turn: Turn) -> Reply | None:
    """A bare day after talking about a place (or while choosing one) asks about its hours."""
    state = turn.state
    if state.expects == "place_choice" and state.choices:
        day = turn.understanding.first("date")
        state.pending_date = str(day.value) if day else ""
        choices = places.choices_phrase(len(state.choices))
        return Reply(
            say("hours.which_place", choices=choices),
            key="hours.which_place",
            expects="place_choice",
        )
    if state.place_id:
        state.clear_question()
        return dispatch(turn, Intent.OPENING_HOURS)
    return None


def _route(turn: Turn) -> tuple[Reply, Intent | None]:
    if turn.state.last_intent == Intent.SCAM_CHECK and answers.money_or_codes_given(turn.text):
        # "j'ai payé" right after scam advice is about the scam, not about our price.
        return dispatch(turn, Intent.SCAM_CHECK), Intent.SCAM_CHECK
    prompt_answer = prompted.answer_prompt(turn)
    if prompt_answer is not None:
        # "OUI", "je peux plus" after a reminder or an offer we sent.
        return prompt_answer, None
    booking_answer = appointments.answer_pending(turn)
    if booking_answer is not None:
        # Before the day follow-up: "jeudi" while choosing a slot asks for Thursday's slots.
        return booking_answer, None
    workshop_answer = workshops.answer_pending(turn)
    if workshop_answer is not None:
        return workshop_answer, None
    if is_only_a_day(turn.understanding):
        follow_up = _day_follow_up(turn)
        if follow_up is not None:
            return follow_up, Intent.OPENING_HOURS
    pending = menus.answer_pending(turn, dispatch)
    if pending is not None:
        return pending, None
    u = turn.understanding
    confident = u.confidence >= CONFIDENCE_THRESHOLD
    has_location = locate.mentions_location(u)
    if not confident and has_location:
        # A bare "57100" or "Yutz": the resident is telling us where; answer what was pending.
        intent = Intent(turn.state.pending_intent) if turn.state.pending_intent else None
        return dispatch(turn, intent or Intent.FIND_PLACE), intent or Intent.FIND_PLACE
    if not confident and u.first("date") and turn.state.place_id:
        # "et samedi ?" after a question about a place.
        return dispatch(turn, Intent.OPENING_HOURS), Intent.OPENING_HOURS
    if not confident:
        return menus.not_understood(turn), None
    turn.state.clear_question()
    intent = u.intent
    if intent == Intent.WORKSHOPS and workshops.asks_to_leave(turn):
        intent = Intent.CANCEL_APPOINTMENT  # "annulez mon inscription à l'atelier"
    return dispatch(turn, intent), intent
