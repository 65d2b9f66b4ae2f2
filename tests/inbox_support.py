"""What inbox tests share: accounts, sign-in through the real form, CSRF tokens, tickets."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

from bot import clock
from bot.database import transaction
from bot.runtime import Runtime
from bot.services.users import add_user
from bot.services.voicemails import record_voicemail

THIONVILLE = "demo-thipi-thionville"  # "Pôle numérique THI'PI"
YUTZ = "demo-mission-locale-yutz"  # "Mission locale - antenne de Yutz"
PASSWORD = "correct horse battery"
WRONG = "Adresse ou mot de passe incorrect."
_calls = iter(range(1, 10_000))


def make_user(
    runtime: Runtime,
    email: str,
    places: list[str],
    *,
    admin: bool = False,
    password: str = PASSWORD,
) -> None:
    with transaction(runtime.sessions) as session:
        add_user(session, email, password, places, is_admin=admin, now=clock.now())


def open_ticket(runtime: Runtime, place_id: str | None, phone: str) -> None:
    """A voicemail left for a place, which opens a callback ticket."""
    with transaction(runtime.sessions) as session:
        record_voicemail(
            session,
            phone=phone,
            call_sid=f"CA{next(_calls):032x}",
            place_id=place_id,
            recording_url="",
            recording_sid="",
            duration_seconds=12,
            now=clock.now(),
        )


def csrf_token(client: FlaskClient, path: str = "/inbox/login") -> str:
    page = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def log_in(client: FlaskClient, email: str, password: str = PASSWORD, **extra: Any) -> Any:
    form = {"csrf_token": csrf_token(client), "email": email, "password": password}
    form.update(extra.pop("form", {}))
    return client.post("/inbox/login", data=form, **extra)


def signed_in(
    client: FlaskClient, runtime: Runtime, email: str, places: list[str], **kw: Any
) -> FlaskClient:
    """A client signed in as a new account for these places (admin=True for an admin)."""
    make_user(runtime, email, places, **kw)
    response = log_in(client, email)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def form_token(client: FlaskClient, path: str) -> str:
    """The CSRF token of the form on an inbox page (signed in)."""
    return csrf_token(client, path)
