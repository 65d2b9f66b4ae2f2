"""Relais' intent engine: what a resident's message asks for, and the values in it.

Flows see only what this module exports (../shared/CONVENTIONS.md: nlu is a leaf package).
"""

from nlu.engine import CONFIDENCE_THRESHOLD, EmbeddedEngine, load_engine
from nlu.evaluate import Report, evaluate
from nlu.rasa_format import Example, NluDataError, load_examples
from nlu.types import Entity, Intent, IntentEngine, Understanding

__all__ = [
    "CONFIDENCE_THRESHOLD",
    "EmbeddedEngine",
    "Entity",
    "Example",
    "Intent",
    "IntentEngine",
    "NluDataError",
    "Report",
    "Understanding",
    "evaluate",
    "load_engine",
    "load_examples",
]
