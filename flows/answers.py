"""Answers that need nothing but the catalogue (and, for some, the place talked about)."""

from __future__ import annotations

import re

from bot.wording import say
from flows import locate, menus
from flows.context import Turn
from flows.messages import Channel, Reply
from flows.text import fold

# Words residents use for a task -> the catalogue key naming that task ("services.topics.*").
TOPIC_WORDS: tuple[tuple[str, str], ...] = (
    (r"impot|fiscal|declaration de revenu|taxe", "taxes"),
    (r"\bcaf\b|allocation|\bapl\b|\brsa\b|prime d.activite", "caf"),
    (r"ameli|secu|carte vitale|assurance maladie|cpam", "ameli"),
    (r"\bants\b|carte grise|permis|passeport|carte d.identite", "ants"),
    (r"retraite|pension|\bcarsat\b", "pension"),
    (r"france travail|pole emploi|chomage", "employment"),
    (r"\bcv\b|curriculum|emploi|lettre de motivation|candidature", "cv"),
    (r"mot de passe|mots de passe|identifiant|\bmdp\b", "password"),
    (r"e-?mail|mail|courriel|messagerie|gmail|boite", "email"),
    (r"smartphone|portable|telephone|tablette|\bappli", "smartphone"),
    (r"mon espace sante|doctolib|teleconsultation|medecin", "health"),
    (r"ordinateur|ordi|\bpc\b|clavier|souris|internet", "computer"),
)
_PAID_OR_GAVE = re.compile(
    r"\b(j.ai|on m.a|ils m.ont|deja) (paye|donne|vire|envoye)|donne (mon|mes|le|les) code"
    r"|donne ma carte|rembours"
)


def _static(key: str) -> Reply:
    return Reply(say(key), key=key)


def greet(_turn: Turn) -> Reply:
    """Hello, and what to ask."""
    return _static("greet")


def thanks(_turn: Turn) -> Reply:
    """You're welcome."""
    return _static("thanks")


def goodbye(turn: Turn) -> Reply:
    """Goodbye; any question pending is dropped."""
    turn.state.clear_question()
    return _static("goodbye")


def affirm(_turn: Turn) -> Reply:
    """A yes with nothing pending."""
    return _static("affirm")


def deny(turn: Turn) -> Reply:
    """A no: drop what was pending."""
    turn.state.clear_question()
    return _static("deny")


def out_of_scope(turn: Turn) -> Reply:
    """Not our business, kindly, with what we can do; repeated, it counts as not understood."""
    turn.state.failures += 1
    if turn.state.failures >= menus.failures_before_person(turn):
        if turn.channel == Channel.VOICE:
            return menus.person_on_a_call(turn)
        return menus.person_after_failures(turn)
    return _static("out_of_scope")


def what_to_bring(_turn: Turn) -> Reply:
    """The list of what to bring, and the rule about codes."""
    return Reply(f"{say('what_to_bring')} {say('what_to_bring.codes')}", key="what_to_bring")


def topic_of(text: str) -> str | None:
    """The task a message is about ("taxes", "caf", ...), if it names one."""
    plain = fold(text)
    return next((topic for pattern, topic in TOPIC_WORDS if re.search(pattern, plain)), None)


def services(turn: Turn) -> Reply:
    """Yes for the task named, or what advisors help with."""
    topic = topic_of(turn.text)
    if topic is None:
        return _static("services.general")
    return Reply(say("services.topic", topic=say(f"services.topics.{topic}")), key="services.topic")


def price(turn: Turn) -> Reply:
    """It's free; a place known to charge or to need membership is named."""
    place = locate.place_named_in(turn) or locate.remembered_place(turn)
    if place is not None and place.phone:
        fees = set(place.fees)
        if "Payant" in fees:
            return Reply(
                say("price.place_paid", place=place.name, phone=place.phone), key="price.place_paid"
            )
        if "Gratuit sous condition" in fees:
            conditional = say("price.place_conditional", place=place.name, phone=place.phone)
            text = f"{say('price.free')} {conditional}"
            return Reply(text, key="price.place_conditional")
    return _static("price.free")


def device_repair(_turn: Turn) -> Reply:
    """Advisors don't repair; where to go instead."""
    return Reply(f"{say('device_repair')} {say('device_repair.after')}", key="device_repair")


def money_or_codes_given(text: str) -> bool:
    """True when the resident says they paid, or gave codes or card details."""
    return bool(_PAID_OR_GAVE.search(fold(text)))


def scam_check(turn: Turn) -> Reply:
    """Concrete advice on a suspicious message; urgent steps if money or codes were given."""
    if money_or_codes_given(turn.text):
        return Reply(f"{say('scam_check.more')} {say('scam_check')}", key="scam_check.more")
    return _static("scam_check")
