"""The demo territory (../shared/demo, copied into bot/data): loaded into an empty database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.models import Place
from bot.services.places_import import DEMO_PLACES_PATH, import_places, load_demo_workshops


def load_demo_territory_if_empty(session: Session, now: datetime) -> str:
    """Import the demo places and workshops when there are no places yet; say what was loaded."""
    if session.scalar(select(func.count()).select_from(Place)):
        return ""
    report = import_places(session, DEMO_PLACES_PATH, now)
    workshops = load_demo_workshops(session)
    return f"{report.created} places, {len(workshops)} workshops"
