"""Two closures of the same ticket racing.

Znuny offers no article lock and no conditional update, so the client can only
serialise the closures it can see: the threads of one client (always), and the
processes of one host that share a ``lock_dir`` (flock). Those never double the note.
Racers it cannot see (another host, a human in the agent interface) can; what is still
guaranteed then is convergence: every racer that returns leaves a complete closure, and
any later close() recognises it and writes nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from fault_matrix import Inputs, end_state_problems, make_inputs, new_client
from helpers import closure_note

from otrs_closure import ClosureClient, ClosureConflict, ClosureReceipt, OtrsClosureError, ServiceRequest, StepStatus
from otrs_closure.testing import FakeZnuny

CHILD = Path(__file__).with_name("closure_child.py")

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="lock_dir needs POSIX flock")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    return make_inputs(Path(tmp_path_factory.mktemp("formats")))


def race(n: int, fn: Callable[[int], ClosureReceipt]) -> list[ClosureReceipt | OtrsClosureError]:
    results: list[ClosureReceipt | OtrsClosureError] = [None] * n  # type: ignore[list-item]
    barrier = threading.Barrier(n)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fn(i)
        except OtrsClosureError as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def only_receipts(results: list) -> list[ClosureReceipt]:
    assert all(isinstance(r, ClosureReceipt) for r in results), results
    return results


def test_threads_of_one_client_never_double(inputs: Inputs):
    fake = FakeZnuny.service_desk()
    tid, number = fake.new_service_desk_ticket()
    with fake.serve(latency=0.01) as url:
        client = new_client(url)
        results = only_receipts(
            race(6, lambda i: client.close(ticket_number=number, attention=inputs.attention, formats=inputs.formats))
        )
        client.shutdown()
    assert sorted(r.steps.note.value for r in results) == ["already_done"] * 5 + ["done"]
    assert end_state_problems(fake.ticket(tid), inputs) == []


@posix_only
def test_separate_clients_sharing_a_lock_dir_never_double(inputs: Inputs, tmp_path: Path):
    fake = FakeZnuny.service_desk()
    tid, number = fake.new_service_desk_ticket()
    with fake.serve(latency=0.01) as url:
        clients = [new_client(url, lock_dir=tmp_path) for _ in range(4)]
        results = only_receipts(
            race(
                4, lambda i: clients[i].close(ticket_number=number, attention=inputs.attention, formats=inputs.formats)
            )
        )
    assert sum(r.steps.note is StepStatus.DONE for r in results) == 1
    assert end_state_problems(fake.ticket(tid), inputs) == []
    assert list(tmp_path.glob(f"otrs-closure-*-{tid}.lock"))


@posix_only
def test_a_lock_dir_locks_the_server_not_the_spelling_of_its_url(inputs: Inputs, tmp_path: Path):
    """Clients naming one server differently (127.0.0.1, localhost, upper case, an explicit
    default port…) share its locks: racing, they still write the note once."""
    fake = FakeZnuny.service_desk()
    tid, number = fake.new_service_desk_ticket()
    with fake.serve(latency=0.01) as url:
        port = urlsplit(url).port
        spellings = [f"http://127.0.0.1:{port}", f"http://localhost:{port}", f"HTTP://LOCALHOST:{port}/",
                     f"http://127.0.0.1:{port}/"]
        clients = [ClosureClient(base_url=s, username="tecnico1", password="tecnico-pass", owner_login="agente.mesa",
                                 sleep=lambda s: None, lock_dir=tmp_path) for s in spellings]
        results = only_receipts(race(4, lambda i: clients[i].close(
            ticket_number=number, attention=inputs.attention, formats=inputs.formats)))
    assert sum(r.steps.note is StepStatus.DONE for r in results) == 1
    assert end_state_problems(fake.ticket(tid), inputs) == []


def spawn(url: str, number: str, inputs: Inputs, start_at: float, **extra: object) -> subprocess.Popen[str]:
    args = {
        "url": url,
        "ticket_number": number,
        "description": inputs.attention.description,
        "scan": str(inputs.formats.signed_scan),
        "editable": str(inputs.formats.editable),
        "start_at": start_at,
        **extra,
    }
    return subprocess.Popen(
        [sys.executable, str(CHILD), json.dumps(args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def outputs(procs: list[subprocess.Popen[str]]) -> list[dict]:
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=30)
        assert stdout.strip(), stderr
        out.append(json.loads(stdout))
    return out


@posix_only
def test_processes_sharing_a_lock_dir_never_double(inputs: Inputs, tmp_path: Path):
    fake = FakeZnuny.service_desk()
    tid, number = fake.new_service_desk_ticket()
    with fake.serve(latency=0.01) as url:
        start = time.time() + 1.0
        results = outputs([spawn(url, number, inputs, start, lock_dir=str(tmp_path)) for _ in range(4)])
    assert all("receipt" in r for r in results), results
    assert sorted(r["receipt"]["steps"]["note"] for r in results) == ["already_done"] * 3 + ["done"]
    assert end_state_problems(fake.ticket(tid), inputs) == []


@posix_only
def test_two_different_closures_racing_with_a_lock_dir_one_wins_one_conflicts(inputs: Inputs, tmp_path: Path):
    fake = FakeZnuny.service_desk()
    tid, number = fake.new_service_desk_ticket()
    with fake.serve(latency=0.01) as url:
        start = time.time() + 1.0
        procs = [
            spawn(url, number, inputs, start, lock_dir=str(tmp_path)),
            spawn(
                url,
                number,
                inputs,
                start,
                lock_dir=str(tmp_path),
                description="Se dio de alta al usuario en el sistema de nómina (corregido).",
            ),
        ]
        results = outputs(procs)
    kinds = sorted("receipt" if "receipt" in r else r["error"] for r in results)
    assert kinds == ["ClosureConflict", "receipt"], results
    view = fake.ticket(tid)
    assert len(view.articles_with_subject("Atendido")) == 1
    assert len(view.articles_with_subject("Se modifica propietario")) == 1


def test_unserialised_racers_converge(inputs: Inputs):
    """Separate clients without a shared lock (as on two hosts): the note may be doubled —
    the API cannot prevent it — but each racer leaves a complete closure, and a later
    close() recognises it, writes nothing, and reports every step already done."""
    fake = FakeZnuny.service_desk()
    tid, number = fake.new_service_desk_ticket()
    with fake.serve(latency=0.02) as url:
        clients = [new_client(url) for _ in range(3)]
        results = only_receipts(
            race(
                3, lambda i: clients[i].close(ticket_number=number, attention=inputs.attention, formats=inputs.formats)
            )
        )
        assert all(r.complete for r in results)
        view = fake.ticket(tid)
        notes = len(view.articles_with_subject("Atendido"))
        assert 1 <= notes <= 3
        assert view.state == "Atendido" and view.owner == "agente.mesa"
        later = new_client(url).close(ticket_number=number, attention=inputs.attention, formats=inputs.formats)
    assert later.writes_sent == 0 and later.complete
    assert len(fake.ticket(tid).articles_with_subject("Atendido")) == notes


def test_a_doubled_note_is_reported(inputs: Inputs, caplog: pytest.LogCaptureFixture):
    """What an unserialised race leaves (this closure's note twice) is logged as a warning
    naming both articles, so that an operator can review it; the closure completes."""
    fake = FakeZnuny.service_desk()
    tid, number = fake.new_service_desk_ticket()
    attention = ServiceRequest(description="Se reconfiguró la impresora.")
    with fake.mock() as url:
        client = new_client(url)
        _, body = closure_note(attention, client=client)
        first = fake.add_article(tid, created_by="tecnico1", subject="Atendido", body=body)
        second = fake.add_article(tid, created_by="tecnico1", subject="Atendido", body=body)
        # Both racers set the attended state with their note.
        requests.patch(f"{url}/Ticket/{tid}", json={"UserLogin": "tecnico1", "Password": "tecnico-pass",
                                                   "Ticket": {"State": "Atendido"}}, timeout=5).raise_for_status()
        with caplog.at_level("WARNING", logger="otrs_closure"):
            receipt = client.close(ticket_number=number, attention=attention)
    assert receipt.complete and receipt.note_article_id == first
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(str(first) in w and str(second) in w for w in warnings), warnings
    assert len(fake.ticket(tid).articles_with_subject("Atendido")) == 2  # nothing more was written


def test_conflict_is_raised_before_any_write(inputs: Inputs):
    fake = FakeZnuny.service_desk()
    tid, number = fake.new_service_desk_ticket()
    with fake.mock() as url:
        client = new_client(url)
        client.close(ticket_number=number, attention=inputs.attention, formats=inputs.formats)
        corrected = inputs.attention.model_copy(update={"description": "Otra descripción."})
        writes = fake.calls("TicketUpdate")
        with pytest.raises(ClosureConflict):
            client.close(ticket_number=number, attention=corrected, formats=inputs.formats)
        assert fake.calls("TicketUpdate") == writes
        receipt = client.close(ticket_number=number, attention=corrected, formats=inputs.formats, reclose=True)
    assert receipt.complete and receipt.steps.note is StepStatus.DONE
    view = fake.ticket(tid)
    assert len(view.articles_with_subject("Atendido")) == 2
    assert len(view.articles_with_subject("Se modifica propietario")) == 2


def test_lock_dir_must_be_an_existing_directory(tmp_path: Path):
    from otrs_closure import ClosureClient, InputError

    with pytest.raises(InputError, match="lock_dir"):
        ClosureClient(
            base_url="http://znuny.fake.test",
            username="u",
            password="p",
            owner_login="o",
            lock_dir=tmp_path / "missing",
        )
