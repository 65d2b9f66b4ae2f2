"""Voicemail recordings at Twilio: deleted when their voicemail is (retention purge, erasure).

Like the outbox: the transaction that deletes a voicemail writes the SID of its recording to
`pending_recording_deletions` (`keep_recordings_to_delete`), so that no recording is ever lost
track of, whatever fails next. After that transaction commits, `delete_pending_recordings` asks
Twilio to delete each one, outside any transaction (no lock is held while Twilio answers), and
drops the SIDs Twilio confirmed (deleted, or already gone) in a second short transaction. A SID
Twilio could not delete (outage, timeout) stays for the next purge; it is all that is kept, with
no resident, number, call or place.

With RELAIS_OUTBOUND=simulator there is no Twilio account: the simulator's recordings were
never at Twilio, so no SID is kept and nothing is called (`twilio_recordings` yields None).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import ColumnElement, delete, insert, select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.database import transaction
from bot.models import PendingRecordingDeletion, Voicemail
from bot.services.gateway import gateway_from_settings

log = logging.getLogger(__name__)

# After this many failures in a row Twilio is taken to be down: the rest wait for next time.
MAX_FAILURES_IN_A_ROW = 3
# SIDs confirmed deleted are dropped from the pending table this many at a time.
CHUNK = 500
_RECORDING_IN_URL = re.compile(r"/Recordings/(RE[0-9a-fA-F]{32})")


class RecordingDeleter(Protocol):
    """What deletes recordings at Twilio: the gateway (SmsGateway.delete_recording)."""

    def delete_recording(self, recording_sid: str) -> bool: ...


@contextmanager
def twilio_recordings(settings: Settings) -> Iterator[RecordingDeleter | None]:
    """The gateway that deletes recordings, or None in simulator mode (no Twilio account).

    The dispatcher's choice (bot/dispatch): RELAIS_OUTBOUND=simulator, the default of the demo
    without TWILIO_AUTH_TOKEN or TWILIO_API_URL, means nothing of ours is at Twilio.
    """
    if settings.outbound == "simulator":
        yield None
        return
    gateway = gateway_from_settings(settings)
    try:
        yield gateway
    finally:
        gateway.close()


def keep_recordings_to_delete(
    session: Session, voicemails: ColumnElement[bool], now: datetime
) -> list[str]:
    """Write down, as pending, the recordings of these voicemails; their SIDs.

    Call it in the transaction that deletes the voicemails, before deleting them.
    """
    rows = session.execute(
        select(Voicemail.recording_sid, Voicemail.recording_url).where(voicemails)
    ).all()
    sids: set[str] = set()
    for sid, url in rows:
        if not sid:  # a voicemail stored without its SID: its address names the recording
            found = _RECORDING_IN_URL.search(url or "")
            sid = found.group(1) if found else None
        if sid:
            sids.add(sid)
    known = set(session.scalars(select(PendingRecordingDeletion.recording_sid)))
    new = sorted(sids - known)
    if new:
        session.execute(
            insert(PendingRecordingDeletion),
            [{"recording_sid": sid, "created_at": now} for sid in new],
        )
    return sorted(sids)


@dataclass(frozen=True, slots=True)
class RecordingDeletions:
    """Recordings deleted at Twilio (or already gone), and those still to delete there."""

    deleted: int = 0
    pending: int = 0


def delete_pending_recordings(
    sessions: sessionmaker[Session],
    deleter: RecordingDeleter,
    only: Collection[str] | None = None,
) -> RecordingDeletions:
    """Delete at Twilio the recordings written down as pending (only these SIDs, if given).

    The SIDs are read in one short transaction, Twilio is called outside any, and the SIDs it
    confirmed are dropped in another. What fails stays pending for the next purge; after a few
    failures in a row Twilio is taken to be down and the rest wait too. Twilio's failures never
    raise. Two purges at once may both ask: the second gets a 404, which counts as deleted.
    """
    query = select(PendingRecordingDeletion.recording_sid).order_by(
        PendingRecordingDeletion.created_at, PendingRecordingDeletion.recording_sid
    )
    if only is not None:
        query = query.where(PendingRecordingDeletion.recording_sid.in_(sorted(set(only))))
    with transaction(sessions) as session:
        sids = list(session.scalars(query))
    deleted: list[str] = []
    failures = 0
    for sid in sids:
        if deleter.delete_recording(sid):
            deleted.append(sid)
            failures = 0
            continue
        failures += 1
        if failures >= MAX_FAILURES_IN_A_ROW:
            log.warning("Twilio failed %d times in a row: recordings left for later", failures)
            break
    for start in range(0, len(deleted), CHUNK):
        chunk = deleted[start : start + CHUNK]
        with transaction(sessions) as session:
            session.execute(
                delete(PendingRecordingDeletion).where(
                    PendingRecordingDeletion.recording_sid.in_(chunk)
                ),
                execution_options={"synchronize_session": False},
            )
    return RecordingDeletions(deleted=len(deleted), pending=len(sids) - len(deleted))
