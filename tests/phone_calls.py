"""Phone calls for the phone-line tests: Twilio's voice webhooks posted turn by turn, each
answer checked against the TwiML rules, in French, and under 25 seconds (62 words)."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from bot.models import Appointment, Resident
from bot.runtime import Runtime
from tests.conftest import PUBLIC_URL, RESIDENT, SERVICE_NUMBER, Twilio
from tests.twiml_rules import twiml_problems
from webhooks.voice_text import MAX_WORDS

THIPI = "demo-thipi-thionville"
THIPI_PHONE = "+33353010101"
ACCOUNT_SID = "AC" + "1" * 32
ABBREVIATED_TIME = re.compile(r"\b\d{1,2}h\d{0,2}\b")
_call_numbers = itertools.count(1)


def new_call_sid() -> str:
    return f"CA{next(_call_numbers):032x}"


def path_of(url: str) -> str:
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
        return path_of(self.gather.attrib["action"])

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
    sid: str = field(default_factory=new_call_sid)
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


def asks_menu(heard: Heard) -> bool:
    return "tapez 1 pour les horaires" in heard.said and heard.gather is not None


def choose_thipi(call: Call) -> Heard:
    """Menu 1, Thionville, THI'PI: the caller is now talking about THI'PI."""
    call.start()
    call.press("1")
    listed = call.say("Thionville")
    assert "Pôle numérique THI'PI" in listed.said
    hours = call.press("1")
    assert "Pôle numérique THI'PI" in hours.said
    return hours


def rows_of(runtime: Runtime, model: Any) -> list[Any]:
    with runtime.sessions() as session:
        return list(session.scalars(select(model).order_by(model.id)))


def appointments_of(runtime: Runtime, phone: str = RESIDENT) -> list[Appointment]:
    with runtime.sessions() as session:
        resident = session.scalars(select(Resident).where(Resident.phone == phone)).one()
        return list(
            session.scalars(select(Appointment).where(Appointment.resident_id == resident.id))
        )


def dial_ended(call: Call, status: str) -> Heard:
    form = call.form(DialCallStatus=status, DialCallSid="CA" + "d" * 32, DialCallDuration="0")
    return call.post(f"/twilio/voice/dial-ended?place={THIPI}", form)


def leave_message(call: Call, path: str, **extra: str) -> Heard:
    form = call.form(
        CallStatus="completed",
        RecordingUrl="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
        RecordingSid="RE" + "e" * 32,
        RecordingDuration="14",
        Digits="hangup",
    )
    form.update(extra)
    return call.post(path, form)
