"""Commune names in residents' messages, exact or misspelt, against the French gazetteer."""

from __future__ import annotations

import pytest

from nlu import EmbeddedEngine
from nlu.gazetteer import CommuneMatcher, learn_lexicon
from nlu.normalise import fold


def communes(engine: EmbeddedEngine, text: str) -> list[str]:
    return [e.value for e in engine.parse(text).entities if e.entity == "commune"]


@pytest.mark.parametrize(
    ("text", "insee"),
    [
        ("Il y a une permanence à Yutz ?", "57757"),
        ("j'habite thionville", "57672"),
        ("permanence a tionvile ?", "57672"),
        ("je suis à Behren-lès-Forbach", "57058"),
        ("behren les forbach", "57058"),
        ("c'est où à st etienne", "42218"),
        ("Saint-Étienne", "42218"),
        ("horaires mairie de Montrond les Bains", "42149"),
        ("CRETEIL", "94028"),
        ("la médiathèque de Sucy-en-Brie", "94071"),
        ("je suis de boissy saint leger", "94004"),
        ("j'habite Limeil-Brevannes", "94044"),
    ],
)
def test_town_written_in_any_way_is_found(france: EmbeddedEngine, text: str, insee: str) -> None:
    assert communes(france, text) == [insee]


def test_commune_entity_carries_name_span_and_code(france: EmbeddedEngine) -> None:
    text = "Il y a une permanence à Tionvile ?"
    [entity] = [e for e in france.parse(text).entities if e.entity == "commune"]
    assert (entity.value, entity.text, entity.extra["name"]) == ("57672", "Tionvile", "thionville")
    assert text[entity.start : entity.end] == "Tionvile"
    assert entity.confidence < 1.0  # a typo is less sure than the name


@pytest.mark.parametrize(("text", "insee"), [("je suis à Boissy", "94004"), ("behren", "57058")])
def test_short_form_of_a_name_lists_every_commune_it_starts(
    france: EmbeddedEngine, text: str, insee: str
) -> None:
    [entity] = [e for e in france.parse(text).entities if e.entity == "commune"]
    assert insee in entity.extra.get("insee_codes", [entity.value])


@pytest.mark.parametrize(
    "text",
    [
        "ça marche",
        "avec plaisir",
        "un grand merci",
        "c'est à côté de chez moi ?",
        "Bonjour c'est madame Martin",
        "ma fille m'a aidée",
        "c'est en ligne ?",
        "je viens demain",
        "il y a des frais ?",
        "aucun",
        "je n'ai plus de messages",
        "Je voudrais un titre de séjour",
        "mon téléphone est à la maison",
        "SOS",
        "Bonjour, je voudrais un rendez-vous samedi",
        "je vais à pied",
    ],
)
def test_everyday_words_are_not_taken_for_communes(france: EmbeddedEngine, text: str) -> None:
    assert communes(france, text) == []


def test_postal_code_is_not_read_as_a_commune(france: EmbeddedEngine) -> None:
    entities = france.parse("57100").entities
    assert [e.entity for e in entities] == ["postal_code"]


def test_demo_gazetteer_ignores_everyday_words_that_are_commune_names(
    engine: EmbeddedEngine,
) -> None:
    assert communes(engine, "ça marche, merci ma fille") == []
    assert communes(engine, "j'habite à Forbach") == ["57227"]


def test_words_capitalised_mid_sentence_are_proper_nouns() -> None:
    texts = ["Je suis à Forbach", "c'est où Forbach ?", "ça marche", "C'est ouvert", "YUTZ OUVERT"]
    lexicon = learn_lexicon([*texts, "Merci à Pauline"])
    assert "marche" in lexicon.common and "forbach" in lexicon.proper
    assert "pauline" not in lexicon.proper  # seen once: could be a typo
    assert "c" not in lexicon.proper  # a capital opening a sentence says nothing
    assert "yutz" not in lexicon.proper  # nor does a message in capitals


def test_matcher_without_lexicon_still_needs_evidence() -> None:
    matcher = CommuneMatcher([("Yutz", "57757"), ("Marche", "58156")])
    for text, expected in [("à Yutz", ["57757"]), ("yutz", ["57757"]), ("ça marche bien", [])]:
        assert [e.value for e in matcher.find(text, fold(text))] == expected
