"""The GenericInterface transport: the only module that imports pyotrs.

pyotrs supplies the web service configuration format (operation → method, route) and
the SessionCreate / TicketSearch request shapes. Its known defects are neutralised here:

* no default timeout → every request carries (connect, read) timeouts from settings;
* a URL builder that handles only routes ending in ``:TicketID`` (for any other it
  reuses the previous request's URL) → URLs are built here (:func:`route_url`);
* ``Article.validate()`` silently fills a blank body with "API created Article Body"
  → TicketUpdate/TicketGet payloads are built here, never through pyotrs's Article;
* the ErrorCode only inside an exception's message text → answers are parsed here and
  mapped through :func:`otrs_closure.errors.error_from_answer`;
* ``Attachment.to_dct(content=False)`` mutates the object → pyotrs attachments are
  never used; files are streamed by :class:`otrs_closure.files.StreamingJSONBody`;
* a stateful client (last result stored on itself) that is not thread-safe, and a
  new connection per request → a pool of pyotrs clients, each with its own
  ``requests.Session`` (keep-alive pool), each lent to one thread per exchange, all
  sharing one GenericInterface session.

Logs name the operation, method, route and status; never query strings, bodies,
passwords or session ids. Neither do raised errors: a :class:`TransportError` keeps only
the operating system's words for the failure, not the requests exception (whose text
holds the URL with its query string).
"""

from __future__ import annotations

import email.utils
import json
import logging
import os
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pyotrs
import requests
from urllib3.exceptions import NameResolutionError, NewConnectionError

from otrs_closure.errors import (
    AuthenticationError,
    RequestTooLarge,
    ServerError,
    TicketNotFound,
    TransportError,
    error_from_answer,
)
from otrs_closure.files import PreparedFile, StreamingJSONBody
from otrs_closure.models import ArticleInfo, AttachmentInfo, TicketSnapshot
from otrs_closure.retry import RetryPolicy
from otrs_closure.settings import ClosureSettings

__all__ = ["GenericInterfaceTransport"]

log = logging.getLogger("otrs_closure.transport")

T = TypeVar("T")

# pyotrs's "Result" key per operation (what a successful answer carries).
_RESULT_KEYS = {
    "SessionCreate": "SessionID",
    "SessionGet": "SessionData",
    "TicketCreate": "TicketID",
    "TicketGet": "Ticket",
    "TicketSearch": "TicketID",
    "TicketUpdate": "TicketID",
    "TicketHistoryGet": "TicketHistory",
}

# Answers of Znuny's REST transport that a repeat cannot change (configuration errors).
# Matched anywhere in the first line: Znuny prefixes some with "HTTP::REST " (67).
_DETERMINISTIC_500 = (
    "Error while determine Operation",
    "Error while decoding request content",
    "Unsupported request content structure",
    "Could not read input data",
)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


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


def _transport_error(exc: requests.RequestException, operation: str, ticket: str | int | None) -> TransportError:
    """Turn a requests failure into a TransportError that says whether it may have arrived."""
    chain = _chain(exc)
    if isinstance(exc, requests.exceptions.SSLError):
        kind, reached = "tls", False
    elif isinstance(exc, requests.exceptions.ConnectTimeout):
        kind, reached = "connect", False
    elif any(isinstance(c, (NewConnectionError, NameResolutionError, ConnectionRefusedError)) for c in chain):
        kind, reached = "connect", False
    elif isinstance(exc, requests.exceptions.Timeout):
        kind, reached = "timeout", True
    elif isinstance(exc, requests.exceptions.ConnectionError):
        kind, reached = "dropped", True
    else:
        kind, reached = "other", True
    what = {
        "tls": "TLS handshake or certificate verification failed",
        "connect": "could not connect to the server",
        "timeout": "no answer from the server in time",
        "dropped": "the connection was dropped before an answer arrived",
        "other": "the HTTP exchange failed",
    }[kind]
    reason = _reason(chain)
    return TransportError(
        f"{what} ({type(exc).__name__}{': ' + reason if reason else ''})",
        may_have_reached_server=reached,
        kind=kind,
        operation=operation,
        ticket=ticket,
    )


def _reason(chain: list[object]) -> str:
    """The operating system's or the TLS library's own words for a failure ("[Errno 111]
    Connection refused", "certificate verify failed…"). Only those: the messages of
    requests and urllib3 hold the request's URL, whose query carries the SessionID."""
    for cur in reversed(chain):
        if isinstance(cur, OSError) and type(cur).__module__ in ("builtins", "socket", "ssl"):
            return str(cur)[:200]
    return ""


def check_answer(response: requests.Response, operation: str, ticket: str | int | None) -> dict[str, Any]:
    """Parse one GenericInterface answer or raise the error it stands for."""
    status = response.status_code
    retry_after = _retry_after(response.headers.get("Retry-After"))
    ctx: dict[str, Any] = {"operation": operation, "ticket": ticket, "http_status": status}
    if status == 413:
        raise RequestTooLarge("the request exceeds the web service's MaxLength", **ctx)
    text = response.text
    data: Any = None
    try:
        data = json.loads(text) if text else None
    except ValueError:
        data = None
    if status != 200:
        if isinstance(data, dict) and "faultstring" in data:
            fault = str(data.get("faultstring"))
            raise ServerError(
                f"{operation} failed on the server: {fault}",
                retry_after=retry_after,
                error_code=str(data.get("faultcode") or "") or None,
                error_message=fault,
                **ctx,
            )
        first_line = text.strip().splitlines()[0][:200] if text.strip() else ""
        plain = "text/plain" in response.headers.get("Content-Type", "")
        deterministic = status == 500 and plain and any(m in first_line for m in _DETERMINISTIC_500)
        if 300 <= status < 400:
            where = urlsplit(response.headers.get("Location", ""))
            target = f"{where.scheme}://{where.netloc}{where.path}" if where.netloc else where.path or "elsewhere"
            raise ServerError(
                f"HTTP {status}: the server redirects to {target}; set base_url (and gi_path) to the final address",
                retryable=False,
                **ctx,
            )
        if status in (401, 407):
            raise AuthenticationError(f"HTTP {status} from the server or a proxy in front of it", **ctx)
        if status == 404:
            raise ServerError(
                "HTTP 404: check base_url, gi_path and webservice", retryable=False, error_message=first_line, **ctx
            )
        raise ServerError(
            f"HTTP {status}" + (f": {first_line}" if plain and first_line else ""),
            retry_after=retry_after,
            retryable=not deterministic and (status >= 500 or status == 429 or status == 408),
            error_message=first_line if plain else None,
            **ctx,
        )
    if not isinstance(data, dict):
        kind = response.headers.get("Content-Type", "unknown content type")
        raise ServerError(
            f"the answer is not the GenericInterface's JSON ({kind}); a proxy or maintenance page?",
            retry_after=retry_after,
            **ctx,
        )
    error = data.get("Error")
    if isinstance(error, dict):
        raise error_from_answer(
            operation=operation,
            ticket=ticket,
            http_status=status,
            error_code=str(error.get("ErrorCode", "")),
            error_message=str(error.get("ErrorMessage", "")),
        )
    return data


class _PyOtrsClient(pyotrs.Client):  # type: ignore[misc]
    """pyotrs's client, sending through our ``requests.Session`` with timeouts and
    streamed bodies, and answering with our typed errors instead of pyotrs's."""

    def __init__(self, settings: ClosureSettings, http: requests.Session, on_send: Callable[[str], None]) -> None:
        config = {
            "Name": "",
            "Config": {
                op: {"RequestMethod": r.method, "Route": r.path, "Result": _RESULT_KEYS.get(op, op)}
                for op, r in settings.routes.items()
            },
        }
        gi_path = settings.service_url[len(settings.base_url) :]
        super().__init__(
            baseurl=settings.base_url,
            username=settings.username,
            password=settings.password.get_secret_value(),
            # pyotrs wants a path for its (unused here) on-disk session store.
            session_id_file=os.path.join(tempfile.gettempdir(), ".otrs_closure_unused_session"),
            webservice_config_ticket=config,
            webservice_path=gi_path,
            https_verify=settings.verify_tls,
            ca_cert_bundle=str(settings.ca_bundle) if settings.ca_bundle else None,
            use_legacy_sessions=True,  # Znuny: SessionCreate / SessionID
            request_timeout=(settings.connect_timeout, settings.read_timeout),
            user_agent=settings.user_agent,
        )
        self._settings = settings
        self._http = http
        self._on_send = on_send
        self.ticket_ref: str | int | None = None

    def __repr__(self) -> str:
        return f"<_PyOtrsClient {self.baseurl}>"

    def _send_request(self, payload: Any = None, data_id: Any = None) -> requests.Response:
        operation = str(self.operation)
        route = self.ws_config[operation]
        # Not pyotrs's _build_url: it handles only a route that ends in :TicketID, and for
        # any other (e.g. /Ticket/:TicketID/Update) silently reuses the previous URL.
        url = route_url(self._settings, operation, data_id)
        method = route["RequestMethod"]
        headers = {"User-Agent": self.user_agent}
        started = time.perf_counter()
        self._on_send(operation)
        log.debug("→ %s %s (%s)", method, route["Route"], operation)
        kwargs: dict[str, Any] = {
            "headers": headers,
            "timeout": self.request_timeout,
            "verify": self.https_verify,
            "proxies": None,
            # A redirect is never followed: requests would resend the credentials to the new
            # address and turn a POST into a GET. check_answer reports it instead.
            "allow_redirects": False,
        }
        if method == "GET":
            kwargs["params"] = payload
        else:
            headers["Content-Type"] = "application/json; charset=utf-8"
            if isinstance(payload, StreamingJSONBody):
                kwargs["data"] = payload
            else:
                kwargs["data"] = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        response = self._http.request(method, url, **kwargs)
        log.debug(
            "← %s %s %d in %.0f ms",
            method,
            route["Route"],
            response.status_code,
            1000 * (time.perf_counter() - started),
        )
        return response

    def _parse_and_validate_response(self, response: requests.Response) -> bool:
        operation = str(self.operation)
        data = check_answer(response, operation, self.ticket_ref)
        self.result_json = data
        result: Any = data.get(_RESULT_KEYS.get(operation, operation))
        if operation == "TicketSearch":
            result = list(result or [])  # "{}" means no match
        self.result = result
        return True


class GenericInterfaceTransport:
    """Typed GenericInterface operations with one reused session, the one re-login on
    ``*.AuthFail``, and the declared read retries. Thread-safe."""

    def __init__(
        self,
        settings: ClosureSettings,
        policy: RetryPolicy,
        session_factory: Callable[[], requests.Session] = requests.Session,
    ) -> None:
        self.settings = settings
        self.policy = policy
        self._session_factory = session_factory
        # pyotrs clients (each with its own requests.Session, i.e. keep-alive pool) are
        # stateful, so each is used by one thread at a time: checked out, then returned.
        # The pool grows to the largest concurrency seen and is reused by later calls.
        self._idle: list[_PyOtrsClient] = []
        self._clients: list[_PyOtrsClient] = []
        self._pool_lock = threading.Lock()
        self._session_id: str | None = None
        self._session_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self.requests_sent: Counter[str] = Counter()

    def __repr__(self) -> str:
        return f"<GenericInterfaceTransport {self.settings.service_url}>"

    # -- plumbing --------------------------------------------------------------------
    def _count(self, operation: str) -> None:
        with self._count_lock:
            self.requests_sent[operation] += 1

    @contextmanager
    def _checkout(self) -> Iterator[_PyOtrsClient]:
        """A pyotrs client for this thread's exclusive use during one exchange."""
        with self._pool_lock:
            client = self._idle.pop() if self._idle else None
        if client is None:
            client = _PyOtrsClient(self.settings, self._session_factory(), self._count)
            with self._pool_lock:
                self._clients.append(client)
        try:
            yield client
        finally:
            with self._pool_lock:
                self._idle.append(client)

    @property
    def pool_size(self) -> int:
        """How many pyotrs clients (and connection pools) exist."""
        with self._pool_lock:
            return len(self._clients)

    def close(self) -> None:
        """Close every pooled connection (new ones are opened on demand)."""
        with self._pool_lock:
            for c in self._clients:
                c._http.close()

    def _guard(self, operation: str, ticket: str | int | None, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except requests.RequestException as exc:
            error = _transport_error(exc, operation, ticket)
        # Raised outside the handler, so that the requests exception is neither its
        # __cause__ nor its __context__: its text holds the URL with the query string
        # (the SessionID of every GET).
        raise error

    def _new_session(self, client: _PyOtrsClient) -> str:
        """One SessionCreate attempt. It is always made on behalf of an operation whose own
        retry loop (reads, the preflight, or a write step) retries it; a loop here as well
        would multiply the attempts (retry_attempts squared)."""
        client.operation = "SessionCreate"
        client.ticket_ref = None
        client.result_json = {}
        try:
            self._guard("SessionCreate", None, client.session_create)
        except KeyError:  # pyotrs reads result_json["SessionID"] unchecked
            pass
        sid = client.result_json.get("SessionID") if isinstance(client.result_json, dict) else None
        if not sid:
            raise ServerError("SessionCreate answered without a SessionID", operation="SessionCreate")
        log.info("GenericInterface session created for agent %s", self.settings.username)
        return str(sid)

    def session_id(self, client: _PyOtrsClient, stale: str | None = None) -> str:
        """The shared session id; a new one (created through ``client``) when there is
        none or ``stale`` is current."""
        with self._session_lock:
            if self._session_id is None or self._session_id == stale:
                self._session_id = self._new_session(client)
            return self._session_id

    def _authed(self, operation: str, ticket: str | int | None, fn: Callable[[_PyOtrsClient], T]) -> T:
        """One exchange with the session; on ``*.AuthFail`` one new session and one repeat.
        AuthFail is answered before Znuny writes anything, so repeating a write is safe."""
        with self._checkout() as client:
            sid = self.session_id(client)
            client.ticket_ref = ticket  # after session_id(): a SessionCreate resets it
            client.session_id_store.value = sid
            try:
                return self._guard(operation, ticket, lambda: fn(client))
            except AuthenticationError as exc:
                if not (exc.error_code or "").endswith(".AuthFail"):
                    raise
                log.info("%s answered %s: creating a new session and repeating once", operation, exc.error_code)
                client.session_id_store.value = self.session_id(client, stale=sid)
                client.ticket_ref = ticket
                return self._guard(operation, ticket, lambda: fn(client))

    def _read(self, operation: str, ticket: str | int | None, fn: Callable[[_PyOtrsClient], T]) -> T:
        for attempt in self.policy.reads():
            with attempt:
                return self._authed(operation, ticket, fn)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- operations --------------------------------------------------------------------
    def search_ticket_number(self, number: str) -> int:
        """TicketSearch by exact number → TicketID; TicketNotFound when the answer is ``{}``."""

        def run(c: _PyOtrsClient) -> list[str]:
            c.operation = "TicketSearch"
            return list(c.ticket_search(TicketNumber=number))

        ids = self._read("TicketSearch", number, run)
        if not ids:
            raise TicketNotFound(f"no ticket with number {number}", operation="TicketSearch", ticket=number)
        if len(ids) > 1:
            raise TicketNotFound(
                f"ticket number {number} matched {len(ids)} tickets", operation="TicketSearch", ticket=number
            )
        return int(ids[0])

    def get_ticket(self, ticket_id: int) -> TicketSnapshot:
        """TicketGet with every article and attachment metadata only (no contents)."""

        def run(c: _PyOtrsClient) -> dict[str, Any]:
            c.operation = "TicketGet"
            params = {
                "SessionID": c.session_id_store.value,
                "AllArticles": 1,
                "Attachments": 1,
                "GetAttachmentContents": 0,
            }
            if ":TicketID" not in self.settings.routes["TicketGet"].path:
                params["TicketID"] = ticket_id
            c._parse_and_validate_response(c._send_request(params, ticket_id))
            return dict(c.result_json)

        data = self._read("TicketGet", ticket_id, run)
        return parse_ticket(data, ticket_id)

    def update_ticket(self, ticket_id: int, document: dict[str, Any], files: list[PreparedFile]) -> dict[str, Any]:
        """One TicketUpdate attempt (the caller decides about retries). ``document`` holds
        the request without credentials; file contents are streamed in at placeholders."""

        def run(c: _PyOtrsClient) -> dict[str, Any]:
            c.operation = "TicketUpdate"
            body: dict[str, Any] = {"SessionID": c.session_id_store.value}
            if ":TicketID" not in self.settings.routes["TicketUpdate"].path:
                body["TicketID"] = ticket_id
            body.update(document)
            payload: Any = StreamingJSONBody(body, files) if files else body
            c._parse_and_validate_response(c._send_request(payload, ticket_id))
            return dict(c.result_json)

        return self._authed("TicketUpdate", ticket_id, run)

    def request_size(self, ticket_id: int, document: dict[str, Any], files: list[PreparedFile]) -> int:
        """The exact byte size of the TicketUpdate body that :meth:`update_ticket` would send."""
        body: dict[str, Any] = {"SessionID": "x" * 32}
        if ":TicketID" not in self.settings.routes["TicketUpdate"].path:
            body["TicketID"] = ticket_id
        body.update(document)
        return len(StreamingJSONBody(body, files))

    def url_for(self, operation: str, ticket_id: int | str | None = None) -> str:
        """The URL of an operation (route parameters filled in)."""
        return route_url(self.settings, operation, ticket_id)


def route_url(settings: ClosureSettings, operation: str, ticket_id: int | str | None = None) -> str:
    """The URL of an operation: the service URL and its route, ``:TicketID`` filled in
    wherever it stands in the route."""
    route = settings.routes[operation].path
    if ticket_id is not None:
        route = route.replace(":TicketID", str(ticket_id))
    return settings.service_url + route


def parse_ticket(data: dict[str, Any], ticket_id: int | str) -> TicketSnapshot:
    """A TicketGet answer → :class:`TicketSnapshot` (ids arrive as numbers or strings)."""
    tickets = data.get("Ticket")
    if not isinstance(tickets, list) or not tickets or not isinstance(tickets[0], dict):
        raise ServerError("TicketGet answered without a ticket", operation="TicketGet", ticket=ticket_id)
    t = tickets[0]
    articles = []
    for a in t.get("Article") or []:
        atts = tuple(
            AttachmentInfo(
                filename=str(x.get("Filename", "")),
                size=int(x.get("FilesizeRaw") or 0),
                content_type=str(x.get("ContentType", "")),
            )
            for x in (a.get("Attachment") or [])
        )
        articles.append(
            ArticleInfo(
                article_id=int(a["ArticleID"]),
                subject=str(a.get("Subject") or ""),
                body=str(a.get("Body") or ""),
                sender_type=str(a.get("SenderType") or ""),
                is_visible_for_customer=str(a.get("IsVisibleForCustomer", "0")) == "1",
                create_time=str(a.get("CreateTime") or ""),
                attachments=atts,
            )
        )
    return TicketSnapshot(
        ticket_id=int(t["TicketID"]),
        ticket_number=str(t.get("TicketNumber", "")),
        state=str(t.get("State", "")),
        state_type=str(t.get("StateType", "")),
        owner=str(t.get("Owner", "")),
        lock=str(t.get("Lock", "")),
        articles=tuple(sorted(articles, key=lambda x: x.article_id)),
    )
