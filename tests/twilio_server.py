"""A local fake of Twilio's REST API (2010-04-01), checked against Twilio's own OpenAPI file.

Point the official client at it (`SmsGateway(api_url=server.url)`): every request is matched to
an operation of Twilio's `twilio_api_v2010.json` (in `tests/fixtures/twilio/`): path template,
method, form fields, required and either-or fields, path parameter patterns, Basic auth; then
recorded and answered like Twilio (201 with the spec's example resource, fresh SID, echoed
fields), or with a scripted failure. Requests that break the spec get a 400 and are listed in
`violations`, which the `twilio_api` fixture of a test module should assert empty.

Messages and calls created through it are remembered (`messages`, `calls`, `sent_to()`,
`created_count`) and can be read back like on Twilio: the list endpoints answer pages filtered
by the query parameters the official client sends (`To`, `From`, `DateSent`, `DateSent<`,
`DateSent>` for messages; `To`, `From`, `Status`, `ParentCallSid`, `StartTime*`, `EndTime*` for
calls), newest first, and `Messages/{Sid}.json`, `Calls/{Sid}.json` fetch one resource or answer
404. Simplifications: a created message counts as sent at its creation (`date_sent` =
`date_created`, so `DateSent` filters find it) but keeps the status `queued` (`accepted` with a
messaging service); calls stay `queued`, and `StartTime` filters use their creation time.

    with FakeTwilio() as server:
        server.fail_next(OPTED_OUT)
        ...
        assert server.requests[0].form["To"] == "+33639980042"
        assert [m.body for m in server.sent_to("+33639980042")] == [...]

Recordings (voicemails): `add_recording()` puts one in the account; `DELETE Recordings/{Sid}.json`
deletes it (204, listed in `deleted_recordings`) or answers 404 for an unknown SID;
`fail_recording_deletions()` makes every deletion answer 500 (or another failure) until
`fail_recording_deletions(None)`.

`outage(failure, seconds)` fails every request until `end_outage()` (or for `seconds`), and
`set_latency(seconds)` delays every answer; `fail_next` failures come first.
"""

from __future__ import annotations

import base64
import copy
import json
import random
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.twilio_resources import (
    Answer,
    CreatedCall,
    CreatedMessage,
    Failure,
    IncomingNumber,
    RecordedRequest,
    account_json,
    created_test,
    found_or_404,
    twilio_error,
)
from tests.twilio_spec import (
    SPEC_PATH,
    Operation,
    index_by_shape,
    load_operations,
    path_shape,
    query_problem,
    snake_case,
)

ACCOUNT_SID = "AC" + "5" * 32
AUTH_TOKEN = "fake-twilio-auth-token-0123456789"
FORM = "application/x-www-form-urlencoded"


OPTED_OUT = twilio_error(400, 21610, "Attempt to send to unsubscribed recipient")
INVALID_NUMBER = twilio_error(400, 21211, "Invalid 'To' Phone Number")
NOT_MOBILE = twilio_error(400, 21614, "'To' number is not a valid mobile number")
RATE_LIMITED = twilio_error(429, 20429, "Too Many Requests")
SERVER_ERROR = twilio_error(500, 20500, "Internal Server Error")


def slow(seconds: float) -> Failure:
    """Answer normally but only after `seconds` (set it beyond the client's timeout)."""
    return Failure(0, None, delay=seconds)


class _Server(ThreadingHTTPServer):
    """One thread per connection; a deep accept queue for benchmarks' bursts of connections."""

    daemon_threads = True
    request_queue_size = 128


Handler = Callable[[dict[str, str], dict[str, str], dict[str, str]], Answer]
_PAGING = ("PageSize", "Page", "PageToken")


class FakeTwilio:
    """The fake server, on 127.0.0.1 and a free port, in a background thread."""

    def __init__(
        self,
        account_sid: str = ACCOUNT_SID,
        auth_token: str = AUTH_TOKEN,
        spec_path: Path = SPEC_PATH,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.operations = load_operations(spec_path)
        self._by_shape = index_by_shape(self.operations)
        self.requests: list[RecordedRequest] = []
        self.violations: list[str] = []
        self._clock = clock or (lambda: datetime.now(UTC))
        self._script: deque[Failure] = deque()
        self._outage: Failure | None = None
        self._outage_until: float | None = None  # time.monotonic() deadline
        self._latency = 0.0
        self._messages: list[CreatedMessage] = []
        self._calls: list[CreatedCall] = []
        self._message_index: dict[str, int] = {}
        self._call_index: dict[str, int] = {}
        self._recordings: set[str] = set()  # in the account: add_recording(), until deleted
        self.deleted_recordings: list[str] = []
        self._recording_failure: Failure | None = None
        self._rng = random.Random(secrets.randbits(128))  # SIDs: unique, cheaper than urandom
        self._expected_auth = (
            "Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        )
        self._handlers: dict[str, Handler] = {
            "CreateMessage": self._create_message,
            "CreateCall": self._create_call,
            "ListMessage": self._list_messages,
            "ListCall": self._list_calls,
            "FetchMessage": self._fetch_message,
            "FetchCall": self._fetch_call,
            "DeleteRecording": self._delete_recording,
            "FetchAccount": self._fetch_account,
            "ListIncomingPhoneNumber": self._list_incoming_numbers,
        }
        # The account's numbers, for IncomingPhoneNumbers.json (`relais doctor` looks there).
        self.incoming_numbers: list[str] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL for the client, e.g. http://127.0.0.1:54321."""
        assert self._server is not None, "start() the server first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeTwilio:
        """Listen on a free port and serve in a daemon thread."""
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Wake delayed answers, stop serving and close the socket."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- scripting --------------------------------------------------------------------------

    def fail_next(self, *failures: Failure) -> None:
        """Answer the next requests with these failures, in order, then normally again."""
        with self._lock:
            self._script.extend(failures)

    def outage(self, failure: Failure, seconds: float | None = None) -> None:
        """Fail every request with `failure` until `end_outage()`, or for `seconds`.

        Nothing is created meanwhile. Failures given to `fail_next` still come first. A slow
        answer (status 0) is not an outage: use `set_latency`.
        """
        if not failure.status:
            raise ValueError("an outage needs an HTTP status; use set_latency() for slowness")
        with self._lock:
            self._outage = failure
            self._outage_until = None if seconds is None else time.monotonic() + seconds

    def end_outage(self) -> None:
        """Answer normally again."""
        with self._lock:
            self._outage = None
            self._outage_until = None

    def set_latency(self, seconds: float) -> None:
        """Delay every answer by `seconds` (0, the default, for none)."""
        if seconds < 0:
            raise ValueError("latency cannot be negative")
        self._latency = seconds

    @property
    def latency(self) -> float:
        """The delay added to every answer, in seconds."""
        return self._latency

    @property
    def in_outage(self) -> bool:
        """Whether requests currently fail because of `outage()`."""
        return self._current_outage() is not None

    def _next_failure(self) -> Failure | None:
        with self._lock:
            if self._script:
                return self._script.popleft()
            return self._current_outage_locked()

    def _current_outage(self) -> Failure | None:
        with self._lock:
            return self._current_outage_locked()

    def _current_outage_locked(self) -> Failure | None:
        if self._outage_until is not None and time.monotonic() >= self._outage_until:
            self._outage = self._outage_until = None
        return self._outage

    # -- what was created -------------------------------------------------------------------

    @property
    def messages(self) -> list[CreatedMessage]:
        """Messages created, in order (a copy)."""
        with self._lock:
            return list(self._messages)

    @property
    def calls(self) -> list[CreatedCall]:
        """Calls created, in order (a copy)."""
        with self._lock:
            return list(self._calls)

    @property
    def created_count(self) -> int:
        """Messages and calls actually created."""
        with self._lock:
            return len(self._messages) + len(self._calls)

    def sent_to(self, number: str) -> list[CreatedMessage]:
        """Messages created for `number`, in order."""
        return [message for message in self.messages if message.to == number]

    # -- recordings -------------------------------------------------------------------------

    def add_recording(self, sid: str | None = None) -> str:
        """A recording in the account, as a voicemail leaves one; its SID."""
        recording = sid or self._new_sid("RE")
        with self._lock:
            self._recordings.add(recording)
        return recording

    @property
    def recordings(self) -> set[str]:
        """SIDs of the recordings still in the account (a copy)."""
        with self._lock:
            return set(self._recordings)

    def fail_recording_deletions(self, failure: Failure | None = SERVER_ERROR) -> None:
        """Answer every DeleteRecording with `failure` (500 by default); None: normally again."""
        with self._lock:
            self._recording_failure = failure

    def _delete_recording(
        self, params: dict[str, str], form: dict[str, str], query: dict[str, str]
    ) -> Answer:
        with self._lock:
            failure = self._recording_failure
            known = failure is None and params["Sid"] in self._recordings
            if known:
                self._recordings.discard(params["Sid"])
                self.deleted_recordings.append(params["Sid"])
        if failure is not None:
            return failure.status, failure.body or {}
        if not known:
            return found_or_404(None, params, "Recordings")
        return 204, None

    # -- checking ---------------------------------------------------------------------------

    def match(self, method: str, path: str) -> tuple[Operation | None, dict[str, str], list[str]]:
        """The operation for this method and path, its path parameters and any problems."""
        candidates = self._by_shape.get(path_shape(path), ())
        by_path = [(op, m) for op in candidates if (m := op.pattern.match(path))]
        if not by_path:
            return None, {}, [f"no operation for path {path}"]
        for op, m in by_path:
            if op.method == method:
                return op, m.groupdict(), []
        methods = sorted({op.method for op, _ in by_path})
        return None, {}, [f"{method} not allowed on {path} (spec has {', '.join(methods)})"]

    def check(
        self,
        op: Operation,
        params: dict[str, str],
        form: dict[str, list[str]],
        content_type: str,
        query: dict[str, list[str]] | None = None,
    ) -> list[str]:
        """Spec problems of a request matched to `op` (empty when it conforms)."""
        problems = []
        for name, value in params.items():
            pat = op.path_params.get(name)
            if pat is not None and not pat.search(value):
                problems.append(f"path parameter {name}={value!r} does not match {pat.pattern}")
        if params.get("AccountSid", self.account_sid) != self.account_sid:
            problems.append("AccountSid in the path is not the authenticated account")
        if op.content_types and form and content_type not in op.content_types:
            problems.append(f"content type {content_type!r} not in {sorted(op.content_types)}")
        unknown = sorted(set(form) - op.fields)
        if unknown:
            problems.append(f"{op.operation_id}: unknown fields {unknown}")
        missing = sorted(op.required - set(form))
        if missing:
            problems.append(f"{op.operation_id}: missing required fields {missing}")
        for group in op.either:
            if not any(name in form for name in group):
                problems.append(f"{op.operation_id}: needs one of {list(group)}")
        for name, values in (query or {}).items():
            schema = op.query.get(name)
            if schema is None:
                problems.append(f"{op.operation_id}: unknown query parameter {name!r}")
                continue
            problems.extend(p for v in values if (p := query_problem(name, v, schema)))
        return problems

    def authorized(self, header: str | None) -> bool:
        """Basic auth with the account SID and auth token."""
        return header == self._expected_auth

    def resource(self, op: Operation, params: dict[str, str], form: dict[str, str]) -> Any:
        """A success body: the spec's example, with a fresh SID and the request's fields."""
        body = copy.deepcopy(op.example) if op.example is not None else {}
        sid = body.get("sid")
        if isinstance(sid, str) and len(sid) == 34:
            body["sid"] = sid[:2] + secrets.token_hex(16)
        if "account_sid" in body:
            body["account_sid"] = params.get("AccountSid", self.account_sid)
        for name, value in form.items():
            key = snake_case(name)
            if key in body or key in {"to", "from", "body"}:
                body[key] = value
        if op.operation_id == "CreateMessage":
            body["status"] = "accepted" if "MessagingServiceSid" in form else "queued"
            body["messaging_service_sid"] = form.get("MessagingServiceSid")
            body["from"] = form.get("From")
            if "uri" in body:
                body["uri"] = (
                    f"/2010-04-01/Accounts/{body['account_sid']}/Messages/{body['sid']}.json"
                )
        return body

    # -- answering --------------------------------------------------------------------------

    def respond(
        self,
        op: Operation | None,
        params: dict[str, str],
        form: dict[str, str],
        query: dict[str, str],
        authorized: bool,
        problems: list[str],
    ) -> Answer | None:
        """Status and body for a recorded request (None: the server is stopping, no answer)."""
        if not authorized:
            return 401, _error(401, 20003, "Authentication Error - invalid username")
        if op is None:
            return 404, _error(404, 20404, "; ".join(problems))
        if problems:
            return 400, _error(400, 21000, "Spec violation: " + "; ".join(problems))
        failure = self._next_failure()
        if failure is not None and failure.delay and self._stopping.wait(failure.delay):
            return None  # stopping: nobody is waiting for the answer any more
        if failure is not None and failure.status:
            return failure.status, failure.body or {}
        handler = self._handlers.get(op.operation_id)
        if handler is not None:
            return handler(params, form, query)
        return op.success, self.resource(op, params, form)

    def _new_sid(self, prefix: str) -> str:
        return f"{prefix}{self._rng.getrandbits(128):032x}"

    def _now(self) -> datetime:
        return self._clock().astimezone(UTC).replace(microsecond=0)

    def _create_message(
        self, params: dict[str, str], form: dict[str, str], query: dict[str, str]
    ) -> Answer:
        service = form.get("MessagingServiceSid")
        message = CreatedMessage(
            sid=self._new_sid("SM"),
            account_sid=params["AccountSid"],
            to=form["To"],
            from_=form.get("From"),
            body=form.get("Body"),
            messaging_service_sid=service,
            status_callback=form.get("StatusCallback"),
            status="accepted" if service else "queued",
            created_at=self._now(),
            form=dict(form),
        )
        with self._lock:
            self._message_index[message.sid] = len(self._messages)
            self._messages.append(message)
        return 201, message.to_json()

    def _create_call(
        self, params: dict[str, str], form: dict[str, str], query: dict[str, str]
    ) -> Answer:
        call = CreatedCall(
            sid=self._new_sid("CA"),
            account_sid=params["AccountSid"],
            to=form["To"],
            from_=form["From"],
            twiml=form.get("Twiml"),
            url=form.get("Url"),
            status_callback=form.get("StatusCallback"),
            status="queued",
            created_at=self._now(),
            form=dict(form),
        )
        with self._lock:
            self._call_index[call.sid] = len(self._calls)
            self._calls.append(call)
        return 201, call.to_json()

    def _fetch_message(
        self, params: dict[str, str], form: dict[str, str], query: dict[str, str]
    ) -> Answer:
        with self._lock:
            index = self._message_index.get(params["Sid"])
            found = None if index is None else self._messages[index]
        return found_or_404(found, params, "Messages")

    def _fetch_call(
        self, params: dict[str, str], form: dict[str, str], query: dict[str, str]
    ) -> Answer:
        with self._lock:
            index = self._call_index.get(params["Sid"])
            found = None if index is None else self._calls[index]
        return found_or_404(found, params, "Calls")

    def _fetch_account(
        self, params: dict[str, str], form: dict[str, str], query: dict[str, str]
    ) -> Answer:
        return account_json(params["Sid"], self.account_sid)

    def _list_incoming_numbers(
        self, params: dict[str, str], form: dict[str, str], query: dict[str, str]
    ) -> Answer:
        numbers = [IncomingNumber(n, params["AccountSid"]) for n in self.incoming_numbers]
        tests: list[Callable[[IncomingNumber], bool]] = []
        if "PhoneNumber" in query:  # Twilio matches the digits given anywhere in the number
            tests.append(lambda n: query["PhoneNumber"].lstrip("+") in n.phone_number)
        return 200, self._page("incoming_phone_numbers", numbers, {}, tests, params, query)

    def _list_messages(
        self, params: dict[str, str], form: dict[str, str], query: dict[str, str]
    ) -> Answer:
        with self._lock:
            items = list(self._messages)
            index = dict(self._message_index) if "PageToken" in query else {}
        tests: list[Callable[[CreatedMessage], bool]] = []
        if "To" in query:
            tests.append(lambda m: m.to == query["To"])
        if "From" in query:
            tests.append(lambda m: m.from_ == query["From"])
        for name, op in (("DateSent", "="), ("DateSent<", "<"), ("DateSent>", ">")):
            if name in query:
                tests.append(created_test(op, query[name]))
        return 200, self._page("messages", items, index, tests, params, query)

    def _list_calls(
        self, params: dict[str, str], form: dict[str, str], query: dict[str, str]
    ) -> Answer:
        with self._lock:
            items = list(self._calls)
            index = dict(self._call_index) if "PageToken" in query else {}
        tests: list[Callable[[CreatedCall], bool]] = []
        if "To" in query:
            tests.append(lambda c: c.to == query["To"])
        if "From" in query:
            tests.append(lambda c: c.from_ == query["From"])
        if "Status" in query:
            tests.append(lambda c: c.status == query["Status"])
        if "ParentCallSid" in query:
            tests.append(lambda c: False)  # the fake only creates parent calls
        for suffix, op in (("", "="), ("<", "<"), (">", ">")):
            if "StartTime" + suffix in query:  # queued calls: their creation time
                tests.append(created_test(op, query["StartTime" + suffix]))
            if "EndTime" + suffix in query:  # queued calls have not ended
                tests.append(lambda c: False)
        return 200, self._page("calls", items, index, tests, params, query)

    def _page(
        self,
        key: str,
        items: list[Any],
        index: dict[str, int],
        tests: Iterable[Callable[[Any], bool]],
        params: dict[str, str],
        query: dict[str, str],
    ) -> dict[str, Any]:
        """One page of `items` (oldest first) newest first, shaped like Twilio's list pages.

        `PageToken` ("PA" + the SID of the previous page's last item) is a cursor, so records
        created meanwhile do not shift later pages; without it `Page` counts pages.
        """
        page_size = int(query.get("PageSize", 50))
        page = int(query.get("Page", 0))
        token = query.get("PageToken", "")
        cursor = index.get(token[2:]) if token else None
        if cursor is not None:
            items, offset = items[:cursor], 0
        else:
            offset = page * page_size
        checks = list(tests)
        selected = [item for item in reversed(items) if all(t(item) for t in checks)]
        chunk = selected[offset : offset + page_size]
        resource = "IncomingPhoneNumbers" if key == "incoming_phone_numbers" else key.capitalize()
        base = f"/2010-04-01/Accounts/{params['AccountSid']}/{resource}.json"
        filters = [(k, v) for k, v in query.items() if k not in _PAGING]

        def uri(number: int, page_token: str | None = None) -> str:
            paging = [("PageSize", str(page_size)), ("Page", str(number))]
            if page_token:
                paging.append(("PageToken", page_token))
            return f"{base}?{urlencode(filters + paging)}"

        more = len(selected) > offset + page_size
        start = page * page_size
        return {
            key: [item.to_json() for item in chunk],
            "end": start + max(len(chunk) - 1, 0),
            "first_page_uri": uri(0),
            "next_page_uri": uri(page + 1, "PA" + chunk[-1].sid) if more and chunk else None,
            "page": page,
            "page_size": page_size,
            "previous_page_uri": uri(page - 1) if page > 0 else None,
            "start": start,
            "uri": uri(page, token or None),
        }


class _Handler(BaseHTTPRequestHandler):
    fake: FakeTwilio
    # Keep-alive, like Twilio: a pooled client connection serves many requests (one thread
    # per connection, not per request), which is what makes the fake fast enough for benchmarks.
    protocol_version = "HTTP/1.1"
    timeout = 60  # an idle kept-alive connection is closed after a minute
    # With keep-alive, an answer written in two pieces (headers, body) waits for the client's
    # delayed ACK (~40 ms): buffer the answer (flushed once per request) and send it at once.
    disable_nagle_algorithm = True
    wbufsize = 64 * 1024

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Silent: request lines carry SIDs and paths we do not want in test output."""

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._handle()

    def do_POST(self) -> None:  # noqa: N802
        self._handle()

    def do_DELETE(self) -> None:  # noqa: N802
        self._handle()

    def do_PUT(self) -> None:  # noqa: N802
        self._handle()

    def _handle(self) -> None:
        fake = self.fake
        if fake._stopping.is_set():  # a kept-alive connection outliving stop(): as if down
            self.close_connection = True
            return
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8") if length else ""
        lists = parse_qs(raw, keep_blank_values=True) if self.command != "GET" else {}
        form = {k: v[-1] for k, v in lists.items()}
        query_lists = parse_qs(parts.query, keep_blank_values=True)
        query = {k: v[-1] for k, v in query_lists.items()}
        authorized = fake.authorized(self.headers.get("Authorization"))
        op, params, problems = fake.match(self.command, parts.path)
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if op is not None:
            problems = fake.check(op, params, lists, content_type, query_lists)
        record = RecordedRequest(
            method=self.command,
            path=parts.path,
            headers=dict(self.headers.items()),
            form=form,
            form_lists=lists,
            operation_id=op.operation_id if op else None,
            authorized=authorized,
            problems=problems,
            query=query,
        )
        with fake._lock:
            fake.requests.append(record)
            fake.violations.extend(problems)

        answer = fake.respond(op, params, form, query, authorized, problems)
        latency = fake.latency
        if answer is None or (latency and fake._stopping.wait(latency)):
            return  # stopping: nobody is waiting for the answer any more
        self._send(*answer)

    def _send(self, status: int, body: Any) -> None:
        data = b"" if status == 204 else json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            if status != 204:
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:  # the client gave up (timeout tests)
            pass


def _error(status: int, code: int, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "more_info": "", "status": status}
