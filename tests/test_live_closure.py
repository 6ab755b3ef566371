"""The closure library's own acceptance against a real Znuny 6.5 — skipped unless one is
named with the same ``OTRS_CLOSURE_TEST_*`` variables as tests/test_live_znuny.py.

What a new user would check by hand: after ``close()`` each kind leaves the ticket in the
attended state, owned by the service-desk agent, with exactly one internal "Atendido" note
carrying the manual's labels and values, the format files byte-identical, and one "Se
modifica propietario" note; a second ``close()`` adds nothing; bad input is refused with
nothing changed on the server; a small batch closes every row once.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from fault_matrix import make_inputs
from test_live_znuny import create_ticket, problems, read_ticket
from test_live_znuny import pytestmark as live_marks
from test_live_znuny import settings as settings  # noqa: F401  (the module-scoped fixture)

from otrs_closure import (
    BatchItem,
    BatchStatus,
    ClosureClient,
    ClosureSettings,
    FormatFiles,
    Incident,
    InputError,
    ServiceRequest,
)

pytestmark = live_marks


def _client(settings: ClosureSettings, **changes: object) -> ClosureClient:
    return ClosureClient(settings=settings.model_copy(update=changes) if changes else settings)


def test_live_onboarding_end_to_end_and_second_close_adds_nothing(settings: ClosureSettings, tmp_path: Path) -> None:
    inputs = make_inputs(tmp_path)
    attention = inputs.attention.model_copy(update={"description": f"Alta en nómina ({uuid.uuid4().hex[:8]})"})
    tid, number = create_ticket(settings, "otrs_closure: alta de usuario")
    with _client(settings) as client:
        receipt = client.close(ticket_number=number, attention=attention, formats=inputs.formats)
        ticket = read_ticket(settings, tid)
        assert problems(ticket, settings, inputs, receipt) == []
        note = next(a for a in ticket["Article"] if a["ArticleID"] == receipt.note_article_id)
        assert str(note["IsVisibleForCustomer"]) == "0"
        for line in (
            "Descripción de la Atención: Alta en nómina",
            "URL de acceso: https://nomina.example.gob.mx",
            "Login de acceso al Sistema: mgarcia",
            "Contraseña de acceso al Sistema: Temporal#2026",
        ):
            assert line in note["Body"]
        assert (
            receipt.attended_at is not None and receipt.attended_at.strftime("%Y-%m-%d %H:%M:%S") == note["CreateTime"]
        )
        again = client.close(ticket_number=number, attention=attention, formats=inputs.formats)
    assert again.writes_sent == 0
    assert len(read_ticket(settings, tid)["Article"]) == len(ticket["Article"])


@pytest.mark.parametrize(
    "attention",
    [
        ServiceRequest(description="Se reconfiguró la impresora."),
        Incident(problem="Página Web no resuelve por dominio", solution="Se le aplica un reinicio al servidor DNS"),
    ],
    ids=["service_request", "incident"],
)
def test_live_kinds_without_formats(settings: ClosureSettings, attention: ServiceRequest | Incident) -> None:
    tid, number = create_ticket(settings, f"otrs_closure: {attention.kind}")
    with _client(settings) as client:
        receipt = client.close(ticket_id=tid, attention=attention)
    ticket = read_ticket(settings, tid)
    subjects = [(a.get("Subject") or "").strip() for a in ticket["Article"]]
    assert (ticket["State"], ticket["Owner"]) == (settings.attended_state, settings.owner_login)
    assert subjects.count(settings.note_subject) == 1 and subjects.count(settings.owner_subject) == 1
    assert receipt.complete and receipt.ticket_number == number


def test_live_bad_input_changes_nothing(settings: ClosureSettings, tmp_path: Path) -> None:
    tid, number = create_ticket(settings, "otrs_closure: entrada inválida")
    before = read_ticket(settings, tid)
    text = tmp_path / "escaneo.pdf"
    text.write_text("no soy un PDF")
    editable = tmp_path / "alta.docx"
    editable.write_bytes(make_inputs(tmp_path / "ok").contents[1])
    with _client(settings) as client, pytest.raises(InputError):
        client.close(ticket_number=number, attention=ServiceRequest(description="Hecho."),
                     formats=FormatFiles(signed_scan=text, editable=editable))
    client = _client(settings, owner_login="no.existe.agente")
    with client, pytest.raises(InputError) as info:
        client.close(ticket_number=number, attention=ServiceRequest(description="Hecho."))
    assert info.value.field == "owner_login"
    after = read_ticket(settings, tid)
    assert (after["State"], after["Owner"], len(after["Article"])) == (
        before["State"],
        before["Owner"],
        len(before["Article"]),
    )


def test_live_small_batch(settings: ClosureSettings) -> None:
    tickets = [create_ticket(settings, f"otrs_closure: lote {i}") for i in range(3)]
    run = uuid.uuid4().hex[:8]
    items = [
        BatchItem(attention=ServiceRequest(description=f"Lote {run} fila {i}"), ticket_number=n)
        for i, (_, n) in enumerate(tickets)
    ]
    with _client(settings) as client:
        first = {r.item.ticket_number: r.status for r in client.close_many(items[:2], workers=2)}
        second = {r.item.ticket_number: r.status for r in client.close_many(items, workers=3)}
    assert set(first.values()) == {BatchStatus.CLOSED}
    assert [second[n] for _, n in tickets] == [BatchStatus.ALREADY_CLOSED] * 2 + [BatchStatus.CLOSED]
    for tid, _ in tickets:
        subjects = [(a.get("Subject") or "").strip() for a in read_ticket(settings, tid)["Article"]]
        assert subjects.count(settings.note_subject) == 1 and subjects.count(settings.owner_subject) == 1
