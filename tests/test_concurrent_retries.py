"""Twilio retries arriving at the same time are still processed once (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET

from flask import Flask
from sqlalchemy import func, select

from bot.models import ProcessedMessage, Resident
from bot.runtime import Runtime
from tests.conftest import RESIDENT, Twilio

PARALLEL = 8


def _post_together(app: Flask, forms: list[dict[str, str]]) -> list[str]:
    barrier = threading.Barrier(len(forms))
    replies: list[str] = [""] * len(forms)

    def send(index: int) -> None:
        twilio = Twilio(app.test_client())
        barrier.wait()
        response = twilio.post("/twilio/sms", forms[index])
        assert response.status_code == 200
        root = ET.fromstring(response.get_data(as_text=True))
        replies[index] = "".join(m.text or "" for m in root.iter("Message"))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(forms))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return replies


def _count(runtime: Runtime, model: type) -> int:
    with runtime.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_simultaneous_retries_of_one_message_get_one_reply(
    app: Flask, runtime: Runtime, twilio: Twilio
) -> None:
    form = twilio.sms_form(RESIDENT, "il y a une permanence près de 57970 ?", sid="SM" + "d" * 32)
    replies = _post_together(app, [form] * PARALLEL)
    assert len(set(replies)) == 1 and "Yutz" in replies[0]
    assert _count(runtime, ProcessedMessage) == 1


def test_first_messages_from_one_number_at_once_create_one_resident(
    app: Flask, runtime: Runtime, twilio: Twilio
) -> None:
    forms = [twilio.sms_form(RESIDENT, "Bonjour") for _ in range(PARALLEL)]
    replies = _post_together(app, forms)
    assert all("Relais" in reply for reply in replies)
    assert _count(runtime, Resident) == 1
    assert _count(runtime, ProcessedMessage) == PARALLEL
