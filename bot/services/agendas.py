"""Advisors' agendas (weekly availability, closures) and appointment motifs, from a JSON file.

The format is documented in bot/data/AGENDAS.md. A file is authoritative for the places it lists:
loading it again updates advisors (matched by their "id"), replaces their availability and the
places' closures with the file's, and marks advisors of those places missing from the file as
inactive (their appointments stay). Places the file does not list are left alone; places the
database does not know are skipped with a warning, as workshops are.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from bot import clock
from bot.models import (
    Advisor,
    AdvisorAvailability,
    AgendaClosure,
    AppointmentMotif,
    Place,
)
from bot.services import reminders
from bot.services.places import PlaceInfo, place_info
from bot.services.places_schema import DATA_DIR

logger = logging.getLogger(__name__)

DEMO_AGENDAS_PATH = DATA_DIR / "demo-agendas.json"
FORMAT = "relais-agendas/1"
TIME_ZONE = "Europe/Paris"
# OSM opening_hours day names, as in places' `horaires` and workshop schedules.
WEEKDAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
_HH_MM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
_MIN_SLOT, _MAX_SLOT = 5, 480  # as the check constraint on advisor_availabilities


class AgendaFileError(Exception):
    """The agenda file cannot be used; the message says where ("places[2].advisors[0]...")."""


@dataclass(frozen=True, slots=True)
class Motif:
    """A reason for an appointment: a stable code and the label residents read."""

    code: str
    label: str


@dataclass(frozen=True, slots=True)
class AgendaReport:
    """What a load did."""

    places: int
    advisors: int
    availabilities: int
    closures: int
    motifs: int
    deactivated_advisors: int = 0
    skipped_places: tuple[str, ...] = ()


# --- reading and checking the file -------------------------------------------------------------

_AvailabilityKey = tuple[int, time, time, int, date | None, date | None]
_ClosureKey = tuple[str | None, date, date, str | None]  # advisor ref (None: whole place)


@dataclass
class _AdvisorEntry:
    ref: str
    name: str
    availability: set[_AvailabilityKey] = field(default_factory=set)


@dataclass
class _PlaceEntry:
    place_id: str
    advisors: list[_AdvisorEntry] = field(default_factory=list)
    closures: set[_ClosureKey] = field(default_factory=set)
    reminders: reminders.Policy | None = None  # None: the defaults


def _fail(where: str, problem: str) -> AgendaFileError:
    return AgendaFileError(f"{where}: {problem}")


def _entries(container: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    """The list of objects under `key` (absent: none)."""
    value = container.get(key, [])
    if not isinstance(value, list) or not all(isinstance(entry, dict) for entry in value):
        raise _fail(where, f"'{key}' must be a list of objects")
    return value


def _text(
    entry: dict[str, Any], key: str, where: str, *, longest: int = 100, optional: bool = False
) -> str | None:
    value = entry.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > longest:
        raise _fail(where, f"'{key}' must be a text of 1 to {longest} characters")
    return value.strip()


def _day(entry: dict[str, Any], key: str, where: str) -> date | None:
    value = entry.get(key)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise _fail(where, f"'{key}' must be a date YYYY-MM-DD, not {value!r}") from None


def _clock_time(entry: dict[str, Any], key: str, where: str) -> time:
    value = entry.get(key)
    match = _HH_MM.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise _fail(where, f"'{key}' must be a time HH:MM (Europe/Paris), not {value!r}")
    return time(int(match[1]), int(match[2]))


def _availability(entry: dict[str, Any], where: str) -> set[_AvailabilityKey]:
    days = entry.get("days")
    if not isinstance(days, list) or not days or any(day not in WEEKDAYS for day in days):
        raise _fail(where, f"'days' must list some of {', '.join(WEEKDAYS)}")
    start, end = _clock_time(entry, "from", where), _clock_time(entry, "to", where)
    minutes = entry.get("slot_minutes")
    if not isinstance(minutes, int) or not _MIN_SLOT <= minutes <= _MAX_SLOT:
        raise _fail(where, f"'slot_minutes' must be a whole number from {_MIN_SLOT} to {_MAX_SLOT}")
    length = (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
    if length < minutes:
        raise _fail(where, "'to' must be at least one slot after 'from'")
    valid_from, valid_until = _day(entry, "valid_from", where), _day(entry, "valid_until", where)
    if valid_from and valid_until and valid_from > valid_until:
        raise _fail(where, "'valid_from' is after 'valid_until'")
    return {
        (WEEKDAYS.index(day), start, end, minutes, valid_from, valid_until) for day in set(days)
    }


def _overlap(a: _AvailabilityKey, b: _AvailabilityKey) -> bool:
    """Same weekday, overlapping hours and overlapping validity: slots would collide."""
    if a[0] != b[0] or not (a[1] < b[2] and b[1] < a[2]):
        return False
    return (a[4] or date.min) <= (b[5] or date.max) and (b[4] or date.min) <= (a[5] or date.max)


def _closures(container: dict[str, Any], where: str, advisor_ref: str | None) -> set[_ClosureKey]:
    found: set[_ClosureKey] = set()
    for n, entry in enumerate(_entries(container, "closures", where)):
        here = f"{where}.closures[{n}]"
        first, last = _day(entry, "from", here), _day(entry, "until", here)
        if first is None or last is None:
            raise _fail(here, "a closure needs 'from' and 'until' dates (both included)")
        if first > last:
            raise _fail(here, "'from' is after 'until'")
        reason = _text(entry, "reason", here, longest=200, optional=True)
        found.add((advisor_ref, first, last, reason))
    return found


def _advisor(entry: dict[str, Any], where: str, place: _PlaceEntry) -> _AdvisorEntry:
    ref, name = _text(entry, "id", where), _text(entry, "name", where)
    assert ref is not None and name is not None
    advisor = _AdvisorEntry(ref, name)
    for n, window in enumerate(_entries(entry, "availability", where)):
        for key in _availability(window, f"{where}.availability[{n}]"):
            if any(_overlap(key, other) for other in advisor.availability):
                raise _fail(
                    f"{where}.availability[{n}]", f"overlaps another window on {WEEKDAYS[key[0]]}"
                )
            advisor.availability.add(key)
    place.closures |= _closures(entry, where, ref)
    return advisor


def _read(path: Path) -> tuple[list[Motif] | None, list[_PlaceEntry]]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise AgendaFileError(f"cannot read agendas from {path}: {error}") from error
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise AgendaFileError(f'{path}: not an agenda file ("format": "{FORMAT}" expected)')
    if document.get("time_zone", TIME_ZONE) != TIME_ZONE:
        raise AgendaFileError(f'{path}: only "time_zone": "{TIME_ZONE}" is supported')
    motifs: list[Motif] | None = None  # a file without "motifs" leaves them as they are
    if "motifs" in document:
        motifs = []
        for n, entry in enumerate(_entries(document, "motifs", "motifs")):
            code = _text(entry, "code", f"motifs[{n}]", longest=40)
            label = _text(entry, "label", f"motifs[{n}]", longest=200)
            assert code is not None and label is not None
            motifs.append(Motif(code, label))
        if len({m.code for m in motifs}) != len(motifs):
            raise AgendaFileError(f"{path}: two motifs share a code")
    places: list[_PlaceEntry] = []
    refs: set[str] = set()
    for n, entry in enumerate(_entries(document, "places", "places")):
        where = f"places[{n}]"
        place = _PlaceEntry(_text(entry, "place_id", where, longest=200) or "")
        if any(other.place_id == place.place_id for other in places):
            raise _fail(where, f"place {place.place_id!r} is listed twice")
        place.closures = _closures(entry, where, None)
        if entry.get("reminders") is not None:
            try:
                place.reminders = reminders.policy_from_json(entry["reminders"])
            except ValueError as error:
                raise _fail(f"{where}.reminders", str(error)) from None
        for m, advisor_entry in enumerate(_entries(entry, "advisors", where)):
            advisor = _advisor(advisor_entry, f"{where}.advisors[{m}]", place)
            if advisor.ref in refs:
                raise _fail(f"{where}.advisors[{m}]", f"advisor id {advisor.ref!r} is used twice")
            refs.add(advisor.ref)
            place.advisors.append(advisor)
        places.append(place)
    return motifs, places


# --- writing -----------------------------------------------------------------------------------


def _sync_motifs(session: Session, motifs: list[Motif]) -> None:
    existing = {m.code: m for m in session.scalars(select(AppointmentMotif))}
    for position, motif in enumerate(motifs):
        row = existing.pop(motif.code, None)
        if row is None:
            row = AppointmentMotif(code=motif.code)
            session.add(row)
        row.label, row.position, row.active = motif.label, position, True
    for row in existing.values():  # kept for past appointments, no longer offered
        row.active = False


def _sync_availability(advisor: Advisor, wanted: set[_AvailabilityKey]) -> None:
    wanted = set(wanted)
    for row in list(advisor.availabilities):
        key = (row.weekday, row.start_time, row.end_time, row.slot_minutes)
        if (*key, row.valid_from, row.valid_until) in wanted:
            wanted.discard((*key, row.valid_from, row.valid_until))
        else:
            advisor.availabilities.remove(row)
    for weekday, start, end, minutes, valid_from, valid_until in sorted(wanted, key=str):
        advisor.availabilities.append(
            AdvisorAvailability(
                weekday=weekday,
                start_time=start,
                end_time=end,
                slot_minutes=minutes,
                valid_from=valid_from,
                valid_until=valid_until,
            )
        )


def _sync_closures(
    session: Session, place_id: str, wanted: set[_ClosureKey], ids: dict[str, int]
) -> None:
    wanted = set(wanted)
    refs = {advisor_id: ref for ref, advisor_id in ids.items()}
    for row in session.scalars(select(AgendaClosure).where(AgendaClosure.place_id == place_id)):
        ref = refs.get(row.advisor_id) if row.advisor_id is not None else None
        key = (ref, row.first_day, row.last_day, row.reason)
        if key in wanted and (row.advisor_id is None or ref is not None):
            wanted.discard(key)
        else:  # gone from the file, or belongs to an advisor who is no longer listed
            session.delete(row)
    for ref, first, last, reason in sorted(wanted, key=str):
        session.add(
            AgendaClosure(
                place_id=place_id,
                advisor_id=ids[ref] if ref is not None else None,
                first_day=first,
                last_day=last,
                reason=reason,
            )
        )


def load_agendas(session: Session, path: Path) -> AgendaReport:
    """Create or update advisors, availability, closures and motifs from an agenda file."""
    motifs, places = _read(path)
    if motifs is not None:
        _sync_motifs(session, motifs)
    by_ref = {a.ref: a for a in session.scalars(select(Advisor))}
    skipped: list[str] = []
    advisors = availabilities = closures = deactivated = 0
    for entry in places:
        if session.get(Place, entry.place_id) is None:
            logger.warning("agenda for unknown place %s skipped", entry.place_id)
            skipped.append(entry.place_id)
            continue
        ids: dict[str, int] = {}
        for wanted in entry.advisors:
            advisor = by_ref.get(wanted.ref)
            if advisor is None:
                advisor = Advisor(ref=wanted.ref)
                session.add(advisor)
                by_ref[wanted.ref] = advisor
            advisor.place_id, advisor.name, advisor.active = entry.place_id, wanted.name, True
            _sync_availability(advisor, set(wanted.availability))
            session.flush()
            ids[wanted.ref] = advisor.id
            advisors += 1
            availabilities += len(wanted.availability)
        for advisor in by_ref.values():
            if advisor.place_id == entry.place_id and advisor.ref not in ids and advisor.active:
                advisor.active = False
                deactivated += 1
        reminders.set_policy(session, entry.place_id, entry.reminders)
        known = {key for key in entry.closures if key[0] is None or key[0] in ids}
        _sync_closures(session, entry.place_id, known, ids)
        closures += len(known)
    session.flush()
    return AgendaReport(
        places=len(places) - len(skipped),
        advisors=advisors,
        availabilities=availabilities,
        closures=closures,
        motifs=len(motifs or ()),
        deactivated_advisors=deactivated,
        skipped_places=tuple(skipped),
    )


# --- questions flows ask -----------------------------------------------------------------------


def _with_agenda(today: date) -> Select[str]:
    """Active advisors with an availability that has not ended before `today`."""
    return (
        select(Advisor.place_id)
        .join(AdvisorAvailability, AdvisorAvailability.advisor_id == Advisor.id)
        .where(
            Advisor.active.is_(True),
            or_(
                AdvisorAvailability.valid_until.is_(None), AdvisorAvailability.valid_until >= today
            ),
        )
        .distinct()
    )


def _today(now: datetime | None) -> date:
    return (now or clock.now()).astimezone(clock.PARIS).date()


def has_agenda(session: Session, place_id: str, now: datetime | None = None) -> bool:
    """True if residents can book a one-to-one appointment at that place through Relais."""
    query = _with_agenda(_today(now)).where(Advisor.place_id == place_id)
    return session.scalar(query) is not None


def places_with_agenda(session: Session, now: datetime | None = None) -> list[PlaceInfo]:
    """Places that take appointments through Relais, by name."""
    ids = set(session.scalars(_with_agenda(_today(now))))
    rows = session.scalars(select(Place).where(Place.id.in_(ids)).order_by(Place.nom))
    return [place_info(place) for place in rows]


def list_motifs(session: Session) -> list[Motif]:
    """The motifs offered to residents, in the file's order."""
    rows = session.scalars(
        select(AppointmentMotif)
        .where(AppointmentMotif.active.is_(True))
        .order_by(AppointmentMotif.position)
    )
    return [Motif(row.code, row.label) for row in rows]
