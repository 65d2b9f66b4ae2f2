"""The trained model on disk: one versioned .npz of plain arrays, no pickle, no scikit-learn.

    meta       uint8  UTF-8 JSON: format version, training fingerprint, classes, each
                      vectoriser's settings and terms (in column order), the lexicon, provenance
    idf_<i>    float64 (terms of vectoriser i,)
    coef       float64 (features, classes), or (features, 1) for two classes
    intercept  float64 (classes,), or (1,)

`np.load(..., allow_pickle=False)` reads it, so a foreign file cannot run code; any file that is
unreadable, from another format version or another fingerprint raises `ArtifactError`, and the
engine retrains rather than failing to start.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nlu.gazetteer import Lexicon
from nlu.model import IntentModel, Vectoriser
from nlu.types import Intent

# Bump when the layout or the meaning of a field changes (the fingerprint includes it).
FORMAT_VERSION = 1


class ArtifactError(ValueError):
    """A model file that cannot be used: unreadable, another format or other training data."""


@dataclass(frozen=True, slots=True)
class TrainedModel:
    """What training produces and the cache keeps: the classifier and the words it has seen."""

    classifier: IntentModel
    lexicon: Lexicon
    provenance: tuple[tuple[str, str], ...] = ()


def write_artifact(path: Path, model: TrainedModel, fingerprint: str) -> None:
    """Save `model` at `path`, atomically (a concurrent start never reads half a file)."""
    classifier = model.classifier
    meta = {
        "format": FORMAT_VERSION,
        "fingerprint": fingerprint,
        "classes": [c.value for c in classifier.classes],
        "vectorisers": [
            {
                "analyzer": v.analyzer,
                "ngram_range": list(v.ngram_range),
                "lowercase": v.lowercase,
                "token_pattern": v.token_pattern,
                "sublinear_tf": v.sublinear_tf,
                "norm": v.norm,
                "terms": list(v.terms),
            }
            for v in classifier.vectorisers
        ],
        "lexicon": {"common": sorted(model.lexicon.common), "proper": sorted(model.lexicon.proper)},
        "provenance": dict(model.provenance),
    }
    encoded = json.dumps(meta, ensure_ascii=False, separators=(",", ":")).encode()
    arrays: dict[str, Any] = {
        "meta": np.frombuffer(encoded, dtype=np.uint8),
        "coef": classifier.coef,
        "intercept": classifier.intercept,
        **{f"idf_{i}": v.idf for i, v in enumerate(classifier.vectorisers)},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".tmp") as tmp:
        np.savez_compressed(tmp, **arrays)
    os.replace(tmp.name, path)


def read_artifact(path: Path, fingerprint: str) -> TrainedModel:
    """The model saved at `path`, if it was trained from data and code with `fingerprint`."""
    try:
        with np.load(path, allow_pickle=False) as files:
            meta = json.loads(files["meta"].tobytes().decode())
            if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION:
                raise ArtifactError(f"{path.name}: not a format {FORMAT_VERSION} model")
            if meta.get("fingerprint") != fingerprint:
                raise ArtifactError(f"{path.name}: trained from other data or code")
            arrays = {name: files[name] for name in files.files if name != "meta"}
        return _model(meta, arrays)
    except ArtifactError:
        raise
    except Exception as error:  # truncated zip, missing member, wrong types or shapes...
        raise ArtifactError(f"{path.name}: unreadable model ({error!r})") from error


def _model(meta: dict[str, Any], arrays: dict[str, Any]) -> TrainedModel:
    vectorisers = []
    offset = 0
    for i, settings in enumerate(meta["vectorisers"]):
        low, high = settings["ngram_range"]
        vectoriser = Vectoriser(
            analyzer=str(settings["analyzer"]),
            ngram_range=(int(low), int(high)),
            terms=tuple(str(t) for t in settings["terms"]),
            idf=_floats(arrays[f"idf_{i}"]),
            offset=offset,
            lowercase=bool(settings["lowercase"]),
            token_pattern=str(settings["token_pattern"]),
            sublinear_tf=bool(settings["sublinear_tf"]),
            norm=settings["norm"],
        )
        vectorisers.append(vectoriser)
        offset += len(vectoriser)
    classifier = IntentModel(
        vectorisers,
        _floats(arrays["coef"]),
        _floats(arrays["intercept"]),
        [Intent(c) for c in meta["classes"]],
    )
    lexicon = Lexicon(
        frozenset(str(w) for w in meta["lexicon"]["common"]),
        frozenset(str(w) for w in meta["lexicon"]["proper"]),
    )
    provenance = tuple((str(k), str(v)) for k, v in meta.get("provenance", {}).items())
    return TrainedModel(classifier, lexicon, provenance)


def _floats(array: Any) -> Any:
    if not isinstance(array, np.ndarray) or array.dtype != np.float64:
        raise ArtifactError("expected a float64 array")
    return array
