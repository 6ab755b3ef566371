"""Fidelity of TicketUpdate and TicketCreate beyond the recordings (40-65, 91-95, 10-13).

Sources: Kernel/GenericInterface/Operation/Ticket/{TicketUpdate,TicketCreate,Common}.pm of
Znuny 6.5 (spec §4) -- TicketCreate checks Article before Ticket, its create-permission error
comes right after the ticket checks, and several of its messages differ from TicketUpdate's.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from fake_http import APACHE_500, login

from otrs_closure.testing import PASSWORDS, FakeZnuny


@pytest.fixture
def fake() -> Iterator[FakeZnuny]:
    znuny = FakeZnuny.service_desk(frozen_clock=True)
    with znuny.mock():
        yield znuny


def note(subject: str = "nota", **extra: Any) -> dict[str, Any]:
    return {"Subject": subject, "Body": "cuerpo", "ContentType": "text/plain; charset=utf8", **extra}


def ticket(**extra: Any) -> dict[str, Any]:
    return {
        "Title": "Nuevo",
        "Queue": "Mesa de Servicio",
        "State": "new",
        "Priority": "3 normal",
        "CustomerUser": "cliente.demo",
        **extra,
    }


def create(fake: FakeZnuny, body: dict[str, Any], user: str = "tecnico1") -> requests.Response:
    return requests.post(f"{fake.base_url}/Ticket", json={"SessionID": login(fake, user), **body}, timeout=10)


def error(answer: requests.Response) -> tuple[str, str]:
    assert answer.status_code == 200, answer.text
    err = answer.json()["Error"]
    return err["ErrorCode"], err["ErrorMessage"]


# --------------------------------------------------------------------- TicketCreate
def test_create_checks_article_before_ticket(fake: FakeZnuny) -> None:
    assert error(create(fake, {})) == (
        "TicketCreate.MissingParameter",
        "TicketCreate: Article parameter is missing or not valid!",
    )
    assert error(create(fake, {"Article": note()})) == (
        "TicketCreate.MissingParameter",
        "TicketCreate: Ticket parameter is missing or not valid!",
    )


@pytest.mark.parametrize(
    ("ticket_in", "code", "message"),
    [
        ({"Title": ""}, "MissingParameter", "TicketCreate: Ticket->Title parameter is missing!"),
        ({"CustomerUser": ""}, "MissingParameter", "TicketCreate: Ticket->CustomerUser parameter is missing!"),
        # CustomerUser validity comes before the missing Queue/State/Priority checks
        (
            {"CustomerUser": "nadie", "State": ""},
            "InvalidParameter",
            "TicketCreate: Ticket->CustomerUser parameter is invalid!",
        ),
        (
            {"Queue": "", "State": ""},
            "MissingParameter",
            "TicketCreate: Ticket->QueueID or Ticket->Queue parameter is required!",
        ),
        (
            {"State": "", "Priority": ""},
            "MissingParameter",
            "TicketCreate: Ticket->StateID or Ticket->State parameter is required!",
        ),
        ({"Lock": "cerrado"}, "InvalidParameter", "TicketCreate: Ticket->LockID or Ticket->Lock parameter is invalid!"),
    ],
)
def test_create_ticket_checks_in_order(fake: FakeZnuny, ticket_in: dict[str, Any], code: str, message: str) -> None:
    assert error(create(fake, {"Ticket": ticket(**ticket_in), "Article": note()})) == (f"TicketCreate.{code}", message)


def test_create_permission_is_checked_before_the_article(fake: FakeZnuny) -> None:
    # TicketCreate.pm: CheckCreatePermissions right after _CheckTicket, with this message.
    answer = create(fake, {"Ticket": ticket(), "Article": {"Subject": "sin cuerpo"}}, user="lector")
    assert error(answer) == (
        "TicketCreate.AccessDenied",
        "TicketCreate: Can not create tickets in given Queue or QueueID!",
    )


def test_create_messages_that_differ_from_update(fake: FakeZnuny) -> None:
    # TicketCreate.pm: "DynamicField->$Needed  parameter is missing!" and
    # "Attachment->$Needed  parameter is missing!" (two spaces); its ContentType check looks
    # for "charset=" without spaces around '='.
    answer = create(fake, {"Ticket": ticket(), "Article": note(), "DynamicField": {"Name": "NumeroSerie"}})
    assert error(answer) == (
        "TicketCreate.MissingParameter",
        "TicketCreate: DynamicField->Value  parameter is missing!",
    )
    answer = create(
        fake, {"Ticket": ticket(), "Article": note(), "Attachment": {"Content": "eA==", "ContentType": "text/plain"}}
    )
    assert error(answer) == (
        "TicketCreate.MissingParameter",
        "TicketCreate: Attachment->Filename  parameter is missing!",
    )
    spaced = note(ContentType="text/plain; charset = utf8")
    assert error(create(fake, {"Ticket": ticket(), "Article": spaced})) == (
        "TicketCreate.InvalidParameter",
        "TicketCreate: Article->ContentType is invalid!",
    )
    ticket_id = create(fake, {"Ticket": ticket(), "Article": note()}).json()["TicketID"]
    updated = requests.patch(
        f"{fake.base_url}/Ticket/{ticket_id}", json={"SessionID": login(fake), "Article": spaced}, timeout=10
    ).json()
    assert "ArticleID" in updated  # TicketUpdate accepts "charset = x"


def test_create_article_addresses(fake: FakeZnuny) -> None:
    # _TicketCreate: To is the queue (Article->To/Cc/Bcc are only used with ArticleSend).
    answer = create(fake, {"Ticket": ticket(), "Article": note(To="x@example.com", Cc="y@example.com")}).json()
    article = fake.ticket(int(answer["TicketID"])).articles[0]
    assert (article.to, article.from_) == ("Mesa de Servicio", '"Cliente Demo" <cliente.demo@example.com>')


def test_create_unknown_customer_address(fake: FakeZnuny) -> None:
    # _TicketCreate: CustomerID is the customer's UserCustomerID, '' for an unknown address;
    # an address that belongs to a customer user is replaced by that login (PostMasterSearch).
    answer = create(fake, {"Ticket": ticket(CustomerUser="juan@example.com"), "Article": note()}).json()
    view = fake.ticket(int(answer["TicketID"]))
    assert (view.customer_user, view.customer_id) == ("juan@example.com", "")
    answer = create(fake, {"Ticket": ticket(CustomerUser="cliente.demo@example.com"), "Article": note()}).json()
    view = fake.ticket(int(answer["TicketID"]))
    assert (view.customer_user, view.customer_id) == ("cliente.demo", "CLIENTE-DEMO")


def test_create_several_articles(fake: FakeZnuny) -> None:
    # TicketCreate.pm: ArticleID is the list when several articles are created, and the
    # top-level attachments are written to every article.
    attachment = {"Content": base64.b64encode(b"pdf").decode(), "ContentType": "application/pdf", "Filename": "a.pdf"}
    answer = create(fake, {"Ticket": ticket(), "Article": [note("uno"), note("dos")], "Attachment": attachment})
    body = answer.json()
    assert isinstance(body["ArticleID"], list) and len(body["ArticleID"]) == 2 and "ArticleIDs" not in body
    view = fake.ticket(int(body["TicketID"]))
    assert [[a.filename for a in article.attachments] for article in view.articles] == [["a.pdf"], ["a.pdf"]]


def test_create_responsible_and_lock_are_written_as_history(fake: FakeZnuny) -> None:
    # _TicketCreate: TicketLockSet when Lock is given, TicketResponsibleSet after the owner.
    answer = create(fake, {"Ticket": ticket(Responsible="agente.mesa", Lock="lock"), "Article": note()}).json()
    view = fake.ticket(int(answer["TicketID"]))
    types = [h.history_type for h in view.history if h.history_type != "Misc"]
    assert types == ["NewTicket", "CustomerUpdate", "Lock", "NewTicket", "OwnerUpdate", "ResponsibleUpdate"]
    assert (view.lock, view.responsible) == ("lock", "agente.mesa")


def test_customer_create_needs_customer_user(fake: FakeZnuny) -> None:
    # TicketCreate.pm does not fill Ticket->CustomerUser from the customer's login.
    body = {
        "CustomerUserLogin": "cliente.demo",
        "Password": PASSWORDS["cliente.demo"],
        "Ticket": ticket(CustomerUser=""),
        "Article": note(),
    }
    answer = requests.post(f"{fake.base_url}/Ticket", json=body, timeout=10)
    assert error(answer) == (
        "TicketCreate.MissingParameter",
        "TicketCreate: Ticket->CustomerUser parameter is missing!",
    )


# --------------------------------------------------------------------- TicketUpdate
def test_ticket_number_is_looked_up_exactly(fake: FakeZnuny) -> None:
    ticket_id, number = fake.new_service_desk_ticket()
    answer = requests.patch(
        f"{fake.base_url}/Ticket/{ticket_id}",
        json={"SessionID": login(fake), "TicketNumber": f" {number}", "Ticket": {"Title": "x"}},
        timeout=10,
    )
    assert error(answer) == ("TicketUpdate.AccessDenied", "TicketUpdate: User does not have access to the ticket!")


def test_article_list_items_that_are_not_objects(fake: FakeZnuny) -> None:
    # TicketUpdate.pm: `$Article->{UserType} = ...` autovivifies a null item into {} (so its
    # Subject is missing) and dies on a string (no GI answer: Apache's 500 page).
    ticket_id, _ = fake.new_service_desk_ticket()
    sid = login(fake)
    url = f"{fake.base_url}/Ticket/{ticket_id}"
    answer = requests.patch(url, json={"SessionID": sid, "Article": [note(), None]}, timeout=10)
    assert error(answer) == ("TicketUpdate.MissingParameter", "TicketUpdate: Article->Subject parameter is missing!")
    answer = requests.patch(url, json={"SessionID": sid, "Article": [note(), "texto"]}, timeout=10)
    assert answer.status_code == 500 and answer.headers["Content-Type"] == APACHE_500
    answer = requests.patch(url, json={"SessionID": sid, "Article": note(Attachment="")}, timeout=10)
    assert answer.status_code == 500 and answer.headers["Content-Type"] == APACHE_500
    assert fake.internal_errors == []


def test_from_checks_only_the_first_address(fake: FakeZnuny) -> None:
    # Common.pm ValidateFrom returns the check of the first address Mail::Address parses.
    ticket_id, _ = fake.new_service_desk_ticket()
    sid = login(fake)
    url = f"{fake.base_url}/Ticket/{ticket_id}"
    ok = requests.patch(url, json={"SessionID": sid, "Article": note(From="a@example.com, basura")}, timeout=10)
    assert "ArticleID" in ok.json()
    bad = requests.patch(url, json={"SessionID": sid, "Article": note(From="basura, a@example.com")}, timeout=10)
    assert error(bad) == ("TicketUpdate.InvalidParameter", "TicketUpdate: Article->From parameter is invalid!")


def test_owner_set_to_the_current_owner_writes_nothing(fake: FakeZnuny) -> None:
    # Ticket.pm TicketOwnerSet returns early when the owner does not change: a new ticket
    # belongs to UserID 1 until _TicketCreate sets the owner (then locks it).
    answer = create(fake, {"Ticket": ticket(Owner="root@localhost"), "Article": note()}).json()
    view = fake.ticket(int(answer["TicketID"]))
    assert [h.name for h in view.history if h.history_type == "OwnerUpdate"] == []
    assert (view.owner, view.lock) == ("root@localhost", "lock")


def test_moving_into_a_queue_needs_move_into_there(fake: FakeZnuny) -> None:
    # Ticket.pm TicketQueueSet: MoveList(Type => 'move_into') must contain the target queue
    # (UserID 1 may move anywhere); otherwise the write fails after the earlier ones.
    ticket_id, _ = fake.new_service_desk_ticket()
    body = {"SessionID": login(fake), "Ticket": {"Title": "Nuevo título", "Queue": "Raw"}}
    answer = requests.patch(f"{fake.base_url}/Ticket/{ticket_id}", json=body, timeout=10)
    assert answer.status_code == 500
    assert answer.json() == {
        "faultcode": "Server",
        "faultstring": "Ticket queue could not be updated, please contact system administrator!",
    }
    fake.assert_ticket(ticket_id, title="Nuevo título", queue="Mesa de Servicio")
    fake.set_permissions("tecnico1", "users", "move_into")
    answer = requests.patch(f"{fake.base_url}/Ticket/{ticket_id}", json=body, timeout=10)
    assert answer.status_code == 200 and "Error" not in answer.json()
    fake.assert_ticket(ticket_id, queue="Raw")


def test_title_history_is_truncated(fake: FakeZnuny) -> None:
    # Ticket.pm TicketTitleUpdate: substr( $Title, 0, 50 ) . '...' in the TitleUpdate row.
    ticket_id, _ = fake.new_service_desk_ticket("Corto")
    title = "x" * 60
    requests.patch(
        f"{fake.base_url}/Ticket/{ticket_id}", json={"SessionID": login(fake), "Ticket": {"Title": title}}, timeout=10
    )
    rows = [h.name for h in fake.ticket(ticket_id).history if h.history_type == "TitleUpdate"]
    assert rows == ["%%Corto%%" + "x" * 50 + "..."]


def test_extended_attributes_without_escalation_settings(fake: FakeZnuny) -> None:
    # _TicketGetExtended: FirstResponseInMin only with a first-response escalation time;
    # Closed comes from the history, so it stays after the ticket is reopened.
    ticket_id, _ = fake.new_service_desk_ticket()
    sid = login(fake)
    url = f"{fake.base_url}/Ticket/{ticket_id}"
    requests.patch(url, json={"SessionID": sid, "Article": note(IsVisibleForCustomer=1)}, timeout=10)
    requests.patch(url, json={"SessionID": sid, "Ticket": {"State": "closed successful"}}, timeout=10)
    requests.patch(url, json={"SessionID": sid, "Ticket": {"State": "open"}}, timeout=10)
    data = requests.get(url, params={"SessionID": sid, "Extended": 1}, timeout=10).json()["Ticket"][0]
    assert {"FirstResponse", "Closed", "SolutionInMin", "FirstLock"} <= set(data)
    assert "FirstResponseInMin" not in data


def test_setting_a_dynamic_field_to_its_value_writes_nothing(fake: FakeZnuny) -> None:
    # DynamicField/Backend.pm ValueSet: "do not proceed if there is nothing to update".
    ticket_id, _ = fake.new_service_desk_ticket()
    body = {"SessionID": login(fake), "DynamicField": {"Name": "NumeroSerie", "Value": "SN-1"}}
    for _ in range(2):
        requests.patch(f"{fake.base_url}/Ticket/{ticket_id}", json=body, timeout=10)
    rows = [h for h in fake.ticket(ticket_id).history if h.history_type == "TicketDynamicFieldUpdate"]
    assert len(rows) == 1


def test_charset_must_be_a_text_encoding(fake: FakeZnuny) -> None:
    # Common.pm ValidateCharset: Encode::resolve_alias, which knows no 'base64' charset.
    ticket_id, _ = fake.new_service_desk_ticket()
    body = {"SessionID": login(fake), "Article": note(ContentType="text/plain; charset=base64")}
    answer = requests.patch(f"{fake.base_url}/Ticket/{ticket_id}", json=body, timeout=10)
    assert error(answer) == ("TicketUpdate.InvalidParameter", "TicketUpdate: Article->ContentType is invalid!")


def test_unknown_customer_user_needs_only_a_valid_first_address(fake: FakeZnuny) -> None:
    # Common.pm ValidateCustomer: an unknown customer user is checked with ValidateFrom.
    ticket_id, _ = fake.new_service_desk_ticket()
    body = {"SessionID": login(fake), "Ticket": {"CustomerUser": "Juan Pérez <juan@example.com>"}}
    answer = requests.patch(f"{fake.base_url}/Ticket/{ticket_id}", json=body, timeout=10).json()
    assert "Error" not in answer
    view = fake.ticket(ticket_id)
    assert (view.customer_user, view.customer_id) == ("Juan Pérez <juan@example.com>", "")


def test_an_owner_login_is_looked_up_in_any_case_as_the_real_systems_do() -> None:
    """All five lab systems accept ``Owner: "Agente.Mesa"`` for the agent ``agente.mesa``
    (UserLookup lower-cases both sides); authentication stays exact."""
    import requests

    from otrs_closure.testing import FakeZnuny

    fake = FakeZnuny.service_desk()
    tid, _ = fake.new_service_desk_ticket()
    with fake.serve() as url:
        auth = {"UserLogin": "tecnico1", "Password": "tecnico-pass"}
        answer = requests.patch(f"{url}/Ticket/{tid}", json={**auth, "Ticket": {"Owner": "Agente.Mesa"}}, timeout=5)
        refused = requests.post(f"{url}/Session", json={"UserLogin": "TECNICO1", "Password": "tecnico-pass"}, timeout=5)
    assert "Error" not in answer.json(), answer.json()
    assert fake.ticket(tid).owner == "agente.mesa"
    assert refused.json()["Error"]["ErrorCode"] == "SessionCreate.AuthFail"
