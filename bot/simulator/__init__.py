"""A local simulator: a chat page whose messages go through the real, signed /twilio/sms, and a
phone whose call goes through the real, signed /twilio/voice and the actions its TwiML names.

Requests are signed with the configured auth token exactly as Twilio signs them, so the
signature check stays on. Disabled in production (RELAIS_SIMULATOR=0 / RELAIS_ENV=production).
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

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


# --- the phone: a call through the real, signed /twilio/voice -------------------------------

API_VERSION = "2010-04-01"
MAX_SPEECH = 500
MAX_ACTION = 300
# The voice webhooks a TwiML action may name, and what the simulator sends to each.
VOICE_ACTIONS = {
    "/twilio/voice/answer": "gather",
    "/twilio/voice/dial-ended": "dial",
    "/twilio/voice/voicemail": "record",
}
_CALL_SID = re.compile(r"CA[0-9a-f]{32}")
_KEYS = frozenset("0123456789*#")


def _local_action(action: str, public_url: str) -> str | None:
    """The path and query of a voice action URL, or None unless it names a voice webhook."""
    action = action.strip()
    if not action or len(action) > MAX_ACTION:
        return None
    if public_url and action.startswith(public_url + "/"):
        action = action[len(public_url) :]
    parts = urlsplit(action)
    if parts.path not in VOICE_ACTIONS or parts.fragment:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _number(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and len(text) < 6 else None


def _call_from_twiml(twiml: str, public_url: str) -> dict[str, object]:
    """What the caller hears and what happens next, from the known verbs of the TwiML only.

    Twilio plays the verbs in order and leaves the document at a <Gather>, <Dial> or <Record>
    with an action (their action gets the next request) or at <Hangup>.
    """
    said: list[str] = []
    step: dict[str, object] = {"kind": None, "action": None}
    ended = True
    for verb in ET.fromstring(twiml):
        if verb.tag == "Say":
            said.append((verb.text or "").strip())
        elif verb.tag == "Gather":
            said += [(say.text or "").strip() for say in verb.iter("Say")]
            step = {"kind": "gather", "numDigits": _number(verb.get("numDigits"))}
        elif verb.tag == "Dial":
            number = verb.find("Number")
            target = number.text if number is not None else verb.text
            step = {"kind": "dial", "number": (target or "").strip()[:32]}
        elif verb.tag == "Record":
            step = {"kind": "record", "maxLength": _number(verb.get("maxLength"))}
        elif verb.tag == "Hangup":
            break
        else:
            continue  # <Pause>, <Play>…: nothing to show
        if verb.tag in {"Gather", "Dial", "Record"}:
            action = _local_action(verb.get("action") or "", public_url)
            if action is not None and VOICE_ACTIONS[urlsplit(action).path] == step["kind"]:
                step["action"] = action
                ended = False
            else:
                step = {"kind": None, "action": None}
            break
    return {"said": [text for text in said if text], **step, "ended": ended}


def _post_voice(path: str, form: dict[str, str]) -> tuple[Response, int]:
    """Sign the form for the URL the webhook will see, post it, describe the TwiML."""
    settings = runtime_of(current_app).settings
    base = settings.public_url or request.host_url.rstrip("/")
    signature = RequestValidator(settings.twilio_auth_token).compute_signature(base + path, form)
    result = current_app.test_client().post(
        path,
        data=form,
        headers={"X-Twilio-Signature": signature},
        base_url=request.host_url,
    )
    if result.status_code != 200:
        return jsonify(error=f"le webhook a répondu {result.status_code}"), 502
    try:
        call = _call_from_twiml(result.get_data(as_text=True), settings.public_url)
    except ET.ParseError:
        return jsonify(error="le webhook n'a pas répondu en TwiML"), 502
    return jsonify(call=form["CallSid"], **call), 200


def _call_form(sender: str, call_sid: str, status: str) -> dict[str, str]:
    settings = runtime_of(current_app).settings
    return {
        "CallSid": call_sid,
        "AccountSid": settings.twilio_account_sid,
        "From": sender,
        "To": settings.twilio_from,
        "Caller": sender,
        "Called": settings.twilio_from,
        "CallStatus": status,
        "Direction": "inbound",
        "ApiVersion": API_VERSION,
    }


@blueprint.post("/simulateur/appeler")
def call() -> tuple[Response, int]:
    """Start a call: sign a Twilio voice form and post it to /twilio/voice."""
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return jsonify(error="JSON attendu"), 400
    sender = str(payload.get("from") or DEFAULT_SENDER)[:32]
    return _post_voice("/twilio/voice", _call_form(sender, "CA" + uuid.uuid4().hex, "ringing"))


@blueprint.post("/simulateur/repondre")
def answer() -> tuple[Response, int]:
    """The caller's keys, words or silence, a recorded message, or a transfer nobody answers.

    Posted to the action of the last TwiML, with the fields Twilio sends to that action. The
    simulator cannot ring a real phone, so a transfer always ends "no-answer".
    """
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return jsonify(error="JSON attendu"), 400
    settings = runtime_of(current_app).settings
    call_sid = str(payload.get("call") or "")
    path = _local_action(str(payload.get("action") or ""), settings.public_url)
    if not _CALL_SID.fullmatch(call_sid) or path is None:
        return jsonify(error="appel ou action inconnus"), 400
    sender = str(payload.get("from") or DEFAULT_SENDER)[:32]
    hung_up = payload.get("hangup") is True
    form = _call_form(sender, call_sid, "completed" if hung_up else "in-progress")
    kind = VOICE_ACTIONS[urlsplit(path).path]
    if kind == "gather":
        digits = "".join(c for c in str(payload.get("digits") or "") if c in _KEYS)[:20]
        speech = " ".join(str(payload.get("speech") or "").split())[:MAX_SPEECH]
        if digits:
            form["Digits"] = digits
        if speech:
            form.update(SpeechResult=speech, Confidence="0.92")
    elif kind == "record":
        # Only a recording reaches Twilio; its length stands in for the message typed.
        words = len(str(payload.get("message") or "").split())
        recording = "RE" + uuid.uuid4().hex
        form.update(
            RecordingSid=recording,
            RecordingUrl=(
                f"https://api.twilio.com/{API_VERSION}/Accounts/"
                f"{settings.twilio_account_sid}/Recordings/{recording}"
            ),
            RecordingDuration=str(min(120, (words * 2 + 4) // 5) if words else 0),
            Digits="hangup" if hung_up else "#",
        )
    else:
        form.update(DialCallStatus="no-answer", DialCallSid="CA" + uuid.uuid4().hex)
    return _post_voice(path, form)
