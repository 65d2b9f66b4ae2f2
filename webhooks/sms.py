"""POST /twilio/sms: Twilio's inbound SMS webhook, answered with TwiML <Message>."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, request

from bot import clock
from bot.runtime import runtime_of
from bot.wording import say
from flows.messages import Channel
from webhooks.forms import FormError, parse_sms_form
from webhooks.handling import answer_inbound
from webhooks.signature import twilio_signed
from webhooks.twiml import messaging_twiml

log = logging.getLogger(__name__)

blueprint = Blueprint("twilio_sms", __name__)


def twiml_response(texts: list[str], unicode_allowed: bool) -> Response:
    """A TwiML messaging response."""
    return Response(messaging_twiml(texts, unicode_allowed), mimetype="text/xml")


@blueprint.post("/twilio/sms")
@twilio_signed
def receive_sms() -> Response:
    """Check the signature, answer the message, reply in TwiML."""
    runtime = runtime_of(current_app)
    settings = runtime.settings
    try:
        inbound = parse_sms_form(request.form, clock.now(), Channel.SMS)
    except FormError as exc:
        log.warning("malformed SMS webhook form: %s", exc)
        return twiml_response([say("greet")], settings.sms_unicode)
    return twiml_response([answer_inbound(runtime, inbound)], settings.sms_unicode)
