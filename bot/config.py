"""Settings: the only module that reads os.environ. Every default runs the demo safely."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

# Development secrets: fine on a laptop, refused when RELAIS_ENV=production.
DEV_AUTH_TOKEN = "dev-relais-auth-token-not-secret"
DEV_SECRET_KEY = "dev-relais-secret-key-not-secret"
DEV_ACCOUNT_SID = "AC" + "0" * 32
DEV_FROM = "+33700000000"
DEFAULT_RETENTION_DAYS = 183  # six months


class ConfigError(RuntimeError):
    """A setting is missing or unsafe."""


def default_instance_dir() -> Path:
    """Where the SQLite file and the NLU model cache live by default."""
    return Path(os.environ.get("RELAIS_INSTANCE_DIR", Path.cwd() / "instance"))


@dataclass(frozen=True)
class Settings:
    """All runtime settings, frozen and passed down from the composition root."""

    env: str = "development"
    instance_dir: Path = field(default_factory=default_instance_dir)
    database_url: str = ""
    public_url: str = ""
    secret_key: str = DEV_SECRET_KEY
    twilio_auth_token: str = DEV_AUTH_TOKEN
    twilio_account_sid: str = DEV_ACCOUNT_SID
    twilio_from: str = DEV_FROM
    twilio_api_url: str = ""
    nlu_backend: str = "embedded"
    rasa_url: str = ""
    rasa_timeout: float = 1.0
    nlu_api_token: str = ""
    sms_unicode: bool = False
    load_demo: bool = True
    simulator: bool = True
    # POST /model/parse without a token; settings_from_env opens it only in development with
    # the development Twilio token (see nlu_api_enabled).
    nlu_api_open: bool = True
    scheduler: bool = True
    # How long message texts, the thread, voicemails and conversation memory are kept (RGPD):
    # six months by default (bot/services/retention.py).
    retention_days: int = DEFAULT_RETENTION_DAYS
    log_level: str = "INFO"
    log_format: str = "text"  # "text" (a line for people) or "json" (a JSON object per line)
    # Where outbound messages go: "twilio" (the REST API, or TWILIO_API_URL) or "simulator"
    # (recorded only, shown by the simulator page: the demo without a Twilio account).
    outbound: str = "twilio"
    send_rate: float = 10.0  # messages per second per dispatcher (0: no limit)
    # Twilio's <Record transcribe> understands English only: off unless asked for.
    voicemail_transcribe: bool = False
    # Advisors' inbox. The session cookie is Secure (HTTPS only) by default in production;
    # off in development so the local demo works over http://127.0.0.1. None: by environment.
    session_cookie_secure: bool | None = None
    # Failed logins allowed per email and client address within the window, then refused.
    login_max_failures: int = 5
    login_window_minutes: int = 15

    def __post_init__(self) -> None:
        if not self.database_url:
            db = (self.instance_dir / "relais.sqlite3").resolve()
            object.__setattr__(self, "database_url", f"sqlite:///{db}")

    @property
    def uses_dev_token(self) -> bool:
        """True when the Twilio auth token is the built-in development one."""
        return self.twilio_auth_token == DEV_AUTH_TOKEN

    def check(self) -> None:
        """Refuse development secrets in production."""
        if self.env == "production":
            if self.uses_dev_token or self.secret_key == DEV_SECRET_KEY:
                raise ConfigError(
                    "RELAIS_ENV=production needs TWILIO_AUTH_TOKEN and RELAIS_SECRET_KEY set"
                )
            if self.simulator:
                raise ConfigError("RELAIS_SIMULATOR must be off in production")
            if self.outbound != "twilio":
                raise ConfigError("RELAIS_OUTBOUND must be 'twilio' in production")
            if not self.secure_cookies:
                raise ConfigError("RELAIS_SESSION_COOKIE_SECURE must be on in production (HTTPS)")
        if self.log_format not in ("text", "json"):
            raise ConfigError("RELAIS_LOG_FORMAT must be 'text' or 'json'")
        if self.login_max_failures < 1 or self.login_window_minutes < 1:
            raise ConfigError(
                "RELAIS_LOGIN_MAX_FAILURES and RELAIS_LOGIN_WINDOW_MINUTES must be 1 or more"
            )
        if self.retention_days < 1:
            raise ConfigError(_RETENTION_ERROR.format(value=self.retention_days))
        if self.outbound not in {"twilio", "simulator"}:
            raise ConfigError(
                f"RELAIS_OUTBOUND must be 'twilio' or 'simulator', not {self.outbound!r}"
            )
        if self.send_rate < 0:
            raise ConfigError("RELAIS_SEND_RATE must be a number of messages per second, 0 or more")
        if self.nlu_backend not in {"embedded", "rasa"}:
            raise ConfigError(f"RELAIS_NLU must be 'embedded' or 'rasa', not {self.nlu_backend!r}")
        if self.nlu_backend == "rasa" and not self.rasa_url:
            raise ConfigError("RELAIS_NLU=rasa needs RASA_URL (e.g. http://127.0.0.1:5005)")

    @property
    def secure_cookies(self) -> bool:
        """Whether the session cookie is sent over HTTPS only (default: in production)."""
        if self.session_cookie_secure is None:
            return self.env == "production"
        return self.session_cookie_secure

    @property
    def nlu_api_enabled(self) -> bool:
        """POST /model/parse: on with a token; without one, only when open outside production."""
        return bool(self.nlu_api_token) or (self.nlu_api_open and self.env != "production")

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some fields changed (tests, CLI flags)."""
        return replace(self, **changes)


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


_RETENTION_ERROR = (
    "RELAIS_RETENTION_DAYS must be a whole number of days, 1 or more, not {value!r} "
    "(durée de conservation en jours : un nombre entier, au moins 1)"
)


def _retention_days(value: str | None) -> int:
    """RELAIS_RETENTION_DAYS as days (default six months); anything else is a ConfigError."""
    if value is None or not value.strip():
        return DEFAULT_RETENTION_DAYS
    try:
        days = int(value.strip())
    except ValueError:
        raise ConfigError(_RETENTION_ERROR.format(value=value)) from None
    if days < 1:
        raise ConfigError(_RETENTION_ERROR.format(value=value))
    return days


def settings_from_env(environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from environment variables (see .env.example)."""
    env = os.environ if environ is None else environ
    relais_env = env.get("RELAIS_ENV", "development")
    production = relais_env == "production"
    auth_token = env.get("TWILIO_AUTH_TOKEN") or DEV_AUTH_TOKEN
    # The simulator signs any body "from" any number with the auth token, and /model/parse
    # answers anyone: with a real Twilio token they are off unless asked for explicitly.
    dev_demo = not production and auth_token == DEV_AUTH_TOKEN
    instance = Path(env.get("RELAIS_INSTANCE_DIR") or (Path.cwd() / "instance"))
    return Settings(
        env=relais_env,
        instance_dir=instance,
        database_url=env.get("RELAIS_DATABASE_URL", ""),
        public_url=env.get("RELAIS_PUBLIC_URL", "").rstrip("/"),
        secret_key=env.get("RELAIS_SECRET_KEY") or DEV_SECRET_KEY,
        twilio_auth_token=auth_token,
        twilio_account_sid=env.get("TWILIO_ACCOUNT_SID") or DEV_ACCOUNT_SID,
        twilio_from=env.get("TWILIO_FROM") or DEV_FROM,
        twilio_api_url=env.get("TWILIO_API_URL", ""),
        nlu_backend=(env.get("RELAIS_NLU") or "embedded").lower(),
        rasa_url=env.get("RASA_URL", ""),
        rasa_timeout=float(env.get("RELAIS_RASA_TIMEOUT") or 1.0),
        nlu_api_token=env.get("RELAIS_NLU_API_TOKEN", ""),
        sms_unicode=_flag(env.get("RELAIS_SMS_UNICODE"), False),
        load_demo=_flag(env.get("RELAIS_LOAD_DEMO"), True),
        simulator=_flag(env.get("RELAIS_SIMULATOR"), dev_demo),
        nlu_api_open=dev_demo,
        scheduler=_flag(env.get("RELAIS_SCHEDULER"), True),
        retention_days=_retention_days(env.get("RELAIS_RETENTION_DAYS")),
        log_level=env.get("RELAIS_LOG_LEVEL", "INFO").upper(),
        log_format=(env.get("RELAIS_LOG_FORMAT") or "text").lower(),
        outbound=(
            env.get("RELAIS_OUTBOUND")
            or ("simulator" if dev_demo and not env.get("TWILIO_API_URL") else "twilio")
        ).lower(),
        send_rate=float(env.get("RELAIS_SEND_RATE") or 10.0),
        voicemail_transcribe=_flag(env.get("RELAIS_VOICEMAIL_TRANSCRIBE"), False),
        session_cookie_secure=_flag(env.get("RELAIS_SESSION_COOKIE_SECURE"), production),
        login_max_failures=int(env.get("RELAIS_LOGIN_MAX_FAILURES") or 5),
        login_window_minutes=int(env.get("RELAIS_LOGIN_WINDOW_MINUTES") or 15),
    )
