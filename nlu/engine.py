"""The embedded intent engine: keyword rules, then the classifier, then entities.

`load_engine()` trains from the Rasa YAML in `nlu/data/` (about a second) or, given a
cache folder, reuses the artifact trained from exactly the same data and code.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import sklearn

from nlu.classifier import IntentClassifier
from nlu.entities import EntityExtractor
from nlu.gazetteer import CommuneMatcher, Lexicon, learn_lexicon
from nlu.normalise import strip_accents
from nlu.rasa_format import load_examples
from nlu.types import Intent, Understanding

logger = logging.getLogger(__name__)

DATA_DIR = Path(__file__).parent / "data"
PARIS = ZoneInfo("Europe/Paris")
RANKING_SIZE = 5

# Below this confidence the bot shows a short menu instead of guessing. On tests/nlu/heldout.yml,
# 94.6% of messages reach it and 2.3% of those are wrong. `calibrate_threshold(predictions,
# max_wrong_share=0.025)` gives 0.51 there; the margin is because part of that set guided the
# training data, so real mistakes will be a little more frequent. Recalibrate after data changes.
CONFIDENCE_THRESHOLD = 0.55

# A message that is only an opt-out keyword means STOP whatever its case, accents or punctuation:
# the resident must be able to stop us with one word, and a keyword is never left to statistics.
_OPT_OUT = re.compile(r"^\W*(?:(?:stop|arret)(?:\W+sms)?|desabonnement)\W*$")


@dataclass(frozen=True, slots=True)
class TrainedModel:
    """What training produces and the cache keeps: the classifier and the words it has seen."""

    classifier: IntentClassifier
    lexicon: Lexicon


class EmbeddedEngine:
    """Understands a message in-process: no network, a few milliseconds."""

    def __init__(
        self,
        classifier: IntentClassifier,
        entities: EntityExtractor,
        clock: Callable[[], datetime],
    ) -> None:
        self._classifier = classifier
        self._entities = entities
        self._clock = clock

    def parse(self, text: str) -> Understanding:
        """Understand one message; never raises on odd input (empty, emoji, very long)."""
        text = text or ""
        plain = strip_accents(text)
        if _OPT_OUT.match(plain):
            return Understanding(text, Intent.OPT_OUT, 1.0, (), ((Intent.OPT_OUT, 1.0),))
        today = self._clock().astimezone(PARIS).date()
        entities = self._entities.extract(text, today)
        if not any(c.isalnum() for c in plain):
            return Understanding(text, Intent.OUT_OF_SCOPE, 0.0, entities, ())
        ranking = tuple(self._classifier.rank(text)[:RANKING_SIZE])
        intent, confidence = ranking[0]
        return Understanding(text, intent, confidence, entities, ranking)


def load_engine(
    data_dir: Path | None = None,
    cache_dir: Path | None = None,
    gazetteer: Sequence[tuple[str, str]] = (),
    clock: Callable[[], datetime] | None = None,
) -> EmbeddedEngine:
    """An engine trained on `data_dir` (default: the packaged data), cached in `cache_dir`."""
    data_dir = DATA_DIR if data_dir is None else Path(data_dir)
    model = _cached_model(data_dir, cache_dir)
    communes = CommuneMatcher(gazetteer, model.lexicon) if gazetteer else None
    return EmbeddedEngine(model.classifier, EntityExtractor(communes), clock or _system_clock)


def train_model(data_dir: Path) -> TrainedModel:
    """Train on every Rasa NLU file under `data_dir`."""
    examples = load_examples(data_dir)
    if not examples:
        raise ValueError(f"no training examples under {data_dir}")
    texts = [e.text for e in examples]
    classifier = IntentClassifier.train(texts, [e.intent for e in examples])
    return TrainedModel(classifier, learn_lexicon(texts))


def training_fingerprint(data_dir: Path) -> str:
    """sha256 of the training files, this package's code and scikit-learn's version.

    The cache key: any change to the data, the features or the library means a new model.
    """
    digest = hashlib.sha256(f"scikit-learn {sklearn.__version__}".encode())
    code = sorted(Path(__file__).parent.glob("*.py"))
    data = sorted(p for p in data_dir.rglob("*") if p.suffix in {".yml", ".yaml"})
    for root, paths in ((Path(__file__).parent, code), (data_dir, data)):
        for path in paths:
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _cached_model(data_dir: Path, cache_dir: Path | None) -> TrainedModel:
    if cache_dir is None:
        return train_model(data_dir)
    artifact = Path(cache_dir) / f"intent-model-{training_fingerprint(data_dir)[:20]}.pickle"
    if artifact.exists():
        try:
            # The cache folder is the app's own instance folder, never user-supplied files.
            with artifact.open("rb") as f:
                loaded = pickle.load(f)
            if isinstance(loaded, TrainedModel):
                return loaded
        except Exception:  # a truncated or foreign file: retrain rather than fail start-up
            logger.warning("ignoring unreadable NLU cache %s", artifact, exc_info=True)
    model = train_model(data_dir)
    artifact.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename, so a concurrent start never reads half a file.
    with tempfile.NamedTemporaryFile(dir=artifact.parent, delete=False, suffix=".tmp") as tmp:
        pickle.dump(model, tmp, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp.name, artifact)
    return model


def _system_clock() -> datetime:
    # Only for standalone use (the evaluate CLI, a notebook); the app passes bot.clock.now.
    return datetime.now(UTC)
