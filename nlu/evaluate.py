"""How well an engine understands a labelled set of messages (e.g. tests/nlu/heldout.yml).

`evaluate(engine, load_examples(path))` gives a `Report`: accuracy, macro F1, per-intent
precision/recall, the most confused pairs, accuracy per style (from the examples' metadata) and
how often the engine is wrong while confident enough to skip the menu.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from nlu.engine import CONFIDENCE_THRESHOLD
from nlu.rasa_format import Example
from nlu.types import Intent, IntentEngine


@dataclass(frozen=True, slots=True)
class Prediction:
    """One example and what the engine made of it."""

    text: str
    expected: Intent
    predicted: Intent
    confidence: float
    style: str | None = None

    @property
    def correct(self) -> bool:
        """The engine found the labelled intent."""
        return self.expected == self.predicted


@dataclass(frozen=True, slots=True)
class IntentScore:
    """Precision, recall and F1 of one intent; support is its number of examples."""

    intent: Intent
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True, slots=True)
class Confusion:
    """How often `expected` was taken for `predicted`, with one such message."""

    expected: Intent
    predicted: Intent
    count: int
    example: str


@dataclass(frozen=True, slots=True)
class Report:
    """The evaluation of an engine on a labelled set."""

    predictions: tuple[Prediction, ...]
    per_intent: tuple[IntentScore, ...]
    confusions: tuple[Confusion, ...]
    threshold: float

    @property
    def total(self) -> int:
        """Number of messages evaluated."""
        return len(self.predictions)

    @property
    def accuracy(self) -> float:
        """Share of messages given their labelled intent."""
        return _share(sum(p.correct for p in self.predictions), self.total)

    @property
    def macro_f1(self) -> float:
        """Mean F1 over the intents present in the set."""
        scores = [s.f1 for s in self.per_intent if s.support]
        return sum(scores) / len(scores) if scores else 0.0

    @property
    def per_style(self) -> dict[str, tuple[float, int]]:
        """Accuracy and count per `style` metadata value ("sms", "spoken", ...)."""
        groups: dict[str, list[bool]] = defaultdict(list)
        for p in self.predictions:
            if p.style:
                groups[p.style].append(p.correct)
        return {s: (_share(sum(g), len(g)), len(g)) for s, g in sorted(groups.items())}

    @property
    def confident(self) -> tuple[Prediction, ...]:
        """Predictions at or above the threshold: those the bot acts on without a menu."""
        return tuple(p for p in self.predictions if p.confidence >= self.threshold)

    @property
    def wrong_above_threshold(self) -> float:
        """Share of confident answers that are wrong: the bot acts on a misunderstanding."""
        return _share(sum(not p.correct for p in self.confident), len(self.confident))

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary; "accuracy" is at the top level for scripts and CI."""
        wrong = [p for p in self.predictions if not p.correct]
        return {
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "total": self.total,
            "threshold": self.threshold,
            "answered_share": round(_share(len(self.confident), self.total), 4),
            "wrong_above_threshold": round(self.wrong_above_threshold, 4),
            "errors_above_threshold": sum(not p.correct for p in self.confident),
            "errors": len(wrong),
            "per_intent": {
                s.intent.value: {
                    "precision": round(s.precision, 4),
                    "recall": round(s.recall, 4),
                    "f1": round(s.f1, 4),
                    "support": s.support,
                }
                for s in self.per_intent
            },
            "per_style": {
                style: {"accuracy": round(acc, 4), "support": n}
                for style, (acc, n) in self.per_style.items()
            },
            "confusions": [
                {
                    "expected": c.expected.value,
                    "predicted": c.predicted.value,
                    "count": c.count,
                    "example": c.example,
                }
                for c in self.confusions
            ],
        }

    def to_text(self, confusions: int = 10) -> str:
        """A readable table for a terminal."""
        confident = self.confident
        errors = sum(not p.correct for p in confident)
        lines = [
            f"NLU evaluation on {self.total} messages",
            f"accuracy {self.accuracy:.3f}   macro F1 {self.macro_f1:.3f}",
            f"threshold {self.threshold:.2f}: {_share(len(confident), self.total):.1%} answered "
            f"without a menu, {self.wrong_above_threshold:.1%} of those wrong "
            f"({errors} of {len(confident)})",
        ]
        if self.per_style:
            styles = "  ".join(f"{s} {a:.3f} ({n})" for s, (a, n) in self.per_style.items())
            lines.append(f"by style: {styles}")
        lines += ["", f"{'intent':<24}{'precision':>10}{'recall':>8}{'f1':>8}{'support':>9}"]
        for s in self.per_intent:
            lines.append(
                f"{s.intent.value:<24}{s.precision:>10.3f}{s.recall:>8.3f}{s.f1:>8.3f}{s.support:>9}"
            )
        if self.confusions:
            lines += ["", "most confused (expected -> predicted):"]
            for c in self.confusions[:confusions]:
                pair = f"{c.expected.value} -> {c.predicted.value}"
                lines.append(f"{c.count:>4}  {pair:<46} e.g. {c.example!r}")
        return "\n".join(lines)


def evaluate(
    engine: IntentEngine, examples: Iterable[Example], threshold: float = CONFIDENCE_THRESHOLD
) -> Report:
    """Parse every example with `engine` and score the intents it gives."""
    predictions = tuple(predict(engine, examples))
    return Report(predictions, _per_intent(predictions), _confusions(predictions), threshold)


def predict(engine: IntentEngine, examples: Iterable[Example]) -> list[Prediction]:
    """The engine's intent and confidence for each example."""
    out = []
    for example in examples:
        understanding = engine.parse(example.text)
        style = example.metadata.get("style")
        out.append(
            Prediction(
                example.text,
                example.intent,
                understanding.intent,
                understanding.confidence,
                None if style is None else str(style),
            )
        )
    return out


def calibrate_threshold(predictions: Sequence[Prediction], max_wrong_share: float = 0.05) -> float:
    """The lowest threshold (most answers without a menu) whose confident answers are wrong at
    most `max_wrong_share` of the time."""
    for candidate in sorted({round(p.confidence, 2) for p in predictions}):
        confident = [p for p in predictions if p.confidence >= candidate]
        if _share(sum(not p.correct for p in confident), len(confident)) <= max_wrong_share:
            return candidate
    return 1.0


def _per_intent(predictions: Sequence[Prediction]) -> tuple[IntentScore, ...]:
    expected = Counter(p.expected for p in predictions)
    predicted = Counter(p.predicted for p in predictions)
    right = Counter(p.expected for p in predictions if p.correct)
    scores = []
    for intent in Intent:
        if not expected[intent] and not predicted[intent]:
            continue
        precision = _share(right[intent], predicted[intent])
        recall = _share(right[intent], expected[intent])
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores.append(IntentScore(intent, precision, recall, f1, expected[intent]))
    return tuple(scores)


def _confusions(predictions: Sequence[Prediction]) -> tuple[Confusion, ...]:
    pairs: dict[tuple[Intent, Intent], list[str]] = defaultdict(list)
    for p in predictions:
        if not p.correct:
            pairs[(p.expected, p.predicted)].append(p.text)
    ranked = sorted(pairs.items(), key=lambda kv: (-len(kv[1]), kv[0][0].value, kv[0][1].value))
    return tuple(Confusion(e, p, len(texts), texts[0]) for (e, p), texts in ranked)


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0
