"""An advisor signs in to the inbox in a real browser (Debian's Chromium, driven by Playwright)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from bot import clock
from bot.database import transaction
from bot.runtime import Runtime
from bot.services.users import add_user
from bot.services.voicemails import record_voicemail
from tests.browser import BROWSER, CHROMIUM, CHROMIUM_ARGS, served

pytestmark = BROWSER
PASSWORD = "correct horse battery"
THIONVILLE = "demo-thipi-thionville"


@pytest.fixture
def server(app: Flask, runtime: Runtime) -> Iterator[str]:
    """The app over real HTTP, with one advisor for Thionville and one voicemail there."""
    with transaction(runtime.sessions) as session:
        add_user(
            session, "claire@example.org", PASSWORD, ["demo-thipi-thionville"], now=clock.now()
        )
        record_voicemail(
            session,
            phone="+33639980021",
            call_sid="CA" + "7" * 32,
            place_id=THIONVILLE,
            recording_url="",
            recording_sid="",
            duration_seconds=20,
            now=clock.now(),
        )
    with served(app) as url:
        yield url


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_advisor_signs_in_sees_their_place_and_signs_out(server: str, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(server + "/inbox")
        assert page.url.startswith(server + "/inbox/login")
        assert page.title() == "Connexion – Relais"

        page.get_by_label("Adresse e-mail").fill("claire@example.org")
        page.get_by_label("Mot de passe").fill("not the password")
        page.get_by_role("button", name="Se connecter").click()
        assert page.get_by_role("alert").inner_text() == "Adresse ou mot de passe incorrect."

        page.get_by_label("Mot de passe").fill(PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        page.get_by_role("heading", name="Boîte de réception").wait_for(timeout=15000)
        assert page.url == server + "/inbox"
        table = page.get_by_role("table", name="Pôle numérique THI'PI : 1 demande en cours")
        assert table.locator("tbody tr").count() == 1
        assert "+33 6 ** ** ** 21" in table.inner_text()
        cookie = next(c for c in page.context.cookies() if c["name"] == "session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
        page.screenshot(path=str(tmp_path / "inbox.png"), full_page=True)

        page.get_by_role("button", name="Se déconnecter").click()
        page.get_by_role("button", name="Se connecter").wait_for(timeout=15000)
        page.goto(server + "/inbox")
        assert page.url.startswith(server + "/inbox/login")
        browser.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_reply_counter_shows_segments_and_replaced_characters(server: str) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(server + "/inbox/login")
        page.get_by_label("Adresse e-mail").fill("claire@example.org")
        page.get_by_label("Mot de passe").fill(PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        page.get_by_role("link", name="Demande n° 1").click()
        page.get_by_role("button", name="Prendre la demande").click()
        field = page.get_by_label("Votre réponse par SMS")
        counter = page.locator("#compteur")

        field.fill("Bonjour, êtes-vous disponible à 14h ?")
        assert counter.inner_text() == "37 caractères, 1 SMS sur 3 au plus."
        assert page.locator("#remplacements").inner_text() == (
            "Caractères hors GSM-7 remplacés : ê→e"
        )
        field.fill("a" * 460)
        assert counter.inner_text() == "460 caractères, 4 SMS : trop long, 3 SMS au plus."
        assert page.locator("#remplacements").inner_text() == ""
        assert errors == []
        browser.close()
