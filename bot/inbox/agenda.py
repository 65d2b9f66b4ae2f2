"""The advisors' agenda: appointments by day and week, attendance, changes for a resident.

Rules live in bot/services/agenda_desk.py; these views parse forms, call it in one transaction,
and redirect with a French message (or show the page again with the error and what was typed).
Another place's agenda or appointment is a 404, like one that does not exist.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import phonenumbers
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from bot import clock
from bot.clock import PARIS
from bot.database import transaction
from bot.inbox import blueprint
from bot.runtime import runtime_of
from bot.services import agenda_desk as desk
from bot.services import bookings
from bot.services.agendas import list_motifs, places_with_agenda
from bot.services.users import Account, places_of
from bot.wording.dates import format_day, format_time, format_when

DAY, WEEK = "jour", "semaine"
# Dates outside this range are refused: nobody plans there, and day arithmetic stays safe.
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)
STATUS = {"booked": "Réservé", "held": "Proposé (liste d'attente)", "cancelled": "Annulé"}
ATTENDANCE = {desk.ATTENDED: "Venu", desk.NO_SHOW: "Absent"}
ERRORS: dict[type[Exception], str] = {
    bookings.SlotTaken: "Ce créneau vient d'être pris, choisissez-en un autre.",
    bookings.SlotUnavailable: (
        "Ce créneau n'est plus proposé (moins de 2 heures avant, plus de 3 mois après, ou jour "
        "fermé). Choisissez-en un autre."
    ),
    bookings.UnknownMotif: "Choisissez un motif dans la liste.",
    bookings.AppointmentPast: "Ce rendez-vous a commencé ou est passé : il ne peut plus changer.",
    bookings.AppointmentNotFound: "Ce rendez-vous est déjà annulé.",
    desk.NotBooked: "Ce rendez-vous n'est pas réservé (annulé ou proposé à la liste d'attente).",
    desk.NotStarted: "La présence se note une fois l'heure du rendez-vous arrivée.",
    desk.InvalidNumber: "Ce numéro de téléphone n'est pas valide (exemple : 06 12 34 56 78).",
}
NO_SLOT = "Choisissez un créneau dans la liste."


class BadInput(ValueError):
    """A form value that cannot be read; its message is shown as it is."""


def account() -> Account:
    """The signed-in account."""
    signed: Account = current_user.account
    return signed


def sessions() -> Any:
    """A transaction on the app's database."""
    return transaction(runtime_of(current_app).sessions)


def error_text(error: Exception) -> str:
    """The French message for a domain error."""
    for kind, text in ERRORS.items():
        if isinstance(error, kind):
            return text
    return str(error)


def parse_day(raw: str | None, default: date) -> date:
    """A "YYYY-MM-DD" day in a sensible range; BadInput otherwise."""
    if not raw:
        return default
    try:
        day = date.fromisoformat(raw.strip())
    except ValueError:
        raise BadInput("Date invalide : utilisez le format AAAA-MM-JJ.") from None
    if not EARLIEST <= day <= LATEST:
        raise BadInput("Date hors de l'agenda.")
    return day


def parse_int(raw: str | None) -> int | None:
    """A positive id from a form or URL, None if absent or not a number."""
    raw = (raw or "").strip()
    # isascii: "²".isdigit() is True, but int("²") fails.
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None


def parse_slot(raw: str | None) -> tuple[int, datetime]:
    """The advisor and start of a slot choice ("12|2026-11-24T09:00:00+01:00")."""
    advisor, _, start = (raw or "").partition("|")
    advisor_id = parse_int(advisor)
    try:
        starts_at = datetime.fromisoformat(start)
    except ValueError:
        raise BadInput(NO_SLOT) from None
    if advisor_id is None or starts_at.tzinfo is None:
        raise BadInput(NO_SLOT)
    if not EARLIEST <= starts_at.date() <= LATEST:  # year 1 or 9999 would overflow slot maths
        raise BadInput(NO_SLOT)
    return advisor_id, starts_at


def slot_value(advisor_id: int, starts_at: datetime) -> str:
    """The <option> value of a slot (read back by parse_slot)."""
    return f"{advisor_id}|{starts_at.isoformat()}"


def national(phone: str) -> str:
    """A number as French advisors write it: "06 39 98 00 42"."""
    try:
        number = phonenumbers.parse(phone, "FR")
    except phonenumbers.NumberParseException:
        return phone
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def sms_note(change: desk.DeskChange) -> str:
    """What the resident was told, for the advisor's message."""
    if change.no_sms_because == desk.LANDLINE:
        return "C'est un téléphone fixe : aucun SMS n'est envoyé, prévenez la personne vous-même."
    if change.no_sms_because == desk.OPTED_OUT:
        return "Cette personne a refusé les SMS (STOP) : aucun SMS n'est envoyé, prévenez-la."
    return "La personne est prévenue par SMS."


def today() -> date:
    """Today in Paris."""
    return clock.now().astimezone(PARIS).date()


def default_place(session: Any, signed: Account) -> str | None:
    """The first place of the account that takes appointments, else its first place."""
    visible = [p.id for p in places_of(session, signed)]
    with_agenda = [p.id for p in places_with_agenda(session) if p.id in set(visible)]
    choices = with_agenda or visible
    return choices[0] if choices else None


def helpers() -> dict[str, Any]:
    """Formatting functions for the templates."""
    return {
        "format_day": format_day,
        "format_time": format_time,
        "format_when": format_when,
        "status_label": STATUS,
        "attendance_label": ATTENDANCE,
        "slot_value": slot_value,
        "DAY": DAY,
        "WEEK": WEEK,
        "section": "agenda",
    }


def agenda_page(
    form: dict[str, str] | None = None, error: str | None = None, code: int = 200
) -> Any:
    """The day or week page, from the query string (or a booking form shown again)."""
    values = dict(request.args)
    values.update(form or {})
    signed = account()
    view = WEEK if values.get("vue") == WEEK else DAY
    now = clock.now()
    try:
        day = parse_day(values.get("jour"), today())
    except BadInput as exc:
        day, error, code = today(), str(exc), 400
    with sessions() as session:
        places = places_of(session, signed)
        place_id = values.get("lieu") or default_place(session, signed)
        if place_id is None:
            return render_template("inbox_agenda.html", places=[], place=None, **helpers())
        try:
            place = desk.check_place(session, signed, place_id)
        except desk.NotVisible:
            abort(404)
        advisors = desk.advisors_of(session, signed, place_id)
        advisor_id = parse_int(values.get("conseiller"))
        if advisor_id not in {a.id for a in advisors}:
            advisor_id = None
        first, last = desk.week_of(day) if view == WEEK else (day, day)
        entries = desk.appointments_between(
            session, signed, place_id, first, last, now, advisor_id=advisor_id
        )
        slots = desk.free_slots_on(session, signed, place_id, day, now) if view == DAY else []
        motifs = list_motifs(session)
        step = timedelta(days=7 if view == WEEK else 1)
        context = {
            "places": places,
            "place": place,
            "advisors": [(a.id, a.name) for a in advisors],
            "advisor_id": advisor_id,
            "view": view,
            "day": day,
            "today": today(),
            "days": [first + timedelta(days=n) for n in range((last - first).days + 1)],
            "entries": entries,
            "slots": slots,
            "motifs": motifs,
            "previous": day - step,
            "next": day + step,
            "form": form or {},
            "error": error,
        }
        page = render_template("inbox_agenda.html", **context, **helpers())
    return page, code


@blueprint.get("/agenda")
def agenda() -> Any:
    """Agenda: a place's appointments for a day (booking form included) or a week."""
    return agenda_page()


def back_to_agenda(entry_place: str, day: date, view: str | None = None) -> BaseResponse:
    """Redirect to the agenda page of that place and day."""
    args: dict[str, Any] = {"lieu": entry_place, "jour": day.isoformat()}
    if view == WEEK:
        args["vue"] = WEEK
    return redirect(url_for("inbox.agenda", **args))


@blueprint.post("/agenda/presence/<int:appointment_id>")
def agenda_attendance(appointment_id: int) -> BaseResponse:
    """Mark a started appointment attended or missed (or clear the mark)."""
    choice = request.form.get("presence", "")
    attendance = {"venu": desk.ATTENDED, "absent": desk.NO_SHOW, "effacer": None}
    if choice not in attendance:
        abort(400)
    try:
        with sessions() as session:
            entry = desk.mark_attendance(
                session, account(), appointment_id, attendance[choice], clock.now()
            )
    except desk.NotVisible:
        abort(404)
    except desk.DeskError as exc:
        with sessions() as session:
            entry = desk.get_entry(session, account(), appointment_id, clock.now())
        flash(error_text(exc), "erreur")
    else:
        said = ATTENDANCE.get(entry.attendance or "", "non renseigné")
        flash(f"Présence notée pour {format_when(entry.starts_at)} : {said}.", "info")
    return back_to_agenda(entry.place_id, entry.starts_at.date(), request.form.get("vue"))


@blueprint.post("/agenda/reserver")
def agenda_book() -> Any:
    """Book a free slot for a resident on the phone; they get a confirmation SMS."""
    form = {key: request.form.get(key, "")[:200] for key in ("lieu", "jour", "creneau", "motif")}
    form["telephone"] = request.form.get("telephone", "")[:40]
    try:
        advisor_id, starts_at = parse_slot(form["creneau"])
        with sessions() as session:
            change = desk.book_for_resident(
                session,
                account(),
                form["telephone"],
                advisor_id,
                starts_at,
                form["motif"] or None,
                clock.now(),
            )
    except desk.NotVisible:
        abort(404)
    except BadInput as exc:
        return agenda_page(form, str(exc), 400)
    except (bookings.BookingError, desk.DeskError) as exc:
        code = 409 if isinstance(exc, bookings.SlotTaken) else 400
        return agenda_page(form, error_text(exc), code)
    runtime_of(current_app).wakeup.wake()  # the SMS to the resident goes now
    info = change.appointment
    flash(
        f"Rendez-vous pris pour le {national(change.phone)} : {format_when(info.starts_at)} "
        f"avec {info.advisor_name}. {sms_note(change)}",
        "info",
    )
    return back_to_agenda(info.place_id, info.starts_at.date())


def appointment_page(appointment_id: int, error: str | None = None, code: int = 200) -> Any:
    """One appointment, with the form to move it (slots of the chosen day) and to cancel it."""
    signed, now = account(), clock.now()
    with sessions() as session:
        try:
            entry = desk.get_entry(session, signed, appointment_id, now)
        except desk.NotVisible:
            abort(404)
        try:
            day = parse_day(request.values.get("jour"), entry.starts_at.date())
        except BadInput as exc:
            day, error, code = entry.starts_at.date(), str(exc), 400
        slots = desk.free_slots_on(session, signed, entry.place_id, day, now)
        page = render_template(
            "inbox_agenda_appointment.html",
            entry=entry,
            day=day,
            slots=slots,
            error=error,
            previous=day - timedelta(days=1),
            next=day + timedelta(days=1),
            **helpers(),
        )
    return page, code


@blueprint.get("/agenda/rendez-vous/<int:appointment_id>")
def agenda_appointment(appointment_id: int) -> Any:
    """Move or cancel one appointment."""
    return appointment_page(appointment_id)


@blueprint.post("/agenda/rendez-vous/<int:appointment_id>/deplacer")
def agenda_move(appointment_id: int) -> Any:
    """Move an appointment to a free slot; the resident gets an SMS, the old slot is offered."""
    try:
        advisor_id, starts_at = parse_slot(request.form.get("creneau"))
        with sessions() as session:
            change = desk.move_for_resident(
                session, account(), appointment_id, advisor_id, starts_at, clock.now()
            )
    except desk.NotVisible:
        abort(404)
    except BadInput as exc:
        return appointment_page(appointment_id, str(exc), 400)
    except (bookings.BookingError, desk.DeskError) as exc:
        code = 409 if isinstance(exc, bookings.SlotTaken) else 400
        return appointment_page(appointment_id, error_text(exc), code)
    runtime_of(current_app).wakeup.wake()  # the SMS to the resident goes now
    info = change.appointment
    flash(
        f"Rendez-vous déplacé au {format_when(info.starts_at)} avec {info.advisor_name}. "
        f"{sms_note(change)}",
        "info",
    )
    return back_to_agenda(info.place_id, info.starts_at.date())


@blueprint.post("/agenda/rendez-vous/<int:appointment_id>/annuler")
def agenda_cancel(appointment_id: int) -> Any:
    """Cancel an appointment; the resident gets an SMS, the slot goes to the waiting list."""
    try:
        with sessions() as session:
            change = desk.cancel_for_resident(session, account(), appointment_id, clock.now())
    except desk.NotVisible:
        abort(404)
    except (bookings.BookingError, desk.DeskError) as exc:
        return appointment_page(appointment_id, error_text(exc), 400)
    runtime_of(current_app).wakeup.wake()  # the SMS to the resident goes now
    info = change.appointment
    flash(f"Rendez-vous du {format_when(info.starts_at)} annulé. {sms_note(change)}", "info")
    return back_to_agenda(info.place_id, info.starts_at.date())
