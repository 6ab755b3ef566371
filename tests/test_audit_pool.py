"""The bounded pool the batch and the audit share: at most ``workers`` tasks run at once,
at most ``window`` are taken from the input ahead, every result comes back, the first
failure stops the rest, and closing early leaves no task running."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from otrs_closure._pool import MAX_WORKERS, bounded_map, check_workers
from otrs_closure.errors import InputError


def test_every_item_comes_back_once_with_at_most_workers_running() -> None:
    running, most, cond = 0, 0, threading.Condition()

    def work(n: int) -> int:
        nonlocal running, most
        with cond:
            running += 1
            most = max(most, running)
            cond.notify_all()
            cond.wait_for(lambda: running >= 3, timeout=0.5)  # let the pool show how many it runs
            running -= 1
        return n * n

    results = dict(bounded_map(work, range(20), workers=3))
    assert results == {n: n * n for n in range(20)}
    assert most == 3


def test_the_input_is_read_lazily_within_the_window() -> None:
    taken: list[int] = []
    release = threading.Event()

    def source() -> Iterator[int]:
        for n in range(100):
            taken.append(n)
            yield n

    def work(n: int) -> int:
        release.wait(5)
        return n

    results = bounded_map(work, source(), workers=2, window=4)
    threading.Timer(0.2, release.set).start()
    first = next(results)
    assert len(taken) <= 4 + 2  # the window, plus what replaced the first results
    assert first[0] in taken
    assert len(list(results)) == 99


def test_the_first_failure_is_raised_and_no_task_is_left_running() -> None:
    started: list[int] = []
    alive = threading.Event()

    def work(n: int) -> int:
        started.append(n)
        if n == 2:
            raise ValueError("boom")
        alive.set()
        threading.Event().wait(0.05)
        alive.clear()
        return n

    with pytest.raises(ValueError, match="boom"):
        for _ in bounded_map(work, range(1000), workers=2):
            pass
    assert len(started) < 1000
    assert not alive.is_set()  # the running tasks were waited for


def test_closing_early_waits_for_the_running_tasks() -> None:
    done: list[int] = []

    def work(n: int) -> int:
        threading.Event().wait(0.02)
        done.append(n)
        return n

    results = bounded_map(work, range(1000), workers=4)
    next(results)
    results.close()
    count = len(done)
    threading.Event().wait(0.1)
    assert len(done) == count < 1000


@pytest.mark.parametrize("bad", [0, -1, MAX_WORKERS + 1, 1.5, True, "4", None])
def test_workers_must_be_a_sensible_integer(bad: object) -> None:
    with pytest.raises(InputError) as caught:
        check_workers(bad)
    assert caught.value.field == "workers"
    assert check_workers(MAX_WORKERS) == MAX_WORKERS
