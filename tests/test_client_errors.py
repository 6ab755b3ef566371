"""Every way the server (or the network) can answer, mapped to its typed error, with the
context the server gave: operation, ticket, HTTP status, ErrorCode, ErrorMessage."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests
import responses
from helpers import (
    AGENT_LOGIN,
    OWNER_INVALID,
    OWNER_LOGIN,
    SERVICE_URL,
    STATE_INVALID,
    TEXT_CT,
    TICKET_ID,
    TICKET_NUMBER,
    Answer,
    after_step1_session,
    connect_timeout,
    connection_refused,
    door,
    dropped_connection,
    gi_error,
    new_client,
    of,
    ops,
    read_timeout,
    service_desk,
    sessions,
)

from otrs_closure import (
    AccessDenied,
    AuthenticationError,
    InputError,
    InvalidParameter,
    OtrsClosureError,
    PartialClosure,
    RequestTooLarge,
    ServerError,
    ServiceRequest,
    TicketNotFound,
    TransportError,
)
from otrs_closure.testing import FakeZnuny, Fault

ATTENTION = ServiceRequest(description="Se reconfiguró la impresora.")


@pytest.fixture
def fake() -> FakeZnuny:
    return service_desk()


@pytest.fixture(autouse=True)
def wire(fake: FakeZnuny):
    """Every test talks to ``fake`` through its responses door; a test that needs answers
    the fake never gives opens a door (or a plain RequestsMock) of its own inside this one."""
    with door(fake) as rsps:
        yield rsps


@contextmanager
def plain_server(*registrations: tuple[str, str, dict]) -> Iterator[responses.RequestsMock]:
    """Plain ``responses`` for a short exchange whose answers are the point of the test:
    ``(method, path below SERVICE_URL, responses.add keywords)``, used in order."""
    with responses.RequestsMock() as rsps:
        for method, path, kw in registrations:
            rsps.add(method, SERVICE_URL + path, **kw)
        yield rsps


SESSION = ("POST", "/Session", {"json": {"SessionID": "s" * 32}})


def close(client=None, **kw):
    kw.setdefault("attention", ATTENTION)
    if "ticket_number" not in kw:
        kw.setdefault("ticket_id", TICKET_ID)
    return (client or new_client()).close(**kw)


def assert_context(exc: OtrsClosureError, *, operation, ticket, http_status, error_code=None, error_message=None):
    assert isinstance(exc, OtrsClosureError)
    assert exc.operation == operation
    assert exc.ticket == ticket
    assert exc.http_status == http_status
    assert exc.error_code == error_code
    assert exc.error_message == error_message
    d = exc.to_dict()
    assert d["error"] == type(exc).__name__
    assert (d["operation"], d["ticket"], d["http_status"], d["error_code"], d["error_message"]) == (
        operation, ticket, http_status, error_code, error_message)
    if operation:
        assert f"operation={operation}" in str(exc)


# -- 200 + Error ------------------------------------------------------------------------------------


def test_session_create_auth_fail_is_authentication_error_not_retried(fake: FakeZnuny):
    with pytest.raises(AuthenticationError) as ei:
        close(new_client(password="mala-clave"))
    assert_context(ei.value, operation="SessionCreate", ticket=None, http_status=200,
                   error_code="SessionCreate.AuthFail", error_message="SessionCreate: Authorization failing!")
    assert ops(fake) == ["SessionCreate"]


def test_unknown_user_is_authentication_error(fake: FakeZnuny):
    with pytest.raises(AuthenticationError):
        close(new_client(username="nadie"))
    assert ops(fake) == ["SessionCreate"]


def test_auth_fail_after_one_relogin_is_authentication_error(fake: FakeZnuny):
    msg = "TicketGet: Authorization failing!"
    fake.inject(Fault.SESSION_EXPIRED, "TicketGet", times=2)  # the new session dies too
    with pytest.raises(AuthenticationError) as ei:
        # The session in the query (as on OTRS 6), so no header is being found out.
        close(new_client(session_header=False))
    assert_context(ei.value, operation="TicketGet", ticket=TICKET_ID, http_status=200,
                   error_code="TicketGet.AuthFail", error_message=msg)
    assert ops(fake) == ["SessionCreate", "TicketGet", "SessionCreate", "TicketGet"]
    # The repeat used the new session.
    first, second = of(fake, "TicketGet")
    assert first.query["SessionID"] != second.query["SessionID"]
    assert second.query["SessionID"] == sessions(fake)[-1]  # the one the 2nd SessionCreate made


def test_expired_session_is_renewed_transparently(fake: FakeZnuny):
    client = new_client()
    close(client)
    fake.expire_all_sessions()  # recording 90: an idle session answers *.AuthFail
    assert fake.new_service_desk_ticket() == (3, "2026112810000021")
    fake.clear_records()
    receipt = close(client, ticket_number="2026112810000021")
    assert receipt.complete
    assert ops(fake) == ["TicketSearch", "SessionCreate", "TicketSearch", "TicketGet", "TicketUpdate",
                         "TicketUpdate", "TicketGet"]


def test_expired_session_on_a_write_relogs_and_repeats_once(fake: FakeZnuny):
    fake.inject(Fault.SESSION_EXPIRED, "TicketUpdate", call=2)  # step 1 (call 1 is the preflight)
    receipt = close()
    assert receipt.complete
    assert ops(fake) == ["SessionCreate", "TicketGet", "TicketUpdate", "TicketUpdate", "SessionCreate",
                         "TicketUpdate", "TicketUpdate", "TicketGet"]
    assert of(fake, "TicketUpdate")[1].status == 200  # answered TicketUpdate.AuthFail
    fake.assert_ticket(TICKET_ID, notes_with_subject={"Atendido": 1})


def test_access_denied_on_an_unknown_ticket_id(fake: FakeZnuny):
    # Recording 64b: Znuny says AccessDenied, not "not found", for a TicketID that does not exist.
    with pytest.raises(AccessDenied) as ei:
        close(ticket_id=999999)
    assert_context(ei.value, operation="TicketGet", ticket=999999, http_status=200,
                   error_code="TicketGet.AccessDenied",
                   error_message="TicketGet: User does not have access to the ticket!")
    assert ops(fake) == ["SessionCreate", "TicketGet"]


def test_access_denied_for_a_read_only_agent(fake: FakeZnuny):
    # Recording 65: the lector may read but not update.
    with pytest.raises(AccessDenied) as ei:
        close(new_client(username="lector", password="lector-pass"))
    assert_context(ei.value, operation="TicketUpdate", ticket=TICKET_ID, http_status=200,
                   error_code="TicketUpdate.AccessDenied",
                   error_message="TicketUpdate: User does not have access to the ticket!")
    assert ops(fake) == ["SessionCreate", "TicketGet", "TicketUpdate"]  # the preflight, never repeated
    fake.assert_ticket(TICKET_ID, article_count=1)


def test_invalid_parameter_on_the_note_write_nothing_written():
    fake = service_desk()
    refused = Answer("TicketUpdate", call=2, json=gi_error("TicketUpdate.InvalidParameter", STATE_INVALID))
    with door(fake, refused):
        with pytest.raises(InvalidParameter) as ei:
            close()
        assert_context(ei.value, operation="TicketUpdate", ticket=TICKET_ID, http_status=200,
                       error_code="TicketUpdate.InvalidParameter", error_message=STATE_INVALID)
        # The preflight reached Znuny, step 1 was refused once (``refused`` was used), and
        # nothing was sent after it.
        assert ops(fake) == ["SessionCreate", "TicketGet", "TicketUpdate"]
    fake.assert_ticket(TICKET_ID, state="new", article_count=1)


def test_missing_parameter_is_invalid_parameter(fake: FakeZnuny):
    # The server's "Atendido" is a pending state: Znuny then wants a PendingTime, which is
    # found missing only when writing (after the preflight passed).
    fake.add_state("Atendido", "pending reminder", state_id=10)
    msg = "Can't set a ticket on a pending state without pendig time!"
    with pytest.raises(InvalidParameter) as ei:
        close()
    assert ei.value.error_code == "TicketUpdate.MissingParameter"
    assert ei.value.error_message == msg


def test_invalid_parameter_on_step_2_after_the_note_is_partial(fake: FakeZnuny):
    # The owner is disabled between the two steps: Znuny refuses step 2 (recording 61's answer).
    client = new_client(session_factory=after_step1_session(lambda: fake.set_agent_valid(OWNER_LOGIN, False)))
    with pytest.raises(PartialClosure) as ei:
        close(client)
    assert isinstance(ei.value.cause, InvalidParameter)
    assert ei.value.error_code == "TicketUpdate.InvalidParameter"
    assert ei.value.error_message == OWNER_INVALID
    assert ei.value.receipt.remaining == ["owner", "owner_note"]


def test_ticket_search_empty_answer_is_ticket_not_found(fake: FakeZnuny):
    with pytest.raises(TicketNotFound) as ei:
        close(ticket_number="0000000000000000")  # recording 32
    assert_context(ei.value, operation="TicketSearch", ticket="0000000000000000", http_status=None)
    assert "0000000000000000" in str(ei.value)
    assert ops(fake) == ["SessionCreate", "TicketSearch"]


# -- HTTP-level failures ----------------------------------------------------------------------------


def test_500_json_fault_under_text_plain_is_server_error_with_the_faultstring(fake: FakeZnuny):
    faultstring = "OperationObject returned an error, cancelling Request"
    fake.inject(Fault.SERVER_FAULT, "TicketGet", times=4)
    with pytest.raises(ServerError) as ei:
        close()
    assert_context(ei.value, operation="TicketGet", ticket=TICKET_ID, http_status=500,
                   error_code="Server", error_message=faultstring)
    assert ei.value.retryable
    assert of(fake, "TicketGet")[0].status == 500
    assert len(of(fake, "TicketGet")) == 4  # retry_attempts


def test_500_plain_text_unknown_route_is_server_error_not_retried(fake: FakeZnuny):
    # The web service lost its TicketGet operation: Znuny's REST transport answers recording 67's 500.
    fake.remove_route("TicketGet")
    text = "HTTP::REST Error while determine Operation for request URI '/Ticket/2'."
    with pytest.raises(ServerError) as ei:
        close()
    assert_context(ei.value, operation="TicketGet", ticket=TICKET_ID, http_status=500, error_message=text)
    assert not ei.value.retryable
    assert [(r.method, r.operation, r.status) for r in fake.requests[1:]] == [("GET", None, 500)]


def test_unknown_route_from_a_wrong_route_setting_is_not_retried(fake: FakeZnuny):
    # A real routing miss, answered as in recording 67.
    client = new_client(routes={"TicketSearch": {"method": "POST", "path": "/NoExiste"}})
    with pytest.raises(ServerError) as ei:
        close(client, ticket_number=TICKET_NUMBER)
    assert ei.value.error_message == "HTTP::REST Error while determine Operation for request URI '/NoExiste'."
    assert ops(fake) == ["SessionCreate", None]


def test_500_bad_json_body_answer_is_not_retried():
    fake = service_desk()
    bad_json = Answer("TicketUpdate", call=2, status=500, text="Error while decoding request content.")
    with door(fake, bad_json):
        with pytest.raises(ServerError) as ei:
            close()
        assert not ei.value.retryable and ei.value.http_status == 500
        # Preflight + one attempt (answered by ``bad_json``), no re-read needed.
        assert ops(fake) == ["SessionCreate", "TicketGet", "TicketUpdate"]
        assert len(bad_json.received) == 1


def test_413_is_request_too_large_not_retried(fake: FakeZnuny):
    fake.inject(Fault.TOO_LARGE, "TicketUpdate", call=2)
    with pytest.raises(RequestTooLarge) as ei:
        close()
    assert_context(ei.value, operation="TicketUpdate", ticket=TICKET_ID, http_status=413)
    assert len(of(fake, "TicketUpdate")) == 2


def test_html_maintenance_page_with_200_is_server_error(fake: FakeZnuny):
    fake.inject(Fault.MAINTENANCE_PAGE, "TicketGet", times=4)
    with pytest.raises(ServerError) as ei:
        close()
    assert ei.value.http_status == 200 and ei.value.operation == "TicketGet"
    assert "text/html" in str(ei.value)
    assert len(of(fake, "TicketGet")) == 4


@pytest.mark.parametrize("status", [401, 407])
def test_proxy_authentication_statuses(status):
    with plain_server(("POST", "/Session", {"status": status, "body": "Unauthorized"})) as rsps:
        with pytest.raises(AuthenticationError) as ei:
            close()
        assert len(rsps.calls) == 1
    assert ei.value.http_status == status and ei.value.error_code is None


def test_404_means_a_wrong_url_and_is_not_retried():
    with plain_server(("POST", "/Session", {"status": 404, "body": "Not Found", "content_type": TEXT_CT})) as rsps:
        with pytest.raises(ServerError) as ei:
            close()
        assert len(rsps.calls) == 1
    assert ei.value.http_status == 404 and not ei.value.retryable
    assert "base_url" in str(ei.value)


@pytest.mark.parametrize(
    ("make", "reached", "kind"),
    [
        (connection_refused, False, "connect"),
        (connect_timeout, False, "connect"),
        (read_timeout, True, "timeout"),
        (dropped_connection, True, "dropped"),
    ],
)
def test_transport_failures_say_whether_the_request_may_have_arrived(make, reached, kind):
    failing = [("GET", f"/Ticket/{TICKET_ID}", {"body": make()}) for _ in range(4)]
    with plain_server(SESSION, *failing) as rsps:
        with pytest.raises(TransportError) as ei:
            close()
        assert [c.request.method for c in rsps.calls] == ["POST", "GET", "GET", "GET", "GET"]
    exc = ei.value
    assert exc.may_have_reached_server is reached
    assert exc.kind == kind
    assert_context(exc, operation="TicketGet", ticket=TICKET_ID, http_status=None)
    assert exc.to_dict()["may_have_reached_server"] is reached


def test_tls_failure_is_never_retried():
    tls = requests.exceptions.SSLError("certificate verify failed")
    with plain_server(("POST", "/Session", {"body": tls})) as rsps:
        with pytest.raises(TransportError) as ei:
            close()
        assert len(rsps.calls) == 1
    assert ei.value.kind == "tls" and ei.value.may_have_reached_server is False


def test_every_error_is_an_otrs_closure_error_and_input_error_is_a_value_error():
    for cls in (AccessDenied, AuthenticationError, InputError, InvalidParameter, PartialClosure, RequestTooLarge,
                ServerError, TicketNotFound, TransportError):
        assert issubclass(cls, OtrsClosureError)
    assert issubclass(InputError, ValueError)
    with pytest.raises(ValueError):
        ServiceRequest(description=" ")


def test_user_agent_header_is_sent(fake: FakeZnuny):
    close(new_client(user_agent="mesa-cierre/1.0"))
    assert len(fake.requests) == 6
    assert all(r.headers["user-agent"] == "mesa-cierre/1.0" for r in fake.requests)
    assert AGENT_LOGIN


def test_a_number_matching_several_tickets_is_refused(fake: FakeZnuny):
    third = fake.new_service_desk_ticket()
    with fake.store.lock:  # never so in Znuny (the number is unique): the client must not guess
        fake.store.tickets[third.ticket_id].ticket_number = TICKET_NUMBER
    with pytest.raises(TicketNotFound) as ei:
        close(ticket_number=TICKET_NUMBER)
    assert "2 tickets" in str(ei.value)
    assert "TicketUpdate" not in ops(fake)


def test_ticket_get_without_a_ticket_is_server_error():
    with plain_server(SESSION, ("GET", f"/Ticket/{TICKET_ID}", {"json": {"Ticket": []}})) as rsps:
        with pytest.raises(ServerError) as ei:
            close()
        assert len(rsps.calls) == 2
    assert ei.value.operation == "TicketGet" and ei.value.ticket == TICKET_ID


def test_server_max_length_below_the_setting_answers_413(tmp_path):
    """The server's MaxLength is smaller than max_request_bytes says: 413, nothing written."""
    from helpers import make_formats

    fake = service_desk(max_length=2000)
    with door(fake):
        with pytest.raises(RequestTooLarge) as ei:
            close(formats=make_formats(tmp_path))
    assert ei.value.http_status == 413
    assert of(fake, "TicketUpdate")[-1].status == 413 and len(of(fake, "TicketUpdate")) == 2
    fake.assert_ticket(TICKET_ID, state="new", article_count=1)


# -- the errors a caller acts on: decided from what the ticket shows ----------------------------


def test_a_write_refused_on_every_attempt_with_nothing_applied_is_the_servers_error(fake: FakeZnuny):
    """503 on every attempt of step 1, and the ticket, read again, untouched: writing did
    not start, so the server's error (not PartialClosure, which means "run me again")."""
    fake.inject(Fault.UNAVAILABLE, "TicketUpdate", call=2, times=10, retry_after=0)
    with pytest.raises(ServerError) as ei:
        close(new_client(retry_write_poll=0))
    assert not isinstance(ei.value, PartialClosure) and ei.value.http_status == 503
    fake.assert_ticket(TICKET_ID, state="new", notes_with_subject={"Atendido": 0})


def test_a_half_closed_ticket_is_a_partial_closure_on_every_run(fake: FakeZnuny):
    """Step 2 denied: PartialClosure with its receipt — on the first run and on the next,
    whatever this call itself managed to send."""
    denied = gi_error("TicketUpdate.AccessDenied", "TicketUpdate: Does not have permissions to update owner!")
    with door(fake, Answer("TicketUpdate", call=3, json=denied)):
        with pytest.raises(PartialClosure) as first:
            close()
    # The next run (a new client, its preflight off to keep the count simple) sends only step
    # 2: the fake's third TicketUpdate (the first run's step 2 was answered in front of it).
    with door(fake, Answer("TicketUpdate", call=3, json=denied)):
        client = new_client(preflight=False)
        with pytest.raises(PartialClosure) as second:
            close(client)
    for ei in (first, second):
        assert isinstance(ei.value.cause, AccessDenied)
        assert ei.value.receipt.remaining == ["owner", "owner_note"]
        assert ei.value.receipt.note_article_id is not None
    assert second.value.receipt.steps.note.value == "already_done"


def test_the_preflight_refused_is_the_servers_error_and_writes_nothing(fake: FakeZnuny):
    denied = gi_error("TicketUpdate.AccessDenied", "TicketUpdate: User does not have access to the ticket!")
    with door(fake, Answer("TicketUpdate", call=1, json=denied)), pytest.raises(AccessDenied):
        close()
    assert [w for w in of(fake, "TicketUpdate") if w.status == 200] == []


def test_an_unknown_preflight_outcome_is_settled_by_reading_the_ticket(fake: FakeZnuny):
    """The preflight is sent under the write rules: after a lost answer the ticket is read
    (unchanged) before it is sent again — never retried blindly as a read."""
    fake.inject(Fault.TIMEOUT_AFTER_APPLY, "TicketUpdate", call=1)
    receipt = close(new_client(retry_write_poll=0))
    assert receipt.complete
    assert ops(fake)[:5] == ["SessionCreate", "TicketGet", "TicketUpdate", "TicketGet", "TicketUpdate"]


def test_the_server_accepting_the_preflight_is_a_compatibility_error(fake: FakeZnuny):
    from otrs_closure import ServerCompatibilityError

    accepted = {"TicketID": str(TICKET_ID), "TicketNumber": TICKET_NUMBER}
    with door(fake, Answer("TicketUpdate", call=1, json=accepted)), pytest.raises(ServerCompatibilityError) as ei:
        close()
    assert ei.value.field == "preflight" and "preflight=False" in str(ei.value)


def test_an_invalid_url_or_header_is_a_configuration_error_never_retried(fake: FakeZnuny, monkeypatch):
    def invalid(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise requests.exceptions.InvalidHeader("Invalid leading whitespace in header value")

    client = new_client()
    monkeypatch.setattr(requests.Session, "request", invalid)
    with pytest.raises(InputError) as ei:
        close(client)
    assert ei.value.field == "base_url" and client.requests_sent == {"SessionCreate": 1}


def test_repairs_are_bounded_and_never_resend_the_same_files(fake: FakeZnuny, tmp_path):
    """The server creates the note, then fails its attachments, every time: one repair per
    call, two in all, then a clear error — never a pile of empty "Formatos adjuntos"."""
    from helpers import make_formats

    formats = make_formats(tmp_path)
    from otrs_closure.testing import WriteStep

    fake.fail_write(WriteStep.ATTACHMENT, times=100)
    for _ in range(4):
        with pytest.raises(PartialClosure) as ei:
            new_client(retry_write_poll=0).close(ticket_id=TICKET_ID, attention=ATTENTION, formats=formats)
        assert ei.value.receipt.remaining[0] == "attachments"
    repairs = [w for w in of(fake, "TicketUpdate") if (w.body or {}).get("Article", {}).get("Subject")
               == "Formatos adjuntos"]
    assert len(repairs) == 2
    assert len(fake.ticket(TICKET_ID).articles_with_subject("Formatos adjuntos")) == 2
    assert len(fake.ticket(TICKET_ID).articles_with_subject("Atendido")) == 1
    assert "attach the files by hand" in str(ei.value.cause)


def test_a_session_create_answer_without_session_id_is_a_server_error(fake: FakeZnuny):
    with door(fake, Answer("SessionCreate", json={"Result": "ok"})):
        with pytest.raises(ServerError, match="without a SessionID") as ei:
            close(new_client(retry_attempts=1))
    assert ei.value.operation == "SessionCreate"
