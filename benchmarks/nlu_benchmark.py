"""Benchmark of the embedded intent engine (issue 4): speed, size, memory and accuracy.

    python benchmarks/nlu_benchmark.py [--rounds 20]

Prints one table. Training, cold start and memory are measured in fresh subprocesses (a warm
interpreter would hide import costs); cold start and memory load the cached artifact written by
the training run, with and without the communes of France as gazetteer. parse() latencies are
taken over every message of tests/nlu/heldout.yml, repeated, after one warm-up round.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HELDOUT = ROOT / "tests" / "nlu" / "heldout.yml"

# Run in a fresh interpreter: train into a cache folder (as the app's first start does).
TRAIN = """
import json, sys, time
start = time.perf_counter()
from pathlib import Path
from nlu.engine import DATA_DIR, artifact_path, load_engine, training_fingerprint
import nlu.classifier  # scikit-learn: timed apart from training itself
imported = time.perf_counter()
load_engine(cache_dir=Path(sys.argv[1]))
done = time.perf_counter()
path = artifact_path(Path(sys.argv[1]), training_fingerprint(DATA_DIR))
print(json.dumps({"import": imported - start, "train": done - imported, "path": str(path)}))
"""

# Run in a fresh interpreter: what a restart of the app costs with the artifact already there.
COLD = """
import json, sys, time
def rss_mb():
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024
baseline = rss_mb()
start = time.perf_counter()
from pathlib import Path
gazetteer = ()
if sys.argv[2] == "france":
    from bot.services.communes import default_directory
    gazetteer = default_directory().gazetteer()
communes = time.perf_counter()
import nlu
imported = time.perf_counter()
engine = nlu.load_engine(cache_dir=Path(sys.argv[1]), gazetteer=gazetteer)
loaded = time.perf_counter()
engine.parse("bonjour je voudrais un rendez-vous jeudi a Thionville")
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"sklearn", "scipy", "joblib"})
print(json.dumps({
    "baseline_mb": baseline, "rss_mb": rss_mb(), "communes": communes - start,
    "import": imported - communes, "load": loaded - imported, "total": loaded - start,
    "heavy_modules": heavy,
}))
"""


def run_python(code: str, *args: str) -> dict[str, Any]:
    """Run `code` in a fresh interpreter from the repository root; its last line is JSON."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    result["wall"] = time.perf_counter() - started
    return result


def interpreter_start() -> float:
    """Seconds for `python -c pass`: the part of a cold start that is not ours."""
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        runs.append(time.perf_counter() - started)
    return min(runs)


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50, p95, p99 and max of durations in seconds, in milliseconds."""
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": ordered[-1] * 1000}


def time_calls(function: Any, texts: list[str], rounds: int) -> dict[str, float]:
    """Latency of `function(text)` over `texts`, `rounds` times, after one warm-up round."""
    for text in texts:
        function(text)
    samples = []
    clock = time.perf_counter
    for _ in range(rounds):
        for text in texts:
            started = clock()
            function(text)
            samples.append(clock() - started)
    return percentiles(samples)


def latencies(cache: Path, rounds: int) -> dict[str, dict[str, float]]:
    """parse() and its parts, with the demo-free engine and with every French commune."""
    from datetime import date

    from bot.services.communes import default_directory
    from nlu import load_engine, load_examples

    texts = [e.text for e in load_examples(HELDOUT)]
    today = date(2026, 11, 25)
    plain = load_engine(cache_dir=cache)
    france = load_engine(cache_dir=cache, gazetteer=default_directory().gazetteer())
    return {
        "parse, no gazetteer": time_calls(plain.parse, texts, rounds),
        "parse, 37k communes": time_calls(france.parse, texts, rounds),
        "  classifier only": time_calls(lambda t: france.classifier.rank(t, 5), texts, rounds),
        "  entities, 37k communes": time_calls(
            lambda t: france.entities.extract(t, today), texts, rounds
        ),
    }


def quality(cache: Path) -> dict[str, Any]:
    """Held-out accuracy, macro F1, per style, and the threshold's trade-off."""
    from nlu import CONFIDENCE_THRESHOLD, evaluate, load_engine, load_examples

    report = evaluate(load_engine(cache_dir=cache), load_examples(HELDOUT))
    confident = report.confident
    return {
        "messages": report.total,
        "accuracy": report.accuracy,
        "macro_f1": report.macro_f1,
        "per_style": report.per_style,
        "threshold": CONFIDENCE_THRESHOLD,
        "answered": len(confident) / report.total,
        "wrong_above": report.wrong_above_threshold,
        "errors_above": sum(not p.correct for p in confident),
        "confident": len(confident),
    }


def main(argv: list[str] | None = None) -> int:
    """Measure everything and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="timed rounds over the set")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="nlu-benchmark-") as folder:
        cache = Path(folder)
        trained = run_python(TRAIN, str(cache))
        size = Path(trained["path"]).stat().st_size
        startup = interpreter_start()
        cold = {name: run_python(COLD, str(cache), name) for name in ("none", "france")}
        timings = latencies(cache, args.rounds)
        scores = quality(cache)

    rows: list[tuple[str, str, str]] = [
        (
            "training: read data, fit, export, write",
            f"{trained['train']:.2f} s",
            "< 60 s",
        ),
        ("  + importing nlu and scikit-learn first", f"{trained['import']:.2f} s", ""),
        ("artifact size (.npz)", f"{size / 1e6:.2f} MB", ""),
        ("interpreter start (python -c pass)", f"{startup * 1000:.0f} ms", ""),
    ]
    for name, label in (("none", "no gazetteer"), ("france", "37k communes")):
        c = cold[name]
        rows += [
            (
                f"cold start, {label}: total",
                f"{c['total']:.3f} s (process {c['wall']:.2f} s)",
                "< 2 s",
            ),
            (
                "  communes table (bot) / import nlu / load",
                f"{c['communes']:.3f} / {c['import']:.3f} / {c['load']:.3f} s",
                "",
            ),
            (
                f"RSS after load, {label}",
                f"{c['rss_mb']:.0f} MB ({c['rss_mb'] - c['baseline_mb']:.0f} MB "
                f"over the interpreter's {c['baseline_mb']:.0f} MB)",
                "< 150 MB",
            ),
            ("  scikit-learn/scipy imported", ", ".join(c["heavy_modules"]) or "no", "no"),
        ]
    for label, p in timings.items():
        rows.append(
            (
                f"{label} (ms)",
                f"p50 {p['p50']:.3f}  p95 {p['p95']:.3f}  p99 {p['p99']:.3f}  max {p['max']:.3f}",
                "p50 < 1, p99 < 5" if label.startswith("parse") else "",
            )
        )
    styles = "  ".join(f"{s} {a:.3f} ({n})" for s, (a, n) in scores["per_style"].items())
    rows += [
        (
            f"held-out accuracy / macro F1 ({scores['messages']} messages)",
            f"{scores['accuracy']:.3f} / {scores['macro_f1']:.3f}",
            ">= 0.95",
        ),
        ("  by style", styles, ">= 0.95 each"),
        (
            "threshold / answered without a menu",
            f"{scores['threshold']:.2f} / {scores['answered']:.1%}",
            "",
        ),
        (
            "wrong among answers at or above threshold",
            f"{scores['wrong_above']:.2%} ({scores['errors_above']} of {scores['confident']})",
            "< 1 %",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    print(f"NLU benchmark ({args.rounds} rounds; {sys.platform}, Python {sys.version.split()[0]})")
    print(f"{'measure':<{width}}  {'value':<{value_width}}  goal")
    print("-" * (width + value_width + 14))
    for name, value, goal in rows:
        print(f"{name:<{width}}  {value:<{value_width}}  {goal}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
