"""Voicemail recordings are deleted at Twilio after the retention period and on erasure.

The local fake Twilio (tests/twilio_server.py) checks every request against Twilio's OpenAPI
description; the `fake_twilio` fixture asserts there was no violation.
"""

from __future__ import annotations

import itertools
import logging
from datetime import datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from bot.cli import main
from bot.database import transaction
from bot.models import Base, PendingRecordingDeletion, Resident, Voicemail
from bot.runtime import Runtime
from bot.scheduler import purge_personal_data
from bot.services.gateway import SmsGateway
from bot.services.recordings import MAX_FAILURES_IN_A_ROW
from bot.services.retention import purge
from bot.services.voicemails import add_transcription, record_voicemail
from tests.conftest import DEFAULT_NOW, RESIDENT, SERVICE_NUMBER, Clock, Twilio
from tests.twilio_server import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, slow

OTHER = "+33639980077"
SIX_MONTHS_LATER = "2027-05-26T10:00:00+02:00"  # 184 days after DEFAULT_NOW
A_DAY_LATER = "2027-05-27T10:00:00+02:00"
_calls = itertools.count(1)


def _voicemail(
    runtime: Runtime, recording_sid: str, phone: str = RESIDENT, at: datetime = DEFAULT_NOW
) -> None:
    """A voicemail left by `phone`, transcribed, with its recording at Twilio."""
    with transaction(runtime.sessions) as session:
        record_voicemail(
            session,
            phone=phone,
            call_sid=f"CA{next(_calls):032x}",
            place_id="demo-thipi-thionville",
            recording_url=f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/"
            f"Recordings/{recording_sid}",
            recording_sid=recording_sid,
            duration_seconds=12,
            now=at,
        )
        add_transcription(session, recording_sid, "Rappelez-moi au sujet de ma carte", at)


def _at_twilio(runtime: Runtime, fake: FakeTwilio) -> Runtime:
    """The runtime with its Twilio settings pointing at the fake (as with TWILIO_API_URL)."""
    settings = runtime.settings.with_overrides(
        twilio_api_url=fake.url,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        outbound="twilio",
    )
    return Runtime(settings, runtime.db, runtime.sessions, runtime.nlu)


def _env(runtime: Runtime, fake: FakeTwilio | None) -> dict[str, str]:
    """The environment of `relais ...` on this database; at the fake Twilio if given."""
    env = {"RELAIS_DATABASE_URL": runtime.settings.database_url}
    if fake is not None:
        env |= {
            "TWILIO_API_URL": fake.url,
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_FROM": SERVICE_NUMBER,
        }
    return env


def _pending(runtime: Runtime) -> list[str]:
    with runtime.sessions() as session:
        return list(session.scalars(select(PendingRecordingDeletion.recording_sid)))


def _voicemails(runtime: Runtime) -> list[tuple[str | None, str | None, str | None]]:
    with runtime.sessions() as session:
        rows = session.execute(
            select(Voicemail.recording_sid, Voicemail.recording_url, Voicemail.transcription)
        )
        return [(sid, url, text) for sid, url, text in rows]


def _deletions(fake: FakeTwilio) -> list[str]:
    """The paths of the DeleteRecording requests the fake received."""
    return [r.path for r in fake.requests if r.operation_id == "DeleteRecording"]


class WatchedDeleter:
    """Deletes through the gateway, noting whether a database connection was held meanwhile."""

    def __init__(self, gateway: SmsGateway, runtime: Runtime) -> None:
        self.gateway = gateway
        self.runtime = runtime
        self.connections_held: list[int] = []

    def delete_recording(self, recording_sid: str) -> bool:
        self.connections_held.append(self.runtime.db.pool.checkedout())  # type: ignore[attr-defined]
        return self.gateway.delete_recording(recording_sid)


# --- the gateway ----------------------------------------------------------------------------


def test_the_gateway_deletes_a_recording_and_counts_a_missing_one_as_deleted(
    fake_twilio: FakeTwilio, gateway: SmsGateway, caplog: pytest.LogCaptureFixture
) -> None:
    kept, deleted = fake_twilio.add_recording(), fake_twilio.add_recording()
    caplog.set_level(logging.INFO, logger="bot.services.gateway")
    assert gateway.delete_recording(deleted) is True
    assert fake_twilio.recordings == {kept}
    assert _deletions(fake_twilio) == [
        f"/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{deleted}.json"
    ]
    assert gateway.delete_recording(deleted) is True  # 404: already gone
    assert gateway.delete_recording("RE-not-a-sid") is True  # never a recording: not asked
    assert len(_deletions(fake_twilio)) == 2
    # Ours only: the twilio library logs its own HTTP requests too, depending on its version.
    messages = [r.getMessage() for r in caplog.records if r.name == "bot.services.gateway"]
    assert all(deleted in m for m in messages[:2]) and "already gone" in messages[1]
    assert "malformed" in messages[2] and "not-a-sid" not in messages[2]
    assert not any("+33" in m for m in messages)


def test_the_gateway_says_false_when_twilio_fails_or_cannot_be_reached(
    fake_twilio: FakeTwilio, gateway: SmsGateway
) -> None:
    sid = fake_twilio.add_recording()
    fake_twilio.fail_recording_deletions()
    assert gateway.delete_recording(sid) is False  # 500
    fake_twilio.fail_recording_deletions(None)
    impatient = SmsGateway(ACCOUNT_SID, AUTH_TOKEN, SERVICE_NUMBER, fake_twilio.url, timeout=0.3)
    fake_twilio.fail_next(slow(2))
    assert impatient.delete_recording(sid) is False  # timeout
    impatient.close()
    with FakeTwilio() as gone:
        url = gone.url
    refused = SmsGateway(ACCOUNT_SID, AUTH_TOKEN, SERVICE_NUMBER, url, timeout=2)
    assert refused.delete_recording(sid) is False  # connection refused
    refused.close()
    assert fake_twilio.recordings == {sid}
    assert gateway.delete_recording(sid) is True


# --- the retention purge --------------------------------------------------------------------


def test_the_purge_deletes_the_recording_at_twilio_and_the_voicemail(
    fake_twilio: FakeTwilio, runtime: Runtime, frozen: Clock
) -> None:
    old, recent = fake_twilio.add_recording(), fake_twilio.add_recording()
    _voicemail(runtime, old)
    _voicemail(runtime, recent, phone=OTHER, at=datetime.fromisoformat("2027-05-01T10:00+02:00"))
    frozen.set(SIX_MONTHS_LATER)
    report = purge_personal_data(_at_twilio(runtime, fake_twilio))
    assert (report.voicemails, report.recordings_deleted, report.recordings_pending) == (1, 1, 0)
    assert fake_twilio.deleted_recordings == [old]
    assert fake_twilio.recordings == {recent}  # within the retention period: kept
    assert [sid for sid, _, _ in _voicemails(runtime)] == [recent]
    assert _pending(runtime) == []


def test_twilio_is_called_with_no_database_connection_held(
    fake_twilio: FakeTwilio, gateway: SmsGateway, runtime: Runtime, frozen: Clock
) -> None:
    sids = [fake_twilio.add_recording() for _ in range(2)]
    for sid in sids:
        _voicemail(runtime, sid)
    now = frozen.set(SIX_MONTHS_LATER)
    deleter = WatchedDeleter(gateway, runtime)
    report = purge(runtime.sessions, now, 183, deleter)
    assert report.recordings_deleted == 2
    assert deleter.connections_held == [0, 0]


def test_when_twilio_is_down_only_the_sid_is_kept_and_the_next_purge_deletes_it(
    fake_twilio: FakeTwilio, runtime: Runtime, frozen: Clock
) -> None:
    sid = fake_twilio.add_recording()
    _voicemail(runtime, sid)
    twilio_runtime = _at_twilio(runtime, fake_twilio)
    fake_twilio.fail_recording_deletions()
    frozen.set(SIX_MONTHS_LATER)
    report = purge_personal_data(twilio_runtime)
    assert (report.voicemails, report.recordings_deleted, report.recordings_pending) == (1, 0, 1)
    assert "1 en attente (Twilio injoignable" in report.recordings_in_french()
    # The voicemail is gone (transcription, address, resident, call); the SID alone remains.
    assert _voicemails(runtime) == []
    assert _pending(runtime) == [sid]
    assert set(PendingRecordingDeletion.__table__.c.keys()) == {"recording_sid", "created_at"}
    assert fake_twilio.recordings == {sid}
    fake_twilio.fail_recording_deletions(None)
    frozen.set(A_DAY_LATER)
    again = purge_personal_data(twilio_runtime)
    assert (again.voicemails, again.recordings_deleted, again.recordings_pending) == (0, 1, 0)
    assert fake_twilio.recordings == set()
    assert _pending(runtime) == []


def test_a_recording_already_gone_from_twilio_counts_as_deleted(
    fake_twilio: FakeTwilio, runtime: Runtime, frozen: Clock
) -> None:
    _voicemail(runtime, "RE" + "a" * 32)  # deleted by hand in the Twilio console meanwhile
    frozen.set(SIX_MONTHS_LATER)
    report = purge_personal_data(_at_twilio(runtime, fake_twilio))
    assert (report.recordings_deleted, report.recordings_pending) == (1, 0)
    assert len(_deletions(fake_twilio)) == 1
    assert _pending(runtime) == []


def test_after_a_few_failures_in_a_row_the_rest_waits_for_the_next_purge(
    fake_twilio: FakeTwilio, runtime: Runtime, frozen: Clock
) -> None:
    for _ in range(MAX_FAILURES_IN_A_ROW + 2):
        _voicemail(runtime, fake_twilio.add_recording())
    fake_twilio.fail_recording_deletions()
    frozen.set(SIX_MONTHS_LATER)
    report = purge_personal_data(_at_twilio(runtime, fake_twilio))
    assert (report.recordings_deleted, report.recordings_pending) == (0, MAX_FAILURES_IN_A_ROW + 2)
    assert len(_deletions(fake_twilio)) == MAX_FAILURES_IN_A_ROW


def test_a_forgotten_residents_newer_voicemail_has_its_recording_deleted_too(
    fake_twilio: FakeTwilio, runtime: Runtime, frozen: Clock
) -> None:
    sid = fake_twilio.add_recording()
    _voicemail(runtime, sid, at=datetime.fromisoformat("2027-05-01T10:00+02:00"))
    with transaction(runtime.sessions) as session:  # seen last long ago, voicemail aside
        session.execute(update(Resident).values(last_seen_at=DEFAULT_NOW))
    frozen.set(SIX_MONTHS_LATER)
    report = purge_personal_data(_at_twilio(runtime, fake_twilio))
    assert (report.residents, report.voicemails, report.recordings_deleted) == (1, 0, 1)
    assert _voicemails(runtime) == [] and fake_twilio.recordings == set()


def test_relais_purge_says_what_happened_to_the_recordings(
    fake_twilio: FakeTwilio, runtime: Runtime, frozen: Clock
) -> None:
    _voicemail(runtime, fake_twilio.add_recording())
    _voicemail(runtime, fake_twilio.add_recording(), phone=OTHER)
    frozen.set(SIX_MONTHS_LATER)
    result = CliRunner().invoke(main, ["purge"], env=_env(runtime, fake_twilio))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Purge : ") and "2 messages vocaux" in result.output
    assert "Enregistrements audio chez Twilio : 2 supprimés, 0 en attente." in result.output
    assert fake_twilio.recordings == set()


# --- erasure --------------------------------------------------------------------------------


def _rows_mentioning(runtime: Runtime, needle: str) -> list[str]:
    found = []
    with runtime.sessions() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(table.select()):
                if needle in " ".join(str(v) for v in row):
                    found.append(f"{table.name}: {row}")
    return found


def test_erasing_a_resident_deletes_their_recordings_at_twilio(
    fake_twilio: FakeTwilio, runtime: Runtime
) -> None:
    mine = [fake_twilio.add_recording() for _ in range(2)]
    for sid in mine:
        _voicemail(runtime, sid)
    theirs = fake_twilio.add_recording()
    _voicemail(runtime, theirs, phone=OTHER)
    result = CliRunner().invoke(
        main, ["resident", "erase", RESIDENT, "--yes"], env=_env(runtime, fake_twilio)
    )
    assert result.exit_code == 0, result.output
    assert "2 enregistrement(s) audio supprimé(s) chez Twilio." in result.output
    assert "Attention" not in result.output
    assert sorted(fake_twilio.deleted_recordings) == sorted(mine)
    assert fake_twilio.recordings == {theirs}
    assert _pending(runtime) == []
    assert [sid for sid, _, _ in _voicemails(runtime)] == [theirs]


def test_erasing_while_twilio_is_down_erases_our_data_warns_and_purge_finishes_it(
    fake_twilio: FakeTwilio, runtime: Runtime
) -> None:
    sid = fake_twilio.add_recording()
    _voicemail(runtime, sid)
    fake_twilio.fail_recording_deletions()
    env = _env(runtime, fake_twilio)
    result = CliRunner().invoke(main, ["resident", "erase", RESIDENT, "--yes"], env=env)
    assert result.exit_code == 0, result.output
    assert "Attention : 1 enregistrement(s) audio de ce numéro n'ont pas pu" in result.stderr
    assert "Relancez `relais purge`" in result.stderr
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Resident)) == 0
    for needle in (RESIDENT, RESIDENT[1:], "Rappelez-moi"):
        assert _rows_mentioning(runtime, needle) == []
    assert _pending(runtime) == [sid]  # the SID alone, to try again
    fake_twilio.fail_recording_deletions(None)
    purged = CliRunner().invoke(main, ["purge"], env=env)
    assert purged.exit_code == 0, purged.output
    assert "Enregistrements audio chez Twilio : 1 supprimé, 0 en attente." in purged.output
    assert fake_twilio.recordings == set()
    assert _pending(runtime) == []


# --- simulator mode: no Twilio account, nothing at Twilio -----------------------------------


def test_in_simulator_mode_no_call_is_made_and_only_rows_go(
    fake_twilio: FakeTwilio, runtime: Runtime, frozen: Clock, twilio: Twilio
) -> None:
    _voicemail(runtime, "RE" + "b" * 32)
    _voicemail(
        runtime, "RE" + "c" * 32, phone=OTHER, at=datetime.fromisoformat("2027-05-01T10:00+02:00")
    )
    simulated = Runtime(
        _at_twilio(runtime, fake_twilio).settings.with_overrides(outbound="simulator"),
        runtime.db,
        runtime.sessions,
        runtime.nlu,
    )
    frozen.set(SIX_MONTHS_LATER)
    twilio.text("Bonjour", sender=OTHER)  # still seen: erased below rather than purged
    report = purge_personal_data(simulated)
    assert (report.voicemails, report.recordings_at_twilio) == (1, False)
    assert "mode simulateur" in report.recordings_in_french()
    # The demo's settings (development token, no TWILIO_API_URL): the simulator's outbox.
    erased = CliRunner().invoke(
        main, ["resident", "erase", OTHER, "--yes"], env=_env(runtime, None)
    )
    assert erased.exit_code == 0, erased.output
    assert "audio" not in erased.output
    assert _voicemails(runtime) == []
    assert _pending(runtime) == []
    assert fake_twilio.requests == []
