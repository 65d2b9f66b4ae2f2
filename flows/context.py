"""What a flow step works with: the database session, the message understood, the memory."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from flows.state import ConversationState
from nlu import Understanding


@dataclass
class Turn:
    """One resident message being answered."""

    session: Session
    understanding: Understanding
    state: ConversationState
    now: datetime
    resident_id: int | None = None  # who is writing, for their appointments
    channel: str = "sms"  # flows.messages.Channel value: a hand-off differs on a call

    @property
    def text(self) -> str:
        """The resident's text."""
        return self.understanding.text
