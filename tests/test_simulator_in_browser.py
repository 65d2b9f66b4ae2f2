"""A person uses the simulator page in a real browser (Debian's Chromium, driven by Playwright)."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.conftest import gsm

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]
# Without these, Chromium tries Google's hosts at start, which this network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def server(app: Flask) -> Iterator[str]:
    """The app served over real HTTP on a free localhost port."""
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}"
    http.shutdown()
    thread.join(timeout=10)


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
