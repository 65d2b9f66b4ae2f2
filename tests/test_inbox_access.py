"""Who gets into the advisors' inbox, and what they see there (issue 8, access)."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from bot import clock
from bot.app import create_app, prepare_database
from bot.cli import main
from bot.config import ConfigError, Settings, settings_from_env
from bot.database import transaction
from bot.models import LoginAttempt, User
from bot.runtime import Runtime, runtime_of
from bot.services.users import (
    Account,
    InvalidCredentials,
    UnknownPlaces,
    WeakPassword,
    add_user,
    authenticate,
    can_see_place,
)
from tests.inbox_support import (
    PASSWORD,
    THIONVILLE,
    WRONG,
    YUTZ,
    csrf_token,
    log_in,
    make_user,
    open_ticket,
)


@pytest.fixture
def advisor(runtime: Runtime) -> str:
    make_user(runtime, "Claire.Conseillere@Example.org", [THIONVILLE])
    return "claire.conseillere@example.org"


@pytest.mark.parametrize("path", ["/inbox", "/inbox/"])
def test_signed_out_visitor_is_sent_to_the_login_form(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/inbox/login?next=")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Connectez-vous pour accéder à la boîte de réception." in page
    assert 'name="csrf_token"' in page


def test_advisor_signs_in_and_sees_the_inbox(client: FlaskClient, advisor: str) -> None:
    response = log_in(client, "  CLAIRE.conseillere@example.org ")
    assert response.status_code == 302
    assert response.headers["Location"] == "/inbox"
    page = client.get("/inbox").get_data(as_text=True)
    assert "<h1>Boîte de réception</h1>" in page
    assert advisor in page
    assert "Pôle numérique THI&#39;PI" in page


def test_sign_in_records_the_last_login(
    client: FlaskClient, runtime: Runtime, advisor: str
) -> None:
    log_in(client, advisor)
    with transaction(runtime.sessions) as session:
        user = session.scalars(select(User).where(User.email == advisor)).one()
        assert user.last_login_at == clock.now()


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("claire.conseillere@example.org", "wrong password!"),
        ("nobody@example.org", PASSWORD),
        ("", ""),
    ],
    ids=["wrong-password", "unknown-email", "empty"],
)
def test_failed_sign_in_gets_one_generic_message(
    client: FlaskClient, advisor: str, email: str, password: str
) -> None:
    response = log_in(client, email, password)
    assert response.status_code == 401
    assert WRONG in response.get_data(as_text=True)
    assert client.get("/inbox").status_code == 302


def test_inactive_account_cannot_sign_in_and_loses_its_session(
    client: FlaskClient, runtime: Runtime, advisor: str
) -> None:
    assert log_in(client, advisor).status_code == 302
    with transaction(runtime.sessions) as session:
        session.scalars(select(User).where(User.email == advisor)).one().active = False
    assert client.get("/inbox").status_code == 302
    response = log_in(client, advisor)
    assert response.status_code == 401 and WRONG in response.get_data(as_text=True)


def test_login_without_csrf_token_is_rejected(client: FlaskClient, advisor: str) -> None:
    response = client.post("/inbox/login", data={"email": advisor, "password": PASSWORD})
    assert response.status_code == 400
    assert "La page a expiré" in response.get_data(as_text=True)
    assert client.get("/inbox").status_code == 302


def test_login_with_a_forged_csrf_token_is_rejected(client: FlaskClient, advisor: str) -> None:
    csrf_token(client)
    form = {"csrf_token": "forged", "email": advisor, "password": PASSWORD}
    assert client.post("/inbox/login", data=form).status_code == 400


def test_logout_needs_the_csrf_token(client: FlaskClient, advisor: str) -> None:
    log_in(client, advisor)
    assert client.post("/inbox/logout").status_code == 400
    assert client.get("/inbox").status_code == 200
    token = csrf_token(client, "/inbox")
    response = client.post("/inbox/logout", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/inbox/login"
    assert client.get("/inbox").status_code == 302


def test_logout_is_not_a_get(client: FlaskClient, advisor: str) -> None:
    log_in(client, advisor)
    assert client.get("/inbox/logout").status_code == 405
    assert client.get("/inbox").status_code == 200


def test_advisor_sees_only_the_tickets_of_their_places(
    app: Flask, runtime: Runtime, advisor: str
) -> None:
    open_ticket(runtime, THIONVILLE, "+33639980011")
    open_ticket(runtime, YUTZ, "+33639980012")
    open_ticket(runtime, YUTZ, "+33639980013")
    open_ticket(runtime, None, "+33639980014")
    make_user(runtime, "yutz@example.org", [YUTZ])
    make_user(runtime, "admin@example.org", [], admin=True)

    thionville = app.test_client()
    log_in(thionville, advisor)
    page = thionville.get("/inbox").get_data(as_text=True)
    assert "<caption>Pôle numérique THI&#39;PI : 1 demande en cours</caption>" in page
    assert "Yutz" not in page and "Sans lieu" not in page

    yutz = app.test_client()
    log_in(yutz, "yutz@example.org")
    page = yutz.get("/inbox").get_data(as_text=True)
    assert "<caption>Mission locale - antenne de Yutz : 2 demandes en cours</caption>" in page
    assert "THI&#39;PI" not in page

    admin = app.test_client()
    log_in(admin, "admin@example.org")
    page = admin.get("/inbox").get_data(as_text=True)
    assert re.findall(r"<caption>(.*?)</caption>", page) == [
        "Mission locale - antenne de Yutz : 2 demandes en cours",
        "Pôle numérique THI&#39;PI : 1 demande en cours",
        "Sans lieu : 1 demande en cours",
    ]
    assert "(administrateur)" in page
    assert page.count("<option") == 1 + 13 + 1  # all, 13 demo places, no place


def test_sign_in_is_blocked_after_five_failures_even_with_the_right_password(
    client: FlaskClient, runtime: Runtime, advisor: str, frozen: Any
) -> None:
    for _ in range(5):
        assert log_in(client, advisor, "wrong password!").status_code == 401
    blocked = log_in(client, advisor)
    assert blocked.status_code == 429
    assert "Trop de tentatives" in blocked.get_data(as_text=True)
    assert client.get("/inbox").status_code == 302
    # Another address elsewhere is not blocked by these failures.
    other = log_in(client, advisor, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 302
    client.post("/inbox/logout", data={"csrf_token": csrf_token(client, "/inbox")})
    # Nothing stored in clear: the key is a keyed hash of email and address.
    with transaction(runtime.sessions) as session:
        keys = list(session.scalars(select(LoginAttempt.key)))
    assert len(keys) == 5 and all(re.fullmatch(r"[0-9a-f]{64}", k) for k in keys)
    # Fifteen minutes later the right password works again, and clears the count.
    frozen.set("2026-11-23T10:15:01+01:00")
    assert log_in(client, advisor).status_code == 302
    with transaction(runtime.sessions) as session:
        assert session.scalar(select(func.count()).select_from(LoginAttempt)) == 0


def test_successful_sign_in_resets_the_failure_count(client: FlaskClient, advisor: str) -> None:
    for _ in range(4):
        log_in(client, advisor, "wrong password!")
    assert log_in(client, advisor).status_code == 302
    client.post("/inbox/logout", data={"csrf_token": csrf_token(client, "/inbox")})
    for _ in range(4):
        log_in(client, advisor, "wrong password!")
    assert log_in(client, advisor).status_code == 302


@pytest.mark.parametrize(
    ("asked", "landing"),
    [
        ("/inbox", "/inbox"),
        ("/inbox/?page=2", "/inbox/?page=2"),
        ("https://evil.example/inbox", "/inbox"),
        ("//evil.example/inbox", "/inbox"),
        ("/\\evil.example", "/inbox"),
        ("/twilio/sms", "/inbox"),
        ("/inboxes", "/inbox"),
        ("javascript:alert(1)", "/inbox"),
    ],
)
def test_after_sign_in_only_local_inbox_pages_are_followed(
    client: FlaskClient, advisor: str, asked: str, landing: str
) -> None:
    response = log_in(client, advisor, form={"next": asked})
    assert response.status_code == 302
    assert response.headers["Location"] == landing


def test_session_cookie_is_httponly_and_samesite(client: FlaskClient, advisor: str) -> None:
    cookie = log_in(client, advisor).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # development default: the demo runs over http


def test_session_cookie_is_secure_when_configured(
    settings: Settings, nlu_engine: Any, tmp_path: Any
) -> None:
    app = create_app(settings.with_overrides(session_cookie_secure=True), nlu_engine=nlu_engine)
    runtime = runtime_of(app)
    prepare_database(runtime)
    make_user(runtime, "secure@example.org", [THIONVILLE])
    client = app.test_client()
    cookie = log_in(client, "secure@example.org", base_url="https://localhost").headers[
        "Set-Cookie"
    ]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    runtime.db.dispose()


def test_secure_cookies_are_the_production_default() -> None:
    assert settings_from_env({"RELAIS_ENV": "production"}).secure_cookies
    assert not settings_from_env({}).secure_cookies
    assert Settings(env="production").secure_cookies
    with pytest.raises(ConfigError, match="RELAIS_SESSION_COOKIE_SECURE"):
        settings_from_env(
            {
                "RELAIS_ENV": "production",
                "RELAIS_SIMULATOR": "0",
                "TWILIO_AUTH_TOKEN": "t" * 32,
                "RELAIS_SECRET_KEY": "k" * 32,
                "RELAIS_SESSION_COOKIE_SECURE": "0",
            }
        ).check()


def test_inbox_pages_are_not_cached_nor_framed(client: FlaskClient, advisor: str) -> None:
    log_in(client, advisor)
    response = client.get("/inbox")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_logs_mask_the_email_and_never_hold_the_password(
    client: FlaskClient, advisor: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        log_in(client, advisor, "wrong password!")
        log_in(client, advisor)
    assert "c***@example.org" in caplog.text
    assert advisor not in caplog.text
    assert "wrong password!" not in caplog.text and PASSWORD not in caplog.text


def test_passwords_are_stored_as_argon2id_hashes(runtime: Runtime, advisor: str) -> None:
    with transaction(runtime.sessions) as session:
        user = session.scalars(select(User).where(User.email == advisor)).one()
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_an_old_hash_is_upgraded_at_sign_in(runtime: Runtime, advisor: str) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    with transaction(runtime.sessions) as session:
        session.scalars(select(User).where(User.email == advisor)).one().password_hash = weak
    with transaction(runtime.sessions) as session:
        authenticate(session, advisor, PASSWORD, clock.now())
    with transaction(runtime.sessions) as session:
        upgraded = session.scalars(select(User).where(User.email == advisor)).one().password_hash
    assert upgraded != weak and upgraded.startswith("$argon2id$")
    assert PasswordHasher().verify(upgraded, PASSWORD)


def test_service_refuses_unknown_places_and_short_passwords(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        with pytest.raises(UnknownPlaces) as refused:
            add_user(session, "a@example.org", PASSWORD, ["nowhere"], now=clock.now())
        assert refused.value.place_ids == ["nowhere"]
        with pytest.raises(WeakPassword):
            add_user(session, "a@example.org", "short", [THIONVILLE], now=clock.now())
        with pytest.raises(InvalidCredentials):
            authenticate(session, "a@example.org", PASSWORD, clock.now())


# relais users add ------------------------------------------------------------------------------


@pytest.fixture
def cli_env(app: Flask, database_url: str, tmp_path: Any) -> dict[str, str]:
    """The CLI on the app's database (demo places loaded)."""
    return {"RELAIS_DATABASE_URL": database_url, "RELAIS_INSTANCE_DIR": str(tmp_path / "cli")}


def _stored_hash(runtime: Runtime, email: str) -> str:
    with transaction(runtime.sessions) as session:
        return session.scalars(select(User.password_hash).where(User.email == email)).one()


def test_users_add_with_a_password_option(
    cli_env: dict[str, str], runtime: Runtime, client: FlaskClient
) -> None:
    args = ["users", "add", "Lea@Example.org", "--place", THIONVILLE, "--password", PASSWORD]
    result = CliRunner().invoke(main, args, env=cli_env)
    assert result.exit_code == 0, result.output
    assert f"Compte conseiller créé pour lea@example.org ; lieux : {THIONVILLE}." in result.output
    assert _stored_hash(runtime, "lea@example.org").startswith("$argon2id$")
    assert log_in(client, "lea@example.org").status_code == 302


def test_users_add_asks_for_the_password_twice_without_echo(
    cli_env: dict[str, str], runtime: Runtime
) -> None:
    args = ["users", "add", "admin@example.org", "--admin"]
    result = CliRunner().invoke(main, args, env=cli_env, input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "Mot de passe" in result.output and "Confirmez le mot de passe" in result.output
    assert PASSWORD not in result.output  # hidden input
    assert "Compte administrateur (tous les lieux) créé pour admin@example.org" in result.output
    stored = _stored_hash(runtime, "admin@example.org")
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x@example.org", "--place", "nowhere"], "lieu(x) inconnu(s) : nowhere"),
        (["x@example.org"], "indiquez au moins un lieu"),
        (["not-an-email", "--place", THIONVILLE], "adresse e-mail invalide"),
        (["x@example.org", "--place", THIONVILLE, "--password", "short"], "trop court"),
        (["claire.conseillere@example.org", "--place", THIONVILLE], "un compte existe déjà"),
    ],
    ids=["unknown-place", "no-place", "bad-email", "short-password", "taken"],
)
def test_users_add_refusals_exit_1_and_create_nothing(
    cli_env: dict[str, str], runtime: Runtime, advisor: str, args: list[str], message: str
) -> None:
    if "--password" not in args:
        args = [*args, "--password", PASSWORD]
    result = CliRunner().invoke(main, ["users", "add", *args], env=cli_env)
    assert result.exit_code == 1, result.output
    assert message in result.output
    with transaction(runtime.sessions) as session:
        assert session.scalar(select(func.count()).select_from(User)) == 1


def test_only_admins_and_the_places_advisors_see_a_place() -> None:
    advisor = Account(1, "a@example.org", is_admin=False, active=True, place_ids=frozenset({YUTZ}))
    admin = Account(2, "b@example.org", is_admin=True, active=True, place_ids=frozenset())
    assert can_see_place(advisor, YUTZ) and not can_see_place(advisor, THIONVILLE)
    assert not can_see_place(advisor, None)
    assert can_see_place(admin, THIONVILLE) and can_see_place(admin, None)
