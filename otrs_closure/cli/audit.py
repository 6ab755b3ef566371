"""`otrs-closure audit`: check tickets closed by hand against the manual (reads only)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO

from otrs_closure.cli._common import (
    EXIT_AUDIT_NONCOMPLIANT,
    EXIT_INPUT,
    EXIT_OK,
    EXIT_TICKET,
    connection_args,
    fail,
    make_client,
)
from otrs_closure.errors import InputError, OtrsClosureError

__all__ = ["register", "cmd_audit", "parse_when"]


def parse_when(text: str, field: str) -> date | datetime:
    """``YYYY-MM-DD`` (a whole day), or a date and time (``2026-12-01 08:00``,
    ``2026-12-01T08:00:00-06:00``): without an offset it is the server's time."""
    value = text.strip()
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        if value.endswith(("Z", "z")):
            value = value[:-1] + "+00:00"
        return datetime.fromisoformat(value)
    except ValueError:
        raise InputError(field, "must be YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS][±HH:MM]") from None


def _check_output(path: str | None, field: str) -> None:
    """Refuse, before any request, a report path that cannot be written."""
    if path is None or path == "-":
        return
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise InputError(field, f"{path} is a directory")
    if not folder.is_dir():
        raise InputError(field, f"no such directory: {folder}")
    if not os.access(folder, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise InputError(field, f"{path} cannot be written")


@contextmanager
def _progress(stream: TextIO) -> Iterator[Any]:
    """A progress bar on a terminal (rich); nothing otherwise."""
    if not stream.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("auditing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=Console(file=stream)
    )
    task = bar.add_task("audit", total=None)

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    with bar:
        yield update


def cmd_audit(args: argparse.Namespace) -> int:
    """``otrs-closure audit``: select, read, judge, report."""
    try:
        if args.json and "-" in (args.csv, args.html):
            raise InputError("--csv/--html", "'-' (stdout) cannot be combined with --json")
        if args.csv == "-" and args.html == "-":
            raise InputError("--csv/--html", "only one report can go to stdout")
        _check_output(args.csv, "--csv")
        _check_output(args.html, "--html")
        since = parse_when(args.since, "--since") if args.since else None
        until = parse_when(args.until, "--until") if args.until else None
        client = make_client(args)
    except OtrsClosureError as exc:
        return fail(exc, False)
    with client:
        try:
            with _progress(sys.stderr) as progress:
                report = client.audit(
                    queue=args.queue or None,
                    state=args.state or None,
                    since=since,
                    until=until,
                    window=args.window,
                    ticket_numbers=args.ticket_number or None,
                    ticket_ids=args.ticket_id or None,
                    limit=args.limit,
                    workers=args.workers,
                    per_request=args.per_request,
                    progress=progress,
                )
        except OtrsClosureError as exc:
            return fail(exc, args.json)
    if args.json:
        report.write_json(sys.stdout)
    elif "-" not in (args.csv, args.html):
        report.print(sys.stdout)
    if args.csv:
        report.write_csv(args.csv)
    if args.html:
        report.write_html(args.html)
    s = report.summary
    print(
        f"otrs-closure: audit: {s.tickets} read, {s.compliant} compliant, {s.non_compliant} non-compliant"
        + (f", {s.unreadable} could not be read" if s.unreadable else ""),
        file=sys.stderr,
    )
    if report.unreadable:
        return EXIT_TICKET
    return EXIT_OK if report.compliant else EXIT_AUDIT_NONCOMPLIANT


def register(subparsers: Any) -> None:
    """Add ``audit`` to the CLI."""
    from otrs_closure.audit import PROBLEM_DESCRIPTIONS

    codes = "\n".join(f"  {p.value:<24} {text}" for p, text in PROBLEM_DESCRIPTIONS.items())
    epilog = (
        "problem codes:\n" + codes + "\n\n"
        "exit codes:\n"
        f"  {EXIT_OK}    every ticket read is compliant\n"
        f"  {EXIT_AUDIT_NONCOMPLIANT}    at least one ticket read is not compliant\n"
        f"  {EXIT_INPUT}    bad selection or settings: nothing was sent\n"
        "  5    the server refused the agent's credentials\n"
        f"  {EXIT_TICKET}    a listed ticket was not found or may not be read (the others are reported)\n"
        "  7    server or network failure"
    )
    p: argparse.ArgumentParser = subparsers.add_parser(
        "audit",
        help="check tickets closed by hand against the manual (reads only)",
        description="Read the selected tickets and report, for each, what the manual required and what is "
        "missing. Reads only: nothing is ever written. Select by search (--queue, --state, --since/--until) "
        "or list tickets (--ticket-number, --ticket-id).",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g = p.add_argument_group("selection")
    g.add_argument("--queue", action="append", metavar="NAME", help="queue to search (repeatable)")
    g.add_argument("--state", action="append", metavar="NAME", help="state to search (repeatable; default Atendido)")
    g.add_argument("--since", metavar="WHEN", help="YYYY-MM-DD or YYYY-MM-DD HH:MM (server time unless an offset)")
    g.add_argument("--until", metavar="WHEN", help="same; a date alone means the end of that day")
    g.add_argument(
        "--window",
        choices=["changed", "closed"],
        default="changed",
        help="--since/--until apply to the ticket's last change (default) or its close time",
    )
    g.add_argument("--ticket-number", action="append", metavar="N", help="audit this ticket (repeatable)")
    g.add_argument("--ticket-id", action="append", type=_ticket_id, metavar="ID", help="audit this TicketID")
    g.add_argument("--limit", type=int, default=10_000, metavar="N", help="read at most N tickets (default 10000)")
    o = p.add_argument_group("reports")
    o.add_argument("--json", action="store_true", help="print the JSON report on stdout instead of the tables")
    o.add_argument("--csv", metavar="FILE", help="write one row per ticket to FILE ('-': stdout)")
    o.add_argument("--html", metavar="FILE", help="write a self-contained HTML page to FILE")
    r = p.add_argument_group("reading")
    r.add_argument("--workers", type=int, default=4, metavar="N", help="requests in parallel (default 4)")
    r.add_argument("--per-request", type=int, default=20, metavar="N", help="TicketIDs per TicketGet (default 20)")
    connection_args(p)
    p.set_defaults(func=cmd_audit)


def _ticket_id(text: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise argparse.ArgumentTypeError("must be a TicketID (digits)")
    return int(text)
