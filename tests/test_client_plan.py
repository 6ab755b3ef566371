"""plan(): the exact requests a close() would send, secrets masked, and no TicketUpdate."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

import pytest
from helpers import (
    AGENT_LOGIN,
    SERVICE_URL,
    TICKET_ID,
    TICKET_NUMBER,
    Exchange,
    door,
    exchanges,
    make_formats,
    new_client,
    no_http,
    ops,
    service_desk,
)

from otrs_closure import (
    ClosureConflict,
    ClosurePlan,
    Incident,
    PartialClosure,
    PlannedRequest,
    ServiceRequest,
    StepStatus,
    UserOnboarding,
)
from otrs_closure.testing import FakeZnuny, Fault

MASK = "********"
ONBOARDING = UserOnboarding(
    description="Alta en el sistema de nómina.",
    access_url="https://nomina.example.gob.mx",
    login="mgarcia",
    password="Temporal#2026",
)


@pytest.fixture
def fake() -> FakeZnuny:
    return service_desk()


@pytest.fixture(autouse=True)
def wire(fake: FakeZnuny):
    with door(fake) as rsps:
        yield rsps


def masked_actual(e: Exchange) -> tuple[str, str, str, dict[str, Any] | None, dict[str, str] | None]:
    """A received request as a plan would show it: credentials masked, contents described."""
    url = e.url.split("?", 1)[0]
    query = {k: (MASK if k == "SessionID" else v) for k, v in e.query.items()} or None
    body = None
    if e.body is not None:
        body = {k: (MASK if k in ("SessionID", "Password") else v) for k, v in e.body.items()}
        for att in body.get("Attachment", []):
            data = base64.b64decode(att["Content"])
            att["Content"] = ("size", len(data), hashlib.sha256(data).hexdigest()[:16])
        if isinstance(body.get("Article"), dict) and "Body" in body["Article"]:
            body["Article"] = {**body["Article"], "Body": body["Article"]["Body"].replace("Temporal#2026", MASK)}
    return e.operation, e.method, url, body, query


def planned(r: PlannedRequest) -> tuple[str, str, str, dict[str, Any] | None, dict[str, str] | None]:
    body = None
    if r.body is not None:
        body = dict(r.body)
        if "Attachment" in body:
            body["Attachment"] = [dict(a) for a in body["Attachment"]]
            for att in body["Attachment"]:
                m = re.fullmatch(r"<base64 of (\d+) bytes, sha256=([0-9a-f]{16})…>", att["Content"])
                assert m, att["Content"]
                att["Content"] = ("size", int(m.group(1)), m.group(2))
    query = {k: str(v) for k, v in r.query.items()} if r.query is not None else None
    return r.operation, r.method, r.url, body, query


def compare(plan: ClosurePlan, fake: FakeZnuny, wire) -> None:
    """The plan's requests are exactly those sent since the last ``fake.clear_records()``."""
    assert [planned(r) for r in plan.requests] == [masked_actual(e) for e in exchanges(fake, wire)]


@pytest.mark.parametrize(
    "attention",
    [
        ServiceRequest(description="Impresora reconfigurada."),
        ONBOARDING,
        Incident(problem="Disco dañado.", solution="Disco reemplazado."),
    ],
    ids=["service_request", "user_onboarding", "incident"],
)
@pytest.mark.parametrize("by", ["number", "id"])
def test_plan_is_what_close_sends(fake: FakeZnuny, wire, tmp_path, attention, by):
    formats = make_formats(tmp_path)
    ticket = {"ticket_number": TICKET_NUMBER} if by == "number" else {"ticket_id": TICKET_ID}
    plan = new_client().plan(attention=attention, formats=formats, **ticket)
    assert "TicketUpdate" not in ops(fake)  # planning writes nothing
    assert [r.operation for r in plan.requests] == (
        ["SessionCreate"]
        + (["TicketSearch"] if by == "number" else [])
        + ["TicketGet", "TicketUpdate", "TicketUpdate", "TicketUpdate", "TicketGet"]
    )
    assert len(plan.writes) == 3
    assert plan.ticket_id == TICKET_ID
    assert plan.steps.note is StepStatus.PENDING and plan.steps.attachments is StepStatus.PENDING
    fake.clear_records()
    receipt = new_client().close(attention=attention, formats=formats, **ticket)
    compare(plan, fake, wire)
    assert plan.closure_id == receipt.closure_id
    d = plan.to_dict()
    assert d["requests"][0] == {
        "operation": "SessionCreate",
        "method": "POST",
        "url": SERVICE_URL + "/Session",
        "body": {"UserLogin": AGENT_LOGIN, "Password": MASK},
    }
    assert d["steps"]["note"] == "pending"


def test_plan_masks_the_onboarding_password_and_session(tmp_path):
    plan = new_client().plan(ticket_id=TICKET_ID, attention=ONBOARDING, formats=make_formats(tmp_path))
    note = next(r for r in plan.writes if r.body["Article"].get("Subject") == "Atendido")
    assert "Contraseña de acceso al Sistema: ********" in note.body["Article"]["Body"]
    assert all(r.body["SessionID"] == MASK for r in plan.writes)
    assert all((r.query or {}).get("SessionID", (r.headers or {}).get("X-OTRS-Header-SessionID")) == MASK
               for r in plan.requests if r.operation == "TicketGet")
    assert "Temporal#2026" not in repr(plan) and "Temporal#2026" not in str(plan.to_dict())


def test_plan_of_a_partial_closure_lists_only_the_remaining_write(fake: FakeZnuny, wire, tmp_path):
    formats = make_formats(tmp_path)
    attention = ServiceRequest(description="Impresora reconfigurada.")
    client = new_client()
    fake.inject(Fault.UNAVAILABLE, "TicketUpdate", call=3, times=4)  # step 2 never gets through
    with pytest.raises(PartialClosure):
        client.close(ticket_id=TICKET_ID, attention=attention, formats=formats)
    fake.clear_records()
    plan = client.plan(ticket_id=TICKET_ID, attention=attention, formats=formats)
    assert [r.operation for r in plan.requests] == ["TicketGet", "TicketUpdate", "TicketGet"]
    assert plan.steps.note is StepStatus.ALREADY_DONE and plan.steps.owner is StepStatus.PENDING
    fake.clear_records()
    client.close(ticket_id=TICKET_ID, attention=attention, formats=formats)
    compare(plan, fake, wire)


def test_plan_of_a_complete_closure_has_no_writes(fake: FakeZnuny):
    attention = ServiceRequest(description="Impresora reconfigurada.")
    client = new_client()
    client.close(ticket_number=TICKET_NUMBER, attention=attention)
    fake.clear_records()
    plan = client.plan(ticket_number=TICKET_NUMBER, attention=attention)
    assert plan.writes == []
    assert [r.operation for r in plan.requests] == ["TicketSearch", "TicketGet"]
    assert all(v == "already_done" or v == "not_applicable" for v in plan.to_dict()["steps"].values())
    assert ops(fake) == ["TicketSearch", "TicketGet"]


def test_plan_raises_the_conflict_close_would_raise(fake: FakeZnuny):
    fake.add_article(TICKET_ID, created_by="tecnico1", subject="Atendido", body="Otro cierre.")
    attention = ServiceRequest(description="Impresora reconfigurada.")
    with pytest.raises(ClosureConflict):
        new_client().plan(ticket_id=TICKET_ID, attention=attention)
    plan = new_client().plan(ticket_id=TICKET_ID, attention=attention, reclose=True)
    assert len(plan.writes) == 3
    assert "TicketUpdate" not in ops(fake)


def test_offline_plan_sends_nothing(tmp_path):
    with no_http() as rsps:
        plan = new_client().plan(
            ticket_number=TICKET_NUMBER, attention=ONBOARDING, formats=make_formats(tmp_path), offline=True
        )
        assert len(rsps.calls) == 0
    assert [r.operation for r in plan.requests] == [
        "SessionCreate",
        "TicketSearch",
        "TicketGet",
        "TicketUpdate",
        "TicketUpdate",
        "TicketUpdate",
        "TicketGet",
    ]
    assert plan.requests[2].url == SERVICE_URL + "/Ticket/:TicketID"
    assert plan.ticket_id is None and plan.ticket_number == TICKET_NUMBER


def test_plan_after_a_close_skips_session_and_preflight(fake: FakeZnuny):
    client = new_client()
    client.close(ticket_id=TICKET_ID, attention=ServiceRequest(description="Primero."))
    assert fake.new_service_desk_ticket() == (3, "2026112810000021")
    plan = client.plan(ticket_id=3, attention=ServiceRequest(description="Segundo."))
    assert [r.operation for r in plan.requests] == ["TicketGet", "TicketUpdate", "TicketUpdate", "TicketGet"]


def test_plan_with_a_get_search_route_shows_the_query(fake: FakeZnuny, wire):
    """Recording 31's route: TicketSearch as GET /Ticket with the parameters in the query."""
    fake.set_route("TicketSearch", "GET", "/Ticket")
    attention = ServiceRequest(description="Impresora reconfigurada.")
    client_routes = {"TicketSearch": {"method": "GET", "path": "/Ticket"}}
    plan = new_client(routes=client_routes).plan(ticket_number=TICKET_NUMBER, attention=attention)
    fake.clear_records()
    new_client(routes=client_routes).close(ticket_number=TICKET_NUMBER, attention=attention)
    search = next(e for e in exchanges(fake, wire) if e.operation == "TicketSearch")
    assert (search.method, search.path, search.body) == ("GET", "/Ticket", None)
    assert search.query["TicketNumber"] == TICKET_NUMBER
    compare(plan, fake, wire)
