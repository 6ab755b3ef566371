"""`otrs-closure close`: close one ticket (or print the plan with --dry-run)."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from otrs_closure.batch.password_env import DEFAULT_PASSWORD_ENV, PASSWORD_ENV_PREFIX, read_password_env
from otrs_closure.cli._common import (
    EXIT_CODES,
    EXIT_OK,
    connection_args,
    fail,
    make_client,
    print_receipt,
)
from otrs_closure.errors import (
    InputError,
    OtrsClosureError,
)
from otrs_closure.models import FormatFiles, Incident, ServiceRequest, UserOnboarding


def _onboarding_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        if sys.stdin.isatty():  # typed at a terminal: not echoed
            return getpass.getpass("Contraseña de acceso al Sistema: ")
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    if args.password_env is not None:
        return read_password_env(args.password_env, os.environ, "--password-env")
    if not os.environ.get(DEFAULT_PASSWORD_ENV):
        raise InputError("password", f"give it on standard input with --password-stdin or in ${DEFAULT_PASSWORD_ENV}")
    return os.environ[DEFAULT_PASSWORD_ENV]


def _attention(args: argparse.Namespace) -> ServiceRequest | UserOnboarding | Incident:
    if args.kind == "service_request":
        return ServiceRequest(description=args.description or "")
    if args.kind == "user_onboarding":
        return UserOnboarding(
            description=args.description or "",
            access_url=args.access_url or "",
            login=args.login or "",
            password=_onboarding_password(args),
        )
    return Incident(problem=args.problem or "", solution=args.solution or "", description=args.description)


def _formats(args: argparse.Namespace) -> FormatFiles | None:
    if args.signed_scan is None and args.editable is None:
        return None
    if args.signed_scan is None or args.editable is None:
        raise InputError("formats", "give both --signed-scan and --editable")
    return FormatFiles(signed_scan=Path(args.signed_scan), editable=Path(args.editable))


# The options each kind uses; any other kind-specific option given is a mistake, not ignored.
_KIND_OPTIONS = {
    "service_request": {"description"},
    "user_onboarding": {"description", "access_url", "login", "password_stdin", "password_env"},
    "incident": {"problem", "solution", "description"},
}
_TICKET_ID = re.compile(r"[0-9]{1,30}")  # ASCII digits: int() would take "٣" for 3


def _check_options(args: argparse.Namespace) -> None:
    """Options that cannot mean what was asked are refused before anything is read or sent."""
    if args.offline and not args.dry_run:
        raise InputError("--offline", "only with --dry-run (it plans without reading the ticket; it closes nothing)")
    for name in sorted(set().union(*_KIND_OPTIONS.values()) - _KIND_OPTIONS[args.kind]):
        if getattr(args, name) not in (None, False):
            raise InputError("--" + name.replace("_", "-"), f"is not used by --kind {args.kind}")


def _ticket(args: argparse.Namespace) -> dict[str, Any]:
    if args.ticket_number is not None:
        return {"ticket_number": args.ticket_number}
    if not _TICKET_ID.fullmatch(args.ticket_id.strip()):
        raise InputError("--ticket-id", "must be the TicketID's digits (0-9)")
    return {"ticket_id": int(args.ticket_id)}


def cmd_close(args: argparse.Namespace) -> int:
    try:
        _check_options(args)
        ticket = _ticket(args)
        attention = _attention(args)
        formats = _formats(args)
        client = make_client(args)
        with client:
            if args.dry_run:
                plan = client.plan(
                    attention=attention, formats=formats, reclose=args.reclose, offline=args.offline, **ticket
                )
                print(json.dumps(plan.to_dict(), indent=2, ensure_ascii=False))
                return EXIT_OK
            receipt = client.close(attention=attention, formats=formats, reclose=args.reclose, **ticket)
    except OtrsClosureError as exc:
        return fail(exc, args.json)
    print_receipt(receipt, args.json)
    return EXIT_OK


def register(subparsers: Any) -> None:
    """Add `close` to the CLI."""
    epilog = "exit codes:\n" + "\n".join(f"  {k:<4} {v}" for k, v in EXIT_CODES.items())
    close = subparsers.add_parser(
        "close", help="close one ticket", epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    which = close.add_mutually_exclusive_group(required=True)
    which.add_argument("--ticket-number", help="the ticket number, e.g. 2026112810000011")
    which.add_argument("--ticket-id", help="the TicketID")
    close.add_argument("--kind", required=True, choices=["service_request", "user_onboarding", "incident"])
    close.add_argument("--description", help="Descripción de la Atención (what was done)")
    close.add_argument("--access-url", help="user_onboarding: URL de acceso")
    close.add_argument("--login", help="user_onboarding: Login de acceso al Sistema")
    pw = close.add_mutually_exclusive_group()
    pw.add_argument(
        "--password-stdin",
        action="store_true",
        help="user_onboarding: read the Contraseña de acceso al Sistema from standard input "
        "(at a terminal: prompted, not echoed)",
    )
    pw.add_argument(
        "--password-env",
        metavar="VAR",
        help=f"user_onboarding: read it from this variable: {DEFAULT_PASSWORD_ENV} (the default) "
        f"or {PASSWORD_ENV_PREFIX}<NAME>",
    )
    close.add_argument("--problem", help="incident: the real problem")
    close.add_argument("--solution", help="incident: the real solution")
    close.add_argument("--signed-scan", help="the format scanned with the end user's signature (PDF/JPEG/PNG/TIFF)")
    close.add_argument("--editable", help="the format filled in on the computer (DOCX/XLSX/ODT/ODS/DOC/XLS/PDF)")
    close.add_argument("--reclose", action="store_true", help="add this closure even if a different one exists")
    close.add_argument("--dry-run", action="store_true", help="print the requests it would send; write nothing")
    close.add_argument("--offline", action="store_true", help="with --dry-run: do not read the ticket either")
    close.add_argument("--json", action="store_true", help="print the receipt (or the error) as JSON")
    connection_args(close)
    close.set_defaults(func=cmd_close)
