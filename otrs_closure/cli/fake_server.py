"""`otrs-closure fake-server`: the fake Znuny over loopback HTTP, for scripts in any language."""

from __future__ import annotations

import argparse
from typing import Any


def cmd_fake_server(args: argparse.Namespace) -> int:
    from otrs_closure.testing import run_fake_server

    return run_fake_server(
        port=args.port, seed=args.seed, latency=args.latency, host=args.host, profile=args.profile, tickets=args.tickets
    )


def register(subparsers: Any) -> None:
    """Add `fake-server` to the CLI."""
    fake = subparsers.add_parser("fake-server", help="serve the fake Znuny over loopback HTTP until Ctrl-C")
    fake.add_argument("--port", type=int, default=8080)
    fake.add_argument("--host", default="127.0.0.1")
    fake.add_argument("--seed", choices=["service_desk", "recordings"], default="service_desk")
    fake.add_argument("--latency", type=float, default=0.0, help="seconds of latency per request")
    fake.add_argument("--profile", default=None, help="system to behave like (default znuny-6.5.15; see README)")
    fake.add_argument("--tickets", type=int, default=0, help="service-desk tickets to create at start")
    fake.add_argument("-v", "--verbose", action="count", default=0)
    fake.set_defaults(func=cmd_fake_server)
