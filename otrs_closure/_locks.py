"""Serialising closures of one ticket: across the threads of a client always, and across
the processes of a host with ``lock_dir`` (an exclusive ``flock`` per server address and
TicketID, released by the kernel when the holder exits or is killed).

The lock names the server by where it is, not by how a URL spells it: the host is
resolved to its addresses and the port made explicit, so ``http://localhost:P``,
``http://127.0.0.1:P`` and ``HTTP://LOCALHOST:P/`` take the same lock. A name that
resolves to several addresses takes a lock per address (in sorted order, so two
closures never wait on each other crosswise).
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["TicketLocks", "server_addresses"]


def server_addresses(base_url: str) -> list[str]:
    """``address:port`` of every address the URL's host resolves to (the spelling itself
    when it does not resolve), sorted."""
    parts = urlsplit(base_url)
    host = (parts.hostname or "").lower().rstrip(".")
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = {str(info[4][0]) for info in infos}
    except (OSError, UnicodeError):
        addresses = {host}
    return sorted(f"{a}:{port}" for a in addresses)


class TicketLocks:
    """Per-ticket locks of one client."""

    def __init__(self, base_url: str, lock_dir: Path | None) -> None:
        self._lock_dir = lock_dir
        self._base_url = base_url
        self._addresses: list[str] | None = None
        self._threads: dict[int, threading.Lock] = {}
        self._guard = threading.Lock()

    def _thread_lock(self, ticket: int) -> threading.Lock:
        with self._guard:
            return self._threads.setdefault(ticket, threading.Lock())

    def _files(self, ticket: int) -> list[Path]:
        assert self._lock_dir is not None
        if self._addresses is None:  # resolved once, on the first closure
            self._addresses = server_addresses(self._base_url)
        names = [hashlib.sha256(a.encode()).hexdigest()[:16] for a in self._addresses]
        return [self._lock_dir / f"otrs-closure-{n}-{ticket}.lock" for n in sorted(names)]

    @contextmanager
    def hold(self, ticket: int) -> Iterator[None]:
        """Hold the ticket's locks for the duration of one closure."""
        with self._thread_lock(ticket):
            if self._lock_dir is None:
                yield
                return
            import fcntl

            with ExitStack() as stack:
                for path in self._files(ticket):
                    # The file is left in place: removing it could let two processes lock
                    # different files of the same name.
                    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
                    stack.callback(os.close, fd)  # closing releases the flock
                    fcntl.flock(fd, fcntl.LOCK_EX)
                yield
