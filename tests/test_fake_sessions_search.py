"""Sessions (not sliding, SessionGet/Remove) and TicketSearch/TicketGet/TicketHistoryGet reads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from fake_http import login

from otrs_closure.testing import PASSWORDS, FakeZnuny


@pytest.fixture
def fake() -> Iterator[FakeZnuny]:
    znuny = FakeZnuny.service_desk(frozen_clock=True)
    with znuny.mock():
        yield znuny


def get(fake: FakeZnuny, path: str, **params: Any) -> dict[str, Any]:
    result: dict[str, Any] = requests.get(f"{fake.base_url}{path}", params=params, timeout=10).json()
    return result


def search(fake: FakeZnuny, sid: str, **criteria: Any) -> dict[str, Any]:
    result: dict[str, Any] = requests.post(
        f"{fake.base_url}/Ticket/Search", json={"SessionID": sid, **criteria}, timeout=10
    ).json()
    return result


# ------------------------------------------------------------------- sessions
def test_session_expiry_is_not_sliding(fake: FakeZnuny) -> None:
    ticket_id, _ = fake.new_service_desk_ticket()
    sid = login(fake)
    for _ in range(3):  # used continuously...
        fake.advance(2399)
        assert "Ticket" in get(fake, f"/Ticket/{ticket_id}", SessionID=sid)
    fake.advance(2)  # 7199 s after SessionCreate: still alive
    assert "Ticket" in get(fake, f"/Ticket/{ticket_id}", SessionID=sid)
    fake.advance(1)  # 7200 s after SessionCreate: dead, however often it was used
    assert get(fake, f"/Ticket/{ticket_id}", SessionID=sid)["Error"]["ErrorCode"] == "TicketGet.AuthFail"
    assert get(fake, f"/Session/{sid}") == {
        "Error": {"ErrorCode": "SessionGet.SessionInvalid", "ErrorMessage": "SessionGet: SessionID is Invalid!"}
    }
    fresh = login(fake)
    assert "Ticket" in get(fake, f"/Ticket/{ticket_id}", SessionID=fresh)


def test_session_create_errors(fake: FakeZnuny) -> None:
    url = f"{fake.base_url}/Session"
    assert requests.post(url, json={"UserLogin": "tecnico1"}, timeout=10).json()["Error"] == {
        "ErrorCode": "SessionCreate.MissingParameter",
        "ErrorMessage": "SessionCreate: Password parameter is missing!",
    }
    assert (
        requests.post(url, json={"UserLogin": "tecnico1", "Password": "x"}, timeout=10).json()["Error"]["ErrorCode"]
        == "SessionCreate.AuthFail"
    )
    fake.set_agent_valid("tecnico1", False)
    assert (
        "Error"
        in requests.post(url, json={"UserLogin": "tecnico1", "Password": PASSWORDS["tecnico1"]}, timeout=10).json()
    )
    customer = requests.post(
        url, json={"CustomerUserLogin": "cliente.demo", "Password": PASSWORDS["cliente.demo"]}, timeout=10
    ).json()
    assert len(customer["SessionID"]) == 32


def test_session_get_and_remove(fake: FakeZnuny) -> None:
    sid = login(fake)
    data = {item["Key"]: item["Value"] for item in get(fake, f"/Session/{sid}")["SessionData"]}
    assert (data["UserLogin"], data["UserFullname"], data["UserID"], data["UserType"]) == (
        "tecnico1",
        "Juan Pérez",
        "3",
        "User",
    )
    assert "UserPw" not in data and "Password" not in str(data)
    assert requests.delete(f"{fake.base_url}/Session/{sid}", timeout=10).json() == {"Success": 1}
    assert not fake.session_valid(sid)


def test_direct_sessions(fake: FakeZnuny) -> None:
    sid = fake.create_session("agente.mesa", session_id="A" * 32)
    assert sid == "A" * 32 and fake.session_valid(sid)
    fake.expire_session(sid)
    assert not fake.session_valid(sid)
    old = fake.create_session("lector", created_at=fake.clock.now() - 7201)
    assert not fake.session_valid(old)


# --------------------------------------------------------------------- search
def test_search_by_number_with_wildcards(fake: FakeZnuny) -> None:
    first = fake.new_service_desk_ticket("Impresora no imprime")
    fake.advance(1)  # distinct create times: ties in the sort column have no defined order in Znuny
    second = fake.new_service_desk_ticket("Sin acceso a VPN")
    sid = login(fake)
    assert search(fake, sid, TicketNumber=first.ticket_number) == {"TicketID": [str(first.ticket_id)]}
    both = search(fake, sid, TicketNumber=first.ticket_number[:8] + "*", SortBy="Age", OrderBy="Up")
    assert both == {"TicketID": [str(first.ticket_id), str(second.ticket_id)]}
    assert search(fake, sid, TicketNumber="%" + second.ticket_number[-6:]) == {"TicketID": [str(second.ticket_id)]}
    assert search(fake, sid, TicketNumber="0000000000000000") == {}
    assert search(fake, sid, Title="*vpn*") == {"TicketID": [str(second.ticket_id)]}
    assert search(fake, sid, Title="VPN") == {}
    assert search(fake, sid, TicketNumber=[first.ticket_number, second.ticket_number], Limit=1)["TicketID"] == [
        str(second.ticket_id)
    ]  # default order: Age Down (newest first)


def test_search_filters_and_permissions(fake: FakeZnuny) -> None:
    first = fake.new_service_desk_ticket("uno")
    fake.advance(1)  # distinct create times (ties in the sort column have no defined order)
    second = fake.new_service_desk_ticket("dos")
    sid = login(fake)
    requests.patch(
        f"{fake.base_url}/Ticket/{second.ticket_id}",
        json={"SessionID": sid, "Ticket": {"State": "Atendido", "Owner": "agente.mesa"}},
        timeout=10,
    )
    assert search(fake, sid, States=["Atendido"]) == {"TicketID": [str(second.ticket_id)]}
    assert search(fake, sid, StateType="open") == {"TicketID": [str(second.ticket_id)]}
    assert search(fake, sid, StateType=["new", "open"], SortBy="Age", OrderBy="Up") == {
        "TicketID": [str(first.ticket_id), str(second.ticket_id)]
    }
    # GI TicketSearch passes StateType as a list, so the core's 'Open'/'Closed' shortcuts never
    # apply: there is no state type named 'Open' (PostgreSQL compares case-sensitively).
    assert search(fake, sid, StateType="Open") == {}
    assert search(fake, sid, StateType="Closed") == {}
    assert search(fake, sid, OwnerIDs=[3], Queues=["Mesa de Servicio"]) == {"TicketID": [str(first.ticket_id)]}
    assert search(fake, sid, Locks=["lock"], QueueIDs=[5], SortBy="Age", OrderBy="Up") == {
        "TicketID": [str(first.ticket_id), str(second.ticket_id)]
    }
    assert search(fake, sid, CustomerUserLogin="cliente.demo", Limit=1) == {"TicketID": [str(second.ticket_id)]}
    assert search(fake, sid, DynamicField_NumeroSerie={"Equals": "SN"}) == {}
    # tecnico1 cannot see the welcome ticket (queue Raw); the core TicketSearch skips the
    # permission check for UserID 1 (`if ( $Param{UserID} && $Param{UserID} != 1 )`)
    root = login(fake, "root@localhost")
    assert sorted(search(fake, root)["TicketID"]) == ["1", str(first.ticket_id), str(second.ticket_id)]
    lector = login(fake, "lector")
    assert len(search(fake, lector)["TicketID"]) == 2
    invalid = requests.post(f"{fake.base_url}/Ticket/Search", json={"SessionID": "x"}, timeout=10).json()
    assert invalid["Error"] == {
        "ErrorCode": "TicketSearch.AuthFail",
        "ErrorMessage": "TicketSearch: Authorization failing!",
    }


# ------------------------------------------------------------------ ticket get
def test_ticket_get_flags(fake: FakeZnuny) -> None:
    ticket_id, number = fake.new_service_desk_ticket()
    fake.add_article(ticket_id, created_by="tecnico1", subject="segunda", body="b", is_visible_for_customer=1)
    fake.add_article(ticket_id, created_by="agente.mesa", subject="tercera", body="c", sender_type="customer")
    sid = login(fake)
    basic = get(fake, f"/Ticket/{ticket_id}", SessionID=sid)["Ticket"][0]
    assert (basic["TicketID"], basic["TicketNumber"], basic["Lock"], basic["Owner"]) == (
        ticket_id,
        number,
        "lock",
        "tecnico1",
    )
    assert "Article" not in basic and "FirstLock" not in basic
    assert "FirstLock" in get(fake, f"/Ticket/{ticket_id}", SessionID=sid, Extended=1)["Ticket"][0]

    def subjects(**params: Any) -> list[str]:
        ticket = get(fake, f"/Ticket/{ticket_id}", SessionID=sid, AllArticles=1, **params)["Ticket"][0]
        return [a["Subject"] for a in ticket.get("Article", [])]

    assert subjects() == ["Impresora no imprime", "segunda", "tercera"]
    assert subjects(ArticleOrder="DESC") == ["Impresora no imprime", "segunda", "tercera"]  # no limit: no reversal
    assert subjects(ArticleOrder="DESC", ArticleLimit=2) == ["tercera", "segunda"]
    assert subjects(ArticleLimit=2) == ["Impresora no imprime", "segunda"]
    assert subjects(ArticleLimit=10) == ["Impresora no imprime", "segunda", "tercera"]
    assert subjects(ArticleSenderType="customer") == ["tercera"]
    customer = requests.get(
        f"{fake.base_url}/Ticket/{ticket_id}",
        params={"CustomerUserLogin": "cliente.demo", "Password": PASSWORDS["cliente.demo"], "AllArticles": "1"},
        timeout=10,
    ).json()
    assert [a["Subject"] for a in customer["Ticket"][0]["Article"]] == ["segunda"]


def test_ticket_get_lists_and_errors(fake: FakeZnuny) -> None:
    a, _ = fake.new_service_desk_ticket("a")
    b, _ = fake.new_service_desk_ticket("b")
    sid = login(fake)
    assert [t["TicketID"] for t in get(fake, f"/Ticket/{b},{a}", SessionID=sid)["Ticket"]] == [b, a]
    fake.set_route("TicketGetList", "GET", "/TicketList", type="Ticket::TicketGet")
    listed = requests.get(f"{fake.base_url}/TicketList?TicketID={a}&TicketID={b}&SessionID={sid}", timeout=10).json()
    assert [t["TicketID"] for t in listed["Ticket"]] == [a, b]
    assert get(fake, f"/Ticket/{a},999", SessionID=sid)["Error"] == {
        "ErrorCode": "TicketGet.AccessDenied",
        "ErrorMessage": "TicketGet: User does not have access to the ticket!",
    }
    assert get(fake, "/Ticket/1", SessionID=sid)["Error"]["ErrorCode"] == "TicketGet.AccessDenied"
    assert get(fake, "/Ticket/0", SessionID=sid)["Error"] == {
        "ErrorCode": "TicketGet.MissingParameter",
        "ErrorMessage": "TicketGet: TicketID parameter is missing!",
    }


def test_ticket_history(fake: FakeZnuny) -> None:
    ticket_id, number = fake.new_service_desk_ticket()
    sid = login(fake)
    history = get(fake, f"/Ticket/History/{ticket_id}", SessionID=sid)["TicketHistory"]
    rows = history[0]["History"]
    assert history[0]["TicketID"] == str(ticket_id)
    assert [r["HistoryType"] for r in rows if r["HistoryType"] != "Misc"] == [
        "NewTicket",
        "CustomerUpdate",
        "NewTicket",
        "OwnerUpdate",
        "Lock",
    ]
    assert rows[0]["Name"] == f"%%{number}%%Mesa de Servicio%%3 normal%%new%%{ticket_id}"
    assert get(fake, "/Ticket/History/999", SessionID=sid)["Error"] == {
        "ErrorCode": "TicketHistoryGet.AccessDenied",
        "ErrorMessage": "TicketHistoryGet: User does not have access to the ticket 999!",
    }
    customer = requests.get(
        f"{fake.base_url}/Ticket/History/{ticket_id}",
        params={"CustomerUserLogin": "cliente.demo", "Password": PASSWORDS["cliente.demo"]},
        timeout=10,
    ).json()
    assert customer["Error"]["ErrorMessage"] == "TicketHistoryGet: User needs to an Agent!"


def test_ticket_create_over_http(fake: FakeZnuny) -> None:
    sid = login(fake)
    body = {
        "SessionID": sid,
        "Ticket": {
            "Title": "Nuevo",
            "Queue": "Mesa de Servicio",
            "State": "new",
            "Priority": "3 normal",
            "CustomerUser": "cliente.demo",
        },
        "Article": {"Subject": "Nuevo", "Body": "cuerpo", "ContentType": "text/plain; charset=utf8"},
    }
    answer = requests.post(f"{fake.base_url}/Ticket", json=body, timeout=10).json()
    assert isinstance(answer["TicketID"], str) and isinstance(answer["ArticleID"], int)
    view = fake.ticket(int(answer["TicketID"]))
    assert (view.owner, view.lock, view.ticket_number) == ("tecnico1", "unlock", answer["TicketNumber"])
    assert view.articles[0].from_ == '"Cliente Demo" <cliente.demo@example.com>'
    assert view.articles[0].to == "Mesa de Servicio"
    lector = login(fake, "lector")
    denied = requests.post(f"{fake.base_url}/Ticket", json={**body, "SessionID": lector}, timeout=10).json()
    assert denied["Error"]["ErrorCode"] == "TicketCreate.AccessDenied"


def test_ticket_numbers_follow_znuny_date_checksum() -> None:
    fake = FakeZnuny.like_recordings()
    numbers = [fake.new_service_desk_ticket(f"t{i}").ticket_number for i in range(4)]
    assert numbers == ["2026112810000011", "2026112810000021", "2026112810000039", "2026112810000048"]
    assert [fake.ticket(n).ticket_id for n in numbers] == [2, 3, 4, 5]
