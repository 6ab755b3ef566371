"""Idempotency: a close() skips what the ticket already shows; a different closure note
stops it before any write unless reclose=True."""

from __future__ import annotations

import pytest
from helpers import OWNER_LOGIN, TICKET_ID, TICKET_NUMBER, GIStub, make_formats, new_client, stubbed

from otrs_closure import ClosureConflict, Incident, OtrsClosureError, ServiceRequest, StepStatus

ALREADY = StepStatus.ALREADY_DONE
DONE = StepStatus.DONE
ATTENTION = ServiceRequest(description="Se reconfiguró la impresora del piso 3.")


@pytest.fixture
def gi():
    with stubbed() as stub:
        yield stub


def close_once(gi: GIStub, tmp_path, **kw):
    formats = make_formats(tmp_path)
    receipt = new_client().close(ticket_number=TICKET_NUMBER, attention=ATTENTION, formats=formats, **kw)
    gi.log.clear()
    return formats, receipt


def test_second_close_sends_no_update_and_reports_already_done(gi: GIStub, tmp_path):
    formats = make_formats(tmp_path)
    client = new_client()
    first = client.close(ticket_number=TICKET_NUMBER, attention=ATTENTION, formats=formats)
    gi.log.clear()
    second = client.close(ticket_number=TICKET_NUMBER, attention=ATTENTION, formats=formats)
    assert gi.ops() == ["TicketSearch", "TicketGet"]
    assert second.steps.model_dump() == {k: ALREADY for k in ("note", "attachments", "state", "owner", "owner_note")}
    assert second.writes_sent == 0 and second.complete
    assert second.closure_id == first.closure_id
    assert second.note_article_id == first.note_article_id
    assert second.owner_article_id == first.owner_article_id
    assert second.attended_at == first.attended_at
    assert second.attachments == first.attachments
    assert len(gi.articles(subject="Atendido")) == 1


def test_second_close_by_id_with_a_new_client_is_the_same_closure(gi: GIStub, tmp_path):
    formats, first = close_once(gi, tmp_path)
    second = new_client().close(ticket_id=TICKET_ID, attention=ATTENTION, formats=formats)
    # A fresh client logs in, but needs no preflight: nothing is to be written.
    assert gi.ops() == ["SessionCreate", "TicketGet"]
    assert second.closure_id == first.closure_id and second.writes_sent == 0


def test_note_present_owner_not_changed_sends_only_step_2(gi: GIStub, tmp_path):
    formats, first = close_once(gi, tmp_path)
    # Undo step 2: owner back, owner note gone.
    gi.ticket()["Owner"] = "tecnico1"
    gi.ticket()["Article"] = [a for a in gi.articles() if a["Subject"] != "Se modifica propietario"]
    receipt = new_client().close(ticket_number=TICKET_NUMBER, attention=ATTENTION, formats=formats)
    writes = gi.writes()
    assert len(writes) == 1
    body = writes[0].body
    assert body["Ticket"] == {"Owner": OWNER_LOGIN}
    assert body["Article"]["Subject"] == "Se modifica propietario"
    assert "Attachment" not in body
    assert receipt.steps.note is ALREADY and receipt.steps.attachments is ALREADY and receipt.steps.state is ALREADY
    assert receipt.steps.owner is DONE and receipt.steps.owner_note is DONE
    assert receipt.note_article_id == first.note_article_id
    assert len(gi.articles(subject="Atendido")) == 1


def test_owner_changed_but_owner_note_missing_sends_owner_and_note(gi: GIStub, tmp_path):
    formats, _ = close_once(gi, tmp_path)
    gi.ticket()["Article"] = [a for a in gi.articles() if a["Subject"] != "Se modifica propietario"]
    assert gi.ticket()["Owner"] == OWNER_LOGIN
    receipt = new_client().close(ticket_id=TICKET_ID, attention=ATTENTION, formats=formats)
    (write,) = gi.writes()
    assert write.body["Ticket"] == {"Owner": OWNER_LOGIN}
    assert write.body["Article"]["Body"] == "Se modifica propietario"
    assert receipt.steps.owner_note is DONE
    assert len(gi.articles(subject="Se modifica propietario")) == 1


def test_owner_already_the_service_desk_but_no_note_sends_both_steps(gi: GIStub, tmp_path):
    gi.ticket()["Owner"] = OWNER_LOGIN
    # An owner note *before* the closure note does not count: the manual's order is note, then owner.
    gi.add_article(subject="Se modifica propietario", body="Se modifica propietario")
    receipt = new_client().close(ticket_id=TICKET_ID, attention=ATTENTION)
    assert [w.body["Article"]["Subject"] for w in gi.writes()] == ["Atendido", "Se modifica propietario"]
    assert receipt.complete


def test_state_changed_back_is_set_again_without_a_new_note(gi: GIStub, tmp_path):
    formats, _ = close_once(gi, tmp_path)
    gi.ticket()["State"] = "open"
    receipt = new_client().close(ticket_id=TICKET_ID, attention=ATTENTION, formats=formats)
    (write,) = gi.writes()
    assert write.body["Ticket"] == {"State": "Atendido", "Owner": OWNER_LOGIN}
    assert "Article" not in write.body and "Attachment" not in write.body
    assert receipt.state == "Atendido" and receipt.steps.state is DONE and receipt.complete
    assert len(gi.articles(subject="Atendido")) == 1
    assert len(gi.articles(subject="Se modifica propietario")) == 1


def test_note_that_lost_an_attachment_gets_only_the_missing_file(gi: GIStub, tmp_path):
    formats, _ = close_once(gi, tmp_path)
    note = gi.articles(subject="Atendido")[0]
    note["_attachments"] = [x for x in note["_attachments"] if x["Filename"] != "formato.docx"]
    receipt = new_client().close(ticket_id=TICKET_ID, attention=ATTENTION, formats=formats)
    (write,) = gi.writes()
    assert write.body["Article"]["Subject"] == "Formatos adjuntos"
    assert [a["Filename"] for a in write.body["Attachment"]] == ["formato.docx"]
    assert "Ticket" not in write.body
    assert receipt.steps.attachments is DONE and receipt.complete
    assert sorted(x.filename for x in receipt.attachments) == ["formato.docx", "formato_firmado.pdf"]
    # And now it is complete for good.
    gi.log.clear()
    again = new_client().close(ticket_id=TICKET_ID, attention=ATTENTION, formats=formats)
    assert gi.writes() == [] and again.steps.attachments is ALREADY


def test_note_recognised_after_znuny_normalises_it(gi: GIStub, tmp_path):
    """Znuny trims and may store CRLF: the note is still this closure's."""
    formats, first = close_once(gi, tmp_path)
    note = gi.articles(subject="Atendido")[0]
    note["Body"] = note["Body"].replace("\n", "  \r\n") + "\r\n"
    again = new_client().close(ticket_id=TICKET_ID, attention=ATTENTION, formats=formats)
    assert gi.writes() == [] and again.steps.note is ALREADY


def test_different_closure_note_is_a_conflict_with_zero_writes(gi: GIStub):
    # Recording 41: someone already closed it with another text.
    gi.add_article(subject="Atendido", body="Se atendió la solicitud en sitio. Impresora reconfigurada.")
    with pytest.raises(ClosureConflict) as ei:
        new_client().close(ticket_number=TICKET_NUMBER, attention=ATTENTION)
    assert isinstance(ei.value, OtrsClosureError)
    assert ei.value.ticket == TICKET_ID
    assert "reclose=True" in str(ei.value)
    assert "TicketUpdate" not in gi.ops()  # not even the preflight
    assert gi.ticket()["State"] == "open"


def test_earlier_closure_with_other_texts_is_a_conflict(gi: GIStub, tmp_path):
    close_once(gi, tmp_path)
    with pytest.raises(ClosureConflict):
        new_client().close(ticket_id=TICKET_ID, attention=Incident(problem="Otro", solution="Otra"))
    assert "TicketUpdate" not in gi.ops()


def test_reclose_adds_this_closure_anyway(gi: GIStub):
    gi.add_article(subject="Atendido", body="Se atendió la solicitud en sitio. Impresora reconfigurada.")
    receipt = new_client().close(ticket_number=TICKET_NUMBER, attention=ATTENTION, reclose=True)
    assert receipt.complete and receipt.writes_sent == 2
    notes = gi.articles(subject="Atendido")
    assert len(notes) == 2 and receipt.note_article_id == notes[1]["ArticleID"]
    # Re-running with reclose=True is still idempotent: our note is found.
    gi.log.clear()
    again = new_client().close(ticket_number=TICKET_NUMBER, attention=ATTENTION, reclose=True)
    assert gi.writes() == [] and again.complete and again.steps.note is ALREADY


def test_other_subject_articles_are_not_conflicts(gi: GIStub):
    gi.add_article(subject="Seguimiento", body="Se contactó al usuario.")
    receipt = new_client().close(ticket_id=TICKET_ID, attention=ATTENTION)
    assert receipt.complete


def test_closure_identity_ignores_surrounding_whitespace_but_not_files(gi: GIStub, tmp_path):
    formats = make_formats(tmp_path / "a")
    client = new_client()
    first = client.close(ticket_id=TICKET_ID, attention=ATTENTION, formats=formats)
    same = ServiceRequest(description="  Se reconfiguró la impresora del piso 3.\n")
    assert client.close(ticket_id=TICKET_ID, attention=same, formats=formats).closure_id == first.closure_id
    other = make_formats(tmp_path / "b", "PNG", "DOCX")
    with pytest.raises(ClosureConflict):
        client.close(ticket_id=TICKET_ID, attention=ATTENTION, formats=other)
