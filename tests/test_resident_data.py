"""A resident asks what Relais holds about them, then to erase it (RGPD articles 15 and 17)."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner
from sqlalchemy import func, select

from bot.cli import main
from bot.database import transaction
from bot.models import Appointment, OutboundMessage, ProcessedMessage, Resident, Voicemail
from bot.runtime import Runtime
from bot.services.voicemails import record_voicemail
from tests.conftest import DEFAULT_NOW, RESIDENT, Twilio

OTHER = "+33639980077"


def _count(runtime: Runtime, model: Any, **where: Any) -> int:
    with runtime.sessions() as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return int(session.scalar(query) or 0)


def _a_resident_with_history(twilio: Twilio, runtime: Runtime) -> None:
    """Booked by SMS (with its reminders), a voicemail, and another resident beside."""
    for body in ("je voudrais un rdv à Thionville", "1", "1"):
        twilio.text(body)
    twilio.text("Bonjour", sender=OTHER)
    with transaction(runtime.sessions) as session:
        record_voicemail(
            session,
            phone=RESIDENT,
            call_sid="CA" + "5" * 32,
            place_id="demo-thipi-thionville",
            recording_url="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE5",
            recording_sid="RE" + "5" * 32,
            duration_seconds=15,
            now=DEFAULT_NOW,
        )


def _env(runtime: Runtime) -> dict[str, str]:
    return {"RELAIS_DATABASE_URL": runtime.settings.database_url}


def test_a_resident_can_get_everything_held_about_them(twilio: Twilio, runtime: Runtime) -> None:
    _a_resident_with_history(twilio, runtime)
    result = CliRunner().invoke(main, ["resident", "export", "06 39 98 00 42"], env=_env(runtime))
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["resident"]["phone"] == RESIDENT
    assert [a["status"] for a in data["appointments"]] == ["booked"]
    assert len(data["messages_received"]) == 3
    assert {m["kind"] for m in data["messages_sent"]} == {"reminder"}
    assert data["voicemails"][0]["duration_seconds"] == 15
    assert data["callback_tickets"][0]["status"] == "open"
    assert data["conversation_memory"]["commune_insee"] == "57672"
    assert OTHER not in result.output


def test_erasing_a_resident_removes_all_their_data_and_only_theirs(
    twilio: Twilio, runtime: Runtime
) -> None:
    _a_resident_with_history(twilio, runtime)
    assert _count(runtime, Appointment) == 1
    result = CliRunner().invoke(main, ["resident", "erase", RESIDENT, "--yes"], env=_env(runtime))
    assert result.exit_code == 0, result.output
    assert "effacé(s) pour le +33*******42" in result.output
    with runtime.sessions() as session:
        assert session.scalars(select(Resident.phone)).all() == [OTHER]
    for model in (Appointment, OutboundMessage, Voicemail):
        assert _count(runtime, model) == 0
    assert _count(runtime, ProcessedMessage) == 1  # the other resident's
    again = CliRunner().invoke(main, ["resident", "export", RESIDENT], env=_env(runtime))
    assert again.exit_code == 1
    assert "Aucune donnée pour ce numéro." in again.stderr


def test_erasing_asks_for_confirmation_and_an_unknown_number_changes_nothing(
    twilio: Twilio, runtime: Runtime
) -> None:
    twilio.text("Bonjour")
    refused = CliRunner().invoke(
        main, ["resident", "erase", RESIDENT], input="n\n", env=_env(runtime)
    )
    assert refused.exit_code == 1
    assert _count(runtime, Resident) == 1
    unknown = CliRunner().invoke(main, ["resident", "erase", OTHER, "--yes"], env=_env(runtime))
    assert unknown.exit_code == 1
    assert _count(runtime, Resident) == 1
