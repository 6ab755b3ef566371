"""Batch runs against the fake Znuny (``responses`` door): each ticket closed exactly once,
bad rows reported before any write, failures isolated, the journal resuming a killed run,
exit codes and the JSON report."""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from helpers import is_step2, make_file

from otrs_closure import ClosureClient, Incident, InputError, ServiceRequest, TransportError
from otrs_closure.batch import (
    COLUMNS,
    BatchItem,
    BatchResult,
    BatchStatus,
    Journal,
    load_manifest,
    make_progress,
    run_batch,
)
from otrs_closure.cli import EXIT_BATCH_FAILURES, EXIT_INPUT, EXIT_OK, main
from otrs_closure.testing import FakeZnuny, TicketView

PASSWORD_VAR = "OTRS_CLOSURE_ONBOARDING_PASSWORD_BATCH_TEST"
ONBOARDING_PASSWORD = "Temporal#2026"


def root(fake: FakeZnuny) -> str:
    """The server root of the fake's web service URL."""
    assert fake.base_url is not None
    return fake.base_url.split("/otrs/nph-genericinterface.pl")[0]


def new_client(fake: FakeZnuny, **options: Any) -> ClosureClient:
    values: dict[str, Any] = {"username": "tecnico1", "password": "tecnico-pass", "owner_login": "agente.mesa",
                              **options}
    return ClosureClient(base_url=root(fake), sleep=lambda s: None, **values)


@pytest.fixture
def cli_env(fake_znuny: FakeZnuny, monkeypatch: pytest.MonkeyPatch) -> FakeZnuny:
    for name, value in {
        "BASE_URL": root(fake_znuny), "USERNAME": "tecnico1", "PASSWORD": "tecnico-pass",
        "OWNER_LOGIN": "agente.mesa", "RETRY_BACKOFF": "0", "RETRY_BACKOFF_MAX": "0",
    }.items():
        monkeypatch.setenv("OTRS_CLOSURE_" + name, value)
    monkeypatch.setenv(PASSWORD_VAR, ONBOARDING_PASSWORD)
    return fake_znuny


def assert_closed_once(view: TicketView, attachments: int = 2) -> None:
    notes = view.articles_with_subject("Atendido")
    owner_notes = view.articles_with_subject("Se modifica propietario")
    assert view.state == "Atendido", view.ticket_number
    assert view.owner == "agente.mesa", view.ticket_number
    assert len(notes) == 1, (view.ticket_number, [a.subject for a in view.articles])
    assert len(owner_notes) == 1, (view.ticket_number, [a.subject for a in view.articles])
    assert len(notes[0].attachments) == attachments, view.ticket_number
    assert len(view.attachments()) == attachments, view.ticket_number


def assert_untouched(view: TicketView) -> None:
    assert view.state == "new" and view.owner == "tecnico1"
    assert [a.subject for a in view.articles] == [view.title]


def row_for(i: int, number: str, folder: Path) -> dict[str, Any]:
    """A valid row of one of the three kinds, each with both format files."""
    files = {"signed_scan": "formatos/firmado.pdf", "editable": "formatos/formato.docx"}
    kind = ("service_request", "incident", "user_onboarding")[i % 3]
    if kind == "service_request":
        return {"ticket_number": number, "kind": kind, "description": f"Se atendió la solicitud {i}.", **files}
    if kind == "incident":
        return {"ticket_number": number, "kind": kind, "problem": f"Problema {i}", "solution": f"Solución {i}",
                **files}
    return {"ticket_number": number, "kind": kind, "description": f"Alta {i}", "access_url": "https://n.example.mx",
            "login": f"usuario{i}", "password_env": PASSWORD_VAR, **files}


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(COLUMNS))
        w.writeheader()
        w.writerows(rows)
    return path


def formats_folder(folder: Path) -> Path:
    make_file(folder / "formatos", "PDF", "firmado.pdf")
    make_file(folder / "formatos", "DOCX", "formato.docx")
    return folder


@dataclass
class World:
    """A manifest of n valid rows (some already closed on the server), bad rows, and
    rows that fail on the server."""

    manifest: Path
    valid: list[tuple[int, str]]
    already_closed: list[int]
    bad_tickets: list[int]
    bad_rows: int
    failing: int
    inaccessible: int
    extra: dict[str, Any] = field(default_factory=dict)


def build_world(fake: FakeZnuny, folder: Path, n: int, *, already: int = 0, bad: bool = True,
                failing: bool = True, fmt: str = "csv") -> World:
    formats_folder(folder)
    valid = [fake.new_service_desk_ticket(title=f"Ticket {i}") for i in range(n)]
    rows = [row_for(i, number, folder) for i, (_, number) in enumerate(valid)]
    bad_tickets = [fake.new_service_desk_ticket(title=f"Malo {i}") for i in range(6)] if bad else []
    bad_rows: list[dict[str, Any]] = []
    if bad:
        nums = [number for _, number in bad_tickets]
        bad_rows = [
            {"ticket_number": nums[0], "kind": "service_request", "description": " "},
            {"ticket_number": nums[1], "kind": "incident", "problem": "p", "solution": "s",
             "signed_scan": "formatos/no_existe.pdf", "editable": "formatos/formato.docx"},
            {"ticket_number": nums[2], "kind": "user_onboarding", "description": "d", "access_url": "https://x.mx",
             "login": "l", "password_env": "OTRS_CLOSURE_ONBOARDING_PASSWORD_UNSET",
             "signed_scan": "formatos/firmado.pdf", "editable": "formatos/formato.docx"},
            {"ticket_number": nums[3], "kind": "solicitud", "description": "d"},
            {"ticket_number": nums[4], "kind": "service_request", "description": "uno"},
            {"ticket_number": nums[4], "kind": "service_request", "description": "dos"},  # duplicate
            {"ticket_number": nums[5], "kind": "service_request", "description": "d",
             "signed_scan": "formatos/formato.docx", "editable": "formatos/firmado.pdf"},  # a DOCX is no scan
        ]
    fail_rows: list[dict[str, Any]] = []
    inaccessible = 0
    if failing:
        inaccessible, _ = fake.create_ticket("Otra área", queue="Misc", created_by="root@localhost")
        fail_rows = [
            {"ticket_number": "2000010100000019", "kind": "service_request", "description": "no existe"},
            {"ticket_id": str(inaccessible), "kind": "service_request", "description": "sin permiso"},
        ]
    everything = rows[: n // 2] + bad_rows + rows[n // 2 :] + fail_rows
    if fmt == "csv":
        manifest = write_csv(folder / "cierres.csv", everything)
    else:
        manifest = folder / "cierres.jsonl"
        manifest.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in everything), encoding="utf-8")
    closed_before = [tid for tid, _ in valid[:already]]
    if already:
        items, problems = load_manifest(manifest, environ={PASSWORD_VAR: ONBOARDING_PASSWORD})
        by_number = {i.ticket_number: i for i in items}
        with new_client(fake) as client:
            for _, number in valid[:already]:
                item = by_number[number]
                client.close(ticket_number=number, attention=item.attention, formats=item.formats)
    return World(manifest, valid, closed_before, [t for t, _ in bad_tickets], len(bad_rows) - 0, len(fail_rows),
                 inaccessible)


class RecordingStderr(io.StringIO):
    """stderr that remembers how many requests the fake had seen when each line was written."""

    def __init__(self, fake: FakeZnuny) -> None:
        super().__init__()
        self.fake = fake
        self.lines: list[tuple[int, str]] = []

    def write(self, s: str) -> int:
        if s.strip():
            self.lines.append((len(self.fake.requests), s))
        return super().write(s)


@pytest.mark.parametrize("n", [60, pytest.param(500, marks=pytest.mark.slow)])
def test_manifest_closes_every_valid_row_exactly_once(cli_env: FakeZnuny, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    fake = cli_env
    world = build_world(fake, tmp_path, n, already=n // 10)
    stderr = RecordingStderr(fake)
    monkeypatch.setattr("sys.stderr", stderr)
    fake.clear_records()
    report = tmp_path / "informe.json"
    code = main(["batch", str(world.manifest), "--workers", "8", "--report", str(report)])
    assert code == EXIT_BATCH_FAILURES

    # every bad row was reported, all of them before the first request
    invalid_lines = [(seen, text) for seen, text in stderr.lines if ": invalid:" in text]
    assert len(invalid_lines) == 7  # the two rows naming one ticket are both refused
    assert all(seen == 0 for seen, _ in invalid_lines)

    for tid, _ in world.valid:
        assert_closed_once(fake.ticket(tid))
    for tid in world.bad_tickets:
        assert_untouched(fake.ticket(tid))
    assert fake.ticket(world.inaccessible).articles_with_subject("Atendido") == ()

    data = json.loads(report.read_text())
    already = len(world.already_closed)
    assert data["counts"] == {"closed": n - already, "already_closed": already, "skipped_journal": 0,
                              "failed": 2, "invalid": 7, "not_run": 0}
    assert data["ok"] is False and data["total"] == n + 7 + 2
    failures = {f["ticket"]: f for f in data["failures"]}
    assert failures["2000010100000019"]["error"] == "TicketNotFound"
    denied = failures[f"TicketID {world.inaccessible}"]
    assert denied["error"] == "AccessDenied" and denied["error_code"].endswith(".AccessDenied")
    invalid = [f for f in data["failures"] if f["status"] == "invalid"]
    assert len(invalid) == 7 and all(f["error"] == "InputError" and f["problems"] for f in invalid)
    assert ONBOARDING_PASSWORD not in report.read_text()
    assert ONBOARDING_PASSWORD not in stderr.getvalue()
    # the already-closed tickets cost two reads each (search, get), no write
    writes = [r for r in fake.requests if r.operation == "TicketUpdate"]
    assert len(writes) == 2 * (n - already) + 1  # + the preflight, once


def test_jsonl_manifest_runs_the_same(cli_env: FakeZnuny, tmp_path: Path) -> None:
    world = build_world(cli_env, tmp_path, 12, bad=False, failing=False, fmt="jsonl")
    assert main(["batch", str(world.manifest), "--workers", "3"]) == EXIT_OK
    for tid, _ in world.valid:
        assert_closed_once(cli_env.ticket(tid))


def test_dry_run_and_strict_send_nothing(cli_env: FakeZnuny, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    world = build_world(cli_env, tmp_path, 6)
    cli_env.clear_records()
    assert main(["batch", str(world.manifest), "--dry-run"]) == EXIT_INPUT
    assert main(["batch", str(world.manifest), "--strict"]) == EXIT_INPUT
    report = tmp_path / "r.json"
    assert main(["batch", str(world.manifest), "--dry-run", "--report", str(report)]) == EXIT_INPUT
    assert cli_env.requests == []
    err = capsys.readouterr().err
    assert "8 valid, 7 invalid" in err and "nothing sent" in err
    assert json.loads(report.read_text())["counts"]["invalid"] == 7
    clean = build_world(cli_env, tmp_path / "limpio", 4, bad=False, failing=False)
    assert main(["batch", str(clean.manifest), "--dry-run"]) == EXIT_OK
    assert cli_env.requests == []
    for tid, _ in world.valid + clean.valid:
        assert_untouched(cli_env.ticket(tid))


def test_exit_code_zero_only_when_every_row_is_closed(cli_env: FakeZnuny, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    world = build_world(cli_env, tmp_path, 9, already=3, bad=False, failing=False)
    assert main(["batch", str(world.manifest), "--report", "-"]) == EXIT_OK
    out = capsys.readouterr()
    data = json.loads(out.out)
    assert data["ok"] is True and data["counts"]["closed"] == 6 and data["counts"]["already_closed"] == 3
    assert "closed" in out.err  # the table went to stderr, the JSON to stdout
    # a second run finds every ticket closed: still 0, nothing written
    cli_env.clear_records()
    assert main(["batch", str(world.manifest)]) == EXIT_OK
    assert [r for r in cli_env.requests if r.operation == "TicketUpdate"] == []


def test_settings_and_manifest_errors_are_input_errors(cli_env: FakeZnuny, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["batch", str(tmp_path / "no_existe.csv")]) == EXIT_INPUT
    world = build_world(cli_env, tmp_path, 2, bad=False, failing=False)
    for bad in (["--workers", "0"], ["--workers", "65"], ["--rate-limit", "0"], ["--rate-limit", "-1"],
                ["--rate-limit", "nan"], ["--rate-limit", "inf"], ["--recheck"],
                ["--files-root", str(tmp_path / "no_existe")]):
        assert main(["batch", str(world.manifest), *bad]) == EXIT_INPUT, bad
    monkeypatch.delenv("OTRS_CLOSURE_BASE_URL")
    assert main(["batch", str(world.manifest)]) == EXIT_INPUT
    assert cli_env.requests == []


def test_a_journal_skips_finished_rows_without_a_request(cli_env: FakeZnuny, tmp_path: Path) -> None:
    world = build_world(cli_env, tmp_path, 10, bad=False, failing=False)
    journal = tmp_path / "cierres.sqlite3"
    assert main(["batch", str(world.manifest), "--journal", str(journal)]) == EXIT_OK
    cli_env.clear_records()
    report = tmp_path / "r.json"
    assert main(["batch", str(world.manifest), "--journal", str(journal), "--report", str(report)]) == EXIT_OK
    onboardings = [number for i, (_, number) in enumerate(world.valid) if row_for(i, number, tmp_path)["kind"]
                   == "user_onboarding"]
    assert len(onboardings) == 3
    # onboardings (their password is not in the closure identity) are re-read, never skipped
    assert sorted(r.body["TicketNumber"] for r in cli_env.requests if r.operation == "TicketSearch") == sorted(
        onboardings)
    assert {r.operation for r in cli_env.requests} == {"SessionCreate", "TicketSearch", "TicketGet"}
    counts = json.loads(report.read_text())["counts"]
    assert counts["skipped_journal"] == 7 and counts["already_closed"] == 3
    # --recheck asks the server (two reads a row), which finds each closure complete
    assert main(["batch", str(world.manifest), "--journal", str(journal), "--recheck", "--report",
                 str(report)]) == EXIT_OK
    assert json.loads(report.read_text())["counts"]["already_closed"] == 10
    assert {r.operation for r in cli_env.requests} == {"SessionCreate", "TicketSearch", "TicketGet"}
    for tid, _ in world.valid:
        assert_closed_once(cli_env.ticket(tid))


class Killed(BaseException):
    """Stands for the process dying: not an Exception, so nothing catches it."""


def dies_before_owner_write(n: int) -> Callable[[], requests.Session]:
    """A ``session_factory`` for ``ClosureClient`` (its seam for the HTTP session) whose
    process "dies" just before the ``n``-th owner write of the client: that closure's note
    is on the ticket, its owner change is not."""
    owner_writes = 0
    lock = threading.Lock()

    class Session(requests.Session):
        def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
            nonlocal owner_writes
            body = request.body
            if isinstance(body, (bytes, str)) and is_step2(json.loads(body)):
                with lock:
                    owner_writes += 1
                    if owner_writes == n:
                        raise Killed()
            return super().send(request, **kwargs)

    return Session


def test_a_killed_batch_resumes_and_closes_every_ticket_once(fake_znuny: FakeZnuny, tmp_path: Path) -> None:
    world = build_world(fake_znuny, tmp_path, 40, bad=False, failing=False)
    items, problems = load_manifest(world.manifest, environ={PASSWORD_VAR: ONBOARDING_PASSWORD})
    assert problems == []
    journal_path = tmp_path / "j.sqlite3"
    client = new_client(fake_znuny, session_factory=dies_before_owner_write(15))

    first: list[BatchResult] = []
    with Journal(journal_path, server=client.settings.service_url) as journal, pytest.raises(Killed):
        for result in run_batch(client, items, workers=4, journal=journal):
            first.append(result)
    with Journal(journal_path, server=client.settings.service_url) as journal:
        entries = journal.entries()
        recorded_closed = {e.ticket_key for e in entries if e.status == "closed"}
        started = [e for e in entries if e.status == "started"]
    assert 0 < len(recorded_closed) < 40
    assert started, "the killed closure stays 'started' in the journal"
    half_done = [tid for tid, _ in world.valid
                 if len(fake_znuny.ticket(tid).articles_with_subject("Atendido")) == 1
                 and fake_znuny.ticket(tid).owner != "agente.mesa"]
    assert half_done, "a ticket was left between its two writes"

    # the re-run (a new process would build a new client) finishes everything, once
    fake_znuny.clear_records()
    client = new_client(fake_znuny)
    with Journal(journal_path, server=client.settings.service_url) as journal:
        second = list(run_batch(client, items, workers=4, journal=journal))
    statuses = {r.item.key: r.status for r in second if r.item}
    onboardings = {i.key for i in items if i.kind == "user_onboarding"}
    skipped = {k for k, s in statuses.items() if s is BatchStatus.SKIPPED_JOURNAL}
    assert skipped == recorded_closed - onboardings  # an onboarding is never skipped
    assert all(s.ok for s in statuses.values())
    for tid, _ in world.valid:
        assert_closed_once(fake_znuny.ticket(tid))
    # the half-done ticket got only its owner step
    for tid in half_done:
        result = next(r for r in second if r.receipt and r.receipt.ticket_id == tid)
        assert result.status is BatchStatus.CLOSED and result.receipt is not None
        assert result.receipt.steps.note.value == "already_done" and result.receipt.writes_sent == 1
    # skipped rows sent nothing: searches only for the rows that were not journaled closed
    assert len([r for r in fake_znuny.requests if r.operation == "TicketSearch"]) == 40 - len(skipped)


def test_a_failure_does_not_stop_the_others(fake_znuny: FakeZnuny, tmp_path: Path) -> None:
    world = build_world(fake_znuny, tmp_path, 12, bad=False, failing=True)
    items, _ = load_manifest(world.manifest, environ={PASSWORD_VAR: ONBOARDING_PASSWORD})
    victim = world.valid[5][0]
    fake_znuny.fail_write("owner", ticket=victim, times=10)  # step 2 always fails for this ticket
    with new_client(fake_znuny) as client:
        results = list(client.close_many(items, workers=4))
    assert len(results) == len(items)
    by_status: dict[BatchStatus, list[BatchResult]] = {}
    for r in results:
        by_status.setdefault(r.status, []).append(r)
    assert len(by_status[BatchStatus.CLOSED]) == 11
    failed = {r.ticket: r for r in by_status[BatchStatus.FAILED]}
    assert len(failed) == 3
    partial = next(r for r in failed.values() if r.item and r.item.ticket_number == world.valid[5][1])
    assert type(partial.error).__name__ == "PartialClosure"
    assert partial.to_dict()["error"]["receipt"]["steps"]["note"] == "done"
    for tid, _ in world.valid:
        if tid != victim:
            assert_closed_once(fake_znuny.ticket(tid))


def test_one_ticket_by_number_and_by_id_is_closed_once(fake_znuny: FakeZnuny) -> None:
    tid, number = fake_znuny.new_service_desk_ticket()
    items = [
        BatchItem(attention=ServiceRequest(description="por número"), ticket_number=number, row=1),
        BatchItem(attention=ServiceRequest(description="por id"), ticket_id=tid, row=2),
    ]
    with new_client(fake_znuny) as client:
        results = sorted(run_batch(client, items, workers=1), key=lambda r: r.row)
    assert [r.status for r in results] == [BatchStatus.CLOSED, BatchStatus.FAILED]
    assert isinstance(results[1].error, InputError) and "also item 1" in str(results[1].error)
    assert_closed_once(fake_znuny.ticket(tid), attachments=0)


def test_a_systemic_failure_stops_the_batch(fake_znuny: FakeZnuny) -> None:
    tickets = [fake_znuny.new_service_desk_ticket() for _ in range(8)]
    items = [BatchItem(attention=Incident(problem="p", solution="s"), ticket_id=t, row=i + 1)
             for i, (t, _) in enumerate(tickets)]
    with new_client(fake_znuny, owner_login="nadie") as client:
        results = list(run_batch(client, items, workers=1))
    assert len(results) == 8
    assert results[0].status is BatchStatus.FAILED and isinstance(results[0].error, InputError)
    assert results[0].error.field == "owner_login"
    assert {r.status for r in results[1:]} == {BatchStatus.NOT_RUN}
    assert [r for r in fake_znuny.requests if r.operation == "TicketGet"] != []
    assert len([r for r in fake_znuny.requests if r.operation == "TicketUpdate"]) == 1  # the preflight only
    with new_client(fake_znuny, password="mala") as client:
        results = list(run_batch(client, items, workers=2))
    assert type(results[0].error).__name__ == "AuthenticationError"
    assert sum(r.status is BatchStatus.NOT_RUN for r in results) >= 6
    for t, _ in tickets:
        assert_untouched(fake_znuny.ticket(t))


def test_closing_the_iterator_early_starts_no_more_closures(fake_znuny: FakeZnuny) -> None:
    tickets = [fake_znuny.new_service_desk_ticket() for _ in range(30)]
    items = [BatchItem(attention=ServiceRequest(description="x"), ticket_id=t, row=i)
             for i, (t, _) in enumerate(tickets)]
    reported: list[BatchResult] = []
    with new_client(fake_znuny) as client:
        gen = run_batch(client, items, workers=2, progress=reported.append)
        first = next(gen)
        gen.close()
    assert first.ok
    closed = [t for t, _ in tickets if fake_znuny.ticket(t).state == "Atendido"]
    assert 1 <= len(closed) <= 1 + 4  # at most the window in flight
    for t in closed:
        assert_closed_once(fake_znuny.ticket(t), attachments=0)
    # progress heard of every closure, also those that finished after the iterator was closed
    assert sorted(r.item.ticket_id for r in reported if r.item and r.status is BatchStatus.CLOSED) == sorted(closed)
    assert len({r.row for r in reported}) == len(reported)


def test_a_stop_event_finishes_the_closures_in_flight_and_reports_every_row(fake_znuny: FakeZnuny) -> None:
    tickets = [fake_znuny.new_service_desk_ticket() for _ in range(30)]
    items = [BatchItem(attention=ServiceRequest(description="x"), ticket_id=t, row=i)
             for i, (t, _) in enumerate(tickets)]
    stop = threading.Event()

    def progress(result: BatchResult) -> None:
        if result.status is BatchStatus.CLOSED:
            stop.set()  # as a signal handler would, after the first closure

    with new_client(fake_znuny) as client:
        results = list(run_batch(client, items, workers=3, progress=progress, stop=stop))
    assert sorted(r.row for r in results) == list(range(30))  # every item, once
    by_status: dict[BatchStatus, list[int]] = {}
    for r in results:
        assert r.item is not None and r.item.ticket_id is not None
        by_status.setdefault(r.status, []).append(r.item.ticket_id)
    assert set(by_status) == {BatchStatus.CLOSED, BatchStatus.NOT_RUN}
    assert 1 <= len(by_status[BatchStatus.CLOSED]) <= 2 * 3  # what was in flight
    for t in by_status[BatchStatus.CLOSED]:
        assert_closed_once(fake_znuny.ticket(t), attachments=0)
    for t in by_status[BatchStatus.NOT_RUN]:
        assert_untouched(fake_znuny.ticket(t))


def test_python_items_without_closure_id_and_invalid_ones(fake_znuny: FakeZnuny, tmp_path: Path) -> None:
    tid, number = fake_znuny.new_service_desk_ticket()
    other, _ = fake_znuny.new_service_desk_ticket()
    missing = tmp_path / "nada.pdf"
    from otrs_closure import FormatFiles

    missing_files = FormatFiles(signed_scan=missing, editable=missing)  # paths only: checked when prepared
    with new_client(fake_znuny) as client, pytest.raises(InputError):
        client.validate(attention=ServiceRequest(description="x"), formats=missing_files)
    items = [BatchItem(attention=ServiceRequest(description="x"), ticket_number=number, row=1)]
    with new_client(fake_znuny, require_formats=True) as client, \
            Journal(tmp_path / "j.sqlite3", server=client.settings.service_url) as journal:
        results = list(run_batch(client, items, journal=journal))
        assert [r.status for r in results] == [BatchStatus.INVALID]  # require_formats, nothing sent
        assert fake_znuny.requests == []
    with new_client(fake_znuny) as client:
        results = list(client.close_many(items + [BatchItem(attention=ServiceRequest(description="y"),
                                                            ticket_id=other, row=2)], workers=2))
    assert {r.status for r in results} == {BatchStatus.CLOSED}
    assert results[0].receipt is not None and results[0].receipt.closure_id.startswith("oc-")


def test_bad_pool_arguments() -> None:
    client = ClosureClient(base_url="http://x.invalid", username="u", password="p", owner_login="o")
    for bad in (0, -1, 65, True, 2.5):
        with pytest.raises(InputError, match="workers"):
            run_batch(client, [], workers=bad)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="rate_limit"):
        run_batch(client, [], rate_limit=0)
    assert list(run_batch(client, [])) == []


@pytest.mark.parametrize("workers", [1, 3])
def test_rate_limit_spaces_closure_starts(fake_znuny: FakeZnuny, workers: int) -> None:
    # The limiter waits with the client's sleep (its documented seam): recorded here, not
    # slept. At 0.1 closures a second the k-th start waits for its slot k × 10 s after the
    # first, less the (sub-second) time the earlier closures took.
    waits: list[float] = []
    tickets = [fake_znuny.new_service_desk_ticket() for _ in range(5)]
    items = [BatchItem(attention=ServiceRequest(description="x"), ticket_id=t, row=i) for i, (t, _) in
             enumerate(tickets)]
    with fake_znuny.client(sleep=waits.append) as client:
        results = list(run_batch(client, items, workers=workers, rate_limit=0.1))
    assert all(r.ok for r in results) and len(results) == 5
    assert len(waits) == 4  # the first starts at once
    for k, w in enumerate(waits, 1):
        assert 10 * (k - 1) < w <= 10 * k


def test_plain_progress_lines(fake_znuny: FakeZnuny) -> None:
    stream = io.StringIO()
    tid, number = fake_znuny.new_service_desk_ticket()
    items = [BatchItem(attention=ServiceRequest(description="x"), ticket_number=number, row=3, source="m.csv"),
             BatchItem(attention=ServiceRequest(description="x"), ticket_number="2000010100000019", row=4,
                       source="m.csv")]
    with new_client(fake_znuny) as client, make_progress(2, stream) as progress:
        list(run_batch(client, items, workers=1, progress=progress))
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith(f"[1/2] m.csv:3 ticket {number}: closed (oc-")
    assert lines[1].startswith("[2/2] m.csv:4 ticket 2000010100000019: failed: TicketNotFound")



def test_a_manifest_cannot_read_the_agents_password_or_files_outside_its_folder(
    cli_env: FakeZnuny, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    fake = cli_env
    folder = formats_folder(tmp_path / "lote")
    outside = formats_folder(tmp_path_factory.mktemp("otra_carpeta"))
    (tid_pw, n_pw), (tid_file, n_file), (tid_ok, n_ok) = (fake.new_service_desk_ticket() for _ in range(3))
    rows = [
        {**row_for(2, n_pw, folder), "password_env": "OTRS_CLOSURE_PASSWORD"},
        {**row_for(0, n_file, folder), "signed_scan": f"../../{outside.name}/formatos/firmado.pdf"},
        row_for(1, n_ok, folder),
    ]
    manifest = write_csv(folder / "cierres.csv", rows)
    report = tmp_path / "r.json"
    assert main(["batch", str(manifest), "--report", str(report)]) == EXIT_BATCH_FAILURES
    data = json.loads(report.read_text())
    assert data["counts"]["invalid"] == 2 and data["counts"]["closed"] == 1
    fields = sorted(p["field"] for f in data["failures"] for p in f["problems"])
    assert fields == ["formats.signed_scan", "password_env"]
    assert_untouched(fake.ticket(tid_pw))
    assert_untouched(fake.ticket(tid_file))
    assert_closed_once(fake.ticket(tid_ok))
    assert "tecnico-pass" not in report.read_text()
    # --files-root names a wider folder: the file row is valid then
    assert main(["batch", str(manifest), "--files-root", str(tmp_path_factory.getbasetemp()), "--report",
                 str(report)]) == EXIT_BATCH_FAILURES
    assert json.loads(report.read_text())["counts"]["invalid"] == 1
    assert_closed_once(fake.ticket(tid_file))


def test_odd_cells_are_row_problems_and_the_rest_runs(cli_env: FakeZnuny, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    fake = cli_env
    folder = formats_folder(tmp_path)
    (tid_a, n_a), (tid_b, n_b) = fake.new_service_desk_ticket(), fake.new_service_desk_ticket()
    rows = [
        {"ticket_id": "²", "kind": "service_request", "description": "x"},
        {"ticket_id": "٣", "kind": "service_request", "description": "x"},           # int() reads 3
        {"ticket_id": "99999999999999999999", "kind": "service_request", "description": "x"},
        {"ticket_number": n_a, "kind": "[/x]", "description": "x"},                   # rich markup
        {"ticket_number": "[bold]1[/bold]", "kind": "service_request", "description": "x"},
        row_for(0, n_b, folder),
    ]
    manifest = write_csv(folder / "cierres.csv", rows)
    assert main(["batch", str(manifest), "--dry-run"]) == EXIT_INPUT  # not an exit 1 traceback
    report = tmp_path / "r.json"
    code = main(["batch", str(manifest), "--journal", str(tmp_path / "j.sqlite3"), "--report", str(report)])
    out = capsys.readouterr().out
    assert code == EXIT_BATCH_FAILURES
    assert "'[/x]' is not one of" in out and "[bold]1[/bold]" in out  # shown as typed, not as markup
    data = json.loads(report.read_text())
    assert data["counts"]["invalid"] == 5 and data["counts"]["closed"] == 1
    assert [t.ticket_id for t in fake.tickets() if t.articles_with_subject("Atendido")] == [tid_b]  # not TicketID 3
    assert_untouched(fake.ticket(tid_a))
    assert_closed_once(fake.ticket(tid_b))


def test_a_journal_that_is_another_database_is_a_settings_error(cli_env: FakeZnuny, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    import sqlite3

    world = build_world(cli_env, tmp_path, 2, bad=False, failing=False)
    other = tmp_path / "inventario.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE closures (equipo TEXT, fecha TEXT)")
    db.close()
    cli_env.clear_records()
    assert main(["batch", str(world.manifest), "--journal", str(other)]) == EXIT_INPUT
    assert "not an otrs-closure journal" in capsys.readouterr().err
    assert cli_env.requests == []


def test_a_second_batch_on_the_same_journal_through_a_symlink_is_refused(
    cli_env: FakeZnuny, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world = build_world(cli_env, tmp_path, 4, bad=False, failing=False)
    real = tmp_path / "cierres.sqlite3"
    link = tmp_path / "enlace.sqlite3"
    link.symlink_to(real)
    cli_env.clear_records()
    with Journal(real, server=root(cli_env)):  # another batch holds the journal
        assert main(["batch", str(world.manifest), "--journal", str(link)]) == EXIT_INPUT
    assert "in use by another batch" in capsys.readouterr().err
    assert cli_env.requests == []
    for tid, _ in world.valid:
        assert_untouched(cli_env.ticket(tid))


def test_the_journal_never_skips_an_onboarding(cli_env: FakeZnuny, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # The closure identity leaves the onboarding password out, so the journal cannot tell a
    # corrected password from the old one: it must never report done what the ticket does
    # not show. Onboarding rows always go to the server, which decides from the ticket.
    fake = cli_env
    folder = formats_folder(tmp_path)
    (_, n_sr), (tid_on, n_on) = fake.new_service_desk_ticket(), fake.new_service_desk_ticket()
    manifest = write_csv(folder / "cierres.csv", [row_for(0, n_sr, folder), row_for(2, n_on, folder)])
    journal, report = tmp_path / "j.sqlite3", tmp_path / "r.json"
    command = ["batch", str(manifest), "--journal", str(journal), "--report", str(report)]
    assert main(command) == EXIT_OK

    def statuses() -> dict[str, str]:
        return {r["ticket"]: r["status"] for r in json.loads(report.read_text())["results"]}

    fake.clear_records()
    assert main(command) == EXIT_OK  # same inputs: the service request skipped, the onboarding re-read
    assert statuses() == {n_sr: "skipped_journal", n_on: "already_closed"}
    assert [r.body["TicketNumber"] for r in fake.requests if r.operation == "TicketSearch"] == [n_on]
    assert [r for r in fake.requests if r.operation == "TicketUpdate"] == []

    corrected = "Temporal#2026-corregida"
    monkeypatch.setenv(PASSWORD_VAR, corrected)
    fake.clear_records()
    assert main(command) == EXIT_BATCH_FAILURES
    assert statuses() == {n_sr: "skipped_journal", n_on: "failed"}  # not done: the ticket shows the old one
    failure = next(f for f in json.loads(report.read_text())["failures"] if f["ticket"] == n_on)
    assert failure["error"] == "ClosureConflict"
    assert [r for r in fake.requests if r.operation == "TicketUpdate"] == []
    note = fake.ticket(tid_on).articles_with_subject("Atendido")[0]
    assert ONBOARDING_PASSWORD in note.body and corrected not in report.read_text()


@pytest.mark.parametrize("where", ["missing_folder", "a_folder", "the_manifest", "the_journal"])
def test_a_report_that_cannot_be_written_is_refused_before_anything_is_sent(
    cli_env: FakeZnuny, tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    world = build_world(cli_env, tmp_path, 3, bad=False, failing=False)
    journal = tmp_path / "j.sqlite3"
    report = {"missing_folder": tmp_path / "no_existe" / "r.json", "a_folder": tmp_path,
              "the_manifest": world.manifest, "the_journal": journal}[where]
    manifest_before = world.manifest.read_bytes()
    cli_env.clear_records()
    code = main(["batch", str(world.manifest), "--journal", str(journal), "--report", str(report)])
    assert code == EXIT_INPUT
    assert "--report" in capsys.readouterr().err
    assert cli_env.requests == []
    assert world.manifest.read_bytes() == manifest_before
    for tid, _ in world.valid:
        assert_untouched(cli_env.ticket(tid))


def test_the_report_replaces_the_previous_one_whole(cli_env: FakeZnuny, tmp_path: Path) -> None:
    world = build_world(cli_env, tmp_path, 3, bad=False, failing=False)
    report = tmp_path / "r.json"
    report.write_text("informe anterior")
    assert main(["batch", str(world.manifest), "--report", str(report)]) == EXIT_OK
    assert json.loads(report.read_text())["counts"]["closed"] == 3
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary file left


# -- failures every row would share: found once, before the first row or as soon as they come --------


@pytest.mark.parametrize(
    ("setting", "value", "code", "error"),
    [
        # a mistyped web service name: Znuny closes the connection without a word
        ("WEBSERVICE", "GenericTicketConnectorRES", 7, "ConnectionDropped"),
        ("PASSWORD", "contraseña-equivocada", 5, "AuthenticationError"),
        # nothing answers there (responses, which this suite runs under, drops the connection)
        ("BASE_URL", "http://127.0.0.1:9", 7, "ConnectionDropped"),
    ],
)
def test_a_failed_login_is_one_error_and_no_row_runs(
    cli_env: FakeZnuny, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    setting: str, value: str, code: int, error: str,
) -> None:
    world = build_world(cli_env, tmp_path, 50, bad=False, failing=False)
    monkeypatch.setenv(f"OTRS_CLOSURE_{setting}", value)
    cli_env.clear_records()
    report = tmp_path / "r.json"
    assert main(["batch", str(world.manifest), "--workers", "8", "--report", str(report)]) == code
    out, err = capsys.readouterr()
    assert f"cannot log in, so no row was run: {error}" in err
    assert (out + err).count(error) <= 2  # the error line and the summary's one line: not one per row
    assert "contraseña-equivocada" not in out + err
    assert len(out.splitlines()) < 15
    data = json.loads(report.read_text())
    assert data["counts"]["not_run"] == 50 and data["failures"] == []
    assert data["stopped_by"]["error"] == error and data["stopped_by"]["row"] is None
    assert {r["status"] for r in data["results"]} == {"not_run"} and len(data["results"]) == 50
    # One login (none reaches a closed port); a connection closed without an answer — how
    # Znuny meets an unknown web service — is retried as any read is, then the batch stops.
    assert len(cli_env.requests) <= (4 if error == "ConnectionDropped" else 1)
    assert not [r for r in cli_env.requests if r.operation and r.operation.startswith("Ticket")]
    for tid, _ in world.valid:
        assert_untouched(cli_env.ticket(tid))


def test_credentials_refused_mid_run_stop_new_rows_and_are_shown_once(
    fake_znuny: FakeZnuny, tmp_path: Path
) -> None:
    tickets = [fake_znuny.new_service_desk_ticket() for _ in range(20)]
    items = [BatchItem(attention=ServiceRequest(description="x"), ticket_id=t, row=i + 1, source="m.csv")
             for i, (t, _) in enumerate(tickets)]
    results: list[BatchResult] = []

    def progress(result: BatchResult) -> None:
        results.append(result)
        if len(results) == 3:  # the agent is disabled and the session dies: no row can log in again
            fake_znuny.set_agent_valid("tecnico1", False)
            fake_znuny.expire_all_sessions()

    with new_client(fake_znuny) as client:
        list(run_batch(client, items, workers=1, progress=progress))
    results.sort(key=lambda r: r.row)
    statuses = [r.status for r in results]
    closed = statuses.index(BatchStatus.FAILED)
    assert closed in (3, 4)  # the row already submitted when the agent was disabled may still close
    assert statuses == [BatchStatus.CLOSED] * closed + [BatchStatus.FAILED] + [BatchStatus.NOT_RUN] * (19 - closed)
    failed = results[closed]
    assert type(failed.error).__name__ == "AuthenticationError"
    assert all(r.error is failed.error for r in results[closed + 1:])  # the reason they were not run
    assert sessions_created(fake_znuny) <= 1 + 2  # not one (or more) per remaining row

    from datetime import datetime, timezone

    from otrs_closure.batch import BatchSummary

    now = datetime.now(timezone.utc)
    out = io.StringIO()
    summary = BatchSummary(results=results, total=20, started_at=now, finished_at=now)
    summary.print(out)
    text = out.getvalue()
    assert f"{19 - closed} row(s) not run: the batch stopped at m.csv:{closed + 1}" in text
    assert text.count("AuthenticationError") == 2  # the failed row's line and the one reason line
    assert [f.row for f in summary.failures] == [closed + 1]
    assert summary.to_dict()["stopped_by"]["row"] == closed + 1


def sessions_created(fake: FakeZnuny) -> int:
    return len([r for r in fake.requests if r.operation == "SessionCreate"])


def test_an_unreachable_server_mid_run_stops_new_rows(fake_znuny: FakeZnuny) -> None:
    tickets = [fake_znuny.new_service_desk_ticket() for _ in range(12)]
    items = [BatchItem(attention=ServiceRequest(description="x"), ticket_number=n, row=i + 1)
             for i, (_, n) in enumerate(tickets)]
    fake_znuny.inject("connection_refused", operation="TicketSearch", call=3, times=1000)
    with new_client(fake_znuny) as client:
        results = sorted(run_batch(client, items, workers=1), key=lambda r: r.row)
    assert [r.status for r in results[:3]] == [BatchStatus.CLOSED] * 2 + [BatchStatus.FAILED]
    assert isinstance(results[2].error, TransportError) and results[2].error.kind == "connect"
    assert {r.status for r in results[3:]} == {BatchStatus.NOT_RUN}
    searches = len([r for r in fake_znuny.requests if r.operation == "TicketSearch"])
    assert searches <= 2 + 4  # two closures, then one row's retries: not every row's
