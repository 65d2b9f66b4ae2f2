"""One inbound message, handled once, in one transaction, never answered with silence or a trace."""

from __future__ import annotations

import logging
import uuid

from bot import clock
from bot.database import transaction
from bot.privacy import mask_phone
from bot.runtime import Runtime
from bot.services.conversations import AlreadyHandled, claim_message, record_outcome
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
            record_outcome(claim, outcome.resident, outcome.intent, outcome.confidence, text)
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
        return say("error")
