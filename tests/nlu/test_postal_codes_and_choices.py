"""Postal codes and menu answers found in residents' messages."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nlu.entities import MAX_CHOICE, find_choice, find_postal_codes

METROPOLITAN = st.integers(1, 95).map(lambda d: f"{d:02d}")
OVERSEAS = st.sampled_from(["971", "972", "973", "974", "975", "976", "986", "987", "988"])
SURROUNDINGS = st.sampled_from(["{}", "je suis au {}", "code postal {} svp", "{}, Yutz", "({})"])


@given(METROPOLITAN, st.integers(0, 999), SURROUNDINGS)
def test_metropolitan_postal_code_is_found(dept: str, rest: int, template: str) -> None:
    code = f"{dept}{rest:03d}"
    found = find_postal_codes(template.format(code))
    assert [e.value for e in found] == [code]


@given(OVERSEAS, st.integers(0, 99))
def test_overseas_postal_code_is_found(prefix: str, rest: int) -> None:
    code = f"{prefix}{rest:02d}"
    assert [e.value for e in find_postal_codes(f"j'habite {code}")] == [code]


@given(st.sampled_from(["00", "96", "99", "977", "980"]), st.integers(0, 99))
def test_code_without_a_real_department_is_flagged_as_unknown(dept: str, rest: int) -> None:
    code = f"{dept}{rest:0{5 - len(dept)}d}"
    [entity] = find_postal_codes(f"code {code}")
    assert (entity.value, entity.confidence) == (code, 0.5)
    assert entity.extra == {"known_department": False}


@given(METROPOLITAN, st.integers(0, 999))
def test_code_with_a_real_department_is_trusted(dept: str, rest: int) -> None:
    [entity] = find_postal_codes(f"{dept}{rest:03d}")
    assert (entity.confidence, entity.extra) == (1.0, {})


@pytest.mark.parametrize(
    "text",
    ["0353010101", "03 53 01 01 01", "1234", "123456", "+33353010101", "le 12/03/2026", "99 999"],
)
def test_phone_numbers_and_other_digits_are_not_postal_codes(text: str) -> None:
    assert find_postal_codes(text) == []


def test_postal_code_spoken_in_two_groups_is_joined() -> None:
    [entity] = find_postal_codes("j'habite au 57 100")
    assert (entity.value, entity.text) == ("57100", "57 100")


def test_postal_code_span_points_into_the_text() -> None:
    text = "Bonjour, je suis à 57970 Yutz"
    [entity] = find_postal_codes(text)
    assert text[entity.start : entity.end] == "57970"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", 1),
        ("2.", 2),
        (" 3 ", 3),
        ("le 2", 2),
        ("Le 2 svp", 2),
        ("deux", 2),
        ("2eme", 2),
        ("2ème", 2),
        ("2e", 2),
        ("la deuxième", 2),
        ("premier", 1),
        ("le premier", 1),
        ("1er", 1),
        ("la troisième", 3),
        ("choix 3", 3),
        ("je prends le 4", 4),
        ("réponse 1 merci", 1),
        ("zéro", 0),
    ],
)
def test_menu_answer_is_a_choice(text: str, value: int) -> None:
    choice = find_choice(text)
    assert choice is not None and choice.value == value
    assert text[choice.start : choice.end] == choice.text


@pytest.mark.parametrize(
    "text", ["je voudrais 2 rendez-vous", "57100", "21", "le 2 décembre", "14h", "deux fois", ""]
)
def test_message_that_only_contains_a_number_is_not_a_choice(text: str) -> None:
    assert find_choice(text) is None


@given(
    st.integers(0, MAX_CHOICE),
    st.sampled_from(["{}", "{}.", "{})", "le {}", "la {}", "choix {}", "{} svp", "  {}  ", "{}!"]),
)
def test_any_numbered_answer_is_its_number(n: int, template: str) -> None:
    choice = find_choice(template.format(n))
    assert choice is not None and choice.value == n


@given(st.integers(1, 10), st.sampled_from(["{}e", "{}eme", "{}ème", "le {}ème"]))
def test_any_ordinal_answer_is_its_number(n: int, template: str) -> None:
    choice = find_choice(template.format(n))
    assert choice is not None and choice.value == n
