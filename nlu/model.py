"""The served intent model: plain arrays, and a numpy copy of the scikit-learn pipeline's maths.

Training (`nlu.classifier`) fits `TfidfVectorizer(char_wb) + TfidfVectorizer(word)` into
`SGDClassifier(loss="log_loss")` with scikit-learn, then exports it as an `IntentModel`: per
vectoriser its settings, terms in column order and idf weights; then the coefficients,
intercepts and class names. `rank()` repeats what scikit-learn 1.x does at predict time, step by
step (see each function), so it gives the pipeline's `predict_proba` (checked to 1e-6 on every
held-out message by tests/nlu/test_served_model.py) without importing scikit-learn: serving
starts in well under a second and a message takes a fraction of a millisecond instead of ~1.5 ms
of scikit-learn input validation.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from nlu.normalise import normalise
from nlu.types import Intent

ANALYZERS = ("char_wb", "word")
NORMS = ("l2", None)

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False)
class Vectoriser:
    """One fitted TfidfVectorizer as data; `offset` is its first column in the feature union."""

    analyzer: str
    ngram_range: tuple[int, int]
    terms: tuple[str, ...]
    idf: FloatArray
    offset: int = 0
    lowercase: bool = True
    token_pattern: str = r"(?u)\b\w\w+\b"
    sublinear_tf: bool = False
    norm: str | None = "l2"
    columns: dict[str, int] = field(init=False, repr=False, compare=False)
    _tokens: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.analyzer not in ANALYZERS or self.norm not in NORMS:
            raise ValueError(f"unsupported vectoriser: {self.analyzer}, norm {self.norm}")
        low, high = self.ngram_range
        if not 1 <= low <= high:
            raise ValueError(f"bad n-gram range {self.ngram_range}")
        if self.idf.shape != (len(self.terms),):
            raise ValueError("one idf weight per term expected")
        object.__setattr__(self, "columns", {t: i for i, t in enumerate(self.terms)})
        object.__setattr__(self, "_tokens", re.compile(self.token_pattern))

    def __len__(self) -> int:
        return len(self.terms)

    def grams(self, text: str) -> list[str]:
        """The n-grams scikit-learn's analyzer gives for `text` (same order, repeats kept)."""
        if self.lowercase:  # `_preprocess(doc, lower=True)`; no accent function is supported
            text = text.lower()
        low, high = self.ngram_range
        if self.analyzer == "char_wb":
            return char_wb_ngrams(text, low, high)
        return word_ngrams(self._tokens.findall(text), low, high)

    def weights(self, text: str) -> tuple[NDArray[np.intp], FloatArray]:
        """The non-zero columns of this vectoriser's tf-idf row for `text`, and their values."""
        counts: dict[int, int] = {}
        column = self.columns.get
        for gram in self.grams(text):
            j = column(gram)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        size = len(counts)
        cols = np.fromiter(counts, dtype=np.intp, count=size)
        values = np.fromiter(counts.values(), dtype=np.float64, count=size)
        if self.sublinear_tf:  # TfidfTransformer.transform: log(tf) + 1
            values = np.log(values) + 1.0
        values *= self.idf[cols]
        if self.norm == "l2":  # sklearn.preprocessing.normalize: a zero row stays zero
            norm = math.sqrt(float(values @ values))
            if norm:
                values /= norm
        return cols + self.offset, values


class IntentModel:
    """A trained linear model over tf-idf features that ranks intents by probability."""

    def __init__(
        self,
        vectorisers: Sequence[Vectoriser],
        coef: FloatArray,
        intercept: FloatArray,
        classes: Sequence[Intent],
    ) -> None:
        self.vectorisers = tuple(vectorisers)
        self.classes = tuple(classes)
        # One score column per class, or a single one for two classes (scikit-learn's binary
        # case: the score of classes[1]).
        columns = 1 if len(self.classes) == 2 else len(self.classes)
        features = sum(len(v) for v in self.vectorisers)
        if len(self.classes) < 2 or coef.shape != (features, columns):
            raise ValueError(f"coefficients {coef.shape} do not fit {features} features")
        if intercept.shape != (columns,):
            raise ValueError(f"intercepts {intercept.shape} do not fit {columns} columns")
        offsets = np.cumsum([0, *(len(v) for v in self.vectorisers)])[:-1]
        if [v.offset for v in self.vectorisers] != offsets.tolist():
            raise ValueError("vectoriser offsets do not follow each other")
        # Rows are features: a message's few hundred rows are gathered in one step.
        self.coef = np.ascontiguousarray(coef, dtype=np.float64)
        self.intercept = np.ascontiguousarray(intercept, dtype=np.float64)

    def scores(self, text: str) -> FloatArray:
        """`decision_function` of the classifier for `normalise(text)`."""
        normalised = normalise(text)
        parts = [v.weights(normalised) for v in self.vectorisers]
        cols = np.concatenate([c for c, _ in parts])
        values = np.concatenate([w for _, w in parts])
        # LinearClassifierMixin.decision_function: X @ coef_.T + intercept_
        result: FloatArray = values @ self.coef[cols] + self.intercept
        return result

    def probabilities(self, text: str) -> FloatArray:
        """`predict_proba`, in the order of `classes`."""
        return probabilities_from_scores(self.scores(text))

    def rank(self, text: str, limit: int | None = None) -> list[tuple[Intent, float]]:
        """Every intent (or the first `limit`) with its probability, most likely first."""
        probabilities = self.probabilities(text)
        order = np.argsort(-probabilities, kind="stable")[:limit].tolist()
        return [(self.classes[i], float(probabilities[i])) for i in order]


def probabilities_from_scores(scores: FloatArray) -> FloatArray:
    """LinearClassifierMixin._predict_proba_lr: one-vs-rest sigmoids, normalised to sum to 1."""
    # expit without overflow warnings: exp(-|x|) never overflows; same value to the last bits.
    small = np.exp(-np.abs(scores))
    sigmoid: FloatArray = np.where(scores >= 0, 1.0 / (1.0 + small), small / (1.0 + small))
    if len(sigmoid) == 1:  # binary: the score is that of classes[1]
        return np.array([1.0 - sigmoid[0], sigmoid[0]])
    total = float(sigmoid.sum())
    if total == 0.0:  # every sigmoid underflowed: scikit-learn answers uniformly
        return np.full(len(sigmoid), 1.0 / len(sigmoid))
    normalised: FloatArray = sigmoid / total
    return normalised


def char_wb_ngrams(text: str, low: int, high: int) -> list[str]:
    """_VectorizerMixin._char_wb_ngrams: n-grams inside words padded with one space each side;
    a word shorter than n is counted once, whole, and stops the longer sizes."""
    grams: list[str] = []
    for word in text.split():
        padded = f" {word} "
        length = len(padded)
        for n in range(low, high + 1):
            if n >= length:
                grams.append(padded)
                break
            grams += [padded[i : i + n] for i in range(length - n + 1)]
    return grams


def word_ngrams(tokens: Sequence[str], low: int, high: int) -> list[str]:
    """_VectorizerMixin._word_ngrams without stop words: all n-grams, shortest first."""
    grams: list[str] = list(tokens) if low == 1 else []
    count = len(tokens)
    for n in range(max(low, 2), min(high, count) + 1):
        grams += [" ".join(tokens[i : i + n]) for i in range(count - n + 1)]
    return grams
