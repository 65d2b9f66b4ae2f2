"""SMS wording made speakable: how a reply written for a screen is said on the phone.

Flows answer in the catalogue's SMS wording; on a call the same reply is read by a French voice,
so "9h45" becomes "9 heures 45", "Répondez 1, 2 ou 3" becomes "Tapez 1, 2 ou 3", a numbered
list becomes "mardi 24 novembre à 9 heures, tapez 1.", words in capitals are not spelled, and a
reply too long to listen to is cut between sentences (sms-style.md, "Voice").
"""

from __future__ import annotations

import re

from bot.wording import say

# 150 words a minute is a calm French voice: 25 seconds is about 62 words (issue 7).
WORDS_PER_SECOND = 2.5
LONGEST_PROMPT_SECONDS = 25
MAX_WORDS = int(WORDS_PER_SECOND * LONGEST_PROMPT_SECONDS)

_NUMBERED = re.compile(r"^(\d{1,2})[.)]?\s+(.+)$")
_TIME = re.compile(r"\b(\d{1,2})h(\d{2})?\b")
_ANSWER_YES_OR_NO = re.compile(r"\bRépondez OUI (pour [^,.]+)(?:, NON sinon)?")
_ANSWER_YES = re.compile(r"\bRépondez OUI\b")
_PHONE_ABBREVIATION = re.compile(r"\bTél\b\.?")
_ANSWER_NUMBERS = re.compile(
    r"\bRépondez (?:avec )?((?:le numéro|un numéro de \d+ à \d+|\d)(?:, \d)*(?: ou \d)?)"
)
_ANSWER_HELP = re.compile(r"\s*Répondez AIDE pour le menu\.?")
_ZERO_TO_SKIP = re.compile(r",? ou 0 pour passer")
_SEND_OR_WRITE = re.compile(r"\b(Envoyez|Écrivez)\b")
_WRITE_TO_ME = re.compile(r"\bÉcrivez-moi\b")
# Brackets, "n°" and "..." are for the eye: a caller hears the main words only.
_BRACKETS = re.compile(r"\s*\([^)]*\)")
_NUMBER_SIGN = re.compile(r"\bn°\s*")
_ELLIPSIS = re.compile(r"\.\.\.|…")
# A phone number right before "tapez 1" invites dialling it: in a list, it is left out.
_PHONE_IN_CHOICE = re.compile(r",?\s*(?:Tél\.?|au)\s*\d{2}(?: \d{2}){4}\.?")
_ANY_ANSWER = re.compile(r"\bRépondez\b")
_URL = re.compile(r"https?://\S+")
_RDV = re.compile(r"\brdv\b", re.IGNORECASE)
# The SMS keywords (written in capitals so they stand out) are said, not spelled.
_OTHER = re.compile(r"\bou AUTRE\b")
_KEYWORDS = re.compile(r"\b(OUI|NON|AUTRE|ANNULER|DECALER|ATTENTE|AIDE|STOP|START)\b")
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")


def _upper_first(text: str) -> str:
    """Capitalised at the start of a sentence (str.capitalize would lower the rest)."""
    return text[:1].upper() + text[1:]


def _hours(match: re.Match[str]) -> str:
    hours = int(match.group(1))
    minutes = match.group(2)
    if hours == 12 and not minutes:
        return say("dates.noon")
    spoken = say("dates.spoken_hours", hours=hours)
    return f"{spoken} {int(minutes)}" if minutes and int(minutes) else spoken


def _line(line: str) -> str:
    numbered = _NUMBERED.match(line)
    if numbered and not line.endswith("?"):
        label = _PHONE_IN_CHOICE.sub("", numbered.group(2)).rstrip(". ")
        return say("voice.choice", label=label, number=numbered.group(1))
    return line if line.endswith((".", "!", "?", ":")) else f"{line}."


def speakable(text: str, max_words: int = MAX_WORDS) -> str:
    """The reply as it should be heard: no abbreviations, keys to press, short enough."""
    text = _URL.sub("", text)
    text = _BRACKETS.sub("", text)
    text = _NUMBER_SIGN.sub(say("voice.number") + " ", text)
    text = _ELLIPSIS.sub("", text)
    text = _ANSWER_HELP.sub(" " + say("voice.answer_hint"), text)
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    spoken = " ".join(_line(line) for line in lines)
    spoken = _ANSWER_YES_OR_NO.sub(
        lambda m: _upper_first(say("voice.yes_or_no", what=m.group(1))), spoken
    )
    spoken = _ANSWER_YES.sub(_upper_first(say("voice.say_yes")), spoken)
    spoken = _PHONE_ABBREVIATION.sub(say("voice.phone"), spoken)
    press = _upper_first(say("voice.press"))
    spoken = _ANSWER_NUMBERS.sub(lambda m: f"{press} {m.group(1)}", spoken)
    spoken = _OTHER.sub(f"ou {say('voice.say_word')} autre", spoken)
    spoken = _ANY_ANSWER.sub(press, spoken)
    spoken = _ZERO_TO_SKIP.sub(f", ou {say('voice.say_word')} passer", spoken)
    spoken = _WRITE_TO_ME.sub(say("voice.call_back"), spoken)
    spoken = _SEND_OR_WRITE.sub(_upper_first(say("voice.say_word")), spoken)
    spoken = _TIME.sub(_hours, spoken)
    spoken = _RDV.sub("rendez-vous", spoken)
    spoken = _KEYWORDS.sub(lambda m: m.group(0).lower(), spoken)
    return shorten(" ".join(spoken.split()), max_words)


def words(text: str) -> int:
    """How many words a prompt has (what the 25-second rule is measured on)."""
    return len(text.split())


def shorten(text: str, max_words: int = MAX_WORDS) -> str:
    """Whole sentences, as many as fit in `max_words` (a single long one is cut at a word)."""
    if words(text) <= max_words:
        return text
    kept: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        if words(" ".join([*kept, sentence])) > max_words:
            break
        kept.append(sentence)
    if kept:
        return " ".join(kept)
    return " ".join(text.split()[:max_words]) + "."
