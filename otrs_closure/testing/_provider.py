"""The provider: one web service over the store, from a raw HTTP request to an :class:`Outcome`.

:class:`GenericInterface` does what Znuny's ``Provider.pm`` does around REST.pm
(:mod:`~otrs_closure.testing._rest`): web service lookup by name or id, the route match
(:mod:`~otrs_closure.testing._routes`), the operation call, JSON faults for failed
operations, Apache's own pages when the Perl dies. Both doors
(:mod:`~otrs_closure.testing._mock`, :mod:`~otrs_closure.testing._server`) share it, and it is
where injected :class:`~otrs_closure.testing._faults.Fault` s fire.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote

from otrs_closure.testing._faults import (
    GENERIC_FAULTSTRING,
    Fault,
    FaultRecord,
    OperationFault,
    PerlDie,
    PlannedFault,
    RequestRecord,
)
from otrs_closure.testing._operations import OPERATION_TYPES, OpContext
from otrs_closure.testing._rest import (
    APACHE_404,
    APACHE_500,
    MAINTENANCE_PAGE,
    RATE_LIMIT_PAGE,
    UNAVAILABLE_PAGE,
    TransportError,
    decode_input,
    encode_json,
    header_credentials,
    parse_query,
)
from otrs_closure.testing._routes import DEFAULT_ROUTES, OperationRoute, match_route
from otrs_closure.testing._store import Store

__all__ = ["RawRequest", "Outcome", "GenericInterface"]


@dataclass
class RawRequest:
    """An HTTP request as a door received it (header names lower-cased)."""

    method: str
    target: str
    headers: dict[str, str]
    remote_addr: str | None = None
    door: str = "mock"


@dataclass
class Outcome:
    """What the door must do: answer, or misbehave (refuse, drop, time out)."""

    action: Literal["respond", "refuse", "drop", "timeout"] = "respond"
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    delay: float = 0.0
    fault: Fault | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        """First value of a response header (case-insensitive)."""
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


class GenericInterface:
    """Provider side of one web service over a :class:`Store` (thread-safe via the store lock)."""

    def __init__(
        self,
        store: Store,
        *,
        webservice: str = "GenericTicketConnectorREST",
        webservice_id: int = 1,
        script_path: str = "/otrs/nph-genericinterface.pl",
        routes: Iterable[OperationRoute] = DEFAULT_ROUTES,
        max_length: int | None = 100_000_000,
        keep_alive: bool = True,
        include_ticket_data: bool = False,
        record_bodies: bool = True,
        max_records: int | None = None,
    ) -> None:
        self.store = store
        self.record_bodies = record_bodies
        self.webservice = webservice
        self.webservice_id = webservice_id
        self.script_path = script_path.rstrip("/")
        self.routes: dict[str, OperationRoute] = {}
        for route in routes:
            self.set_route(route)
        self.max_length = max_length
        self.keep_alive = keep_alive
        self.include_ticket_data = include_ticket_data
        self.requests: deque[RequestRecord] = deque(maxlen=max_records)
        self.faults_fired: deque[FaultRecord] = deque(maxlen=max_records)
        self.planned: list[PlannedFault] = []
        self.internal_errors: list[BaseException] = []
        self._calls: dict[str, int] = {}
        self._lock: threading.RLock = store.lock

    # ----------------------------------------------------------------- config
    def set_route(self, route: OperationRoute) -> None:
        """Add or replace an operation of the web service."""
        if route.type not in OPERATION_TYPES:
            raise ValueError(f"unsupported operation type {route.type!r}")
        self.routes[route.name] = route

    def remove_route(self, name: str) -> None:
        """Remove an operation from the web service."""
        self.routes.pop(name, None)

    def calls(self, operation: str) -> int:
        """Requests routed to ``operation`` so far (faulted ones included)."""
        with self._lock:
            return self._calls.get(operation, 0)

    def plan(self, kind: Fault, operation: str, call: int | None, times: int, params: dict[str, Any]) -> PlannedFault:
        """Schedule a fault for calls ``call .. call+times-1`` (``None``: the next call)."""
        if operation not in self.routes:
            raise ValueError(f"operation {operation!r} is not configured (known: {sorted(self.routes)})")
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            first = self._calls.get(operation, 0) + 1 if call is None else call
            if first < 1:
                raise ValueError("call numbers start at 1")
            planned = PlannedFault(kind=Fault(kind), operation=operation, first_call=first, times=times, params=params)
            self.planned.append(planned)
            return planned

    # ---------------------------------------------------------------- helpers
    def _respond(self, status: int, body: bytes, content_type: str, extra: Iterable[tuple[str, str]] = ()) -> Outcome:
        headers = [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Connection", "Keep-Alive" if self.keep_alive else "close"),
        ]
        headers.extend(extra)
        return Outcome(status=status, headers=headers, body=body)

    def _plain(self, status: int, message: str) -> Outcome:
        return self._respond(status, message.encode("utf-8"), "text/plain; charset=UTF-8")

    def _json(self, data: Any) -> Outcome:
        return self._respond(200, encode_json(data), "application/json; charset=UTF-8")

    def _fault(self, faultstring: str) -> Outcome:
        body = encode_json({"faultcode": "Server", "faultstring": faultstring})
        return self._respond(500, body, "text/plain; charset=UTF-8")

    # ----------------------------------------------------------------- handle
    def handle(
        self,
        request: RawRequest,
        read_body: Callable[[int], bytes],
    ) -> Outcome:
        """Process one request; ``read_body(n)`` is called only when the body is needed."""
        path, _, query_string = request.target.partition("?")
        method = request.method.upper()
        record = RequestRecord(
            operation=None,
            method=method,
            path=path,
            query={},
            body=None,
            status=None,
            fault=None,
            call=0,
            door=request.door,
            headers={k: v for k, v in request.headers.items() if k not in ("authorization", "cookie")},
        )
        try:
            outcome = self._handle(request, method, path, query_string, record, read_body)
        except Exception as exc:  # a crash answers Apache's 500 page, as a dying mod_perl would
            outcome = self._respond(500, APACHE_500.encode(), "text/html; charset=iso-8859-1")
            with self._lock:
                self.internal_errors.append(exc)
        record.status = outcome.status if outcome.action == "respond" else None
        record.fault = outcome.fault
        if not self.record_bodies:
            record.body = None
        with self._lock:
            self.requests.append(record)
        return outcome

    def _handle(
        self,
        request: RawRequest,
        method: str,
        path: str,
        query_string: str,
        record: RequestRecord,
        read_body: Callable[[int], bytes],
    ) -> Outcome:
        if not path.startswith(self.script_path + "/"):
            return self._respond(404, APACHE_404.encode(), "text/html; charset=iso-8859-1")
        ws = re.search(r"WebserviceID/(\d+)", path)
        if ws is not None:
            known = int(ws.group(1)) == self.webservice_id
        else:
            ws = re.search(r"Webservice/([^/?]+)", path)
            known = ws is not None and unquote(ws.group(1)) == self.webservice
        if not known:
            # Provider.pm logs and returns without output: the nph- script under mod_perl sends
            # nothing at all; OTOBO's PSGI stack answers an empty 500.
            if self.store.profile.unknown_webservice == "empty_500":
                return Outcome(status=500, headers=[("Content-Length", "0"), ("Connection", "close")])
            return Outcome(action="drop")
        m = re.match(r".*Webservice(?:ID)?/[^/]+(/.*)$", path, flags=re.DOTALL)
        route_path = m.group(1) if m else path
        query = parse_query(query_string, modern=self.store.profile.query_modern)
        record.query = dict(query)
        matched = match_route(self.routes, method, route_path)
        if matched is None:
            return self._plain(500, f"HTTP::REST Error while determine Operation for request URI '{route_path}'.")
        route, captures = matched
        uri_data: dict[str, Any] = {**query, **captures}
        if self.store.profile.header_credentials:
            uri_data.update(header_credentials(request.headers))
        with self._lock:
            call = self._calls.get(route.name, 0) + 1
            self._calls[route.name] = call
            plan = next((p for p in self.planned if p.covers(route.name, call)), None)
        record.operation = route.name
        record.call = call
        kind = plan.kind if plan else None
        params = dict(plan.params) if plan else {}

        def fired(ticket_id: Any) -> None:
            assert kind is not None
            with self._lock:
                self.faults_fired.append(
                    FaultRecord(
                        kind=kind,
                        operation=route.name,
                        call=call,
                        ticket_id=None if ticket_id in (None, "") else str(ticket_id),
                        door=request.door,
                        params=params,
                    )
                )

        early = self._early_fault(kind, params)
        if early is not None:
            fired(uri_data.get("TicketID") or uri_data.get("TicketNumber"))
            return early

        try:
            profile = self.store.profile
            data = decode_input(
                method,
                request.headers,
                uri_data,
                read_body,
                record,
                self.max_length,
                unreadable=profile.unreadable_body,
                utf8_only=profile.body_utf8_only,
            )
        except TransportError as exc:
            outcome = self._plain(exc.status, exc.message)
            if kind is not None:
                fired(uri_data.get("TicketID") or uri_data.get("TicketNumber"))
                return self._late_fault(kind, params, outcome)
            return outcome

        ticket_ref = None
        if isinstance(data, dict):
            ticket_ref = data.get("TicketNumber") or data.get("TicketID")
        if kind is Fault.SESSION_EXPIRED and isinstance(data, dict):
            with self._lock:
                session = self.store.sessions.get(str(data.get("SessionID")))
                if session is not None:
                    session.created = self.store.clock.now() - self.store.session_max_idle_time - 1
        ctx = OpContext(
            operation=route.name,
            remote_addr=request.remote_addr,
            user_agent=request.headers.get("user-agent", ""),
            include_ticket_data=self.include_ticket_data,
        )
        with self._lock:
            try:
                outcome = self._json(OPERATION_TYPES[route.type](self.store, data, ctx))
            except OperationFault as exc:
                outcome = self._fault(exc.faultstring)
            except PerlDie:
                outcome = self._respond(500, APACHE_500.encode(), "text/html; charset=iso-8859-1")
        if kind is not None:
            fired(ticket_ref)
            return self._late_fault(kind, params, outcome)
        return outcome

    def _early_fault(self, kind: Fault | None, params: dict[str, Any]) -> Outcome | None:
        """Faults that fire before the request is processed (the model stays untouched)."""
        if kind is None:
            return None
        retry_after = str(params.get("retry_after", 1))
        outcome: Outcome | None = None
        if kind is Fault.CONNECTION_REFUSED:
            outcome = Outcome(action="refuse")
        elif kind is Fault.UNAVAILABLE:
            outcome = self._respond(
                503, UNAVAILABLE_PAGE.encode(), "text/html; charset=UTF-8", [("Retry-After", retry_after)]
            )
        elif kind is Fault.RATE_LIMITED:
            outcome = self._respond(
                429, RATE_LIMIT_PAGE.encode(), "text/html; charset=UTF-8", [("Retry-After", retry_after)]
            )
        elif kind is Fault.MAINTENANCE_PAGE:
            outcome = self._respond(200, MAINTENANCE_PAGE.encode(), "text/html; charset=UTF-8")
        elif kind is Fault.TOO_LARGE:
            outcome = self._plain(413, "Request Entity Too Large")
        elif kind is Fault.SERVER_FAULT and not params.get("apply", False):
            outcome = self._fault(GENERIC_FAULTSTRING)
        if outcome is not None:
            outcome.fault = kind
            outcome.params = params
        return outcome

    def _late_fault(self, kind: Fault, params: dict[str, Any], outcome: Outcome) -> Outcome:
        """Faults that fire after the operation ran (it was applied)."""
        if kind is Fault.RESPONSE_LOST:
            outcome = Outcome(action="drop")
        elif kind is Fault.TIMEOUT_AFTER_APPLY:
            outcome = Outcome(action="timeout", delay=float(params.get("delay", 2.0)))
        elif kind is Fault.SERVER_FAULT:
            outcome = self._fault(GENERIC_FAULTSTRING)
        outcome.fault = kind
        outcome.params = params
        return outcome
