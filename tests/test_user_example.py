"""What a user's own test suite looks like with the shipped ``fake_znuny`` fixture
(the example of the README's "Testing your scripts against the fake Znuny")."""

from __future__ import annotations

from pathlib import Path

from otrs_closure import FormatFiles, UserOnboarding
from otrs_closure.testing import FakeZnuny, Fault


def test_closure_survives_a_lost_answer_after_the_note_was_written(fake_znuny: FakeZnuny, tmp_path: Path) -> None:
    scan = tmp_path / "alta_firmada.pdf"
    scan.write_bytes(b"%PDF-1.4\n% firmado por el usuario final\n%%EOF\n")
    editable = tmp_path / "alta.pdf"
    editable.write_bytes(b"%PDF-1.4\n% llenado por computadora\n%%EOF\n")
    ticket = fake_znuny.new_service_desk_ticket("Alta en nómina")

    # The server writes the note, state and files, then the connection drops before the answer.
    # TicketUpdate call 1 is the client's preflight (rejected by design); call 2 is the note.
    fake_znuny.inject(Fault.RESPONSE_LOST, operation="TicketUpdate", call=2)

    client = fake_znuny.client(sleep=lambda seconds: None)
    receipt = client.close(
        ticket_number=ticket.ticket_number,
        attention=UserOnboarding(
            description="Alta en nómina",
            access_url="https://nomina.example.gob.mx",
            login="mgarcia",
            password="Temporal#2026",
        ),
        formats=FormatFiles(signed_scan=scan, editable=editable),
    )

    assert [f.kind for f in fake_znuny.faults_fired] == [Fault.RESPONSE_LOST]
    assert receipt.complete and receipt.state == "Atendido" and receipt.owner == "agente.mesa"
    fake_znuny.assert_ticket(
        ticket.ticket_id,
        state="Atendido",
        owner="agente.mesa",
        notes_with_subject={"Atendido": 1, "Se modifica propietario": 1},
        attachments_bytes={"alta_firmada.pdf": scan.read_bytes(), "alta.pdf": editable.read_bytes()},
    )
    note = next(a for a in fake_znuny.ticket(ticket.ticket_id).articles if a.subject == "Atendido")
    assert len(note.attachments) == 2


def test_an_unreadable_ticket_after_writing_gives_an_unverified_receipt(fake_znuny: FakeZnuny) -> None:
    from otrs_closure import ServiceRequest

    ticket = fake_znuny.new_service_desk_ticket()
    client = fake_znuny.client(sleep=lambda seconds: None, retry_attempts=2)
    # TicketGet call 1 reads the ticket; every later read (verify, its retry, the settling read) fails.
    fake_znuny.inject(Fault.UNAVAILABLE, operation="TicketGet", call=2, times=10, retry_after=0)
    receipt = client.close(ticket_id=ticket.ticket_id, attention=ServiceRequest(description="Hecho."))
    assert receipt.complete and not receipt.verified
    assert receipt.state is None and receipt.attended_at is None
    fake_znuny.assert_ticket(
        ticket.ticket_id,
        state="Atendido",
        owner="agente.mesa",
        notes_with_subject={"Atendido": 1, "Se modifica propietario": 1},
    )
