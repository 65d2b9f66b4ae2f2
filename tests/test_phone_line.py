"""A resident calls the phone line: the voice menu, places and hours, booking, silences, bad input.

Each call is a script of signed voice webhooks with Twilio's real field names, following the
action URLs of the TwiML as Twilio would. Every answer must follow Twilio's TwiML rules
(tests/twiml_rules.py), be said in French (fr-FR) and take at most 25 seconds to hear (62 words,
webhooks/voice_text.py). The clock is frozen at Monday 2026-11-23 10:00 (Paris); Pôle numérique
THI'PI (Thionville, +33353010101) is open Monday to Friday 9:00-12:00 and 14:00-17:00.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.models import Voicemail
from bot.runtime import Runtime
from tests.conftest import PUBLIC_URL, RESIDENT, SERVICE_NUMBER, Clock, Twilio
from tests.phone_calls import (
    ACCOUNT_SID,
    THIPI,
    Call,
    appointments_of,
    asks_menu,
    check_twiml,
    choose_thipi,
    rows_of,
)

# --- (a) places and hours ----------------------------------------------------------------------


def test_caller_types_a_postal_code_and_hears_the_nearest_places_with_their_hours(
    call: Call,
) -> None:
    greeting = call.start()
    assert greeting.said.startswith("Bonjour, ici Relais")
    assert asks_menu(greeting)
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
    hours = choose_thipi(call)
    assert "du lundi au vendredi de 9 heures à midi et de 14 heures à 17 heures" in hours.said


# --- (b) booking by voice ----------------------------------------------------------------------


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
    (appointment,) = appointments_of(runtime)
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
    assert len(appointments_of(runtime)) == 1


# --- (e) silence ----------------------------------------------------------------------------------


def test_a_silent_caller_hears_the_question_again_then_gets_a_person(
    call: Call, twilio: Twilio
) -> None:
    choose_thipi(call)  # an earlier call: the caller's place is THI'PI, open now
    again = Call(twilio)
    greeting = again.start()
    repeated = again.silence()
    assert repeated.said.startswith("Je ne vous ai pas entendu.")
    assert asks_menu(repeated)
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
    assert asks_menu(lost)
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
    assert rows_of(runtime, Voicemail) == []


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
    assert asks_menu(greeting)
    # "1" is the menu's "places and hours", not the first slot of the earlier call.
    assert "C'est noté" not in again.press("1").said
    assert appointments_of(runtime) == []


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
    assert len(appointments_of(runtime, phone=f"appel-{first.sid[-24:]}")) == 1
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
    (booked,) = appointments_of(runtime)
    call = Call(twilio)  # a second call
    call.start()
    call.press("2")
    call.press("1")  # cancel: "Voulez-vous l'annuler ?"
    unsure = call.answer(SpeechResult="oui", Confidence="0.35")
    assert unsure.said.startswith("Pardon, je n'ai pas bien entendu.")
    assert appointments_of(runtime)[0].status == "booked"
    assert "annulé" in call.answer(SpeechResult="oui", Confidence="0.91").said
    assert appointments_of(runtime)[0].status == "cancelled"
    assert booked.id == appointments_of(runtime)[0].id


def test_menu_2_with_an_appointment_offers_to_cancel_or_move_it(
    call: Call, twilio: Twilio, runtime: Runtime
) -> None:
    call.start()
    call.press("2")
    call.say("Thionville")
    call.press("1")
    call.say("passer")
    assert len(appointments_of(runtime)) == 1
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
    assert appointments_of(runtime) == []
