"""ClosureClient: the library's entry point. Holds the settings, one transport (one
GenericInterface session, keep-alive connection pools lent per exchange) and runs closures."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import requests

from otrs_closure.closure import (
    Closure,
    ClosurePlan,
    PlannedRequest,
    applied,
    assess,
    check_preflight_answer,
    fresh_assessment,
    next_write,
    preflight_document,
    prepare,
)
from otrs_closure.errors import InputError, InvalidParameter, ServerError
from otrs_closure.models import (
    ClosureReceipt,
    ClosureSteps,
    FormatFiles,
    Incident,
    ServiceRequest,
    StepStatus,
    UserOnboarding,
    check_ticket_ref,
)
from otrs_closure.note import MASK, NoteTemplates
from otrs_closure.retry import RetryPolicy
from otrs_closure.settings import ClosureSettings
from otrs_closure.transport import GenericInterfaceTransport

if TYPE_CHECKING:  # pragma: no cover
    from otrs_closure.batch import BatchItem, BatchResult

__all__ = ["ClosureClient"]

log = logging.getLogger("otrs_closure")


class ClosureClient:
    """Closes Service Desk tickets as the agent manual prescribes.

    >>> client = ClosureClient(base_url="https://mesa.example.gob.mx", username="jperez",
    ...                        password="…", owner_login="agente.mesa")  # doctest: +SKIP
    >>> client.close(ticket_number="2026112810000011",
    ...              attention=ServiceRequest(description="…"))  # doctest: +SKIP

    Thread-safe: one client may run closures of different tickets from many threads;
    closures of the same ticket through one client are serialised, and, with
    ``lock_dir``, across the processes of one host that share that directory.
    """

    def __init__(
        self,
        base_url: str | None = None,
        username: str | None = None,
        password: str | None = None,
        owner_login: str | None = None,
        webservice: str | None = None,
        *,
        settings: ClosureSettings | None = None,
        templates: NoteTemplates | None = None,
        session_factory: Callable[[], requests.Session] = requests.Session,
        sleep: Callable[[float], None] = time.sleep,
        **options: Any,
    ) -> None:
        if settings is None:
            given = {
                "base_url": base_url,
                "username": username,
                "password": password,
                "owner_login": owner_login,
                "webservice": webservice,
                **options,
            }
            settings = ClosureSettings.build(**{k: v for k, v in given.items() if v is not None})
        elif any(v is not None for v in (base_url, username, password, owner_login, webservice)) or options:
            raise InputError("settings", "pass either settings= or individual values, not both")
        self.settings = settings
        self.templates = templates or NoteTemplates()
        self.policy = RetryPolicy.from_settings(settings, sleep=sleep)
        self.transport = GenericInterfaceTransport(settings, self.policy, session_factory)
        self._preflight_ok = False
        self._preflight_lock = threading.Lock()
        self._locks: dict[int, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._hooks: dict[str, Callable[[], None]] = {}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> ClosureClient:
        """A client configured from ``OTRS_CLOSURE_*`` variables (see :class:`ClosureSettings`)."""
        extra = {k: overrides.pop(k) for k in ("templates", "session_factory", "sleep") if k in overrides}
        return cls(settings=ClosureSettings.from_env(environ, **overrides), **extra)

    def __repr__(self) -> str:
        s = self.settings
        return (
            f"ClosureClient(base_url={s.base_url!r}, username={s.username!r}, "
            f"password={MASK!r}, owner_login={s.owner_login!r})"
        )

    def __enter__(self) -> ClosureClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def shutdown(self) -> None:
        """Close pooled connections (the client stays usable; new ones are opened on demand)."""
        self.transport.close()

    @property
    def requests_sent(self) -> dict[str, int]:
        """Requests sent so far, per GenericInterface operation."""
        return dict(self.transport.requests_sent)

    # -- internals ------------------------------------------------------------------------
    def _ticket_lock(self, ticket: int) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(ticket, threading.Lock())

    @contextmanager
    def _ticket_guard(self, ticket: int) -> Iterator[None]:
        """Serialise closures of one ticket: across this client's threads always, and
        across processes on this host when ``lock_dir`` is set (an exclusive ``flock``
        on a per-server, per-ticket file, released by the kernel when the holder exits
        or is killed). Closures of other tickets never wait."""
        with self._ticket_lock(ticket):
            if self.settings.lock_dir is None:
                yield
                return
            import fcntl

            server = hashlib.sha256(self.settings.service_url.encode()).hexdigest()[:12]
            path = self.settings.lock_dir / f"otrs-closure-{server}-{ticket}.lock"
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # releases the flock

    def _preflight(self, ticket: int) -> None:
        """Once per client: make the server reject a TicketUpdate that names the attended
        state and the owner, and read from its error whether both exist. Nothing is written."""
        if not self.settings.preflight or self._preflight_ok:
            return
        with self._preflight_lock:
            if self._preflight_ok:
                return
            doc = preflight_document(self.settings)
            try:
                for attempt in self.policy.reads():
                    with attempt:
                        self.transport.update_ticket(ticket, doc, [])
            except InvalidParameter as exc:
                check_preflight_answer(exc, self.settings)
                self._preflight_ok = True
                return
            raise ServerError(
                "the server accepted an article without Body: preflight cannot vouch for the "
                "state and owner (set preflight=False for this server)",
                operation="TicketUpdate",
                ticket=ticket,
                retryable=False,
            )

    # -- public operations ------------------------------------------------------------------
    def connect(self) -> None:
        """Log in now (SessionCreate), so that a wrong URL, web service or password is
        found before any ticket is touched; later calls reuse the session."""
        with self.transport._checkout() as c:
            self.transport.session_id(c)

    def close(
        self,
        *,
        attention: ServiceRequest | UserOnboarding | Incident,
        ticket_number: str | None = None,
        ticket_id: int | None = None,
        formats: FormatFiles | None = None,
        reclose: bool = False,
    ) -> ClosureReceipt:
        """Close one ticket: the Atendido note (+ format files), then the owner change.
        Steps the ticket already shows are skipped, so calling again is safe.

        Raises :class:`InputError` before any request for bad input,
        :class:`ClosureConflict` when a different closure note is present, and
        :class:`PartialClosure` (with a receipt) when part of the closure was (or may have
        been) written and the rest was not.
        """
        check_ticket_ref(ticket_number, ticket_id)
        prepared = prepare(self.settings, self.templates, attention, formats)
        number = ticket_number.strip() if ticket_number else None
        closure = Closure(
            self.settings, self.transport, prepared, reclose=reclose, preflight=self._preflight, hooks=self._hooks
        )
        if ticket_id is not None:
            with self._ticket_guard(ticket_id):
                receipt = closure.run(ticket_id=ticket_id)
        else:
            tid = self.transport.search_ticket_number(number or "")
            with self._ticket_guard(tid):
                receipt = closure.run(ticket_id=tid)
            receipt = receipt.model_copy(update={"ticket_number": receipt.ticket_number or number})
        log.info(
            "ticket %s closed (closure %s): note %s, owner %s, %d write(s)",
            receipt.ticket_number or receipt.ticket_id,
            receipt.closure_id,
            receipt.steps.note.value,
            receipt.steps.owner.value,
            receipt.writes_sent,
        )
        return receipt

    def plan(
        self,
        *,
        attention: ServiceRequest | UserOnboarding | Incident,
        ticket_number: str | None = None,
        ticket_id: int | None = None,
        formats: FormatFiles | None = None,
        reclose: bool = False,
        offline: bool = False,
    ) -> ClosurePlan:
        """The exact requests a :meth:`close` would send now, secrets masked, without
        writing. Reads the ticket to know which steps are already done, unless
        ``offline`` (then a ticket with none of the steps is assumed)."""
        check_ticket_ref(ticket_number, ticket_id)
        prepared = prepare(self.settings, self.templates, attention, formats)
        s = self.settings
        t = self.transport
        reqs: list[PlannedRequest] = []
        masked_sid = {"SessionID": MASK}

        def request(op: str, params: dict[str, Any], tid: int | str | None = None) -> PlannedRequest:
            # As the transport sends it: a GET route carries the parameters in the query,
            # any other in the JSON body; a route without :TicketID gets TicketID in them.
            route = s.routes[op]
            if tid is not None and ":TicketID" not in route.path:
                params = {**params, "TicketID": tid}
            where = "query" if route.method == "GET" else "body"
            return PlannedRequest(op, route.method, t.url_for(op, tid), **{where: params})

        def get(tid: int | str) -> PlannedRequest:
            return request(
                "TicketGet", {**masked_sid, "AllArticles": 1, "Attachments": 1, "GetAttachmentContents": 0}, tid
            )

        def update(tid: int | str, doc: dict[str, Any], files: Any = ()) -> PlannedRequest:
            body = {**masked_sid, **doc}
            if "Attachment" in body:
                body["Attachment"] = [
                    {**att, "Content": f.describe()} for att, f in zip(body["Attachment"], files, strict=True)
                ]
            return request("TicketUpdate", body, tid)

        if t._session_id is None:
            reqs.append(request("SessionCreate", {"UserLogin": s.username, "Password": MASK}))
        tid: int | str = ticket_id if ticket_id is not None else ":TicketID"
        if ticket_number is not None:
            reqs.append(request("TicketSearch", {**masked_sid, "TicketNumber": ticket_number.strip()}))
            if not offline:
                tid = t.search_ticket_number(ticket_number.strip())
        reqs.append(get(tid))
        steps = ClosureSteps(attachments=StepStatus.PENDING if prepared.files else StepStatus.NOT_APPLICABLE)
        if offline:
            a = None
        else:
            assert isinstance(tid, int)
            snap = t.get_ticket(tid)
            a = assess(snap, s, prepared)
            Closure(s, t, prepared, reclose=reclose)._check_conflict(a, tid)
            steps = ClosureSteps(**Closure(s, t, prepared)._initial_steps(a))
            if a.complete:
                return ClosurePlan(
                    tid if isinstance(tid, int) else None, ticket_number, prepared.closure_id, tuple(reqs), steps
                )
        if s.preflight and not self._preflight_ok:
            reqs.append(update(tid, preflight_document(s)))
        view = a if a is not None else fresh_assessment(prepared)
        while (w := next_write(s, prepared, view, masked=True)) is not None:
            reqs.append(update(tid, w.document, w.files))
            view = applied(view, w, {})
        reqs.append(get(tid))
        return ClosurePlan(
            tid if isinstance(tid, int) else None, ticket_number, prepared.closure_id, tuple(reqs), steps
        )

    def close_many(
        self, items: Iterable[BatchItem], *, workers: int = 4, rate_limit: float | None = None
    ) -> Iterator[BatchResult]:
        """Close many tickets with a bounded pool of threads; yields one result per item,
        in completion order. A failure in one item does not stop the others."""
        from otrs_closure.batch import run_batch

        return run_batch(self, items, workers=workers, rate_limit=rate_limit)
