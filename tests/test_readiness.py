"""GET /readyz: ready only with the database up, the schema at the newest migration and the
intent engine loaded; otherwise 503 naming what is not ready, and never a secret."""

from __future__ import annotations

from typing import Any

from alembic import command
from flask import Flask
from flask.testing import FlaskClient

from bot.app import create_app
from bot.config import Settings
from bot.migrations import alembic_config
from bot.runtime import runtime_of
from tests.conftest import AUTH_TOKEN

DOWN = "postgresql+psycopg://nobody:s3cret-password@127.0.0.1:1/none"


def test_ready_when_database_migrations_and_engine_are(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "nlu": "ok"},
    }


def test_not_ready_when_the_database_is_down(settings: Settings, nlu_engine: Any) -> None:
    app = create_app(settings.with_overrides(database_url=DOWN), nlu_engine=nlu_engine)
    response = app.test_client().get("/readyz")
    runtime_of(app).db.dispose()
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "not ready"
    assert body["failing"] == ["database", "migrations"]
    assert body["checks"]["database"] == "down"
    text = response.get_data(as_text=True)
    assert "s3cret" not in text and "nobody" not in text and AUTH_TOKEN not in text


def test_not_ready_when_migrations_are_behind(app: Flask) -> None:
    engine = runtime_of(app).db
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "-1")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["failing"] == ["migrations"]
    assert response.get_json()["checks"]["migrations"] == "behind"
    # Liveness does not care: the process and its database are up.
    assert app.test_client().get("/healthz").status_code == 200


def test_not_ready_when_the_database_was_never_migrated(
    settings: Settings, nlu_engine: Any
) -> None:
    app = create_app(settings, nlu_engine=nlu_engine)  # no prepare_database: empty schema
    response = app.test_client().get("/readyz")
    runtime_of(app).db.dispose()
    assert response.status_code == 503
    assert response.get_json()["checks"]["migrations"] == "behind"


def test_not_ready_without_an_intent_engine(app: Flask) -> None:
    runtime = runtime_of(app)
    app.extensions["relais"] = type(runtime)(runtime.settings, runtime.db, runtime.sessions, None)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["failing"] == ["nlu"]
