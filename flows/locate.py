"""Where the resident is and which place they mean: from the message, else from memory."""

from __future__ import annotations

import re

from bot.services import places as place_service
from bot.services.communes import Commune, default_directory
from bot.wording import say
from flows.context import Turn
from flows.messages import Reply
from flows.text import words
from nlu import Intent, Understanding

# How many communes we list when a postal code covers several (the rest: "write its name").
MAX_COMMUNE_CHOICES = 6
# Beyond this distance a place is not "near": we say so rather than send someone 200 km away.
NEAR_KM = 40.0
# A commune name typed with typos is accepted from this fuzzy score (0-100) on.
FUZZY_COMMUNE_SCORE = 88
# Words that introduce where the resident is ("à Thionvile", "près de Yutz", "j'habite Manom").
_LOCATION_MARKER = re.compile(r"(?:^|\s)(?:a|au|sur|vers|pres de|pres d|habite a|habite)\s+(.+)")
# Words after a marker that are not a commune ("à quelle heure", "à la mairie", "à 14h").
_NOT_A_COMMUNE = frozenset(
    [
        "quelle",
        "quel",
        "quelles",
        "quels",
        "partir",
        "la",
        "le",
        "les",
        "l",
        "un",
        "une",
        "mon",
        "ma",
        "mes",
        "votre",
        "vos",
        "chez",
        "domicile",
        "maison",
        "mairie",
        "heure",
        "heures",
        "midi",
        "quoi",
        "qui",
        "ce",
        "cette",
        "cet",
        "demain",
        "aujourd",
        "hui",
        "lundi",
        "mardi",
        "mercredi",
        "jeudi",
        "vendredi",
        "samedi",
        "dimanche",
        "matin",
        "soir",
    ]
)


def mentions_location(understanding: Understanding) -> bool:
    """True when the message gives a postal code or a commune."""
    return bool(understanding.first("postal_code") or understanding.first("commune"))


def ask_for_location(turn: Turn, intent: Intent) -> Reply:
    """Ask where the resident lives, and remember what to answer then."""
    turn.state.ask("location", turn.now, pending_intent=intent.value)
    return Reply(say("ask_location"), key="ask_location", expects="location")


def _commune_options(communes: list[Commune]) -> str:
    names = [c.name for c in communes]
    lines = []
    for number, commune in enumerate(communes, start=1):
        if names.count(commune.name) > 1:
            lines.append(
                say(
                    "commune.option_with_department",
                    number=number,
                    name=commune.name,
                    department=commune.department,
                )
            )
        else:
            lines.append(say("commune.option", number=number, name=commune.name))
    return "\n".join(lines)


def _remember(turn: Turn, commune: Commune) -> Commune:
    turn.state.commune_insee = commune.insee
    return commune


def _fuzzy_commune(words: list[str]) -> Commune | None:
    """The commune best matching the first 1-4 words, longest first, if close enough."""
    directory = default_directory()
    for size in range(min(4, len(words)), 0, -1):
        candidate = " ".join(words[:size])
        if words[0] in _NOT_A_COMMUNE or len(candidate) < 4:
            continue
        found = directory.search(candidate, limit=1)
        if found and found[0][1] >= FUZZY_COMMUNE_SCORE:
            return found[0][0]
    return None


def commune_typed_in(text: str, whole_message: bool = False) -> Commune | None | str:
    """A commune written after "à", "près de"... with typos tolerated.

    Returns the commune; "" when the words after the marker look like a commune we can't find
    (one word of 4+ letters); None when the message names no place at all.
    """
    plain = words(text)
    marker = _LOCATION_MARKER.search(plain)
    if marker is None and not whole_message:
        return None
    typed = (marker.group(1) if marker else plain).split()
    if not typed:
        return None
    commune = _fuzzy_commune(typed)
    if commune is not None:
        return commune
    looks_like_a_name = len(typed[0]) >= 4 and typed[0] not in _NOT_A_COMMUNE
    return "" if looks_like_a_name and (whole_message or len(typed) == 1) else None


def _postal_code_answer(turn: Turn, intent: Intent, code: str) -> Commune | Reply:
    directory = default_directory()
    communes = directory.by_postal_code(code)
    if not communes:
        return Reply(
            say("commune.unknown_postal_code", postal_code=code),
            key="commune.unknown_postal_code",
        )
    turn.state.postal_code = code
    named = turn.understanding.first("commune")
    chosen = [c for c in communes if named is not None and c.insee == str(named.value)]
    if len(communes) == 1 or chosen:
        return _remember(turn, (chosen or communes)[0])
    shown = communes[:MAX_COMMUNE_CHOICES]
    turn.state.ask(
        "commune_choice", turn.now, [c.insee for c in shown], pending_intent=intent.value
    )
    options = _commune_options(shown)
    if len(communes) > len(shown):
        options += "\n" + say("commune.or_name")
    return Reply(
        say("commune.choose", postal_code=code, options=options),
        key="commune.choose",
        expects="commune_choice",
    )


def resolve_location(turn: Turn, intent: Intent) -> Commune | Reply | None:
    """The resident's commune, a question to ask (several or unknown communes), or None."""
    u = turn.understanding
    postal = u.first("postal_code")
    if postal is not None:
        return _postal_code_answer(turn, intent, str(postal.value))
    named = u.first("commune")
    if named is not None:
        commune = default_directory().by_insee(str(named.value))
        if commune is not None:
            return _remember(turn, commune)
    typed = commune_typed_in(turn.text, whole_message=turn.state.expects == "location")
    if isinstance(typed, Commune):
        return _remember(turn, typed)
    if typed == "":
        turn.state.ask("location", turn.now, pending_intent=intent.value)
        return Reply(say("commune.not_found"), key="commune.not_found", expects="location")
    if turn.state.commune_insee:
        return default_directory().by_insee(turn.state.commune_insee)
    return None


def place_named_in(turn: Turn) -> place_service.PlaceInfo | None:
    """A place whose name the message contains ("la médiathèque de la Côte des Roses")."""
    found = place_service.find_places_by_name(turn.session, turn.text)
    if not found:
        return None
    place = found[0][0]
    turn.state.place_id = place.id
    return place


def remembered_place(turn: Turn) -> place_service.PlaceInfo | None:
    """The place last talked about, if it still exists."""
    if not turn.state.place_id:
        return None
    return place_service.get_place(turn.session, turn.state.place_id)


def places_near(turn: Turn, commune: Commune, limit: int) -> list[place_service.NearbyPlace]:
    """Places within NEAR_KM of a commune's centre, nearest first."""
    return place_service.find_nearest_places(
        turn.session, commune.latitude, commune.longitude, limit=limit, max_km=NEAR_KM
    )


def nearest_place(
    turn: Turn, commune: Commune, with_phone: bool = False
) -> place_service.PlaceInfo | None:
    """The nearest place to a commune within NEAR_KM (with a phone number, if asked)."""
    for nearby in places_near(turn, commune, limit=10):
        if nearby.place.phone or not with_phone:
            return nearby.place
    return None
