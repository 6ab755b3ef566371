"""Fidelity odds and ends: request bodies Perl treats specially, TicketHistoryGet's id list,
customer permissions, and the IncludeTicketData answer."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
import requests
from fake_http import APACHE_500, login

from otrs_closure.testing import PASSWORDS, FakeZnuny


@pytest.fixture
def fake() -> Iterator[FakeZnuny]:
    znuny = FakeZnuny.service_desk(frozen_clock=True)
    with znuny.mock():
        yield znuny


def test_json_body_that_perl_considers_false(fake: FakeZnuny) -> None:
    # REST.pm: `if ( !$ContentDecoded )` -> "Error while decoding request content." for the
    # false scalars (0, "", "0", null, false); other scalars are "Unsupported request content structure."
    url = f"{fake.base_url}/Session"
    headers = {"Content-Type": "application/json"}
    for body in ('"0"', "0", "false", "null", '""'):
        answer = requests.post(url, data=body, headers=headers, timeout=10)
        assert (answer.status_code, answer.text) == (500, "Error while decoding request content."), body
    for body in ('"x"', "1", "true", "{}", "[]"):
        answer = requests.post(url, data=body, headers=headers, timeout=10)
        assert (answer.status_code, answer.text) == (500, "Unsupported request content structure."), body


def test_list_body_where_the_operation_expects_an_object(fake: FakeZnuny) -> None:
    # A JSON list body reaches the operation as an array ref; TicketSearch (Auth reads
    # $Param{Data}->{SessionID}) dies -- Apache's 500 page; SessionCreate answers its empty-request error.
    sid = login(fake)
    answer = requests.post(f"{fake.base_url}/Ticket/Search", json=[{"SessionID": sid}], timeout=10)
    assert answer.status_code == 500 and answer.headers["Content-Type"] == APACHE_500
    answer = requests.post(f"{fake.base_url}/Session", json=[{"UserLogin": "tecnico1"}], timeout=10)
    assert answer.json()["Error"]["ErrorMessage"] == "SessionCreate: The request is empty!"
    assert fake.internal_errors == []


def test_history_ticket_id_list(fake: FakeZnuny) -> None:
    # TicketHistoryGet.pm: split( /,/, $TicketID ) drops trailing empty fields.
    ticket_id, _ = fake.new_service_desk_ticket()
    sid = login(fake)
    answer = requests.get(f"{fake.base_url}/Ticket/History/{ticket_id},", params={"SessionID": sid}, timeout=10)
    assert [h["TicketID"] for h in answer.json()["TicketHistory"]] == [str(ticket_id)]


def test_customer_permission_ignores_case(fake: FakeZnuny) -> None:
    # CustomerUserIDCheck / CustomerIDCheck compare with lc on both sides.
    ticket_id = fake.create_ticket(
        "mayúsculas", queue="Mesa de Servicio", customer_user="Cliente.Demo", customer_id="cliente-demo"
    ).ticket_id
    params = {"CustomerUserLogin": "cliente.demo", "Password": PASSWORDS["cliente.demo"]}
    answer = requests.get(f"{fake.base_url}/Ticket/{ticket_id}", params=params, timeout=10).json()
    assert answer["Ticket"][0]["TicketID"] == ticket_id


def test_include_ticket_data_is_the_core_ticket_and_article() -> None:
    # TicketUpdate.pm with IncludeTicketData: core TicketGet/ArticleGet hashes (no TimeUnit) and
    # ArticleAttachmentIndex without exclusions (the HTML body 'file-2' is listed).
    fake = FakeZnuny.service_desk(include_ticket_data=True)
    ticket_id, _ = fake.new_service_desk_ticket()
    with fake.mock() as base_url:
        sid = login(fake)
        article = {"Subject": "html", "Body": "<p>Hola</p>", "ContentType": "text/html; charset=utf8"}
        answer = requests.patch(
            f"{base_url}/Ticket/{ticket_id}", json={"SessionID": sid, "Article": article}, timeout=10
        ).json()
    assert "TimeUnit" not in answer["Ticket"] and "TimeUnit" not in answer["Ticket"]["Article"]
    attachment = answer["Ticket"]["Article"]["Attachment"][0]
    assert (attachment["Filename"], base64.b64decode(attachment["Content"])) == ("file-2", b"<p>Hola</p>")
