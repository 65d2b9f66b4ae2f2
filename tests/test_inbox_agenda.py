"""The advisors' agenda in the inbox (issue 8): appointments by day and week, attendance, and
appointments booked, moved or cancelled for a resident on the phone (SQLite, and PostgreSQL
when configured). Demo agendas: Sébastien at THI'PI Thionville, Tu Th 09:00-12:00 in 45 min;
Caroline at Yutz, Mo-Th 14:00-16:30 in 30 min. The clock starts on Monday 23 November 2026,
10:00 in Paris."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from bot import clock
from bot.database import transaction
from bot.dispatch import Dispatcher
from bot.models import Appointment, OutboundMessage, Resident, User, WaitingOffer
from bot.privacy import display_phone
from bot.runtime import Runtime
from bot.services.bookings import book_slot, confirm_appointment
from bot.services.conversations import get_or_create_resident, set_opt_out
from bot.services.waiting_list import join_waiting_list
from tests.conftest import SERVICE_NUMBER, Clock, gsm
from tests.inbox_support import THIONVILLE, YUTZ, form_token, signed_in
from tests.outbox_support import ALICE, BRUNO, advisor, book, paris, resident
from tests.twilio_server import FakeTwilio

TUESDAY_9 = paris("2026-11-24 09:00")
THURSDAY_11_15 = paris("2026-11-26 11:15")
CALLER = "+33639980044"
TAKEN_MEANWHILE = "Ce créneau vient d&#39;être pris, choisissez-en un autre."
AGENDA = f"/inbox/agenda?lieu={THIONVILLE}"


@pytest.fixture
def claire(client: FlaskClient, runtime: Runtime) -> FlaskClient:
    """Signed in as an advisor of THI'PI Thionville."""
    return signed_in(client, runtime, "claire@example.org", [THIONVILLE])


def masked(phone: str) -> str:
    """As the inbox shows a number: "+33 6 ** ** ** 42"."""
    return display_phone(phone, full=False)


def row(runtime: Runtime, appointment_id: int) -> Appointment:
    with runtime.sessions() as session:
        found = session.get(Appointment, appointment_id)
        assert found is not None
        return found


def appointments_of(runtime: Runtime, phone: str) -> list[Appointment]:
    with runtime.sessions() as session:
        query = (
            select(Appointment)
            .join(Resident, Resident.id == Appointment.resident_id)
            .where(Resident.phone == phone)
            .order_by(Appointment.id)
        )
        return list(session.scalars(query))


def outbox_rows(runtime: Runtime, kind: str) -> list[OutboundMessage]:
    with runtime.sessions() as session:
        query = select(OutboundMessage).where(OutboundMessage.kind == kind)
        return list(session.scalars(query.order_by(OutboundMessage.id)))


def slot_option(page: str, label: str) -> str:
    """The value of the <option> of a free slot whose text is `label` ("9h avec Sébastien")."""
    found = re.search(rf'<option value="([^"]+)"[^>]*>{re.escape(label)}</option>', page)
    assert found, page
    return found.group(1).replace("&#43;", "+")


def user_id(runtime: Runtime, email: str) -> int:
    with runtime.sessions() as session:
        return session.scalars(select(User.id).where(User.email == email)).one()


def book_by_phone(
    client: FlaskClient, day: str, label: str, phone: str = "06 39 98 00 44", **extra: str
) -> tuple[str, Any]:
    """Open the day page, pick a slot and book it for `phone`; (slot value, response)."""
    page = client.get(f"{AGENDA}&jour={day}").get_data(as_text=True)
    slot = slot_option(page, label)
    form = {
        "csrf_token": form_token(client, f"{AGENDA}&jour={day}"),
        "lieu": THIONVILLE,
        "jour": day,
        "creneau": slot,
        "telephone": phone,
        "motif": "email",
    }
    form.update(extra)
    return slot, client.post("/inbox/agenda/reserver", data=form)


# --- seeing the agenda -------------------------------------------------------------------------


def test_day_view_lists_the_places_appointments_with_masked_numbers(
    runtime: Runtime, claire: FlaskClient
) -> None:
    confirmed = book(runtime, ALICE, TUESDAY_9)
    book(runtime, CALLER, paris("2026-11-24 10:30"))
    yutz, caroline = resident(runtime, BRUNO), advisor(runtime, "yutz-caroline")
    with transaction(runtime.sessions) as session:
        confirm_appointment(session, confirmed, resident(runtime, ALICE), clock.now())
        book_slot(session, yutz, caroline, paris("2026-11-24 14:00"), None, clock.now())

    page = claire.get(f"{AGENDA}&jour=2026-11-24").get_data(as_text=True)

    assert "Mardi 24 novembre 2026" in page
    assert "9h–9h45" in page and "Sébastien" in page and "e-mail" in page
    assert masked(ALICE) in page and ALICE not in page and "06 39 98 00 42" not in page
    assert (
        "Caroline" not in page and display_phone(BRUNO, full=False) not in page
    )  # Yutz is not Claire's place
    assert "Réservé" in page and "Déplacer ou annuler" in page
    assert page.count("confirmé par le résident") == 1  # Alice answered OUI to a reminder
    assert masked(CALLER) in page and "10h30–11h15" in page


def test_the_agenda_opens_on_today_in_paris_at_the_accounts_place(
    runtime: Runtime, claire: FlaskClient
) -> None:
    page = claire.get("/inbox/agenda").get_data(as_text=True)

    assert "Agenda – Pôle numérique THI" in page
    assert "Lundi 23 novembre 2026" in page and "Aucun rendez-vous." in page
    assert 'value="2026-11-23"' in page


def test_week_view_lists_monday_to_sunday(runtime: Runtime, claire: FlaskClient) -> None:
    book(runtime, ALICE, TUESDAY_9)
    book(runtime, BRUNO, THURSDAY_11_15)

    page = claire.get(f"{AGENDA}&jour=2026-11-25&vue=semaine").get_data(as_text=True)

    for day in ("Lundi 23", "Mardi 24", "Jeudi 26", "Dimanche 29"):
        assert f"{day} novembre 2026" in page
    assert "9h–9h45" in page and "11h15–12h" in page
    assert "Semaine suivante" in page and "jour=2026-12-02" in page


def test_an_odd_advisor_filter_is_ignored_not_a_crash(claire: FlaskClient) -> None:
    assert claire.get(f"{AGENDA}&conseiller=%C2%B2").status_code == 200


def test_a_bad_date_is_a_clear_error_not_a_crash(claire: FlaskClient) -> None:
    for bad in ("2026-13-45", "demain", "99999-01-01", "0001-01-01"):
        response = claire.get(f"{AGENDA}&jour={bad}")
        assert response.status_code == 400
        assert "Date" in response.get_data(as_text=True)


# --- attendance ----------------------------------------------------------------------------


def test_attendance_is_marked_only_once_the_appointment_has_started(
    runtime: Runtime, claire: FlaskClient, frozen: Clock
) -> None:
    appointment = book(runtime, ALICE, TUESDAY_9)
    page = claire.get(f"{AGENDA}&jour=2026-11-24").get_data(as_text=True)
    assert ">Venu<" not in page

    token = form_token(claire, f"{AGENDA}&jour=2026-11-24")
    url = f"/inbox/agenda/presence/{appointment}"
    response = claire.post(url, data={"csrf_token": token, "presence": "venu"})
    assert response.status_code == 302
    page = claire.get(response.headers["Location"]).get_data(as_text=True)
    assert "La présence se note une fois l&#39;heure du rendez-vous arrivée." in page
    assert row(runtime, appointment).attendance is None

    marked_at = frozen.set("2026-11-24T09:10:00+01:00")
    page = claire.get(f"{AGENDA}&jour=2026-11-24").get_data(as_text=True)
    assert ">Venu<" in page and ">Absent<" in page
    response = claire.post(url, data={"csrf_token": token, "presence": "absent"})
    assert response.status_code == 302
    stored = row(runtime, appointment)
    assert (stored.attendance, stored.attendance_marked_at) == ("no_show", marked_at)
    page = claire.get(response.headers["Location"]).get_data(as_text=True)
    assert "Présence notée pour mardi 24 novembre à 9h : Absent." in page

    claire.post(url, data={"csrf_token": token, "presence": "effacer"})
    assert row(runtime, appointment).attendance is None
    assert claire.post(url, data={"csrf_token": token, "presence": "bof"}).status_code == 400


# --- booking for a resident on the phone ---------------------------------------------------------


def test_an_advisor_books_for_a_caller_who_gets_the_sms(
    runtime: Runtime, claire: FlaskClient, dispatcher: Dispatcher, fake_twilio: FakeTwilio
) -> None:
    _, response = book_by_phone(claire, "2026-11-26", "9h45 avec Sébastien")

    assert response.status_code == 302
    page = claire.get(response.headers["Location"]).get_data(as_text=True)
    assert (
        "Rendez-vous pris pour le 06 39 98 00 44 : jeudi 26 novembre à 9h45 avec Sébastien." in page
    )
    assert "La personne est prévenue par SMS." in page
    [appointment] = appointments_of(runtime, CALLER)
    assert (appointment.status, appointment.motif) == ("booked", "email")
    assert appointment.booked_by_id == user_id(runtime, "claire@example.org")
    assert appointment.starts_at == paris("2026-11-26 09:45")
    assert len(outbox_rows(runtime, "reminder")) == 2
    [text] = outbox_rows(runtime, "text")
    assert (text.channel, text.appointment_id) == ("sms", appointment.id)

    assert dispatcher.run_once(clock.now()).sent == 1
    [sms] = fake_twilio.sent_to(CALLER)
    assert sms.from_ == SERVICE_NUMBER
    assert sms.body == gsm(
        "Votre rendez-vous est pris : jeudi 26 novembre à 9h45, Pôle numérique THI'PI, "
        "12 rue du Cygne, Thionville. Répondez ANNULER pour annuler."
    )


def test_a_landline_caller_gets_no_sms_and_the_advisor_is_told(
    runtime: Runtime, claire: FlaskClient
) -> None:
    _, response = book_by_phone(claire, "2026-11-24", "9h avec Sébastien", "03 53 01 01 05")

    page = claire.get(response.headers["Location"]).get_data(as_text=True)
    assert "C&#39;est un téléphone fixe : aucun SMS n&#39;est envoyé" in page
    assert len(appointments_of(runtime, "+33353010105")) == 1
    assert outbox_rows(runtime, "text") == []
    assert {r.channel for r in outbox_rows(runtime, "reminder")} == {"voice"}


def test_a_resident_who_sent_stop_is_booked_without_sms(
    runtime: Runtime, claire: FlaskClient
) -> None:
    with transaction(runtime.sessions) as session:
        set_opt_out(
            session, get_or_create_resident(session, CALLER, clock.now()), True, clock.now()
        )

    _, response = book_by_phone(claire, "2026-11-24", "9h avec Sébastien")

    page = claire.get(response.headers["Location"]).get_data(as_text=True)
    assert "refusé les SMS (STOP)" in page
    assert len(appointments_of(runtime, CALLER)) == 1
    assert outbox_rows(runtime, "text") == [] and outbox_rows(runtime, "reminder") == []


def test_a_slot_taken_meanwhile_asks_for_another(runtime: Runtime, claire: FlaskClient) -> None:
    page = claire.get(f"{AGENDA}&jour=2026-11-24").get_data(as_text=True)
    slot = slot_option(page, "9h avec Sébastien")
    book(runtime, ALICE, TUESDAY_9)  # a resident texting at the same moment

    response = claire.post(
        "/inbox/agenda/reserver",
        data={
            "csrf_token": form_token(claire, AGENDA),
            "lieu": THIONVILLE,
            "jour": "2026-11-24",
            "creneau": slot,
            "telephone": "06 39 98 00 44",
            "motif": "email",
        },
    )

    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert TAKEN_MEANWHILE in page
    assert 'value="06 39 98 00 44"' in page  # what the advisor typed is kept
    assert appointments_of(runtime, CALLER) == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("telephone", "bonjour", "Ce numéro de téléphone n&#39;est pas valide"),
        ("creneau", "n'importe quoi", "Choisissez un créneau dans la liste."),
        ("creneau", "1|2026-11-24T09:00:00", "Choisissez un créneau dans la liste."),
        ("creneau", "1|0001-01-01T00:30:00+01:00", "Choisissez un créneau dans la liste."),
        ("creneau", "²|2026-11-24T09:00:00+01:00", "Choisissez un créneau dans la liste."),
        ("motif", "poker", "Choisissez un motif dans la liste."),
    ],
)
def test_bad_booking_input_is_explained(
    runtime: Runtime, claire: FlaskClient, field: str, value: str, message: str
) -> None:
    _, response = book_by_phone(claire, "2026-11-24", "9h avec Sébastien", **{field: value})

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert appointments_of(runtime, CALLER) == []


def test_a_slot_too_soon_is_refused(runtime: Runtime, claire: FlaskClient, frozen: Clock) -> None:
    page = claire.get(f"{AGENDA}&jour=2026-11-24").get_data(as_text=True)
    slot = slot_option(page, "9h avec Sébastien")
    frozen.set("2026-11-24T07:30:00+01:00")  # less than 2 hours before

    response = claire.post(
        "/inbox/agenda/reserver",
        data={"csrf_token": form_token(claire, AGENDA), "creneau": slot, "telephone": CALLER},
    )

    assert response.status_code == 400
    assert "n&#39;est plus proposé" in response.get_data(as_text=True)


# --- moving and cancelling -------------------------------------------------------------------


def test_moving_books_the_new_slot_frees_the_old_and_tells_the_resident(
    runtime: Runtime, claire: FlaskClient, dispatcher: Dispatcher, fake_twilio: FakeTwilio
) -> None:
    old = book(runtime, ALICE, TUESDAY_9)
    page_url = f"/inbox/agenda/rendez-vous/{old}?jour=2026-11-26"
    page = claire.get(page_url).get_data(as_text=True)
    assert masked(ALICE) in page and ALICE not in page

    response = claire.post(
        f"/inbox/agenda/rendez-vous/{old}/deplacer",
        data={
            "csrf_token": form_token(claire, page_url),
            "creneau": slot_option(page, "11h15 avec Sébastien"),
        },
    )

    assert response.status_code == 302
    assert "jour=2026-11-26" in response.headers["Location"]
    page = claire.get(response.headers["Location"]).get_data(as_text=True)
    assert "Rendez-vous déplacé au jeudi 26 novembre à 11h15 avec Sébastien." in page
    old_row, new_row = appointments_of(runtime, ALICE)
    assert (old_row.status, new_row.status) == ("cancelled", "booked")
    assert (new_row.moved_from_id, new_row.starts_at) == (old, THURSDAY_11_15)
    assert new_row.booked_by_id == user_id(runtime, "claire@example.org")
    reminders = outbox_rows(runtime, "reminder")
    assert {r.status for r in reminders if r.appointment_id == old} == {"cancelled"}
    assert len([r for r in reminders if r.appointment_id == new_row.id]) == 2

    assert dispatcher.run_once(clock.now()).sent == 1
    [sms] = fake_twilio.sent_to(ALICE)
    assert sms.body == gsm(
        "Votre rendez-vous est déplacé au jeudi 26 novembre à 11h15, Pôle numérique THI'PI, "
        "12 rue du Cygne, Thionville. L'ancien est annulé."
    )


def test_moving_to_a_slot_taken_meanwhile_keeps_the_old_one(
    runtime: Runtime, claire: FlaskClient
) -> None:
    old = book(runtime, ALICE, TUESDAY_9)
    page_url = f"/inbox/agenda/rendez-vous/{old}?jour=2026-11-26"
    slot = slot_option(claire.get(page_url).get_data(as_text=True), "11h15 avec Sébastien")
    book(runtime, BRUNO, THURSDAY_11_15)

    response = claire.post(
        f"/inbox/agenda/rendez-vous/{old}/deplacer",
        data={"csrf_token": form_token(claire, page_url), "creneau": slot},
    )

    assert response.status_code == 409
    assert TAKEN_MEANWHILE in response.get_data(as_text=True)
    assert [a.status for a in appointments_of(runtime, ALICE)] == ["booked"]


def test_cancelling_tells_the_resident_and_offers_the_slot_to_the_waiting_list(
    runtime: Runtime, claire: FlaskClient, dispatcher: Dispatcher, fake_twilio: FakeTwilio
) -> None:
    appointment = book(runtime, ALICE, TUESDAY_9)
    with transaction(runtime.sessions) as session:
        waiting = get_or_create_resident(session, BRUNO, clock.now()).id
        join_waiting_list(
            session,
            waiting,
            clock.now(),
            window_start=paris("2026-11-24 00:00"),
            window_end=paris("2026-11-25 00:00"),
            place_id=THIONVILLE,
        )
    page_url = f"/inbox/agenda/rendez-vous/{appointment}"

    response = claire.post(f"{page_url}/annuler", data={"csrf_token": form_token(claire, page_url)})

    assert response.status_code == 302
    page = claire.get(response.headers["Location"]).get_data(as_text=True)
    assert "Rendez-vous du mardi 24 novembre à 9h annulé. La personne est prévenue par SMS." in page
    assert row(runtime, appointment).status == "cancelled"
    with runtime.sessions() as session:
        [offer] = session.scalars(select(WaitingOffer)).all()
        assert (offer.resident_id, offer.status) == (waiting, "offered")

    assert dispatcher.run_once(clock.now()).sent == 2
    [cancelled] = fake_twilio.sent_to(ALICE)
    assert cancelled.body == gsm(
        "Votre rendez-vous du mardi 24 novembre à 9h à Pôle numérique THI'PI est annulé. "
        "Écrivez-moi pour en prendre un autre."
    )
    [offered] = fake_twilio.sent_to(BRUNO)
    assert offered.body is not None and "mardi 24 novembre à 9h" in offered.body

    again = claire.post(f"{page_url}/annuler", data={"csrf_token": form_token(claire, page_url)})
    assert again.status_code == 400  # already cancelled: said so, nothing sent twice
    assert len(outbox_rows(runtime, "text")) == 1


def test_a_started_appointment_can_no_longer_be_cancelled(
    runtime: Runtime, claire: FlaskClient, frozen: Clock
) -> None:
    appointment = book(runtime, ALICE, TUESDAY_9)
    page_url = f"/inbox/agenda/rendez-vous/{appointment}"
    token = form_token(claire, page_url)
    frozen.set("2026-11-24T09:05:00+01:00")

    response = claire.post(f"{page_url}/annuler", data={"csrf_token": token})

    assert response.status_code == 400
    assert "ne peut plus" in response.get_data(as_text=True)
    assert row(runtime, appointment).status == "booked"


# --- who may do what ---------------------------------------------------------------------------


def test_another_places_advisor_gets_404_everywhere(runtime: Runtime, client: FlaskClient) -> None:
    appointment = book(runtime, ALICE, TUESDAY_9)
    yutz = signed_in(client, runtime, "yutz@example.org", [YUTZ])
    token = form_token(yutz, "/inbox/agenda")
    base = f"/inbox/agenda/rendez-vous/{appointment}"

    assert yutz.get(AGENDA).status_code == 404
    assert yutz.get(base).status_code == 404
    assert yutz.get("/inbox/agenda?lieu=nowhere").status_code == 404
    slot = f"{advisor(runtime)}|{THURSDAY_11_15.isoformat()}"
    for url, form in [
        (f"/inbox/agenda/presence/{appointment}", {"presence": "venu"}),
        (f"{base}/deplacer", {"creneau": slot}),
        (f"{base}/annuler", {}),
        ("/inbox/agenda/reserver", {"creneau": slot, "telephone": CALLER}),
    ]:
        assert yutz.post(url, data={"csrf_token": token, **form}).status_code == 404, url
    assert row(runtime, appointment).status == "booked"
    assert appointments_of(runtime, CALLER) == []
    assert outbox_rows(runtime, "text") == []
    page = yutz.get("/inbox/agenda").get_data(as_text=True)
    assert "Mission locale" in page and "THI&#39;PI" not in page


@pytest.mark.parametrize("bad", ["0", "99999999999", "2147483648", "abc"])
def test_unknown_appointment_ids_are_404(claire: FlaskClient, bad: str) -> None:
    token = form_token(claire, AGENDA)
    assert claire.get(f"/inbox/agenda/rendez-vous/{bad}").status_code == 404
    response = claire.post(f"/inbox/agenda/rendez-vous/{bad}/annuler", data={"csrf_token": token})
    assert response.status_code == 404


def test_an_admin_sees_every_place(runtime: Runtime, client: FlaskClient) -> None:
    book(runtime, ALICE, TUESDAY_9)
    admin = signed_in(client, runtime, "admin@example.org", [], admin=True)

    page = admin.get(f"{AGENDA}&jour=2026-11-24").get_data(as_text=True)

    assert masked(ALICE) in page
    assert admin.get(f"/inbox/agenda?lieu={YUTZ}").status_code == 200


def test_forms_without_csrf_token_change_nothing(runtime: Runtime, claire: FlaskClient) -> None:
    appointment = book(runtime, ALICE, TUESDAY_9)
    slot = f"{advisor(runtime)}|{THURSDAY_11_15.isoformat()}"

    for url, form in [
        (f"/inbox/agenda/rendez-vous/{appointment}/annuler", {}),
        (f"/inbox/agenda/rendez-vous/{appointment}/deplacer", {"creneau": slot}),
        ("/inbox/agenda/reserver", {"creneau": slot, "telephone": CALLER}),
        (f"/inbox/agenda/presence/{appointment}", {"presence": "venu"}),
    ]:
        assert claire.post(url, data=form).status_code == 400, url
    assert [a.status for a in appointments_of(runtime, ALICE)] == ["booked"]
    assert appointments_of(runtime, CALLER) == []
    assert outbox_rows(runtime, "text") == []


def test_signed_out_visitors_are_sent_to_the_login(client: FlaskClient) -> None:
    response = client.get("/inbox/agenda")
    assert response.status_code == 302 and "/inbox/login" in response.headers["Location"]
