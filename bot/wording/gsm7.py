"""GSM-7 (3GPP TS 23.038) mapping and SMS segment counting, per ../shared/sms-style.md."""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass

# The GSM 03.38 default alphabet and its extension table (each extension char costs 2 septets).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

# French characters outside GSM-7 and their nearest GSM-7 form (sms-style.md, "Cost").
_FRENCH_MAP = {
    "ê": "e",
    "ë": "e",
    "â": "a",
    "î": "i",
    "ï": "i",
    "ô": "o",
    "û": "u",
    "ÿ": "y",
    "ç": "c",
    "á": "a",
    "í": "i",
    "ó": "o",
    "ú": "u",
    "Ê": "E",
    "Ë": "E",
    "È": "E",
    "Â": "A",
    "À": "A",
    "Î": "I",
    "Ï": "I",
    "Ô": "O",
    "Û": "U",
    "Ù": "U",
    "Ÿ": "Y",
    "œ": "oe",
    "Œ": "OE",
    "æ": "ae",
    "\u2019": "'",
    "\u2018": "'",
    "\u02bc": "'",
    "`": "'",
    "´": "'",
    "«": '"',
    "»": '"',
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "…": "...",
    "\u2013": "-",
    "\u2014": "-",
    "\u2012": "-",
    "\u2011": "-",
    "\u2010": "-",
    "\u00a0": " ",
    "\u202f": " ",
    "\u2009": " ",
    "\u2007": " ",
    "\t": " ",
    "°": "o",
    "•": "-",
    "×": "x",
    "€": "EUR",
}
_FRENCH_TRANS = str.maketrans(_FRENCH_MAP)

GSM7_SINGLE = 160
GSM7_MULTI = 153
UCS2_SINGLE = 70
UCS2_MULTI = 67


def is_gsm7(text: str) -> bool:
    """True when every character is in the GSM-7 alphabet or its extension."""
    return all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


def _fallback(char: str) -> str:
    """Strip accents from a character we have no explicit rule for; drop it if nothing is left."""
    if char in GSM7_BASIC or char in GSM7_EXTENSION:
        return char
    decomposed = unicodedata.normalize("NFKD", char)
    kept = "".join(c for c in decomposed if c in GSM7_BASIC)
    return kept


def to_gsm7(text: str) -> str:
    """Map text to GSM-7 so that an SMS costs GSM-7 segments (ê→e, ç→c, œ→oe, ’→', …→...)."""
    mapped = text.translate(_FRENCH_TRANS)
    if is_gsm7(mapped):
        return mapped
    return "".join(_fallback(c) for c in mapped)


@dataclass(frozen=True, slots=True)
class SegmentCount:
    """How an SMS will be billed."""

    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def count_segments(text: str) -> SegmentCount:
    """Segments this text costs as sent (no mapping applied)."""
    if is_gsm7(text):
        units = sum(2 if c in GSM7_EXTENSION else 1 for c in text)
        single, multi, encoding = GSM7_SINGLE, GSM7_MULTI, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = UCS2_SINGLE, UCS2_MULTI, "UCS-2"
    segments = 1 if units <= single else math.ceil(units / multi)
    return SegmentCount(encoding, units, max(segments, 1))


def prepare_sms(text: str, unicode_allowed: bool = False) -> str:
    """The text as it will be sent: mapped to GSM-7 unless Unicode is configured."""
    return text if unicode_allowed else to_gsm7(text)
