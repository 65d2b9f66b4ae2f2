"""The short numbered menu, answers to pending questions, and "not understood" escalation."""

from __future__ import annotations

from collections.abc import Callable

from bot.services.communes import default_directory
from bot.wording import say
from flows import locate
from flows.context import Turn
from flows.messages import Reply
from flows.state import ConversationState
from nlu import Intent

# The menu of wording key "menu": its numbers and the intents behind them.
MENU: tuple[Intent, ...] = (
    Intent.OPENING_HOURS,
    Intent.FIND_PLACE,
    Intent.WHAT_TO_BRING,
    Intent.WORKSHOPS,
    Intent.HUMAN_ADVISOR,
)

Dispatch = Callable[[Turn, Intent], Reply]

# After this many messages in a row that we couldn't handle, a person is offered.
PERSON_AFTER = 3


def menu_reply(turn: Turn, intro_key: str = "") -> Reply:
    """The numbered menu, optionally after a sentence, waiting for a number."""
    turn.state.ask("menu", turn.now, [i.value for i in MENU])
    text = say("menu") if not intro_key else f"{say(intro_key)}\n{say('menu')}"
    return Reply(text, key=intro_key or "menu", expects="menu")


def help_menu(turn: Turn) -> Reply:
    """What Relais does, and the menu."""
    return menu_reply(turn, "help")


def chosen_number(turn: Turn) -> int | None:
    """The number the resident answered ("2", "le 2", "la deuxième"), if any."""
    choice = turn.understanding.first("choice")
    if choice is None:
        return None
    try:
        return int(choice.value)
    except (TypeError, ValueError):
        return None


def invalid_choice(turn: Turn) -> Reply:
    """A number outside the list: ask again, and offer a person after repeated failures."""
    turn.state.failures += 1
    if turn.state.failures >= PERSON_AFTER:
        return offer_person(turn)
    return Reply(
        say("choice.invalid", count=len(turn.state.choices))
        if len(turn.state.choices) > 1
        else say("choice.invalid_one"),
        key="choice.invalid",
        expects=turn.state.expects,
    )


def _clear_keeping_wish(state: ConversationState) -> None:
    """Forget the question, not the slot wish given with it ("un rdv jeudi", then the commune)."""
    wish = state.slot_wish
    state.clear_question()
    state.slot_wish = wish


def answer_pending(turn: Turn, dispatch: Dispatch) -> Reply | None:
    """Answer the question we asked last ("which commune?", menu...), or None if it isn't one."""
    state = turn.state
    if not state.expects:
        return None
    number = chosen_number(turn)
    pending = Intent(state.pending_intent) if state.pending_intent else None
    if turn.text.strip() in {"0", "00"}:
        # "zéro pour parler à un conseiller", as on the phone line (sms-style.md).
        state.clear_question()
        return dispatch(turn, Intent.HUMAN_ADVISOR)
    if state.expects == "location":
        typed = locate.commune_typed_in(turn.text, whole_message=True)
        if (
            not locate.mentions_location(turn.understanding)
            and typed is None
            and locate.place_named_in(turn) is None
        ):
            return None
        if typed == "" and not locate.mentions_location(turn.understanding):
            return Reply(say("commune.not_found"), key="commune.not_found", expects="location")
        _clear_keeping_wish(state)
        return dispatch(turn, pending or Intent.FIND_PLACE)
    if number is None:
        named = turn.understanding.first("commune")
        if state.expects == "commune_choice" and named is not None:
            _clear_keeping_wish(state)
            return dispatch(turn, pending or Intent.FIND_PLACE)
        return None
    if not 1 <= number <= len(state.choices):
        return invalid_choice(turn)
    value = state.choices[number - 1]
    expects, asked_day = state.expects, state.pending_date
    _clear_keeping_wish(state)
    state.pending_date = asked_day  # "c'est ouvert samedi à Forbach ?" then "1": still Saturday
    if expects == "menu":
        return dispatch(turn, Intent(value))
    if expects == "commune_choice":
        state.commune_insee = value
        return dispatch(turn, pending or Intent.FIND_PLACE)
    state.place_id = value
    return dispatch(turn, pending or Intent.OPENING_HOURS)


def not_understood(turn: Turn) -> Reply:
    """First and second time: the menu; third time: a person."""
    turn.state.failures += 1
    if turn.state.failures == 1:
        return menu_reply(turn, "not_understood.first")
    if turn.state.failures < PERSON_AFTER:
        return menu_reply(turn, "not_understood.second")
    return offer_person(turn)


def offer_person(turn: Turn) -> Reply:
    """A person to call: the place talked about, or the nearest one with a phone; else ask where."""
    turn.state.failures = 0
    turn.state.clear_question()
    place = locate.remembered_place(turn)
    commune = default_directory().by_insee(turn.state.commune_insee or "")
    if (place is None or not place.phone) and commune is not None:
        place = locate.nearest_place(turn, commune, with_phone=True)
    if place is not None and place.phone:
        return Reply(
            say("not_understood.person_known", place=place.name, phone=place.phone),
            key="not_understood.person_known",
            handoff=True,
        )
    if commune is not None:
        return Reply(say("human.none_near", commune=commune.name), key="human.none_near")
    turn.state.ask("location", turn.now, pending_intent=Intent.HUMAN_ADVISOR.value)
    return Reply(
        say("not_understood.person_unknown"),
        key="not_understood.person_unknown",
        expects="location",
        handoff=True,
    )
