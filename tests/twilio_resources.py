"""What the fake Twilio records and creates, and how its lists are filtered."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from tests.twilio_spec import date_matches

Answer = tuple[int, Any]  # HTTP status and JSON body


@dataclass(frozen=True)
class Failure:
    """A scripted answer: HTTP status and JSON body, after an optional delay (seconds)."""

    status: int
    body: dict[str, Any] | None = None
    delay: float = 0.0


def twilio_error(status: int, code: int, message: str) -> Failure:
    """A failure shaped like Twilio's error documents."""
    return Failure(
        status,
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
    )


@dataclass
class RecordedRequest:
    """A request the fake received, with its form decoded (repeated fields keep the last)."""

    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]
    form_lists: dict[str, list[str]]
    operation_id: str | None
    authorized: bool
    problems: list[str] = field(default_factory=list)
    query: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CreatedMessage:
    """A message created through the fake (POST Messages.json)."""

    sid: str
    account_sid: str
    to: str
    from_: str | None
    body: str | None
    messaging_service_sid: str | None
    status_callback: str | None
    status: str
    created_at: datetime  # UTC, whole seconds; also the fake's `date_sent`
    form: dict[str, str]

    @property
    def date_created(self) -> str:
        """RFC 2822, as Twilio writes it."""
        return format_datetime(self.created_at)

    def to_json(self) -> dict[str, Any]:
        """The Message resource as Twilio answers it."""
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{self.sid}"
        date = self.date_created
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": self.body,
            "date_created": date,
            "date_sent": date,
            "date_updated": date,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": self.from_,
            "messaging_service_sid": self.messaging_service_sid,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": None,
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": self.to,
            "uri": f"{uri}.json",
        }


@dataclass(frozen=True)
class CreatedCall:
    """A call created through the fake (POST Calls.json)."""

    sid: str
    account_sid: str
    to: str
    from_: str
    twiml: str | None
    url: str | None
    status_callback: str | None
    status: str
    created_at: datetime  # UTC, whole seconds
    form: dict[str, str]

    @property
    def date_created(self) -> str:
        """RFC 2822, as Twilio writes it."""
        return format_datetime(self.created_at)

    def to_json(self) -> dict[str, Any]:
        """The Call resource as Twilio answers it (queued: not started, no duration)."""
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Calls/{self.sid}"
        date = self.date_created
        return {
            "account_sid": self.account_sid,
            "answered_by": None,
            "api_version": "2010-04-01",
            "caller_name": None,
            "date_created": date,
            "date_updated": date,
            "direction": "outbound-api",
            "duration": None,
            "end_time": None,
            "forwarded_from": None,
            "from": self.from_,
            "from_formatted": self.from_,
            "group_sid": None,
            "parent_call_sid": None,
            "phone_number_sid": None,
            "price": None,
            "price_unit": "USD",
            "queue_time": "0",
            "sid": self.sid,
            "start_time": None,
            "status": self.status,
            "subresource_uris": {
                name: f"{uri}/{file}.json"
                for name, file in (
                    ("notifications", "Notifications"),
                    ("recordings", "Recordings"),
                    ("payments", "Payments"),
                    ("events", "Events"),
                    ("siprec", "Siprec"),
                    ("streams", "Streams"),
                    ("transcriptions", "Transcriptions"),
                )
            },
            "to": self.to,
            "to_formatted": self.to,
            "trunk_sid": None,
            "uri": f"{uri}.json",
        }


def created_test(op: str, value: str) -> Callable[[Any], bool]:
    """A filter on a resource's creation time (see `date_matches`)."""
    return lambda resource: date_matches(resource.created_at, op, value)


def found_or_404(
    resource: CreatedMessage | CreatedCall | None, params: dict[str, str], kind: str
) -> Answer:
    if resource is not None and resource.account_sid == params["AccountSid"]:
        return 200, resource.to_json()
    path = f"/2010-04-01/Accounts/{params['AccountSid']}/{kind}/{params['Sid']}.json"
    failure = twilio_error(404, 20404, f"The requested resource {path} was not found")
    return failure.status, failure.body


@dataclass(frozen=True)
class IncomingNumber:
    """One of the account's phone numbers (IncomingPhoneNumbers.json), SMS and voice capable."""

    phone_number: str
    account_sid: str

    @property
    def sid(self) -> str:
        return "PN" + f"{int(self.phone_number.lstrip('+') or 0):032x}"[-32:]

    def to_json(self) -> dict[str, Any]:
        """The IncomingPhoneNumber resource, the fields the official client reads."""
        uri = f"/2010-04-01/Accounts/{self.account_sid}/IncomingPhoneNumbers/{self.sid}.json"
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "capabilities": {"voice": True, "sms": True, "mms": False, "fax": False},
            "friendly_name": self.phone_number,
            "phone_number": self.phone_number,
            "sid": self.sid,
            "sms_method": "POST",
            "sms_url": "",
            "status": "in-use",
            "uri": uri,
            "voice_method": "POST",
            "voice_url": None,
        }


def account_json(sid: str, known_sid: str) -> Answer:
    """FetchAccount: our account (active), or Twilio's 404 for any other SID."""
    if sid != known_sid:
        failure = twilio_error(
            404, 20404, f"The requested resource /2010-04-01/Accounts/{sid}.json was not found"
        )
        return failure.status, failure.body
    return 200, {
        "auth_token": "",  # Twilio sends it; the fake has no reason to
        "date_created": "Thu, 30 Jul 2015 20:00:00 +0000",
        "date_updated": "Thu, 30 Jul 2015 20:00:00 +0000",
        "friendly_name": "Relais (fake)",
        "owner_account_sid": sid,
        "sid": sid,
        "status": "active",
        "subresource_uris": {},
        "type": "Full",
        "uri": f"/2010-04-01/Accounts/{sid}.json",
    }
