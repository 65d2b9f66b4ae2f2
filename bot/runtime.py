"""What the composition root hands to each part: settings, database and intent engine."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings

EXTENSION_KEY = "relais"

log = logging.getLogger(__name__)


class DispatchWakeup:
    """Lets a page ask for the outbox to be sent now instead of at the next dispatcher pass.

    `relais serve` registers its scheduler's dispatcher job here; with no scheduler (a separate
    `relais worker`, the tests), waking does nothing and the next pass sends the message.
    """

    def __init__(self) -> None:
        self._callbacks: list[Callable[[], None]] = []

    def on_wake(self, callback: Callable[[], None]) -> None:
        """Call `callback` each time someone wakes the dispatcher."""
        self._callbacks.append(callback)

    def wake(self) -> None:
        """Ask for a dispatcher pass now (after the transaction that queued the message)."""
        for callback in self._callbacks:
            try:
                callback()
            except Exception:  # the message still goes at the next pass
                log.exception("could not wake the dispatcher")


@dataclass(frozen=True)
class Runtime:
    """Built once per app by bot.app.create_app and kept in app.extensions["relais"]."""

    settings: Settings
    db: Engine
    sessions: sessionmaker[Session]
    nlu: Any  # an nlu.IntentEngine; typed loosely because bot must not import nlu
    wakeup: DispatchWakeup = field(default_factory=DispatchWakeup)


def runtime_of(app: Any) -> Runtime:
    """The Runtime of a Flask app (or of current_app)."""
    runtime = app.extensions[EXTENSION_KEY]
    assert isinstance(runtime, Runtime)
    return runtime
