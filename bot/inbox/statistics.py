"""Statistiques: requests, bookings, no-shows and escalations as SVG charts, tables and CSV.

An advisor sees the places they work for (one of them, or all together); an admin sees every
place and the rows with no place. Asking for a place one does not see is a 404, as for the
rest of the inbox. Nothing personal is shown or exported: counts and durations only.

CSV: one file per table (`/inbox/statistiques.csv?table=weeks|intents|places|channels|
escalations|bookings|summary`, with the page's `semaines` and `lieu`), UTF-8 with a BOM and
`;` between fields, decimal commas: what a French Excel or LibreOffice opens as columns.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass

from flask import Response, abort, current_app, render_template, request
from flask_login import current_user

from bot import clock
from bot.database import transaction
from bot.inbox import blueprint
from bot.inbox.charts import bar_chart, column_chart
from bot.runtime import runtime_of
from bot.services.statistics import (
    NO_PLACE_LABEL,
    UNPLACED,
    Count,
    Scope,
    Statistics,
    compute_statistics,
    last_weeks,
    week_label,
)
from bot.services.users import Account, PlaceRef, places_of

WEEK_CHOICES = (4, 12, 26, 52)
Row = list[str | int]
DEFAULT_WEEKS = 12


@dataclass(frozen=True, slots=True)
class Selection:
    """What the page was asked for: weeks, place filter, and the places offered."""

    weeks: int
    place: str  # "" (all the account sees), a place id, or UNPLACED (admins)
    places: list[PlaceRef]
    scope: Scope


def _selection(account: Account, places: list[PlaceRef]) -> Selection:
    """The query string read against what the account may see (404 for another's place)."""
    weeks = request.args.get("semaines", DEFAULT_WEEKS, type=int)
    if weeks not in WEEK_CHOICES:
        weeks = DEFAULT_WEEKS
    place = request.args.get("lieu", "")
    if place == "":
        scope = Scope(None) if account.is_admin else Scope(account.place_ids)
    elif place == UNPLACED and account.is_admin:
        scope = Scope(frozenset(), unplaced=True)
    elif place in {p.id for p in places}:
        scope = Scope(frozenset({place}))
    else:
        abort(404)
    return Selection(weeks, place, places, scope)


def _compute() -> tuple[Selection, Statistics]:
    account: Account = current_user.account
    now = clock.now()
    with transaction(runtime_of(current_app).sessions) as session:
        selection = _selection(account, places_of(session, account))
        period = last_weeks(now.date(), selection.weeks)
        stats = compute_statistics(session, selection.scope, period, now)
    return selection, stats


def _pairs(counts: list[Count]) -> list[tuple[str, int]]:
    return [(c.label, c.count) for c in counts]


@blueprint.get("/statistiques")
def statistics() -> str:
    """The statistics page: a chart and a table per measure, and CSV links."""
    selection, stats = _compute()
    weeks = [(w.label.split("-")[1], w.requests) for w in stats.weeks]
    bookings = [(w.label.split("-")[1], w.bookings) for w in stats.weeks]
    first, last = stats.period.mondays[0], stats.period.mondays[-1]
    span = f"du {first:%d/%m/%Y} au {stats.period.last_day:%d/%m/%Y}"
    charts = {
        "weeks": column_chart(
            "semaines", "Demandes par semaine", f"{stats.requests} demandes {span}.", weeks
        ),
        "bookings": column_chart(
            "rdv", "Rendez-vous pris par semaine", f"{stats.bookings} rendez-vous {span}.", bookings
        ),
        "intents": bar_chart(
            "intentions",
            "Demandes par intention",
            "Une barre par intention.",
            _pairs(stats.intents),
        ),
        "places": bar_chart(
            "lieux", "Demandes par lieu", "Une barre par lieu.", _pairs(stats.places)
        ),
        "channels": bar_chart(
            "canaux", "Demandes par canal", "SMS, téléphone, simulateur.", _pairs(stats.channels)
        ),
        "reasons": bar_chart(
            "motifs",
            "Passages à un conseiller, par motif",
            "Une barre par motif.",
            _pairs(stats.reasons),
        ),
    }
    return render_template(
        "inbox_statistics.html",
        section="statistiques",
        selection=selection,
        stats=stats,
        charts=charts,
        span=span,
        week_choices=WEEK_CHOICES,
        unplaced=UNPLACED,
        no_place_label=NO_PLACE_LABEL,
        first_week=week_label(first),
        last_week=week_label(last),
        decimal=decimal,
    )


def decimal(value: float | None, digits: int = 1) -> str:
    """A number the French way ("12,5"); an empty string for None."""
    return "" if value is None else f"{value:.{digits}f}".replace(".", ",")


def _percent(value: float | None) -> str:
    return "" if value is None else decimal(value * 100)


def _summary(stats: Statistics) -> list[Row]:
    attendance, answers = stats.attendance, stats.answer_times
    return [
        ["indicateur", "valeur"],
        ["demandes", stats.requests],
        ["rendez-vous pris", stats.bookings],
        ["dont par un conseiller", sum(w.booked_by_advisor for w in stats.weeks)],
        ["dont annulés depuis", stats.cancelled_bookings],
        ["rendez-vous passés : présents", attendance.attended],
        ["rendez-vous passés : absents", attendance.no_show],
        ["rendez-vous passés : non pointés", attendance.unmarked],
        ["taux d'absence (%)", _percent(attendance.no_show_rate)],
        ["passages à un conseiller", stats.escalations],
        ["passages à un conseiller répondus", answers.answered],
        ["passages à un conseiller sans réponse", answers.unanswered],
        ["délai médian de première réponse (minutes)", decimal(answers.median_minutes)],
        ["délai de première réponse, 90e centile (minutes)", decimal(answers.p90_minutes)],
    ]


def _counts(header: Row, counts: list[Count]) -> list[Row]:
    rows: list[Row] = [header]
    rows += ([c.code, c.label, c.count] for c in counts)
    return rows


def _weeks(stats: Statistics) -> list[Row]:
    rows: list[Row] = [
        [
            "semaine",
            "lundi",
            "demandes",
            "rendez-vous pris",
            "dont par un conseiller",
            "passages à un conseiller",
        ]
    ]
    rows += (
        [w.label, w.monday.isoformat(), w.requests, w.bookings, w.booked_by_advisor, w.escalations]
        for w in stats.weeks
    )
    return rows


def _bookings(stats: Statistics) -> list[Row]:
    rows: list[Row] = [["semaine", "lundi", "rendez-vous pris", "dont par un conseiller"]]
    rows += ([w.label, w.monday.isoformat(), w.bookings, w.booked_by_advisor] for w in stats.weeks)
    return rows


# ?table= -> (French name in the file name, rows).
TABLES: dict[str, tuple[str, Callable[[Statistics], list[Row]]]] = {
    "weeks": ("semaines", _weeks),
    "intents": ("intentions", lambda s: _counts(["code", "intention", "demandes"], s.intents)),
    "places": ("lieux", lambda s: _counts(["identifiant", "lieu", "demandes"], s.places)),
    "channels": ("canaux", lambda s: _counts(["code", "canal", "demandes"], s.channels)),
    "escalations": (
        "passages-conseiller",
        lambda s: _counts(["code", "motif", "passages à un conseiller"], s.reasons),
    ),
    "bookings": ("rendez-vous", _bookings),
    "summary": ("synthese", _summary),
}


@blueprint.get("/statistiques.csv")
def statistics_csv() -> Response:
    """One table of the page as CSV (French Excel flavour: BOM, semicolons)."""
    table = request.args.get("table", "summary")
    if table not in TABLES:
        abort(404)
    selection, stats = _compute()
    name, rows = TABLES[table]
    out = io.StringIO()
    out.write("\ufeff")  # the BOM: Excel reads UTF-8 (accents) only with it
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerows(rows(stats))
    first, last = week_label(stats.period.mondays[0]), week_label(stats.period.mondays[-1])
    place = "-" + re.sub(r"[^A-Za-z0-9_-]", "", selection.place) if selection.place else ""
    filename = f"relais-statistiques-{name}{place}-{first}-{last}.csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename}"',
        },
    )
