"""The ``otrs-closure`` command line, thin over the library.

Secrets never travel on argv: the agent password comes from ``OTRS_CLOSURE_PASSWORD``,
the onboarding password from ``--password-stdin`` or an environment variable.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from otrs_closure.client import ClosureClient
from otrs_closure.errors import (
    AccessDenied,
    AuthenticationError,
    ClosureConflict,
    InputError,
    OtrsClosureError,
    PartialClosure,
    TicketNotFound,
)
from otrs_closure.models import ClosureReceipt, FormatFiles, Incident, ServiceRequest, UserOnboarding
from otrs_closure.note import MASK
from otrs_closure.settings import shown_variable

__all__ = ["main", "EXIT_CODES"]

# Documented exit codes (README, "CLI").
EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_INPUT = 2
EXIT_CONFLICT = 3
EXIT_PARTIAL = 4
EXIT_AUTH = 5
EXIT_TICKET = 6
EXIT_SERVER = 7
EXIT_BATCH_FAILURES = 8
EXIT_CODES = {
    EXIT_OK: "closed, or found already closed",
    EXIT_UNEXPECTED: "unexpected error (a bug: please report it)",
    EXIT_INPUT: "bad input or settings; nothing was sent",
    EXIT_CONFLICT: "the ticket already carries a different closure (use --reclose)",
    EXIT_PARTIAL: "writing started but did not finish; run the same command again",
    EXIT_AUTH: "the server refused the agent's credentials",
    EXIT_TICKET: "ticket not found, or no permission on it",
    EXIT_SERVER: "server or network failure before anything was written",
    EXIT_BATCH_FAILURES: "batch: at least one row failed (see the report)",
}

DEFAULT_PASSWORD_ENV = "OTRS_CLOSURE_ONBOARDING_PASSWORD"


def _exit_code(exc: OtrsClosureError) -> int:
    for cls, code in (
        (InputError, EXIT_INPUT),
        (ClosureConflict, EXIT_CONFLICT),
        (PartialClosure, EXIT_PARTIAL),
        (AuthenticationError, EXIT_AUTH),
        (TicketNotFound, EXIT_TICKET),
        (AccessDenied, EXIT_TICKET),
    ):
        if isinstance(exc, cls):
            return code
    return EXIT_SERVER


def _connection_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(
        "connection (default: OTRS_CLOSURE_* variables; the agent password only from OTRS_CLOSURE_PASSWORD)"
    )
    g.add_argument("--base-url", help="server root (OTRS_CLOSURE_BASE_URL)")
    g.add_argument("--username", help="closing agent's login (OTRS_CLOSURE_USERNAME)")
    g.add_argument("--owner-login", help="login of 'Agente Mesa de Servicio' (OTRS_CLOSURE_OWNER_LOGIN)")
    g.add_argument("--webservice", help="web service name (OTRS_CLOSURE_WEBSERVICE)")
    g.add_argument("--insecure", action="store_true", help="do not verify the server's TLS certificate")
    g.add_argument("-v", "--verbose", action="count", default=0, help="log to stderr (-vv: debug)")


def _client(args: argparse.Namespace) -> ClosureClient:
    overrides: dict[str, Any] = {
        "base_url": args.base_url,
        "username": args.username,
        "owner_login": args.owner_login,
        "webservice": args.webservice,
    }
    if getattr(args, "insecure", False):
        overrides["verify_tls"] = False
    return ClosureClient.from_env(**overrides)


def _onboarding_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        if sys.stdin.isatty():  # typed at a terminal: not echoed
            return getpass.getpass("Contraseña de acceso al Sistema: ")
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    name = args.password_env or DEFAULT_PASSWORD_ENV
    value = os.environ.get(name, "")
    if not value:
        where = f"${name}" if shown_variable(name) == name else "the variable named by --password-env"
        raise InputError("password", f"give it on standard input with --password-stdin or in {where}")
    return value


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


def _print_receipt(receipt: ClosureReceipt, as_json: bool) -> None:
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


def _fail(exc: OtrsClosureError, as_json: bool) -> int:
    if as_json:
        print(json.dumps(exc.to_dict(), indent=2, ensure_ascii=False, default=str))
    print(f"otrs-closure: {type(exc).__name__}: {exc}", file=sys.stderr)
    if isinstance(exc, PartialClosure):
        print(f"otrs-closure: done so far: {exc.receipt.steps.model_dump(mode='json')}", file=sys.stderr)
    return _exit_code(exc)


def cmd_close(args: argparse.Namespace) -> int:
    try:
        attention = _attention(args)
        formats = _formats(args)
        ticket: dict[str, Any] = (
            {"ticket_number": args.ticket_number} if args.ticket_number else {"ticket_id": args.ticket_id}
        )
        client = _client(args)
        with client:
            if args.dry_run:
                plan = client.plan(
                    attention=attention, formats=formats, reclose=args.reclose, offline=args.offline, **ticket
                )
                print(json.dumps(plan.to_dict(), indent=2, ensure_ascii=False))
                return EXIT_OK
            receipt = client.close(attention=attention, formats=formats, reclose=args.reclose, **ticket)
    except OtrsClosureError as exc:
        return _fail(exc, args.json)
    _print_receipt(receipt, args.json)
    return EXIT_OK


def _demo_files(folder: Path) -> FormatFiles:
    """A tiny signed-scan PDF and editable DOCX, real enough to pass the type checks."""
    import zipfile

    scan = folder / "alta_usuario_firmada.pdf"
    scan.write_bytes(
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n"
        b"% Formato del alta de usuario a un sistema (firmado)\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )
    editable = folder / "alta_usuario.docx"
    with zipfile.ZipFile(editable, "w") as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        zf.writestr("word/document.xml", "<w:document>FORMATO DEL ALTA DE USUARIO A UN SISTEMA</w:document>")
    return FormatFiles(signed_scan=scan, editable=editable)


def cmd_demo(args: argparse.Namespace) -> int:
    """Start the fake over loopback HTTP, create a ticket, close it with the real client."""
    from otrs_closure.testing import FakeZnuny

    fake = FakeZnuny.service_desk()
    with fake.serve(latency=args.latency) as base_url, tempfile.TemporaryDirectory() as tmp:
        ticket_id, number = fake.new_service_desk_ticket(title="Alta de usuario en el sistema de nómina")
        print(f"fake Znuny at {base_url}; ticket {number} (TicketID {ticket_id}) owned by tecnico1\n")
        client = ClosureClient(
            base_url=base_url, username="tecnico1", password="tecnico-pass", owner_login="agente.mesa"
        )
        attention = UserOnboarding(
            description="Se dio de alta al usuario en el sistema de nómina.",
            access_url="https://nomina.example.gob.mx",
            login="mgarcia",
            password="Temporal#2026",
        )
        with client:
            try:
                formats = _demo_files(Path(tmp))
                receipt = client.close(ticket_number=number, attention=attention, formats=formats)
                again = client.close(ticket_number=number, attention=attention, formats=formats)
            except OtrsClosureError as exc:
                return _fail(exc, args.json)
        _print_receipt(receipt, args.json)
        view = fake.ticket(ticket_id)
        if not args.json:
            print(
                f"\nsecond close(): {again.writes_sent} write(s), "
                f"steps {again.steps.note.value}/{again.steps.owner.value}"
            )
            print(f"\nthe ticket as the server now holds it: state {view.state}, owner {view.owner}")
            for art in view.articles:
                print(
                    f"  article {art.article_id}: {art.subject!r} from {art.sender_type}, internal="
                    f"{not art.is_visible_for_customer}, {len(art.attachments)} attachment(s)"
                )
                for att in art.attachments:
                    print(f"    - {att.filename} ({att.size} bytes, {att.content_type})")
                if art.article_id == receipt.note_article_id:
                    secret = attention.password.get_secret_value()
                    for line in art.body.replace(secret, MASK).splitlines():
                        print(f"      | {line}")
            print(
                "  (the note on the server carries the onboarding password, as the manual requires; it is masked here)"
            )
    return EXIT_OK


def cmd_fake_server(args: argparse.Namespace) -> int:
    from otrs_closure.testing import run_fake_server

    return run_fake_server(
        port=args.port, seed=args.seed, latency=args.latency, host=args.host, profile=args.profile, tickets=args.tickets
    )


def build_parser() -> argparse.ArgumentParser:
    epilog = "exit codes:\n" + "\n".join(f"  {k}  {v}" for k, v in EXIT_CODES.items())
    parser = argparse.ArgumentParser(
        prog="otrs-closure",
        description="Close OTRS/Znuny Service Desk tickets as the agent manual prescribes.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    close = sub.add_parser(
        "close", help="close one ticket", epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    which = close.add_mutually_exclusive_group(required=True)
    which.add_argument("--ticket-number", help="the ticket number, e.g. 2026112810000011")
    which.add_argument("--ticket-id", type=int, help="the TicketID")
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
        help=f"user_onboarding: read it from this variable (default {DEFAULT_PASSWORD_ENV})",
    )
    close.add_argument("--problem", help="incident: the real problem")
    close.add_argument("--solution", help="incident: the real solution")
    close.add_argument("--signed-scan", help="the format scanned with the end user's signature (PDF/JPEG/PNG/TIFF)")
    close.add_argument("--editable", help="the format filled in on the computer (DOCX/XLSX/ODT/ODS/DOC/XLS/PDF)")
    close.add_argument("--reclose", action="store_true", help="add this closure even if a different one exists")
    close.add_argument("--dry-run", action="store_true", help="print the requests it would send; write nothing")
    close.add_argument("--offline", action="store_true", help="with --dry-run: do not read the ticket either")
    close.add_argument("--json", action="store_true", help="print the receipt (or the error) as JSON")
    _connection_args(close)
    close.set_defaults(func=cmd_close)

    demo = sub.add_parser("demo", help="close a ticket on the embedded fake Znuny, over loopback HTTP")
    demo.add_argument("--json", action="store_true", help="print the receipt as JSON")
    demo.add_argument("--latency", type=float, default=0.0, help="seconds of latency per request")
    demo.add_argument("-v", "--verbose", action="count", default=0)
    demo.set_defaults(func=cmd_demo)

    fake = sub.add_parser("fake-server", help="serve the fake Znuny over loopback HTTP until Ctrl-C")
    fake.add_argument("--port", type=int, default=8080)
    fake.add_argument("--host", default="127.0.0.1")
    fake.add_argument("--seed", choices=["service_desk", "recordings"], default="service_desk")
    fake.add_argument("--latency", type=float, default=0.0, help="seconds of latency per request")
    fake.add_argument("--profile", default=None, help="system to behave like (default znuny-6.5.15; see README)")
    fake.add_argument("--tickets", type=int, default=0, help="service-desk tickets to create at start")
    fake.add_argument("-v", "--verbose", action="count", default=0)
    fake.set_defaults(func=cmd_fake_server)

    try:
        from otrs_closure.batch import add_batch_command
    except ImportError:  # pragma: no cover - batch is optional during development
        pass
    else:
        add_batch_command(sub, _connection_args, _client, _fail)
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
        return 130
    except BrokenPipeError:
        # The reader went away (``otrs-closure demo | head``): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
