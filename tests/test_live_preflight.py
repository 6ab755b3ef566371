"""The preflight writes nothing, on each real server: the exact TicketUpdate a closure
would send first (taken from ``client.plan()``, with valid state and owner) is refused by
the server before it writes — the ticket's state, owner, articles, change time and
history are unchanged — and the refusal is the one the client reads as "state and owner
exist" (an ``Article->…`` parameter error)."""

from __future__ import annotations

import time

import pytest
from live_support import Target, mask

from otrs_closure import ServiceRequest

pytestmark = [pytest.mark.live]

SR = ServiceRequest(description="Prueba de la verificación previa (no se escribe nada).")


def test_the_preflight_is_refused_before_anything_is_written(target: Target) -> None:
    tid, _ = target.raw.create_ticket("otrs_closure en vivo: verificación previa")
    before = target.raw.snapshot(tid)
    with target.client() as client:
        plan = client.plan(ticket_id=tid, attention=SR)
    preflight = plan.writes[0]
    article = (preflight.body or {})["Article"]
    assert "Body" not in article and "ContentType" not in article, mask(preflight.to_dict())
    assert (preflight.body or {})["Ticket"] == {"State": "Atendido", "Owner": target.owner_login}
    body = {k: v for k, v in (preflight.body or {}).items() if k not in ("SessionID", "TicketID")}
    time.sleep(1.1)  # a write would show in the ticket's change time (seconds)
    answer = target.raw.call(preflight.method, f"/Ticket/{tid}", body, what="preflight")
    error = answer.get("Error") or {}
    assert error.get("ErrorCode", "").endswith(("MissingParameter", "InvalidParameter")), answer
    assert "Article->" in error.get("ErrorMessage", ""), answer
    assert target.raw.snapshot(tid).summary() == before.summary()
