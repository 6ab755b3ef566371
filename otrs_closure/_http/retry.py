"""The one declared retry policy (on tenacity): which failures are retried, how many
times, how long, and what a failed *write* means. The decisions are the two functions
below — :func:`is_retryable_read` and :func:`write_outcome` — and the waits are
:class:`RetryPolicy`'s; the README's "Faults" section tabulates them with their reasons.

The classification they read (``ServerError.retryable``, the :class:`TransportError`
subclasses and ``may_have_reached_server``) is made where the answer is read, in
:mod:`otrs_closure._http.answers` and :mod:`otrs_closure._http.wire`.

Attempts (first included) and the total time are bounded by
``ClosureSettings.retry_attempts`` and ``retry_max_seconds``; after a write whose
outcome is unknown the ticket is re-read after at least ``retry_write_settle`` seconds,
and re-read again (:meth:`RetryPolicy.poll_waits`) for up to ``retry_write_poll``
seconds before the write is resent.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

import tenacity

from otrs_closure.errors import OtrsClosureError, ServerError, TLSError, TransportError

if TYPE_CHECKING:  # pragma: no cover
    from otrs_closure.settings import ClosureSettings

__all__ = ["RetryPolicy", "WriteOutcome", "write_outcome", "is_retryable_read"]


log = logging.getLogger("otrs_closure.retry")


class WriteOutcome(Enum):
    """What a failed write may have done on the server."""

    NOT_SENT = "not_sent"  # cannot have reached the server: safe to resend
    UNKNOWN = "unknown"  # may have been applied: re-read the ticket, then decide
    REJECTED = "rejected"  # the server refused it, or resending cannot help: never retried


def is_retryable_read(exc: BaseException) -> bool:
    """Whether a failed read is worth another attempt."""
    if isinstance(exc, TLSError):
        return False
    if isinstance(exc, TransportError):
        return True
    if isinstance(exc, ServerError):
        return exc.retryable
    return False


def write_outcome(exc: BaseException) -> WriteOutcome:
    """Classify a failed TicketUpdate."""
    if isinstance(exc, TLSError):
        return WriteOutcome.REJECTED
    if isinstance(exc, TransportError):
        return WriteOutcome.UNKNOWN if exc.may_have_reached_server else WriteOutcome.NOT_SENT
    if isinstance(exc, ServerError) and exc.retryable:
        return WriteOutcome.UNKNOWN
    return WriteOutcome.REJECTED


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds and waits of the retries; build one from settings with :meth:`from_settings`."""

    attempts: int = 4
    max_seconds: float = 60.0
    backoff: float = 0.5
    backoff_max: float = 8.0
    retry_after_max: float = 30.0
    write_settle: float = 2.0
    write_poll: float = 10.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)

    @classmethod
    def from_settings(cls, s: ClosureSettings, sleep: Callable[[float], None] = time.sleep) -> RetryPolicy:
        return cls(
            attempts=s.retry_attempts,
            max_seconds=s.retry_max_seconds,
            backoff=s.retry_backoff,
            backoff_max=s.retry_backoff_max,
            retry_after_max=s.retry_after_max,
            write_settle=s.retry_write_settle,
            write_poll=s.retry_write_poll,
            sleep=sleep,
        )

    def wait_seconds(self, attempt_number: int, exc: BaseException | None) -> float:
        """Retry-After when the server sent one (capped), else exponential backoff with jitter."""
        if isinstance(exc, ServerError) and exc.retry_after is not None:
            return max(0.0, min(exc.retry_after, self.retry_after_max))
        base: float = min(self.backoff * 2.0 ** (attempt_number - 1), self.backoff_max)
        return base * (0.5 + random.random() / 2)

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        return self.wait_seconds(state.attempt_number, exc)

    def _before_sleep(self, state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        what = type(exc).__name__ if exc else "?"
        detail = str(exc) if isinstance(exc, OtrsClosureError) else what
        log.info("retrying after attempt %d failed (%s); waiting %.2fs", state.attempt_number, detail, wait)

    def _retrying(self, predicate: Callable[[BaseException], bool]) -> tenacity.Retrying:
        return tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.attempts) | tenacity.stop_before_delay(self.max_seconds),
            wait=self._wait,
            retry=tenacity.retry_if_exception(predicate),
            before_sleep=self._before_sleep,
            sleep=self.sleep,
            reraise=True,
        )

    def reads(self) -> tenacity.Retrying:
        """The retrying loop for SessionCreate, TicketSearch and TicketGet."""
        return self._retrying(is_retryable_read)

    def _wait_write(self, state: tenacity.RetryCallState) -> float:
        # After an UNKNOWN outcome the ticket is re-read next: give a server that may still
        # be processing the write (a proxy timed out, not Znuny) time to finish first.
        exc = state.outcome.exception() if state.outcome else None
        wait = self._wait(state)
        if exc is not None and write_outcome(exc) is WriteOutcome.UNKNOWN:
            wait = max(wait, self.write_settle)
        return wait

    def poll_waits(self) -> list[float]:
        """The waits between the re-reads that look for a write whose outcome is unknown,
        after the first one: doubling from 0.5 s, in all at most ``write_poll`` seconds
        (a list, so the count is bounded whatever the clock does)."""
        waits: list[float] = []
        step, total = 0.5, 0.0
        while total + step <= self.write_poll + 1e-9:
            waits.append(step)
            total += step
            step = min(step * 2, 4.0)
        if total < self.write_poll - 1e-9:
            waits.append(self.write_poll - total)
        return waits

    def writes(self) -> tenacity.Retrying:
        """The retrying loop for one TicketUpdate step: every attempt after an UNKNOWN
        outcome waits at least ``write_settle`` seconds and must first re-read the ticket
        (the closure workflow does that)."""
        retrying = self._retrying(lambda e: write_outcome(e) is not WriteOutcome.REJECTED)
        return retrying.copy(wait=self._wait_write)
