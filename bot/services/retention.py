"""The retention purge (RGPD): personal data goes after the retention period, statistics stay.

Deleted once older than the period (RELAIS_RETENTION_DAYS, six months by default): the thread
(texts in and out, call events), voicemails and their recordings at Twilio, messages we sent
(reminders, offers, advisors' replies, with their bodies), conversation memory, and residents
not seen for the period.

A recording is deleted at Twilio after the transaction that deleted its voicemail, which wrote
its SID down as pending; what Twilio cannot delete now is tried again at the next purge
(bot/services/recordings.py). In simulator mode nothing is at Twilio and nothing is called.

Kept, anonymised: each handled inbound message loses its resident and our reply but keeps its
channel, intent, place and time; appointments and escalations lose their resident (the foreign
keys are ON DELETE SET NULL, and the purge clears them itself first), so the statistics page
still counts requests, bookings, no-shows and times to first answer.

Kept whole: a resident who opted out (forgetting the number would forget the STOP), and a
resident with an upcoming appointment or workshop seat, until it has passed.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.database import transaction
from bot.models import (
    Appointment,
    CallbackTicket,
    Conversation,
    OutboundMessage,
    ProcessedMessage,
    Resident,
    ThreadEntry,
    Voicemail,
    WorkshopRegistration,
)
from bot.models.core import TAKEN
from bot.models.escalations import ACTIVE, CLOSED
from bot.services.recordings import (
    RecordingDeleter,
    delete_pending_recordings,
    keep_recordings_to_delete,
)


@dataclass(frozen=True, slots=True)
class PurgeReport:
    """What one purge removed, kind by kind."""

    thread_entries: int = 0
    voicemails: int = 0
    sent_messages: int = 0
    conversations: int = 0
    residents: int = 0
    # Rows kept for the statistics but stripped of their resident (and of our reply).
    anonymised_requests: int = 0
    anonymised_appointments: int = 0
    anonymised_escalations: int = 0
    # Recordings: deleted at Twilio (or already gone) by this purge, and still to delete there
    # (Twilio could not be reached: tried again at the next purge). Not rows: not in `total`.
    recordings_deleted: int = 0
    recordings_pending: int = 0
    recordings_at_twilio: bool = True  # False in simulator mode: no Twilio account, no calls

    @property
    def total(self) -> int:
        """Every row deleted or anonymised."""
        return sum(getattr(self, f.name) for f in fields(self) if not f.name.startswith("rec"))

    def in_french(self) -> str:
        """One line for `relais purge`: "Purge : 12 messages, 3 messages vocaux, 2 résidents..."."""
        parts = [
            _plural(self.thread_entries, "message", "messages"),
            _plural(self.voicemails, "message vocal", "messages vocaux"),
            _plural(self.sent_messages, "message envoyé", "messages envoyés"),
            _plural(self.conversations, "mémoire de conversation", "mémoires de conversation"),
            _plural(self.residents, "résident", "résidents"),
        ]
        anonymised = (
            self.anonymised_requests + self.anonymised_appointments + self.anonymised_escalations
        )
        kept = _plural(
            anonymised, "ligne de statistiques anonymisée", "lignes de statistiques anonymisées"
        )
        return (
            f"Purge : {', '.join(parts)} supprimés ; {kept} "
            f"({self.total} enregistrement(s) supprimé(s) ou anonymisé(s))."
        )

    def recordings_in_french(self) -> str:
        """The second line of `relais purge`: what happened to the recordings at Twilio."""
        if not self.recordings_at_twilio:
            return (
                "Enregistrements audio : pas de compte Twilio (mode simulateur), rien à supprimer."
            )
        line = (
            "Enregistrements audio chez Twilio : "
            f"{_plural(self.recordings_deleted, 'supprimé', 'supprimés')}, "
            f"{self.recordings_pending} en attente"
        )
        if self.recordings_pending:
            line += " (Twilio injoignable : nouvel essai à la prochaine purge)"
        return line + "."


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count <= 1 else many}"


def run_bulk(session: Session, statement: Any) -> int:
    """Run a bulk UPDATE or DELETE; how many rows it touched.

    No ORM objects are kept in step: each job or command has its own short session.
    """
    result = session.execute(statement, execution_options={"synchronize_session": False})
    return int(getattr(result, "rowcount", 0) or 0)


def _forgettable_residents(cutoff: datetime, now: datetime) -> ColumnElement[bool]:
    """Residents unseen since the cutoff, who neither opted out nor have something ahead."""
    return (
        (Resident.last_seen_at < cutoff)
        & Resident.opted_out.is_(False)
        # Someone who booked weeks ahead and stays silent still has their appointment.
        & ~Resident.id.in_(
            select(Appointment.resident_id).where(
                Appointment.status.in_(TAKEN),
                Appointment.ends_at > now,
                Appointment.resident_id.is_not(None),
            )
        )
        & ~Resident.id.in_(
            select(WorkshopRegistration.resident_id).where(
                WorkshopRegistration.status.in_(TAKEN),
                WorkshopRegistration.session_start > now,
            )
        )
    )


def anonymise_statistics(
    session: Session, resident_ids: Select[Any] | list[int], now: datetime
) -> tuple[int, int, int]:
    """Detach these residents from the rows the statistics keep; (requests, appointments,
    escalations) anonymised.

    Done explicitly rather than left to ON DELETE SET NULL, so that nothing depends on the
    database enforcing foreign keys. A live escalation is closed first: with nobody behind it,
    no advisor could answer it.
    """
    run_bulk(
        session,
        update(CallbackTicket)
        .where(CallbackTicket.resident_id.in_(resident_ids), CallbackTicket.status.in_(ACTIVE))
        .values(
            status=CLOSED,
            taken_by_id=None,
            closed_at=now,
            updated_at=now,
            outcome=func.coalesce(CallbackTicket.outcome, "other"),
        ),
    )
    requests = run_bulk(
        session,
        update(ProcessedMessage)
        .where(ProcessedMessage.resident_id.in_(resident_ids))
        .values(resident_id=None, reply=""),
    )
    appointments = run_bulk(
        session,
        update(Appointment)
        .where(Appointment.resident_id.in_(resident_ids))
        .values(resident_id=None),
    )
    escalations = run_bulk(
        session,
        update(CallbackTicket)
        .where(CallbackTicket.resident_id.in_(resident_ids))
        .values(resident_id=None, voicemail_id=None),
    )
    return requests, appointments, escalations


def purge_expired(
    session: Session, now: datetime, retention_days: int, track_recordings: bool = True
) -> PurgeReport:
    """Delete personal data older than the retention period; keep anonymous statistics.

    With `track_recordings` (a Twilio account), the SIDs of the recordings of the voicemails
    deleted are kept in `pending_recording_deletions`, for `delete_pending_recordings`.
    """
    if retention_days < 1:
        raise ValueError("retention_days must be 1 or more")
    cutoff = now - timedelta(days=retention_days)
    thread = run_bulk(session, delete(ThreadEntry).where(ThreadEntry.created_at < cutoff))
    # A voice is personal data too: the voicemail goes, its recording is deleted at Twilio
    # after this transaction; its escalation stays (voicemail_id SET NULL) for the statistics.
    if track_recordings:
        keep_recordings_to_delete(session, Voicemail.created_at < cutoff, now)
    voicemails = run_bulk(session, delete(Voicemail).where(Voicemail.created_at < cutoff))
    # What is still to send is not history yet.
    sent = run_bulk(
        session,
        delete(OutboundMessage).where(
            OutboundMessage.created_at < cutoff,
            OutboundMessage.status.notin_(("pending", "sending")),
        ),
    )
    requests = run_bulk(
        session,
        update(ProcessedMessage)
        .where(
            ProcessedMessage.created_at < cutoff,
            or_(ProcessedMessage.resident_id.is_not(None), ProcessedMessage.reply != ""),
        )
        .values(resident_id=None, reply=""),
    )
    conversations = run_bulk(session, delete(Conversation).where(Conversation.updated_at < cutoff))
    forgotten = select(Resident.id).where(_forgettable_residents(cutoff, now))
    more_requests, appointments, escalations = anonymise_statistics(session, forgotten, now)
    if track_recordings:  # their newer voicemails go with them (ON DELETE CASCADE)
        keep_recordings_to_delete(session, Voicemail.resident_id.in_(forgotten), now)
    # Deleting the resident cascades to what is left of their thread, messages and seats.
    residents = run_bulk(session, delete(Resident).where(_forgettable_residents(cutoff, now)))
    session.flush()
    return PurgeReport(
        thread_entries=thread,
        voicemails=voicemails,
        sent_messages=sent,
        conversations=conversations,
        residents=residents,
        anonymised_requests=requests + more_requests,
        anonymised_appointments=appointments,
        anonymised_escalations=escalations,
        recordings_at_twilio=track_recordings,
    )


def purge(
    sessions: sessionmaker[Session],
    now: datetime,
    retention_days: int,
    deleter: RecordingDeleter | None,
) -> PurgeReport:
    """The whole purge: personal data in one transaction, then the recordings at Twilio.

    Without a deleter (simulator mode), no recording is at Twilio: only our rows go.
    """
    with transaction(sessions) as session:
        report = purge_expired(session, now, retention_days, track_recordings=deleter is not None)
    if deleter is None:
        return report
    recordings = delete_pending_recordings(sessions, deleter)
    return replace(
        report, recordings_deleted=recordings.deleted, recordings_pending=recordings.pending
    )
