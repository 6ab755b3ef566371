"""A 100-row batch on each real server: ``otrs-closure batch`` in a subprocess, killed with
SIGKILL half way, then run again with the same manifest and journal — every ticket ends
closed exactly once (raw read of each: state, owner, one Atendido note, one owner note).
And a batch whose attended state or owner login does not exist on the server is stopped
by the preflight: every row a typed ``InputError``, nothing written.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import lab
import pytest
from live_support import Target, mask

pytestmark = [pytest.mark.live, pytest.mark.skipif(os.name != "posix", reason="needs SIGKILL")]

ROWS = 100
KILL_AFTER = 35  # closures journaled as closed before the kill


def journaled_closed(path: Path) -> int:
    """Rows the batch's journal records closed (read-only; 0 while it does not exist yet)."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
            return int(db.execute("SELECT COUNT(*) FROM closures WHERE status = 'closed'").fetchone()[0])
    except sqlite3.Error:
        return 0


def closed_once(target: Target, tid: int) -> list[str]:
    snap = target.raw.snapshot(tid)
    out = []
    if (snap.state, snap.owner.lower()) != (lab.STATE, target.owner_login.lower()):
        out.append(f"{snap.state}/{snap.owner}")
    for subject in ("Atendido", "Se modifica propietario"):
        if len(snap.with_subject(subject)) != 1:
            out.append(f"{len(snap.with_subject(subject))}× {subject}")
    return out


def is_untouched(target: Target, tid: int) -> bool:
    return not target.raw.snapshot(tid).with_subject("Atendido")


@pytest.mark.compat("batch")
def test_a_killed_100_row_batch_rerun_closes_every_ticket_exactly_once(target: Target, tmp_path: Path) -> None:
    """SIGKILL half way through ``otrs-closure batch``; the re-run finishes the rest, and
    no ticket gets a second note or a second owner change."""
    run = uuid.uuid4().hex[:8]
    with ThreadPoolExecutor(max_workers=8) as pool:
        tickets = list(pool.map(lambda i: target.raw.create_ticket(f"otrs_closure lote {run} fila {i}"), range(ROWS)))
    manifest = tmp_path / "cierres.csv"
    with manifest.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["ticket_number", "kind", "description", "problem", "solution"])
        for i, (_, number) in enumerate(tickets):
            if i % 2:
                w.writerow([number, "incident", f"Lote {run} fila {i}", "Sin red en el piso 2", "Se cambió el switch"])
            else:
                w.writerow([number, "service_request", f"Lote {run} fila {i}: impresora reconfigurada", "", ""])
    journal, report = tmp_path / "cierres.journal", tmp_path / "informe.json"
    env = {**os.environ, **target.env()}
    command = [sys.executable, "-m", "otrs_closure", "batch", str(manifest), "--workers", "6",
               "--journal", str(journal), "--report", str(report)]

    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while journaled_closed(journal) < KILL_AFTER and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, (
        f"the batch ended (exit {proc.returncode}) before it could be killed: {mask(err.decode()[-1500:])}")
    with ThreadPoolExecutor(max_workers=8) as pool:
        untouched = sum(pool.map(lambda t: is_untouched(target, t[0]), tickets))
    assert 0 < untouched < ROWS, f"{untouched} of {ROWS} tickets untouched at the kill: not half way"

    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, mask(done.stdout[-1500:] + done.stderr[-1500:], target.secrets())
    counts = json.loads(report.read_text(encoding="utf-8"))["counts"]
    assert counts.get("failed", 0) == 0 and counts.get("not_run", 0) == 0, counts
    with ThreadPoolExecutor(max_workers=8) as pool:
        problems = {number: p for (_, number), p in zip(tickets, pool.map(lambda t: closed_once(target, t[0]),
                                                                           tickets), strict=True) if p}
    assert problems == {}, f"{len(problems)} tickets not closed exactly once: {dict(list(problems.items())[:10])}"


@pytest.mark.parametrize(("setting", "value"), [("ATTENDED_STATE", "Atendido (no existe)"),
                                                ("OWNER_LOGIN", "no.existe.agente")],
                         ids=["unknown-state", "unknown-owner"])
def test_a_batch_with_an_unknown_state_or_owner_writes_nothing(target: Target, setting: str, value: str,
                                                               tmp_path: Path) -> None:
    """The preflight stops the whole batch before any write: every row reported with the
    typed error (or not run), exit 8, and no ticket changed."""
    tickets = [target.raw.create_ticket(f"otrs_closure lote con {setting.lower()} inexistente {i}") for i in range(3)]
    before = {tid: target.raw.snapshot(tid).summary() for tid, _ in tickets}
    manifest = tmp_path / "cierres.csv"
    with manifest.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["ticket_id", "kind", "description"])
        for i, (tid, _) in enumerate(tickets):
            w.writerow([tid, "service_request", f"Fila {i}"])
    report = tmp_path / "informe.json"
    env = {**os.environ, **target.env(), f"OTRS_CLOSURE_{setting}": value}
    done = subprocess.run([sys.executable, "-m", "otrs_closure", "batch", str(manifest), "--workers", "2",
                           "--report", str(report)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 8, mask(done.stdout[-1500:] + done.stderr[-1500:], target.secrets())
    data = json.loads(report.read_text(encoding="utf-8"))
    counts = data["counts"]
    assert counts.get("closed", 0) == 0 and counts.get("already_closed", 0) == 0, counts
    # The first row's preflight fails; a failure every row would share stops the rest (not_run).
    assert counts.get("failed", 0) >= 1 and counts.get("failed", 0) + counts.get("not_run", 0) == len(tickets), counts
    errors = {f["error"] for f in data["failures"]}
    assert errors == {"InputError"}, errors
    assert data["stopped_by"] is not None and "InputError" in str(data["stopped_by"]), data.get("stopped_by")
    assert {tid: target.raw.snapshot(tid).summary() for tid, _ in tickets} == before
