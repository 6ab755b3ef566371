"""`otrs-closure demo`: the whole closure against the embedded fake, over loopback HTTP."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from otrs_closure.cli._common import EXIT_OK, fail, print_receipt
from otrs_closure.client import ClosureClient
from otrs_closure.errors import (
    OtrsClosureError,
)
from otrs_closure.models import FormatFiles, UserOnboarding
from otrs_closure.note import MASK
from otrs_closure.results import ClosureReceipt, StepStatus


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


def _what_it_did(receipt: ClosureReceipt) -> str:
    """What a close() did, in words (the demo's second close finds everything done)."""
    steps = receipt.steps.model_dump()
    if receipt.writes_sent == 0 and all(
        v in (StepStatus.ALREADY_DONE, StepStatus.NOT_APPLICABLE) for v in steps.values()
    ):
        return "nothing to do, 0 writes — every step already on the ticket"
    done = ", ".join(k for k, v in steps.items() if v is StepStatus.DONE) or "none"
    return f"{receipt.writes_sent} write(s); steps done now: {done}"


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
                return fail(exc, args.json)
        print_receipt(receipt, args.json)
        view = fake.ticket(ticket_id)
        if not args.json:
            print(f"\nsecond close(): {_what_it_did(again)}")
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


def register(subparsers: Any) -> None:
    """Add `demo` to the CLI."""
    demo = subparsers.add_parser("demo", help="close a ticket on the embedded fake Znuny, over loopback HTTP")
    demo.add_argument("--json", action="store_true", help="print the receipt as JSON")
    demo.add_argument("--latency", type=float, default=0.0, help="seconds of latency per request")
    demo.add_argument("-v", "--verbose", action="count", default=0)
    demo.set_defaults(func=cmd_demo)
