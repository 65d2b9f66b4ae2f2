"""Serve an app with gunicorn on a free localhost port and measure its SMS webhook.

Relais runs as deployed (`bot.wsgi:app`) on a temporary SQLite file, or on a fresh schema of
RELAIS_BENCH_DATABASE_URL (PostgreSQL), with RELAIS_PUBLIC_URL=http://127.0.0.1:PORT, a known
TWILIO_AUTH_TOKEN, RELAIS_OUTBOUND=simulator and no scheduler (serving via bot.wsgi starts none;
RELAIS_SCHEDULER=0 anyway). Before gunicorn starts, `import bot.wsgi` runs once in a separate
interpreter: it applies the migrations, loads the demo territory and trains the intent engine
into the instance folder, so the workers only load the cached model. Both apps get the same
gunicorn command line (workers, worker class, threads) and the same load.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.loadgen import LoadResult, LoadSpec, run_load

ROOT = Path(__file__).resolve().parents[1]
AUTH_TOKEN = "bench-auth-token-0123456789abcdef"
# The start of say("error"), as typed and as mapped to GSM-7: Relais answers 200 with it when a
# message fails inside, so a 200 alone does not prove the message was handled.
APOLOGY_MARKERS = ("un problème technique", "un probleme technique")


@dataclass(frozen=True)
class ServerOptions:
    """gunicorn settings shared by both apps."""

    workers: int = 2
    worker_class: str = "sync"
    threads: int = 1
    preload: bool = False

    def describe(self) -> str:
        threads = f" x {self.threads} threads" if self.worker_class == "gthread" else ""
        preload = ", --preload" if self.preload else ""
        return f"gunicorn {self.workers} {self.worker_class} workers{threads}{preload}"


def free_port() -> int:
    """A localhost port nobody listens on (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(port: int, path: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Poll GET path until it answers 200; fail with the server's log if it dies or hangs."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{tail(log)}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                conn.close()
                return
            conn.close()
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer {path} within 120 s:\n{tail(log)}")


def tail(log: Path, lines: int = 30) -> str:
    """The end of a log file."""
    if not log.exists():
        return "(no log)"
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def gunicorn(
    target: str, env: dict[str, str], options: ServerOptions, log: Path, health: str
) -> Iterator[int]:
    """Run `gunicorn target` on a free port until the block ends; yields the port."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(options.workers),
        "--worker-class",
        options.worker_class,
        "--threads",
        str(options.threads),
        "--timeout",
        "60",
        "--log-level",
        "warning",
    ]
    if options.preload:
        command.append("--preload")
    command.append(target)
    full_env = {**env, "RELAIS_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    with log.open("ab") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=full_env, stdout=out, stderr=out)
    try:
        wait_until_up(port, health, process, log)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def count_log_errors(log: Path) -> int:
    """Lines a worker logged at ERROR or worse, and tracebacks."""
    if not log.exists():
        return 0
    text = log.read_text(errors="replace")
    return sum(
        1
        for line in text.splitlines()
        if " ERROR " in line or " CRITICAL " in line or line.startswith("Traceback")
    )


@dataclass
class Measured:
    """One app's result under load."""

    name: str
    result: LoadResult
    log_errors: int


def relais_env(workdir: Path, database_url: str) -> dict[str, str]:
    """The environment of a Relais web process for the benchmark."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RELAIS_", "TWILIO_"))}
    env.update(
        RELAIS_DATABASE_URL=database_url,
        RELAIS_INSTANCE_DIR=str(workdir / "instance"),
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_FROM="+33700000001",
        RELAIS_OUTBOUND="simulator",
        RELAIS_SCHEDULER="0",
        RELAIS_SIMULATOR="0",
        RELAIS_PUBLIC_URL="http://127.0.0.1",
    )
    return env


def prepare_relais(env: dict[str, str], log: Path) -> float:
    """Migrate, load the demo territory and train the engine once; returns the seconds taken."""
    started = time.perf_counter()
    with log.open("ab") as out:
        subprocess.run(
            [sys.executable, "-c", "import bot.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=out,
            check=True,
            timeout=600,
        )
    return time.perf_counter() - started


@contextmanager
def bench_database(workdir: Path) -> Iterator[tuple[str, str]]:
    """(SQLAlchemy URL, label): a temporary SQLite file, or a fresh PostgreSQL schema."""
    base = os.environ.get("RELAIS_BENCH_DATABASE_URL", "")
    if not base:
        yield f"sqlite:///{workdir / 'relais.sqlite3'}", "SQLite (temporary file)"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    engine = create_engine(base)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False), f"PostgreSQL {make_url(base).host}"
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def load_spec(
    port: int,
    connections: int,
    processes: int,
    warmup: float,
    duration: float,
    markers: tuple[str, ...] = (),
) -> LoadSpec:
    """The load for a server on `port` (public URL = the address it is reached at)."""
    return LoadSpec(
        host="127.0.0.1",
        port=port,
        path="/twilio/sms",
        public_url=f"http://127.0.0.1:{port}",
        auth_token=AUTH_TOKEN,
        connections=connections,
        processes=processes,
        warmup=warmup,
        duration=duration,
        error_markers=markers,
    )


def measure_hello(
    workdir: Path,
    options: ServerOptions,
    connections: int,
    processes: int,
    warmup: float,
    duration: float,
) -> Measured:
    """The bare Flask app under the same gunicorn settings and load."""
    log = workdir / "hello.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RELAIS_", "TWILIO_"))}
    with gunicorn("bench.hello_app:app", env, options, log, "/healthz") as port:
        spec = load_spec(port, connections, processes, warmup, duration)
        result = run_load(spec)
    return Measured("bare Flask hello", result, count_log_errors(log))


def measure_relais(
    workdir: Path,
    database_url: str,
    options: ServerOptions,
    connections: int,
    processes: int,
    warmup: float,
    duration: float,
) -> Measured:
    """Relais's POST /twilio/sms, prepared once, then served by gunicorn under load."""
    log = workdir / "relais.log"
    env = relais_env(workdir, database_url)
    prepare_relais(env, log)
    with gunicorn("bot.wsgi:app", env, options, log, "/readyz") as port:
        spec = load_spec(port, connections, processes, warmup, duration, APOLOGY_MARKERS)
        result = run_load(spec)
    return Measured("Relais SMS webhook", result, count_log_errors(log))


@contextmanager
def workspace(keep: str = "") -> Iterator[Path]:
    """A temporary folder for databases, model cache and logs (or `keep`, left in place)."""
    if keep:
        path = Path(keep)
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="relais-bench-") as folder:
        yield Path(folder)
