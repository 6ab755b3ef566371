"""The ``otrs-closure`` command line, run in-process against the fake Znuny."""

from __future__ import annotations

import getpass
import io
import json
import sys
from pathlib import Path

import pytest
from helpers import docx_bytes, make_formats, pdf_bytes

from otrs_closure.cli import EXIT_CODES, main
from otrs_closure.testing import FakeZnuny

AGENT_SECRET = "Canary-Agent-7731"


def write_pdf(path: Path) -> Path:
    path.write_bytes(pdf_bytes())
    return path


def write_docx(path: Path) -> Path:
    path.write_bytes(docx_bytes())
    return path


ONBOARDING_SECRET = "Canary-Onboard-4410"


@pytest.fixture
def env(fake_znuny: FakeZnuny, monkeypatch: pytest.MonkeyPatch) -> FakeZnuny:
    fake_znuny.add_agent("jperez", "Jorge", "Pérez", AGENT_SECRET, groups={"mesa-de-servicio": "rw"})
    assert fake_znuny.base_url
    for name, value in {
        "BASE_URL": fake_znuny.base_url,
        "USERNAME": "jperez",
        "PASSWORD": AGENT_SECRET,
        "OWNER_LOGIN": "agente.mesa",
        "RETRY_BACKOFF": "0",
    }.items():
        monkeypatch.setenv(f"OTRS_CLOSURE_{name}", value)
    return fake_znuny


def _no_secrets(*texts: str) -> None:
    for text in texts:
        assert AGENT_SECRET not in text
        assert ONBOARDING_SECRET not in text


def test_close_service_request_prints_the_receipt(env: FakeZnuny, capsys: pytest.CaptureFixture[str]) -> None:
    ticket = env.new_service_desk_ticket()
    code = main(["close", "--ticket-number", ticket.ticket_number, "--kind", "service_request",
                 "--description", "Se reconfiguró la impresora."])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "state         Atendido" in out and "owner         agente.mesa" in out
    env.assert_ticket(ticket.ticket_id, state="Atendido", owner="agente.mesa",
                      notes_with_subject={"Atendido": 1, "Se modifica propietario": 1})
    _no_secrets(out, err)


def test_close_onboarding_password_from_stdin_json_receipt(
    env: FakeZnuny, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket = env.new_service_desk_ticket()
    scan, editable = write_pdf(tmp_path / "firmado.pdf"), write_docx(tmp_path / "alta.docx")
    monkeypatch.setattr("sys.stdin", io.StringIO(ONBOARDING_SECRET + "\n"))
    code = main(["close", "--ticket-id", str(ticket.ticket_id), "--kind", "user_onboarding",
                 "--description", "Alta en nómina", "--access-url", "https://nomina.example.gob.mx",
                 "--login", "mgarcia", "--password-stdin", "--signed-scan", str(scan), "--editable", str(editable),
                 "--json", "-vv"])
    out, err = capsys.readouterr()
    assert code == 0, err
    receipt = json.loads(out)
    assert receipt["state"] == "Atendido" and receipt["steps"]["attachments"] == "done"
    assert sorted(a["filename"] for a in receipt["attachments"]) == ["alta.docx", "firmado.pdf"]
    note = next(a for a in env.ticket(ticket.ticket_id).articles if a.subject == "Atendido")
    assert f"Contraseña de acceso al Sistema: {ONBOARDING_SECRET}" in note.body  # only on the server
    assert {a.filename: a.content for a in note.attachments} == {
        "alta.docx": editable.read_bytes(), "firmado.pdf": scan.read_bytes()}
    _no_secrets(out, err)


def test_onboarding_password_from_a_named_variable(
    env: FakeZnuny, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket = env.new_service_desk_ticket()
    monkeypatch.setenv("OTRS_CLOSURE_ONBOARDING_PASSWORD_NOMINA", ONBOARDING_SECRET)
    args = ["close", "--ticket-id", str(ticket.ticket_id), "--kind", "user_onboarding", "--description", "Alta",
            "--access-url", "https://nomina.example.gob.mx", "--login", "mgarcia",
            "--password-env", "OTRS_CLOSURE_ONBOARDING_PASSWORD_NOMINA",
            "--signed-scan", str(write_pdf(tmp_path / "a.pdf")), "--editable", str(write_docx(tmp_path / "b.docx"))]
    assert main(args) == 0
    out, err = capsys.readouterr()
    _no_secrets(out, err)


def test_dry_run_prints_the_plan_and_writes_nothing(env: FakeZnuny, capsys: pytest.CaptureFixture[str]) -> None:
    ticket = env.new_service_desk_ticket()
    code = main(["close", "--ticket-number", ticket.ticket_number, "--kind", "incident",
                 "--problem", "Página Web no resuelve por dominio",
                 "--solution", "Se le aplica un reinicio al servidor DNS", "--dry-run"])
    out, _ = capsys.readouterr()
    assert code == 0
    plan = json.loads(out)
    updates = [r for r in plan["requests"] if r["operation"] == "TicketUpdate"]
    assert [u["body"].get("Ticket") for u in updates][-2:] == [{"State": "Atendido"}, {"Owner": "agente.mesa"}]
    assert "Problema Real: Página Web no resuelve por dominio" in updates[-2]["body"]["Article"]["Body"]
    assert env.calls("TicketUpdate") == 0
    assert env.ticket(ticket.ticket_id).state == "new"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--kind", "service_request", "--description", "  "], 2),  # blank text
        (["--kind", "user_onboarding", "--description", "x", "--access-url", "nomina", "--login", "m",
          "--password-env", "OTRS_CLOSURE_ONBOARDING_PASSWORD_UNSET"], 2),  # no password anywhere
        (["--kind", "incident", "--problem", "p"], 2),  # no solution
    ],
)
def test_bad_input_exits_2_and_sends_nothing(
    env: FakeZnuny, capsys: pytest.CaptureFixture[str], args: list[str], expected: int
) -> None:
    ticket = env.new_service_desk_ticket()
    env.clear_records()
    assert main(["close", "--ticket-id", str(ticket.ticket_id), *args]) == expected
    assert env.requests == []
    assert "InputError" in capsys.readouterr().err


def test_exit_codes_for_server_answers(env: FakeZnuny, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    ticket = env.new_service_desk_ticket()
    base = ["close", "--kind", "service_request", "--description", "Hecho."]
    assert main([*base, "--ticket-number", "2026000000000000"]) == 6  # TicketNotFound
    assert main([*base, "--ticket-id", str(ticket.ticket_id)]) == 0
    capsys.readouterr()
    assert main([*base, "--ticket-id", str(ticket.ticket_id), "--description", "Otra cosa.", "--json"]) == 3
    earlier_out, earlier_err = capsys.readouterr()
    # the CLI names its own option, not the library's keyword
    assert "run again with --reclose" in earlier_err and "--reclose" in json.loads(earlier_out)["message"]
    assert "reclose=True" not in earlier_out + earlier_err
    _no_secrets(earlier_out, earlier_err)
    monkeypatch.setenv("OTRS_CLOSURE_PASSWORD", "wrong-" + AGENT_SECRET)
    assert main([*base, "--ticket-id", str(ticket.ticket_id), "--json"]) == 5  # AuthenticationError
    out, err = capsys.readouterr()
    assert json.loads(out)["error_code"] == "SessionCreate.AuthFail"
    _no_secrets(out, err)
    assert set(EXIT_CODES) == {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 130, 141, 143}
    assert "nothing was written" in EXIT_CODES[2]  # requests may have been sent (a read, the preflight)
    from otrs_closure.cli import build_parser

    epilog = build_parser().epilog or ""
    assert all(f"  {code} " in epilog for code in EXIT_CODES)


def test_demo_closes_a_ticket_over_loopback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out, _ = capsys.readouterr()
    assert "state         Atendido" in out and "owner         agente.mesa" in out
    assert "second close(): nothing to do, 0 writes — every step already on the ticket" in out
    assert "Contraseña de acceso al Sistema: ********" in out
    assert "Temporal#2026" not in out


@pytest.mark.parametrize("name", ["OTRS_CLOSURE_PASSWORD", "HOME", "NOMINA_PW"])
def test_password_env_may_only_name_an_onboarding_variable(
    env: FakeZnuny, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    # --password-env OTRS_CLOSURE_PASSWORD would write the agent's own password into the note.
    ticket = env.new_service_desk_ticket()
    monkeypatch.setenv("NOMINA_PW", ONBOARDING_SECRET)
    env.clear_records()
    code = main(["close", "--ticket-id", str(ticket.ticket_id), "--kind", "user_onboarding", "--description", "Alta",
                 "--access-url", "https://nomina.example.gob.mx", "--login", "mgarcia", "--password-env", name,
                 "--json"])
    out, err = capsys.readouterr()
    assert code == 2
    assert json.loads(out)["field"] == "--password-env"
    assert "OTRS_CLOSURE_ONBOARDING_PASSWORD_<NAME>" in err
    assert env.requests == []
    _no_secrets(out, err)


# -- options that cannot mean what was asked: exit 2 before anything is sent -----------------------


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--kind", "service_request", "--description", "x", "--offline"], "--offline"),  # --offline closes nothing
        (["--kind", "incident", "--problem", "p", "--solution", "s", "--login", "m"], "--login"),
        (["--kind", "incident", "--problem", "p", "--solution", "s", "--access-url", "https://a.mx"], "--access-url"),
        (["--kind", "service_request", "--description", "x", "--password-stdin"], "--password-stdin"),
        (["--kind", "service_request", "--description", "x", "--password-env",
          "OTRS_CLOSURE_ONBOARDING_PASSWORD"], "--password-env"),
        (["--kind", "service_request", "--description", "x", "--problem", "p"], "--problem"),
        (["--kind", "user_onboarding", "--description", "x", "--access-url", "https://a.mx", "--login", "m",
          "--password-stdin", "--solution", "s"], "--solution"),
    ],
)
def test_options_the_kind_does_not_use_are_refused(
    env: FakeZnuny, capsys: pytest.CaptureFixture[str], args: list[str], option: str
) -> None:
    ticket = env.new_service_desk_ticket()
    env.clear_records()
    assert main(["close", "--ticket-id", str(ticket.ticket_id), *args, "--json"]) == 2
    out, err = capsys.readouterr()
    assert json.loads(out)["field"] == option
    assert env.requests == []
    assert env.ticket(ticket.ticket_id).state == "new"


@pytest.mark.parametrize("cell", ["٣", "²", "１２３", "7.0", "-3"])
def test_a_ticket_id_option_is_ascii_digits(env: FakeZnuny, capsys: pytest.CaptureFixture[str], cell: str) -> None:
    env.clear_records()
    assert main(["close", "--ticket-id", cell, "--kind", "service_request", "--description", "x"]) == 2
    assert "InputError: --ticket-id" in capsys.readouterr().err
    assert env.requests == []


def test_offline_with_dry_run_reads_nothing(env: FakeZnuny, capsys: pytest.CaptureFixture[str]) -> None:
    env.clear_records()
    assert main(["close", "--ticket-id", "7", "--kind", "service_request", "--description", "x", "--dry-run",
                 "--offline"]) == 0
    assert json.loads(capsys.readouterr().out)["requests"]
    assert env.requests == []


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"otrs-closure {version('otrs_closure')}"


# -- the onboarding password: never echoed, never read with echo on ------------------------------

ONBOARD_PW = "Temporal#2026-Canary"


def test_the_cli_does_not_echo_a_password_given_to_password_env(
    env: FakeZnuny, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["close", "--ticket-id", "2", "--kind", "user_onboarding", "--description", "Alta",
                 "--access-url", "https://nomina.example.gob.mx", "--login", "mgarcia",
                 "--password-env", ONBOARD_PW, "--json"])
    out, err = capsys.readouterr()
    assert code == 2
    assert ONBOARD_PW not in out + err
    assert not env.requests


class _Terminal:
    """Standard input that is a terminal (reading it would echo what is typed)."""

    def isatty(self) -> bool:
        return True

    def readline(self) -> str:
        raise AssertionError("the password was read with echo on")


def test_password_stdin_at_a_terminal_is_read_without_echo(
    env: FakeZnuny, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    prompts: list[str] = []
    monkeypatch.setattr(sys, "stdin", _Terminal())
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": prompts.append(prompt) or ONBOARD_PW)
    ticket = env.new_service_desk_ticket()
    formats = make_formats(tmp_path)
    code = main(["close", "--ticket-id", str(ticket.ticket_id), "--kind", "user_onboarding", "--description", "Alta",
                 "--access-url", "https://nomina.example.gob.mx", "--login", "mgarcia", "--password-stdin",
                 "--signed-scan", str(formats.signed_scan), "--editable", str(formats.editable)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert len(prompts) == 1
    assert ONBOARD_PW not in out + err
    note = [a for a in env.ticket(ticket.ticket_id).articles if a.subject == "Atendido"]
    assert len(note) == 1 and f"Contraseña de acceso al Sistema: {ONBOARD_PW}" in note[0].body
