"""A fault-injecting HTTP proxy for tests (stdlib only, loopback).

It sits in front of a GenericInterface server (the fake's ``serve()`` door, or a live
Znuny/OTRS/OTOBO) and forwards every request unchanged, except those matched by a rule,
which get one fault:

* :attr:`Action.DROP_RESPONSE` — forward the request, read the server's whole answer,
  then close the client's connection without a byte of it (the change is applied, the
  answer is lost);
* :attr:`Action.TIMEOUT` — forward, then hold the answer for ``hold`` seconds (longer
  than the client's read timeout) and close without it (applied, the client timed out);
* :attr:`Action.UNAVAILABLE` — answer ``503`` with ``Retry-After`` without forwarding;
* :attr:`Action.RESET` — reset the client's connection (TCP RST) without forwarding,
  or, with ``forward=True``, after the server answered;
* :attr:`Action.SERVER_FAULT` — answer Znuny's ``500`` JSON fault (under text/plain)
  without forwarding, or, with ``forward=True``, after the server applied the request;
* :attr:`Action.MAINTENANCE` — answer ``200`` with an HTML maintenance page, not forwarded;
* :attr:`Action.KILL_SESSION` — end the session the request carries before forwarding it
  (with ``killer``, e.g. deleting its row on the server; else by substituting a dead
  SessionID in the query, the body and the ``X-OTRS-Header-SessionID`` header); on a
  SessionCreate, the session it created is ended after the answer passed;
* :attr:`Action.REFUSE` — a real ``ECONNREFUSED``: after answering the request ``after``
  names (a matcher: the first one it accepts that the server answered 2xx; or a number:
  the ``after``-th request, 0 for the start) with ``Connection: close``, the proxy stops
  listening for ``seconds``, so the client's next connection is refused by the kernel. A
  refusal cannot be aimed at a request by that request's content (the connection comes
  first): aim it at the one before.

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
import json
import re
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

__all__ = [
    "Action", "Rule", "Exchange", "FaultProxy", "matches", "nth_request", "NOTE_UPDATE", "OWNER_UPDATE", "TICKET_GET",
    "SCENARIOS", "DEAD_SESSION_ID", "session_id_of",
]

#: A SessionID no server knows (32 characters, like Znuny's).
DEAD_SESSION_ID = "0" * 32
JSON_FAULT = b'{"faultcode":"Server","faultstring":"OperationObject returned an error, cancelling Request"}'
MAINTENANCE_PAGE = (b"<!DOCTYPE html>\n<html><head><title>Maintenance</title></head><body>\n<h1>System maintenance"
                    b"</h1>\n<p>The ticket system is under maintenance. Please try again later.</p>\n</body></html>\n")

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
    TIMEOUT = "timeout"
    SERVER_FAULT = "server_fault"
    MAINTENANCE = "maintenance"
    KILL_SESSION = "kill_session"
    REFUSE = "refuse"


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
    forward: bool = False  # RESET, SERVER_FAULT: forward first, fail after the server answered
    hold: float = 5.0  # TIMEOUT: seconds the answer is withheld before the connection closes
    killer: Callable[[str], None] | None = None  # KILL_SESSION: ends a session server-side
    after: int | Matcher = 0  # REFUSE: after the answer to this request number (0: at start), or to the
    #                           first request this matcher accepts that the server answered 2xx
    seconds: float = 0.2  # REFUSE: for how long
    seen: int = 0
    fired: int = 0
    killed: list[str] = field(default_factory=list)  # KILL_SESSION: the SessionIDs ended
    refused_from: float | None = None  # REFUSE: when the proxy stopped listening (monotonic)
    refused_until: float | None = None  # REFUSE: when it listened again

    def take(self, method: str, path: str, body: bytes, number: int = 0) -> bool:
        """Whether this rule applies to the request (the ``number``-th the proxy read); counts it."""
        position = getattr(self.match, "number", None)
        if not (number == position if position is not None else self.match(method, path, body)):
            return False
        self.seen += 1
        return self.nth <= self.seen < self.nth + self.times


@dataclass(frozen=True)
class Exchange:
    """One request the proxy handled."""

    method: str
    path: str
    body: bytes = field(repr=False)
    action: Action | None
    status: int | None  # what the client received (None: nothing)
    upstream_status: int | None  # what the server answered (None: not forwarded)
    at: float = 0.0  # when the request was read (time.monotonic())
    number: int = 0  # its position among the requests the proxy read, from 1


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


class nth_request:  # noqa: N801 - used like the matcher functions
    """Matches the ``n``-th request the proxy reads (from 1, counting every request since
    it started), whatever it is: with a client that sends the same sequence each run, aim
    a fault at the position a fault-free run showed."""

    def __init__(self, n: int) -> None:
        self.number = n

    def __call__(self, meth: str, path: str, body: bytes) -> bool:
        return False  # the proxy compares positions (Rule.take)


_SID_IN_BODY = re.compile(rb'("SessionID"\s*:\s*")([^"]*)(")')


def session_id_of(path: str, headers: Any, body: bytes) -> str | None:
    """The SessionID a request carries: header, query or JSON body."""
    for k, v in (headers.items() if hasattr(headers, "items") else headers):
        if k.lower() == "x-otrs-header-sessionid" and v:
            return str(v)
    query = dict(parse_qsl(urlsplit(path).query))
    if query.get("SessionID"):
        return query["SessionID"]
    m = _SID_IN_BODY.search(body)
    return m.group(2).decode() if m else None


def _substitute_session(path: str, headers: list[tuple[str, str]], body: bytes
                        ) -> tuple[str, list[tuple[str, str]], bytes]:
    parts = urlsplit(path)
    if "SessionID=" in parts.query:
        query = [(k, DEAD_SESSION_ID if k == "SessionID" else v) for k, v in parse_qsl(parts.query, True)]
        path = parts.path + "?" + urlencode(query)
    headers = [(k, DEAD_SESSION_ID if k.lower() == "x-otrs-header-sessionid" else v) for k, v in headers]
    body = _SID_IN_BODY.sub(lambda m: m.group(1) + DEAD_SESSION_ID.encode() + m.group(3), body)
    return path, headers, body


class FaultProxy:
    """The proxy; a context manager that starts and stops its server thread."""

    def __init__(self, upstream: str, *, host: str = "127.0.0.1", port: int = 0, timeout: float = 30.0,
                 ssl_context: ssl.SSLContext | None = None,
                 rewrite: Callable[[str, str, bytes], bytes] | None = None) -> None:
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
        self._count = 0
        self._stopped = False
        self._refusing = False
        self._timers: list[threading.Timer] = []

    # -- control ------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{self.upstream_prefix}"

    def add(self, action: Action, match: Matcher | None = None, *, nth: int = 1, times: int = 1,
            retry_after: int = 1, forward: bool = False, hold: float = 5.0,
            killer: Callable[[str], None] | None = None, after: int | Matcher = 0, seconds: float = 0.2) -> Rule:
        if action is Action.REFUSE:
            match = lambda *_: False  # noqa: E731 - a refusal is aimed by position, not content
        rule = Rule(action, match or (lambda *_: True), nth=nth, times=times, retry_after=retry_after,
                    forward=forward, hold=hold, killer=killer, after=after, seconds=seconds)
        with self._lock:
            self.rules.append(rule)
        if action is Action.REFUSE and after == 0 and self._thread is not None:
            self._refuse(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def faults(self) -> list[Exchange]:
        """The exchanges a rule applied to."""
        return [e for e in self.log if e.action is not None]

    def start(self) -> FaultProxy:
        self._serve()
        for rule in self.rules:
            if rule.action is Action.REFUSE and rule.after == 0:
                self._refuse(rule)
        return self

    def _serve(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="faultproxy", daemon=True)
        self._thread.start()

    def _refuse(self, rule: Rule) -> None:
        """Stop listening (connections are refused by the kernel), and listen again on the
        same port ``rule.seconds`` later."""
        with self._lock:
            if self._stopped or self._refusing:
                return
            self._refusing = True
        self._server.shutdown()
        host, port = self._server.server_address[:2]
        self._server.socket.close()
        rule.fired += 1
        rule.refused_from = time.monotonic()

        def listen_again() -> None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(self._server.request_queue_size)
            with self._lock:
                self._server.socket = sock
                self._refusing = False
                stopped = self._stopped
            rule.refused_until = time.monotonic()
            if stopped:
                sock.close()
            else:
                self._serve()

        timer = threading.Timer(rule.seconds, listen_again)
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
        for timer in self._timers:
            timer.cancel()
            if timer.is_alive():
                timer.join(5)
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the handler ----------------------------------------------------------------------
    def _pick(self, method: str, path: str, body: bytes) -> tuple[Rule | None, int, float]:
        with self._lock:
            self._count += 1
            number, at = self._count, time.monotonic()
            chosen = None
            for rule in self.rules:  # every rule sees every request (stateful matchers count them all)
                if rule.take(method, path, body, number) and chosen is None:
                    chosen = rule
            if chosen is not None:
                chosen.fired += 1
        return chosen, number, at

    def _refusal_after(self, number: int, method: str, path: str, body: bytes, status: int) -> Rule | None:
        with self._lock:
            for r in self.rules:
                if r.action is not Action.REFUSE or r.fired:
                    continue
                if r.after == number if isinstance(r.after, int) else (200 <= status < 300 and r.after(method, path,
                                                                                                        body)):
                    return r
        return None

    def _record(self, *args: Any, at: float = 0.0, number: int = 0) -> None:
        with self._lock:
            self.log.append(Exchange(*args, at=at, number=number))

    def _forward(self, method: str, path: str, headers: list[tuple[str, str]], body: bytes
                 ) -> tuple[int, str, list[tuple[str, str]], bytes]:
        conn: http.client.HTTPConnection
        if self.upstream_tls:
            conn = http.client.HTTPSConnection(self.upstream_host, self.upstream_port, timeout=self.timeout,
                                               context=self.ssl_context)
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

            def _answer(self, status: int, reason: str, headers: list[tuple[str, str]], data: bytes,
                        method: str, close: bool = False) -> None:
                self.send_response(status, reason)
                for k, v in headers:
                    if k.lower() not in _HOP_BY_HOP:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                if close:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                if method != "HEAD":
                    self.wfile.write(data)

            def _handle(self) -> None:
                method = self.command
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path
                headers = list(self.headers.items())
                rule, number, at = proxy._pick(method, path, body)
                action = rule.action if rule else None

                def record(status: int | None, upstream: int | None) -> None:
                    proxy._record(method, self.path, body, action, status, upstream, at=at, number=number)

                if rule is not None and action is Action.UNAVAILABLE:
                    page = b"<html><body><h1>503 Service Unavailable</h1></body></html>"
                    self._answer(503, "Service Unavailable", [("Content-Type", "text/html; charset=UTF-8"),
                                                              ("Retry-After", str(rule.retry_after))], page, method)
                    record(503, None)
                    return
                if rule is not None and action is Action.MAINTENANCE:
                    self._answer(200, "OK", [("Content-Type", "text/html; charset=UTF-8")], MAINTENANCE_PAGE, method)
                    record(200, None)
                    return
                if rule is not None and action is Action.SERVER_FAULT and not rule.forward:
                    self._answer(500, "Internal Server Error", [("Content-Type", "text/plain; charset=UTF-8")],
                                 JSON_FAULT, method)
                    record(500, None)
                    return
                if action is Action.RESET and rule is not None and not rule.forward:
                    record(None, None)
                    self._reset()
                    return
                creating = rule is not None and action is Action.KILL_SESSION and path.rstrip("/").endswith("/Session")
                if rule is not None and action is Action.KILL_SESSION and not creating:
                    sid = session_id_of(path, headers, body)
                    if rule.killer is not None and sid:
                        rule.killer(sid)
                    else:
                        path, headers, body = _substitute_session(path, headers, body)
                    rule.killed.append(sid or "")
                try:
                    status, reason, rheaders, data = proxy._forward(method, path, headers, body)
                except (OSError, http.client.HTTPException):  # unreachable, or not HTTP (a dying nph script)
                    record(502, None)
                    self.send_error(502, "upstream unreachable")
                    return
                if rule is not None and creating:
                    try:
                        sid = str(json.loads(data).get("SessionID") or "")
                    except (ValueError, AttributeError):
                        sid = ""
                    if sid and rule.killer is not None:
                        rule.killer(sid)
                    elif sid:
                        data = data.replace(sid.encode(), DEAD_SESSION_ID.encode())
                    rule.killed.append(sid)
                if action is Action.DROP_RESPONSE:
                    record(None, status)
                    self._drop()
                    return
                if rule is not None and action is Action.TIMEOUT:
                    record(None, status)
                    time.sleep(rule.hold)
                    self._drop()
                    return
                if action is Action.RESET:
                    record(None, status)
                    self._reset()
                    return
                if rule is not None and action is Action.SERVER_FAULT:
                    self._answer(500, "Internal Server Error", [("Content-Type", "text/plain; charset=UTF-8")],
                                 JSON_FAULT, method)
                    record(500, status)
                    return
                if proxy.rewrite is not None:
                    data = proxy.rewrite(method, self.path, data)
                refusal = proxy._refusal_after(number, method, self.path, body, status)
                if refusal is not None:
                    proxy._refuse(refusal)  # before the answer: the next connection is refused
                self._answer(status, reason, rheaders, data, method, close=refusal is not None)
                record(status, status)

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
