"""Fuzzed Twilio webhooks (issue 9): thousands of generated requests, never a server error.

Signed requests carry random Unicode, emoji, control characters, right-to-left text, bodies far
beyond Twilio's 1,600 characters (up to ~100 KB), missing fields and wrongly typed ones; each
gets a 200 with well-formed TwiML that shows no trace of Python. Replayed MessageSids get the
first reply and are processed once. Forged requests (no signature, a wrong one, one made for
another URL or with another token, a body changed after signing) get a 403 and write nothing.

Every request is counted; the totals go to `tests/artifacts/fuzz-summary.json` and, with
`pytest -s`, to the terminal. SQLite runs the full count; PostgreSQL (when configured) a fifth.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from bot.models import Base, ProcessedMessage
from bot.runtime import Runtime
from flows.conversation import HELD
from tests.conftest import AUTH_TOKEN, PUBLIC_URL, SERVICE_NUMBER, Twilio
from webhooks.forms import form_text

# A failing example with a 100 KB body has a 100 KB repr: show it rather than fail on that.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")
SUMMARY = Path(__file__).resolve().parent / "artifacts" / "fuzz-summary.json"
ACCOUNT_SID = "AC" + "1" * 32
# Examples per test on SQLite; PostgreSQL runs a fifth of them (each test posts 1 to 2 per example).
EXAMPLES = {"signed_sms": 400, "signed_voice": 400, "forged": 400, "replayed": 150}
MAX_CONTENT_LENGTH = 256 * 1024  # bot/app.py: bigger bodies get a 413 before any parsing


@dataclass
class Tally:
    """What the fuzz tests posted and what came back, for the summary file."""

    requests: int = 0
    server_errors: int = 0
    signed: int = 0
    forged: int = 0
    forged_rejected: int = 0
    forged_too_large: int = 0
    replays: int = 0
    by_route: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)

    def count(self, path: str, status: int) -> None:
        self.requests += 1
        self.by_route[path.split("?")[0]] += 1
        self.by_status[status] += 1
        if status >= 500:
            self.server_errors += 1


TALLY = Tally()


@pytest.fixture(scope="module", autouse=True)
def fuzz_summary() -> Iterator[None]:
    """Write the counts once every test of the module has run."""
    yield
    summary = {
        "requests": TALLY.requests,
        "server_errors": TALLY.server_errors,
        "signed": TALLY.signed,
        "forged": TALLY.forged,
        "forged_rejected": TALLY.forged_rejected,
        "forged_too_large": TALLY.forged_too_large,
        "replays": TALLY.replays,
        "by_route": dict(sorted(TALLY.by_route.items())),
        "by_status": {str(k): v for k, v in sorted(TALLY.by_status.items())},
    }
    SUMMARY.parent.mkdir(parents=True, exist_ok=True)
    SUMMARY.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"\nwebhook fuzzing: {json.dumps(summary)}")


# --- what residents (and attackers) could send ----------------------------------------------

EMOJI = "🙂😀👍🏽🇫🇷❤️‍🔥👨‍👩‍👧🤷‍♀️🫠"
CONTROL = "".join(chr(c) for c in [*range(0, 32), 127, *range(0x80, 0xA0)])
RTL = ["مرحبا، متى تفتح المكتبة؟", "שלום עולם", "\u202eevil\u202c", "\u200f57970\u200e"]
FRENCH = ["Bonjour", "c'est ouvert quand ?", "rdv jeudi à Thionville", "STOP", "1", "OUI", "57970"]
NASTY = [
    "",
    " ",
    "\x00",
    "NaN",
    "-1",
    "1e999",
    "²",
    "١٢",
    "0x1F",
    "None",
    "null",
    "<Response><Say>hi</Say></Response>",
    "]]><!--",
    "&amp;&#0;",
    "{{7*7}}",
    "'; DROP TABLE residents; --",
    "%s%n%x",
    "\ud7ff\ue000\uffff",
    "\U0010ffff",
]


def _long(chunk: str, size: int) -> str:
    return (chunk * (size // max(len(chunk), 1) + 1))[:size] if chunk else "a" * size


def _huge(chunk: str, size: int) -> str:
    """Up to `size` characters, cut so the whole form stays under the 256 KB limit."""
    text = _long(chunk, size)
    while len(urlencode({"Body": text})) > MAX_CONTENT_LENGTH - 16 * 1024:
        text = text[: len(text) * 3 // 4]
    return text


# Long and huge bodies are built by repetition (fast). Huge ones stay under the 256 KB limit,
# which has its own test below.
long_text = st.builds(_long, st.text(min_size=1, max_size=40), st.integers(1_601, 10_000))
huge_text = st.builds(
    _huge,
    st.text(alphabet=st.characters(max_codepoint=0x17F), min_size=1, max_size=20),
    st.integers(30_000, 100_000),
)
field_text = st.one_of(
    st.text(),  # any code point except surrogates
    st.text(alphabet=EMOJI + "abc "),
    st.text(alphabet=CONTROL + "ab"),
    st.sampled_from(RTL + FRENCH + NASTY),
    long_text,
)
# What a resident writes or says may also be huge (one such field per form, so it fits).
fuzz_text = st.one_of(field_text, huge_text)
FREE_TEXT = {"Body", "SpeechResult", "TranscriptionText"}
numbers = st.one_of(
    st.integers(0, 99).map(lambda n: f"+336399800{n:02d}"),  # ARCEP fiction range
    st.sampled_from(["anonymous", "+266696687", "client:alice", "0639980042", "+1", ""]),
    st.text(max_size=30),
)
_sids = itertools.count(1)


def fresh_sid(prefix: str) -> str:
    return f"{prefix}F{next(_sids):031x}"


def sms_form(sender: str, body: str, sid: str) -> dict[str, str]:
    return {
        "ToCountry": "FR",
        "NumMedia": "0",
        "SmsStatus": "received",
        "Body": body,
        "FromCountry": "FR",
        "To": SERVICE_NUMBER,
        "NumSegments": "1",
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "SmsSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }


def voice_form(caller: str, sid: str) -> dict[str, str]:
    return {
        "CallSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": caller,
        "Caller": caller,
        "To": SERVICE_NUMBER,
        "Called": SERVICE_NUMBER,
        "CallStatus": "in-progress",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
    }


# Fields each route reads, and the wrong values Twilio would never send them.
WRONG_TYPES: dict[str, list[str]] = {
    "NumMedia": ["abc", "-3", "1.5", "9" * 40],
    "Confidence": ["NaN", "inf", "-1", "abc", "1e999"],
    "Digits": ["🙂", "12#*", "#", "٣", "9" * 50],
    "RecordingDuration": ["abc", "-5", "²", "9" * 20, "0"],
    "ErrorCode": ["abc", "21610", "²", "9" * 20],
    "MessageStatus": ["delivered", "undelivered", "failed", "???"],
    "CallStatus": ["completed", "no-answer", "busy", "???"],
    "DialCallStatus": ["completed", "no-answer", "failed", "busy", "???"],
    "Direction": ["inbound", "outbound-api", "??"],
    "TranscriptionStatus": ["completed", "failed", "???"],
}
VOICE_EXTRAS = [
    "SpeechResult",
    "Confidence",
    "Digits",
    "RecordingUrl",
    "RecordingSid",
    "RecordingDuration",
    "TranscriptionText",
    "TranscriptionStatus",
    "DialCallStatus",
    "MessageStatus",
    "ErrorCode",
]
query_values = st.one_of(
    st.integers(0, 30).map(str),
    st.sampled_from(["", "-1", "²", "١٢", "99999999999999", "1.5", "%00", "abc"]),
    st.text(max_size=12),
)
VOICE_ROUTES = [
    "/twilio/voice",
    "/twilio/voice/answer?turn={q}",
    "/twilio/status",
    "/twilio/status?outbound={q}",
    "/twilio/voice/dial-ended",
    "/twilio/voice/dial-ended?place={q}",
    "/twilio/voice/voicemail",
    "/twilio/voice/voicemail?place={q}",
    "/twilio/voice/transcription",
    "/twilio/voice/reminder?outbound={q}",
    "/twilio/voice/reminder",
]


@st.composite
def mutated(draw: st.DrawFn, form: dict[str, str], extras: list[str]) -> dict[str, str]:
    """The form with fields dropped, replaced by fuzz or wrong types, and unknown ones added."""
    result = dict(form)
    for key in draw(st.sets(st.sampled_from(sorted(form)), max_size=4)):
        del result[key]
    huge_allowed = "Body" not in result
    for key in draw(st.sets(st.sampled_from(sorted({*form, *extras})), max_size=4)):
        text = fuzz_text if key in FREE_TEXT and huge_allowed else field_text
        huge_allowed = huge_allowed and key not in FREE_TEXT
        wrong = WRONG_TYPES.get(key, [])
        result[key] = draw(st.one_of(text, st.sampled_from(wrong)) if wrong else text)
    for _ in range(draw(st.integers(0, 2))):
        result[draw(st.text(min_size=1, max_size=12))] = draw(field_text)
    return result


@st.composite
def signed_sms(draw: st.DrawFn) -> dict[str, str]:
    body = draw(fuzz_text)
    base = sms_form(draw(numbers), body, fresh_sid("SM"))
    return draw(mutated(base, ["NumMedia", "MediaUrl0", "MediaContentType0"]))


@st.composite
def signed_voice(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    route = draw(st.sampled_from(VOICE_ROUTES))
    path = route.format(q=_quote(draw(query_values)))
    base = voice_form(draw(numbers), fresh_sid("CA"))
    return path, draw(mutated(base, VOICE_EXTRAS))


def _quote(value: str) -> str:
    return urlencode({"": value})[1:]


# --- checks -----------------------------------------------------------------------------------

TRACE = re.compile(
    r"Traceback|Exception|\bError\b|\w+Error\b|File \"|/work/|\.py\b|site-packages|"
    r"<\w+(\.\w+)* object at 0x|\bNone\b"
)


def assert_no_trace(text: str, sent: str) -> None:
    """No stack trace, exception name, file path or Python repr (unless the sender wrote it)."""
    for found in TRACE.finditer(text):
        assert found.group(0) in sent, f"{found.group(0)!r} in {text!r}"


def too_large(form: dict[str, str]) -> bool:
    """Whether the encoded form exceeds the app's MAX_CONTENT_LENGTH (answered 413)."""
    return len(urlencode(form)) > MAX_CONTENT_LENGTH


def check_signed(
    response: Any, path: str, form: dict[str, str], runtime: Runtime | None = None
) -> None:
    """A signed request: 200 with well-formed TwiML (or 204 for callbacks), no trace.

    An SMS may get an empty <Response/> only by design: a repeated STOP, or a conversation
    an advisor holds (flows/conversation.py); `runtime` is needed to tell.
    """
    TALLY.signed += 1
    status = response.status_code
    body = response.get_data(as_text=True)
    sent = " ".join([*form.values(), path])
    assert status < 500, body
    assert_no_trace(body, sent)
    if too_large(form):
        assert status == 413
        return
    if status == 204:
        assert path.startswith(("/twilio/status", "/twilio/voice/transcription")), path
        assert body == ""
        return
    assert status == 200, body
    assert response.mimetype == "text/xml", body
    root = ET.fromstring(body)  # well-formed XML, or this raises
    assert root.tag == "Response", body
    spoken = [el.text or "" for el in root.iter() if el.tag in {"Message", "Say", "Body"}]
    if not spoken and path == "/twilio/sms":
        assert runtime is not None and silent_by_design(runtime, form), body
    elif not spoken:
        assert root.find("Hangup") is not None or root.find("Dial") is not None, body
    for text in spoken:
        assert text.strip(), body  # never an empty message
        assert_no_trace(text, sent)


def silent_by_design(runtime: Runtime, form: dict[str, str]) -> bool:
    """Whether the message was a repeated STOP or came while an advisor held the conversation."""
    sid = form_text(form.get("MessageSid") or form.get("SmsSid"), 64)
    with runtime.sessions() as session:
        intent = session.scalar(
            select(ProcessedMessage.intent).where(ProcessedMessage.provider_id == sid)
        )
    return intent in {"opt_out", HELD}


def row_counts(runtime: Runtime) -> dict[str, int]:
    """Rows in every table, in one query: what a forged request must not change."""
    tables = sorted(Base.metadata.tables.values(), key=lambda t: t.name)
    query = select(*[select(func.count()).select_from(t).scalar_subquery() for t in tables])
    with runtime.sessions() as session:
        row = session.execute(query).one()
    return {table.name: int(n) for table, n in zip(tables, row, strict=True)}


def run_examples(
    database_url: str, name: str, strategy: st.SearchStrategy[Any], check: Callable[[Any], None]
) -> None:
    """Run `check` on generated examples: the full count on SQLite, a fifth on PostgreSQL."""
    examples = EXAMPLES[name] if database_url.startswith("sqlite") else EXAMPLES[name] // 5

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        # The same examples on every run, so CI never fails by chance; RELAIS_FUZZ_EXPLORE=1
        # draws new ones (a failure then prints its example, to add to the tests).
        derandomize=not os.environ.get("RELAIS_FUZZ_EXPLORE"),
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )
    @given(strategy)
    def fuzz(example: Any) -> None:
        check(example)

    fuzz()


def post(twilio: Twilio, path: str, form: dict[str, str], **kwargs: Any) -> Any:
    response = twilio.post(path, form, **kwargs)
    TALLY.count(path, response.status_code)
    return response


# --- the tests --------------------------------------------------------------------------------


def test_fuzzed_sms_always_get_a_clean_twiml_answer(
    twilio: Twilio, runtime: Runtime, database_url: str
) -> None:
    def check(form: dict[str, str]) -> None:
        response = post(twilio, "/twilio/sms", form)
        check_signed(response, "/twilio/sms", form, runtime)

    run_examples(database_url, "signed_sms", signed_sms(), check)


def test_fuzzed_calls_and_callbacks_never_break(twilio: Twilio, database_url: str) -> None:
    def check(example: tuple[str, dict[str, str]]) -> None:
        path, form = example
        response = post(twilio, path, form)
        check_signed(response, path, form)

    run_examples(database_url, "signed_voice", signed_voice(), check)


FORGERIES = ["missing", "garbage", "other token", "other url", "other path", "body changed"]


@st.composite
def forged(draw: st.DrawFn) -> tuple[str, dict[str, str], str, str]:
    """A route, a form, and how its signature is forged."""
    if draw(st.booleans()):
        path = "/twilio/sms"
        form = sms_form(draw(numbers), draw(fuzz_text), fresh_sid("SM"))
    else:
        path, form = draw(signed_voice())
    kind = draw(st.sampled_from(FORGERIES))
    tampered = dict(form)
    if kind == "missing":
        signature = ""
    elif kind == "garbage":
        # Any Latin-1 text an HTTP header can carry: no CR or LF (no server delivers those).
        header_chars = st.characters(max_codepoint=0xFF, exclude_characters="\r\n")
        signature = draw(st.text(alphabet=header_chars, min_size=1))
    elif kind == "other token":
        token = draw(st.one_of(st.just("another-accounts-token"), st.text(min_size=1)))
        signature = sign(path, form, token=token)
    elif kind == "other url":
        base = draw(st.sampled_from(["https://attacker.example", "http://localhost", "http:"]))
        signature = sign(path, form, base=base)
    elif kind == "other path":
        other = draw(st.sampled_from(["/twilio/sms", *VOICE_ROUTES]).filter(lambda p: p != path))
        signature = sign(other.format(q="1"), form)
    else:
        signature = sign(path, form)
        key = draw(st.sampled_from(sorted(form)))
        tampered[key] = draw(field_text.filter(lambda v: v != form[key]))
    return path, tampered, signature, kind


def sign(path: str, form: dict[str, str], token: str = AUTH_TOKEN, base: str = PUBLIC_URL) -> str:
    """The X-Twilio-Signature of a form posted to base + path (tests/conftest.py's way)."""
    return str(RequestValidator(token).compute_signature(base + path, form))


def test_forged_requests_are_refused_and_write_nothing(
    twilio: Twilio, runtime: Runtime, database_url: str
) -> None:
    def check(example: tuple[str, dict[str, str], str, str]) -> None:
        path, form, signature, kind = example
        before = row_counts(runtime)
        response = post(twilio, path, form, signature=signature)
        TALLY.forged += 1
        if too_large(form):  # refused before its signature is even read
            assert response.status_code == 413, (kind, response.status_code)
            TALLY.forged_too_large += 1
        else:
            assert response.status_code == 403, (kind, response.status_code)
            assert response.get_data(as_text=True) == "Forbidden\n"
            TALLY.forged_rejected += 1
        assert row_counts(runtime) == before, kind

    run_examples(database_url, "forged", forged(), check)


@st.composite
def replayed(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    """A valid message or call turn, with a random (possibly strange) id, to send twice."""
    body = draw(st.one_of(st.sampled_from(FRENCH), st.text(max_size=200)))
    sender = draw(st.integers(0, 99).map(lambda n: f"+336399800{n:02d}"))
    if draw(st.booleans()):
        sid = draw(st.one_of(st.just(fresh_sid("SM")), st.text(min_size=1, max_size=80)))
        return "/twilio/sms", sms_form(sender, body, sid)
    form = voice_form(sender, draw(st.one_of(st.just(fresh_sid("CA")), st.text(min_size=1))))
    form.update(SpeechResult=body, Confidence="0.9")
    turn = draw(st.integers(0, 5))
    return draw(st.sampled_from(["/twilio/voice", f"/twilio/voice/answer?turn={turn}"])), form


def test_replayed_requests_get_the_first_answer_and_are_processed_once(
    twilio: Twilio, runtime: Runtime, database_url: str
) -> None:
    def check(example: tuple[str, dict[str, str]]) -> None:
        path, form = example
        before = row_counts(runtime)
        first = post(twilio, path, form)
        check_signed(first, path, form, runtime)
        between = row_counts(runtime)
        again = post(twilio, path, form)
        TALLY.replays += 1
        check_signed(again, path, form, runtime)
        assert again.get_data() == first.get_data()
        # One claim at most (none when the id is blank once stripped), and the retry writes
        # no row anywhere: it is answered from the claim, not handled again.
        table = ProcessedMessage.__tablename__
        assert between[table] - before[table] <= 1
        assert row_counts(runtime) == between

    run_examples(database_url, "replayed", replayed(), check)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_body_over_the_size_limit_is_refused_before_any_work(
    twilio: Twilio, runtime: Runtime
) -> None:
    form = sms_form("+33639980042", "🙂" * 30_000, fresh_sid("SM"))
    before = row_counts(runtime)
    response = post(twilio, "/twilio/sms", form)
    assert response.status_code == 413
    assert "Traceback" not in response.get_data(as_text=True)
    assert row_counts(runtime) == before


# --- non-ASCII digits: str.isdigit() accepts "²", int() refuses it ---------------------------


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_turn_number_in_superscript_digits_is_not_a_server_error(twilio: Twilio) -> None:
    form = voice_form("+33639980042", fresh_sid("CA"))
    assert twilio.post("/twilio/voice/answer?turn=%C2%B2", form).status_code == 200


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_recording_duration_in_superscript_digits_is_not_a_server_error(
    twilio: Twilio,
) -> None:
    form = voice_form("+33639980042", fresh_sid("CA"))
    form.update(RecordingUrl="https://api.twilio.com/rec", RecordingDuration="²")
    assert twilio.post("/twilio/voice/voicemail", form).status_code == 200
