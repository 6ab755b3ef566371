"""Every way the server (or the network) can answer, mapped to its typed error, with the
context the server gave: operation, ticket, HTTP status, ErrorCode, ErrorMessage."""

from __future__ import annotations

import pytest
from helpers import (
    AGENT_LOGIN,
    TEXT_CT,
    TICKET_ID,
    TICKET_NUMBER,
    Fault,
    GIStub,
    connect_timeout,
    connection_refused,
    dropped_connection,
    fault_500_json,
    fault_500_text,
    gi_error,
    is_step1,
    is_step2,
    new_client,
    read_timeout,
    stubbed,
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

ATTENTION = ServiceRequest(description="Se reconfiguró la impresora.")
HTML = "<html><head><title>Mantenimiento</title></head><body>Sistema en mantenimiento</body></html>"


@pytest.fixture
def gi():
    with stubbed() as stub:
        yield stub


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


def test_session_create_auth_fail_is_authentication_error_not_retried(gi: GIStub):
    with pytest.raises(AuthenticationError) as ei:
        close(new_client(password="mala-clave"))
    assert_context(ei.value, operation="SessionCreate", ticket=None, http_status=200,
                   error_code="SessionCreate.AuthFail", error_message="SessionCreate: Authorization failing!")
    assert gi.ops() == ["SessionCreate"]


def test_unknown_user_is_authentication_error(gi: GIStub):
    with pytest.raises(AuthenticationError):
        close(new_client(username="nadie"))
    assert gi.ops() == ["SessionCreate"]


def test_auth_fail_after_one_relogin_is_authentication_error(gi: GIStub):
    msg = "TicketGet: Authorization failing!"
    gi.inject("TicketGet", gi_error("TicketGet.AuthFail", msg), gi_error("TicketGet.AuthFail", msg))
    with pytest.raises(AuthenticationError) as ei:
        close()
    assert_context(ei.value, operation="TicketGet", ticket=TICKET_ID, http_status=200,
                   error_code="TicketGet.AuthFail", error_message=msg)
    assert gi.ops() == ["SessionCreate", "TicketGet", "SessionCreate", "TicketGet"]
    # The repeat used the new session.
    first, second = gi.of("TicketGet")
    assert first.query["SessionID"] != second.query["SessionID"]
    assert second.query["SessionID"] == sorted(gi.sessions)[-1]  # the one the 2nd SessionCreate made


def test_expired_session_is_renewed_transparently(gi: GIStub):
    client = new_client()
    close(client)
    gi.expire_sessions()  # recording 90: an idle session answers *.AuthFail
    gi.add_ticket(3, "2026112810000021")
    gi.log.clear()
    receipt = close(client, ticket_number="2026112810000021")
    assert receipt.complete
    assert gi.ops() == ["TicketSearch", "SessionCreate", "TicketSearch", "TicketGet", "TicketUpdate",
                        "TicketUpdate", "TicketGet"]


def test_expired_session_on_a_write_relogs_and_repeats_once(gi: GIStub):
    gi.inject("TicketUpdate", gi_error("TicketUpdate.AuthFail", "TicketUpdate: User could not be authenticated!"),
              when=is_step1)
    receipt = close()
    assert receipt.complete
    assert gi.ops() == ["SessionCreate", "TicketGet", "TicketUpdate", "TicketUpdate", "SessionCreate",
                        "TicketUpdate", "TicketUpdate", "TicketGet"]
    assert len(gi.articles(subject="Atendido")) == 1


def test_access_denied_on_an_unknown_ticket_id(gi: GIStub):
    # Recording 64b: Znuny says AccessDenied, not "not found", for a TicketID that does not exist.
    with pytest.raises(AccessDenied) as ei:
        close(ticket_id=999999)
    assert_context(ei.value, operation="TicketGet", ticket=999999, http_status=200,
                   error_code="TicketGet.AccessDenied",
                   error_message="TicketGet: User does not have access to the ticket!")
    assert gi.ops() == ["SessionCreate", "TicketGet"]


def test_access_denied_for_a_read_only_agent(gi: GIStub):
    # Recording 65: the lector may read but not update.
    gi.users["lector"] = "lector-pass"
    gi.denied.add("lector")
    with pytest.raises(AccessDenied) as ei:
        close(new_client(username="lector", password="lector-pass"))
    assert_context(ei.value, operation="TicketUpdate", ticket=TICKET_ID, http_status=200,
                   error_code="TicketUpdate.AccessDenied",
                   error_message="TicketUpdate: User does not have access to the ticket!")
    assert gi.ops() == ["SessionCreate", "TicketGet", "TicketUpdate"]  # the preflight, never repeated
    assert len(gi.articles()) == 1


def test_invalid_parameter_on_the_note_write_nothing_written(gi: GIStub):
    msg = "TicketUpdate: Ticket->StateID or Ticket->State parameter is invalid!"
    gi.inject("TicketUpdate", gi_error("TicketUpdate.InvalidParameter", msg), when=is_step1)
    with pytest.raises(InvalidParameter) as ei:
        close()
    assert_context(ei.value, operation="TicketUpdate", ticket=TICKET_ID, http_status=200,
                   error_code="TicketUpdate.InvalidParameter", error_message=msg)
    assert len(gi.of("TicketUpdate")) == 2  # preflight + one attempt
    assert gi.ticket()["State"] == "open"


def test_missing_parameter_is_invalid_parameter(gi: GIStub):
    msg = "TicketUpdate: Attachment->Content parameter is missing!"
    gi.inject("TicketUpdate", gi_error("TicketUpdate.MissingParameter", msg), when=is_step1)
    with pytest.raises(InvalidParameter) as ei:
        close()
    assert ei.value.error_code == "TicketUpdate.MissingParameter"
    assert ei.value.error_message == msg


def test_invalid_parameter_on_step_2_after_the_note_is_partial(gi: GIStub):
    msg = "TicketUpdate: Ticket->OwnerID or Ticket->Owner parameter is invalid!"
    gi.inject("TicketUpdate", gi_error("TicketUpdate.InvalidParameter", msg), when=is_step2)
    with pytest.raises(PartialClosure) as ei:
        close()
    assert isinstance(ei.value.cause, InvalidParameter)
    assert ei.value.error_code == "TicketUpdate.InvalidParameter"
    assert ei.value.receipt.remaining == ["owner", "owner_note"]


def test_ticket_search_empty_answer_is_ticket_not_found(gi: GIStub):
    with pytest.raises(TicketNotFound) as ei:
        close(ticket_number="0000000000000000")  # recording 32
    assert_context(ei.value, operation="TicketSearch", ticket="0000000000000000", http_status=None)
    assert "0000000000000000" in str(ei.value)
    assert gi.ops() == ["SessionCreate", "TicketSearch"]


# -- HTTP-level failures ----------------------------------------------------------------------------


def test_500_json_fault_under_text_plain_is_server_error_with_the_faultstring(gi: GIStub):
    faultstring = "OperationObject returned an error, cancelling Request"
    gi.inject("TicketGet", *[fault_500_json(faultstring)] * 4)
    with pytest.raises(ServerError) as ei:
        close()
    assert_context(ei.value, operation="TicketGet", ticket=TICKET_ID, http_status=500,
                   error_code="Server", error_message=faultstring)
    assert ei.value.retryable
    assert gi.of("TicketGet")[0].status == 500
    assert len(gi.of("TicketGet")) == 4  # retry_attempts


def test_500_plain_text_unknown_route_is_server_error_not_retried(gi: GIStub):
    text = "HTTP::REST Error while determine Operation for request URI '/Ticket/2'."
    gi.inject("TicketGet", fault_500_text(text), fault_500_text(text))
    with pytest.raises(ServerError) as ei:
        close()
    assert_context(ei.value, operation="TicketGet", ticket=TICKET_ID, http_status=500, error_message=text)
    assert not ei.value.retryable
    assert len(gi.of("TicketGet")) == 1


def test_unknown_route_from_a_wrong_route_setting_is_not_retried(gi: GIStub):
    # The stub answers a real routing miss exactly as recording 67 does.
    client = new_client(routes={"TicketSearch": {"method": "POST", "path": "/NoExiste"}})
    with pytest.raises(ServerError) as ei:
        close(client, ticket_number=TICKET_NUMBER)
    assert ei.value.error_message == "HTTP::REST Error while determine Operation for request URI '/NoExiste'."
    assert gi.ops() == ["SessionCreate", "?"]


def test_500_bad_json_body_answer_is_not_retried(gi: GIStub):
    gi.inject("TicketUpdate", fault_500_text("Error while decoding request content."), when=is_step1)
    with pytest.raises(ServerError) as ei:
        close()
    assert not ei.value.retryable and ei.value.http_status == 500
    assert len(gi.of("TicketUpdate")) == 2  # preflight + one attempt, no re-read needed
    assert gi.ops().count("TicketGet") == 1


def test_413_is_request_too_large_not_retried(gi: GIStub):
    gi.inject("TicketUpdate", Fault(status=413, body="Request Entity Too Large"), when=is_step1)
    with pytest.raises(RequestTooLarge) as ei:
        close()
    assert_context(ei.value, operation="TicketUpdate", ticket=TICKET_ID, http_status=413)
    assert len(gi.of("TicketUpdate")) == 2


def test_html_maintenance_page_with_200_is_server_error(gi: GIStub):
    page = Fault(status=200, body=HTML, headers={"Content-Type": "text/html; charset=UTF-8"})
    gi.inject("TicketGet", page, page, page, page)
    with pytest.raises(ServerError) as ei:
        close()
    assert ei.value.http_status == 200 and ei.value.operation == "TicketGet"
    assert "text/html" in str(ei.value)
    assert len(gi.of("TicketGet")) == 4


@pytest.mark.parametrize("status", [401, 407])
def test_proxy_authentication_statuses(gi: GIStub, status):
    gi.inject("SessionCreate", Fault(status=status, body="Unauthorized"))
    with pytest.raises(AuthenticationError) as ei:
        close()
    assert ei.value.http_status == status and ei.value.error_code is None
    assert gi.ops() == ["SessionCreate"]


def test_404_means_a_wrong_url_and_is_not_retried(gi: GIStub):
    gi.inject("SessionCreate", Fault(status=404, body="Not Found", headers={"Content-Type": TEXT_CT}))
    with pytest.raises(ServerError) as ei:
        close()
    assert ei.value.http_status == 404 and not ei.value.retryable
    assert "base_url" in str(ei.value)
    assert gi.ops() == ["SessionCreate"]


@pytest.mark.parametrize(
    ("make", "reached", "kind"),
    [
        (connection_refused, False, "connect"),
        (connect_timeout, False, "connect"),
        (read_timeout, True, "timeout"),
        (dropped_connection, True, "dropped"),
    ],
)
def test_transport_failures_say_whether_the_request_may_have_arrived(gi: GIStub, make, reached, kind):
    gi.inject("TicketGet", *[Fault(exc=make)] * 4)
    with pytest.raises(TransportError) as ei:
        close()
    exc = ei.value
    assert exc.may_have_reached_server is reached
    assert exc.kind == kind
    assert_context(exc, operation="TicketGet", ticket=TICKET_ID, http_status=None)
    assert exc.to_dict()["may_have_reached_server"] is reached
    assert len(gi.of("TicketGet")) == 4


def test_tls_failure_is_never_retried(gi: GIStub):
    import requests

    gi.inject("SessionCreate", Fault(exc=lambda: requests.exceptions.SSLError("certificate verify failed")))
    with pytest.raises(TransportError) as ei:
        close()
    assert ei.value.kind == "tls" and ei.value.may_have_reached_server is False
    assert gi.ops() == ["SessionCreate"]


def test_every_error_is_an_otrs_closure_error_and_input_error_is_a_value_error():
    for cls in (AccessDenied, AuthenticationError, InputError, InvalidParameter, PartialClosure, RequestTooLarge,
                ServerError, TicketNotFound, TransportError):
        assert issubclass(cls, OtrsClosureError)
    assert issubclass(InputError, ValueError)
    with pytest.raises(ValueError):
        ServiceRequest(description=" ")


def test_user_agent_header_is_sent(gi: GIStub):
    close(new_client(user_agent="mesa-cierre/1.0"))
    assert all(e.headers["User-Agent"] == "mesa-cierre/1.0" for e in gi.log)
    assert AGENT_LOGIN


def test_a_number_matching_several_tickets_is_refused(gi: GIStub):
    gi.add_ticket(3, TICKET_NUMBER)
    with pytest.raises(TicketNotFound) as ei:
        close(ticket_number=TICKET_NUMBER)
    assert "2 tickets" in str(ei.value)
    assert "TicketUpdate" not in gi.ops()


def test_ticket_get_without_a_ticket_is_server_error(gi: GIStub):
    gi.inject("TicketGet", Fault(status=200, body={"Ticket": []}))
    with pytest.raises(ServerError) as ei:
        close()
    assert ei.value.operation == "TicketGet" and ei.value.ticket == TICKET_ID


def test_server_max_length_below_the_setting_answers_413(tmp_path):
    """The server's MaxLength is smaller than max_request_bytes says: 413, nothing written."""
    from helpers import make_formats

    with stubbed(max_length=2000) as gi:
        with pytest.raises(RequestTooLarge) as ei:
            close(formats=make_formats(tmp_path))
        assert ei.value.http_status == 413
        assert gi.of("TicketUpdate")[-1].status == 413 and len(gi.of("TicketUpdate")) == 2
        assert gi.ticket()["State"] == "open" and len(gi.articles()) == 1
