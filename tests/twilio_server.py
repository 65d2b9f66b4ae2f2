"""A local fake of Twilio's REST API (2010-04-01), checked against Twilio's own OpenAPI file.

Point the official client at it (`SmsGateway(api_url=server.url)`): every request is matched to an
operation of `../shared/twilio/twilio_api_v2010.json` (path template, method, form fields,
required and either-or fields, path parameter patterns, Basic auth), recorded, and answered like
Twilio (201 with the spec's example resource, fresh SID, echoed fields), or with a scripted
failure. Requests that break the spec get a 400 and are listed in `violations`, which the
`twilio_api` fixture of a test module should assert empty.

    with FakeTwilio() as server:
        server.fail_next(OPTED_OUT)
        ...
        assert server.requests[0].form["To"] == "+33639980042"
"""

from __future__ import annotations

import base64
import copy
import json
import re
import secrets
import threading
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

SPEC_PATH = Path(__file__).resolve().parents[2] / "shared" / "twilio" / "twilio_api_v2010.json"
SPEC_MISSING = f"Twilio's OpenAPI file is absent ({SPEC_PATH}); the fake Twilio needs it"

ACCOUNT_SID = "AC" + "5" * 32
AUTH_TOKEN = "fake-twilio-auth-token-0123456789"
FORM = "application/x-www-form-urlencoded"


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


OPTED_OUT = twilio_error(400, 21610, "Attempt to send to unsubscribed recipient")
INVALID_NUMBER = twilio_error(400, 21211, "Invalid 'To' Phone Number")
NOT_MOBILE = twilio_error(400, 21614, "'To' number is not a valid mobile number")
RATE_LIMITED = twilio_error(429, 20429, "Too Many Requests")
SERVER_ERROR = twilio_error(500, 20500, "Internal Server Error")


def slow(seconds: float) -> Failure:
    """Answer normally but only after `seconds` (set it beyond the client's timeout)."""
    return Failure(0, None, delay=seconds)


@dataclass(frozen=True)
class Operation:
    """One operation of the spec: method, path template and its form schema."""

    operation_id: str
    method: str
    template: str
    pattern: re.Pattern[str]
    path_params: dict[str, re.Pattern[str] | None]
    fields: frozenset[str]
    required: frozenset[str]
    either: tuple[tuple[str, ...], ...]
    content_types: frozenset[str]
    example: dict[str, Any] | None
    success: int


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


def _resolve(spec: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@lru_cache(maxsize=4)
def load_operations(spec_path: Path = SPEC_PATH) -> tuple[Operation, ...]:
    """Every operation of the spec (parsed once per run)."""
    spec: dict[str, Any] = json.loads(spec_path.read_text(encoding="utf-8"))
    operations = []
    empty: dict[str, Any] = {}
    for template, item in spec["paths"].items():
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        for method, op in item.items():
            if method not in {"get", "post", "put", "delete", "patch"}:
                continue
            path_params: dict[str, re.Pattern[str] | None] = {}
            for param in op.get("parameters", []):
                param = _resolve(spec, param)
                if param.get("in") == "path":
                    pat = param.get("schema", {}).get("pattern")
                    path_params[param["name"]] = re.compile(pat) if pat else None
            body = _resolve(spec, op.get("requestBody", {}))
            content = body.get("content", {})
            schema = _resolve(spec, next(iter(content.values()), empty).get("schema", {}))
            props = frozenset(schema.get("properties", {}))
            by_snake = {_snake(p): p for p in props}
            either = tuple(
                tuple(by_snake.get(n, n) for n in group)
                for group in op.get("x-twilio", {}).get("conditional", [])
            )
            success = min((int(s) for s in op.get("responses", {}) if s.isdigit()), default=200)
            response = _resolve(spec, op.get("responses", {}).get(str(success), {}))
            examples = response.get("content", {}).get("application/json", {}).get("examples", {})
            example = next(iter(examples.values()), empty).get("value") if examples else None
            operations.append(
                Operation(
                    operation_id=op.get("operationId", f"{method} {template}"),
                    method=method.upper(),
                    template=template,
                    pattern=re.compile(f"^{regex}$"),
                    path_params=path_params,
                    fields=props,
                    required=frozenset(schema.get("required", [])),
                    either=either,
                    content_types=frozenset(content),
                    example=example if isinstance(example, dict) else None,
                    success=success,
                )
            )
    return tuple(operations)


class FakeTwilio:
    """The fake server, on 127.0.0.1 and a free port, in a background thread."""

    def __init__(
        self,
        account_sid: str = ACCOUNT_SID,
        auth_token: str = AUTH_TOKEN,
        spec_path: Path = SPEC_PATH,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.operations = load_operations(spec_path)
        self.requests: list[RecordedRequest] = []
        self.violations: list[str] = []
        self._script: deque[Failure] = deque()
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
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
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

    def _next_failure(self) -> Failure | None:
        with self._lock:
            return self._script.popleft() if self._script else None

    # -- checking ---------------------------------------------------------------------------

    def match(self, method: str, path: str) -> tuple[Operation | None, dict[str, str], list[str]]:
        """The operation for this method and path, its path parameters and any problems."""
        by_path = [(op, m) for op in self.operations if (m := op.pattern.match(path))]
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
        return problems

    def authorized(self, header: str | None) -> bool:
        """Basic auth with the account SID and auth token."""
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return header == f"Basic {expected}"

    def resource(self, op: Operation, params: dict[str, str], form: dict[str, str]) -> Any:
        """A success body: the spec's example, with a fresh SID and the request's fields."""
        body = copy.deepcopy(op.example) if op.example is not None else {}
        sid = body.get("sid")
        if isinstance(sid, str) and len(sid) == 34:
            body["sid"] = sid[:2] + secrets.token_hex(16)
        if "account_sid" in body:
            body["account_sid"] = params.get("AccountSid", self.account_sid)
        for name, value in form.items():
            key = _snake(name)
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


class _Handler(BaseHTTPRequestHandler):
    fake: FakeTwilio
    protocol_version = "HTTP/1.0"

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
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8") if length else ""
        lists = parse_qs(raw, keep_blank_values=True) if self.command != "GET" else {}
        form = {k: v[-1] for k, v in lists.items()}
        authorized = fake.authorized(self.headers.get("Authorization"))
        op, params, problems = fake.match(self.command, parts.path)
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if op is not None:
            problems = fake.check(op, params, lists, content_type)
        record = RecordedRequest(
            method=self.command,
            path=parts.path,
            headers=dict(self.headers.items()),
            form=form,
            form_lists=lists,
            operation_id=op.operation_id if op else None,
            authorized=authorized,
            problems=problems,
        )
        with fake._lock:
            fake.requests.append(record)
            fake.violations.extend(problems)

        if not authorized:
            return self._send(401, _error(401, 20003, "Authentication Error - invalid username"))
        if op is None:
            return self._send(404, _error(404, 20404, "; ".join(problems)))
        if problems:
            return self._send(400, _error(400, 21000, "Spec violation: " + "; ".join(problems)))
        failure = fake._next_failure()
        if failure is not None and failure.delay and fake._stopping.wait(failure.delay):
            return  # stopping: nobody is waiting for the answer any more
        if failure is not None and failure.status:
            return self._send(failure.status, failure.body or {})
        self._send(op.success, fake.resource(op, params, form))

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client gave up (timeout tests)
            pass


def _error(status: int, code: int, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "more_info": "", "status": status}
