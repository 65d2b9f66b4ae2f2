"""How flows compare residents' words: lower case, accents dropped."""

from __future__ import annotations

import re
import unicodedata


def fold(text: str) -> str:
    """Lower case without accents, punctuation kept ("J'ai payé" -> "j'ai paye")."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> str:
    """Folded words only, single spaces ("Près de Yutz ?" -> "pres de yutz")."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", fold(text)).split())
