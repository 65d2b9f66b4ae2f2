"""A local SMS simulator: a chat page whose messages go through the real, signed /twilio/sms.

Messages are signed with the configured auth token exactly as Twilio signs them, so the
signature check stays on. Disabled in production (RELAIS_SIMULATOR=0 / RELAIS_ENV=production).
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

from flask import Blueprint, Response, current_app, jsonify, render_template, request
from twilio.request_validator import RequestValidator

from bot.database import transaction
from bot.runtime import runtime_of
from bot.services.sent_messages import sent_to

blueprint = Blueprint("simulator", __name__, template_folder="templates")

# ARCEP reserves 06 39 98 xx xx for fiction: nobody real is ever texted.
DEFAULT_SENDER = "+33639980001"
MAX_BODY = 2000


@blueprint.get("/")
@blueprint.get("/simulateur")
def page() -> str:
    """The chat page."""
    return render_template("simulator.html", sender=DEFAULT_SENDER)


def _replies_from_twiml(twiml: str) -> list[str]:
    root = ET.fromstring(twiml)
    return [(m.text or "") for m in root.iter("Message")]


@blueprint.get("/simulateur/recus")
def received() -> tuple[Response, int]:
    """Messages Relais sent to the simulated number (reminders, offers) since a given id."""
    # A "+" left unencoded in a query string arrives as a space.
    phone = (request.args.get("numero") or DEFAULT_SENDER).replace(" ", "+").strip()[:32]
    after = request.args.get("apres", "0")
    after_id = int(after) if after.isdigit() and len(after) < 12 else 0
    with transaction(runtime_of(current_app).sessions) as session:
        texts = sent_to(session, phone, after_id)
    return jsonify(
        messages=[{"id": t.id, "appel": t.channel == "voice", "texte": t.body} for t in texts]
    ), 200


@blueprint.post("/simulateur/envoyer")
def send() -> tuple[Response, int]:
    """Sign a Twilio-shaped form, post it to /twilio/sms, and return the reply texts."""
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return jsonify(error="JSON attendu"), 400
    sender = str(payload.get("from") or DEFAULT_SENDER)[:32]
    body = str(payload.get("body") or "")[:MAX_BODY]
    settings = runtime_of(current_app).settings
    form = {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": settings.twilio_account_sid,
        "From": sender,
        "To": settings.twilio_from,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }
    base = settings.public_url or request.host_url.rstrip("/")
    signature = RequestValidator(settings.twilio_auth_token).compute_signature(
        base + "/twilio/sms", form
    )
    client = current_app.test_client()
    result = client.post(
        "/twilio/sms",
        data=form,
        headers={"X-Twilio-Signature": signature},
        base_url=request.host_url,
    )
    if result.status_code != 200:
        return jsonify(error=f"le webhook a répondu {result.status_code}"), 502
    return jsonify(replies=_replies_from_twiml(result.get_data(as_text=True))), 200
