"""A checker of TwiML documents against Twilio's TwiML rules, for tests.

`twiml_problems(xml)` lists what Twilio would refuse or ignore in a document: an unknown verb or
noun, a verb nested where it may not be, an attribute Twilio does not know (names are camelCase,
exactly as in the docs), and values that are cheap to check (methods, booleans, integers, input
kinds, languages, keys). An empty list means the document follows the rules we know.

Sources (attribute tables and "nesting" sections of each page):
- https://www.twilio.com/docs/voice/twiml (verbs allowed in a voice <Response>)
- https://www.twilio.com/docs/voice/twiml/say (and .../say/text-speech for SSML tags)
- https://www.twilio.com/docs/voice/twiml/play
- https://www.twilio.com/docs/voice/twiml/pause
- https://www.twilio.com/docs/voice/twiml/gather ("Nest other verbs": Say, Play, Pause only)
- https://www.twilio.com/docs/voice/twiml/dial and its nouns .../dial/number, .../client,
  .../sip, .../conference, .../queue, .../sim, .../application
- https://www.twilio.com/docs/voice/twiml/record
- https://www.twilio.com/docs/voice/twiml/hangup, .../redirect, .../reject, .../enqueue,
  .../leave, .../sms
- https://www.twilio.com/docs/messaging/twiml and .../messaging/twiml/message,
  .../messaging/twiml/redirect
The attribute names also match the keyword arguments of the official Python library
(twilio.twiml.voice_response, twilio.twiml.messaging_response), turned into camelCase.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field

Check = Callable[[str], bool]


def _one_of(*values: str) -> Check:
    allowed = frozenset(values)
    return lambda value: value in allowed


def _int(minimum: int = 0, maximum: int | None = None) -> Check:
    def check(value: str) -> bool:
        if not re.fullmatch(r"\d+", value.strip()):
            return False
        number = int(value)
        return number >= minimum and (maximum is None or number <= maximum)

    return check


def _words_of(*values: str) -> Check:
    """A space-separated subset of `values` (statusCallbackEvent and the like)."""
    allowed = frozenset(values)
    return lambda value: bool(value.split()) and all(v in allowed for v in value.split())


def _url(value: str) -> bool:
    # Absolute or relative URL; whitespace inside is never valid.
    return bool(value) and not re.search(r"\s", value)


METHOD = _one_of("GET", "POST")
BOOLEAN = _one_of("true", "false")
POSITIVE = _int(1)
NATURAL = _int(0)
# Gather's finishOnKey: one of 0-9, #, *, or "" (no key ends the input).
FINISH_KEY = re.compile(r"[0-9#*]?")
# Record's finishOnKey: "any digit, #, or *" (a set of them).
FINISH_KEYS = re.compile(r"[0-9#*]*")
# Languages of <Say> (basic and Polly/Google voices) and of <Gather> speech recognition: a
# subset of Twilio's lists, enough for us (fr-FR) and any neighbour a test might use.
# https://www.twilio.com/docs/voice/twiml/say/text-speech#available-voices-and-languages
# https://www.twilio.com/docs/voice/twiml/gather#languagetags
LANGUAGES = frozenset(
    [
        "ar-AE",
        "ca-ES",
        "cy-GB",
        "da-DK",
        "de-AT",
        "de-CH",
        "de-DE",
        "en-AU",
        "en-CA",
        "en-GB",
        "en-IE",
        "en-IN",
        "en-NZ",
        "en-US",
        "en-ZA",
        "es-ES",
        "es-MX",
        "es-US",
        "fi-FI",
        "fr-BE",
        "fr-CA",
        "fr-CH",
        "fr-FR",
        "hi-IN",
        "is-IS",
        "it-IT",
        "ja-JP",
        "ko-KR",
        "nb-NO",
        "nl-BE",
        "nl-NL",
        "pl-PL",
        "pt-BR",
        "pt-PT",
        "ro-RO",
        "ru-RU",
        "sv-SE",
        "tr-TR",
        "zh-CN",
        "zh-HK",
        "zh-TW",
    ]
)
LANGUAGE = _one_of(*LANGUAGES)
# <Say voice>: the basic voices, or a named Amazon Polly / Google voice ("Polly.Lea").
VOICE = re.compile(r"man|woman|alice|(Polly|Google)\.[A-Za-z0-9-]+(-Neural|-Generative)?")
PHONE = re.compile(r"\+?[0-9][0-9 ().-]{1,30}")
STATUS_EVENTS = _words_of("initiated", "ringing", "answered", "completed")
# SSML a <Say> may contain (https://www.twilio.com/docs/voice/twiml/say/text-speech#ssml-tags).
SSML = frozenset(
    ["break", "emphasis", "lang", "p", "phoneme", "prosody", "s", "say-as", "sub", "w"]
) | {"amazon:effect", "amazon:domain"}


@dataclass(frozen=True)
class Rule:
    """What one verb or noun accepts."""

    attributes: dict[str, Check | None] = field(default_factory=dict)
    children: frozenset[str] = frozenset()
    text: bool = False  # may hold text (a message, a number, a URL)
    needs_text: bool = False  # must hold text


def _rule(
    attributes: dict[str, Check | None] | None = None,
    children: tuple[str, ...] = (),
    text: bool = False,
    needs_text: bool = False,
) -> Rule:
    return Rule(attributes or {}, frozenset(children), text or needs_text, needs_text)


_CALLBACKS: dict[str, Check | None] = {
    "url": _url,
    "method": METHOD,
    "statusCallbackEvent": STATUS_EVENTS,
    "statusCallback": _url,
    "statusCallbackMethod": METHOD,
}
_MACHINE_DETECTION: dict[str, Check | None] = {
    "machineDetection": _one_of("Enable", "DetectMessageEnd"),
    "amdStatusCallback": _url,
    "amdStatusCallbackMethod": METHOD,
    "machineDetectionTimeout": POSITIVE,
    "machineDetectionSpeechThreshold": POSITIVE,
    "machineDetectionSpeechEndThreshold": POSITIVE,
    "machineDetectionSilenceTimeout": POSITIVE,
}
_RECORDING: dict[str, Check | None] = {
    "recordingStatusCallback": _url,
    "recordingStatusCallbackMethod": METHOD,
    "recordingStatusCallbackEvent": _words_of("in-progress", "completed", "absent"),
    "recordingConfigurationId": None,
    "trim": _one_of("trim-silence", "do-not-trim"),
}

VOICE_VERBS = (
    "Connect",
    "Dial",
    "Echo",
    "Enqueue",
    "Gather",
    "Hangup",
    "Leave",
    "Pause",
    "Pay",
    "Play",
    "Record",
    "Redirect",
    "Refer",
    "Reject",
    "Say",
    "Sms",
    "Start",
    "Stop",
)

VOICE_RULES: dict[str, Rule] = {
    # https://www.twilio.com/docs/voice/twiml#twiml-verbs-for-programmable-voice
    "Response": _rule(children=VOICE_VERBS),
    # https://www.twilio.com/docs/voice/twiml/say
    "Say": _rule(
        {"voice": lambda v: bool(VOICE.fullmatch(v)), "loop": NATURAL, "language": LANGUAGE},
        children=tuple(SSML),
        needs_text=True,
    ),
    # https://www.twilio.com/docs/voice/twiml/play
    "Play": _rule(
        {"loop": NATURAL, "digits": lambda v: bool(re.fullmatch(r"[0-9wW*#]+", v))}, text=True
    ),
    # https://www.twilio.com/docs/voice/twiml/pause
    "Pause": _rule({"length": POSITIVE}),
    # https://www.twilio.com/docs/voice/twiml/gather
    "Gather": _rule(
        {
            "action": _url,
            "actionOnEmptyResult": BOOLEAN,
            "bargeIn": BOOLEAN,
            "debug": BOOLEAN,
            "enhanced": BOOLEAN,
            "finishOnKey": lambda v: bool(FINISH_KEY.fullmatch(v)),
            "hints": None,
            "input": _one_of("dtmf", "speech", "dtmf speech", "speech dtmf"),
            "language": LANGUAGE,
            "maxSpeechTime": POSITIVE,
            "method": METHOD,
            "numDigits": POSITIVE,
            "partialResultCallback": _url,
            "partialResultCallbackMethod": METHOD,
            "profanityFilter": BOOLEAN,
            "speechModel": None,
            "speechTimeout": lambda v: v == "auto" or _int(0)(v),
            "timeout": POSITIVE,
        },
        children=("Say", "Play", "Pause"),
    ),
    # https://www.twilio.com/docs/voice/twiml/dial
    "Dial": _rule(
        {
            "action": _url,
            "answerOnBridge": BOOLEAN,
            "callerId": None,
            "events": None,
            "hangupOnStar": BOOLEAN,
            "method": METHOD,
            "record": _one_of(
                "do-not-record",
                "record-from-answer",
                "record-from-ringing",
                "record-from-answer-dual",
                "record-from-ringing-dual",
            ),
            "recordingTrack": _one_of("both", "inbound", "outbound"),
            "referUrl": _url,
            "referMethod": METHOD,
            "ringTone": None,
            "sequential": BOOLEAN,
            "timeLimit": POSITIVE,
            "timeout": _int(5, 600),
            **_RECORDING,
        },
        children=("Number", "Client", "Sip", "Conference", "Queue", "Sim", "Application"),
        text=True,  # <Dial>+33...</Dial> is allowed
    ),
    # https://www.twilio.com/docs/voice/twiml/dial/number
    "Number": _rule(
        {"sendDigits": None, "byoc": None, **_CALLBACKS, **_MACHINE_DETECTION},
        needs_text=True,
    ),
    # https://www.twilio.com/docs/voice/twiml/client
    "Client": _rule(_CALLBACKS, children=("Identity", "Parameter"), text=True),
    "Identity": _rule(needs_text=True),
    "Parameter": _rule({"name": None, "value": None}),
    # https://www.twilio.com/docs/voice/twiml/sip
    "Sip": _rule(
        {"username": None, "password": None, **_CALLBACKS, **_MACHINE_DETECTION}, needs_text=True
    ),
    # https://www.twilio.com/docs/voice/twiml/conference
    "Conference": _rule(
        {
            "muted": BOOLEAN,
            "beep": _one_of("true", "false", "onEnter", "onExit"),
            "startConferenceOnEnter": BOOLEAN,
            "endConferenceOnExit": BOOLEAN,
            "waitUrl": None,
            "waitMethod": METHOD,
            "maxParticipants": _int(2, 250),
            "record": _one_of("do-not-record", "record-from-start"),
            "region": None,
            "coach": None,
            "statusCallbackEvent": _words_of(
                "start", "end", "join", "leave", "mute", "hold", "modify", "speaker", "announcement"
            ),
            "statusCallback": _url,
            "statusCallbackMethod": METHOD,
            "eventCallbackUrl": _url,
            "jitterBufferSize": _one_of("off", "small", "medium", "large"),
            "participantLabel": None,
            **_RECORDING,
        },
        needs_text=True,
    ),
    # https://www.twilio.com/docs/voice/twiml/queue
    "Queue": _rule(
        {"url": _url, "method": METHOD, "reservationSid": None, "postWorkActivitySid": None},
        needs_text=True,
    ),
    "Sim": _rule(needs_text=True),
    "Application": _rule(
        {"customerId": None, "copyParentTo": BOOLEAN, **_CALLBACKS},
        children=("ApplicationSid", "Parameter"),
        text=True,
    ),
    "ApplicationSid": _rule(needs_text=True),
    # https://www.twilio.com/docs/voice/twiml/record
    "Record": _rule(
        {
            "action": _url,
            "method": METHOD,
            "timeout": NATURAL,
            "finishOnKey": lambda v: bool(FINISH_KEYS.fullmatch(v)),
            "maxLength": POSITIVE,
            "playBeep": BOOLEAN,
            "transcribe": BOOLEAN,
            "transcribeCallback": _url,
            **_RECORDING,
        }
    ),
    # https://www.twilio.com/docs/voice/twiml/hangup (no attributes, no children)
    "Hangup": _rule(),
    # https://www.twilio.com/docs/voice/twiml/redirect (the URL is the text)
    "Redirect": _rule({"method": METHOD}, needs_text=True),
    # https://www.twilio.com/docs/voice/twiml/reject
    "Reject": _rule({"reason": _one_of("rejected", "busy")}),
    # https://www.twilio.com/docs/voice/twiml/enqueue, .../leave, .../sms
    "Enqueue": _rule(
        {
            "action": _url,
            "maxQueueSize": POSITIVE,
            "method": METHOD,
            "waitUrl": _url,
            "waitUrlMethod": METHOD,
            "workflowSid": None,
        },
        children=("Task",),
        text=True,
    ),
    "Task": _rule({"priority": NATURAL, "timeout": POSITIVE}, needs_text=True),
    "Leave": _rule(),
    "Sms": _rule(
        {"to": None, "from": None, "action": _url, "method": METHOD, "statusCallback": _url},
        needs_text=True,
    ),
    # Verbs we do not use are accepted with any attribute; their children are not checked.
    "Connect": _rule({"action": _url, "method": METHOD}),
    "Echo": _rule(),
    "Pay": _rule(),
    "Refer": _rule({"action": _url, "method": METHOD}),
    "Start": _rule({"action": _url, "method": METHOD}),
    "Stop": _rule(),
}
_OPAQUE = frozenset(["Connect", "Pay", "Refer", "Start", "Stop"])

MESSAGING_RULES: dict[str, Rule] = {
    # https://www.twilio.com/docs/messaging/twiml
    "Response": _rule(children=("Message", "Redirect")),
    # https://www.twilio.com/docs/messaging/twiml/message
    "Message": _rule(
        {"to": None, "from": None, "action": _url, "method": METHOD, "statusCallback": _url},
        children=("Body", "Media"),
        text=True,
    ),
    "Body": _rule(text=True),
    "Media": _rule(needs_text=True),
    # https://www.twilio.com/docs/messaging/twiml/redirect
    "Redirect": _rule({"method": METHOD}, needs_text=True),
}


def _is_messaging(root: ET.Element) -> bool:
    return any(child.tag == "Message" for child in root)


def _check(
    element: ET.Element, rules: dict[str, Rule], path: str, problems: list[str], ssml: bool
) -> None:
    tag = element.tag
    where = f"{path}/{tag}" if path else tag
    if ssml:
        # SSML inside <Say>: tags are checked, their attributes are the speech engine's business.
        if tag not in SSML:
            problems.append(f"{where}: <{tag}> is not an SSML tag <Say> accepts")
        for child in element:
            _check(child, rules, where, problems, ssml=True)
        return
    rule = rules.get(tag)
    if rule is None:
        problems.append(f"{where}: unknown verb or noun <{tag}>")
        return
    for name, value in element.attrib.items():
        if name not in rule.attributes:
            problems.append(f"{where}: unknown attribute {name}={value!r}")
            continue
        check = rule.attributes[name]
        if check is not None and not check(value):
            problems.append(f"{where}: bad value {name}={value!r}")
    text = "".join(element.itertext()).strip() if tag == "Say" else (element.text or "").strip()
    if text and not rule.text:
        problems.append(f"{where}: <{tag}> holds text {text[:40]!r}")
    if rule.needs_text and not text:
        problems.append(f"{where}: <{tag}> needs text")
    if tag == "Number" and text and not PHONE.fullmatch(text):
        problems.append(f"{where}: {text!r} is not a phone number")
    if tag in _OPAQUE:
        return
    for child in element:
        if child.tag not in rule.children:
            problems.append(f"{where}: <{child.tag}> may not be nested in <{tag}>")
            continue
        if (child.tail or "").strip() and tag not in {"Say", "Message"}:
            problems.append(f"{where}: stray text after <{child.tag}>")
        _check(child, rules, where, problems, ssml=tag == "Say")


def twiml_problems(xml: str) -> list[str]:
    """What breaks Twilio's TwiML rules in this document (voice or messaging); [] if nothing."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        return [f"not well-formed XML: {exc}"]
    if root.tag != "Response":
        return [f"the root is <{root.tag}>, not <Response>"]
    if root.attrib:
        return [f"<Response> takes no attributes: {sorted(root.attrib)}"]
    problems: list[str] = []
    rules = MESSAGING_RULES if _is_messaging(root) else VOICE_RULES
    _check(root, rules, "", problems, ssml=False)
    return problems
