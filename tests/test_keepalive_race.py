"""The keep-alive race: Apache closes a kept-alive connection after MaxKeepAliveRequests
answers, and behind Znuny's NPH script the last answer cannot say so; the request the
client sends on it meanwhile meets a closed socket, unprocessed (the lab's Znuny 6.5 and 7
do this every 100 requests; benchmarks/README.md measured it). The fake's door plays it
with the race always lost (``serve(max_keepalive_requests=k)``), so every request of a
closure can be made to meet it in turn.

What must hold: the closure ends exactly as without the race; a read is resent at once;
a write is re-read once and resent without the settle wait and the polling that a write
of truly unknown outcome gets (seconds each time, about one closure in 80 on a live Znuny).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import requests
from fault_matrix import Inputs, end_state_problems, make_inputs, new_client

from otrs_closure import ClosureReceipt, ConnectionDropped, StaleConnection
from otrs_closure.testing import FakeZnuny

SETTLE = 30.0  # large, so that a wait for it would show among the recorded sleeps


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    return make_inputs(Path(tmp_path_factory.mktemp("formats")))


def close_once(inputs: Inputs, limit: int | None, **options: Any) -> tuple[FakeZnuny, ClosureReceipt, list[float]]:
    fake = FakeZnuny.service_desk()
    ticket = fake.new_service_desk_ticket()
    sleeps: list[float] = []
    with fake.serve(max_keepalive_requests=limit) as url:
        client = new_client(url, sleep=sleeps.append, retry_write_settle=SETTLE, retry_write_poll=SETTLE, **options)
        with client:
            receipt = client.close(
                ticket_number=ticket.ticket_number, attention=inputs.attention, formats=inputs.formats
            )
    problems = end_state_problems(fake.ticket(ticket.ticket_id), inputs, receipt=receipt)
    assert problems == [], problems
    return fake, receipt, sleeps


def operations(fake: FakeZnuny) -> list[str]:
    return [r.operation or "?" for r in fake.requests]


@pytest.fixture(scope="module")
def baseline(inputs: Inputs) -> list[str]:
    fake, _, sleeps = close_once(inputs, None)
    assert sleeps == []
    return operations(fake)


def test_every_request_of_a_closure_meeting_the_race_changes_nothing(
    inputs: Inputs, baseline: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    # limit k: the connection's request k+1 meets the race; with one thread every request
    # after the first goes out on a kept-alive connection, so k = 2 … n-1 covers them all
    # (k = 1, every reused connection lost, would also lose each resend after its re-read:
    # Apache with KeepAlive Off closes at once, and the pool sees that before reusing).
    for limit in range(2, len(baseline)):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="otrs_closure.retry"):
            fake, _, sleeps = close_once(inputs, limit)
        seen = operations(fake)
        # The dropped requests never reached the server: what it processed is the baseline,
        # plus one TicketGet per write that met the race (the re-read before resending).
        stale_writes = [
            r for r in caplog.records if "kept-alive" in r.getMessage() and "TicketUpdate" in r.getMessage()
        ]
        assert [op for op in seen if op != "TicketGet"] == [op for op in baseline if op != "TicketGet"], (limit, seen)
        assert seen.count("TicketGet") == baseline.count("TicketGet") + len(stale_writes), (limit, seen)
        assert any("kept-alive" in r.getMessage() for r in caplog.records), f"k={limit}: the race was not met"
        assert sleeps and all(s == 0 for s in sleeps), (limit, sleeps)  # no settle, no poll, no backoff


def test_a_write_that_meets_the_race_is_not_settled_or_polled(inputs: Inputs, baseline: list[str]) -> None:
    first_update = baseline.index("TicketUpdate")
    fake, receipt, sleeps = close_once(inputs, first_update)  # the first TicketUpdate is request k+1
    assert receipt.complete
    assert sleeps and set(sleeps) == {0.0}  # every race met at once, the first on a write
    assert operations(fake).count("TicketUpdate") == baseline.count("TicketUpdate")


def test_with_a_callers_own_session_the_drop_stays_an_unknown_outcome(inputs: Inputs, baseline: list[str]) -> None:
    """A caller's session keeps its own adapters, so the library cannot tell a reused
    connection: the drop of a write is then an unknown outcome (settle, re-read, poll) —
    slower, never doubled."""
    first_update = baseline.index("TicketUpdate")
    fake, receipt, sleeps = close_once(inputs, first_update, session_factory=lambda: requests.Session())
    assert receipt.complete
    assert SETTLE in sleeps  # the settle wait of an unknown outcome
    assert operations(fake).count("TicketUpdate") == baseline.count("TicketUpdate")


def test_stale_connection_is_a_dropped_connection_that_may_have_reached_the_server() -> None:
    """Catching ConnectionDropped still catches it; it never claims the request was not sent."""
    assert issubclass(StaleConnection, ConnectionDropped)
    exc = StaleConnection("x", operation="TicketUpdate", ticket=1)
    assert exc.may_have_reached_server is True
    assert exc.to_dict()["kind"] == "stale"
