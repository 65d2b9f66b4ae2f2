"""One inbound message, handled once, in one transaction, never answered with silence or a trace."""

from __future__ import annotations

import logging
import uuid

from bot import clock
from bot.database import transaction
from bot.privacy import mask_phone
from bot.runtime import Runtime
from bot.services import escalations, threads
from bot.services.conversations import (
    AlreadyHandled,
    claim_message,
    get_or_create_resident,
    load_state,
    record_outcome,
)
from bot.wording import say
from flows.conversation import handle_inbound
from flows.messages import Inbound
from webhooks.twiml import reply_text

log = logging.getLogger(__name__)


def answer_inbound(runtime: Runtime, inbound: Inbound) -> str:
    """The reply text for a message; a retried message id gets the first reply, unprocessed."""
    try:
        with transaction(runtime.sessions) as session:
            claim = claim_message(session, inbound.provider_id, inbound.channel.value, clock.now())
            if isinstance(claim, AlreadyHandled):
                log.info("message %s already handled, replaying reply", inbound.provider_id)
                return claim.reply
            outcome = handle_inbound(session, runtime.nlu, inbound)
            text = reply_text(outcome.reply)
            record_outcome(
                claim,
                outcome.resident,
                outcome.intent,
                outcome.confidence,
                text,
                place_id=outcome.place_id,
            )
            # The advisors' thread: only for a message handled now, not for a Twilio retry.
            threads.record_exchange(
                session,
                resident_id=outcome.resident.id,
                channel=inbound.channel.value,
                text=inbound.text,
                reply=text,
                received_at=inbound.received_at,
            )
            log.info(
                "message %s from %s: intent=%s confidence=%.2f reply=%s",
                inbound.provider_id,
                mask_phone(inbound.sender),
                outcome.intent,
                outcome.confidence or 0.0,
                outcome.reply.key,
            )
            return text
    except Exception:
        error_id = uuid.uuid4().hex[:12]
        log.exception(
            "error %s handling message %s from %s",
            error_id,
            inbound.provider_id,
            mask_phone(inbound.sender),
        )
        held = _pass_failure_to_a_person(runtime, inbound)
        return "" if held else say("error")  # an advisor holding it answers, not the assistant


def _pass_failure_to_a_person(runtime: Runtime, inbound: Inbound) -> bool:
    """Our failure: the message goes to the advisors (escalation "error"), so nobody is lost.

    True when an advisor holds the conversation (then the assistant must not answer at all).

    A separate transaction, as the one that failed was rolled back; if this fails too (the
    database is down), the apology still goes out.
    """
    try:
        with transaction(runtime.sessions) as session:
            now = clock.now()
            resident = get_or_create_resident(session, inbound.sender, now)
            held = escalations.held_by_advisor(session, resident.id)
            place = load_state(session, resident).get("place_id")
            ticket = escalations.escalate(
                session,
                resident_id=resident.id,
                place_id=place if isinstance(place, str) else None,
                reason=escalations.ERROR,
                channel=inbound.channel.value,
                now=now,
            )
            threads.record(
                session,
                resident_id=resident.id,
                channel=inbound.channel.value,
                direction=threads.IN,
                author=threads.RESIDENT,
                body=inbound.text,
                ticket_id=ticket.id,
                now=inbound.received_at,
            )
        return held
    except Exception:
        log.exception("could not pass the failed message of %s on", mask_phone(inbound.sender))
        return False
