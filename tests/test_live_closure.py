"""The closure itself on each real server: every kind, by ticket number and by ticket id,
leaves exactly what the manual prescribes, and a second close writes nothing.

Each test creates its own ticket (raw TicketCreate), reads it back with raw
GenericInterface requests before and after (``live_support.RawGI``, not the library),
and compares: state Atendido, owner "Agente Mesa de Servicio", exactly one internal
"Atendido" note with the manual's labels and values, the format files byte-identical
on it, one "Se modifica propietario" note after it, and ``receipt.attended_at`` equal to
the note's creation time as the server shows it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import make_file
from live_support import Snapshot, Target, closure_problems, mask, unique

from otrs_closure import ClosureReceipt, FormatFiles, Incident, ServiceRequest, StepStatus, UserOnboarding

pytestmark = pytest.mark.live

KINDS = ("service_request", "user_onboarding", "incident")


def attention_of(kind: str) -> Any:
    if kind == "service_request":
        return ServiceRequest(description=unique("Se reconfiguró la impresora del piso 3."))
    if kind == "user_onboarding":
        return UserOnboarding(description=unique("Se dio de alta al usuario en el sistema de nómina."),
                              access_url="https://nomina.example.gob.mx", login="mgarcia", password="Temporal#2026")
    return Incident(problem="Página Web no resuelve por dominio", solution="Se le aplica un reinicio al servidor DNS",
                    description=unique("Se revisó la resolución de nombres."))


def formats_in(directory: Path) -> tuple[FormatFiles, list[bytes]]:
    scan = make_file(directory, "PDF", "alta firmada.pdf")
    editable = make_file(directory, "DOCX", "formato de alta.docx")
    return FormatFiles(signed_scan=scan, editable=editable), [scan.read_bytes(), editable.read_bytes()]


class Closed:
    """One closure done by the first close, for the second-close tests."""

    def __init__(self, tid: int, number: str, attention: Any, formats: FormatFiles | None, before: Snapshot,
                 after: Snapshot, receipt: ClosureReceipt) -> None:
        self.tid, self.number, self.attention, self.formats = tid, number, attention, formats
        self.before, self.after, self.receipt = before, after, receipt


_closed: dict[tuple[str, str, str], Closed] = {}


def first_close(target: Target, kind: str, by: str, directory: Path) -> Closed:
    tid, number = target.raw.create_ticket(f"otrs_closure en vivo: {kind} por {by}")
    before = target.raw.snapshot(tid)
    attention = attention_of(kind)
    formats, _ = formats_in(directory) if kind == "user_onboarding" else (None, [])
    ref: dict[str, Any] = {"ticket_number": number} if by == "number" else {"ticket_id": tid}
    with target.client() as client:
        receipt = client.close(attention=attention, formats=formats, **ref)
    closed = Closed(tid, number, attention, formats, before, target.raw.snapshot(tid), receipt)
    _closed[(target.name, kind, by)] = closed
    return closed


@pytest.mark.parametrize("by", ["number", "id"])
@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_closes_end_to_end(target: Target, kind: str, by: str, request: pytest.FixtureRequest,
                                     tmp_path: Path) -> None:
    """close() leaves the ticket exactly as the manual prescribes, and its receipt says so."""
    request.applymarker(pytest.mark.compat("by_number" if by == "number" else "by_id"))
    closed = first_close(target, kind, by, tmp_path)
    contents = [f.read_bytes() for f in (closed.formats.signed_scan, closed.formats.editable)] if closed.formats else []
    problems = closure_problems(closed.after, target, attention=closed.attention, contents=contents,
                                receipt=closed.receipt, before=closed.before)
    assert problems == [], mask(problems)
    assert closed.receipt.ticket_id == closed.tid and closed.receipt.ticket_number == closed.number
    # Nothing else was touched: the articles before the closure are still there, unchanged.
    assert closed.after.articles[: len(closed.before.articles)] == closed.before.articles
    assert len(closed.after.articles) == len(closed.before.articles) + 2


@pytest.mark.compat("rerun")
@pytest.mark.parametrize("by", ["number", "id"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_second_close_writes_nothing(target: Target, kind: str, by: str, tmp_path: Path) -> None:
    """The same close() again finds every step done and sends no write: article count,
    history and the ticket's change time are unchanged."""
    closed = _closed.get((target.name, kind, by)) or first_close(target, kind, by, tmp_path)
    assert closed.receipt.complete, f"the first close did not complete: {closed.receipt.remaining}"
    ref: dict[str, Any] = {"ticket_number": closed.number} if by == "number" else {"ticket_id": closed.tid}
    with target.client() as client:
        again = client.close(attention=closed.attention, formats=closed.formats, **ref)
    now = target.raw.snapshot(closed.tid)
    assert now.summary() == closed.after.summary()
    assert again.writes_sent == 0
    assert again.complete and all(
        v in (StepStatus.ALREADY_DONE, StepStatus.NOT_APPLICABLE) for v in again.steps.model_dump().values()
    ), again.steps
    assert (again.note_article_id, again.owner_article_id) == (closed.receipt.note_article_id,
                                                               closed.receipt.owner_article_id)
    assert again.attended_at == closed.receipt.attended_at
