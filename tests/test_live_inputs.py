"""Every bad input of the offline suite, against each real server: refused with
``InputError`` naming the field, with no request sent by the client and nothing changed
on the server (a raw before/after snapshot of the ticket: state, owner, lock, change
time, articles, attachments and history rows).

The catalogue mirrors tests/test_inputs.py (attention values, close() arguments, format
files, settings), tests/test_files.py (types by content) and tests/test_review_inputs.py
(NUL characters, a password where a variable's name belongs); the CLI cases run
``otrs-closure close`` in a subprocess against the server (exit 2, nothing written).
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers import make_file
from live_support import Snapshot, Target, mask

from otrs_closure import (
    ClosureClient,
    FormatFiles,
    Incident,
    InputError,
    NoteTemplates,
    ServiceRequest,
    UserOnboarding,
)

pytestmark = [pytest.mark.live, pytest.mark.compat("bad_input")]

ONBOARDING = dict(description="Alta en nómina.", access_url="https://nomina.example.gob.mx", login="mgarcia",
                  password="Temporal#2026")
SR = ServiceRequest(description="Impresora reconfigurada.")


@dataclass
class Ctx:
    target: Target
    tid: int
    number: str
    dir: Path

    def client(self, **changes: Any) -> ClosureClient:
        self.last = self.target.client(**changes)
        return self.last

    def close(self, **kw: Any) -> Any:
        return self.client().close(**kw)

    def formats(self, scan: Path | None = None, editable: Path | None = None) -> FormatFiles:
        return FormatFiles(signed_scan=scan or make_file(self.dir, "PDF"),
                           editable=editable or make_file(self.dir, "DOCX"))

    def file(self, name: str, content: bytes) -> Path:
        path = self.dir / name
        path.write_bytes(content)
        return path


def _deleted_after_check(c: Ctx) -> Any:
    formats = c.formats()
    formats.editable.unlink()
    return c.close(ticket_id=c.tid, attention=SR, formats=formats)


def _over_max_request_bytes(c: Ctx) -> Any:
    formats = c.formats()
    size = formats.signed_scan.stat().st_size + formats.editable.stat().st_size
    return c.client(max_request_bytes=size).close(ticket_id=c.tid, attention=SR, formats=formats)


def _dangling_symlink(c: Ctx) -> Any:
    real = make_file(c.dir / "real", "PDF")
    link = c.dir / "enlace.pdf"
    link.symlink_to(real)
    real.unlink()
    return c.formats(scan=link)


def _zip_not_office(c: Ctx) -> Any:
    z = c.dir / "formato.docx"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("leeme.txt", "hola")
    return c.formats(editable=z)


def _same_name(c: Ctx) -> Any:
    return FormatFiles(signed_scan=make_file(c.dir / "a", "PDF", "formato.pdf"),
                       editable=make_file(c.dir / "b", "PDF", "formato.pdf"))


def _directory(c: Ctx) -> Any:
    (c.dir / "carpeta.pdf").mkdir()
    return c.formats(scan=c.dir / "carpeta.pdf")


def _without_label(c: Ctx) -> Any:
    labels = {k: v for k, v in NoteTemplates().labels.items() if k != "solution"}
    client = ClosureClient(settings=c.target.settings(), templates=NoteTemplates(labels=labels))
    c.last = client
    return client.close(ticket_id=c.tid, attention=SR)


def _setting(**bad: Any) -> Callable[[Ctx], Any]:
    def make(c: Ctx) -> Any:
        s = c.target
        values: dict[str, Any] = {"base_url": s.url, "username": s.username, "password": s.password,
                                  "owner_login": s.owner_login, **bad}
        client = ClosureClient(**values)
        c.last = client
        return client.close(ticket_id=c.tid, attention=SR)

    return make


def _scan_of_kind(kind: str) -> Callable[[Ctx], Any]:
    return lambda c: c.formats(scan=make_file(c.dir, kind, "escaneo.pdf"))


def _editable_of_kind(kind: str) -> Callable[[Ctx], Any]:
    return lambda c: c.formats(editable=make_file(c.dir, kind, "formato.docx"))


def _scan_of_bytes(content: bytes) -> Callable[[Ctx], Any]:
    return lambda c: c.formats(scan=c.file("scan.pdf", content))


def _attention(cls: Any, **values: Any) -> Callable[[Ctx], Any]:
    return lambda c: c.close(ticket_id=c.tid, attention=cls(**values), formats=c.formats())


def _close(**kw: Any) -> Callable[[Ctx], Any]:
    def run(c: Ctx) -> Any:
        args = {k: (c.tid if v == "TID" else c.number if v == "NUMBER" else v) for k, v in kw.items()}
        return c.close(**args)

    return run


#: (id, what is done, the field the InputError must name)
CASES: list[tuple[str, Callable[[Ctx], Any], str]] = [
    # attention values (test_inputs.test_bad_attention_values)
    ("sr-description-empty", _attention(ServiceRequest, description=""), "description"),
    ("sr-description-blank", _attention(ServiceRequest, description="   \n\t"), "description"),
    ("sr-description-missing", _attention(ServiceRequest), "description"),
    ("onb-description-blank", _attention(UserOnboarding, **{**ONBOARDING, "description": " "}), "description"),
    ("onb-login-empty", _attention(UserOnboarding, **{**ONBOARDING, "login": ""}), "login"),
    ("onb-password-empty", _attention(UserOnboarding, **{**ONBOARDING, "password": ""}), "password"),
    ("onb-password-blank", _attention(UserOnboarding, **{**ONBOARDING, "password": "   "}), "password"),
    ("onb-url-empty", _attention(UserOnboarding, **{**ONBOARDING, "access_url": ""}), "access_url"),
    ("onb-url-no-scheme", _attention(UserOnboarding, **{**ONBOARDING, "access_url": "nomina.example.gob.mx"}),
     "access_url"),
    ("onb-url-ftp", _attention(UserOnboarding, **{**ONBOARDING, "access_url": "ftp://nomina.example.gob.mx"}),
     "access_url"),
    ("onb-url-no-host", _attention(UserOnboarding, **{**ONBOARDING, "access_url": "https://"}), "access_url"),
    ("onb-url-blank-in-host",
     _attention(UserOnboarding, **{**ONBOARDING, "access_url": "https://nomina example.gob.mx"}), "access_url"),
    ("onb-url-javascript", _attention(UserOnboarding, **{**ONBOARDING, "access_url": "javascript:alert(1)"}),
     "access_url"),
    ("inc-problem-empty", _attention(Incident, problem="", solution="Se cambió el disco."), "problem"),
    ("inc-solution-blank", _attention(Incident, problem="Disco dañado.", solution="  "), "solution"),
    ("sr-extra-field", _attention(ServiceRequest, description="ok", extra="x"), "extra"),
    ("sr-description-int", _attention(ServiceRequest, description=5), "description"),
    # NUL characters (test_review_inputs)
    ("nul-description", _attention(ServiceRequest, description="Se reinició\x00 el equipo."), "description"),
    ("nul-solution", _attention(Incident, problem="DNS", solution="reinicio\x00"), "solution"),
    ("nul-login", _attention(UserOnboarding, **{**ONBOARDING, "login": "mg\x00"}), "login"),
    ("nul-password", _attention(UserOnboarding, **{**ONBOARDING, "password": "Tempo\x00ral"}), "password"),
    ("nul-owner-body-setting", _setting(owner_body="Se modifica\x00 propietario"), "owner_body"),
    # close() arguments (test_inputs.test_bad_close_arguments & co.)
    ("no-ticket", _close(attention=SR), "ticket"),
    ("both-ticket-refs", _close(attention=SR, ticket_number="NUMBER", ticket_id="TID"), "ticket"),
    ("number-not-digits", _close(attention=SR, ticket_number="T#2026"), "ticket_number"),
    ("number-empty", _close(attention=SR, ticket_number=""), "ticket_number"),
    ("number-as-int", _close(attention=SR, ticket_number=2026112810000011), "ticket_number"),
    ("id-zero", _close(attention=SR, ticket_id=0), "ticket_id"),
    ("id-negative", _close(attention=SR, ticket_id=-2), "ticket_id"),
    ("id-bool", _close(attention=SR, ticket_id=True), "ticket_id"),
    ("id-as-str", _close(attention=SR, ticket_id="2"), "ticket_id"),
    ("attention-dict", _close(attention={"kind": "service_request", "description": "x"}, ticket_id="TID"), "attention"),
    ("attention-none", _close(attention=None, ticket_id="TID"), "attention"),
    ("formats-tuple", _close(attention=SR, ticket_id="TID", formats=("a.pdf", "b.docx")), "formats"),
    ("onboarding-without-formats", _close(attention=UserOnboarding(**ONBOARDING), ticket_id="TID"), "formats"),
    ("require-formats-sr", lambda c: c.client(require_formats="true").close(ticket_id=c.tid, attention=SR), "formats"),
    ("require-formats-incident",
     lambda c: c.client(require_formats="true").close(ticket_id=c.tid, attention=Incident(problem="a", solution="b")),
     "formats"),
    ("over-max-request-bytes", _over_max_request_bytes, "formats"),
    ("file-deleted-after-check", _deleted_after_check, "formats.editable"),
    ("template-label-missing", _without_label, "templates"),
    # format files (test_inputs, test_files)
    ("scan-missing", lambda c: c.formats(scan=c.dir / "no-existe.pdf"), "formats.signed_scan"),
    ("editable-empty", lambda c: c.formats(editable=c.file("vacio.docx", b"")), "formats.editable"),
    ("scan-is-directory", _directory, "formats.signed_scan"),
    *[(f"scan-is-{k.lower()}", _scan_of_kind(k), "formats.signed_scan")
      for k in ("DOCX", "XLSX", "ODT", "ODS", "DOC", "XLS")],
    *[(f"editable-is-{k.lower()}", _editable_of_kind(k), "formats.editable") for k in ("PNG", "JPEG", "TIFF")],
    *[(f"scan-unrecognised-{n}", _scan_of_bytes(b), "formats.signed_scan")
      for n, b in (("text", b"Esto es texto, no un PDF.\n"), ("broken-zip", b"PK\x03\x04 not really a zip"),
                   ("ole2", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600), ("short", b"%PD"),
                   ("html", b"<html><body>%PDF-1.4</body></html>"))],
    ("editable-zip-not-office", _zip_not_office, "formats.editable"),
    ("same-filename", _same_name, "formats"),
    ("scan-dangling-symlink", _dangling_symlink, "formats.signed_scan"),
    # settings (test_inputs.test_bad_settings)
    ("owner-login-empty", _setting(owner_login=""), "owner_login"),
    ("owner-login-blank", _setting(owner_login="   "), "owner_login"),
    ("username-empty", _setting(username=""), "username"),
    ("password-empty", _setting(password=""), "password"),
    ("base-url-no-scheme", _setting(base_url="mesa.example.gob.mx"), "base_url"),
    ("base-url-ftp", _setting(base_url="ftp://mesa.example.gob.mx"), "base_url"),
    ("timezone-unknown", _setting(server_timezone="America/Ciudad_Gotica"), "server_timezone"),
    ("timezone-path", _setting(server_timezone="../etc/passwd"), "server_timezone"),
    ("webservice-blank", _setting(webservice=" "), "webservice"),
    ("attended-state-empty", _setting(attended_state=""), "attended_state"),
    ("read-timeout-zero", _setting(read_timeout=0), "read_timeout"),
    ("connect-timeout-negative", _setting(connect_timeout=-1), "connect_timeout"),
    ("retry-attempts-zero", _setting(retry_attempts=0), "retry_attempts"),
    ("retry-attempts-21", _setting(retry_attempts=21), "retry_attempts"),
    ("max-request-bytes-zero", _setting(max_request_bytes=0), "max_request_bytes"),
    ("route-without-slash", _setting(routes={"TicketGet": {"method": "GET", "path": "Ticket/:TicketID"}}), "routes"),
    ("ca-bundle-missing", _setting(ca_bundle="/nonexistent/ca.pem"), "ca_bundle"),
    ("unknown-option", _setting(no_such_option=1), "no_such_option"),
    ("session-create-over-get", _setting(routes={"SessionCreate": {"method": "GET", "path": "/Session"}}), "routes"),
]


@pytest.fixture(scope="session")
def untouched() -> dict[str, tuple[int, str, Snapshot]]:
    """One ticket per server that every bad input is tried on (none may change it)."""
    return {}


def ticket_for(target: Target, untouched: dict[str, tuple[int, str, Snapshot]]) -> tuple[int, str, Snapshot]:
    if target.name not in untouched:
        tid, number = target.raw.create_ticket("otrs_closure en vivo: entradas inválidas")
        untouched[target.name] = (tid, number, target.raw.snapshot(tid))
    return untouched[target.name]


@pytest.mark.parametrize(("make", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_refused_and_changes_nothing(target: Target, make: Callable[[Ctx], Any], field: str,
                                                  untouched: dict[str, tuple[int, str, Snapshot]],
                                                  tmp_path: Path) -> None:
    """InputError naming the field; the client sent nothing; the ticket is as it was."""
    tid, number, before = ticket_for(target, untouched)
    ctx = Ctx(target, tid, number, tmp_path)
    ctx.last = None
    with pytest.raises(InputError) as info:
        made = make(ctx)
        if isinstance(made, FormatFiles):  # the paths only: the files are checked when a closure is prepared
            ctx.close(ticket_id=ctx.tid, attention=SR, formats=made)
    assert info.value.field.split(".")[0] == field.split(".")[0], mask(info.value)
    assert info.value.field == field or field.count(".") == 0, mask(info.value)
    client = getattr(ctx, "last", None)
    if client is not None:
        assert not any(client.requests_sent.values()), client.requests_sent
    assert "Temporal#2026" not in str(info.value) and "Tempo\x00ral" not in str(info.value)
    assert target.raw.snapshot(tid).summary() == before.summary()


CLI_CASES: list[tuple[str, list[str], dict[str, str]]] = [
    ("blank-description", ["--kind", "service_request", "--description", "  "], {}),
    ("bad-access-url", ["--kind", "user_onboarding", "--description", "Alta", "--access-url", "nomina.example",
                        "--login", "mgarcia", "--signed-scan", "{scan}", "--editable", "{editable}"],
     {"OTRS_CLOSURE_ONBOARDING_PASSWORD": "Temporal#2026"}),
    ("editable-as-scan", ["--kind", "service_request", "--description", "Hecho", "--signed-scan", "{editable}",
                          "--editable", "{editable2}"], {}),
    ("missing-file", ["--kind", "service_request", "--description", "Hecho", "--signed-scan", "{missing}",
                      "--editable", "{editable}"], {}),
    ("password-in-password-env", ["--kind", "user_onboarding", "--description", "Alta", "--access-url",
                                  "https://nomina.example.gob.mx", "--login", "mgarcia", "--password-env",
                                  "Temporal#2026", "--signed-scan", "{scan}", "--editable", "{editable}"], {}),
    ("incident-without-solution", ["--kind", "incident", "--problem", "DNS caído"], {}),
]


@pytest.mark.parametrize(("args", "extra_env"), [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES])
def test_cli_refuses_bad_input_with_exit_2_and_writes_nothing(target: Target, args: list[str],
                                                              extra_env: dict[str, str],
                                                              untouched: dict[str, tuple[int, str, Snapshot]],
                                                              tmp_path: Path) -> None:
    """``otrs-closure close`` against the server: exit 2, no secret printed, ticket unchanged."""
    tid, number, before = ticket_for(target, untouched)
    files = {"scan": make_file(tmp_path, "PDF"), "editable": make_file(tmp_path, "DOCX"),
             "editable2": make_file(tmp_path, "XLSX"), "missing": tmp_path / "no-existe.pdf"}
    argv = [a.format(**files) for a in args]
    env = {**os.environ, **target.env(), **extra_env}
    done = subprocess.run([sys.executable, "-m", "otrs_closure", "close", "--ticket-number", number, *argv, "--json"],
                          env=env, capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    assert done.returncode == 2, mask(output[-1500:], target.secrets())
    for secret in ["Temporal#2026", *target.secrets()]:
        assert secret not in output, "a secret was printed"
    assert target.raw.snapshot(tid).summary() == before.summary()
