"""Where the keep-alive race's fast path must *not* apply. A drop is a ``StaleConnection``
(re-read once at once, no settle, no poll) only when the request went out on a socket
that already carried one, failed before any byte of an answer, and failed within
``STALE_WINDOW`` of sending. Everything else that took the request and then failed may
still be committing the write: the slow path (settle, poll) must give it time to show,
or the resend doubles the note.

A keep-alive reverse proxy in front of ``fake.serve()`` plays each case on the first
note update of a closure (found by ``faultproxy.NOTE_UPDATE``); the client is a plain
ClosureClient with the library's own HTTP session. (From an adversarial review.)
"""

from __future__ import annotations

import http.client
import socket
import ssl
import struct
import subprocess
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from fault_matrix import Inputs, end_state_problems, make_inputs, new_client
from faultproxy import NOTE_UPDATE

from otrs_closure.testing import FakeZnuny

SETTLE = 1.0  # the settle wait of an unknown outcome: present among the sleeps iff the slow path ran

# What the proxy does with the first note update: (proxy, handler, forward) -> None.
# ``forward()`` hands the request to the fake (the write is applied) and returns its answer.
Behaviour = Callable[["Proxy", BaseHTTPRequestHandler, Callable[[], Any]], None]


def _reset(conn: socket.socket) -> None:
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


class Proxy:
    """Keep-alive reverse proxy (HTTP or HTTPS) in front of the fake."""

    def __init__(self, upstream: str, on_note: Behaviour, *, tls: ssl.SSLContext | None = None,
                 keep_alive: bool = True) -> None:  # fmt: skip
        u = urlsplit(upstream)
        self.host, self.port, self.prefix = u.hostname or "127.0.0.1", u.port or 80, u.path
        self.fired = False
        self.pending: list[threading.Thread] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: Any) -> None:
                pass

            def do_any(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "host")}

                def forward() -> tuple[int, list[tuple[str, str]], bytes]:
                    return proxy.forward(self.command, self.path, headers, body)

                if not proxy.fired and NOTE_UPDATE(self.command, self.path, body):
                    proxy.fired = True
                    self.close_connection = True
                    on_note(proxy, self, forward)
                    return
                status, rheaders, data = forward()
                self.send_response(status)
                for k, v in rheaders:
                    if k.lower() not in ("connection", "content-length", "transfer-encoding", "keep-alive"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                if not keep_alive:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = do_any  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}{self.prefix}"

    def later(self, seconds: float, fn: Callable[[], object]) -> None:
        def run() -> None:
            time.sleep(seconds)
            fn()

        t = threading.Thread(target=run)
        t.start()
        self.pending.append(t)

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes
                ) -> tuple[int, list[tuple[str, str]], bytes]:  # fmt: skip
        c = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            c.request(method, path, body=body or None, headers={**headers, "Connection": "close"})
            r = c.getresponse()
            return r.status, r.getheaders(), r.read()
        finally:
            c.close()

    def stop(self) -> None:
        for t in self.pending:
            t.join(10)
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    return make_inputs(Path(tmp_path_factory.mktemp("formats")))


def close_through(inputs: Inputs, on_note: Behaviour, **proxy_options: Any) -> tuple[list[float], list[str]]:
    """A closure through the proxy; returns the sleeps and the fake's operations, after
    checking that the ticket ends exactly closed (one note, both files once, one owner note)."""
    fake = FakeZnuny.service_desk()
    ticket = fake.new_service_desk_ticket()
    sleeps: list[float] = []
    ca = proxy_options.pop("ca", None)
    with fake.serve() as url:
        proxy = Proxy(url, on_note, **proxy_options)
        try:
            options: dict[str, Any] = {"retry_write_settle": SETTLE, "retry_write_poll": 2.0, "retry_backoff": 0}
            if ca is not None:
                options["ca_bundle"] = ca

            def sleep(seconds: float) -> None:
                sleeps.append(seconds)
                time.sleep(seconds)  # really: the late commits below must get their time

            with new_client(proxy.url, sleep=sleep, **options) as client:
                receipt = client.close(ticket_number=ticket.ticket_number, attention=inputs.attention,
                                       formats=inputs.formats)  # fmt: skip
        finally:
            proxy.stop()
    assert proxy.fired, "the proxy never saw the note update"
    problems = end_state_problems(fake.ticket(ticket.ticket_id), inputs, receipt=receipt)
    assert problems == [], problems
    return sleeps, [r.operation or "?" for r in fake.requests]


def test_a_reset_while_the_server_is_still_writing_does_not_double_the_note(inputs: Inputs) -> None:
    """The write is handed on and commits 0.8 s later; the client's connection is reset at
    0.3 s — past the window, so the slow path waits for the commit to show."""

    def on_note(proxy: Proxy, handler: BaseHTTPRequestHandler, forward: Callable[[], Any]) -> None:
        proxy.later(0.8, forward)
        time.sleep(0.3)
        _reset(handler.connection)

    sleeps, ops = close_through(inputs, on_note)
    assert SETTLE in sleeps
    assert ops.count("TicketUpdate") == 3  # preflight, note (committed late, once), owner


def test_a_reset_long_after_the_server_took_the_request_is_an_unknown_outcome(inputs: Inputs) -> None:
    def on_note(proxy: Proxy, handler: BaseHTTPRequestHandler, forward: Callable[[], Any]) -> None:
        forward()  # applied
        time.sleep(1.5)
        _reset(handler.connection)

    sleeps, ops = close_through(inputs, on_note)
    assert SETTLE in sleeps
    assert ops.count("TicketUpdate") == 3  # preflight, note (applied once), owner: nothing resent


def test_a_reset_in_the_middle_of_an_answer_is_an_unknown_outcome(inputs: Inputs) -> None:
    def on_note(proxy: Proxy, handler: BaseHTTPRequestHandler, forward: Callable[[], Any]) -> None:
        forward()  # applied
        handler.connection.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n'
                                   b'Content-Length: 200\r\n\r\n{"TicketID"')  # fmt: skip
        time.sleep(0.05)  # well within the window: only "an answer had begun" tells it apart
        _reset(handler.connection)

    sleeps, ops = close_through(inputs, on_note)
    assert SETTLE in sleeps
    assert ops.count("TicketUpdate") == 3


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, Path]:
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    made = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        capture_output=True,
    )  # fmt: skip
    if made.returncode != 0:
        pytest.skip("openssl cannot make a test certificate here")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    return ctx, cert


def test_over_https_a_drop_on_a_fresh_connection_is_an_unknown_outcome(
    inputs: Inputs, tls: tuple[ssl.SSLContext, Path]
) -> None:
    """urllib3 opens an HTTPS socket before the request is written: that socket is not a
    reused one. Every answer here closes its connection, so the note update goes out on a
    fresh one; the proxy reads it and hangs up at once (as a dying server would)."""

    def on_note(proxy: Proxy, handler: BaseHTTPRequestHandler, forward: Callable[[], Any]) -> None:
        handler.connection.close()

    ctx, cert = tls
    sleeps, ops = close_through(inputs, on_note, tls=ctx, keep_alive=False, ca=cert)
    assert SETTLE in sleeps


def test_over_https_the_race_on_a_reused_connection_is_still_met_at_once(
    inputs: Inputs, tls: tuple[ssl.SSLContext, Path]
) -> None:
    """The same proxy keeping connections alive, closing the one the note update came on
    without reading further: the race as Apache loses it, over TLS."""

    def on_note(proxy: Proxy, handler: BaseHTTPRequestHandler, forward: Callable[[], Any]) -> None:
        _reset(handler.connection)

    ctx, cert = tls
    sleeps, ops = close_through(inputs, on_note, tls=ctx, ca=cert)
    assert SETTLE not in sleeps and all(s == 0 for s in sleeps), sleeps


def test_requests_session_of_the_caller_keeps_the_slow_path(inputs: Inputs) -> None:
    """With a caller's own session the library cannot tell a reused connection: even the
    race takes the slow path — slower, never doubled."""

    def on_note(proxy: Proxy, handler: BaseHTTPRequestHandler, forward: Callable[[], Any]) -> None:
        _reset(handler.connection)

    fake = FakeZnuny.service_desk()
    ticket = fake.new_service_desk_ticket()
    sleeps: list[float] = []
    with fake.serve() as url:
        proxy = Proxy(url, on_note)
        try:
            with new_client(proxy.url, sleep=sleeps.append, retry_write_settle=SETTLE, retry_write_poll=2.0,
                            session_factory=lambda: requests.Session()) as client:  # fmt: skip
                receipt = client.close(ticket_number=ticket.ticket_number, attention=inputs.attention,
                                       formats=inputs.formats)  # fmt: skip
        finally:
            proxy.stop()
    assert end_state_problems(fake.ticket(ticket.ticket_id), inputs, receipt=receipt) == []
    assert SETTLE in sleeps
