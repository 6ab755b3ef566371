"""Redirects are reported, never followed; an unknown write outcome waits before the re-read."""

from __future__ import annotations

import logging

import pytest
import responses

from otrs_closure import ServerError, ServiceRequest
from otrs_closure.cli import main
from otrs_closure.client import ClosureClient
from otrs_closure.testing import FakeZnuny, Fault


def test_a_redirect_is_reported_and_not_followed() -> None:
    with responses.RequestsMock() as mock:
        mock.add(
            responses.POST,
            "http://mesa.example.gob.mx/otrs/nph-genericinterface.pl/Webservice/GenericTicketConnectorREST/Session",
            status=301,
            headers={"Location": "https://mesa.example.gob.mx/otrs/nph-genericinterface.pl/x?SessionID=s3cr3t"},
        )
        client = ClosureClient(
            base_url="http://mesa.example.gob.mx",
            username="u",
            password="Canary-pw",
            owner_login="agente.mesa",
            sleep=lambda s: None,
        )
        with pytest.raises(ServerError) as info:
            client.close(ticket_id=2, attention=ServiceRequest(description="Hecho."))
        assert len(mock.calls) == 1  # neither followed nor retried
    assert not info.value.retryable and info.value.http_status == 301
    assert "https://mesa.example.gob.mx/otrs/nph-genericinterface.pl/x" in str(info.value)
    assert "s3cr3t" not in str(info.value) and "Canary-pw" not in repr(info.value)


def test_the_reread_after_a_lost_answer_waits_for_the_server_to_settle(fake_znuny: FakeZnuny) -> None:
    waits: list[float] = []
    ticket = fake_znuny.new_service_desk_ticket()
    client = fake_znuny.client(sleep=waits.append, retry_backoff=0.01, retry_write_settle=1.5)
    fake_znuny.inject(Fault.TIMEOUT_AFTER_APPLY, operation="TicketUpdate", call=2)  # step 1, applied
    receipt = client.close(ticket_id=ticket.ticket_id, attention=ServiceRequest(description="Hecho."))
    assert receipt.complete and receipt.writes_sent == 2  # the note was found, not resent
    assert waits == [1.5]
    fake_znuny.assert_ticket(ticket.ticket_id, notes_with_subject={"Atendido": 1, "Se modifica propietario": 1})


def test_verbose_cli_keeps_urllib3_request_lines_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logging.getLogger("urllib3"), "level", logging.NOTSET)
    assert main(["demo", "-vv"]) == 0
    assert logging.getLogger("urllib3").level == logging.INFO
