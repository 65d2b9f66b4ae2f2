"""The TwiML checker the phone-line tests rely on (tests/twiml_rules.py): it accepts what the
official library writes and reports what Twilio refuses."""

from __future__ import annotations

import pytest

from tests.twiml_rules import twiml_problems

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
