"""The `relais` command as an operator uses it: import places, parse, evaluate, purge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from bot.cli import main
from bot.database import make_engine, make_session_factory
from bot.models import Advisor, Place

DEMO_CSV = (
    Path(__file__).resolve().parents[1] / "bot" / "data" / "lieux-mediation-numerique-demo.csv"
)
DEMO_AGENDAS = Path(__file__).resolve().parents[1] / "bot" / "data" / "demo-agendas.json"
HELDOUT = Path(__file__).resolve().parent / "nlu" / "heldout.yml"


@pytest.fixture
def env(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for the CLI: a fresh database and a shared NLU cache."""
    instance = tmp_path_factory.getbasetemp() / "cli-instance"
    return {"RELAIS_DATABASE_URL": database_url, "RELAIS_INSTANCE_DIR": str(instance)}


def _places(url: str) -> int:
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        count = int(session.scalar(select(func.count()).select_from(Place)) or 0)
    engine.dispose()
    return count


def test_importing_the_demo_file_twice_never_duplicates(env: dict[str, str]) -> None:
    runner = CliRunner()
    first = runner.invoke(main, ["places", "import", str(DEMO_CSV)], env=env)
    assert first.exit_code == 0, first.output
    assert "13 créé(s)" in first.output
    again = runner.invoke(main, ["places", "import", str(DEMO_CSV)], env=env)
    assert "0 créé(s), 0 mis à jour, 13 inchangé(s), 0 ligne(s) rejetée(s)" in again.output
    assert _places(env["RELAIS_DATABASE_URL"]) == 13


def test_import_reports_rejected_rows_with_line_and_field(
    env: dict[str, str], tmp_path: Path
) -> None:
    lines = DEMO_CSV.read_text(encoding="utf-8").splitlines()
    bad = lines[3].replace(",57100,", ",5710,", 1)  # line 4: a 4-digit postal code
    path = tmp_path / "lieux.csv"
    path.write_text("\n".join([lines[0], lines[1], bad, lines[4]]) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["places", "import", str(path)], env=env)
    assert result.exit_code == 0, result.output
    assert "ligne 3 : champ code_postal" in result.output
    assert "2 créé(s)" in result.output and "1 ligne(s) rejetée(s)" in result.output
    assert _places(env["RELAIS_DATABASE_URL"]) == 2


def test_import_of_an_unreadable_file_says_why(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "photo.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    result = CliRunner().invoke(main, ["places", "import", str(path)], env=env)
    assert result.exit_code == 2
    assert "Import impossible" in result.output
    assert "Traceback" not in result.output


def test_db_upgrade_creates_the_schema(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["db", "upgrade"], env=env)
    assert result.exit_code == 0, result.output
    assert _places(env["RELAIS_DATABASE_URL"]) == 0


def test_nlu_parse_prints_rasa_json(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["nlu", "parse", "c ouvert samedi a thionville ?"], env=env)
    assert result.exit_code == 0, result.output
    parsed = json.loads(result.output)
    assert parsed["intent"]["name"] == "opening_hours"
    assert {"text", "intent", "entities", "intent_ranking"} <= parsed.keys()
    assert any(e["entity"] == "commune" and e["value"] == "57672" for e in parsed["entities"])


def test_nlu_evaluate_json_gives_accuracy(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["nlu", "evaluate", str(HELDOUT), "--json"], env=env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["accuracy"] >= 0.85


def test_nlu_evaluate_refuses_a_malformed_file_with_its_line(
    env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "bad.yml"
    path.write_text('version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    bonjour\n')
    result = CliRunner().invoke(main, ["nlu", "evaluate", str(path)], env=env)
    assert result.exit_code == 2
    assert "Fichier invalide" in result.output and "5" in result.output


def test_purge_deletes_only_expired_records(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["purge"], env=env)
    assert result.exit_code == 0, result.output
    assert "0 enregistrement(s) supprimé(s)" in result.output


def _advisors(url: str) -> dict[str, tuple[str, str, bool]]:
    """Advisors by their file id: (place, name, active)."""
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        rows = {a.ref: (a.place_id, a.name, a.active) for a in session.scalars(select(Advisor))}
    engine.dispose()
    return rows


def _with_demo_places(env: dict[str, str]) -> CliRunner:
    runner = CliRunner()
    result = runner.invoke(main, ["places", "import", str(DEMO_CSV)], env=env)
    assert result.exit_code == 0, result.output
    return runner


def test_importing_the_demo_agendas_reports_what_was_loaded(env: dict[str, str]) -> None:
    runner = _with_demo_places(env)
    result = runner.invoke(main, ["agendas", "import", str(DEMO_AGENDAS)], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "8 lieu(x), 8 conseiller(s) créé(s) ou mis à jour, 0 désactivé(s), "
        "18 plage(s) hebdomadaire(s) par jour, 0 fermeture(s), 6 motif(s), "
        "0 lieu(x) inconnu(s) ignoré(s)."
    )
    advisors = _advisors(env["RELAIS_DATABASE_URL"])
    assert len(advisors) == 8
    assert advisors["thipi-sebastien"] == ("demo-thipi-thionville", "Sébastien", True)


def test_reimporting_the_same_agendas_changes_nothing(env: dict[str, str]) -> None:
    runner = _with_demo_places(env)
    first = runner.invoke(main, ["agendas", "import", str(DEMO_AGENDAS)], env=env)
    assert first.exit_code == 0, first.output
    before = _advisors(env["RELAIS_DATABASE_URL"])
    again = runner.invoke(main, ["agendas", "import", str(DEMO_AGENDAS)], env=env)
    assert again.exit_code == 0, again.output
    assert again.output == first.output
    assert _advisors(env["RELAIS_DATABASE_URL"]) == before
    assert len(before) == 8


def test_agendas_for_unknown_places_are_skipped_and_counted(
    env: dict[str, str], tmp_path: Path
) -> None:
    document = json.loads(DEMO_AGENDAS.read_text(encoding="utf-8"))
    document["places"][1]["place_id"] = "nowhere-known"
    path = tmp_path / "agendas.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    runner = _with_demo_places(env)
    result = runner.invoke(main, ["agendas", "import", str(path)], env=env)
    assert result.exit_code == 0, result.output
    assert "attention : lieu inconnu nowhere-known ignoré" in result.stderr
    assert "7 lieu(x), 7 conseiller(s)" in result.stdout
    assert "1 lieu(x) inconnu(s) ignoré(s)." in result.stdout
    assert "yutz-caroline" not in _advisors(env["RELAIS_DATABASE_URL"])


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"\x89PNG\r\n\x1a\n", "cannot read agendas from"),
        (b"{not json", "cannot read agendas from"),
        (b'{"format": "relais-agendas/0", "places": []}', "not an agenda file"),
        (None, "places[1].advisors[0].availability[0]: 'from' must be a time HH:MM"),
    ],
    ids=["binary", "not-json", "wrong-format", "invalid-field"],
)
def test_a_broken_agenda_file_exits_1_says_where_and_changes_nothing(
    env: dict[str, str], tmp_path: Path, content: bytes | None, problem: str
) -> None:
    runner = _with_demo_places(env)
    assert runner.invoke(main, ["agendas", "import", str(DEMO_AGENDAS)], env=env).exit_code == 0
    before = _advisors(env["RELAIS_DATABASE_URL"])
    path = tmp_path / "agendas.json"
    if content is None:  # valid first place (a renamed advisor), broken second place
        document = json.loads(DEMO_AGENDAS.read_text(encoding="utf-8"))
        document["places"][0]["advisors"][0]["name"] = "Renamed"
        document["places"][1]["advisors"][0]["availability"][0]["from"] = "9h"
        content = json.dumps(document).encode()
    path.write_bytes(content)
    result = runner.invoke(main, ["agendas", "import", str(path)], env=env)
    assert result.exit_code == 1
    assert str(path) in result.stderr and problem in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.output
    assert _advisors(env["RELAIS_DATABASE_URL"]) == before
    assert before["thipi-sebastien"][1] == "Sébastien"


def test_reminders_run_once_sends_what_is_due_at_the_time_given(env: dict[str, str]) -> None:
    from datetime import datetime

    from bot.clock import PARIS
    from bot.database import transaction
    from bot.services.bookings import book_slot
    from bot.services.conversations import get_or_create_resident
    from bot.services.demo import load_demo_territory_if_empty

    runner = CliRunner()
    env = {**env, "RELAIS_OUTBOUND": "simulator"}
    assert runner.invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    engine = make_engine(env["RELAIS_DATABASE_URL"])
    booked_at = datetime(2026, 11, 23, 10, 0, tzinfo=PARIS)
    with transaction(make_session_factory(engine)) as session:
        load_demo_territory_if_empty(session, booked_at)
        resident = get_or_create_resident(session, "+33639980042", booked_at)
        advisor = session.scalars(select(Advisor.id).where(Advisor.ref == "thipi-sebastien")).one()
        book_slot(
            session,
            resident.id,
            advisor,
            datetime(2026, 11, 26, 11, 15, tzinfo=PARIS),
            None,
            booked_at,
        )
    engine.dispose()
    early = runner.invoke(
        main, ["reminders", "run-once", "--now", "2026-11-25T09:59:00+01:00"], env=env
    )
    assert early.exit_code == 0, early.output
    assert early.output.startswith("0 envoyé(s)")
    due = runner.invoke(
        main, ["reminders", "run-once", "--now", "2026-11-25T10:00:00+01:00"], env=env
    )
    assert due.output.startswith("1 envoyé(s), 0 à réessayer, 0 en échec"), due.output
    bad = runner.invoke(main, ["reminders", "run-once", "--now", "mercredi"], env=env)
    assert bad.exit_code == 2
    assert "ISO-8601" in bad.stderr
