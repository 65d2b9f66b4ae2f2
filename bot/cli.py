"""The `relais` command: serve, worker, db, places, agendas, reminders, nlu, users, purge."""

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


@main.group(help="Advisors' agendas (appointments).")
def agendas() -> None:
    """Agenda commands."""


@agendas.command("import", help="Import advisors' agendas from a relais-agendas/1 JSON file.")
@click.argument("file", type=click.Path(path_type=Path))
def agendas_import(file: Path) -> None:
    """Load the whole file in one transaction: all of it, or nothing on any error."""
    from bot.services.agendas import AgendaFileError, load_agendas

    try:
        with migrated_database() as engine, transaction(make_session_factory(engine)) as session:
            report = load_agendas(session, file)
    except AgendaFileError as exc:
        message = str(exc)
        if str(file) not in message:  # field errors say where in the file, not which file
            message = f"{file}: {message}"
        click.echo(f"Import impossible, rien n'a changé : {message}", err=True)
        sys.exit(1)
    for place_id in report.skipped_places:
        click.echo(f"attention : lieu inconnu {place_id} ignoré", err=True)
    click.echo(
        f"{report.places} lieu(x), {report.advisors} conseiller(s) créé(s) ou mis à jour, "
        f"{report.deactivated_advisors} désactivé(s), "
        f"{report.availabilities} plage(s) hebdomadaire(s) par jour, "
        f"{report.closures} fermeture(s), {report.motifs} motif(s), "
        f"{len(report.skipped_places)} lieu(x) inconnu(s) ignoré(s)."
    )


@main.group(help="Reminders and other outbound messages.")
def reminders() -> None:
    """Reminder commands."""


def _dispatcher_report(report: Any) -> str:
    return (
        f"{report.sent} envoyé(s), {report.retried} à réessayer, {report.failed} en échec, "
        f"{report.cancelled} annulé(s), {report.postponed} reporté(s) (heures calmes), "
        f"{report.reconciled} réconcilié(s), {report.expired_offers} proposition(s) expirée(s)."
    )


@reminders.command("run-once", help="Send the reminders and offers due now (for cron and tests).")
@click.option("--now", "at", default=None, help="ISO-8601 instant to act at (default: now).")
def reminders_run_once(at: str | None) -> None:
    """One dispatcher pass, then exit."""
    from datetime import datetime

    from bot.dispatch import dispatcher_for
    from bot.runtime import Runtime

    when = clock.now()
    if at:
        try:
            when = datetime.fromisoformat(at)
        except ValueError:
            click.echo(f"--now : date invalide {at!r} (ISO-8601 attendu)", err=True)
            sys.exit(2)
        if when.tzinfo is None:
            when = when.replace(tzinfo=clock.PARIS)
    settings = settings_from_env()
    with migrated_database() as engine:
        runtime = Runtime(settings, engine, make_session_factory(engine), None)
        dispatcher = dispatcher_for(runtime)
        try:
            report = dispatcher.run_once(when)
        finally:
            dispatcher.close()
    click.echo(_dispatcher_report(report))


@main.command(help="Run the outbox dispatcher on its own, without the web app.")
@click.option("--every", default=5.0, show_default=True, help="Seconds between two passes.")
def worker(every: float) -> None:
    """Dispatch in a loop until interrupted (several workers may run at once)."""
    import time

    from bot.dispatch import dispatcher_for
    from bot.runtime import Runtime

    settings = settings_from_env()
    with migrated_database() as engine:
        runtime = Runtime(settings, engine, make_session_factory(engine), None)
        dispatcher = dispatcher_for(runtime)
        click.echo(f"Relais : répartiteur {dispatcher.worker} démarré", err=True)
        try:
            while True:
                report = dispatcher.run_once()
                if report.sent or report.failed or report.retried:
                    click.echo(_dispatcher_report(report), err=True)
                time.sleep(every)
        except KeyboardInterrupt:
            click.echo("Relais : répartiteur arrêté", err=True)
        finally:
            dispatcher.close()


@main.group(help="A resident's data (RGPD): export or erase it.")
def resident() -> None:
    """Resident data commands."""


@resident.command("export", help="Print everything held about a phone number, as JSON.")
@click.argument("number")
def resident_export(number: str) -> None:
    """Right of access: the resident's data, table by table."""
    from bot.services.resident_data import UnknownNumber, export_resident

    try:
        with migrated_database() as engine, transaction(make_session_factory(engine)) as session:
            data = export_resident(session, number)
    except UnknownNumber:
        click.echo("Aucune donnée pour ce numéro.", err=True)
        sys.exit(1)
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@resident.command("erase", help="Delete everything held about a phone number.")
@click.argument("number")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def resident_erase(number: str, yes: bool) -> None:
    """Right to erasure: everything personal, in one transaction; anonymous statistics stay.

    Then their recordings are deleted at Twilio; any Twilio cannot delete now stays written
    down (its SID only) and the next `relais purge` tries again.
    """
    from bot.privacy import mask_phone
    from bot.services.phone_numbers import normalise_number
    from bot.services.recordings import (
        RecordingDeletions,
        delete_pending_recordings,
        twilio_recordings,
    )
    from bot.services.resident_data import UnknownNumber, erase_resident

    masked = mask_phone(normalise_number(number))
    if not yes:
        click.confirm(f"Effacer toutes les données du {masked} ?", abort=True)
    recordings = RecordingDeletions()
    try:
        with migrated_database() as engine, twilio_recordings(settings_from_env()) as deleter:
            sessions = make_session_factory(engine)
            with transaction(sessions) as session:
                erased = erase_resident(
                    session, number, clock.now(), track_recordings=deleter is not None
                )
            if deleter is not None and erased.recording_sids:
                recordings = delete_pending_recordings(sessions, deleter, erased.recording_sids)
    except UnknownNumber:
        click.echo("Aucune donnée pour ce numéro.", err=True)
        sys.exit(1)
    click.echo(
        f"{erased.deleted} enregistrement(s) effacé(s) pour le {masked} ; "
        f"{erased.freed} rendez-vous à venir annulé(s) ; "
        f"{erased.anonymised} ligne(s) de statistiques gardée(s) sans le numéro."
    )
    if recordings.deleted:
        click.echo(f"{recordings.deleted} enregistrement(s) audio supprimé(s) chez Twilio.")
    if recordings.pending:
        click.echo(
            f"Attention : {recordings.pending} enregistrement(s) audio de ce numéro n'ont pas "
            "pu être supprimés chez Twilio (Twilio injoignable ou en erreur). Les données de "
            "Relais sont bien effacées ; seul l'identifiant de chaque enregistrement est gardé, "
            "sans le numéro, pour réessayer. Relancez `relais purge` plus tard : elle réessaie "
            "(la purge de chaque nuit à 03:30 aussi).",
            err=True,
        )


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


@main.group(help="Advisors' inbox accounts.")
def users() -> None:
    """Account commands."""


@users.command("add", help="Create an advisor account for one or more places.")
@click.argument("email")
@click.option("--place", "place_ids", multiple=True, help="Place id (repeat for several places).")
@click.option("--admin", is_flag=True, help="Sees every place.")
@click.option(
    "--password",
    prompt="Mot de passe",
    hide_input=True,
    confirmation_prompt="Confirmez le mot de passe",
    help="Asked for (hidden) when not given; on the command line it stays in the shell history.",
)
def users_add(email: str, place_ids: tuple[str, ...], admin: bool, password: str) -> None:
    """Hash the password with argon2id and create the account; exit 1 on any refusal."""
    from bot.services.users import (
        EmailTaken,
        InvalidEmail,
        NoPlace,
        UnknownPlaces,
        WeakPassword,
        add_user,
    )

    try:
        with migrated_database() as engine, transaction(make_session_factory(engine)) as session:
            account = add_user(
                session, email, password, list(place_ids), is_admin=admin, now=clock.now()
            )
    except UnknownPlaces as exc:
        click.echo(f"Compte non créé : lieu(x) inconnu(s) : {exc}", err=True)
        sys.exit(1)
    except InvalidEmail:
        click.echo(f"Compte non créé : adresse e-mail invalide : {email}", err=True)
        sys.exit(1)
    except EmailTaken:
        click.echo(f"Compte non créé : un compte existe déjà pour {email.strip()}", err=True)
        sys.exit(1)
    except WeakPassword as exc:
        click.echo(f"Compte non créé : mot de passe trop court ({exc})", err=True)
        sys.exit(1)
    except NoPlace:
        click.echo("Compte non créé : indiquez au moins un lieu (--place) ou --admin", err=True)
        sys.exit(1)
    role = "administrateur (tous les lieux)" if account.is_admin else "conseiller"
    places = ", ".join(sorted(account.place_ids)) or "aucun"
    click.echo(f"Compte {role} créé pour {account.email} ; lieux : {places}.")


@main.command(help="Delete personal data past the retention period (RELAIS_RETENTION_DAYS).")
def purge() -> None:
    """Run the retention purge now; anonymous statistics are kept. Recordings are deleted at
    Twilio after our rows, with those an earlier purge or erasure could not delete."""
    from bot.services.recordings import twilio_recordings
    from bot.services.retention import purge as run_purge

    settings = settings_from_env()
    with migrated_database() as engine, twilio_recordings(settings) as deleter:
        sessions = make_session_factory(engine)
        report = run_purge(sessions, clock.now(), settings.retention_days, deleter)
    click.echo(report.in_french())
    click.echo(report.recordings_in_french())


@main.command(help="Check the configuration: settings, database, migrations, Twilio account.")
def doctor() -> None:
    """One line per check (✔ or ✘, with a hint); exit 1 when any check fails."""
    from bot.doctor import run_checks

    checks = run_checks()
    for check in checks:
        click.echo(check.line())
    failed = sum(not check.ok for check in checks)
    if failed:
        click.echo(f"{failed} problème(s) à corriger.")
        sys.exit(1)
    click.echo("Tout est en ordre.")
