"""Background jobs (APScheduler): each job opens its own transaction and commits once."""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler

from bot import clock
from bot.database import transaction
from bot.runtime import Runtime
from bot.services.conversations import purge_expired

log = logging.getLogger(__name__)


def purge_personal_data(runtime: Runtime) -> int:
    """Delete message records and conversation memory past the retention period."""
    with transaction(runtime.sessions) as session:
        removed = purge_expired(session, clock.now(), runtime.settings.retention_days)
    log.info("retention purge removed %d records", removed)
    return removed


def start_scheduler(runtime: Runtime) -> BackgroundScheduler:
    """Start the jobs of `relais serve`: the nightly retention purge."""
    scheduler = BackgroundScheduler(timezone=str(clock.PARIS))
    scheduler.add_job(
        purge_personal_data, "cron", hour=3, minute=30, args=[runtime], id="retention_purge"
    )
    scheduler.start()
    return scheduler
