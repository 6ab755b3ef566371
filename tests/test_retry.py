"""The declared retry policy, unit by unit (the HTTP-level behaviour is in test_client_retry)."""

from __future__ import annotations

import pytest

from otrs_closure import (
    AccessDenied,
    AuthenticationError,
    ClosureSettings,
    ConnectError,
    ConnectionDropped,
    InputError,
    InvalidParameter,
    ReadTimeout,
    RequestTooLarge,
    ServerError,
    TicketNotFound,
    TLSError,
    TransportError,
)
from otrs_closure._http.retry import RetryPolicy, WriteOutcome, is_retryable_read, write_outcome


def transport(kind: str, reached: bool) -> TransportError:
    cls = {"connect": ConnectError, "timeout": ReadTimeout, "dropped": ConnectionDropped, "tls": TLSError}[kind]
    exc = cls("x")
    assert (exc.kind, exc.may_have_reached_server) == (kind, reached)
    return exc


@pytest.mark.parametrize(
    ("exc", "read", "write"),
    [
        (transport("connect", False), True, WriteOutcome.NOT_SENT),
        (transport("timeout", True), True, WriteOutcome.UNKNOWN),
        (transport("dropped", True), True, WriteOutcome.UNKNOWN),
        # A request that cannot be made (bad URL or header) is a configuration error.
        (InputError("base_url", "the request cannot be made"), False, WriteOutcome.REJECTED),
        (transport("tls", False), False, WriteOutcome.REJECTED),
        (ServerError("500"), True, WriteOutcome.UNKNOWN),
        (ServerError("429", retry_after=3), True, WriteOutcome.UNKNOWN),
        (ServerError("deterministic 500", retryable=False), False, WriteOutcome.REJECTED),
        (RequestTooLarge("413"), False, WriteOutcome.REJECTED),
        (AccessDenied("denied"), False, WriteOutcome.REJECTED),
        (InvalidParameter("invalid"), False, WriteOutcome.REJECTED),
        (AuthenticationError("auth"), False, WriteOutcome.REJECTED),
        (TicketNotFound("none"), False, WriteOutcome.REJECTED),
        (ValueError("not ours"), False, WriteOutcome.REJECTED),
    ],
)
def test_classification(exc, read, write):
    assert is_retryable_read(exc) is read
    assert write_outcome(exc) is write


def test_retry_after_is_honoured_and_capped():
    p = RetryPolicy(retry_after_max=30)
    assert p.wait_seconds(1, ServerError("x", retry_after=7)) == 7
    assert p.wait_seconds(3, ServerError("x", retry_after=7)) == 7
    assert p.wait_seconds(1, ServerError("x", retry_after=999)) == 30
    assert p.wait_seconds(1, ServerError("x", retry_after=-5)) == 0


def test_backoff_doubles_with_jitter_and_is_bounded():
    p = RetryPolicy(backoff=0.5, backoff_max=8)
    for attempt, base in [(1, 0.5), (2, 1), (3, 2), (4, 4), (5, 8), (6, 8), (12, 8)]:
        for _ in range(20):
            w = p.wait_seconds(attempt, ServerError("x"))
            assert base / 2 <= w <= base


def test_zero_backoff_means_no_wait():
    assert RetryPolicy(backoff=0).wait_seconds(3, TransportError("x", may_have_reached_server=False)) == 0


def test_from_settings():
    s = ClosureSettings.build(
        base_url="https://m.example",
        username="u",
        password="p",
        owner_login="o",
        retry_attempts=7,
        retry_max_seconds=11,
        retry_backoff=0.1,
        retry_backoff_max=2,
        retry_after_max=5,
    )
    sleeps: list[float] = []
    p = RetryPolicy.from_settings(s, sleep=sleeps.append)
    assert (p.attempts, p.max_seconds, p.backoff, p.backoff_max, p.retry_after_max) == (7, 11, 0.1, 2, 5)
    p.sleep(1.5)
    assert sleeps == [1.5]


def run(policy_loop, failures: list[BaseException]) -> int:
    calls = {"n": 0}
    for attempt in policy_loop:
        with attempt:
            calls["n"] += 1
            if failures:
                raise failures.pop(0)
    return calls["n"]


def test_reads_loop_retries_until_success_and_sleeps_between():
    sleeps: list[float] = []
    p = RetryPolicy(attempts=4, sleep=sleeps.append)
    errors: list[BaseException] = [transport("timeout", True), ServerError("x", retry_after=2)]
    assert run(p.reads(), errors) == 3
    assert len(sleeps) == 2 and sleeps[1] == 2


def test_reads_loop_is_bounded_and_reraises_the_last_error():
    sleeps: list[float] = []
    p = RetryPolicy(attempts=3, sleep=sleeps.append)
    errors: list[BaseException] = [transport("connect", False) for _ in range(5)]
    with pytest.raises(TransportError):
        run(p.reads(), errors)
    assert len(errors) == 2 and len(sleeps) == 2


def test_reads_loop_does_not_retry_refusals():
    sleeps: list[float] = []
    with pytest.raises(AccessDenied):
        run(RetryPolicy(sleep=sleeps.append).reads(), [AccessDenied("no")])
    assert sleeps == []


def test_writes_loop_retries_not_sent_and_unknown_but_not_rejected():
    sleeps: list[float] = []
    p = RetryPolicy(attempts=5, sleep=sleeps.append)
    assert run(p.writes(), [transport("connect", False), transport("timeout", True), ServerError("5xx")]) == 4
    with pytest.raises(RequestTooLarge):
        run(p.writes(), [RequestTooLarge("413")])
    assert len(sleeps) == 3


def test_time_budget_stops_retrying(monkeypatch):
    """retry_max_seconds bounds the whole loop (tenacity measures time.monotonic)."""
    import time

    now = {"t": 1000.0}
    monkeypatch.setattr(time, "monotonic", lambda: now["t"])

    def sleep(seconds: float) -> None:
        now["t"] += 100

    p = RetryPolicy(attempts=20, max_seconds=150, sleep=sleep)
    errors: list[BaseException] = [transport("connect", False) for _ in range(20)]
    with pytest.raises(TransportError):
        run(p.reads(), errors)
    # t=1000 fails, sleep; 1100 fails, sleep; 1200 fails: 200 s >= 150 s, stop (the check follows an attempt).
    assert 20 - len(errors) == 3
