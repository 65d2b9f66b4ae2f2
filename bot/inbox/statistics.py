"""What residents ask: requests, bookings, no-shows and escalations, as charts and CSV."""

from __future__ import annotations

from flask import render_template

from bot.inbox import blueprint


@blueprint.get("/statistiques")
def statistics() -> str:
    """Placeholder page until this part is built."""
    return render_template("inbox_soon.html", section="statistiques", heading="Statistiques")
