"""PartialClosure carries what was done and what remains, and the same close() completes
it; a GenericInterface session that dies mid-closure (sessions are not sliding and are
bound to the client's IP) is absorbed by one re-login, in one closure and in long runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from fault_matrix import Inputs, end_state_problems, make_inputs, new_client
from helpers import after_step1_session
from requests.adapters import HTTPAdapter

from otrs_closure import AuthenticationError, PartialClosure, RequestTooLarge, ServerError, StepStatus
from otrs_closure.testing import FakeZnuny, Fault

DONE, ALREADY, PENDING, UNKNOWN = StepStatus.DONE, StepStatus.ALREADY_DONE, StepStatus.PENDING, StepStatus.UNKNOWN
IDLE = 7200  # the fake's SessionMaxIdleTime (Znuny's default)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    return make_inputs(Path(tmp_path_factory.mktemp("formats")))


def close_args(number: str, inputs: Inputs) -> dict:
    return {"ticket_number": number, "attention": inputs.attention, "formats": inputs.formats}


# -- PartialClosure ---------------------------------------------------------------------------------


def test_partial_closure_receipt_then_same_close_completes(inputs: Inputs):
    fake = FakeZnuny.service_desk()
    tid, number = fake.new_service_desk_ticket()
    fake.inject(Fault.UNAVAILABLE, operation="TicketUpdate", call=3, times=4, retry_after=1)  # step 2, every attempt
    with fake.mock() as url:
        client = new_client(url)
        with pytest.raises(PartialClosure) as caught:
            client.close(**close_args(number, inputs))
        exc = caught.value
        r = exc.receipt
        assert (r.steps.note, r.steps.attachments, r.steps.state) == (DONE, DONE, DONE)
        assert (r.steps.owner, r.steps.owner_note) == (PENDING, PENDING)
        assert r.remaining == ["owner", "owner_note"] and not r.complete
        view = fake.ticket(tid)
        (note,) = view.articles_with_subject("Atendido")
        assert r.note_article_id == note.article_id and r.owner_article_id is None
        assert r.ticket_id == tid and r.ticket_number == number
        assert r.state == "Atendido" and r.owner == "tecnico1"
        assert {a.filename for a in r.attachments} == {"alta firmada.pdf", "formato de alta.docx"}
        assert r.writes_sent == 1 + 4
        assert isinstance(exc.cause, ServerError) and exc.cause.http_status == 503
        assert exc.http_status == 503 and exc.ticket == number
        assert "remaining owner, owner_note" in str(exc) and "close() again" in str(exc)
        as_json = json.dumps(exc.to_dict())
        assert "Temporal#2026" not in as_json and "tecnico-pass" not in as_json
        assert view.owner == "tecnico1" and not view.articles_with_subject("Se modifica propietario")

        again = client.close(**close_args(number, inputs))
    s = again.steps
    assert (s.note, s.attachments, s.state, s.owner, s.owner_note) == (ALREADY, ALREADY, ALREADY, DONE, DONE)
    assert again.writes_sent == 1 and again.note_article_id == r.note_article_id
    assert end_state_problems(fake.ticket(tid), inputs, receipt=again) == []


def test_partial_closure_with_unknown_outcome_settles_on_the_next_close(inputs: Inputs):
    """The answer of step 1 is lost and the ticket cannot be re-read: the receipt says
    "unknown" (not "pending": it may have been applied); the next close() reads the
    ticket, finds the note and does not write it again."""
    fake = FakeZnuny.service_desk()
    tid, number = fake.new_service_desk_ticket()
    fake.inject(Fault.RESPONSE_LOST, operation="TicketUpdate", call=2)
    fake.inject(Fault.UNAVAILABLE, operation="TicketGet", call=2, times=1000)
    with fake.mock() as url:
        client = new_client(url)
        with pytest.raises(PartialClosure) as caught:
            client.close(**close_args(number, inputs))
        r = caught.value.receipt
        assert (r.steps.note, r.steps.attachments, r.steps.state) == (UNKNOWN, UNKNOWN, UNKNOWN)
        assert (r.steps.owner, r.steps.owner_note) == (PENDING, PENDING)
        assert r.remaining == ["note", "attachments", "state", "owner", "owner_note"]
        assert r.writes_sent == 1, "step 1 is never resent while the ticket cannot be re-read"
        assert len(fake.ticket(tid).articles_with_subject("Atendido")) == 1  # it was applied
        fake.clear_faults()
        again = client.close(**close_args(number, inputs))
    assert (again.steps.note, again.steps.owner) == (ALREADY, DONE)
    assert end_state_problems(fake.ticket(tid), inputs, receipt=again) == []


def test_rejected_first_write_raises_the_servers_error_and_the_rerun_completes(inputs: Inputs):
    """A write refused before Znuny writes anything (413 here) changed nothing: close()
    raises the server's error itself, not a PartialClosure, and never retries it."""
    fake = FakeZnuny.service_desk()
    tid, number = fake.new_service_desk_ticket()
    fake.inject(Fault.TOO_LARGE, operation="TicketUpdate", call=2)
    with fake.mock() as url:
        client = new_client(url)
        with pytest.raises(RequestTooLarge):
            client.close(**close_args(number, inputs))
        assert fake.calls("TicketUpdate") == 2, "413 is never retried"
        assert len(fake.ticket(tid).articles) == 1
        again = client.close(**close_args(number, inputs))
    assert again.steps.note is DONE
    assert end_state_problems(fake.ticket(tid), inputs, receipt=again) == []


# -- session death -------------------------------------------------------------------------------


def test_session_expired_on_a_write_is_absorbed_by_one_relogin(inputs: Inputs):
    fake = FakeZnuny.service_desk()
    tid, number = fake.new_service_desk_ticket()
    fake.inject(Fault.SESSION_EXPIRED, operation="TicketUpdate", call=2)
    with fake.mock() as url:
        receipt = new_client(url).close(**close_args(number, inputs))
    ops = [(r.operation, r.status) for r in fake.requests]
    assert ops == [
        ("SessionCreate", 200),
        ("TicketSearch", 200),
        ("TicketGet", 200),
        ("TicketUpdate", 200),
        ("TicketUpdate", 200),  # TicketUpdate.AuthFail: nothing written
        ("SessionCreate", 200),
        ("TicketUpdate", 200),
        ("TicketUpdate", 200),
        ("TicketGet", 200),
    ]
    assert receipt.writes_sent == 2
    assert end_state_problems(fake.ticket(tid), inputs, receipt=receipt) == []


def test_session_dies_by_the_clock_between_the_two_steps(inputs: Inputs):
    """Sessions are not sliding: SessionMaxIdleTime counts from creation, however busy."""
    fake = FakeZnuny.service_desk()
    tid, number = fake.new_service_desk_ticket()
    with fake.mock() as url:
        client = new_client(url, session_factory=after_step1_session(lambda: fake.advance(IDLE + 1)))
        receipt = client.close(**close_args(number, inputs))
    assert fake.calls("SessionCreate") == 2
    assert end_state_problems(fake.ticket(tid), inputs, receipt=receipt) == []


def test_session_dead_twice_raises_authentication_error_and_the_rerun_completes(inputs: Inputs):
    fake = FakeZnuny.service_desk()
    tid, number = fake.new_service_desk_ticket()
    fake.inject(Fault.SESSION_EXPIRED, operation="TicketUpdate", call=3, times=2)  # step 2 and its repeat
    with fake.mock() as url:
        client = new_client(url)
        with pytest.raises(PartialClosure) as caught:
            client.close(**close_args(number, inputs))
        assert isinstance(caught.value.cause, AuthenticationError)
        assert caught.value.receipt.remaining == ["owner", "owner_note"]
        # one re-login per dead session, never a loop: the step-2 request and its one repeat
        # (both sessions killed), then the read that settles the receipt
        assert fake.calls("SessionCreate") == 3
        assert fake.calls("TicketUpdate") == 4
        receipt = client.close(**close_args(number, inputs))
    assert end_state_problems(fake.ticket(tid), inputs, receipt=receipt) == []


class _SourceAddressAdapter(HTTPAdapter):
    """Connects from a chosen loopback address (to play a client whose IP changes)."""

    def __init__(self, box: dict[str, str]) -> None:
        self.box = box
        super().__init__()

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):  # type: ignore[override]
        self.poolmanager.connection_pool_kw["source_address"] = (self.box["ip"], 0)
        return super().get_connection_with_tls_context(request, verify, proxies=proxies, cert=cert)


def test_session_bound_to_the_client_ip_survives_an_ip_change(inputs: Inputs):
    fake = FakeZnuny.service_desk(session_check_remote_ip=True)
    tid, number = fake.new_service_desk_ticket()
    box = {"ip": "127.0.0.1"}
    sessions: list[requests.Session] = []

    def factory() -> requests.Session:
        s = requests.Session()
        s.mount("http://", _SourceAddressAdapter(box))
        sessions.append(s)
        return s

    def move() -> None:  # the client's address changes between the two steps
        box["ip"] = "127.0.0.2"
        for s in sessions:
            s.get_adapter("http://x").poolmanager.clear()

    with fake.serve() as url:
        client = new_client(url, session_factory=after_step1_session(move, base=factory))
        receipt = client.close(**close_args(number, inputs))
        client.shutdown()
    remotes = [r for r in fake.requests if r.operation == "SessionCreate"]
    assert len(remotes) == 2
    assert end_state_problems(fake.ticket(tid), inputs, receipt=receipt) == []


def test_long_run_with_sessions_expiring_between_closures(inputs: Inputs):
    fake = FakeZnuny.service_desk()
    tickets = [fake.new_service_desk_ticket(title=f"Alta {i}") for i in range(12)]
    with fake.mock() as url:
        client = new_client(url)
        for i, (_, number) in enumerate(tickets):
            if i:
                fake.advance(IDLE + 1)  # the session of the previous closure is dead now
            client.close(**close_args(number, inputs))
        # and a re-run of the whole batch writes nothing
        fake.advance(IDLE + 1)
        writes = fake.calls("TicketUpdate")
        for _, number in tickets:
            assert client.close(**close_args(number, inputs)).writes_sent == 0
        assert fake.calls("TicketUpdate") == writes
    assert fake.calls("SessionCreate") == len(tickets) + 1
    for tid, _ in tickets:
        assert end_state_problems(fake.ticket(tid), inputs) == []
