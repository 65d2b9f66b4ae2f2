"""A running Rasa server as the intent engine, with the embedded engine as a safety net.

Rasa's HTTP API: POST {RASA_URL}/model/parse with {"text": ...} answers
{"intent": {"name", "confidence"}, "entities": [...], "intent_ranking": [...]}
(https://rasa.com/docs/rasa/pages/http-api#operation/parseModelMessage).
Rasa decides the intent; entities come from the embedded extractors, which resolve French dates,
postal codes and communes into values the flows can use. A timeout, an outage or an answer we
can't read falls back to the embedded engine, logged, and Rasa is left alone for a short while
so that every message doesn't pay the timeout during an outage.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from nlu.types import Intent, IntentEngine, Understanding

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 1.0  # seconds: voice turns must answer in about one second
DEFAULT_PAUSE = 30.0  # seconds without calling Rasa after a failure


class RasaAnswerError(ValueError):
    """Rasa answered something that isn't a /model/parse result we can use."""


def understanding_from_rasa(
    payload: Any,
) -> tuple[Intent, float, tuple[tuple[Intent, float], ...]]:
    """The intent, confidence and ranking of a /model/parse answer; unknown intents refused."""
    if not isinstance(payload, dict) or not isinstance(payload.get("intent"), dict):
        raise RasaAnswerError("no intent object")
    try:
        intent = Intent(str(payload["intent"]["name"]))
        confidence = float(payload["intent"]["confidence"])
    except (KeyError, TypeError, ValueError) as exc:
        raise RasaAnswerError(f"unusable intent {payload.get('intent')!r}") from exc
    ranking: list[tuple[Intent, float]] = []
    for item in payload.get("intent_ranking") or []:
        try:
            ranking.append((Intent(str(item["name"])), float(item["confidence"])))
        except (KeyError, TypeError, ValueError):
            continue  # an intent of another model: not ours to rank
    return intent, max(0.0, min(1.0, confidence)), tuple(ranking)


class RasaHttpEngine:
    """Asks a Rasa server for the intent; the embedded engine answers when Rasa can't."""

    def __init__(
        self,
        url: str,
        fallback: IntentEngine,
        timeout: float = DEFAULT_TIMEOUT,
        pause: float = DEFAULT_PAUSE,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """Point at a Rasa server's base URL (e.g. http://127.0.0.1:5005)."""
        self.endpoint = url.rstrip("/") + "/model/parse"
        self.fallback = fallback
        self.timeout = timeout
        self.pause = pause
        self._monotonic = monotonic
        self._paused_until = 0.0

    def _ask_rasa(self, text: str) -> Any:
        request = urllib.request.Request(
            self.endpoint,
            data=json.dumps({"text": text}).encode("utf-8"),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
            return json.loads(response.read().decode("utf-8"))

    def parse(self, text: str) -> Understanding:
        """Rasa's intent with our entities, or the embedded engine's answer if Rasa fails."""
        embedded = self.fallback.parse(text)
        if self._monotonic() < self._paused_until or not text.strip():
            return embedded
        try:
            intent, confidence, ranking = understanding_from_rasa(self._ask_rasa(text))
        except (OSError, urllib.error.URLError, TimeoutError, ValueError) as exc:
            self._paused_until = self._monotonic() + self.pause
            log.warning(
                "Rasa at %s failed (%s: %s); the embedded engine answers for %.0f s",
                self.endpoint,
                type(exc).__name__,
                exc,
                self.pause,
            )
            return embedded
        if embedded.intent == Intent.OPT_OUT and embedded.confidence >= 1.0:
            return embedded  # STOP is a legal keyword: never let a model overrule it
        return replace(embedded, intent=intent, confidence=confidence, ranking=ranking)
