"""The retry rules at the HTTP level: reads retried, writes resent only when the ticket does
not show them, Retry-After honoured, attempts bounded, and a partial closure completed by
a second close() without duplicates. No real sleeps: the client's ``sleep`` records."""

from __future__ import annotations

import email.utils
import time

import pytest
from helpers import (
    OWNER_LOGIN,
    TEXT_CT,
    TICKET_ID,
    TICKET_NUMBER,
    Fault,
    GIStub,
    connect_timeout,
    connection_refused,
    dropped_connection,
    fault_500_json,
    gi_error,
    is_preflight,
    is_step1,
    is_step2,
    make_formats,
    new_client,
    read_timeout,
    stubbed,
)

from otrs_closure import (
    AccessDenied,
    AuthenticationError,
    InvalidParameter,
    PartialClosure,
    RequestTooLarge,
    ServerError,
    ServiceRequest,
    StepStatus,
    TransportError,
)

ATTENTION = ServiceRequest(description="Se reconfiguró la impresora.")
DONE, PENDING, UNKNOWN = StepStatus.DONE, StepStatus.PENDING, StepStatus.UNKNOWN


@pytest.fixture
def gi():
    with stubbed() as stub:
        yield stub


def assert_one_closure(gi: GIStub, files: int = 2) -> None:
    """Never a second note, never a second set of attachments, never a second owner note."""
    notes = gi.articles(subject="Atendido")
    assert len(notes) == 1
    assert len(notes[0]["_attachments"]) == files
    assert sum(len(a["_attachments"]) for a in gi.articles()) == files
    assert len(gi.articles(subject="Se modifica propietario")) == 1
    assert gi.ticket()["State"] == "Atendido" and gi.ticket()["Owner"] == OWNER_LOGIN


# -- reads ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        Fault(exc=connection_refused),
        Fault(exc=connect_timeout),
        Fault(exc=read_timeout),
        Fault(exc=dropped_connection),
        fault_500_json("OperationObject returned an error, cancelling Request"),
        Fault(status=502, body="Bad Gateway", headers={"Content-Type": "text/html"}),
        Fault(status=200, body="<html>mantenimiento</html>", headers={"Content-Type": "text/html"}),
    ],
    ids=["refused", "connect-timeout", "read-timeout", "dropped", "500-json", "502", "html-200"],
)
@pytest.mark.parametrize("operation", ["SessionCreate", "TicketSearch", "TicketGet"])
def test_reads_are_retried(gi: GIStub, operation, fault):
    gi.inject(operation, fault, fault)
    sleeps: list[float] = []
    receipt = new_client(sleeps=sleeps).close(ticket_number=TICKET_NUMBER, attention=ATTENTION)
    assert receipt.complete
    assert gi.ops().count(operation) == (3 if operation != "TicketGet" else 4)  # 2 failed + 1 (+ verify)
    assert len(sleeps) == 2
    # Exponential backoff with jitter: 0.5 s then 1 s, each scaled into [50 %, 100 %].
    assert 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured(gi: GIStub, status):
    gi.inject("TicketGet", Fault(status=status, body="Slow down", headers={"Retry-After": "7"}))
    sleeps: list[float] = []
    new_client(sleeps=sleeps).close(ticket_id=TICKET_ID, attention=ATTENTION)
    assert sleeps == [7.0]


def test_retry_after_is_capped_by_retry_after_max(gi: GIStub):
    gi.inject("TicketSearch", Fault(status=503, body="busy", headers={"Retry-After": "3600"}))
    sleeps: list[float] = []
    new_client(sleeps=sleeps, retry_after_max=12).close(ticket_number=TICKET_NUMBER, attention=ATTENTION)
    assert sleeps == [12.0]


def test_retry_after_as_an_http_date(gi: GIStub):
    when = email.utils.formatdate(time.time() + 20, usegmt=True)
    gi.inject("TicketGet", Fault(status=503, body="busy", headers={"Retry-After": when}))
    sleeps: list[float] = []
    new_client(sleeps=sleeps).close(ticket_id=TICKET_ID, attention=ATTENTION)
    assert len(sleeps) == 1 and 15 <= sleeps[0] <= 20


def test_read_attempts_are_bounded_by_retry_attempts(gi: GIStub):
    gi.inject("TicketGet", *[Fault(exc=connection_refused)] * 10)
    sleeps: list[float] = []
    with pytest.raises(TransportError):
        new_client(sleeps=sleeps, retry_attempts=3).close(ticket_id=TICKET_ID, attention=ATTENTION)
    assert gi.ops() == ["SessionCreate", "TicketGet", "TicketGet", "TicketGet"]
    assert len(sleeps) == 2


@pytest.mark.parametrize("fault", [Fault(exc=connection_refused), Fault(exc=read_timeout),
                                   fault_500_json("x")], ids=["refused", "timeout", "500"])
def test_session_create_attempts_are_bounded_too(gi: GIStub, fault):
    """The login made on behalf of a read is retried by that read's loop, not squared."""
    gi.inject("SessionCreate", *[fault] * 20)
    sleeps: list[float] = []
    with pytest.raises((TransportError, ServerError)) as ei:
        new_client(sleeps=sleeps, retry_attempts=3).close(ticket_number=TICKET_NUMBER, attention=ATTENTION)
    assert ei.value.operation == "SessionCreate"
    assert gi.ops() == ["SessionCreate"] * 3
    assert len(sleeps) == 2


def test_retry_attempts_one_means_no_retry(gi: GIStub):
    gi.inject("TicketGet", Fault(exc=read_timeout))
    with pytest.raises(TransportError):
        new_client(retry_attempts=1).close(ticket_id=TICKET_ID, attention=ATTENTION)
    assert gi.ops().count("TicketGet") == 1


def test_backoff_is_bounded_by_backoff_max(gi: GIStub):
    gi.inject("TicketGet", *[fault_500_json("x")] * 5)
    sleeps: list[float] = []
    new_client(sleeps=sleeps, retry_attempts=6, retry_backoff=1, retry_backoff_max=2).close(
        ticket_id=TICKET_ID, attention=ATTENTION)
    assert len(sleeps) == 5
    assert all(s <= 2 for s in sleeps) and sleeps[-1] >= 1


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (gi_error("TicketGet.AccessDenied", "TicketGet: User does not have access to the ticket!"), AccessDenied),
        (gi_error("TicketGet.InvalidParameter", "TicketGet: bad"), InvalidParameter),
        (Fault(status=413, body="Request Entity Too Large"), RequestTooLarge),
    ],
)
def test_reads_never_retried_on_refusals(gi: GIStub, fault, error):
    gi.inject("TicketGet", fault)
    sleeps: list[float] = []
    with pytest.raises(error):
        new_client(sleeps=sleeps).close(ticket_id=TICKET_ID, attention=ATTENTION)
    assert gi.ops().count("TicketGet") == 1 and sleeps == []


# -- writes -----------------------------------------------------------------------------------------


def test_write_resent_blindly_after_connection_refused(gi: GIStub, tmp_path):
    gi.inject("TicketUpdate", Fault(exc=connection_refused), when=is_step1)
    sleeps: list[float] = []
    receipt = new_client(sleeps=sleeps).close(ticket_id=TICKET_ID, attention=ATTENTION,
                                             formats=make_formats(tmp_path))
    # No re-read between the refused attempt and the resend.
    assert gi.ops() == ["SessionCreate", "TicketGet", "TicketUpdate", "TicketUpdate", "TicketUpdate",
                        "TicketUpdate", "TicketGet"]
    assert len(sleeps) == 1
    assert receipt.complete and receipt.writes_sent == 3
    assert_one_closure(gi)


@pytest.mark.parametrize(
    "fault",
    [
        Fault(exc=read_timeout, apply=True),
        Fault(exc=dropped_connection, apply=True),
        fault_500_json("OperationObject returned an error, cancelling Request", apply=True),
        Fault(status=502, body="Bad Gateway", apply=True),
    ],
    ids=["read-timeout", "dropped", "500", "502"],
)
def test_lost_answer_on_the_note_is_not_resent_when_the_ticket_shows_it(gi: GIStub, tmp_path, fault):
    gi.inject("TicketUpdate", fault, when=is_step1)
    receipt = new_client().close(ticket_id=TICKET_ID, attention=ATTENTION, formats=make_formats(tmp_path))
    assert gi.ops() == ["SessionCreate", "TicketGet", "TicketUpdate", "TicketUpdate", "TicketGet",
                        "TicketUpdate", "TicketGet"]
    assert len([w for w in gi.writes() if is_step1(w.body)]) == 1
    assert receipt.complete
    assert receipt.steps.note is DONE and receipt.steps.attachments is DONE
    assert receipt.note_article_id == gi.articles(subject="Atendido")[0]["ArticleID"]
    assert_one_closure(gi)


@pytest.mark.parametrize(
    "fault",
    [Fault(exc=read_timeout), Fault(exc=dropped_connection), fault_500_json("Article could not be created")],
    ids=["read-timeout", "dropped", "500"],
)
def test_lost_write_is_resent_when_the_ticket_does_not_show_it(gi: GIStub, tmp_path, fault):
    gi.inject("TicketUpdate", fault, when=is_step1)
    receipt = new_client().close(ticket_id=TICKET_ID, attention=ATTENTION, formats=make_formats(tmp_path))
    assert gi.ops() == ["SessionCreate", "TicketGet", "TicketUpdate", "TicketUpdate", "TicketGet",
                        "TicketUpdate", "TicketUpdate", "TicketGet"]
    assert len([w for w in gi.writes() if is_step1(w.body)]) == 2
    assert receipt.complete
    assert_one_closure(gi)


def test_lost_answer_on_the_owner_change_is_not_resent(gi: GIStub, tmp_path):
    gi.inject("TicketUpdate", Fault(exc=read_timeout, apply=True), when=is_step2)
    receipt = new_client().close(ticket_id=TICKET_ID, attention=ATTENTION, formats=make_formats(tmp_path))
    assert len([w for w in gi.writes() if is_step2(w.body)]) == 1
    assert receipt.complete and receipt.steps.owner is DONE and receipt.steps.owner_note is DONE
    assert_one_closure(gi)


def test_note_created_but_attachments_failed_gets_only_the_files(gi: GIStub, tmp_path):
    """Znuny wrote the article, then failed on the attachments (500): the files are sent on
    an article of their own; the note is not repeated."""
    gi.inject(
        "TicketUpdate",
        Fault(status=500, body={"faultcode": "Server", "faultstring": "Attachment could not be created, please "
              "contact the system administrator"}, apply=lambda d: d.pop("Attachment")),
        when=is_step1,
    )
    receipt = new_client().close(ticket_id=TICKET_ID, attention=ATTENTION, formats=make_formats(tmp_path))
    subjects = [w.body.get("Article", {}).get("Subject") for w in gi.writes()]
    assert subjects == ["Atendido", "Formatos adjuntos", "Se modifica propietario"]
    assert len(gi.articles(subject="Atendido")) == 1
    assert sorted(x.filename for x in receipt.attachments) == ["formato.docx", "formato_firmado.pdf"]
    assert receipt.complete


def test_write_attempts_are_bounded(gi: GIStub, tmp_path):
    gi.inject("TicketUpdate", *[Fault(exc=connection_refused)] * 10, when=is_step1)
    with pytest.raises(TransportError) as ei:
        new_client(retry_attempts=3).close(ticket_id=TICKET_ID, attention=ATTENTION)
    assert ei.value.may_have_reached_server is False
    assert len([w for w in gi.writes() if is_step1(w.body)]) == 3
    assert gi.articles(subject="Atendido") == []


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault(status=413, body="Request Entity Too Large", headers={"Content-Type": TEXT_CT}), RequestTooLarge),
        (gi_error("TicketUpdate.AccessDenied", "TicketUpdate: Does not have permissions to update state!"),
         AccessDenied),
        (gi_error("TicketUpdate.InvalidParameter", "TicketUpdate: Article->ContentType is invalid!"),
         InvalidParameter),
        (Fault(exc=lambda: __import__("requests").exceptions.SSLError("bad certificate")), TransportError),
    ],
    ids=["413", "AccessDenied", "InvalidParameter", "tls"],
)
def test_writes_never_retried_on_refusals(gi: GIStub, fault, error):
    gi.inject("TicketUpdate", fault, when=is_step1)
    sleeps: list[float] = []
    with pytest.raises(error):
        new_client(sleeps=sleeps).close(ticket_id=TICKET_ID, attention=ATTENTION)
    assert len([w for w in gi.writes() if is_step1(w.body)]) == 1
    assert gi.ops().count("TicketGet") == 1  # nothing to re-read: it was refused
    assert sleeps == []


def test_auth_fail_on_a_write_one_new_session_one_repeat_then_error(gi: GIStub):
    msg = "TicketUpdate: User could not be authenticated!"
    gi.inject("TicketUpdate", *[gi_error("TicketUpdate.AuthFail", msg)] * 3, when=is_step1)
    with pytest.raises(AuthenticationError) as ei:
        new_client().close(ticket_id=TICKET_ID, attention=ATTENTION)
    assert ei.value.error_code == "TicketUpdate.AuthFail"
    assert gi.ops() == ["SessionCreate", "TicketGet", "TicketUpdate", "TicketUpdate", "SessionCreate",
                        "TicketUpdate"]
    assert gi.pending_faults() == 1


def test_auth_fail_on_a_read_one_new_session_one_repeat(gi: GIStub):
    gi.inject("TicketSearch", gi_error("TicketSearch.AuthFail", "TicketSearch: Authorization failing!"))
    receipt = new_client().close(ticket_number=TICKET_NUMBER, attention=ATTENTION)
    assert receipt.complete
    assert gi.ops()[:4] == ["SessionCreate", "TicketSearch", "SessionCreate", "TicketSearch"]


def test_preflight_is_retried_like_a_read(gi: GIStub):
    gi.inject("TicketUpdate", Fault(exc=read_timeout), when=is_preflight)
    receipt = new_client().close(ticket_id=TICKET_ID, attention=ATTENTION)
    assert receipt.complete
    assert len([e for e in gi.of("TicketUpdate") if is_preflight(e.body)]) == 2


# -- partial closures ---------------------------------------------------------------------------


def test_failure_after_the_note_is_a_partial_closure_completed_by_a_second_close(gi: GIStub, tmp_path):
    formats = make_formats(tmp_path)
    denied = gi_error("TicketUpdate.AccessDenied", "TicketUpdate: Does not have permissions to update owner!")
    gi.inject("TicketUpdate", denied, when=is_step2)
    client = new_client()
    with pytest.raises(PartialClosure) as ei:
        client.close(ticket_number=TICKET_NUMBER, attention=ATTENTION, formats=formats)
    exc = ei.value
    assert isinstance(exc.cause, AccessDenied)
    assert exc.error_code == "TicketUpdate.AccessDenied" and exc.operation == "TicketUpdate"
    r = exc.receipt
    assert r.steps.model_dump() == {"note": DONE, "attachments": DONE, "state": DONE, "owner": PENDING,
                                    "owner_note": PENDING}
    assert r.remaining == ["owner", "owner_note"] and not r.complete
    assert r.note_article_id == gi.articles(subject="Atendido")[0]["ArticleID"]
    assert r.state == "Atendido" and r.owner == "tecnico1"
    assert exc.to_dict()["receipt"]["steps"]["owner"] == "pending"

    gi.log.clear()
    receipt = client.close(ticket_number=TICKET_NUMBER, attention=ATTENTION, formats=formats)
    assert [w.body["Article"]["Subject"] for w in gi.writes()] == ["Se modifica propietario"]
    assert receipt.complete
    assert receipt.steps.note is StepStatus.ALREADY_DONE and receipt.steps.owner is DONE
    assert_one_closure(gi)


def test_write_outcome_unknown_and_ticket_unreadable_is_partial_with_unknown_steps(gi: GIStub, tmp_path):
    """The note's answer is lost and the ticket cannot be re-read: the receipt says UNKNOWN
    (never resent blindly); a second close() settles it without a duplicate."""
    formats = make_formats(tmp_path)
    gi.inject("TicketUpdate", Fault(exc=read_timeout, apply=True), when=is_step1)
    # Once the note exists, the next 4 reads are refused: the re-read (2 attempts) and the
    # settling read (2 attempts).
    gi.inject("TicketGet", *[Fault(exc=connection_refused)] * 4, when=lambda d: bool(gi.articles(subject="Atendido")))
    client = new_client(retry_attempts=2)
    with pytest.raises(PartialClosure) as ei:
        client.close(ticket_id=TICKET_ID, attention=ATTENTION, formats=formats)
    assert gi.pending_faults() == 0
    assert len([w for w in gi.writes() if is_step1(w.body)]) == 1
    r = ei.value.receipt
    assert r.steps.note is UNKNOWN and r.steps.state is UNKNOWN and r.steps.attachments is UNKNOWN
    assert r.steps.owner is PENDING and r.steps.owner_note is PENDING
    assert set(r.remaining) == {"note", "attachments", "state", "owner", "owner_note"}
    assert isinstance(ei.value.cause, TransportError)

    gi.log.clear()
    receipt = client.close(ticket_id=TICKET_ID, attention=ATTENTION, formats=formats)
    assert receipt.complete
    assert [w.body["Article"]["Subject"] for w in gi.writes()] == ["Se modifica propietario"]
    assert_one_closure(gi)


def test_verify_read_failing_after_both_writes_is_not_a_failure(gi: GIStub):
    client = new_client(retry_attempts=2)
    gi.inject("TicketGet", *[Fault(exc=connection_refused)] * 4,
              when=lambda d: len(gi.articles(subject="Se modifica propietario")) == 1)
    receipt = client.close(ticket_id=TICKET_ID, attention=ATTENTION)
    assert gi.pending_faults() == 0
    assert receipt.steps.note is DONE and receipt.steps.owner is DONE
    assert receipt.writes_sent == 2
    assert_one_closure(gi, files=0)


def test_retry_after_on_a_write_is_honoured_before_the_reread(gi: GIStub):
    gi.inject("TicketUpdate", Fault(status=503, body="busy", headers={"Retry-After": "5"}), when=is_step1)
    sleeps: list[float] = []
    receipt = new_client(sleeps=sleeps).close(ticket_id=TICKET_ID, attention=ATTENTION)
    assert sleeps == [5.0]
    assert gi.ops() == ["SessionCreate", "TicketGet", "TicketUpdate", "TicketUpdate", "TicketGet",
                        "TicketUpdate", "TicketUpdate", "TicketGet"]
    assert receipt.complete and len(gi.articles(subject="Atendido")) == 1
