"""The fault matrix: every request of a closure × every fault the fake Znuny injects.

A cell closes a fresh ticket (a user onboarding with both format files) while one fault
hits one request. The cell passes when, after ``close()`` returned — or, when it raised,
after one more ``close()`` with the same inputs — the ticket is exactly in the
fault-free end state: state and owner at target, one "Atendido" note, two attachments
byte-identical to the files, one "Se modifica propietario" note, and nothing else
(compared article by article with a fault-free run).

Run it and print the table::

    python tests/fault_matrix.py                 # the mock door (in-process)
    python tests/fault_matrix.py --door serve    # the loopback HTTP door
    python tests/fault_matrix.py --door both

tests/test_fault_matrix.py runs the same cells as parametrized tests.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import make_file  # noqa: E402

from otrs_closure import ClosureClient, ClosureReceipt, FormatFiles, OtrsClosureError, UserOnboarding  # noqa: E402
from otrs_closure.testing import FakeZnuny, Fault, TicketView, WriteStep  # noqa: E402

__all__ = [
    "ROWS",
    "COLUMNS",
    "WRITE_FAILURES",
    "SERVE_SUBSET",
    "CellResult",
    "Inputs",
    "make_inputs",
    "root_url",
    "new_client",
    "door",
    "run_cell",
    "run_matrix",
    "format_matrix",
    "end_state_problems",
]

AGENT, AGENT_PASSWORD, OWNER = "tecnico1", "tecnico-pass", "agente.mesa"
NOTE_SUBJECT, OWNER_SUBJECT = "Atendido", "Se modifica propietario"

#: The requests of one closure by ticket number, in order: (label, operation, call number).
ROWS: tuple[tuple[str, str, int], ...] = (
    ("session", "SessionCreate", 1),
    ("search", "TicketSearch", 1),
    ("get", "TicketGet", 1),
    ("preflight", "TicketUpdate", 1),
    ("update 1", "TicketUpdate", 2),
    ("update 2", "TicketUpdate", 3),
    ("verify get", "TicketGet", 2),
)

#: Every fault kind the fake injects (SERVER_FAULT twice: not applied, and applied).
COLUMNS: tuple[tuple[str, Fault, dict[str, Any]], ...] = (
    ("refused", Fault.CONNECTION_REFUSED, {}),
    ("resp lost", Fault.RESPONSE_LOST, {}),
    ("timeout", Fault.TIMEOUT_AFTER_APPLY, {"delay": 0.6}),
    ("500", Fault.SERVER_FAULT, {}),
    ("500 applied", Fault.SERVER_FAULT, {"apply": True}),
    ("503", Fault.UNAVAILABLE, {"retry_after": 1}),
    ("429", Fault.RATE_LIMITED, {"retry_after": 1}),
    ("session", Fault.SESSION_EXPIRED, {}),
    ("maint page", Fault.MAINTENANCE_PAGE, {}),
    ("413", Fault.TOO_LARGE, {}),
)

#: Znuny's own partial updates (spec 4.4): a write step of a TicketUpdate fails with HTTP
#: 500 after the earlier steps were written. (row label, step).
WRITE_FAILURES: tuple[tuple[str, WriteStep], ...] = (
    ("update 1", WriteStep.STATE),
    ("update 1", WriteStep.ARTICLE),
    ("update 1", WriteStep.ATTACHMENT),
    ("update 2", WriteStep.OWNER),
    ("update 2", WriteStep.ARTICLE),
)

#: The cells also run on the loopback HTTP door (real sockets, resets, read timeouts).
SERVE_SUBSET: tuple[tuple[str, str], ...] = tuple(
    (row, col)
    for row in ("session", "get", "update 1", "update 2", "verify get")
    for col in ("refused", "resp lost", "timeout", "503", "session")
)


@dataclass(frozen=True)
class Inputs:
    attention: UserOnboarding
    formats: FormatFiles
    contents: tuple[bytes, bytes]


def make_inputs(directory: Path) -> Inputs:
    directory.mkdir(parents=True, exist_ok=True)
    scan = make_file(directory, "PDF", "alta firmada.pdf")
    editable = make_file(directory, "DOCX", "formato de alta.docx")
    return Inputs(
        attention=UserOnboarding(
            description="Se dio de alta al usuario en el sistema de nómina.\nSe verificó el acceso.",
            access_url="https://nomina.example.gob.mx",
            login="mgarcia",
            password="Temporal#2026",
        ),
        formats=FormatFiles(signed_scan=scan, editable=editable),
        contents=(scan.read_bytes(), editable.read_bytes()),
    )


def root_url(service_url: str) -> str:
    """The server root of a door's web service URL (ClosureClient adds the GI path)."""
    parts = urlsplit(service_url)
    return f"{parts.scheme}://{parts.netloc}"


def new_client(service_url: str, **options: Any) -> ClosureClient:
    """A client for the fake that never really sleeps (Retry-After and backoff recorded only)."""
    options.setdefault("sleep", lambda s: None)
    return ClosureClient(
        base_url=root_url(service_url), username=AGENT, password=AGENT_PASSWORD, owner_login=OWNER, **options
    )


@contextmanager
def door(fake: FakeZnuny, kind: str) -> Iterator[str]:
    if kind == "mock":
        with fake.mock() as url:
            yield url
    else:
        with fake.serve(port=0) as url:
            yield url


# -- the end state -------------------------------------------------------------------------------


def shape(view: TicketView) -> tuple[Any, ...]:
    """What a closure leaves on a ticket, without ids and times."""
    return (
        view.state,
        view.owner,
        tuple(
            (
                a.subject,
                a.body,
                a.is_visible_for_customer,
                tuple(sorted((x.filename, x.content) for x in a.attachments)),
            )
            for a in view.articles
        ),
    )


def end_state_problems(
    view: TicketView, inputs: Inputs, baseline: tuple[Any, ...] | None = None, receipt: ClosureReceipt | None = None
) -> list[str]:
    """Everything that differs from a correctly closed ticket (empty: all good)."""
    problems = []
    if view.state != "Atendido":
        problems.append(f"state {view.state!r}")
    if view.owner != OWNER:
        problems.append(f"owner {view.owner!r}")
    notes = view.articles_with_subject(NOTE_SUBJECT)
    owner_notes = view.articles_with_subject(OWNER_SUBJECT)
    if len(notes) != 1:
        problems.append(f"{len(notes)} Atendido notes")
    if len(owner_notes) != 1:
        problems.append(f"{len(owner_notes)} owner notes")
    if notes and owner_notes and owner_notes[0].article_id < notes[0].article_id:
        problems.append("owner note before the closure note")
    contents = sorted(x.content for x in view.attachments())
    if contents != sorted(inputs.contents):
        problems.append(f"{len(contents)} attachments, byte-identical: {contents == sorted(inputs.contents)}")
    if receipt is not None:
        if not receipt.complete:
            problems.append(f"receipt incomplete: {receipt.remaining}")
        if receipt.note_article_id != (notes[0].article_id if notes else None):
            problems.append("receipt names another note")
        if receipt.owner_article_id != (owner_notes[0].article_id if owner_notes else None):
            problems.append("receipt names another owner note")
    if baseline is not None and not problems and shape(view) != baseline:
        problems.append("differs from the fault-free closure")
    return problems


_baselines: dict[str, tuple[Any, ...]] = {}


def baseline(inputs: Inputs) -> tuple[Any, ...]:
    """The shape of the fault-free closure of a fresh ticket with these inputs."""
    key = str(inputs.formats.signed_scan.parent)
    if key not in _baselines:
        fake = FakeZnuny.service_desk()
        tid, number = fake.new_service_desk_ticket(title="Alta en nómina")
        with fake.mock() as url:
            new_client(url).close(ticket_number=number, attention=inputs.attention, formats=inputs.formats)
        view = fake.ticket(tid)
        assert not end_state_problems(view, inputs), end_state_problems(view, inputs)
        _baselines[key] = shape(view)
    return _baselines[key]


# -- one cell --------------------------------------------------------------------------------------


@dataclass
class CellResult:
    row: str
    column: str
    door: str
    ok: bool = False
    fired: bool = False
    reran: bool = False
    first_error: str | None = None
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    sessions_created: int = 0
    writes: int = 0  # TicketUpdates that reached the fake, preflight included

    @property
    def mark(self) -> str:
        if not self.fired:
            return "not fired"
        if not self.ok:
            return "FAIL"
        return "ok+rerun" if self.reran else "ok"

    def explain(self) -> str:
        return (
            f"[{self.door}] {self.row} × {self.column}: {self.mark}"
            + (f" (first close raised {self.first_error})" if self.first_error else "")
            + (f"; problems: {', '.join(self.problems)}" if self.problems else "")
        )


def _row(label: str) -> tuple[str, int]:
    for name, operation, call in ROWS:
        if name == label:
            return operation, call
    raise KeyError(label)


def run_cell(row: str, column: str, inputs: Inputs, *, door_kind: str = "mock") -> CellResult:
    """Close a fresh ticket with one fault (a COLUMNS label, or a WriteStep value for a
    Znuny write failure) on the request ``row``; check the end state."""
    started = time.perf_counter()
    result = CellResult(row, column, door_kind)
    fake = FakeZnuny.service_desk()
    tid, number = fake.new_service_desk_ticket(title="Alta en nómina")
    operation, call = _row(row)
    write_step = next((s for s in WriteStep if s.value == column), None)
    if write_step is not None:
        fake.fail_write(write_step, ticket=tid)
    else:
        kind, params = next((k, p) for label, k, p in COLUMNS if label == column)
        fake.inject(kind, operation=operation, call=call, **params)
    receipt: ClosureReceipt | None = None
    with door(fake, door_kind) as url:
        client = new_client(url, read_timeout=0.3, connect_timeout=0.5)
        kwargs: dict[str, Any] = {"ticket_number": number, "attention": inputs.attention, "formats": inputs.formats}
        try:
            receipt = client.close(**kwargs)
        except OtrsClosureError as exc:
            result.reran = True
            result.first_error = type(exc).__name__
            try:
                receipt = client.close(**kwargs)
            except OtrsClosureError as exc2:
                result.problems.append(f"second close raised {exc2!r}")
        finally:
            client.shutdown()
    if write_step is not None:
        result.fired = not fake.store.write_failures or all(f.remaining == 0 for f in fake.store.write_failures)
    else:
        result.fired = any(f.operation == operation and f.call == call for f in fake.faults_fired)
    # Znuny's own write failures may leave the files on a "Formatos adjuntos" article of the
    # closure: the end state is checked, not the exact shape.
    result.problems += end_state_problems(
        fake.ticket(tid), inputs, None if write_step is not None else baseline(inputs), receipt
    )
    result.sessions_created = fake.calls("SessionCreate")
    result.writes = fake.calls("TicketUpdate")
    if fake.internal_errors:
        result.problems.append(f"fake crashed: {fake.internal_errors!r}")
    result.ok = not result.problems
    result.seconds = time.perf_counter() - started
    return result


def cells(door_kind: str) -> list[tuple[str, str]]:
    if door_kind == "serve":
        return list(SERVE_SUBSET)
    return [(row, col) for row, _, _ in ROWS for col, _, _ in COLUMNS] + [(r, s.value) for r, s in WRITE_FAILURES]


def run_matrix(inputs: Inputs, door_kind: str = "mock") -> list[CellResult]:
    return [run_cell(row, col, inputs, door_kind=door_kind) for row, col in cells(door_kind)]


def format_matrix(results: Iterable[CellResult]) -> str:
    """The results as a text table: one line per request, one column per fault."""
    results = list(results)
    out = []
    for door_kind in dict.fromkeys(r.door for r in results):
        mine = [r for r in results if r.door == door_kind]
        columns = list(dict.fromkeys(r.column for r in mine))
        rows = list(dict.fromkeys(r.row for r in mine))
        by = {(r.row, r.column): r for r in mine}
        width = max(len(c) for c in columns + ["ok+rerun"]) + 1
        head = f"{'door ' + door_kind:<12}" + "".join(f"{c:>{width}}" for c in columns)
        out += [head, "-" * len(head)]
        for row in rows:
            out.append(
                f"{row:<12}" + "".join(f"{by[(row, c)].mark if (row, c) in by else '':>{width}}" for c in columns)
            )
        passed = sum(r.ok and r.fired for r in mine)
        out.append(
            f"{passed}/{len(mine)} cells pass   (ok: close() returned; ok+rerun: close() raised, "
            "one more close() completed)"
        )
        out.append("")
    failures = [r for r in results if not (r.ok and r.fired)]
    out += [r.explain() for r in failures]
    return "\n".join(out).rstrip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--door", choices=("mock", "serve", "both"), default="mock")
    args = parser.parse_args(argv)
    doors = ("mock", "serve") if args.door == "both" else (args.door,)
    with tempfile.TemporaryDirectory() as tmp:
        inputs = make_inputs(Path(tmp))
        results = [r for d in doors for r in run_matrix(inputs, d)]
    print(format_matrix(results))
    return 0 if all(r.ok and r.fired for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
