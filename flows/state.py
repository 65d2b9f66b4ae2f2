"""Per-conversation memory, stored by bot as opaque JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

# The phone menu waiting for a key (flows/calls.py); an SMS never answers it.
VOICE_MENU = "voice_menu"
# A question we asked ("which commune?") is forgotten after this long without an answer.
PENDING_TTL = timedelta(hours=2)


@dataclass
class ConversationState:
    """What the assistant remembers between two messages of one resident."""

    place_id: str | None = None  # the place last talked about
    commune_insee: str | None = None  # the resident's commune, once known
    postal_code: str | None = None
    expects: str = ""  # "commune_choice", "place_choice", "menu", "location" or booking.EXPECTS
    choices: list[str] = field(default_factory=list)  # values behind "1", "2", ... of the last list
    pending_intent: str = ""  # what to answer once the missing piece arrives
    pending_date: str = ""  # ISO date asked with the pending intent
    failures: int = 0  # consecutive messages not understood
    last_intent: str = ""  # what the previous message was about
    asked_at: str = ""  # ISO time the pending question was asked
    # Booking questions (flows/booking.py, flows/appointments.py); cleared with the question.
    booking_place: str = ""  # place whose slots are listed
    booking_slot: str = ""  # slot chosen, waiting for the motif ("advisor_id|ISO start")
    booking_motif: str = ""  # motif already given when the slot was taken meanwhile
    slot_wish: dict[str, str] = field(default_factory=dict)  # what the resident asked for
    slots_after: str = ""  # ISO start of the last slot listed, for "autre"
    waiting_wish: dict[str, str] = field(default_factory=dict)  # full wish, for ATTENTE
    moving_id: int = 0  # appointment being moved
    appointment_id: int = 0  # appointment waiting for a confirmation to cancel
    # Workshop questions (flows/workshops.py); cleared with the question.
    workshop_id: int = 0  # workshop being registered for
    workshop_full: str = ""  # ISO start of the full session the resident asked for
    workshop_offer: str = ""  # ISO start of the later session offered instead
    # The phone line (flows/calls.py).
    voice_last: str = ""  # what was last said, for "*" and after a silence
    voice_silences: int = 0  # silences in a row

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ConversationState:
        """Rebuild from stored JSON, ignoring unknown or malformed keys."""
        if not data:
            return cls()
        known = {f.name for f in fields(cls)}
        state = cls(**{k: v for k, v in data.items() if k in known})
        if not isinstance(state.choices, list):
            state.choices = []
        if not isinstance(state.slot_wish, dict):
            state.slot_wish = {}
        if not isinstance(state.waiting_wish, dict):
            state.waiting_wish = {}
        return state

    def to_json(self) -> dict[str, Any]:
        """JSON-safe dict for storage."""
        return asdict(self)

    def ask(
        self,
        expects: str,
        now: datetime,
        choices: list[str] | None = None,
        pending_intent: str = "",
        pending_date: str = "",
    ) -> None:
        """Remember that the next message should answer a question."""
        self.expects = expects
        self.choices = list(choices or [])
        self.pending_intent = pending_intent
        self.pending_date = pending_date
        self.asked_at = now.isoformat()

    def clear_question(self) -> None:
        """Forget the pending question."""
        self.expects = ""
        self.choices = []
        self.pending_intent = ""
        self.pending_date = ""
        self.asked_at = ""
        self.booking_place = ""
        self.booking_slot = ""
        self.booking_motif = ""
        self.slot_wish = {}
        self.slots_after = ""
        self.waiting_wish = {}
        self.moving_id = 0
        self.appointment_id = 0
        self.workshop_id = 0
        self.workshop_full = ""
        self.workshop_offer = ""

    def expire(self, now: datetime) -> None:
        """Drop a pending question that is too old to be what the resident is answering."""
        if not self.asked_at:
            return
        try:
            asked = datetime.fromisoformat(self.asked_at)
        except ValueError:
            self.clear_question()
            return
        if now - asked > PENDING_TTL:
            self.clear_question()
