"""Importing lieux de médiation numérique from CSV and JSON exports of the national standard."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.models import Place, Workshop
from bot.services.places_import import (
    DEMO_PLACES_PATH,
    PlacesFileError,
    import_places,
    load_demo_workshops,
)
from bot.services.places_schema import clean_row, load_schema
from tests.places_fixtures import (
    DEMO_PLACE_COUNT,
    IMPORTED_AT,
    demo_lines,
    demo_with_line_changed,
    exported_records,
    stored_places,
    temp_session,
    write_json,
    write_lines,
    write_semicolon_csv_with_bom,
)


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    with temp_session(tmp_path) as session:
        yield session


def place_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Place)) or 0


def test_demo_csv_imports_thirteen_places_without_rejection(session: Session) -> None:
    report = import_places(session, DEMO_PLACES_PATH, IMPORTED_AT)

    assert (report.created, report.updated, report.unchanged) == (DEMO_PLACE_COUNT, 0, 0)
    assert report.rejected == []
    assert report.ignored_columns == []
    assert place_count(session) == DEMO_PLACE_COUNT


def test_multi_valued_fields_are_stored_as_lists(session: Session) -> None:
    import_places(session, DEMO_PLACES_PATH, IMPORTED_AT)

    place = session.get(Place, "demo-mjc-montrond")
    assert place is not None
    assert place.publics_specifiquement_adresses == ["Jeunes", "Familles et/ou enfants"]
    assert place.modalites_acces == ["Téléphoner"]
    assert place.courriels == []
    assert place.latitude == pytest.approx(45.6419)


def test_unquoted_comma_in_horaires_is_mended_with_a_warning(session: Session) -> None:
    # The demo's Le Puzzle row (line 3) writes "Sa[1,3]" without quoting the field.
    report = import_places(session, DEMO_PLACES_PATH, IMPORTED_AT)

    puzzle = session.get(Place, "demo-puzzle-thionville")
    assert puzzle is not None
    assert puzzle.horaires == "Th 14:00-17:00; Sa[1,3] 10:00-12:00; PH off"
    assert puzzle.source == "Relais (démonstration)"
    assert any(w.startswith("line 3:") and "horaires" in w for w in report.warnings)


def test_reimporting_the_same_file_changes_nothing(session: Session) -> None:
    import_places(session, DEMO_PLACES_PATH, IMPORTED_AT)

    report = import_places(session, DEMO_PLACES_PATH, IMPORTED_AT.replace(day=21))

    assert (report.created, report.updated, report.unchanged) == (0, 0, DEMO_PLACE_COUNT)
    assert place_count(session) == DEMO_PLACE_COUNT


def test_a_modified_row_updates_that_place_only(session: Session, tmp_path: Path) -> None:
    import_places(session, DEMO_PLACES_PATH, IMPORTED_AT)
    changed = demo_with_line_changed(
        tmp_path / "changed.csv", 4, "Fr 16:00-17:00", "Fr 15:00-17:00"
    )

    report = import_places(session, changed, IMPORTED_AT.replace(day=22))

    assert (report.created, report.updated, report.unchanged) == (0, 1, DEMO_PLACE_COUNT - 1)
    place = session.get(Place, "demo-mediatheque-cote-des-roses")
    assert place is not None
    assert place.horaires == "Fr 15:00-17:00; PH off"
    assert place_count(session) == DEMO_PLACE_COUNT


BAD_ROWS = [
    # (file line, text on that line, replacement, field, words of the reason)
    (4, ",Médiathèque de la Côte des Roses,", ",,", "nom", "required value missing"),
    (5, ",57970,", ",5797,", "code_postal", "5-digit"),
    (6, "+33353010105", "03 53 01 01 05", "telephone", "international number"),
    (8, "Aide aux démarches administratives", "Aide aux papiers", "services", "Aide aux papiers"),
    (9, "2026-11-01", "01/11/2026", "date_maj", "YYYY-MM-DD"),
    (10, "45.64190", "145.64190", "latitude", "out of range"),
    (11, ",Fixe,", ",Partout,", "itinerance", "unknown value 'Partout'"),
]


@pytest.mark.parametrize(("line", "old", "new", "field", "reason"), BAD_ROWS)
def test_a_bad_row_is_rejected_with_its_line_and_field_and_the_rest_imported(
    session: Session, tmp_path: Path, line: int, old: str, new: str, field: str, reason: str
) -> None:
    path = demo_with_line_changed(tmp_path / "bad.csv", line, old, new)

    report = import_places(session, path, IMPORTED_AT)

    assert [(r.line, r.field) for r in report.rejected] == [(line, field)]
    assert reason in report.rejected[0].reason
    assert report.created == DEMO_PLACE_COUNT - 1


def test_several_bad_rows_are_each_reported(session: Session, tmp_path: Path) -> None:
    lines = demo_lines()
    for line, old, new, _field, _reason in BAD_ROWS:
        lines[line - 1] = lines[line - 1].replace(old, new, 1)

    report = import_places(session, write_lines(tmp_path / "bad.csv", lines), IMPORTED_AT)

    assert report.rejected_lines == [line for line, *_ in BAD_ROWS]
    assert report.created == DEMO_PLACE_COUNT - len(BAD_ROWS)


def test_a_duplicate_id_in_one_file_is_rejected(session: Session, tmp_path: Path) -> None:
    lines = demo_lines()
    path = write_lines(tmp_path / "dup.csv", [*lines, lines[1]])

    report = import_places(session, path, IMPORTED_AT)

    assert [(r.line, r.field) for r in report.rejected] == [(15, "id")]
    assert "line 2" in report.rejected[0].reason
    assert report.created == DEMO_PLACE_COUNT


def test_unreadable_horaires_keep_the_place_without_hours(session: Session, tmp_path: Path) -> None:
    path = demo_with_line_changed(
        tmp_path / "hours.csv", 4, "Fr 16:00-17:00; PH off", "le vendredi de 16h à 17h"
    )

    report = import_places(session, path, IMPORTED_AT)

    assert report.rejected == []
    place = session.get(Place, "demo-mediatheque-cote-des-roses")
    assert place is not None and place.horaires is None
    assert any(w.startswith("line 4:") and "vendredi" in w for w in report.warnings)


def test_json_export_of_the_same_places_imports_the_same_data(tmp_path: Path) -> None:
    first_dir, second_dir = tmp_path / "csv", tmp_path / "json"
    first_dir.mkdir()
    second_dir.mkdir()
    with temp_session(first_dir) as first:
        import_places(first, DEMO_PLACES_PATH, IMPORTED_AT)
        from_csv = stored_places(first)
    path = write_json(tmp_path / "places.json", list(from_csv.values()))

    with temp_session(second_dir) as second:
        report = import_places(second, path, IMPORTED_AT)

        assert (report.created, report.rejected) == (DEMO_PLACE_COUNT, [])
        assert stored_places(second) == from_csv


@pytest.mark.parametrize("key", ["data", "lieux"])
def test_json_object_holding_the_list_is_read_and_matches_the_csv(
    session: Session, tmp_path: Path, key: str
) -> None:
    import_places(session, DEMO_PLACES_PATH, IMPORTED_AT)
    records = exported_records(session)
    for record in records:  # JSON exports may give lists and numbers rather than text
        record["services"] = record["services"].split("|")
    path = write_json(tmp_path / "places.json", {"meta": {"n": 13}, key: records})

    report = import_places(session, path, IMPORTED_AT)

    assert (report.created, report.updated, report.unchanged) == (0, 0, DEMO_PLACE_COUNT)


def test_json_rejections_count_records_from_one(session: Session, tmp_path: Path) -> None:
    import_places(session, DEMO_PLACES_PATH, IMPORTED_AT)
    records = exported_records(session)
    records[2]["code_postal"] = "ABCDE"
    records[4] = "not a place"  # type: ignore[call-overload]

    report = import_places(session, write_json(tmp_path / "p.json", records), IMPORTED_AT)

    assert [(r.line, r.field) for r in report.rejected] == [(3, "code_postal"), (5, "(row)")]


def test_semicolon_csv_with_byte_order_mark_is_read(session: Session, tmp_path: Path) -> None:
    import_places(session, DEMO_PLACES_PATH, IMPORTED_AT)
    path = write_semicolon_csv_with_bom(tmp_path / "excel.csv", exported_records(session))

    report = import_places(session, path, IMPORTED_AT)

    assert (report.unchanged, report.rejected) == (DEMO_PLACE_COUNT, [])


LEGACY_HEADER = (
    "id,cle_pivot,nom,commune,code_postal,code_insee,adresse,latitude,longitude,telephone,"
    "courriel,horaires,date_maj,services,publics_accueillis,conditions_acces,labels_nationaux,"
    "labels_autres,modalites_accompagnement,accessibilite,zone_geo"
)
LEGACY_ROWS = [
    "old-1,21570672500019,Espace numérique,Thionville,57100,57672,1 rue des Roses,49.36,6.14,"
    "+33353010109,contact@example.org,Mo 09:00-12:00,2022-10-10,"
    "Aide aux démarches administratives,Jeunes (16-26 ans)|Seniors (+ 65 ans)|Surdité|"
    "Uniquement femmes,Gratuit|Accepte le Pass numérique,CNFS|France Services,"
    "Label local,Seul|Avec de l'aide,https://acceslibre.beta.gouv.fr/x,nord",
    "old-2,21570672500027,Point numérique,Yutz,57970,57757,2 rue Haute,49.36,6.19,,,,2022-10-11,"
    "Aide aux démarches administratives,Uniquement femmes,Payant,,,,,",
]


def test_an_old_0_1_export_has_its_fields_mapped(session: Session, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "old.csv", [LEGACY_HEADER, *LEGACY_ROWS])

    report = import_places(session, path, IMPORTED_AT)

    assert (report.created, report.rejected) == (2, [])
    assert report.legacy_format
    assert report.ignored_columns == ["zone_geo"]
    place = session.get(Place, "old-1")
    assert place is not None
    assert place.pivot == "21570672500019"
    assert place.courriels == ["contact@example.org"]
    assert place.publics_specifiquement_adresses == ["Jeunes", "Seniors"]
    assert place.prise_en_charge_specifique == ["Surdité"]
    assert place.frais_a_charge == ["Gratuit"]
    assert place.dispositif_programmes_nationaux == ["Conseillers numériques", "France Services"]
    assert place.autres_formations_labels == ["Label local"]
    assert place.modalites_accompagnement == ["En autonomie", "Accompagnement individuel"]
    assert place.fiche_acces_libre == "https://acceslibre.beta.gouv.fr/x"


def test_old_values_without_equivalent_are_dropped_with_one_warning_each(
    session: Session, tmp_path: Path
) -> None:
    path = write_lines(tmp_path / "old.csv", [LEGACY_HEADER, *LEGACY_ROWS])

    report = import_places(session, path, IMPORTED_AT)

    women = [w for w in report.warnings if "Uniquement femmes" in w]
    assert women == [
        "publics_accueillis: 'Uniquement femmes' has no equivalent in v1.0.2, dropped (lines 2, 3)"
    ]
    assert any("conditions_acces: 'Accepte le Pass numérique'" in w for w in report.warnings)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("places.xlsx", b"PK\x03\x04\x14\x00\x00\x00binary", "not a text file"),
        ("places.csv", b"nom;commune\nLe Puzzle;Thionville\n", "no 'id' column"),
        ("places.csv", "id,nom\n1,Médiathèque\n".encode("latin-1"), "not UTF-8"),
        ("places.json", b'{"data": [', "invalid JSON"),
        ("places.json", b'{"count": 3}', "list of places"),
        ("places.csv", b"   \n", "empty"),
    ],
)
def test_a_file_that_is_no_places_export_raises_a_clear_error(
    session: Session, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)

    with pytest.raises(PlacesFileError, match=message):
        import_places(session, path, IMPORTED_AT)


def test_a_missing_file_raises_a_clear_error(session: Session, tmp_path: Path) -> None:
    with pytest.raises(PlacesFileError, match="cannot read"):
        import_places(session, tmp_path / "absent.csv", IMPORTED_AT)


def test_demo_workshops_load_once_however_often_they_are_loaded(session: Session) -> None:
    import_places(session, DEMO_PLACES_PATH, IMPORTED_AT)

    first = load_demo_workshops(session)
    again = load_demo_workshops(session)

    assert len(first) == 4
    assert [w.id for w in again] == [w.id for w in first]
    assert session.scalar(select(func.count()).select_from(Workshop)) == 4
    turbine = next(w for w in first if w.place_id == "demo-la-turbine-forbach")
    assert (turbine.schedule, turbine.seats) == ("We[1] 14:00-16:00; PH off", 6)


def test_demo_workshops_file_lists_the_readme_workshops() -> None:
    document = json.loads((DEMO_PLACES_PATH.parent / "demo-workshops.json").read_text("utf-8"))

    by_place = {entry["place_id"]: entry for entry in document["workshops"]}

    assert len(by_place["demo-puzzle-thionville"]["titles"]) == 3
    assert by_place["demo-mediatheque-limeil"]["schedule"].startswith("Sa 10:00-11:30")
    assert by_place["demo-mjc-montrond"]["seats"] == 8


@given(st.text(max_size=12))
def test_a_postal_code_is_accepted_only_as_five_ascii_digits(text: str) -> None:
    record = {
        "id": "x",
        "pivot": "21570672500019",
        "nom": "Lieu",
        "commune": "Thionville",
        "code_postal": text,
        "adresse": "1 rue",
        "date_maj": "2026-01-01",
    }

    row = clean_row(load_schema(), record, legacy=False)

    five_digits = len(text.strip()) == 5 and all(c in "0123456789" for c in text.strip())
    assert (not row.problems) == five_digits
