"""An advisor's day in a real browser (Debian's Chromium, driven by Playwright): a resident asks
for a person by a signed SMS webhook, the advisor takes the request, replies (the SMS reaches
the local Twilio server), closes it; marks a no-show in the agenda; reads the statistics.

Screenshots of each step are saved in RELAIS_TEST_ARTIFACTS (default: tests/artifacts/), for a
person to look at after a CI run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from bot import clock
from bot.database import transaction
from bot.dispatch import Dispatcher
from bot.models import Appointment, CallbackTicket
from bot.runtime import Runtime
from bot.services.users import add_user
from bot.wording import gsm7
from tests.browser import BROWSER, CHROMIUM, CHROMIUM_ARGS, served
from tests.conftest import Twilio
from tests.inbox_support import PASSWORD, THIONVILLE
from tests.outbox_support import book, paris
from tests.twilio_server import FakeTwilio

pytestmark = [*BROWSER, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]
RESIDENT = "+33639980021"
PATIENT = "+33639980033"
EMAIL = "claire@example.org"
ARTIFACTS = Path(os.environ.get("RELAIS_TEST_ARTIFACTS") or Path(__file__).parent / "artifacts")
REPLY = "Bonjour, ici Claire du Pôle numérique. Je vous rappelle à 14h, cela vous va ?"


@pytest.fixture
def server(app: Flask, runtime: Runtime) -> Iterator[str]:
    """The app over real HTTP, with one advisor for THI'PI Thionville."""
    with transaction(runtime.sessions) as session:
        add_user(session, EMAIL, PASSWORD, [THIONVILLE], now=clock.now())
    with served(app) as url:
        yield url


@pytest.fixture
def page(server: str) -> Iterator[Any]:
    """A Chromium page signed in as the advisor; fails the test on any script error."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        tab = browser.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda error: errors.append(str(error)))
        tab.goto(server + "/inbox")
        tab.get_by_label("Adresse e-mail").fill(EMAIL)
        tab.get_by_label("Mot de passe").fill(PASSWORD)
        tab.get_by_role("button", name="Se connecter").click()
        tab.get_by_role("heading", name="Boîte de réception").wait_for(timeout=15000)
        yield tab
        assert errors == []
        browser.close()


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def flash(page: Any) -> str:
    return str(page.get_by_role("status").first.inner_text())


def test_an_advisor_takes_a_request_raised_by_sms_replies_and_closes_it(
    page: Any,
    server: str,
    twilio: Twilio,
    runtime: Runtime,
    dispatcher: Dispatcher,
    fake_twilio: FakeTwilio,
) -> None:
    answer = twilio.sms(
        RESIDENT, "Bonjour, je voudrais parler à quelqu'un du Pôle numérique THI'PI"
    )
    assert "Un conseiller" in answer.get_data(as_text=True)

    page.goto(server + "/inbox")
    table = page.get_by_role("table", name="Pôle numérique THI'PI : 1 demande en cours")
    assert "+33 6 ** ** ** 21" in table.inner_text()  # masked until taken
    assert "A demandé un conseiller" in table.inner_text()
    screenshot(page, "1-demandes")

    table.get_by_role("link").first.click()
    page.get_by_role("heading", name="Échanges").wait_for()
    assert "je voudrais parler à quelqu'un" in page.inner_text("main")
    page.get_by_role("button", name="Prendre la demande").click()
    assert "+33 6 39 98 00 21" in page.inner_text("main")  # in full, now that Claire holds it

    page.get_by_label("Votre réponse par SMS").fill(REPLY)
    assert page.locator("#compteur").inner_text().endswith("1 SMS sur 3 au plus.")
    page.get_by_role("button", name="Envoyer le SMS").click()
    assert "Message envoyé" in flash(page)
    screenshot(page, "2-reponse")

    report = dispatcher.run_once(clock.now())
    assert report.sent == 1
    [sms] = fake_twilio.messages
    assert (sms.to, sms.body) == (RESIDENT, gsm7.to_gsm7(REPLY))

    # While the advisor holds the conversation, the assistant stays quiet; the advisor sees it.
    quiet = twilio.sms(RESIDENT, "Oui 14h c'est parfait merci")
    assert "<Message>" not in quiet.get_data(as_text=True)
    page.reload()
    assert "Oui 14h c'est parfait merci" in page.inner_text("main")

    page.get_by_label("Issue de la demande").select_option(label="Rappelé par téléphone")
    page.get_by_role("button", name="Clore la demande").click()
    assert "Demande close" in flash(page)
    screenshot(page, "3-close")
    with runtime.sessions() as session:
        ticket = session.scalars(select(CallbackTicket)).one()
        assert (ticket.status, ticket.outcome) == ("closed", "called_back")
        assert ticket.first_answer_at is not None
    # Closed: the assistant answers the resident again.
    assert "<Message>" in twilio.sms(RESIDENT, "horaires THI'PI").get_data(as_text=True)


def test_an_advisor_marks_a_no_show_and_reads_the_statistics(
    page: Any, server: str, runtime: Runtime, twilio: Twilio, frozen: Any
) -> None:
    for text in ("horaires du Pôle numérique THI'PI", "je dois apporter quoi ?", "aide"):
        twilio.sms(PATIENT, text)  # something to count
    tuesday_9 = paris("2026-11-24 09:00")
    appointment_id = book(runtime, PATIENT, tuesday_9)
    frozen.set((tuesday_9 + timedelta(hours=1)).isoformat())  # it has started, nobody came

    page.goto(f"{server}/inbox/agenda?lieu={THIONVILLE}&jour=2026-11-24")
    row = page.locator("tr", has_text="+33 6 ** ** ** 33")
    row.get_by_role("button", name="Absent").click()
    assert "Présence notée" in flash(page)
    screenshot(page, "4-agenda")
    with runtime.sessions() as session:
        appointment = session.get(Appointment, appointment_id)
        assert appointment is not None and appointment.attendance == "no_show"

    page.get_by_role("link", name="Statistiques").click()
    page.get_by_role("heading", name="Statistiques").wait_for()
    charts = page.locator("svg[role=img]")
    assert charts.count() >= 4
    assert charts.first.bounding_box()["width"] > 100  # drawn, not an empty box
    summary = page.get_by_role("table", name="Chiffres clés de la période").inner_text()
    assert "Demandes reçues\t3" in summary and "100,0 %" in summary  # one no-show out of one
    screenshot(page, "5-statistiques")
