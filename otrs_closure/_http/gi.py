"""The GenericInterface operations a closure (and an audit) needs, over one wire: one
shared session (created on demand; on ``*.AuthFail`` one new session and one repeat),
the declared read retries, and what the answers teach about the server — the
TicketSearch route and whether the SessionID may travel in a header — learned on the
first use of each, without writing anything."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from otrs_closure._files import PreparedFile
from otrs_closure._http.answers import check_answer, is_unknown_route
from otrs_closure._http.retry import RetryPolicy
from otrs_closure._http.shaping import Call, SessionCarrier, shape
from otrs_closure._http.wire import Wire
from otrs_closure.errors import (
    AuthenticationError,
    ConnectionDropped,
    OtrsClosureError,
    ReadTimeout,
    ServerError,
    TicketNotFound,
)
from otrs_closure.note import MASK
from otrs_closure.servers import SESSION_HEADER, Route
from otrs_closure.servers._knowledge import ServerKnowledge
from otrs_closure.settings import ClosureSettings

__all__ = ["GenericInterface", "TICKET_GET_PARAMS"]

log = logging.getLogger("otrs_closure.transport")

T = TypeVar("T")

#: TicketGet of everything a closure decides from: every article, attachment metadata.
TICKET_GET_PARAMS: Mapping[str, Any] = {"AllArticles": 1, "Attachments": 1, "GetAttachmentContents": 0}
#: A session younger than this cannot have expired (a server's SessionMaxIdleTime is hours).
_FRESH_SECONDS = 60.0
_SESSION_ID = re.compile(r"[A-Za-z0-9_\-.]{1,200}")
_NO_WEB_SERVICE = (
    "the server answered SessionCreate without the GenericInterface: check base_url, gi_path and "
    "webservice (OTRS_CLOSURE_BASE_URL: the whole web service URL, e.g. "
    "https://host/otrs/nph-genericinterface.pl/Webservice/GenericTicketConnectorREST)"
)


def _is_auth_fail(exc: AuthenticationError) -> bool:
    return (exc.error_code or "").endswith(".AuthFail")


class GenericInterface:
    """Typed GenericInterface operations. Thread-safe."""

    def __init__(self, settings: ClosureSettings, policy: RetryPolicy, wire: Wire, knowledge: ServerKnowledge) -> None:
        self.settings = settings
        self.policy = policy
        self.wire = wire
        self.knowledge = knowledge
        self._session_id: str | None = None
        self._created_at = 0.0
        self._session_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<GenericInterface {self.settings.service_url}>"

    # -- the session ----------------------------------------------------------------------
    @property
    def has_session(self) -> bool:
        return self._session_id is not None

    def _new_session(self) -> str:
        """One SessionCreate attempt. It is always made on behalf of an operation whose own
        retry loop retries it; a loop here as well would multiply the attempts."""
        s = self.settings
        params = {"UserLogin": s.username, "Password": s.password.get_secret_value()}
        call = shape(
            "SessionCreate", self.knowledge.route("SessionCreate"), s.service_url, params, user_agent=s.user_agent
        )
        try:
            answer = self.wire.send(call)
            self.knowledge.hint_keep_alive(answer.headers.get("Connection", "").lower() != "close")
            data = check_answer(answer, "SessionCreate", None)
        except AuthenticationError as exc:
            if not _is_auth_fail(exc):
                raise
            raise AuthenticationError(
                f"{exc.message}: the login or password of agent {s.username} was refused — or, on OTRS 5, "
                "the agent has more sessions active than AgentSessionPerUserLimit (20 within SessionActiveTime, "
                "10 min): reuse one client (otrs-closure batch) rather than one per ticket",
                operation="SessionCreate",
                http_status=exc.http_status,
                error_code=exc.error_code,
                error_message=exc.error_message,
            ) from None
        except ConnectionDropped as exc:
            # Znuny and OTRS close the connection without a word for an unknown web service.
            raise ConnectionDropped(
                f"{exc.message}; if the server is up, {_NO_WEB_SERVICE}", operation="SessionCreate"
            ) from None
        except ServerError as exc:
            if exc.http_status == 500 and not exc.error_message and exc.error_code is None:
                # OTOBO's answer to an unknown web service name: 500, empty.
                raise ServerError(
                    _NO_WEB_SERVICE, retryable=False, operation="SessionCreate", http_status=500
                ) from None
            raise
        sid = data.get("SessionID")
        if not isinstance(sid, str) or not _SESSION_ID.fullmatch(sid):
            raise ServerError("SessionCreate answered without a SessionID it can use", operation="SessionCreate")
        log.info("GenericInterface session created for agent %s", s.username)
        return sid

    def session_id(self, stale: str | None = None) -> str:
        """The shared session id; a new one when there is none or ``stale`` is current."""
        with self._session_lock:
            if self._session_id is None or self._session_id == stale:
                self._session_id = self._new_session()
                self._created_at = time.monotonic()
            return self._session_id

    def connect(self) -> None:
        """Create the session now (retried as a read)."""
        for attempt in self.policy.reads():
            with attempt:
                self.session_id()

    # -- one exchange ------------------------------------------------------------------------
    def _call(
        self,
        operation: str,
        route: Route,
        params: Mapping[str, Any],
        carrier: SessionCarrier | None,
        ticket: str | int | None,
        files: Sequence[PreparedFile],
    ) -> Call:
        s = self.settings
        options = {"session": carrier, "files": files, "ticket": ticket, "user_agent": s.user_agent}
        return shape(operation, route, s.service_url, params, **options)  # type: ignore[arg-type]

    def _send(
        self,
        operation: str,
        route: Route,
        params: Mapping[str, Any],
        carrier: SessionCarrier,
        ticket: str | int | None,
        files: Sequence[PreparedFile],
    ) -> dict[str, Any]:
        call = self._call(operation, route, params, carrier, ticket, files)
        if files:
            self.knowledge.refuse_larger(call.body_length(), "the request", "nothing was sent")
        return check_answer(self.wire.send(call), operation, ticket)

    def _where(self, route: Route) -> str:
        # Only a GET would put the session in the URL; everything else carries it in the body.
        return "header" if route.method == "GET" and self.knowledge.session_header is not False else "param"

    def exchange(
        self,
        operation: str,
        params: Mapping[str, Any],
        *,
        ticket: str | int | None = None,
        files: Sequence[PreparedFile] = (),
        route: Route | None = None,
    ) -> dict[str, Any]:
        """One exchange with the shared session (no retries). On ``*.AuthFail``, one new
        session and one repeat — safe for writes, since servers authenticate first.

        While it is unknown whether the server reads the SessionID from the header, a GET
        sends it there only, and an ``AuthFail`` says either "no header support" or "dead
        session". It is read as the first only when the session was just created and the
        server looks like OTRS 5/6 or OTOBO (its answers close the connection, as their
        example web services do): the same session then goes in the query. Otherwise the
        request is repeated with a new session, in the header again, and only a second
        ``AuthFail`` — a new session cannot have died — sends it in the query."""
        route = route or self.knowledge.route(operation)
        sid = self.session_id()
        probing = route.method == "GET" and self.knowledge.session_header is None
        try:
            return self._learned(
                probing, self._send(operation, route, params, self._carrier(sid, route), ticket, files)
            )
        except AuthenticationError as exc:
            if not _is_auth_fail(exc):
                raise
            error_code = exc.error_code
        if probing and self.knowledge.closes_connections and self._fresh(sid):
            self.knowledge.learn_session_header(
                False, f"a new session in {SESSION_HEADER} answered AuthFail on a server that closes connections"
            )
            try:
                return self._send(operation, route, params, SessionCarrier(sid, "param"), ticket, files)
            except AuthenticationError as exc:
                if not _is_auth_fail(exc):
                    raise
            probing = False
        log.info("%s answered %s: creating a new session and repeating once", operation, error_code)
        sid = self.session_id(stale=sid)
        try:
            return self._learned(
                probing, self._send(operation, route, params, self._carrier(sid, route), ticket, files)
            )
        except AuthenticationError as exc:
            if not (probing and _is_auth_fail(exc)):
                raise
        self.knowledge.learn_session_header(False, f"GETs with a new session in {SESSION_HEADER} answered AuthFail")
        return self._send(operation, route, params, SessionCarrier(sid, "param"), ticket, files)

    def _fresh(self, sid: str) -> bool:
        """Whether ``sid`` is the session created moments ago (it cannot have expired)."""
        with self._session_lock:
            return sid == self._session_id and time.monotonic() - self._created_at < _FRESH_SECONDS

    def _carrier(self, sid: str, route: Route) -> SessionCarrier:
        return SessionCarrier(sid, self._where(route))  # type: ignore[arg-type]

    def _learned(self, probing: bool, data: dict[str, Any]) -> dict[str, Any]:
        if probing:
            self.knowledge.learn_session_header(True, f"a GET with the SessionID only in {SESSION_HEADER} was answered")
        return data

    def read(
        self, operation: str, params: Mapping[str, Any], *, ticket: str | int | None = None, route: Route | None = None
    ) -> dict[str, Any]:
        """An exchange that writes nothing, under the read retries."""
        for attempt in self.policy.reads():
            with attempt:
                return self.exchange(operation, params, ticket=ticket, route=route)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- operations -----------------------------------------------------------------------------
    def search(self, criteria: Mapping[str, Any], *, ticket: str | int | None = None) -> list[int]:
        """TicketSearch → TicketIDs (``{}`` is no match). The first search on a server whose
        route is not known tries each shipped route, likeliest first."""
        if not self.knowledge.search_known:
            for attempt in self.policy.reads():  # the login's answer orders the candidates
                with attempt:
                    self.session_id()
        candidates = self.knowledge.search_candidates()
        first: OtrsClosureError | None = None
        for i, route in enumerate(candidates):
            try:
                data = self.read("TicketSearch", criteria, ticket=ticket, route=route)
            except OtrsClosureError as exc:
                # A route the server does not have answers "Error while determine Operation";
                # a server that cannot even say so (a crash, no answer) may still have the
                # other route: while it is unknown, a search — a read — tries it too.
                answered_badly = isinstance(exc, (ConnectionDropped, ReadTimeout, ServerError))
                probing = len(candidates) > 1 and exc.operation == "TicketSearch" and answered_badly
                if (is_unknown_route(exc) or probing) and i + 1 < len(candidates):
                    first = first or exc
                    continue
                raise (first if first is not None and not is_unknown_route(first) else exc) from None
            if len(candidates) > 1 or not self.knowledge.search_known:
                self.knowledge.learn_search_route(route, f"{route} answered TicketSearch")
            return _ticket_ids(data.get("TicketID"), ticket)
        raise AssertionError("unreachable")  # pragma: no cover

    def search_number(self, number: str) -> int:
        """TicketSearch by exact number → TicketID; TicketNotFound when none (or several) match."""
        ids = self.search({"TicketNumber": number}, ticket=number)
        if not ids:
            raise TicketNotFound(f"no ticket with number {number}", operation="TicketSearch", ticket=number)
        if len(ids) > 1:
            raise TicketNotFound(
                f"ticket number {number} matched {len(ids)} tickets", operation="TicketSearch", ticket=number
            )
        return ids[0]

    def get_tickets(
        self, ticket_ids: Sequence[int], params: Mapping[str, Any] = TICKET_GET_PARAMS
    ) -> list[dict[str, Any]]:
        """TicketGet of one or several TicketIDs (comma-separated, as every generation
        accepts) → the raw ticket objects, in the server's order."""
        ref: str | int = ticket_ids[0] if len(ticket_ids) == 1 else ",".join(str(t) for t in ticket_ids)
        data = self.read("TicketGet", {"TicketID": ref, **params}, ticket=ref)
        tickets = data.get("Ticket")
        if not isinstance(tickets, list) or not tickets or not all(isinstance(t, dict) for t in tickets):
            raise ServerError("TicketGet answered without a ticket", operation="TicketGet", ticket=ref)
        return tickets

    def update(self, ticket_id: int, document: Mapping[str, Any], files: Sequence[PreparedFile] = ()) -> dict[str, Any]:
        """One TicketUpdate attempt (the caller decides about retries and re-reads)."""
        return self.exchange("TicketUpdate", {"TicketID": ticket_id, **document}, ticket=ticket_id, files=files)

    def planned(
        self,
        operation: str,
        params: Mapping[str, Any],
        *,
        ticket: str | int | None = None,
        files: Sequence[PreparedFile] = (),
    ) -> Call:
        """The call :meth:`exchange` would send now, with the session masked (for plans)."""
        route = self.knowledge.route(operation)
        carrier = None if operation == "SessionCreate" else SessionCarrier(MASK, self._where(route))  # type: ignore[arg-type]
        return self._call(operation, route, params, carrier, ticket, files)


def _ticket_ids(value: Any, ticket: str | int | None) -> list[int]:
    """TicketSearch's TicketID list (strings or numbers); anything else is a bad answer."""
    if value in (None, "", []):
        return []
    if not isinstance(value, list):
        value = [value]
    ids: list[int] = []
    for x in value:
        text = str(x)
        if not (text.isascii() and text.isdigit()):
            raise ServerError(
                "TicketSearch answered a TicketID that is not a number", operation="TicketSearch", ticket=ticket
            )
        ids.append(int(text))
    return ids
