"""Entry point of the flows: one inbound message in, one reply out, memory saved."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.orm import Session

from bot.services import conversations, escalations
from bot.wording import say
from bot.wording.gsm7 import GSM7_MULTI, count_segments, to_gsm7
from flows import handoff
from flows.context import Turn
from flows.distress import Distress, detect_distress
from flows.messages import Inbound, Reply
from flows.router import route
from flows.state import VOICE_MENU, ConversationState
from flows.text import fold
from nlu import Intent, IntentEngine

# Opt back in: START / REPRENDRE (STOP is an intent of the engine, with a keyword rule there).
_OPT_IN = re.compile(r"^\W*(start|reprendre|reprise|unstop)\W*$")
# The engine's keyword rule gives STOP, ARRET, DESABONNEMENT this confidence; nothing else opts out.
KEYWORD_CONFIDENCE = 1.0
# No reply above three SMS segments (issue 3).
MAX_SEGMENTS = 3


@dataclass(frozen=True)
class Outcome:
    """The reply and what was understood, for the record."""

    reply: Reply
    resident: Any
    intent: str | None
    confidence: float | None
    place_id: str | None = None  # the place the conversation is about after this message


# Recorded as the intent of a message left unanswered while an advisor holds the conversation.
HELD = "held_by_advisor"


def handle_inbound(session: Session, engine: IntentEngine, inbound: Inbound) -> Outcome:
    """Answer one message: opt-in/out keywords, empty or media-only, else understand and route.

    While an advisor holds the resident's escalation, only START and STOP are answered (and
    words about suicide, with the 3114): the message goes to the advisor's thread unanswered.
    """
    now = inbound.received_at
    resident = conversations.get_or_create_resident(session, inbound.sender, now)
    state = ConversationState.from_json(conversations.load_state(session, resident))
    state.expire(now)
    if state.expects == VOICE_MENU:
        state.clear_question()  # the caller hung up at the phone menu, then texted
    text = inbound.text.strip()
    escalations.note_inbound(session, resident.id, now)
    held = escalations.held_by_advisor(session, resident.id)

    if _OPT_IN.match(fold(text)):
        changed = conversations.set_opt_out(session, resident, False, now)
        key = "opt_in.confirmed" if changed else "opt_in.already"
        return Outcome(Reply(say(key), key=key), resident, "opt_in", 1.0)
    if not any(c.isalnum() for c in text):
        if held:
            return Outcome(Reply(""), resident, HELD, None, state.place_id)
        key = "media_only" if inbound.has_media else ("no_words" if text else "empty")
        return Outcome(Reply(say(key), key=key), resident, None, None)

    understanding = engine.parse(text)
    if understanding.intent == Intent.OPT_OUT and understanding.confidence < KEYWORD_CONFIDENCE:
        if held:
            return Outcome(Reply(""), resident, HELD, None, state.place_id)
        # "stop c'est trop compliqué" is not a STOP: say how to opt out, don't do it silently.
        conversations.save_state(session, resident, state.to_json(), now)
        return Outcome(Reply(say("opt_out.hint"), key="opt_out.hint"), resident, "opt_out", None)
    if understanding.intent == Intent.OPT_OUT:
        changed = conversations.set_opt_out(session, resident, True, now)
        state.clear_question()
        conversations.save_state(session, resident, state.to_json(), now)
        # Confirm once: a repeated STOP gets no further message (the number asked for none).
        reply = Reply(say("opt_out.confirmed"), key="opt_out.confirmed") if changed else Reply("")
        return Outcome(reply, resident, Intent.OPT_OUT.value, understanding.confidence)

    distress = detect_distress(text, about_a_scam=understanding.intent == Intent.SCAM_CHECK)
    turn = Turn(session, understanding, state, now, resident.id, inbound.channel.value)
    if held:
        reply = _while_held(turn, resident.id, distress)
        return Outcome(reply, resident, HELD, None, state.place_id)
    reply = route(turn)
    if distress is not None:
        reply = handoff.after_distress(turn, distress, reply)
    reply = fit_in_segments(reply)
    conversations.save_state(session, resident, state.to_json(), now)
    intent = understanding.intent.value
    return Outcome(reply, resident, intent, understanding.confidence, state.place_id)


def _while_held(turn: Turn, resident_id: int, distress: Distress | None) -> Reply:
    """An advisor holds the conversation: silence, except the 3114 for words about suicide."""
    if distress is None:
        return Reply("")
    escalations.escalate(
        turn.session,
        resident_id=resident_id,
        place_id=None,
        reason=escalations.DISTRESS,
        channel=turn.channel,
        now=turn.now,
    )
    if distress != Distress.SUICIDE:
        return Reply("")
    return Reply(say("distress.suicide"), key="distress.suicide")


def fit_in_segments(reply: Reply, limit: int = MAX_SEGMENTS) -> Reply:
    """Drop trailing sentences (then characters) until the reply costs at most `limit` SMS."""
    text = reply.text
    while count_segments(to_gsm7(text)).segments > limit:
        cut = max(text.rfind(". ", 0, len(text) - 1), text.rfind("\n", 0, len(text) - 1))
        text = text[: cut + 1].rstrip() if cut > 0 else text[: GSM7_MULTI * limit - 3] + "..."
    return reply if text == reply.text else replace(reply, text=text)
