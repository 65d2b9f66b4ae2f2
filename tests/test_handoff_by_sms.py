"""Hand-off by SMS (issue 8): asking for a person, being misunderstood twice, or writing words of
distress opens one escalation for the place that serves the resident, and the resident is told
honestly when a person will answer. While an advisor holds the conversation, the assistant is
quiet except for STOP and START. The clock is frozen at Monday 2026-11-23 10:00 (Paris);
Pôle numérique THI'PI is open Monday to Friday 9:00-12:00, 14:00-17:00.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

import pytest
from sqlalchemy import select

from bot import clock
from bot.models import AgendaClosure, CallbackTicket, Place, ProcessedMessage, Resident, ThreadEntry
from bot.runtime import Runtime
from bot.services.users import add_user
from bot.wording.gsm7 import count_segments
from tests.conftest import RESIDENT, Clock, Twilio, gsm
from tests.phone_calls import THIPI, rows_of

YUTZ = "demo-mission-locale-yutz"
THIPI_NAME = gsm("Pôle numérique THI'PI")


def _talk_about_thipi(twilio: Twilio) -> None:
    assert THIPI_NAME in twilio.text("Quels sont les horaires du pôle numérique THI'PI ?")


def _live_tickets(runtime: Runtime) -> list[CallbackTicket]:
    return [t for t in rows_of(runtime, CallbackTicket) if t.status in ("open", "taken")]


def _thread(runtime: Runtime) -> list[ThreadEntry]:
    return rows_of(runtime, ThreadEntry)


# --- (a) asking for a person --------------------------------------------------------------------


def test_asking_for_a_person_opens_an_escalation_for_the_place_talked_about(
    twilio: Twilio, runtime: Runtime
) -> None:
    _talk_about_thipi(twilio)
    reply = twilio.text("je veux parler à quelqu'un")
    assert reply == (
        f"Un conseiller de {THIPI_NAME} a votre message et vous répondra par SMS aujourd'hui "
        "avant 17h. Vous pouvez aussi appeler le 03 53 01 01 01."
    )
    assert count_segments(reply).segments == 1
    (ticket,) = rows_of(runtime, CallbackTicket)
    assert (ticket.status, ticket.reason, ticket.place_id, ticket.channel) == (
        "open",
        "asked",
        THIPI,
        "sms",
    )


def test_asking_again_joins_the_escalation_and_says_it_is_passed_on(
    twilio: Twilio, runtime: Runtime
) -> None:
    _talk_about_thipi(twilio)
    twilio.text("je veux parler à quelqu'un")
    again = twilio.text("je voudrais parler à un conseiller svp")
    assert gsm("Votre demande est déjà transmise") in again
    assert "aujourd'hui avant 17h" in again and "03 53 01 01 01" in again
    assert len(rows_of(runtime, CallbackTicket)) == 1


def test_asking_without_a_place_asks_the_commune_then_escalates(
    twilio: Twilio, runtime: Runtime
) -> None:
    first = twilio.text("je veux parler à quelqu'un")
    assert "Dans quelle commune" in first
    assert rows_of(runtime, CallbackTicket) == []
    reply = twilio.text("Yutz")
    assert "Mission locale - antenne de Yutz a votre message" in reply
    assert "03 53 01 01 04" in reply
    (ticket,) = rows_of(runtime, CallbackTicket)
    assert (ticket.reason, ticket.place_id) == ("asked", YUTZ)


def test_zero_at_a_question_escalates_for_the_nearest_place(
    twilio: Twilio, runtime: Runtime
) -> None:
    twilio.text("Yutz")
    twilio.text("aide")
    assert "a votre message" in twilio.text("0")
    (ticket,) = rows_of(runtime, CallbackTicket)
    assert (ticket.reason, ticket.place_id) == ("asked", YUTZ)


# --- honest time ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("2026-11-23T10:00:00+01:00", "aujourd'hui avant 17h"),
        ("2026-11-23T12:30:00+01:00", gsm("dès aujourd'hui à 14h")),
        ("2026-11-23T16:45:00+01:00", gsm("dès demain à 9h")),
        ("2026-11-27T18:00:00+01:00", gsm("dès lundi 30 novembre à 9h")),
        ("2026-12-24T18:00:00+01:00", gsm("dès lundi 28 décembre à 9h")),
    ],
    ids=["open", "lunch-break", "about-to-close", "friday-evening", "christmas"],
)
def test_the_resident_is_told_honestly_when_a_person_will_answer(
    twilio: Twilio, frozen: Clock, when: str, expected: str
) -> None:
    frozen.set(when)
    _talk_about_thipi(twilio)
    reply = twilio.text("je veux parler à quelqu'un")
    assert f"vous répondra par SMS {expected}." in reply


def test_unknown_hours_promise_nothing_but_as_soon_as_possible(
    twilio: Twilio, runtime: Runtime
) -> None:
    _talk_about_thipi(twilio)
    with runtime.sessions() as session:
        place = session.get(Place, THIPI)
        assert place is not None
        place.horaires = None
        session.commit()
    reply = twilio.text("je veux parler à quelqu'un")
    assert gsm("vous répondra par SMS dès que possible.") in reply
    assert "03 53 01 01 01" in reply


def test_a_place_closed_by_its_advisors_is_not_promised_for_today(
    twilio: Twilio, runtime: Runtime
) -> None:
    with runtime.sessions() as session:  # THI'PI closed Monday 23 to Wednesday 25 November
        session.add(
            AgendaClosure(
                place_id=THIPI,
                first_day=date(2026, 11, 23),
                last_day=date(2026, 11, 25),
                reason="formation",
            )
        )
        session.commit()
    _talk_about_thipi(twilio)
    reply = twilio.text("je veux parler à quelqu'un")
    assert gsm("vous répondra par SMS dès jeudi 26 novembre à 9h.") in reply


# --- (b) not understood twice ---------------------------------------------------------------------


def test_not_understood_twice_escalates_with_the_menu_in_two_segments_at_most(
    twilio: Twilio, runtime: Runtime
) -> None:
    _talk_about_thipi(twilio)
    first = twilio.text("zorglub wabadaba")
    assert "pas compris" in first and rows_of(runtime, CallbackTicket) == []
    second = twilio.text("flimflam gloubi")
    assert second.startswith("Je n'ai toujours pas compris, excusez-moi.")
    assert f"Un conseiller de {THIPI_NAME} a votre message" in second
    assert "aujourd'hui avant 17h" in second and "5 Parler à une personne" in second
    assert count_segments(second).segments <= 2
    (ticket,) = rows_of(runtime, CallbackTicket)
    assert (ticket.reason, ticket.place_id) == ("not_understood", THIPI)
    # The count starts again: the next failure is a plain menu, the one after joins the ticket.
    assert "toujours" not in twilio.text("brouzouf skadoosh")
    assert gsm("déjà transmise") in twilio.text("patati patata")
    assert len(rows_of(runtime, CallbackTicket)) == 1


def test_not_understood_twice_with_no_place_known_escalates_without_one(
    twilio: Twilio, runtime: Runtime
) -> None:
    twilio.text("zorglub wabadaba")
    second = twilio.text("flimflam gloubi")
    assert "Un conseiller a votre message et vous répondra par SMS" in second
    (ticket,) = rows_of(runtime, CallbackTicket)
    assert (ticket.reason, ticket.place_id) == ("not_understood", None)


# --- (c) words of distress -----------------------------------------------------------------------


def test_words_of_distress_escalate_and_still_answer_when_it_fits(
    twilio: Twilio, runtime: Runtime
) -> None:
    _talk_about_thipi(twilio)
    reply = twilio.text("c'est urgent, c'est ouvert samedi ?")
    assert reply.startswith("Je comprends, une personne va vous aider.")
    assert f"Un conseiller de {THIPI_NAME} a votre message" in reply
    assert gsm("fermé samedi 28 novembre") in reply
    assert count_segments(reply).segments <= 2
    (ticket,) = rows_of(runtime, CallbackTicket)
    assert (ticket.reason, ticket.place_id) == ("distress", THIPI)


def test_distress_with_no_place_escalates_and_asks_the_commune(
    twilio: Twilio, runtime: Runtime
) -> None:
    reply = twilio.text("au secours je suis perdue")
    assert "Un conseiller a votre message" in reply and "Dans quelle commune" in reply
    (ticket,) = rows_of(runtime, CallbackTicket)
    assert (ticket.reason, ticket.place_id) == ("distress", None)
    then = twilio.text("Yutz")
    assert gsm("déjà transmise") in then and "03 53 01 01 04" in then
    (ticket,) = rows_of(runtime, CallbackTicket)
    assert (ticket.reason, ticket.place_id) == ("distress", YUTZ)


def test_words_about_suicide_give_the_3114_and_escalate(twilio: Twilio, runtime: Runtime) -> None:
    _talk_about_thipi(twilio)
    reply = twilio.text("j'ai envie de mourir")
    assert reply.startswith("Si vous pensez au suicide, appelez le 3114")
    assert "gratuit, 24h/24" in reply and "a votre message" in reply
    assert count_segments(reply).segments <= 2
    (ticket,) = rows_of(runtime, CallbackTicket)
    assert (ticket.reason, ticket.place_id) == ("distress", THIPI)


def test_distress_after_asking_for_a_person_joins_and_raises_the_escalation(
    twilio: Twilio, runtime: Runtime
) -> None:
    _talk_about_thipi(twilio)
    twilio.text("je veux parler à quelqu'un")
    twilio.text("au secours")
    (ticket,) = rows_of(runtime, CallbackTicket)
    assert ticket.reason == "distress"


@pytest.mark.parametrize(
    "text", ["ce n'est pas urgent, c'est ouvert samedi ?", "je ne suis pas perdu, merci"]
)
def test_negated_words_are_not_distress(twilio: Twilio, runtime: Runtime, text: str) -> None:
    _talk_about_thipi(twilio)
    assert "a votre message" not in twilio.text(text)
    assert rows_of(runtime, CallbackTicket) == []


def test_stop_is_not_checked_for_distress(twilio: Twilio, runtime: Runtime) -> None:
    assert "vous ne recevrez plus de messages" in twilio.text("STOP")
    assert rows_of(runtime, CallbackTicket) == []


# --- the bot is quiet while an advisor holds the conversation ---------------------------------


def _taken_by_an_advisor(runtime: Runtime) -> None:
    with runtime.sessions() as session:
        account = add_user(
            session, "claire@example.org", "un mot de passe long", [THIPI], now=clock.now()
        )
        ticket = session.scalars(select(CallbackTicket)).one()
        ticket.status = "taken"
        ticket.taken_by_id = account.id
        ticket.taken_at = clock.now()
        session.commit()


def test_the_assistant_is_quiet_while_an_advisor_holds_the_conversation(
    twilio: Twilio, runtime: Runtime, frozen: Clock
) -> None:
    _talk_about_thipi(twilio)
    twilio.text("je veux parler à quelqu'un")
    _taken_by_an_advisor(runtime)
    frozen.set("2026-11-23T10:05:00+01:00")
    response = twilio.sms(RESIDENT, "Merci, j'attends votre appel")
    assert response.status_code == 200
    root = ET.fromstring(response.get_data(as_text=True))
    assert root.tag == "Response" and list(root) == []
    entries = _thread(runtime)
    assert entries[-1].direction == "in" and entries[-1].body == "Merci, j'attends votre appel"
    (ticket,) = rows_of(runtime, CallbackTicket)
    assert ticket.status == "taken"
    assert ticket.last_inbound_at is not None
    assert ticket.last_inbound_at.isoformat().startswith("2026-11-23T09:05")  # UTC
    # Questions, greetings, empty messages: all for the advisor.
    for text in ("c'est ouvert samedi ?", "Bonjour", "?"):
        assert twilio.text(text) == ""


def test_stop_and_start_still_work_while_an_advisor_holds_the_conversation(
    twilio: Twilio, runtime: Runtime, frozen: Clock
) -> None:
    _talk_about_thipi(twilio)
    twilio.text("je veux parler à quelqu'un")
    _taken_by_an_advisor(runtime)
    assert "vous ne recevrez plus de messages" in twilio.text("STOP")
    (resident,) = rows_of(runtime, Resident)
    assert resident.opted_out
    assert "vous recevez à nouveau" in twilio.text("START")


def test_words_about_suicide_get_the_3114_even_while_held(
    twilio: Twilio, runtime: Runtime, frozen: Clock
) -> None:
    _talk_about_thipi(twilio)
    twilio.text("je veux parler à quelqu'un")
    _taken_by_an_advisor(runtime)
    reply = twilio.text("je veux en finir")
    assert reply.startswith("Si vous pensez au suicide, appelez le 3114")
    (ticket,) = rows_of(runtime, CallbackTicket)
    assert (ticket.status, ticket.reason) == ("taken", "distress")


# --- the thread and the record --------------------------------------------------------------------


def test_every_message_and_answer_goes_to_the_thread(twilio: Twilio, runtime: Runtime) -> None:
    _talk_about_thipi(twilio)
    twilio.text("je veux parler à quelqu'un")
    entries = _thread(runtime)
    texts = [(e.direction, e.author, e.event) for e in entries]
    assert texts == [
        ("in", "resident", None),
        ("out", "assistant", None),
        ("event", "system", "escalated"),
        ("in", "resident", None),
        ("out", "assistant", None),
    ]
    assert entries[3].body == "je veux parler à quelqu'un"
    assert entries[4].body is not None and entries[4].body.startswith("Un conseiller de")
    assert {e.channel for e in entries} == {"sms"}


def test_a_retried_message_is_answered_again_but_recorded_once(
    twilio: Twilio, runtime: Runtime
) -> None:
    sid = "SM" + "7" * 32
    first = twilio.sms(RESIDENT, "je veux parler à quelqu'un", sid=sid)
    twilio.text("Yutz")
    retry = twilio.sms(RESIDENT, "je veux parler à quelqu'un", sid=sid)
    assert retry.get_data() == first.get_data()
    asked = [e for e in _thread(runtime) if e.body == "je veux parler à quelqu'un"]
    assert len(asked) == 1
    assert len(rows_of(runtime, CallbackTicket)) == 1


def test_the_place_talked_about_is_kept_with_each_message(twilio: Twilio, runtime: Runtime) -> None:
    twilio.text("Bonjour")
    _talk_about_thipi(twilio)
    places = [m.place_id for m in rows_of(runtime, ProcessedMessage)]
    assert places == [None, THIPI]
