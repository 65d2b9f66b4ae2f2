"""The distress detector (flows/distress.py): what residents write when they need a person now."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.distress import Distress, detect_distress


@pytest.mark.parametrize(
    "text",
    [
        "Au secours !",
        "aidez-moi svp",
        "AIDEZ MOI",
        "Je suis perdue",
        "je suis complètement perdu avec ce site",
        "Je n'y arrive pas",
        "j'y arrive plus",
        "jy arrive pas du tout",
        "je n'arrive plus à rien",
        "je n'en peux plus",
        "c'est urgent",
        "C'EST TRÈS URGENT",
        "besoin d1 rdv urgent",
        "c'est une urgence",
        "je panique",
        "désespérée",
        "je suis au bout du rouleau",
        "je vais perdre mes droits",
        "je vais perdre mes allocations",
        "je vais perdre mon RSA",
        "on va me couper l'électricité",
        "ils m'ont coupé les allocations",
        "je n'ai plus rien à manger",
        "pas de quoi manger ce soir",
        "expulsion",
        "on va m'expulser jeudi",
        "je vais me retrouver à la rue",
    ],
)
def test_words_of_distress_are_found(text: str) -> None:
    assert detect_distress(text) == Distress.DISTRESS


@pytest.mark.parametrize(
    "text",
    [
        "envie de mourir",
        "j'ai envie de mourir",
        "je vais me suicider",
        "je veux en finir",
        "en finir avec la vie",
        "je n'ai plus envie de vivre",
        "je veux me tuer",
        "mettre fin à mes jours",
        # No negation cancels these: a false alarm costs a phone number, a miss much more.
        "je n'ai pas envie de mourir mais je n'en peux plus",
    ],
)
def test_words_about_suicide_are_found(text: str) -> None:
    assert detect_distress(text) == Distress.SUICIDE


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Bonjour",
        "c'est ouvert samedi ?",
        "je veux parler à quelqu'un",
        "ce n'est pas urgent",
        "pas urgent du tout",
        "rien d'urgent, c'est pour un rdv",
        "je ne suis pas perdu",
        "je suis pas perdue, merci",
        "pas de panique",
        "je panique pas",
        "je ne suis pas désespéré",
        "Je n'arrive pas à ouvrir ma messagerie.",
        "j'ai perdu mon mot de passe ameli",
        "je voudrais en finir avec ce dossier",
        "internet me coupe tout le temps",
        "je ne vais pas perdre mes droits ?",
        "les urgences de l'hôpital",
        "STOP",
    ],
)
def test_ordinary_messages_are_not_distress(text: str) -> None:
    assert detect_distress(text) is None


def test_urgency_quoted_from_a_suspicious_message_is_not_distress() -> None:
    text = "Le message dit que c'est urgent et que je dois payer aujourd'hui"
    assert detect_distress(text) == Distress.DISTRESS
    assert detect_distress(text, about_a_scam=True) is None
    assert detect_distress("au secours, j'ai reçu un sms urgent", about_a_scam=True) is not None


@given(st.text())
def test_the_detector_never_raises(text: str) -> None:
    assert detect_distress(text) in {None, Distress.DISTRESS, Distress.SUICIDE}
    assert detect_distress(text, about_a_scam=True) in {None, Distress.DISTRESS, Distress.SUICIDE}
