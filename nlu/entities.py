"""Rule-based entities: postal codes, menu choices, communes, dates and times.

Value conventions are those of `nlu.types.Entity`. All offsets point into the resident's text.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from nlu.dates import NUMBER_WORDS, find_dates, find_times
from nlu.gazetteer import CommuneMatcher
from nlu.normalise import fold
from nlu.types import Entity

# Residents' times are French wall-clock times.
PARIS = ZoneInfo("Europe/Paris")

MAX_CHOICE = 20

# 01-95 (Corsica keeps 20xxx in postal codes), 971-976 overseas departments, 986-988 overseas
# collectivities. https://fr.wikipedia.org/wiki/Code_postal_en_France
_DEPARTMENT = re.compile(r"(?:0[1-9]|[1-8]\d|9[0-5])\d{3}|97[1-6]\d\d|98[6-8]\d\d")
_FIVE_DIGITS = re.compile(
    r"(?<![\d.,/])(?:(?P<code>\d{5})|(?P<dept>\d\d) (?P<rest>\d{3}))(?![\d/]| ?\d)"
)

_ORDINALS = {
    "premier": 1,
    "premiere": 1,
    "deuxieme": 2,
    "second": 2,
    "seconde": 2,
    "troisieme": 3,
    "quatrieme": 4,
    "cinquieme": 5,
    "sixieme": 6,
    "septieme": 7,
    "huitieme": 8,
    "neuvieme": 9,
    "dixieme": 10,
}
_CHOICE_WORDS = {**{w: n for w, n in NUMBER_WORDS.items() if n <= MAX_CHOICE}, **_ORDINALS}
_CHOICE = re.compile(
    r"^\W*(?:(?:je\s+(?:choisis|prends|veux)|choix|option|reponse|numero|num|no|n°)\W*)?"
    r"(?:(?:le|la|l')\s*)?"
    rf"(?P<n>(?P<digits>\d{{1,2}})(?:\s*(?:er|ere|e|eme|nd|nde|°))?|{'|'.join(_CHOICE_WORDS)})"
    r"(?:\W|s'?il\s+vous\s+plait|svp|stp|merci)*$"
)


def find_postal_codes(text: str) -> list[Entity]:
    """5-digit postal codes ("57100", "57 100" as spoken).

    A code whose department does not exist ("99999") is still returned, so that the resident can
    be told it is unknown, but with confidence 0.5 and `extra["known_department"] = False`.
    """
    found = []
    for match in _FIVE_DIGITS.finditer(text):
        value = match["code"] or f"{match['dept']}{match['rest']}"
        known = _DEPARTMENT.fullmatch(value) is not None
        if match["dept"] and not known:
            continue  # two groups of digits that are no postal code are just numbers
        found.append(
            Entity(
                "postal_code",
                value,
                match.group(),
                match.start(),
                match.end(),
                confidence=1.0 if known else 0.5,
                extra={} if known else {"known_department": False},
            )
        )
    return found


def find_choice(text: str, folded: str | None = None) -> Entity | None:
    """The menu answer when the whole message is one: "2", "le 2", "deux", "la deuxième"."""
    folded = fold(text) if folded is None else folded
    match = _CHOICE.match(folded)
    if match is None:
        return None
    value = int(match["digits"]) if match["digits"] else _CHOICE_WORDS[match["n"]]
    if value > MAX_CHOICE:
        return None
    start, end = match.span("n")
    return Entity("choice", value, text[start:end], start, end)


class EntityExtractor:
    """Every entity kind at once, with a commune gazetteer built once."""

    def __init__(self, communes: CommuneMatcher | None = None) -> None:
        self.communes = communes

    def extract(self, text: str, today: date) -> tuple[Entity, ...]:
        """All entities in `text`, in order of appearance."""
        folded = fold(text)
        found = [*find_postal_codes(text), *find_dates(text, folded, today)]
        found += find_times(text, folded)
        choice = find_choice(text, folded)
        if choice is not None:
            found.append(choice)
        if self.communes is not None:
            taken = [(e.start, e.end) for e in found]
            found += [
                c
                for c in self.communes.find(text, folded)
                if all(c.end <= s or c.start >= e for s, e in taken)
            ]
        return tuple(with_datetimes(sorted(found, key=lambda e: (e.start, e.entity)), today))


def with_datetimes(entities: list[Entity], today: date) -> list[Entity]:
    """Give each time the concrete datetime it means, in Europe/Paris.

    "le 3 déc à 14h30" -> time 14:30 with additional_info datetime 2026-12-03T14:30:00+01:00:
    the day is the date mentioned before it (or after it, "à 14h demain"), else today.
    """
    days = [e for e in entities if e.entity == "date"]
    resolved: list[Entity] = []
    for entity in entities:
        if entity.entity != "time":
            resolved.append(entity)
            continue
        before = [d for d in days if d.start < entity.start]
        nearest = before[-1] if before else (days[0] if days else None)
        day = date.fromisoformat(str(nearest.value)) if nearest else today
        hour, minute = (int(part) for part in str(entity.value).split(":"))
        moment = datetime.combine(day, time(hour, minute), tzinfo=PARIS)
        resolved.append(replace(entity, extra={**entity.extra, "datetime": moment.isoformat()}))
    return resolved
