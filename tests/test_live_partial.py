"""Real refusals on each server, before and half way through a closure.

* The preflight (on by default) refuses an unknown state or owner login with a typed
  ``InputError`` before anything is written.
* With the preflight off, the server itself refuses: a missing state is refused on the
  first write (nothing written: the server's own ``InvalidParameter``); a wrong owner login
  is refused on the second write, after the note was written (``PartialClosure`` whose
  ``.receipt`` says what was done and what remains).
* An agent with ``note`` but without ``owner`` permission (added to the lab systems by
  the suite: ``tecnico.nota``, ro + note) gets the server's refusal; what the ticket
  shows decides which documented error it must be (README "Faults"): ``PartialClosure``
  when something was written, the server's ``AccessDenied`` when nothing was.

Each time, the same closure resumed with the right agent/settings completes, with
nothing doubled (raw read: one note, the files once, one owner note).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import live_compat
import pytest
from helpers import make_file
from live_support import FIXTURE_USERS, Target, closure_problems, ensure_agent, mask, unique

from otrs_closure import (
    AccessDenied,
    FormatFiles,
    InputError,
    InvalidParameter,
    OtrsClosureError,
    PartialClosure,
    StepStatus,
    UserOnboarding,
)

pytestmark = [pytest.mark.live]

NO_SUCH_STATE = "Atendido (no existe)"
NO_SUCH_OWNER = "no.existe.agente"


def onboarding(tmp_path: Path) -> tuple[UserOnboarding, FormatFiles, list[bytes]]:
    scan = make_file(tmp_path, "PDF", "alta firmada.pdf")
    editable = make_file(tmp_path, "DOCX", "formato de alta.docx")
    attention = UserOnboarding(description=unique("Alta en nómina."), access_url="https://nomina.example.gob.mx",
                               login="mgarcia", password="Temporal#2026")
    return attention, FormatFiles(signed_scan=scan, editable=editable), [scan.read_bytes(), editable.read_bytes()]


def resume_and_check(target: Target, tid: int, number: str, attention: Any, formats: FormatFiles,
                     contents: list[bytes], before: Any) -> None:
    with target.client() as client:
        receipt = client.close(ticket_number=number, attention=attention, formats=formats)
    after = target.raw.snapshot(tid)
    problems = closure_problems(after, target, attention=attention, contents=contents, receipt=receipt, before=before)
    assert problems == [], mask(problems)


@pytest.mark.parametrize(("setting", "value", "field"), [("attended_state", NO_SUCH_STATE, "attended_state"),
                                                         ("owner_login", NO_SUCH_OWNER, "owner_login")],
                         ids=["unknown-state", "unknown-owner"])
def test_preflight_refuses_with_a_typed_error_and_writes_nothing(target: Target, setting: str, value: str,
                                                                 field: str, tmp_path: Path) -> None:
    """Preflight on (the default): InputError naming the setting; the ticket is unchanged."""
    attention, formats, _ = onboarding(tmp_path)
    tid, number = target.raw.create_ticket(f"otrs_closure en vivo: preflight {setting}")
    before = target.raw.snapshot(tid)
    with target.client(**{setting: value}) as client, pytest.raises(InputError) as info:
        client.close(ticket_number=number, attention=attention, formats=formats)
    assert info.value.field == field
    assert target.raw.snapshot(tid).summary() == before.summary()


@pytest.mark.compat("partial")
def test_a_missing_state_without_preflight_is_the_servers_error_then_resumes(target: Target, tmp_path: Path) -> None:
    """Preflight off, state missing: the first write is refused at validation, nothing is
    written, and close() raises the server's InvalidParameter (not PartialClosure)."""
    attention, formats, contents = onboarding(tmp_path)
    tid, number = target.raw.create_ticket("otrs_closure en vivo: estado inexistente")
    before = target.raw.snapshot(tid)
    with target.client(attended_state=NO_SUCH_STATE, preflight="false") as client, \
            pytest.raises(OtrsClosureError) as info:
        client.close(ticket_number=number, attention=attention, formats=formats)
    assert type(info.value) is InvalidParameter, f"{type(info.value).__name__}: {mask(info.value)}"
    assert (info.value.error_code or "").endswith("InvalidParameter")
    assert target.raw.snapshot(tid).summary() == before.summary()
    resume_and_check(target, tid, number, attention, formats, contents, before)


@pytest.mark.compat("partial")
def test_a_wrong_owner_login_without_preflight_is_partial_then_resumes(target: Target, tmp_path: Path) -> None:
    """Preflight off, owner unknown: the note, its files and the state are written, the
    owner change is refused: PartialClosure whose receipt says exactly that; resumed with
    the right owner login it completes without a second note or second files."""
    attention, formats, contents = onboarding(tmp_path)
    tid, number = target.raw.create_ticket("otrs_closure en vivo: propietario inexistente")
    before = target.raw.snapshot(tid)
    with target.client(owner_login=NO_SUCH_OWNER, preflight="false") as client, \
            pytest.raises(PartialClosure) as info:
        client.close(ticket_number=number, attention=attention, formats=formats)
    partial = info.value
    half = target.raw.snapshot(tid)
    notes = half.with_subject("Atendido")
    assert isinstance(partial.cause, InvalidParameter), repr(partial.cause)
    steps = partial.receipt.steps
    assert (steps.note, steps.attachments, steps.state) == (StepStatus.DONE,) * 3, steps
    assert (steps.owner, steps.owner_note) == (StepStatus.PENDING,) * 2, steps
    assert set(partial.receipt.remaining) == {"owner", "owner_note"}
    assert len(notes) == 1 and partial.receipt.note_article_id == notes[0].article_id
    assert (half.state, half.owner) == ("Atendido", before.owner)
    assert sorted(c for _, c in notes[0].attachments) == sorted(contents)
    assert half.with_subject("Se modifica propietario") == []
    resume_and_check(target, tid, number, attention, formats, contents, before)


@pytest.mark.compat("partial")
def test_an_agent_without_owner_permission_gets_the_documented_error_then_resumes(target: Target,
                                                                                 tmp_path: Path) -> None:
    """An agent with note but no owner permission: if the server let it write the note, a
    PartialClosure with the owner steps pending; if it wrote nothing, the server's
    AccessDenied. Either way the closure resumed by a full agent completes, nothing doubled."""
    if target.system is None:
        pytest.skip("needs a lab system (the suite adds the agent with the system's console)")
    login = "tecnico.nota"
    ensure_agent(target.system, login, ["ro", "note"])
    attention, formats, contents = onboarding(tmp_path)
    tid, number = target.raw.create_ticket("otrs_closure en vivo: agente sin permiso de propietario")
    before = target.raw.snapshot(tid)
    with target.client(username=login, password=FIXTURE_USERS[login]) as client, \
            pytest.raises(OtrsClosureError) as info:
        client.close(ticket_number=number, attention=attention, formats=formats)
    half = target.raw.snapshot(tid)
    wrote = half.summary() != before.summary()
    live_compat.RECORDER.note(target.name, "partial", "an agent without owner permission: " + (
        "something was written" if wrote else "nothing was written") + f", close() raised {type(info.value).__name__}"
        + (f" ({info.value.cause.error_code})" if isinstance(info.value, PartialClosure) else
           f" ({info.value.error_code or info.value.http_status})"))
    if not wrote:
        assert type(info.value) is AccessDenied, f"nothing was written, yet {type(info.value).__name__}: " \
                                                 f"{mask(info.value)}"
    else:
        assert isinstance(info.value, PartialClosure), f"the ticket changed, yet {type(info.value).__name__}"
        assert isinstance(info.value.cause, AccessDenied), repr(info.value.cause)
        steps = info.value.receipt.steps
        assert steps.note in (StepStatus.DONE, StepStatus.ALREADY_DONE) and steps.owner is StepStatus.PENDING, steps
        assert len(half.with_subject("Atendido")) == 1 and half.owner == before.owner
    resume_and_check(target, tid, number, attention, formats, contents, before)
