"""Entry point of the flows: one inbound message in, one reply out, memory saved."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from bot.services import conversations
from bot.wording import say
from flows.context import Turn
from flows.messages import Inbound, Reply
from flows.router import route
from flows.state import ConversationState
from nlu import CONFIDENCE_THRESHOLD, Intent, IntentEngine

# Opt back in: START / REPRENDRE (STOP is an intent of the engine, with a keyword rule there).
_OPT_IN = re.compile(r"^\W*(start|reprendre|reprise|unstop)\W*$")


@dataclass(frozen=True)
class Outcome:
    """The reply and what was understood, for the record."""

    reply: Reply
    resident: Any
    intent: str | None
    confidence: float | None


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


def handle_inbound(session: Session, engine: IntentEngine, inbound: Inbound) -> Outcome:
    """Answer one message: opt-in/out keywords, empty or media-only, else understand and route."""
    now = inbound.received_at
    resident = conversations.get_or_create_resident(session, inbound.sender, now)
    state = ConversationState.from_json(conversations.load_state(session, resident))
    state.expire(now)
    text = inbound.text.strip()

    if _OPT_IN.match(_plain(text)):
        changed = conversations.set_opt_out(session, resident, False, now)
        key = "opt_in.confirmed" if changed else "opt_in.already"
        return Outcome(Reply(say(key), key=key), resident, "opt_in", 1.0)
    if not any(c.isalnum() for c in text):
        key = "media_only" if inbound.has_media else "empty"
        return Outcome(Reply(say(key), key=key), resident, None, None)

    understanding = engine.parse(text)
    if understanding.intent == Intent.OPT_OUT and understanding.confidence >= CONFIDENCE_THRESHOLD:
        changed = conversations.set_opt_out(session, resident, True, now)
        state.clear_question()
        conversations.save_state(session, resident, state.to_json(), now)
        # Confirm once: a repeated STOP gets no further message (the number asked for none).
        reply = Reply(say("opt_out.confirmed"), key="opt_out.confirmed") if changed else Reply("")
        return Outcome(reply, resident, Intent.OPT_OUT.value, understanding.confidence)

    reply = route(Turn(session, understanding, state, now))
    conversations.save_state(session, resident, state.to_json(), now)
    return Outcome(reply, resident, understanding.intent.value, understanding.confidence)
