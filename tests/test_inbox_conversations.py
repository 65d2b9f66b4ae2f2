"""Advisors work escalated conversations in the inbox: the list by place and age, the thread,
take, reply by SMS (through the local Twilio), hand back to the assistant, close (issue 8)."""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from bot import clock
from bot.database import transaction
from bot.dispatch import Dispatcher
from bot.models import CallbackTicket, OutboundMessage, Resident, ThreadEntry
from bot.runtime import Runtime
from bot.services import advisor_actions, escalations
from bot.services.conversations import get_or_create_resident
from bot.services.users import get_account
from bot.wording import gsm7
from tests.conftest import Twilio
from tests.inbox_support import THIONVILLE, YUTZ, form_token, make_user, signed_in
from tests.twilio_server import FakeTwilio

ALICE = "+33639980021"
BERNARD = "+33639980022"
CLAIRE = "claire@example.org"


def escalate(
    runtime: Runtime, phone: str, place: str | None = THIONVILLE, reason: str = "asked"
) -> int:
    """An escalation as the assistant opens one; its id."""
    with transaction(runtime.sessions) as session:
        resident = get_or_create_resident(session, phone, clock.now())
        return escalations.escalate(
            session,
            resident_id=resident.id,
            place_id=place,
            reason=reason,
            channel="sms",
            now=clock.now(),
        ).id


def ticket(runtime: Runtime, ticket_id: int) -> CallbackTicket:
    with runtime.sessions() as session:
        row = session.get(CallbackTicket, ticket_id)
        assert row is not None
        session.expunge(row)
        return row


def post(client: FlaskClient, path: str, ticket_id: int, **form: str) -> TestResponse:
    token = form_token(client, f"/inbox/demandes/{ticket_id}")
    return client.post(path, data={"csrf_token": token, **form})


def take(client: FlaskClient, ticket_id: int) -> TestResponse:
    return post(client, f"/inbox/demandes/{ticket_id}/prendre", ticket_id)


def reply(client: FlaskClient, ticket_id: int, text: str, **extra: str) -> TestResponse:
    return post(client, f"/inbox/demandes/{ticket_id}/repondre", ticket_id, texte=text, **extra)


def page(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True).replace("\xa0", " ")  # babel: "il y a 2\xa0h"


@pytest.fixture
def claire(client: FlaskClient, runtime: Runtime) -> FlaskClient:
    return signed_in(client, runtime, CLAIRE, [THIONVILLE])


# --- the list ---------------------------------------------------------------------------------


def test_the_list_shows_escalations_by_place_oldest_first_with_masked_numbers(
    app: Flask, runtime: Runtime, frozen: object
) -> None:
    clock.freeze(clock.now() - timedelta(hours=2))
    oldest = escalate(runtime, ALICE, reason="voicemail")
    clock.freeze(clock.now() + timedelta(hours=1, minutes=55))
    newest = escalate(runtime, BERNARD, reason="distress")
    escalate(runtime, "+33639980023", YUTZ, reason="not_understood")
    clock.freeze(clock.now() + timedelta(minutes=5))
    admin = signed_in(app.test_client(), runtime, "admin@example.org", [], admin=True)
    escalate(runtime, "+33639980024", None, reason="no_answer")
    client = signed_in(app.test_client(), runtime, CLAIRE, [THIONVILLE])

    html = page(client, "/inbox")
    assert html.index(f"Demande n° {oldest}") < html.index(f"Demande n° {newest}")
    assert "+33 6 ** ** ** 21" in html and "+33 6 ** ** ** 22" in html
    assert "39 98" not in html
    assert "il y a 2 h" in html and "il y a 5 min" in html
    assert "Message vocal" in html and "Mots de détresse" in html
    assert "Pas compris deux fois" not in html and "Sans lieu" not in html  # Yutz, no place
    assert html.count('class="badge"') == 2  # nobody has acted yet

    everything = page(admin, "/inbox")
    for label in ("Pas compris deux fois", "Appel sans réponse", "Sans lieu", "antenne de Yutz"):
        assert label in everything
    captions = re.findall(r"<caption>(.*?) :", everything)
    assert captions == [
        "Mission locale - antenne de Yutz",
        "Pôle numérique THI&#39;PI",
        "Sans lieu",
    ]
    only_yutz = page(admin, f"/inbox?lieu={YUTZ}")
    assert "Pas compris deux fois" in only_yutz and "Mots de détresse" not in only_yutz


def test_an_advisor_with_nothing_waiting_is_told_so(claire: FlaskClient) -> None:
    assert "Aucune demande en attente." in page(claire, "/inbox")


# --- the conversation -------------------------------------------------------------------------


def test_the_whole_thread_is_shown_and_the_number_only_in_full_once_taken(
    claire: FlaskClient, runtime: Runtime, twilio: Twilio
) -> None:
    twilio.sms(ALICE, "je veux parler à quelqu'un")
    with runtime.sessions() as session:
        resident = session.scalars(select(Resident).where(Resident.phone == ALICE)).one()
        live = escalations.live(session, resident.id)
    # The SMS hand-off may not open escalations yet (in progress elsewhere): open one directly.
    ticket_id = live.id if live and live.place_id == THIONVILLE else escalate(runtime, ALICE)

    html = page(claire, f"/inbox/demandes/{ticket_id}")
    assert f"<h1>Demande n° {ticket_id}</h1>" in html
    assert "+33 6 ** ** ** 21" in html and "+33 6 39 98 00 21" not in html
    assert "Demande transmise aux conseillers" in html and "A demandé un conseiller" in html
    assert "lundi 23 novembre à 10h" in html
    assert '<span class="qui">Résident</span>' in html and "je veux parler à quelqu&#39;un" in html
    assert '<span class="qui">Assistant Relais</span>' in html
    assert "Prendre la demande" in html and "Envoyer le SMS" not in html

    assert take(claire, ticket_id).status_code == 302
    html = page(claire, f"/inbox/demandes/{ticket_id}")
    assert "Vous avez pris cette demande en charge" in html
    assert "+33 6 39 98 00 21" in html
    assert "Prise en charge par vous" in html and "Envoyer le SMS" in html
    assert "Rendre la main à l'assistant" in html and "Clore la demande" in html
    assert "Prendre la demande" not in html
    assert "+33 6 39 98 00 21" in page(claire, "/inbox")  # held: in full in the list too
    with runtime.sessions() as session:
        assert escalations.held_by_advisor(session, ticket(runtime, ticket_id).resident_id or 0)


def test_a_reply_is_sent_by_sms_through_twilio_and_shown_with_its_delivery(
    claire: FlaskClient, runtime: Runtime, dispatcher: Dispatcher, fake_twilio: FakeTwilio
) -> None:
    ticket_id = escalate(runtime, ALICE)
    take(claire, ticket_id)
    text = "  Bonjour, ici Claire du Pôle numérique. Je peux vous rappeler à 14h ?  "
    wakes: list[str] = []
    runtime.wakeup.on_wake(lambda: wakes.append("now"))  # `relais serve` registers its dispatcher

    response = reply(claire, ticket_id, text)
    assert response.status_code == 302
    assert wakes == ["now"]  # sent at once, not at the next 15-second pass
    html = page(claire, f"/inbox/demandes/{ticket_id}")
    assert "Message envoyé" in html and "en attente d&#39;envoi" in html
    assert html.count("Je peux vous rappeler à 14h ?") == 1  # once, not also as an outbox line

    report = dispatcher.run_once(clock.now())
    assert report.sent == 1
    [sms] = fake_twilio.messages
    assert sms.to == ALICE
    assert sms.body == gsm7.to_gsm7(text.strip())  # "Pôle" -> "Pole"
    assert "(SMS, envoyé)" in page(claire, f"/inbox/demandes/{ticket_id}")
    row = ticket(runtime, ticket_id)
    assert row.first_answer_at == clock.now() and row.status == "taken"
    with runtime.sessions() as session:
        entry = session.scalars(select(ThreadEntry).where(ThreadEntry.author == "advisor")).all()
        assert [(e.direction, e.event) for e in entry] == [("event", "taken"), ("out", None)]
        assert entry[1].outbound_id is not None and entry[1].user_id is not None


def test_the_same_reply_form_sent_twice_sends_one_sms(
    claire: FlaskClient, runtime: Runtime
) -> None:
    ticket_id = escalate(runtime, ALICE)
    take(claire, ticket_id)
    form_id = "ab" * 16
    reply(claire, ticket_id, "Je vous rappelle.", envoi=form_id)
    reply(claire, ticket_id, "Je vous rappelle.", envoi=form_id)
    assert "Ce message a déjà été envoyé." in page(claire, f"/inbox/demandes/{ticket_id}")
    with runtime.sessions() as session:
        assert len(session.scalars(select(OutboundMessage)).all()) == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("   ", "Écrivez un message avant de l&#39;envoyer."),
        ("é" * (153 * 3 + 1), "Message trop long : il ferait 4 SMS."),
        ("ê" * 459, None),  # mapped to "e": three GSM-7 segments exactly
    ],
)
def test_a_reply_over_three_sms_or_empty_is_refused_and_kept(
    claire: FlaskClient, runtime: Runtime, text: str, message: str | None
) -> None:
    ticket_id = escalate(runtime, ALICE)
    take(claire, ticket_id)
    response = reply(claire, ticket_id, text)
    with runtime.sessions() as session:
        queued = session.scalars(select(OutboundMessage)).all()
    if message is None:
        assert response.status_code == 302 and len(queued) == 1
        return
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html and queued == []
    if text.strip():
        assert text in html  # nothing typed is lost


def test_a_resident_who_sent_stop_gets_no_reply(
    claire: FlaskClient, runtime: Runtime, twilio: Twilio
) -> None:
    ticket_id = escalate(runtime, ALICE)
    take(claire, ticket_id)
    twilio.sms(ALICE, "STOP")
    html = page(claire, f"/inbox/demandes/{ticket_id}")
    assert "Ce résident a répondu STOP" in html and "Envoyer le SMS" not in html

    response = reply(claire, ticket_id, "Bonjour")
    assert response.status_code == 400
    assert "Relais ne peut plus lui envoyer de SMS" in response.get_data(as_text=True)
    with runtime.sessions() as session:
        assert session.scalars(select(OutboundMessage)).all() == []


def test_only_the_holder_replies(app: Flask, claire: FlaskClient, runtime: Runtime) -> None:
    ticket_id = escalate(runtime, ALICE)
    reply(claire, ticket_id, "Bonjour")
    assert "Prenez d&#39;abord la demande en charge." in page(
        claire, f"/inbox/demandes/{ticket_id}"
    )
    take(claire, ticket_id)
    colleague = signed_in(app.test_client(), runtime, "paul@example.org", [THIONVILLE])
    html = page(colleague, f"/inbox/demandes/{ticket_id}")
    assert "+33 6 ** ** ** 21" in html and "Envoyer le SMS" not in html
    assert f"{CLAIRE} s'occupe de cette demande." in html
    take(colleague, ticket_id)
    assert f"déjà prise en charge par {CLAIRE}" in page(colleague, f"/inbox/demandes/{ticket_id}")
    reply(colleague, ticket_id, "Bonjour")
    with runtime.sessions() as session:
        assert session.scalars(select(OutboundMessage)).all() == []
    assert ticket(runtime, ticket_id).taken_by_id is not None


def test_an_admin_can_take_over_a_conversation(
    app: Flask, claire: FlaskClient, runtime: Runtime
) -> None:
    ticket_id = escalate(runtime, ALICE)
    take(claire, ticket_id)
    admin = signed_in(app.test_client(), runtime, "admin@example.org", [], admin=True)
    assert "Reprendre la demande" in page(admin, f"/inbox/demandes/{ticket_id}")
    take(admin, ticket_id)
    assert "+33 6 39 98 00 21" in page(admin, f"/inbox/demandes/{ticket_id}")
    assert "+33 6 ** ** ** 21" in page(claire, f"/inbox/demandes/{ticket_id}")


def test_hand_back_lets_the_assistant_answer_and_keeps_the_escalation_waiting(
    claire: FlaskClient, runtime: Runtime
) -> None:
    ticket_id = escalate(runtime, ALICE)
    take(claire, ticket_id)
    response = post(claire, f"/inbox/demandes/{ticket_id}/rendre", ticket_id)
    assert response.status_code == 302
    row = ticket(runtime, ticket_id)
    assert (row.status, row.taken_by_id) == ("open", None)
    html = page(claire, f"/inbox/demandes/{ticket_id}")
    assert "L&#39;assistant répond de nouveau à ce résident." in html
    assert "Rendue à l&#39;assistant</span> par claire@example.org" in html
    assert "Prendre la demande" in html
    listing = page(claire, "/inbox")
    assert f"Demande n° {ticket_id}" in listing and 'class="badge"' not in listing


def test_close_with_an_outcome_ends_the_escalation(claire: FlaskClient, runtime: Runtime) -> None:
    ticket_id = escalate(runtime, ALICE, reason="voicemail")
    path = f"/inbox/demandes/{ticket_id}/clore"
    post(claire, path, ticket_id, issue="not-an-outcome")
    assert "Choisissez une issue dans la liste." in page(claire, f"/inbox/demandes/{ticket_id}")
    assert ticket(runtime, ticket_id).status == "open"

    response = post(claire, path, ticket_id, issue="called_back")
    assert response.status_code == 302
    row = ticket(runtime, ticket_id)
    assert (row.status, row.outcome, row.closed_at) == ("closed", "called_back", clock.now())
    assert row.first_answer_at == clock.now()
    html = page(claire, f"/inbox/demandes/{ticket_id}")
    assert "Demande close : Rappelé par téléphone." in html
    assert "Clore la demande" not in html and "Prendre la demande" not in html
    assert f"Demande n° {ticket_id}" not in page(claire, "/inbox")
    post(claire, path, ticket_id, issue="resolved")
    assert "Cette demande a été close entre-temps." in page(claire, f"/inbox/demandes/{ticket_id}")
    take(claire, ticket_id)
    assert ticket(runtime, ticket_id).status == "closed"


@pytest.mark.parametrize(
    "path",
    ["/inbox/demandes/abc", "/inbox/demandes/99999999999999999999", "/inbox/demandes/0"],
)
def test_bad_ids_are_404_never_500(claire: FlaskClient, path: str) -> None:
    assert claire.get(path).status_code == 404
    token = form_token(claire, "/inbox")
    for action in ("prendre", "repondre", "rendre", "clore"):
        assert claire.post(f"{path}/{action}", data={"csrf_token": token}).status_code == 404
    assert claire.get("/inbox/messages-vocaux/99999999999999999999.mp3").status_code == 404


@pytest.mark.postgres
def test_two_advisors_taking_at_once_one_wins(app: Flask, runtime: Runtime) -> None:
    ticket_id = escalate(runtime, ALICE)
    make_user(runtime, "a@example.org", [THIONVILLE])
    make_user(runtime, "b@example.org", [THIONVILLE])
    with runtime.sessions() as session:
        accounts = [get_account(session, n) for n in (1, 2)]
    assert all(accounts)
    barrier = threading.Barrier(2)
    outcomes: list[str] = ["", ""]

    def run(index: int) -> None:
        barrier.wait()
        try:
            with transaction(runtime.sessions) as session:
                advisor_actions.take(session, accounts[index], ticket_id, clock.now())  # type: ignore[arg-type]
            outcomes[index] = "ok"
        except Exception as error:
            outcomes[index] = type(error).__name__

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert Counter(outcomes) == Counter({"ok": 1, "HeldBySomeoneElse": 1})
    row = ticket(runtime, ticket_id)
    assert row.status == "taken" and row.taken_by_id == accounts[outcomes.index("ok")].id  # type: ignore[union-attr]
    with runtime.sessions() as session:
        events = session.scalars(select(ThreadEntry.event).where(ThreadEntry.event == "taken"))
        assert list(events) == ["taken"]


def test_the_counter_script_uses_the_servers_gsm7_tables() -> None:
    script = (Path(gsm7.__file__).parents[1] / "inbox" / "static" / "inbox.js").read_text()

    def table(name: str) -> object:
        found = re.search(rf"const {name} = (.*);\n", script)
        assert found, name
        return json.loads(found.group(1))

    assert set(str(table("GSM7_BASIC"))) == gsm7.GSM7_BASIC
    assert set(str(table("GSM7_EXTENSION"))) == gsm7.GSM7_EXTENSION
    assert table("FRENCH_MAP") == gsm7._FRENCH_MAP
