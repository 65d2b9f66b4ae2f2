"""POST /twilio/status: delivery status callbacks. Error 21610 means the recipient sent STOP.

Twilio's status values and error 21610:
https://www.twilio.com/docs/messaging/guides/track-outbound-message-status
https://www.twilio.com/docs/api/errors/21610
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from flask import Blueprint, Response, current_app, request

from bot import clock
from bot.database import transaction
from bot.privacy import mask_phone
from bot.runtime import Runtime, runtime_of
from bot.services.conversations import get_or_create_resident, set_opt_out
from bot.services.outbox import record_provider_status
from bot.services.phone_numbers import normalise_number
from flows.calls import end_call
from webhooks.forms import FormError, form_text, parse_voice_form, small_number
from webhooks.signature import twilio_signed

log = logging.getLogger(__name__)

blueprint = Blueprint("twilio_status", __name__)

UNSUBSCRIBED_RECIPIENT = "21610"


def _hung_up(runtime: Runtime, form: Mapping[str, str]) -> None:
    """An incoming call ended: its pending question goes (flows/calls.py)."""
    try:
        inbound = parse_voice_form(form, clock.now(), "end")
        with transaction(runtime.sessions) as session:
            end_call(session, inbound)
    except FormError:
        log.warning("call status without CallSid or caller")


@blueprint.post("/twilio/status")
@twilio_signed
def receive_status() -> Response:
    """Record what a delivery status tells us; 21610 opts the recipient out."""
    runtime = runtime_of(current_app)
    form = request.form
    status = form_text(
        form.get("MessageStatus") or form.get("SmsStatus") or form.get("CallStatus"), 20
    )
    sid = form_text(form.get("MessageSid") or form.get("CallSid"), 64)
    error_code = form_text(form.get("ErrorCode"), 8)
    recipient = normalise_number(form_text(form.get("To"), 64))
    log.info(
        "status %s for %s to %s (error %s)",
        status,
        sid or "?",
        mask_phone(recipient),
        error_code or "none",
    )
    # Our callback URL names the outbox message (bot/dispatch/dispatcher.py).
    if form.get("CallStatus") == "completed" and form.get("Direction", "").startswith("inbound"):
        _hung_up(runtime, form)
    message_id = small_number(request.args.get("outbound"), 11)
    with transaction(runtime.sessions) as session:
        now = clock.now()
        if sid and status:
            code = small_number(error_code, 7)
            record_provider_status(
                session, sid, status, now, message_id=message_id, error_code=code
            )
        if error_code == UNSUBSCRIBED_RECIPIENT and recipient:
            resident = get_or_create_resident(session, recipient, now)
            set_opt_out(session, resident, True, now)
    return Response(status=204)
