"""How well the engine understands messages it was never trained on (tests/nlu/heldout.yml)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from nlu import CONFIDENCE_THRESHOLD, EmbeddedEngine, Intent, load_examples
from nlu.engine import DATA_DIR
from nlu.evaluate import Report, evaluate
from nlu.normalise import normalise

HELDOUT = Path(__file__).parent / "heldout.yml"

# Issue 4: at least 0.95 overall and in every style (clean, sms, spoken, long).
MIN_ACCURACY = 0.95
# Of the answers the bot acts on without a menu, less than this share may be wrong.
MAX_WRONG_ABOVE_THRESHOLD = 0.01

HELDOUT_EXAMPLES = load_examples(HELDOUT)


@pytest.fixture(scope="module")
def report(engine: EmbeddedEngine) -> Report:
    return evaluate(engine, HELDOUT_EXAMPLES)


def test_heldout_accuracy_reaches_the_goal(report: Report) -> None:
    assert report.accuracy >= MIN_ACCURACY, report.to_text()


def test_confident_answers_are_rarely_wrong(report: Report) -> None:
    assert report.threshold == CONFIDENCE_THRESHOLD
    assert report.wrong_above_threshold < MAX_WRONG_ABOVE_THRESHOLD, report.to_text()


def test_every_style_is_understood(report: Report) -> None:
    assert set(report.per_style) == {"clean", "sms", "spoken", "long"}
    assert {s: acc for s, (acc, _) in report.per_style.items() if acc < MIN_ACCURACY} == {}


def test_heldout_covers_every_intent() -> None:
    counts = Counter(e.intent for e in HELDOUT_EXAMPLES)
    assert min(counts[i] for i in Intent) >= 15


def test_heldout_sentences_are_not_training_sentences() -> None:
    # Short replies ("non merci", "STOP") can only be said so many ways; longer ones must differ.
    training = {normalise(e.text) for e in load_examples(DATA_DIR)}
    copied = [
        e.text
        for e in HELDOUT_EXAMPLES
        if len(normalise(e.text).split()) >= 3 and normalise(e.text) in training
    ]
    assert copied == []
