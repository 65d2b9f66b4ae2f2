"""The advisors' availability: weekly windows per advisor and closures, edited in the inbox.

Rules live in bot/services/availability_desk.py. Every change redirects to the page with a
French message; a closure over booked appointments cancels nothing but lists them.
"""

from __future__ import annotations

import re
from datetime import date, time
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from bot import clock
from bot.inbox import blueprint
from bot.inbox.agenda import BadInput, account, default_place, parse_day, parse_int, sessions
from bot.services import availability_desk as windows
from bot.services.agenda_desk import DeskError, NotVisible, check_advisor, check_place
from bot.services.users import places_of
from bot.wording.dates import format_day, format_time, format_when, weekday_name

WEEKDAYS = [(n, weekday_name(n)) for n in range(7)]
ERRORS: dict[type[Exception], str] = {
    windows.WindowOverlap: "Ce créneau chevauche un autre créneau de ce conseiller ce jour-là.",
    windows.InvalidWindow: (
        "Créneau impossible : la fin doit laisser au moins un rendez-vous après le début, "
        "un rendez-vous dure de 5 à 480 minutes, et « valable du » précède « valable au »."
    ),
    windows.InvalidClosure: "Le dernier jour de la fermeture doit suivre le premier.",
}


def _time(raw: str | None) -> time:
    """A wall-clock "HH:MM" (Paris time, like the agenda files); no offset, no seconds' tricks."""
    text = (raw or "").strip()
    if not re.fullmatch(r"[0-9]{1,2}:[0-9]{2}", text):
        raise BadInput("Heure invalide : utilisez le format HH:MM.")
    try:
        return time.fromisoformat(text.zfill(5))
    except ValueError:
        raise BadInput("Heure invalide : utilisez le format HH:MM.") from None


def _optional_day(raw: str | None) -> date | None:
    return parse_day(raw, date.min) if (raw or "").strip() else None


def _back(place_id: str) -> BaseResponse:
    return redirect(url_for("inbox.availability", lieu=place_id))


@blueprint.get("/agenda/disponibilites")
def availability() -> Any:
    """Each advisor's weekly windows and the place's closures, with the forms to change them."""
    signed = account()
    today = clock.now().date()
    with sessions() as session:
        place_id = request.args.get("lieu") or default_place(session, signed)
        if place_id is None:
            abort(404)
        try:
            advisors = windows.windows_of_place(session, signed, place_id)
            closures = windows.closures_of_place(session, signed, place_id, today)
        except NotVisible:
            abort(404)
        return render_template(
            "inbox_availability.html",
            places=places_of(session, signed),
            place_id=place_id,
            advisors=advisors,
            closures=closures,
            weekdays=dict(WEEKDAYS),
            weekday_choices=WEEKDAYS,
            format_day=format_day,
            format_time=format_time,
            section="agenda",
        )


@blueprint.post("/agenda/disponibilites/creneaux")
def availability_add_window() -> BaseResponse:
    """Add a weekly window to an advisor."""
    advisor_id = parse_int(request.form.get("conseiller"))
    if advisor_id is None:
        abort(404)
    form = request.form
    try:
        weekday, minutes = parse_int(form.get("jour_semaine")), parse_int(form.get("duree"))
        if weekday is None or minutes is None:
            raise BadInput("Choisissez un jour et une durée de rendez-vous en minutes.")
        with sessions() as session:
            window = windows.add_window(
                session,
                account(),
                advisor_id,
                weekday=weekday,
                start=_time(form.get("debut")),
                end=_time(form.get("fin")),
                slot_minutes=minutes,
                valid_from=_optional_day(form.get("valable_du")),
                valid_until=_optional_day(form.get("valable_au")),
            )
            place_id = check_advisor(session, account(), advisor_id).place_id
    except NotVisible:
        abort(404)
    except (BadInput, DeskError) as exc:
        with sessions() as session:
            try:
                place_id = check_advisor(session, account(), advisor_id).place_id
            except NotVisible:
                abort(404)
        flash(ERRORS.get(type(exc), str(exc)), "erreur")
        return _back(place_id)
    flash(
        f"Créneau ajouté : le {weekday_name(window.weekday)} de {format_time(window.start)} "
        f"à {format_time(window.end)}, rendez-vous de {window.slot_minutes} minutes.",
        "info",
    )
    return _back(place_id)


@blueprint.post("/agenda/disponibilites/creneaux/<int:window_id>/supprimer")
def availability_remove_window(window_id: int) -> BaseResponse:
    """Remove a weekly window (booked appointments stay)."""
    try:
        with sessions() as session:
            window = windows.remove_window(session, account(), window_id)
            place_id = check_advisor(session, account(), window.advisor_id).place_id
    except NotVisible:
        abort(404)
    flash(
        f"Créneau du {weekday_name(window.weekday)} de {format_time(window.start)} "
        f"à {format_time(window.end)} supprimé. Les rendez-vous déjà pris restent.",
        "info",
    )
    return _back(place_id)


@blueprint.post("/agenda/disponibilites/fermetures")
def availability_add_closure() -> BaseResponse:
    """Close the place, or one advisor, for some days; warn about appointments it covers."""
    form = request.form
    place_id = form.get("lieu", "")[:200]
    raw_advisor = (form.get("conseiller") or "").strip()
    advisor_id = parse_int(raw_advisor) if raw_advisor else None
    if raw_advisor and advisor_id is None:
        abort(404)
    try:
        first = parse_day(form.get("du"), date.min)
        last = parse_day(form.get("au"), first)
        if first == date.min:
            raise BadInput("Indiquez le premier jour de la fermeture.")
        with sessions() as session:
            added = windows.add_closure(
                session,
                account(),
                place_id,
                advisor_id=advisor_id,
                first_day=first,
                last_day=last,
                reason=form.get("motif", "")[:400],
                now=clock.now(),
            )
    except NotVisible:
        abort(404)
    except (BadInput, DeskError) as exc:
        with sessions() as session:
            try:
                check_place(session, account(), place_id)
            except NotVisible:
                abort(404)
        flash(ERRORS.get(type(exc), str(exc)), "erreur")
        return _back(place_id)
    closure = added.closure
    who = f" pour {closure.advisor_name}" if closure.advisor_name else ""
    flash(
        f"Fermeture ajoutée{who} du {format_day(closure.first_day)} "
        f"au {format_day(closure.last_day)} : plus aucun rendez-vous proposé ces jours-là.",
        "info",
    )
    if added.covered:
        listed = " ; ".join(
            f"{format_when(e.starts_at)} avec {e.advisor_name} ({e.masked_phone})"
            for e in added.covered
        )
        flash(
            f"Attention, {len(added.covered)} rendez-vous déjà pris tombent pendant cette "
            f"fermeture et ne sont pas annulés : {listed}. Déplacez-les ou annulez-les "
            "depuis l'agenda.",
            "erreur",
        )
    return _back(place_id)


@blueprint.post("/agenda/disponibilites/fermetures/<int:closure_id>/supprimer")
def availability_remove_closure(closure_id: int) -> BaseResponse:
    """Open the days of a closure again."""
    try:
        with sessions() as session:
            closure = windows.remove_closure(session, account(), closure_id)
    except NotVisible:
        abort(404)
    flash(
        f"Fermeture du {format_day(closure.first_day)} au {format_day(closure.last_day)} "
        "supprimée : les créneaux de ces jours sont de nouveau proposés.",
        "info",
    )
    return _back(closure.place_id)
