"""The evaluation report: accuracy, F1, confusions, styles and confident mistakes."""

from __future__ import annotations

from nlu import Intent, Understanding, evaluate
from nlu.evaluate import Prediction, calibrate_threshold
from nlu.rasa_format import Example


class Scripted:
    """An engine that answers from a table."""

    def __init__(self, answers: dict[str, tuple[Intent, float]]) -> None:
        self.answers = answers

    def parse(self, text: str) -> Understanding:
        intent, confidence = self.answers[text]
        return Understanding(text, intent, confidence)


EXAMPLES = [
    Example("bonjour", Intent.GREET, {"style": "clean"}),
    Example("bjr", Intent.GREET, {"style": "sms"}),
    Example("c gratuit", Intent.PRICE, {"style": "sms"}),
    Example("combien", Intent.PRICE, {"style": "clean"}),
]
ENGINE = Scripted(
    {
        "bonjour": (Intent.GREET, 0.9),
        "bjr": (Intent.THANKS, 0.8),  # wrong and confident
        "c gratuit": (Intent.PRICE, 0.7),
        "combien": (Intent.GREET, 0.2),  # wrong, below the threshold
    }
)


def test_report_scores_intents_and_pairs() -> None:
    report = evaluate(ENGINE, EXAMPLES, threshold=0.5)
    assert report.accuracy == 0.5
    scores = {s.intent: s for s in report.per_intent}
    assert (scores[Intent.GREET].precision, scores[Intent.GREET].recall) == (0.5, 0.5)
    assert (scores[Intent.PRICE].precision, scores[Intent.PRICE].recall) == (1.0, 0.5)
    assert scores[Intent.THANKS].support == 0
    assert round(report.macro_f1, 4) == round((0.5 + 2 / 3) / 2, 4)
    [first, second] = report.confusions
    assert (first.expected, first.predicted, first.count) == (Intent.GREET, Intent.THANKS, 1)
    assert first.example == "bjr" and second.example == "combien"


def test_report_gives_accuracy_per_style() -> None:
    report = evaluate(ENGINE, EXAMPLES, threshold=0.5)
    assert report.per_style == {"clean": (0.5, 2), "sms": (0.5, 2)}


def test_report_counts_wrong_answers_above_the_threshold() -> None:
    report = evaluate(ENGINE, EXAMPLES, threshold=0.5)
    assert len(report.confident) == 3
    assert report.wrong_above_threshold == 1 / 3


def test_json_report_has_accuracy_at_the_top() -> None:
    data = evaluate(ENGINE, EXAMPLES, threshold=0.5).to_json()
    assert data["accuracy"] == 0.5
    assert data["per_intent"]["price"]["recall"] == 0.5
    assert data["confusions"][0] == {
        "expected": "greet",
        "predicted": "thanks",
        "count": 1,
        "example": "bjr",
    }
    assert data["per_style"]["sms"] == {"accuracy": 0.5, "support": 2}


def test_text_report_is_a_readable_table() -> None:
    text = evaluate(ENGINE, EXAMPLES, threshold=0.5).to_text()
    assert "accuracy 0.500" in text
    assert "greet -> thanks" in text and "'bjr'" in text
    assert any(line.startswith("price") and line.split()[-1] == "2" for line in text.splitlines())


def test_empty_set_gives_an_empty_report() -> None:
    report = evaluate(ENGINE, [], threshold=0.5)
    assert (report.accuracy, report.macro_f1, report.to_json()["total"]) == (0.0, 0.0, 0)


def test_threshold_is_the_lowest_that_keeps_mistakes_rare() -> None:
    predictions = [
        Prediction("a", Intent.GREET, Intent.GREET, 0.9),
        Prediction("b", Intent.GREET, Intent.THANKS, 0.6),
        Prediction("c", Intent.GREET, Intent.GREET, 0.7),
        Prediction("d", Intent.GREET, Intent.GREET, 0.3),
    ]
    assert calibrate_threshold(predictions, max_wrong_share=0.0) == 0.7
    assert calibrate_threshold(predictions, max_wrong_share=0.25) == 0.3
