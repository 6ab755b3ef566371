"""The worker pool: closes the items with N threads sharing one client."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace

from otrs_closure._pool import TaskWindow, check_workers
from otrs_closure.batch.items import BatchItem, BatchResult, BatchStatus
from otrs_closure.batch.journal import Journal
from otrs_closure.client import ClosureClient
from otrs_closure.errors import AuthenticationError, InputError, OtrsClosureError

log = logging.getLogger("otrs_closure.batch")

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
            self.journal.record_result(result)
        if _systemic(result.error) and not self.stop.is_set():
            self.stopped_by = result.error
            self.stop.set()
            log.error("stopping the batch: %s", result.error)
        return result


def _with_closure_id(item: BatchItem, client: ClosureClient) -> BatchItem:
    if item.closure_id is not None:
        return item
    return replace(item, closure_id=client.validate(attention=item.attention, formats=item.formats))


def _check_pool(workers: object, rate_limit: object) -> None:
    check_workers(workers)
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
    exhausted = False
    with TaskWindow[BatchItem, BatchResult](workers, name="otrs-closure-batch") as pool:
        try:
            while True:
                while not exhausted and not run.stop.is_set() and not pool.full:
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
                    pool.submit(run.close_one, item)
                if not len(pool):
                    break
                for _, fut in pool.completed(key=lambda i: i.row):
                    yield emit(fut.result())
            if run.stop.is_set():
                for item in source:
                    yield emit(BatchResult.for_item(item, BatchStatus.NOT_RUN, error=run.stopped_by))
        finally:
            run.stop.set()  # closures not yet started return at once
