"""`relais doctor` as an operator runs it before going live, against the local fake Twilio."""

from __future__ import annotations

from alembic import command
from click.testing import CliRunner, Result

from bot.cli import main
from bot.database import make_engine
from bot.health import head_revisions
from bot.migrations import alembic_config, upgrade_database
from tests.conftest import SERVICE_NUMBER
from tests.twilio_server import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

# Every variable the doctor reads, so the caller's environment never leaks into a test.
CLEAN = {
    name: ""
    for name in (
        "RELAIS_ENV",
        "RELAIS_PUBLIC_URL",
        "RELAIS_SECRET_KEY",
        "RELAIS_SIMULATOR",
        "RELAIS_OUTBOUND",
        "RELAIS_SESSION_COOKIE_SECURE",
        "RELAIS_NLU",
        "RASA_URL",
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_FROM",
        "TWILIO_API_URL",
    )
}


def doctor(env: dict[str, str]) -> Result:
    return CliRunner().invoke(main, ["doctor"], env={**CLEAN, **env})


def production(database_url: str, fake: FakeTwilio, token: str = AUTH_TOKEN) -> dict[str, str]:
    """A production configuration whose Twilio is the fake."""
    return {
        "RELAIS_ENV": "production",
        "RELAIS_DATABASE_URL": database_url,
        "RELAIS_PUBLIC_URL": "https://relais.example.org",
        "RELAIS_SECRET_KEY": "a-real-secret-key-for-the-test",
        "RELAIS_SIMULATOR": "0",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": token,
        "TWILIO_FROM": SERVICE_NUMBER,
        "TWILIO_API_URL": fake.url,
    }


def migrated(database_url: str) -> str:
    engine = make_engine(database_url)
    upgrade_database(engine)
    engine.dispose()
    return database_url


def test_a_good_production_configuration_passes_every_check(
    database_url: str, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.incoming_numbers = ["+33700000099", SERVICE_NUMBER]
    result = doctor(production(migrated(database_url), fake_twilio))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert all(line.startswith("✔") for line in lines[:-1]), result.output
    assert "✔ Base de données joignable" in lines
    assert any(line.startswith("✔ Migrations à jour") for line in lines)
    assert "✔ Identifiants Twilio valides (compte active)" in lines
    assert f"✔ TWILIO_FROM {SERVICE_NUMBER} appartient au compte" in lines
    assert lines[-1] == "Tout est en ordre."
    assert AUTH_TOKEN not in result.output
    asked = {request.operation_id for request in fake_twilio.requests}
    assert asked == {"FetchAccount", "ListIncomingPhoneNumber"}


def test_a_wrong_twilio_token_fails_in_french(database_url: str, fake_twilio: FakeTwilio) -> None:
    fake_twilio.incoming_numbers = [SERVICE_NUMBER]
    env = production(migrated(database_url), fake_twilio, token="not-the-right-token")
    result = doctor(env)
    assert result.exit_code == 1, result.output
    assert (
        "✘ Identifiants Twilio refusés (HTTP 401) — vérifiez TWILIO_ACCOUNT_SID et "
        "TWILIO_AUTH_TOKEN" in result.output.splitlines()
    )
    assert "not-the-right-token" not in result.output
    assert "1 problème(s) à corriger." in result.output


def test_a_number_the_account_does_not_own_fails(
    database_url: str, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.incoming_numbers = ["+33700000099"]
    result = doctor(production(migrated(database_url), fake_twilio))
    assert result.exit_code == 1
    assert f"✘ TWILIO_FROM {SERVICE_NUMBER} n'est pas un numéro du compte" in result.output


def test_an_unreachable_database_fails(fake_twilio: FakeTwilio) -> None:
    fake_twilio.incoming_numbers = [SERVICE_NUMBER]
    down = "postgresql+psycopg://nobody:s3cret@127.0.0.1:1/none"
    result = doctor(production(down, fake_twilio))
    assert result.exit_code == 1
    assert (
        "✘ Base de données injoignable — vérifiez RELAIS_DATABASE_URL et le serveur"
        in result.output
    )
    assert "s3cret" not in result.output


def test_migrations_behind_fail_with_the_command_to_run(
    database_url: str, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.incoming_numbers = [SERVICE_NUMBER]
    engine = make_engine(migrated(database_url))
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "-1")
    engine.dispose()
    result = doctor(production(database_url, fake_twilio))
    assert result.exit_code == 1
    line = next(line for line in result.output.splitlines() if "Migrations" in line)
    head = ", ".join(sorted(head_revisions()))
    assert line.startswith("✘ Migrations en retard (base : "), line
    assert line.endswith(f" ; code : {head}) — lancez « relais db upgrade »"), line


def test_production_with_development_secrets_is_refused(database_url: str) -> None:
    result = doctor({"RELAIS_ENV": "production", "RELAIS_DATABASE_URL": database_url})
    assert result.exit_code == 1
    assert result.output.splitlines()[:2] == [
        "✔ Configuration lue",
        "✘ Configuration refusée (production) — RELAIS_ENV=production needs "
        "TWILIO_AUTH_TOKEN and RELAIS_SECRET_KEY set",
    ]


def test_development_mode_is_said_plainly_and_passes(database_url: str) -> None:
    result = doctor({"RELAIS_DATABASE_URL": migrated(database_url)})
    assert result.exit_code == 0, result.output
    assert "Twilio : mode développement" in result.output


def test_a_setting_that_cannot_be_read_fails(database_url: str) -> None:
    result = doctor({"RELAIS_DATABASE_URL": database_url, "RELAIS_RETENTION_DAYS": "six mois"})
    assert result.exit_code == 1
    assert result.output.startswith("✘ Configuration illisible — RELAIS_RETENTION_DAYS")
