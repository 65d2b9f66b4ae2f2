"""Reading Rasa NLU YAML: examples with their line numbers, and clear errors on bad files."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nlu import Intent, NluDataError, load_examples
from nlu.rasa_format import dump_examples, parse_examples

VALID = """\
version: "3.1"

nlu:
- intent: greet
  examples: |
    - Bonjour
    - bjr [Yutz](commune)

    - allô ?
- intent: price
  metadata:
    style: sms
  examples:
  - text: c gratuit ?
  - text: |
      combien ça coûte
    metadata: {style: spoken}
- synonym: rendez-vous
  examples: |
    - rdv
"""


def test_examples_come_with_intent_metadata_and_line() -> None:
    found = [(e.text, e.intent, dict(e.metadata), e.line) for e in parse_examples(VALID)]
    assert found == [
        ("Bonjour", Intent.GREET, {}, 6),
        ("bjr Yutz", Intent.GREET, {}, 7),
        ("allô ?", Intent.GREET, {}, 9),
        ("c gratuit ?", Intent.PRICE, {"style": "sms"}, 14),
        ("combien ça coûte", Intent.PRICE, {"style": "spoken"}, 16),
    ]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('version: "3.1"\nnlu:\n- intent: greet\n  examples: [\n', 5, "bad YAML"),
        ('version: "3.1"\nnlu:\n- examples: |\n    - bonjour\n', 3, "without `intent`"),
        ('version: "3.1"\nnlu:\n- intent: greet\n', 3, "no `examples`"),
        (
            'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - ok\n    bonjour\n',
            6,
            '"- "',
        ),
        ('version: "3.1"\nnlu:\n- intent: gret\n  examples: |\n    - ok\n', 3, "unknown intent"),
        ("version: 3.1\nnlu: []\n", 1, "quoted string"),
        ('version: "3.1"\nnlu:\n- intent: greet\n  exemples: |\n    - ok\n', 4, "unknown key"),
        ('version: "3.1"\nnlu: {intent: greet}\n', 2, "list"),
        ('version: "3.1"\nnlu:\n- intent: greet\n  examples:\n  - txt: ok\n', 5, "without `text`"),
    ],
)
def test_malformed_file_is_reported_with_its_line(text: str, line: int, message: str) -> None:
    with pytest.raises(NluDataError) as error:
        parse_examples(text, "data.yml")
    assert error.value.line == line
    assert message in str(error.value) and str(error.value).startswith(f"data.yml:{line}:")


def test_folder_is_read_file_by_file_in_order(tmp_path: Path) -> None:
    (tmp_path / "b.yml").write_text(dump_examples([("deny", ["non"])]), encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.yml").write_text(dump_examples([("affirm", ["oui"])]), "utf-8")
    (tmp_path / "notes.txt").write_text("not data", encoding="utf-8")
    assert [(e.text, e.source) for e in load_examples(tmp_path)] == [
        ("non", str(tmp_path / "b.yml")),
        ("oui", str(tmp_path / "sub" / "a.yml")),
    ]


def test_file_without_nlu_section_has_no_examples() -> None:
    assert parse_examples('version: "3.1"\nrules: []\n') == []
    assert parse_examples("") == []


LINES = st.text(
    st.characters(blacklist_categories=["Cc", "Cs", "Zl", "Zp"], blacklist_characters="\x85"),
    min_size=1,
    max_size=60,
).filter(lambda t: t.strip() == t and t != "" and "[" not in t)


@given(st.sampled_from(list(Intent)), st.lists(LINES, min_size=1, max_size=5))
def test_dumped_examples_read_back_unchanged(intent: Intent, texts: list[str]) -> None:
    found = parse_examples(dump_examples([(intent.value, texts)], header="generated"))
    assert [(e.text, e.intent) for e in found] == [(t, intent) for t in texts]
