"""The fault-injecting proxy (faultproxy.py) in front of the fake's loopback door: the
faults the issue asks to prove against a live Znuny 6.5 — the response dropped after the
server answered, 503 with Retry-After, a connection reset — leave exactly one note, two
attachments and one owner note. test_live_faults.py runs the whole matrix live."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests
from fault_matrix import Inputs, end_state_problems, make_inputs, new_client
from faultproxy import NOTE_UPDATE, SCENARIOS, TICKET_GET, Action, FaultProxy, matches

from otrs_closure import OtrsClosureError
from otrs_closure.testing import FakeZnuny


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    return make_inputs(Path(tmp_path_factory.mktemp("formats")))


def test_proxy_is_transparent(inputs: Inputs):
    fake = FakeZnuny.service_desk(session_check_remote_ip=True)
    tid, number = fake.new_service_desk_ticket()
    with fake.serve() as upstream, FaultProxy(upstream) as proxy:
        assert proxy.url.endswith("/otrs/nph-genericinterface.pl/Webservice/GenericTicketConnectorREST")
        client = new_client(proxy.url)
        receipt = client.close(ticket_number=number, attention=inputs.attention, formats=inputs.formats)
        client.shutdown()
    assert [e.status for e in proxy.log] == [200] * 7 and proxy.faults() == []
    assert [r.operation for r in fake.requests] == [
        "SessionCreate",
        "TicketSearch",
        "TicketGet",
        "TicketUpdate",
        "TicketUpdate",
        "TicketUpdate",
        "TicketGet",
    ]
    assert end_state_problems(fake.ticket(tid), inputs, receipt=receipt) == []


def test_proxy_faults_look_like_the_network_to_requests():
    fake = FakeZnuny.service_desk()
    with fake.serve() as upstream, FaultProxy(upstream) as proxy:
        everything = lambda *_: True  # noqa: E731
        proxy.add(Action.UNAVAILABLE, everything, retry_after=7)
        r = requests.get(proxy.url + "/Ticket/1", timeout=5)
        assert r.status_code == 503 and r.headers["Retry-After"] == "7"
        proxy.add(Action.DROP_RESPONSE, everything, nth=1)
        with pytest.raises(requests.ConnectionError):
            requests.post(proxy.url + "/Session", json={"UserLogin": "tecnico1", "Password": "tecnico-pass"}, timeout=5)
        proxy.add(Action.RESET, everything, nth=1)
        with pytest.raises(requests.ConnectionError):
            requests.get(proxy.url + "/Ticket/1", timeout=5)
    assert [e.action for e in proxy.log] == [Action.UNAVAILABLE, Action.DROP_RESPONSE, Action.RESET]
    assert proxy.log[1].upstream_status == 200  # the session was created, its answer dropped
    assert fake.calls("SessionCreate") == 1 and fake.calls("TicketGet") == 0


@pytest.mark.parametrize(("name", "action", "match", "options"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_scenario_in_front_of_the_fake(name, action, match, options, inputs: Inputs):
    fake = FakeZnuny.service_desk(session_check_remote_ip=True)
    tid, number = fake.new_service_desk_ticket()
    with fake.serve() as upstream, FaultProxy(upstream) as proxy:
        rule = proxy.add(action, match, **options)
        client = new_client(proxy.url, read_timeout=5)
        kwargs = {"ticket_number": number, "attention": inputs.attention, "formats": inputs.formats}
        try:
            receipt = client.close(**kwargs)
        except OtrsClosureError:
            receipt = client.close(**kwargs)
        client.shutdown()
    assert rule.fired == 1, f"{name}: the fault did not fire"
    assert end_state_problems(fake.ticket(tid), inputs, receipt=receipt) == []
    applied = action is Action.DROP_RESPONSE or options.get("forward")
    if match is NOTE_UPDATE:
        # applied once and never resent, or not applied and resent exactly once
        notes = [e for e in proxy.log if NOTE_UPDATE(e.method, e.path, e.body)]
        assert len(notes) == (1 if applied else 2)


def test_the_live_matrix_actions_look_like_the_network_to_requests():
    """The actions tests/test_live_faults.py uses: a real refusal, a read timeout after the
    server answered, Znuny's 500 fault before and after applying, a maintenance page, and
    a killed session (by substitution, and by a killer callback)."""
    fake = FakeZnuny.service_desk()
    login = {"UserLogin": "tecnico1", "Password": "tecnico-pass"}
    with fake.serve() as upstream, FaultProxy(upstream) as proxy:
        http = requests.Session()
        proxy.add(Action.REFUSE, after=matches("POST", r"/Session$"), seconds=0.5)
        sid = http.post(proxy.url + "/Session", json=login, timeout=5).json()["SessionID"]
        with pytest.raises(requests.ConnectionError, match="Connection refused"):
            http.get(proxy.url + "/Ticket/2", params={"SessionID": sid}, timeout=5)
        assert any(r.refused_from for r in proxy.rules)
        proxy.clear()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # listening again after the pause
            try:
                http.get(proxy.url + "/Ticket/2", params={"SessionID": sid}, timeout=5)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        else:
            pytest.fail("the proxy did not listen again")

        proxy.add(Action.TIMEOUT, TICKET_GET, hold=1.0)
        with pytest.raises(requests.ReadTimeout):
            http.get(proxy.url + "/Ticket/2", params={"SessionID": sid}, timeout=0.3)
        proxy.add(Action.SERVER_FAULT, TICKET_GET)
        r = http.get(proxy.url + "/Ticket/2", params={"SessionID": sid}, timeout=5)
        assert r.status_code == 500 and "faultstring" in r.json()
        proxy.add(Action.MAINTENANCE, TICKET_GET)
        r = http.get(proxy.url + "/Ticket/2", params={"SessionID": sid}, timeout=5)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
        proxy.add(Action.KILL_SESSION, TICKET_GET)
        r = http.get(proxy.url + "/Ticket/2", params={"SessionID": sid}, timeout=5)
        assert r.json()["Error"]["ErrorCode"] == "TicketGet.AuthFail"
        killed: list[str] = []
        rule = proxy.add(Action.KILL_SESSION, matches("POST", r"/Session$"), killer=killed.append)
        new = http.post(proxy.url + "/Session", json=login, timeout=5).json()["SessionID"]
        assert killed == [new] and rule.killed == [new]
    gets = [e for e in proxy.log if e.method == "GET"]
    assert [e.action for e in gets][-4:] == [Action.TIMEOUT, Action.SERVER_FAULT, Action.MAINTENANCE,
                                             Action.KILL_SESSION]
    assert gets[-4].upstream_status == 200  # the timeout hit after the server answered
    assert fake.calls("SessionCreate") == 2
