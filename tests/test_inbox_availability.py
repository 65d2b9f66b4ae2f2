"""Advisors edit their weekly windows and closures in the inbox (issue 8), and the free slots
follow (SQLite, and PostgreSQL when configured). Demo: Sébastien at THI'PI Thionville gives
appointments on Tuesdays and Thursdays 09:00-12:00 in 45 minutes; now is Monday 23 November
2026, 10:00 in Paris."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.models import AdvisorAvailability, AgendaClosure, Appointment
from bot.privacy import display_phone
from bot.runtime import Runtime
from tests.inbox_support import THIONVILLE, YUTZ, form_token, signed_in
from tests.outbox_support import ALICE, advisor, book, paris

PAGE = f"/inbox/agenda/disponibilites?lieu={THIONVILLE}"


@pytest.fixture
def claire(client: FlaskClient, runtime: Runtime) -> FlaskClient:
    """Signed in as an advisor of THI'PI Thionville."""
    return signed_in(client, runtime, "claire@example.org", [THIONVILLE])


def free_times(client: FlaskClient, day: str) -> list[str]:
    """The free slots offered in the booking form of the agenda's day page."""
    page = client.get(f"/inbox/agenda?lieu={THIONVILLE}&jour={day}").get_data(as_text=True)
    return re.findall(r'<option value="\d+\|[^"]+"[^>]*>([^<]+)</option>', page)


def post(client: FlaskClient, url: str, **form: Any) -> Any:
    return client.post(url, data={"csrf_token": form_token(client, PAGE), **form})


def followed(client: FlaskClient, response: Any) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)
    return str(client.get(response.headers["Location"]).get_data(as_text=True))


def windows(runtime: Runtime) -> list[AdvisorAvailability]:
    with runtime.sessions() as session:
        query = select(AdvisorAvailability).where(
            AdvisorAvailability.advisor_id == advisor(runtime)
        )
        return list(session.scalars(query.order_by(AdvisorAvailability.weekday)))


def closures(runtime: Runtime) -> list[AgendaClosure]:
    with runtime.sessions() as session:
        return list(session.scalars(select(AgendaClosure).order_by(AgendaClosure.id)))


def new_window(runtime: Runtime, **changes: str) -> dict[str, str]:
    form = {
        "conseiller": str(advisor(runtime)),
        "jour_semaine": "2",  # Wednesday
        "debut": "14:00",
        "fin": "16:00",
        "duree": "30",
        "valable_du": "",
        "valable_au": "",
    }
    form.update(changes)
    return form


def test_the_page_lists_windows_and_closures(claire: FlaskClient) -> None:
    page = claire.get(PAGE).get_data(as_text=True)

    assert "Créneaux de Sébastien" in page
    assert "mardi" in page and "jeudi" in page and "de 9h à 12h" in page and "45 minutes" in page
    assert "Aucune fermeture prévue." in page
    assert 'name="csrf_token"' in page


def test_a_new_window_offers_new_slots(runtime: Runtime, claire: FlaskClient) -> None:
    assert free_times(claire, "2026-11-25") == []

    page = followed(
        claire, post(claire, "/inbox/agenda/disponibilites/creneaux", **new_window(runtime))
    )

    assert "Créneau ajouté : le mercredi de 14h à 16h, rendez-vous de 30 minutes." in page
    assert free_times(claire, "2026-11-25") == [
        "14h avec Sébastien",
        "14h30 avec Sébastien",
        "15h avec Sébastien",
        "15h30 avec Sébastien",
    ]


def test_a_window_valid_from_a_later_day_starts_then(runtime: Runtime, claire: FlaskClient) -> None:
    form = new_window(runtime, valable_du="2026-12-01")
    followed(claire, post(claire, "/inbox/agenda/disponibilites/creneaux", **form))

    assert free_times(claire, "2026-11-25") == []
    assert "14h avec Sébastien" in free_times(claire, "2026-12-02")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"jour_semaine": "1", "debut": "11:00", "fin": "13:00"}, "chevauche un autre créneau"),
        ({"debut": "16:00", "fin": "14:00"}, "Créneau impossible"),
        ({"duree": "3"}, "Créneau impossible"),
        ({"valable_du": "2027-01-01", "valable_au": "2026-12-01"}, "Créneau impossible"),
        ({"debut": "midi"}, "Heure invalide"),
        ({"jour_semaine": "1", "debut": "14:00+01"}, "Heure invalide"),  # an offset: no crash
        ({"jour_semaine": "²"}, "Choisissez un jour et une durée"),  # "²".isdigit() is True
        ({"valable_du": "bientôt"}, "Date invalide"),
        ({"duree": ""}, "Choisissez un jour et une durée"),
    ],
)
def test_impossible_windows_are_refused_with_a_reason(
    runtime: Runtime, claire: FlaskClient, changes: dict[str, str], message: str
) -> None:
    before = len(windows(runtime))

    page = followed(
        claire,
        post(claire, "/inbox/agenda/disponibilites/creneaux", **new_window(runtime, **changes)),
    )

    assert message in page
    assert len(windows(runtime)) == before


def test_removing_a_window_removes_its_slots_but_not_bookings(
    runtime: Runtime, claire: FlaskClient
) -> None:
    appointment = book(runtime, ALICE, paris("2026-11-24 09:00"))
    tuesday = next(w for w in windows(runtime) if w.weekday == 1)
    assert free_times(claire, "2026-11-24")

    page = followed(
        claire, post(claire, f"/inbox/agenda/disponibilites/creneaux/{tuesday.id}/supprimer")
    )

    assert "Créneau du mardi de 9h à 12h supprimé." in page
    assert free_times(claire, "2026-11-24") == []
    assert free_times(claire, "2026-11-26")  # Thursday is another window
    with runtime.sessions() as session:
        stored = session.get(Appointment, appointment)
        assert stored is not None and stored.status == "booked"


def test_a_closure_removes_the_days_slots_and_warns_about_bookings(
    runtime: Runtime, claire: FlaskClient
) -> None:
    appointment = book(runtime, ALICE, paris("2026-11-26 11:15"))

    page = followed(
        claire,
        post(
            claire,
            "/inbox/agenda/disponibilites/fermetures",
            lieu=THIONVILLE,
            conseiller="",
            du="2026-11-26",
            au="2026-11-27",
            motif="formation",
        ),
    )

    assert "Fermeture ajoutée du jeudi 26 novembre au vendredi 27 novembre" in page
    assert "1 rendez-vous déjà pris tombent pendant cette fermeture" in page
    assert f"jeudi 26 novembre à 11h15 avec Sébastien ({display_phone(ALICE, full=False)})" in page
    assert "formation" in page and "Tout le lieu" in page
    assert free_times(claire, "2026-11-26") == []
    assert free_times(claire, "2026-11-24")  # other days stay open
    with runtime.sessions() as session:
        stored = session.get(Appointment, appointment)
        assert stored is not None and stored.status == "booked"  # nothing cancelled

    [closure] = closures(runtime)
    page = followed(
        claire, post(claire, f"/inbox/agenda/disponibilites/fermetures/{closure.id}/supprimer")
    )
    assert "supprimée" in page
    assert "9h avec Sébastien" in free_times(claire, "2026-11-26")


def test_an_advisors_closure_and_a_bad_one(runtime: Runtime, claire: FlaskClient) -> None:
    url = "/inbox/agenda/disponibilites/fermetures"
    page = followed(
        claire,
        post(
            claire, url, lieu=THIONVILLE, conseiller=str(advisor(runtime)), du="2026-11-24", au=""
        ),
    )
    assert "Fermeture ajoutée pour Sébastien du mardi 24 novembre au mardi 24 novembre" in page
    assert free_times(claire, "2026-11-24") == []

    page = followed(claire, post(claire, url, lieu=THIONVILLE, du="2026-12-10", au="2026-12-01"))
    assert "Le dernier jour de la fermeture doit suivre le premier." in page
    page = followed(claire, post(claire, url, lieu=THIONVILLE, du="", au=""))
    assert "Indiquez le premier jour de la fermeture." in page
    assert len(closures(runtime)) == 1


def test_another_places_advisor_changes_nothing_here(runtime: Runtime, client: FlaskClient) -> None:
    yutz = signed_in(client, runtime, "yutz@example.org", [YUTZ])
    token = form_token(yutz, "/inbox/agenda/disponibilites")
    tuesday = windows(runtime)[0]
    before = len(windows(runtime))

    assert yutz.get(PAGE).status_code == 404
    for url, form in [
        ("/inbox/agenda/disponibilites/creneaux", new_window(runtime)),
        (f"/inbox/agenda/disponibilites/creneaux/{tuesday.id}/supprimer", {}),
        ("/inbox/agenda/disponibilites/fermetures", {"lieu": THIONVILLE, "du": "2026-11-24"}),
        (
            "/inbox/agenda/disponibilites/fermetures",
            {"lieu": YUTZ, "conseiller": str(advisor(runtime)), "du": "2026-11-24"},
        ),
    ]:
        assert yutz.post(url, data={"csrf_token": token, **form}).status_code == 404, url
    assert len(windows(runtime)) == before
    assert closures(runtime) == []
    page = yutz.get("/inbox/agenda/disponibilites").get_data(as_text=True)
    assert "Caroline" in page and "Sébastien" not in page


def test_closures_of_another_place_cannot_be_removed(runtime: Runtime, client: FlaskClient) -> None:
    claire = signed_in(client, runtime, "claire@example.org", [THIONVILLE])
    post(claire, "/inbox/agenda/disponibilites/fermetures", lieu=THIONVILLE, du="2026-12-01")
    [closure] = closures(runtime)
    claire.post("/inbox/logout", data={"csrf_token": form_token(claire, PAGE)})
    yutz = signed_in(client, runtime, "yutz@example.org", [YUTZ])

    response = yutz.post(
        f"/inbox/agenda/disponibilites/fermetures/{closure.id}/supprimer",
        data={"csrf_token": form_token(yutz, "/inbox/agenda/disponibilites")},
    )

    assert response.status_code == 404
    assert len(closures(runtime)) == 1


@pytest.mark.parametrize("bad", ["0", "2147483648", "99999999999"])
def test_unknown_ids_are_404(claire: FlaskClient, bad: str) -> None:
    for url in (
        f"/inbox/agenda/disponibilites/creneaux/{bad}/supprimer",
        f"/inbox/agenda/disponibilites/fermetures/{bad}/supprimer",
    ):
        assert post(claire, url).status_code == 404
    response = post(claire, "/inbox/agenda/disponibilites/creneaux", conseiller=bad)
    assert response.status_code == 404


def test_forms_without_csrf_token_change_nothing(runtime: Runtime, claire: FlaskClient) -> None:
    tuesday = windows(runtime)[0]
    before = len(windows(runtime))

    for url, form in [
        ("/inbox/agenda/disponibilites/creneaux", new_window(runtime)),
        (f"/inbox/agenda/disponibilites/creneaux/{tuesday.id}/supprimer", {}),
        ("/inbox/agenda/disponibilites/fermetures", {"lieu": THIONVILLE, "du": "2026-11-24"}),
    ]:
        assert claire.post(url, data=form).status_code == 400, url
    assert len(windows(runtime)) == before
    assert closures(runtime) == []
