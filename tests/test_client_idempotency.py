"""Idempotency: a close() skips what the ticket already shows; a different closure note
stops it before any write unless reclose=True."""

from __future__ import annotations

import pytest
import requests
from helpers import (
    AGENT_LOGIN,
    AGENT_PASSWORD,
    OWNER_LOGIN,
    OWNER_NOTE,
    SERVICE_URL,
    TICKET_ID,
    TICKET_NUMBER,
    after_step1_session,
    closure_note,
    door,
    make_formats,
    new_client,
    ops,
    service_desk,
    ticket_showing,
    writes,
)

from otrs_closure import (
    ClosureConflict,
    ClosureReopened,
    Incident,
    OtrsClosureError,
    PartialClosure,
    ServiceRequest,
    StepStatus,
)
from otrs_closure.testing import FakeZnuny, Fault, WriteStep

ALREADY = StepStatus.ALREADY_DONE
DONE = StepStatus.DONE
ATTENTION = ServiceRequest(description="Se reconfiguró la impresora del piso 3.")


@pytest.fixture
def fake() -> FakeZnuny:
    return service_desk()


@pytest.fixture(autouse=True)
def wire(fake: FakeZnuny):
    with door(fake) as rsps:
        yield rsps


def close_once(fake: FakeZnuny, tmp_path, **kw):
    formats = make_formats(tmp_path)
    receipt = new_client().close(ticket_number=TICKET_NUMBER, attention=ATTENTION, formats=formats, **kw)
    fake.clear_records()
    return formats, receipt


def notes(fake: FakeZnuny, subject: str = "Atendido"):
    return fake.ticket(TICKET_ID).articles_with_subject(subject)


def test_second_close_sends_no_update_and_reports_already_done(fake: FakeZnuny, tmp_path):
    formats = make_formats(tmp_path)
    client = new_client()
    first = client.close(ticket_number=TICKET_NUMBER, attention=ATTENTION, formats=formats)
    fake.clear_records()
    second = client.close(ticket_number=TICKET_NUMBER, attention=ATTENTION, formats=formats)
    assert ops(fake) == ["TicketSearch", "TicketGet"]
    assert second.steps.model_dump() == {k: ALREADY for k in ("note", "attachments", "state", "owner", "owner_note")}
    assert second.writes_sent == 0 and second.complete
    assert second.closure_id == first.closure_id
    assert second.note_article_id == first.note_article_id
    assert second.owner_article_id == first.owner_article_id
    assert second.attended_at == first.attended_at
    assert second.attachments == first.attachments
    assert len(notes(fake)) == 1


def test_second_close_by_id_with_a_new_client_is_the_same_closure(fake: FakeZnuny, tmp_path):
    formats, first = close_once(fake, tmp_path)
    second = new_client().close(ticket_id=TICKET_ID, attention=ATTENTION, formats=formats)
    # A fresh client logs in, but needs no preflight: nothing is to be written.
    assert ops(fake) == ["SessionCreate", "TicketGet"]
    assert second.closure_id == first.closure_id and second.writes_sent == 0


def test_note_present_owner_not_changed_sends_only_step_2(fake: FakeZnuny, tmp_path):
    # The first close wrote the note; step 2 never got through (503 on every attempt).
    fake.inject(Fault.UNAVAILABLE, "TicketUpdate", call=3, times=4)
    formats = make_formats(tmp_path)
    with pytest.raises(PartialClosure) as ei:
        new_client().close(ticket_number=TICKET_NUMBER, attention=ATTENTION, formats=formats)
    first = ei.value.receipt
    fake.assert_ticket(TICKET_ID, owner="tecnico1", notes_with_subject={"Se modifica propietario": 0})
    fake.clear_records()
    receipt = new_client().close(ticket_number=TICKET_NUMBER, attention=ATTENTION, formats=formats)
    (write,) = writes(fake)
    body = write.body
    assert body["Ticket"] == {"Owner": OWNER_LOGIN}
    assert body["Article"]["Subject"] == "Se modifica propietario"
    assert "Attachment" not in body
    assert receipt.steps.note is ALREADY and receipt.steps.attachments is ALREADY and receipt.steps.state is ALREADY
    assert receipt.steps.owner is DONE and receipt.steps.owner_note is DONE
    assert receipt.note_article_id == first.note_article_id
    assert len(notes(fake)) == 1


def test_owner_changed_but_owner_note_missing_sends_owner_and_note(fake: FakeZnuny, tmp_path):
    # The first close's step 2 set the owner, then Znuny failed to write its article, on
    # every attempt (spec 4.4: the owner change stays).
    formats = make_formats(tmp_path)
    client = new_client(session_factory=after_step1_session(lambda: fake.fail_write(WriteStep.ARTICLE, times=4)))
    with pytest.raises(PartialClosure):
        client.close(ticket_number=TICKET_NUMBER, attention=ATTENTION, formats=formats)
    fake.clear_faults()
    fake.clear_records()
    fake.assert_ticket(TICKET_ID, owner=OWNER_LOGIN, notes_with_subject={"Se modifica propietario": 0})
    receipt = new_client().close(ticket_id=TICKET_ID, attention=ATTENTION, formats=formats)
    (write,) = writes(fake)
    assert write.body["Ticket"] == {"Owner": OWNER_LOGIN}
    assert write.body["Article"]["Body"] == "Se modifica propietario"
    assert receipt.steps.owner_note is DONE
    assert len(notes(fake, "Se modifica propietario")) == 1


def test_owner_already_the_service_desk_but_no_note_sends_both_steps(fake: FakeZnuny, tmp_path):
    ticket = fake.create_ticket(
        "Impresora no imprime",
        queue="Mesa de Servicio",
        customer_user="cliente.demo",
        created_by="tecnico1",
        owner=OWNER_LOGIN,
        article={"subject": "Impresora no imprime", "body": "No imprime."},
    )
    # An owner note *before* the closure note does not count: the manual's order is note, then owner.
    fake.add_article(
        ticket.ticket_id, created_by="tecnico1", subject="Se modifica propietario", body="Se modifica propietario"
    )
    receipt = new_client().close(ticket_id=ticket.ticket_id, attention=ATTENTION)
    assert [w.body["Article"]["Subject"] for w in writes(fake)] == ["Atendido", "Se modifica propietario"]
    assert receipt.complete


def test_reopened_ticket_is_a_conflict_unless_reattend(fake: FakeZnuny, tmp_path):
    formats, _ = close_once(fake, tmp_path)
    # An agent reopens the ticket (a TicketUpdate of its own).
    reopen = {"UserLogin": AGENT_LOGIN, "Password": AGENT_PASSWORD, "Ticket": {"State": "open"}}
    requests.patch(f"{SERVICE_URL}/Ticket/{TICKET_ID}", json=reopen, timeout=5).raise_for_status()
    fake.clear_records()
    # A re-run does not silently close it again: nothing is written.
    with pytest.raises(ClosureReopened) as ei:
        new_client().close(ticket_id=TICKET_ID, attention=ATTENTION, formats=formats)
    assert isinstance(ei.value, ClosureConflict) and "reattend" in str(ei.value)
    assert writes(fake) == []
    fake.assert_ticket(TICKET_ID, state="open")
    # Asked to, it sets the state again, without a new note.
    receipt = new_client().close(ticket_id=TICKET_ID, attention=ATTENTION, formats=formats, reattend=True)
    (write,) = writes(fake)
    assert write.body["Ticket"] == {"State": "Atendido", "Owner": OWNER_LOGIN}
    assert "Article" not in write.body and "Attachment" not in write.body
    assert receipt.state == "Atendido" and receipt.steps.state is DONE and receipt.complete
    assert len(notes(fake)) == 1
    assert len(notes(fake, "Se modifica propietario")) == 1
    fake.assert_ticket(TICKET_ID, state="Atendido")


def test_note_that_lost_an_attachment_gets_only_the_missing_file(fake: FakeZnuny, tmp_path):
    formats, _ = close_once(fake, tmp_path)
    with fake.store.lock:  # the editable file is gone from the note
        note = next(a for a in fake.store.tickets[TICKET_ID].articles if a.subject == "Atendido")
        note.attachments = [x for x in note.attachments if x.filename != "formato.docx"]
    receipt = new_client().close(ticket_id=TICKET_ID, attention=ATTENTION, formats=formats)
    (write,) = writes(fake)
    assert write.body["Article"]["Subject"] == "Formatos adjuntos"
    assert [a["Filename"] for a in write.body["Attachment"]] == ["formato.docx"]
    assert "Ticket" not in write.body
    assert receipt.steps.attachments is DONE and receipt.complete
    assert sorted(x.filename for x in receipt.attachments) == ["formato.docx", "formato_firmado.pdf"]
    fake.assert_ticket(TICKET_ID, attachments_bytes={"formato.docx": formats.editable.read_bytes()})
    # And now it is complete for good.
    fake.clear_records()
    again = new_client().close(ticket_id=TICKET_ID, attention=ATTENTION, formats=formats)
    assert writes(fake) == [] and again.steps.attachments is ALREADY


def test_note_recognised_after_znuny_normalises_it(fake: FakeZnuny, tmp_path):
    """Znuny trims and may store CRLF: the note is still this closure's."""
    formats, first = close_once(fake, tmp_path)
    with fake.store.lock:
        note = next(a for a in fake.store.tickets[TICKET_ID].articles if a.subject == "Atendido")
        note.body = note.body.replace("\n", "  \r\n") + "\r\n"
    again = new_client().close(ticket_id=TICKET_ID, attention=ATTENTION, formats=formats)
    assert writes(fake) == [] and again.steps.note is ALREADY


def test_different_closure_note_is_a_conflict_with_zero_writes(fake: FakeZnuny):
    # Recording 41: someone already closed it with another text.
    fake.add_article(
        TICKET_ID,
        created_by="tecnico1",
        subject="Atendido",
        body="Se atendió la solicitud en sitio. Impresora reconfigurada.",
    )
    with pytest.raises(ClosureConflict) as ei:
        new_client().close(ticket_number=TICKET_NUMBER, attention=ATTENTION)
    assert isinstance(ei.value, OtrsClosureError)
    assert ei.value.ticket == TICKET_ID
    assert "reclose=True" in str(ei.value)
    assert "TicketUpdate" not in ops(fake)  # not even the preflight
    fake.assert_ticket(TICKET_ID, state="new")


def test_earlier_closure_with_other_texts_is_a_conflict(fake: FakeZnuny, tmp_path):
    close_once(fake, tmp_path)
    with pytest.raises(ClosureConflict):
        new_client().close(ticket_id=TICKET_ID, attention=Incident(problem="Otro", solution="Otra"))
    assert "TicketUpdate" not in ops(fake)


def test_reclose_adds_this_closure_anyway(fake: FakeZnuny):
    fake.add_article(
        TICKET_ID,
        created_by="tecnico1",
        subject="Atendido",
        body="Se atendió la solicitud en sitio. Impresora reconfigurada.",
    )
    receipt = new_client().close(ticket_number=TICKET_NUMBER, attention=ATTENTION, reclose=True)
    assert receipt.complete and receipt.writes_sent == 2
    found = notes(fake)
    assert len(found) == 2 and receipt.note_article_id == found[1].article_id
    # Re-running with reclose=True is still idempotent: our note is found.
    fake.clear_records()
    again = new_client().close(ticket_number=TICKET_NUMBER, attention=ATTENTION, reclose=True)
    assert writes(fake) == [] and again.complete and again.steps.note is ALREADY


def test_other_subject_articles_are_not_conflicts(fake: FakeZnuny):
    fake.add_article(TICKET_ID, created_by="tecnico1", subject="Seguimiento", body="Se contactó al usuario.")
    receipt = new_client().close(ticket_id=TICKET_ID, attention=ATTENTION)
    assert receipt.complete


def test_closure_identity_ignores_surrounding_whitespace_but_not_files(tmp_path):
    formats = make_formats(tmp_path / "a")
    client = new_client()
    first = client.close(ticket_id=TICKET_ID, attention=ATTENTION, formats=formats)
    same = ServiceRequest(description="  Se reconfiguró la impresora del piso 3.\n")
    assert client.close(ticket_id=TICKET_ID, attention=same, formats=formats).closure_id == first.closure_id
    other = make_formats(tmp_path / "b", "PNG", "DOCX")
    with pytest.raises(ClosureConflict):
        client.close(ticket_id=TICKET_ID, attention=ATTENTION, formats=other)



def test_the_owner_login_is_compared_as_znuny_looks_it_up(fake: FakeZnuny):
    # Znuny's UserLookup(UserLogin) is case-insensitive (lc + LOWER(login)), so Owner
    # "Agente.Mesa" is accepted, and TicketGet then shows the login as stored,
    # "agente.mesa". An exact comparison never saw the owner step done: every close()
    # ended in PartialClosure ("remaining owner") and resent the owner change.
    client = new_client(owner_login="Agente.Mesa")
    _, body = closure_note(ATTENTION, client=client)
    tid, (note, owner_note) = ticket_showing(fake, {"subject": "Atendido", "body": body}, OWNER_NOTE)
    assert client.plan(ticket_id=tid, attention=ATTENTION).writes == []
    receipt = client.close(ticket_id=tid, attention=ATTENTION)
    assert receipt.complete and receipt.writes_sent == 0 and writes(fake) == []
    assert receipt.owner == OWNER_LOGIN and receipt.steps.owner is ALREADY
    assert (receipt.note_article_id, receipt.owner_article_id) == (note, owner_note)
