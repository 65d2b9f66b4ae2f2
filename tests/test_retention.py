"""Personal data is kept no longer than the retention period."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.models import Conversation, ProcessedMessage
from bot.runtime import Runtime
from bot.scheduler import purge_personal_data
from tests.conftest import Clock, Twilio


def _count(runtime: Runtime, model: type) -> int:
    with runtime.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_messages_and_memory_older_than_retention_are_purged(
    twilio: Twilio, runtime: Runtime, frozen: Clock
) -> None:
    twilio.text("Bonjour")
    frozen.set("2027-01-10T10:00:00+01:00")
    twilio.text("57100", sender="+33639980077")
    assert _count(runtime, ProcessedMessage) == 2
    frozen.set("2027-03-01T10:00:00+01:00")  # 98 days after the first, 50 after the second
    assert purge_personal_data(runtime) == 2  # one message record, one conversation
    assert _count(runtime, ProcessedMessage) == 1
    assert _count(runtime, Conversation) == 1
