"""X-Twilio-Signature checks with the official validator.

Twilio signs the full URL it called plus the sorted POST parameters
(https://www.twilio.com/docs/usage/security#validating-requests). Behind a proxy the URL the app
sees differs from the one Twilio called, so RELAIS_PUBLIC_URL gives the public base.
"""

from __future__ import annotations

import logging
from enum import StrEnum

from flask import Request, Response
from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

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
