"""When residents may be sent a message: not at night, not on Sundays (issue 6).

Nothing is sent between 20:00 and 08:30 Europe/Paris, nor on Sundays, unless what the message is
about (an appointment, an offer) comes before the next allowed time: a reminder that would
otherwise arrive after the appointment is sent at once.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from bot.clock import PARIS

DAY_STARTS = time(8, 30)
DAY_ENDS = time(20, 0)
SUNDAY = 6


def is_quiet(instant: datetime) -> bool:
    """True at night (20:00–08:30, Paris) and all Sunday."""
    local = instant.astimezone(PARIS)
    if local.weekday() == SUNDAY:
        return True
    return not DAY_STARTS <= local.time() < DAY_ENDS


def next_allowed(instant: datetime) -> datetime:
    """The first instant from `instant` on at which a message may be sent."""
    if not is_quiet(instant):
        return instant
    local = instant.astimezone(PARIS)
    day = local.date() if local.time() < DAY_STARTS else local.date() + timedelta(days=1)
    while day.weekday() == SUNDAY:
        day += timedelta(days=1)
    return datetime.combine(day, DAY_STARTS, tzinfo=PARIS)


def day_ends_after(instant: datetime) -> datetime:
    """The evening (20:00, Paris) of the day of an allowed instant: when quiet hours start."""
    local = instant.astimezone(PARIS)
    return datetime.combine(local.date(), DAY_ENDS, tzinfo=PARIS)


def send_time(due: datetime, deadline: datetime | None = None) -> datetime:
    """When to send a message due at `due`: the next allowed time, unless past `deadline`."""
    allowed = next_allowed(due)
    if deadline is not None and allowed >= deadline:
        return due
    return allowed
