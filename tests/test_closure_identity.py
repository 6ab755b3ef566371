"""The closure identity: how a retry or a re-run recognises the note, the files and the
owner note this closure already wrote — and never mistakes another closure for it.

Each ticket is arranged on the fake as TicketGet would show it after whatever a server did
to the texts (``fake.add_article`` stores an article exactly as given), so every server
quirk can be stated exactly; what the client recognises is read from what it would do:
``plan()`` (the steps it finds done, the writes it would send, the conflict it raises) and
``close()`` (the receipt's article ids, zero writes). The same properties against a server
that rewrites its answers, and racing, are at the end of this module, in
test_fault_matrix.py and in test_closure_races.py.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from helpers import OWNER_NOTE, closure_note, door, make_file, new_client, pdf_bytes, ticket_showing

from otrs_closure import (
    ClosureConflict,
    ClosurePlan,
    FormatFiles,
    Incident,
    NoteTemplates,
    ServiceRequest,
    StepStatus,
    UserOnboarding,
)
from otrs_closure.note import closure_id, secret_lines
from otrs_closure.testing import FakeZnuny

ALREADY, PENDING = StepStatus.ALREADY_DONE, StepStatus.PENDING
ONBOARDING = UserOnboarding(
    description="Alta del usuario en el sistema de nómina.",
    access_url="https://nomina.example.gob.mx/login",
    login="mgarcia",
    password="Temporal#2026",
)


@pytest.fixture
def formats(tmp_path: Path) -> FormatFiles:
    return FormatFiles(
        signed_scan=make_file(tmp_path, "PDF", "alta firmada (1).pdf"),
        editable=make_file(tmp_path, "DOCX", "formato de alta.docx"),
    )


@pytest.fixture
def fake() -> Iterator[FakeZnuny]:
    """The service desk, its door open at the helpers' BASE_URL (``new_client()``'s)."""
    fake = FakeZnuny.service_desk()
    with door(fake):
        yield fake


class Target(NamedTuple):
    """One closure as close() would write it: its id, its note's body, and its files as
    they would be attached (``fake.add_article`` attachments: name sent, bytes, type)."""

    closure_id: str
    body: str
    files: list[dict[str, Any]]


def target(attention: Any, formats: FormatFiles | None = None) -> Target:
    cid, body = closure_note(attention, formats)
    files: list[dict[str, Any]] = []
    if formats is not None:
        plan = new_client().plan(ticket_id=1, attention=attention, formats=formats, offline=True)
        (step1,) = [r for r in plan.writes if r.body and "Attachment" in r.body]
        files = [
            {"filename": a["Filename"], "content": local.read_bytes(), "content_type": a["ContentType"]}
            for a, local in zip(step1.body["Attachment"], (formats.signed_scan, formats.editable), strict=True)
        ]
    return Target(cid, body, files)


def note(body: str, *files: dict[str, Any], subject: str = "Atendido") -> dict[str, Any]:
    """An article for :func:`helpers.ticket_showing`."""
    return {"subject": subject, "body": body, "attachments": list(files)}


def plan_of(ticket: int, attention: Any, formats: FormatFiles | None = None, **kw: Any) -> ClosurePlan:
    return new_client().plan(ticket_id=ticket, attention=attention, formats=formats, **kw)


def files_to_repair(plan: ClosurePlan) -> list[str]:
    """The names of the files the plan would attach again, on a "Formatos adjuntos" article."""
    repairs = [r for r in plan.writes if (r.body or {}).get("Article", {}).get("Subject") == "Formatos adjuntos"]
    return [a["Filename"] for r in repairs for a in r.body["Attachment"]]  # type: ignore[index]


def as_listed(f: dict[str, Any], filename: str, content_type: str | None = None) -> dict[str, Any]:
    """File ``f`` as a server lists it under another name (and type)."""
    return {**f, "filename": filename, "content_type": content_type or f["content_type"]}


# -- the identity itself ---------------------------------------------------------------------


def test_closure_id_ignores_whitespace_and_line_ends_but_not_content():
    a = ServiceRequest(description="Se reconfiguró la impresora.\nSe probó.")
    same = ServiceRequest(description="  Se reconfiguró la impresora.  \r\nSe probó.\t ")
    nfd = ServiceRequest(description=unicodedata.normalize("NFD", "Se reconfiguró la impresora.\nSe probó."))
    corrected = ServiceRequest(description="Se reconfiguró la impresora del piso 3.\nSe probó.")
    assert closure_id(a) == closure_id(same) == closure_id(nfd)
    assert closure_id(a) != closure_id(corrected)
    assert closure_id(a) != closure_id(Incident(problem="Se reconfiguró la impresora.\nSe probó.", solution="x"))
    assert closure_id(a).startswith("oc-") and len(closure_id(a)) == 15


def test_the_password_stays_out_of_the_id_and_is_told_apart_by_its_line():
    changed = ONBOARDING.model_copy(update={"password": ONBOARDING.password.__class__("Otra#2027")})
    assert closure_id(ONBOARDING) == closure_id(changed)
    assert "Temporal" not in closure_id(ONBOARDING)
    assert secret_lines(ONBOARDING, "oc-x") == [
        ("Contraseña de acceso al Sistema: ", "Contraseña de acceso al Sistema: Temporal#2026")
    ]


@pytest.mark.parametrize(
    ("local", "listed"),
    [
        ("alta firmada (1).pdf", "alta_firmada__1_.pdf"),  # FilenameCleanUp
        ("formato.pdf", " .formato.pdf "),  # trimmed, leading dots dropped
        ("acción.pdf", unicodedata.normalize("NFD", "acción.pdf")),  # decomposed
    ],
    ids=["cleaned", "dots-and-blanks", "nfd"],
)
def test_a_file_is_known_by_its_name_as_znuny_cleans_it(fake: FakeZnuny, tmp_path: Path, local: str, listed: str):
    """Two files of one size: only the name tells them apart. The note lists the editable
    file under the name the server made of it: that one is found, the scan is missing."""
    scan, editable = tmp_path / "escaneo.pdf", tmp_path / local
    scan.write_bytes(pdf_bytes("Formato firmado"))
    editable.write_bytes(pdf_bytes("Formato llenado"))
    assert scan.stat().st_size == editable.stat().st_size
    formats = FormatFiles(signed_scan=scan, editable=editable)
    t = target(ServiceRequest(description="x"), formats)
    tid, _ = ticket_showing(fake, note(t.body, as_listed(t.files[1], listed)), OWNER_NOTE)
    plan = plan_of(tid, ServiceRequest(description="x"), formats)
    assert plan.steps.note is ALREADY and plan.steps.attachments is PENDING
    assert files_to_repair(plan) == ["escaneo.pdf"]


# -- recognising our own note through what the server does to it ------------------------------


def server_variants(body: str) -> dict[str, str]:
    return {
        "as sent": body,
        "trimmed": body.strip(),
        "crlf": body.replace("\n", "\r\n"),
        "trailing blanks": body.replace("\n", "   \n") + "  \n\n",
        "surrounding blank lines": "\n\n  " + body + "\n\n",
        "nfd": unicodedata.normalize("NFD", body),
        # a server that decodes the UTF-8 body as latin-1: only the ASCII reference line survives
        "mojibake": body.encode("utf-8").decode("latin-1"),
    }


@pytest.mark.parametrize("variant", list(server_variants("x")))
@pytest.mark.parametrize("kind", ["service_request", "user_onboarding", "incident"])
def test_own_note_recognised_through_server_normalisation(fake: FakeZnuny, variant, kind, formats):
    attention = {
        "service_request": ServiceRequest(description="Se reconfiguró la impresora.\nSegunda línea."),
        "user_onboarding": ONBOARDING,
        "incident": Incident(problem="DNS caído", solution="Se reinició el servidor DNS"),
    }[kind]
    t = target(attention, formats)
    body = server_variants(t.body)[variant]
    tid, (note_id, owner_id) = ticket_showing(fake, note(body, *t.files, subject="  Atendido "), OWNER_NOTE)
    receipt = new_client().close(ticket_id=tid, attention=attention, formats=formats)  # no conflict: none other
    assert receipt.note_article_id == note_id
    assert receipt.steps.attachments is ALREADY  # no file missing
    assert receipt.owner_article_id == owner_id
    assert receipt.complete and receipt.writes_sent == 0


def test_owner_note_recognised_through_crlf_and_case(fake: FakeZnuny, formats):
    t = target(ServiceRequest(description="x"), formats)
    owner_note = {"subject": "se modifica PROPIETARIO ", "body": "Se modifica propietario\r\n"}
    tid, (_, owner_id) = ticket_showing(fake, note(t.body, *t.files), owner_note)
    assert plan_of(tid, ServiceRequest(description="x"), formats).steps.owner_note is ALREADY
    assert new_client().close(ticket_id=tid, attention=ServiceRequest(description="x"),
                              formats=formats).owner_article_id == owner_id


def test_owner_note_of_an_earlier_closure_does_not_count(fake: FakeZnuny, formats):
    t = target(ServiceRequest(description="x"), formats)
    tid, _ = ticket_showing(fake, OWNER_NOTE, note(t.body, *t.files))
    plan = plan_of(tid, ServiceRequest(description="x"), formats)
    assert plan.steps.note is ALREADY and plan.steps.owner_note is PENDING and not plan.steps.complete
    assert [w.body["Article"]["Subject"] for w in plan.writes if "Body" in w.body["Article"]] == [  # type: ignore
        "Se modifica propietario"]


# -- the files ---------------------------------------------------------------------------------


def test_files_recognised_after_the_server_cleans_their_names(fake: FakeZnuny, formats):
    t = target(ServiceRequest(description="x"), formats)
    assert {f["filename"] for f in t.files} == {"alta firmada (1).pdf", "formato de alta.docx"}
    cleaned = [as_listed(f, filename_cleanup(f["filename"])) for f in t.files]
    assert {f["filename"] for f in cleaned} == {"alta_firmada__1_.pdf", "formato_de_alta.docx"}
    tid, _ = ticket_showing(fake, note(t.body, *cleaned), OWNER_NOTE)
    plan = plan_of(tid, ServiceRequest(description="x"), formats)
    assert plan.steps.attachments is ALREADY and files_to_repair(plan) == []


def test_files_recognised_when_renamed_entirely_by_size_on_our_own_note(fake: FakeZnuny, formats):
    t = target(ServiceRequest(description="x"), formats)
    renamed = [as_listed(f, f"file-{i}", "application/octet-stream") for i, f in enumerate(t.files)]
    tid, _ = ticket_showing(fake, note(t.body, *renamed))
    plan = plan_of(tid, ServiceRequest(description="x"), formats)
    assert plan.steps.attachments is ALREADY and files_to_repair(plan) == []


def test_missing_file_detected_and_files_elsewhere_do_not_count(fake: FakeZnuny, formats):
    t = target(ServiceRequest(description="x"), formats)
    scan, editable = t.files
    # the editable file is on an article that is not this closure's
    tid, _ = ticket_showing(fake, note("otro artículo", editable, subject="Evidencias"), note(t.body, scan))
    plan = plan_of(tid, ServiceRequest(description="x"), formats)
    assert plan.steps.attachments is PENDING and files_to_repair(plan) == [editable["filename"]]
    # ... and once a "Formatos adjuntos" article of this closure carries it, nothing is missing
    repair = f"Formatos adjuntos.\n{NoteTemplates().reference(t.closure_id)}"
    fake.add_article(tid, created_by="tecnico1", **note(repair, editable, subject="Formatos adjuntos"))
    plan = plan_of(tid, ServiceRequest(description="x"), formats)
    assert plan.steps.attachments is ALREADY and files_to_repair(plan) == []


def test_a_file_twice_on_the_ticket_is_not_counted_for_the_other(fake: FakeZnuny, formats):
    t = target(ServiceRequest(description="x"), formats)
    scan, editable = t.files
    assert len(scan["content"]) != len(editable["content"])
    tid, _ = ticket_showing(fake, note(t.body, scan, scan))
    assert files_to_repair(plan_of(tid, ServiceRequest(description="x"), formats)) == [editable["filename"]]


# -- other closures ----------------------------------------------------------------------------


def test_corrected_description_is_another_closure_and_conflicts(fake: FakeZnuny, formats):
    first_attention = ServiceRequest(description="Se reconfiguró la impresora.")
    second_attention = ServiceRequest(description="Se reemplazó el tóner.")
    first = target(first_attention, formats)
    tid, (note_id, _) = ticket_showing(fake, note(first.body, *first.files), OWNER_NOTE)
    with pytest.raises(ClosureConflict, match="reclose=True") as ei:
        plan_of(tid, second_attention, formats)
    assert ei.value.article_ids == (note_id,)
    assert plan_of(tid, second_attention, formats, reclose=True).steps.note is PENDING
    # the first closure still recognises itself
    receipt = new_client().close(ticket_id=tid, attention=first_attention, formats=formats)
    assert receipt.complete and receipt.writes_sent == 0 and receipt.note_article_id == note_id


def test_a_human_atendido_note_conflicts(fake: FakeZnuny, formats):
    tid, (human,) = ticket_showing(fake, note("Atendido por teléfono."))
    with pytest.raises(ClosureConflict) as ei:
        plan_of(tid, ServiceRequest(description="x"), formats)
    assert ei.value.article_ids == (human,)


def test_same_reference_other_password_is_another_closure(fake: FakeZnuny, formats):
    corrected = ONBOARDING.model_copy(update={"password": ONBOARDING.password.__class__("Otra#2027")})
    first, second = target(ONBOARDING, formats), target(corrected, formats)
    assert first.closure_id == second.closure_id
    tid, (five, _) = ticket_showing(fake, note(first.body.replace("\n", "\r\n"), *first.files), OWNER_NOTE)
    receipt = new_client().close(ticket_id=tid, attention=ONBOARDING, formats=formats)
    assert receipt.complete and receipt.writes_sent == 0 and receipt.note_article_id == five
    with pytest.raises(ClosureConflict) as ei:
        plan_of(tid, corrected, formats)
    assert ei.value.article_ids == (five,)
    # with reclose, the second note is the one the corrected closure recognises afterwards
    seven = fake.add_article(tid, created_by="tecnico1", **note(second.body))
    assert new_client().close(ticket_id=tid, attention=corrected, formats=formats).note_article_id == seven
    again = new_client().close(ticket_id=tid, attention=ONBOARDING, formats=formats)
    assert again.note_article_id == five and again.writes_sent == 0


def test_password_line_unreadable_falls_back_to_the_reference(fake: FakeZnuny, formats):
    t = target(ONBOARDING, formats)
    mangled = t.body.encode("utf-8").decode("latin-1")  # "ContraseÃ±a": the label is not found
    tid, _ = ticket_showing(fake, note(mangled, *t.files))
    assert plan_of(tid, ONBOARDING, formats).steps.note is ALREADY


def test_reference_of_another_closure_quoted_in_a_note_is_not_ours(fake: FakeZnuny, formats):
    other = target(ServiceRequest(description="y"), formats)
    tid, (quoting,) = ticket_showing(fake, note(other.body))
    with pytest.raises(ClosureConflict) as ei:
        plan_of(tid, ServiceRequest(description="x"), formats)
    assert ei.value.article_ids == (quoting,)
    assert plan_of(tid, ServiceRequest(description="x"), formats, reclose=True).steps.note is PENDING


# -- over HTTP: a server that rewrites what it stores ------------------------------------------


def _quirky(method: str, path: str, data: bytes) -> bytes:
    """TicketGet answers as a differently configured Znuny could give them: bodies with
    CRLF line ends, trailing blanks and decomposed accents, ``charset=utf8`` instead of
    ``utf-8``, and attachment names cleaned by FilenameCleanUp."""
    import json

    if method != "GET" or "/Ticket/" not in path:
        return data
    doc = json.loads(data)
    for ticket in doc.get("Ticket") or []:
        for a in ticket.get("Article") or []:
            a["Body"] = unicodedata.normalize("NFD", a["Body"]).replace("\n", "  \r\n") + "\r\n"
            a["Subject"] = " " + a["Subject"]
            a["ContentType"] = a["ContentType"].replace("utf-8", "utf8")
            a["Charset"] = "utf8"
            for x in a.get("Attachment") or []:
                x["Filename"] = filename_cleanup(x["Filename"])
    return json.dumps(doc, ensure_ascii=False).encode()


@pytest.mark.parametrize("fault", [None, "note-answer-lost", "owner-answer-lost"])
def test_rerun_against_a_server_that_rewrites_what_it_stores(formats: FormatFiles, fault: str | None):
    from fault_matrix import new_client
    from faultproxy import NOTE_UPDATE, OWNER_UPDATE, Action, FaultProxy

    fake = FakeZnuny.service_desk()
    tid, number = fake.new_service_desk_ticket()
    kwargs = {"ticket_number": number, "attention": ONBOARDING, "formats": formats}
    with fake.serve() as upstream, FaultProxy(upstream, rewrite=_quirky) as proxy:
        if fault:
            proxy.add(Action.DROP_RESPONSE, NOTE_UPDATE if fault.startswith("note") else OWNER_UPDATE)
        client = new_client(proxy.url)
        first = client.close(**kwargs)
        again = client.close(**kwargs)
        client.shutdown()
    assert first.complete
    assert {a.filename for a in first.attachments} == {"alta_firmada__1_.pdf", "formato_de_alta.docx"}
    assert again.writes_sent == 0
    assert set(again.steps.model_dump().values()) == {StepStatus.ALREADY_DONE}
    view = fake.ticket(tid)
    assert len(view.articles_with_subject("Atendido")) == 1
    assert len(view.articles_with_subject("Se modifica propietario")) == 1
    assert len(view.attachments()) == 2


def filename_cleanup(name: str) -> str:
    """What a Znuny whose attachment storage cleans names (``FilenameCleanUp``) lists: the
    name trimmed, leading dots dropped, every character other than a word character or
    ``-+.#`` replaced by ``_``."""
    return re.sub(r"[^\w\-+.#]", "_", name.strip().lstrip("."))
