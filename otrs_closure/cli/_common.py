"""What every subcommand shares: exit codes, connection options, the client, failure output."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from otrs_closure.cli._signals import EXIT_INTERRUPTED, EXIT_TERMINATED
from otrs_closure.client import ClosureClient
from otrs_closure.errors import (
    AccessDenied,
    AuthenticationError,
    ClosureConflict,
    InputError,
    NoteVisibleToCustomer,
    OtrsClosureError,
    PartialClosure,
    ServerCompatibilityError,
    TicketNotFound,
)
from otrs_closure.results import ClosureReceipt

# Documented exit codes (README, "CLI"); 130 and 143 are 128 + the signal, as shells report them.
EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_INPUT = 2
EXIT_CONFLICT = 3
EXIT_PARTIAL = 4
EXIT_AUTH = 5
EXIT_TICKET = 6
EXIT_SERVER = 7
EXIT_BATCH_FAILURES = 8
EXIT_AUDIT_NONCOMPLIANT = 9
EXIT_VISIBLE = 10
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE
EXIT_CODES = {
    EXIT_OK: "closed, or found already closed",
    EXIT_UNEXPECTED: "unexpected error (a bug: please report it)",
    EXIT_INPUT: "bad input or settings, or a server whose note fields cannot be established; nothing was written",
    EXIT_CONFLICT: "the ticket already carries a different closure (run again with --reclose to add this one)",
    EXIT_PARTIAL: "writing started but did not finish; run the same command again",
    EXIT_AUTH: "the server refused the agent's credentials",
    EXIT_TICKET: "ticket not found, or no permission on it",
    EXIT_SERVER: "server or network failure before anything was written",
    EXIT_BATCH_FAILURES: "batch: at least one row failed, was invalid or was not run (see the report)",
    EXIT_AUDIT_NONCOMPLIANT: "audit: at least one ticket read is not compliant (see the report)",
    EXIT_VISIBLE: "the server shows the closure note as visible to the customer: review the ticket now",
    EXIT_INTERRUPTED: "interrupted (SIGINT, Ctrl-C); a batch finished the closures in progress first",
    EXIT_BROKEN_PIPE: "the output pipe closed (e.g. piped into head)",
    EXIT_TERMINATED: "batch: terminated (SIGTERM) after finishing the closures in progress",
}


def exit_code(exc: OtrsClosureError) -> int:
    for cls, code in (
        (InputError, EXIT_INPUT),
        (ServerCompatibilityError, EXIT_INPUT),
        (NoteVisibleToCustomer, EXIT_VISIBLE),
        (ClosureConflict, EXIT_CONFLICT),
        (PartialClosure, EXIT_PARTIAL),
        (AuthenticationError, EXIT_AUTH),
        (TicketNotFound, EXIT_TICKET),
        (AccessDenied, EXIT_TICKET),
    ):
        if isinstance(exc, cls):
            return code
    return EXIT_SERVER


def connection_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(
        "connection (default: OTRS_CLOSURE_* variables; the agent password only from OTRS_CLOSURE_PASSWORD)"
    )
    g.add_argument("--base-url", help="server root (OTRS_CLOSURE_BASE_URL)")
    g.add_argument("--username", help="closing agent's login (OTRS_CLOSURE_USERNAME)")
    g.add_argument("--owner-login", help="login of 'Agente Mesa de Servicio' (OTRS_CLOSURE_OWNER_LOGIN)")
    g.add_argument("--webservice", help="web service name (OTRS_CLOSURE_WEBSERVICE)")
    g.add_argument("--insecure", action="store_true", help="do not verify the server's TLS certificate")
    g.add_argument("-v", "--verbose", action="count", default=0, help="log to stderr (-vv: debug)")


def make_client(args: argparse.Namespace) -> ClosureClient:
    overrides: dict[str, Any] = {
        "base_url": args.base_url,
        "username": args.username,
        "owner_login": args.owner_login,
        "webservice": args.webservice,
    }
    if getattr(args, "insecure", False):
        overrides["verify_tls"] = False
    return ClosureClient.from_env(**overrides)


def print_receipt(receipt: ClosureReceipt, as_json: bool) -> None:
    if as_json:
        print(receipt.model_dump_json(indent=2))
        return
    print(f"ticket        {receipt.ticket_number} (TicketID {receipt.ticket_id})")
    print(f"closure       {receipt.closure_id}")
    print(f"attended at   {receipt.attended_at.isoformat() if receipt.attended_at else '-'}")
    print(f"state         {receipt.state}")
    print(f"owner         {receipt.owner}")
    print(f"note          ArticleID {receipt.note_article_id}")
    print(f"owner note    ArticleID {receipt.owner_article_id}")
    for a in receipt.attachments:
        print(f"attachment    {a.filename} ({a.size} bytes, {a.content_type})")
    steps = ", ".join(f"{k}={v.value}" for k, v in receipt.steps.model_dump().items())
    print(f"steps         {steps}")
    print(f"writes sent   {receipt.writes_sent}")


def _cli_words(exc: OtrsClosureError) -> str:
    """The error as the CLI says it: a conflict's remedy is its command-line option."""
    if isinstance(exc, ClosureConflict):
        return OtrsClosureError(
            f"{exc.reason}; run again with --{exc.remedy}", operation=exc.operation, ticket=exc.ticket
        ).__str__()
    return str(exc)


def fail(exc: OtrsClosureError, as_json: bool) -> int:
    """Print ``exc`` (stderr; also as JSON on stdout with ``--json``); its exit code."""
    if as_json:
        data = exc.to_dict()
        if isinstance(exc, ClosureConflict):
            data["message"] = f"{exc.reason}; run again with --{exc.remedy}"
        print(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    print(f"otrs-closure: {type(exc).__name__}: {_cli_words(exc)}", file=sys.stderr)
    if isinstance(exc, PartialClosure):
        print(f"otrs-closure: done so far: {exc.receipt.steps.model_dump(mode='json')}", file=sys.stderr)
    return exit_code(exc)
