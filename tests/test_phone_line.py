"""A resident calls the phone line: the voice menu, places and hours, booking, a person.

Each call is a script of signed voice webhooks with Twilio's real field names, following the
action URLs of the TwiML as Twilio would. Every answer must follow Twilio's TwiML rules
(tests/twiml_rules.py), be said in French (fr-FR) and take at most 25 seconds to hear (62 words,
webhooks/voice_text.py). The clock is frozen at Monday 2026-11-23 10:00 (Paris); Pôle numérique
THI'PI (Thionville, +33353010101) is open Monday to Friday 9:00-12:00 and 14:00-17:00.
"""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from bot.models import Appointment, CallbackTicket, Resident, Voicemail
from bot.runtime import Runtime
from tests.conftest import PUBLIC_URL, RESIDENT, SERVICE_NUMBER, Clock, Twilio
from tests.twiml_rules import twiml_problems
from webhooks.voice_text import MAX_WORDS

THIPI = "demo-thipi-thionville"
THIPI_PHONE = "+33353010101"
ACCOUNT_SID = "AC" + "1" * 32
ABBREVIATED_TIME = re.compile(r"\b\d{1,2}h\d{0,2}\b")
_call_numbers = itertools.count(1)


def _call_sid() -> str:
    return f"CA{next(_call_numbers):032x}"


def _path(url: str) -> str:
    """The path Twilio would post to, from an absolute action URL of our TwiML."""
    assert url.startswith(PUBLIC_URL), url
    return url[len(PUBLIC_URL) :]


@dataclass
class Heard:
    """One TwiML answer: the document, what is said, and where Twilio goes next."""

    xml: str
    root: ET.Element

    @property
    def said(self) -> str:
        return " ".join("".join(say.itertext()) for say in self.root.iter("Say"))

    @property
    def gather(self) -> ET.Element | None:
        return self.root.find("Gather")

    @property
    def next_path(self) -> str:
        assert self.gather is not None, self.xml
        return _path(self.gather.attrib["action"])

    def has(self, tag: str) -> bool:
        return self.root.find(tag) is not None


def check_twiml(body: str) -> Heard:
    """Parse a voice answer and check it against Twilio's rules and our 25-second rule."""
    assert twiml_problems(body) == [], body
    root = ET.fromstring(body)
    says = list(root.iter("Say"))
    for say in says:
        text = "".join(say.itertext())
        assert say.attrib.get("language") == "fr-FR", body
        assert len(text.split()) <= MAX_WORDS, f"{len(text.split())} words: {text}"
        assert not ABBREVIATED_TIME.search(text), text
    gather = root.find("Gather")
    if gather is not None:
        assert gather.attrib.get("language") == "fr-FR", body
    # Never silence: every answer says something or hangs up after a goodbye.
    assert says or root.find("Hangup") is not None, body
    return Heard(body, root)


@dataclass
class Call:
    """One phone call from a resident, turn by turn, as Twilio posts it."""

    twilio: Twilio
    caller: str = RESIDENT
    sid: str = field(default_factory=_call_sid)
    heard: Heard | None = None

    def form(self, **extra: str) -> dict[str, str]:
        """Twilio's voice webhook parameters for this call."""
        form = {
            "CallSid": self.sid,
            "AccountSid": ACCOUNT_SID,
            "From": self.caller,
            "To": SERVICE_NUMBER,
            "CallStatus": "in-progress",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
        }
        form.update(extra)
        return form

    def post(self, path: str, form: dict[str, str]) -> Heard:
        response = self.twilio.post(path, form)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.mimetype == "text/xml"
        self.heard = check_twiml(response.get_data(as_text=True))
        return self.heard

    def start(self) -> Heard:
        """The phone rings: greeting and menu."""
        return self.post("/twilio/voice", self.form(CallStatus="ringing"))

    def answer(self, **extra: str) -> Heard:
        """Answer the last <Gather> (keys, speech, or nothing) at its action URL."""
        assert self.heard is not None
        return self.post(self.heard.next_path, self.form(**extra))

    def press(self, digits: str) -> Heard:
        return self.answer(Digits=digits)

    def say(self, speech: str) -> Heard:
        return self.answer(SpeechResult=speech, Confidence="0.87")

    def silence(self) -> Heard:
        return self.answer()


@pytest.fixture
def call(twilio: Twilio) -> Call:
    """A call from the resident."""
    return Call(twilio)


def _asks_menu(heard: Heard) -> bool:
    return "tapez 1 pour les horaires" in heard.said and heard.gather is not None


def _choose_thipi(call: Call) -> Heard:
    """Menu 1, Thionville, THI'PI: the caller is now talking about THI'PI."""
    call.start()
    call.press("1")
    listed = call.say("Thionville")
    assert "Pôle numérique THI'PI" in listed.said
    hours = call.press("1")
    assert "Pôle numérique THI'PI" in hours.said
    return hours


def _rows(runtime: Runtime, model: Any) -> list[Any]:
    with runtime.sessions() as session:
        return list(session.scalars(select(model).order_by(model.id)))


# --- the TwiML checker itself ------------------------------------------------------------------


def test_twiml_checker_accepts_what_the_official_library_writes() -> None:
    from twilio.twiml.voice_response import Gather, VoiceResponse

    response = VoiceResponse()
    gather = Gather(input="dtmf speech", num_digits=1, language="fr-FR", action="/a", timeout=6)
    gather.say("Bonjour", language="fr-FR", voice="Polly.Lea")
    response.append(gather)
    response.say("Au revoir", language="fr-FR")
    response.dial(action="/d", timeout=25).number("+33353010101")
    response.record(max_length=120, play_beep=True, finish_on_key="#")
    response.redirect("/again")
    response.hangup()
    assert twiml_problems(str(response)) == []


@pytest.mark.parametrize(
    ("xml", "problem"),
    [
        ('<Response><Gather numdigits="1"><Say>a</Say></Gather></Response>', "numdigits"),
        ('<Response><Gather input="keys"/></Response>', "input"),
        ('<Response><Gather numDigits="0"/></Response>', "numDigits"),
        ('<Response><Gather speechTimeout="soon"/></Response>', "speechTimeout"),
        ('<Response><Gather finishOnKey="A"/></Response>', "finishOnKey"),
        ('<Response><Gather method="PUT"/></Response>', "method"),
        ('<Response><Gather language="fr"/></Response>', "language"),
        ("<Response><Gather><Dial>+33353010101</Dial></Gather></Response>", "<Dial>"),
        ('<Response><Record maxLength="two"/></Response>', "maxLength"),
        ('<Response><Record playBeep="yes"/></Response>', "playBeep"),
        ('<Response><Gather actionOnEmptyResult="1"/></Response>', "actionOnEmptyResult"),
        ("<Response><Dial><Say>a</Say></Dial></Response>", "<Say>"),
        ("<Response><Number>+33353010101</Number></Response>", "<Number>"),
        ("<Response><Say/></Response>", "needs text"),
        ("<Response><Hangup>now</Hangup></Response>", "holds text"),
        ("<Response><Speak>a</Speak></Response>", "<Speak>"),
        ("<Response><Message>a</Message><Say>b</Say></Response>", "<Say>"),
        ("<Response><Message><Body>a</Body><Play>x</Play></Message></Response>", "<Play>"),
        ("<Reponse/>", "root"),
        ("<Response><Say>a</Response>", "well-formed"),
    ],
)
def test_twiml_checker_reports_what_twilio_refuses(xml: str, problem: str) -> None:
    problems = twiml_problems(xml)
    assert any(problem in p for p in problems), problems


def test_twiml_checker_accepts_a_messaging_response() -> None:
    xml = '<Response><Message action="/s" method="POST"><Body>Bonjour</Body></Message></Response>'
    assert twiml_problems(xml) == []


# --- (a) places and hours ----------------------------------------------------------------------


def test_caller_types_a_postal_code_and_hears_the_nearest_places_with_their_hours(
    call: Call,
) -> None:
    greeting = call.start()
    assert greeting.said.startswith("Bonjour, ici Relais")
    assert _asks_menu(greeting)
    asked = call.press("1")
    assert "Dans quelle commune" in asked.said
    communes = call.press("57100")
    assert "Thionville, tapez 1" in communes.said
    places = call.press("1")
    assert "Près de Thionville" in places.said
    assert "Pôle numérique THI'PI, 12 rue du Cygne" in places.said
    assert "heures" in places.said or "midi" in places.said
    assert "14 heures" in places.said


def test_caller_who_picks_a_place_hears_its_opening_hours_in_words(call: Call) -> None:
    hours = _choose_thipi(call)
    assert "du lundi au vendredi de 9 heures à midi et de 14 heures à 17 heures" in hours.said


# --- (b) booking by voice ----------------------------------------------------------------------


def _appointments(runtime: Runtime, phone: str = RESIDENT) -> list[Appointment]:
    with runtime.sessions() as session:
        resident = session.scalars(select(Resident).where(Resident.phone == phone)).one()
        return list(
            session.scalars(select(Appointment).where(Appointment.resident_id == resident.id))
        )


def test_caller_books_an_appointment_with_keys_and_speech(call: Call, runtime: Runtime) -> None:
    call.start()
    asked = call.press("2")
    assert "Dans quelle commune" in asked.said
    slots = call.say("Thionville")
    assert "Rendez-vous libres à Pôle numérique THI'PI" in slots.said
    assert "mardi 24 novembre à 9 heures, tapez 1." in slots.said
    assert "mardi 24 novembre à 9 heures 45, tapez 2." in slots.said
    assert "Tapez 1, 2 ou 3" in slots.said
    motif = call.press("1")
    assert "C'est noté pour le mardi 24 novembre à 9 heures." in motif.said
    assert "e-mail, tapez 1." in motif.said
    confirmation = call.press("1")
    assert "Rendez-vous confirmé : le mardi 24 novembre à 9 heures" in confirmation.said
    assert "12 rue du Cygne, Thionville" in confirmation.said
    (appointment,) = _appointments(runtime)
    assert appointment.status == "booked"
    assert appointment.place_id == THIPI
    assert appointment.motif == "email"
    assert appointment.starts_at == datetime.fromisoformat("2026-11-24T09:00:00+01:00")


def test_caller_who_says_passer_at_the_motif_gets_the_booking(call: Call, runtime: Runtime) -> None:
    """On the phone 0 always means a person, so the reason question says "dites passer"."""
    call.start()
    call.press("2")
    call.say("Thionville")
    motif = call.press("1")
    assert "0 pour passer" not in motif.said
    assert "ou dites passer" in motif.said
    confirmation = call.say("passer")
    assert "Rendez-vous confirmé" in confirmation.said
    assert len(_appointments(runtime)) == 1


# --- (c) a person, while the place is open --------------------------------------------------------


def test_caller_asking_for_a_person_is_put_through_to_the_open_place(call: Call) -> None:
    _choose_thipi(call)
    transfer = call.press("0")
    assert "Je vous passe un conseiller de Pôle numérique THI'PI" in transfer.said
    dial = transfer.root.find("Dial")
    assert dial is not None
    assert dial.attrib["action"] == f"{PUBLIC_URL}/twilio/voice/dial-ended?place={THIPI}"
    assert dial.attrib["method"] == "POST"
    assert [n.text for n in dial.iter("Number")] == [THIPI_PHONE]
    assert not transfer.has("Gather")


def _dial_ended(call: Call, status: str) -> Heard:
    form = call.form(DialCallStatus=status, DialCallSid="CA" + "d" * 32, DialCallDuration="0")
    return call.post(f"/twilio/voice/dial-ended?place={THIPI}", form)


@pytest.mark.parametrize("status", ["no-answer", "busy", "failed"])
def test_an_unanswered_transfer_ends_in_a_voicemail(call: Call, status: str) -> None:
    _choose_thipi(call)
    call.press("0")
    voicemail = _dial_ended(call, status)
    assert "Le conseiller ne répond pas." in voicemail.said
    assert "Laissez votre nom et votre message après le bip" in voicemail.said
    record = voicemail.root.find("Record")
    assert record is not None
    assert record.attrib["maxLength"] == "120"
    assert _path(record.attrib["action"]).startswith("/twilio/voice/voicemail")


def test_an_answered_transfer_just_ends(call: Call) -> None:
    _choose_thipi(call)
    call.press("0")
    ended = _dial_ended(call, "completed")
    assert ended.has("Hangup") and not ended.has("Record")


def test_voicemail_after_an_unanswered_transfer_is_filed_under_that_place(
    call: Call, runtime: Runtime
) -> None:
    _choose_thipi(call)
    call.press("0")
    voicemail = _dial_ended(call, "no-answer")
    record = voicemail.root.find("Record")
    assert record is not None
    _leave_message(call, _path(record.attrib["action"]))
    (ticket,) = _rows(runtime, CallbackTicket)
    assert ticket.place_id == THIPI


# --- (d) after hours: voicemail and a callback ticket -------------------------------------------


def _leave_message(call: Call, path: str, **extra: str) -> Heard:
    form = call.form(
        CallStatus="completed",
        RecordingUrl="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
        RecordingSid="RE" + "e" * 32,
        RecordingDuration="14",
        Digits="hangup",
    )
    form.update(extra)
    return call.post(path, form)


@pytest.mark.parametrize(
    "when", ["2026-11-23T21:00:00+01:00", "2026-11-29T10:00:00+01:00"], ids=["evening", "sunday"]
)
def test_after_hours_a_caller_leaves_a_voicemail_and_gets_a_callback_ticket(
    call: Call, twilio: Twilio, runtime: Runtime, frozen: Clock, when: str
) -> None:
    frozen.set(when)
    _choose_thipi(call)
    prompt = call.press("0")
    assert "Les conseillers ne sont pas disponibles" in prompt.said
    assert "après le bip" in prompt.said
    assert not prompt.has("Dial")
    record = prompt.root.find("Record")
    assert record is not None
    assert record.attrib["maxLength"] == "120"
    assert record.attrib["playBeep"] == "true"
    path = _path(record.attrib["action"])
    assert path == f"/twilio/voice/voicemail?place={THIPI}"

    saved = _leave_message(call, path)
    assert "enregistré" in saved.said
    assert saved.has("Hangup")
    (voicemail,) = _rows(runtime, Voicemail)
    assert voicemail.call_sid == call.sid
    assert voicemail.place_id == THIPI
    assert voicemail.duration_seconds == 14
    (ticket,) = _rows(runtime, CallbackTicket)
    assert ticket.status == "open"
    assert ticket.voicemail_id == voicemail.id
    assert ticket.place_id == THIPI

    # Twilio retries the action: same answer, still one voicemail and one ticket.
    again = _leave_message(call, path)
    assert again.xml == saved.xml
    assert len(_rows(runtime, Voicemail)) == 1
    assert len(_rows(runtime, CallbackTicket)) == 1

    transcription = {
        "AccountSid": ACCOUNT_SID,
        "CallSid": call.sid,
        "RecordingSid": voicemail.recording_sid,
        "RecordingUrl": voicemail.recording_url,
        "TranscriptionSid": "TR" + "f" * 32,
        "TranscriptionText": "Bonjour, c'est madame Martin, rappelez-moi pour mes impôts.",
        "TranscriptionStatus": "completed",
        "TranscriptionUrl": "https://api.twilio.com/2010-04-01/Accounts/AC1/Transcriptions/TR1",
        "From": RESIDENT,
        "To": SERVICE_NUMBER,
    }
    assert twilio.post("/twilio/voice/transcription", transcription).status_code == 204
    (voicemail,) = _rows(runtime, Voicemail)
    assert voicemail.transcription == transcription["TranscriptionText"]


def test_an_empty_recording_keeps_nothing_and_says_goodbye(call: Call, runtime: Runtime) -> None:
    call.start()
    saved = _leave_message(call, "/twilio/voice/voicemail", RecordingDuration="0")
    assert "Je n'ai pas reçu de message" in saved.said
    assert saved.has("Hangup")
    assert _rows(runtime, Voicemail) == []


# --- (e) silence ----------------------------------------------------------------------------------


def test_a_silent_caller_hears_the_question_again_then_gets_a_person(
    call: Call, twilio: Twilio
) -> None:
    _choose_thipi(call)  # an earlier call: the caller's place is THI'PI, open now
    again = Call(twilio)
    greeting = again.start()
    repeated = again.silence()
    assert repeated.said.startswith("Je ne vous ai pas entendu.")
    assert _asks_menu(repeated)
    menu = greeting.said.removeprefix(
        "Bonjour, ici Relais, l'assistant des conseillers numériques."
    )
    assert repeated.said.endswith(menu.strip())
    person = again.silence()
    assert "Je vous passe un conseiller de Pôle numérique THI'PI" in person.said
    assert person.has("Dial") and not person.has("Hangup")


def test_a_silent_caller_after_hours_gets_the_voicemail(call: Call, frozen: Clock) -> None:
    frozen.set("2026-11-23T21:00:00+01:00")
    call.start()
    call.silence()
    voicemail = call.silence()
    assert "après le bip" in voicemail.said
    assert voicemail.has("Record")


def test_star_after_a_silence_repeats_the_question_not_the_apology(call: Call) -> None:
    call.start()
    call.press("2")
    call.silence()
    repeated = call.press("*")
    assert repeated.said == "Dans quelle commune habitez-vous ? Dites son nom ou son code postal."


def test_a_one_key_question_answers_as_soon_as_the_key_is_pressed(call: Call) -> None:
    greeting = call.start()
    assert greeting.gather is not None
    assert greeting.gather.attrib.get("numDigits") == "1"


# --- (f) repeat, not understood, retries, forgery, hang-ups --------------------------------------


def test_star_repeats_the_last_prompt(call: Call) -> None:
    call.start()
    call.press("2")
    slots = call.say("Thionville")
    repeated = call.press("*")
    assert repeated.said == slots.said
    assert repeated.gather is not None
    # The slot question is still pending: a key still books.
    assert "C'est noté pour le mardi 24 novembre à 9 heures" in call.press("1").said


def test_an_unknown_key_at_the_menu_is_not_understood_and_the_menu_comes_again(call: Call) -> None:
    call.start()
    lost = call.press("9")
    assert lost.said.startswith("Pardon, je n'ai pas compris.")
    assert _asks_menu(lost)
    assert "Dans quelle commune" in call.press("2").said


def test_a_very_long_speech_gets_a_sensible_answer(call: Call) -> None:
    call.start()
    speech = ("je voudrais savoir comment faire pour ma déclaration d'impôts en ligne " * 40)[:2000]
    heard = call.say(speech)
    assert heard.gather is not None or heard.has("Dial") or heard.has("Record")


def test_a_retried_webhook_gets_the_same_twiml(
    call: Call, twilio: Twilio, runtime: Runtime
) -> None:
    call.start()
    menu_path = call.heard.next_path if call.heard else ""
    first = twilio.post(menu_path, call.form(Digits="2"))
    retry = twilio.post(menu_path, call.form(Digits="2"))
    assert first.status_code == retry.status_code == 200
    assert retry.get_data() == first.get_data()
    start = twilio.post("/twilio/voice", call.form(CallStatus="ringing"))
    assert b"Bonjour, ici Relais" in start.get_data()
    check_twiml(start.get_data(as_text=True))


VOICE_PATHS = [
    "/twilio/voice",
    "/twilio/voice/answer?turn=1",
    "/twilio/voice/dial-ended",
    "/twilio/voice/voicemail?place=demo-thipi-thionville",
    "/twilio/voice/transcription",
]


@pytest.mark.parametrize("path", VOICE_PATHS)
@pytest.mark.parametrize("forgery", ["unsigned", "wrong token", "other url", "tampered form"])
def test_unsigned_or_forged_voice_webhooks_are_refused(
    twilio: Twilio, runtime: Runtime, path: str, forgery: str
) -> None:
    call = Call(twilio)
    form = call.form(
        Digits="1", RecordingUrl="https://x", RecordingDuration="5", DialCallStatus="no-answer"
    )
    if forgery == "unsigned":
        signature = ""
    elif forgery == "wrong token":
        signature = Twilio(twilio.client, token="not-our-token").signature(path, form)
    elif forgery == "other url":
        signature = twilio.signature("/twilio/sms", form)
    else:
        signature = twilio.signature(path, form)
        form = {**form, "Digits": "0"}
    response = twilio.post(path, form, signature=signature)
    assert response.status_code == 403
    assert _rows(runtime, Voicemail) == []


def test_a_caller_who_hung_up_mid_booking_starts_afresh(
    call: Call, twilio: Twilio, runtime: Runtime
) -> None:
    call.start()
    call.press("2")
    call.say("Thionville")  # the slots are read; the caller hangs up
    status = {
        "CallSid": call.sid,
        "AccountSid": ACCOUNT_SID,
        "From": RESIDENT,
        "To": SERVICE_NUMBER,
        "CallStatus": "completed",
        "CallDuration": "41",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
        "Timestamp": "Mon, 23 Nov 2026 09:01:00 +0000",
    }
    assert twilio.post("/twilio/status", status).status_code == 204

    again = Call(twilio)
    greeting = again.start()
    assert greeting.said.startswith("Bonjour, ici Relais")
    assert _asks_menu(greeting)
    # "1" is the menu's "places and hours", not the first slot of the earlier call.
    assert "C'est noté" not in again.press("1").said
    assert _appointments(runtime) == []


def test_an_unknown_key_is_never_a_dead_end(call: Call) -> None:
    call.start()
    for _ in range(4):
        heard = call.press("9")
        assert heard.gather is not None or heard.has("Dial") or heard.has("Record"), heard.xml
        if heard.gather is None:
            break
    else:
        pytest.fail("four unknown keys and still no person offered")


@pytest.mark.parametrize("transcribe", [False, True])
def test_voicemails_are_transcribed_only_when_asked(runtime: Runtime, transcribe: bool) -> None:
    """Twilio's <Record transcribe> understands English only: off unless configured."""
    from dataclasses import replace

    from flows.messages import Reply
    from webhooks.voice import voice_twiml

    configured = replace(
        runtime, settings=runtime.settings.with_overrides(voicemail_transcribe=transcribe)
    )
    reply = Reply("Laissez votre message après le bip.", voicemail=True, key="voice.voicemail")
    heard = check_twiml(voice_twiml(reply, configured, 3, "demo-thipi-thionville"))
    record = heard.root.find("Record")
    assert record is not None
    if transcribe:
        assert record.attrib["transcribe"] == "true"
        assert record.attrib["transcribeCallback"] == f"{PUBLIC_URL}/twilio/voice/transcription"
    else:
        assert "transcribe" not in record.attrib


# --- review: callers the first version served badly ---------------------------------------------


def test_withheld_callers_never_share_a_memory(twilio: Twilio, runtime: Runtime) -> None:
    first = Call(twilio, caller="anonymous")
    first.start()
    first.press("2")
    first.say("Thionville")
    first.press("1")
    first.say("passer")
    assert len(_appointments(runtime, phone=f"appel-{first.sid[-24:]}")) == 1
    second = Call(twilio, caller="anonymous")
    second.start()
    heard = second.press("2")  # not the first caller's appointment
    assert "Dans quelle commune" in heard.said


def test_a_withheld_caller_is_asked_for_a_number_in_the_voicemail(
    twilio: Twilio, frozen: Clock
) -> None:
    frozen.set("2026-11-23T21:00:00+01:00")
    anonymous = Call(twilio, caller="anonymous")
    anonymous.start()
    anonymous.silence()
    voicemail = anonymous.silence()
    assert "Votre numéro est masqué" in voicemail.said
    assert voicemail.has("Record")


def test_speech_heard_badly_is_asked_again_not_acted_on(
    call: Call, twilio: Twilio, runtime: Runtime
) -> None:
    call.start()
    call.press("2")
    call.say("Thionville")
    call.press("1")
    call.say("passer")
    (booked,) = _appointments(runtime)
    call = Call(twilio)  # a second call
    call.start()
    call.press("2")
    call.press("1")  # cancel: "Voulez-vous l'annuler ?"
    unsure = call.answer(SpeechResult="oui", Confidence="0.35")
    assert unsure.said.startswith("Pardon, je n'ai pas bien entendu.")
    assert _appointments(runtime)[0].status == "booked"
    assert "annulé" in call.answer(SpeechResult="oui", Confidence="0.91").said
    assert _appointments(runtime)[0].status == "cancelled"
    assert booked.id == _appointments(runtime)[0].id


def test_menu_2_with_an_appointment_offers_to_cancel_or_move_it(
    call: Call, twilio: Twilio, runtime: Runtime
) -> None:
    call.start()
    call.press("2")
    call.say("Thionville")
    call.press("1")
    call.say("passer")
    assert len(_appointments(runtime)) == 1
    call = Call(twilio)  # a second call
    call.start()
    mine = call.press("2")
    assert "Votre rendez-vous : le mardi 24 novembre à 9 heures" in mine.said
    assert "Pour l'annuler, tapez 1. Pour le déplacer, tapez 2." in mine.said
    assert mine.gather is not None and mine.gather.attrib.get("numDigits") == "1"
    confirm = call.press("1")
    assert "dites oui ou tapez 1. Sinon, dites non ou tapez 2." in confirm.said
    assert "annulé" in call.press("1").said


def test_zero_said_aloud_is_the_zero_key(call: Call) -> None:
    call.start()
    heard = call.say("zéro")
    assert "Dans quelle commune" in heard.said  # which advisor: the nearest one


def test_zero_without_a_place_asks_where_then_puts_through(call: Call) -> None:
    call.start()
    assert "Dans quelle commune" in call.press("0").said
    through = call.say("Thionville")
    dial = through.root.find("Dial")
    assert dial is not None, through.xml
    assert [n.text for n in dial.iter("Number")] != []


def test_hanging_up_clears_the_question_for_a_later_sms(
    call: Call, twilio: Twilio, runtime: Runtime
) -> None:
    call.start()
    call.press("2")
    call.say("Thionville")  # slots listed, then the caller hangs up
    status = twilio.post("/twilio/status", call.form(CallStatus="completed", CallDuration="40"))
    assert status.status_code == 204
    reply = twilio.text("1")  # an SMS "1" later is not a slot chosen on the phone
    assert "C'est noté pour le" not in reply
    assert _appointments(runtime) == []
