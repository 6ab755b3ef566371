"""The audit on the lab's real systems (``OTRS_CLOSURE_TEST_LAB=<lab folder>``, optionally
``OTRS_CLOSURE_TEST_LAB_SYSTEMS=znuny65,otrs6,otobo,otrs5,znuny7``; skipped otherwise).

On each system: every hand closure of :data:`~otrs_closure.testing.handclosed.HAND_CLOSURES`
is performed with raw GenericInterface requests (``tests/_audit_lab.py``, in the
generation's own article fields), three tickets are closed by the library, and the audit
— run by a read-only agent of the suite's own — must report exactly the expected codes on
each, by list, by number and by search (queue, state, time window), and leave every ticket
as it was (change time and articles). Two agents of the suite's own are created once with
the system's console (needs root on the lab machine), so the seeded agents' sessions are
not spent (OTRS 5 allows 20 per agent in 10 minutes); one session per agent and system.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import _audit_lab as lab
import pytest

from otrs_closure import ClosureClient, FormatFiles, Incident, ServiceRequest, UserOnboarding
from otrs_closure.testing.handclosed import EDITABLE, HAND_CLOSURES, SCAN, HandClosure

pytestmark = pytest.mark.live
SYSTEMS = lab.selected()
if not SYSTEMS:
    pytest.skip(
        "no lab: set OTRS_CLOSURE_TEST_LAB (and optionally OTRS_CLOSURE_TEST_LAB_SYSTEMS)", allow_module_level=True
    )

LIBRARY = ("library_service_request", "library_incident", "library_onboarding")


@dataclass
class World:
    system: lab.LabSystem
    raw: lab.RawGI
    auditor: ClosureClient
    tickets: dict[str, int]  # closure name -> TicketID
    expected: dict[str, HandClosure | None]
    since: datetime  # the first ticket's creation, server time
    before: dict[int, tuple[str, int]] = field(default_factory=dict)


def _client(system: lab.LabSystem, agent: lab.Agent) -> ClosureClient:
    return ClosureClient(
        base_url=system.url,
        username=agent.login,
        password=agent.password,
        owner_login=lab.OWNER,
        server_timezone="UTC",  # the lab's servers keep UTC
        retry_backoff=0.2,
    )


def _shape(raw: lab.RawGI, ticket_id: int) -> tuple[str, int]:
    t = raw.get(ticket_id)
    return str(t["Changed"]), len(t.get("Article") or [])


@pytest.fixture(scope="module", params=SYSTEMS, ids=[s.name for s in SYSTEMS])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    system: lab.LabSystem = request.param
    try:
        for agent in (lab.CLOSER, lab.AUDITOR):
            lab.ensure_agent(system, agent)
    except (OSError, RuntimeError) as exc:
        pytest.skip(f"{system.name}: cannot create the suite's agents ({exc})")
    raw = lab.RawGI(system, lab.CLOSER)
    tag = f"[audit-live {uuid.uuid4().hex[:8]}]"
    tickets: dict[str, int] = {}
    for name, closure in HAND_CLOSURES.items():
        tickets[name] = lab.close_by_hand(raw, closure, title=f"{tag} {name}")
    since = datetime.strptime(raw.get(tickets[next(iter(tickets))])["Created"], "%Y-%m-%d %H:%M:%S")

    folder = tmp_path_factory.mktemp(system.name)
    (folder / "alta_firmada.pdf").write_bytes(SCAN.content)
    (folder / "alta.docx").write_bytes(EDITABLE.content)
    closer = _client(system, lab.CLOSER)
    attentions = {
        "library_service_request": (ServiceRequest(description="Se reconfiguró la impresora."), None),
        "library_incident": (Incident(problem="Página Web no resuelve por dominio", solution="Reinicio del DNS"), None),
        "library_onboarding": (
            UserOnboarding(description="Alta en nómina", access_url="https://nomina.example.gob.mx",
                           login="mgarcia", password="Temporal#2026"),  # fmt: skip
            FormatFiles(signed_scan=folder / "alta_firmada.pdf", editable=folder / "alta.docx"),
        ),
    }
    empty = HandClosure("library", "", (), frozenset())
    for name, (attention, formats) in attentions.items():
        tickets[name] = lab.close_by_hand(raw, empty, title=f"{tag} {name}")
        closer.close(ticket_id=tickets[name], attention=attention, formats=formats)
    closer.shutdown()

    expected: dict[str, HandClosure | None] = {**HAND_CLOSURES, **dict.fromkeys(LIBRARY)}
    w = World(system, raw, _client(system, lab.AUDITOR), tickets, expected, since)
    w.before = {tid: _shape(raw, tid) for tid in tickets.values()}
    yield w
    w.auditor.shutdown()
    raw.close()


def _check(world: World, report: object) -> None:
    from otrs_closure.audit import AuditReport

    assert isinstance(report, AuditReport)
    wrong = []
    for name, tid in world.tickets.items():
        verdict = report.ticket(tid)
        closure = world.expected[name]
        codes = {p.value for p in verdict.problems}
        want = closure.expected if closure is not None else frozenset()
        kind = closure.kind if closure is not None else verdict.kind
        if codes != want or verdict.kind != kind:
            wrong.append(f"{name}: {sorted(codes)} ({verdict.kind}), expected {sorted(want)} ({kind})")
    assert not wrong, f"{world.system.name}: " + "; ".join(wrong)


def test_each_ticket_gets_exactly_its_codes(world: World) -> None:
    report = world.auditor.audit(ticket_ids=list(world.tickets.values()))
    assert not report.unreadable
    _check(world, report)
    library = [report.ticket(world.tickets[n]) for n in LIBRARY]
    assert [t.kind for t in library] == ["service_request", "incident", "user_onboarding"]
    assert all(t.agent == lab.CLOSER.full_name for t in library)
    hand = report.ticket(world.tickets["service_request"])
    assert hand.agent == lab.CLOSER.full_name and hand.attended_at is not None
    assert hand.attended_at.replace(tzinfo=None) >= world.since
    # Several TicketIDs per TicketGet: far fewer requests than tickets.
    assert report.requests_sent.get("TicketGet", 0) <= 2 + 6 + 1
    assert "Temporal#2026" not in report.to_json() + report.to_html() + report.to_csv()


def test_the_search_selects_them_by_queue_state_and_time(world: World) -> None:
    ours = set(world.tickets.values())
    report = world.auditor.audit(queue=lab.QUEUE, state=["Atendido", "new"], since=world.since)
    assert ours <= {t.ticket_id for t in report.tickets}
    _check(world, report)
    attended = world.auditor.audit(queue=lab.QUEUE, since=world.since)  # the attended state by default
    not_attended = {world.tickets["customer_labels_only"]}
    assert {t.ticket_id for t in attended.tickets} & ours == ours - not_attended
    earlier = world.auditor.audit(queue=lab.QUEUE, state=["Atendido", "new"], until=world.since - timedelta(seconds=1))
    assert not ours & {t.ticket_id for t in earlier.tickets}


def test_ticket_numbers(world: World) -> None:
    numbers = {name: str(world.raw.get(tid)["TicketNumber"]) for name, tid in world.tickets.items()}
    report = world.auditor.audit(ticket_numbers=[*numbers.values(), "2020010110000019"])
    assert {t.ticket_number for t in report.tickets} == set(numbers.values())
    assert [(u.ticket, u.error) for u in report.unreadable] == [("2020010110000019", "TicketNotFound")]
    _check(world, report)


def test_the_reports_agree(world: World, tmp_path: Path) -> None:
    report = world.auditor.audit(ticket_ids=list(world.tickets.values()))
    doc = json.loads(report.to_json())
    page = tmp_path / "audit.html"
    report.write_html(page)
    text = page.read_text(encoding="utf-8")
    for key in ("tickets", "compliant", "non_compliant"):
        assert f'data-count="{key}">{doc["summary"][key]}<' in text
    from test_audit_browser import CHROMIUM, _browser, _Counts

    if CHROMIUM is None:
        return
    dom = _browser(tmp_path, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-1000:]
    shown = _Counts()
    shown.feed(dom.stdout)
    for key in ("tickets", "compliant", "non_compliant", "unreadable"):
        assert shown.counts[("id=summary", key)] == str(doc["summary"][key])
    for code, n in doc["summary"]["problems"].items():
        assert shown.counts[(f"data-problem={code}", "problem")] == str(n)


def test_the_audit_never_wrote(world: World) -> None:
    """Run last on each system: every audit above left every ticket as it was."""
    after = {tid: _shape(world.raw, tid) for tid in world.tickets.values()}
    assert after == world.before
    sent = world.auditor.requests_sent
    assert set(sent) <= {"SessionCreate", "TicketSearch", "TicketGet"}, sent
    assert sent.get("SessionCreate") == 1
