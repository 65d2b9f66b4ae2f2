"""POST /twilio/status: delivery status callbacks. Error 21610 means the recipient sent STOP.

Twilio's status values and error 21610:
https://www.twilio.com/docs/messaging/guides/track-outbound-message-status
https://www.twilio.com/docs/api/errors/21610
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, request

from bot import clock
from bot.database import transaction
from bot.privacy import mask_phone
from bot.runtime import runtime_of
from bot.services.conversations import get_or_create_resident, set_opt_out
from webhooks.forms import normalise_sender
from webhooks.signature import refuse_unless_signed

log = logging.getLogger(__name__)

blueprint = Blueprint("twilio_status", __name__)

UNSUBSCRIBED_RECIPIENT = "21610"


@blueprint.post("/twilio/status")
def receive_status() -> Response:
    """Record what a delivery status tells us; 21610 opts the recipient out."""
    runtime = runtime_of(current_app)
    settings = runtime.settings
    refusal = refuse_unless_signed(request, settings.twilio_auth_token, settings.public_url)
    if refusal is not None:
        return refusal
    status = request.form.get("MessageStatus") or request.form.get("SmsStatus") or ""
    error_code = (request.form.get("ErrorCode") or "").strip()
    recipient = normalise_sender(request.form.get("To") or "")
    log.info(
        "status %s for %s to %s (error %s)",
        status,
        request.form.get("MessageSid", "?"),
        mask_phone(recipient),
        error_code or "none",
    )
    if error_code == UNSUBSCRIBED_RECIPIENT and recipient:
        with transaction(runtime.sessions) as session:
            now = clock.now()
            resident = get_or_create_resident(session, recipient, now)
            set_opt_out(session, resident, True, now)
    return Response(status=204)
