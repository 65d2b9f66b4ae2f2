"""An advisor opens the statistics of their places: charts, tables and CSV; nothing else."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from bot.inbox.charts import bar_chart, column_chart
from bot.runtime import Runtime
from tests.conftest import RESIDENT, Twilio
from tests.inbox_support import THIONVILLE, YUTZ, signed_in
from tests.test_statistics import add_escalation, add_request

THIONVILLE_NAME = "Pôle numérique THI'PI"
YUTZ_NAME = "Mission locale - antenne de Yutz"


def _seed(runtime: Runtime) -> None:
    for intent in ("book_appointment", "opening_hours", "opening_hours"):
        add_request(runtime, "2026-11-17T10:00:00+01:00", intent, THIONVILLE)
    add_request(runtime, "2026-11-17T10:00:00+01:00", "scam_check", YUTZ)
    add_request(runtime, "2026-11-17T10:00:00+01:00", "greet", None)
    add_escalation(
        runtime, THIONVILLE, "2026-11-17T10:00:00+01:00", "asked", "2026-11-17T10:30:00+01:00"
    )


def test_an_advisor_sees_charts_and_tables_of_their_places_only(
    client: FlaskClient, runtime: Runtime, twilio: Twilio
) -> None:
    twilio.text("je voudrais un rdv à Thionville")  # a real resident, who must not show
    _seed(runtime)
    signed_in(client, runtime, "thi@example.org", [THIONVILLE])
    response = client.get("/inbox/statistiques")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" role="img"') == 6
    assert '<title id="intentions-titre">Demandes par intention</title>' in page
    assert "<script" not in page
    # The intent table: one row per intent, the place's counts only.
    assert re.search(r"<th scope=\"row\">Horaires</th><td class=\"nombre\">2</td>", page)
    assert "Arnaque ?" not in page and YUTZ_NAME not in page
    assert "THI&#39;PI" in page
    assert 'Demandes reçues</th><td class="nombre">4</td>' in page  # 3 seeded + the resident's
    assert 'aria-current="page">Statistiques' in page
    assert RESIDENT not in page and RESIDENT[-4:] not in page
    assert "rdv à Thionville" not in page


def test_the_period_and_place_filters_are_read_from_the_query_string(
    client: FlaskClient, runtime: Runtime
) -> None:
    _seed(runtime)
    signed_in(client, runtime, "deux@example.org", [THIONVILLE, YUTZ])
    page = client.get(f"/inbox/statistiques?semaines=4&lieu={YUTZ}").get_data(as_text=True)
    assert '<option value="4" selected>4 dernières semaines</option>' in page
    assert f'<option value="{YUTZ}" selected>' in page
    assert "Arnaque ?" in page and "Horaires" not in page
    assert "Semaines 2026-S45 à 2026-S48" in page
    assert page.count('<tr><th scope="row">2026-S') == 4
    assert "sans-lieu" not in page  # only admins get rows without a place
    # An unknown period falls back to the default.
    assert "12 dernières semaines</option>" in client.get("/inbox/statistiques?semaines=9").text


def test_csv_export_opens_in_a_french_spreadsheet(client: FlaskClient, runtime: Runtime) -> None:
    _seed(runtime)
    signed_in(client, runtime, "csv@example.org", [THIONVILLE])
    response = client.get(f"/inbox/statistiques.csv?table=intents&lieu={THIONVILLE}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="relais-statistiques-intentions-demo-thipi-thionville-'
        '2026-S37-2026-S48.csv"'
    )
    body = response.data.decode("utf-8")
    assert body.startswith("\ufeff")
    assert body[1:].split("\r\n") == [
        "code;intention;demandes",
        "opening_hours;Horaires;2",
        "book_appointment;Prendre rendez-vous;1",
        "",
    ]
    weeks = client.get("/inbox/statistiques.csv?table=weeks&semaines=4").data.decode("utf-8")
    assert weeks.splitlines()[0] == (
        "\ufeffsemaine;lundi;demandes;rendez-vous pris;dont par un conseiller;"
        "passages à un conseiller"
    )
    assert "2026-S47;2026-11-16;3;0;0;1" in weeks
    summary = client.get("/inbox/statistiques.csv?table=summary").data.decode("utf-8")
    assert "délai médian de première réponse (minutes);30,0" in summary
    assert "passages à un conseiller sans réponse;0" in summary
    assert client.get("/inbox/statistiques.csv?table=messages").status_code == 404


def test_another_places_statistics_are_not_found(client: FlaskClient, runtime: Runtime) -> None:
    signed_in(client, runtime, "thi@example.org", [THIONVILLE])
    assert client.get(f"/inbox/statistiques?lieu={YUTZ}").status_code == 404
    assert client.get(f"/inbox/statistiques.csv?table=places&lieu={YUTZ}").status_code == 404
    assert client.get("/inbox/statistiques?lieu=sans-lieu").status_code == 404
    assert client.get("/inbox/statistiques?lieu=no-such-place").status_code == 404


def test_an_admin_sees_every_place_and_the_requests_without_one(
    client: FlaskClient, runtime: Runtime
) -> None:
    _seed(runtime)
    signed_in(client, runtime, "admin@example.org", [], admin=True)
    page = client.get("/inbox/statistiques").get_data(as_text=True)
    assert YUTZ_NAME in page and "Sans lieu" in page
    assert 'Demandes reçues</th><td class="nombre">5</td>' in page
    unplaced = client.get("/inbox/statistiques.csv?table=places&lieu=sans-lieu")
    assert unplaced.status_code == 200
    assert unplaced.data.decode("utf-8").splitlines()[1:] == [";Sans lieu;1"]


def test_a_signed_out_visitor_is_sent_to_the_login_page(client: FlaskClient) -> None:
    for path in ("/inbox/statistiques", "/inbox/statistiques.csv?table=weeks"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/inbox/login")


def test_charts_escape_their_labels_and_name_themselves_for_screen_readers() -> None:
    bars = str(bar_chart("c", "Titre <b>", "Desc & co", [("<script>", 3), ("Deux", 0)]))
    assert "<script>" not in bars and "&lt;script&gt;" in bars
    assert 'role="img"' in bars and 'aria-labelledby="c-titre c-desc"' in bars
    assert '<title id="c-titre">Titre &lt;b&gt;</title>' in bars
    columns = str(column_chart("w", "Semaines", "Aucune", [("S01", 0), ("S02", 0)]))
    assert columns.count("<rect") == 2  # an empty period still draws (flat) bars
