"""Finding places: by id, nearest to a point, named in a message, by commune; workshops."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from bot.clock import PARIS
from bot.services.places import (
    find_nearest_places,
    find_places_by_name,
    find_workshops_near,
    format_phone,
    get_place,
    list_workshops,
    places_in_commune,
)
from bot.services.places_import import DEMO_PLACES_PATH, import_places, load_demo_workshops
from tests.places_fixtures import IMPORTED_AT, temp_session

NEAR_LE_PUZZLE = (49.3540, 6.1600)
FORBACH_CENTRE = (49.1880, 6.8960)
MONDAY_30_NOVEMBER = datetime(2026, 11, 30, 9, tzinfo=PARIS)


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    with temp_session(tmp_path) as session:
        import_places(session, DEMO_PLACES_PATH, IMPORTED_AT)
        load_demo_workshops(session)
        yield session


def test_get_place_gives_what_a_resident_needs(session: Session) -> None:
    place = get_place(session, "demo-thipi-thionville")

    assert place is not None
    assert place.name == "Pôle numérique THI'PI"
    assert place.phone == "03 53 01 01 01"
    assert place.phone_e164 == "+33353010101"
    assert place.address_line == "12 rue du Cygne, 57100 Thionville"
    assert place.department == "57"
    assert "Aide aux démarches administratives" in place.services
    assert place.fees == ("Gratuit",)


def test_get_place_with_an_unknown_id_is_none(session: Session) -> None:
    assert get_place(session, "nowhere") is None


@pytest.mark.parametrize(
    ("e164", "shown"),
    [("+33465710101", "04 65 71 01 01"), ("+590590123456", "0590 12 34 56"), (None, None)],
)
def test_phone_numbers_are_shown_the_french_way(e164: str | None, shown: str | None) -> None:
    assert format_phone(e164) == shown


def test_nearest_places_are_sorted_by_distance(session: Session) -> None:
    nearby = find_nearest_places(session, *NEAR_LE_PUZZLE, limit=3)

    assert [n.place.id for n in nearby] == [
        "demo-puzzle-thionville",
        "demo-thipi-thionville",
        "demo-mediatheque-cote-des-roses",
    ]
    assert [round(n.distance_km, 1) for n in nearby] == [0.1, 0.7, 1.6]


def test_nearest_places_respect_the_distance_limit(session: Session) -> None:
    nearby = find_nearest_places(session, *FORBACH_CENTRE, limit=10, max_km=10)

    assert {n.place.id for n in nearby} == {
        "demo-la-turbine-forbach",
        "demo-maison-services-behren",
    }


@pytest.mark.parametrize(
    ("text", "place_id"),
    [
        ("la médiathèque de la Côte des Roses", "demo-mediatheque-cote-des-roses"),
        ("mediatheque cote des roses", "demo-mediatheque-cote-des-roses"),
        ("la turbine", "demo-la-turbine-forbach"),
        ("le puzzle", "demo-puzzle-thionville"),
        ("médiathèque de Montrond", "demo-mediatheque-montrond"),
        ("la MJC de Montrond", "demo-mjc-montrond"),
        ("thipi", "demo-thipi-thionville"),
        ("la médiathèque de Créteil", "demo-mediatheque-creteil"),
        (
            "c'est ouvert quand la médiathèque de la Côte des Roses ?",
            "demo-mediatheque-cote-des-roses",
        ),
        (
            "vous ouvrez quand a la mediateque de la cote des rose",
            "demo-mediatheque-cote-des-roses",
        ),
        ("je peux venir au Puzzle samedi ?", "demo-puzzle-thionville"),
    ],
)
def test_a_place_is_found_by_its_name_even_inside_a_message(
    session: Session, text: str, place_id: str
) -> None:
    found = find_places_by_name(session, text)

    assert [match.place.id for match in found] == [place_id]
    assert found[0].score >= 85


@pytest.mark.parametrize(
    "text",
    [
        "bonjour je voudrais un rdv",
        "c'est ouvert quand ?",
        "la médiathèque",
        "Thionville",
        "je suis à Forbach",
        "Sucy-en-Brie",
        "j'ai un problème avec mon mot de passe ameli",
        "merci beaucoup",
        "oui",
        "",
    ],
)
def test_a_message_without_a_place_name_finds_nothing(session: Session, text: str) -> None:
    assert find_places_by_name(session, text) == []


def test_places_in_a_commune_are_listed_by_name(session: Session) -> None:
    names = [place.name for place in places_in_commune(session, "57672")]

    assert names == ["Le Puzzle", "Médiathèque de la Côte des Roses", "Pôle numérique THI'PI"]


def test_workshops_of_a_place_list_their_rotating_themes(session: Session) -> None:
    (puzzle,) = list_workshops(session, ["demo-puzzle-thionville"], MONDAY_30_NOVEMBER)

    assert puzzle.place.name == "Le Puzzle"
    assert puzzle.schedule == "Th 14:00-16:00; PH off"
    assert puzzle.themes == (
        "Les sites administratifs, simplifier ses démarches",
        "La sécurité sur Internet",
        "Les logiciels de traitement de texte",
    )
    assert (puzzle.seats, puzzle.audience, puzzle.registration) == (8, "adhérents", True)
    assert (puzzle.next_start, puzzle.next_end) == (
        datetime(2026, 12, 3, 14, tzinfo=PARIS),
        datetime(2026, 12, 3, 16, tzinfo=PARIS),
    )


def test_workshops_near_a_point_come_closest_first_with_their_next_session(
    session: Session,
) -> None:
    found = find_workshops_near(session, *FORBACH_CENTRE, MONDAY_30_NOVEMBER, limit=2)

    assert [w.place.id for w in found] == ["demo-la-turbine-forbach", "demo-puzzle-thionville"]
    turbine = found[0]
    assert turbine.themes == ("Premiers pas sur l'ordinateur",)
    assert turbine.next_start == datetime(2026, 12, 2, 14, tzinfo=PARIS)  # first Wednesday
    assert turbine.distance_km is not None and turbine.distance_km < 1


def test_a_workshop_under_way_offers_its_next_session(session: Session) -> None:
    during = datetime(2026, 12, 3, 15, tzinfo=PARIS)

    (puzzle,) = list_workshops(session, ["demo-puzzle-thionville"], during)

    assert puzzle.next_start == datetime(2026, 12, 10, 14, tzinfo=PARIS)


def test_workshop_sessions_on_public_holidays_are_skipped(session: Session) -> None:
    # Saturdays 1 May and 8 May 2027 are public holidays; Limeil meets on Saturdays.
    friday = datetime(2027, 4, 30, 18, tzinfo=PARIS)

    (limeil,) = list_workshops(session, ["demo-mediatheque-limeil"], friday)

    assert limeil.next_start == datetime(2027, 5, 15, 10, tzinfo=PARIS)
    assert limeil.next_end == datetime(2027, 5, 15, 11, 30, tzinfo=PARIS)
