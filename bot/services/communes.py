"""Offline directory of French communes: find them by postal code, INSEE code or misspelt name.

The table `bot/data/communes-fr.csv.gz` is built by `scripts/build_communes.py` (provenance in
`bot/data/COMMUNES-SOURCE.md`); nothing here touches the network. Names are compared in a
normalised form (see `normalise_name`) with spaces removed, so "behren les forbach",
"Behren-lès-Forbach" and "BEHREN LES FORBACH" are the same key; names that start with the
query's words and rapidfuzz near-misses follow the exact matches.
"""

from __future__ import annotations

import bisect
import csv
import gzip
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from rapidfuzz import fuzz, process

DEFAULT_TABLE = Path(__file__).resolve().parent.parent / "data" / "communes-fr.csv.gz"

# rapidfuzz ratio floor: admits one wrong letter in a five-letter name (80) but not two in an
# eight-letter one (75); "tionvile" scores 89 against Thionville.
FUZZY_CUTOFF = 78.0
EXACT_SCORE = 100.0
# What rapidfuzz's WRatio gives a name that merely starts with the query ("behren ...").
PREFIX_SCORE = 90.0
_MIN_PREFIX_LENGTH = 4  # "st", "la" would start thousands of names
COLUMNS = ("insee", "name", "department", "postal_codes", "latitude", "longitude", "population")

# Residents abbreviate "Saint" and "Sainte" as in postal addresses ("ST ETIENNE").
_TOKEN_ALIASES = {"saint": "st", "sainte": "ste"}
_LEADING_ARTICLES = ("le ", "la ", "les ", "l ")
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae"})
_WORD = re.compile(r"[a-z0-9]+")
_ARRONDISSEMENT = re.compile(r"^(?P<city>.+) (?P<number>\d+)(?P<suffix>er|e) arrondissement$")
_QUALIFIER = re.compile(r"\s*\(.*\)\s*$")  # "Bors (Canton de Charente-Sud)"


@dataclass(frozen=True, slots=True)
class Commune:
    """A French commune (or Paris/Lyon/Marseille arrondissement) with a representative point."""

    insee: str
    name: str
    department: str
    postal_codes: tuple[str, ...]
    latitude: float
    longitude: float
    population: int


def normalise_name(text: str) -> str:
    """Return the comparable form of a place name: lower case, ASCII words, "saint" as "st"."""
    folded = unicodedata.normalize("NFKD", text.casefold().translate(_LIGATURES))
    words = _WORD.findall(folded.encode("ascii", "ignore").decode("ascii"))
    return " ".join([_TOKEN_ALIASES.get(word, word) for word in words])


def name_variants(name: str) -> list[str]:
    """Return a commune name's normalised forms: full, without article, short arrondissement."""
    full = normalise_name(name)
    variants = [full]
    unqualified = normalise_name(_QUALIFIER.sub("", name)) if "(" in name else full
    for form in (unqualified, *_without_article(full), *_without_article(unqualified)):
        if form and form not in variants:
            variants.append(form)
    # "paris 11e arrondissement" is also "paris 11" and "paris 11e", as residents write it.
    if match := _ARRONDISSEMENT.match(full):
        city, number = match["city"], match["number"]
        variants += [f"{city} {number}", f"{city} {number}{match['suffix']}"]
    return variants


def _without_article(form: str) -> list[str]:
    return [form[len(a) :] for a in _LEADING_ARTICLES if form.startswith(a) and len(form) > len(a)]


def _compact(form: str) -> str:
    """Drop spaces so hyphens, apostrophes and spaces typed or not give the same key."""
    return form.replace(" ", "")


class CommuneDirectory:
    """All communes in memory, indexed by postal code, INSEE code and normalised name."""

    def __init__(self, communes: Iterable[Commune]) -> None:
        # Every index below keeps this order, so "most populous first" costs nothing later.
        self._communes = sorted(communes, key=lambda c: (-c.population, c.name, c.insee))
        self._by_insee = {c.insee: c for c in self._communes}
        self._by_postal_code: dict[str, list[Commune]] = defaultdict(list)
        self._forms: list[tuple[str, int]] = []  # (normalised variant, commune index)
        self._by_key: dict[str, list[int]] = defaultdict(list)
        for index, commune in enumerate(self._communes):
            for code in commune.postal_codes:
                self._by_postal_code[code].append(commune)
            for form in name_variants(commune.name):
                self._forms.append((form, index))
                indexes = self._by_key[_compact(form)]
                if not indexes or indexes[-1] != index:
                    indexes.append(index)
        self._forms.sort()
        self._keys = list(self._by_key)
        # Blocking by first letter keeps a fuzzy query to a few thousand candidates.
        self._keys_by_initial: dict[str, list[str]] = defaultdict(list)
        for key in self._keys:
            self._keys_by_initial[key[0]].append(key)

    @classmethod
    def load(cls, path: Path = DEFAULT_TABLE) -> CommuneDirectory:
        """Read a table written by scripts/build_communes.py."""
        with gzip.open(path, "rt", encoding="utf-8", newline="") as table:
            return cls(_read_communes(table))

    def __len__(self) -> int:
        return len(self._communes)

    def __iter__(self) -> Iterator[Commune]:
        """Iterate over all communes, most populous first."""
        return iter(self._communes)

    def by_postal_code(self, code: str) -> list[Commune]:
        """Return every commune served by a postal code, most populous first."""
        return list(self._by_postal_code.get("".join(code.split()), ()))

    def by_insee(self, code: str) -> Commune | None:
        """Return the commune with this INSEE code, if any."""
        return self._by_insee.get(code.strip().upper())

    def search(self, name: str, limit: int = 5) -> list[tuple[Commune, float]]:
        """Return communes matching a name, best first, each with a 0-100 score.

        Exact matches of the normalised name come first, most populous first. Then come names
        that start with the query's words ("behren" for Behren-lès-Forbach) and rapidfuzz
        near-misses ("tionvile"), ranked by score plus a small population bonus.
        """
        form = normalise_name(name)
        key = _compact(form)
        if not key or limit <= 0:
            return []
        exact = self._by_key.get(key, [])
        results = [(self._communes[index], EXACT_SCORE) for index in exact]
        if len(results) < limit:
            scores = self._fuzzy(key)
            for index, score in self._prefixed(form).items():
                scores[index] = max(score, scores.get(index, 0.0))
            for index in exact:
                scores.pop(index, None)
            ranked = sorted(scores, key=lambda index: (-self._rank(index, scores[index]), index))
            results += [(self._communes[index], scores[index]) for index in ranked]
        return results[:limit]

    def _rank(self, index: int, score: float) -> float:
        # One point per tenfold population: for "behren", Behren-lès-Forbach (6,500 people,
        # prefix match, 90) beats Béhen (200 people, 91), yet a close spelling of a village
        # still beats a loose match of a city.
        return score + math.log10(1 + self._communes[index].population)

    def _prefixed(self, form: str) -> dict[int, float]:
        """Score names that begin with all the query's words, e.g. "montrond" -> "...les bains"."""
        if len(form) < _MIN_PREFIX_LENGTH:
            return {}
        stem = form + " "
        found: dict[int, float] = {}
        for variant, index in self._forms[bisect.bisect_left(self._forms, (stem, -1)) :]:
            if not variant.startswith(stem):
                break
            found[index] = PREFIX_SCORE
        return found

    def _fuzzy(self, key: str) -> dict[int, float]:
        """Score near-miss names, trying keys with the same first letter before all keys."""
        matches = self._extract(key, self._keys_by_initial.get(key[0], []))
        if not matches:
            matches = self._extract(key, self._keys)
        best: dict[int, float] = {}
        for matched_key, score in matches:
            for index in self._by_key[matched_key]:
                best[index] = max(score, best.get(index, 0.0))
        return best

    @staticmethod
    def _extract(key: str, choices: list[str]) -> list[tuple[str, float]]:
        found = process.extract(
            key, choices, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, limit=None
        )
        return [(choice, float(score)) for choice, score, _ in found if choice != key]

    def gazetteer(self) -> list[tuple[str, str]]:
        """Return sorted (normalised name, INSEE code) pairs, short forms included, for the NLU."""
        return sorted({(form, self._communes[index].insee) for form, index in self._forms})


def _read_communes(lines: Iterable[str]) -> Iterator[Commune]:
    rows = csv.reader(lines)
    if next(rows, None) != list(COLUMNS):
        raise ValueError(f"not a communes table: expected columns {COLUMNS}")
    for insee, name, department, postal_codes, latitude, longitude, population in rows:
        yield Commune(
            insee,
            name,
            department,
            tuple(postal_codes.split()),
            float(latitude),
            float(longitude),
            int(population),
        )


@cache
def default_directory() -> CommuneDirectory:
    """Return the directory of the bundled table, loaded once per process."""
    return CommuneDirectory.load()
