"""Who may see and act on an escalation: another place's advisor gets a 404 everywhere, an admin
sees every place, and no form is accepted without its CSRF token (issue 8)."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from bot import clock
from bot.config import Settings
from bot.database import transaction
from bot.models import CallbackTicket, OutboundMessage, ThreadEntry
from bot.runtime import Runtime
from bot.services import escalations, threads
from bot.services.conversations import get_or_create_resident
from bot.services.voicemails import VoicemailInfo, record_voicemail
from tests.inbox_support import THIONVILLE, YUTZ, form_token, signed_in

ALICE = "+33639980021"
AUDIO = b"ID3" + bytes(range(256)) * 40  # an MP3 as far as the inbox cares
RECORDING = "/2010-04-01/Accounts/AC" + "1" * 32 + "/Recordings/RE" + "2" * 32
ACTIONS = {
    "prendre": {},
    "repondre": {"texte": "Bonjour"},
    "rendre": {},
    "clore": {"issue": "resolved"},
}


class Recordings:
    """A local stand-in for Twilio's recording media URL (basic auth, then the MP3)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        self.credentials = ""
        self.status = 200
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:  # noqa: N802
                outer.requests.append((self.path, self.headers.get("Authorization", "")))
                if self.headers.get("Authorization") != f"Basic {outer.credentials}":
                    self.send_response(401)
                    self.end_headers()
                    return
                if self.path != RECORDING + ".mp3" or outer.status != 200:
                    self.send_response(404 if outer.status == 200 else outer.status)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "audio/mpeg")
                self.send_header("Content-Length", str(len(AUDIO)))
                self.end_headers()
                self.wfile.write(AUDIO)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def recordings() -> Iterator[Recordings]:
    server = Recordings()
    yield server
    server.close()


@pytest.fixture
def settings(settings: Settings, recordings: Recordings) -> Settings:
    """The test settings, with Twilio's REST API on the local stand-in."""
    overridden = settings.with_overrides(twilio_api_url=recordings.url)
    pair = f"{overridden.twilio_account_sid}:{overridden.twilio_auth_token}"
    recordings.credentials = base64.b64encode(pair.encode()).decode()
    return overridden


def voicemail(runtime: Runtime, place: str | None = THIONVILLE) -> VoicemailInfo:
    with transaction(runtime.sessions) as session:
        return record_voicemail(
            session,
            phone=ALICE,
            call_sid="CA" + "3" * 32,
            place_id=place,
            recording_url="https://api.twilio.com" + RECORDING,
            recording_sid="RE" + "2" * 32,
            duration_seconds=17,
            now=clock.now(),
        )


def state(runtime: Runtime) -> tuple[Any, ...]:
    """Everything an action could change."""
    with runtime.sessions() as session:
        tickets = session.execute(
            select(CallbackTicket.status, CallbackTicket.taken_by_id, CallbackTicket.outcome)
        ).all()
        entries = session.scalar(select(func.count()).select_from(ThreadEntry))
        sent = session.scalar(select(func.count()).select_from(OutboundMessage))
    return tuple(tickets), entries, sent


@pytest.fixture
def yutz(app: Flask, runtime: Runtime) -> FlaskClient:
    return signed_in(app.test_client(), runtime, "yutz@example.org", [YUTZ])


@pytest.fixture
def claire(app: Flask, runtime: Runtime) -> FlaskClient:
    return signed_in(app.test_client(), runtime, "claire@example.org", [THIONVILLE])


def test_another_places_advisor_gets_404_on_view_actions_and_audio(
    runtime: Runtime, yutz: FlaskClient, claire: FlaskClient, recordings: Recordings
) -> None:
    info = voicemail(runtime)
    before = state(runtime)
    token = form_token(yutz, "/inbox")

    assert yutz.get(f"/inbox/demandes/{info.ticket_id}").status_code == 404
    for action, form in ACTIONS.items():
        response = yutz.post(
            f"/inbox/demandes/{info.ticket_id}/{action}", data={"csrf_token": token, **form}
        )
        assert response.status_code == 404, action
    assert yutz.get(f"/inbox/messages-vocaux/{info.id}.mp3").status_code == 404
    assert "Demande n°" not in yutz.get("/inbox").get_data(as_text=True)
    assert state(runtime) == before
    assert recordings.requests == []

    # ...even once someone of the place holds it.
    claire_token = form_token(claire, f"/inbox/demandes/{info.ticket_id}")
    claire.post(f"/inbox/demandes/{info.ticket_id}/prendre", data={"csrf_token": claire_token})
    assert yutz.get(f"/inbox/demandes/{info.ticket_id}").status_code == 404


def test_the_places_advisor_listens_to_the_voicemail_relayed_from_twilio(
    runtime: Runtime, claire: FlaskClient, recordings: Recordings
) -> None:
    info = voicemail(runtime)
    page = claire.get(f"/inbox/demandes/{info.ticket_id}").get_data(as_text=True)
    assert f'<audio controls preload="none" src="/inbox/messages-vocaux/{info.id}.mp3">' in page
    assert "Message vocal du résident</span> (17 s)" in page

    response = claire.get(f"/inbox/messages-vocaux/{info.id}.mp3")
    assert response.status_code == 200 and response.mimetype == "audio/mpeg"
    assert response.get_data() == AUDIO
    assert response.headers["Cache-Control"] == "no-store"
    assert [path for path, _ in recordings.requests] == [RECORDING + ".mp3"]

    recordings.status = 500
    assert claire.get(f"/inbox/messages-vocaux/{info.id}.mp3").status_code == 502


def test_an_admin_sees_every_place_and_escalations_with_no_place(
    app: Flask, runtime: Runtime, yutz: FlaskClient
) -> None:
    info = voicemail(runtime, place=None)
    admin = signed_in(app.test_client(), runtime, "admin@example.org", [], admin=True)
    assert yutz.get(f"/inbox/demandes/{info.ticket_id}").status_code == 404
    page = admin.get(f"/inbox/demandes/{info.ticket_id}").get_data(as_text=True)
    assert "Sans lieu" in page and "Prendre la demande" in page
    assert admin.get(f"/inbox/messages-vocaux/{info.id}.mp3").status_code == 200
    assert f"Demande n° {info.ticket_id}" in admin.get("/inbox").get_data(as_text=True)


@pytest.mark.parametrize("action", sorted(ACTIONS))
@pytest.mark.parametrize("token", ["", "forged-token", "stale"])
def test_a_post_without_a_valid_csrf_token_is_refused_and_changes_nothing(
    app: Flask, runtime: Runtime, action: str, token: str
) -> None:
    info = voicemail(runtime)
    holder = signed_in(app.test_client(), runtime, "claire@example.org", [THIONVILLE])
    holder.post(
        f"/inbox/demandes/{info.ticket_id}/prendre",
        data={"csrf_token": form_token(holder, f"/inbox/demandes/{info.ticket_id}")},
    )
    if token == "stale":  # a real token, from another signed-in session
        other = signed_in(app.test_client(), runtime, "paul@example.org", [THIONVILLE])
        token = form_token(other, "/inbox")
    before = state(runtime)
    form = dict(ACTIONS[action], **({"csrf_token": token} if token else {}))
    response = holder.post(f"/inbox/demandes/{info.ticket_id}/{action}", data=form)
    assert response.status_code == 400
    assert "rien n'a été enregistré ni envoyé" in response.get_data(as_text=True)
    assert state(runtime) == before


def test_a_signed_out_visitor_is_sent_to_sign_in(client: FlaskClient, runtime: Runtime) -> None:
    info = voicemail(runtime)
    for path in (f"/inbox/demandes/{info.ticket_id}", f"/inbox/messages-vocaux/{info.id}.mp3"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/inbox/login?next=")
    response = client.post(f"/inbox/demandes/{info.ticket_id}/prendre", data={})
    assert response.status_code in (302, 400)


def test_an_old_request_does_not_open_what_the_resident_later_said_to_another_place(
    runtime: Runtime, yutz: FlaskClient, claire: FlaskClient, recordings: Recordings
) -> None:
    with transaction(runtime.sessions) as session:
        resident = get_or_create_resident(session, ALICE, clock.now())
        old = escalations.escalate(
            session,
            resident_id=resident.id,
            place_id=YUTZ,
            reason="asked",
            channel="sms",
            now=clock.now(),
        )
        ticket = session.get(CallbackTicket, old.id)
        assert ticket is not None
        ticket.status, ticket.outcome, ticket.closed_at = "closed", "resolved", clock.now()
    later = clock.now() + timedelta(days=2)
    with transaction(runtime.sessions) as session:
        new = escalations.escalate(
            session,
            resident_id=resident.id,
            place_id=THIONVILLE,
            reason="asked",
            channel="sms",
            now=later,
        )
        threads.record(
            session,
            resident_id=resident.id,
            channel="sms",
            direction=threads.OUT,
            author=threads.ADVISOR,
            body="Réponse de Thionville, pour Thionville seulement",
            ticket_id=new.id,
            now=later,
        )
    info = voicemail(runtime)  # left for Thionville, after the Yutz request

    page = yutz.get(f"/inbox/demandes/{old.id}")
    assert page.status_code == 200  # Yutz's own, closed request
    assert "Thionville seulement" not in page.get_data(as_text=True)
    assert yutz.get(f"/inbox/messages-vocaux/{info.id}.mp3").status_code == 404
    assert "Thionville seulement" in claire.get(f"/inbox/demandes/{new.id}").get_data(as_text=True)
    assert claire.get(f"/inbox/messages-vocaux/{info.id}.mp3").status_code == 200
