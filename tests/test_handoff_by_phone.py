"""Hand-off on the phone line (issue 8): a voicemail says honestly when a person will call back,
a transfer nobody answers escalates, words of distress escalate at once, and the call, the
transfer, the voicemail and what was said go to the resident's thread. The clock is frozen at
Monday 2026-11-23 10:00 (Paris); Pôle numérique THI'PI is open Monday to Friday 9:00-12:00,
14:00-17:00.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from bot import clock
from bot.models import AgendaClosure, CallbackTicket, ThreadEntry
from bot.runtime import Runtime
from bot.services.users import add_user
from tests.conftest import Clock, Twilio
from tests.phone_calls import (
    THIPI,
    Call,
    asks_menu,
    choose_thipi,
    dial_ended,
    leave_message,
    path_of,
    rows_of,
)


def _events(runtime: Runtime) -> list[str]:
    return [e.event for e in rows_of(runtime, ThreadEntry) if e.direction == "event"]


@pytest.mark.parametrize(
    ("when", "callback"),
    [
        ("2026-11-23T21:00:00+01:00", "dès demain à 9 heures"),
        ("2026-11-27T18:00:00+01:00", "dès lundi 30 novembre à 9 heures"),
    ],
    ids=["evening", "friday-evening"],
)
def test_the_caller_hears_when_a_person_will_call_back_before_the_beep(
    call: Call, frozen: Clock, when: str, callback: str
) -> None:
    frozen.set(when)
    choose_thipi(call)
    prompt = call.press("0")
    assert f"Un conseiller de Pôle numérique THI'PI vous rappellera {callback}." in prompt.said
    assert "après le bip" in prompt.said
    children = [child.tag for child in prompt.root]
    assert children.index("Say") < children.index("Record")


def test_a_place_closed_by_its_advisors_takes_a_message_instead_of_ringing(
    call: Call, runtime: Runtime
) -> None:
    with runtime.sessions() as session:  # open by its hours at 10:00, but closed today
        session.add(
            AgendaClosure(place_id=THIPI, first_day=date(2026, 11, 23), last_day=date(2026, 11, 23))
        )
        session.commit()
    choose_thipi(call)
    prompt = call.press("0")
    assert prompt.root.find("Dial") is None and prompt.root.find("Record") is not None
    assert "vous rappellera dès demain à 9 heures" in prompt.said


def test_an_unanswered_transfer_escalates_and_a_voicemail_joins_it(
    call: Call, runtime: Runtime
) -> None:
    choose_thipi(call)
    call.press("0")
    voicemail = dial_ended(call, "no-answer")
    assert "Le conseiller ne répond pas." in voicemail.said
    assert "vous rappellera aujourd'hui avant 17 heures" in voicemail.said
    (ticket,) = rows_of(runtime, CallbackTicket)
    assert (ticket.status, ticket.reason, ticket.place_id, ticket.channel) == (
        "open",
        "no_answer",
        THIPI,
        "voice",
    )
    record = voicemail.root.find("Record")
    assert record is not None
    leave_message(call, path_of(record.attrib["action"]))
    (ticket,) = rows_of(runtime, CallbackTicket)
    assert ticket.reason == "voicemail" and ticket.voicemail_id is not None
    assert ticket.place_id == THIPI


def test_a_retried_dial_ended_escalates_once(call: Call, runtime: Runtime) -> None:
    choose_thipi(call)
    call.press("0")
    first = dial_ended(call, "busy")
    again = dial_ended(call, "busy")
    assert again.xml == first.xml
    assert len(rows_of(runtime, CallbackTicket)) == 1
    assert _events(runtime).count("escalated") == 1


def test_an_answered_transfer_opens_no_escalation(call: Call, runtime: Runtime) -> None:
    choose_thipi(call)
    call.press("0")
    dial_ended(call, "completed")
    assert rows_of(runtime, CallbackTicket) == []
    assert _events(runtime) == ["call", "transfer"]


def test_the_call_transfer_and_voicemail_are_in_the_thread(
    call: Call, twilio: Twilio, runtime: Runtime
) -> None:
    choose_thipi(call)
    # Twilio retries the first webhook: still one "call" line.
    twilio.post("/twilio/voice", call.form(CallStatus="ringing"))
    call.press("0")
    voicemail = dial_ended(call, "no-answer")
    record = voicemail.root.find("Record")
    assert record is not None
    leave_message(call, path_of(record.attrib["action"]))
    assert _events(runtime) == ["call", "transfer", "escalated", "voicemail", "escalated"]
    entries = rows_of(runtime, ThreadEntry)
    assert {e.channel for e in entries} == {"voice"}
    said = [(e.direction, e.body) for e in entries if e.direction in ("in", "out")]
    assert said[0] == ("in", "Thionville")
    assert said[1][0] == "out" and said[1][1] is not None and "THI'PI" in said[1][1]


def test_spoken_words_of_distress_escalate_and_put_the_caller_through(
    call: Call, runtime: Runtime
) -> None:
    choose_thipi(call)
    heard = call.say("au secours je suis perdue")
    assert heard.said.startswith("Je comprends, une personne va vous aider.")
    assert heard.has("Dial")
    (ticket,) = rows_of(runtime, CallbackTicket)
    assert (ticket.reason, ticket.place_id) == ("distress", THIPI)


def test_spoken_words_about_suicide_give_the_3114(call: Call, frozen: Clock) -> None:
    frozen.set("2026-11-23T21:00:00+01:00")
    call.start()
    heard = call.say("je veux mourir")
    assert "appelez le 31 14" in heard.said
    assert heard.has("Record")


def test_a_caller_whose_conversation_an_advisor_holds_still_gets_the_menu(
    call: Call, twilio: Twilio, runtime: Runtime
) -> None:
    twilio.text("Quels sont les horaires du pôle numérique THI'PI ?")
    twilio.text("je veux parler à quelqu'un")
    with runtime.sessions() as session:
        account = add_user(
            session, "claire@example.org", "un mot de passe long", [THIPI], now=clock.now()
        )
        ticket = session.scalars(select(CallbackTicket)).one()
        ticket.status, ticket.taken_by_id, ticket.taken_at = "taken", account.id, clock.now()
        session.commit()
    assert asks_menu(call.start())
    (ticket,) = rows_of(runtime, CallbackTicket)
    assert ticket.status == "taken"
