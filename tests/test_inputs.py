"""Every bad input is an InputError naming the field, raised before any HTTP request
(``no_http()`` registers no URL: any request would be recorded in ``rsps.calls``)."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

import pydantic
import pytest
from helpers import (
    AGENT_LOGIN,
    AGENT_PASSWORD,
    BASE_URL,
    OWNER_LOGIN,
    TICKET_ID,
    TICKET_NUMBER,
    chain_texts,
    door,
    make_file,
    make_formats,
    new_client,
    no_http,
    service_desk,
    writes,
)

from otrs_closure import (
    ClosureClient,
    ClosureSettings,
    FormatFiles,
    Incident,
    InputError,
    NoteTemplates,
    OtrsClosureError,
    ServiceRequest,
    UserOnboarding,
)

ONBOARDING = dict(description="Alta en nómina.", access_url="https://nomina.example.gob.mx", login="mgarcia",
                  password="Temporal#2026")


def assert_input_error(exc: InputError, field: str) -> None:
    assert isinstance(exc, InputError) and isinstance(exc, ValueError) and isinstance(exc, OtrsClosureError)
    assert exc.field == field
    assert str(exc).startswith(f"{field}: ")
    assert exc.to_dict()["field"] == field
    assert exc.problem and "Value error" not in exc.problem


# -- the attention kinds --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "values", "field"),
    [
        (ServiceRequest, {"description": ""}, "description"),
        (ServiceRequest, {"description": "   \n\t"}, "description"),
        (ServiceRequest, {}, "description"),
        (UserOnboarding, {**ONBOARDING, "description": " "}, "description"),
        (UserOnboarding, {**ONBOARDING, "login": ""}, "login"),
        (UserOnboarding, {**ONBOARDING, "password": ""}, "password"),
        (UserOnboarding, {**ONBOARDING, "password": "   "}, "password"),
        (UserOnboarding, {**ONBOARDING, "access_url": ""}, "access_url"),
        (UserOnboarding, {**ONBOARDING, "access_url": "nomina.example.gob.mx"}, "access_url"),
        (UserOnboarding, {**ONBOARDING, "access_url": "ftp://nomina.example.gob.mx"}, "access_url"),
        (UserOnboarding, {**ONBOARDING, "access_url": "https://"}, "access_url"),
        (UserOnboarding, {**ONBOARDING, "access_url": "https://nomina example.gob.mx"}, "access_url"),
        (UserOnboarding, {**ONBOARDING, "access_url": "javascript:alert(1)"}, "access_url"),
        (Incident, {"problem": "", "solution": "Se cambió el disco."}, "problem"),
        (Incident, {"problem": "Disco dañado.", "solution": "  "}, "solution"),
        (ServiceRequest, {"description": "ok", "extra": "x"}, "extra"),
        (ServiceRequest, {"description": 5}, "description"),
    ],
)
def test_bad_attention_values(cls, values, field):
    with no_http() as rsps:
        with pytest.raises(InputError) as ei:
            cls(**values)
        assert len(rsps.calls) == 0
    assert_input_error(ei.value, field)


def test_incident_blank_description_is_none_and_attentions_are_frozen():
    inc = Incident(problem="a", solution="b", description="   ")
    assert inc.description is None
    with pytest.raises(pydantic.ValidationError):
        inc.problem = "c"  # type: ignore[misc]
    assert UserOnboarding(**{**ONBOARDING, "access_url": " https://x.example.gob.mx/a "}).access_url == (
        "https://x.example.gob.mx/a")


# -- the close() call ------------------------------------------------------------------------------


def bad_close(field: str, **kw) -> None:
    client = kw.pop("client", None) or new_client()
    with no_http() as rsps:
        with pytest.raises(InputError) as ei:
            client.close(**kw)
        assert len(rsps.calls) == 0
    assert_input_error(ei.value, field)


SR = ServiceRequest(description="Impresora reconfigurada.")


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"attention": SR}, "ticket"),
        ({"attention": SR, "ticket_number": TICKET_NUMBER, "ticket_id": TICKET_ID}, "ticket"),
        ({"attention": SR, "ticket_number": "T#2026"}, "ticket_number"),
        ({"attention": SR, "ticket_number": ""}, "ticket_number"),
        ({"attention": SR, "ticket_number": 2026112810000011}, "ticket_number"),
        ({"attention": SR, "ticket_id": 0}, "ticket_id"),
        ({"attention": SR, "ticket_id": -2}, "ticket_id"),
        ({"attention": SR, "ticket_id": True}, "ticket_id"),
        ({"attention": SR, "ticket_id": "2"}, "ticket_id"),
        ({"attention": {"kind": "service_request", "description": "x"}, "ticket_id": TICKET_ID}, "attention"),
        ({"attention": None, "ticket_id": TICKET_ID}, "attention"),
        ({"attention": SR, "ticket_id": TICKET_ID, "formats": ("a.pdf", "b.docx")}, "formats"),
    ],
)
def test_bad_close_arguments(kw, field):
    bad_close(field, **kw)


def test_formats_are_required_for_user_onboarding():
    bad_close("formats", attention=UserOnboarding(**ONBOARDING), ticket_id=TICKET_ID)


@pytest.mark.parametrize("attention", [SR, Incident(problem="a", solution="b")])
def test_require_formats_makes_them_required_for_every_kind(attention):
    bad_close("formats", client=new_client(require_formats=True), attention=attention, ticket_id=TICKET_ID)


def test_request_over_max_request_bytes_is_refused_before_sending(tmp_path):
    formats = make_formats(tmp_path)
    size = formats.signed_scan.stat().st_size + formats.editable.stat().st_size
    bad_close("formats", client=new_client(max_request_bytes=size), attention=SR, ticket_id=TICKET_ID,
              formats=formats)
    # Within the limit it goes through.
    fake = service_desk()
    with door(fake):
        new_client(max_request_bytes=10 * size).close(attention=SR, ticket_id=TICKET_ID, formats=formats)
    step1 = writes(fake)[0]
    assert step1.size is not None and step1.size <= 10 * size


def test_max_request_bytes_counts_the_base64_and_the_json(tmp_path):
    """The exact size the step-1 request will have is what is compared."""
    formats = make_formats(tmp_path)
    fake = service_desk()
    with door(fake):
        new_client().close(attention=SR, ticket_id=TICKET_ID, formats=formats)
    exact = writes(fake)[0].size
    assert exact is not None
    # The check uses a 32-character placeholder session id, as Znuny's (and the fake's) ids are.
    fake = service_desk()
    with door(fake):
        receipt = new_client(max_request_bytes=exact).close(attention=SR, ticket_id=TICKET_ID, formats=formats)
    assert receipt.complete and writes(fake)[0].size == exact
    bad_close("formats", client=new_client(max_request_bytes=exact - 1), attention=SR, ticket_id=TICKET_ID,
              formats=formats)


def test_missing_template_label_is_an_input_error():
    labels = {k: v for k, v in NoteTemplates().labels.items() if k != "solution"}
    client = ClosureClient(BASE_URL, AGENT_LOGIN, AGENT_PASSWORD, OWNER_LOGIN,
                           templates=NoteTemplates(labels=labels))
    bad_close("templates", client=client, attention=SR, ticket_id=TICKET_ID)


# -- the format files ------------------------------------------------------------------------------


def formats_error(field: str, **paths: Path) -> InputError:
    """The InputError that validate(), plan() and close() all raise, with no request sent."""
    formats = FormatFiles(**paths)  # paths only: the files are read when a closure is prepared
    errors = []
    with no_http() as rsps:
        client = new_client()
        for call in (client.validate, client.plan, client.close):
            with pytest.raises(InputError) as ei:
                call(attention=SR, formats=formats, **({} if call == client.validate else {"ticket_id": TICKET_ID}))
            errors.append(ei.value)
        assert len(rsps.calls) == 0
    assert len({str(e) for e in errors}) == 1
    assert_input_error(errors[0], field)
    return errors[0]


def test_missing_file(tmp_path):
    exc = formats_error("formats.signed_scan", signed_scan=tmp_path / "no-existe.pdf",
                        editable=make_file(tmp_path, "DOCX"))
    assert "no-existe.pdf" in str(exc) and str(tmp_path) not in str(exc)


def test_empty_file(tmp_path):
    empty = tmp_path / "vacio.docx"
    empty.write_bytes(b"")
    formats_error("formats.editable", signed_scan=make_file(tmp_path, "PDF"), editable=empty)


def test_directory_instead_of_a_file(tmp_path):
    (tmp_path / "carpeta.pdf").mkdir()
    formats_error("formats.signed_scan", signed_scan=tmp_path / "carpeta.pdf", editable=make_file(tmp_path, "DOCX"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path):
    scan = make_file(tmp_path, "PDF")
    scan.chmod(0)
    try:
        formats_error("formats.signed_scan", signed_scan=scan, editable=make_file(tmp_path, "DOCX"))
    finally:
        scan.chmod(0o600)


def test_unreadable_file_even_as_root(tmp_path, monkeypatch):
    """os.access says no (as it would for a non-root user): refused by the same check."""
    scan = make_file(tmp_path, "PDF")
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == scan else real(p, mode))
    exc = formats_error("formats.signed_scan", signed_scan=scan, editable=make_file(tmp_path, "DOCX"))
    assert "not readable" in exc.problem


def test_a_file_deleted_after_formats_were_checked_is_refused_by_close(tmp_path):
    formats = make_formats(tmp_path)
    formats.editable.unlink()
    bad_close("formats.editable", attention=SR, ticket_id=TICKET_ID, formats=formats)


def test_pdf_renamed_docx_is_accepted_as_editable(tmp_path):
    renamed = make_file(tmp_path, "PDF", "formato.docx")
    formats = FormatFiles(signed_scan=make_file(tmp_path, "PNG"), editable=renamed)
    fake = service_desk()
    with door(fake):
        new_client().close(attention=SR, ticket_id=TICKET_ID, formats=formats)
    types = {a["Filename"]: a["ContentType"] for a in writes(fake)[0].body["Attachment"]}
    assert types["formato.docx"] == "application/pdf"  # typed by content, not by name
    assert {a.filename: a.content_type for a in fake.ticket(TICKET_ID).attachments()}["formato.docx"] == (
        "application/pdf")


@pytest.mark.parametrize("kind", ["DOCX", "XLSX", "ODT", "ODS", "DOC", "XLS"])
def test_editable_given_as_signed_scan_is_refused(tmp_path, kind):
    exc = formats_error("formats.signed_scan", signed_scan=make_file(tmp_path, kind, "escaneo.pdf"),
                        editable=make_file(tmp_path, "DOCX"))
    assert kind in exc.problem and "PDF/JPEG/PNG/TIFF" in exc.problem


@pytest.mark.parametrize("kind", ["PNG", "JPEG", "TIFF"])
def test_image_given_as_editable_is_refused(tmp_path, kind):
    formats_error("formats.editable", signed_scan=make_file(tmp_path, "PDF"),
                  editable=make_file(tmp_path, kind, "formato.docx"))


@pytest.mark.parametrize(
    "content",
    [b"Esto es texto, no un PDF.\n", b"PK\x03\x04 not really a zip", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600,
     b"%PD", b"<html><body>%PDF-1.4</body></html>"],
    ids=["text", "broken-zip", "ole2-unknown-stream", "short", "html"],
)
def test_unrecognised_content_named_pdf_is_refused(tmp_path, content):
    fake = tmp_path / "scan.pdf"
    fake.write_bytes(content)
    exc = formats_error("formats.signed_scan", signed_scan=fake, editable=make_file(tmp_path, "DOCX"))
    assert "expected PDF/JPEG/PNG/TIFF" in exc.problem
    assert ("damaged or unreadable zip" if content.startswith(b"PK") else "unrecognised") in exc.problem


def test_zip_that_is_neither_office_nor_odf_is_refused(tmp_path):
    import zipfile

    z = tmp_path / "formato.docx"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("leeme.txt", "hola")
    formats_error("formats.editable", signed_scan=make_file(tmp_path, "PDF"), editable=z)


def test_both_files_with_the_same_name_are_refused(tmp_path):
    a = make_file(tmp_path / "a", "PDF", "formato.pdf")
    b = make_file(tmp_path / "b", "PDF", "formato.pdf")
    formats_error("formats", signed_scan=a, editable=b)


def test_a_symlink_to_a_file_is_followed(tmp_path):
    real = make_file(tmp_path / "real", "PDF")
    link = tmp_path / "enlace.pdf"
    link.symlink_to(real)
    formats = FormatFiles(signed_scan=link, editable=make_file(tmp_path, "DOCX"))
    assert formats.signed_scan == link
    shutil.rmtree(tmp_path / "real")
    formats_error("formats.signed_scan", signed_scan=link, editable=make_file(tmp_path, "DOCX"))


# -- settings ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"owner_login": ""}, "owner_login"),
        ({"owner_login": "   "}, "owner_login"),
        ({"username": ""}, "username"),
        ({"password": ""}, "password"),
        ({"base_url": "mesa.example.gob.mx"}, "base_url"),
        ({"base_url": "ftp://mesa.example.gob.mx"}, "base_url"),
        ({"base_url": "https://"}, "base_url"),
        ({"server_timezone": "America/Ciudad_Gotica"}, "server_timezone"),
        ({"server_timezone": "../etc/passwd"}, "server_timezone"),
        ({"webservice": " "}, "webservice"),
        ({"attended_state": ""}, "attended_state"),
        ({"read_timeout": 0}, "read_timeout"),
        ({"connect_timeout": -1}, "connect_timeout"),
        ({"retry_attempts": 0}, "retry_attempts"),
        ({"retry_attempts": 21}, "retry_attempts"),
        ({"max_request_bytes": 0}, "max_request_bytes"),
        ({"routes": {"TicketGet": {"method": "GET", "path": "Ticket/:TicketID"}}}, "routes"),
        ({"ca_bundle": "/nonexistent/ca.pem"}, "ca_bundle"),
        ({"no_such_option": 1}, "no_such_option"),
    ],
)
def test_bad_settings(kw, field):
    values = {"base_url": BASE_URL, "username": AGENT_LOGIN, "password": AGENT_PASSWORD, "owner_login": OWNER_LOGIN}
    values.update(kw)
    with no_http() as rsps:
        with pytest.raises(InputError) as ei:
            ClosureClient(**values)
        assert len(rsps.calls) == 0
    assert ei.value.field.split(".")[0] == field
    assert "Value error" not in str(ei.value)
    with pytest.raises(InputError):
        ClosureSettings.build(**values)


def test_settings_and_values_together_are_refused():
    s = ClosureSettings.build(base_url=BASE_URL, username=AGENT_LOGIN, password=AGENT_PASSWORD,
                              owner_login=OWNER_LOGIN)
    with pytest.raises(InputError) as ei:
        ClosureClient(BASE_URL, settings=s)
    assert ei.value.field == "settings"
    assert ClosureClient(settings=s).settings is s


def test_base_url_is_normalised():
    c = ClosureClient(" https://mesa.example.gob.mx/ ", AGENT_LOGIN, AGENT_PASSWORD, OWNER_LOGIN)
    assert c.settings.base_url == "https://mesa.example.gob.mx"
    assert c.settings.service_url == (
        "https://mesa.example.gob.mx/otrs/nph-genericinterface.pl/Webservice/GenericTicketConnectorREST")


# -- typed text never forges the note's structure --------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Se reinició.\nReferencia de cierre: oc-0123456789ab",
        "Se reinició.\r\nreferencia de cierre oc-0123456789ab",  # as people type it
        "Se reinició.\u2028Contraseña de acceso al Sistema: otra",  # a Unicode line separator
        "Se reinició.\n  - Solucion real: otra",
    ],
    ids=["reference", "reference-typed", "u2028-password", "bullet-solution"],
)
def test_a_line_of_typed_text_that_reads_as_a_label_is_refused(text):
    with no_http() as rsps:
        client = new_client()
        for attention in (ServiceRequest(description=text), Incident(problem="Sin red.", solution=text)):
            with pytest.raises(InputError, match="reads as the note's label"):
                client.close(ticket_id=TICKET_ID, attention=attention)
        assert len(rsps.calls) == 0


def test_another_closures_reference_in_a_description_cannot_pass_for_it(tmp_path):
    """The reference line of closure A, typed into closure B's description, neither makes B
    find "its" note done nor bypasses the conflict guard."""
    fake = service_desk()
    first = ServiceRequest(description="Se reconfiguró la impresora.")
    with door(fake):
        receipt = new_client().close(ticket_id=TICKET_ID, attention=first)
        forged = ServiceRequest(description=f"Otra cosa.\nReferencia de cierre: {receipt.closure_id}")
        with pytest.raises(InputError):
            new_client().close(ticket_id=TICKET_ID, attention=forged)
    assert len(fake.ticket(TICKET_ID).articles_with_subject("Atendido")) == 1


@pytest.mark.parametrize("field", ["login", "access_url", "password"])
@pytest.mark.parametrize("brk", ["\n", "\r", "\u2028", "\x0b", "\x85"])
def test_single_line_fields_refuse_line_breaks(field, brk):
    values = {**ONBOARDING, field: ONBOARDING[field] + brk + "Contraseña de acceso al Sistema: otra"}
    with pytest.raises(InputError) as ei:
        UserOnboarding(**values)
    assert ei.value.field == field
    assert "otra" not in str(ei.value) and "Temporal" not in str(ei.value)


# -- odd values ------------------------------------------------------------------------------------


@pytest.mark.parametrize("number", ["１２３", "²", "٢٠٢٦", "12 34", "1" * 51, "-5"])
def test_a_ticket_number_is_ascii_digits(number):
    with no_http() as rsps, pytest.raises(InputError) as ei:
        new_client().close(ticket_number=number, attention=SR)
    assert ei.value.field == "ticket_number" and len(rsps.calls) == 0


@pytest.mark.parametrize("ticket_id", [10**30, 2**63, 0, -1, True])
def test_a_ticket_id_is_in_the_databases_range(ticket_id):
    with no_http() as rsps, pytest.raises(InputError) as ei:
        new_client().close(ticket_id=ticket_id, attention=SR)
    assert ei.value.field == "ticket_id" and len(rsps.calls) == 0


@pytest.mark.parametrize("blank", ["\u200b", "\ufeff\u200b \u2060", "\u200e\u200f"])
def test_invisible_text_is_blank(blank):
    with pytest.raises(InputError, match="blank"):
        ServiceRequest(description=blank)
    with pytest.raises(InputError, match="blank"):
        Incident(problem=blank, solution="Se cambió el cable.")


# -- secrets in the last places --------------------------------------------------------------------


def test_validating_an_onboarding_from_data_never_shows_the_password():
    data = {**ONBOARDING, "password": "S3cr3t-no-mostrar", "access_url": "no es una url"}
    for parse in (lambda: UserOnboarding.model_validate(data),
                  lambda: UserOnboarding.model_validate_json(__import__("json").dumps(data))):
        with pytest.raises(InputError) as ei:
            parse()
        assert ei.value.field == "access_url"
        assert "S3cr3t" not in str(ei.value) and "S3cr3t" not in repr(ei.value)
        assert ei.value.__context__ is None or "S3cr3t" not in str(ei.value.__context__)


def test_a_base_url_with_credentials_is_refused_without_showing_them():
    with pytest.raises(InputError) as ei:
        ClosureClient(base_url="https://jperez:s3cr3t@mesa.example.gob.mx", username=AGENT_LOGIN,
                      password=AGENT_PASSWORD, owner_login=OWNER_LOGIN)
    assert ei.value.field == "base_url" and "s3cr3t" not in str(ei.value) and "jperez" not in str(ei.value)


def test_plain_http_to_another_host_is_warned_about():
    from otrs_closure import SettingsWarning

    with pytest.warns(SettingsWarning, match="unencrypted"):
        ClosureClient(base_url="http://mesa.example.gob.mx", username=AGENT_LOGIN, password=AGENT_PASSWORD,
                      owner_login=OWNER_LOGIN)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for url in ("http://127.0.0.1:8080", "http://localhost", "https://mesa.example.gob.mx",
                    "http://znuny.fake.test"):
            ClosureClient(base_url=url, username=AGENT_LOGIN, password=AGENT_PASSWORD, owner_login=OWNER_LOGIN)


# -- what an InputError carries along: its chained exceptions -------------------------------------

AGENT_PW = "AgentePw-Canary-91c3"
ONBOARD_PW = "Temporal#2026-Canary"
PIN = 20261128  # a numeric password (named, so that tracebacks quote the name, not the value)


@pytest.mark.parametrize(
    ("make", "secret"),
    [
        # a wrongly typed password: pydantic's message quotes the input
        (lambda: UserOnboarding(description="d", access_url="https://a.example", login="l", password=PIN), str(PIN)),
        (lambda: ClosureClient(BASE_URL, "jperez", PIN, "agente.mesa"), str(PIN)),
        # a problem elsewhere: pydantic's error keeps the whole input, password included
        (lambda: UserOnboarding(description=" ", access_url="https://a.example", login="l", password=ONBOARD_PW),
         ONBOARD_PW),
        (lambda: ClosureClient(BASE_URL, "jperez", AGENT_PW, "agente.mesa", ca_bundle="/no/such/ca.pem"), AGENT_PW),
        (lambda: ClosureClient(BASE_URL, "jperez", AGENT_PW, "agente.mesa", lock_dir="/no/such/dir"), AGENT_PW),
        (lambda: ClosureSettings.build(base_url="nope", username="u", password=AGENT_PW, owner_login="o"), AGENT_PW),
    ],
    ids=["onboarding-pw-type", "agent-pw-type", "onboarding-other-field", "ca-bundle", "lock-dir", "base-url"],
)
def test_an_input_error_chains_no_secret(make: Any, secret: str) -> None:
    with pytest.raises(InputError) as ei:
        make()
    for text in chain_texts(ei.value):
        assert secret not in text, text[:400]


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
        ClosureSettings.build(base_url=BASE_URL, username="u", password="p", owner_login="o",
                              owner_body="Se modifica\x00 propietario")
    assert ei.value.field == "owner_body"
