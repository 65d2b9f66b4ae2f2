"""A caller who wants a person: put through while the place is open, else a voicemail kept with a
callback ticket for advisors. The clock is frozen at Monday 2026-11-23 10:00 (Paris); Pôle
numérique THI'PI (Thionville, +33353010101) is open Monday to Friday 9:00-12:00, 14:00-17:00.
"""

from __future__ import annotations

import pytest

from bot.models import CallbackTicket, Voicemail
from bot.runtime import Runtime
from tests.conftest import PUBLIC_URL, RESIDENT, SERVICE_NUMBER, Clock, Twilio
from tests.phone_calls import (
    ACCOUNT_SID,
    THIPI,
    THIPI_PHONE,
    Call,
    choose_thipi,
    dial_ended,
    leave_message,
    path_of,
    rows_of,
)

# --- (c) a person, while the place is open --------------------------------------------------------


def test_caller_asking_for_a_person_is_put_through_to_the_open_place(call: Call) -> None:
    choose_thipi(call)
    transfer = call.press("0")
    assert "Je vous passe un conseiller de Pôle numérique THI'PI" in transfer.said
    dial = transfer.root.find("Dial")
    assert dial is not None
    assert dial.attrib["action"] == f"{PUBLIC_URL}/twilio/voice/dial-ended?place={THIPI}"
    assert dial.attrib["method"] == "POST"
    assert [n.text for n in dial.iter("Number")] == [THIPI_PHONE]
    assert not transfer.has("Gather")


@pytest.mark.parametrize("status", ["no-answer", "busy", "failed"])
def test_an_unanswered_transfer_ends_in_a_voicemail(call: Call, status: str) -> None:
    choose_thipi(call)
    call.press("0")
    voicemail = dial_ended(call, status)
    assert "Le conseiller ne répond pas." in voicemail.said
    assert "Laissez votre nom et votre message après le bip" in voicemail.said
    record = voicemail.root.find("Record")
    assert record is not None
    assert record.attrib["maxLength"] == "120"
    assert path_of(record.attrib["action"]).startswith("/twilio/voice/voicemail")


def test_an_answered_transfer_just_ends(call: Call) -> None:
    choose_thipi(call)
    call.press("0")
    ended = dial_ended(call, "completed")
    assert ended.has("Hangup") and not ended.has("Record")


def test_voicemail_after_an_unanswered_transfer_is_filed_under_that_place(
    call: Call, runtime: Runtime
) -> None:
    choose_thipi(call)
    call.press("0")
    voicemail = dial_ended(call, "no-answer")
    record = voicemail.root.find("Record")
    assert record is not None
    leave_message(call, path_of(record.attrib["action"]))
    (ticket,) = rows_of(runtime, CallbackTicket)
    assert ticket.place_id == THIPI


# --- (d) after hours: voicemail and a callback ticket -------------------------------------------


@pytest.mark.parametrize(
    "when", ["2026-11-23T21:00:00+01:00", "2026-11-29T10:00:00+01:00"], ids=["evening", "sunday"]
)
def test_after_hours_a_caller_leaves_a_voicemail_and_gets_a_callback_ticket(
    call: Call, twilio: Twilio, runtime: Runtime, frozen: Clock, when: str
) -> None:
    frozen.set(when)
    choose_thipi(call)
    prompt = call.press("0")
    assert "Les conseillers ne sont pas disponibles" in prompt.said
    assert "après le bip" in prompt.said
    assert not prompt.has("Dial")
    record = prompt.root.find("Record")
    assert record is not None
    assert record.attrib["maxLength"] == "120"
    assert record.attrib["playBeep"] == "true"
    path = path_of(record.attrib["action"])
    assert path == f"/twilio/voice/voicemail?place={THIPI}"

    saved = leave_message(call, path)
    assert "enregistré" in saved.said
    assert saved.has("Hangup")
    (voicemail,) = rows_of(runtime, Voicemail)
    assert voicemail.call_sid == call.sid
    assert voicemail.place_id == THIPI
    assert voicemail.duration_seconds == 14
    (ticket,) = rows_of(runtime, CallbackTicket)
    assert ticket.status == "open"
    assert ticket.voicemail_id == voicemail.id
    assert ticket.place_id == THIPI

    # Twilio retries the action: same answer, still one voicemail and one ticket.
    again = leave_message(call, path)
    assert again.xml == saved.xml
    assert len(rows_of(runtime, Voicemail)) == 1
    assert len(rows_of(runtime, CallbackTicket)) == 1

    transcription = {
        "AccountSid": ACCOUNT_SID,
        "CallSid": call.sid,
        "RecordingSid": voicemail.recording_sid,
        "RecordingUrl": voicemail.recording_url,
        "TranscriptionSid": "TR" + "f" * 32,
        "TranscriptionText": "Bonjour, c'est madame Martin, rappelez-moi pour mes impôts.",
        "TranscriptionStatus": "completed",
        "TranscriptionUrl": "https://api.twilio.com/2010-04-01/Accounts/AC1/Transcriptions/TR1",
        "From": RESIDENT,
        "To": SERVICE_NUMBER,
    }
    assert twilio.post("/twilio/voice/transcription", transcription).status_code == 204
    (voicemail,) = rows_of(runtime, Voicemail)
    assert voicemail.transcription == transcription["TranscriptionText"]


def test_an_empty_recording_keeps_nothing_and_says_goodbye(call: Call, runtime: Runtime) -> None:
    call.start()
    saved = leave_message(call, "/twilio/voice/voicemail", RecordingDuration="0")
    assert "Je n'ai pas reçu de message" in saved.said
    assert saved.has("Hangup")
    assert rows_of(runtime, Voicemail) == []
