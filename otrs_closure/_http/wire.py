"""The wire: sends one shaped :class:`~otrs_closure._http.shaping.Call` on a pooled,
thread-shared ``requests.Session`` — timeouts, TLS settings, no redirects, streamed
bodies, bounded answers — and turns every failure of the exchange into the
:class:`~otrs_closure.errors.TransportError` type that says whether the request may
have reached the server.

Logs name the operation, method, route and status; never URLs with their query,
bodies, passwords or session ids. Neither do raised errors: they keep only the
operating system's words for a failure, never the requests exception (whose text holds
the URL with its query).
"""

from __future__ import annotations

import http.client
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import requests
import urllib3.connection
import urllib3.connectionpool
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NameResolutionError, NewConnectionError

from otrs_closure._files import FileChanged
from otrs_closure._http.answers import Answer
from otrs_closure._http.contents import ContentDropper
from otrs_closure._http.shaping import Call
from otrs_closure.errors import (
    ConnectError,
    ConnectionDropped,
    InputError,
    ReadTimeout,
    ServerError,
    StaleConnection,
    TLSError,
    TransportError,
)
from otrs_closure.settings import ClosureSettings

__all__ = ["Wire", "POOL_SIZE", "query_string"]

log = logging.getLogger("otrs_closure.transport")

#: Keep-alive connections kept per host: one per worker of the largest batch pool.
POOL_SIZE = 64
_READ_CHUNK = 256 * 1024


def _chain(exc: BaseException) -> list[object]:
    """The exception, its args, causes and urllib3 ``reason``s, flattened."""
    seen: list[object] = []
    stack: list[object] = [exc]
    while stack:
        cur = stack.pop()
        if cur is None or any(cur is s for s in seen):
            continue
        seen.append(cur)
        if isinstance(cur, BaseException):
            stack.extend([cur.__cause__, cur.__context__, getattr(cur, "reason", None)])
            stack.extend(a for a in cur.args if isinstance(a, BaseException))
    return seen


def _reason(chain: list[object]) -> str:
    """The operating system's or the TLS library's own words for a failure ("[Errno 111]
    Connection refused", "certificate verify failed…"). Only those: the messages of
    requests and urllib3 hold the request's URL, whose query may carry the SessionID."""
    for cur in reversed(chain):
        if isinstance(cur, OSError) and type(cur).__module__ in ("builtins", "socket", "ssl"):
            return str(cur)[:200]
    return ""


_CONFIGURATION = (
    requests.exceptions.InvalidURL,
    requests.exceptions.InvalidSchema,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidHeader,
    requests.exceptions.URLRequired,
    requests.exceptions.InvalidProxyURL,
)


# -- kept-alive connections the server closed -------------------------------------------------
# Apache closes a kept-alive connection after MaxKeepAliveRequests answers; behind an NPH
# script (Znuny 6.5 and 7) the last answer cannot say so, and a request sent on it before
# the close arrives meets a closed socket. Only a request that went out on a socket that
# already carried one can meet that; the connection classes below note, per thread, which
# did (by the socket itself: urllib3 opens an HTTPS socket before the request is written).
_sent = threading.local()

#: A drop counts as that race only when it comes this soon after the request started:
#: the closed socket answers within a round trip, while a server (or a proxy in front of
#: it) that took the request and then failed takes longer — its write may still be
#: committing, and only the slow path (settle, poll) gives it time to show.
STALE_WINDOW = 0.25


class _NotesReuse:
    _served: object = None  # the socket of the last request written on this connection

    def request(self, *args: Any, **kwargs: Any) -> None:
        sock = getattr(self, "sock", None)
        _sent.reused = sock is not None and sock is self._served
        try:
            super().request(*args, **kwargs)  # type: ignore[misc]
        finally:
            self._served = getattr(self, "sock", None)


class _HTTPConnection(_NotesReuse, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_NotesReuse, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _Adapter(HTTPAdapter):
    """requests' adapter, with connections that note whether they were reused."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


def _stale(chain: list[object], before_answer: float | None) -> bool:
    """The request went out on a reused connection and the server closed it before any
    byte of an answer, within :data:`STALE_WINDOW` of sending (``before_answer``: the
    seconds until the failure, None once an answer had begun). Not a timeout: that one
    waited for an answer that never came."""
    closed = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)
    return (
        before_answer is not None
        and before_answer <= STALE_WINDOW
        and bool(getattr(_sent, "reused", False))
        and any(isinstance(c, closed) for c in chain)
    )


def transport_error(
    exc: requests.RequestException,
    operation: str,
    ticket: str | int | None,
    before_answer: float | None = None,
) -> TransportError:
    """The TransportError for a requests failure, by what it says about the request
    (``before_answer``: seconds from sending to a failure that came before any answer)."""
    chain = _chain(exc)
    ctx: dict[str, Any] = {"operation": operation, "ticket": ticket}
    reason = _reason(chain)
    detail = f" ({type(exc).__name__}{': ' + reason if reason else ''})"
    if isinstance(exc, requests.exceptions.SSLError):
        return TLSError("TLS handshake or certificate verification failed" + detail, **ctx)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return ConnectError("could not connect to the server in time" + detail, **ctx)
    if any(isinstance(c, (NewConnectionError, NameResolutionError, ConnectionRefusedError)) for c in chain):
        return ConnectError("could not connect to the server" + detail, **ctx)
    if isinstance(exc, requests.exceptions.Timeout):
        return ReadTimeout("no answer from the server in time" + detail, **ctx)
    if _stale(chain, before_answer):
        return StaleConnection("the server had closed the kept-alive connection; no answer came" + detail, **ctx)
    return ConnectionDropped("the connection was dropped before an answer arrived" + detail, **ctx)


def query_string(query: Mapping[str, Any]) -> str | None:
    """The query of a GET: list values as repeated keys (the REST transport makes them an
    array), blanks as ``%20`` — OTRS 5 decodes ``%XX`` but keeps a ``+`` as it is, so a
    queue named "Mesa de Servicio" sent as ``Mesa+de+Servicio`` would match nothing."""
    if not query:
        return None
    return urlencode(list(query.items()), doseq=True, quote_via=quote)


class Wire:
    """One keep-alive connection pool shared by every thread of a client."""

    def __init__(
        self,
        settings: ClosureSettings,
        session_factory: Callable[[], requests.Session] = requests.Session,
    ) -> None:
        self.settings = settings
        self._http = session_factory()
        if session_factory is requests.Session:  # a caller's own session keeps its adapters
            adapter = _Adapter(pool_connections=4, pool_maxsize=POOL_SIZE, max_retries=0)
            self._http.mount("http://", adapter)
            self._http.mount("https://", adapter)
        self._count_lock = threading.Lock()
        self.requests_sent: Counter[str] = Counter()

    def __repr__(self) -> str:
        return f"<Wire {self.settings.service_url}>"

    def close(self) -> None:
        """Close the pooled connections (new ones are opened on demand)."""
        self._http.close()

    def send(self, call: Call) -> Answer:
        """One exchange. Raises a TransportError subclass when it fails, InputError when
        the request cannot be made (a bad URL or header; a file that changed after it was
        checked — the body is then cut short, so the server cannot have acted on it)."""
        s = self.settings
        with self._count_lock:
            self.requests_sent[call.operation] += 1
        route = urlsplit(call.url).path[len(urlsplit(s.service_url).path) :] or "/"
        started = time.perf_counter()
        log.debug("→ %s %s (%s)", call.method, route, call.operation)
        response: requests.Response | None = None
        _sent.reused = False
        try:
            response = self._http.request(
                call.method,
                call.url,
                params=query_string(call.query),
                data=call.body(),
                headers=dict(call.headers),
                timeout=(s.connect_timeout, s.read_timeout),
                verify=s.tls_verify,
                # A redirect is never followed: requests would resend the credentials to the
                # new address and turn a POST into a GET. The answer reports it instead.
                allow_redirects=False,
                stream=True,
            )
            answer = Answer(response.status_code, response.headers, self._read(response, call))
        except FileChanged as exc:
            error: Exception = InputError(f"formats.{exc.role}", exc.problem)
        except _CONFIGURATION as exc:
            error = InputError("base_url", f"the request cannot be made ({type(exc).__name__}); check the settings")
        except requests.RequestException as exc:
            # With stream=True, request() returns once the status line and headers are in:
            # a failure after that is one of an answer that had begun.
            before_answer = time.perf_counter() - started if response is None else None
            error = transport_error(exc, call.operation, call.ticket, before_answer)
        else:
            log.debug(
                "← %s %s %d in %.0f ms", call.method, route, answer.status, 1000 * (time.perf_counter() - started)
            )
            return answer
        finally:
            if response is not None:
                response.close()
        # Raised outside the handler, so that the requests exception is neither its
        # __cause__ nor its __context__ (its text holds the URL with the query string).
        raise error

    def _read(self, response: requests.Response, call: Call) -> bytes:
        """The answer's bytes, at most ``max_answer_bytes`` of them (attachment contents
        the call did not ask for left out as they arrive)."""
        limit = self.settings.max_answer_bytes
        declared = response.headers.get("Content-Length", "")
        too_large = ServerError(
            f"the answer is larger than max_answer_bytes ({limit})",
            retryable=False,
            operation=call.operation,
            ticket=call.ticket,
            http_status=response.status_code,
        )
        if declared.isascii() and declared.isdigit() and int(declared) > limit:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        dropper = ContentDropper() if call.drop_contents else None
        for chunk in response.iter_content(_READ_CHUNK):
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(dropper.feed(chunk) if dropper is not None else chunk)
        if dropper is not None:
            chunks.append(dropper.close())
        data = b"".join(chunks)
        # Streamed so that the read is bounded; kept on the response as requests would
        # without streaming, so that response hooks and test doubles can still read it.
        response._content = data
        return data
