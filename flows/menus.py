"""The short numbered menu, answers to pending questions, and "not understood" escalation."""

from __future__ import annotations

from collections.abc import Callable

from bot.services import escalations
from bot.wording import say
from flows import handoff, locate
from flows.context import Turn
from flows.messages import Channel, Reply
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

# After this many messages in a row that we couldn't handle, a person is asked for (issue 8).
PERSON_AFTER = 2
# On a call, the menu comes twice before the caller is put through (flows/calls.py).
PERSON_AFTER_ON_A_CALL = 3
# What flows/calls.py turns into a transfer or a voicemail (no text: never sent by SMS).
PERSON_ON_A_CALL = "not_understood.person"


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
    """A number outside the list: ask again; repeated, a person is asked for as well."""
    turn.state.failures += 1
    again = (
        say("choice.invalid", count=len(turn.state.choices))
        if len(turn.state.choices) > 1
        else say("choice.invalid_one")
    )
    if turn.state.failures >= failures_before_person(turn):
        if turn.channel == Channel.VOICE:
            return person_on_a_call(turn)
        turn.state.failures = 0
        person = handoff.hand_off(turn, escalations.NOT_UNDERSTOOD)
        return Reply(
            f"{person.text}\n{again}",
            key=person.key,
            handoff=True,
            place_id=person.place_id,
            expects=turn.state.expects,
        )
    return Reply(again, key="choice.invalid", expects=turn.state.expects)


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


def failures_before_person(turn: Turn) -> int:
    """How many messages in a row we may fail to handle before a person is asked for."""
    return PERSON_AFTER_ON_A_CALL if turn.channel == Channel.VOICE else PERSON_AFTER


def person_on_a_call(turn: Turn) -> Reply:
    """On a call, failures end with a transfer or a voicemail, decided by flows/calls.py."""
    turn.state.failures = 0
    turn.state.clear_question()
    return Reply("", key=PERSON_ON_A_CALL, handoff=True)


def not_understood(turn: Turn) -> Reply:
    """First time: the menu; second time: a person is asked for, and the menu again."""
    turn.state.failures += 1
    if turn.state.failures < failures_before_person(turn):
        first = turn.state.failures == 1
        return menu_reply(turn, "not_understood.first" if first else "not_understood.second")
    if turn.channel == Channel.VOICE:
        return person_on_a_call(turn)
    return person_after_failures(turn)


def person_after_failures(turn: Turn) -> Reply:
    """Not understood twice: an escalation, when a person will answer, and the menu."""
    turn.state.failures = 0
    turn.state.clear_question()
    person = handoff.hand_off(turn, escalations.NOT_UNDERSTOOD)
    menu = menu_reply(turn)
    text = f"{say('not_understood.second')} {person.text}\n{menu.text}"
    return Reply(text, key="not_understood.handoff", handoff=True, expects=menu.expects)
