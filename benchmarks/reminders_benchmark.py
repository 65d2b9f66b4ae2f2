"""Benchmark of the outbox dispatcher (issue 6, item 7): due reminders sent to the local Twilio.

    python benchmarks/reminders_benchmark.py [--messages 10000] [--dispatchers 2] [--threads 8]
        [--batch 100] [--database URL] [--outage SECONDS] [--kill] [--lease 5]

Seeds N residents (distinct numbers of the ARCEP fiction range 06 39 98), one booked appointment
each at a demo place and one due reminder each, then runs the dispatchers, each in its own
process (`rate=0`: no throttle), against the fake Twilio of `tests/twilio_server.py`, also in its
own process so that it does not share a GIL with them. Reminders are rendered for real (the
appointment, its advisor and place are read at claim time).

PostgreSQL runs in a database of its own, `relais_bench` (dropped and created again), or, if it
cannot be created, in a schema `relais_bench` of the given database; a SQLite URL names a file
that is deleted first.

Time: every process shares one simulated clock, a Monday 10:00 in Paris advancing with the wall
clock, so that quiet hours never postpone the run, leases and back-offs last their real length,
and the fake Twilio dates messages on the same clock (reconciliation lists them by date).

`--outage S`: the fake answers 500 for the first S seconds (the back-off then decides the time).
`--kill`: once a third of the messages are sent, the first dispatcher gets SIGKILL mid-batch and a
replacement starts; the messages it held are reconciled after the lease (`--lease`, 5 s).

Prints one markdown table. duplicates: messages Twilio created beyond one per (To, Body) pair;
lost: reminders not in status sent at the end (plus any recorded SID Twilio does not know).
"""

from __future__ import annotations

import argparse
import logging
import math
import multiprocessing as mp
import os
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from reminders_seed import (  # noqa: E402 - after the path is set
    bench_database,
    seed,
    simulated_clock,
    status_counts,
    wait_until_holding,
)

DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BENCH_NAME = "relais_bench"
SERVICE_NUMBER = "+33700000001"
FICTION_RANGE = "+3363998"  # 06 39 98 xx xx: 10,000 numbers
MAX_MESSAGES = 10_000
# Monday 23 November 2026, 10:00 in Paris: inside sending hours for the whole run.
BASE = "2026-11-23T10:00:00+01:00"
GOAL = 500.0  # reminders per second


def twilio_process(t0: float, conn: Any) -> None:
    """The fake Twilio, answering on its own process until told to stop."""
    from tests.twilio_server import SERVER_ERROR, FakeTwilio

    server = FakeTwilio(clock=simulated_clock(t0)).start()
    conn.send(server.url)
    while True:
        command, argument = conn.recv()
        if command == "outage":
            server.outage(SERVER_ERROR, argument)
        elif command == "report":
            created = [(m.sid, m.to, m.body) for m in server.messages]
            conn.send((created, len(server.requests), server.violations[:5]))
        elif command == "stop":
            server.stop()
            conn.send("stopped")
            return


def dispatcher_process(
    name: str,
    url: str,
    api_url: str,
    options: dict[str, Any],
    t0: float,
    ready: Any,
    start: Any,
    stop: Any,
    results: Any,
) -> None:
    """One dispatcher, passing over the outbox until told to stop; sends back its report."""
    from bot.database import make_engine, make_session_factory
    from bot.dispatch.dispatcher import Dispatcher, DispatchReport
    from bot.services.gateway import SmsGateway
    from tests.twilio_server import ACCOUNT_SID, AUTH_TOKEN

    # One warning per refused SMS (an outage gives thousands): keep only errors.
    logging.getLogger("bot").setLevel(logging.ERROR)
    profile = None
    if options.get("profile"):
        import cProfile

        profile = cProfile.Profile()
    engine = make_engine(url)
    gateway = SmsGateway(ACCOUNT_SID, AUTH_TOKEN, SERVICE_NUMBER, api_url=api_url)
    dispatcher = Dispatcher(
        make_session_factory(engine),
        gateway,
        worker=f"bench-{name}-{os.getpid()}",
        batch=options["batch"],
        threads=options["threads"],
        rate=0,
        lease=timedelta(seconds=options["lease"]),
        now=simulated_clock(t0),
    )
    ready.put(name)
    start.wait()
    total = DispatchReport()
    if profile is not None:
        profile.enable()
    while not stop.is_set():
        report = dispatcher.run_once()
        total.add(report)
        if not (report.sent or report.retried or report.failed or report.reconciled):
            time.sleep(0.05)
    if profile is not None:
        profile.disable()
        profile.dump_stats(f"{options['profile']}.{name}")
    dispatcher.close()
    gateway.close()
    engine.dispose()
    counts = {
        k: getattr(total, k) for k in ("sent", "retried", "failed", "cancelled", "reconciled")
    }
    results.put((name, counts, total.latencies))


# --- the run ----------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one benchmark run measured."""

    dispatchers: int
    messages: int
    seconds: float
    latencies: list[float]
    duplicates: int
    lost: int
    reports: dict[str, dict[str, int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0

    @property
    def p99_ms(self) -> float:
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)] * 1000


def run(args: argparse.Namespace) -> Outcome:
    """Seed, start the fake Twilio and the dispatchers, wait until nothing is left to send."""
    from bot.database import make_engine, make_session_factory

    url = bench_database(args.database)
    print(f"seeding {args.messages} reminders into {url.rsplit('@', 1)[-1]} ...", flush=True)
    seed(url, args.messages)

    ctx = mp.get_context("spawn")
    t0 = time.time()
    twilio_conn, child_conn = ctx.Pipe()
    twilio = ctx.Process(target=twilio_process, args=(t0, child_conn), daemon=True)
    twilio.start()
    api_url = twilio_conn.recv()

    options = {
        "batch": args.batch,
        "threads": args.threads,
        "lease": args.lease,
        "profile": args.profile,
    }
    ready, results = ctx.Queue(), ctx.Queue()
    start, stop = ctx.Event(), ctx.Event()

    def launch(name: str) -> Any:
        process = ctx.Process(
            target=dispatcher_process,
            args=(name, url, api_url, options, t0, ready, start, stop, results),
        )
        process.start()
        return process

    processes = {f"d{i}": launch(f"d{i}") for i in range(args.dispatchers)}
    for _ in processes:
        ready.get(timeout=60)

    engine = make_engine(url)
    sessions = make_session_factory(engine)
    notes: list[str] = []
    killed = False
    if args.outage > 0:
        twilio_conn.send(("outage", args.outage))
    started = time.perf_counter()
    start.set()
    while True:
        time.sleep(0.05)
        counts = status_counts(sessions)
        if not counts["pending"] and not counts["sending"]:
            break
        if args.kill and not killed and counts["sent"] >= args.messages // 3:
            victim = processes["d0"]
            assert victim.pid is not None
            held_by = f"bench-d0-{victim.pid}"
            wait_until_holding(sessions, held_by, seconds=10)  # mid-send, not mid-claim
            os.kill(victim.pid, signal.SIGKILL)
            victim.join()
            killed = True
            held = status_counts(sessions, held_by)["sending"]
            notes.append(
                f"SIGKILL d0 at {time.perf_counter() - started:.1f} s after {counts['sent']} sent"
                f" ({held} rows in sending); replacement d{args.dispatchers} started"
            )
            del processes["d0"]
            name = f"d{args.dispatchers}"
            processes[name] = launch(name)
            ready.get(timeout=60)
        if time.perf_counter() - started > args.timeout:
            notes.append(f"gave up after {args.timeout} s: {dict(counts)}")
            break
    seconds = time.perf_counter() - started
    stop.set()

    reports: dict[str, dict[str, int]] = {}
    latencies: list[float] = []
    for _ in processes:
        name, report, samples = results.get(timeout=120)
        reports[name] = report
        latencies.extend(samples)
    for process in processes.values():
        process.join(timeout=30)

    twilio_conn.send(("report", None))
    created, requests, violations = twilio_conn.recv()
    twilio_conn.send(("stop", None))
    twilio_conn.recv()
    twilio.join(timeout=10)

    from sqlalchemy import select

    from bot.models import OutboundMessage

    with sessions() as session:
        rows = session.execute(
            select(OutboundMessage.status, OutboundMessage.provider_sid, OutboundMessage.body)
        ).all()
    engine.dispose()
    pairs = Counter((to, body) for _, to, body in created)
    duplicates = len(created) - len(pairs)
    known = {sid for sid, _, _ in created}
    sent = [row for row in rows if row.status == "sent"]
    unknown_sids = sum(1 for row in sent if row.provider_sid not in known)
    lost = len(rows) - len(sent) + unknown_sids
    if unknown_sids:
        notes.append(f"{unknown_sids} recorded SIDs unknown to Twilio")
    final = Counter(row.status for row in rows)
    notes.append(f"outbox: {dict(final)}; Twilio created {len(created)} of {requests} requests")
    if violations:
        notes.append(f"spec violations: {violations}")
    return Outcome(
        dispatchers=args.dispatchers,
        messages=args.messages,
        seconds=seconds,
        latencies=latencies,
        duplicates=duplicates,
        lost=lost,
        reports=reports,
        notes=notes,
    )


def print_table(args: argparse.Namespace, outcome: Outcome) -> None:
    """The result as a markdown table, with what each dispatcher did underneath."""
    parts = [f"outage {args.outage:g} s"] if args.outage else []
    parts += ["kill one dispatcher"] if args.kill else []
    scenario = ", ".join(parts) or "normal"
    print()
    print(
        "| scenario | dispatchers | messages | seconds | reminders/s | p99 ms | duplicates | lost |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {scenario} | {outcome.dispatchers} | {outcome.messages} | {outcome.seconds:.1f}"
        f" | {outcome.rate:.0f} | {outcome.p99_ms:.1f} | {outcome.duplicates} | {outcome.lost} |"
    )
    print()
    for name, report in sorted(outcome.reports.items()):
        print(f"- {name}: {report}")
    if args.kill:
        print("- d0 was killed: what it sent is not in the reports, nor its latencies")
    for note in outcome.notes:
        print(f"- {note}")
    if args.outage:
        print("- during an outage the back-off (30 s, then 2 min) sets the pace, not throughput")
    else:
        verdict = "met" if outcome.rate >= GOAL else "NOT met"
        print(f"- goal ≥ {GOAL:.0f} reminders/s: {verdict}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=MAX_MESSAGES)
    parser.add_argument("--dispatchers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--outage", type=float, default=0.0, help="seconds of HTTP 500 at start")
    parser.add_argument("--kill", action="store_true", help="SIGKILL one dispatcher mid-run")
    parser.add_argument("--lease", type=float, default=5.0, help="dispatcher lease, seconds")
    parser.add_argument("--timeout", type=float, default=900.0, help="give up after (seconds)")
    parser.add_argument("--profile", default="", help="cProfile each dispatcher to PREFIX.dN")
    args = parser.parse_args()
    if not 1 <= args.messages <= MAX_MESSAGES:
        parser.error(f"--messages: 1 to {MAX_MESSAGES} (the fiction range has 10,000 numbers)")
    if args.dispatchers < 1:
        parser.error("--dispatchers: at least 1")
    outcome = run(args)
    print_table(args, outcome)
    return 0 if outcome.duplicates == 0 and outcome.lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
