"""Find lieux de médiation numérique: by id, by distance, by (misspelt) name, by commune."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple

import phonenumbers
from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import Place, Workshop
from bot.services.geo import distance_km
from bot.services.opening_hours import PlaceSchedule, department_from_codes

# Name matching: below this score a "match" is more often an ordinary sentence than a place.
NAME_CUTOFF = 85.0
# A misspelt word still counts as the word ("mediateque", "rose") at this rapidfuzz ratio.
_WORD_CUTOFF = 80.0
_MIN_FUZZY_WORD = 5
# Words that say what a place is, not which one: "la médiathèque" alone names no place.
_GENERIC_WORDS = frozenset(
    {
        *("mediatheque", "bibliotheque", "mairie", "maison", "centre", "espace", "numerique"),
        *("services", "service", "france", "social", "sociale", "association", "antenne"),
        *("pole", "point", "lieu", "tiers", "ville", "municipale", "communale", "agence"),
    }
)
# A word in this many place names is generic too.
_GENERIC_WHEN_IN = 3
_STOPWORDS = frozenset(
    {"le", "la", "les", "l", "de", "du", "des", "d", "a", "au", "aux", "en", "et", "un", "une"}
    | {"sur", "sous", "pour", "par"}
)
# French elision (l', d', qu'...) separates words; other apostrophes do not ("THI'PI").
_ELISION = re.compile(r"\b(qu|[cdjlmnst])['’]")


@dataclass(frozen=True, slots=True)
class PlaceInfo:
    """What flows need to know about a place, detached from the database."""

    id: str
    name: str
    address: str
    address_extra: str | None
    postal_code: str
    commune: str
    insee_code: str | None
    department: str | None
    phone: str | None  # for French readers: "03 53 01 01 01"
    phone_e164: str | None
    latitude: float | None
    longitude: float | None
    horaires: str | None
    summary: str | None
    services: tuple[str, ...]
    fees: tuple[str, ...]
    access_modes: tuple[str, ...]
    modalities: tuple[str, ...]  # modalités d'accompagnement: "En autonomie"...
    audiences: tuple[str, ...]
    booking_url: str | None
    websites: tuple[str, ...]

    @property
    def address_line(self) -> str:
        """Address for a message: "12 rue du Cygne, 57100 Thionville"."""
        return f"{self.address}, {self.postal_code} {self.commune}"


class NearbyPlace(NamedTuple):
    """A place and how far it is (great-circle distance)."""

    place: PlaceInfo
    distance_km: float


class PlaceMatch(NamedTuple):
    """A place named in a text, with a rapidfuzz score out of 100."""

    place: PlaceInfo
    score: float


@dataclass(frozen=True, slots=True)
class WorkshopInfo:
    """A recurring group workshop and its next session; `themes` lists rotating themes."""

    id: int
    place: PlaceInfo
    title: str
    themes: tuple[str, ...]
    schedule: str  # OSM opening_hours syntax
    seats: int | None
    audience: str | None
    registration: bool
    next_start: datetime | None  # None: no session in the coming months
    next_end: datetime | None
    distance_km: float | None = None  # from the point searched around, if any


def format_phone(e164: str | None) -> str | None:
    """A phone number as French readers write it ("03 53 01 01 01"), or as given if unreadable."""
    if not e164:
        return None
    try:
        number = phonenumbers.parse(e164, "FR")
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def place_info(place: Place) -> PlaceInfo:
    """The detached view of a Place row."""
    return PlaceInfo(
        id=place.id,
        name=place.nom,
        address=place.adresse,
        address_extra=place.complement_adresse,
        postal_code=place.code_postal,
        commune=place.commune,
        insee_code=place.code_insee,
        department=department_from_codes(place.code_insee, place.code_postal),
        phone=format_phone(place.telephone),
        phone_e164=place.telephone,
        latitude=place.latitude,
        longitude=place.longitude,
        horaires=place.horaires,
        summary=place.presentation_resume,
        services=tuple(place.services or ()),
        fees=tuple(place.frais_a_charge or ()),
        access_modes=tuple(place.modalites_acces or ()),
        modalities=tuple(place.modalites_accompagnement or ()),
        audiences=tuple(place.publics_specifiquement_adresses or ()),
        booking_url=place.prise_rdv,
        websites=tuple(place.site_web or ()),
    )


def get_place(session: Session, place_id: str) -> PlaceInfo | None:
    """The place with that id, or None."""
    place = session.get(Place, place_id)
    return place_info(place) if place is not None else None


def find_nearest_places(
    session: Session,
    latitude: float,
    longitude: float,
    limit: int = 3,
    max_km: float | None = None,
) -> list[NearbyPlace]:
    """Places nearest to a point, closest first; places without a position are left out."""
    located = session.scalars(
        select(Place).where(Place.latitude.is_not(None), Place.longitude.is_not(None))
    )
    nearby = [
        NearbyPlace(place_info(p), distance_km(latitude, longitude, p.latitude, p.longitude))
        for p in located
        if p.latitude is not None and p.longitude is not None
    ]
    nearby.sort(key=lambda found: (found.distance_km, found.place.name))
    if max_km is not None:
        nearby = [found for found in nearby if found.distance_km <= max_km]
    return nearby[:limit]


def places_in_commune(session: Session, insee_code: str) -> list[PlaceInfo]:
    """Places of one commune (INSEE code), by name."""
    rows = session.scalars(select(Place).where(Place.code_insee == insee_code).order_by(Place.nom))
    return [place_info(place) for place in rows]


def normalise_text(text: str) -> str:
    """Lower case, no accents, no punctuation, single spaces: for comparing names."""
    text = _ELISION.sub(r"\1 ", text.lower().replace("œ", "oe").replace("æ", "ae"))
    decomposed = unicodedata.normalize("NFKD", text.replace("'", "").replace("’", ""))
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(re.sub(r"[^a-z0-9]+", " ", bare).split())


def _words(text: str) -> list[str]:
    return [word for word in normalise_text(text).split() if word not in _STOPWORDS]


@dataclass(frozen=True, slots=True)
class _NameEntry:
    """How one place can be named: aliases and the words that identify it."""

    place_id: str
    aliases: tuple[str, ...]
    distinctive: frozenset[str]  # name words that single the place out
    kind: frozenset[str]  # other name words ("mediatheque")
    commune: frozenset[str]  # words of its commune


@lru_cache(maxsize=4)
def _name_entries(rows: tuple[tuple[str, str, str], ...]) -> tuple[_NameEntry, ...]:
    """The name index of these places; cached on the rows themselves, so an import refreshes it."""
    in_names = Counter(word for _, name, _ in rows for word in set(_words(name)))
    generic = _GENERIC_WORDS | {w for w, n in in_names.items() if n >= _GENERIC_WHEN_IN}
    entries = []
    for place_id, name, commune in rows:
        commune_words = frozenset(_words(commune))
        # "La Turbine, espace coworking" is also "La Turbine"; "Mission locale - antenne de Yutz"
        # is also "Mission locale".
        short = re.split(r",| - | – ", name)[0]
        names = {" ".join(_words(n)) for n in (name, short)} - {""}
        with_commune = {f"{n} {' '.join(sorted(commune_words - set(n.split())))}" for n in names}
        words = frozenset(_words(name)) - commune_words
        entries.append(
            _NameEntry(
                place_id=place_id,
                aliases=tuple(sorted(names | {a.strip() for a in with_commune})),
                distinctive=words - generic,
                kind=words & generic,
                commune=commune_words,
            )
        )
    return tuple(entries)


def _mentions(words: frozenset[str], said: set[str]) -> bool:
    """True if one of `words` was said, allowing small misspellings of longer words."""
    return any(
        word in said
        or (
            len(word) >= _MIN_FUZZY_WORD
            and any(fuzz.ratio(word, other) >= _WORD_CUTOFF for other in said)
        )
        for word in words
    )


def _is_named(entry: _NameEntry, said: set[str]) -> bool:
    # A distinctive word ("turbine", "cote roses") names the place; a kind of place needs its
    # commune ("médiathèque de Montrond"), and a commune alone ("Forbach") names none.
    return _mentions(entry.distinctive, said) or (
        _mentions(entry.kind, said) and _mentions(entry.commune, said)
    )


def find_places_by_name(session: Session, text: str) -> list[PlaceMatch]:
    """Places named in `text` (a name or a whole message), best first; [] if none is."""
    said_text = " ".join(_words(text))
    said = set(said_text.split())
    if not said:
        return []
    rows = tuple(
        (place_id, name, commune)
        for place_id, name, commune in session.execute(
            select(Place.id, Place.nom, Place.commune).order_by(Place.id)
        )
    )
    scores: dict[str, float] = {}
    for entry in _name_entries(rows):
        if not _is_named(entry, said):
            continue
        best = max(
            max(fuzz.partial_ratio(alias, said_text), fuzz.token_set_ratio(alias, said_text))
            for alias in entry.aliases
        )
        if best >= NAME_CUTOFF:
            scores[entry.place_id] = best
    matches = []
    for place_id, score in scores.items():
        place = get_place(session, place_id)
        if place is not None:
            matches.append(PlaceMatch(place, round(score, 1)))
    matches.sort(key=lambda match: (-match.score, match.place.name))
    return matches


def _workshop_info(
    workshop: Workshop, place: PlaceInfo, now: datetime, distance: float | None = None
) -> WorkshopInfo:
    themes = tuple(theme.strip() for theme in workshop.title.split(" ; ") if theme.strip())
    schedule = PlaceSchedule(workshop.schedule, place.department)
    # A session under way is too late to join: the next one is the first starting from now.
    upcoming = [(start, end) for start, end in schedule.next_openings(now, 2) if start >= now]
    next_start, next_end = upcoming[0] if upcoming else (None, None)
    return WorkshopInfo(
        id=workshop.id,
        place=place,
        title=workshop.title,
        themes=themes,
        schedule=workshop.schedule,
        seats=workshop.seats,
        audience=workshop.audience,
        registration=workshop.registration,
        next_start=next_start,
        next_end=next_end,
        distance_km=distance,
    )


def list_workshops(session: Session, place_ids: Iterable[str], now: datetime) -> list[WorkshopInfo]:
    """Workshops held at these places, in the order of `place_ids`, with their next session."""
    order = {place_id: n for n, place_id in enumerate(dict.fromkeys(place_ids))}
    rows = session.scalars(select(Workshop).where(Workshop.place_id.in_(order)))
    workshops = sorted(rows, key=lambda w: (order[w.place_id], w.id))
    return [_workshop_info(w, place_info(w.place), now) for w in workshops]


def get_workshop(session: Session, workshop_id: int, now: datetime) -> WorkshopInfo | None:
    """One workshop with its place and next session, or None if it is unknown."""
    workshop = session.get(Workshop, workshop_id)
    return None if workshop is None else _workshop_info(workshop, place_info(workshop.place), now)


def find_workshops_near(
    session: Session,
    latitude: float,
    longitude: float,
    now: datetime,
    limit: int = 3,
    max_km: float | None = None,
) -> list[WorkshopInfo]:
    """Workshops with a coming session, closest place first, then soonest."""
    found: list[WorkshopInfo] = []
    for workshop in session.scalars(select(Workshop)):
        place = workshop.place
        if place.latitude is None or place.longitude is None:
            continue
        km = distance_km(latitude, longitude, place.latitude, place.longitude)
        if max_km is not None and km > max_km:
            continue
        info = _workshop_info(workshop, place_info(place), now, km)
        if info.next_start is not None:
            found.append(info)
    found.sort(key=lambda w: (w.distance_km, w.next_start, w.place.name, w.id))
    return found[:limit]
