"""The fake Twilio remembers what it created, reads it back like Twilio, and simulates outages.

Driven through the official `twilio` client (pointed at the fake by the gateway's HTTP client).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from bot.services.gateway import (
    BaseUrlHttpClient,
    RecipientOptedOut,
    SmsGateway,
    TemporarySendError,
)
from tests.twilio_server import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    OPTED_OUT,
    RATE_LIMITED,
    SERVER_ERROR,
    FakeTwilio,
    slow,
)

RESIDENT = "+33639980042"
NEIGHBOUR = "+33611223344"
SENDER = "+33700000001"
CALLBACK = "https://relais.example.org/twilio/status"
TWIML = "<Response><Say language='fr-FR'>Bonjour</Say></Response>"
MESSAGES_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"


class Clock:
    """A settable clock for the fake's creation dates."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 23, 9, 0, 0, 250_000, tzinfo=UTC))


@pytest.fixture
def twilio_api(clock: Clock) -> Iterator[FakeTwilio]:
    """The fake Twilio; every request it received must conform to the spec."""
    with FakeTwilio(clock=clock) as server:
        yield server
    assert server.violations == []


@pytest.fixture
def client(twilio_api: FakeTwilio) -> Iterator[Client]:
    http = BaseUrlHttpClient(twilio_api.url, timeout=2)
    yield Client(ACCOUNT_SID, AUTH_TOKEN, http_client=http)
    http.session.close()


@pytest.fixture
def gateway(twilio_api: FakeTwilio) -> Iterator[SmsGateway]:
    gw = SmsGateway(ACCOUNT_SID, AUTH_TOKEN, SENDER, api_url=twilio_api.url, timeout=2)
    yield gw
    gw.close()


# -- what was created ---------------------------------------------------------------------------


def test_created_messages_are_remembered_in_order_with_twilio_dates(
    gateway: SmsGateway, twilio_api: FakeTwilio, clock: Clock
) -> None:
    first = gateway.send_sms(RESIDENT, "Bonjour", status_callback=CALLBACK)
    clock.now += timedelta(minutes=5)
    second = gateway.send_sms(NEIGHBOUR, "Rappel")

    one, two = twilio_api.messages
    assert (one.sid, one.to, one.from_, one.body) == (first.sid, RESIDENT, SENDER, "Bonjour")
    assert (one.status_callback, one.status) == (CALLBACK, "queued")
    assert one.date_created == "Mon, 23 Nov 2026 09:00:00 +0000"
    assert (two.sid, two.to, two.status_callback) == (second.sid, NEIGHBOUR, None)
    assert two.date_created == "Mon, 23 Nov 2026 09:05:00 +0000"
    assert twilio_api.sent_to(RESIDENT) == [one]
    assert twilio_api.sent_to("+33600000000") == []
    assert twilio_api.created_count == 2
    assert len(twilio_api.requests) == 2


def test_messages_sent_can_be_listed_back_by_recipient(gateway: SmsGateway, client: Client) -> None:
    older = gateway.send_sms(RESIDENT, "Premier")
    gateway.send_sms(NEIGHBOUR, "Pour le voisin")
    newer = gateway.send_sms(RESIDENT, "Second")

    listed = client.api.account.messages.list(to=RESIDENT)

    assert [m.sid for m in listed] == [newer.sid, older.sid]  # newest first, like Twilio
    assert [m.body for m in listed] == ["Second", "Premier"]
    assert {(m.to, m.from_, m.status, m.direction) for m in listed} == {
        (RESIDENT, SENDER, "queued", "outbound-api")
    }
    assert listed[0].date_created == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert [m.to for m in client.api.account.messages.list(from_=SENDER)] == [
        RESIDENT,
        NEIGHBOUR,
        RESIDENT,
    ]


def test_date_sent_after_filters_on_what_the_official_client_sends(
    gateway: SmsGateway, client: Client, twilio_api: FakeTwilio, clock: Clock
) -> None:
    gateway.send_sms(RESIDENT, "Avant")  # 09:00:00
    clock.now += timedelta(hours=2)
    later = gateway.send_sms(RESIDENT, "Après")  # 11:00:00

    listed = client.api.account.messages.list(
        to=RESIDENT, date_sent_after=datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    )

    assert [m.sid for m in listed] == [later.sid]
    assert twilio_api.requests[-1].query == {
        "To": RESIDENT,
        "DateSent>": "2026-11-23T10:00:00Z",
    }


def test_date_sent_filters_accept_days_and_are_inclusive(
    gateway: SmsGateway, client: Client, clock: Clock
) -> None:
    monday = gateway.send_sms(RESIDENT, "Lundi")
    clock.now += timedelta(days=1)
    tuesday = gateway.send_sms(RESIDENT, "Mardi")
    messages = client.api.account.messages

    assert [m.sid for m in messages.list(date_sent=date(2026, 11, 24))] == [tuesday.sid]
    assert [m.sid for m in messages.list(date_sent="2026-11-23")] == [monday.sid]
    assert [m.sid for m in messages.list(date_sent_before="2026-11-23")] == [monday.sid]
    assert [m.sid for m in messages.list(date_sent_after="2026-11-23")] == [
        tuesday.sid,
        monday.sid,
    ]
    assert messages.list(date_sent_after="2026-11-25") == []
    # an exact instant is inclusive too
    assert [m.sid for m in messages.list(date_sent_before="2026-11-23T09:00:00Z")] == [monday.sid]


def test_listing_follows_pages_newest_first(
    gateway: SmsGateway, client: Client, twilio_api: FakeTwilio
) -> None:
    sent = [gateway.send_sms(RESIDENT, f"Message {i}").sid for i in range(5)]

    listed = client.api.account.messages.list(to=RESIDENT, page_size=2)

    assert [m.sid for m in listed] == sent[::-1]
    pages = [r for r in twilio_api.requests if r.method == "GET"]
    assert [r.query.get("Page") for r in pages] == [None, "1", "2"]  # then next_page_uri
    assert pages[1].query["PageToken"] == "PA" + sent[3]


def test_list_page_is_shaped_like_twilio(gateway: SmsGateway, twilio_api: FakeTwilio) -> None:
    sent = gateway.send_sms(RESIDENT, "Bonjour")

    with requests.Session() as session:
        page = session.get(
            twilio_api.url + MESSAGES_PATH,
            params={"To": RESIDENT},
            auth=(ACCOUNT_SID, AUTH_TOKEN),
            timeout=5,
        ).json()

    uri = f"{MESSAGES_PATH}?To=%2B33639980042&PageSize=50&Page=0"
    assert [m["sid"] for m in page.pop("messages")] == [sent.sid]
    assert page == {
        "end": 0,
        "first_page_uri": uri,
        "next_page_uri": None,
        "page": 0,
        "page_size": 50,
        "previous_page_uri": None,
        "start": 0,
        "uri": uri,
    }


def test_a_message_can_be_fetched_by_sid(gateway: SmsGateway, client: Client) -> None:
    sent = gateway.send_sms(RESIDENT, "Bonjour", status_callback=CALLBACK)

    fetched = client.api.account.messages(sent.sid).fetch()

    assert (fetched.sid, fetched.to, fetched.body, fetched.status) == (
        sent.sid,
        RESIDENT,
        "Bonjour",
        "queued",
    )
    assert fetched.uri == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sent.sid}.json"


def test_an_unknown_sid_answers_404_like_twilio(client: Client) -> None:
    sid = "SM" + "0" * 32

    with pytest.raises(TwilioRestException) as info:
        client.api.account.messages(sid).fetch()

    assert (info.value.status, info.value.code) == (404, 20404)
    assert f"/Messages/{sid}.json was not found" in info.value.msg
    with pytest.raises(TwilioRestException) as call_info:
        client.api.account.calls("CA" + "0" * 32).fetch()
    assert call_info.value.status == 404


def test_calls_are_remembered_listed_and_fetched(
    client: Client, twilio_api: FakeTwilio, clock: Clock
) -> None:
    calls = client.api.account.calls
    first = calls.create(to=RESIDENT, from_=SENDER, twiml=TWIML, status_callback=CALLBACK)
    clock.now += timedelta(hours=1)
    second = calls.create(to=NEIGHBOUR, from_=SENDER, url="https://relais.example.org/voice")

    assert first.sid.startswith("CA") and len(first.sid) == 34
    assert first.status == "queued"
    one, two = twilio_api.calls
    assert (one.sid, one.to, one.from_, one.twiml, one.url) == (
        first.sid,
        RESIDENT,
        SENDER,
        TWIML,
        None,
    )
    assert one.status_callback == CALLBACK
    assert (two.url, two.date_created) == (
        "https://relais.example.org/voice",
        "Mon, 23 Nov 2026 10:00:00 +0000",
    )
    assert twilio_api.created_count == 2 and twilio_api.messages == []
    assert [c.sid for c in calls.list(to=RESIDENT)] == [first.sid]
    assert [c.sid for c in calls.list(status="queued")] == [second.sid, first.sid]
    assert calls.list(status="completed") == []
    after = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    assert [c.sid for c in calls.list(start_time_after=after)] == [second.sid]
    assert calls(second.sid).fetch().to == NEIGHBOUR


# -- outages, latency ---------------------------------------------------------------------------


def test_outage_answers_500_until_it_ends(gateway: SmsGateway, twilio_api: FakeTwilio) -> None:
    twilio_api.outage(SERVER_ERROR)

    for _ in range(3):
        with pytest.raises(TemporarySendError) as info:
            gateway.send_sms(RESIDENT, "Rappel")
        assert (info.value.status, info.value.code) == (500, 20500)
    assert twilio_api.in_outage
    assert twilio_api.created_count == 0 and twilio_api.messages == []

    twilio_api.end_outage()

    assert gateway.send_sms(RESIDENT, "Rappel").status == "queued"
    assert twilio_api.created_count == 1
    assert len(twilio_api.requests) == 4


def test_outage_ends_by_itself_after_its_duration(
    gateway: SmsGateway, twilio_api: FakeTwilio
) -> None:
    twilio_api.outage(RATE_LIMITED, seconds=0.1)

    with pytest.raises(TemporarySendError) as info:
        gateway.send_sms(RESIDENT, "Rappel")
    assert info.value.status == 429
    time.sleep(0.15)

    assert not twilio_api.in_outage
    assert gateway.send_sms(RESIDENT, "Rappel").status == "queued"
    assert twilio_api.created_count == 1


def test_scripted_failures_come_before_the_outage(
    gateway: SmsGateway, twilio_api: FakeTwilio
) -> None:
    twilio_api.outage(SERVER_ERROR)
    twilio_api.fail_next(OPTED_OUT)

    with pytest.raises(RecipientOptedOut):
        gateway.send_sms(RESIDENT, "Rappel")
    with pytest.raises(TemporarySendError) as info:
        gateway.send_sms(RESIDENT, "Rappel")

    assert info.value.status == 500
    assert twilio_api.created_count == 0


def test_an_outage_needs_an_http_status(twilio_api: FakeTwilio) -> None:
    with pytest.raises(ValueError, match="set_latency"):
        twilio_api.outage(slow(1))

    assert not twilio_api.in_outage


def test_latency_delays_every_answer(gateway: SmsGateway, twilio_api: FakeTwilio) -> None:
    twilio_api.set_latency(0.15)

    started = time.monotonic()
    gateway.send_sms(RESIDENT, "Rappel")
    elapsed = time.monotonic() - started

    assert elapsed >= 0.15
    assert twilio_api.latency == 0.15
    twilio_api.set_latency(0)
    started = time.monotonic()
    gateway.send_sms(RESIDENT, "Rappel")
    assert time.monotonic() - started < 0.15


def test_a_client_timing_out_on_a_slow_twilio_may_still_have_created_the_message(
    twilio_api: FakeTwilio,
) -> None:
    twilio_api.set_latency(0.2)
    gw = SmsGateway(ACCOUNT_SID, AUTH_TOKEN, SENDER, api_url=twilio_api.url, timeout=0.1)
    try:
        with pytest.raises(TemporarySendError, match="in time"):
            gw.send_sms(RESIDENT, "Rappel")
    finally:
        gw.close()

    assert [m.body for m in twilio_api.sent_to(RESIDENT)] == ["Rappel"]


# -- concurrency, checks ------------------------------------------------------------------------


def test_concurrent_sends_are_all_created_and_counted(twilio_api: FakeTwilio) -> None:
    local = threading.local()
    gateways: list[SmsGateway] = []

    def send(i: int) -> str:
        if not hasattr(local, "gateway"):
            local.gateway = SmsGateway(ACCOUNT_SID, AUTH_TOKEN, SENDER, api_url=twilio_api.url)
            gateways.append(local.gateway)
        gateway: SmsGateway = local.gateway
        return gateway.send_sms(f"+336{i:08d}", f"Message {i}").sid

    try:
        with ThreadPoolExecutor(8) as pool:
            sids = list(pool.map(send, range(200)))
    finally:
        for gw in gateways:
            gw.close()

    assert twilio_api.created_count == 200
    assert len(set(sids)) == 200
    assert {m.sid for m in twilio_api.messages} == set(sids)
    assert [m.body for m in twilio_api.sent_to("+33600000042")] == ["Message 42"]


def test_list_query_parameters_are_checked_against_the_spec() -> None:
    with FakeTwilio() as server, requests.Session() as session:
        unknown = session.get(
            server.url + MESSAGES_PATH,
            params={"Recipient": RESIDENT},
            auth=(ACCOUNT_SID, AUTH_TOKEN),
        )
        too_big = session.get(
            server.url + MESSAGES_PATH, params={"PageSize": "5000"}, auth=(ACCOUNT_SID, AUTH_TOKEN)
        )
        not_a_date = session.get(
            server.url + MESSAGES_PATH,
            params={"DateSent>": "yesterday"},
            auth=(ACCOUNT_SID, AUTH_TOKEN),
        )

    assert (unknown.status_code, too_big.status_code, not_a_date.status_code) == (400, 400, 400)
    assert server.violations == [
        "ListMessage: unknown query parameter 'Recipient'",
        "query parameter PageSize=5000 is out of [1, 1000]",
        "query parameter DateSent>='yesterday' is not a date or date-time",
    ]
