"""Shared by the examples: a client for the real server named by OTRS_CLOSURE_* variables,
or — when OTRS_CLOSURE_BASE_URL is not set — for the embedded fake Znuny over loopback."""

from __future__ import annotations

import contextlib
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

from otrs_closure import ClosureClient, FormatFiles


@contextlib.contextmanager
def client_and_ticket() -> Iterator[tuple[ClosureClient, str]]:
    """(client, ticket number): OTRS_CLOSURE_TICKET_NUMBER on a real server, or a new fake ticket."""
    if os.environ.get("OTRS_CLOSURE_BASE_URL"):
        number = os.environ.get("OTRS_CLOSURE_TICKET_NUMBER")
        if not number:
            raise SystemExit("set OTRS_CLOSURE_TICKET_NUMBER to the ticket to close")
        with ClosureClient.from_env() as client:
            yield client, number
        return
    from otrs_closure.testing import FakeZnuny

    fake = FakeZnuny.service_desk()
    with fake.serve() as base_url:
        _, number = fake.new_service_desk_ticket(title="Ticket de ejemplo")
        print(f"(no OTRS_CLOSURE_BASE_URL: using the embedded fake Znuny at {base_url})")
        with ClosureClient(base_url=base_url, username="tecnico1", password="tecnico-pass",
                           owner_login="agente.mesa") as client:
            yield client, number


def example_formats(folder: Path) -> FormatFiles:
    """Stand-ins for the signed scan (PDF) and the editable form (DOCX)."""
    scan = folder / "alta_firmada.pdf"
    scan.write_bytes(b"%PDF-1.4\n% formato firmado por el usuario final\n%%EOF\n")
    editable = folder / "alta.docx"
    with zipfile.ZipFile(editable, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document>FORMATO DEL ALTA DE USUARIO A UN SISTEMA</w:document>")
    return FormatFiles(signed_scan=scan, editable=editable)
