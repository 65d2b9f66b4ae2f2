"""Days a whole place is closed (agenda closures without an advisor, set in the inbox or files).

The opening hours say when a place is usually open; a closure ("fermeture exceptionnelle",
holidays of the team) says it is not, whatever the hours. The hand-off (when will a person
answer?) and the phone line (put the caller through?) both ask here.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import AgendaClosure


def closed_days(session: Session, place_id: str, first: date, last: date) -> frozenset[date]:
    """The days between `first` and `last` (inclusive) on which the whole place is closed."""
    rows = session.execute(
        select(AgendaClosure.first_day, AgendaClosure.last_day).where(
            AgendaClosure.place_id == place_id,
            AgendaClosure.advisor_id.is_(None),
            AgendaClosure.first_day <= last,
            AgendaClosure.last_day >= first,
        )
    )
    days: set[date] = set()
    for start, end in rows:
        day = max(start, first)
        while day <= min(end, last):
            days.add(day)
            day += timedelta(days=1)
    return frozenset(days)
