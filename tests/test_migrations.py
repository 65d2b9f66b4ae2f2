"""Models and Alembic migrations describe the same schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from bot.database import make_engine
from bot.migrations import upgrade_database
from bot.models import Base


def test_migrations_create_exactly_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade_database(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_upgrading_twice_changes_nothing(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade_database(engine)
    tables = set(inspect(engine).get_table_names())
    upgrade_database(engine)
    assert set(inspect(engine).get_table_names()) == tables
    assert {"places", "residents", "processed_messages"} <= tables
    engine.dispose()
