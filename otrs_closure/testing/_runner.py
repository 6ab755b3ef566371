"""``run_fake_server``: the blocking entry point behind ``otrs-closure fake-server``."""

from __future__ import annotations

import time

from otrs_closure.testing._fake import FakeZnuny

__all__ = ["run_fake_server", "SEEDS"]

#: Seed names accepted by :func:`run_fake_server`.
SEEDS = ("service_desk", "recordings")


def run_fake_server(port: int, seed: str = "service_desk", latency: float = 0.0, host: str = "127.0.0.1") -> None:
    """Serve a seeded FakeZnuny until Ctrl-C; prints the base URL and the seeded credentials."""
    # a long-running server must not keep every request (and attachment) in memory
    options = {"record_bodies": False, "max_records": 10_000}
    if seed == "service_desk":
        fake = FakeZnuny.service_desk(**options)
    elif seed in ("recordings", "like_recordings"):
        fake = FakeZnuny.like_recordings(**options)
    else:
        raise ValueError(f"unknown seed {seed!r} (choose from {', '.join(SEEDS)})")
    with fake.serve(port=port, latency=latency, host=host) as base_url:
        print(f"Fake Znuny 6.5 ({seed}) listening on {base_url}", flush=True)
        print(f"Web service: {fake.webservice}; latency per request: {latency}s", flush=True)
        print("Seeded users (login / password):", flush=True)
        for login, password in fake.credentials.items():
            print(f"  {login} / {password}", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("Stopped.", flush=True)
