"""The batch journal (SQLite): what each closure of a batch did, for resuming."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from otrs_closure.batch.items import BatchItem, BatchResult, BatchStatus
from otrs_closure.errors import InputError

log = logging.getLogger("otrs_closure.batch")

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


_COLUMNS = {
    "meta": {"key", "value"},
    "closures": {
        "server",
        "ticket_key",
        "closure_id",
        "status",
        "ticket_id",
        "ticket_number",
        "row",
        "source",
        "attempts",
        "error",
        "receipt",
        "updated_at",
    },
}


class Journal:
    """A batch journal in an SQLite file, keyed by (server, ticket, closure identity).

    Advisory: a row recorded ``closed`` for the same server and the same closure identity
    is skipped without a request (:meth:`may_skip`; never a row carrying a secret, such as
    an onboarding); everything else is decided by the server (``close()`` is idempotent
    against what the ticket shows). Each record is committed at once (WAL), so a
    killed process loses at most the closures it was running, which a re-run settles.
    Thread-safe (one connection behind a lock). One process at a time: on POSIX an
    exclusive ``flock`` on ``<file>.lock`` next to the real file (symlinks resolved; released
    by the kernel even if the process is killed) refuses a second batch on the same journal,
    whose closures could race. A database that is not a journal is refused untouched."""

    #: What a failing journal raises (its storage's error), for callers that carry on without it.
    Error = sqlite3.Error

    SCHEMA_VERSION = "1"

    def __init__(self, path: str | Path, *, server: str) -> None:
        self.path = Path(path)
        # The real file, every symlink resolved: two batches reaching one journal by two
        # names must lock (and open) the same file.
        self._real = self.path.expanduser().resolve()
        self.server = server
        self._lock = threading.Lock()
        self._lock_fd: int | None = None
        self._take_process_lock()
        db: sqlite3.Connection | None = None
        try:
            db = sqlite3.connect(str(self._real), timeout=30.0, check_same_thread=False, isolation_level=None)
            self._check_is_journal(db)  # before any write: another application's database stays as it was
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            found = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if found is None:
                db.execute("INSERT INTO meta (key, value) VALUES ('schema', ?)", (self.SCHEMA_VERSION,))
        except BaseException as exc:  # refused: release the connection and the process lock
            if db is not None:
                db.close()
            self._release_process_lock()
            if isinstance(exc, sqlite3.DatabaseError):
                raise InputError("journal", f"{self.path.name} is not a usable SQLite journal ({exc})") from None
            raise
        self._db = db

    def _check_is_journal(self, db: sqlite3.Connection) -> None:
        """An empty database becomes a journal; one with tables must be a journal of this
        schema (the same tables and columns), or it is refused untouched."""
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables:
            return
        not_ours = InputError(
            "journal", f"{self.path.name} is an SQLite database but not an otrs-closure journal: name a new file"
        )
        for table, columns in _COLUMNS.items():
            if table not in tables or {r[1] for r in db.execute(f"PRAGMA table_info({table})")} != columns:
                raise not_ours
        found = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if found is None:
            raise not_ours
        if found[0] != self.SCHEMA_VERSION:
            raise InputError(
                "journal", f"{self.path.name} has journal schema {found[0]}, expected {self.SCHEMA_VERSION}"
            )

    def _take_process_lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return
        lock_path = self._real.with_name(self._real.name + ".lock")
        if not lock_path.parent.is_dir():
            raise InputError("journal", f"no such folder: {lock_path.parent}")
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise InputError("journal", f"cannot create {lock_path} ({exc.strerror})") from None
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

    def may_skip(self, item: BatchItem) -> bool:
        """Whether a batch may skip ``item`` without asking the server: the journal records
        its closure finished on this server, and the closure identity covers all of the
        item. An item that carries a secret (an onboarding: its password is left out of the
        identity) never is — the journal would call a corrected password done while the
        ticket shows the old one; ``close()`` decides from the ticket instead. A journal that
        cannot be read skips nothing."""
        if item.carries_secret:
            return False
        try:
            return self.is_closed(item)
        except sqlite3.Error as exc:
            log.warning("%s: the journal could not be read (%s); asking the server", item.where(), exc)
            return False

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
