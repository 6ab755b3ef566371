"""Bounded concurrency, shared by the batch and the audit: N threads, at most a window of
tasks in flight (so an input of any length is read lazily and memory stays bounded),
results handed back as they complete, and — however the caller stops — no task left
running behind it.

One :class:`~otrs_closure.ClosureClient` is shared by every thread (one GenericInterface
session, one keep-alive pool); this module knows nothing of tickets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Generic, TypeVar

from otrs_closure.errors import InputError

__all__ = ["MAX_WORKERS", "check_workers", "TaskWindow", "bounded_map"]

#: The most threads one client is given (its connection pool keeps as many keep-alive connections).
MAX_WORKERS = 64

T = TypeVar("T")
R = TypeVar("R")


def check_workers(workers: object, field: str = "workers") -> int:
    """``workers`` if it is an integer from 1 to :data:`MAX_WORKERS`; :class:`InputError` otherwise."""
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS:
        raise InputError(field, f"must be an integer from 1 to {MAX_WORKERS}")
    return workers


class TaskWindow(Generic[T, R]):
    """A thread pool with at most ``window`` tasks in flight (default ``2 × workers``).

    Use as a context manager: leaving it cancels the tasks not started and waits for the
    running ones, so nothing outlives the caller's loop."""

    def __init__(self, workers: int, *, window: int | None = None, name: str = "otrs-closure") -> None:
        self.window = window if window is not None else 2 * workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._pending: dict[Future[R], T] = {}

    def __enter__(self) -> TaskWindow[T, R]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        return len(self._pending)

    @property
    def full(self) -> bool:
        """Whether the window is full (submit no more before :meth:`completed`)."""
        return len(self._pending) >= self.window

    @property
    def pending(self) -> dict[Future[R], T]:
        """The tasks in flight and their items (a copy)."""
        return dict(self._pending)

    def submit(self, fn: Callable[[T], R], item: T) -> None:
        self._pending[self._pool.submit(fn, item)] = item

    def completed(self, key: Callable[[T], Any] | None = None) -> list[tuple[T, Future[R]]]:
        """Wait until at least one task is done; take every done task out of the window,
        ordered by ``key`` of its item (completion order is arbitrary within one wait)."""
        if not self._pending:
            return []
        done, _ = wait(self._pending, return_when=FIRST_COMPLETED)
        ready = [(self._pending.pop(f), f) for f in done]
        if key is not None:
            ready.sort(key=lambda pair: key(pair[0]))
        return ready

    def close(self) -> None:
        """Cancel the tasks not started; wait for the running ones."""
        for fut in self._pending:
            fut.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)


def bounded_map(
    fn: Callable[[T], R], items: Iterable[T], *, workers: int, window: int | None = None, name: str = "otrs-closure"
) -> Iterator[tuple[T, R]]:
    """``(item, fn(item))`` for every item, computed by ``workers`` threads with at most
    ``window`` in flight, yielded as they complete. The first exception a task raises is
    raised here (the tasks not started are cancelled, the running ones waited for); so is
    closing the iterator early."""
    source = iter(items)
    exhausted = False
    with TaskWindow[T, R](workers, window=window, name=name) as tasks:
        while True:
            while not exhausted and not tasks.full:
                try:
                    item = next(source)
                except StopIteration:
                    exhausted = True
                    break
                tasks.submit(fn, item)
            if not len(tasks):
                return
            for item, fut in tasks.completed():
                yield item, fut.result()
