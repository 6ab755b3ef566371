"""Review findings on inputs: what an InputError carries along (its chained exceptions),
a password written where a variable's *name* belongs, and texts the server cannot store."""

from __future__ import annotations

import json
import logging
import traceback
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from otrs_closure import (
    ClosureClient,
    ClosureSettings,
    Incident,
    InputError,
    ServiceRequest,
    UserOnboarding,
)
from otrs_closure.batch import BatchResult, load_manifest
from otrs_closure.cli import main
from otrs_closure.testing import FakeZnuny

AGENT_PW = "AgentePw-Canary-91c3"
ONBOARD_PW = "Temporal#2026-Canary"
BASE = "https://mesa.example.gob.mx"
PIN = 20261128  # a numeric password (named, so that tracebacks quote the name, not the value)


def chain_texts(exc: BaseException) -> list[str]:
    """Every text reachable from the error: str and repr of it and of each chained
    exception (suppressed or not), a pydantic error's full JSON (with its inputs), and
    the traceback as Python prints it."""
    out = ["".join(traceback.format_exception(exc))]
    seen: list[BaseException] = []
    stack: list[BaseException | None] = [exc]
    while stack:
        cur = stack.pop()
        if cur is None or any(cur is s for s in seen):
            continue
        seen.append(cur)
        out += [str(cur), repr(cur)]
        if isinstance(cur, ValidationError):
            out.append(cur.json())
        stack += [cur.__cause__, cur.__context__]
    return out


def assert_absent(secret: str, texts: list[str]) -> None:
    for text in texts:
        assert secret not in text, text[:400]


# -- InputError chains ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "secret"),
    [
        # a wrongly typed password: pydantic's message quotes the input
        (lambda: UserOnboarding(description="d", access_url="https://a.example", login="l", password=PIN), str(PIN)),
        (lambda: ClosureClient(BASE, "jperez", PIN, "agente.mesa"), str(PIN)),
        # a problem elsewhere: pydantic's error keeps the whole input, password included
        (
            lambda: UserOnboarding(description=" ", access_url="https://a.example", login="l", password=ONBOARD_PW),
            ONBOARD_PW,
        ),
        (lambda: ClosureClient(BASE, "jperez", AGENT_PW, "agente.mesa", ca_bundle="/no/such/ca.pem"), AGENT_PW),
        (lambda: ClosureClient(BASE, "jperez", AGENT_PW, "agente.mesa", lock_dir="/no/such/dir"), AGENT_PW),
        (lambda: ClosureSettings.build(base_url="nope", username="u", password=AGENT_PW, owner_login="o"), AGENT_PW),
    ],
    ids=["onboarding-pw-type", "agent-pw-type", "onboarding-other-field", "ca-bundle", "lock-dir", "base-url"],
)
def test_an_input_error_chains_no_secret(make: Any, secret: str) -> None:
    with pytest.raises(InputError) as ei:
        make()
    assert_absent(secret, chain_texts(ei.value))


# -- a password where the name of its variable belongs -------------------------------------------


def _manifest(tmp_path: Path, password_env: str) -> Path:
    path = tmp_path / "m.jsonl"
    row = {
        "ticket_number": "2026112810000011",
        "kind": "user_onboarding",
        "description": "Alta",
        "access_url": "https://nomina.example.gob.mx",
        "login": "mgarcia",
        "password_env": password_env,
    }
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("cell", [ONBOARD_PW, "Temporal2026canary", "temporal_2026"])
def test_a_password_in_the_password_env_column_is_not_echoed(tmp_path: Path, cell: str) -> None:
    # A common slip: the password itself in password_env. Whether it is not a variable
    # name at all or names no variable that is set, the problem must not quote it: the
    # problems are printed, written to the report and to logs.
    items, problems = load_manifest(_manifest(tmp_path, cell), environ={})
    assert not items and [p.field for p in problems] == ["password_env"]
    texts = [str(p) for p in problems] + [json.dumps(p.to_dict()) for p in problems]
    texts += [r.describe() for r in BatchResult.invalid_rows(problems)]
    assert_absent(cell, texts)


def test_a_conventional_variable_name_is_still_named(tmp_path: Path) -> None:
    _, problems = load_manifest(_manifest(tmp_path, "PW_MGARCIA"), environ={})
    assert "PW_MGARCIA is not set" in str(problems[0])


def test_the_cli_does_not_echo_a_password_given_to_password_env(
    fake_znuny: FakeZnuny, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in {
        "BASE_URL": fake_znuny.base_url or "",
        "USERNAME": "tecnico1",
        "PASSWORD": "tecnico-pass",
        "OWNER_LOGIN": "agente.mesa",
    }.items():
        monkeypatch.setenv(f"OTRS_CLOSURE_{name}", value)
    code = main(
        [
            "close",
            "--ticket-id",
            "2",
            "--kind",
            "user_onboarding",
            "--description",
            "Alta",
            "--access-url",
            "https://nomina.example.gob.mx",
            "--login",
            "mgarcia",
            "--password-env",
            ONBOARD_PW,
            "--json",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 2
    assert_absent(ONBOARD_PW, [out, err])
    assert not fake_znuny.requests


# -- texts the server cannot store ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: ServiceRequest(description="Se reinició\x00 el equipo."), "description"),
        (lambda: Incident(problem="DNS", solution="reinicio\x00"), "solution"),
        (
            lambda: UserOnboarding(description="Alta", access_url="https://a.example", login="mg\x00", password="x"),
            "login",
        ),
        (
            lambda: UserOnboarding(
                description="Alta", access_url="https://a.example", login="mg", password="Tempo\x00ral"
            ),
            "password",
        ),
    ],
)
def test_a_nul_character_is_refused_before_any_request(make: Any, field: str, caplog: Any) -> None:
    # PostgreSQL (the recordings' database) cannot store NUL in text: Znuny would write the
    # state, then fail creating the article (HTTP 500) — on every run, since the input does
    # not change: a ticket left "Atendido" without its note.
    caplog.set_level(logging.DEBUG)
    with pytest.raises(InputError) as ei:
        make()
    assert ei.value.field == field
    assert "Tempo" not in str(ei.value)


def test_a_nul_character_in_a_note_setting_is_refused() -> None:
    with pytest.raises(InputError) as ei:
        ClosureSettings.build(
            base_url=BASE, username="u", password="p", owner_login="o", owner_body="Se modifica\x00 propietario"
        )
    assert ei.value.field == "owner_body"


class _Terminal:
    """Standard input that is a terminal (reading it would echo what is typed)."""

    def isatty(self) -> bool:
        return True

    def readline(self) -> str:
        raise AssertionError("the password was read with echo on")


def test_password_stdin_at_a_terminal_is_read_without_echo(
    fake_znuny: FakeZnuny, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from helpers import make_formats

    import otrs_closure.cli as cli

    for name, value in {
        "BASE_URL": fake_znuny.base_url or "",
        "USERNAME": "tecnico1",
        "PASSWORD": "tecnico-pass",
        "OWNER_LOGIN": "agente.mesa",
    }.items():
        monkeypatch.setenv(f"OTRS_CLOSURE_{name}", value)
    prompts: list[str] = []
    monkeypatch.setattr(cli.sys, "stdin", _Terminal())
    monkeypatch.setattr(cli.getpass, "getpass", lambda prompt="": prompts.append(prompt) or ONBOARD_PW)
    ticket = fake_znuny.new_service_desk_ticket()
    formats = make_formats(tmp_path)
    code = main(
        [
            "close",
            "--ticket-id",
            str(ticket.ticket_id),
            "--kind",
            "user_onboarding",
            "--description",
            "Alta",
            "--access-url",
            "https://nomina.example.gob.mx",
            "--login",
            "mgarcia",
            "--password-stdin",
            "--signed-scan",
            str(formats.signed_scan),
            "--editable",
            str(formats.editable),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert len(prompts) == 1
    assert_absent(ONBOARD_PW, [out, err])
    note = [a for a in fake_znuny.ticket(ticket.ticket_id).articles if a.subject == "Atendido"]
    assert len(note) == 1 and f"Contraseña de acceso al Sistema: {ONBOARD_PW}" in note[0].body
