"""Loopback door: a real HTTP/1.1 server (stdlib ``ThreadingHTTPServer``) in front of the fake.

Keep-alive is supported (Content-Length on every answer); bodies are read by Content-Length
only when the transport needs them, unread bytes are drained before answering so the
connection stays usable, and a chunked body (no Content-Length) is ignored as Znuny does.
Over real TCP a "refused" fault can only be simulated by resetting the accepted connection
before reading the body, which a client cannot tell apart from a dropped connection.
"""

from __future__ import annotations

import socket
import struct
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from otrs_closure.testing._provider import GenericInterface, RawRequest

__all__ = ["serve_door", "FakeHTTPServer"]


class FakeHTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its GenericInterface, latency and open connections."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # benchmarks open many connections at once

    def __init__(
        self,
        address: tuple[str, int],
        gi: GenericInterface,
        latency: float = 0.0,
        max_keepalive_requests: int | None = None,
    ) -> None:
        super().__init__(address, _Handler)
        self.gi = gi
        self.latency = latency
        self.max_keepalive_requests = max_keepalive_requests
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client goes away mid-answer (timeouts, resets); report the rest."""
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Shut down every open keep-alive connection (unblocks handler threads)."""
        with self.connections_lock:
            conns = list(self.connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    """One connection; each request goes through :meth:`GenericInterface.handle`."""

    protocol_version = "HTTP/1.1"
    server: FakeHTTPServer

    def version_string(self) -> str:
        """The ``Server`` header."""
        return "Apache"

    #: TCP_NODELAY, as Apache sets it: headers and body go out in separate writes, and
    #: without it every kept-alive answer would stall ~40 ms on the client's delayed ACK.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self.answered = 0  # requests answered on this connection
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.connections_lock:
                self.server.connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Silence the default stderr access log."""

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_GET

    def _dispatch(self) -> None:
        limit = self.server.max_keepalive_requests
        if limit is not None and self.answered >= limit:
            # Apache's MaxKeepAliveRequests behind an NPH script, with the race lost: the
            # connection closes after the limit's answer, which could not say so, and the
            # request the client sent on it meanwhile goes unanswered and unprocessed.
            self._hang_up()
            return
        self.answered += 1
        if self.server.latency > 0:
            time.sleep(self.server.latency)
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            length = max(0, int(headers.get("content-length", "0").strip() or 0))
        except ValueError:
            length = 0
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        consumed = 0

        def read_body(n: int) -> bytes:
            nonlocal consumed
            data = self.rfile.read(min(n, length - consumed))
            consumed += len(data)
            return data

        outcome = self.server.gi.handle(
            RawRequest(
                method=self.command,
                target=self.path,
                headers=headers if not chunked else {k: v for k, v in headers.items() if k != "content-length"},
                remote_addr=self.client_address[0],
                door="serve",
            ),
            read_body=read_body,
        )
        if outcome.action == "refuse":
            self._reset()
            return
        if outcome.action in ("drop", "timeout"):
            if outcome.action == "timeout":
                time.sleep(outcome.delay)
            self._hang_up()
            return
        if chunked:
            self._drain_chunked()
        elif length > consumed:
            self._drain(length - consumed)
        self.send_response(outcome.status)
        for name, value in outcome.headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(outcome.body)
        if (outcome.header("Connection") or "").lower() == "close":
            self.close_connection = True

    def _hang_up(self) -> None:
        """Close the connection without an answer (FIN, not a reset)."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _reset(self) -> None:
        """Abort with a TCP reset (SO_LINGER 0), as close as loopback gets to 'refused'."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def _drain(self, remaining: int) -> None:
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                self.close_connection = True
                return
            remaining -= len(chunk)

    def _drain_chunked(self) -> None:
        while True:
            line = self.rfile.readline(65537)
            if not line:
                self.close_connection = True
                return
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass
                return
            self._drain(size)
            self.rfile.readline(65537)


@contextmanager
def serve_door(
    gi: GenericInterface,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    latency: float = 0.0,
    max_keepalive_requests: int | None = None,
) -> Iterator[str]:
    """Serve ``gi`` on ``host:port`` in a background thread; yields the web service URL."""
    server = FakeHTTPServer((host, port), gi, latency=latency, max_keepalive_requests=max_keepalive_requests)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    bound_host, bound_port = server.server_address[:2]
    shown = bound_host if isinstance(bound_host, str) else bound_host.decode()
    if ":" in shown:
        shown = f"[{shown}]"
    try:
        yield f"http://{shown}:{bound_port}{gi.script_path}/Webservice/{gi.webservice}"
    finally:
        server.shutdown()
        server.close_connections()
        server.server_close()
        thread.join(timeout=5)
