"""The retry rules at the HTTP level: reads retried, writes resent only when the ticket does
not show them, Retry-After honoured, attempts bounded, and a partial closure completed by
a second close() without duplicates. No real sleeps: the client's ``sleep`` records."""

from __future__ import annotations

import email.utils
import json
import time

import pytest
import requests
from helpers import (
    OWNER_LOGIN,
    TEXT_CT,
    TICKET_ID,
    TICKET_NUMBER,
    Answer,
    connect_timeout,
    door,
    gi_error,
    is_preflight,
    is_step1,
    is_step2,
    make_formats,
    new_client,
    of,
    ops,
    service_desk,
    writes,
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
from otrs_closure.testing import FakeZnuny, Fault, WriteStep

ATTENTION = ServiceRequest(description="Se reconfiguró la impresora.")
DONE, PENDING, UNKNOWN = StepStatus.DONE, StepStatus.PENDING, StepStatus.UNKNOWN
BAD_GATEWAY = {"status": 502, "text": "Bad Gateway", "content_type": "text/html"}


@pytest.fixture
def fake() -> FakeZnuny:
    return service_desk()


@pytest.fixture(autouse=True)
def wire(fake: FakeZnuny):
    """Every test talks to ``fake`` through its responses door; a test that needs answers
    the fake never gives opens a door of its own (with :class:`Answer` s) inside this one."""
    with door(fake) as rsps:
        yield rsps


def assert_one_closure(fake: FakeZnuny, files: int = 2) -> None:
    """Never a second note, never a second set of attachments, never a second owner note."""
    ticket = fake.ticket(TICKET_ID)
    notes = ticket.articles_with_subject("Atendido")
    assert len(notes) == 1
    assert len(notes[0].attachments) == files
    assert len(ticket.attachments()) == files
    assert len(ticket.articles_with_subject("Se modifica propietario")) == 1
    assert ticket.state == "Atendido" and ticket.owner == OWNER_LOGIN


def lost_before_writing(fake: FakeZnuny, fault: Fault | None, call: int = 2) -> None:
    """TicketUpdate ``call`` changes nothing: Znuny fails on its first write, the state
    (HTTP 500), and, with ``fault``, that answer is lost too."""
    fake.fail_write(WriteStep.STATE)
    if fault is not None:
        fake.inject(fault, "TicketUpdate", call=call)


# -- reads ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        Fault.CONNECTION_REFUSED,
        Fault.TIMEOUT_AFTER_APPLY,
        Fault.RESPONSE_LOST,
        Fault.SERVER_FAULT,
        Fault.MAINTENANCE_PAGE,
    ],
    ids=["refused", "read-timeout", "dropped", "500-json", "html-200"],
)
@pytest.mark.parametrize("operation", ["SessionCreate", "TicketSearch", "TicketGet"])
def test_reads_are_retried(fake: FakeZnuny, operation, fault):
    fake.inject(fault, operation, call=1, times=2)
    sleeps: list[float] = []
    receipt = new_client(sleeps=sleeps).close(ticket_number=TICKET_NUMBER, attention=ATTENTION)
    assert receipt.complete
    assert ops(fake).count(operation) == (3 if operation != "TicketGet" else 4)  # 2 failed + 1 (+ verify)
    assert len(sleeps) == 2
    # Exponential backoff with jitter: 0.5 s then 1 s, each scaled into [50 %, 100 %].
    assert 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0


@pytest.mark.parametrize(
    "answer",
    [{"raises": connect_timeout()}, BAD_GATEWAY],
    ids=["connect-timeout", "502"],
)
@pytest.mark.parametrize("operation", ["SessionCreate", "TicketSearch", "TicketGet"])
def test_reads_are_retried_after_answers_the_fake_never_gives(operation, answer):
    """A connect timeout and a proxy's 502, twice, then Znuny answers."""
    fake = service_desk()
    failed = [Answer(operation, **answer) for _ in range(2)]
    sleeps: list[float] = []
    with door(fake, *failed):
        receipt = new_client(sleeps=sleeps).close(ticket_number=TICKET_NUMBER, attention=ATTENTION)
    assert receipt.complete
    assert all(len(a.received) == 1 for a in failed)  # 2 failed ...
    assert ops(fake).count(operation) == (1 if operation != "TicketGet" else 2)  # ... + 1 (+ verify)
    assert len(sleeps) == 2
    assert 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0


@pytest.mark.parametrize("fault", [Fault.RATE_LIMITED, Fault.UNAVAILABLE], ids=["429", "503"])
def test_retry_after_is_honoured(fake: FakeZnuny, fault):
    fake.inject(fault, "TicketGet", retry_after=7)
    sleeps: list[float] = []
    new_client(sleeps=sleeps).close(ticket_id=TICKET_ID, attention=ATTENTION)
    assert sleeps == [7.0]


def test_retry_after_is_capped_by_retry_after_max(fake: FakeZnuny):
    fake.inject(Fault.UNAVAILABLE, "TicketSearch", retry_after=3600)
    sleeps: list[float] = []
    new_client(sleeps=sleeps, retry_after_max=12).close(ticket_number=TICKET_NUMBER, attention=ATTENTION)
    assert sleeps == [12.0]


def test_retry_after_as_an_http_date():
    fake = service_desk()
    when = email.utils.formatdate(time.time() + 20, usegmt=True)
    busy = Answer("TicketGet", status=503, text="busy", headers={"Retry-After": when})
    sleeps: list[float] = []
    with door(fake, busy):
        new_client(sleeps=sleeps).close(ticket_id=TICKET_ID, attention=ATTENTION)
    assert len(sleeps) == 1 and 15 <= sleeps[0] <= 20


def test_read_attempts_are_bounded_by_retry_attempts(fake: FakeZnuny):
    fake.inject(Fault.CONNECTION_REFUSED, "TicketGet", times=10)
    sleeps: list[float] = []
    with pytest.raises(TransportError):
        new_client(sleeps=sleeps, retry_attempts=3).close(ticket_id=TICKET_ID, attention=ATTENTION)
    assert ops(fake) == ["SessionCreate", "TicketGet", "TicketGet", "TicketGet"]
    assert len(sleeps) == 2


@pytest.mark.parametrize(
    "fault",
    [Fault.CONNECTION_REFUSED, Fault.TIMEOUT_AFTER_APPLY, Fault.SERVER_FAULT],
    ids=["refused", "timeout", "500"],
)
def test_session_create_attempts_are_bounded_too(fake: FakeZnuny, fault):
    """The login made on behalf of a read is retried by that read's loop, not squared."""
    fake.inject(fault, "SessionCreate", times=20)
    sleeps: list[float] = []
    with pytest.raises((TransportError, ServerError)) as ei:
        new_client(sleeps=sleeps, retry_attempts=3).close(ticket_number=TICKET_NUMBER, attention=ATTENTION)
    assert ei.value.operation == "SessionCreate"
    assert ops(fake) == ["SessionCreate"] * 3
    assert len(sleeps) == 2


def test_retry_attempts_one_means_no_retry(fake: FakeZnuny):
    fake.inject(Fault.TIMEOUT_AFTER_APPLY, "TicketGet")
    with pytest.raises(TransportError):
        new_client(retry_attempts=1).close(ticket_id=TICKET_ID, attention=ATTENTION)
    assert ops(fake).count("TicketGet") == 1


def test_backoff_is_bounded_by_backoff_max(fake: FakeZnuny):
    fake.inject(Fault.SERVER_FAULT, "TicketGet", times=5)
    sleeps: list[float] = []
    new_client(sleeps=sleeps, retry_attempts=6, retry_backoff=1, retry_backoff_max=2).close(
        ticket_id=TICKET_ID, attention=ATTENTION
    )
    assert len(sleeps) == 5
    assert all(s <= 2 for s in sleeps) and sleeps[-1] >= 1


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (
            {"json": gi_error("TicketGet.AccessDenied", "TicketGet: User does not have access to the ticket!")},
            AccessDenied,
        ),
        ({"json": gi_error("TicketGet.InvalidParameter", "TicketGet: bad")}, InvalidParameter),
        ({"status": 413, "text": "Request Entity Too Large"}, RequestTooLarge),
    ],
)
def test_reads_never_retried_on_refusals(answer, error):
    fake = service_desk()
    refusal = Answer("TicketGet", **answer)
    sleeps: list[float] = []
    with door(fake, refusal):
        with pytest.raises(error):
            new_client(sleeps=sleeps).close(ticket_id=TICKET_ID, attention=ATTENTION)
        assert ops(fake) == ["SessionCreate"]  # the one TicketGet was ``refusal``'s
    assert sleeps == []


# -- writes -----------------------------------------------------------------------------------------


def test_write_resent_blindly_after_connection_refused(fake: FakeZnuny, tmp_path):
    fake.inject(Fault.CONNECTION_REFUSED, "TicketUpdate", call=2)
    sleeps: list[float] = []
    receipt = new_client(sleeps=sleeps).close(ticket_id=TICKET_ID, attention=ATTENTION, formats=make_formats(tmp_path))
    # No re-read between the refused attempt and the resend.
    assert ops(fake) == [
        "SessionCreate",
        "TicketGet",
        "TicketUpdate",
        "TicketUpdate",
        "TicketUpdate",
        "TicketUpdate",
        "TicketGet",
    ]
    assert len(sleeps) == 1
    assert receipt.complete and receipt.writes_sent == 3
    assert_one_closure(fake)


def proxy_502_after_znuny(status: int, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], str]:
    """A proxy that passed the request to Znuny (which applied it) and then answered 502 itself."""
    assert status == 200, body
    return 502, {"Content-Type": "text/html"}, "Bad Gateway"


@pytest.mark.parametrize(
    "fault",
    [Fault.TIMEOUT_AFTER_APPLY, Fault.RESPONSE_LOST, Fault.SERVER_FAULT, "502"],
    ids=["read-timeout", "dropped", "500", "502"],
)
def test_lost_answer_on_the_note_is_not_resent_when_the_ticket_shows_it(tmp_path, fault):
    fake = service_desk()
    answers = []
    if fault == "502":
        answers.append(Answer("TicketUpdate", call=2, through=proxy_502_after_znuny))
    else:  # each applies the note, then the answer is lost
        fake.inject(fault, "TicketUpdate", call=2, **({"apply": True} if fault is Fault.SERVER_FAULT else {}))
    with door(fake, *answers):
        receipt = new_client().close(ticket_id=TICKET_ID, attention=ATTENTION, formats=make_formats(tmp_path))
    assert ops(fake) == [
        "SessionCreate",
        "TicketGet",
        "TicketUpdate",
        "TicketUpdate",
        "TicketGet",
        "TicketUpdate",
        "TicketGet",
    ]
    assert len([w for w in writes(fake) if is_step1(w.body)]) == 1
    assert receipt.complete
    assert receipt.steps.note is DONE and receipt.steps.attachments is DONE
    assert receipt.note_article_id == fake.ticket(TICKET_ID).articles_with_subject("Atendido")[0].article_id
    assert_one_closure(fake)


@pytest.mark.parametrize(
    "fault", [Fault.TIMEOUT_AFTER_APPLY, Fault.RESPONSE_LOST, None], ids=["read-timeout", "dropped", "500"]
)
def test_lost_write_is_resent_when_the_ticket_does_not_show_it(fake: FakeZnuny, tmp_path, fault):
    lost_before_writing(fake, fault)
    receipt = new_client().close(ticket_id=TICKET_ID, attention=ATTENTION, formats=make_formats(tmp_path))
    assert ops(fake) == [
        "SessionCreate",
        "TicketGet",
        "TicketUpdate",
        "TicketUpdate",
        "TicketGet",
        "TicketUpdate",
        "TicketUpdate",
        "TicketGet",
    ]
    assert len([w for w in writes(fake) if is_step1(w.body)]) == 2
    assert receipt.complete
    assert_one_closure(fake)


def test_lost_answer_on_the_owner_change_is_not_resent(fake: FakeZnuny, tmp_path):
    fake.inject(Fault.TIMEOUT_AFTER_APPLY, "TicketUpdate", call=3)
    receipt = new_client().close(ticket_id=TICKET_ID, attention=ATTENTION, formats=make_formats(tmp_path))
    assert len([w for w in writes(fake) if is_step2(w.body)]) == 1
    assert receipt.complete and receipt.steps.owner is DONE and receipt.steps.owner_note is DONE
    assert_one_closure(fake)


def test_note_created_but_attachments_failed_gets_only_the_files(fake: FakeZnuny, tmp_path):
    """Znuny wrote the article, then failed on the attachments (500): the files are sent on
    an article of their own; the note is not repeated."""
    fake.fail_write(WriteStep.ATTACHMENT)
    receipt = new_client().close(ticket_id=TICKET_ID, attention=ATTENTION, formats=make_formats(tmp_path))
    assert of(fake, "TicketUpdate")[1].status == 500
    subjects = [w.body.get("Article", {}).get("Subject") for w in writes(fake)]
    assert subjects == ["Atendido", "Formatos adjuntos", "Se modifica propietario"]
    assert len(fake.ticket(TICKET_ID).articles_with_subject("Atendido")) == 1
    assert sorted(x.filename for x in receipt.attachments) == ["formato.docx", "formato_firmado.pdf"]
    assert receipt.complete


def test_write_attempts_are_bounded(fake: FakeZnuny, wire):
    fake.inject(Fault.CONNECTION_REFUSED, "TicketUpdate", call=2, times=10)
    with pytest.raises(TransportError) as ei:
        new_client(retry_attempts=3).close(ticket_id=TICKET_ID, attention=ATTENTION)
    assert ei.value.may_have_reached_server is False
    # Refused connections carry no body to the fake: count the step-1 bodies on the wire.
    sent = [json.loads(c.request.body) for c in wire.calls if c.request.method == "PATCH"]
    assert len([body for body in sent if is_step1(body)]) == 3
    assert fake.ticket(TICKET_ID).articles_with_subject("Atendido") == ()


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ({"status": 413, "text": "Request Entity Too Large", "content_type": TEXT_CT}, RequestTooLarge),
        (
            {"json": gi_error("TicketUpdate.AccessDenied", "TicketUpdate: Does not have permissions to update state!")},
            AccessDenied,
        ),
        (
            {"json": gi_error("TicketUpdate.InvalidParameter", "TicketUpdate: Article->ContentType is invalid!")},
            InvalidParameter,
        ),
        ({"raises": requests.exceptions.SSLError("bad certificate")}, TransportError),
    ],
    ids=["413", "AccessDenied", "InvalidParameter", "tls"],
)
def test_writes_never_retried_on_refusals(answer, error):
    fake = service_desk()
    refusal = Answer("TicketUpdate", call=2, **answer)  # step 1
    sleeps: list[float] = []
    with door(fake, refusal):
        with pytest.raises(error):
            new_client(sleeps=sleeps).close(ticket_id=TICKET_ID, attention=ATTENTION)
        # Step 1 was sent once (to ``refusal``); nothing after it, not even a re-read:
        # it was refused.
        assert ops(fake) == ["SessionCreate", "TicketGet", "TicketUpdate"]
        assert is_step1(json.loads(refusal.received[0]))
    assert sleeps == []


def test_auth_fail_on_a_write_one_new_session_one_repeat_then_error(fake: FakeZnuny):
    fake.inject(Fault.SESSION_EXPIRED, "TicketUpdate", call=2, times=3)
    with pytest.raises(AuthenticationError) as ei:
        new_client().close(ticket_id=TICKET_ID, attention=ATTENTION)
    assert ei.value.error_code == "TicketUpdate.AuthFail"
    assert ops(fake) == ["SessionCreate", "TicketGet", "TicketUpdate", "TicketUpdate", "SessionCreate", "TicketUpdate"]
    assert len(fake.faults_fired) == 2  # the third planned expiry never came to pass


def test_auth_fail_on_a_read_one_new_session_one_repeat(fake: FakeZnuny):
    fake.inject(Fault.SESSION_EXPIRED, "TicketSearch")
    receipt = new_client().close(ticket_number=TICKET_NUMBER, attention=ATTENTION)
    assert receipt.complete
    assert ops(fake)[:4] == ["SessionCreate", "TicketSearch", "SessionCreate", "TicketSearch"]


def test_preflight_is_retried_like_a_read(fake: FakeZnuny):
    fake.inject(Fault.TIMEOUT_AFTER_APPLY, "TicketUpdate", call=1)
    receipt = new_client().close(ticket_id=TICKET_ID, attention=ATTENTION)
    assert receipt.complete
    assert len([e for e in of(fake, "TicketUpdate") if is_preflight(e.body)]) == 2


# -- partial closures ---------------------------------------------------------------------------


def test_failure_after_the_note_is_a_partial_closure_completed_by_a_second_close(tmp_path):
    fake = service_desk()
    formats = make_formats(tmp_path)
    owner_denied = "TicketUpdate: Does not have permissions to update owner!"
    denied = Answer("TicketUpdate", call=3, json=gi_error("TicketUpdate.AccessDenied", owner_denied))  # step 2
    client = new_client()
    with door(fake, denied):
        with pytest.raises(PartialClosure) as ei:
            client.close(ticket_number=TICKET_NUMBER, attention=ATTENTION, formats=formats)
        exc = ei.value
        assert isinstance(exc.cause, AccessDenied)
        assert exc.error_code == "TicketUpdate.AccessDenied" and exc.operation == "TicketUpdate"
        r = exc.receipt
        assert r.steps.model_dump() == {
            "note": DONE,
            "attachments": DONE,
            "state": DONE,
            "owner": PENDING,
            "owner_note": PENDING,
        }
        assert r.remaining == ["owner", "owner_note"] and not r.complete
        assert r.note_article_id == fake.ticket(TICKET_ID).articles_with_subject("Atendido")[0].article_id
        assert r.state == "Atendido" and r.owner == "tecnico1"
        assert exc.to_dict()["receipt"]["steps"]["owner"] == "pending"

        fake.clear_records()
        receipt = client.close(ticket_number=TICKET_NUMBER, attention=ATTENTION, formats=formats)
    assert [w.body["Article"]["Subject"] for w in writes(fake)] == ["Se modifica propietario"]
    assert receipt.complete
    assert receipt.steps.note is StepStatus.ALREADY_DONE and receipt.steps.owner is DONE
    assert_one_closure(fake)


def test_write_outcome_unknown_and_ticket_unreadable_is_partial_with_unknown_steps(fake: FakeZnuny, tmp_path):
    """The note's answer is lost and the ticket cannot be re-read: the receipt says UNKNOWN
    (never resent blindly); a second close() settles it without a duplicate."""
    formats = make_formats(tmp_path)
    fake.inject(Fault.TIMEOUT_AFTER_APPLY, "TicketUpdate", call=2)
    # Once the note exists, the next 4 reads are refused: the re-read (2 attempts) and the
    # settling read (2 attempts). TicketGet call 1 was the first read.
    fake.inject(Fault.CONNECTION_REFUSED, "TicketGet", call=2, times=4)
    client = new_client(retry_attempts=2)
    with pytest.raises(PartialClosure) as ei:
        client.close(ticket_id=TICKET_ID, attention=ATTENTION, formats=formats)
    assert [f.kind for f in fake.faults_fired].count(Fault.CONNECTION_REFUSED) == 4
    assert len([w for w in writes(fake) if is_step1(w.body)]) == 1
    r = ei.value.receipt
    assert r.steps.note is UNKNOWN and r.steps.state is UNKNOWN and r.steps.attachments is UNKNOWN
    assert r.steps.owner is PENDING and r.steps.owner_note is PENDING
    assert set(r.remaining) == {"note", "attachments", "state", "owner", "owner_note"}
    assert isinstance(ei.value.cause, TransportError)

    fake.clear_records()
    receipt = client.close(ticket_id=TICKET_ID, attention=ATTENTION, formats=formats)
    assert receipt.complete
    assert [w.body["Article"]["Subject"] for w in writes(fake)] == ["Se modifica propietario"]
    assert_one_closure(fake)


def test_verify_read_failing_after_both_writes_is_not_a_failure(fake: FakeZnuny):
    client = new_client(retry_attempts=2)
    # TicketGet call 2 is the verifying read, after both writes: it and the 3 reads after it fail.
    fake.inject(Fault.CONNECTION_REFUSED, "TicketGet", call=2, times=4)
    receipt = client.close(ticket_id=TICKET_ID, attention=ATTENTION)
    assert len(fake.faults_fired) == 4
    assert receipt.steps.note is DONE and receipt.steps.owner is DONE
    assert receipt.writes_sent == 2
    assert_one_closure(fake, files=0)


def test_retry_after_on_a_write_is_honoured_before_the_reread(fake: FakeZnuny):
    fake.inject(Fault.UNAVAILABLE, "TicketUpdate", call=2, retry_after=5)
    sleeps: list[float] = []
    receipt = new_client(sleeps=sleeps).close(ticket_id=TICKET_ID, attention=ATTENTION)
    assert sleeps == [5.0]
    assert ops(fake) == [
        "SessionCreate",
        "TicketGet",
        "TicketUpdate",
        "TicketUpdate",
        "TicketGet",
        "TicketUpdate",
        "TicketUpdate",
        "TicketGet",
    ]
    assert receipt.complete and len(fake.ticket(TICKET_ID).articles_with_subject("Atendido")) == 1
