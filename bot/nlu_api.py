"""POST /model/parse: the embedded engine in Rasa's HTTP shape, so tools written for Rasa work.

Same request and answer as Rasa's endpoint, and the same optional `?token=` authentication
(https://rasa.com/docs/rasa/pages/http-api). Open in development; in production only when
RELAIS_NLU_API_TOKEN is set. Texts sent here are neither stored nor logged.
"""

from __future__ import annotations

from hmac import compare_digest

from flask import Blueprint, Response, current_app, jsonify, request

from bot.runtime import runtime_of

blueprint = Blueprint("nlu_api", __name__)

MAX_TEXT = 2000


@blueprint.post("/model/parse")
def parse() -> tuple[Response, int]:
    """Understand {"text": ...} and answer like Rasa's /model/parse."""
    runtime = runtime_of(current_app)
    token = runtime.settings.nlu_api_token
    given = request.args.get("token", "")
    if token and not compare_digest(given.encode(), token.encode()):
        return jsonify(error="token missing or invalid"), 401
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict) or not isinstance(payload.get("text"), str):
        return jsonify(error='expected JSON {"text": "..."}'), 400
    return jsonify(runtime.nlu.parse(payload["text"][:MAX_TEXT]).to_rasa()), 200
