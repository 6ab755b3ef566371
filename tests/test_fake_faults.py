"""Fault injection on both doors: every Fault kind, call numbering, and what gets applied."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from http.client import RemoteDisconnected
from typing import Any

import pytest
import requests
import urllib3

from otrs_closure.testing import PASSWORDS, FakeZnuny, Fault, WriteStep

NOTE = {
    "CommunicationChannel": "Internal",
    "IsVisibleForCustomer": 0,
    "SenderType": "agent",
    "Subject": "Atendido",
    "Body": "Se atendió la solicitud.",
    "ContentType": "text/plain; charset=utf8",
}


@pytest.fixture(params=["mock", "serve"])
def door(request: pytest.FixtureRequest) -> Iterator[tuple[str, FakeZnuny, str]]:
    fake = FakeZnuny.service_desk()
    context = fake.mock() if request.param == "mock" else fake.serve()
    with context as base_url:
        yield request.param, fake, base_url


def session(http: requests.Session, base_url: str, login: str = "tecnico1") -> str:
    answer = http.post(f"{base_url}/Session", json={"UserLogin": login, "Password": PASSWORDS[login]}, timeout=10)
    sid: str = answer.json()["SessionID"]
    return sid


def close_with_note(
    http: requests.Session, base_url: str, sid: str, ticket_id: int, **kwargs: Any
) -> requests.Response:
    body = {"SessionID": sid, "Ticket": {"State": "Atendido"}, "Article": NOTE}
    return http.patch(f"{base_url}/Ticket/{ticket_id}", json=body, timeout=kwargs.pop("timeout", 10), **kwargs)


def test_connection_refused_never_reaches_the_model(door: tuple[str, FakeZnuny, str]) -> None:
    name, fake, base_url = door
    ticket_id, _ = fake.new_service_desk_ticket()
    http = requests.Session()
    sid = session(http, base_url)
    fake.inject(Fault.CONNECTION_REFUSED, "TicketUpdate")
    with pytest.raises(requests.exceptions.ConnectionError) as caught:
        close_with_note(http, base_url, sid, ticket_id)
    if name == "mock":
        reason = caught.value.args[0]
        assert isinstance(reason, urllib3.exceptions.NewConnectionError)
        assert "[Errno 111] Connection refused" in str(reason)
    fake.assert_ticket(ticket_id, state="new", article_count=1)
    assert [(f.kind, f.operation, f.call, f.ticket_id) for f in fake.faults_fired] == [
        (Fault.CONNECTION_REFUSED, "TicketUpdate", 1, str(ticket_id))
    ]
    record = fake.requests[-1]
    assert (record.operation, record.status, record.fault, record.call) == (
        "TicketUpdate",
        None,
        Fault.CONNECTION_REFUSED,
        1,
    )
    # the next call goes through
    assert close_with_note(http, base_url, sid, ticket_id).json()["TicketID"] == str(ticket_id)
    assert fake.calls("TicketUpdate") == 2
    fake.assert_ticket(ticket_id, state="Atendido", notes_with_subject={"Atendido": 1})


def test_response_lost_after_apply(door: tuple[str, FakeZnuny, str]) -> None:
    name, fake, base_url = door
    ticket_id, _ = fake.new_service_desk_ticket()
    http = requests.Session()
    sid = session(http, base_url)
    fake.inject(Fault.RESPONSE_LOST, "TicketUpdate", call=1)
    with pytest.raises(requests.exceptions.ConnectionError) as caught:
        close_with_note(http, base_url, sid, ticket_id)
    if name == "mock":
        reason = caught.value.args[0]
        assert isinstance(reason, urllib3.exceptions.ProtocolError)
        assert isinstance(reason.args[1], RemoteDisconnected)
    assert fake.calls("TicketUpdate") == 1  # not silently retried
    fake.assert_ticket(ticket_id, state="Atendido", notes_with_subject={"Atendido": 1})
    assert fake.faults_fired[0].kind is Fault.RESPONSE_LOST


def test_timeout_after_apply(door: tuple[str, FakeZnuny, str]) -> None:
    name, fake, base_url = door
    ticket_id, _ = fake.new_service_desk_ticket()
    http = requests.Session()
    sid = session(http, base_url)
    fake.inject(Fault.TIMEOUT_AFTER_APPLY, "TicketUpdate", delay=0.6)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        close_with_note(http, base_url, sid, ticket_id, timeout=(5, 0.2))
    assert time.monotonic() - started < 0.55
    fake.assert_ticket(ticket_id, state="Atendido", notes_with_subject={"Atendido": 1})


@pytest.mark.parametrize("apply", [False, True])
def test_server_fault(door: tuple[str, FakeZnuny, str], apply: bool) -> None:
    _, fake, base_url = door
    ticket_id, _ = fake.new_service_desk_ticket()
    http = requests.Session()
    sid = session(http, base_url)
    fake.inject(Fault.SERVER_FAULT, "TicketUpdate", apply=apply)
    answer = close_with_note(http, base_url, sid, ticket_id)
    assert answer.status_code == 500
    assert answer.headers["Content-Type"] == "text/plain; charset=UTF-8"
    assert answer.json() == {
        "faultcode": "Server",
        "faultstring": "OperationObject returned an error, cancelling Request",
    }
    fake.assert_ticket(ticket_id, state="Atendido" if apply else "new", article_count=2 if apply else 1)


@pytest.mark.parametrize(("kind", "status"), [(Fault.UNAVAILABLE, 503), (Fault.RATE_LIMITED, 429)])
def test_unavailable_and_rate_limited_carry_retry_after(
    door: tuple[str, FakeZnuny, str], kind: Fault, status: int
) -> None:
    _, fake, base_url = door
    ticket_id, _ = fake.new_service_desk_ticket()
    http = requests.Session()
    sid = session(http, base_url)
    fake.inject(kind, "TicketUpdate", times=2, retry_after=7)
    for _ in range(2):
        answer = close_with_note(http, base_url, sid, ticket_id)
        assert answer.status_code == status
        assert answer.headers["Retry-After"] == "7"
        assert answer.headers["Content-Type"].startswith("text/html")
    fake.assert_ticket(ticket_id, state="new", article_count=1)
    assert close_with_note(http, base_url, sid, ticket_id).status_code == 200
    assert [f.call for f in fake.faults_fired] == [1, 2]


def test_session_expired_answers_auth_fail(door: tuple[str, FakeZnuny, str]) -> None:
    _, fake, base_url = door
    ticket_id, _ = fake.new_service_desk_ticket()
    http = requests.Session()
    sid = session(http, base_url)
    fake.inject(Fault.SESSION_EXPIRED, "TicketGet")
    answer = http.get(f"{base_url}/Ticket/{ticket_id}", params={"SessionID": sid}, timeout=10)
    assert answer.status_code == 200
    assert answer.json() == {
        "Error": {"ErrorCode": "TicketGet.AuthFail", "ErrorMessage": "TicketGet: Authorization failing!"}
    }
    assert not fake.session_valid(sid)
    update = close_with_note(http, base_url, sid, ticket_id).json()
    assert update["Error"]["ErrorCode"] == "TicketUpdate.AuthFail"


def test_maintenance_page_is_200_html(door: tuple[str, FakeZnuny, str]) -> None:
    _, fake, base_url = door
    ticket_id, _ = fake.new_service_desk_ticket()
    http = requests.Session()
    sid = session(http, base_url)
    fake.inject(Fault.MAINTENANCE_PAGE, "TicketUpdate")
    answer = close_with_note(http, base_url, sid, ticket_id)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/html")
    assert "maintenance" in answer.text.lower()
    with pytest.raises(ValueError):
        answer.json()
    fake.assert_ticket(ticket_id, state="new")


def test_too_large(door: tuple[str, FakeZnuny, str]) -> None:
    _, fake, base_url = door
    ticket_id, _ = fake.new_service_desk_ticket()
    http = requests.Session()
    sid = session(http, base_url)
    fake.inject(Fault.TOO_LARGE, "TicketUpdate")
    answer = close_with_note(http, base_url, sid, ticket_id)
    assert (answer.status_code, answer.text) == (413, "Request Entity Too Large")
    fake.assert_ticket(ticket_id, state="new")
    # the connection (serve door: keep-alive) is still usable
    assert close_with_note(http, base_url, sid, ticket_id).status_code == 200


def test_call_numbers_count_per_operation() -> None:
    fake = FakeZnuny.service_desk()
    ticket_id, _ = fake.new_service_desk_ticket()
    fake.inject(Fault.UNAVAILABLE, "TicketGet", call=3)
    with fake.mock() as base_url:
        http = requests.Session()
        sid = session(http, base_url)
        statuses = [http.get(f"{base_url}/Ticket/{ticket_id}", params={"SessionID": sid}).status_code for _ in range(4)]
    assert statuses == [200, 200, 503, 200]
    assert fake.calls("TicketGet") == 4
    assert fake.calls("SessionCreate") == 1
    assert [r.operation for r in fake.requests] == ["SessionCreate"] + ["TicketGet"] * 4
    assert fake.requests[1].query == {"SessionID": sid}


def test_inject_rejects_unknown_operations() -> None:
    fake = FakeZnuny.service_desk()
    with pytest.raises(ValueError):
        fake.inject(Fault.UNAVAILABLE, "TicketSearchGET")
    with pytest.raises(ValueError):
        fake.inject("no-such-kind", "TicketGet")


def test_requests_record_bodies_and_faults() -> None:
    fake = FakeZnuny.service_desk()
    ticket_id, _ = fake.new_service_desk_ticket()
    fake.inject(Fault.RATE_LIMITED, "TicketUpdate")
    with fake.mock() as base_url:
        http = requests.Session()
        sid = session(http, base_url)
        close_with_note(http, base_url, sid, ticket_id)
        close_with_note(http, base_url, sid, ticket_id)
    first, second = fake.requests[-2:]
    assert (first.status, first.fault) == (429, Fault.RATE_LIMITED)
    assert (second.status, second.fault) == (200, None)
    assert second.method == "PATCH" and second.path.endswith(f"/Ticket/{ticket_id}")
    assert second.body["Ticket"] == {"State": "Atendido"}


def test_write_failure_hook_is_independent_of_doors() -> None:
    fake = FakeZnuny.service_desk()
    ticket_id, _ = fake.new_service_desk_ticket()
    fake.fail_write(WriteStep.STATE)
    with fake.mock() as base_url:
        http = requests.Session()
        answer = close_with_note(http, base_url, session(http, base_url), ticket_id)
    assert answer.status_code == 500
    assert json.loads(answer.text)["faultstring"] == "OperationObject returned an error, cancelling Request"
    fake.assert_ticket(ticket_id, state="new", article_count=1)
