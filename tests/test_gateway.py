"""Sending SMS through the gateway, against a local fake Twilio checked by Twilio's OpenAPI file."""

from __future__ import annotations

import base64
import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from bot.config import Settings
from bot.services.gateway import (
    BaseUrlHttpClient,
    PermanentSendError,
    RecipientOptedOut,
    SentSms,
    SmsGateway,
    TemporarySendError,
    gateway_from_settings,
)
from tests.twilio_server import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    INVALID_NUMBER,
    NOT_MOBILE,
    OPTED_OUT,
    RATE_LIMITED,
    SERVER_ERROR,
    FakeTwilio,
    slow,
    twilio_error,
)

RESIDENT = "+33639980042"
SENDER = "+33700000001"
MESSAGES_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
CALLBACK = "https://relais.example.org/twilio/status"


@pytest.fixture
def twilio_api() -> Iterator[FakeTwilio]:
    """The fake Twilio; every request it received must conform to the spec."""
    with FakeTwilio() as server:
        yield server
    assert server.violations == []


def make_gateway(url: str, sender: str = SENDER, **options: object) -> SmsGateway:
    return SmsGateway(ACCOUNT_SID, AUTH_TOKEN, sender, api_url=url, **options)  # type: ignore[arg-type]


@pytest.fixture
def gateway(twilio_api: FakeTwilio) -> Iterator[SmsGateway]:
    gw = make_gateway(twilio_api.url, timeout=2)
    yield gw
    gw.close()


def test_send_posts_the_message_to_the_configured_base_url(
    gateway: SmsGateway, twilio_api: FakeTwilio
) -> None:
    sent = gateway.send_sms(RESIDENT, "Votre rendez-vous est confirmé.", status_callback=CALLBACK)

    assert isinstance(sent, SentSms)
    assert sent.sid.startswith("SM") and len(sent.sid) == 34
    assert sent.status == "queued"
    assert sent.to == RESIDENT
    [request] = twilio_api.requests
    assert (request.method, request.path, request.operation_id) == (
        "POST",
        MESSAGES_PATH,
        "CreateMessage",
    )
    assert request.form == {
        "To": RESIDENT,
        "From": SENDER,
        "Body": "Votre rendez-vous est confirmé.",
        "StatusCallback": CALLBACK,
    }
    credentials = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {credentials}"
    assert request.authorized and request.problems == []


def test_no_status_callback_sends_no_such_field(
    gateway: SmsGateway, twilio_api: FakeTwilio
) -> None:
    gateway.send_sms(RESIDENT, "Bonjour")

    assert set(twilio_api.requests[0].form) == {"To", "From", "Body"}


def test_accents_outside_gsm7_are_mapped(gateway: SmsGateway, twilio_api: FakeTwilio) -> None:
    gateway.send_sms(RESIDENT, "Fenêtre à côté de l’accueil — « ouvert »")

    assert twilio_api.requests[0].form["Body"] == 'Fenetre à coté de l\'accueil - " ouvert "'


def test_unicode_allowed_sends_the_text_unchanged(twilio_api: FakeTwilio) -> None:
    gw = make_gateway(twilio_api.url, unicode_allowed=True)
    try:
        gw.send_sms(RESIDENT, "Fenêtre à côté")
    finally:
        gw.close()

    assert twilio_api.requests[0].form["Body"] == "Fenêtre à côté"


def test_messaging_service_sender(twilio_api: FakeTwilio) -> None:
    service = "MG" + "a" * 32
    gw = make_gateway(twilio_api.url, sender=service)
    try:
        sent = gw.send_sms(RESIDENT, "Bonjour")
    finally:
        gw.close()

    form = twilio_api.requests[0].form
    assert form["MessagingServiceSid"] == service
    assert "From" not in form
    assert sent.sid.startswith("SM")


def test_opted_out_recipient(gateway: SmsGateway, twilio_api: FakeTwilio) -> None:
    twilio_api.fail_next(OPTED_OUT)

    with pytest.raises(RecipientOptedOut) as info:
        gateway.send_sms(RESIDENT, "Rappel")

    assert (info.value.status, info.value.code) == (400, 21610)
    assert isinstance(info.value, PermanentSendError)


@pytest.mark.parametrize("failure", [INVALID_NUMBER, NOT_MOBILE], ids=["21211", "21614"])
def test_refused_number_is_permanent(
    gateway: SmsGateway, twilio_api: FakeTwilio, failure: object
) -> None:
    twilio_api.fail_next(failure)  # type: ignore[arg-type]

    with pytest.raises(PermanentSendError) as info:
        gateway.send_sms(RESIDENT, "Rappel")

    assert not isinstance(info.value, RecipientOptedOut)
    assert info.value.code == failure.body["code"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("failure", "status"), [(RATE_LIMITED, 429), (SERVER_ERROR, 500)], ids=["429", "500"]
)
def test_rate_limit_and_outage_are_temporary(
    gateway: SmsGateway, twilio_api: FakeTwilio, failure: object, status: int
) -> None:
    twilio_api.fail_next(failure)  # type: ignore[arg-type]

    with pytest.raises(TemporarySendError) as info:
        gateway.send_sms(RESIDENT, "Rappel")

    assert info.value.status == status
    # The next attempt (the dispatcher's retry) goes through.
    assert gateway.send_sms(RESIDENT, "Rappel").status == "queued"


def test_timeout_is_temporary(twilio_api: FakeTwilio) -> None:
    twilio_api.fail_next(slow(5))
    gw = make_gateway(twilio_api.url, timeout=0.3)
    try:
        with pytest.raises(TemporarySendError, match="in time"):
            gw.send_sms(RESIDENT, "Rappel")
    finally:
        gw.close()


def test_connection_refused_is_temporary() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    gw = make_gateway(f"http://127.0.0.1:{port}", timeout=2)
    try:
        with pytest.raises(TemporarySendError, match="cannot reach"):
            gw.send_sms(RESIDENT, "Rappel")
    finally:
        gw.close()


def test_wrong_token_is_permanent(twilio_api: FakeTwilio) -> None:
    gw = SmsGateway(ACCOUNT_SID, "wrong-token", SENDER, api_url=twilio_api.url)
    try:
        with pytest.raises(PermanentSendError) as info:
            gw.send_sms(RESIDENT, "Rappel")
    finally:
        gw.close()

    assert (info.value.status, info.value.code) == (401, 20003)
    assert not twilio_api.requests[0].authorized


def test_logs_and_errors_never_show_the_number_or_body(
    gateway: SmsGateway, twilio_api: FakeTwilio, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = "Code confidentiel 4821"
    twilio_api.fail_next(
        twilio_error(400, 21211, f"The 'To' number {RESIDENT} is not a valid phone number.")
    )

    with pytest.raises(PermanentSendError) as info:
        gateway.send_sms(RESIDENT, body)
    gateway.send_sms(RESIDENT, body)

    assert RESIDENT not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert "+33*******42" in caplog.text
    for secret in (RESIDENT, RESIDENT[1:], "06 39 98 00 42", body, AUTH_TOKEN):
        assert secret not in caplog.text


def test_base_url_rewrites_scheme_host_and_keeps_the_path() -> None:
    client = BaseUrlHttpClient("http://127.0.0.1:8080/twilio/")
    try:
        assert (
            client.rewrite("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?x=1")
            == "http://127.0.0.1:8080/twilio/2010-04-01/Accounts/AC1/Messages.json?x=1"
        )
    finally:
        client.session.close()
    with pytest.raises(ValueError):
        BaseUrlHttpClient("127.0.0.1:8080")


def test_gateway_from_settings(twilio_api: FakeTwilio, tmp_path: Path) -> None:
    settings = Settings(
        instance_dir=tmp_path,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_from=SENDER,
        twilio_api_url=twilio_api.url,
        sms_unicode=True,
    )
    gw = gateway_from_settings(settings)
    try:
        gw.send_sms(RESIDENT, "Fenêtre")
    finally:
        gw.close()

    assert twilio_api.requests[0].form == {"To": RESIDENT, "From": SENDER, "Body": "Fenêtre"}


# -- the fake itself refuses what Twilio's spec does not describe ------------------------------


def _raw_post(server: FakeTwilio, path: str, form: dict[str, str]) -> requests.Response:
    with requests.Session() as session:
        return session.post(server.url + path, data=form, auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)


def test_fake_rejects_unknown_form_field() -> None:
    with FakeTwilio() as server:
        response = _raw_post(
            server, MESSAGES_PATH, {"To": RESIDENT, "From": SENDER, "Body": "x", "Bodyy": "y"}
        )

    assert response.status_code == 400
    assert "unknown fields ['Bodyy']" in response.json()["message"]
    assert server.violations == ["CreateMessage: unknown fields ['Bodyy']"]


def test_fake_rejects_missing_required_and_either_or_fields() -> None:
    with FakeTwilio() as server:
        response = _raw_post(server, MESSAGES_PATH, {"Body": "x"})

    assert response.status_code == 400
    assert "CreateMessage: missing required fields ['To']" in server.violations
    assert "CreateMessage: needs one of ['From', 'MessagingServiceSid']" in server.violations


def test_fake_rejects_unknown_path_and_method() -> None:
    with FakeTwilio() as server:
        unknown = _raw_post(server, f"/2010-04-01/Accounts/{ACCOUNT_SID}/Texts.json", {})
        with requests.Session() as session:
            wrong_method = session.put(
                server.url + MESSAGES_PATH, data={"To": RESIDENT}, auth=(ACCOUNT_SID, AUTH_TOKEN)
            )

    assert unknown.status_code == 404
    assert wrong_method.status_code == 404
    assert "PUT not allowed" in server.violations[1]


def test_fake_checks_path_parameters() -> None:
    with FakeTwilio() as server:
        response = _raw_post(
            server, "/2010-04-01/Accounts/ACnope/Messages.json", {"To": RESIDENT, "From": SENDER}
        )

    assert response.status_code == 400
    assert any("AccountSid='ACnope'" in v for v in server.violations)
