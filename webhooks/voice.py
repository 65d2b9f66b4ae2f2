"""POST /twilio/voice and the actions it names: the phone line, on the same flows as SMS.

    /twilio/voice                 a call comes in: greeting and menu (<Gather> keys and speech)
    /twilio/voice/answer?turn=N   what the caller said or typed; the next <Gather>
    /twilio/voice/dial-ended      the advisor did not answer: voicemail
    /twilio/voice/voicemail       the recording is done: kept, with a callback ticket
    /twilio/voice/transcription   Twilio's transcription of a recording, when it sends one

Every request is signed like SMS. TwiML comes from the official library; spoken text from
webhooks/voice_text.py. A retried webhook (same CallSid and turn) gets the first answer.
"""

from __future__ import annotations

import logging
import uuid
from urllib.parse import quote

from flask import Blueprint, Response, current_app, request
from twilio.twiml.voice_response import Gather, VoiceResponse

from bot import clock
from bot.database import transaction
from bot.dispatch.render import VOICE_LANGUAGE
from bot.privacy import mask_phone
from bot.runtime import Runtime, runtime_of
from bot.services.conversations import AlreadyHandled, claim_message, record_outcome
from bot.services.phone_numbers import normalise_number
from bot.services.voicemails import add_transcription, record_voicemail
from bot.wording import say
from flows.calls import (
    SPEECH_HINTS,
    VOICE_MANAGE,
    YES_NO,
    answer_call,
    start_call,
    transfer_unanswered,
)
from flows.messages import Reply
from flows.state import VOICE_MENU
from webhooks.forms import FormError, parse_voice_form, small_number
from webhooks.signature import twilio_signed
from webhooks.voice_text import MAX_WORDS, speakable, words

log = logging.getLogger(__name__)

blueprint = Blueprint("twilio_voice", __name__)

VOICE = "Polly.Lea"  # a French neural voice Twilio offers
ANSWER_SECONDS = 6  # to start answering after the prompt
DIAL_SECONDS = 25  # ringing before the voicemail
VOICEMAIL_SECONDS = 120
# Questions answered with one key: the reply goes as soon as it is pressed.
ONE_KEY = frozenset(
    [
        VOICE_MENU,
        VOICE_MANAGE,
        "slot_choice",
        "motif_choice",
        "place_choice",
        "commune_choice",
        "workshop_choice",
        "appointment_choice",
        "menu",
        *YES_NO,
    ]
)


def _url(runtime: Runtime, path: str) -> str:
    return f"{runtime.settings.public_url}{path}"


def _say(target: VoiceResponse | Gather, text: str) -> None:
    target.say(text, language=VOICE_LANGUAGE, voice=VOICE)


def _record(response: VoiceResponse, runtime: Runtime, place_id: str | None) -> None:
    query = f"?place={quote(place_id, safe='')}" if place_id else ""
    transcription: dict[str, object] = {}
    if runtime.settings.voicemail_transcribe:
        transcription = {
            "transcribe": True,
            "transcribe_callback": _url(runtime, "/twilio/voice/transcription"),
        }
    response.record(
        action=_url(runtime, f"/twilio/voice/voicemail{query}"),
        method="POST",
        max_length=VOICEMAIL_SECONDS,
        timeout=5,
        finish_on_key="#",
        play_beep=True,
        **transcription,
    )


def voice_twiml(reply: Reply, runtime: Runtime, turn: int, place_id: str | None = None) -> str:
    """The TwiML for a reply: put through, voicemail, goodbye, or ask and wait for an answer."""
    response = VoiceResponse()
    after = " ".join(speakable(part) for part in reply.parts)
    spoken = " ".join([speakable(reply.text, MAX_WORDS - words(after)), after]).strip()
    place_query = f"?place={quote(place_id, safe='')}" if place_id else ""
    if reply.transfer_to:
        _say(response, spoken)
        dial = response.dial(
            action=_url(runtime, f"/twilio/voice/dial-ended{place_query}"),
            method="POST",
            timeout=DIAL_SECONDS,
        )
        dial.number(reply.transfer_to)
    elif reply.voicemail:
        _say(response, spoken)
        _record(response, runtime, place_id)
    elif reply.end:
        _say(response, spoken)
        response.hangup()
    else:
        gather = Gather(
            input="dtmf speech",
            language=VOICE_LANGUAGE,
            hints=", ".join(SPEECH_HINTS),
            action=_url(runtime, f"/twilio/voice/answer?turn={turn + 1}"),
            method="POST",
            timeout=ANSWER_SECONDS,
            speech_timeout="auto",
            action_on_empty_result=True,
            finish_on_key="#",
            # One key answers a menu or a list at once; a postal code ends with # or a pause.
            **({"num_digits": 1} if reply.expects in ONE_KEY else {}),
        )
        _say(gather, spoken)
        response.append(gather)
    return str(response)


def _twiml(body: str) -> Response:
    return Response(body, mimetype="text/xml")


def _sorry() -> Response:
    """Never silence: an apology and a goodbye (the error is logged with an id)."""
    response = VoiceResponse()
    _say(response, speakable(say("error")))
    response.hangup()
    return _twiml(str(response))


def _handle(first: bool) -> Response:
    runtime = runtime_of(current_app)
    turn = small_number(request.args.get("turn"), 5) or 0
    try:
        inbound = parse_voice_form(request.form, clock.now(), str(turn))
    except FormError as exc:
        log.warning("malformed voice webhook form: %s", exc)
        return _sorry()
    try:
        with transaction(runtime.sessions) as session:
            claim = claim_message(session, inbound.provider_id, "voice", clock.now())
            if isinstance(claim, AlreadyHandled):
                return _twiml(claim.reply)
            if first:
                reply = start_call(session, inbound)
            else:
                reply = answer_call(session, runtime.nlu, inbound)
            body = voice_twiml(reply, runtime, turn, reply.place_id or None)
            record_outcome(claim, None, reply.key or None, None, body)
    except Exception:
        log.exception(
            "error %s on call %s from %s",
            uuid.uuid4().hex[:12],
            inbound.provider_id,
            mask_phone(inbound.sender),
        )
        return _sorry()
    log.info("call %s from %s: %s", inbound.provider_id, mask_phone(inbound.sender), reply.key)
    return _twiml(body)


@blueprint.post("/twilio/voice")
@twilio_signed
def incoming_call() -> Response:
    """A call comes in: greeting and the voice menu."""
    return _handle(first=True)


@blueprint.post("/twilio/voice/answer")
@twilio_signed
def call_answer() -> Response:
    """The caller's keys or words (or silence): the next prompt."""
    return _handle(first=False)


@blueprint.post("/twilio/voice/dial-ended")
@twilio_signed
def dial_ended() -> Response:
    """After <Dial>: done if the advisor answered, else an escalation and a voicemail.

    The escalation (reason "no_answer") is opened now: a caller who hangs up before the beep
    leaves no recording, and Twilio then never calls the voicemail action. A voicemail left
    next joins it (one escalation, shown as a voicemail).
    """
    runtime = runtime_of(current_app)
    if request.form.get("DialCallStatus") == "completed":
        response = VoiceResponse()
        response.hangup()
        return _twiml(str(response))
    place = (request.args.get("place") or "")[:200] or None
    try:
        inbound = parse_voice_form(request.form, clock.now(), "dial")
    except FormError as exc:
        log.warning("malformed dial-ended webhook form: %s", exc)
        return _sorry()
    try:
        with transaction(runtime.sessions) as session:
            claim = claim_message(session, inbound.provider_id, "voice", clock.now())
            if isinstance(claim, AlreadyHandled):
                return _twiml(claim.reply)
            reply = transfer_unanswered(session, inbound, place)
            body = voice_twiml(reply, runtime, 0, reply.place_id or place)
            record_outcome(claim, None, reply.key, None, body, place_id=reply.place_id or None)
    except Exception:
        log.exception(
            "error %s after an unanswered transfer on call %s",
            uuid.uuid4().hex[:12],
            inbound.provider_id,
        )
        # Never a hang-up on someone who wanted a person: the voicemail, without the details.
        fallback = Reply(f"{say('voice.no_answer')} {say('voice.voicemail')}", voicemail=True)
        return _twiml(voice_twiml(fallback, runtime, 0, place))
    return _twiml(body)


@blueprint.post("/twilio/voice/voicemail")
@twilio_signed
def voicemail_recorded() -> Response:
    """The recording is done: keep it with a callback ticket, thank the caller, hang up."""
    runtime = runtime_of(current_app)
    form = request.form
    phone = normalise_number(form.get("From") or form.get("Caller") or "")
    call_sid = (form.get("CallSid") or "").strip()[:64]
    recording_url = (form.get("RecordingUrl") or "").strip()[:500]
    duration = small_number(form.get("RecordingDuration"), 5)
    response = VoiceResponse()
    if not phone or not call_sid or not recording_url or not duration:
        _say(response, speakable(say("voice.voicemail_empty")))
        response.hangup()
        return _twiml(str(response))
    place = request.args.get("place") or None
    try:
        with transaction(runtime.sessions) as session:
            saved = record_voicemail(
                session,
                phone=phone,
                call_sid=call_sid,
                place_id=place[:200] if place else None,
                recording_url=recording_url,
                recording_sid=(form.get("RecordingSid") or "").strip()[:64],
                duration_seconds=duration,
                now=clock.now(),
            )
        log.info("voicemail %s from %s, ticket %s", saved.id, mask_phone(phone), saved.ticket_id)
    except Exception:
        log.exception("voicemail of call %s from %s not saved", call_sid, mask_phone(phone))
        return _sorry()
    _say(response, speakable(say("voice.voicemail_saved")))
    response.hangup()
    return _twiml(str(response))


@blueprint.post("/twilio/voice/transcription")
@twilio_signed
def transcription() -> Response:
    """Twilio's transcription of a voicemail (sent only when transcription is set up)."""
    runtime = runtime_of(current_app)
    text = (request.form.get("TranscriptionText") or "").strip()
    recording = (request.form.get("RecordingSid") or "").strip()[:64]
    if text and recording and request.form.get("TranscriptionStatus", "completed") == "completed":
        with transaction(runtime.sessions) as session:
            add_transcription(session, recording, text, clock.now())
    return Response(status=204)
