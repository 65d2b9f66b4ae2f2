"""Hand-off to a person by SMS (issue 8): open or join the resident's escalation for the place
that serves them, and say honestly when a person will answer.

The place is the one talked about, else the nearest one to the resident's commune that a
person answers at (a phone or an agenda), else none (admins see those). The time comes from
that place's opening hours: "aujourd'hui avant 17h" while open, "dès lundi 30 novembre à 9h"
when closed, "dès que possible" when unknown. On a call, a hand-off is a transfer or a voicemail
instead (flows/calls.py), which escalate on their own.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.clock import PARIS
from bot.services import closures, escalations
from bot.services import places as place_service
from bot.services.agendas import has_agenda
from bot.services.communes import Commune, default_directory
from bot.wording import say
from bot.wording.dates import format_time
from bot.wording.gsm7 import count_segments, to_gsm7
from flows import locate
from flows.context import Turn
from flows.distress import Distress
from flows.hours import schedule_of, when_phrase
from flows.messages import Reply
from nlu import Intent

# Less than this before closing, "aujourd'hui avant 17h" is a promise hard to keep: the next
# opening is given instead.
MIN_TIME_LEFT = timedelta(minutes=30)
# Closures are looked up this far ahead, over this many openings (a place shut for the holidays).
CLOSURE_HORIZON = timedelta(days=62)
OPENINGS_LOOKED_AT = 40
# A hand-off and the answer to the same message together stay within this (sms-style.md).
MAX_COMBINED_SEGMENTS = 2


def reachable_place(turn: Turn, commune: Commune) -> place_service.PlaceInfo | None:
    """The nearest place to a commune with a phone or an agenda, else the nearest one."""
    nearby = locate.places_near(turn, commune, limit=10)
    for near in nearby:
        if near.place.phone or has_agenda(turn.session, near.place.id, turn.now):
            return near.place
    return nearby[0].place if nearby else None


def serving_place(turn: Turn) -> place_service.PlaceInfo | None:
    """The place talked about, else the one serving the resident's commune, else None."""
    place = locate.remembered_place(turn)
    if place is not None:
        return place
    commune = default_directory().by_insee(turn.state.commune_insee or "")
    if commune is None:
        return None
    place = reachable_place(turn, commune)
    if place is not None:
        turn.state.place_id = place.id
    return place


def answer_time(
    place: place_service.PlaceInfo | None, now: datetime, session: Session | None = None
) -> str:
    """When a person of the place answers: "aujourd'hui avant 17h", "dès demain à 9h"...

    With a session, days the whole place is closed (agenda closures) are skipped.
    """
    if place is None:
        return say("handoff.when_unknown")
    schedule = schedule_of(place)
    is_open = schedule.is_open(now)
    if is_open is None:
        return say("handoff.when_unknown")
    today = now.astimezone(PARIS).date()
    closed = (
        closures.closed_days(session, place.id, today, today + CLOSURE_HORIZON)
        if session is not None
        else frozenset()
    )
    after = now
    if is_open and today not in closed:
        openings = schedule.openings_on(today)
        closing = max((end for _, end in openings), default=now)
        if closing - now >= MIN_TIME_LEFT:
            return say("handoff.when_today", until=format_time(closing))
        after = closing
    upcoming = [
        start
        for start, _ in schedule.next_openings(after, OPENINGS_LOOKED_AT)
        if start >= after and start.astimezone(PARIS).date() not in closed
    ]
    if not upcoming:
        return say("handoff.when_unknown")
    return say("handoff.when_later", when=when_phrase(upcoming[0], now))


def open_now(session: Session, place: place_service.PlaceInfo, now: datetime) -> bool:
    """Open by its hours, and not closed today (a closure set by the advisors)."""
    if not schedule_of(place).is_open(now):
        return False
    today = now.astimezone(PARIS).date()
    return today not in closures.closed_days(session, place.id, today, today)


def _escalate(turn: Turn, reason: str, place_id: str | None) -> escalations.Escalation | None:
    if turn.resident_id is None:
        return None
    return escalations.escalate(
        turn.session,
        resident_id=turn.resident_id,
        place_id=place_id,
        reason=reason,
        channel=turn.channel,
        now=turn.now,
    )


def hand_off(
    turn: Turn, reason: str, place: place_service.PlaceInfo | None = None, find: bool = True
) -> Reply:
    """Open or join the resident's escalation; say who will answer, when, and their phone.

    `place`: the place chosen by the caller; else (with `find`) the one serving the resident.
    """
    if place is None and find:
        place = serving_place(turn)
    escalation = _escalate(turn, reason, place.id if place else None)
    if escalation is not None and escalation.place_id != (place.id if place else None):
        # Joined an escalation filed under another place: it is that place's advisors who answer.
        place = place_service.get_place(turn.session, escalation.place_id or "") or place
    when = answer_time(place, turn.now, turn.session)
    if escalation is not None and not escalation.opened:
        key, text = "handoff.already", say("handoff.already", when=when)
    elif place is None:
        key, text = "handoff.no_place", say("handoff.no_place")
    else:
        key, text = "handoff.place", say("handoff.place", place=place.name, when=when)
    if place is not None and place.phone:
        text = f"{text} {say('handoff.call', phone=place.phone)}"
    return Reply(text, key=key, handoff=True, place_id=place.id if place else "")


def fits(text: str, segments: int = MAX_COMBINED_SEGMENTS) -> bool:
    """True when the text, as sent, costs at most `segments` SMS."""
    return count_segments(to_gsm7(text)).segments <= segments


def after_distress(turn: Turn, distress: Distress, answer: Reply) -> Reply:
    """Words of distress: a person is asked for (3114 first for suicide), then the answer if short.

    The answer to the message follows when both fit in two SMS; a menu or a "not understood"
    does not (a person is coming), and a question the answer asked is then forgotten.
    """
    intro = say("distress.suicide") if distress == Distress.SUICIDE else say("distress.intro")
    if answer.handoff:
        # The message was handed off already: the escalation exists, now marked as distress.
        _escalate(turn, escalations.DISTRESS, answer.place_id or None)
        return Reply(f"{intro} {answer.text}", key=answer.key, handoff=True)
    handoff = hand_off(turn, escalations.DISTRESS)
    text = f"{intro} {handoff.text}"
    if not handoff.place_id and not turn.state.commune_insee:
        # Which place should answer? The commune tells; the escalation waits for it meanwhile.
        turn.state.ask("location", turn.now, pending_intent=Intent.HUMAN_ADVISOR.value)
        ask = f"{text} {say('ask_location')}"
        return Reply(ask, key="distress", handoff=True, expects="location")
    combined = f"{text}\n{answer.text}"
    listed = [f"{number} {label}" for number, label in enumerate(answer.choices, start=1)]
    shown = answer.text and not answer.key.startswith(("not_understood.", "menu", "help"))
    if shown and fits("\n".join([combined, *listed])):
        return Reply(
            combined,
            choices=answer.choices,
            expects=answer.expects,
            key="distress",
            handoff=True,
            place_id=handoff.place_id,
        )
    if answer.expects:
        turn.state.clear_question()
    turn.state.failures = 0
    return Reply(text, key="distress", handoff=True, place_id=handoff.place_id)
