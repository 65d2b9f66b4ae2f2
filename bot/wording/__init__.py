"""The French message catalogue: every sentence a resident reads or hears lives in fr.toml."""

from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

CATALOGUE_PATH = Path(__file__).with_name("fr.toml")


class UnknownMessage(KeyError):
    """A key that the catalogue doesn't have."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One catalogue entry: its SMS text and optional voice variant."""

    key: str
    sms: str
    voice: str | None = None

    def fields(self) -> set[str]:
        """Placeholders used by the SMS and voice texts."""
        names: set[str] = set()
        for text in (self.sms, self.voice or ""):
            names |= {f for _, f, _, _ in string.Formatter().parse(text) if f}
        return names


def _flatten(prefix: str, table: dict[str, Any], out: dict[str, Entry]) -> None:
    if "sms" in table and isinstance(table["sms"], str):
        # Not stripped: fragments such as the week separator " ; " carry meaningful spaces.
        out[prefix] = Entry(prefix, table["sms"], table.get("voice") or None)
    for name, value in table.items():
        if isinstance(value, dict):
            _flatten(f"{prefix}.{name}" if prefix else name, value, out)


@lru_cache(maxsize=1)
def catalogue() -> dict[str, Entry]:
    """All entries keyed by dotted name ("faq.price")."""
    with CATALOGUE_PATH.open("rb") as fh:
        data = tomllib.load(fh)
    entries: dict[str, Entry] = {}
    _flatten("", data, entries)
    return entries


def say(key: str, voice: bool = False, **values: object) -> str:
    """Render one entry with its values (the voice variant when asked and present)."""
    try:
        entry = catalogue()[key]
    except KeyError as exc:
        raise UnknownMessage(key) from exc
    template = entry.voice if voice and entry.voice else entry.sms
    return template.format(**values)


def has(key: str) -> bool:
    """True when the catalogue has this key."""
    return key in catalogue()
