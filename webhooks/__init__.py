"""Thin Twilio adapters: signature, form to Inbound, flows, Reply to TwiML."""

from __future__ import annotations

from flask import Flask

from webhooks import sms, status, voice, voice_reminder


def register(app: Flask) -> None:
    """Mount every Twilio webhook."""
    app.register_blueprint(sms.blueprint)
    app.register_blueprint(status.blueprint)
    app.register_blueprint(voice.blueprint)
    app.register_blueprint(voice_reminder.blueprint)
