"""What the composition root hands to each part: settings, database and intent engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings

EXTENSION_KEY = "relais"


@dataclass(frozen=True)
class Runtime:
    """Built once per app by bot.app.create_app and kept in app.extensions["relais"]."""

    settings: Settings
    db: Engine
    sessions: sessionmaker[Session]
    nlu: Any  # an nlu.IntentEngine; typed loosely because bot must not import nlu


def runtime_of(app: Any) -> Runtime:
    """The Runtime of a Flask app (or of current_app)."""
    runtime = app.extensions[EXTENSION_KEY]
    assert isinstance(runtime, Runtime)
    return runtime
