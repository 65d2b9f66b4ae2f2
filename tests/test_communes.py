"""Finding a commune from what a resident texts: a postal code, an INSEE code or a misspelt name."""

from __future__ import annotations

import importlib.util
import math
import struct
import sys
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.services.communes import (
    Commune,
    CommuneDirectory,
    default_directory,
    name_variants,
    normalise_name,
)
from bot.services.geo import distance_km

BUILD_SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "build_communes.py"


@pytest.fixture(scope="module")
def directory() -> CommuneDirectory:
    return default_directory()


def names(communes: list[Commune]) -> list[str]:
    return [commune.name for commune in communes]


def top_hit(directory: CommuneDirectory, query: str) -> tuple[str, str]:
    commune, _ = directory.search(query)[0]
    return commune.name, commune.department


# --- postal codes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("postal_code", "commune"),
    [
        ("42000", "Saint-Étienne"),
        ("94000", "Créteil"),
        ("57100", "Thionville"),
        ("75011", "Paris 11e Arrondissement"),
        ("69003", "Lyon 3e Arrondissement"),
        ("13001", "Marseille 1er Arrondissement"),
        ("20000", "Ajaccio"),
        ("97400", "Saint-Denis"),
    ],
)
def test_postal_code_gives_its_commune(
    directory: CommuneDirectory, postal_code: str, commune: str
) -> None:
    assert names(directory.by_postal_code(postal_code))[0] == commune


def test_postal_code_shared_by_several_communes_lists_them_all(
    directory: CommuneDirectory,
) -> None:
    found = names(directory.by_postal_code("57970"))
    assert sorted(found) == sorted(
        ["Yutz", "Kœnigsmacker", "Basse-Ham", "Illange", "Kuntzig", "Stuckange"]
        + ["Oudrenne", "Elzange", "Inglange", "Valmestroff", "Budling"]
    )


def test_communes_sharing_a_postal_code_come_most_populous_first(
    directory: CommuneDirectory,
) -> None:
    found = directory.by_postal_code("57460")
    assert found[0].name == "Behren-lès-Forbach"
    assert {"Bousbach", "Kerbach", "Etzling"} <= set(names(found))
    assert [c.population for c in found] == sorted((c.population for c in found), reverse=True)


@pytest.mark.parametrize("postal_code", ["00000", "99999", "7500", "", "abcde"])
def test_unknown_postal_code_gives_nothing(directory: CommuneDirectory, postal_code: str) -> None:
    assert directory.by_postal_code(postal_code) == []


def test_postal_code_typed_with_a_space_is_understood(directory: CommuneDirectory) -> None:
    assert names(directory.by_postal_code(" 57 970 "))[0] == "Yutz"


def test_paris_sixteenth_answers_to_both_its_postal_codes(directory: CommuneDirectory) -> None:
    assert directory.by_postal_code("75016") == directory.by_postal_code("75116")


# --- INSEE codes -------------------------------------------------------------------------------


def test_commune_is_found_by_insee_code(directory: CommuneDirectory) -> None:
    thionville = directory.by_insee("57672")
    assert thionville is not None
    assert (thionville.name, thionville.department) == ("Thionville", "57")
    assert thionville.postal_codes == ("57100",)


def test_corsican_insee_code_is_found_in_any_case(directory: CommuneDirectory) -> None:
    ajaccio = directory.by_insee("2a004")
    assert ajaccio is not None
    assert (ajaccio.name, ajaccio.department) == ("Ajaccio", "2A")


def test_unknown_insee_code_gives_none(directory: CommuneDirectory) -> None:
    assert directory.by_insee("99999") is None


def test_arrondissement_belongs_to_its_city_department(directory: CommuneDirectory) -> None:
    lyon_3 = directory.by_insee("69383")
    assert lyon_3 is not None
    assert lyon_3.department == "69"


# --- names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("tionvile", ("Thionville", "57")),
        ("thionvile", ("Thionville", "57")),
        ("behren les forbach", ("Behren-lès-Forbach", "57")),
        ("BEHREN-LÈS-FORBACH", ("Behren-lès-Forbach", "57")),
        ("st etienne", ("Saint-Étienne", "42")),
        ("Saint Etienne", ("Saint-Étienne", "42")),
        ("montrond les bains", ("Montrond-les-Bains", "42")),
        ("sarreguemine", ("Sarreguemines", "57")),
        ("marseile", ("Marseille", "13")),
        ("cretei", ("Créteil", "94")),
    ],
)
def test_misspelled_commune_is_found(
    directory: CommuneDirectory, query: str, expected: tuple[str, str]
) -> None:
    assert top_hit(directory, query) == expected


@pytest.mark.parametrize(
    "query", ["L'Haÿ-les-Roses", "l'hay les roses", "lhay-les-roses", "L HAY LES ROSES"]
)
def test_apostrophes_hyphens_accents_and_case_do_not_matter(
    directory: CommuneDirectory, query: str
) -> None:
    commune, score = directory.search(query)[0]
    assert (commune.name, score) == ("L'Haÿ-les-Roses", 100.0)


@pytest.mark.parametrize("query", ["Le Havre", "havre"])
def test_commune_is_found_with_or_without_its_article(
    directory: CommuneDirectory, query: str
) -> None:
    assert top_hit(directory, query) == ("Le Havre", "76")


def test_first_words_of_a_long_name_find_it(directory: CommuneDirectory) -> None:
    assert top_hit(directory, "behren") == ("Behren-lès-Forbach", "57")


def test_arrondissement_is_found_by_city_and_number(directory: CommuneDirectory) -> None:
    assert top_hit(directory, "paris 11") == ("Paris 11e Arrondissement", "75")


def test_exact_name_comes_before_near_misses(directory: CommuneDirectory) -> None:
    results = directory.search("Montrond", limit=10)
    exact = [commune.name for commune, score in results if score == 100.0]
    assert exact == ["Montrond", "Montrond"]
    assert names([commune for commune, _ in results[:2]]) == exact
    assert "Montrond-les-Bains" in names([commune for commune, _ in results])


def test_homonyms_come_most_populous_first(directory: CommuneDirectory) -> None:
    homonyms = [commune for commune, score in directory.search("Saint-Denis", 20) if score == 100]
    assert len(homonyms) == 4
    assert {"93", "974"} <= {commune.department for commune in homonyms}
    populations = [commune.population for commune in homonyms]
    assert populations == sorted(populations, reverse=True)


@pytest.mark.parametrize("query", ["xyzzy", "", "   ", "!!!", "42"])
def test_nonsense_finds_no_commune(directory: CommuneDirectory, query: str) -> None:
    assert directory.search(query) == []


def test_search_returns_at_most_the_limit(directory: CommuneDirectory) -> None:
    assert len(directory.search("Saint-Martin", limit=3)) == 3
    assert directory.search("Saint-Martin", limit=0) == []


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("Saint-Étienne", "st etienne"),
        ("Sainte-Anne", "ste anne"),
        ("Behren-lès-Forbach", "behren les forbach"),
        ("L'Haÿ-les-Roses", "l hay les roses"),
        ("Kœnigsmacker", "koenigsmacker"),
        ("  ST   ÉTIENNE  ", "st etienne"),
    ],
)
def test_names_are_normalised_for_comparison(raw: str, normalised: str) -> None:
    assert normalise_name(raw) == normalised


def test_gazetteer_pairs_normalised_names_with_insee_codes(directory: CommuneDirectory) -> None:
    gazetteer = set(directory.gazetteer())
    assert {("st etienne", "42218"), ("le havre", "76351"), ("havre", "76351")} <= gazetteer
    assert ("paris 11", "75111") in gazetteer


# --- the table itself --------------------------------------------------------------------------


def test_table_lists_every_commune_once(directory: CommuneDirectory) -> None:
    codes = [commune.insee for commune in directory]
    assert len(codes) > 34_000
    assert len(set(codes)) == len(codes)


def test_mainland_communes_lie_in_mainland_france(directory: CommuneDirectory) -> None:
    # Catches swapped axes or signs, which the source's town-hall points do have.
    for commune in directory:
        if not commune.department.startswith("97"):
            assert 41.3 < commune.latitude < 51.1, commune
            assert -5.2 < commune.longitude < 9.6, commune


# --- properties --------------------------------------------------------------------------------

communes = st.deferred(lambda: st.sampled_from(list(default_directory())))
postal_codes = st.deferred(
    lambda: st.sampled_from(sorted({code for c in default_directory() for code in c.postal_codes}))
)


@given(commune=communes)
def test_every_commune_finds_itself_by_its_own_name(commune: Commune) -> None:
    # Twelve communes at most share a normalised name (Sainte-Colombe).
    results = default_directory().search(commune.name, limit=20)
    assert commune in [hit for hit, score in results if score == 100.0]
    assert results[0][1] == 100.0
    assert normalise_name(commune.name).replace(" ", "") in {
        form.replace(" ", "") for form in name_variants(results[0][0].name)
    }


@given(code=postal_codes)
def test_every_postal_code_returns_communes_that_list_it(code: str) -> None:
    found = default_directory().by_postal_code(code)
    assert found
    assert all(code in commune.postal_codes for commune in found)


@given(text=st.text(max_size=40), limit=st.integers(min_value=0, max_value=8))
def test_any_text_gives_at_most_limit_scored_results(text: str, limit: int) -> None:
    results = default_directory().search(text, limit=limit)
    assert len(results) <= limit
    assert all(0.0 <= score <= 100.0 for _, score in results)


@given(text=st.text(max_size=40))
def test_normalising_twice_changes_nothing(text: str) -> None:
    once = normalise_name(text)
    assert normalise_name(once) == once
    assert set(once) <= set("abcdefghijklmnopqrstuvwxyz0123456789 ")


# --- distances ---------------------------------------------------------------------------------


def test_distance_between_paris_and_lyon_town_halls(directory: CommuneDirectory) -> None:
    paris, lyon = directory.by_insee("75056"), directory.by_insee("69123")
    assert paris is not None and lyon is not None
    km = distance_km(paris.latitude, paris.longitude, lyon.latitude, lyon.longitude)
    assert km == pytest.approx(392, abs=5)


def test_thionville_and_yutz_are_neighbours(directory: CommuneDirectory) -> None:
    thionville, yutz = directory.by_insee("57672"), directory.by_insee("57757")
    assert thionville is not None and yutz is not None
    assert distance_km(thionville.latitude, thionville.longitude, yutz.latitude, yutz.longitude) < 5


latitudes = st.floats(min_value=-90, max_value=90)
longitudes = st.floats(min_value=-180, max_value=180)


@given(lat1=latitudes, lon1=longitudes, lat2=latitudes, lon2=longitudes)
def test_distance_is_symmetric_and_bounded(
    lat1: float, lon1: float, lat2: float, lon2: float
) -> None:
    there = distance_km(lat1, lon1, lat2, lon2)
    assert there == pytest.approx(distance_km(lat2, lon2, lat1, lon1), abs=1e-6)
    assert 0.0 <= there <= math.pi * 6371.0088 + 1e-6
    assert distance_km(lat1, lon1, lat1, lon1) == 0.0


# --- building the table ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def build() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_communes", BUILD_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


def wkb_polygon(*rings: list[tuple[float, float]], srid: int | None = None) -> str:
    kind = 3 | (0x20000000 if srid is not None else 0)
    data = struct.pack("<BI", 1, kind) + (struct.pack("<I", srid) if srid is not None else b"")
    data += struct.pack("<I", len(rings))
    for ring in rings:
        data += struct.pack("<I", len(ring)) + b"".join(struct.pack("<2d", *p) for p in ring)
    return data.hex()


SQUARE = [(0.0, 0.0), (4.0, 0.0), (4.0, 4.0), (0.0, 4.0), (0.0, 0.0)]
HOLE = [(2.0, 0.0), (4.0, 0.0), (4.0, 4.0), (2.0, 4.0), (2.0, 0.0)]


def test_outline_centroid_leaves_out_holes(build: ModuleType) -> None:
    polygons = build.WkbReader(wkb_polygon(SQUARE, HOLE, srid=4326)).polygons()
    assert build.polygons_centroid(polygons) == pytest.approx((1.0, 2.0))


def test_town_hall_outside_its_commune_is_not_trusted(build: ModuleType) -> None:
    polygons = build.WkbReader(wkb_polygon(SQUARE, HOLE)).polygons()
    assert build.contains(polygons, (1.0, 1.0))
    assert not build.contains(polygons, (3.0, 1.0))  # in the hole
    assert not build.contains(polygons, (-1.0, 1.0))  # longitude sign flipped
