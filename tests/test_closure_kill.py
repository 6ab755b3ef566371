"""A process killed between step 1 (the Atendido note) and step 2 (the owner change)
leaves a ticket that the next close() completes without writing the note again."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from fault_matrix import Inputs, end_state_problems, make_inputs, new_client

from otrs_closure import StepStatus
from otrs_closure.testing import FakeZnuny

CHILD = Path(__file__).with_name("closure_child.py")

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and flock are POSIX")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    return make_inputs(Path(tmp_path_factory.mktemp("formats")))


def run_child(url: str, number: str, inputs: Inputs, **extra: object) -> subprocess.CompletedProcess[str]:
    args = {
        "url": url,
        "ticket_number": number,
        "description": inputs.attention.description,
        "scan": str(inputs.formats.signed_scan),
        "editable": str(inputs.formats.editable),
        **extra,
    }
    return subprocess.run([sys.executable, str(CHILD), json.dumps(args)], capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("with_lock", [False, True], ids=["no-lock", "lock_dir"])
def test_killed_between_the_steps_then_completed(inputs: Inputs, tmp_path: Path, with_lock: bool):
    lock_dir = str(tmp_path) if with_lock else None
    fake = FakeZnuny.service_desk()
    tid, number = fake.new_service_desk_ticket()
    with fake.serve() as url:
        child = run_child(url, number, inputs, kill_at="after_note", lock_dir=lock_dir)
        assert child.returncode == -signal.SIGKILL, child.stderr
        assert child.stdout == ""

        view = fake.ticket(tid)
        (note,) = view.articles_with_subject("Atendido")
        assert sorted(x.content for x in note.attachments) == sorted(inputs.contents)
        assert view.state == "Atendido"
        assert view.owner == "tecnico1"  # step 2 never ran
        assert view.articles_with_subject("Se modifica propietario") == ()

        # the killed process held the flock: the kernel released it, nothing waits
        client = new_client(url, lock_dir=lock_dir)
        receipt = client.close(ticket_number=number, attention=inputs.attention, formats=inputs.formats)
        client.shutdown()
    s = receipt.steps
    assert (s.note, s.attachments, s.state) == (StepStatus.ALREADY_DONE,) * 3
    assert (s.owner, s.owner_note) == (StepStatus.DONE, StepStatus.DONE)
    assert receipt.writes_sent == 1 and receipt.note_article_id == note.article_id
    assert end_state_problems(fake.ticket(tid), inputs, receipt=receipt) == []


def test_rerun_in_a_new_process_skips_step_one(inputs: Inputs):
    """The completing run can be another process too; it never reaches the kill hook,
    which sits after step 1, because it finds step 1 done and goes straight to step 2."""
    fake = FakeZnuny.service_desk()
    tid, number = fake.new_service_desk_ticket()
    with fake.serve() as url:
        child = run_child(url, number, inputs, kill_at="after_note")
        assert child.returncode == -signal.SIGKILL
        again = run_child(url, number, inputs, kill_at="after_note")
        assert again.returncode == 0, again.stdout + again.stderr
        receipt = json.loads(again.stdout)["receipt"]
    assert receipt["steps"]["note"] == "already_done" and receipt["steps"]["owner"] == "done"
    assert end_state_problems(fake.ticket(tid), inputs) == []
