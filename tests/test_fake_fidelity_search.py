"""Fidelity of TicketSearch beyond the recordings (30-33).

Znuny's GI TicketSearch (Kernel/GenericInterface/Operation/Ticket/TicketSearch.pm) hands its
parameters to the core search (Kernel/System/Ticket/TicketSearch.pm), which builds SQL:
text criteria go through Kernel::System::DB::QueryCondition, names are looked up (an unknown
one makes the whole search return nothing), and many mistakes end in an empty result, which
the operation answers with ``{}`` (spec §6).
"""

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
    for title in ("Impresora no imprime (lab 1)", "Sin acceso a VPN (lab 2)", "Correo lento (lab 3)"):
        znuny.new_service_desk_ticket(title)
        znuny.advance(60)
    with znuny.mock():
        yield znuny


def search(fake: FakeZnuny, criteria: dict[str, Any], user: str = "tecnico1") -> dict[str, Any]:
    result: dict[str, Any] = requests.post(
        f"{fake.base_url}/Ticket/Search", json={"SessionID": login(fake, user), **criteria}, timeout=10
    ).json()
    return result


def ids(fake: FakeZnuny, criteria: dict[str, Any], user: str = "tecnico1") -> list[str]:
    found: list[str] = search(fake, criteria, user).get("TicketID", [])
    return found


# ------------------------------------------------------------------ QueryCondition
def test_title_with_parentheses_is_not_matched_literally(fake: FakeZnuny) -> None:
    # DB.pm QueryCondition treats ( ) as grouping: "A (B)" becomes title = 'A' AND title = 'B'.
    assert search(fake, {"Title": "Impresora no imprime (lab 1)"}) == {}
    assert ids(fake, {"Title": "Impresora no imprime*"}) == ["2"]


def test_title_operators_and_case(fake: FakeZnuny) -> None:
    # QueryCondition: case-insensitive (LOWER on PostgreSQL), * wildcard, || OR, && / + AND, ! NOT.
    assert ids(fake, {"Title": "impresora*"}) == ["2"]
    assert ids(fake, {"Title": "*VPN*||*correo*", "SortBy": "Age", "OrderBy": "Up"}) == ["3", "4"]
    assert ids(fake, {"Title": "*VPN*+*lab*"}) == ["3"]
    assert ids(fake, {"Title": "!*VPN*", "SortBy": "Age", "OrderBy": "Up"}) == ["2", "4"]
    # "a&&b||c" is left to SQL precedence ((a AND b) OR c); only "&&||" directly together is 1=0
    assert ids(fake, {"Title": "*VPN*&&*correo*||*lab*", "SortBy": "Age", "OrderBy": "Up"}) == ["2", "3", "4"]
    assert search(fake, {"Title": "*VPN*&&||*lab*"}) == {}


def test_title_alone_without_wildcard_is_an_exact_match(fake: FakeZnuny) -> None:
    assert search(fake, {"Title": "VPN"}) == {}
    assert ids(fake, {"Title": ["VPN", "*lento*"]}) == ["4"]  # values of one key are ORed


# ----------------------------------------------------------------- lookups and ids
def test_unknown_names_make_the_search_return_nothing(fake: FakeZnuny) -> None:
    # Core TicketSearch: `return if !$QueueID` (likewise States, Types, Locks, Priorities).
    assert search(fake, {"Queues": ["Mesa de Servicio", "No existe"]}) == {}
    assert search(fake, {"States": ["new", "Estado Inexistente"]}) == {}
    assert search(fake, {"Priorities": ["9 extreme"]}) == {}


def test_ids_must_be_integers(fake: FakeZnuny) -> None:
    # Core TicketSearch quotes every id with Quote(..., 'Integer'); one bad element: no search.
    assert search(fake, {"OwnerIDs": [3, "tecnico1"]}) == {}
    assert ids(fake, {"OwnerIDs": ["3"], "QueueIDs": [5], "SortBy": "Age", "OrderBy": "Up"}) == ["2", "3", "4"]


def test_ticket_id_restricts_the_search(fake: FakeZnuny) -> None:
    # GI _GetParams passes TicketID (string or list) and the core limits to those ids.
    assert ids(fake, {"TicketID": ["2", "4"], "SortBy": "Age", "OrderBy": "Up"}) == ["2", "4"]
    assert ids(fake, {"TicketID": "3"}) == ["3"]
    assert search(fake, {"TicketID": ["2", "x"]}) == {}


def test_state_type_is_a_list_of_real_state_types(fake: FakeZnuny) -> None:
    # GI _GetParams turns StateType into a list, so the core's scalar 'Open'/'Closed' shortcuts
    # never match; StateGetStatesByType then finds no state type named 'Open' (PostgreSQL).
    assert search(fake, {"StateType": "Open"}) == {}
    assert ids(fake, {"StateType": ["new"], "SortBy": "Age", "OrderBy": "Up"}) == ["2", "3", "4"]
    assert ids(fake, {"StateTypeIDs": [1], "Limit": 1}) == ["4"]


def test_sort_and_order_validation(fake: FakeZnuny) -> None:
    # Core TicketSearch: 'Need valid SortBy'/'Need valid OrderBy' -> return (no result).
    assert search(fake, {"SortBy": "Nombre"}) == {}
    assert search(fake, {"OrderBy": "down"}) == {}
    assert search(fake, {"SortBy": ["Age", "Title"], "OrderBy": "Up"}) == {}
    assert ids(fake, {"SortBy": ["Priority", "Age"], "OrderBy": ["Down", "Up"]}) == ["2", "3", "4"]


def test_sort_by_state_uses_the_state_id(fake: FakeZnuny) -> None:
    # %SortOptions: State => st.ticket_state_id (not the name); 'Atendido' is StateID 10.
    sid = login(fake)
    requests.patch(f"{fake.base_url}/Ticket/3", json={"SessionID": sid, "Ticket": {"State": "open"}}, timeout=10)
    requests.patch(f"{fake.base_url}/Ticket/4", json={"SessionID": sid, "Ticket": {"State": "Atendido"}}, timeout=10)
    assert ids(fake, {"SortBy": "State", "OrderBy": "Up"}) == ["2", "3", "4"]


# ---------------------------------------------------------------------- permissions
def test_root_sees_every_ticket_and_agents_only_their_groups(fake: FakeZnuny) -> None:
    # Core TicketSearch: `if ( $Param{UserID} && $Param{UserID} != 1 )` -- no group filter for
    # UserID 1; for others only the queue group counts (being the owner does not).
    assert sorted(ids(fake, {}, user="root@localhost")) == ["1", "2", "3", "4"]
    fake.set_permissions("tecnico1", "mesa-de-servicio", [])
    assert search(fake, {}) == {}  # tecnico1 still owns 2..4, but has no group permission


def test_customer_search_is_restricted_to_the_customer(fake: FakeZnuny) -> None:
    fake.create_ticket("de otro", queue="Mesa de Servicio", customer_user="otro@example.com")
    answer = requests.post(
        f"{fake.base_url}/Ticket/Search",
        json={
            "CustomerUserLogin": "cliente.demo",
            "Password": PASSWORDS["cliente.demo"],
            "SortBy": "Age",
            "OrderBy": "Up",
        },
        timeout=10,
    ).json()
    assert answer == {"TicketID": ["2", "3", "4"]}


# ----------------------------------------------------------------- dynamic fields
def test_dynamic_field_search_operators(fake: FakeZnuny) -> None:
    sid = login(fake)
    for ticket_id, value in ((2, "SN-100"), (3, "SN-200")):
        requests.patch(
            f"{fake.base_url}/Ticket/{ticket_id}",
            json={"SessionID": sid, "DynamicField": {"Name": "NumeroSerie", "Value": value}},
            timeout=10,
        )
    assert ids(fake, {"DynamicField_NumeroSerie": {"Equals": "SN-100"}}) == ["2"]
    assert ids(fake, {"DynamicField_NumeroSerie": {"Equals": ["SN-100", "SN-200"]}, "OrderBy": "Up"}) == ["2", "3"]
    assert ids(fake, {"DynamicField_NumeroSerie": {"Like": "sn-2*"}}) == ["3"]
    assert ids(fake, {"DynamicField_NumeroSerie": {"GreaterThan": "SN-150"}}) == ["3"]
    assert ids(fake, {"DynamicField_NumeroSerie": {"Empty": 1}}) == ["4"]
    assert ids(fake, {"DynamicField_NumeroSerie": {"Empty": 0}, "OrderBy": "Up"}) == ["2", "3"]
    # the newer style: DynamicField {Name, <operator>}
    assert ids(fake, {"DynamicField": {"Name": "NumeroSerie", "Equals": "SN-200"}}) == ["3"]
    # GI _GetDynamicFields ignores names that are not a valid ticket field
    assert len(ids(fake, {"DynamicField_NoExiste": {"Equals": "x"}})) == 3
    # an empty term adds no condition
    assert len(ids(fake, {"DynamicField_NumeroSerie": {"Equals": ""}})) == 3


def test_create_time_filters(fake: FakeZnuny) -> None:
    # Ticket{Create,LastChange}Time{Older,Newer}{Minutes,Date}; a NewerDate in the future returns nothing.
    # created 180, 120 and 60 seconds ago
    assert ids(fake, {"TicketCreateTimeNewerMinutes": 1}) == ["4"]
    assert ids(fake, {"TicketCreateTimeOlderMinutes": 3}) == ["2"]
    assert search(fake, {"TicketCreateTimeNewerDate": "2099-01-01 00:00:00"}) == {}
    assert search(fake, {"TicketCreateTimeOlderDate": "ayer"}) == {}
