"""The demo territory (../shared/demo, copied into bot/data): loaded into an empty database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.models import Place
from bot.services.agendas import DEMO_AGENDAS_PATH, load_agendas
from bot.services.places_import import DEMO_PLACES_PATH, import_places, load_demo_workshops


def load_demo_territory_if_empty(session: Session, now: datetime) -> str:
    """Import the demo places, workshops and agendas when there are no places yet; say what."""
    if session.scalar(select(func.count()).select_from(Place)):
        return ""
    report = import_places(session, DEMO_PLACES_PATH, now)
    workshops = load_demo_workshops(session)
    agendas = load_agendas(session, DEMO_AGENDAS_PATH)
    return f"{report.created} places, {len(workshops)} workshops, {agendas.advisors} advisors"
