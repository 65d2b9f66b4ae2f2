"""Liveness and readiness: GET /healthz (the process and its database answer) and GET /readyz
(ready for traffic: database up, schema at the newest migration, intent engine loaded).

A load balancer or orchestrator polls both; their JSON names what is wrong, never a setting
or a secret. https://kubernetes.io/docs/reference/using-api/health-checks/
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy import Engine

from bot.database import database_is_up
from bot.migrations import alembic_config
from bot.runtime import runtime_of

blueprint = Blueprint("health", __name__)


@lru_cache(maxsize=1)
def head_revisions() -> frozenset[str]:
    """The newest revision(s) in bot/migrations/versions (fixed for a running process)."""
    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def current_revisions(engine: Engine) -> frozenset[str]:
    """The revision(s) the database is at (empty for a database never migrated)."""
    with engine.connect() as conn:
        return frozenset(MigrationContext.configure(conn).get_current_heads())


@dataclass(frozen=True)
class MigrationState:
    """Where the schema stands against the code's migrations."""

    current: frozenset[str]
    head: frozenset[str]

    @property
    def at_head(self) -> bool:
        """True when the database has every migration and no unknown one."""
        return self.current == self.head


def migration_state(engine: Engine) -> MigrationState:
    """The database's revision(s) and the code's; raises if the database does not answer."""
    return MigrationState(current_revisions(engine), head_revisions())


def readiness(engine: Engine, nlu: object) -> dict[str, str]:
    """Each check's state: "ok", or a short word for what is wrong."""
    checks = {"database": "ok" if database_is_up(engine) else "down"}
    if checks["database"] == "ok":
        try:
            checks["migrations"] = "ok" if migration_state(engine).at_head else "behind"
        except Exception:  # a half-created schema: not ready, whatever the reason
            checks["migrations"] = "unknown"
    else:
        checks["migrations"] = "unknown"
    checks["nlu"] = "ok" if nlu is not None and hasattr(nlu, "parse") else "not loaded"
    return checks


@blueprint.get("/healthz")
def healthz() -> tuple[Response, int]:
    """Liveness (cheap): 200 when the app and its database answer, 503 otherwise."""
    up = database_is_up(runtime_of(current_app).db)
    body = {"status": "ok" if up else "unavailable", "database": "ok" if up else "down"}
    return jsonify(body), 200 if up else 503


@blueprint.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Readiness: 200 when every check passes, else 503 naming the failing ones."""
    runtime = runtime_of(current_app)
    checks = readiness(runtime.db, runtime.nlu)
    ready = all(state == "ok" for state in checks.values())
    body: dict[str, object] = {"status": "ready" if ready else "not ready", "checks": checks}
    if not ready:
        body["failing"] = sorted(name for name, state in checks.items() if state != "ok")
    return jsonify(body), 200 if ready else 503
