"""50 residents answer at the same instant for the same last slot, through the SMS webhook:
exactly one is booked, the 49 others are told kindly and offered other slots."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from bot.models import Appointment
from bot.runtime import Runtime
from tests.conftest import Twilio, gsm
from tests.test_concurrent_retries import _post_together

RESIDENTS = [f"+336399801{n:02d}" for n in range(50)]


def test_fifty_residents_booking_the_same_slot_at_once_get_one_booking(
    app: Flask, runtime: Runtime, twilio: Twilio
) -> None:
    for phone in RESIDENTS:
        slots = twilio.text("je voudrais un rdv à Thionville", sender=phone)
        assert "1 mardi 24 novembre à 9h\n" in gsm(slots)
        assert "C'est pour quoi" in twilio.text("1", sender=phone)
    forms = [twilio.sms_form(phone, "0") for phone in RESIDENTS]
    replies = _post_together(app, forms)
    confirmed = [r for r in replies if gsm("Rendez-vous confirmé") in r]
    taken = [r for r in replies if "1 mardi 24 novembre" in r and "confirmé" not in r]
    assert len(confirmed) == 1
    assert len(taken) == 49  # each offered the next free slots instead
    assert all(gsm("ce rendez-vous vient d'être pris par quelqu'un d'autre") in r for r in taken)
    with runtime.sessions() as session:
        booked = session.scalar(
            select(func.count()).select_from(Appointment).where(Appointment.status == "booked")
        )
    assert booked == 1
