"""The baseline: a bare Flask app answering POST /twilio/sms with a fixed TwiML string.

Served by the same gunicorn settings as Relais (`bench.hello_app:app`), it measures what
gunicorn, Werkzeug and Flask cost on their own on this machine.
"""

from __future__ import annotations

from flask import Flask, Response

TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Message>'
    "Bonjour ! La mediatheque de Forbach est ouverte du mardi au samedi, de 10h a 18h."
    "</Message></Response>"
)

app = Flask(__name__)


@app.post("/twilio/sms")
def sms() -> Response:
    """The same answer to every message, without reading the form."""
    return Response(TWIML, mimetype="text/xml")


@app.get("/healthz")
def healthz() -> tuple[str, int]:
    """Liveness, polled by the harness before it starts the load."""
    return "ok\n", 200
