"""The pytest plugin fixtures, the seeds, run_fake_server, and pyotrs through the mock door."""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import pyotrs
import requests

import otrs_closure.testing as testing
from otrs_closure.testing import PASSWORDS, FakeZnuny


def test_fake_znuny_fixture_is_mocked(fake_znuny: FakeZnuny) -> None:
    assert fake_znuny.base_url == (
        "http://znuny.fake.test/otrs/nph-genericinterface.pl/Webservice/GenericTicketConnectorREST"
    )
    answer = requests.post(
        f"{fake_znuny.base_url}/Session",
        json={"UserLogin": "agente.mesa", "Password": PASSWORDS["agente.mesa"]},
        timeout=10,
    )
    assert len(answer.json()["SessionID"]) == 32


def test_fake_znuny_server_fixture_is_loopback(fake_znuny_server: FakeZnuny) -> None:
    assert fake_znuny_server.base_url is not None
    assert urlsplit(fake_znuny_server.base_url).hostname == "127.0.0.1"
    answer = requests.post(
        f"{fake_znuny_server.base_url}/Session",
        json={"UserLogin": "tecnico1", "Password": PASSWORDS["tecnico1"]},
        timeout=10,
    )
    assert answer.status_code == 200


def test_service_desk_seed() -> None:
    fake = FakeZnuny.service_desk()
    assert fake.clock.timezone == "America/Mexico_City"
    assert [t.ticket_id for t in fake.tickets()] == [1]
    welcome = fake.ticket(1)
    assert (welcome.queue, welcome.owner, welcome.ticket_number) == ("Raw", "root@localhost", "2015071510123456")
    store = fake.store
    assert {a.login: a.user_id for a in store.agents.values()} == {
        "root@localhost": 1,
        "agente.mesa": 2,
        "tecnico1": 3,
        "lector": 4,
    }
    assert store.agents[3].full_name == "Juan Pérez"
    assert store.agents[4].permissions == {5: {"ro"}}
    assert store.agents[1].permissions.get(5) is None
    assert store.queue_by(name="Mesa de Servicio") is not None and store.queues[5].group_id == 5
    assert (store.states[10].name, store.states[10].type_name) == ("Atendido", "open")
    assert [s.name for _, s in sorted(store.states.items())][:9] == [
        "new",
        "closed successful",
        "closed unsuccessful",
        "open",
        "removed",
        "pending reminder",
        "pending auto close+",
        "pending auto close-",
        "merged",
    ]
    assert store.priorities[3].name == "3 normal" and store.types[1].name == "Unclassified"
    assert "NumeroSerie" in store.dynamic_fields
    assert store.customers["cliente.demo"].customer_id == "CLIENTE-DEMO"
    assert fake.credentials == {
        "root@localhost": "root-pass",
        "agente.mesa": "agente-pass",
        "tecnico1": "tecnico-pass",
        "lector": "lector-pass",
        "cliente.demo": "cliente-pass",
    }
    ticket_id, number = fake.new_service_desk_ticket("Prueba")
    fake.assert_ticket(ticket_id, owner="tecnico1", lock="lock", queue="Mesa de Servicio", state="new", article_count=1)
    first = fake.ticket(number).articles[0]
    assert (first.from_, first.to, first.sender_type, first.is_visible_for_customer) == (
        '"Cliente Demo" <cliente.demo@example.com>',
        "Mesa de Servicio",
        "agent",
        False,
    )


def test_like_recordings_seed() -> None:
    fake = FakeZnuny.like_recordings()
    assert fake.clock.timezone == "UTC"
    assert fake.now().startswith("2026-11-28 12:57")
    assert "TicketSearchGET" in fake.interface.routes
    assert "TicketSearchGET" not in FakeZnuny.service_desk().interface.routes


def test_pyotrs_goes_through_the_mock_door(fake_znuny: FakeZnuny) -> None:
    ticket_id, number = fake_znuny.new_service_desk_ticket("pyotrs")
    client = pyotrs.Client("http://znuny.fake.test", "tecnico1", PASSWORDS["tecnico1"])
    assert client.session_create()
    ticket = client.ticket_get_by_id(ticket_id, articles=True)
    assert ticket.field_get("TicketNumber") == number
    client.ticket_update(ticket_id, State="Atendido")
    fake_znuny.assert_ticket(ticket_id, state="Atendido")
    # pyotrs 1.4+ first tries AccessTokenCreate (POST /Session), then the legacy SessionCreate
    assert [r.operation for r in fake_znuny.requests][-3:] == ["SessionCreate", "TicketGet", "TicketUpdate"]


def test_public_api_exports() -> None:
    for name in testing.__all__:
        assert hasattr(testing, name), name


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_run_fake_server_prints_url_and_credentials() -> None:
    port = _free_port()
    stop = threading.Event()
    out, err = io.StringIO(), io.StringIO()
    result: list[int] = []
    server = threading.Thread(
        target=lambda: result.append(testing.run_fake_server(port, seed="recordings", stop=stop, out=out, err=err))
    )
    server.start()
    try:
        url = f"http://127.0.0.1:{port}/otrs/nph-genericinterface.pl/Webservice/GenericTicketConnectorREST"
        answer = _wait_for(
            lambda: requests.post(
                url + "/Session", json={"UserLogin": "tecnico1", "Password": "tecnico-pass"}, timeout=10
            )
        )
        assert "SessionID" in answer.json()
    finally:
        stop.set()
        server.join(timeout=10)
    printed = out.getvalue()
    assert f"http://127.0.0.1:{port}/otrs/nph-genericinterface.pl/Webservice/GenericTicketConnectorREST" in printed
    assert "tecnico1 / tecnico-pass" in printed and "cliente.demo / cliente-pass" in printed
    assert result == [0] and err.getvalue() == ""


def test_run_fake_server_refuses_a_bad_seed_or_profile_in_one_line() -> None:
    for kwargs in ({"seed": "nope"}, {"profile": "otrs4"}, {"tickets": -1}):
        err = io.StringIO()
        assert testing.run_fake_server(_free_port(), out=io.StringIO(), err=err, **kwargs) == 2
        assert err.getvalue().count("\n") == 1 and err.getvalue().startswith("otrs-closure fake-server: ")


def _wait_for(call: Callable[[], requests.Response], timeout: float = 10.0) -> requests.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
