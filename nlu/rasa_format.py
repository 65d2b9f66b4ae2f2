"""Read and write Rasa NLU training data (YAML format 3.x), keeping each example's line number.

Two example forms are accepted, both valid Rasa 3 YAML
(https://rasa.com/docs/rasa/training-data-format/#training-examples):

    - intent: greet              - intent: greet
      metadata: {style: sms}       examples:
      examples: |                  - text: bjr
        - bjr                        metadata: {style: sms}
        - slt

Intent-level metadata applies to every example of the block; an example's own metadata wins.
Entity annotations ("[Yutz](commune)") are reduced to their text: entities are found by rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from nlu.types import Intent

_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")
_INTENT_KEYS = {"intent", "examples", "metadata"}
_OTHER_ITEMS = {"synonym", "regex", "lookup"}


class NluDataError(ValueError):
    """A training or test file that is not valid Rasa NLU YAML, with where it goes wrong."""

    def __init__(self, message: str, source: str, line: int) -> None:
        super().__init__(f"{source}:{line}: {message}")
        self.source = source
        self.line = line


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled message from a Rasa NLU file; `line` is 1-based."""

    text: str
    intent: Intent
    metadata: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""
    line: int = 0


def load_examples(path: Path | str) -> list[Example]:
    """All examples of a .yml file, or of every .yml/.yaml file under a folder (sorted)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix in {".yml", ".yaml"})
    else:
        files = [path]
    return [ex for f in files for ex in parse_examples(f.read_text(encoding="utf-8"), str(f))]


def parse_examples(text: str, source: str = "<string>") -> list[Example]:
    """The examples of one Rasa NLU YAML document."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        raise NluDataError(f"bad YAML: {err.problem}", source, _line(mark)) from err
    except yaml.YAMLError as err:
        raise NluDataError(f"bad YAML: {err}", source, 1) from err
    if root is None:
        return []
    top = _mapping(root, source, "the file")
    version = top.get("version")
    if version is not None and not (
        isinstance(version[1], yaml.ScalarNode) and version[1].tag == "tag:yaml.org,2002:str"
    ):
        raise NluDataError(
            'version must be a quoted string such as "3.1"', source, _line(version[1])
        )
    if "nlu" not in top:
        return []
    items = top["nlu"][1]
    if not isinstance(items, yaml.SequenceNode):
        raise NluDataError("nlu must be a list of intents", source, _line(items))
    examples: list[Example] = []
    for item in items.value:
        examples.extend(_intent_examples(item, source))
    return examples


def dump_examples(groups: Iterable[tuple[str, Sequence[str]]], header: str = "") -> str:
    """Rasa NLU YAML for (intent, texts) groups, one `- text` line per example."""
    lines = [f"# {h}".rstrip() for h in header.splitlines()]
    lines += ['version: "3.1"', "", "nlu:"]
    for intent, texts in groups:
        lines += [f"- intent: {intent}", "  examples: |"]
        for text in texts:
            if "\n" in text or not text.strip():
                raise ValueError(f"an example must be one non-empty line: {text!r}")
            lines.append(f"    - {text.strip()}")
        lines.append("")
    return "\n".join(lines)


def _intent_examples(item: yaml.Node, source: str) -> list[Example]:
    fields = _mapping(item, source, "an nlu item")
    if "intent" not in fields:
        if fields.keys() & _OTHER_ITEMS:
            return []
        raise NluDataError("nlu item without `intent`", source, _line(item))
    unknown = sorted(fields.keys() - _INTENT_KEYS)
    if unknown:
        raise NluDataError(f"unknown key {unknown[0]!r}", source, _line(fields[unknown[0]][0]))
    name_node = fields["intent"][1]
    try:
        intent = Intent(str(name_node.value).strip())
    except ValueError:
        raise NluDataError(
            f"unknown intent {name_node.value!r}", source, _line(name_node)
        ) from None
    if "examples" not in fields:
        raise NluDataError(f"intent {intent.value} has no `examples`", source, _line(item))
    shared = _metadata(fields.get("metadata"), source)
    node = fields["examples"][1]
    if isinstance(node, yaml.ScalarNode):
        return [Example(t, intent, shared, source, n) for t, n in _block_lines(node, source)]
    if not isinstance(node, yaml.SequenceNode):
        raise NluDataError("examples must be a `|` block or a list", source, _line(node))
    found = []
    for entry in node.value:
        entry_fields = _mapping(entry, source, "an example")
        if "text" not in entry_fields:
            raise NluDataError("example without `text`", source, _line(entry))
        text_node = entry_fields["text"][1]
        if not isinstance(text_node, yaml.ScalarNode):
            raise NluDataError("`text` must be a string", source, _line(text_node))
        text = _ANNOTATION.sub(r"\1", str(text_node.value)).strip()
        if not text:
            raise NluDataError("empty example", source, _line(text_node))
        own = _metadata(entry_fields.get("metadata"), source)
        line = _line(text_node) + (1 if text_node.style == "|" else 0)
        found.append(Example(text, intent, {**shared, **own}, source, line))
    return found


def _block_lines(node: yaml.ScalarNode, source: str) -> list[tuple[str, int]]:
    # In a literal block the n-th content line sits n lines below the `|` indicator.
    first = _line(node) + 1 if node.style == "|" else _line(node)
    lines = []
    for offset, raw in enumerate(str(node.value).splitlines()):
        line = first + offset if node.style == "|" else first
        stripped = raw.strip()
        if not stripped:
            continue
        if not stripped.startswith("- ") or not stripped[2:].strip():
            raise NluDataError(f'example must start with "- ": {stripped!r}', source, line)
        lines.append((_ANNOTATION.sub(r"\1", stripped[2:]).strip(), line))
    return lines


def _mapping(node: yaml.Node, source: str, what: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        raise NluDataError(f"{what} must be a mapping", source, _line(node))
    return {str(key.value): (key, value) for key, value in node.value}


def _metadata(pair: tuple[yaml.Node, yaml.Node] | None, source: str) -> dict[str, Any]:
    if pair is None:
        return {}
    node = pair[1]
    if not isinstance(node, yaml.MappingNode):
        raise NluDataError("metadata must be a mapping", source, _line(node))
    value = yaml.SafeLoader("").construct_document(node)
    return dict(value)


def _line(node_or_mark: Any) -> int:
    mark = getattr(node_or_mark, "start_mark", node_or_mark)
    return int(mark.line) + 1 if mark is not None else 1
