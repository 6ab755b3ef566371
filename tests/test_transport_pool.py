"""One client, many batches: one GenericInterface session and one keep-alive pool shared
by every worker, reused across calls."""

from __future__ import annotations

import threading

import urllib3.util.connection

from otrs_closure import ServiceRequest
from otrs_closure.batch import BatchItem, BatchStatus
from otrs_closure.testing import FakeZnuny


def test_repeated_batches_share_one_session(fake_znuny: FakeZnuny) -> None:
    client = fake_znuny.client(sleep=lambda s: None)
    for round_ in range(3):
        tickets = [fake_znuny.new_service_desk_ticket(f"t{round_}-{i}") for i in range(8)]
        items = [
            BatchItem(attention=ServiceRequest(description=f"Hecho {t.ticket_id}"), ticket_id=t.ticket_id)
            for t in tickets
        ]
        results = list(client.close_many(items, workers=4))
        assert [r.status for r in results] == [BatchStatus.CLOSED] * 8
    assert client.requests_sent["SessionCreate"] == 1  # one session shared by every worker and batch


def test_repeated_batches_reuse_the_kept_alive_connections(fake_znuny_server: FakeZnuny, monkeypatch) -> None:
    """Connections opened over three batches of four workers: at most one per worker, not
    one per batch or per closure (counted where the client connects)."""
    opened: list[object] = []
    lock = threading.Lock()
    real = urllib3.util.connection.create_connection

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        with lock:
            opened.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", counting)
    client = fake_znuny_server.client(sleep=lambda s: None)
    for round_ in range(3):
        tickets = [fake_znuny_server.new_service_desk_ticket(f"t{round_}-{i}") for i in range(8)]
        items = [BatchItem(attention=ServiceRequest(description=f"Hecho {t.ticket_id}"), ticket_id=t.ticket_id)
                 for t in tickets]
        assert all(r.ok for r in client.close_many(items, workers=4))
    assert 1 <= len(opened) <= 4
