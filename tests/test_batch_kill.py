"""A batch process killed half-way (SIGKILL, no chance to clean up) and run again with the
same journal closes every ticket exactly once. The CLI runs in a subprocess against the
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
    build_world,
    root,
)

from otrs_closure.testing import FakeZnuny

pytestmark = pytest.mark.skipif(os.name != "posix", reason="needs SIGKILL")


def closed_in_journal(path: Path) -> int:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
            return int(db.execute("SELECT COUNT(*) FROM closures WHERE status = 'closed'").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_a_killed_process_resumes_from_its_journal(tmp_path: Path) -> None:
    fake = FakeZnuny.service_desk()
    with fake.serve(latency=0.01):
        world = build_world(fake, tmp_path, 30, already=3, bad=False, failing=False)
        journal = tmp_path / "cierres.sqlite3"
        report = tmp_path / "informe.json"
        env = {
            **os.environ,
            "OTRS_CLOSURE_BASE_URL": root(fake),
            "OTRS_CLOSURE_USERNAME": "tecnico1",
            "OTRS_CLOSURE_PASSWORD": "tecnico-pass",
            "OTRS_CLOSURE_OWNER_LOGIN": "agente.mesa",
            PASSWORD_VAR: ONBOARDING_PASSWORD,
        }
        command = [
            sys.executable,
            "-m",
            "otrs_closure.cli",
            "batch",
            str(world.manifest),
            "--workers",
            "3",
            "--journal",
            str(journal),
            "--report",
            str(report),
        ]
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while closed_in_journal(journal) < 8 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL, "the batch finished before it could be killed"
        assert not report.exists()
        killed_at = closed_in_journal(journal)
        unfinished = [tid for tid, _ in world.valid if fake.ticket(tid).owner != "agente.mesa"]
        assert 8 <= killed_at and unfinished, (killed_at, len(unfinished))

        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        data = json.loads(report.read_text())
        assert data["counts"]["skipped_journal"] == killed_at
        assert data["counts"]["failed"] == 0 and data["counts"]["not_run"] == 0
        assert sum(data["counts"][s] for s in ("closed", "already_closed", "skipped_journal")) == 30
        for tid, _ in world.valid:
            assert_closed_once(fake.ticket(tid))
