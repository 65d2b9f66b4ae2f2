"""Phone numbers as Relais stores them: E.164 when valid, so every way in finds one resident."""

from __future__ import annotations

import phonenumbers

# Resident.phone holds at most this many characters.
MAX_NUMBER = 32


def normalise_number(raw: str) -> str:
    """E.164 for anything shaped like a phone number (French national format accepted: an
    operator types "06 39 98 00 42", Twilio sends "+33639980042"); the raw value otherwise."""
    raw = raw.strip()
    try:
        parsed = phonenumbers.parse(raw, "FR")
        if phonenumbers.is_possible_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException:
        pass
    return raw[:MAX_NUMBER]
