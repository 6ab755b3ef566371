"""The retry rules at the HTTP level: which failure is retried (the classification, on a read
and on a write), reads retried, writes resent only when the ticket does not show them,
Retry-After honoured, backoff and attempts bounded, every retry setting used, and a partial
closure completed by a second close() without duplicates. No real sleeps: the client's
``sleep`` records."""

from __future__ import annotations

import email.utils
import json
import time

import pytest
import requests
from helpers import (
    AGENT_LOGIN,
    AGENT_PASSWORD,
    BASE_URL,
    OWNER_LOGIN,
    TEXT_CT,
    TICKET_ID,
    TICKET_NUMBER,
    Answer,
    connect_timeout,
    connection_refused,
    door,
    dropped_connection,
    gi_error,
    is_preflight,
    is_step1,
    is_step2,
    make_formats,
    new_client,
    of,
    ops,
    read_timeout,
    service_desk,
    writes,
)

from otrs_closure import (
    AccessDenied,
    AuthenticationError,
    ClosureClient,
    ConnectError,
    ConnectionDropped,
    InputError,
    InvalidParameter,
    PartialClosure,
    ReadTimeout,
    RequestTooLarge,
    ServerError,
    ServiceRequest,
    StepStatus,
    TicketNotFound,
    TLSError,
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
    [Fault.CONNECTION_REFUSED, Fault.TIMEOUT_AFTER_APPLY, Fault.RESPONSE_LOST, Fault.SERVER_FAULT,
     Fault.MAINTENANCE_PAGE],
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


def test_retry_after_is_honoured_on_every_attempt(fake: FakeZnuny):
    fake.inject(Fault.RATE_LIMITED, "TicketGet", times=3, retry_after=7)
    sleeps: list[float] = []
    new_client(sleeps=sleeps).close(ticket_id=TICKET_ID, attention=ATTENTION)
    assert sleeps == [7.0, 7.0, 7.0]


def test_a_retry_after_in_the_past_means_no_wait():
    fake = service_desk()
    when = email.utils.formatdate(time.time() - 60, usegmt=True)
    busy = Answer("TicketGet", status=503, text="busy", headers={"Retry-After": when})
    sleeps: list[float] = []
    with door(fake, busy):
        new_client(sleeps=sleeps).close(ticket_id=TICKET_ID, attention=ATTENTION)
    assert sleeps == [0.0]


def test_reads_are_retried_until_one_succeeds_with_a_wait_between_each(fake: FakeZnuny):
    """A timeout, then a 429 asking for 2 s, then the answer."""
    fake.inject(Fault.RATE_LIMITED, "TicketGet", call=1, retry_after=2)
    sleeps: list[float] = []
    client = new_client(sleeps=sleeps)
    with door(fake, Answer("TicketGet", raises=read_timeout())):  # in front of the fake's call 1
        receipt = client.close(ticket_id=TICKET_ID, attention=ATTENTION)
    assert receipt.complete
    assert client.requests_sent["TicketGet"] == 4  # 2 failed + 1 (+ verify)
    assert len(sleeps) == 2 and sleeps[1] == 2


def test_read_attempts_are_bounded_by_retry_attempts(fake: FakeZnuny):
    fake.inject(Fault.CONNECTION_REFUSED, "TicketGet", times=10)
    sleeps: list[float] = []
    with pytest.raises(TransportError):
        new_client(sleeps=sleeps, retry_attempts=3).close(ticket_id=TICKET_ID, attention=ATTENTION)
    assert ops(fake) == ["SessionCreate", "TicketGet", "TicketGet", "TicketGet"]
    assert len(sleeps) == 2


@pytest.mark.parametrize("fault", [Fault.CONNECTION_REFUSED, Fault.TIMEOUT_AFTER_APPLY, Fault.SERVER_FAULT],
                         ids=["refused", "timeout", "500"])
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


def test_backoff_doubles_with_jitter_and_is_bounded_by_backoff_max():
    """Waits of 0.5, 1, 2, 4 s, then 8 s (backoff_max) for every later attempt, each
    scaled into [50 %, 100 %] of its base."""
    bases = [0.5, 1, 2, 4, 8, 8, 8, 8, 8, 8, 8]
    for _ in range(3):  # the jitter is random: several runs
        fake = service_desk()
        fake.inject(Fault.SERVER_FAULT, "TicketGet", times=len(bases))
        sleeps: list[float] = []
        with door(fake):
            new_client(sleeps=sleeps, retry_attempts=len(bases) + 1, retry_backoff=0.5, retry_backoff_max=8).close(
                ticket_id=TICKET_ID, attention=ATTENTION)
        assert len(sleeps) == len(bases)
        assert all(base / 2 <= wait <= base for wait, base in zip(sleeps, bases, strict=True)), sleeps
    fake = service_desk()
    fake.inject(Fault.SERVER_FAULT, "TicketGet", times=5)
    sleeps = []
    with door(fake):
        new_client(sleeps=sleeps, retry_attempts=6, retry_backoff=1, retry_backoff_max=2).close(
            ticket_id=TICKET_ID, attention=ATTENTION)
    assert len(sleeps) == 5
    assert all(s <= 2 for s in sleeps) and sleeps[-1] >= 1


def test_zero_backoff_means_no_wait(fake: FakeZnuny):
    fake.inject(Fault.CONNECTION_REFUSED, "TicketGet", times=2)
    sleeps: list[float] = []
    new_client(sleeps=sleeps, retry_backoff=0).close(ticket_id=TICKET_ID, attention=ATTENTION)
    assert sleeps == [0, 0]


def test_every_retry_setting_reaches_the_retries(fake: FakeZnuny):
    """retry_attempts, retry_backoff, retry_backoff_max and retry_after_max as the retries
    use them, and every wait goes to the client's ``sleep`` (retry_max_seconds: see
    test_the_time_budget_stops_retrying)."""
    fake.inject(Fault.SERVER_FAULT, "TicketGet", times=7)
    sleeps: list[float] = []
    client = new_client(sleeps=sleeps, retry_attempts=7, retry_max_seconds=11, retry_backoff=0.1,
                        retry_backoff_max=2, retry_after_max=5)
    with pytest.raises(ServerError):
        client.close(ticket_id=TICKET_ID, attention=ATTENTION)
    assert client.requests_sent["TicketGet"] == 7
    bases = [0.1, 0.2, 0.4, 0.8, 1.6, 2]
    assert len(sleeps) == 6 and all(b / 2 <= w <= b for w, b in zip(sleeps, bases, strict=True)), sleeps
    fake.inject(Fault.RATE_LIMITED, "TicketGet", retry_after=60)
    sleeps.clear()
    client.close(ticket_id=TICKET_ID, attention=ATTENTION)
    assert sleeps == [5.0]


def test_the_time_budget_stops_retrying(fake: FakeZnuny, monkeypatch):
    """retry_max_seconds bounds the whole loop (tenacity measures time.monotonic): here
    each wait takes 100 s of that clock."""
    now = {"t": 1000.0}
    monkeypatch.setattr(time, "monotonic", lambda: now["t"])

    def sleep(seconds: float) -> None:
        now["t"] += 100

    fake.inject(Fault.CONNECTION_REFUSED, "TicketGet", times=20)
    client = ClosureClient(BASE_URL, AGENT_LOGIN, AGENT_PASSWORD, OWNER_LOGIN, sleep=sleep, retry_attempts=20,
                           retry_max_seconds=150)
    with pytest.raises(TransportError):
        client.close(ticket_id=TICKET_ID, attention=ATTENTION)
    # t=1000 fails, sleep; 1100 fails, sleep; 1200 fails: 200 s >= 150 s, stop (the check follows an attempt).
    assert client.requests_sent["TicketGet"] == 3


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ({"json": gi_error("TicketGet.AccessDenied", "TicketGet: User does not have access to the ticket!")},
         AccessDenied),
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
    receipt = new_client(sleeps=sleeps).close(ticket_id=TICKET_ID, attention=ATTENTION,
                                             formats=make_formats(tmp_path))
    # No re-read between the refused attempt and the resend.
    assert ops(fake) == ["SessionCreate", "TicketGet", "TicketUpdate", "TicketUpdate", "TicketUpdate",
                         "TicketUpdate", "TicketGet"]
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
    assert ops(fake) == ["SessionCreate", "TicketGet", "TicketUpdate", "TicketUpdate", "TicketGet",
                         "TicketUpdate", "TicketGet"]
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
    receipt = new_client(retry_write_poll=0).close(ticket_id=TICKET_ID, attention=ATTENTION,
                                                   formats=make_formats(tmp_path))
    assert ops(fake) == ["SessionCreate", "TicketGet", "TicketUpdate", "TicketUpdate", "TicketGet",
                         "TicketUpdate", "TicketUpdate", "TicketGet"]
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
        ({"json": gi_error("TicketUpdate.AccessDenied", "TicketUpdate: Does not have permissions to update state!")},
         AccessDenied),
        ({"json": gi_error("TicketUpdate.InvalidParameter", "TicketUpdate: Article->ContentType is invalid!")},
         InvalidParameter),
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
    assert ops(fake) == ["SessionCreate", "TicketGet", "TicketUpdate", "TicketUpdate", "SessionCreate",
                         "TicketUpdate"]
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


# -- the classification: each failure, on a read and on a write -------------------------------

ZNUNY_500 = {"faultcode": "Server", "faultstring": "OperationObject returned an error, cancelling Request"}
RETRIED, NOT_RETRIED = True, False
NOT_SENT, UNKNOWN_OUTCOME, REJECTED = "resent at once", "re-read, then resent", "given up"

# name: (the answer in front of the fake, the error it is, retried as a read, what it means for a write)
FAILURES = {
    "connect": ({"raises": connection_refused()}, ConnectError, RETRIED, NOT_SENT),
    "timeout": ({"raises": read_timeout()}, ReadTimeout, RETRIED, UNKNOWN_OUTCOME),
    "dropped": ({"raises": dropped_connection()}, ConnectionDropped, RETRIED, UNKNOWN_OUTCOME),
    # A request that cannot be made (bad URL or header) is a configuration error.
    "unmakeable": ({"raises": requests.exceptions.InvalidHeader("Invalid leading whitespace in header value")},
                   InputError, NOT_RETRIED, REJECTED),
    "tls": ({"raises": requests.exceptions.SSLError("certificate verify failed")}, TLSError, NOT_RETRIED, REJECTED),
    "500": ({"status": 500, "json": ZNUNY_500}, ServerError, RETRIED, UNKNOWN_OUTCOME),
    "429": ({"status": 429, "text": "Too Many Requests", "headers": {"Retry-After": "3"}}, ServerError, RETRIED,
            UNKNOWN_OUTCOME),
    "deterministic-500": ({"status": 500, "text": "Error while decoding request content."}, ServerError,
                          NOT_RETRIED, REJECTED),
    "413": ({"status": 413, "text": "Request Entity Too Large"}, RequestTooLarge, NOT_RETRIED, REJECTED),
    "access-denied": ({"json": gi_error("X.AccessDenied", "denied")}, AccessDenied, NOT_RETRIED, REJECTED),
    "invalid": ({"json": gi_error("X.InvalidParameter", "invalid")}, InvalidParameter, NOT_RETRIED, REJECTED),
    "401": ({"status": 401, "text": "Unauthorized"}, AuthenticationError, NOT_RETRIED, REJECTED),
    "not-found": ({"json": gi_error("X.NotValidTicketID", "no ticket")}, TicketNotFound, NOT_RETRIED, REJECTED),
    "not-ours": ({"raises": ValueError("not ours")}, ValueError, NOT_RETRIED, REJECTED),
}


@pytest.mark.parametrize("name", list(FAILURES))
def test_a_failed_read_is_retried_or_raised(fake: FakeZnuny, name):
    answer, error, retried, _ = FAILURES[name]
    sleeps: list[float] = []
    client = new_client(sleeps=sleeps)
    with door(fake, Answer("TicketGet", **answer)):
        if retried:
            assert client.close(ticket_id=TICKET_ID, attention=ATTENTION).complete
            assert client.requests_sent["TicketGet"] == 3  # failed + 1 (+ verify)
            assert len(sleeps) == 1
        else:
            with pytest.raises(error):
                client.close(ticket_id=TICKET_ID, attention=ATTENTION)
            assert client.requests_sent == {"SessionCreate": 1, "TicketGet": 1}
            assert sleeps == []


@pytest.mark.parametrize("name", list(FAILURES))
def test_a_failed_write_is_resent_at_once_reread_first_or_given_up(fake: FakeZnuny, name):
    """Step 1 fails once, unapplied: a request that never arrived is resent with no re-read;
    one that may have been applied is resent only after the ticket, re-read (after the
    settle wait), does not show it; any other is never resent."""
    answer, error, _, outcome = FAILURES[name]
    sleeps: list[float] = []
    client = new_client(sleeps=sleeps, retry_write_poll=0)
    with door(fake, Answer("TicketUpdate", call=2, **answer)):
        if outcome == REJECTED:
            with pytest.raises(error):
                client.close(ticket_id=TICKET_ID, attention=ATTENTION)
            assert client.requests_sent == {"SessionCreate": 1, "TicketGet": 1, "TicketUpdate": 2}
            assert sleeps == []
            fake.assert_ticket(TICKET_ID, state="new", notes_with_subject={"Atendido": 0})
            return
        receipt = client.close(ticket_id=TICKET_ID, attention=ATTENTION)
    assert receipt.complete and len(fake.ticket(TICKET_ID).articles_with_subject("Atendido")) == 1
    assert client.requests_sent["TicketUpdate"] == 4  # preflight, step 1 twice, step 2
    rereads = 1 if outcome == UNKNOWN_OUTCOME else 0
    assert client.requests_sent["TicketGet"] == 2 + rereads  # the first read, (the re-read,) the verify
    assert len(sleeps) == 1
    assert sleeps[0] >= 2.0 if outcome == UNKNOWN_OUTCOME else sleeps[0] < 2.0  # retry_write_settle is 2 s


def test_a_write_is_resent_after_not_sent_and_unknown_outcomes_until_it_succeeds(fake: FakeZnuny):
    """Refused, timed out, a 500: step 1 is sent four times, with a wait before each resend,
    and lands once."""
    failures = [Answer("TicketUpdate", call=2, raises=connection_refused()),
                Answer("TicketUpdate", call=2, raises=read_timeout()),
                Answer("TicketUpdate", call=2, status=500, json=ZNUNY_500)]
    sleeps: list[float] = []
    client = new_client(sleeps=sleeps, retry_attempts=5, retry_write_poll=0)
    with door(fake, *failures):
        receipt = client.close(ticket_id=TICKET_ID, attention=ATTENTION)
    assert receipt.complete
    assert [len(a.received) for a in failures] == [1, 1, 1]
    assert len([w for w in writes(fake) if is_step1(w.body)]) == 1  # the fourth, answered by Znuny
    assert client.requests_sent["TicketUpdate"] == 6  # preflight, step 1 four times, step 2
    assert len(sleeps) == 3
    assert_one_closure(fake, files=0)


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
        assert r.steps.model_dump() == {"note": DONE, "attachments": DONE, "state": DONE, "owner": PENDING,
                                        "owner_note": PENDING}
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
    receipt = new_client(sleeps=sleeps, retry_write_poll=0).close(ticket_id=TICKET_ID, attention=ATTENTION)
    assert sleeps == [5.0]
    assert ops(fake) == ["SessionCreate", "TicketGet", "TicketUpdate", "TicketUpdate", "TicketGet",
                         "TicketUpdate", "TicketUpdate", "TicketGet"]
    assert receipt.complete and len(fake.ticket(TICKET_ID).articles_with_subject("Atendido")) == 1


# -- a slow commit: polled for before anything is resent --------------------------------------


def test_a_write_committed_after_its_answer_timed_out_is_found_by_polling_not_resent(fake: FakeZnuny):
    """The server commits step 1 only after the client gave up on the answer (a proxy timed
    out first): the client keeps re-reading for ``retry_write_poll`` seconds, finds the
    note, and does not send it again."""
    from helpers import SERVICE_URL, hooked_session

    fake.inject(Fault.UNAVAILABLE, "TicketUpdate", call=2, retry_after=0)  # not applied (yet)
    lost: list[bytes] = []
    gets_after = []

    def on_answer(response: requests.Response) -> None:
        request = response.request
        if request.method == "PATCH" and response.status_code == 503:
            lost.append(request.body)  # type: ignore[arg-type]
        elif request.method == "GET" and lost:
            gets_after.append(1)
            if len(gets_after) == 2:  # the server finishes the write now, late
                requests.patch(SERVICE_URL + f"/Ticket/{TICKET_ID}", data=lost[0],
                               headers={"Content-Type": "application/json"}, timeout=5)

    sleeps: list[float] = []
    client = new_client(sleeps=sleeps, session_factory=hooked_session(on_answer), retry_write_poll=10)
    receipt = client.close(ticket_id=TICKET_ID, attention=ATTENTION)
    assert receipt.complete
    assert client.requests_sent["TicketUpdate"] == 3  # preflight, step 1 once, step 2
    assert len(fake.ticket(TICKET_ID).articles_with_subject("Atendido")) == 1
    assert sleeps[1:3] == [0.5, 1.0]  # after the settle wait: the first poll waits


def test_the_poll_is_bounded_then_the_write_is_resent(fake: FakeZnuny):
    fake.inject(Fault.UNAVAILABLE, "TicketUpdate", call=2, retry_after=0)
    sleeps: list[float] = []
    client = new_client(sleeps=sleeps, retry_write_poll=3)
    receipt = client.close(ticket_id=TICKET_ID, attention=ATTENTION)
    assert receipt.complete and len(fake.ticket(TICKET_ID).articles_with_subject("Atendido")) == 1
    polls = [s for s in sleeps if s in (0.5, 1.0, 1.5)]
    assert sum(polls) == 3.0  # 0.5 + 1 + 1.5: the window, then the resend
    assert client.requests_sent["TicketUpdate"] == 4  # preflight, step 1 twice, step 2
