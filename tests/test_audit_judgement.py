"""The audit's judgement, pure: TicketGet answers as each generation shapes them (OTRS 5's
ArticleType and Created; 6+'s IsVisibleForCustomer and CreateTime) → exactly the problem
codes that apply. Labels are read as people type them: the variants below are the ways
agents were seen writing the manual's labels by hand."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import datetime, timezone
from typing import Any

import pytest

from otrs_closure import NoteTemplates
from otrs_closure.audit import AuditRules, Problem, find_formats, judge
from otrs_closure.audit.judgement import MAX_BODY_CHARS, TicketSnapshot, needs_attachments, parse_ticket
from otrs_closure.results import AttachmentInfo

RULES = AuditRules(
    owner_login="agente.mesa",
    owner_subject="Se modifica propietario",
    owner_body="Se modifica propietario",
    timezone=timezone.utc,
)
PDF = ("alta_firmada.pdf", "application/pdf")
DOCX = ("alta.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document")

SERVICE = "Descripción de la Atención: Se reconfiguró la impresora."
ONBOARDING = (
    "Descripción de la Atención: Alta en nómina\n"
    "URL de acceso: https://nomina.example.gob.mx\n"
    "Login de acceso al Sistema: mgarcia\n"
    "Contraseña de acceso al Sistema: Temporal#2026"
)
INCIDENT = "Problema Real: Página Web no resuelve por dominio\nSolución Real: Se reinició el servidor DNS"


def article(
    subject: str,
    body: str,
    *,
    visible: bool = False,
    sender: str = "agent",
    files: tuple[tuple[str, str], ...] = (),
    generation: str = "channel",
    who: str = "Juan Pérez",
    at: str = "2026-12-01 10:00:00",
) -> dict[str, Any]:
    """One article as TicketGet shows it (``generation``: channel = 6+, article_type = OTRS 5)."""
    a: dict[str, Any] = {"Subject": subject, "Body": body, "SenderType": sender, "From": who, "CreateBy": 3}
    if generation == "channel":
        a.update(IsVisibleForCustomer=1 if visible else 0, CommunicationChannelID=3, CreateTime=at)
    else:
        a.update(ArticleType="note-external" if visible else "note-internal", Created=at, CreatedBy=3)
    if files:
        a["Attachment"] = [
            {"Filename": name, "ContentType": ctype, "FilesizeRaw": str(100 + i), "Content": ""}
            for i, (name, ctype) in enumerate(files)
        ]
    return a


def ticket(*articles: dict[str, Any], owner: str = "agente.mesa", title: str = "Solicitud") -> TicketSnapshot:
    arts = [article("Solicitud", "Buen día, solicito apoyo.", sender="customer", visible=True), *articles]
    for i, a in enumerate(arts, start=1):
        a.setdefault("ArticleID", 10 + i)
    raw = {"TicketID": 7, "TicketNumber": "2026120110000071", "Title": title, "State": "Atendido", "Owner": owner,
           "Queue": "Mesa de Servicio", "Changed": "2026-12-01 10:05:00", "Article": arts}  # fmt: skip
    return parse_ticket(raw, 7)


OWNER_NOTE = ("Se modifica propietario", "Se modifica propietario")


def codes(snapshot: TicketSnapshot, rules: AuditRules = RULES) -> set[str]:
    return {p.value for p in judge(snapshot, rules).problems}


# -- compliant closures, each kind, each generation -------------------------------------------------
@pytest.mark.parametrize("generation", ["channel", "article_type"])
@pytest.mark.parametrize(
    ("body", "files", "kind"),
    [(SERVICE, (), "service_request"), (ONBOARDING, (PDF, DOCX), "user_onboarding"), (INCIDENT, (), "incident")],
)
def test_a_closure_as_the_manual_says_is_compliant(generation: str, body: str, files: Any, kind: str) -> None:
    t = judge(
        ticket(
            article("Atendido", body, files=files, generation=generation, at="2026-12-01 10:00:07"),
            article(*OWNER_NOTE, generation=generation),
        ),
        RULES,
    )
    assert t.problems == ()
    assert t.compliant and t.kind == kind
    assert t.attended_at == datetime(2026, 12, 1, 10, 0, 7, tzinfo=timezone.utc)
    assert t.agent == "Juan Pérez" and t.agent_id == 3
    assert t.note_article_id == 12 and t.owner_note_article_id == 13
    optional = {"description"} if kind == "incident" else set()  # the incident's description is optional
    assert {f for f, status in t.fields.items() if status != "present"} == optional


# -- the labels as people type them ------------------------------------------------------------------
VARIANTS = {
    "description": [
        "Descripción de la Atención: {v}",
        "Descripcion de la atencion: {v}",
        "DESCRIPCIÓN DE LA ATENCIÓN : {v}",
        "descripción de la atención - {v}",
        "Descripción de la Atención (lo que se hizo): {v}",
        "Descripción  de  la   Atención:{v}",
        "• Descripción de la Atención: {v}",
        "**Descripción de la Atención:** {v}",
        "Descripción\u00a0de la Atención: {v}",
        "Descripcio\u0301n de la Atencio\u0301n: {v}",
        "Descripción de la Atención\n{v}",
    ],
    "access_url": ["URL de acceso: {v}", "url de acceso:{v}", "URL DE ACCESO = {v}", "Url de Acceso\t{v}",
                   "- URL de acceso: {v}", "URL de acceso:\n{v}"],  # fmt: skip
    "login": ["Login de acceso al Sistema: {v}", "login de acceso al sistema: {v}", "LOGIN DE ACCESO AL SISTEMA - {v}",
              "Login de acceso al sistema = {v}", "Login de acceso al Sistema:\n{v}"],  # fmt: skip
    "password": ["Contraseña de acceso al Sistema: {v}", "Contrasena de acceso al sistema: {v}",
                 "CONTRASEÑA DE ACCESO AL SISTEMA: {v}", "Contraseña de acceso al Sistema\n{v}",
                 "contraseña de acceso al sistema :{v}"],  # fmt: skip
    "problem": ["Problema Real: {v}", "problema real : {v}", "PROBLEMA REAL - {v}", "Problema real\n{v}"],
    "solution": ["Solución Real: {v}", "Solucion real: {v}", "SOLUCIÓN REAL {v}", "solución real:\n{v}"],
}
CANONICAL = {
    "description": "Descripción de la Atención: {v}",
    "access_url": "URL de acceso: {v}",
    "login": "Login de acceso al Sistema: {v}",
    "password": "Contraseña de acceso al Sistema: {v}",
    "problem": "Problema Real: {v}",
    "solution": "Solución Real: {v}",
}
VALUES = {"description": "Se atendió", "access_url": "https://x.example.com", "login": "mgarcia",
          "password": "Temporal#2026", "problem": "No resuelve", "solution": "Reinicio DNS"}  # fmt: skip
KIND_FIELDS = {
    "user_onboarding": ("description", "access_url", "login", "password"),
    "incident": ("problem", "solution", "description"),
}


@pytest.mark.parametrize(("field", "variant"), [(f, v) for f, vs in VARIANTS.items() for v in vs])
def test_typed_variants_of_each_label_are_read(field: str, variant: str) -> None:
    kind = "incident" if field in ("problem", "solution") else "user_onboarding"
    lines = [(variant if f == field else CANONICAL[f]).format(v=VALUES[f]) for f in KIND_FIELDS[kind]]
    files = (PDF, DOCX) if kind == "user_onboarding" else ()
    t = judge(ticket(article("Atendido", "\n".join(lines), files=files), article(*OWNER_NOTE)), RULES)
    assert t.problems == ()
    assert t.kind == kind
    assert t.fields[field] == "present"


@pytest.mark.parametrize(
    "body",
    [
        "Descripción: se reinició el equipo",  # not the manual's label
        "Atención: listo",
        "Se hizo la descripción de la atención al usuario",  # the words, not at the start of a line
        "Quedó resuelto.",
    ],
)
def test_text_without_the_manuals_labels_is_no_closing_note(body: str) -> None:
    assert codes(ticket(article("Atendido", body), article(*OWNER_NOTE))) == {"note_missing"}


@pytest.mark.parametrize(
    ("blank", "expected_status"),
    [
        ("Contraseña de acceso al Sistema:", "blank"),
        ("Contraseña de acceso al Sistema: **", "blank"),
        ("Contraseña de acceso al Sistema:   ", "blank"),
        ("", "missing"),
    ],
)
def test_an_onboarding_password_left_blank_or_out_is_incomplete(blank: str, expected_status: str) -> None:
    lines = ONBOARDING.split("\n")[:3] + ([blank] if blank else []) + ["Referencia interna: 42"]
    t = judge(ticket(article("Atendido", "\n".join(lines), files=(PDF, DOCX)), article(*OWNER_NOTE)), RULES)
    assert {p.value for p in t.problems} == {"onboarding_incomplete"}
    assert t.fields["password"] == expected_status


def test_a_label_followed_by_another_label_is_blank_not_the_next_labels_line() -> None:
    body = ONBOARDING.replace("Login de acceso al Sistema: mgarcia", "Login de acceso al Sistema:")
    t = judge(ticket(article("Atendido", body, files=(PDF, DOCX)), article(*OWNER_NOTE)), RULES)
    assert t.fields["login"] == "blank"
    assert [p.value for p in t.problems] == ["onboarding_incomplete"]


@pytest.mark.parametrize(
    "body",
    [
        "Problema Real: no resuelve",
        "Solución Real: reinicio",
        "Problema Real:\nSolución Real: reinicio",
        "Problema Real: no resuelve\nSolución Real:",
        "Problema Real:\nSolución Real:",
    ],
)
def test_an_incident_needs_both_the_real_problem_and_the_real_solution(body: str) -> None:
    t = judge(ticket(article("Atendido", body), article(*OWNER_NOTE)), RULES)
    assert [p.value for p in t.problems] == ["incident_incomplete"]
    assert t.kind == "incident"


# -- every code that applies, and only those ------------------------------------------------------
DEFECTS = ("public", "no_password", "one_file", "owner_kept", "no_owner_note", "owner_first")


@pytest.mark.parametrize("generation", ["channel", "article_type"])
@pytest.mark.parametrize("defects", [c for n in range(len(DEFECTS) + 1) for c in itertools.combinations(DEFECTS, n)])
def test_each_combination_of_defects_gets_exactly_its_codes(generation: str, defects: tuple[str, ...]) -> None:
    body = ONBOARDING if "no_password" not in defects else ONBOARDING.rsplit("\n", 1)[0]
    files = (PDF,) if "one_file" in defects else (PDF, DOCX)
    note = article("Atendido", body, visible="public" in defects, files=files, generation=generation)
    steps = [note]
    if "no_owner_note" not in defects:
        owner_note = article(*OWNER_NOTE, generation=generation)
        steps = [owner_note, note] if "owner_first" in defects else [note, owner_note]
    snap = ticket(*steps, owner="tecnico1" if "owner_kept" in defects else "agente.mesa")
    expected = {
        code
        for defect, code in (
            ("public", "note_public"),
            ("no_password", "onboarding_incomplete"),
            ("one_file", "formats_missing"),
            ("owner_kept", "owner_not_service_desk"),
            ("no_owner_note", "owner_note_missing"),
            ("owner_first", "order"),
        )
        if defect in defects and not (defect == "owner_first" and "no_owner_note" in defects)
    }
    verdict = judge(snap, RULES)
    assert {p.value for p in verdict.problems} == expected
    assert list(verdict.problems) == [p for p in Problem if p.value in expected]  # in the table's order
    assert verdict.compliant == (not expected)


# -- whose articles count ---------------------------------------------------------------------------
def test_a_customers_or_the_systems_labels_do_not_close_a_ticket() -> None:
    snap = ticket(
        article("Solicitud", "Descripción de la Atención: favor de atender", sender="customer"),
        article("Notificación", SERVICE, sender="system"),
        article(*OWNER_NOTE),
    )
    assert codes(snap) == {"note_missing"}


def test_the_last_labelled_agent_note_is_the_closing_note() -> None:
    snap = ticket(
        article("Atendido", "Problema Real: no resuelve", at="2026-12-01 09:00:00"),
        article(*OWNER_NOTE),
        article("Atendido", INCIDENT, at="2026-12-02 11:30:00", who='"Ana Núñez" <ana@example.com>'),
        article(*OWNER_NOTE),
    )
    t = judge(snap, RULES)
    assert t.problems == () and t.kind == "incident"
    assert t.attended_at == datetime(2026, 12, 2, 11, 30, tzinfo=timezone.utc)
    assert t.agent == "Ana Núñez"
    assert t.note_article_id == 14


def test_a_reclosure_without_its_own_owner_note_is_out_of_order() -> None:
    snap = ticket(article("Atendido", SERVICE), article(*OWNER_NOTE), article("Atendido", SERVICE))
    assert codes(snap) == {"order"}


def test_otrs5_names_decoded_twice_are_repaired() -> None:
    snap = ticket(article("Atendido", SERVICE, generation="article_type", who="Juan PÃ©rez"), article(*OWNER_NOTE))
    assert judge(snap, RULES).agent == "Juan Pérez"


@pytest.mark.parametrize(
    ("subject", "body", "counts"),
    [
        ("Se modifica propietario", "Se modifica propietario", True),
        ("se modifica propietario", "Se modifica propietario.", True),
        ("SE MODIFICA PROPIETARIO", "se  modifica  propietario a Agente Mesa de Servicio", True),
        ("Se modifica propietario", "", False),
        ("Cambio de propietario", "Se modifica propietario", False),
        ("Se modifica propietario", "Listo", False),
    ],
)
def test_the_owner_note_needs_the_manuals_subject_and_text(subject: str, body: str, counts: bool) -> None:
    found = codes(ticket(article("Atendido", SERVICE), article(subject, body)))
    assert found == (set() if counts else {"owner_note_missing"})


def test_the_owner_login_is_compared_as_the_server_looks_it_up() -> None:
    assert codes(ticket(article("Atendido", SERVICE), article(*OWNER_NOTE), owner="Agente.Mesa")) == set()
    assert codes(ticket(article("Atendido", SERVICE), article(*OWNER_NOTE), owner="tecnico1")) == {
        "owner_not_service_desk"
    }


# -- the format files, by content type and name --------------------------------------------------------
def att(name: str, ctype: str, size: int = 100) -> AttachmentInfo:
    return AttachmentInfo(filename=name, size=size, content_type=ctype)


@pytest.mark.parametrize(
    ("files", "scan", "editable"),
    [
        ([att("firma.pdf", "application/pdf"), att("alta.docx", DOCX[1])], "firma.pdf", "alta.docx"),
        ([att("foto.jpeg", "image/jpg"), att("alta.xlsx", "application/octet-stream")], "foto.jpeg", "alta.xlsx"),
        ([att("a.pdf", "application/pdf", 1), att("b.pdf", "application/pdf; name=b.pdf", 2)], "a.pdf", "b.pdf"),
        ([att("alta.odt", "application/vnd.oasis.opendocument.text"), att("scan.TIFF", "")], "scan.TIFF", "alta.odt"),
        ([att("a.pdf", "application/pdf"), att("a.pdf", "application/pdf")], "a.pdf", None),  # the same file twice
        ([att("alta.docx", DOCX[1])], None, "alta.docx"),
        ([att("file-2", "text/html"), att("firma.pdf", "application/pdf")], "firma.pdf", None),
        ([att("virus.pdf.exe", "application/octet-stream"), att("alta.doc", "application/msword")], None, "alta.doc"),
        ([att("nota.pdf", "text/plain"), att("alta.docx", DOCX[1])], None, "alta.docx"),  # the type decides
    ],
)
def test_formats_are_judged_by_content_type_and_name(files: list[AttachmentInfo], scan: str | None,
                                                     editable: str | None) -> None:  # fmt: skip
    found = find_formats(files)
    assert (found[0].filename if found[0] else None, found[1].filename if found[1] else None) == (scan, editable)


def test_formats_count_on_any_article_of_the_ticket() -> None:
    snap = ticket(
        article("Atendido", ONBOARDING, files=(PDF,)),
        article("Formato editable", "Se adjunta el editable.", files=(DOCX,)),
        article(*OWNER_NOTE),
    )
    t = judge(snap, RULES)
    assert t.problems == ()
    assert (t.signed_scan, t.editable) == ("alta_firmada.pdf", "alta.docx")


def test_require_formats_applies_to_every_kind() -> None:
    strict = dataclasses.replace(RULES, require_formats=True)
    snap = ticket(article("Atendido", SERVICE), article(*OWNER_NOTE))
    assert codes(snap) == set()
    assert codes(snap, strict) == {"formats_missing"}
    assert needs_attachments(snap, strict) and not needs_attachments(snap, RULES)
    assert codes(ticket(article(*OWNER_NOTE)), strict) == {"note_missing", "formats_missing"}


def test_only_onboardings_need_attachments_read() -> None:
    assert needs_attachments(ticket(article("Atendido", ONBOARDING)), RULES)
    assert not needs_attachments(ticket(article("Atendido", INCIDENT)), RULES)
    assert not needs_attachments(ticket(article("x", "URL de acceso: y", sender="customer")), RULES)


# -- bounds and the site's own words ----------------------------------------------------------------
def test_long_bodies_are_read_only_so_far() -> None:
    early = judge(ticket(article("Atendido", SERVICE + "\n" + "x" * (2 * MAX_BODY_CHARS)), article(*OWNER_NOTE)), RULES)
    late = judge(ticket(article("Atendido", "x" * MAX_BODY_CHARS + "\n" + SERVICE), article(*OWNER_NOTE)), RULES)
    assert early.problems == ()
    assert [p.value for p in late.problems] == ["note_missing"]


def test_labels_come_from_the_templates() -> None:
    templates = NoteTemplates(labels={**NoteTemplates().labels, "description": "Detalle del servicio"})
    rules = dataclasses.replace(RULES, templates=templates)
    snap = ticket(article("Atendido", "detalle del servicio: listo"), article(*OWNER_NOTE))
    assert codes(snap, rules) == set()
    assert codes(snap) == {"note_missing"}


def test_no_value_of_a_note_is_in_the_verdict() -> None:
    t = judge(ticket(article("Atendido", ONBOARDING, files=(PDF, DOCX)), article(*OWNER_NOTE)), RULES)
    dumped = repr(t) + repr(t.to_dict())
    for value in ("Temporal#2026", "mgarcia", "nomina.example"):
        assert value not in dumped
    assert t.fields == {"description": "present", "access_url": "present", "login": "present", "password": "present"}
