"""A batch process stopped half-way: killed (SIGKILL, no chance to clean up) and run again
with the same journal, it closes every ticket exactly once; asked to stop (SIGTERM from
systemd, a container or a CI timeout; SIGINT from Ctrl-C), it finishes the closures in
flight, starts no more, and reports every row. The CLI runs in a subprocess against the
fake served on a loopback port; the test reads the fake's state directly."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_batch_run import (
    ONBOARDING_PASSWORD,
    PASSWORD_VAR,
    assert_closed_once,
    assert_untouched,
    build_world,
    root,
)

from otrs_closure.testing import FakeZnuny

pytestmark = pytest.mark.skipif(os.name != "posix", reason="needs POSIX signals")


def batch_command(fake: FakeZnuny, manifest: Path, journal: Path, report: Path) -> tuple[list[str], dict[str, str]]:
    env = {
        **os.environ,
        "OTRS_CLOSURE_BASE_URL": root(fake), "OTRS_CLOSURE_USERNAME": "tecnico1",
        "OTRS_CLOSURE_PASSWORD": "tecnico-pass", "OTRS_CLOSURE_OWNER_LOGIN": "agente.mesa",
        PASSWORD_VAR: ONBOARDING_PASSWORD,
    }
    command = [sys.executable, "-m", "otrs_closure.cli", "batch", str(manifest), "--workers", "3",
               "--journal", str(journal), "--report", str(report)]
    return command, env


def closed_in_journal(path: Path) -> set[str]:
    """The tickets (journal keys) the journal records closed."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
            return {str(r[0]) for r in db.execute("SELECT ticket_key FROM closures WHERE status = 'closed'")}
    except sqlite3.Error:
        return set()


def test_a_killed_process_resumes_from_its_journal(tmp_path: Path) -> None:
    fake = FakeZnuny.service_desk()
    with fake.serve(latency=0.01):
        world = build_world(fake, tmp_path, 30, already=3, bad=False, failing=False)
        journal = tmp_path / "cierres.sqlite3"
        report = tmp_path / "informe.json"
        command, env = batch_command(fake, world.manifest, journal, report)
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while len(closed_in_journal(journal)) < 8 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL, "the batch finished before it could be killed"
        assert not report.exists()
        killed_at = closed_in_journal(journal)
        unfinished = [tid for tid, _ in world.valid if fake.ticket(tid).owner != "agente.mesa"]
        assert 8 <= len(killed_at) and unfinished, (killed_at, len(unfinished))
        onboardings = {f"number:{n}" for i, (_, n) in enumerate(world.valid) if i % 3 == 2}  # see row_for

        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        data = json.loads(report.read_text())
        assert data["counts"]["skipped_journal"] == len(killed_at - onboardings)  # onboardings are never skipped
        assert data["counts"]["failed"] == 0 and data["counts"]["not_run"] == 0
        assert sum(data["counts"][s] for s in ("closed", "already_closed", "skipped_journal")) == 30
        for tid, _ in world.valid:
            assert_closed_once(fake.ticket(tid))


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_stopped_batch_finishes_its_closures_and_reports_every_row(
    tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    fake = FakeZnuny.service_desk()
    with fake.serve(latency=0.02):
        world = build_world(fake, tmp_path, 30, bad=False, failing=False)
        journal, report = tmp_path / "cierres.sqlite3", tmp_path / "informe.json"
        command, env = batch_command(fake, world.manifest, journal, report)
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while len(closed_in_journal(journal)) < 5 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == code, err[-2000:]
        assert f"{sig.name}: the closures in progress were finished" in err
        data = json.loads(report.read_text())
        assert data["interrupted"] is True and data["interrupted_by"] == sig.name
        assert data["counts"]["not_run"] > 0, "the batch finished before the signal"
        # every row is in the report, with the state its ticket shows
        by_number = {r["ticket_number"]: r["status"] for r in data["results"]}
        assert len(data["results"]) == sum(data["counts"].values()) == 30
        for tid, number in world.valid:
            if by_number[number] == "closed":
                assert_closed_once(fake.ticket(tid))
            else:
                assert by_number[number] == "not_run", by_number[number]
                assert_untouched(fake.ticket(tid))
        # and a re-run closes the rest
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        for tid, _ in world.valid:
            assert_closed_once(fake.ticket(tid))
