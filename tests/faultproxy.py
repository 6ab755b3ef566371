"""A fault-injecting HTTP proxy for tests (stdlib only, loopback).

It sits in front of a GenericInterface server (the fake's ``serve()`` door, or a live
Znuny) and forwards every request unchanged, except those matched by a rule, which get
one of three faults:

* :attr:`Action.DROP_RESPONSE` — forward the request, read the server's whole answer,
  then close the client's connection without a byte of it (the change is applied, the
  answer is lost);
* :attr:`Action.UNAVAILABLE` — answer ``503`` with ``Retry-After`` without forwarding;
* :attr:`Action.RESET` — reset the client's connection (TCP RST) without forwarding,
  or, with ``forward=True``, after the server answered.

Usage::

    with FaultProxy("http://127.0.0.1:8080") as proxy:
        proxy.add(Action.DROP_RESPONSE, match=is_note_update)
        client = ClosureClient(base_url=proxy.url, ...)

The proxy listens on plain HTTP and forwards to an http or https upstream. It rewrites
nothing (the path, the query and the body reach the server as the client sent them),
and the server sees the proxy's address as the client's, so sessions bound to the
client IP keep working.
"""

from __future__ import annotations

import enum
import http.client
import socket
import ssl
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "Action",
    "Rule",
    "Exchange",
    "FaultProxy",
    "matches",
    "NOTE_UPDATE",
    "OWNER_UPDATE",
    "TICKET_GET",
    "SCENARIOS",
]

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "content-length",
}


class Action(str, enum.Enum):
    DROP_RESPONSE = "drop_response"
    UNAVAILABLE = "unavailable"
    RESET = "reset"


Matcher = Callable[[str, str, bytes], bool]
"""``(method, path with query, body) -> bool``."""


@dataclass
class Rule:
    """Apply ``action`` to the ``nth`` .. ``nth + times - 1`` requests that ``match``."""

    action: Action
    match: Matcher
    nth: int = 1
    times: int = 1
    retry_after: int = 1
    forward: bool = False  # RESET only: forward first, reset after the server answered
    seen: int = 0
    fired: int = 0

    def take(self, method: str, path: str, body: bytes) -> bool:
        if not self.match(method, path, body):
            return False
        self.seen += 1
        if self.nth <= self.seen < self.nth + self.times:
            self.fired += 1
            return True
        return False


@dataclass(frozen=True)
class Exchange:
    """One request the proxy handled."""

    method: str
    path: str
    body: bytes = field(repr=False)
    action: Action | None
    status: int | None  # what the client received (None: nothing)
    upstream_status: int | None  # what the server answered (None: not forwarded)


def matches(method: str | None = None, path_re: str | None = None, *needles: bytes) -> Matcher:
    """A matcher on the method, a regex searched in the path and bytes the body contains."""
    import re

    rx = re.compile(path_re) if path_re else None

    def m(meth: str, path: str, body: bytes) -> bool:
        if method is not None and meth.upper() != method.upper():
            return False
        if rx is not None and not rx.search(path):
            return False
        return all(n in body for n in needles)

    return m


class FaultProxy:
    """The proxy; a context manager that starts and stops its server thread."""

    def __init__(
        self,
        upstream: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        rewrite: Callable[[str, str, bytes], bytes] | None = None,
    ) -> None:
        parts = urlsplit(upstream)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("upstream must be an http(s) URL")
        self.upstream_tls = parts.scheme == "https"
        self.ssl_context = ssl_context
        self.upstream_host = parts.hostname
        self.upstream_port = parts.port or (443 if self.upstream_tls else 80)
        self.upstream_prefix = parts.path.rstrip("/")
        self.timeout = timeout
        #: ``(method, path, answer body) -> answer body``: plays a server that changes what
        #: it stores (applied to forwarded answers only).
        self.rewrite = rewrite
        self.rules: list[Rule] = []
        self.log: list[Exchange] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- control ------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{self.upstream_prefix}"

    def add(
        self,
        action: Action,
        match: Matcher | None = None,
        *,
        nth: int = 1,
        times: int = 1,
        retry_after: int = 1,
        forward: bool = False,
    ) -> Rule:
        rule = Rule(action, match or (lambda *_: True), nth=nth, times=times, retry_after=retry_after, forward=forward)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def faults(self) -> list[Exchange]:
        """The exchanges a rule applied to."""
        return [e for e in self.log if e.action is not None]

    def start(self) -> FaultProxy:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="faultproxy", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the handler ----------------------------------------------------------------------
    def _pick(self, method: str, path: str, body: bytes) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.take(method, path, body):
                    return rule
        return None

    def _record(self, *args: Any) -> None:
        with self._lock:
            self.log.append(Exchange(*args))

    def _forward(
        self, method: str, path: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, str, list[tuple[str, str]], bytes]:
        conn: http.client.HTTPConnection
        if self.upstream_tls:
            conn = http.client.HTTPSConnection(
                self.upstream_host, self.upstream_port, timeout=self.timeout, context=self.ssl_context
            )
        else:
            conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=self.timeout)
        try:
            send = {k: v for k, v in headers if k.lower() not in _HOP_BY_HOP and k.lower() != "host"}
            send["Host"] = f"{self.upstream_host}:{self.upstream_port}"
            send["Connection"] = "close"
            if body or method not in ("GET", "HEAD"):
                send["Content-Length"] = str(len(body))
            conn.request(method, path, body=body or None, headers=send)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, resp.reason, [(k, v) for k, v in resp.getheaders()], data
        finally:
            conn.close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as separate writes

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
                pass

            def _reset(self) -> None:
                self.close_connection = True
                try:
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                except OSError:
                    pass

            def _drop(self) -> None:
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

            def _handle(self) -> None:
                method = self.command
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                rule = proxy._pick(method, self.path, body)
                action = rule.action if rule else None
                if action is Action.UNAVAILABLE:
                    assert rule is not None
                    page = b"<html><body><h1>503 Service Unavailable</h1></body></html>"
                    self.send_response(503, "Service Unavailable")
                    self.send_header("Content-Type", "text/html; charset=UTF-8")
                    self.send_header("Retry-After", str(rule.retry_after))
                    self.send_header("Content-Length", str(len(page)))
                    self.end_headers()
                    self.wfile.write(page)
                    proxy._record(method, self.path, body, action, 503, None)
                    return
                if action is Action.RESET and rule is not None and not rule.forward:
                    proxy._record(method, self.path, body, action, None, None)
                    self._reset()
                    return
                try:
                    status, reason, headers, data = proxy._forward(method, self.path, list(self.headers.items()), body)
                except OSError:
                    proxy._record(method, self.path, body, action, 502, None)
                    self.send_error(502, "upstream unreachable")
                    return
                if action is Action.DROP_RESPONSE:
                    proxy._record(method, self.path, body, action, None, status)
                    self._drop()
                    return
                if action is Action.RESET:
                    proxy._record(method, self.path, body, action, None, status)
                    self._reset()
                    return
                if proxy.rewrite is not None:
                    data = proxy.rewrite(method, self.path, data)
                self.send_response(status, reason)
                for k, v in headers:
                    if k.lower() not in _HOP_BY_HOP:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if method != "HEAD":
                    self.wfile.write(data)
                proxy._record(method, self.path, body, None, status, status)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _handle  # noqa: N815

        return Handler


# -- the closure's requests, as the proxy sees them ------------------------------------------------

#: Step 1: PATCH with the note (State + Article with a Body + Attachment).
NOTE_UPDATE = matches("PATCH", None, b'"Attachment"', b'"Body"')
#: Step 2: PATCH with the owner and its note (the preflight has an Owner but no Body).
OWNER_UPDATE = matches("PATCH", None, b'"Owner"', b'"Body"')
#: Any TicketGet (the first one reads, the last one verifies).
TICKET_GET = matches("GET", r"/Ticket/\d+")

#: The faults the issue asks to prove in front of a live Znuny 6.5, per write step:
#: (id, action, matcher, rule options).
SCENARIOS: tuple[tuple[str, Action, Matcher, dict[str, Any]], ...] = (
    ("note-response-dropped", Action.DROP_RESPONSE, NOTE_UPDATE, {}),
    ("note-503-retry-after", Action.UNAVAILABLE, NOTE_UPDATE, {"retry_after": 1}),
    ("note-reset", Action.RESET, NOTE_UPDATE, {}),
    ("note-reset-after-apply", Action.RESET, NOTE_UPDATE, {"forward": True}),
    ("owner-response-dropped", Action.DROP_RESPONSE, OWNER_UPDATE, {}),
    ("owner-503-retry-after", Action.UNAVAILABLE, OWNER_UPDATE, {"retry_after": 1}),
    ("owner-reset", Action.RESET, OWNER_UPDATE, {}),
    ("owner-reset-after-apply", Action.RESET, OWNER_UPDATE, {"forward": True}),
    ("verify-response-dropped", Action.DROP_RESPONSE, TICKET_GET, {"nth": 2}),
)
