"""TicketUpdate semantics: validation order, write order without rollback, attachments, permissions."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from otrs_closure.testing import PASSWORDS, FakeZnuny, WriteStep, perl_decode_base64

NOTE: dict[str, Any] = {
    "CommunicationChannel": "Internal",
    "IsVisibleForCustomer": 0,
    "SenderType": "agent",
    "Subject": "Atendido",
    "Body": "Se atendió la solicitud.",
    "ContentType": "text/plain; charset=utf8",
}
PDF = b"%PDF-1.4\n% fake pdf\n"
DOCX = b"PK\x03\x04 fake docx"


def attachment(name: str, data: bytes, content_type: str = "application/pdf") -> dict[str, str]:
    return {"Content": base64.b64encode(data).decode(), "ContentType": content_type, "Filename": name}


class Api:
    """Tiny GI client for these tests."""

    def __init__(self, base_url: str, login: str = "tecnico1") -> None:
        self.base_url = base_url
        answer = requests.post(
            f"{base_url}/Session", json={"UserLogin": login, "Password": PASSWORDS[login]}, timeout=10
        )
        self.sid = answer.json()["SessionID"]

    def update(self, ticket: int | str, body: dict[str, Any]) -> requests.Response:
        return requests.patch(f"{self.base_url}/Ticket/{ticket}", json={"SessionID": self.sid, **body}, timeout=10)

    def get(self, ticket: int | str, **params: Any) -> dict[str, Any]:
        answer = requests.get(f"{self.base_url}/Ticket/{ticket}", params={"SessionID": self.sid, **params}, timeout=10)
        result: dict[str, Any] = answer.json()
        return result


@pytest.fixture
def world() -> Iterator[tuple[FakeZnuny, Api, int]]:
    fake = FakeZnuny.service_desk()
    ticket_id, _ = fake.new_service_desk_ticket("Impresora")
    with fake.mock() as base_url:
        yield fake, Api(base_url), ticket_id


def error(answer: requests.Response) -> tuple[str, str]:
    assert answer.status_code == 200, answer.text
    err = answer.json()["Error"]
    return err["ErrorCode"], err["ErrorMessage"]


# ------------------------------------------------------------ write order
def test_state_applied_then_article_write_fails_without_rollback(world: tuple[FakeZnuny, Api, int]) -> None:
    fake, api, ticket_id = world
    fake.fail_write(WriteStep.ARTICLE)
    answer = api.update(ticket_id, {"Ticket": {"State": "Atendido"}, "Article": NOTE})
    assert answer.status_code == 500
    assert answer.headers["Content-Type"] == "text/plain; charset=UTF-8"
    assert answer.json() == {
        "faultcode": "Server",
        "faultstring": "Article could not be created, please contact the system administrator",
    }
    view = fake.assert_ticket(ticket_id, state="Atendido", article_count=1, notes_with_subject={"Atendido": 0})
    assert [h.history_type for h in view.history][-2:] == ["StateUpdate", "SetPendingTime"]
    # a retry only adds the note
    answer = api.update(ticket_id, {"Ticket": {"State": "Atendido"}, "Article": NOTE})
    assert "ArticleID" in answer.json()
    fake.assert_ticket(ticket_id, state="Atendido", notes_with_subject={"Atendido": 1})


def test_attachment_failure_keeps_article_and_state(world: tuple[FakeZnuny, Api, int]) -> None:
    fake, api, ticket_id = world
    fake.fail_write(WriteStep.ATTACHMENT, ticket=ticket_id)
    answer = api.update(
        ticket_id, {"Ticket": {"State": "Atendido"}, "Article": NOTE, "Attachment": [attachment("a.pdf", PDF)]}
    )
    assert answer.status_code == 500
    assert answer.json()["faultstring"] == "Attachment could not be created, please contact the system administrator"
    view = fake.assert_ticket(ticket_id, state="Atendido", notes_with_subject={"Atendido": 1})
    assert view.attachments() == ()


def test_dynamic_field_failure_names_the_field(world: tuple[FakeZnuny, Api, int]) -> None:
    fake, api, ticket_id = world
    fake.fail_write("dynamic_field")
    answer = api.update(ticket_id, {"DynamicField": {"Name": "NumeroSerie", "Value": "SN-1"}})
    assert answer.json()["faultstring"] == (
        "Dynamic Field NumeroSerie could not be set, please contact the system administrator"
    )


def test_pending_state_without_pending_time_after_partial_writes(world: tuple[FakeZnuny, Api, int]) -> None:
    fake, api, ticket_id = world
    answer = api.update(ticket_id, {"Ticket": {"Title": "Nuevo título", "State": "pending reminder"}})
    assert error(answer) == (
        "TicketUpdate.MissingParameter",
        "Can't set a ticket on a pending state without pendig time!",
    )
    fake.assert_ticket(ticket_id, title="Nuevo título", state="new")
    answer = api.update(ticket_id, {"Ticket": {"State": "pending reminder", "PendingTime": {"Diff": 60}}})
    assert answer.status_code == 200 and "Error" not in answer.json()
    view = fake.ticket(ticket_id)
    assert view.state == "pending reminder" and view.pending_until > 0
    ticket = api.get(ticket_id)["Ticket"][0]
    assert 3500 < ticket["UntilTime"] <= 3600


def test_invalid_article_leaves_state_untouched(world: tuple[FakeZnuny, Api, int]) -> None:
    fake, api, ticket_id = world
    article = {k: v for k, v in NOTE.items() if k != "Body"}
    assert error(api.update(ticket_id, {"Ticket": {"State": "Atendido"}, "Article": article})) == (
        "TicketUpdate.MissingParameter",
        "TicketUpdate: Article->Body parameter is missing!",
    )
    fake.assert_ticket(ticket_id, state="new", article_count=1)


def test_closing_force_unlocks_and_owner_change_keeps_lock(world: tuple[FakeZnuny, Api, int]) -> None:
    fake, api, ticket_id = world
    api.update(ticket_id, {"Ticket": {"Owner": "agente.mesa"}})
    fake.assert_ticket(ticket_id, owner="agente.mesa", lock="lock")
    api.update(ticket_id, {"Ticket": {"OwnerID": 3, "State": "closed successful"}})
    view = fake.assert_ticket(ticket_id, owner="tecnico1", lock="unlock", state="closed successful")
    assert [h.history_type for h in view.history if h.history_type in ("Unlock", "StateUpdate", "OwnerUpdate")][
        -3:
    ] == [
        "Unlock",
        "StateUpdate",
        "OwnerUpdate",
    ]


# ------------------------------------------------------------ validation
@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({"Ticket": "x"}, "TicketUpdate.InvalidParameter", "TicketUpdate: Ticket parameter is not valid!"),
        (
            {"Attachment": []},
            "TicketUpdate.MissingParameter",
            "TicketUpdate: Attachment parameter is missing or not valid!",
        ),
        (
            {"DynamicField": "x"},
            "TicketUpdate.MissingParameter",
            "TicketUpdate: DynamicField parameter is missing or not valid!",
        ),
        (
            {"Ticket": {"Queue": "Nada"}},
            "TicketUpdate.InvalidParameter",
            "TicketUpdate: Ticket->QueueID or Ticket->Queue parameter is invalid!",
        ),
        (
            {"Ticket": {"Lock": "cerrado"}},
            "TicketUpdate.InvalidParameter",
            "TicketUpdate: Ticket->LockID or Ticket->Lock parameter is invalid!",
        ),
        (
            {"Ticket": {"Type": "Nada"}},
            "TicketUpdate.InvalidParameter",
            "TicketUpdate: Ticket->TypeID or Ticket->Type parameter is invalid!",
        ),
        (
            {"Ticket": {"State": "Nada"}},
            "TicketUpdate.InvalidParameter",
            "TicketUpdate: Ticket->StateID or Ticket->State parameter is invalid!",
        ),
        (
            {"Ticket": {"Priority": "9 urgente"}},
            "TicketUpdate.InvalidParameter",
            "TicketUpdate: Ticket->PriorityID or Ticket->Priority parameter is invalid!",
        ),
        (
            {"Ticket": {"Owner": "nadie"}},
            "TicketUpdate.InvalidParameter",
            "TicketUpdate: Ticket->OwnerID or Ticket->Owner parameter is invalid!",
        ),
        (
            {"Ticket": {"OwnerID": 9999}},
            "TicketUpdate.InvalidParameter",
            "TicketUpdate: Ticket->OwnerID or Ticket->Owner parameter is invalid!",
        ),
        (
            {"Ticket": {"State": "Nada", "Owner": "nadie"}},
            "TicketUpdate.InvalidParameter",
            "TicketUpdate: Ticket->StateID or Ticket->State parameter is invalid!",
        ),
        (
            {"Ticket": {"PendingTime": {"Diff": 5, "Year": 2030}}},
            "TicketUpdate.InvalidParameter",
            "TicketUpdate: Ticket->PendingTime parameter is invalid!",
        ),
        ({"Article": {}}, "TicketUpdate.InvalidParameter", "TicketUpdate: Article parameter is not valid!"),
        (
            {"Article": {**NOTE, "Subject": ""}},
            "TicketUpdate.MissingParameter",
            "TicketUpdate: Article->Subject parameter is missing!",
        ),
        (
            {"Article": {**NOTE, "Body": "0"}},
            "TicketUpdate.MissingParameter",
            "TicketUpdate: Article->Body parameter is missing!",
        ),
        (
            {"Article": {**NOTE, "CommunicationChannel": "Chat"}},
            "TicketUpdate.InvalidParameter",
            "TicketUpdate: Article->CommunicationChannel or Article->CommunicationChannelID parameter"
            " is invalid or not supported!",
        ),
        (
            {"Article": {**NOTE, "SenderType": "robot"}},
            "TicketUpdate.InvalidParameter",
            "TicketUpdate: Article->SenderTypeID or Ticket->SenderType parameter is invalid!",
        ),
        (
            {"Article": {**NOTE, "From": "sin correo"}},
            "TicketUpdate.InvalidParameter",
            "TicketUpdate: Article->From parameter is invalid!",
        ),
        (
            {"Article": {**NOTE, "ContentType": "text/plain"}},
            "TicketUpdate.InvalidParameter",
            "TicketUpdate: Article->ContentType is invalid!",
        ),
        (
            {"Article": {**NOTE, "ContentType": "text/plain; charset=nonexistent-cs"}},
            "TicketUpdate.InvalidParameter",
            "TicketUpdate: Article->ContentType is invalid!",
        ),
        (
            {"Article": {k: v for k, v in NOTE.items() if k != "ContentType"} | {"MimeType": "text/plain"}},
            "TicketUpdate.MissingParameter",
            "TicketUpdate: Article->Charset is required!",
        ),
        (
            {"Article": {k: v for k, v in NOTE.items() if k != "ContentType"} | {"Charset": "utf-8"}},
            "TicketUpdate.MissingParameter",
            "TicketUpdate: Article->MimeType is required!",
        ),
        (
            {"Article": {**NOTE, "HistoryType": "Inventado"}},
            "TicketUpdate.InvalidParameter",
            "TicketUpdate: Article->HistoryType parameter is invalid!",
        ),
        (
            {"Article": {**NOTE, "TimeUnit": "abc"}},
            "TicketUpdate.InvalidParameter",
            "TicketUpdate: Article->TimeUnit parameter is invalid!",
        ),
        (
            {"Article": {**NOTE, "NoAgentNotify": 2}},
            "TicketUpdate.InvalidParameter",
            "TicketUpdate: Article->NoAgent parameter is invalid!",
        ),
        (
            {"Article": {**NOTE, "ForceNotificationToUserID": [77]}},
            "TicketUpdate.InvalidParameter",
            "TicketUpdate: Article->ForceNotificationToUserID UserID=77 parameter is invalid!",
        ),
        (
            {"DynamicField": {"Name": "NumeroSerie"}},
            "TicketUpdate.MissingParameter",
            "TicketUpdate: DynamicField->Value parameter is missing!",
        ),
        (
            {"DynamicField": {"Name": "NumeroSerie", "Value": {"a": 1}}},
            "TicketUpdate.MissingParameter",
            "TicketUpdate: DynamicField->Value parameter is missing!",
        ),
        (
            {"DynamicField": {"Name": "NoExiste", "Value": "x"}},
            "TicketUpdate.InvalidParameter",
            "TicketUpdate: DynamicField->Name parameter is invalid!",
        ),
        (
            {"DynamicField": {"Name": "NumeroSerie", "Value": ["a", "b"]}},
            "TicketUpdate.InvalidParameter",
            "TicketUpdate: DynamicField->Value parameter is invalid!",
        ),
        (
            {"Attachment": {"Content": "QQ==", "ContentType": "application/pdf", "Filename": "a.pdf"}},
            "TicketUpdate.MissingParameter",
            "TicketUpdate: To create an attachment an article is needed!",
        ),
        (
            {"Article": NOTE, "Attachment": {"Content": "", "ContentType": "application/pdf", "Filename": "a.pdf"}},
            "TicketUpdate.MissingParameter",
            "TicketUpdate: Attachment->Content parameter is missing!",
        ),
        (
            {"Article": NOTE, "Attachment": {"Content": "QQ==", "ContentType": "pdf", "Filename": "a.pdf"}},
            "TicketUpdate.InvalidParameter",
            "TicketUpdate: Attachment->ContentType is invalid!",
        ),
    ],
)
def test_validation_errors(world: tuple[FakeZnuny, Api, int], body: dict[str, Any], code: str, message: str) -> None:
    fake, api, ticket_id = world
    before = fake.ticket(ticket_id)
    assert error(api.update(ticket_id, body)) == (code, message)
    assert fake.ticket(ticket_id) == before


def test_structural_faults_are_500(world: tuple[FakeZnuny, Api, int]) -> None:
    _, api, ticket_id = world
    answer = api.update(ticket_id, {"Article": NOTE, "Attachment": ["no es un objeto"]})
    assert (answer.status_code, answer.json()["faultstring"]) == (
        500,
        "TicketUpdate: Ticket->Attachment parameter is invalid!",
    )
    answer = api.update(ticket_id, {"DynamicField": ["x"]})
    assert (answer.status_code, answer.json()["faultstring"]) == (
        500,
        "TicketUpdate: Ticket->DynamicField parameter is invalid!",
    )


def test_missing_identification_and_credentials(world: tuple[FakeZnuny, Api, int]) -> None:
    fake, api, ticket_id = world
    base = api.base_url
    answer = requests.patch(f"{base}/Ticket/{ticket_id}", json={"Ticket": {"Title": "x"}}, timeout=10)
    assert error(answer) == (
        "TicketUpdate.MissingParameter",
        "TicketUpdate: UserLogin, CustomerUserLogin or SessionID is required!",
    )
    answer = requests.patch(f"{base}/Ticket/{ticket_id}", json={"UserLogin": "tecnico1"}, timeout=10)
    assert error(answer) == ("TicketUpdate.MissingParameter", "TicketUpdate: Password or SessionID is required!")
    answer = requests.patch(f"{base}/Ticket/0", json={"SessionID": api.sid}, timeout=10)
    assert error(answer) == ("TicketUpdate.MissingParameter", "TicketUpdate: TicketID or TicketNumber is required!")
    answer = requests.patch(f"{base}/Ticket/abc", json={"SessionID": api.sid}, timeout=10)
    assert error(answer) == ("TicketUpdate.AccessDenied", "TicketUpdate: User does not have access to the ticket!")


def test_ticket_number_wins_over_ticket_id(world: tuple[FakeZnuny, Api, int]) -> None:
    fake, api, ticket_id = world
    other_id, other_number = fake.new_service_desk_ticket("otro")
    answer = api.update(ticket_id, {"TicketNumber": other_number, "Ticket": {"Title": "por número"}})
    # the id TicketIDLookup found comes back as a number (all five lab systems do so)
    assert answer.json() == {"TicketID": other_id, "TicketNumber": other_number}
    assert fake.ticket(other_id).title == "por número"
    assert fake.ticket(ticket_id).title == "Impresora"
    assert error(api.update(ticket_id, {"TicketNumber": "0000000000000000"}))[0] == "TicketUpdate.AccessDenied"


def test_permissions(world: tuple[FakeZnuny, Api, int]) -> None:
    fake, api, ticket_id = world
    lector = Api(api.base_url, "lector")
    assert error(lector.update(ticket_id, {"Ticket": {"Title": "x"}})) == (
        "TicketUpdate.AccessDenied",
        "TicketUpdate: User does not have access to the ticket!",
    )
    assert "Ticket" in lector.get(ticket_id)
    root = Api(api.base_url, "root@localhost")
    assert error(root.update(ticket_id, {"Ticket": {"Title": "x"}}))[0] == "TicketUpdate.AccessDenied"
    # a customer acts as CustomerPanelUserID (root@localhost): no 'close' permission on this queue
    customer = requests.patch(
        f"{api.base_url}/Ticket/{ticket_id}",
        json={
            "CustomerUserLogin": "cliente.demo",
            "Password": PASSWORDS["cliente.demo"],
            "Ticket": {"State": "closed successful"},
        },
        timeout=10,
    )
    assert error(customer) == ("TicketUpdate.AccessDenied", "TicketUpdate: Does not have permissions to update state!")
    customer = requests.patch(
        f"{api.base_url}/Ticket/{ticket_id}",
        json={
            "CustomerUserLogin": "cliente.demo",
            "Password": PASSWORDS["cliente.demo"],
            "Ticket": {"Owner": "agente.mesa"},
        },
        timeout=10,
    )
    assert error(customer) == ("TicketUpdate.AccessDenied", "TicketUpdate: Does not have permissions to update owner!")
    # an agent with rw on the group may do everything; the owner may act even without group rights
    fake.set_permissions("tecnico1", "mesa-de-servicio", [])
    assert "TicketID" in api.update(ticket_id, {"Ticket": {"State": "closed successful"}}).json()


# ------------------------------------------------------------ articles
def test_attachments_top_level_and_inside_article(world: tuple[FakeZnuny, Api, int]) -> None:
    fake, api, ticket_id = world
    top = api.update(
        ticket_id,
        {
            "Article": NOTE,
            "Attachment": [attachment("informe.pdf", PDF), attachment("acta.docx", DOCX, "Application/VND.Test")],
        },
    ).json()
    inside = api.update(
        ticket_id,
        {
            "Article": {
                **NOTE,
                "Subject": "dentro",
                "Attachment": [attachment("informe.pdf", PDF), attachment("acta.docx", DOCX)],
            }
        },
    ).json()
    assert inside["ArticleID"] == top["ArticleID"] + 1
    fake.assert_ticket(ticket_id, attachments_bytes={"informe.pdf": PDF, "acta.docx": DOCX})
    ticket = api.get(ticket_id, AllArticles=1, Attachments=1)["Ticket"][0]
    for article in ticket["Article"][-2:]:
        assert [(a["FileID"], a["Filename"]) for a in article["Attachment"]] == [
            ("1", "acta.docx"),
            ("2", "informe.pdf"),
        ]
        assert article["Attachment"][1]["FilesizeRaw"] == str(len(PDF))
        assert base64.b64decode(article["Attachment"][1]["Content"]) == PDF
        assert article["Attachment"][1]["Disposition"] == "attachment"
    assert ticket["Article"][-2]["Attachment"][0]["ContentType"] == "application/vnd.test"  # top-level: lower-cased
    assert "Attachment" not in ticket["Article"][0]
    no_content = api.get(ticket_id, AllArticles=1, Attachments=1, GetAttachmentContents=0)["Ticket"][0]
    assert {a["Content"] for a in no_content["Article"][-1]["Attachment"]} == {""}
    assert "Article" not in api.get(ticket_id, Attachments=1)["Ticket"][0]


def test_several_articles_answer_article_ids_and_attachments_go_first(world: tuple[FakeZnuny, Api, int]) -> None:
    fake, api, ticket_id = world
    answer = api.update(
        ticket_id,
        {"Article": [NOTE, {**NOTE, "Subject": "segunda"}], "Attachment": attachment("0", PDF)},
    ).json()
    assert len(answer["ArticleIDs"]) == 2 and "ArticleID" not in answer
    view = fake.ticket(ticket_id)
    assert [len(a.attachments) for a in view.articles[-2:]] == [1, 0]
    assert view.articles[-2].attachments[0].filename == "0"


def test_invalid_base64_is_stored_as_garbage(world: tuple[FakeZnuny, Api, int]) -> None:
    fake, api, ticket_id = world
    bad = {"Content": "esto no es base64 !!!@@@###", "ContentType": "application/pdf", "Filename": "roto.pdf"}
    api.update(ticket_id, {"Article": NOTE, "Attachment": [bad]})
    stored = fake.ticket(ticket_id).attachments()[0]
    assert stored.size == 10
    article = api.get(ticket_id, AllArticles=1, Attachments=1)["Ticket"][0]["Article"][-1]
    assert article["Attachment"][0]["Content"] == "estonoesbase6w=="


def test_article_defaults_and_from(world: tuple[FakeZnuny, Api, int]) -> None:
    fake, api, ticket_id = world
    api.update(ticket_id, {"Article": {"Subject": "s", "Body": "b", "ContentType": "text/plain; charset=utf8"}})
    article = api.get(ticket_id, AllArticles=1)["Ticket"][0]["Article"][-1]
    assert (article["From"], article["To"], article["IsVisibleForCustomer"]) == ("Juan Pérez", "", 1)
    assert (article["CommunicationChannel"], article["SenderType"], article["SenderTypeID"]) == (
        "Internal",
        "agent",
        "1",
    )
    api.update(
        ticket_id,
        {
            "Article": {
                **NOTE,
                "CommunicationChannel": "Email",
                "MimeType": "text/plain",
                "Charset": "UTF-8",
                "ContentType": None,
            }
        },
    )
    article = api.get(ticket_id, AllArticles=1)["Ticket"][0]["Article"][-1]
    # Email without To: Znuny falls back to Ticket.CustomerUser's data, else the ticket's customer login
    assert article["To"] == "cliente.demo"
    assert article["ContentType"] == "text/plain; charset=utf-8"
    api.update(
        ticket_id, {"Ticket": {"CustomerUser": "cliente.demo"}, "Article": {**NOTE, "CommunicationChannel": "Email"}}
    )
    article = api.get(ticket_id, AllArticles=1)["Ticket"][0]["Article"][-1]
    assert article["To"] == '"Cliente Demo" <cliente.demo@example.com>'


def test_dynamic_field_and_history(world: tuple[FakeZnuny, Api, int]) -> None:
    fake, api, ticket_id = world
    assert "DynamicField" not in api.get(ticket_id, DynamicFields=1)["Ticket"][0]
    api.update(ticket_id, {"DynamicField": [{"Name": "NumeroSerie", "Value": "  SN-9  "}]})
    assert api.get(ticket_id, DynamicFields=1)["Ticket"][0]["DynamicField"] == [
        {"Name": "NumeroSerie", "Value": "SN-9"}
    ]
    fake.assert_ticket(ticket_id, dynamic_fields={"NumeroSerie": "SN-9"})
    history = requests.get(
        f"{api.base_url}/Ticket/History/{ticket_id}", params={"SessionID": api.sid}, timeout=10
    ).json()
    names = [h["Name"] for h in history["TicketHistory"][0]["History"]]
    assert "%%FieldName%%NumeroSerie%%Value%%SN-9%%OldValue%%" in names


def test_owner_notifications_in_history(world: tuple[FakeZnuny, Api, int]) -> None:
    fake, api, ticket_id = world
    api.update(ticket_id, {"Ticket": {"Owner": "agente.mesa"}, "Article": NOTE})
    types = [(h.history_type, h.name) for h in fake.ticket(ticket_id).history if h.history_type != "Misc"]
    assert types[-4:] == [
        ("OwnerUpdate", "%%agente.mesa%%2"),
        ("AddNote", "%%GenericInterface Note"),
        ("SendAgentNotification", "%%Ticket owner update notification%%agente.mesa%%Email"),
        ("SendAgentNotification", "%%Ticket new note notification%%agente.mesa%%Email"),
    ]


def test_assert_ticket_reports_every_mismatch(world: tuple[FakeZnuny, Api, int]) -> None:
    fake, _, ticket_id = world
    with pytest.raises(AssertionError) as caught:
        fake.assert_ticket(
            ticket_id,
            state="Atendido",
            owner="agente.mesa",
            notes_with_subject={"Atendido": 1},
            attachments_bytes={"x.pdf": b"x"},
        )
    text = str(caught.value)
    for fragment in (
        "state: expected 'Atendido', found 'new'",
        "owner: expected 'agente.mesa'",
        "subject 'Atendido'",
        "'x.pdf': missing",
    ):
        assert fragment in text


def test_perl_decode_base64() -> None:
    assert perl_decode_base64("esto no es base64 !!!@@@###") == base64.b64decode("estonoesbase6w==")
    assert perl_decode_base64("QUJD") == b"ABC"
    assert perl_decode_base64("QUI") == b"AB"
    assert perl_decode_base64("QQ==QUJD") == b"A"
    assert perl_decode_base64("QUJDR") == b"ABC"
    assert perl_decode_base64("QU\nJD\r\n") == b"ABC"


def test_include_ticket_data_option() -> None:
    fake = FakeZnuny.service_desk(include_ticket_data=True)
    ticket_id, number = fake.new_service_desk_ticket()
    with fake.mock() as base_url:
        api = Api(base_url)
        answer = api.update(ticket_id, {"Article": NOTE, "Attachment": attachment("a.pdf", PDF)}).json()
        assert answer["TicketNumber"] == number
        assert answer["Ticket"]["Article"]["ArticleID"] == answer["ArticleID"]
        assert base64.b64decode(answer["Ticket"]["Article"]["Attachment"][0]["Content"]) == PDF
        only_ticket = api.update(ticket_id, {"DynamicField": {"Name": "NumeroSerie", "Value": "SN"}}).json()
        assert only_ticket["Ticket"]["DynamicField"] == [{"Name": "NumeroSerie", "Value": "SN"}]
        assert "Article" not in only_ticket["Ticket"]


def test_records_can_be_trimmed() -> None:
    fake = FakeZnuny.service_desk(record_bodies=False, max_records=2)
    ticket_id, _ = fake.new_service_desk_ticket()
    with fake.mock() as base_url:
        api = Api(base_url)
        for _ in range(3):
            api.update(ticket_id, {"Ticket": {"Title": "x"}})
    assert len(fake.requests) == 2
    assert all(r.body is None for r in fake.requests)
    assert fake.calls("TicketUpdate") == 3
