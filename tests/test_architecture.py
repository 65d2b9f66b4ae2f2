"""The one-way dependencies of ../shared/CONVENTIONS.md, checked on every import line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# package -> module prefixes it must never import
FORBIDDEN = {
    "webhooks": ("bot.models", "nlu.engine", "nlu.entities", "nlu.classifier"),
    "flows": ("flask", "twilio", "webhooks", "bot.app", "bot.models", "bot.cli"),
    "nlu": ("flask", "twilio", "bot", "flows", "webhooks"),
    "bot": ("webhooks", "flows", "nlu"),
}
# The composition root and the CLI may import upward.
ALLOWED_UPWARD = {"bot/app.py", "bot/cli.py"}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def _violations(package: str) -> list[str]:
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative in ALLOWED_UPWARD or "/migrations/" in relative:
            continue
        for line, module in _imports(path):
            for prefix in FORBIDDEN[package]:
                if module == prefix or module.startswith(prefix + "."):
                    bad.append(f"{relative}:{line} imports {module}")
    return bad


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_one_way(package: str) -> None:
    assert _violations(package) == []


def test_no_module_is_over_400_lines() -> None:
    long = [
        f"{p.relative_to(ROOT)} ({n} lines)"
        for p in ROOT.glob("*/**/*.py")
        if "tests" not in p.parts and (n := len(p.read_text(encoding="utf-8").splitlines())) > 400
    ]
    assert long == []


def test_only_config_reads_the_environment() -> None:
    readers = [
        p.relative_to(ROOT).as_posix()
        for pkg in ("bot", "flows", "nlu", "webhooks")
        for p in (ROOT / pkg).rglob("*.py")
        if "os.environ" in p.read_text(encoding="utf-8")
    ]
    assert readers == ["bot/config.py"]
