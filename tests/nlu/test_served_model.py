"""The served model (numpy, no scikit-learn) answers exactly as the scikit-learn pipeline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.pipeline import Pipeline

from nlu import Intent, load_examples
from nlu.artifact import TrainedModel, read_artifact, write_artifact
from nlu.classifier import export, train_pipeline
from nlu.engine import DATA_DIR
from nlu.gazetteer import Lexicon
from nlu.model import IntentModel
from nlu.normalise import normalise

HELDOUT = [e.text for e in load_examples(Path(__file__).parent / "heldout.yml")]
TOLERANCE = 1e-6


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    examples = load_examples(DATA_DIR)
    return train_pipeline([e.text for e in examples], [e.intent for e in examples])


@pytest.fixture(scope="module")
def served(pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> IntentModel:
    """The exported model after a round trip through the artifact file."""
    path = tmp_path_factory.mktemp("artifact") / "model.npz"
    write_artifact(path, TrainedModel(export(pipeline), Lexicon()), "fingerprint")
    return read_artifact(path, "fingerprint").classifier


def _scikit_learn(pipeline: Pipeline, texts: list[str]) -> list[tuple[Intent, float, list[float]]]:
    probabilities = pipeline.predict_proba([normalise(t) for t in texts])
    classes = [Intent(c) for c in pipeline.classes_]
    best = probabilities.argmax(axis=1)
    return [(classes[b], float(p[b]), p.tolist()) for b, p in zip(best, probabilities, strict=True)]


def test_every_heldout_message_gets_the_same_intent_and_confidence(
    pipeline: Pipeline, served: IntentModel
) -> None:
    expected = _scikit_learn(pipeline, HELDOUT)
    different = []
    for text, (intent, confidence, probabilities) in zip(HELDOUT, expected, strict=True):
        [(got_intent, got_confidence)] = served.rank(text, 1)
        if got_intent is not intent or abs(got_confidence - confidence) > TOLERANCE:
            different.append((text, intent, confidence, got_intent, got_confidence))
        assert np.allclose(served.probabilities(text), probabilities, rtol=0, atol=TOLERANCE)
    assert different == []


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_any_text_gets_the_same_probabilities(
    pipeline: Pipeline, served: IntentModel, text: str
) -> None:
    [(_, _, probabilities)] = _scikit_learn(pipeline, [text])
    assert np.allclose(served.probabilities(text), probabilities, rtol=0, atol=TOLERANCE)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=120))
def test_ngrams_are_those_of_the_scikit_learn_analyzers(
    pipeline: Pipeline, served: IntentModel, text: str
) -> None:
    fitted = dict(pipeline.named_steps["features"].transformer_list)
    for name, vectoriser in zip(("chars", "words"), served.vectorisers, strict=True):
        assert vectoriser.grams(text) == fitted[name].build_analyzer()(text)


def test_binary_model_gives_the_probabilities_of_scikit_learn() -> None:
    texts = ["bonjour", "bonsoir", "salut", "c'est gratuit ?", "combien ça coûte", "c'est payant"]
    intents = [Intent.GREET] * 3 + [Intent.PRICE] * 3
    pipeline = train_pipeline(texts, intents)
    served = export(pipeline)
    for text in ["bonjour madame", "gratuit ?", "", "zzz"]:
        [(_, _, probabilities)] = _scikit_learn(pipeline, [text])
        assert np.allclose(served.probabilities(text), probabilities, rtol=0, atol=TOLERANCE)


def test_ranking_is_sorted_and_complete(served: IntentModel) -> None:
    ranking = served.rank("je voudrais annuler mon rendez-vous")
    assert {i for i, _ in ranking} == set(served.classes)
    assert [p for _, p in ranking] == sorted((p for _, p in ranking), reverse=True)
    assert abs(sum(p for _, p in ranking) - 1.0) < 1e-9
    assert served.rank("je voudrais annuler mon rendez-vous", 3) == ranking[:3]
