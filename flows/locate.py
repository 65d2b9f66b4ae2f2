"""Where the resident is and which place they mean: from the message, else from memory."""

from __future__ import annotations

from bot.services import places as place_service
from bot.services.communes import Commune, default_directory
from bot.wording import say
from flows.context import Turn
from flows.messages import Reply
from nlu import Intent, Understanding

# How many communes we list when a postal code covers several (the rest: "write its name").
MAX_COMMUNE_CHOICES = 6


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


def resolve_location(turn: Turn, intent: Intent) -> Commune | Reply | None:
    """The resident's commune, a question to ask (several or unknown communes), or None."""
    directory = default_directory()
    u = turn.understanding
    postal = u.first("postal_code")
    if postal is not None:
        code = str(postal.value)
        communes = directory.by_postal_code(code)
        if not communes:
            return Reply(
                say("commune.unknown_postal_code", postal_code=code),
                key="commune.unknown_postal_code",
            )
        turn.state.postal_code = code
        if len(communes) == 1:
            return _remember(turn, communes[0])
        shown = communes[:MAX_COMMUNE_CHOICES]
        turn.state.ask(
            "commune_choice", turn.now, [c.insee for c in shown], pending_intent=intent.value
        )
        return Reply(
            say("commune.choose", postal_code=code, options=_commune_options(shown)),
            key="commune.choose",
            expects="commune_choice",
        )
    named = u.first("commune")
    if named is not None:
        commune = directory.by_insee(str(named.value))
        if commune is not None:
            return _remember(turn, commune)
    if turn.state.commune_insee:
        return directory.by_insee(turn.state.commune_insee)
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


def nearest_place(turn: Turn, commune: Commune) -> place_service.PlaceInfo | None:
    """The place nearest to a commune's centre."""
    nearby = place_service.find_nearest_places(
        turn.session, commune.latitude, commune.longitude, limit=1
    )
    return nearby[0].place if nearby else None
