"""The ``otrs-closure`` command line, thin over the library (which never imports it).

Secrets never travel on argv: the agent password comes from ``OTRS_CLOSURE_PASSWORD``,
the onboarding password from ``--password-stdin`` or an environment variable.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from otrs_closure.cli import audit, batch, close, demo, fake_server
from otrs_closure.cli._common import (
    EXIT_AUDIT_NONCOMPLIANT,
    EXIT_AUTH,
    EXIT_BATCH_FAILURES,
    EXIT_BROKEN_PIPE,
    EXIT_CODES,
    EXIT_CONFLICT,
    EXIT_INPUT,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_SERVER,
    EXIT_TICKET,
    EXIT_UNEXPECTED,
)
from otrs_closure.cli._signals import EXIT_INTERRUPTED, EXIT_TERMINATED

__all__ = [
    "main",
    "build_parser",
    "EXIT_CODES",
    "EXIT_OK",
    "EXIT_UNEXPECTED",
    "EXIT_INPUT",
    "EXIT_CONFLICT",
    "EXIT_PARTIAL",
    "EXIT_AUTH",
    "EXIT_TICKET",
    "EXIT_SERVER",
    "EXIT_BATCH_FAILURES",
    "EXIT_INTERRUPTED",
    "EXIT_BROKEN_PIPE",
    "EXIT_TERMINATED",
    "EXIT_AUDIT_NONCOMPLIANT",
]


def _version() -> str:
    """The installed distribution's version (the package's own when not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("otrs_closure")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        from otrs_closure import __version__

        return __version__


def build_parser() -> argparse.ArgumentParser:
    epilog = "exit codes:\n" + "\n".join(f"  {k:<4} {v}" for k, v in EXIT_CODES.items())
    parser = argparse.ArgumentParser(
        prog="otrs-closure",
        description="Close OTRS/Znuny Service Desk tickets as the agent manual prescribes.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"otrs-closure {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in (close, demo, fake_server, batch, audit):
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.verbose:
        logging.basicConfig(
            level=logging.DEBUG if args.verbose > 1 else logging.INFO,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            stream=sys.stderr,
        )
        # urllib3's DEBUG request lines carry the SessionID of GET requests.
        logging.getLogger("urllib3").setLevel(logging.INFO)
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``otrs-closure demo | head``): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
