"""Training once: a restart reuses the model trained from the same data and code."""

from __future__ import annotations

from pathlib import Path

import pytest

import nlu.engine
from nlu import Intent, load_engine
from nlu.rasa_format import dump_examples

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

    def counting(data_dir: Path) -> nlu.engine.TrainedModel:
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
    assert len(list(cache.glob("intent-model-*.pickle"))) == 1
    assert second.parse("bonsoir") == first.parse("bonsoir")


def test_changed_data_is_trained_again(
    data_dir: Path, tmp_path: Path, trainings: list[Path]
) -> None:
    cache = tmp_path / "cache"
    load_engine(data_dir, cache_dir=cache)
    (data_dir / "more.yml").write_text(dump_examples([("thanks", ["merci"])]), "utf-8")
    assert load_engine(data_dir, cache_dir=cache).parse("merci").intent is Intent.THANKS
    assert len(trainings) == 2
    assert len(list(cache.glob("intent-model-*.pickle"))) == 2


def test_unreadable_cache_is_replaced_not_fatal(
    data_dir: Path, tmp_path: Path, trainings: list[Path]
) -> None:
    cache = tmp_path / "cache"
    load_engine(data_dir, cache_dir=cache)
    [artifact] = cache.glob("intent-model-*.pickle")
    artifact.write_bytes(b"not a pickle")
    assert load_engine(data_dir, cache_dir=cache).parse("salut").intent is Intent.GREET
    assert len(trainings) == 2
    assert artifact.read_bytes() != b"not a pickle"


def test_folder_without_examples_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no training examples"):
        load_engine(tmp_path)
