"""Smoke test of `python -m bench` (issue 9): both apps served, loaded, and the table printed."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("gunicorn") is None,
    reason="gunicorn is not installed (pip install -e '.[bench]')",
)


def test_quick_benchmark_prints_one_table_without_errors(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--connections",
            "2",
            "--workers",
            "1",
            "--client-processes",
            "1",
            "--nlu-rounds",
            "0",
            "--keep",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "| measure | req/s | p50 ms | p99 ms | errors | goal | met |" in out
    assert "gunicorn" in out and "SQLite" in out and "load average" in out
    rows = {
        name: line
        for line in out.splitlines()
        for name in ("bare Flask hello", "Relais SMS webhook", "Relais / hello")
        if line.startswith(f"| {name}")
    }
    assert set(rows) == {"bare Flask hello", "Relais SMS webhook", "Relais / hello"}, out
    for name in ("bare Flask hello", "Relais SMS webhook"):
        cells = [cell.strip() for cell in rows[name].strip("|").split("|")]
        assert float(cells[1]) > 0, rows[name]  # req/s
        assert cells[4] == "0", rows[name]  # errors
    assert re.search(r"Relais SMS webhook: \d+ requests counted .* failures: none", out), out
    assert "ERROR lines in the server log: 0" in out
