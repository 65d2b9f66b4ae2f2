"""Find commune names in a message: exact names, then names they start, then typo-tolerant.

The app passes ~35,000 `(normalised_name, insee_code)` pairs, and thousands of them are also
everyday words ("marche", "ligne", "fille", "mère", "frais", "le chemin"), so a window matching
a name needs evidence that a place is meant. If it holds a word that is not an everyday word
(the training data writes everyday words only in lowercase and proper nouns like "Forbach"
capitalised, see `learn_lexicon`), one of these is enough: the message is nothing but the name
("tionvile" answering "Dans quelle commune ?"), a location cue comes just before it ("à", "de",
"vers", "j'habite", "mairie"...), it is capitalised mid-sentence, or it has two words or more
("sucy en brie"). A name made only of everyday words needs the cue and the capital ("à Marche").
Words that only start names ("Behren", "Boissy", "Limeil") must be known proper nouns or
capitalised; the entity then lists every name they start. Fuzzy matching (Levenshtein,
rapidfuzz) needs a cue or the whole message, never runs on an everyday word or its typo, and is
blocked by first letter, word count and length: entities take about 0.1 ms per message with the
full gazetteer.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from nlu.normalise import ABBREVIATIONS, fold, normalise_place_name
from nlu.types import Entity

MIN_LETTERS = 3
# Windows at least this long may hold one typo; from LONG_NAME letters on, two.
FUZZY_MIN_LETTERS = 5
LONG_NAME = 8
MAX_FUZZY_WORDS = 4

# Words that never mean a place alone, though some are commune names (Orange, Mars, Avril...).
STOP_WORDS = frozenset(
    """
    a au aux avec bon bonne bonjour bonsoir salut allo coucou merci oui non ok ca ce cet cette ces
    de des du en et est il ils elle je j l la le les leur lui ma mes mon me moi ne nous on ou par
    pas plus pour qu que qui quoi quand sa se ses si son sur ta te tes toi ton tu un une vos votre
    vous y c d m n s t rendez rdv rue vue mer mars mai avril juin juillet aout janvier fevrier
    septembre octobre novembre decembre lundi mardi mercredi jeudi vendredi samedi dimanche matin
    midi soir demain hier jour jours semaine mois an ans heure heures orange bus sens tours cours
    plan aide stop arret fin code carte site lieu poste mail internet saint sainte zero deux trois
    quatre cinq six sept huit neuf dix onze douze vingt trente cent mille france moselle loire
    marne cote val toussaint noel paques maison sos
    """.split()  # noqa: SIM905 - a word list reads best as words
)
# Words that, just before a name, say a place is meant.
CUES = frozenset(
    """
    a au de d du sur vers pres habite jhabite habitant ville commune village mairie mediatheque
    bibliotheque permanence ccas secteur
    """.split()  # noqa: SIM905
)
# Cues strong enough for a misspelt name ("de" is everywhere: "de dernière minute").
FUZZY_CUES = CUES - {"de", "d", "du"}
# Words a message may hold around a bare, misspelt town name ("bonjour j'habite tionvile").
_FILLERS = CUES | frozenset(
    "bonjour bonsoir salut allo oui je suis j c est la le les l merci svp stp euh".split()  # noqa: SIM905
)
# After these, a capitalised word is a person ("madame Martin"), not a place.
HONORIFICS = frozenset("madame monsieur mme mr mlle mademoiselle m docteur dr".split())  # noqa: SIM905
# Words inside names that say nothing about whether a proper noun is meant.
_ARTICLES = frozenset("le la les l sur sous en de du des d et aux au".split())  # noqa: SIM905
_PARTICLES = _ARTICLES | {"saint", "sainte"}
_NOT_CONTENT = STOP_WORDS | CUES
_WORD = re.compile(r"[^\W_]+")
_SENTENCE_END = re.compile(r"[.!?]")


@dataclass(frozen=True, slots=True)
class _Word:
    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class _Hit:
    size: int
    name: str
    distance: int
    # When the words only start names ("behren", "boissy"): every name they start.
    prefix_of: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Lexicon:
    """What the training data says about words: everyday words and proper nouns (folded)."""

    common: frozenset[str] = frozenset()
    proper: frozenset[str] = frozenset()


def learn_lexicon(texts: Iterable[str]) -> Lexicon:
    """Common words are written in lowercase and never capitalised mid-sentence; proper nouns are.

    Run on the training examples, this learns that "marche" or "fille" are ordinary words while
    "Forbach" or "Boissy" are proper nouns, without a hand-made list.
    """
    lower: set[str] = set()
    capitalised: Counter[str] = Counter()
    for text in texts:
        proper_starts = _capitalised_starts(text)
        for match in _WORD.finditer(text):
            word = match.group()
            if word.islower():
                lower.add(fold(word))
            elif match.start() in proper_starts:
                capitalised[fold(word)] += 1
    # Twice at least: a one-off is more likely a typo in a generated example ("Frbach").
    proper = frozenset(w for w, n in capitalised.items() if n >= 2)
    return Lexicon(frozenset(lower - capitalised.keys()), proper)


class CommuneMatcher:
    """Finds communes of a gazetteer in folded text (lowercase, accents stripped)."""

    def __init__(
        self, gazetteer: Iterable[tuple[str, str]], lexicon: Lexicon | None = None
    ) -> None:
        lexicon = lexicon or Lexicon()
        self._codes: dict[str, list[str]] = defaultdict(list)
        for name, code in gazetteer:
            key = normalise_place_name(name)
            if len(key.replace(" ", "")) >= MIN_LETTERS and code not in self._codes[key]:
                self._codes[key].append(code)
        self.max_words = max((k.count(" ") + 1 for k in self._codes), default=0)
        # Longest name (in words) starting with each word: most words start none, so most
        # positions of a message are skipped without building a single window.
        self._longest: dict[str, int] = {}
        self._common = lexicon.common | STOP_WORDS | ABBREVIATIONS.keys()
        self._common_list = sorted(self._common)
        self._proper = lexicon.proper - self._common
        self._blocks: dict[tuple[str, int, int], list[str]] = defaultdict(list)
        self._prefixes: dict[str, list[str]] = defaultdict(list)
        for key in self._codes:
            words = key.split()
            self._longest[words[0]] = max(self._longest.get(words[0], 0), len(words))
            self._blocks[(key[0], len(words), len(key))].append(key)
            for size in range(1, len(words)):
                if words[0] not in _ARTICLES and words[size - 1] not in _PARTICLES:
                    self._prefixes[" ".join(words[:size])].append(key)

    def __len__(self) -> int:
        return len(self._codes)

    def find(self, text: str, folded: str) -> list[Entity]:
        """Commune entities; value is the INSEE code, extra["name"] the gazetteer name."""
        words = [_Word(_saint(m.group()), m.start(), m.end()) for m in _WORD.finditer(folded)]
        content = [i for i, w in enumerate(words) if w.text not in _NOT_CONTENT]
        unusual = [i for i, w in enumerate(words) if w.text not in _FILLERS]
        capitals = _capitalised_starts(text)
        found: list[Entity] = []
        i = 0
        while i < len(words):
            after = words[i - 1].text if i > 0 else ""
            if after in HONORIFICS:
                i += 1
                continue
            cue = after in CUES
            hit = self._exact_at(capitals, words, i, cue, content) or self._fuzzy_at(
                words, i, after in FUZZY_CUES, unusual
            )
            if hit is None:
                i += 1
                continue
            start, end = words[i].start, words[i + hit.size - 1].end
            names = hit.prefix_of or (hit.name,)
            codes = list(dict.fromkeys(c for n in names for c in self._codes[n]))
            extra: dict[str, object] = {"name": hit.name}
            if len(codes) > 1:
                extra["insee_codes"] = codes
            if hit.prefix_of:
                extra["names"] = list(hit.prefix_of)
            # A typo or a partial name is less sure than the name itself.
            confidence = round(
                (1 - hit.distance / len(hit.name)) * (0.9 if hit.prefix_of else 1), 3
            )
            found.append(
                Entity("commune", codes[0], text[start:end], start, end, confidence, extra)
            )
            i += hit.size
        return found

    def _exact_at(
        self, capitals: Set[int], words: Sequence[_Word], i: int, cue: bool, content: Sequence[int]
    ) -> _Hit | None:
        for size in range(min(self._longest.get(words[i].text, 0), len(words) - i), 0, -1):
            window = words[i : i + size]
            key = " ".join(w.text for w in window)
            if all(w.text in STOP_WORDS for w in window):
                continue
            alone = _covers(content, i, size)
            if key in self._codes and self._evident(capitals, window, cue, alone):
                return _Hit(size, key, 0)
            prefixed = self._prefixes.get(key, ())
            if (
                prefixed
                and all(
                    w.text in self._proper or w.start in capitals
                    for w in window
                    if w.text not in _PARTICLES
                )
                and self._evident(capitals, window, cue, alone)
            ):
                return _Hit(size, prefixed[0], 0, tuple(prefixed))
        return None

    def _evident(self, capitals: Set[int], window: Sequence[_Word], cue: bool, alone: bool) -> bool:
        """Whether the message gives reason to read these words as a place (module docstring)."""
        proper = any(w.text not in self._common for w in window if w.text not in _PARTICLES)
        capital = window[0].start in capitals
        several = sum(w.text not in _ARTICLES for w in window) > 1
        return (proper and (alone or cue or capital or several)) or (cue and capital)

    def _fuzzy_at(
        self, words: Sequence[_Word], i: int, cue: bool, unusual: Sequence[int]
    ) -> _Hit | None:
        if not self._may_be_misspelt_name(words[i].text):
            return None
        best: _Hit | None = None
        for size in range(1, min(self.max_words, len(words) - i, MAX_FUZZY_WORDS) + 1):
            if not (cue or _covers(unusual, i, size)):
                continue
            key = " ".join(w.text for w in words[i : i + size])
            letters = len(key) - size + 1
            if letters < FUZZY_MIN_LETTERS:
                continue
            budget = 1 if letters < LONG_NAME else 2
            candidates = [
                name
                for length in range(len(key) - budget, len(key) + budget + 1)
                for name in self._blocks.get((key[0], size, length), ())
            ]
            matches = process.extract(
                key, candidates, scorer=Levenshtein.distance, score_cutoff=budget, limit=None
            )
            if not matches:
                continue
            # Closest first; among equals, a name the training data knows (our territory).
            name, distance, _ = min(matches, key=lambda m: (m[1], not self._known(m[0]), m[0]))
            if best is None or distance <= best.distance:
                best = _Hit(size, name, int(distance))
        return best

    def _may_be_misspelt_name(self, word: str) -> bool:
        """Not a number, an everyday word or its typo, a person's title or a known proper noun
        that is no commune (an advisor's first name, "Puzzle")."""
        if word.isdigit() or word in self._common or word in self._proper or word in HONORIFICS:
            return False
        if _squeezed(word) in self._common:
            return False
        near = process.extractOne(
            word, self._common_list, scorer=Levenshtein.distance, score_cutoff=1
        )
        return near is None

    def _known(self, name: str) -> bool:
        return all(w in self._proper or w in _PARTICLES for w in name.split())


def _covers(content: Sequence[int], i: int, size: int) -> bool:
    # The window holds every content word of the message: the message is just the name.
    return bool(content) and all(i <= c < i + size for c in content)


def _capitalised_starts(text: str) -> set[int]:
    """Where words written as proper nouns start: capitalised, not opening a sentence, and not
    in a message typed in capitals (which says nothing about proper nouns)."""
    if _shouting(text):
        return set()
    starts = set()
    previous_end = 0
    for match in _WORD.finditer(text):
        opens = previous_end == 0 or bool(_SENTENCE_END.search(text, previous_end, match.start()))
        if match.group()[0].isupper() and not opens:
            starts.add(match.start())
        previous_end = match.end()
    return starts


def _shouting(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return sum(c.isupper() for c in letters) > len(letters) / 2


def _squeezed(word: str) -> str:
    return re.sub(r"(.)\1+", r"\1\1", word)


def _saint(word: str) -> str:
    return {"st": "saint", "ste": "sainte"}.get(word, word)
