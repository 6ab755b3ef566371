"""``otrs-closure audit``, in-process against the fake Znuny: the reports it writes, its
exit codes (0 compliant, 9 not, 2 bad input, 5 credentials, 6 a listed ticket unreadable,
7 the server), and the same counts in every report."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from otrs_closure.cli import EXIT_AUDIT_NONCOMPLIANT, EXIT_CODES, main
from otrs_closure.testing import HAND_CLOSURES, FakeZnuny, Fault, new_hand_closed_ticket
from otrs_closure.testing.handclosed import hand_closed_tickets

SECRET = "Temporal#2026"


@pytest.fixture
def env(fake_znuny: FakeZnuny, monkeypatch: pytest.MonkeyPatch) -> FakeZnuny:
    assert fake_znuny.base_url
    for name, value in {
        "BASE_URL": fake_znuny.base_url,
        "USERNAME": "lector",
        "PASSWORD": "lector-pass",
        "OWNER_LOGIN": "agente.mesa",
        "RETRY_BACKOFF": "0",
        "RETRY_ATTEMPTS": "2",
    }.items():
        monkeypatch.setenv(f"OTRS_CLOSURE_{name}", value)
    return fake_znuny


def test_every_report_at_once_with_the_same_counts(
    env: FakeZnuny, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made = hand_closed_tickets(env)
    csv_path, html_path = tmp_path / "audit.csv", tmp_path / "audit.html"
    code = main(["audit", "--queue", "Mesa de Servicio", "--state", "Atendido", "--state", "new",
                 "--json", "--csv", str(csv_path), "--html", str(html_path)])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == EXIT_AUDIT_NONCOMPLIANT == 9
    doc = json.loads(out)
    assert {t["ticket_id"] for t in doc["tickets"]} == {t.ticket_id for t in made.values()}
    for name, t in made.items():
        got = next(x for x in doc["tickets"] if x["ticket_id"] == t.ticket_id)
        assert set(got["problems"]) == HAND_CLOSURES[name].expected
    rows = list(csv.DictReader(io.StringIO(csv_path.read_text(encoding="utf-8"))))
    assert sorted(int(r["ticket_id"]) for r in rows) == sorted(t["ticket_id"] for t in doc["tickets"])
    assert sum(r["compliant"] == "no" for r in rows) == doc["summary"]["non_compliant"]
    page = html_path.read_text(encoding="utf-8")
    assert f'data-count="non_compliant">{doc["summary"]["non_compliant"]}<' in page
    for text in (out, err, page, csv_path.read_text(encoding="utf-8")):
        assert SECRET not in text
    assert f"{doc['summary']['non_compliant']} non-compliant" in err


def test_exit_0_when_every_ticket_read_is_compliant(env: FakeZnuny, capsys: pytest.CaptureFixture[str]) -> None:
    good = [new_hand_closed_ticket(env, n) for n in ("service_request", "onboarding_typed", "incident_typed")]
    code = main(["audit", *(a for t in good for a in ("--ticket-id", str(t.ticket_id)))])
    out, _ = capsys.readouterr()
    assert code == 0
    assert "3 ticket(s) read, 3 compliant, 0 non-compliant" in out


def test_the_table_lists_the_non_compliant_tickets(env: FakeZnuny, capsys: pytest.CaptureFixture[str]) -> None:
    bad = new_hand_closed_ticket(env, "order")
    good = new_hand_closed_ticket(env, "service_request")
    code = main(["audit", "--ticket-number", bad.ticket_number, "--ticket-number", good.ticket_number])
    out, _ = capsys.readouterr()
    assert code == 9
    assert bad.ticket_number in out and good.ticket_number not in out.split("non-compliant ticket(s):")[1]


def test_exit_6_when_a_listed_ticket_cannot_be_read(env: FakeZnuny, capsys: pytest.CaptureFixture[str]) -> None:
    good = new_hand_closed_ticket(env, "service_request")
    code = main(["audit", "--ticket-id", str(good.ticket_id), "--ticket-number", "2020010110000019", "--json"])
    out, _ = capsys.readouterr()
    assert code == 6
    assert json.loads(out)["unreadable"][0]["error"] == "TicketNotFound"


@pytest.mark.parametrize(
    "argv",
    [
        ["--since", "yesterday"],
        ["--until", "2026-13-01"],
        ["--since", "2026-12-02", "--until", "2026-12-01"],
        ["--ticket-id", "1", "--queue", "Mesa de Servicio"],
        ["--workers", "0"],
        ["--per-request", "500"],
        ["--limit", "0"],
        ["--json", "--csv", "-"],
        ["--csv", "/no/such/folder/audit.csv"],
        ["--html", "."],
    ],
)
def test_exit_2_for_bad_input_with_nothing_sent(
    env: FakeZnuny, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    env.clear_records()
    assert main(["audit", *argv]) == 2
    assert env.requests == []
    assert "InputError" in capsys.readouterr().err


def test_exit_5_for_refused_credentials(env: FakeZnuny, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTRS_CLOSURE_PASSWORD", "wrong")
    assert main(["audit", "--queue", "Mesa de Servicio"]) == 5


def test_exit_7_when_the_server_fails(env: FakeZnuny, capsys: pytest.CaptureFixture[str]) -> None:
    new_hand_closed_ticket(env, "order")
    env.inject(Fault.UNAVAILABLE, operation="TicketSearch", times=10, retry_after=0)
    assert main(["audit", "--queue", "Mesa de Servicio"]) == 7
    assert "ServerError" in capsys.readouterr().err


def test_csv_on_stdout(env: FakeZnuny, capsys: pytest.CaptureFixture[str]) -> None:
    t = new_hand_closed_ticket(env, "note_public")
    assert main(["audit", "--ticket-id", str(t.ticket_id), "--csv", "-"]) == 9
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["ticket_id"], r["problems"]) for r in rows] == [(str(t.ticket_id), "note_public")]


def test_exit_code_9_is_documented() -> None:
    assert EXIT_CODES[9].startswith("audit:")


def test_progress_on_a_terminal_only() -> None:
    from otrs_closure.cli.audit import _progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    term, pipe = Terminal(), io.StringIO()
    with _progress(term) as update:
        assert update is not None
        update(3, 10)
        update(10, 10)
    assert "auditing" in term.getvalue() and "10/10" in term.getvalue()
    with _progress(pipe) as update:
        assert update is None
    assert pipe.getvalue() == ""
