"""X-Twilio-Signature checks with the official validator.

Twilio signs the full URL it called plus the sorted POST parameters
(https://www.twilio.com/docs/usage/security#validating-requests). Behind a proxy the URL the app
sees differs from the one Twilio called, so RELAIS_PUBLIC_URL gives the public base.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import StrEnum
from functools import wraps

from flask import Request, Response, current_app, request
from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

from bot.runtime import runtime_of

log = logging.getLogger(__name__)


class SignatureProblem(StrEnum):
    """Why a request was refused; "missing" and "invalid" are told apart in logs."""

    MISSING = "missing"
    INVALID = "invalid"


def public_request_url(request: Request, public_url: str) -> str:
    """The URL Twilio called: the public base (if configured) plus the path and query seen here."""
    if not public_url:
        return request.url
    query = request.query_string.decode("latin-1")
    return public_url.rstrip("/") + request.path + (f"?{query}" if query else "")


def check_signature(request: Request, auth_token: str, public_url: str) -> SignatureProblem | None:
    """None when the request is signed by Twilio with our token, else what is wrong."""
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not signature:
        return SignatureProblem.MISSING
    algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
    validator = RequestValidator(auth_token)
    url = public_request_url(request, public_url)
    # The validator compares in constant time and tries the URL with and without the port.
    if validator.validate(url, request.form, signature, algorithm=algorithm):
        return None
    return SignatureProblem.INVALID


def refuse_unless_signed(request: Request, auth_token: str, public_url: str) -> Response | None:
    """None for a request signed by Twilio; else a plain 403, logged with what was wrong."""
    problem = check_signature(request, auth_token, public_url)
    if problem is None:
        return None
    log.warning("refused %s: %s signature", request.path, problem.value)
    return Response("Forbidden\n", status=403, mimetype="text/plain")


def twilio_signed(view: Callable[[], Response]) -> Callable[[], Response]:
    """A webhook view that runs only for requests signed with the app's Twilio token."""

    @wraps(view)
    def checked() -> Response:
        settings = runtime_of(current_app).settings
        refusal = refuse_unless_signed(request, settings.twilio_auth_token, settings.public_url)
        return refusal if refusal is not None else view()

    return checked
