"""HTTP fixtures: a real server on 127.0.0.1 that records requests and replays answers.

`http_recorder` is an `HttpRecorder` (a `http.server` in a thread, new for each test):

    http_recorder.respond("/api/items", Reply(500, "boom"), Reply(200, {"ok": 1}))
    # the task calls f"{http_recorder.url}/api/items": it gets 500, then 200 (the last
    # answer repeats for every later request)
    req = http_recorder.requests[-1]
    assert req.method == "POST" and req.json() == {...}

Routes match the path without its query string, exactly, or by prefix when the route
ends with ``*`` (``/services/*``); a route may be limited to one method. A request with
no route gets 404 and the text ``no reply programmed for <METHOD> <path>``.

`slack_server` is a `SlackServer`: every ``POST /services/...`` is answered ``200 ok``
like Slack's incoming webhooks, and `payloads` lists the JSON bodies received, oldest
first. Use `slack_server.webhook_url` as the task's `url`, and `respond` to make it
fail: ``slack_server.respond("/services/*", Reply(429, "rate_limited"))``.

`example_tasks(TaskClass, **replace)` reads the YAML example that ends a task's
docstring and returns its tasks of that type, so a test can run the documented example.
"""

from __future__ import annotations

import json
import sys
import textwrap
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml


@dataclass(frozen=True)
class Reply:
    """One programmed answer: status, body (bytes, text, or JSON), headers, delay.

    A dict or list body is sent as JSON with ``Content-Type: application/json``, text as
    ``text/plain; charset=utf-8``, unless `headers` names a Content-Type. `delay` (in
    seconds) holds the answer back, to test client read timeouts.
    """

    status: int = 200
    body: bytes | str | dict[str, Any] | list[Any] = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        """The body as bytes and the headers to send with it."""
        headers = dict(self.headers)
        if isinstance(self.body, bytes):
            data, kind = self.body, "application/octet-stream"
        elif isinstance(self.body, str):
            data, kind = self.body.encode(), "text/plain; charset=utf-8"
        else:
            data, kind = json.dumps(self.body).encode(), "application/json"
        if data and not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = kind
        return data, headers


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received; header names are lower-cased."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        """The body decoded as UTF-8."""
        return self.body.decode()

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


class HttpRecorder:
    """A recording HTTP server with programmable answers per path (see module doc)."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._routes: dict[tuple[str | None, str], deque[Reply]] = {}
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}"
        # A short poll interval makes close() (shutdown) quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            daemon=True,
        )
        self._thread.start()

    def respond(self, path: str, *replies: Reply, method: str | None = None) -> None:
        """Answer requests to `path` with `replies` in order, the last one repeating.

        Programming the same route again replaces its answers.
        """
        if not replies:
            raise ValueError("respond() needs at least one Reply")
        with self._lock:
            self._routes[(method.upper() if method else None, path)] = deque(replies)

    def received(self, path: str | None = None) -> list[RecordedRequest]:
        """The requests received so far, only those to `path` (prefix with ``*``)."""
        with self._lock:
            return [r for r in self.requests if path is None or _matches(path, r.path)]

    def wait_for(
        self, count: int, path: str | None = None, timeout: float = 5.0
    ) -> None:
        """Wait for `count` requests (to `path`); AssertionError after `timeout`."""
        deadline = time.monotonic() + timeout
        while len(self.received(path)) < count:
            if time.monotonic() > deadline:
                got = len(self.received(path))
                raise AssertionError(f"expected {count} requests to {path}, got {got}")
            time.sleep(0.01)

    def close(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _record_and_choose(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            queue = self._route_for(request.method, request.path)
            if queue is None:
                text = f"no reply programmed for {request.method} {request.path}"
                return Reply(404, text)
            return queue.popleft() if len(queue) > 1 else queue[0]

    def _route_for(self, method: str, path: str) -> deque[Reply] | None:
        for wanted in (method, None):
            if (wanted, path) in self._routes:
                return self._routes[(wanted, path)]
        prefixed = [
            (len(p), q)
            for (m, p), q in self._routes.items()
            if m in (method, None) and p.endswith("*") and _matches(p, path)
        ]
        return max(prefixed, key=lambda item: item[0])[1] if prefixed else None


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a timeout test) is expected, not worth a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _matches(route: str, path: str) -> bool:
    return path.startswith(route[:-1]) if route.endswith("*") else path == route


def _handler_for(recorder: HttpRecorder) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real servers do
        timeout = 10  # an idle kept-alive connection ends its thread

        def _serve(self) -> None:
            url = urlsplit(self.path)
            request = RecordedRequest(
                method=self.command,
                path=url.path,
                query=url.query,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self._read_body(),
            )
            reply = recorder._record_and_choose(request)
            if reply.delay:
                time.sleep(reply.delay)
            data, headers = reply.encoded()
            self.send_response(reply.status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _read_body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while size := int(self.rfile.readline().strip() or b"0", 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                self.rfile.readline()
                return b"".join(chunks)
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        # http.server dispatches on these names.
        do_GET = do_POST = do_PUT = do_PATCH = _serve
        do_DELETE = do_HEAD = do_OPTIONS = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the test output quiet."""

    return Handler


class SlackServer(HttpRecorder):
    """An `HttpRecorder` answering Slack webhooks (``POST /services/*``) with ``ok``."""

    def __init__(self) -> None:
        super().__init__()
        self.respond("/services/*", Reply(200, "ok"))

    @property
    def webhook_url(self) -> str:
        """A webhook URL on this server, shaped like Slack's."""
        return f"{self.url}/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"

    @property
    def payloads(self) -> list[Any]:
        """The JSON payloads received on ``/services/*``, oldest first."""
        return [r.json() for r in self.received("/services/*") if r.method == "POST"]

    @property
    def texts(self) -> list[str]:
        """The `text` of each payload received (empty for blocks-only messages)."""
        return [p.get("text", "") for p in self.payloads if isinstance(p, dict)]


@pytest.fixture
def http_recorder() -> Iterator[HttpRecorder]:
    """A recording HTTP server on 127.0.0.1 for this test (see `HttpRecorder`)."""
    server = HttpRecorder()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def slack_server() -> Iterator[SlackServer]:
    """A Slack-like webhook server on 127.0.0.1 for this test (see `SlackServer`)."""
    server = SlackServer()
    try:
        yield server
    finally:
        server.close()


def example_tasks(task_class: type, **replace: Any) -> list[dict[str, Any]]:
    """The tasks of `task_class`'s type in the YAML example that ends its docstring.

    Keyword arguments replace those properties in each task (e.g. a real `uri`), so a
    test can validate and run the documented example against a local server.
    """
    doc = task_class.__doc__ or ""
    block = doc.split("```yaml", 1)[1].split("```", 1)[0]
    flow = yaml.safe_load(textwrap.dedent(block))
    names = {task_class.type_name, *task_class.aliases}
    found = [dict(t) for t in _walk_tasks(flow.get("tasks", [])) if t["type"] in names]
    for task in found:
        task.update(replace)
    return found


def _walk_tasks(tasks: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for task in tasks:
        yield task
        for key in ("tasks", "then", "else", "errors", "finally"):
            yield from _walk_tasks(task.get(key) or [])
