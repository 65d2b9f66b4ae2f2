"""Words of distress in a resident's message: a person should look at it (issue 8).

A short list of phrases, not a classifier: what residents write when they are lost, afraid of
losing their income or their home, or in danger. Checked on every message before routing. A
negation just before a phrase ("ce n'est pas urgent", "pas de panique") cancels it, except for
words about suicide: there a false alarm costs a kind sentence and a phone number, a miss much
more, so they always count.
"""

from __future__ import annotations

import re
from enum import StrEnum

from flows.text import words


class Distress(StrEnum):
    """How pressing the words are."""

    DISTRESS = "distress"  # a person should answer soon
    SUICIDE = "suicide"  # also give the national suicide prevention number (3114)


# Words that, just before a phrase, say the opposite ("pas urgent", "rien d'urgent").
_NEGATIONS = frozenset(["pas", "plus", "rien", "sans", "non", "aucun", "aucune", "jamais", "ni"])
# How many words before a phrase may hold its negation ("ce n'est pas tres urgent").
_NEGATION_WINDOW = 3

# Matched on `words(text)`: lower case, no accents, apostrophes and punctuation as spaces.
_SUICIDE = re.compile(
    r"\b(?:"
    r"suicid\w*"
    r"|(?:envie|besoin) de mourir"
    r"|(?:veux|voudrais|vais|prefere|prefererais|aimerais) mourir"
    r"|laissez moi mourir"
    r"|(?:plus|pas) envie de vivre"
    r"|marre de (?:la vie|vivre)"
    r"|me tuer|me foutre en l air|me jeter (?:sous|par|d un)|me pendre"
    r"|mettre fin a (?:mes jours|ma vie)"
    # "en finir", but not "en finir avec ce dossier".
    r"|en finir\b(?!\s+avec\s+(?!la vie\b|tout\b|moi\b|ma vie\b))"
    r")"
)
_DISTRESS = (
    r"au secours",
    r"aidez moi|aider moi|aide moi svp|aidez nous",
    r"(?:je suis|suis|chui|jsuis|j suis) (?:(?:completement|totalement|tout|toute|tres|un peu|si)"
    r" )?perdue?s?",
    r"(?:n y|j y|jy) arrive (?:pas|plus)",
    r"(?:n arrive|j arrive) (?:plus )?a rien",
    r"(?:n en|j en|jen) peux plus",
    r"(?:je |j )?panique\w*(?! pas\b| plus\b| jamais\b)",
    r"desesper\w*|au bout du rouleau",
    # Losing one's income or home: "je vais perdre mes droits", "on m'a coupé le RSA".
    r"(?:perdre|perdu|perds|perd|supprimer|supprime|supprimee?s?|suspendu\w*|couper|coupe\w*)"
    r" (?:\w+ ){0,2}(?:droits?|allocs?|allocations?|rsa|apl|aah|aides|chomage|pension|retraite"
    r"|logement|electricite|courant|eau|gaz|chauffage)",
    r"(?:va|vont|veut|veulent) (?:me|m|nous) couper",
    r"(?:rien|plus rien|pas assez) (?:a|pour) manger|pas de quoi manger|j ai faim",
    r"expuls\w*|(?:suis|sommes|etre|retrouver|retrouve|mettre|mis|jeter) a la rue",
)
_DISTRESS_RE = re.compile(r"\b(?:" + "|".join(f"(?:{p})" for p in _DISTRESS) + r")\b")
# "C'est urgent": but not when it is what a suspicious message says ("ils disent que c'est urgent").
_URGENCY_RE = re.compile(r"\b(?:urgente?s?|urgence)\b")


def _negated(plain: str, start: int) -> bool:
    """A negation among the few words just before position `start`."""
    before = plain[:start].split()[-_NEGATION_WINDOW:]
    return any(word in _NEGATIONS for word in before)


def detect_distress(text: str, about_a_scam: bool = False) -> Distress | None:
    """Distress (or words about suicide) in a message; None when there are none.

    `about_a_scam`: the message asks whether something received is a fraud, where "urgent" is
    the scammer's word, not the resident's.
    """
    plain = words(text)
    if not plain:
        return None
    if _SUICIDE.search(plain):
        return Distress.SUICIDE
    patterns = [_DISTRESS_RE] if about_a_scam else [_DISTRESS_RE, _URGENCY_RE]
    for pattern in patterns:
        for match in pattern.finditer(plain):
            if not _negated(plain, match.start()):
                return Distress.DISTRESS
    return None
