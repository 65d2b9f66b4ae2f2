"""The channel-neutral result of understanding one message, and the engine protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class Intent(StrEnum):
    """The 22 intents of ../shared/intents.md."""

    GREET = "greet"
    OPENING_HOURS = "opening_hours"
    FIND_PLACE = "find_place"
    WHAT_TO_BRING = "what_to_bring"
    BOOK_APPOINTMENT = "book_appointment"
    CANCEL_APPOINTMENT = "cancel_appointment"
    RESCHEDULE_APPOINTMENT = "reschedule_appointment"
    MY_APPOINTMENT = "my_appointment"
    HUMAN_ADVISOR = "human_advisor"
    WORKSHOPS = "workshops"
    SERVICES = "services"
    PRICE = "price"
    DEVICE_REPAIR = "device_repair"
    FREE_ACCESS = "free_access"
    SCAM_CHECK = "scam_check"
    AFFIRM = "affirm"
    DENY = "deny"
    THANKS = "thanks"
    GOODBYE = "goodbye"
    OPT_OUT = "opt_out"
    HELP = "help"
    OUT_OF_SCOPE = "out_of_scope"


@dataclass(frozen=True, slots=True)
class Entity:
    """One extracted value.

    `entity` is one of: postal_code, commune, date, time, choice.
    `value` is normalised: "57970"; the commune's INSEE code; an ISO date
    "2026-12-03"; "14:30"; an int choice. `text` is the span as written.
    """

    entity: str
    value: Any
    text: str
    start: int
    end: int
    confidence: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Understanding:
    """What the engine made of a message: one intent, its confidence, entities."""

    text: str
    intent: Intent
    confidence: float
    entities: tuple[Entity, ...] = ()
    ranking: tuple[tuple[Intent, float], ...] = ()

    def first(self, entity: str) -> Entity | None:
        """The first entity of that kind, if any."""
        return next((e for e in self.entities if e.entity == entity), None)

    def to_rasa(self) -> dict[str, Any]:
        """This result in the JSON shape of Rasa's POST /model/parse."""
        return {
            "text": self.text,
            "intent": {"name": self.intent.value, "confidence": round(self.confidence, 4)},
            "entities": [
                {
                    "entity": e.entity,
                    "value": e.value,
                    "start": e.start,
                    "end": e.end,
                    "confidence_entity": round(e.confidence, 4),
                    "extractor": "RelaisEntityExtractor",
                    **({"additional_info": e.extra} if e.extra else {}),
                }
                for e in self.entities
            ],
            "intent_ranking": [
                {"name": i.value, "confidence": round(c, 4)} for i, c in self.ranking
            ],
        }


class IntentEngine(Protocol):
    """Anything that turns a resident's text into an Understanding."""

    def parse(self, text: str) -> Understanding:
        """Understand one message."""
        ...
