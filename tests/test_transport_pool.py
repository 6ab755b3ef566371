"""The transport's pool of pyotrs clients: one per concurrent exchange, reused across calls."""

from __future__ import annotations

from otrs_closure import ServiceRequest
from otrs_closure.batch import BatchItem, BatchStatus
from otrs_closure.testing import FakeZnuny


def test_repeated_batches_reuse_the_same_connection_pools(fake_znuny: FakeZnuny) -> None:
    client = fake_znuny.client(sleep=lambda s: None)
    for round_ in range(3):
        tickets = [fake_znuny.new_service_desk_ticket(f"t{round_}-{i}") for i in range(8)]
        items = [
            BatchItem(attention=ServiceRequest(description=f"Hecho {t.ticket_id}"), ticket_id=t.ticket_id)
            for t in tickets
        ]
        results = list(client.close_many(items, workers=4))
        assert [r.status for r in results] == [BatchStatus.CLOSED] * 8
        # At most one client per worker, whatever the number of batches run so far.
        assert 1 <= client.transport.pool_size <= 4
    assert client.requests_sent["SessionCreate"] == 1  # one session shared by every worker and batch
