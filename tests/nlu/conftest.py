"""Engines for the NLU tests: trained once per run, on a clock frozen on a Wednesday.

Both engines share a cache folder, so the second one is served from the artifact the first one
wrote, as the app is after its first start.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from nlu import EmbeddedEngine, load_engine

PARIS = ZoneInfo("Europe/Paris")
# Wednesday 25 November 2026, 10:00 in Paris.
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=PARIS)

# The demo territory's communes, as the app passes them: (normalised name, INSEE code).
DEMO_COMMUNES = (
    ("thionville", "57672"),
    ("yutz", "57757"),
    ("forbach", "57227"),
    ("behren les forbach", "57058"),
    ("st etienne", "42218"),
    ("montrond les bains", "42149"),
    ("creteil", "94028"),
    ("sucy en brie", "94071"),
    ("boissy st leger", "94004"),
    ("limeil brevannes", "94044"),
    # Everyday words that are also commune names (short forms of La Marche, Mars, Orange...).
    ("marche", "58156"),
    ("mars", "42140"),
    ("orange", "84087"),
    ("fille", "72131"),
)


@pytest.fixture(scope="session")
def nlu_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the session's engines keep the trained model."""
    return tmp_path_factory.mktemp("nlu-cache")


@pytest.fixture(scope="session")
def engine(nlu_cache: Path) -> EmbeddedEngine:
    """The packaged engine with the demo communes, on a frozen clock."""
    return load_engine(cache_dir=nlu_cache, gazetteer=DEMO_COMMUNES, clock=lambda: NOW)


@pytest.fixture(scope="session")
def france(nlu_cache: Path) -> EmbeddedEngine:
    """The engine with every French commune, as the app builds it."""
    from bot.services.communes import default_directory

    gazetteer = default_directory().gazetteer()
    return load_engine(cache_dir=nlu_cache, gazetteer=gazetteer, clock=lambda: NOW)
