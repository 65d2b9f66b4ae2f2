"""A closed-loop HTTP load generator: signed Twilio SMS webhooks, from separate processes.

Each client process runs a few threads; each thread holds one `http.client` connection and sends
its next request as soon as the previous answer is read (closed loop). Every request is the form
Twilio posts for an inbound SMS, with a realistic French message, a sender from the ARCEP fiction
range (+33 6 39 98 xx xx, split between threads so that one resident never has two messages in
flight), a unique MessageSid, and the X-Twilio-Signature computed by twilio's RequestValidator
over the exact public URL. gunicorn's sync workers close the connection after each answer;
`http.client` then opens a new one, so each request also pays a TCP connect, as Twilio's do.

Only requests that start after the warm-up and end before the deadline are counted.
"""

from __future__ import annotations

import http.client
import multiprocessing as mp
import os
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

SERVICE_NUMBER = "+33700000001"
ACCOUNT_SID = "AC" + "1" * 32
FICTION_PREFIX = "+3363998"  # 06 39 98 xx xx: 10,000 numbers
FICTION_SIZE = 10_000

# What residents write, with rough weights: questions, bookings, menu answers, keywords.
MESSAGES: tuple[tuple[str, int], ...] = (
    ("horaires de la médiathèque de Forbach", 4),
    ("c'est ouvert quand la médiathèque de la Côte des Roses ?", 3),
    ("et samedi ?", 2),
    ("il y a une permanence près de 57970 ?", 3),
    ("je voudrais un rdv jeudi", 3),
    ("je voudrais un rdv jeudi à Thionville", 2),
    ("1", 3),
    ("2", 1),
    ("c'est gratuit ?", 3),
    ("je dois apporter quoi", 2),
    ("j'ai reçu un sms bizarre c une arnaque ?", 2),
    (
        "Bonjour, je n'arrive pas à faire ma déclaration d'impôts sur internet, qui peut m'aider ?",
        2,
    ),
    ("aide", 1),
    ("merci beaucoup", 1),
    ("STOP", 1),
    ("START", 1),
)


@dataclass(frozen=True)
class LoadSpec:
    """What to send, where, how hard and for how long."""

    host: str
    port: int
    path: str
    public_url: str
    auth_token: str
    connections: int = 8
    processes: int = 2
    warmup: float = 2.0
    duration: float = 10.0
    seed: int = 9
    # A substring of an answer that means the app failed while answering 200 (its apology).
    error_markers: tuple[str, ...] = ()


@dataclass
class LoadResult:
    """Latencies (seconds) of the counted requests and what went wrong."""

    duration: float
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    sent: int = 0  # every request, warm-up and tail included

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def rate(self) -> float:
        """Successful requests per second over the measured window."""
        return self.ok / self.duration if self.duration else 0.0

    def percentile_ms(self, q: float) -> float:
        """Nearest-rank percentile in milliseconds (nan without samples)."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000

    def merge(self, other: LoadResult) -> None:
        self.latencies.extend(other.latencies)
        self.errors.update(other.errors)
        self.sent += other.sent


def sms_form(sender: str, body: str, sid: str) -> dict[str, str]:
    """The form Twilio posts for an inbound SMS (same fields as tests/conftest.py)."""
    return {
        "ToCountry": "FR",
        "ToState": "",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": "FR",
        "To": SERVICE_NUMBER,
        "ToZip": "",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }


class RequestMaker:
    """Signed webhook requests for one client thread: its own senders, unique MessageSids."""

    def __init__(self, spec: LoadSpec, slot: int, slots: int, run_id: int) -> None:
        self.url = spec.public_url.rstrip("/") + spec.path
        self.validator = RequestValidator(spec.auth_token)
        self.random = random.Random(spec.seed * 1000 + slot)
        self.numbers = [f"{FICTION_PREFIX}{n:04d}" for n in range(slot, FICTION_SIZE, slots)]
        self.texts = [text for text, _ in MESSAGES]
        self.weights = [weight for _, weight in MESSAGES]
        self.prefix = f"SM{run_id:08x}{slot:04x}"
        self.count = 0

    def next(self) -> tuple[bytes, dict[str, str]]:
        """The next body and headers."""
        self.count += 1
        sid = f"{self.prefix}{self.count:020x}"
        sender = self.random.choice(self.numbers)
        text = self.random.choices(self.texts, self.weights)[0]
        form = sms_form(sender, text, sid)
        signature = self.validator.compute_signature(self.url, form)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": str(signature),
            "User-Agent": "TwilioProxy/1.1",
        }
        return urlencode(form).encode(), headers


def _client_thread(
    spec: LoadSpec, slot: int, slots: int, run_id: int, t_start: float, into: LoadResult
) -> None:
    maker = RequestMaker(spec, slot, slots, run_id)
    measure_from = t_start + spec.warmup
    deadline = measure_from + spec.duration
    conn = http.client.HTTPConnection(spec.host, spec.port, timeout=30)
    delay = t_start - time.time()
    if delay > 0:
        time.sleep(delay)
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    sent = 0
    while True:
        body, headers = maker.next()
        started_wall = time.time()
        if started_wall >= deadline:
            break
        started = time.perf_counter()
        problem = ""
        try:
            conn.request("POST", spec.path, body=body, headers=headers)
            response = conn.getresponse()
            answer = response.read()
            if response.will_close:
                conn.close()
            if response.status != 200:
                problem = f"HTTP {response.status}"
            elif any(marker.encode() in answer for marker in spec.error_markers):
                problem = "apology (200)"
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            problem = type(exc).__name__
        elapsed = time.perf_counter() - started
        sent += 1
        if started_wall >= measure_from and started_wall + elapsed <= deadline:
            if problem:
                errors[problem] += 1
            else:
                latencies.append(elapsed)
        elif problem:
            errors[f"{problem} (outside window)"] += 1
    conn.close()
    into.latencies.extend(latencies)
    into.errors.update(errors)
    into.sent += sent


def _client_process(
    spec: LoadSpec, slots: list[int], total_slots: int, run_id: int, t_start: float
) -> LoadResult:
    """One client process: one thread per connection slot."""
    results = [LoadResult(spec.duration) for _ in slots]
    threads = [
        threading.Thread(
            target=_client_thread, args=(spec, slot, total_slots, run_id, t_start, result)
        )
        for slot, result in zip(slots, results, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    merged = LoadResult(spec.duration)
    for result in results:
        merged.merge(result)
    return merged


def run_load(spec: LoadSpec) -> LoadResult:
    """Drive the server from `spec.processes` new processes; returns the merged result."""
    processes = max(1, min(spec.processes, spec.connections))
    slot_groups = [list(range(p, spec.connections, processes)) for p in range(processes)]
    run_id = int.from_bytes(os.urandom(4), "big")
    # Spawned (not forked): the caller may have threads (pytest, a server) and fork would copy them.
    context = mp.get_context("spawn")
    # Leave time for the interpreters to start and import twilio before the clock starts.
    t_start = time.time() + 1.5
    with context.Pool(processes) as pool:
        pending = [
            pool.apply_async(_client_process, (spec, slots, spec.connections, run_id, t_start))
            for slots in slot_groups
        ]
        merged = LoadResult(spec.duration)
        timeout = spec.warmup + spec.duration + 120
        for item in pending:
            merged.merge(item.get(timeout=timeout))
    return merged
