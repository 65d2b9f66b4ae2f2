"""Outbound Twilio REST: the one place that sends SMS, through the official `twilio` client.

The REST base URL comes from settings (`twilio_api_url`), so tests and demos point the client at a
local fake (`tests/twilio_server.py`) and nothing leaves the machine. Failures become three domain
errors; the caller (a dispatcher) decides what to retry. Numbers are masked and bodies never logged.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from twilio.base import values
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from bot.config import Settings
from bot.privacy import mask_phone, mask_phones_in
from bot.wording.gsm7 import prepare_sms

log = logging.getLogger(__name__)

# Twilio error codes: https://www.twilio.com/docs/api/errors
OPTED_OUT_CODE = 21610  # "Attempt to send to unsubscribed recipient" (the resident sent STOP)
# Twilio's clock and ours may differ by a few seconds.
CLOCK_SKEW = timedelta(minutes=2)
# How many of a number's latest messages (or calls) reconciliation looks through.
RECENT_ITEMS = 20
# What a Recording SID looks like (Twilio's API description): anything else was never one.
RECORDING_SID = re.compile(r"^RE[0-9a-fA-F]{32}$")


class SendError(RuntimeError):
    """An SMS could not be sent. `status` is the HTTP status (0 without a response)."""

    def __init__(self, message: str, status: int = 0, code: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class PermanentSendError(SendError):
    """Twilio refused the message (invalid number, bad sender...): retrying will not help."""


class RecipientOptedOut(PermanentSendError):
    """Twilio error 21610: the resident answered STOP; mark them opted out, never retry."""


class TemporarySendError(SendError):
    """Rate limit, Twilio outage, timeout or network error: the caller may retry later."""


class UncertainSendError(TemporarySendError):
    """No usable answer after the request went out (read timeout, garbled answer): Twilio may
    have accepted the message, so ask Twilio (find_sent) before sending it again."""


@dataclass(frozen=True)
class SentSms:
    """What Twilio answered for an accepted message."""

    sid: str
    status: str
    to: str


class BaseUrlHttpClient(TwilioHttpClient):  # type: ignore[misc]  # twilio ships no stubs
    """The stock HTTP client, with every request's scheme and host replaced by `base_url`.

    The twilio library builds absolute URLs per domain (api.twilio.com, messaging.twilio.com...);
    rewriting them here covers every domain and keeps the library's own path building.
    """

    def __init__(self, base_url: str, timeout: float | None = None) -> None:
        super().__init__(timeout=timeout)
        parts = urlsplit(base_url.rstrip("/"))
        if not parts.scheme or not parts.netloc:
            raise ValueError("twilio_api_url must look like http://127.0.0.1:8080")
        self._scheme = parts.scheme
        self._netloc = parts.netloc
        self._prefix = parts.path

    def rewrite(self, url: str) -> str:
        """The URL with the configured scheme, host and port (and any path prefix)."""
        parts = urlsplit(url)
        return urlunsplit(
            (self._scheme, self._netloc, self._prefix + parts.path, parts.query, parts.fragment)
        )

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        """Send the request to the configured base URL."""
        return super().request(method, self.rewrite(url), *args, **kwargs)


class SmsGateway:
    """Sends SMS through Twilio's Messages API."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        sender: str,
        api_url: str = "",
        timeout: float = 10,
        unicode_allowed: bool = False,
    ) -> None:
        self.sender = sender
        self.unicode_allowed = unicode_allowed
        self._http: TwilioHttpClient = (
            BaseUrlHttpClient(api_url, timeout=timeout)
            if api_url
            else TwilioHttpClient(timeout=timeout)
        )
        self._client = Client(account_sid, auth_token, http_client=self._http)

    def send_sms(self, to: str, body: str, status_callback: str | None = None) -> SentSms:
        """Send `body` (mapped to GSM-7 unless Unicode is allowed) to `to`; return Twilio's SID.

        Raises RecipientOptedOut (21610), PermanentSendError (other 4xx) or TemporarySendError
        (429, 5xx, timeout, network).
        """
        text = prepare_sms(body, unicode_allowed=self.unicode_allowed)
        if self.sender.startswith("MG"):
            sender: dict[str, Any] = {"messaging_service_sid": self.sender}
        else:
            sender = {"from_": self.sender}
        masked = mask_phone(to)
        message = _request(
            "SMS",
            masked,
            lambda: self._client.api.account.messages.create(
                to=to,
                body=text,
                status_callback=status_callback if status_callback else values.unset,
                **sender,
            ),
        )
        sent = SentSms(sid=str(message.sid), status=str(message.status or ""), to=to)
        log.info("SMS to %s accepted: sid=%s status=%s", masked, sent.sid, sent.status)
        return sent

    def place_call(self, to: str, twiml: str, status_callback: str | None = None) -> SentSms:
        """Call `to` and play `twiml` (a reminder with its keypad menu); return the call's SID.

        Raises the same errors as send_sms. The caller ID must be a voice-capable number, so a
        Messaging Service SID or an alphanumeric sender cannot place calls (PermanentSendError).
        """
        masked = mask_phone(to)
        if not self.sender.startswith("+"):
            raise PermanentSendError("calls need TWILIO_FROM to be a phone number")
        call = _request(
            "call",
            masked,
            lambda: self._client.api.account.calls.create(
                to=to,
                from_=self.sender,
                twiml=twiml,
                status_callback=status_callback if status_callback else values.unset,
            ),
        )
        placed = SentSms(sid=str(call.sid), status=str(call.status or ""), to=to)
        log.info("call to %s placed: sid=%s status=%s", masked, placed.sid, placed.status)
        return placed

    def find_sent(self, to: str, since: datetime, body: str | None = None) -> str | None:
        """The SID of a message (or, without `body`, a call) to `to` created since `since`.

        Used after a dispatcher died, or Twilio timed out, between sending and recording: if
        Twilio has the message, it must not be sent again. Twilio's date filters are no help
        here (DateSent is empty while a message is queued; StartTime filters by day and is empty
        while a call is queued), so recent items to that number are listed and their creation
        time compared here. Raises TemporarySendError if Twilio can't be asked.
        """
        earliest = since - CLOCK_SKEW

        def recent(created: datetime | None) -> bool:
            return created is None or created >= earliest

        try:
            if body is None:
                calls = self._client.api.account.calls.list(to=to, limit=RECENT_ITEMS)
                return next((str(c.sid) for c in calls if recent(c.date_created)), None)
            text = prepare_sms(body, unicode_allowed=self.unicode_allowed)
            messages = self._client.api.account.messages.list(to=to, limit=RECENT_ITEMS)
            found = (m for m in messages if m.body == text and recent(m.date_created))
            return next((str(m.sid) for m in found), None)
        except TwilioRestException as exc:
            raise TemporarySendError(f"cannot list Twilio messages: HTTP {exc.status}") from None
        except (requests.RequestException, TwilioException) as exc:
            raise TemporarySendError(f"cannot list Twilio messages: {type(exc).__name__}") from None

    def delete_recording(self, recording_sid: str) -> bool:
        """Delete a voicemail recording from the account; True once it is gone from Twilio.

        True when Twilio deleted it or no longer has it (404; also for a value that is not a
        Recording SID, which Twilio cannot hold). False, never an exception, on anything else
        (5xx, 429, timeout, connection refused, refused credentials): the caller keeps the SID
        and tries again later. Only the SID is logged.
        """
        if not RECORDING_SID.match(recording_sid):
            log.warning("a stored recording SID is malformed: nothing to delete at Twilio")
            return True
        try:
            self._client.api.account.recordings(recording_sid).delete()
        except TwilioRestException as exc:
            if exc.status == 404:
                log.info("recording %s already gone from Twilio", recording_sid)
                return True
            log.warning(
                "recording %s not deleted: Twilio answered HTTP %s", recording_sid, exc.status
            )
            return False
        except (requests.RequestException, TwilioException) as exc:
            log.warning("recording %s not deleted: %s", recording_sid, type(exc).__name__)
            return False
        log.info("recording %s deleted from Twilio", recording_sid)
        return True

    def close(self) -> None:
        """Close pooled connections."""
        if self._http.session is not None:
            self._http.session.close()


def _request(what: str, masked_to: str, create: Callable[[], Any]) -> Any:
    """Run one Twilio create request; its failures become our three errors."""
    try:
        return create()
    except TwilioRestException as exc:
        # Twilio's message may quote the number ("The 'To' number +33... is not valid"):
        # it is masked, and the original exception is not chained, so no traceback shows it.
        raise _rest_error(exc, masked_to) from None
    except requests.ConnectTimeout as exc:
        log.warning("%s to %s: cannot connect to Twilio in time", what, masked_to)
        raise TemporarySendError("could not connect to Twilio in time") from exc
    except requests.Timeout as exc:
        log.warning("%s to %s: Twilio timed out", what, masked_to)
        raise UncertainSendError("Twilio did not answer in time") from exc
    except requests.RequestException as exc:
        log.warning("%s to %s: network error %s", what, masked_to, type(exc).__name__)
        raise TemporarySendError(f"cannot reach Twilio ({type(exc).__name__})") from exc
    except TwilioException as exc:  # e.g. an unparsable answer
        log.warning("%s to %s: unexpected Twilio answer", what, masked_to)
        raise UncertainSendError(f"unexpected Twilio answer: {mask_phones_in(str(exc))}") from None


def _rest_error(exc: TwilioRestException, masked_to: str) -> SendError:
    status = int(exc.status or 0)
    code = int(exc.code) if exc.code is not None else None
    detail = mask_phones_in(str(exc.msg or ""))
    message = f"Twilio answered HTTP {status}" + (f", error {code}" if code else "")
    message += f": {detail}" if detail else ""
    log.warning("SMS to %s refused: HTTP %s, error %s", masked_to, status, code)
    if code == OPTED_OUT_CODE:
        return RecipientOptedOut(message, status, code)
    if status == 429 or status >= 500 or status == 0:
        return TemporarySendError(message, status, code)
    return PermanentSendError(message, status, code)


def gateway_from_settings(settings: Settings, timeout: float = 10) -> SmsGateway:
    """The gateway configured from settings (TWILIO_* and RELAIS_SMS_UNICODE)."""
    return SmsGateway(
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token,
        sender=settings.twilio_from,
        api_url=settings.twilio_api_url,
        timeout=timeout,
        unicode_allowed=settings.sms_unicode,
    )
