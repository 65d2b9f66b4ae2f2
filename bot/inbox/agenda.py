"""The advisors' agenda: appointments by day and week, attendance, changes for a resident."""

from __future__ import annotations

from flask import render_template

from bot.inbox import blueprint


@blueprint.get("/agenda")
def agenda() -> str:
    """Placeholder page until this part is built."""
    return render_template("inbox_soon.html", section="agenda", heading="Agenda")
