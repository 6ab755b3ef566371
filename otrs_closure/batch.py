"""Batch closures for integration jobs: manifests, validation of every row before the
first write, a bounded worker pool, a resumable journal, and the summary report.

* **Manifests** (:func:`load_manifest`): CSV (header row, read with :class:`csv.DictReader`)
  or JSONL (one JSON object a line), one closure a row, columns :data:`COLUMNS`. Paths of
  the format files are relative to the manifest; the onboarding password is never in the
  manifest — ``password_env`` names the environment variable that holds it. Every row is
  validated with the library's own checks (the models and :func:`otrs_closure.closure.prepare`,
  which also computes the closure identity and checks the request size) and every problem
  of every row is returned at once. A ticket named by more than one row is refused in all
  of them.
* **The pool** (:func:`run_batch`, :meth:`ClosureClient.close_many`): ``workers`` threads
  share one :class:`~otrs_closure.ClosureClient`. The client is thread-safe: its transport
  lends each exchange a pyotrs client with its own ``requests.Session`` (keep-alive pool)
  for that thread's exclusive use — pyotrs's client is stateful — and shares one
  GenericInterface session, so "one transport per worker" holds with one client and N
  threads, the pool never outgrows the concurrency, and the session is reused across every
  ticket of the batch (and of later batches). An optional
  rate limit bounds the closures started per second. A failure in one row never stops the
  others; only a failure that every row would share (the agent's credentials refused, the
  attended state or the owner missing on the server) stops the batch early, and the rows
  not attempted are reported ``not_run``.
* **The journal** (:class:`Journal`, stdlib :mod:`sqlite3`): one row per (server, ticket,
  closure identity), written by the worker as soon as a closure starts and as soon as it
  ends. It is advisory: the only thing it is ever used for is to *skip* a row it recorded
  as closed on the same server with the same closure identity (no request at all); every
  other row — never seen, started but not finished (a killed run), failed — goes to the
  server through ``close()``, whose assessment of the ticket decides what is still to do,
  so a re-run never redoes a finished step and never doubles a note. ``recheck=True``
  (CLI ``--recheck``) sends even journaled rows to the server (two reads each when the
  ticket still shows the closure).
* **The summary** (:class:`BatchSummary`): counts per status, and for each failure the
  ticket, the typed error and the server's ErrorCode — as a table (``rich``) and as JSON.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import re
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import IO, Any, TextIO

from otrs_closure.client import ClosureClient
from otrs_closure.closure import prepare
from otrs_closure.errors import AuthenticationError, InputError, OtrsClosureError
from otrs_closure.files import EDITABLE_TYPES, SIGNED_SCAN_TYPES, prepare_file
from otrs_closure.models import ClosureReceipt, FormatFiles, Incident, ServiceRequest, UserOnboarding
from otrs_closure.note import NoteTemplates
from otrs_closure.settings import ClosureSettings, shown_variable

__all__ = [
    "COLUMNS",
    "KINDS",
    "BatchStatus",
    "BatchItem",
    "BatchResult",
    "RowProblem",
    "Journal",
    "JournalEntry",
    "BatchSummary",
    "load_manifest",
    "manifest_format",
    "run_batch",
    "make_progress",
    "add_batch_command",
]

log = logging.getLogger("otrs_closure.batch")

Attention = ServiceRequest | UserOnboarding | Incident

KINDS = ("service_request", "user_onboarding", "incident")
"""The values of the ``kind`` column."""

COLUMNS = (
    "ticket_number",
    "ticket_id",
    "kind",
    "description",
    "access_url",
    "login",
    "password_env",
    "problem",
    "solution",
    "signed_scan",
    "editable",
)
"""The manifest's columns (JSONL keys). ``ticket_number`` or ``ticket_id`` per row, ``kind``
always; the others as the kind needs them."""

# Which text columns each kind uses (besides the ticket, kind and the two files).
_KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "service_request": ("description",),
    "user_onboarding": ("description", "access_url", "login", "password_env"),
    "incident": ("problem", "solution", "description"),
}
_TEXT_FIELDS = ("description", "access_url", "login", "password_env", "problem", "solution")
_SECRET_COLUMNS = ("password", "contraseña", "contrasena")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# The dummy connection used to validate rows when no settings are given (never contacted).
_OFFLINE_SETTINGS = {"base_url": "http://offline.invalid", "username": "x", "password": "x", "owner_login": "x"}

MAX_WORKERS = 64


# -- items, problems, results ----------------------------------------------------------------


class BatchStatus(str, Enum):
    """What happened to one row."""

    CLOSED = "closed"  # this run wrote (part of) the closure and the ticket now shows all of it
    ALREADY_CLOSED = "already_closed"  # the ticket already showed the whole closure: nothing written
    SKIPPED_JOURNAL = "skipped_journal"  # the journal records it closed (same server and closure): no request
    FAILED = "failed"  # the closure did not finish (see the error; a PartialClosure says what was done)
    INVALID = "invalid"  # the row failed validation: nothing was sent for it
    NOT_RUN = "not_run"  # not attempted: the batch stopped first (systemic failure or interruption)

    @property
    def ok(self) -> bool:
        """Whether the row's ticket is known to carry its closure."""
        return self in (BatchStatus.CLOSED, BatchStatus.ALREADY_CLOSED, BatchStatus.SKIPPED_JOURNAL)


@dataclass(frozen=True)
class BatchItem:
    """One closure of a batch: the ticket (by number or by id), what was done and the
    format files. ``row`` and ``source`` say where it came from (line in the manifest);
    ``closure_id`` is the closure identity, computed by :func:`load_manifest` (or by the
    batch when missing) and used as the journal's key together with the ticket."""

    attention: Attention
    ticket_number: str | None = None
    ticket_id: int | None = None
    formats: FormatFiles | None = None
    row: int = 0
    source: str = ""
    closure_id: str | None = None

    def __post_init__(self) -> None:
        ClosureClient._check_ticket(self.ticket_number, self.ticket_id)
        if not isinstance(self.attention, (ServiceRequest, UserOnboarding, Incident)):
            raise InputError("attention", "must be a ServiceRequest, UserOnboarding or Incident")

    @property
    def key(self) -> str:
        """The ticket as the manifest names it: ``number:<TicketNumber>`` or ``id:<TicketID>``."""
        return _ticket_names(self.ticket_number, self.ticket_id)[0]

    @property
    def ticket(self) -> str:
        """The ticket for people: its number, or ``TicketID <id>``."""
        return _ticket_names(self.ticket_number, self.ticket_id)[1]

    @property
    def kind(self) -> str:
        return self.attention.kind

    def where(self) -> str:
        """``manifest.csv:12`` (or ``item 12``)."""
        return _where(self.source, self.row)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, without the note's texts or the onboarding password."""
        return {
            "row": self.row,
            "source": self.source or None,
            "ticket_number": self.ticket_number,
            "ticket_id": self.ticket_id,
            "kind": self.kind,
            "closure_id": self.closure_id,
        }


def _ticket_names(number: str | None, ticket_id: int | None) -> tuple[str, str]:
    """(journal key, name for people) of a ticket named by number or by id."""
    if number is not None:
        return f"number:{number}", number
    return f"id:{ticket_id}", f"TicketID {ticket_id}"


def _where(source: str, row: int) -> str:
    return f"{source}:{row}" if source else f"item {row}"


def _who(ticket: str | None, before: str, after: str) -> str:
    """``ticket 2026…`` or ``TicketID 7`` (empty when unknown), wrapped."""
    if not ticket:
        return ""
    return f"{before}{ticket if ticket.startswith('TicketID') else 'ticket ' + ticket}{after}"


@dataclass(frozen=True)
class RowProblem:
    """One problem of one manifest row (``field: problem``)."""

    row: int
    source: str
    ticket: str | None
    field: str
    problem: str

    def __str__(self) -> str:
        return f"{self.source}:{self.row}{_who(self.ticket, ' (', ')')}: {self.field}: {self.problem}"

    def to_error(self) -> InputError:
        return InputError(self.field, self.problem)

    def to_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "source": self.source,
            "ticket": self.ticket,
            "field": self.field,
            "problem": self.problem,
        }


@dataclass(frozen=True)
class BatchResult:
    """The outcome of one row: its status, and the receipt or the typed error.

    ``item`` is None only for an ``invalid`` manifest row (no item could be built);
    ``row``, ``source`` and ``ticket`` are always set."""

    status: BatchStatus
    item: BatchItem | None = None
    receipt: ClosureReceipt | None = None
    error: OtrsClosureError | None = None
    problems: tuple[RowProblem, ...] = ()
    row: int = 0
    source: str = ""
    ticket: str = ""
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status.ok

    @property
    def error_code(self) -> str | None:
        """The server's ErrorCode (or the faultcode of a JSON fault), when it sent one."""
        return self.error.error_code if self.error is not None else None

    @classmethod
    def for_item(
        cls,
        item: BatchItem,
        status: BatchStatus,
        *,
        receipt: ClosureReceipt | None = None,
        error: OtrsClosureError | None = None,
        elapsed: float = 0.0,
    ) -> BatchResult:
        return cls(
            status=status,
            item=item,
            receipt=receipt,
            error=error,
            row=item.row,
            source=item.source,
            ticket=item.ticket,
            elapsed=elapsed,
        )

    @classmethod
    def invalid_rows(cls, problems: Iterable[RowProblem]) -> list[BatchResult]:
        """One ``invalid`` result per manifest row, carrying all of the row's problems."""
        by_row: dict[tuple[str, int], list[RowProblem]] = {}
        for p in problems:
            by_row.setdefault((p.source, p.row), []).append(p)
        out = []
        for (source, row), probs in sorted(by_row.items(), key=lambda kv: (kv[0][0], kv[0][1])):
            out.append(
                cls(
                    status=BatchStatus.INVALID,
                    error=probs[0].to_error(),
                    problems=tuple(probs),
                    row=row,
                    source=source,
                    ticket=probs[0].ticket or "",
                )
            )
        return out

    def describe(self) -> str:
        """One line for people (no secrets: texts and passwords are never included)."""
        head = _where(self.source, self.row)
        who = _who(self.ticket, " ", "")
        if self.status is BatchStatus.INVALID:
            what = "; ".join(f"{p.field}: {p.problem}" for p in self.problems) or str(self.error)
            return f"{head}{who}: invalid: {what}"
        if self.error is not None:
            return f"{head}{who}: {self.status.value}: {type(self.error).__name__}: {self.error}"
        extra = ""
        if self.receipt is not None:
            extra = f" ({self.receipt.closure_id}, {self.receipt.writes_sent} write(s), {self.elapsed:.2f} s)"
        return f"{head}{who}: {self.status.value}{extra}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the row, the ticket, the status, and the receipt or the error."""
        item = self.item
        return {
            "row": self.row,
            "source": self.source or None,
            "ticket": self.ticket or None,
            "ticket_number": (self.receipt.ticket_number if self.receipt else None)
            or (item.ticket_number if item else None),
            "ticket_id": (self.receipt.ticket_id if self.receipt else None) or (item.ticket_id if item else None),
            "kind": item.kind if item else None,
            "closure_id": (self.receipt.closure_id if self.receipt else None) or (item.closure_id if item else None),
            "status": self.status.value,
            "elapsed_seconds": round(self.elapsed, 3),
            "writes_sent": self.receipt.writes_sent if self.receipt else None,
            "error": self.error.to_dict() if self.error is not None else None,
            "problems": [p.to_dict() for p in self.problems],
            "receipt": self.receipt.model_dump(mode="json") if self.receipt else None,
        }


# -- manifests ------------------------------------------------------------------------------------


def _text(value: Any, fld: str, problems: list[tuple[str, str]]) -> str | None:
    """A manifest cell as text: None when absent or blank."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        problems.append((fld, "must be text"))
        return None
    text = str(value).strip()
    return text or None


def _ticket(raw: Mapping[str, Any], problems: list[tuple[str, str]]) -> tuple[str | None, int | None]:
    """The row's ticket_number / ticket_id, coerced from text, checked by the client's own rule."""
    number = _text(raw.get("ticket_number"), "ticket_number", problems)
    id_raw = raw.get("ticket_id")
    ticket_id: int | None = None
    if isinstance(id_raw, int) and not isinstance(id_raw, bool):
        ticket_id = id_raw
    elif id_raw is not None:
        id_text = None if isinstance(id_raw, bool) else _text(id_raw, "ticket_id", problems)
        if id_text is not None and id_text.lstrip("-").isdigit():
            ticket_id = int(id_text)
        elif id_text is not None or isinstance(id_raw, bool):
            problems.append(("ticket_id", "must be a positive integer"))
            return number, None
    try:
        ClosureClient._check_ticket(number, ticket_id)
    except InputError as exc:
        problems.append((exc.field, exc.problem))
    return number, ticket_id


def _attention(
    kind: str, values: dict[str, str | None], environ: Mapping[str, str], problems: list[tuple[str, str]]
) -> Attention | None:
    try:
        if kind == "service_request":
            return ServiceRequest(description=values["description"] or "")
        if kind == "incident":
            return Incident(
                problem=values["problem"] or "", solution=values["solution"] or "", description=values["description"]
            )
        var = values["password_env"]
        password = ""
        if var is None:
            problems.append(("password_env", "name the environment variable holding the onboarding password"))
        elif not _ENV_NAME.match(var):
            # Not quoted: a value here is often the password itself, put in the wrong column.
            problems.append(("password_env", "is not an environment variable name (the NAME of one, not the password)"))
        else:
            password = environ.get(var, "")
            if not password:
                problems.append(("password_env", f"{shown_variable(var)} is not set"))
        # A stand-in password when the variable is missing, so the other fields are checked too.
        return UserOnboarding(
            description=values["description"] or "",
            access_url=values["access_url"] or "",
            login=values["login"] or "",
            password=password or "-",
        )
    except InputError as exc:
        problems.append((exc.field, exc.problem))
        return None


def _formats(raw: Mapping[str, Any], base_dir: Path, problems: list[tuple[str, str]]) -> FormatFiles | None:
    scan = _text(raw.get("signed_scan"), "signed_scan", problems)
    editable = _text(raw.get("editable"), "editable", problems)
    if scan is None and editable is None:
        return None
    if scan is None or editable is None:
        problems.append(("formats", "give both signed_scan and editable"))
        return None
    scan_path, editable_path = base_dir / scan, base_dir / editable
    try:
        return FormatFiles(signed_scan=scan_path, editable=editable_path)
    except InputError as exc:
        # Report a problem of each file, not only the first one found.
        found = False
        for path, role, allowed in (
            (scan_path, "signed_scan", SIGNED_SCAN_TYPES),
            (editable_path, "editable", EDITABLE_TYPES),
        ):
            try:
                prepare_file(path, role, allowed)
            except InputError as file_exc:
                problems.append((file_exc.field, file_exc.problem))
                found = True
        if not found:
            problems.append((exc.field, exc.problem))
        return None


def _parse_row(
    raw: Mapping[str, Any],
    row: int,
    source: str,
    base_dir: Path,
    settings: ClosureSettings,
    templates: NoteTemplates,
    environ: Mapping[str, str],
) -> tuple[BatchItem | None, tuple[str, str] | None, list[RowProblem]]:
    """(item or None, (ticket key, name) or None, problems) for one manifest row."""
    found: list[tuple[str, str]] = []
    for name in raw:
        if name is None or name == "":
            found.append(("row", "more values than columns"))
        elif name.strip().lower() in _SECRET_COLUMNS:
            found.append((name, "never put a password in the manifest: name its environment variable in password_env"))
        elif name not in COLUMNS:
            found.append((name, f"unknown column; expected {', '.join(COLUMNS)}"))
    number, ticket_id = _ticket(raw, found)
    names = _ticket_names(number, ticket_id) if number is not None or ticket_id is not None else None

    values = {name: _text(raw.get(name), name, found) for name in _TEXT_FIELDS}
    kind = _text(raw.get("kind"), "kind", found)
    attention: Attention | None = None
    if kind is None:
        found.append(("kind", f"required: one of {', '.join(KINDS)}"))
    elif kind not in KINDS:
        found.append(("kind", f"{kind[:40]!r} is not one of {', '.join(KINDS)}"))
    else:
        for name in _TEXT_FIELDS:
            if values[name] is not None and name not in _KIND_FIELDS[kind]:
                found.append((name, f"not used by kind {kind}; leave it empty"))
        attention = _attention(kind, values, environ, found)
    formats = _formats(raw, base_dir, found)

    item: BatchItem | None = None
    if not found and attention is not None:
        try:
            prepared = prepare(settings, templates, attention, formats)
            item = BatchItem(
                attention=attention,
                ticket_number=number,
                ticket_id=ticket_id,
                formats=formats,
                row=row,
                source=source,
                closure_id=prepared.closure_id,
            )
        except InputError as exc:
            found.append((exc.field, exc.problem))
    first: dict[str, str] = {}
    for f, p in found:
        first.setdefault(f, p)  # one problem per field: the first found
    ticket = names[1] if names else None
    return item, names, [RowProblem(row, source, ticket, f, p) for f, p in first.items()]


def _read_csv(path: Path) -> Iterator[tuple[int, Mapping[str, Any]]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames
        if not header:
            raise InputError("manifest", f"{path.name} is empty: a CSV manifest starts with a header row")
        unknown = [h for h in header if h not in COLUMNS and h.strip().lower() not in _SECRET_COLUMNS]
        if unknown:
            raise InputError("manifest", f"unknown column {unknown[0]!r} in {path.name}; expected {', '.join(COLUMNS)}")
        if "ticket_number" not in header and "ticket_id" not in header:
            raise InputError("manifest", f"{path.name} needs a ticket_number or ticket_id column")
        if "kind" not in header:
            raise InputError("manifest", f"{path.name} needs a kind column")
        start = reader.line_num + 1
        for raw in reader:
            row = start
            start = reader.line_num + 1
            if (
                all((v is None or (isinstance(v, str) and not v.strip())) for k, v in raw.items() if k is not None)
                and None not in raw
            ):
                continue  # a row of empty cells
            yield row, raw


def _read_jsonl(path: Path) -> Iterator[tuple[int, Mapping[str, Any] | str]]:
    """(line number, object) per non-blank line, or (line number, problem) for a bad one."""
    with path.open(encoding="utf-8-sig") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, f"not JSON ({exc.msg} at column {exc.colno})"
                continue
            yield number, raw if isinstance(raw, dict) else "each line must be a JSON object"


def manifest_format(path: Path) -> str:
    """``csv`` or ``jsonl``: by extension (.csv; .jsonl/.ndjson/.json), else by the first character."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    with path.open("rb") as fh:
        head = fh.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    return "jsonl" if head.startswith(b"{") else "csv"


def load_manifest(
    path: str | Path,
    *,
    settings: ClosureSettings | None = None,
    templates: NoteTemplates | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[list[BatchItem], list[RowProblem]]:
    """Read and validate a manifest; returns the valid items and *every* problem of every
    row. Nothing is sent. Raises :class:`InputError` only when the manifest as a whole is
    unreadable (no such file, no header, an unknown CSV column, not UTF-8).

    ``settings`` (request size limit, ``require_formats``) and ``templates`` default to the
    library's defaults; ``environ`` (where ``password_env`` variables are looked up) to
    :data:`os.environ`. A ticket named by more than one row is refused in every such row."""
    path = Path(path)
    if not path.is_file():
        raise InputError("manifest", f"no such file: {path}")
    settings = settings or ClosureSettings.build(**_OFFLINE_SETTINGS)
    templates = templates or NoteTemplates()
    env = os.environ if environ is None else environ
    base_dir = path.resolve().parent
    source = path.name
    fmt = manifest_format(path)

    parsed: list[tuple[int, BatchItem | None, tuple[str, str] | None, list[RowProblem]]] = []
    try:
        if fmt == "csv":
            for row, raw in _read_csv(path):
                parsed.append((row, *_parse_row(raw, row, source, base_dir, settings, templates, env)))
        else:
            for row, obj in _read_jsonl(path):
                if isinstance(obj, str):
                    parsed.append((row, None, None, [RowProblem(row, source, None, "line", obj)]))
                else:
                    parsed.append((row, *_parse_row(obj, row, source, base_dir, settings, templates, env)))
    except UnicodeDecodeError:
        raise InputError("manifest", f"{path.name} is not UTF-8 text") from None
    except csv.Error as exc:
        raise InputError("manifest", f"{path.name} is not valid CSV: {exc}") from None

    rows_of: dict[str, list[int]] = {}
    for row, _item, names, _probs in parsed:
        if names is not None:
            rows_of.setdefault(names[0], []).append(row)
    items: list[BatchItem] = []
    problems: list[RowProblem] = []
    for row, item, names, probs in parsed:
        if names is not None and len(rows_of[names[0]]) > 1:
            others = ", ".join(str(r) for r in rows_of[names[0]])
            probs = [
                *probs,
                RowProblem(
                    row, source, names[1], "ticket", f"named by rows {others}: a manifest closes each ticket once"
                ),
            ]
        if probs:
            problems.extend(probs)
        elif item is not None:
            items.append(item)
    log.info("manifest %s: %d valid row(s), %d problem(s)", source, len(items), len(problems))
    return items, problems


# -- the journal ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class JournalEntry:
    """What the journal knows of one closure."""

    ticket_key: str
    closure_id: str
    status: str  # "started", "closed", "failed"
    ticket_id: int | None
    ticket_number: str | None
    row: int | None
    source: str | None
    attempts: int
    error: dict[str, Any] | None
    updated_at: str


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS closures (
    server        TEXT NOT NULL,
    ticket_key    TEXT NOT NULL,
    closure_id    TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('started', 'closed', 'failed')),
    ticket_id     INTEGER,
    ticket_number TEXT,
    row           INTEGER,
    source        TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    error         TEXT,
    receipt       TEXT,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (server, ticket_key, closure_id)
);
"""


class Journal:
    """A batch journal in an SQLite file, keyed by (server, ticket, closure identity).

    Advisory: a row recorded ``closed`` for the same server and the same closure identity
    is skipped without a request; everything else is decided by the server (``close()`` is
    idempotent against what the ticket shows). Each record is committed at once (WAL), so a
    killed process loses at most the closures it was running, which a re-run settles.
    Thread-safe (one connection behind a lock). One process at a time: on POSIX an
    exclusive ``flock`` on ``<path>.lock`` (released by the kernel even if the process is
    killed) refuses a second batch on the same journal, whose closures could race."""

    SCHEMA_VERSION = "1"

    def __init__(self, path: str | Path, *, server: str) -> None:
        self.path = Path(path)
        self.server = server
        self._lock = threading.Lock()
        self._lock_fd: int | None = None
        self._take_process_lock()
        db: sqlite3.Connection | None = None
        try:
            db = sqlite3.connect(str(self.path), timeout=30.0, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            found = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if found is None:
                db.execute("INSERT INTO meta (key, value) VALUES ('schema', ?)", (self.SCHEMA_VERSION,))
            elif found[0] != self.SCHEMA_VERSION:
                raise InputError(
                    "journal", f"{self.path.name} has journal schema {found[0]}, expected {self.SCHEMA_VERSION}"
                )
        except BaseException as exc:  # refused: release the connection and the process lock
            if db is not None:
                db.close()
            self._release_process_lock()
            if isinstance(exc, sqlite3.DatabaseError):
                raise InputError("journal", f"{self.path.name} is not a usable SQLite journal ({exc})") from None
            raise
        self._db = db

    def _take_process_lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise InputError("journal", f"cannot create {lock_path.name} ({exc.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise InputError("journal", f"{self.path.name} is in use by another batch; wait for it to end") from None
        self._lock_fd = fd

    def _release_process_lock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None

    def __repr__(self) -> str:
        return f"<Journal {self.path} server={self.server}>"

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._db.close()
            self._release_process_lock()

    @staticmethod
    def _now() -> str:
        return datetime.now(timezone.utc).isoformat(timespec="seconds")

    def _row(self, r: tuple[Any, ...]) -> JournalEntry:
        return JournalEntry(
            ticket_key=r[0],
            closure_id=r[1],
            status=r[2],
            ticket_id=r[3],
            ticket_number=r[4],
            row=r[5],
            source=r[6],
            attempts=r[7],
            error=json.loads(r[8]) if r[8] else None,
            updated_at=r[9],
        )

    _COLS = "ticket_key, closure_id, status, ticket_id, ticket_number, row, source, attempts, error, updated_at"

    def lookup(self, ticket_key: str, closure_id: str) -> JournalEntry | None:
        """The entry of one closure on this journal's server, if any."""
        with self._lock:
            r = self._db.execute(
                f"SELECT {self._COLS} FROM closures WHERE server = ? AND ticket_key = ? AND closure_id = ?",
                (self.server, ticket_key, closure_id),
            ).fetchone()
        return self._row(r) if r else None

    def entries(self) -> list[JournalEntry]:
        """Every entry of this journal's server, oldest first."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {self._COLS} FROM closures WHERE server = ? ORDER BY rowid", (self.server,)
            ).fetchall()
        return [self._row(r) for r in rows]

    def is_closed(self, item: BatchItem) -> bool:
        """Whether the journal records this item's closure as finished on this server."""
        if item.closure_id is None:
            return False
        entry = self.lookup(item.key, item.closure_id)
        return entry is not None and entry.status == "closed"

    def record_start(self, item: BatchItem) -> None:
        """A worker starts the closure (kept ``started`` if the process dies now)."""
        if item.closure_id is None:
            return
        with self._lock:
            self._db.execute(
                "INSERT INTO closures (server, ticket_key, closure_id, status, ticket_id, ticket_number, row, source,"
                " attempts, updated_at) VALUES (?, ?, ?, 'started', ?, ?, ?, ?, 1, ?)"
                " ON CONFLICT (server, ticket_key, closure_id) DO UPDATE SET status = 'started',"
                " attempts = attempts + 1, row = excluded.row, source = excluded.source,"
                " updated_at = excluded.updated_at",
                (
                    self.server,
                    item.key,
                    item.closure_id,
                    item.ticket_id,
                    item.ticket_number,
                    item.row,
                    item.source or None,
                    self._now(),
                ),
            )

    def record_result(self, result: BatchResult) -> None:
        """The closure ended: ``closed`` (or already closed) or ``failed``."""
        item = result.item
        if (
            item is None
            or item.closure_id is None
            or result.status not in (BatchStatus.CLOSED, BatchStatus.ALREADY_CLOSED, BatchStatus.FAILED)
        ):
            return
        status = "closed" if result.ok else "failed"
        receipt = result.receipt
        with self._lock:
            self._db.execute(
                "UPDATE closures SET status = ?, ticket_id = COALESCE(?, ticket_id),"
                " ticket_number = COALESCE(?, ticket_number), error = ?, receipt = ?, updated_at = ?"
                " WHERE server = ? AND ticket_key = ? AND closure_id = ?",
                (
                    status,
                    receipt.ticket_id if receipt else None,
                    receipt.ticket_number if receipt else None,
                    json.dumps(result.error.to_dict(), default=str) if result.error is not None else None,
                    receipt.model_dump_json() if receipt else None,
                    self._now(),
                    self.server,
                    item.key,
                    item.closure_id,
                ),
            )

    def counts(self) -> dict[str, int]:
        """Entries per status on this server."""
        with self._lock:
            rows = self._db.execute(
                "SELECT status, COUNT(*) FROM closures WHERE server = ? GROUP BY status", (self.server,)
            ).fetchall()
        return {str(s): int(n) for s, n in rows}


# -- the pool ------------------------------------------------------------------------------------


class _RateLimiter:
    """At most ``rate`` closures started per second, shared by every worker (no bursts)."""

    def __init__(self, rate: float, sleep: Callable[[float], None] = time.sleep) -> None:
        self._interval = 1.0 / rate
        self._next = 0.0
        self._lock = threading.Lock()
        self._sleep = sleep

    def acquire(self) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self._interval
        if slot > now:
            self._sleep(slot - now)


class _Claims:
    """Which row closes which TicketID in this batch (catches a ticket named by number in
    one row and by id in another, which the manifest check cannot see)."""

    def __init__(self) -> None:
        self._by_id: dict[int, BatchItem] = {}
        self._lock = threading.Lock()

    def claim(self, ticket_id: int, item: BatchItem) -> BatchItem | None:
        with self._lock:
            other = self._by_id.setdefault(ticket_id, item)
        return None if other is item else other


def _systemic(error: OtrsClosureError | None) -> bool:
    """A failure every other row would share: stop starting new rows."""
    if isinstance(error, AuthenticationError):
        return True
    return isinstance(error, InputError) and error.field in ("attended_state", "owner_login")


@dataclass
class _Run:
    client: ClosureClient
    journal: Journal | None
    rate: _RateLimiter | None
    claims: _Claims = field(default_factory=_Claims)
    stop: threading.Event = field(default_factory=threading.Event)
    stopped_by: OtrsClosureError | None = None

    def close_one(self, item: BatchItem) -> BatchResult:
        """One row, in a worker thread. Never raises for the row's own failures."""
        if self.stop.is_set():
            return BatchResult.for_item(item, BatchStatus.NOT_RUN, error=self.stopped_by)
        if self.rate is not None:
            self.rate.acquire()
        started = time.perf_counter()
        if self.journal is not None:
            self.journal.record_start(item)
        client = self.client
        try:
            if item.ticket_id is not None:
                ticket_id = item.ticket_id
            else:
                assert item.ticket_number is not None
                ticket_id = client.transport.search_ticket_number(item.ticket_number)
            other = self.claims.claim(ticket_id, item)
            if other is not None:
                raise InputError(
                    "ticket",
                    f"TicketID {ticket_id} is also {other.where()} ({other.ticket}): a batch closes each ticket once",
                )
            receipt = client.close(attention=item.attention, ticket_id=ticket_id, formats=item.formats)
            if receipt.ticket_number is None and item.ticket_number is not None:
                receipt = receipt.model_copy(update={"ticket_number": item.ticket_number})
            status = BatchStatus.CLOSED if receipt.writes_sent else BatchStatus.ALREADY_CLOSED
            result = BatchResult.for_item(item, status, receipt=receipt, elapsed=time.perf_counter() - started)
        except OtrsClosureError as exc:
            result = BatchResult.for_item(item, BatchStatus.FAILED, error=exc, elapsed=time.perf_counter() - started)
        except Exception as exc:  # a bug must not stop the other rows; it is reported as this row's failure
            log.exception("%s: unexpected error", item.where())
            err = OtrsClosureError(f"unexpected {type(exc).__name__} (a bug: please report it)", ticket=item.ticket)
            result = BatchResult.for_item(item, BatchStatus.FAILED, error=err, elapsed=time.perf_counter() - started)
        if self.journal is not None:
            self.journal.record_result(result)
        if _systemic(result.error) and not self.stop.is_set():
            self.stopped_by = result.error
            self.stop.set()
            log.error("stopping the batch: %s", result.error)
        return result


def _with_closure_id(item: BatchItem, client: ClosureClient) -> BatchItem:
    if item.closure_id is not None:
        return item
    prepared = prepare(client.settings, client.templates, item.attention, item.formats)
    return replace(item, closure_id=prepared.closure_id)


def _check_pool(workers: object, rate_limit: object) -> None:
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS:
        raise InputError("workers", f"must be an integer from 1 to {MAX_WORKERS}")
    if rate_limit is not None and (
        isinstance(rate_limit, bool) or not isinstance(rate_limit, (int, float)) or not rate_limit > 0
    ):
        raise InputError("rate_limit", "must be a positive number of closures per second")


def run_batch(
    client: ClosureClient,
    items: Iterable[BatchItem],
    workers: int = 4,
    rate_limit: float | None = None,
    journal: Journal | None = None,
    progress: Callable[[BatchResult], None] | None = None,
    *,
    recheck: bool = False,
) -> Iterator[BatchResult]:
    """Close every item with ``workers`` threads sharing ``client``; yields one
    :class:`BatchResult` per item, in completion order.

    One :class:`~otrs_closure.ClosureClient` serves all workers: its transport lends each
    exchange a pyotrs client with its own keep-alive ``requests.Session`` (pyotrs's client is
    not thread-safe) and shares one GenericInterface session, so sessions are reused
    across tickets. ``rate_limit`` bounds the closures started per second (a closure is 4–5
    requests). ``journal`` skips rows it records closed (no request) and records each row as
    it starts and ends; ``recheck=True`` sends journaled rows to the server anyway.
    ``progress`` is called with each result as it is yielded.

    A failure in one row never stops the others. A failure every row would share (the
    agent's credentials refused, the attended state or the owner missing on the server)
    stops new rows from starting; they are yielded as ``not_run``. Items are read from
    ``items`` lazily (at most ``2 × workers`` in flight). Closing the iterator early waits
    for the closures already running (they are journaled) and starts no more.

    Raises :class:`InputError` at once for a bad ``workers`` or ``rate_limit``."""
    _check_pool(workers, rate_limit)
    run = _Run(client=client, journal=journal, rate=_RateLimiter(rate_limit) if rate_limit else None)
    return _run(run, items, workers, progress, recheck)


def _run(
    run: _Run, items: Iterable[BatchItem], workers: int, progress: Callable[[BatchResult], None] | None, recheck: bool
) -> Iterator[BatchResult]:
    def emit(result: BatchResult) -> BatchResult:
        if progress is not None:
            progress(result)
        return result

    source = iter(items)
    window = 2 * workers
    pending: dict[Future[BatchResult], BatchItem] = {}
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="otrs-closure-batch")
    exhausted = False
    try:
        while True:
            while not exhausted and not run.stop.is_set() and len(pending) < window:
                item = next(source, None)
                if item is None:
                    exhausted = True
                    break
                if run.journal is not None:
                    try:
                        item = _with_closure_id(item, run.client)
                    except InputError as exc:
                        yield emit(BatchResult.for_item(item, BatchStatus.INVALID, error=exc))
                        continue
                    if not recheck and run.journal.is_closed(item):
                        yield emit(BatchResult.for_item(item, BatchStatus.SKIPPED_JOURNAL))
                        continue
                pending[pool.submit(run.close_one, item)] = item
            if not pending:
                break
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in sorted(done, key=lambda f: pending[f].row):
                pending.pop(fut)
                yield emit(fut.result())
        if run.stop.is_set():
            for item in source:
                yield emit(BatchResult.for_item(item, BatchStatus.NOT_RUN, error=run.stopped_by))
    finally:
        run.stop.set()  # closures not yet started return at once
        for fut in pending:
            fut.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


# -- progress ------------------------------------------------------------------------------------


class _LogProgress:
    """One plain line per row (stderr is not a terminal: logs, CI, cron)."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.done = 0
        self.stream = stream
        self._width = len(str(total))

    def __enter__(self) -> _LogProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stream.flush()

    def __call__(self, result: BatchResult) -> None:
        self.done += 1
        print(f"[{self.done:>{self._width}}/{self.total}] {result.describe()}", file=self.stream, flush=True)


class _RichProgress:
    """A progress bar on the terminal; failures are printed above it as they happen."""

    def __init__(self, total: int, stream: TextIO) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("closing"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            TimeRemainingColumn(),
            console=Console(file=stream),
            transient=False,
        )
        self._task = self._progress.add_task("batch", total=total, status="")
        self._counts: dict[str, int] = {}

    def __enter__(self) -> _RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def __call__(self, result: BatchResult) -> None:
        self._counts[result.status.value] = self._counts.get(result.status.value, 0) + 1
        if not result.ok:
            self._progress.console.print(result.describe(), markup=False, highlight=False)
        status = " ".join(f"{k}={v}" for k, v in sorted(self._counts.items()))
        self._progress.update(self._task, advance=1, status=status)


def make_progress(total: int, stream: TextIO | None = None) -> _LogProgress | _RichProgress:
    """A progress reporter for ``total`` rows (a context manager and a callable taking each
    result): a ``rich`` bar when ``stream`` (default stderr) is a terminal, plain lines otherwise."""
    stream = stream or sys.stderr
    if stream.isatty():
        return _RichProgress(total, stream)
    return _LogProgress(total, stream)


# -- the summary ---------------------------------------------------------------------------------


@dataclass
class BatchSummary:
    """Counts and failures of one batch run, for the terminal and for ``--report``."""

    results: list[BatchResult]
    total: int
    started_at: datetime
    finished_at: datetime
    manifest: str | None = None
    server: str | None = None
    workers: int = 1
    journal: str | None = None
    interrupted: bool = False
    requests_sent: dict[str, int] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        """Rows per status (every status listed); rows with no result count as ``not_run``."""
        counts = {s.value: 0 for s in BatchStatus}
        for r in self.results:
            counts[r.status.value] += 1
        counts[BatchStatus.NOT_RUN.value] += max(0, self.total - len(self.results))
        return counts

    @property
    def ok(self) -> bool:
        """True only when every row was closed, already closed (or skipped as closed by the journal)."""
        return len(self.results) == self.total and all(r.ok for r in self.results)

    @property
    def failures(self) -> list[BatchResult]:
        return sorted((r for r in self.results if not r.ok), key=lambda r: (r.source, r.row))

    def to_dict(self) -> dict[str, Any]:
        elapsed = (self.finished_at - self.started_at).total_seconds()
        return {
            "manifest": self.manifest,
            "server": self.server,
            "journal": self.journal,
            "workers": self.workers,
            "started_at": self.started_at.isoformat(timespec="seconds"),
            "finished_at": self.finished_at.isoformat(timespec="seconds"),
            "elapsed_seconds": round(elapsed, 3),
            "interrupted": self.interrupted,
            "ok": self.ok,
            "total": self.total,
            "counts": self.counts,
            "requests_sent": dict(self.requests_sent),
            "failures": [
                {
                    "row": r.row,
                    "source": r.source or None,
                    "ticket": r.ticket or None,
                    "status": r.status.value,
                    "error": type(r.error).__name__ if r.error is not None else None,
                    "error_code": r.error_code,
                    "http_status": r.error.http_status if r.error is not None else None,
                    "message": str(r.error) if r.error is not None else None,
                    "problems": [p.to_dict() for p in r.problems],
                }
                for r in self.failures
            ],
            "results": [r.to_dict() for r in sorted(self.results, key=lambda r: (r.source, r.row))],
        }

    def write_json(self, target: str | Path | IO[str]) -> None:
        """The report as JSON to a path (``-`` for stdout) or an open text file."""
        text = json.dumps(self.to_dict(), indent=2, ensure_ascii=False, default=str) + "\n"
        if isinstance(target, (str, Path)):
            if str(target) == "-":
                sys.stdout.write(text)
            else:
                Path(target).write_text(text, encoding="utf-8")
        else:
            target.write(text)

    def print(self, stream: TextIO | None = None) -> None:
        """The counts and the failures as tables."""
        from rich import box
        from rich.console import Console
        from rich.table import Table

        stream = stream or sys.stdout
        console = Console(file=stream, highlight=False, width=None if stream.isatty() else 160)
        ascii_box = box.ASCII if not stream.isatty() else box.SIMPLE_HEAD
        elapsed = (self.finished_at - self.started_at).total_seconds()
        console.print(
            f"batch: {self.total} row(s) in {elapsed:.1f} s with {self.workers} worker(s)"
            + (" (interrupted)" if self.interrupted else ""),
            markup=False,
        )
        counts = Table(box=ascii_box)
        counts.add_column("status")
        counts.add_column("rows", justify="right")
        for status, n in self.counts.items():
            if n or status in ("closed", "already_closed", "failed"):
                counts.add_row(status, str(n))
        console.print(counts)
        failures = self.failures
        if failures:
            console.print(f"{len(failures)} row(s) not closed:", markup=False)
            table = Table(box=ascii_box)
            for col in ("row", "ticket", "status", "error", "ErrorCode", "message"):
                table.add_column(col, overflow="fold")
            for r in failures:
                if r.status is BatchStatus.INVALID:
                    message = "; ".join(f"{p.field}: {p.problem}" for p in r.problems)
                else:
                    message = r.error.message if r.error is not None else ""
                table.add_row(
                    _where(r.source, r.row),
                    r.ticket,
                    r.status.value,
                    type(r.error).__name__ if r.error is not None else "",
                    r.error_code or "",
                    message,
                )
            console.print(table)


# -- the command line ----------------------------------------------------------------------------


def add_batch_command(
    subparsers: Any,
    connection_args_fn: Callable[[argparse.ArgumentParser], None],
    client_fn: Callable[[argparse.Namespace], ClosureClient],
    fail_fn: Callable[[OtrsClosureError, bool], int],
) -> argparse.ArgumentParser:
    """Register ``otrs-closure batch`` on the CLI's subparsers."""
    from otrs_closure.cli import EXIT_BATCH_FAILURES, EXIT_INPUT, EXIT_OK, EXIT_UNEXPECTED

    epilog = (
        "manifest columns (CSV header or JSONL keys), one closure a row:\n"
        "  ticket_number | ticket_id, kind (service_request, user_onboarding, incident),\n"
        "  description, access_url, login, password_env (the NAME of an environment variable\n"
        "  holding the onboarding password), problem, solution, signed_scan, editable\n"
        "  (paths relative to the manifest)\n\n"
        "exit codes:\n"
        f"  {EXIT_OK}    every row was closed or already closed\n"
        f"  {EXIT_INPUT}    bad settings or manifest, or invalid rows with --dry-run/--strict: nothing was sent\n"
        f"  {EXIT_BATCH_FAILURES}    at least one row invalid, failed or not run (see the summary and --report)\n"
        "  130  interrupted: the closures in progress were finished; run again to resume\n"
        f"  {EXIT_UNEXPECTED}    unexpected error (a bug: please report it)"
    )
    p: argparse.ArgumentParser = subparsers.add_parser(
        "batch",
        help="close the tickets of a CSV or JSONL manifest",
        description="Validate every row of MANIFEST, then close the valid rows with a pool of workers. "
        "Bad rows are reported all at once before anything is written.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("manifest", metavar="MANIFEST", help="a .csv (with a header row) or .jsonl file")
    p.add_argument("--workers", type=int, default=4, metavar="N", help="closures in parallel (default 4)")
    p.add_argument(
        "--rate-limit",
        type=float,
        default=None,
        metavar="PER_SECOND",
        help="at most this many closures started per second (each is 4-5 requests)",
    )
    p.add_argument(
        "--journal",
        metavar="PATH",
        help="SQLite journal: a re-run skips the rows it records closed and resumes the rest",
    )
    p.add_argument("--recheck", action="store_true", help="with --journal: ask the server about journaled rows too")
    p.add_argument("--report", metavar="FILE", help="write the summary as JSON to FILE ('-' for stdout)")
    p.add_argument("--dry-run", action="store_true", help="validate every row and stop; send nothing")
    p.add_argument("--strict", action="store_true", help="send nothing when any row is invalid")
    connection_args_fn(p)
    p.set_defaults(func=lambda args: cmd_batch(args, client_fn, fail_fn))
    return p


def cmd_batch(
    args: argparse.Namespace,
    client_fn: Callable[[argparse.Namespace], ClosureClient],
    fail_fn: Callable[[OtrsClosureError, bool], int],
) -> int:
    """``otrs-closure batch``: validate, report bad rows, run, summarise."""
    from otrs_closure.cli import EXIT_BATCH_FAILURES, EXIT_INPUT, EXIT_OK

    started = datetime.now(timezone.utc)
    err = sys.stderr
    try:
        _check_pool(args.workers, args.rate_limit)
        client = client_fn(args)
        items, problems = load_manifest(args.manifest, settings=client.settings, templates=client.templates)
        journal = Journal(args.journal, server=client.settings.service_url) if args.journal else None
    except OtrsClosureError as exc:
        return fail_fn(exc, False)

    invalid = BatchResult.invalid_rows(problems)
    total = len(items) + len(invalid)
    manifest = str(args.manifest)
    for r in invalid:
        print(f"otrs-closure: {r.describe()}", file=err)
    print(f"otrs-closure: {manifest}: {total} row(s): {len(items)} valid, {len(invalid)} invalid", file=err)

    def summary(results: list[BatchResult], interrupted: bool = False) -> BatchSummary:
        return BatchSummary(
            results=results,
            total=total,
            started_at=started,
            finished_at=datetime.now(timezone.utc),
            manifest=manifest,
            server=client.settings.service_url,
            workers=args.workers,
            journal=str(args.journal) if args.journal else None,
            interrupted=interrupted,
            requests_sent=client.requests_sent,
        )

    if args.dry_run or (args.strict and invalid):
        if journal is not None:
            skip = sum(1 for i in items if journal.is_closed(i))
            print(f"otrs-closure: the journal records {skip} of the valid row(s) closed", file=err)
            journal.close()
        why = "--dry-run" if args.dry_run else "--strict: invalid rows"
        print(f"otrs-closure: {why}: nothing sent", file=err)
        if args.report:
            summary(list(invalid)).write_json(args.report)
        return EXIT_INPUT if invalid else EXIT_OK

    results: list[BatchResult] = list(invalid)
    interrupted = False
    with client:
        try:
            with make_progress(len(items), err) as progress:
                for result in run_batch(
                    client,
                    items,
                    workers=args.workers,
                    rate_limit=args.rate_limit,
                    journal=journal,
                    progress=progress,
                    recheck=args.recheck,
                ):
                    results.append(result)
        except KeyboardInterrupt:
            interrupted = True
            print(
                "otrs-closure: interrupted: the closures in progress were finished; run the same command "
                "again to close the rest",
                file=err,
            )
        finally:
            if journal is not None:
                journal.close()
    done = summary(results, interrupted)
    done.print(sys.stdout if args.report != "-" else err)
    if args.report:
        done.write_json(args.report)
    if interrupted:
        return 130
    return EXIT_OK if done.ok else EXIT_BATCH_FAILURES
