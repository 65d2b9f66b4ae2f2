"""Text normalisation shared by the classifier, the entity extractors and the gazetteer.

Two flavours:
- `fold` keeps one output character per input character (lowercase, accents stripped), so
  that entity offsets found in the folded text are offsets in the resident's own text;
- `normalise` is for the classifier: it also splits apostrophes and hyphens, drops
  punctuation, squeezes "merciiii" and expands SMS shorthand ("rdv", "jvoudrais", "kan").
"""

from __future__ import annotations

import re
import unicodedata

# Residents' SMS shorthand, see ../shared/intents.md. Only unambiguous tokens: "cb" (combien or
# carte bancaire?) and "t" are left alone on purpose.
ABBREVIATIONS: dict[str, str] = {
    "bjr": "bonjour",
    "bjour": "bonjour",
    "bonjours": "bonjour",
    "bsr": "bonsoir",
    "slt": "salut",
    "cc": "coucou",
    "stp": "s il te plait",
    "svp": "s il vous plait",
    "svpl": "s il vous plait",
    "svpp": "s il vous plait",
    "slvp": "s il vous plait",
    "rdv": "rendez vous",
    "rdvs": "rendez vous",
    "rv": "rendez vous",
    "rdz": "rendez vous",
    "rendezvous": "rendez vous",
    "jvoudrais": "je voudrais",
    "jvoudrai": "je voudrais",
    "jvoudre": "je voudrais",
    "jaimerais": "j aimerais",
    "jveux": "je veux",
    "jpeux": "je peux",
    "jpe": "je peux",
    "jdois": "je dois",
    "jsuis": "je suis",
    "jsui": "je suis",
    "chui": "je suis",
    "chuis": "je suis",
    "jai": "j ai",
    "g": "j ai",
    "jme": "je me",
    "jne": "je ne",
    "jsp": "je sais pas",
    "jsais": "je sais",
    "jpourrai": "je pourrai",
    "jpourrais": "je pourrais",
    "jviens": "je viens",
    "pr": "pour",
    "kan": "quand",
    "kand": "quand",
    "qd": "quand",
    "koi": "quoi",
    "kwa": "quoi",
    "ke": "que",
    "ki": "qui",
    "kel": "quel",
    "kelle": "quelle",
    "kels": "quels",
    "keske": "qu est ce que",
    "pa": "pas",
    "plu": "plus",
    "sai": "sais",
    "bi1": "bien",
    "tro": "trop",
    "bocou": "beaucoup",
    "mw": "moi",
    "pk": "pourquoi",
    "pq": "pourquoi",
    "pkoi": "pourquoi",
    "koman": "comment",
    "komen": "comment",
    "cmt": "comment",
    "cmnt": "comment",
    "ds": "dans",
    "tt": "tout",
    "ts": "tous",
    "bcp": "beaucoup",
    "bcq": "beaucoup",
    "mrc": "merci",
    "mci": "merci",
    "mrci": "merci",
    "mercii": "merci",
    "ajd": "aujourd hui",
    "auj": "aujourd hui",
    "aujourdhui": "aujourd hui",
    "dem1": "demain",
    "2main": "demain",
    "qqn": "quelqu un",
    "qqun": "quelqu un",
    "qq1": "quelqu un",
    "kelkun": "quelqu un",
    "quelquun": "quelqu un",
    "qqch": "quelque chose",
    "qqc": "quelque chose",
    "pb": "probleme",
    "pbm": "probleme",
    "pblm": "probleme",
    "tel": "telephone",
    "ordi": "ordinateur",
    "nn": "non",
    "ui": "oui",
    "wi": "oui",
    "ouai": "oui",
    "ouais": "oui",
    "oue": "oui",
    "dac": "d accord",
    "dacc": "d accord",
    "daccord": "d accord",
    "okay": "ok",
    "oki": "ok",
    "okey": "ok",
    "okai": "ok",
    "msg": "message",
    "ya": "il y a",
    "esk": "est ce que",
    "eske": "est ce que",
    "esque": "est ce que",
    "kesk": "qu est ce que",
    "vs": "vous",
    "ns": "nous",
    "pcq": "parce que",
    "pcque": "parce que",
    "psk": "parce que",
    "tjs": "toujours",
    "tjr": "toujours",
    "tjrs": "toujours",
    "dsl": "desole",
    "fo": "faut",
    "bne": "bonne",
    "jrnee": "journee",
    "jrn": "journee",
    "aprem": "apres midi",
    "aprm": "apres midi",
    "exp": "expediteur",
    "mdp": "mot de passe",
    "infos": "informations",
    "info": "information",
}

_NON_WORD = re.compile(r"[^a-z0-9]+")
_LETTER_RUN = re.compile(r"([a-z])\1{2,}")
_DIGIT = re.compile(r"[0-9]")
# "a+" / "@+" (à plus) and "c koi" lose their meaning once punctuation and single letters go.
_BEFORE_PUNCTUATION = (
    (re.compile(r"(?:^|\s)[a@]\s?\+(?=\s|$)"), " a plus "),
    (re.compile(r"\bc\s+(?=koi\b|quoi\b|kwa\b|ou\b|quand\b|kan\b|bon\b|ok\b)"), "c est "),
)


def fold_char(char: str) -> str:
    """One character, lowercased and without its accent (always exactly one character)."""
    base = unicodedata.normalize("NFD", char)[0].lower()
    return base[0] if base else char


def fold(text: str) -> str:
    """Lowercase and strip accents, keeping the length so offsets still point into `text`."""
    return "".join(fold_char(c) for c in text)


def strip_accents(text: str) -> str:
    """Lowercase, accents stripped, typographic ligatures and apostrophes made plain."""
    text = text.replace("œ", "oe").replace("Œ", "oe").replace("æ", "ae").replace("Æ", "ae")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def words(text: str) -> list[str]:
    """The accent-free lowercase words of a text; apostrophes and hyphens split words."""
    return _NON_WORD.sub(" ", strip_accents(text)).split()


def normalise(text: str) -> str:
    """The classifier's view of a message: plain words, shorthand expanded, digits as 0."""
    text = strip_accents(text)
    for pattern, replacement in _BEFORE_PUNCTUATION:
        text = pattern.sub(replacement, text)
    text = _LETTER_RUN.sub(r"\1", _NON_WORD.sub(" ", text))
    expanded = [ABBREVIATIONS.get(token, token) for token in text.split()]
    return _DIGIT.sub("0", " ".join(expanded))


def normalise_place_name(name: str) -> str:
    """A commune name as the gazetteer keys it: "Saint-Étienne", "st etienne": "saint etienne"."""
    return " ".join(_expand_saint(w) for w in words(name))


def _expand_saint(word: str) -> str:
    return {"st": "saint", "ste": "sainte"}.get(word, word)
