"""CPU seconds used by a lab system's server side: its Apache (the parent, the children
it has reaped, and the live children) and the PostgreSQL backends of its database —
read from ``/proc``, so only on the server's own machine (as root for other users'
processes). On the lab all five systems share 2 CPUs with the benchmark itself, so a
closure's server CPU is what bounds the closures per second at many workers.

Clock ticks (10 ms) are summed over many closures; a backend or child that exits between
two samples takes its ticks into its parent (Apache's are counted, PostgreSQL's
postmaster is shared by the five systems and is not).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ServerCPU"]

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: str) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()  # fields from "state" on: [0]=state, [1]=ppid


def _cmdline(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


class ServerCPU:
    """``sample()`` → CPU seconds so far of one system's Apache and database backends."""

    def __init__(self, pidfile: str, database: str) -> None:
        self.pidfile = pidfile
        self.backend = f": {database} {database} "  # "postgres: 15/main: otrs otrs 127.0.0.1(…) idle"

    def sample(self) -> tuple[float, float] | None:
        try:
            parent = Path(self.pidfile).read_text().strip()
        except OSError:
            return None
        apache = pg = 0
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            st = _stat(pid)
            if st is None:
                continue
            # utime, stime = fields 14, 15 of stat; cutime, cstime = 16, 17 (1-based, pid and comm first)
            own = int(st[11]) + int(st[12])
            if pid == parent:
                apache += own + int(st[13]) + int(st[14])
            elif st[1] == parent:
                apache += own
            elif st[1] != "1" and self.backend in _cmdline(pid) and _cmdline(pid).startswith("postgres:"):
                pg += own
        return apache / _TICK, pg / _TICK
