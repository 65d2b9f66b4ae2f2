"""The one source of "now". Tests freeze it; nothing else calls datetime.now()."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")

_frozen: datetime | None = None


def now() -> datetime:
    """Current aware time in Europe/Paris (business time)."""
    if _frozen is not None:
        return _frozen.astimezone(PARIS)
    return datetime.now(UTC).astimezone(PARIS)


def freeze(at: datetime | None) -> None:
    """Freeze the clock at an aware datetime (None unfreezes). For tests and `--now`."""
    global _frozen
    if at is not None and at.tzinfo is None:
        raise ValueError("freeze() needs an aware datetime")
    _frozen = at


Clock = Callable[[], datetime]
