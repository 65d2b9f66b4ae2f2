"""Channel-neutral messages: what flows receive and what they answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

# A caller whose number is withheld: known only for the length of the call ("appel-" + CallSid).
ANONYMOUS_CALLER = "appel-"


class Channel(StrEnum):
    """Where a message came from."""

    SMS = "sms"
    VOICE = "voice"
    SIMULATOR = "simulator"


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message from a resident, whatever the channel."""

    channel: Channel
    sender: str  # E.164 when parseable, else the raw value (never logged in clear)
    text: str
    received_at: datetime  # aware
    provider_id: str = ""  # MessageSid / CallSid
    digits: str = ""  # keypad input on the phone line
    confidence: float | None = None  # the speech recogniser's confidence (phone line)
    has_media: bool = False


@dataclass(frozen=True, slots=True)
class Reply:
    """What the assistant answers: a text and, optionally, numbered choices."""

    text: str
    choices: tuple[str, ...] = ()
    expects: str = ""  # what the next message should be ("choice", "commune", ...)
    handoff: bool = False
    transfer_to: str = ""  # E.164 number a call is put through to (voice only)
    voicemail: bool = False  # record a message for advisors to call back (voice only)
    place_id: str = ""  # the place a transfer or voicemail is for
    end: bool = False
    key: str = ""  # catalogue key of the main sentence, for stats and tests
    parts: tuple[str, ...] = field(default=())  # further SMS to send, rarely used
