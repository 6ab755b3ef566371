"""The fake's controllable clock: real time plus an offset, or frozen.

Tests move it with :meth:`FakeClock.advance` (e.g. to expire sessions) instead of sleeping;
every time the fake renders ("YYYY-MM-DD HH:MM:SS", epoch seconds, ticket-number dates)
comes from here, in the fake's time zone.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from zoneinfo import ZoneInfo

__all__ = ["FakeClock"]


class FakeClock:
    """Epoch-seconds clock that either ticks with real time or stays frozen until moved."""

    def __init__(
        self, start: float | None = None, *, frozen: bool = False, timezone: str = "America/Mexico_City"
    ) -> None:
        self._lock = threading.Lock()
        self._tz = ZoneInfo(timezone)
        self._timezone = timezone
        now = time.time()
        self._frozen_at: float | None = (now if start is None else start) if frozen else None
        self._offset = 0.0 if start is None else start - now

    @property
    def timezone(self) -> str:
        """IANA name of the zone used to render times."""
        return self._timezone

    def now(self) -> float:
        """Current fake time, epoch seconds (float)."""
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return time.time() + self._offset

    def epoch(self) -> int:
        """Current fake time truncated to whole seconds, as Znuny stores it."""
        return int(self.now())

    def advance(self, seconds: float) -> float:
        """Move the clock forward (or back, if negative); returns the new time."""
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
                return self._frozen_at
            self._offset += seconds
            return time.time() + self._offset

    def set(self, epoch: float) -> None:
        """Jump to an absolute epoch time (keeps ticking from there unless frozen)."""
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at = epoch
            else:
                self._offset = epoch - time.time()

    def freeze(self) -> None:
        """Stop the clock at its current value."""
        current = self.now()
        with self._lock:
            self._frozen_at = current

    def unfreeze(self) -> None:
        """Let the clock tick with real time again, from its current value."""
        current = self.now()
        with self._lock:
            self._frozen_at = None
            self._offset = current - time.time()

    @property
    def frozen(self) -> bool:
        """Whether the clock is frozen."""
        return self._frozen_at is not None

    def datetime(self, epoch: float | None = None) -> datetime:
        """An aware datetime in the fake's zone (now, or for ``epoch``)."""
        return datetime.fromtimestamp(self.now() if epoch is None else epoch, self._tz)

    def render(self, epoch: float | None = None) -> str:
        """Znuny's time format ``YYYY-MM-DD HH:MM:SS`` in the fake's zone."""
        return self.datetime(epoch).strftime("%Y-%m-%d %H:%M:%S")

    def from_parts(self, year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> int:
        """Epoch seconds of a wall-clock time in the fake's zone (raises ValueError if invalid)."""
        return int(datetime(year, month, day, hour, minute, second, tzinfo=self._tz).timestamp())
