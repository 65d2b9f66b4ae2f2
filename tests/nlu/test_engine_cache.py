"""Training once: a restart reuses the model trained from the same data and code."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import nlu.engine
from nlu import Intent, load_engine
from nlu.artifact import TrainedModel
from nlu.engine import DATA_DIR
from nlu.rasa_format import dump_examples

ROOT = Path(__file__).resolve().parents[2]
TINY = [
    ("greet", ["bonjour", "bonsoir", "salut", "allo"]),
    ("price", ["c'est gratuit ?", "combien ça coûte", "c'est payant ?", "il faut payer ?"]),
]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "tiny.yml").write_text(dump_examples(TINY), encoding="utf-8")
    return folder


@pytest.fixture
def trainings(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every training run, by data folder."""
    runs: list[Path] = []
    real = nlu.engine.train_model

    def counting(data_dir: Path) -> TrainedModel:
        runs.append(data_dir)
        return real(data_dir)

    monkeypatch.setattr(nlu.engine, "train_model", counting)
    return runs


def test_engine_trains_on_the_given_data(data_dir: Path) -> None:
    assert load_engine(data_dir).parse("c'est payant").intent is Intent.PRICE


def test_restart_with_unchanged_data_does_not_retrain(
    data_dir: Path, tmp_path: Path, trainings: list[Path]
) -> None:
    cache = tmp_path / "cache"
    first = load_engine(data_dir, cache_dir=cache)
    second = load_engine(data_dir, cache_dir=cache)
    assert len(trainings) == 1
    assert len(list(cache.glob("intent-model-*.npz"))) == 1
    for text in ("bonsoir", "c'est gratuit", "il faut payer combien ?"):
        assert second.parse(text) == first.parse(text)


def test_changed_data_is_trained_again(
    data_dir: Path, tmp_path: Path, trainings: list[Path]
) -> None:
    cache = tmp_path / "cache"
    load_engine(data_dir, cache_dir=cache)
    (data_dir / "more.yml").write_text(dump_examples([("thanks", ["merci"])]), "utf-8")
    assert load_engine(data_dir, cache_dir=cache).parse("merci").intent is Intent.THANKS
    assert len(trainings) == 2
    assert len(list(cache.glob("intent-model-*.npz"))) == 2


def test_unreadable_cache_is_replaced_not_fatal(
    data_dir: Path, tmp_path: Path, trainings: list[Path]
) -> None:
    cache = tmp_path / "cache"
    load_engine(data_dir, cache_dir=cache)
    [artifact] = cache.glob("intent-model-*.npz")
    artifact.write_bytes(b"not a model")
    assert load_engine(data_dir, cache_dir=cache).parse("salut").intent is Intent.GREET
    assert len(trainings) == 2
    assert artifact.read_bytes() != b"not a model"


@pytest.mark.parametrize(
    ("field", "value"), [("format", 0), ("fingerprint", "trained from something else")]
)
def test_artifact_from_another_format_or_training_is_not_served(
    data_dir: Path, tmp_path: Path, trainings: list[Path], field: str, value: object
) -> None:
    cache = tmp_path / "cache"
    load_engine(data_dir, cache_dir=cache)
    [artifact] = cache.glob("intent-model-*.npz")
    with np.load(artifact) as files:
        arrays = {name: files[name] for name in files.files}
    meta = json.loads(arrays["meta"].tobytes())
    meta[field] = value
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with artifact.open("wb") as f:
        np.savez(f, **arrays)
    assert load_engine(data_dir, cache_dir=cache).parse("salut").intent is Intent.GREET
    assert len(trainings) == 2


def test_folder_without_examples_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no training examples"):
        load_engine(tmp_path)


SERVE = """
import sys
from pathlib import Path
import nlu
engine = nlu.load_engine(Path(sys.argv[1]), cache_dir=Path(sys.argv[2]))
print(engine.parse(sys.argv[3]).intent.value)
print(sorted({m.split(".")[0] for m in sys.modules} & {"sklearn", "scipy", "joblib"}))
"""


@pytest.mark.parametrize(
    ("folder", "text", "intent"),
    [(None, "c'est payant ?", "price"), (DATA_DIR, "jvoudrais 1 rdv svp", "book_appointment")],
)
def test_serving_from_the_cache_neither_trains_nor_imports_scikit_learn(
    data_dir: Path, tmp_path: Path, folder: Path | None, text: str, intent: str
) -> None:
    folder = folder or data_dir
    cache = tmp_path / "cache"
    load_engine(folder, cache_dir=cache)  # trains here, in the test process
    [artifact] = cache.glob("intent-model-*.npz")
    written = artifact.stat().st_mtime_ns
    served = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SERVE), str(folder), str(cache), text],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert served.stdout.splitlines() == [intent, "[]"], served.stderr
    assert artifact.stat().st_mtime_ns == written  # read, not rewritten
