"""The training data: every intent well covered, valid Rasa, generated part up to date."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from nlu import Intent, load_examples
from nlu.augment import main as augment_main
from nlu.engine import DATA_DIR
from nlu.normalise import normalise

EXAMPLES = load_examples(DATA_DIR)
MIN_EXAMPLES = 120


def test_every_intent_has_enough_examples() -> None:
    counts = Counter(e.intent for e in EXAMPLES)
    assert {i: counts[i] for i in Intent if counts[i] < MIN_EXAMPLES} == {}


@pytest.mark.parametrize(
    "keyword", ["STOP", "ARRET", "arrêt", "DESABONNEMENT", "désabonnement", "stop sms"]
)
def test_opt_out_keywords_are_training_examples(keyword: str) -> None:
    assert (keyword, Intent.OPT_OUT) in {(e.text, e.intent) for e in EXAMPLES}


def test_no_message_is_taught_as_two_intents() -> None:
    intents: dict[str, set[Intent]] = defaultdict(set)
    for example in EXAMPLES:
        intents[normalise(example.text)].add(example.intent)
    assert {text: found for text, found in intents.items() if len(found) > 1} == {}


def test_generated_examples_match_the_hand_written_ones() -> None:
    # `python -m nlu.augment` rewrites them after a change to nlu/data/*.yml.
    assert augment_main(["--check"]) == 0


def test_data_files_are_plain_rasa_nlu() -> None:
    for path in sorted(DATA_DIR.rglob("*.yml")):
        text = path.read_text(encoding="utf-8")
        assert 'version: "3.1"' in text and "\nnlu:\n" in text, path
