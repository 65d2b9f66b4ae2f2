"""A resident asks what Relais holds about them, then to erase it (RGPD articles 15 and 17)."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner
from sqlalchemy import func, select

from bot.cli import main
from bot.database import transaction
from bot.models import (
    Appointment,
    Base,
    CallbackTicket,
    OutboundMessage,
    ProcessedMessage,
    Resident,
    ThreadEntry,
    Voicemail,
)
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
    assert data["escalations"][0]["reason"] == "voicemail"
    assert "je voudrais un rdv à Thionville" in [e["body"] for e in data["thread"]]
    assert data["conversation_memory"]["commune_insee"] == "57672"
    assert OTHER not in result.output


def _rows_mentioning(runtime: Runtime, needle: str) -> list[str]:
    """Every table and row whose text holds `needle` (a search of the whole database)."""
    found = []
    with runtime.sessions() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(table.select()):
                if needle in " ".join(str(v) for v in row):
                    found.append(f"{table.name}: {row}")
    return found


def _references_to(runtime: Runtime, resident_id: int) -> list[str]:
    """Every row in any table whose resident_id is this one."""
    found = []
    with runtime.sessions() as session:
        for table in Base.metadata.sorted_tables:
            if "resident_id" in table.c:
                count = session.scalar(
                    select(func.count())
                    .select_from(table)
                    .where(table.c.resident_id == resident_id)
                )
                if count:
                    found.append(f"{table.name}: {count}")
    return found


def test_erasing_a_resident_removes_all_their_data_and_only_theirs(
    twilio: Twilio, runtime: Runtime
) -> None:
    _a_resident_with_history(twilio, runtime)
    with runtime.sessions() as session:
        rid = session.scalars(select(Resident.id).where(Resident.phone == RESIDENT)).one()
    assert _count(runtime, Appointment) == 1
    assert _rows_mentioning(runtime, RESIDENT)
    result = CliRunner().invoke(main, ["resident", "erase", RESIDENT, "--yes"], env=_env(runtime))
    assert result.exit_code == 0, result.output
    assert "effacé(s) pour le +33*******42" in result.output
    assert "1 rendez-vous à venir annulé(s)" in result.output
    with runtime.sessions() as session:
        assert session.scalars(select(Resident.phone)).all() == [OTHER]
    # No row points to them, and the number is nowhere, in any form, in any table.
    assert _references_to(runtime, rid) == []
    for needle in (RESIDENT, RESIDENT[1:], "0639980042", "06 39 98 00 42"):
        assert _rows_mentioning(runtime, needle) == []
    for model in (OutboundMessage, Voicemail):
        assert _count(runtime, model) == 0
    assert _count(runtime, ThreadEntry, resident_id=rid) == 0
    assert _count(runtime, ThreadEntry) > 0  # the other resident's
    # What stays is anonymous: the upcoming appointment cancelled (its slot free again),
    # the escalation closed, the handled messages without resident or reply.
    with runtime.sessions() as session:
        appointment = session.scalars(select(Appointment)).one()
        ticket = session.scalars(select(CallbackTicket)).one()
        mine = session.scalars(
            select(ProcessedMessage).where(ProcessedMessage.resident_id.is_(None))
        ).all()
    assert (appointment.resident_id, appointment.status) == (None, "cancelled")
    assert (ticket.resident_id, ticket.status, ticket.voicemail_id) == (None, "closed", None)
    assert len(mine) == 3 and {m.reply for m in mine} == {""}
    assert _count(runtime, ProcessedMessage) == 4  # three anonymous, one of the other resident
    again = CliRunner().invoke(main, ["resident", "export", RESIDENT], env=_env(runtime))
    assert again.exit_code == 1
    assert "Aucune donnée pour ce numéro." in again.stderr


def test_a_past_appointment_stays_anonymous_after_erasure(
    twilio: Twilio, runtime: Runtime, frozen: Any
) -> None:
    from bot.services.resident_data import erase_resident

    _a_resident_with_history(twilio, runtime)
    with runtime.sessions() as session:
        ends = session.scalars(select(Appointment.ends_at)).one()
    later = frozen.set(ends.isoformat())
    with transaction(runtime.sessions) as session:
        erased = erase_resident(session, RESIDENT, later)
    assert erased.freed == 0
    with runtime.sessions() as session:
        appointment = session.scalars(select(Appointment)).one()
    assert (appointment.resident_id, appointment.status) == (None, "booked")


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
