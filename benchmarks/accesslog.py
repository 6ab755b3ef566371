"""The server's own time per request, from an Apache access log whose last field is
``%D`` (microseconds from reading the request line to sending the last byte of the
answer; the lab's ``LogFormat "... \\"%{User-Agent}i\\" %D"``).

The log is read from an offset recorded before a phase (never truncated: other
engineers read the same logs), and its lines are matched to the requests the benchmark
timed on the client by User-Agent (one per side), method and path, in order.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict, deque
from dataclasses import dataclass

__all__ = ["LogLine", "offset", "read_from", "match"]

_LINE = re.compile(
    r'^\S+ \S+ \S+ \[[^\]]+\] "(?P<method>[A-Z]+) (?P<target>\S+) [^"]*" (?P<status>\d{3}) (?P<bytes>\S+) '
    r'"[^"]*" "(?P<agent>[^"]*)" (?P<micros>\d+)$'
)


@dataclass(frozen=True)
class LogLine:
    method: str
    path: str
    status: int
    sent: int  # bytes sent (%O, headers included)
    agent: str
    micros: int


def offset(path: str | None) -> int | None:
    """The log's size now (where a later read starts), or None when it cannot be read."""
    if not path:
        return None
    try:
        return os.path.getsize(path)
    except OSError:
        return None


def read_from(path: str | None, start: int | None, agents: set[str]) -> list[LogLine]:
    """The lines written since ``start`` by the given User-Agents."""
    if not path or start is None:
        return []
    try:
        with open(path, "rb") as fh:
            fh.seek(start)
            data = fh.read()
    except OSError:
        return []
    out = []
    for raw in data.decode("utf-8", "replace").splitlines():
        m = _LINE.match(raw)
        if not m or m["agent"] not in agents:
            continue
        out.append(LogLine(m["method"], m["target"].split("?", 1)[0], int(m["status"]),
                           int(m["bytes"]) if m["bytes"].isdigit() else 0, m["agent"], int(m["micros"])))
    return out


def match(records: list[tuple[str, str, str]], lines: list[LogLine]) -> list[LogLine | None]:
    """For each client-side record (agent, method, path), the log line of the same request:
    the first unmatched line with the same agent, method and path (requests of one ticket
    by one side are sequential, so their order is the log's)."""
    queues: dict[tuple[str, str, str], deque[LogLine]] = defaultdict(deque)
    for line in lines:
        queues[(line.agent, line.method, line.path)].append(line)
    out: list[LogLine | None] = []
    for key in records:
        q = queues.get(key)
        out.append(q.popleft() if q else None)
    return out
