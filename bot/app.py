"""The composition root: reads settings, builds the database and NLU engines, mounts blueprints."""

from __future__ import annotations

import logging
import sys
from datetime import timedelta
from typing import Any

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from bot import clock
from bot.config import Settings, settings_from_env
from bot.database import make_engine, make_session_factory, transaction
from bot.log_format import JsonFormatter
from bot.migrations import upgrade_database
from bot.privacy import install_log_masking, url_origin
from bot.runtime import EXTENSION_KEY, Runtime

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, nlu_engine: Any = None) -> Flask:
    """Build one Relais web app. Tests pass their own settings and a shared NLU engine."""
    settings = settings or settings_from_env()
    settings.check()
    configure_logging(settings.log_level, settings.log_format)
    app = Flask("bot", instance_path=str(settings.instance_dir.resolve()))
    app.config.update(SECRET_KEY=settings.secret_key, MAX_CONTENT_LENGTH=256 * 1024)
    configure_session_cookie(app, settings)
    db = make_engine(settings.database_url)
    runtime = Runtime(
        settings=settings,
        db=db,
        sessions=make_session_factory(db),
        nlu=nlu_engine if nlu_engine is not None else build_intent_engine(settings),
    )
    app.extensions[EXTENSION_KEY] = runtime
    csrf = CSRFProtect(app)
    register_blueprints(app, settings, csrf)
    register_health(app)
    register_error_handlers(app)
    return app


def configure_logging(level: str, style: str = "text") -> None:
    """Log to stderr with phone numbers masked, as text or one JSON object per line."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(
            JsonFormatter()
            if style == "json"
            else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        )
        root.addHandler(handler)
    root.setLevel(level)
    install_log_masking(root)


def build_intent_engine(settings: Settings) -> Any:
    """The embedded engine (communes of France as gazetteer), behind Rasa if RELAIS_NLU=rasa."""
    from bot.services.communes import default_directory
    from nlu import load_engine
    from nlu.rasa_http import RasaHttpEngine

    embedded = load_engine(
        cache_dir=settings.instance_dir / "nlu",
        gazetteer=default_directory().gazetteer(),
        clock=clock.now,
    )
    if settings.nlu_backend == "rasa":
        # Only scheme://host:port: a URL's userinfo, path or query may hold credentials.
        origin = url_origin(settings.rasa_url)
        log.info("intent engine: Rasa at %s, embedded engine as fallback", origin)
        return RasaHttpEngine(settings.rasa_url, embedded, timeout=settings.rasa_timeout)
    return embedded


def configure_session_cookie(app: Flask, settings: Settings) -> None:
    """The inbox's session cookie: never readable by scripts, not sent on cross-site posts,
    HTTPS only when configured (always in production), signed for one working day at most
    (Flask checks the signature's age even for a browser-session cookie)."""
    app.config.update(
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.secure_cookies,
    )


def register_blueprints(app: Flask, settings: Settings, csrf: CSRFProtect) -> None:
    """Twilio webhooks and the inbox always; the simulator only outside production.

    CSRF tokens protect every form; the Twilio webhooks are exempt because each request is
    signed (X-Twilio-Signature), and so are the simulator's and /model/parse's JSON endpoints,
    which no HTML form can post (JSON bodies need a script, held back by the same-origin rule).
    """
    import webhooks
    from bot import inbox

    before = set(app.blueprints)
    webhooks.register(app)
    for name in set(app.blueprints) - before:
        csrf.exempt(app.blueprints[name])
    inbox.init_app(app)
    if settings.simulator:
        from bot.simulator import blueprint as simulator

        if not settings.uses_dev_token:
            log.warning(
                "simulator on with a real Twilio auth token: anyone reaching it can sign "
                "messages from any number; set RELAIS_SIMULATOR=0 unless this is a test"
            )

        csrf.exempt(simulator)
        app.register_blueprint(simulator)
    if settings.nlu_api_enabled:
        from bot.nlu_api import blueprint as nlu_api

        csrf.exempt(nlu_api)
        app.register_blueprint(nlu_api)


def register_health(app: Flask) -> None:
    """GET /healthz (liveness) and GET /readyz (readiness), in bot/health.py."""
    from bot import health

    app.register_blueprint(health.blueprint)


def register_error_handlers(app: Flask) -> None:
    """Plain, friendly errors; never a traceback."""

    @app.errorhandler(404)
    def not_found(_error: Exception) -> tuple[str, int]:
        return "Page introuvable.\n", 404

    @app.errorhandler(405)
    def not_allowed(_error: Exception) -> tuple[str, int]:
        return "Méthode non autorisée.\n", 405

    @app.errorhandler(413)
    def too_large(_error: Exception) -> tuple[str, int]:
        return "Requête trop grande.\n", 413

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[str, int]:
        code = getattr(error, "code", 500)
        if isinstance(code, int) and 400 <= code < 500:
            return "Requête invalide.\n", code
        log.exception("unhandled error")
        return "Erreur interne. Réessayez plus tard.\n", 500


def prepare_database(runtime: Runtime) -> None:
    """Apply migrations, then load the demo territory into an empty database (if enabled)."""
    upgrade_database(runtime.db)
    if not runtime.settings.load_demo:
        return
    from bot.services.demo import load_demo_territory_if_empty

    with transaction(runtime.sessions) as session:
        loaded = load_demo_territory_if_empty(session, clock.now())
    if loaded:
        log.info("demo territory loaded: %s", loaded)
