"""`relais doctor`: checks a deployment's configuration, one French line per check.

Settings load and pass production rules, Twilio settings are there (or development mode is said
plainly), the database answers and is at the newest migration, and Twilio accepts the
credentials and owns TWILIO_FROM, asked through the official client (TWILIO_API_URL honoured,
as bot/services/gateway.py does). Lines never show a token or a password.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from bot.config import DEV_ACCOUNT_SID, DEV_FROM, ConfigError, Settings, settings_from_env
from bot.database import database_is_up, make_engine
from bot.health import migration_state
from bot.privacy import url_origin

OK_MARK = "✔"
FAIL_MARK = "✘"


@dataclass(frozen=True)
class Check:
    """One check's result: what was checked, and a hint when it failed."""

    ok: bool
    label: str
    hint: str = ""

    def line(self) -> str:
        """The French line printed for this check."""
        mark = OK_MARK if self.ok else FAIL_MARK
        return f"{mark} {self.label}" + (f" — {self.hint}" if self.hint else "")


def run_checks(environ: Mapping[str, str] | None = None, timeout: float = 10) -> list[Check]:
    """Every check, in order; stops early when the settings themselves are unusable."""
    try:
        settings = settings_from_env(environ)
    except (ConfigError, ValueError) as exc:
        return [Check(False, "Configuration illisible", f"{exc}")]
    checks = [Check(True, "Configuration lue")]
    try:
        settings.check()
    except ConfigError as exc:
        return [*checks, Check(False, f"Configuration refusée ({settings.env})", str(exc))]
    if settings.env == "production":
        checks.append(Check(True, "RELAIS_ENV=production : aucun secret de développement"))
    checks += list(_twilio_settings(settings))
    checks += list(_database(settings))
    if not settings.uses_dev_token:
        checks += list(_twilio_account(settings, timeout))
    return checks


def _twilio_settings(settings: Settings) -> Iterator[Check]:
    if settings.uses_dev_token:
        yield Check(
            True,
            "Twilio : mode développement (jeton de développement, simulateur), "
            "aucun appel à Twilio",
            "définissez TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN et TWILIO_FROM pour un vrai numéro",
        )
        return
    missing = [
        name
        for name, value, default in (
            ("TWILIO_ACCOUNT_SID", settings.twilio_account_sid, DEV_ACCOUNT_SID),
            ("TWILIO_FROM", settings.twilio_from, DEV_FROM),
        )
        if value == default
    ]
    if missing:
        yield Check(False, "Twilio : réglages manquants", f"définissez {', '.join(missing)}")
    else:
        yield Check(True, "Twilio : TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN et TWILIO_FROM définis")
    if settings.public_url:
        yield Check(True, f"RELAIS_PUBLIC_URL : {url_origin(settings.public_url)}")
    else:
        yield Check(
            False,
            "RELAIS_PUBLIC_URL non défini",
            "indiquez l'adresse publique (https://...) que Twilio appelle",
        )


def _database(settings: Settings) -> Iterator[Check]:
    engine = make_engine(settings.database_url)
    try:
        yield from _database_checks(engine)
    finally:
        engine.dispose()


def _database_checks(engine: Engine) -> Iterator[Check]:
    if not database_is_up(engine):
        yield Check(
            False, "Base de données injoignable", "vérifiez RELAIS_DATABASE_URL et le serveur"
        )
        return
    yield Check(True, "Base de données joignable")
    try:
        state = migration_state(engine)
    except Exception as exc:
        yield Check(False, "Migrations : état illisible", type(exc).__name__)
        return
    if state.at_head:
        yield Check(True, f"Migrations à jour ({', '.join(sorted(state.head))})")
        return
    current = ", ".join(sorted(state.current)) or "aucune"
    yield Check(
        False,
        f"Migrations en retard (base : {current} ; code : {', '.join(sorted(state.head))})",
        "lancez « relais db upgrade »",
    )


def _twilio_account(settings: Settings, timeout: float) -> Iterator[Check]:
    from twilio.base.exceptions import TwilioException, TwilioRestException

    try:
        client, close = _twilio_client(settings, timeout)
    except ValueError as exc:
        yield Check(False, "TWILIO_API_URL invalide", str(exc))
        return
    try:
        account = client.api.v2010.accounts(settings.twilio_account_sid).fetch()
    except TwilioRestException as exc:
        close()
        hint = (
            "vérifiez TWILIO_ACCOUNT_SID et TWILIO_AUTH_TOKEN"
            if exc.status in {401, 403, 404}
            else f"Twilio a répondu {exc.status}"
        )
        yield Check(False, f"Identifiants Twilio refusés (HTTP {exc.status})", hint)
        return
    except (TwilioException, OSError) as exc:
        close()
        yield Check(False, "Twilio injoignable", type(exc).__name__)
        return
    status = getattr(account, "status", "") or ""
    yield Check(
        status == "active",
        f"Identifiants Twilio valides (compte {status or 'inconnu'})",
        "" if status == "active" else "le compte Twilio n'est pas actif",
    )
    try:
        numbers = client.api.v2010.accounts(settings.twilio_account_sid).incoming_phone_numbers
        owned = numbers.list(phone_number=settings.twilio_from, limit=20)
    except (TwilioException, OSError) as exc:
        yield Check(False, "Numéros Twilio illisibles", type(exc).__name__)
        return
    finally:
        close()
    if any(n.phone_number == settings.twilio_from for n in owned):
        yield Check(True, f"TWILIO_FROM {settings.twilio_from} appartient au compte")
    else:
        yield Check(
            False,
            f"TWILIO_FROM {settings.twilio_from} n'est pas un numéro du compte",
            "indiquez un numéro de la console Twilio (Phone Numbers)",
        )


def _twilio_client(settings: Settings, timeout: float) -> tuple[Any, Callable[[], None]]:
    """The official client, pointed at TWILIO_API_URL when set, and how to close it."""
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    from bot.services.gateway import BaseUrlHttpClient

    http: TwilioHttpClient = (
        BaseUrlHttpClient(settings.twilio_api_url, timeout=timeout)
        if settings.twilio_api_url
        else TwilioHttpClient(timeout=timeout)
    )
    client = Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=http)
    return client, http.session.close if http.session is not None else (lambda: None)
