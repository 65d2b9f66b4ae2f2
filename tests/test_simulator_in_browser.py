"""A person uses the simulator page in a real browser (Debian's Chromium, driven by Playwright)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from tests.browser import BROWSER, CHROMIUM, CHROMIUM_ARGS, served
from tests.conftest import gsm

pytestmark = BROWSER


@pytest.fixture
def server(app: Flask) -> Iterator[str]:
    """The app served over real HTTP on a free localhost port."""
    with served(app) as url:
        yield url


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_person_texts_the_assistant_in_the_simulator(server: str, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(server + "/")
        assert page.title() == "Relais : simulateur SMS"
        replies = page.locator(".bulle.relais")

        page.fill("#message", "c'est ouvert quand la médiathèque de la Côte des Roses ?")
        page.click("#envoyer")
        replies.nth(0).wait_for(timeout=15000)
        assert gsm("le vendredi de 16h à 17h") in replies.nth(0).inner_text()

        page.fill("#message", "il y a une permanence près de 57970 ?")
        page.press("#message", "Enter")
        replies.nth(1).wait_for(timeout=15000)
        assert "1 Yutz" in replies.nth(1).inner_text()

        page.fill("#message", "1")
        page.press("#message", "Enter")
        replies.nth(2).wait_for(timeout=15000)
        assert gsm("Mission locale - antenne de Yutz") in replies.nth(2).inner_text()
        assert "SMS" in page.locator(".meta").nth(2).inner_text()
        page.screenshot(path=str(tmp_path / "simulator.png"), full_page=True)
        browser.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_person_calls_the_voice_line_in_the_simulator(server: str, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(server + "/")
        said = page.locator("#appel-fil .relais-dit")
        page.get_by_role("checkbox", name="Lire à voix haute").check()

        page.get_by_role("button", name="Appeler").click()
        said.nth(0).wait_for(timeout=15000)
        assert "ici Relais" in said.nth(0).inner_text()
        assert "tapez 1 pour les horaires" in said.nth(0).inner_text()

        # The menu takes one key: pressing 1 answers at once, as on a real phone.
        page.get_by_role("button", name="Touche 1").click()
        said.nth(1).wait_for(timeout=15000)
        assert "Dans quelle commune habitez-vous ?" in said.nth(1).inner_text()

        page.get_by_label("Parler (texte)").fill("57100")
        page.get_by_role("button", name="Envoyer ce que vous dites").click()
        said.nth(2).wait_for(timeout=15000)
        assert "Le code 57100 couvre plusieurs communes" in said.nth(2).inner_text()

        page.get_by_role("button", name="Raccrocher").click()
        assert page.locator("#etat").inner_text() == "Appel terminé."
        assert page.get_by_role("button", name="Appeler").is_enabled()
        page.screenshot(path=str(tmp_path / "call.png"), full_page=True)

        # The SMS simulator still works next to the phone.
        page.fill("#message", "il y a une permanence près de 57970 ?")
        page.click("#envoyer")
        page.locator(".bulle.relais").nth(0).wait_for(timeout=15000)
        assert "1 Yutz" in page.locator(".bulle.relais").nth(0).inner_text()
        browser.close()
