"""Derive the way residents really type from the hand-written examples.

    python -m nlu.augment            # rewrite nlu/data/generated/*.yml from nlu/data/*.yml
    python -m nlu.augment --check    # exit 1 if the generated files are stale

Each hand-written example gets a few variants: SMS shorthand without accents ("jvoudrais un
rdv pr jeudi"), a spoken transcript without punctuation ("euh oui bonjour je voudrais..."),
typos on an AZERTY keyboard, capitals, a polite letter or a greeting around a request (the
request must win), another town of the territory. Randomness is seeded by the example itself,
so the output only changes where a seed changes. The generated YAML is plain Rasa NLU data.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import re
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from nlu.normalise import normalise, strip_accents
from nlu.rasa_format import dump_examples, load_examples
from nlu.types import Intent

DATA_DIR = Path(__file__).parent / "data"
GENERATED = "generated"
VARIANTS_PER_SEED = 3

# Short dialogue acts: a greeting or a polite letter around them would change their meaning.
DIALOGUE_ACTS = {Intent.GREET, Intent.AFFIRM, Intent.DENY, Intent.THANKS, Intent.GOODBYE}

TOWNS = (
    "Thionville",
    "Yutz",
    "Forbach",
    "Behren-lès-Forbach",
    "Saint-Étienne",
    "Montrond-les-Bains",
    "Créteil",
    "Sucy-en-Brie",
    "Boissy-Saint-Léger",
    "Limeil-Brévannes",
    "Hayange",
    "Florange",
    "Terville",
    "Fameck",
    "Stiring-Wendel",
    "Saint-Avold",
    "Sarreguemines",
    "Firminy",
    "Saint-Chamond",
    "Andrézieux-Bouthéon",
    "Feurs",
    "Maisons-Alfort",
    "Villeneuve-Saint-Georges",
    "Bonneuil-sur-Marne",
)
_TOWN = re.compile("|".join(re.escape(t) for t in sorted(TOWNS, key=len, reverse=True)))

# (pattern on lowercase accent-free text, SMS spellings residents use for it)
SMS_SPELLINGS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"\bbonjour\b", ("bjr", "bonjour", "bjour")),
    (r"\bbonsoir\b", ("bsr", "bonsoir")),
    (r"\brendez[ -]vous\b", ("rdv", "rdv", "rendez vous", "rdz")),
    (r"\bs'il vous plait\b", ("svp", "stp", "svp")),
    (r"\bs'il te plait\b", ("stp",)),
    (r"\bje voudrais\b", ("jvoudrais", "je voudrai", "je voudrer", "jvoudrai")),
    (r"\bje veux\b", ("jveux", "je veux")),
    (r"\bje peux\b", ("jpeux", "je peu")),
    (r"\bje suis\b", ("chui", "jsuis", "je sui")),
    (r"\bj'ai\b", ("jai", "g", "j ai")),
    (r"\bpour\b", ("pr", "pour")),
    (r"\bquand\b", ("kan", "qd", "quand")),
    (r"\bquoi\b", ("koi", "quoi")),
    (r"\bc'est\b", ("c", "cest", "c est")),
    (r"\bqu'est-ce que\b", ("keske", "quest ce que", "qu est ce que")),
    (r"\best-ce que\b", ("esque", "est ce que", "es ce que")),
    (r"\bbeaucoup\b", ("bcp",)),
    (r"\bmerci\b", ("mrc", "merci", "mci")),
    (r"\bquelqu'un\b", ("qqn", "quelqun")),
    (r"\baujourd'hui\b", ("ajd", "auj", "aujourdhui")),
    (r"\btelephone\b", ("tel", "telephone", "telefone")),
    (r"\bordinateur\b", ("ordi", "ordinateur")),
    (r"\bprobleme\b", ("pb", "probleme")),
    (r"\bd'accord\b", ("dac", "dacc", "daccord")),
    (r"\bvous\b", ("vous", "vs", "vous")),
    (r"\bdemain\b", ("demain", "dem1")),
    (r"\bqu'il\b", ("kil", "qu il")),
    (r"\bque\b", ("que", "ke")),
    (r"\bje ne\b", ("je", "je", "jne")),
    (r"\bn'", ("", "n")),
    (r"'", ("", " ", "'")),
)
_GREETING = re.compile(r"\W*(?:bonjour|bonsoir|bjr|allo|madame|monsieur)\b")
_SMS = tuple((re.compile(p), alternatives) for p, alternatives in SMS_SPELLINGS)
FILLERS_BEFORE = (
    "euh",
    "oui bonjour",
    "allo oui",
    "alors voilà",
    "oui euh",
    "bah",
    "allo",
    "alors",
)
# Before a bare "non" or "merci", "oui bonjour" would change the meaning.
SHORT_FILLERS = ("euh", "bah", "alors", "ah", "hum")
FILLERS_AFTER = ("voilà", "s'il vous plaît", "merci", "voilà voilà")
OPENINGS = (
    "Bonjour, ",
    "Bonjour madame, ",
    "Bonjour monsieur ",
    "bjr ",
    "Bonsoir, ",
    "Bonjour Madame, Monsieur, ",
    "allo oui bonjour ",
    "Re bonjour, ",
)
CLOSINGS = (
    " Merci d'avance.",
    " Merci beaucoup",
    " Cordialement.",
    " svp",
    " Merci de votre réponse.",
    " Bien cordialement, Mme Schmitt",
    " merci",
    "",
)
# Keys next to each letter on a French keyboard.
AZERTY = {
    "a": "zq", "z": "aes", "e": "zrd", "r": "etf", "t": "ryg", "y": "tuh", "u": "yij", "i": "uok",
    "o": "ipl", "p": "om", "q": "asw", "s": "qdz", "d": "sfe", "f": "dgr", "g": "fht", "h": "gjy",
    "j": "hku", "k": "jli", "l": "kmo", "m": "lp", "w": "xq", "x": "wc", "c": "xv", "v": "cb",
    "b": "vn", "n": "b",
}  # fmt: skip

Transform = Callable[[str, random.Random], str]


def sms_style(text: str, rng: random.Random) -> str:
    """Lowercase, no accents, shorthand, little punctuation: "jvoudrais un rdv pr jeudi"."""
    out = strip_accents(text).replace("’", "'")
    for pattern, alternatives in _SMS:
        out = pattern.sub(_chooser(alternatives, rng), out)
    out = re.sub(r"[.,;!]", "", out) if rng.random() < 0.7 else out
    return " ".join(out.split())


def _chooser(alternatives: Sequence[str], rng: random.Random) -> Callable[[re.Match[str]], str]:
    return lambda _match: rng.choice(alternatives)


def spoken_style(text: str, rng: random.Random, fillers: Sequence[str] = FILLERS_BEFORE) -> str:
    """A speech transcript: no punctuation, "rendez-vous" in full, fillers like "euh"."""
    out = re.sub(r"[?!.,;:]", " ", text.lower()).replace("rdv", "rendez-vous")
    words = out.split()
    if len(words) > 4 and rng.random() < 0.5:
        words.insert(rng.randrange(1, len(words)), "euh")
    if rng.random() < 0.7:
        words.insert(0, rng.choice(fillers))
    if rng.random() < 0.25:
        words.append(rng.choice(FILLERS_AFTER))
    return " ".join(words)


def with_typos(text: str, rng: random.Random) -> str:
    """One or two slips on an AZERTY keyboard: a missing, doubled, swapped or wrong letter."""
    chars = list(text)
    positions = [i for i, c in enumerate(chars) if c.isalpha()]
    for _ in range(1 if len(positions) < 25 else 2):
        if len(positions) < 4:
            break
        i = rng.choice(positions[1:])
        kind = rng.randrange(4)
        lower = strip_accents(chars[i])
        if kind == 0:
            chars[i] = ""
        elif kind == 1:
            chars[i] = chars[i] * 2
        elif kind == 2 and i + 1 < len(chars) and chars[i + 1].isalpha():
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        elif lower in AZERTY:
            chars[i] = rng.choice(AZERTY[lower])
        else:
            chars[i] = lower
    return "".join(chars)


def shouting(text: str, rng: random.Random) -> str:
    """All capitals, as some residents type."""
    return (
        text.upper() if rng.random() < 0.7 else text.capitalize() + rng.choice(("!", " !!", "..."))
    )


def polite_wrap(text: str, rng: random.Random) -> str:
    """A greeting before and thanks after a request: the request must still win."""
    opening = "" if _GREETING.match(strip_accents(text)) else rng.choice(OPENINGS)
    body = text if len(text) > 1 and text[1].isupper() else text[0].lower() + text[1:]
    return f"{opening}{body}{rng.choice(CLOSINGS)}".strip()


def _spoken_short(text: str, rng: random.Random) -> str:
    return spoken_style(text, rng, SHORT_FILLERS)


def other_town(text: str, rng: random.Random) -> str:
    """The same request about another town of the territory."""
    return _TOWN.sub(lambda m: rng.choice([t for t in TOWNS if t != m.group()]), text)


def variants(text: str, intent: Intent) -> list[str]:
    """A few resident-like variants of one hand-written example, deterministic."""
    rng = random.Random(hashlib.sha256(f"{intent}|{text}".encode()).digest())
    transforms: list[Transform] = [sms_style, spoken_style, with_typos, shouting]
    if intent in DIALOGUE_ACTS:
        transforms[1] = _spoken_short
    else:
        transforms += [polite_wrap, polite_wrap]
    if _TOWN.search(text):
        transforms.append(other_town)
    chosen = rng.sample(transforms, k=min(VARIANTS_PER_SEED, len(transforms)))
    out = []
    for transform in chosen:
        variant = transform(text, rng)
        if rng.random() < 0.35 and transform is not with_typos:
            variant = with_typos(variant, rng)
        out.append(variant)
    return out


def generate(seeds: Iterable[tuple[str, Intent]]) -> dict[Intent, list[str]]:
    """Variants per intent, minus those that repeat an example or read like another intent's."""
    seeds = list(seeds)
    owner: dict[str, Intent] = {normalise(text): intent for text, intent in seeds}
    seen = {text for text, _ in seeds}
    out: dict[Intent, list[str]] = defaultdict(list)
    for text, intent in seeds:
        for variant in variants(text, intent):
            key = normalise(variant)
            if variant in seen or not key or owner.setdefault(key, intent) != intent:
                continue
            seen.add(variant)
            out[intent].append(variant)
    return out


def render(data_dir: Path = DATA_DIR) -> dict[Path, str]:
    """The generated files' contents, keyed by path."""
    seeds = [(e.text, e.intent) for p in _seed_files(data_dir) for e in load_examples(p)]
    generated = generate(seeds)
    return {
        data_dir / GENERATED / f"{intent.value}.yml": dump_examples(
            [(intent.value, texts)],
            header=f"Generated by nlu/augment.py from nlu/data/{intent.value}.yml: do not edit.\n"
            "Edit the hand-written examples and run `python -m nlu.augment`.",
        )
        for intent, texts in sorted(generated.items())
    }


def _seed_files(data_dir: Path) -> Sequence[Path]:
    return sorted(p for p in data_dir.glob("*.yml"))


def main(argv: Sequence[str] | None = None) -> int:
    """Write (or with --check, verify) the generated training files."""
    parser = argparse.ArgumentParser(prog="python -m nlu.augment", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if generated files are stale")
    args = parser.parse_args(argv)
    files = render()
    stale = [p for p, text in files.items() if not p.exists() or p.read_text("utf-8") != text]
    if args.check:
        for path in stale:
            print(f"stale: {path}", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[path], encoding="utf-8")
    total = sum(text.count("\n    - ") for text in files.values())
    print(f"{len(stale)} file(s) written, {total} generated examples")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
