"""Twilio's OpenAPI description read for the fake Twilio: operations, path shapes, query checks."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

# Twilio's OpenAPI description (twilio-oai, MIT, see fixtures/twilio/LICENSE), the same file as
# ../shared/twilio/twilio_api_v2010.json, kept compressed here so that CI never depends on it.
SPEC_PATH = Path(__file__).resolve().parent / "fixtures" / "twilio" / "twilio_api_v2010.json.gz"


@dataclass(frozen=True)
class Operation:
    """One operation of the spec: method, path template and its form schema."""

    operation_id: str
    method: str
    template: str
    pattern: re.Pattern[str]
    path_params: dict[str, re.Pattern[str] | None]
    fields: frozenset[str]
    required: frozenset[str]
    either: tuple[tuple[str, ...], ...]
    content_types: frozenset[str]
    example: dict[str, Any] | None
    success: int
    query: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> resolved schema


_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_when(value: str) -> tuple[datetime, bool]:
    """A date filter's value (YYYY-MM-DD or ISO 8601 date-time) in UTC, and whether it is a day.

    twilio-python sends datetimes and dates as "2026-11-23T09:00:00Z"; strings go unchanged.
    """
    if _DAY.match(value):
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC), True
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC), False


def date_matches(moment: datetime | None, op: str, value: str) -> bool:
    """`moment` against a Twilio date filter: `=` is the same (UTC) day, `<` and `>` inclusive."""
    if moment is None:
        return False
    bound, is_day = parse_when(value)
    if op == "=":
        return moment.date() == bound.date()
    left: Any = moment.date() if is_day else moment
    right: Any = bound.date() if is_day else bound
    return bool(left <= right if op == "<" else left >= right)


def query_problem(name: str, value: str, schema: dict[str, Any]) -> str | None:
    """Why a query parameter's value breaks its schema, or None."""
    kind = schema.get("type")
    if schema.get("format") == "date-time":
        try:
            parse_when(value)
        except ValueError:
            return f"query parameter {name}={value!r} is not a date or date-time"
    elif kind == "integer":
        try:
            number = int(value)
        except ValueError:
            return f"query parameter {name}={value!r} is not an integer"
        low, high = schema.get("minimum"), schema.get("maximum")
        if (low is not None and number < low) or (high is not None and number > high):
            return f"query parameter {name}={number} is out of [{low}, {high}]"
    if "enum" in schema and value not in schema["enum"]:
        return f"query parameter {name}={value!r} not in {schema['enum']}"
    pattern = schema.get("pattern")
    if pattern and not re.search(pattern, value):
        return f"query parameter {name}={value!r} does not match {pattern}"
    return None


def _resolve(spec: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@lru_cache(maxsize=4)
def load_operations(spec_path: Path = SPEC_PATH) -> tuple[Operation, ...]:
    """Every operation of the spec (parsed once per run)."""
    raw = spec_path.read_bytes()
    if spec_path.suffix == ".gz":
        raw = gzip.decompress(raw)
    spec: dict[str, Any] = json.loads(raw.decode("utf-8"))
    operations = []
    empty: dict[str, Any] = {}
    for template, item in spec["paths"].items():
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        for method, op in item.items():
            if method not in {"get", "post", "put", "delete", "patch"}:
                continue
            path_params: dict[str, re.Pattern[str] | None] = {}
            query: dict[str, dict[str, Any]] = {}
            for param in op.get("parameters", []):
                param = _resolve(spec, param)
                if param.get("in") == "path":
                    pat = param.get("schema", {}).get("pattern")
                    path_params[param["name"]] = re.compile(pat) if pat else None
                elif param.get("in") == "query":
                    query[param["name"]] = _resolve(spec, param.get("schema", {}))
            body = _resolve(spec, op.get("requestBody", {}))
            content = body.get("content", {})
            schema = _resolve(spec, next(iter(content.values()), empty).get("schema", {}))
            props = frozenset(schema.get("properties", {}))
            by_snake = {snake_case(p): p for p in props}
            either = tuple(
                tuple(by_snake.get(n, n) for n in group)
                for group in op.get("x-twilio", {}).get("conditional", [])
            )
            success = min((int(s) for s in op.get("responses", {}) if s.isdigit()), default=200)
            response = _resolve(spec, op.get("responses", {}).get(str(success), {}))
            examples = response.get("content", {}).get("application/json", {}).get("examples", {})
            example = next(iter(examples.values()), empty).get("value") if examples else None
            operations.append(
                Operation(
                    operation_id=op.get("operationId", f"{method} {template}"),
                    method=method.upper(),
                    template=template,
                    pattern=re.compile(f"^{regex}$"),
                    path_params=path_params,
                    fields=props,
                    required=frozenset(schema.get("required", [])),
                    either=either,
                    content_types=frozenset(content),
                    example=example if isinstance(example, dict) else None,
                    success=success,
                    query=query,
                )
            )
    return tuple(operations)


def path_shape(path: str) -> tuple[int, str]:
    """Number of segments and the last one's extension: a cheap key to bucket operations."""
    last = path.rsplit("/", 1)[-1]
    return path.count("/"), last[last.rfind(".") :] if "." in last else ""


def index_by_shape(operations: Iterable[Operation]) -> dict[tuple[int, str], list[Operation]]:
    index: dict[tuple[int, str], list[Operation]] = {}
    for op in operations:
        index.setdefault(path_shape(op.template), []).append(op)
    return index
