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
  rate limit bounds the closures started per second. The client logs in once before the
  first row; if that fails, every row is ``not_run``. A failure in one row never stops the
  others; only a failure that every row would share (the agent's credentials refused, no
  session, the server unreachable, the attended state or the owner missing on the server)
  stops the batch early, and the rows not attempted are reported ``not_run``.
* **The journal** (:class:`Journal`, stdlib :mod:`sqlite3`): one row per (server, ticket,
  closure identity), written by the worker as soon as a closure starts and as soon as it
  ends. It is advisory: the only thing it is ever used for is to *skip* a row it recorded
  as closed on the same server with the same closure identity (no request at all); every
  other row — never seen, started but not finished (a killed run), failed, and every row
  that carries a secret (an onboarding: the closure identity leaves its password out, so
  the journal cannot tell a corrected password from the old one) — goes to the
  server through ``close()``, whose assessment of the ticket decides what is still to do,
  so a re-run never redoes a finished step and never doubles a note. ``recheck=True``
  (CLI ``--recheck``) sends even journaled rows to the server (two reads each when the
  ticket still shows the closure).
* **The summary** (:class:`BatchSummary`): counts per status, and for each failure the
  ticket, the typed error and the server's ErrorCode — as a table (``rich``) and as JSON.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from otrs_closure.batch.items import BatchItem, BatchResult, BatchStatus, RowProblem
from otrs_closure.batch.manifest import COLUMNS, KINDS, load_manifest, manifest_format
from otrs_closure.batch.password_env import DEFAULT_PASSWORD_ENV, PASSWORD_ENV_PREFIX
from otrs_closure.batch.report import BatchSummary, make_progress
from otrs_closure.batch.runner import run_batch

if TYPE_CHECKING:  # pragma: no cover
    from otrs_closure.batch.journal import Journal, JournalEntry


def __getattr__(name: str) -> Any:
    # The journal (sqlite3) is loaded when first named: reading a manifest does not need it.
    if name in ("Journal", "JournalEntry"):
        from otrs_closure.batch import journal

        return getattr(journal, name)
    raise AttributeError(f"module 'otrs_closure.batch' has no attribute {name!r}")


__all__ = [
    "COLUMNS",
    "KINDS",
    "DEFAULT_PASSWORD_ENV",
    "PASSWORD_ENV_PREFIX",
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
]
