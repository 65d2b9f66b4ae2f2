"""What the engine understands of residents' messages, in the ways they really write."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nlu import EmbeddedEngine, Intent, IntentEngine, Understanding


@pytest.mark.parametrize(
    "text",
    [
        "Bjr, jvoudrais un RDV pr jeudi stp",
        "jveux 1 rdv svp",
        "rdv possible mardi ?",
        "slt g besoin dun rdv pr mon compte ameli",
    ],
)
def test_sms_shorthand_booking_request_is_understood(engine: EmbeddedEngine, text: str) -> None:
    assert engine.parse(text).intent is Intent.BOOK_APPOINTMENT


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        "Stop !",
        "ARRET",
        "arrêt",
        "ARRÊT.",
        "DESABONNEMENT",
        "désabonnement",
        "Désabonnement",
        "stop sms",
        "  STOP SMS  ",
        "« Stop »",
    ],
)
def test_stop_in_any_case_is_opt_out(engine: EmbeddedEngine, text: str) -> None:
    understood = engine.parse(text)
    assert (understood.intent, understood.confidence) == (Intent.OPT_OUT, 1.0)


@pytest.mark.parametrize(
    "text",
    [
        "je ne veux plus recevoir vos messages",
        "arrêtez de m'envoyer des SMS s'il vous plaît",
        "désinscrivez-moi",
    ],
)
def test_opt_out_in_a_sentence_is_understood(engine: EmbeddedEngine, text: str) -> None:
    assert engine.parse(text).intent is Intent.OPT_OUT


def test_stop_inside_a_question_is_left_to_the_classifier(engine: EmbeddedEngine) -> None:
    # Only a message that is nothing but the keyword is certain.
    assert engine.parse("c'est quand l'arrêt de bus ?").confidence < 1.0


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Bonjour, c'est ouvert samedi ?", Intent.OPENING_HOURS),
        ("bonjour je voudrais un rendez-vous", Intent.BOOK_APPOINTMENT),
        ("Bonsoir madame, c'est gratuit ?", Intent.PRICE),
        (
            "allo oui bonjour je voudrais annuler mon rendez-vous de demain",
            Intent.CANCEL_APPOINTMENT,
        ),
        ("Bjr, vous êtes où à Forbach ?", Intent.FIND_PLACE),
        ("Bonjour. Mon téléphone est tombé et l'écran est cassé. Merci", Intent.DEVICE_REPAIR),
    ],
)
def test_greeting_with_request_takes_the_request(
    engine: EmbeddedEngine, text: str, intent: Intent
) -> None:
    assert engine.parse(text).intent is intent


@pytest.mark.parametrize("text", ["Bonjour", "bjr", "allô ?", "Bonsoir madame"])
def test_greeting_alone_is_greet(engine: EmbeddedEngine, text: str) -> None:
    assert engine.parse(text).intent is Intent.GREET


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("euh oui bonjour je voudrais savoir si vous êtes ouvert samedi", Intent.OPENING_HOURS),
        ("oui bonjour je voudrais parler à quelqu'un s'il vous plaît", Intent.HUMAN_ADVISOR),
        ("euh j'ai reçu un message pour une amende je sais pas si c'est vrai", Intent.SCAM_CHECK),
        ("alors voilà je sais pas ce que je dois apporter pour jeudi", Intent.WHAT_TO_BRING),
    ],
)
def test_spoken_transcript_without_punctuation_is_understood(
    engine: EmbeddedEngine, text: str, intent: Intent
) -> None:
    assert engine.parse(text).intent is intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("oui", Intent.AFFIRM),
        ("non merci", Intent.DENY),
        ("merci beaucoup", Intent.THANKS),
        ("bonne journée", Intent.GOODBYE),
        ("comment ça marche ?", Intent.HELP),
        ("C'est quoi la météo demain ?", Intent.OUT_OF_SCOPE),
    ],
)
def test_short_replies_are_understood(engine: EmbeddedEngine, text: str, intent: Intent) -> None:
    assert engine.parse(text).intent is intent


@pytest.mark.parametrize("text", ["", "   ", "😀👍", "?!", "…"])
def test_empty_or_emoji_only_message_is_out_of_scope_with_no_confidence(
    engine: EmbeddedEngine, text: str
) -> None:
    understood = engine.parse(text)
    assert (understood.intent, understood.confidence) == (Intent.OUT_OF_SCOPE, 0.0)


def test_ranking_gives_the_five_likeliest_intents_best_first(engine: EmbeddedEngine) -> None:
    understood = engine.parse("je voudrais changer la date de mon rendez-vous")
    intents = [intent for intent, _ in understood.ranking]
    scores = [score for _, score in understood.ranking]
    assert len(understood.ranking) == 5 and len(set(intents)) == 5
    assert scores == sorted(scores, reverse=True)
    assert understood.ranking[0] == (understood.intent, understood.confidence)


def test_understanding_has_the_rasa_parse_shape(engine: EmbeddedEngine) -> None:
    result = engine.parse("je voudrais un rdv jeudi à 14h30 à Yutz").to_rasa()
    assert result["intent"]["name"] == "book_appointment"
    assert {e["entity"] for e in result["entities"]} == {"date", "time", "commune"}
    assert len(result["intent_ranking"]) == 5


def test_embedded_engine_is_an_intent_engine(engine: EmbeddedEngine) -> None:
    parser: IntentEngine = engine
    assert isinstance(parser.parse("bonjour"), Understanding)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_understood_without_error(engine: EmbeddedEngine, text: str) -> None:
    understood = engine.parse(text)
    assert isinstance(understood.intent, Intent)
    assert 0.0 <= understood.confidence <= 1.0
    for entity in understood.entities:
        assert 0 <= entity.start < entity.end <= len(text)
        assert text[entity.start : entity.end] == entity.text
