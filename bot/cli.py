"""The `relais` command: serve, db upgrade, places import, nlu parse/evaluate, purge."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Engine

from bot import clock
from bot.config import settings_from_env
from bot.database import make_engine, make_session_factory, transaction
from bot.migrations import upgrade_database


@contextmanager
def migrated_database() -> Iterator[Engine]:
    """The configured database, migrated, closed when the command ends."""
    engine = make_engine(settings_from_env().database_url)
    try:
        upgrade_database(engine)
        yield engine
    finally:
        engine.dispose()


@click.group(help="Relais : l'assistant SMS et téléphone des conseillers numériques.")
def main() -> None:
    """Entry point of the console script."""


@main.command(help="Run the web app, webhooks, simulator and scheduler.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Apply migrations, load the demo territory if the database is empty, and serve."""
    from bot.app import create_app, prepare_database
    from bot.runtime import runtime_of
    from bot.scheduler import start_scheduler

    settings = settings_from_env()
    click.echo("Relais : chargement du moteur de compréhension...", err=True)
    app = create_app(settings)
    runtime = runtime_of(app)
    click.echo("Relais : mise à jour de la base de données...", err=True)
    prepare_database(runtime)
    if settings.uses_dev_token:
        click.echo(
            "Relais : jeton Twilio de développement utilisé (TWILIO_AUTH_TOKEN non défini) : "
            f"{settings.twilio_auth_token}",
            err=True,
        )
    if settings.scheduler:
        start_scheduler(runtime)
    base = f"http://{host}:{port}"
    click.echo(f"Relais : prêt sur {base}", err=True)
    if settings.simulator:
        click.echo(f"Relais : simulateur SMS sur {base}/simulateur", err=True)
    app.run(host=host, port=port, use_reloader=False, threaded=True)


@main.group(help="Database schema.")
def db() -> None:
    """Database commands."""


@db.command("upgrade", help="Apply every pending migration.")
def db_upgrade() -> None:
    """Bring the database schema up to date."""
    with migrated_database():
        click.echo("Base de données à jour.")


@main.group(help="Places (lieux de médiation numérique).")
def places() -> None:
    """Place commands."""


@places.command("import", help="Import places from a CSV or JSON file in the national standard.")
@click.argument("file", type=click.Path(path_type=Path))
def places_import(file: Path) -> None:
    """Validate each row, report the rejected ones, import the rest idempotently."""
    from bot.services.places_import import PlacesFileError, import_places

    try:
        with migrated_database() as engine, transaction(make_session_factory(engine)) as session:
            report = import_places(session, file, clock.now())
    except (PlacesFileError, OSError) as exc:
        click.echo(f"Import impossible : {exc}", err=True)
        sys.exit(2)
    for rejection in report.rejected:
        click.echo(
            f"ligne {rejection.line} : champ {rejection.field} : {rejection.reason}", err=True
        )
    for warning in report.warnings:
        click.echo(f"attention : {warning}", err=True)
    if report.ignored_columns:
        click.echo(f"colonnes ignorées : {', '.join(report.ignored_columns)}", err=True)
    click.echo(
        f"{report.created} créé(s), {report.updated} mis à jour, "
        f"{report.unchanged} inchangé(s), {len(report.rejected_lines)} ligne(s) rejetée(s)."
    )
    if report.rejected and not (report.created or report.updated or report.unchanged):
        sys.exit(1)


@main.group(help="Intent engine.")
def nlu() -> None:
    """NLU commands."""


def _engine() -> Any:
    from bot.app import build_intent_engine

    return build_intent_engine(settings_from_env())


@nlu.command("parse", help="Show what the engine understands of a text (Rasa /model/parse JSON).")
@click.argument("text")
def nlu_parse(text: str) -> None:
    """Print the Rasa-shaped JSON for one message."""
    result = _engine().parse(text)
    click.echo(json.dumps(result.to_rasa(), ensure_ascii=False, indent=2))


@nlu.command("evaluate", help="Evaluate the engine on a Rasa NLU YAML test file.")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def nlu_evaluate(file: Path, as_json: bool) -> None:
    """Accuracy, macro F1, per-intent precision/recall and confusions."""
    from nlu import NluDataError, evaluate, load_examples

    try:
        examples = load_examples(file)
    except (NluDataError, OSError) as exc:
        click.echo(f"Fichier invalide : {exc}", err=True)
        sys.exit(2)
    report = evaluate(_engine(), examples)
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        click.echo(report.to_text())


@main.command(help="Delete personal data past the retention period (RELAIS_RETENTION_DAYS).")
def purge() -> None:
    """Run the retention purge now."""
    from bot.services.conversations import purge_expired

    settings = settings_from_env()
    with migrated_database() as engine, transaction(make_session_factory(engine)) as session:
        removed = purge_expired(session, clock.now(), settings.retention_days)
    click.echo(f"{removed} enregistrement(s) supprimé(s).")
