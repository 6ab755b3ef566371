"""The closure identity: how a retry or a re-run recognises the note, the files and the
owner note this closure already wrote — and never mistakes another closure for it.

At the level of :func:`otrs_closure.closure.assess` (a ticket snapshot as TicketGet
returns it, after whatever the server did to the texts), so every server quirk can be
stated exactly. The same properties over HTTP, against the fake Znuny, are in
test_fault_matrix.py and test_closure_races.py.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from helpers import make_file

from otrs_closure import ClosureConflict, FormatFiles, Incident, ServiceRequest, UserOnboarding
from otrs_closure._ticket import ArticleInfo, TicketSnapshot
from otrs_closure._workflow.assessment import assess, file_key
from otrs_closure._workflow.prepare import prepare
from otrs_closure._workflow.run import Closure
from otrs_closure.note import NoteTemplates, closure_id, secret_lines
from otrs_closure.results import AttachmentInfo
from otrs_closure.settings import ClosureSettings

SETTINGS = ClosureSettings(
    base_url="https://mesa.example.gob.mx", username="tecnico1", password="x", owner_login="agente.mesa"
)
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


def article(aid: int, subject: str, body: str, *atts: AttachmentInfo) -> ArticleInfo:
    return ArticleInfo(
        article_id=aid, subject=subject, body=body, attachments=tuple(atts), create_time="2026-11-28 13:00:00"
    )


def snapshot(*articles: ArticleInfo, state: str = "Atendido", owner: str = "agente.mesa") -> TicketSnapshot:
    first = article(1, "Impresora no imprime", "Solicitud del cliente.")
    return TicketSnapshot(
        ticket_id=2, ticket_number="2026112810000011", state=state, owner=owner, articles=(first, *articles)
    )


def att(name: str, size: int, ct: str = "application/pdf") -> AttachmentInfo:
    return AttachmentInfo(filename=name, size=size, content_type=ct)


def files_of(p):  # AttachmentInfo as the server lists this closure's files, names unchanged
    return [att(f.filename, f.size, f.content_type) for f in p.files]


OWNER_NOTE = ("Se modifica propietario", "Se modifica propietario")


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


def test_closure_id_depends_on_the_files_content(tmp_path: Path):
    one = FormatFiles(signed_scan=make_file(tmp_path / "a", "PDF"), editable=make_file(tmp_path / "a", "DOCX"))
    other = FormatFiles(signed_scan=make_file(tmp_path / "b", "PNG"), editable=make_file(tmp_path / "b", "DOCX"))
    p1 = prepare(SETTINGS, NoteTemplates(), ServiceRequest(description="x"), one)
    p2 = prepare(SETTINGS, NoteTemplates(), ServiceRequest(description="x"), other)
    p0 = prepare(SETTINGS, NoteTemplates(), ServiceRequest(description="x"), None)
    assert len({p0.closure_id, p1.closure_id, p2.closure_id}) == 3


def test_the_password_stays_out_of_the_id_and_is_told_apart_by_its_line():
    changed = ONBOARDING.model_copy(update={"password": ONBOARDING.password.__class__("Otra#2027")})
    assert closure_id(ONBOARDING) == closure_id(changed)
    assert "Temporal" not in closure_id(ONBOARDING)
    assert secret_lines(ONBOARDING, "oc-x") == [
        ("Contraseña de acceso al Sistema: ", "Contraseña de acceso al Sistema: Temporal#2026")
    ]


def test_file_key_follows_znuny_filename_cleanup():
    assert file_key("alta firmada (1).pdf") == file_key("alta_firmada__1_.pdf") == "alta_firmada__1_.pdf"
    assert file_key(" .formato.docx ") == "formato.docx"
    assert file_key(unicodedata.normalize("NFD", "acción.pdf")) == file_key("acción.pdf")


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
def test_own_note_recognised_through_server_normalisation(variant, kind, formats):
    attention = {
        "service_request": ServiceRequest(description="Se reconfiguró la impresora.\nSegunda línea."),
        "user_onboarding": ONBOARDING,
        "incident": Incident(problem="DNS caído", solution="Se reinició el servidor DNS"),
    }[kind]
    p = prepare(SETTINGS, NoteTemplates(), attention, formats)
    body = server_variants(p.body)[variant]
    snap = snapshot(
        article(5, "  Atendido ", body, *files_of(p)),
        article(6, *OWNER_NOTE),
    )
    a = assess(snap, SETTINGS, p)
    assert a.note is not None and a.note.article_id == 5
    assert a.other_closures == ()
    assert a.missing_files == ()
    assert a.owner_note is not None and a.owner_note.article_id == 6
    assert a.complete


def test_owner_note_recognised_through_crlf_and_case(formats):
    p = prepare(SETTINGS, NoteTemplates(), ServiceRequest(description="x"), formats)
    snap = snapshot(
        article(5, "Atendido", p.body, *files_of(p)),
        article(6, "se modifica PROPIETARIO ", "Se modifica propietario\r\n"),
    )
    assert assess(snap, SETTINGS, p).owner_note is not None


def test_owner_note_of_an_earlier_closure_does_not_count(formats):
    p = prepare(SETTINGS, NoteTemplates(), ServiceRequest(description="x"), formats)
    snap = snapshot(
        article(4, *OWNER_NOTE),
        article(5, "Atendido", p.body, *files_of(p)),
    )
    a = assess(snap, SETTINGS, p)
    assert a.note is not None and a.owner_note is None and not a.complete


# -- the files ---------------------------------------------------------------------------------


def test_files_recognised_after_the_server_cleans_their_names(formats):
    p = prepare(SETTINGS, NoteTemplates(), ServiceRequest(description="x"), formats)
    assert {f.filename for f in p.files} == {"alta firmada (1).pdf", "formato de alta.docx"}
    cleaned = [att(file_key(f.filename), f.size, f.content_type) for f in p.files]
    a = assess(snapshot(article(5, "Atendido", p.body, *cleaned), article(6, *OWNER_NOTE)), SETTINGS, p)
    assert a.missing_files == ()


def test_files_recognised_when_renamed_entirely_by_size_on_our_own_note(formats):
    p = prepare(SETTINGS, NoteTemplates(), ServiceRequest(description="x"), formats)
    renamed = [att(f"file-{i}", f.size, "application/octet-stream") for i, f in enumerate(p.files)]
    a = assess(snapshot(article(5, "Atendido", p.body, *renamed)), SETTINGS, p)
    assert a.missing_files == ()


def test_missing_file_detected_and_files_elsewhere_do_not_count(formats):
    p = prepare(SETTINGS, NoteTemplates(), ServiceRequest(description="x"), formats)
    scan, editable = p.files
    # the editable file is on an article that is not this closure's
    snap = snapshot(
        article(3, "Evidencias", "otro artículo", att(editable.filename, editable.size)),
        article(5, "Atendido", p.body, att(scan.filename, scan.size)),
    )
    a = assess(snap, SETTINGS, p)
    assert [f.filename for f in a.missing_files] == [editable.filename]
    # ... and once a "Formatos adjuntos" article of this closure carries it, nothing is missing
    repair = article(
        7,
        "Formatos adjuntos",
        f"Formatos adjuntos.\n{p.templates.reference(p.closure_id)}",
        att(editable.filename, editable.size),
    )
    assert assess(snap.model_copy(update={"articles": (*snap.articles, repair)}), SETTINGS, p).missing_files == ()


def test_a_file_twice_on_the_ticket_is_not_counted_for_the_other(formats):
    p = prepare(SETTINGS, NoteTemplates(), ServiceRequest(description="x"), formats)
    scan, editable = p.files
    twice = [att(scan.filename, scan.size), att(scan.filename, scan.size)]
    a = assess(snapshot(article(5, "Atendido", p.body, *twice)), SETTINGS, p)
    if scan.size != editable.size:
        assert [f.role for f in a.missing_files] == ["editable"]


# -- other closures ----------------------------------------------------------------------------


def test_corrected_description_is_another_closure_and_conflicts(formats):
    first = prepare(SETTINGS, NoteTemplates(), ServiceRequest(description="Se reconfiguró la impresora."), formats)
    second = prepare(SETTINGS, NoteTemplates(), ServiceRequest(description="Se reemplazó el tóner."), formats)
    snap = snapshot(article(5, "Atendido", first.body, *files_of(first)), article(6, *OWNER_NOTE))
    a = assess(snap, SETTINGS, second)
    assert a.note is None and [x.article_id for x in a.other_closures] == [5]
    with pytest.raises(ClosureConflict, match="reclose=True"):
        Closure(SETTINGS, None, None, second, None).check(a, 2)  # type: ignore[arg-type]
    Closure(SETTINGS, None, None, second, None, reclose=True).check(a, 2)  # type: ignore[arg-type]
    # the first closure still recognises itself
    assert assess(snap, SETTINGS, first).complete


def test_a_human_atendido_note_conflicts(formats):
    p = prepare(SETTINGS, NoteTemplates(), ServiceRequest(description="x"), formats)
    a = assess(snapshot(article(5, "Atendido", "Atendido por teléfono.")), SETTINGS, p)
    assert a.note is None and len(a.other_closures) == 1


def test_same_reference_other_password_is_another_closure(formats):
    first = prepare(SETTINGS, NoteTemplates(), ONBOARDING, formats)
    corrected = ONBOARDING.model_copy(update={"password": ONBOARDING.password.__class__("Otra#2027")})
    second = prepare(SETTINGS, NoteTemplates(), corrected, formats)
    assert first.closure_id == second.closure_id
    snap = snapshot(article(5, "Atendido", first.body.replace("\n", "\r\n"), *files_of(first)), article(6, *OWNER_NOTE))
    assert assess(snap, SETTINGS, first).complete
    a = assess(snap, SETTINGS, second)
    assert a.note is None and [x.article_id for x in a.other_closures] == [5]
    # with reclose, the second note is the one the corrected closure recognises afterwards
    snap2 = snap.model_copy(update={"articles": (*snap.articles, article(7, "Atendido", second.body))})
    assert assess(snap2, SETTINGS, second).note.article_id == 7  # type: ignore[union-attr]
    assert assess(snap2, SETTINGS, first).note.article_id == 5  # type: ignore[union-attr]


def test_password_line_unreadable_falls_back_to_the_reference(formats):
    p = prepare(SETTINGS, NoteTemplates(), ONBOARDING, formats)
    mangled = p.body.encode("utf-8").decode("latin-1")  # "ContraseÃ±a": the label is not found
    a = assess(snapshot(article(5, "Atendido", mangled, *files_of(p))), SETTINGS, p)
    assert a.note is not None


def test_reference_of_another_closure_quoted_in_a_note_is_not_ours(formats):
    p = prepare(SETTINGS, NoteTemplates(), ServiceRequest(description="x"), formats)
    other = prepare(SETTINGS, NoteTemplates(), ServiceRequest(description="y"), formats)
    a = assess(snapshot(article(5, "Atendido", other.body)), SETTINGS, p)
    assert a.note is None


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
                x["Filename"] = file_key(x["Filename"])
    return json.dumps(doc, ensure_ascii=False).encode()


@pytest.mark.parametrize("fault", [None, "note-answer-lost", "owner-answer-lost"])
def test_rerun_against_a_server_that_rewrites_what_it_stores(formats: FormatFiles, fault: str | None):
    from fault_matrix import new_client
    from faultproxy import NOTE_UPDATE, OWNER_UPDATE, Action, FaultProxy

    from otrs_closure import StepStatus
    from otrs_closure.testing import FakeZnuny

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
