"""SMS wording said on the phone: speakable() and shorten() (webhooks/voice_text.py, issue 7)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.wording import say
from webhooks.voice_text import MAX_WORDS, shorten, speakable, words

ABBREVIATED_TIME = re.compile(r"\b\d{1,2}h\d{0,2}\b")


def test_the_25_second_rule_is_62_words() -> None:
    assert MAX_WORDS == 62


@pytest.mark.parametrize(
    ("sms", "spoken"),
    [
        ("Ouvert à 9h.", "Ouvert à 9 heures."),
        ("Ouvert à 9h45.", "Ouvert à 9 heures 45."),
        ("Ouvert à 14h00.", "Ouvert à 14 heures."),
        ("Ouvert à 9h05.", "Ouvert à 9 heures 5."),
        ("Fermé à 12h.", "Fermé à midi."),
        ("De 12h30 à 17h.", "De 12 heures 30 à 17 heures."),
    ],
)
def test_times_are_said_in_words(sms: str, spoken: str) -> None:
    assert speakable(sms) == spoken


def test_answer_with_a_number_becomes_press_a_key() -> None:
    assert speakable("Répondez 1, 2 ou 3") == "Tapez 1, 2 ou 3."
    assert speakable("Répondez avec le numéro.") == "Tapez le numéro."


def test_a_numbered_list_becomes_press_n_for_each_line() -> None:
    sms = "Rendez-vous libres :\n1 mardi 24 novembre à 9h\n2 mardi 24 novembre à 9h45"
    assert speakable(sms) == (
        "Rendez-vous libres : mardi 24 novembre à 9 heures, tapez 1. "
        "mardi 24 novembre à 9 heures 45, tapez 2."
    )
    assert speakable("1. Pôle numérique THI'PI\n2) Le Puzzle") == (
        "Pôle numérique THI'PI, tapez 1. Le Puzzle, tapez 2."
    )


def test_a_numbered_question_is_not_a_choice() -> None:
    assert speakable("1 question ?") == "1 question ?"


@pytest.mark.parametrize("keyword", ["OUI", "NON", "ANNULER", "DECALER", "ATTENTE", "STOP", "AIDE"])
def test_keywords_in_capitals_are_said_not_spelled(keyword: str) -> None:
    spoken = speakable(f"Envoyez {keyword} quand vous voulez.")
    assert keyword not in spoken
    assert keyword.lower() in spoken


def test_yes_questions_say_which_key_means_yes() -> None:
    spoken = speakable("Voulez-vous en prendre un ? Répondez OUI.")
    assert spoken == f"Voulez-vous en prendre un ? {say('voice.say_yes').capitalize()}."


def test_other_dates_are_asked_for_by_voice() -> None:
    assert "dites autre" in speakable("Répondez 1, 2 ou 3, ou AUTRE pour d'autres dates.")


def test_urls_examples_and_rdv_are_not_read_aloud() -> None:
    spoken = speakable("Votre rdv : voir https://relais.example.org/r/abc123 (ex : 57100)")
    assert "http" not in spoken and "example" not in spoken and "ex :" not in spoken
    assert "rendez-vous" in spoken and "rdv" not in spoken


def test_the_sms_help_hint_becomes_the_phone_keys() -> None:
    spoken = speakable("Je n'ai pas compris. Répondez AIDE pour le menu.")
    assert spoken == f"Je n'ai pas compris. {say('voice.answer_hint')}"


def test_a_short_text_is_kept_whole() -> None:
    text = "Bonjour. Ouvert jusqu'à midi."
    assert shorten(text) == text


def test_a_long_text_is_cut_after_the_last_whole_sentence_that_fits() -> None:
    sentence = "Le conseiller vous aide pour vos démarches en ligne et votre smartphone."  # 12
    text = " ".join([sentence] * 8)  # 96 words
    short = shorten(text)
    assert short == " ".join([sentence] * 5)  # 60 words; a sixth would make 72
    assert words(short) <= MAX_WORDS
    assert short.endswith(".")


def test_a_single_endless_sentence_is_cut_at_a_word() -> None:
    short = shorten("mot " * 100)
    assert words(short) == MAX_WORDS
    assert short.endswith("mot.")


def test_speakable_cuts_a_long_reply_between_sentences() -> None:
    lines = [f"{n} mardi 24 novembre à {8 + n}h, Pôle numérique THI'PI" for n in range(1, 10)]
    spoken = speakable("\n".join(lines))
    assert words(spoken) <= MAX_WORDS
    # Whole choices only: the first five fit (54 words), the sixth would not.
    assert spoken.endswith("mardi 24 novembre à 13 heures, Pôle numérique THI'PI, tapez 5.")
    assert "tapez 6" not in spoken


# Text mixing what the catalogue writes (times, keywords, numbered lines, URLs) with any text.
_TOKENS = st.one_of(
    st.builds(lambda h: f"{h}h", st.integers(0, 23)),
    st.builds(lambda h, m: f"{h}h{m:02d}", st.integers(0, 23), st.integers(0, 59)),
    st.sampled_from(
        [
            "Répondez",
            "Répondez 1, 2 ou 3",
            "OUI",
            "NON",
            "AUTRE",
            "rdv",
            "https://relais.example.org/r/x",
            "(ex : 57100)",
            ".",
            "?",
            "\n",
            "\n1 ",
            "\n2. ",
            "à",
            "-",
            ",",
        ]
    ),
    st.text(max_size=12),
)
_SMS = st.lists(_TOKENS, max_size=80).map(" ".join)


@given(_SMS)
def test_any_reply_is_short_enough_and_has_no_abbreviated_time(sms: str) -> None:
    spoken = speakable(sms)
    assert words(spoken) <= MAX_WORDS
    assert not ABBREVIATED_TIME.search(spoken), spoken


@given(st.text(), st.integers(1, 200))
def test_shorten_never_exceeds_the_limit(text: str, max_words: int) -> None:
    short = shorten(text, max_words)
    assert words(short) <= max_words
    if words(text) <= max_words:
        assert short == text
