"""The error hierarchy and the one table from a GenericInterface ErrorCode to an exception."""

from __future__ import annotations

import json

import pytest

from otrs_closure import (
    AccessDenied,
    AuthenticationError,
    ClosureConflict,
    ClosureReceipt,
    InputError,
    InvalidParameter,
    OtrsClosureError,
    PartialClosure,
    RequestTooLarge,
    ServerError,
    TicketNotFound,
    TransportError,
)
from otrs_closure.errors import error_from_answer


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("SessionCreate.AuthFail", AuthenticationError),
        ("TicketGet.AuthFail", AuthenticationError),
        ("TicketUpdate.AuthFail", AuthenticationError),
        ("SessionGet.SessionInvalid", AuthenticationError),
        ("TicketGet.AccessDenied", AccessDenied),
        ("TicketUpdate.AccessDenied", AccessDenied),
        ("TicketUpdate.InvalidParameter", InvalidParameter),
        ("TicketCreate.InvalidParameter", InvalidParameter),  # sic, Znuny's ArticleSend check
        ("TicketUpdate.MissingParameter", InvalidParameter),
        ("TicketGet.WrongStructure", InvalidParameter),
        ("TicketUpdate.EmptyRequest", InvalidParameter),
        ("TicketGet.NotValidTicketID", TicketNotFound),
        ("TicketGet.NotTicketData", TicketNotFound),
        ("Webservice.InvalidConfiguration", ServerError),
        ("Something", ServerError),
        ("", ServerError),
    ],
)
def test_error_code_table(code, cls):
    exc = error_from_answer(
        operation="TicketUpdate", ticket=2, http_status=200, error_code=code, error_message="TicketUpdate: mensaje"
    )
    assert type(exc) is cls
    assert (exc.operation, exc.ticket, exc.http_status, exc.error_code, exc.error_message) == (
        "TicketUpdate",
        2,
        200,
        code,
        "TicketUpdate: mensaje",
    )
    assert "TicketUpdate: mensaje" in str(exc)


def test_str_and_repr_carry_the_context():
    exc = AccessDenied(
        "TicketGet failed",
        operation="TicketGet",
        ticket="2026112810000011",
        http_status=200,
        error_code="TicketGet.AccessDenied",
        error_message="x",
    )
    assert str(exc) == (
        "TicketGet failed (operation=TicketGet, ticket=2026112810000011, http_status=200, "
        "error_code=TicketGet.AccessDenied)"
    )
    assert repr(exc) == f"AccessDenied({str(exc)!r})"
    assert str(OtrsClosureError("plain")) == "plain"


def test_to_dict_is_json_ready():
    exc = TransportError("no answer", may_have_reached_server=True, kind="timeout", operation="TicketUpdate", ticket=2)
    d = json.loads(json.dumps(exc.to_dict()))
    assert d == {
        "error": "TransportError",
        "message": "no answer",
        "operation": "TicketUpdate",
        "ticket": 2,
        "http_status": None,
        "error_code": None,
        "error_message": None,
        "may_have_reached_server": True,
        "kind": "timeout",
    }


def test_input_error_names_its_field_and_is_a_value_error():
    exc = InputError("formats.editable", "file is empty: a.docx")
    assert isinstance(exc, ValueError) and isinstance(exc, OtrsClosureError)
    assert (exc.field, exc.problem, str(exc)) == (
        "formats.editable",
        "file is empty: a.docx",
        "formats.editable: file is empty: a.docx",
    )
    assert exc.to_dict()["field"] == "formats.editable"


def test_server_error_defaults():
    exc = ServerError("HTTP 503", http_status=503, retry_after=7.0)
    assert exc.retryable and exc.retry_after == 7.0
    assert not ServerError("x", retryable=False).retryable


def test_partial_closure_takes_its_context_from_the_cause_and_receipt():
    receipt = ClosureReceipt(ticket_id=2, ticket_number="2026112810000011", closure_id="oc-abc")
    cause = AccessDenied(
        "TicketUpdate failed",
        operation="TicketUpdate",
        ticket=2,
        http_status=200,
        error_code="TicketUpdate.AccessDenied",
        error_message="denied",
    )
    exc = PartialClosure("not finished", receipt=receipt, cause=cause)
    assert (exc.operation, exc.ticket, exc.http_status, exc.error_code, exc.error_message) == (
        "TicketUpdate",
        "2026112810000011",
        200,
        "TicketUpdate.AccessDenied",
        "denied",
    )
    d = json.loads(json.dumps(exc.to_dict()))
    assert d["cause"]["error"] == "AccessDenied"
    assert d["receipt"]["closure_id"] == "oc-abc" and d["receipt"]["steps"]["note"] == "pending"


def test_hierarchy():
    for cls in (
        InputError,
        AuthenticationError,
        TicketNotFound,
        AccessDenied,
        InvalidParameter,
        ServerError,
        RequestTooLarge,
        TransportError,
        PartialClosure,
        ClosureConflict,
    ):
        assert issubclass(cls, OtrsClosureError) and issubclass(cls, Exception)
    assert not issubclass(AccessDenied, ValueError)
