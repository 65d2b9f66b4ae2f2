"""The dispatcher: sends due outbox messages exactly once, with retries, quiet hours and a rate.

One pass (`run_once`): close unanswered waiting-list offers, reconcile messages whose dispatcher
died mid-send, then repeatedly claim a batch (one short transaction: claim under a lease, render
the text, store it), send it from a thread pool outside any transaction, and record Twilio's
answers (one transaction per batch). Any number of dispatchers may run against one database:
claims use FOR UPDATE SKIP LOCKED, and a result is recorded only by the worker that still holds
the lease. `relais serve` runs a pass every few seconds (APScheduler), `relais worker` in a loop,
`relais reminders run-once` once.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time as monotonic_time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from bot import clock
from bot.database import transaction
from bot.dispatch.render import Rendered, call_twiml, render_batch
from bot.privacy import mask_phone
from bot.services import offer_answers, outbox, quiet_hours, waiting_offers
from bot.services.conversations import opt_out_phone
from bot.services.gateway import (
    PermanentSendError,
    RecipientOptedOut,
    SendError,
    SentSms,
    TemporarySendError,
    UncertainSendError,
)

log = logging.getLogger(__name__)

# Waits before the 2nd, 3rd... attempt after a temporary failure (429, 5xx, timeout).
BACKOFF = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
)
MAX_ATTEMPTS = len(BACKOFF) + 1


class Sender(Protocol):
    """What sends: the Twilio gateway, or the simulator's stand-in."""

    def send_sms(self, to: str, body: str, status_callback: str | None = None) -> SentSms: ...

    def place_call(self, to: str, twiml: str, status_callback: str | None = None) -> SentSms: ...

    def find_sent(self, to: str, since: datetime, body: str | None = None) -> str | None: ...


@dataclass
class DispatchReport:
    """What one pass did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0
    postponed: int = 0
    reconciled: int = 0
    expired_offers: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds per Twilio request

    def add(self, other: DispatchReport) -> None:
        """Sum another report into this one."""
        for name in ("sent", "retried", "failed", "cancelled", "postponed", "reconciled"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.expired_offers += other.expired_offers
        self.latencies.extend(other.latencies)


class Throttle:
    """At most `rate` sends per second from this dispatcher, shared by its threads (0: no limit)."""

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._next = monotonic_time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until this send may go."""
        if not self._interval:
            return
        with self._lock:
            now = monotonic_time.monotonic()
            start = max(now, self._next)
            self._next = start + self._interval
        if start > now:
            monotonic_time.sleep(start - now)


# The share of a lease a dispatcher uses for sending; the rest is a margin for slow answers.
LEASE_USABLE = 0.5


@dataclass(frozen=True)
class _Job:
    message: outbox.Outbound
    content: str  # SMS body, or TwiML for a call
    body: str  # the text, stored for reconciliation
    send_until: float = float("inf")  # monotonic time after which the lease may be gone


@dataclass(frozen=True)
class _Result:
    message_id: int
    sent: SentSms | None = None
    error: SendError | None = None
    seconds: float = 0.0
    lease_lost: bool = False  # not sent: too late in the lease, left to reconciliation


def default_worker_id() -> str:
    """host:pid:random, so that two dispatchers never share a lease."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Dispatcher:
    """Sends the outbox; safe to run in several processes at once."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        sender: Sender,
        *,
        public_url: str = "",
        worker: str | None = None,
        batch: int = 50,
        threads: int = 8,
        rate: float = 0.0,
        lease: timedelta = timedelta(minutes=2),
        max_batches: int = 1000,
        now: Callable[[], datetime] = clock.now,
    ) -> None:
        self.sessions = sessions
        self.sender = sender
        self.public_url = public_url.rstrip("/")
        self.worker = worker or default_worker_id()
        self.batch = batch
        self.lease = lease
        self.max_batches = max_batches
        self.throttle = Throttle(rate)
        self._pool = ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="send")
        self._now = now

    def close(self) -> None:
        """Stop the sending threads."""
        self._pool.shutdown(wait=True)

    # --- one pass -------------------------------------------------------------------------------

    def run_once(self, now: datetime | None = None) -> DispatchReport:
        """Send everything due at `now` (default: the clock); return what happened."""
        at = now or self._now()
        report = DispatchReport()
        report.expired_offers = self.expire_offers(at)
        report.add(self.reconcile(at))
        for _ in range(self.max_batches):
            jobs, prepared = self._claim(now or self._now())
            report.add(prepared)
            if not jobs and not prepared.cancelled and not prepared.postponed:
                break
            if jobs:
                report.add(self._send(jobs, now))
        return report

    def expire_offers(self, now: datetime) -> int:
        """Close unanswered waiting-list offers, one transaction each; a failure is logged and
        never stops the reminders of this pass."""
        with transaction(self.sessions) as session:
            due = offer_answers.expired_offer_ids(session, now)
        expired = 0
        for offer_id in due:
            try:
                with transaction(self.sessions) as session:
                    expired += offer_answers.expire_offer(session, offer_id, now)
            except Exception:
                log.exception(
                    "expiring waiting-list offer %s failed; next pass tries again", offer_id
                )
        return expired

    def _lease(self, now: datetime) -> timedelta:
        """The lease from `now`, counted from the real clock when `now` is in the past.

        `relais reminders run-once --now <earlier>` must not hand out leases that other
        dispatchers, running on the real clock, already see as expired.
        """
        return self.lease + max(timedelta(0), self._now() - now)

    def _claim(self, now: datetime) -> tuple[list[_Job], DispatchReport]:
        """Claim a batch and decide, per message, to send it, postpone it or drop it."""
        report = DispatchReport()
        jobs: list[_Job] = []
        # Sends must stop well before the lease ends: after it, a successor may reconcile
        # (and resend) what this dispatcher has not sent yet.
        send_until = monotonic_time.monotonic() + self.lease.total_seconds() * LEASE_USABLE
        with transaction(self.sessions) as session:
            claimed = outbox.claim_due(session, now, self.worker, self.batch, self._lease(now))
            rendered = render_batch(session, claimed, now)
            bodies: dict[int, str] = {}
            for message in claimed:
                job = self._prepare(session, message, rendered[message.id], now, report)
                if job is not None:
                    bodies[message.id] = job.body
                    jobs.append(replace(job, send_until=send_until))
            outbox.set_bodies(session, bodies)
        return jobs, report

    def _prepare(
        self,
        session: Session,
        message: outbox.Outbound,
        rendered: Rendered | None,
        now: datetime,
        report: DispatchReport,
    ) -> _Job | None:
        if message.opted_out:
            outbox.record_failed(
                session, message.id, self.worker, now, "resident opted out", status=outbox.CANCELLED
            )
            report.cancelled += 1
            return None
        if rendered is None or (message.expires_at is not None and message.expires_at <= now):
            outbox.record_failed(
                session, message.id, self.worker, now, "no longer needed", status=outbox.CANCELLED
            )
            report.cancelled += 1
            return None
        if message.kind == waiting_offers.WAITING_OFFER:
            # An offer is never worth waking someone: wait for the morning, or let it go.
            allowed = quiet_hours.next_allowed(now)
            if allowed >= rendered.deadline:
                outbox.record_failed(
                    session, message.id, self.worker, now, "quiet hours", status=outbox.CANCELLED
                )
                report.cancelled += 1
                return None
        elif message.kind == outbox.TEXT:
            allowed = now  # written by an advisor, who chose to send it now
        else:
            allowed = quiet_hours.send_time(now, deadline=rendered.deadline)
        if allowed > now:
            # Quiet hours (a retry or a late pass landed at night): wait for the morning. Not an
            # attempt, so it does not count towards giving up.
            outbox.record_retry(session, message.id, self.worker, now, allowed, "quiet hours")
            outbox.uncount_attempt(session, message.id)
            report.postponed += 1
            return None
        content = rendered.content
        if message.channel == outbox.VOICE:
            content = call_twiml(message, content, self.public_url)
        return _Job(message, content, rendered.content)

    def _status_callback(self, message_id: int) -> str | None:
        if not self.public_url:
            return None
        return f"{self.public_url}/twilio/status?outbound={message_id}"

    def _send_one(self, job: _Job) -> _Result:
        self.throttle.wait()
        message = job.message
        if monotonic_time.monotonic() > job.send_until:
            return _Result(message.id, lease_lost=True)
        callback = self._status_callback(message.id)
        started = monotonic_time.perf_counter()
        try:
            if message.channel == outbox.VOICE:
                sent = self.sender.place_call(message.phone, job.content, callback)
            else:
                sent = self.sender.send_sms(message.phone, job.content, callback)
        except SendError as error:
            return _Result(message.id, error=error, seconds=monotonic_time.perf_counter() - started)
        except Exception as error:  # a bug must not lose the batch: retried like an outage
            log.exception("sending outbound %s failed unexpectedly", message.id)
            wrapped = TemporarySendError(f"unexpected {type(error).__name__}")
            return _Result(
                message.id, error=wrapped, seconds=monotonic_time.perf_counter() - started
            )
        return _Result(message.id, sent=sent, seconds=monotonic_time.perf_counter() - started)

    def _send(self, jobs: list[_Job], now: datetime | None) -> DispatchReport:
        # A cancellation may have come between the claim and now: send only what is still ours.
        with transaction(self.sessions) as session:
            held = set(outbox.still_held(session, self.worker, [j.message.id for j in jobs]))
        dropped = len(jobs) - len(held)
        jobs = [job for job in jobs if job.message.id in held]
        results = list(self._pool.map(self._send_one, jobs))
        by_id = {job.message.id: job.message for job in jobs}
        report = DispatchReport(
            latencies=[r.seconds for r in results if not r.lease_lost], cancelled=dropped
        )
        at = now or self._now()
        accepted = [(r.message_id, r.sent.sid, r.sent.status) for r in results if r.sent]
        with transaction(self.sessions) as session:
            report.sent += outbox.record_sent_many(session, self.worker, accepted, at)
            for result in results:
                if result.error is not None:
                    self._record_error(session, by_id[result.message_id], result.error, at, report)
        return report

    def _record_error(
        self,
        session: Session,
        message: outbox.Outbound,
        error: SendError,
        now: datetime,
        report: DispatchReport,
    ) -> None:
        if isinstance(error, UncertainSendError):
            # Twilio may have it: the next pass asks Twilio before sending again.
            outbox.release_uncertain(session, message.id, self.worker, now, str(error))
            report.retried += 1
            return
        if isinstance(error, RecipientOptedOut):
            opt_out_phone(session, message.phone, now)
        if isinstance(error, PermanentSendError) or message.attempts >= MAX_ATTEMPTS:
            reason = str(error) if isinstance(error, PermanentSendError) else f"gave up: {error}"
            outbox.record_failed(session, message.id, self.worker, now, reason, error.code)
            log.warning(
                "outbound %s to %s failed: %s", message.id, mask_phone(message.phone), reason
            )
            report.failed += 1
            return
        retry_at = now + BACKOFF[min(message.attempts, len(BACKOFF)) - 1]
        outbox.record_retry(session, message.id, self.worker, now, retry_at, str(error), error.code)
        report.retried += 1

    # --- dispatchers that died mid-send ---------------------------------------------------------

    def reconcile(self, now: datetime) -> DispatchReport:
        """Settle messages whose lease ran out: sent if Twilio has them, else sent again."""
        report = DispatchReport()
        with transaction(self.sessions) as session:
            stale = outbox.claim_stale(session, now, self.worker, self.batch, self._lease(now))
        for message in stale:
            sid = message.provider_sid
            try:
                if sid is None and message.claimed_at is not None:
                    since = message.claimed_at
                    body = message.body if message.channel == outbox.SMS else None
                    if message.channel == outbox.SMS and body is None:
                        sid = None  # never rendered, so never sent
                    else:
                        sid = self.sender.find_sent(message.phone, since, body)
            except TemporarySendError as error:
                log.warning("cannot reconcile outbound %s yet: %s", message.id, error)
                continue  # still ours under the new lease; the next pass after it tries again
            with transaction(self.sessions) as session:
                if sid is not None:
                    outbox.record_sent(session, message.id, self.worker, sid, "reconciled", now)
                elif not message.uncertain:
                    # The dispatcher died or ran out of lease before sending: send it now.
                    outbox.record_retry(session, message.id, self.worker, now, now, "lease expired")
                    outbox.uncount_attempt(session, message.id)
                elif message.attempts >= MAX_ATTEMPTS:
                    outbox.record_failed(
                        session, message.id, self.worker, now, "gave up: Twilio kept timing out"
                    )
                else:
                    # Not at Twilio after a timeout or a crash: a failed attempt, with back-off,
                    # so a Twilio that keeps timing out is not called again every pass.
                    retry_at = now + BACKOFF[min(message.attempts, len(BACKOFF)) - 1]
                    outbox.record_retry(
                        session, message.id, self.worker, now, retry_at, "not found at Twilio"
                    )
            report.reconciled += 1
        return report
