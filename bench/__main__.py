"""`python -m bench`: Relais's SMS webhook against a bare Flask app, same gunicorn, same load.

    python -m bench [--duration 10] [--warmup 2] [--connections 8] [--workers 2]
        [--worker-class sync|gthread] [--threads 1] [--preload] [--client-processes 2]
        [--nlu-rounds 3] [--quick] [--keep DIR]

Prints one markdown table (machine, versions, date and database above it): requests per second,
p50 and p99 latency and errors for each app, the ratio Relais / hello against the goals
(>= 50 %, p99 < 50 ms), and the intent engine's parse latency. Exit code 1 when any request
failed (non-200, connection error, or Relais's 200 apology for an internal error).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import sys
import time
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.webhook import (
    ROOT,
    Measured,
    ServerOptions,
    bench_database,
    measure_hello,
    measure_relais,
    workspace,
)

GOAL_RATIO = 0.50
GOAL_P99_MS = 50.0
HIGH_LOAD = 0.5  # load average per core above which the numbers are skewed


def cpu_model() -> str:
    """The CPU's model name (Linux), or the platform's best guess."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "absent"


def load_average() -> float:
    return os.getloadavg()[0]


def nlu_parse(instance: Path, rounds: int) -> dict[str, float] | None:
    """parse() latencies with the 37k communes over the held-out set (benchmarks/nlu_benchmark.py's
    method), loading the model the Relais run cached; None if that file or model is missing."""
    script = ROOT / "benchmarks" / "nlu_benchmark.py"
    cache = instance / "nlu"
    if rounds < 1 or not script.exists() or not cache.exists():
        return None
    spec = importlib.util.spec_from_file_location("relais_nlu_benchmark", script)
    if spec is None or spec.loader is None:
        return None
    module: Any = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from bot.services.communes import default_directory
    from nlu import load_engine, load_examples

    texts = [example.text for example in load_examples(module.HELDOUT)]
    engine = load_engine(cache_dir=cache, gazetteer=default_directory().gazetteer())
    started = time.perf_counter()
    timings: dict[str, float] = module.time_calls(engine.parse, texts, rounds)
    elapsed = time.perf_counter() - started
    timings["calls"] = float(len(texts) * rounds)
    # time_calls runs one untimed warm-up round, then `rounds` timed ones.
    timings["rate"] = len(texts) * (rounds + 1) / elapsed
    return timings


def yes(flag: bool) -> str:
    return "yes" if flag else "**no**"


def print_table(
    args: argparse.Namespace,
    options: ServerOptions,
    database: str,
    hello: Measured,
    relais: Measured,
    parse: dict[str, float] | None,
    loads: tuple[float, float],
) -> None:
    """One markdown table, its caption (machine, versions, date, settings) and notes."""
    cores = os.cpu_count() or 1
    print()
    print(
        f"Relais web benchmark, {datetime.now().astimezone().isoformat(timespec='minutes')}: "
        f"{cpu_model()}, {cores} cores, load average {loads[0]:.2f} before / "
        f"{loads[1]:.2f} after"
    )
    print(
        f"Python {platform.python_version()}, Flask {version('flask')}, Werkzeug "
        f"{version('werkzeug')}, gunicorn {version('gunicorn')}, SQLAlchemy "
        f"{version('sqlalchemy')}, twilio {version('twilio')}; database: {database}"
    )
    print(
        f"{options.describe()} for both apps; {args.connections} closed-loop connections from "
        f"{min(args.client_processes, args.connections)} client processes on the same machine; "
        f"{args.warmup:g} s warm-up + {args.duration:g} s measured"
    )
    print()
    print("| measure | req/s | p50 ms | p99 ms | errors | goal | met |")
    print("|---|---|---|---|---|---|---|")
    for item in (hello, relais):
        r = item.result
        print(
            f"| {item.name} (POST /twilio/sms) | {r.rate:.0f} | {r.percentile_ms(0.5):.1f} "
            f"| {r.percentile_ms(0.99):.1f} | {r.error_count} "
            + (
                f"| p99 < {GOAL_P99_MS:.0f} ms, 0 errors "
                f"| {yes(r.percentile_ms(0.99) < GOAL_P99_MS and r.error_count == 0)} |"
                if item is relais
                else "| 0 errors | " + yes(r.error_count == 0) + " |"
            )
        )
    ratio = relais.result.rate / hello.result.rate if hello.result.rate else 0.0
    print(
        f"| Relais / hello (throughput) | {ratio:.0%} | | | | ≥ {GOAL_RATIO:.0%} "
        f"| {yes(ratio >= GOAL_RATIO)} |"
    )
    if parse is not None:
        print(
            f"| intent parsing, 37k communes, in process ({parse['calls']:.0f} parses) "
            f"| {parse['rate']:.0f} | {parse['p50']:.2f} | {parse['p99']:.2f} | "
            f"| p50 < 1, p99 < 5 | {yes(parse['p50'] < 1 and parse['p99'] < 5)} |"
        )
    print()
    for item in (hello, relais):
        r = item.result
        detail = ", ".join(f"{k}: {v}" for k, v in sorted(r.errors.items())) or "none"
        print(
            f"- {item.name}: {r.ok} requests counted ({r.sent} sent, warm-up included); "
            f"failures: {detail}; ERROR lines in the server log: {item.log_errors}"
        )
    if loads[0] / cores > HIGH_LOAD:
        print(
            f"- load average {loads[0]:.2f} on {cores} cores before the run: other work was "
            "running, the numbers are lower than on an idle machine"
        )
    print("- the load average after includes the benchmark's own processes")
    print(
        "- the load generator shares the CPU with the servers; gunicorn's sync workers close "
        "each connection, so every request includes a TCP connect"
    )
    print(
        "- reminder dispatch: `python benchmarks/reminders_benchmark.py` (PostgreSQL); the full "
        "intent-engine table: `python benchmarks/nlu_benchmark.py`"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds first")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--worker-class", default="sync", choices=("sync", "gthread"))
    parser.add_argument("--threads", type=int, default=1, help="threads per gthread worker")
    parser.add_argument("--preload", action="store_true", help="gunicorn --preload")
    parser.add_argument("--client-processes", type=int, default=2, help="load generator processes")
    parser.add_argument("--nlu-rounds", type=int, default=3, help="parse rounds; 0 to skip")
    parser.add_argument("--quick", action="store_true", help="smoke test: 2 s, 1 s warm-up")
    parser.add_argument("--keep", default="", help="keep databases and logs in this folder")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.nlu_rounds = 2.0, 1.0, min(args.nlu_rounds, 1)
    if args.connections < 1 or args.workers < 1 or args.duration <= 0:
        parser.error("--connections, --workers and --duration must be positive")
    options = ServerOptions(args.workers, args.worker_class, args.threads, args.preload)
    load = (args.connections, args.client_processes, args.warmup, args.duration)

    before = load_average()
    with workspace(args.keep) as workdir, bench_database(workdir) as (url, database):
        print(f"bare Flask hello under {options.describe()} ...", file=sys.stderr, flush=True)
        hello = measure_hello(workdir, options, *load)
        print("Relais: migrate, load the demo, train; then serve ...", file=sys.stderr, flush=True)
        relais = measure_relais(workdir, url, options, *load)
        after = load_average()
        parse = nlu_parse(workdir / "instance", args.nlu_rounds)
    print_table(args, options, database, hello, relais, parse, (before, after))
    failed = hello.result.error_count + relais.result.error_count
    return 1 if failed or not relais.result.ok or not hello.result.ok else 0


if __name__ == "__main__":
    raise SystemExit(main())
