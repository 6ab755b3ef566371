"""``ClosureClient.audit`` against the fake Znuny: the hand closures get exactly their
codes, closures made by the library are compliant, several TicketIDs go in one TicketGet,
the selection is the search's, unreadable tickets are set apart, reads are retried as
reads — and nothing is ever written."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from helpers import make_formats

from otrs_closure import ClosureClient, FormatFiles, Incident, InputError, ServiceRequest, UserOnboarding
from otrs_closure.audit import AuditReport
from otrs_closure.testing import HAND_CLOSURES, FakeZnuny, Fault, new_hand_closed_ticket
from otrs_closure.testing.handclosed import HandClosure, HandNote, HandOwnerChange, hand_closed_tickets

WRITES = ("TicketUpdate", "TicketCreate")


@pytest.fixture
def fake() -> Iterator[FakeZnuny]:
    fake = FakeZnuny.service_desk()
    with fake.mock():
        yield fake


def auditor(fake: FakeZnuny, **options: Any) -> ClosureClient:
    """A read-only supervisor's client (``lector``), no retry waits."""
    return fake.client(username="lector", sleep=lambda s: None, **options)


def problems(report: AuditReport, ticket_id: int) -> set[str]:
    return {p.value for p in report.ticket(ticket_id).problems}


def ticket_gets(fake: FakeZnuny) -> list[Any]:
    return [r for r in fake.requests if r.operation == "TicketGet"]


def ids_of(record: Any) -> list[int]:
    tail = record.path.rstrip("/").rsplit("/", 1)[-1]
    return [int(x) for x in tail.split(",")]


FRONT_URL = "https://audit.test/otrs/nph-genericinterface.pl/Webservice/GenericTicketConnectorREST"
Callback = Any


@contextmanager
def in_front(fake: FakeZnuny, callback: Callback) -> Iterator[str]:
    """Every request answered by ``callback`` (which may ask ``fake.answer``); yields the URL."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        for method in ("GET", "POST", "PATCH"):
            rsps.add_callback(method, re.compile(r"https://audit\.test/.*"), callback=callback)
        yield FRONT_URL


def front_client(url: str, **options: Any) -> ClosureClient:
    return ClosureClient(
        base_url=url, username="lector", password="lector-pass", owner_login="agente.mesa", sleep=lambda s: None,
        **options,
    )  # fmt: skip


def state_of(fake: FakeZnuny) -> dict[int, tuple[str, int, str, str]]:
    """Per ticket what an audit must leave as it was: change time, articles, state, owner."""
    return {t.ticket_id: (t.changed, len(t.articles), t.state, t.owner) for t in fake.tickets()}


# -- the verdicts ------------------------------------------------------------------------------------
def test_every_hand_closure_gets_exactly_its_codes(fake: FakeZnuny) -> None:
    made = hand_closed_tickets(fake)
    report = auditor(fake).audit(ticket_ids=[t.ticket_id for t in made.values()])
    assert len(report.tickets) == len(HAND_CLOSURES) and not report.unreadable
    for name, created in made.items():
        verdict = report.ticket(created.ticket_id)
        assert problems(report, created.ticket_id) == HAND_CLOSURES[name].expected, name
        assert verdict.kind == HAND_CLOSURES[name].kind, name
        assert verdict.ticket_number == created.ticket_number
        if HAND_CLOSURES[name].kind is not None:
            assert verdict.agent == "Juan Pérez" and verdict.attended_at is not None
    expected_counts = {p: sum(p in c.expected for c in HAND_CLOSURES.values()) for p in report.summary.problems}
    assert dict(report.summary.problems) == expected_counts
    assert report.summary.compliant == sum(not c.expected for c in HAND_CLOSURES.values())
    assert not report.compliant


def test_closures_made_by_the_library_are_compliant(fake: FakeZnuny, tmp_path: Path) -> None:
    closer = fake.client(sleep=lambda s: None)
    closed = []
    for attention, formats in (
        (ServiceRequest(description="Se reconfiguró la impresora."), None),
        (Incident(problem="Página Web no resuelve por dominio", solution="Se reinició el DNS"), None),
        (
            UserOnboarding(description="Alta", access_url="https://nomina.example.gob.mx", login="mgarcia",
                           password="Temporal#2026"),  # fmt: skip
            make_formats(tmp_path, scan="JPEG", editable="XLSX"),
        ),
    ):
        t = fake.new_service_desk_ticket()
        closer.close(ticket_id=t.ticket_id, attention=attention, formats=formats)
        closed.append(t.ticket_id)
    report = auditor(fake).audit(ticket_ids=closed)
    assert [t.problems for t in report.tickets] == [(), (), ()]
    assert [t.kind for t in report.tickets] == ["service_request", "incident", "user_onboarding"]
    assert report.compliant


def test_a_users_own_hand_closure(fake: FakeZnuny) -> None:
    mine = HandClosure(
        "mine",
        "a service request whose owner note came first and whose note is public",
        (HandOwnerChange(), HandNote("Descripción de la Atención: listo", visible=True)),
        frozenset({"order", "note_public"}),
    )
    t = new_hand_closed_ticket(fake, mine, agent="agente.mesa", title="Mía")
    report = auditor(fake).audit(ticket_ids=[t.ticket_id])
    assert problems(report, t.ticket_id) == mine.expected
    assert report.ticket(t.ticket_id).agent == "Agente Mesa de Servicio"
    assert report.ticket(t.ticket_id).title == "Mía"


# -- the audit never writes -------------------------------------------------------------------------
def test_the_audit_never_writes(fake: FakeZnuny) -> None:
    made = hand_closed_tickets(fake)
    fake.new_service_desk_ticket()
    fake.clear_records()
    before = state_of(fake)
    client = auditor(fake)
    client.audit(ticket_ids=[t.ticket_id for t in made.values()])
    client.audit(queue="Mesa de Servicio", state=["Atendido", "new"])
    client.audit(ticket_numbers=[t.ticket_number for t in made.values()])
    fake.advance(5)
    assert state_of(fake) == before
    assert {r.operation for r in fake.requests} <= {"SessionCreate", "TicketSearch", "TicketGet"}
    assert not [r for r in fake.requests if r.operation in WRITES or r.method in ("PATCH", "PUT", "DELETE")]
    assert client.requests_sent.get("TicketUpdate", 0) == 0


# -- reading: batches, bounds, failures -------------------------------------------------------------
def test_several_ticket_ids_per_ticket_get(fake: FakeZnuny) -> None:
    tickets = [new_hand_closed_ticket(fake, "service_request").ticket_id for _ in range(45)]
    fake.clear_records()
    report = auditor(fake).audit(ticket_ids=tickets, per_request=10, workers=3)
    gets = ticket_gets(fake)
    assert len(gets) == 5  # 45 tickets, 10 per request
    assert sorted(i for g in gets for i in ids_of(g)) == sorted(tickets)
    # The first batch alone, without attachments: its articles teach how the server lists them.
    assert gets[0].query.get("Attachments") in ("0", "")  # Perl's `$Value || ''`: "0" arrives as ""
    assert all(g.query.get("Attachments") == "1" and "GetAttachmentContents" in g.query for g in gets[1:])
    assert [t.ticket_id for t in report.tickets] == sorted(tickets)
    assert report.requests_sent == {"SessionCreate": 1, "TicketGet": 5}


def test_workers_bound_the_requests_in_flight() -> None:
    fake = FakeZnuny.service_desk()
    tickets = [new_hand_closed_ticket(fake, "order").ticket_id for _ in range(24)]
    in_flight, most, cond = 0, 0, threading.Condition()

    def counting(request: requests.PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        nonlocal in_flight, most
        with cond:
            in_flight += 1
            most = max(most, in_flight)
            cond.notify_all()
            # Hold each request until a third is in flight (or a while has passed): a pool that
            # allowed more than 3 would show it, one that allowed fewer could not reach 3.
            cond.wait_for(lambda: in_flight >= 3, timeout=0.5)
        try:
            return fake.answer(request)
        finally:
            with cond:
                in_flight -= 1

    with in_front(fake, counting) as url:
        report = front_client(url, server="znuny65").audit(ticket_ids=tickets, per_request=2, workers=3)
    assert len(report.tickets) == 24 and all(problems(report, t) == {"order"} for t in tickets)
    assert most == 3


def test_a_ticket_the_agent_may_not_read_is_set_apart(fake: FakeZnuny) -> None:
    ok = [new_hand_closed_ticket(fake, "service_request").ticket_id for _ in range(6)]
    fake.add_group("otros")
    fake.add_queue("Otra", group="otros")
    hidden = fake.create_ticket("oculto", queue="Otra").ticket_id
    report = auditor(fake).audit(ticket_ids=[*ok[:3], hidden, 999_999, *ok[3:]], per_request=10)
    assert [t.ticket_id for t in report.tickets] == ok
    assert {(u.ticket_id, u.error) for u in report.unreadable} == {(hidden, "AccessDenied"), (999_999, "AccessDenied")}
    assert report.summary.unreadable == 2 and report.compliant


def test_ticket_numbers_are_resolved_in_one_search(fake: FakeZnuny) -> None:
    made = [new_hand_closed_ticket(fake, n) for n in ("service_request", "owner_note_missing", "note_public")]
    fake.clear_records()
    numbers = [t.ticket_number for t in made] + ["2020010110000019"]
    report = auditor(fake).audit(ticket_numbers=numbers)
    assert [r.operation for r in fake.requests].count("TicketSearch") == 1
    assert [t.ticket_number for t in report.tickets] == [t.ticket_number for t in made]
    assert [(u.ticket, u.error) for u in report.unreadable] == [("2020010110000019", "TicketNotFound")]


def test_reads_are_retried_as_reads(fake: FakeZnuny) -> None:
    tickets = [new_hand_closed_ticket(fake, "formats_missing").ticket_id for _ in range(4)]
    fake.inject(Fault.UNAVAILABLE, operation="TicketGet", call=1, retry_after=0)
    fake.inject(Fault.RESPONSE_LOST, operation="TicketSearch", call=1)
    client = auditor(fake)
    report = client.audit(queue="Mesa de Servicio")
    assert {t.ticket_id for t in report.tickets} >= set(tickets)
    assert len(fake.faults_fired) == 2
    assert all(problems(report, t) == {"formats_missing"} for t in tickets)


def test_a_server_that_stays_down_stops_the_audit(fake: FakeZnuny) -> None:
    tickets = [new_hand_closed_ticket(fake, "order").ticket_id for _ in range(3)]
    fake.inject(Fault.UNAVAILABLE, operation="TicketGet", times=50, retry_after=0)
    from otrs_closure import ServerError

    with pytest.raises(ServerError):
        auditor(fake, retry_attempts=2).audit(ticket_ids=tickets)


def test_wrong_credentials_stop_the_audit(fake: FakeZnuny) -> None:
    from otrs_closure import AuthenticationError

    client = ClosureClient(base_url=fake.base_url, username="lector", password="nope", owner_login="agente.mesa")
    with pytest.raises(AuthenticationError):
        client.audit(ticket_ids=[1])


# -- where attachments cannot be listed without contents (OTRS 5) -----------------------------------
def test_without_contents_optional_only_the_onboardings_are_read_with_attachments(fake: FakeZnuny) -> None:
    names = ["service_request", "incident_typed", "order"] * 4 + ["onboarding_typed", "formats_missing"] * 4
    made = [(n, new_hand_closed_ticket(fake, n)) for n in names]
    fake.clear_records()
    report = auditor(fake, server="otrs5").audit(ticket_ids=[t.ticket_id for _, t in made], per_request=20)
    for n, t in made:
        assert problems(report, t.ticket_id) == HAND_CLOSURES[n].expected, n
    gets = ticket_gets(fake)
    light = [g for g in gets if g.query.get("Attachments") in ("0", "")]
    heavy = [g for g in gets if g.query.get("Attachments") == "1"]
    assert len(light) == 1 and len(ids_of(light[0])) == 20
    onboardings = sorted(t.ticket_id for n, t in made if n in ("onboarding_typed", "formats_missing"))
    assert sorted(i for g in heavy for i in ids_of(g)) == onboardings  # only those, each once
    assert [len(ids_of(g)) for g in heavy] == [5, len(onboardings) - 5]  # five tickets with contents a request
    assert len(gets) == 1 + 2


def test_an_answer_with_contents_anyway_teaches_the_gentle_way(tmp_path: Path) -> None:
    fake = FakeZnuny.service_desk()
    tickets = [new_hand_closed_ticket(fake, n).ticket_id for n in ["onboarding_typed", "service_request"] * 6]
    def with_contents(request: requests.PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        status, headers, body = fake.answer(request)
        headers = {k: v for k, v in headers.items() if k.lower() != "content-length"}
        data = json.loads(body)
        for t in data.get("Ticket", []):
            for a in t.get("Article", []):
                for x in a.get("Attachment", []):
                    x["Content"] = "JVBERi0xLjQK"  # as OTRS 5 sends it, whatever was asked
        return status, headers, json.dumps(data).encode()

    with in_front(fake, with_contents) as url:
        # The settings say the server lists attachments without contents; its answers say otherwise.
        report = front_client(url, server="znuny65").audit(ticket_ids=tickets, per_request=4, workers=1)
    assert [problems(report, t) for t in tickets] == [set()] * 12
    gets = [r for r in fake.requests if r.operation == "TicketGet"]
    assert gets[0].query.get("Attachments") == "1" and len(ids_of(gets[0])) == 4
    later = gets[1:]  # two batches of 4, each: without attachments, then its 2 onboardings with them
    assert [(g.query.get("Attachments") or "0", len(ids_of(g))) for g in later] == [("0", 4), ("1", 2)] * 2


# -- the selection ------------------------------------------------------------------------------------
def test_the_search_selects_by_queue_and_state(fake: FakeZnuny) -> None:
    attended = [new_hand_closed_ticket(fake, n) for n in ("order", "note_public")]
    untouched = new_hand_closed_ticket(fake, "customer_labels_only")  # state new
    fake.add_queue("Otra", group="mesa-de-servicio")
    elsewhere = fake.create_ticket("otra cola", queue="Otra", state="Atendido", created_by="tecnico1")
    fake.add_group("otros")
    fake.add_queue("Ajena", group="otros")
    fake.create_ticket("sin permiso", queue="Ajena", state="Atendido")
    client = auditor(fake)
    report = client.audit(queue="Mesa de Servicio")
    assert [t.ticket_id for t in report.tickets] == [t.ticket_id for t in attended]
    assert [t.ticket_id for t in client.audit(queue="Mesa de Servicio", state="new").tickets] == [untouched.ticket_id]
    both = client.audit(queue=["Mesa de Servicio", "Otra"])
    assert [t.ticket_id for t in both.tickets] == [t.ticket_id for t in attended] + [elsewhere.ticket_id]
    everywhere = client.audit()  # every queue the agent may read, in the attended state
    assert [t.ticket_id for t in everywhere.tickets] == [t.ticket_id for t in attended] + [elsewhere.ticket_id]


@pytest.mark.parametrize(
    ("since", "until", "newer", "older"),
    [
        (datetime(2026, 12, 1, 8, 30), None, "2026-12-01 08:30:00", None),  # naive: server time
        (date(2026, 12, 1), date(2026, 12, 3), "2026-12-01 00:00:00", "2026-12-03 23:59:59"),  # whole days
        (datetime(2026, 12, 1, 14, 30, tzinfo=timezone.utc), None, "2026-12-01 08:30:00", None),  # to server time
    ],
)
def test_the_window_is_sent_in_server_time(
    fake: FakeZnuny, since: Any, until: Any, newer: str, older: str | None
) -> None:
    fake.clear_records()
    auditor(fake).audit(queue="Mesa de Servicio", since=since, until=until)
    search = next(r for r in fake.requests if r.operation == "TicketSearch").body
    assert search["Queues"] == ["Mesa de Servicio"] and search["States"] == ["Atendido"]
    assert search["TicketLastChangeTimeNewerDate"] == newer
    assert search.get("TicketLastChangeTimeOlderDate") == older
    fake.clear_records()
    auditor(fake).audit(since=since, until=until, window="closed")
    search = next(r for r in fake.requests if r.operation == "TicketSearch").body
    assert search["TicketCloseTimeNewerDate"] == newer and "TicketLastChangeTimeNewerDate" not in search


def test_the_window_selects_by_last_change(fake: FakeZnuny) -> None:
    old = new_hand_closed_ticket(fake, "service_request")
    fake.advance(3 * 86400)
    cutoff = datetime.strptime(fake.now(), "%Y-%m-%d %H:%M:%S")
    fake.advance(60)
    recent = [new_hand_closed_ticket(fake, n) for n in ("order", "note_public")]
    client = auditor(fake)
    assert [t.ticket_id for t in client.audit(since=cutoff).tickets] == [t.ticket_id for t in recent]
    assert [t.ticket_id for t in client.audit(until=cutoff).tickets] == [old.ticket_id]


def test_a_search_that_finds_more_than_the_limit_is_cut_and_says_so(fake: FakeZnuny) -> None:
    tickets = [new_hand_closed_ticket(fake, "order").ticket_id for _ in range(7)]
    report = auditor(fake).audit(queue="Mesa de Servicio", limit=5)
    assert report.truncated and len(report.tickets) == 5
    assert {t.ticket_id for t in report.tickets} <= set(tickets)
    assert report.to_dict()["truncated"] is True
    assert not auditor(fake).audit(queue="Mesa de Servicio", limit=7).truncated


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"ticket_ids": [1], "queue": "Mesa de Servicio"}, "selection"),
        ({"ticket_numbers": ["12a"]}, "ticket_number"),
        ({"ticket_ids": [0]}, "ticket_id"),
        ({"ticket_ids": 5}, "ticket_numbers"),
        ({"since": "2026-12-01"}, "since"),
        ({"since": date(2026, 12, 2), "until": date(2026, 12, 1)}, "until"),
        ({"window": "created"}, "window"),
        ({"queue": ""}, "queue"),
        ({"limit": 0}, "limit"),
        ({"workers": 0}, "workers"),
        ({"per_request": 101}, "per_request"),
        ({"ticket_ids": [1, 2, 3], "limit": 2}, "limit"),
    ],
)
def test_a_bad_selection_is_refused_before_any_request(fake: FakeZnuny, kwargs: dict[str, Any], field: str) -> None:
    fake.clear_records()
    with pytest.raises(InputError) as caught:
        auditor(fake).audit(**kwargs)
    assert caught.value.field == field
    assert fake.requests == []


def test_progress_is_reported_per_batch(fake: FakeZnuny) -> None:
    tickets = [new_hand_closed_ticket(fake, "service_request").ticket_id for _ in range(7)]
    seen: list[tuple[int, int]] = []
    auditor(fake).audit(ticket_ids=tickets, per_request=3, progress=lambda done, total: seen.append((done, total)))
    assert len(seen) == 3 and {total for _, total in seen} == {7}
    assert seen[0] == (3, 7) and seen[1][0] in (4, 6) and seen[-1] == (7, 7)


def test_the_formats_files_closed_by_the_library_are_found_by_name(fake: FakeZnuny, tmp_path: Path) -> None:
    t = fake.new_service_desk_ticket()
    formats: FormatFiles = make_formats(tmp_path, scan="PNG", editable="ODT")
    fake.client(sleep=lambda s: None).close(
        ticket_id=t.ticket_id,
        attention=UserOnboarding(description="Alta", access_url="https://x.example.com", login="a", password="b"),
        formats=formats,
    )
    verdict = auditor(fake).audit(ticket_ids=[t.ticket_id]).ticket(t.ticket_id)
    assert verdict.compliant
    assert (verdict.signed_scan, verdict.editable) == (formats.signed_scan.name, formats.editable.name)


def test_get_searches_send_blanks_as_percent_20() -> None:
    """OTRS 5 keeps a '+' in a query as it is: "Mesa+de+Servicio" would match no queue."""
    from otrs_closure.testing import DEFAULT_ROUTES, TICKET_SEARCH_GET_ROUTE

    fake = FakeZnuny.service_desk(routes=[*DEFAULT_ROUTES, TICKET_SEARCH_GET_ROUTE])
    fake.add_state("Cerrado con éxito", "closed")
    t = new_hand_closed_ticket(fake, "order")
    urls: list[str] = []

    def spy(request: requests.PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        urls.append(str(request.url))
        return fake.answer(request)

    with in_front(fake, spy) as url:
        client = front_client(url, routes={"TicketSearch": {"method": "GET", "path": "/Ticket"}})
        report = client.audit(queue="Mesa de Servicio", state=["Atendido", "Cerrado con éxito"])
    assert [v.ticket_id for v in report.tickets] == [t.ticket_id]
    search = next(u for u in urls if "Queues=" in u)
    assert "Queues=Mesa%20de%20Servicio" in search and "+" not in search
    assert "States=Atendido&States=Cerrado%20con%20%C3%A9xito" in search  # a list: the key repeated


@pytest.mark.parametrize("bad", [0, -1, 65, True, 2.5, "4"])
def test_the_audit_takes_as_many_workers_as_the_batch(fake: FakeZnuny, bad: object) -> None:
    """One bound for the shared pool: 1 to 64 workers, checked before any request."""
    fake.clear_records()
    with pytest.raises(InputError) as ei:
        auditor(fake).audit(ticket_ids=[1], workers=bad)  # type: ignore[arg-type]
    assert ei.value.field == "workers" and fake.requests == []
