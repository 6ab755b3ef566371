"""Review findings on the transport: URLs of routes configured otherwise, what a
transport failure's exception chain carries, and odd SessionCreate answers."""

from __future__ import annotations

import socket
import traceback
from typing import Any

import pytest
from helpers import TICKET_ID, Answer, door, service_desk

from otrs_closure import (
    ClosureClient,
    InputError,
    ServerError,
    ServiceRequest,
    TransportError,
)
from otrs_closure.testing import PASSWORDS, FakeZnuny


def no_sleep(_: float) -> None:
    pass


def chain_texts(exc: BaseException) -> list[str]:
    """str and repr of the error and of every exception chained to it (cause or
    context, suppressed or not), plus the traceback as Python prints it."""
    out = ["".join(traceback.format_exception(exc))]
    seen: list[BaseException] = []
    stack: list[BaseException | None] = [exc]
    while stack:
        cur = stack.pop()
        if cur is None or any(cur is s for s in seen):
            continue
        seen.append(cur)
        out += [str(cur), repr(cur)]
        stack += [cur.__cause__, cur.__context__]
    return out


@pytest.mark.parametrize(
    ("operation", "method", "path"),
    [
        ("TicketUpdate", "POST", "/Ticket/:TicketID/Update"),
        ("TicketGet", "GET", "/Tickets/:TicketID/Details"),
    ],
)
def test_a_route_with_the_ticket_id_inside_the_path_is_followed(
    fake_znuny: FakeZnuny, operation: str, method: str, path: str
) -> None:
    # pyotrs's URL builder handles only a route that ends in :TicketID; for any other it
    # silently reused the URL of the previous request (the TicketUpdate went to
    # .../Ticket/2, the TicketGet's URL).
    fake_znuny.set_route(operation, method, path)
    ticket = fake_znuny.new_service_desk_ticket()
    client = fake_znuny.client(routes={operation: {"method": method, "path": path}}, sleep=no_sleep)
    receipt = client.close(ticket_id=ticket.ticket_id, attention=ServiceRequest(description="Se reinició el equipo."))
    assert receipt.complete and receipt.verified
    sent = [r for r in fake_znuny.requests if r.operation == operation]
    assert sent and all(r.path.endswith(path.replace(":TicketID", str(ticket.ticket_id))) for r in sent)
    assert all(r.operation is not None for r in fake_znuny.requests)  # every request reached an operation
    fake_znuny.assert_ticket(ticket.ticket_id, state="Atendido", owner="agente.mesa")


def test_session_create_over_get_is_refused_before_any_request() -> None:
    # A GET carries its parameters in the URL: the agent's password would be in the
    # server's and proxies' access logs, urllib3's DEBUG log and the text of a connection
    # error.
    with pytest.raises(InputError) as ei:
        ClosureClient(
            "https://mesa.example.gob.mx",
            "tecnico1",
            "Secreto#2026",
            "agente.mesa",
            routes={"SessionCreate": {"method": "GET", "path": "/Session"}},
        )
    assert ei.value.field == "routes"
    assert "SessionCreate" in str(ei.value)


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def test_a_transport_error_chain_carries_no_session_id() -> None:
    # A refused GET: requests' message holds the URL with its query string, i.e. the
    # SessionID (and for any GET with credentials, those). It must not ride along as the
    # raised TransportError's __cause__ or __context__.
    fake = FakeZnuny.service_desk()
    attention = ServiceRequest(description="Se reinició el equipo.")
    with fake.serve() as url:
        ticket = fake.new_service_desk_ticket()
        client = fake.client(sleep=no_sleep, retry_attempts=1)
        client.close(ticket_id=ticket.ticket_id, attention=attention)
        session_ids = list(fake.store.sessions)
        assert session_ids
    with pytest.raises(TransportError) as ei:  # the server is gone: refused
        client.close(ticket_id=ticket.ticket_id, attention=attention)
    assert ei.value.kind == "connect" and not ei.value.may_have_reached_server
    texts = chain_texts(ei.value)
    for text in texts:
        for secret in (*session_ids, PASSWORDS["tecnico1"]):
            assert secret not in text, text[:300]
    assert "Connection refused" in str(ei.value)  # the reason is still told
    assert url  # (the fake's address; unused)


def test_a_session_create_answer_without_session_id_is_a_server_error() -> None:
    fake = service_desk()
    client = ClosureClient(
        "https://mesa.example.gob.mx",
        "tecnico1",
        PASSWORDS["tecnico1"],
        "agente.mesa",
        sleep=no_sleep,
        retry_attempts=1,
    )
    answer: Any = Answer("SessionCreate", json={"Result": "ok"})
    with door(fake, answer), pytest.raises(ServerError, match="without a SessionID"):
        client.close(ticket_id=TICKET_ID, attention=ServiceRequest(description="x"))


def test_relative_paths_are_fixed_when_the_settings_are_made(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # ca_bundle and lock_dir are checked against the working directory when the settings
    # are made, but were used relative to whatever it is when a request or a lock is made
    # (pyotrs resolves the bundle when a pooled client is created, lazily): a process that
    # changes directory got a raw ValueError, or locked files in another directory.
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    (tmp_path / "locks").mkdir()
    monkeypatch.chdir(tmp_path)
    fake = service_desk()
    client = ClosureClient(
        "https://mesa.example.gob.mx",
        "tecnico1",
        PASSWORDS["tecnico1"],
        "agente.mesa",
        ca_bundle="ca.pem",
        lock_dir="locks",
        sleep=no_sleep,
    )
    monkeypatch.chdir("/")
    with door(fake) as wire:
        client.close(ticket_id=TICKET_ID, attention=ServiceRequest(description="x"))
        assert {c.request.req_kwargs["verify"] for c in wire.calls} == {str(tmp_path / "ca.pem")}
    assert [p.name for p in (tmp_path / "locks").iterdir()]
