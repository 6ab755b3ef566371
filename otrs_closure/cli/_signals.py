"""SIGINT and SIGTERM during a batch: stop starting closures, finish the ones in flight.

systemd, container runtimes and CI timeouts stop a process with SIGTERM, people with
Ctrl-C (SIGINT). Either one, the first time, only asks the batch to start no more rows:
the closures in flight finish, and the summary and the report are written. A second
signal ends the process at once, as it would have without this handler (the journal and
a re-run settle what was cut short: ``close()`` decides from the ticket).
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
EXIT_TERMINATED = 143  # 128 + SIGTERM

_HANDLED = (signal.SIGINT, signal.SIGTERM)


class StopOnSignal:
    """A context manager: while inside, the first SIGINT or SIGTERM sets :attr:`stop` and
    records :attr:`received`; the handlers in place before are restored on exit. Outside
    the main thread (where Python cannot install handlers) it does nothing."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.received: signal.Signals | None = None
        self._previous: dict[signal.Signals, Any] = {}

    def __enter__(self) -> StopOnSignal:
        if threading.current_thread() is threading.main_thread():
            for sig in _HANDLED:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        # Only flag setting here: printing from a signal handler can hit a stream the main
        # thread is writing to (a "reentrant call" error). Event.is_set() takes no lock.
        self.received = signal.Signals(signum)
        self.stop.set()
        for sig in _HANDLED:
            signal.signal(sig, signal.SIG_DFL)  # a second signal ends the process at once

    @property
    def exit_code(self) -> int | None:
        """130 after SIGINT, 143 after SIGTERM, None when no signal came."""
        if self.received is None:
            return None
        return EXIT_TERMINATED if self.received == signal.SIGTERM else EXIT_INTERRUPTED
