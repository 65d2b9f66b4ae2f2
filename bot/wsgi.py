"""WSGI entry point: `gunicorn --preload bot.wsgi:app` (migrations run once, at import)."""

from __future__ import annotations

from bot.app import create_app, prepare_database
from bot.runtime import runtime_of

app = create_app()
prepare_database(runtime_of(app))
