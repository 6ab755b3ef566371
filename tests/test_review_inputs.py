"""Review findings on inputs: what an InputError carries along (its chained exceptions),
and texts the server cannot store. (A password where the name of its variable belongs:
tests/test_batch_manifest.py and tests/test_cli.py.)"""

from __future__ import annotations

import logging
import traceback
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
        (lambda: UserOnboarding(description=" ", access_url="https://a.example", login="l", password=ONBOARD_PW),
         ONBOARD_PW),
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


# -- texts the server cannot store ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: ServiceRequest(description="Se reinició\x00 el equipo."), "description"),
        (lambda: Incident(problem="DNS", solution="reinicio\x00"), "solution"),
        (lambda: UserOnboarding(description="Alta", access_url="https://a.example", login="mg\x00",
                                password="x"), "login"),
        (lambda: UserOnboarding(description="Alta", access_url="https://a.example", login="mg",
                                password="Tempo\x00ral"), "password"),
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
        ClosureSettings.build(base_url=BASE, username="u", password="p", owner_login="o",
                              owner_body="Se modifica\x00 propietario")
    assert ei.value.field == "owner_body"
