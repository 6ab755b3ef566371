"""ClosureClient: the library's entry point. Holds the settings, one transport (one
keep-alive connection pool, one GenericInterface session), what it learned of its
server, and runs closures."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import requests

from otrs_closure._http.gi import GenericInterface
from otrs_closure._http.retry import RetryPolicy
from otrs_closure._http.wire import Wire
from otrs_closure._locks import TicketLocks
from otrs_closure._workflow.plan import build_plan
from otrs_closure._workflow.preflight import Preflight
from otrs_closure._workflow.prepare import PreparedClosure, prepare
from otrs_closure._workflow.run import Closure
from otrs_closure.errors import InputError
from otrs_closure.models import Attention, FormatFiles, check_ticket_ref
from otrs_closure.note import MASK, NoteTemplates
from otrs_closure.results import ClosurePlan, ClosureReceipt
from otrs_closure.servers import ServerInfo
from otrs_closure.servers._knowledge import ServerKnowledge
from otrs_closure.settings import ClosureSettings, SettingsWarning

if TYPE_CHECKING:  # pragma: no cover
    import pyotrs

    from otrs_closure.audit import AuditReport
    from otrs_closure.batch import BatchItem, BatchResult

__all__ = ["ClosureClient"]

log = logging.getLogger("otrs_closure")


class ClosureClient:
    """Closes Service Desk tickets as the agent manual prescribes.

    >>> client = ClosureClient(base_url="https://mesa.example.gob.mx/otrs/nph-genericinterface.pl/"
    ...                        "Webservice/GenericTicketConnectorREST", username="jperez",
    ...                        password="…", owner_login="agente.mesa")  # doctest: +SKIP
    >>> client.close(ticket_number="2026112810000011",
    ...              attention=ServiceRequest(description="…"))  # doctest: +SKIP

    Works on OTRS 5, OTRS 6, OTOBO, Znuny 6.5 and Znuny 7 with no more than that: what
    differs between them is learned by reading (``client.server``) or set in the settings.

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
        if settings.plain_http_to_remote:
            message = (
                "base_url is plain http:// to another host: the agent's password and every note (onboarding "
                "passwords included) travel unencrypted; use https://"
            )
            warnings.warn(message, SettingsWarning, stacklevel=2)
            log.warning("%s", message)
        self.settings = settings
        self.templates = templates or NoteTemplates()
        self.policy = RetryPolicy.from_settings(settings, sleep=sleep)
        self._knowledge = ServerKnowledge(settings)
        self._wire = Wire(settings, session_factory)
        self._gi = GenericInterface(settings, self.policy, self._wire, self._knowledge)
        self._preflight = Preflight(settings, self._gi)
        self._locks = TicketLocks(settings.base_url, settings.lock_dir)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> ClosureClient:
        """A client configured from ``OTRS_CLOSURE_*`` variables (see :class:`ClosureSettings`)."""
        extra = {k: overrides.pop(k) for k in ("templates", "session_factory", "sleep") if k in overrides}
        return cls(settings=ClosureSettings.from_env(environ, **overrides), **extra)

    @classmethod
    def from_pyotrs(cls, client: pyotrs.Client, *, owner_login: str, **options: Any) -> ClosureClient:
        """A closure client for the server, agent and web service of an existing
        ``pyotrs.Client`` (needs ``pip install otrs_closure[pyotrs]``); see
        :func:`otrs_closure.adapters.pyotrs.settings_from_pyotrs`."""
        from otrs_closure.adapters.pyotrs import settings_from_pyotrs

        extra = {k: options.pop(k) for k in ("templates", "session_factory", "sleep") if k in options}
        return cls(settings=settings_from_pyotrs(client, owner_login=owner_login, **options), **extra)

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
        self._wire.close()

    @property
    def requests_sent(self) -> dict[str, int]:
        """Requests sent so far, per GenericInterface operation."""
        return dict(self._wire.requests_sent)

    @property
    def server(self) -> ServerInfo:
        """What this client knows of its server: set in the settings or learned by
        reading (the search route on the first search, the header session on the first
        GET, the article fields from the first ticket read). ``None`` items are not known yet."""
        return self._knowledge.info()

    # -- public operations ------------------------------------------------------------------
    def connect(self) -> ServerInfo:
        """Log in now (SessionCreate), so that a wrong URL, web service or password is
        found before any ticket is touched; later calls reuse the session."""
        self._gi.connect()
        return self.server

    def resolve(self, ticket_number: str) -> int:
        """The TicketID of a ticket number (TicketSearch); :class:`TicketNotFound` if none."""
        check_ticket_ref(ticket_number, None)
        return self._gi.search_number(ticket_number.strip())

    def validate(self, *, attention: Attention, formats: FormatFiles | None = None) -> str:
        """Every local check of a closure (kind, texts, files by content, request size),
        with no request; returns the closure identity. Raises :class:`InputError`."""
        return self._prepare(attention, formats).closure_id

    def _prepare(self, attention: object, formats: object) -> PreparedClosure:
        return prepare(self.settings, self.templates, attention, formats)

    def _closure(self, prepared: PreparedClosure, *, reclose: bool, reattend: bool) -> Closure:
        return Closure(
            self.settings, self._gi, self._knowledge, prepared, self._preflight, reclose=reclose, reattend=reattend
        )

    def close(
        self,
        *,
        attention: Attention,
        ticket_number: str | None = None,
        ticket_id: int | None = None,
        formats: FormatFiles | None = None,
        reclose: bool = False,
        reattend: bool = False,
    ) -> ClosureReceipt:
        """Close one ticket: the Atendido note (+ format files), then the owner change.
        Steps the ticket already shows are skipped, so calling again is safe.

        Raises :class:`InputError` before any request for bad input,
        :class:`ClosureConflict` when a different closure note is present,
        :class:`ClosureReopened` when this closure is there but the ticket was reopened
        (``reattend=True`` sets it attended again), :class:`ServerCompatibilityError` when
        the server's note fields cannot be established, and :class:`PartialClosure` (with
        a receipt) when part of the closure was (or may have been) written and the rest
        was not.
        """
        check_ticket_ref(ticket_number, ticket_id)
        prepared = self._prepare(attention, formats)
        number = ticket_number.strip() if ticket_number else None
        closure = self._closure(prepared, reclose=reclose, reattend=reattend)
        tid = ticket_id if ticket_id is not None else self._gi.search_number(number or "")
        with self._locks.hold(tid):
            receipt = closure.run(tid, number)
        if number is not None and receipt.ticket_number is None:
            receipt = receipt.model_copy(update={"ticket_number": number})
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
        attention: Attention,
        ticket_number: str | None = None,
        ticket_id: int | None = None,
        formats: FormatFiles | None = None,
        reclose: bool = False,
        reattend: bool = False,
        offline: bool = False,
    ) -> ClosurePlan:
        """The exact requests a :meth:`close` would send now, secrets masked, without
        writing. Reads the ticket to know which steps are already done, unless
        ``offline`` (then a ticket with none of the steps is assumed)."""
        check_ticket_ref(ticket_number, ticket_id)
        prepared = self._prepare(attention, formats)
        closure = self._closure(prepared, reclose=reclose, reattend=reattend)
        return build_plan(
            self.settings,
            self._gi,
            self._preflight,
            closure,
            prepared,
            ticket_number=ticket_number.strip() if ticket_number else None,
            ticket_id=ticket_id,
            offline=offline,
        )

    def close_many(
        self, items: Iterable[BatchItem], *, workers: int = 4, rate_limit: float | None = None
    ) -> Iterator[BatchResult]:
        """Close many tickets with a bounded pool of threads; yields one result per item,
        in completion order. A failure in one item does not stop the others."""
        from otrs_closure.batch import run_batch

        return run_batch(self, items, workers=workers, rate_limit=rate_limit)

    def audit(
        self,
        *,
        queue: str | Iterable[str] | None = None,
        state: str | Iterable[str] | None = None,
        since: datetime | date | None = None,
        until: datetime | date | None = None,
        window: str = "changed",
        ticket_numbers: Iterable[str] | None = None,
        ticket_ids: Iterable[int] | None = None,
        limit: int = 10_000,
        workers: int = 4,
        per_request: int = 20,
        progress: Callable[[int, int], None] | None = None,
    ) -> AuditReport:
        """Audit tickets closed by hand against the manual; **reads only** (TicketSearch,
        TicketGet — never a write).

        Select by search — ``queue`` (one or several), ``state`` (default: the attended
        state), and a window on the ticket's last change (``window="changed"``) or close
        time (``"closed"``) from ``since`` to ``until`` (server time; a date means its
        whole day) — or list ``ticket_numbers`` / ``ticket_ids``. At most ``limit`` tickets
        are read (``report.truncated`` says when the search found more), ``per_request``
        TicketIDs per TicketGet by ``workers`` threads sharing this client's session;
        ``progress(done, total)`` is called after each batch.

        Returns an :class:`~otrs_closure.audit.AuditReport`: per ticket its problem codes
        (``t.compliant`` when none), kind, ``attended_at`` and ``agent``; ``report.summary``
        counts per problem, agent and day; tickets that could not be read (not found, no
        permission) are in ``report.unreadable``. Raises :class:`InputError` for a bad
        selection before any request, and the server's error (credentials, network) when
        reading cannot go on."""
        from otrs_closure.audit import AuditRules, AuditSelection
        from otrs_closure.audit._run import run_audit

        selection = AuditSelection.build(
            attended_state=self.settings.attended_state,
            timezone=self.settings.timezone,
            queue=queue,
            state=state,
            since=since,
            until=until,
            window=window,
            ticket_numbers=ticket_numbers,
            ticket_ids=ticket_ids,
            limit=limit,
        )
        return run_audit(
            self._gi,
            self._knowledge,
            AuditRules.from_settings(self.settings, self.templates),
            selection,
            server=self.settings.service_url,
            requests_sent=lambda: self._wire.requests_sent,
            workers=workers,
            per_request=per_request,
            progress=progress,
        )
