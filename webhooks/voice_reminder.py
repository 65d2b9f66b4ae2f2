"""POST /twilio/voice/reminder: the keypad answer to a reminder or offer call we placed.

The call's TwiML (bot/dispatch/render.py) gathers one key and posts it here with our outbox
message id in the URL; the answer itself is channel-neutral (flows/prompted.py). "3" puts the
resident through to their place's phone with <Dial>.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, request
from twilio.twiml.voice_response import Gather, VoiceResponse

from bot import clock
from bot.database import transaction
from bot.dispatch.render import GATHER_TIMEOUT, VOICE_LANGUAGE
from bot.runtime import runtime_of
from bot.wording import say
from flows.messages import Reply
from flows.prompted import answer_keypad
from webhooks.forms import form_text, small_number
from webhooks.signature import twilio_signed

log = logging.getLogger(__name__)

blueprint = Blueprint("twilio_voice_reminder", __name__)


def keypad_reply_twiml(reply: Reply, action_url: str) -> str:
    """Say the reply; then put the call through, hang up, or ask for a key again."""
    response = VoiceResponse()
    if reply.transfer_to:
        response.say(reply.text, language=VOICE_LANGUAGE)
        response.dial(reply.transfer_to)
    elif reply.end:
        response.say(reply.text, language=VOICE_LANGUAGE)
        response.hangup()
    else:
        gather = Gather(
            input="dtmf", num_digits=1, timeout=GATHER_TIMEOUT, action=action_url, method="POST"
        )
        gather.say(reply.text, language=VOICE_LANGUAGE)
        response.append(gather)
        # An offer left unanswered goes to someone else; a reminder's appointment is kept.
        goodbye = (
            "offer.voice_no_answer"
            if reply.key.startswith("offer.")
            else "reminder.voice_no_answer"
        )
        response.say(say(goodbye), language=VOICE_LANGUAGE)
    return str(response)


@blueprint.post("/twilio/voice/reminder")
@twilio_signed
def receive_keypad() -> Response:
    """Check the signature, act on the key pressed, answer in TwiML."""
    runtime = runtime_of(current_app)
    settings = runtime.settings
    outbound = small_number(request.args.get("outbound"), 12)
    digits = form_text(request.form.get("Digits"), 20)
    action_url = f"{settings.public_url}/twilio/voice/reminder?outbound={outbound}"
    reply = Reply(say("reminder.voice_no_answer"), key="error", end=True)
    if outbound is None:
        log.warning("keypad answer without an outbound message id")
        return Response(keypad_reply_twiml(reply, action_url), mimetype="text/xml")
    try:
        with transaction(runtime.sessions) as session:
            reply = answer_keypad(session, outbound, digits, clock.now())
    except Exception:
        log.exception("keypad answer to outbound %s failed", outbound)
    return Response(keypad_reply_twiml(reply, action_url), mimetype="text/xml")
