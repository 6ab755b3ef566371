"""The fault matrix on each real server: every request of a closure × every fault kind,
injected by ``faultproxy.FaultProxy`` in front of the server.

A cell closes a fresh ticket (a user onboarding with both format files, by ticket
number) through the proxy while one fault hits one request; when ``close()`` raises, the
same ``close()`` runs once more (the documented way to finish). The cell passes when the
ticket, read back raw, is exactly in the fault-free end state — the same new articles
(subjects, bodies, visibility, channel, attachment bytes), state and owner as a closure
of the same inputs through the same proxy without a fault — and the receipt agrees.

A fault hits the first request matching its row (by method, route and body; the
verifying TicketGet is the first after the owner update). A refusal cannot be aimed by
its request's content (the connection comes before the request): it is aimed at the
request before it answered (the proxy stops listening right then), and the cell checks,
from what the client saw, that the refused request was the one its row names. The cells
of a server run in parallel threads (``OTRS_CLOSURE_TEST_WORKERS``, default 6), each with
its own proxy and client.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from faultproxy import Action, Exchange, FaultProxy, Matcher, matches
from helpers import make_file
from live_support import RecordingSession, Target, closure_problems, mask, shape, unique

from otrs_closure import FormatFiles, OtrsClosureError, UserOnboarding

pytestmark = pytest.mark.live

#: The client's read timeout in the matrix, and how long a TIMEOUT cell withholds the answer.
READ_TIMEOUT = 4.0
HOLD = READ_TIMEOUT + 1.5
REFUSE_SECONDS = 0.1


def _is_update(method: str, path: str, body: bytes) -> bool:
    return method in ("PATCH", "POST", "PUT") and (b'"Ticket"' in body or b'"Article"' in body)


#: The requests of one closure by ticket number, in order: (row, matcher of that request).
ROWS: tuple[tuple[str, Matcher], ...] = (
    ("session", matches("POST", r"/Session$")),
    ("search", lambda m, p, b: b"TicketNumber" in b or "TicketNumber=" in p),
    ("get", matches("GET", r"/Ticket/\d+(\?|$)")),
    ("preflight", lambda m, p, b: _is_update(m, p, b) and b'"Body"' not in b),
    ("update 1", lambda m, p, b: _is_update(m, p, b) and b'"Attachment"' in b and b'"Body"' in b),
    ("update 2", lambda m, p, b: _is_update(m, p, b) and b'"Owner"' in b and b'"Body"' in b),
    ("verify get", matches("GET", r"/Ticket/\d+(\?|$)")),  # the first one after update 2 (see aim())
)


class After:
    """Matches requests matching ``then`` once a request matching ``first`` has passed
    (stateful: the proxy shows every request to every rule's matcher, in order)."""

    def __init__(self, first: Matcher, then: Matcher) -> None:
        self.first, self.then, self.armed = first, then, False

    def __call__(self, method: str, path: str, body: bytes) -> bool:
        if self.armed:
            return self.then(method, path, body)
        self.armed = self.first(method, path, body)
        return False


def aim(row: str) -> Matcher:
    """The matcher of the request a row names, in a closure's run."""
    rows = dict(ROWS)
    if row == "verify get":
        return After(rows["update 2"], rows["verify get"])
    return rows[row]

#: Every fault kind: (column, action, rule options). "applied" ones reach the server first.
COLUMNS: tuple[tuple[str, Action, dict[str, Any]], ...] = (
    ("refused", Action.REFUSE, {"seconds": REFUSE_SECONDS}),
    ("reset", Action.RESET, {}),
    ("reset applied", Action.RESET, {"forward": True}),
    ("lost applied", Action.DROP_RESPONSE, {}),
    ("timeout applied", Action.TIMEOUT, {"hold": HOLD}),
    ("500", Action.SERVER_FAULT, {}),
    ("500 applied", Action.SERVER_FAULT, {"forward": True}),
    ("503", Action.UNAVAILABLE, {"retry_after": 1}),
    ("maintenance", Action.MAINTENANCE, {}),
    ("session killed", Action.KILL_SESSION, {}),
)
CELLS = [(row, col) for row, _ in ROWS for col, _, _ in COLUMNS]


@dataclass
class Inputs:
    attention: UserOnboarding
    formats: FormatFiles
    contents: list[bytes]


@dataclass
class Cell:
    row: str
    column: str
    problems: list[str] = field(default_factory=list)
    first_error: str | None = None
    hit: Exchange | None = None
    log: list[str] = field(default_factory=list)

    def explain(self) -> str:
        return mask(f"{self.row} × {self.column}: first close raised {self.first_error}; problems: {self.problems}; "
                    f"requests: {self.log}")


def _label(e: Exchange) -> str:
    path = re.sub(r"SessionID=[^&]+", "SessionID=…", e.path)
    return f"#{e.number} {e.method} {path.split('/Webservice/', 1)[-1]} -> {e.status}" + (
        f" [{e.action.value}]" if e.action else "")


def _shown(method: str, url: str) -> str:
    """A request as method and route, the ticket's id left out."""
    route = re.sub(r"/Ticket/\d+", "/Ticket/:id", urlsplit(url).path)
    return f"{method} {route}"


def _operation(shown: str) -> str:
    """The operation a shown request stands for. A TicketSearch is one whichever of the two
    shipped routes the client tries first: it orders them by hints (the login answer's
    ``Connection`` header, which a refusal's reconnect changes), never by the route alone."""
    method, _, route = shown.partition(" ")
    if route.endswith(("/Ticket/Search", "/Ticket")) and method in ("GET", "POST"):
        return "TicketSearch"
    return shown


class Matrix:
    """The fault-free baseline and every cell of one target, computed once, in parallel."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.dir = Path(tempfile.mkdtemp(prefix=f"otrs-closure-matrix-{target.name}-"))
        scan = make_file(self.dir, "PDF", "alta firmada.pdf")
        editable = make_file(self.dir, "DOCX", "formato de alta.docx")
        self.inputs = Inputs(
            UserOnboarding(description=unique("Alta en nómina con fallas inyectadas."),
                           access_url="https://nomina.example.gob.mx", login="mgarcia", password="Temporal#2026"),
            FormatFiles(signed_scan=scan, editable=editable), [scan.read_bytes(), editable.read_bytes()])
        self.killer = None
        if target.system is not None:  # on the lab: the session's rows are deleted on the server
            self.killer = lambda sid: target.forget_sessions([sid])
        self.baseline_error: str | None = None
        self.positions: dict[str, int] = {}
        self.baseline_shape: tuple[Any, ...] | None = None
        self.cells: dict[tuple[str, str], Cell] = {}
        self._run()

    def _close(self, proxy: FaultProxy, refused: list[str]) -> tuple[Any, str | None]:
        """A fresh ticket closed through ``proxy`` (started here, after the ticket exists);
        one more close() when the first raised. ``refused`` collects the requests whose
        connection the kernel refused, as the client saw them."""
        tid, number = self.target.raw.create_ticket(f"otrs_closure matriz de fallas {threading.get_ident()}")
        before = self.target.raw.snapshot(tid)
        kwargs = {"attention": self.inputs.attention, "formats": self.inputs.formats}

        class Recording(RecordingSession):
            def send(self, request: requests.PreparedRequest, **kw: Any) -> requests.Response:  # type: ignore[override]
                try:
                    return super().send(request, **kw)
                except requests.ConnectionError as exc:
                    if "Connection refused" in str(exc):
                        refused.append(_shown(request.method or "", request.url or ""))
                    raise

        sessions: list[str] = []
        try:
            with proxy, self.target.client(base_url=proxy.url, read_timeout=str(READ_TIMEOUT),
                                           session_factory=Recording, sessions=sessions) as client:
                first_error = None
                try:
                    receipt = client.close(ticket_number=number, **kwargs)
                except OtrsClosureError as exc:
                    first_error = f"{type(exc).__name__}: {mask(exc, self.target.secrets())[:200]}"
                    receipt = client.close(ticket_number=number, **kwargs)
        finally:  # with those whose SessionCreate answer a fault kept from the client
            self.target.forget_sessions([*sessions, *proxy.issued_sessions])
        return (before, self.target.raw.snapshot(tid), receipt), first_error

    def _proxy(self) -> FaultProxy:
        return FaultProxy(self.target.url, timeout=60)

    def _run(self) -> None:
        # The fault-free closure through the proxy: the request positions and the end state.
        proxy = self._proxy()
        try:
            (before, after, receipt), _ = self._close(proxy, [])
        except OtrsClosureError as exc:
            self.baseline_error = f"{type(exc).__name__}: {mask(exc, self.target.secrets())[:300]}"
            return
        problems = closure_problems(after, self.target, attention=self.inputs.attention,
                                    contents=self.inputs.contents, receipt=receipt, before=before)
        if problems:
            self.baseline_error = f"the fault-free closure itself is wrong: {mask(problems)}"
            return
        self.baseline_shape = shape(after, before)
        self.requests = [_shown(e.method, e.path) for e in sorted(proxy.log, key=lambda e: e.number)]
        for row, matcher in ROWS:
            start = self.positions.get("update 2", 10**6) if row == "verify get" else 0
            hit = next((e for e in proxy.log if e.number > start and matcher(e.method, e.path, e.body)), None)
            if hit is not None:
                self.positions[row] = hit.number
        workers = int(os.environ.get("OTRS_CLOSURE_TEST_WORKERS") or 6)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for cell in pool.map(lambda rc: self._cell(*rc), CELLS):
                self.cells[(cell.row, cell.column)] = cell

    def _cell(self, row: str, column: str) -> Cell:
        cell = Cell(row, column)
        position = self.positions.get(row)
        if position is None:
            cell.problems.append(f"the fault-free closure sent no {row!r} request")
            return cell
        action, options = next((a, o) for c, a, o in COLUMNS if c == column)
        proxy = self._proxy()
        if action is Action.REFUSE:
            # Aimed at the answer of the request just before it in the fault-free run (0: the
            # start): a fresh client sends the same sequence, probes of the server included.
            rule = proxy.add(action, after=position - 1, **options)
        else:
            extra = {"killer": self.killer} if action is Action.KILL_SESSION else {}
            rule = proxy.add(action, aim(row), **options, **extra)
        refused: list[str] = []
        try:
            try:
                (before, after, receipt), cell.first_error = self._close(proxy, refused)
            except OtrsClosureError as exc:
                cell.problems.append(f"the second close raised {type(exc).__name__}: "
                                     f"{mask(exc, self.target.secrets())[:300]}")
                return cell
            finally:
                cell.log = [_label(e) for e in proxy.log] + [f"refused: {r}" for r in refused]
        except Exception as exc:  # a setup failure of the cell: reported in it, not lost in the pool
            cell.problems.append(f"{type(exc).__name__}: {mask(exc)[:300]}")
            return cell
        matcher = dict(ROWS)[row]
        if action is Action.REFUSE:
            aimed = self.requests[position - 1]
            if not rule.fired or not refused:
                cell.problems.append("no connection was refused (the client did not connect while the proxy was down)")
            elif _operation(refused[0]) != _operation(aimed):
                cell.problems.append(f"the refusal hit {refused[0]}, not the {row} ({aimed})")
        else:
            cell.hit = next((e for e in proxy.log if e.action is not None), None)
            if rule.fired != 1 or cell.hit is None:
                cell.problems.append(f"the fault fired {rule.fired} times")
            elif not matcher(cell.hit.method, cell.hit.path, cell.hit.body):
                cell.problems.append(f"the fault hit {_label(cell.hit)}, not the {row}")
        cell.problems += closure_problems(after, self.target, attention=self.inputs.attention,
                                          contents=self.inputs.contents, receipt=receipt, before=before)
        if not cell.problems and shape(after, before) != self.baseline_shape:
            cell.problems.append("the new articles differ from the fault-free closure")
        return cell


_matrices: dict[str, Matrix] = {}
_guard = threading.Lock()


def matrix(target: Target) -> Matrix:
    with _guard:
        if target.name not in _matrices:
            _matrices[target.name] = Matrix(target)
        return _matrices[target.name]


@pytest.mark.compat("faults")
@pytest.mark.parametrize(("row", "column"), CELLS, ids=[f"{r}-{c}".replace(" ", "_") for r, c in CELLS])
def test_fault_leaves_the_fault_free_end_state(target: Target, row: str, column: str) -> None:
    """One fault on one request of a closure: after close() (and one more close() if it
    raised) the ticket is exactly as a fault-free closure leaves it."""
    m = matrix(target)
    if m.baseline_error is not None:
        pytest.fail(f"the fault-free closure failed: {m.baseline_error}", pytrace=False)
    cell = m.cells[(row, column)]
    if cell.problems:
        pytest.fail(cell.explain(), pytrace=False)
