"""The worker pool: closes the items with N threads sharing one client."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from otrs_closure._pool import TaskWindow, check_workers
from otrs_closure.batch.items import BatchItem, BatchResult, BatchStatus
from otrs_closure.client import ClosureClient
from otrs_closure.errors import AuthenticationError, InputError, OtrsClosureError, PartialClosure, TransportError

if TYPE_CHECKING:  # pragma: no cover
    from otrs_closure.batch.journal import Journal

log = logging.getLogger("otrs_closure.batch")

# -- the pool ------------------------------------------------------------------------------------


class _RateLimiter:
    """At most ``rate`` closures started per second (no bursts). Used by the one thread
    that starts closures, and sleeps with the client's ``sleep`` (its documented seam)."""

    def __init__(self, rate: float, sleep: Callable[[float], None]) -> None:
        self._interval = 1.0 / rate
        self._next: float | None = None
        self._sleep = sleep

    def wait(self) -> None:
        """Wait for the next start slot."""
        now = time.monotonic()
        slot = now if self._next is None else max(now, self._next)
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
    """A failure every other row would share: stop starting new rows. The agent's
    credentials refused; the attended state or the owner missing (the preflight); no
    session to be had (every row needs one); the server unreachable (refused, connect
    timeout, TLS: nothing about the ticket). A PartialClosure is judged by its cause."""
    if isinstance(error, PartialClosure):
        error = error.cause
    if error is None:
        return False
    if isinstance(error, AuthenticationError):
        return True
    if isinstance(error, InputError):
        return error.field in ("attended_state", "owner_login")
    if error.operation == "SessionCreate":
        return True
    return isinstance(error, TransportError) and error.kind in ("connect", "tls")


@dataclass
class _Run:
    client: ClosureClient
    journal: Journal | None
    rate: _RateLimiter | None
    halt: threading.Event | None = None  # the caller's: start no more rows
    claims: _Claims = field(default_factory=_Claims)
    stop: threading.Event = field(default_factory=threading.Event)  # ours: a systemic failure, or the end
    stopped_by: OtrsClosureError | None = None
    _stop_lock: threading.Lock = field(default_factory=threading.Lock)

    def stopping(self) -> bool:
        """Whether new rows must not start (a systemic failure, the caller's stop, the end)."""
        return self.stop.is_set() or (self.halt is not None and self.halt.is_set())

    def not_run(self, item: BatchItem) -> BatchResult:
        return BatchResult.for_item(item, BatchStatus.NOT_RUN, error=self.stopped_by)

    def close_one(self, item: BatchItem) -> BatchResult:
        """One row, in a worker thread. Never raises for the row's own failures."""
        if self.stopping():
            return self.not_run(item)
        started = time.perf_counter()
        if self.journal is not None:
            try:
                self.journal.record_start(item)
            except self.journal.Error as exc:  # a full disk, a locked file: fail the row before sending anything
                err = OtrsClosureError(f"the journal could not record the start ({exc}); nothing was sent")
                return BatchResult.for_item(item, BatchStatus.FAILED, error=err)
        client = self.client
        try:
            if item.ticket_id is not None:
                ticket_id = item.ticket_id
            else:
                assert item.ticket_number is not None
                ticket_id = client.resolve(item.ticket_number)
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
            try:
                self.journal.record_result(result)
            except self.journal.Error as exc:  # the closure stands; a re-run asks the server about it
                log.warning("%s: the journal could not record the result (%s)", item.where(), exc)
        if _systemic(result.error):
            self.stop_for(result.error)
        return result

    def stop_for(self, error: OtrsClosureError | None) -> None:
        """Stop starting rows because of ``error`` (the first one is kept: the rows not run
        carry it)."""
        with self._stop_lock:
            if self.stop.is_set():
                return
            self.stopped_by = error
            self.stop.set()
        log.error("stopping the batch: every other row would fail the same way: %s", error)

    def connect(self) -> bool:
        """Log in before the first row: a wrong URL, web service or password is one error,
        not one per row (each retrying SessionCreate)."""
        try:
            self.client.connect()
        except OtrsClosureError as exc:
            self.stop_for(exc)
            return False
        return True


def _with_closure_id(item: BatchItem, client: ClosureClient) -> BatchItem:
    if item.closure_id is not None:
        return item
    return replace(item, closure_id=client.validate(attention=item.attention, formats=item.formats))


def check_pool(workers: object, rate_limit: object) -> None:
    """:class:`InputError` unless ``workers`` is an integer from 1 to :data:`MAX_WORKERS` and
    ``rate_limit`` is None or a positive, finite number of closures per second."""
    check_workers(workers)
    if rate_limit is not None and (
        isinstance(rate_limit, bool)
        or not isinstance(rate_limit, (int, float))
        or not 0 < rate_limit < math.inf  # NaN fails both
    ):
        raise InputError("rate_limit", "must be a positive, finite number of closures per second")


def run_batch(
    client: ClosureClient,
    items: Iterable[BatchItem],
    workers: int = 4,
    rate_limit: float | None = None,
    journal: Journal | None = None,
    progress: Callable[[BatchResult], None] | None = None,
    *,
    recheck: bool = False,
    stop: threading.Event | None = None,
) -> Iterator[BatchResult]:
    """Close every item with ``workers`` threads sharing ``client``; yields one
    :class:`BatchResult` per item, in completion order.

    One :class:`~otrs_closure.ClosureClient` serves all workers: its transport lends each
    exchange a pyotrs client with its own keep-alive ``requests.Session`` (pyotrs's client is
    not thread-safe) and shares one GenericInterface session, so sessions are reused
    across tickets. ``rate_limit`` bounds the closures started per second (a closure is 4–5
    requests); the waits use the client's ``sleep``. ``journal`` skips rows it records
    closed (no request; never a row carrying a secret) and records each row as it starts
    and ends; ``recheck=True`` sends journaled rows to the server anyway.

    The client logs in (:meth:`~otrs_closure.ClosureClient.connect`) before the first row
    is sent; if that fails, every item is yielded ``not_run`` with that error. A failure in
    one row never stops the others. A failure every row would share (the agent's
    credentials refused, the attended state or the owner missing on the server, no session,
    the server unreachable) stops new rows from starting; they are yielded as ``not_run``
    carrying that error. Setting ``stop`` (from
    another thread or a signal handler) does the same: the closures in flight finish and
    are yielded, every other item is yielded ``not_run``. Items are read from ``items``
    lazily (at most ``2 × workers`` in flight).

    ``progress`` is called with each result as it is yielded — and, when the iterator is
    closed early (or an exception ends it), once more for each closure that was in flight
    and is waited for: a caller that collects results through ``progress`` misses none.

    Raises :class:`InputError` at once for a bad ``workers`` or ``rate_limit``."""
    check_pool(workers, rate_limit)
    rate = _RateLimiter(rate_limit, client.policy.sleep) if rate_limit else None
    run = _Run(client=client, journal=journal, rate=rate, halt=stop)
    return _run(run, items, workers, progress, recheck)


def _run(
    run: _Run, items: Iterable[BatchItem], workers: int, progress: Callable[[BatchResult], None] | None, recheck: bool
) -> Iterator[BatchResult]:
    def emit(result: BatchResult) -> BatchResult:
        if progress is not None:
            progress(result)
        return result

    source = iter(items)
    # Rate-limited, a row is submitted only when a worker is free, so that it starts in its slot.
    window = workers if run.rate is not None else 2 * workers
    pool = TaskWindow[BatchItem, BatchResult](workers, window=window, name="otrs-closure-batch")
    exhausted = False
    finished = False
    connected = False
    ready: list[tuple[BatchItem, Future[BatchResult]]] = []  # done, not yet handed out
    try:
        while True:
            while not exhausted and not run.stopping() and not pool.full:
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
                    if not recheck and run.journal.may_skip(item):
                        yield emit(BatchResult.for_item(item, BatchStatus.SKIPPED_JOURNAL))
                        continue
                if not connected and not (connected := run.connect()):
                    yield emit(run.not_run(item))
                    break
                if run.rate is not None:
                    run.rate.wait()
                    if run.stopping():
                        yield emit(run.not_run(item))
                        break
                pool.submit(run.close_one, item)
            if not len(pool):
                break
            ready = pool.completed(key=lambda i: i.row)
            while ready:
                _, fut = ready.pop(0)
                yield emit(fut.result())
        for item in source:  # stopped (or nothing left)
            yield emit(run.not_run(item))
        finished = True
    finally:
        run.stop.set()  # closures not yet started return at once
        in_flight = {**pool.pending, **{fut: item for item, fut in ready}}
        pool.close()
        if not finished and progress is not None:
            _report_abandoned(in_flight, run, progress)


def _report_abandoned(
    pending: dict[Future[BatchResult], BatchItem], run: _Run, progress: Callable[[BatchResult], None]
) -> None:
    """The iterator was closed early, or an exception ended it: hand ``progress`` the result
    of each closure that was in flight (waited for above), so none goes unreported."""
    for fut, item in sorted(pending.items(), key=lambda kv: kv[1].row):
        try:
            result = run.not_run(item) if fut.cancelled() or fut.exception() is not None else fut.result()
            progress(result)
        except Exception:  # reporting must not hide what ended the run
            log.exception("%s: could not report the result", item.where())
