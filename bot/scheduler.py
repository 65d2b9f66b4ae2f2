"""Background jobs (APScheduler): each job opens its own short transactions, never held while
Twilio answers."""

from __future__ import annotations

import logging
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler

from bot import clock
from bot.dispatch import Dispatcher, dispatcher_for
from bot.runtime import Runtime
from bot.services.recordings import twilio_recordings
from bot.services.retention import PurgeReport, purge

log = logging.getLogger(__name__)


def purge_personal_data(runtime: Runtime) -> PurgeReport:
    """Delete personal data past the retention period, keeping anonymous statistics; then the
    recordings of the voicemails deleted, at Twilio (outside the purge's transaction)."""
    days = runtime.settings.retention_days
    with twilio_recordings(runtime.settings) as deleter:
        report = purge(runtime.sessions, clock.now(), days, deleter)
    log.info(
        "retention purge (%d days): %d thread entries, %d voicemails, %d sent messages, "
        "%d conversations, %d residents deleted; %d requests, %d appointments, "
        "%d escalations anonymised; recordings at Twilio: %d deleted, %d pending",
        days,
        report.thread_entries,
        report.voicemails,
        report.sent_messages,
        report.conversations,
        report.residents,
        report.anonymised_requests,
        report.anonymised_appointments,
        report.anonymised_escalations,
        report.recordings_deleted,
        report.recordings_pending,
    )
    return report


# How often `relais serve` looks for due reminders and offers.
DISPATCH_EVERY_SECONDS = 15


def dispatch_outbox(dispatcher: Dispatcher) -> None:
    """One dispatcher pass; errors are logged, the next pass tries again."""
    try:
        report = dispatcher.run_once()
    except Exception:
        log.exception("dispatcher pass failed")
        return
    if report.sent or report.failed or report.retried or report.expired_offers:
        log.info(
            "dispatcher: %d sent, %d retried, %d failed, %d cancelled, %d offers expired",
            report.sent,
            report.retried,
            report.failed,
            report.cancelled,
            report.expired_offers,
        )


def start_scheduler(runtime: Runtime) -> BackgroundScheduler:
    """Start the jobs of `relais serve`: the outbox dispatcher and the nightly retention purge."""
    scheduler = BackgroundScheduler(timezone=str(clock.PARIS))
    scheduler.add_job(
        purge_personal_data, "cron", hour=3, minute=30, args=[runtime], id="retention_purge"
    )
    scheduler.add_job(
        dispatch_outbox,
        "interval",
        seconds=DISPATCH_EVERY_SECONDS,
        args=[dispatcher_for(runtime)],
        id="dispatch_outbox",
        max_instances=1,
        coalesce=True,
    )
    scheduler.start()
    job = scheduler.get_job("dispatch_outbox")
    if job is not None:  # an advisor's reply goes out at once, not at the next pass
        runtime.wakeup.on_wake(lambda: job.modify(next_run_time=datetime.now(clock.PARIS)))
    return scheduler
