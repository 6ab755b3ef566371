"""The closure note: the manual's labels, per-kind templates, masking, the closure
identity, and the normalisation used to recognise a note after Znuny stored it."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from otrs_closure import Incident, NoteTemplates, ServiceRequest, UserOnboarding
from otrs_closure.note import DEFAULT_LABELS, MASK, closure_id, normalize_text, render, render_masked

ONBOARDING = UserOnboarding(
    description="Alta en nómina.", access_url="https://nomina.example.gob.mx", login="mgarcia", password="Temporal#2026"
)


def test_labels_are_the_manuals_exactly():
    assert DEFAULT_LABELS["description"] == "Descripción de la Atención"
    assert DEFAULT_LABELS["access_url"] == "URL de acceso"
    assert DEFAULT_LABELS["login"] == "Login de acceso al Sistema"
    assert DEFAULT_LABELS["password"] == "Contraseña de acceso al Sistema"
    assert DEFAULT_LABELS["problem"] == "Problema Real"
    assert DEFAULT_LABELS["solution"] == "Solución Real"
    # NFC, as typed in the manual (a decomposed "ó" would not match a search).
    assert all(unicodedata.is_normalized("NFC", v) for v in DEFAULT_LABELS.values())


def test_service_request_note():
    sr = ServiceRequest(description="Se reconfiguró la impresora.")
    assert render(sr, "oc-123") == (
        "Descripción de la Atención: Se reconfiguró la impresora.\nReferencia de cierre: oc-123"
    )


def test_onboarding_note_has_the_password_only_when_sent():
    body = render(ONBOARDING, "oc-1")
    assert body.splitlines() == [
        "Descripción de la Atención: Alta en nómina.",
        "URL de acceso: https://nomina.example.gob.mx",
        "Login de acceso al Sistema: mgarcia",
        "Contraseña de acceso al Sistema: Temporal#2026",
        "Referencia de cierre: oc-1",
    ]
    masked = render_masked(ONBOARDING, "oc-1")
    assert "Temporal#2026" not in masked
    assert masked == body.replace("Temporal#2026", MASK)


def test_incident_note_with_and_without_description():
    with_d = Incident(problem="Disco dañado.", solution="Disco reemplazado.", description="En sitio.")
    assert render(with_d, "oc-1").splitlines() == [
        "Problema Real: Disco dañado.",
        "Solución Real: Disco reemplazado.",
        "Descripción de la Atención: En sitio.",
        "Referencia de cierre: oc-1",
    ]
    without = Incident(problem="Disco dañado.", solution="Disco reemplazado.")
    assert render(without, "oc-1").splitlines() == [
        "Problema Real: Disco dañado.",
        "Solución Real: Disco reemplazado.",
        "Referencia de cierre: oc-1",
    ]


def test_braces_in_values_are_text_not_templates():
    sr = ServiceRequest(description="Se corrigió {password} y {label_login} en la plantilla.")
    assert render(sr, "oc-1").startswith("Descripción de la Atención: Se corrigió {password} y {label_login}")


def test_multiline_values_are_kept():
    sr = ServiceRequest(description="Paso 1: respaldo.\nPaso 2: reinstalación.")
    assert render(sr, "oc-1").splitlines()[:2] == [
        "Descripción de la Atención: Paso 1: respaldo.",
        "Paso 2: reinstalación.",
    ]


def test_templates_and_labels_can_be_overridden():
    t = NoteTemplates(
        labels={**NoteTemplates().labels, "description": "Atención realizada", "reference": "Ref"},
        templates={**NoteTemplates().templates, "service_request": "{label_description} -> {description}"},
    )
    assert render(ServiceRequest(description="x"), "oc-9", t) == "Atención realizada -> x\nRef: oc-9"


def test_closure_id_is_stable_and_ignores_the_password():
    assert closure_id(ONBOARDING) == closure_id(ONBOARDING)
    other_pw = ONBOARDING.model_copy(update={"password": ONBOARDING.password.__class__("Otra#Clave")})
    assert closure_id(other_pw) == closure_id(ONBOARDING)
    other_login = UserOnboarding(**{**ONBOARDING.model_dump(), "password": "Temporal#2026", "login": "jlopez"})
    assert closure_id(other_login) != closure_id(ONBOARDING)
    assert closure_id(ONBOARDING).startswith("oc-") and len(closure_id(ONBOARDING)) == 15


def test_closure_id_tells_kinds_and_texts_apart():
    a = closure_id(ServiceRequest(description="x"))
    assert a != closure_id(ServiceRequest(description="y"))
    assert a != closure_id(Incident(problem="x", solution="x"))


def test_closure_id_ignores_unicode_form_and_line_ends():
    nfc = ServiceRequest(description="Se atendió\r\nen sitio")
    nfd = ServiceRequest(description=unicodedata.normalize("NFD", "Se atendió\nen sitio  "))
    assert closure_id(nfc) == closure_id(nfd)


def test_closure_id_depends_on_the_files(tmp_path):
    """The files' names and contents are part of the identity (as ``validate()``, which
    checks the files, computes it); the same files elsewhere are the same closure."""
    from helpers import make_formats, new_client

    client = new_client()
    sr = ServiceRequest(description="x")
    f1 = client.validate(attention=sr, formats=make_formats(tmp_path / "1"))
    f2 = client.validate(attention=sr, formats=make_formats(tmp_path / "2", "PNG", "DOCX"))
    assert len({f1, f2, client.validate(attention=sr)}) == 3
    assert client.validate(attention=sr) == closure_id(sr)
    assert f1 == client.validate(attention=sr, formats=make_formats(tmp_path / "3"))


# -- normalize_text ---------------------------------------------------------------------------------

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200)


@given(text)
def test_normalize_text_is_idempotent(s):
    once = normalize_text(s)
    assert normalize_text(once) == once


@given(text)
def test_normalize_text_shape(s):
    out = normalize_text(s)
    assert "\r" not in out
    assert out == out.strip()
    assert all(line == line.rstrip() for line in out.split("\n"))
    assert unicodedata.is_normalized("NFC", out)


@given(text)
def test_normalize_text_ignores_what_znuny_changes(s):
    """CRLF, trailing blanks per line, surrounding whitespace and NFD do not matter."""
    lf = s.replace("\r\n", "\n").replace("\r", "\n")  # the text as lines, whatever its line ends
    variant = "  " + unicodedata.normalize("NFD", lf).replace("\n", " \r\n") + "\n\t"
    assert normalize_text(variant) == normalize_text(s)


@given(st.lists(st.text(alphabet="abcñó \t", max_size=20), max_size=6))
def test_normalize_text_keeps_inner_content(lines):
    joined = "\n".join(lines)
    out = normalize_text(joined)
    assert out.replace("\n", "").replace(" ", "").replace("\t", "") == joined.replace("\n", "").replace(
        " ", ""
    ).replace("\t", "")
