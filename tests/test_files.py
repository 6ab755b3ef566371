"""Format files, through the public API: the types each role takes (by content), the names
sent to the server (``plan()`` shows each attachment's Filename and ContentType), the
streamed body of step 1 as the fake received it (its exact length, sent as Content-Length,
never chunked; the bytes identical after base64; the files read in bounded chunks), a file
changed after validation, and hostile zip containers."""

from __future__ import annotations

import base64
import json
import os
import random
import struct
import tempfile
import unicodedata
import zipfile
from pathlib import Path
from typing import Any

import pytest
import requests
import requests.adapters
from helpers import (
    TICKET_ID,
    Answer,
    door,
    hooked_session,
    is_step1,
    make_file,
    make_formats,
    new_client,
    of,
    service_desk,
)
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from otrs_closure import ClosureClient, FormatFiles, InputError, ServiceRequest
from otrs_closure.note import render
from otrs_closure.testing import FakeZnuny

SR = ServiceRequest(description="Impresora reconfigurada.")
SCAN_TYPES = ["PDF", "JPEG", "PNG", "TIFF"]
EDITABLE_TYPES = ["DOCX", "XLSX", "ODT", "ODS", "DOC", "XLS", "PDF"]
KINDS = ["PDF", "JPEG", "PNG", "TIFF", "DOCX", "XLSX", "ODT", "ODS", "DOC", "XLS"]
OFFLINE = new_client()  # for plans and validations: no request is ever sent


def planned_attachments(formats: FormatFiles, client: ClosureClient = OFFLINE) -> list[dict[str, Any]]:
    """The Attachment list of step 1 as ``plan()`` shows it (Filename, ContentType, the
    Content described: size and digest), with no request."""
    plan = client.plan(ticket_id=TICKET_ID, attention=SR, formats=formats, offline=True)
    (step1,) = [r for r in plan.writes if r.body and "Attachment" in r.body]
    return [dict(a) for a in step1.body["Attachment"]]  # type: ignore[index]


_OTHERS = tempfile.TemporaryDirectory()  # the other role's file, made once for the whole module
OTHER = {"signed_scan": make_file(_OTHERS.name, "DOCX", "otro.docx"),
         "editable": make_file(_OTHERS.name, "PDF", "otro.pdf")}


def sent_name(name: str, role: str = "signed_scan") -> str:
    """The Filename sent for a local file called ``name`` in ``role`` (a PDF scan or a
    DOCX editable file), as ``plan()`` shows it."""
    with tempfile.TemporaryDirectory() as d:
        local = make_file(Path(d), "PDF" if role == "signed_scan" else "DOCX", name)
        if role == "signed_scan":
            formats = FormatFiles(signed_scan=local, editable=OTHER["signed_scan"])
        else:
            formats = FormatFiles(signed_scan=OTHER["editable"], editable=local)
        attachments = planned_attachments(formats)
    return str(attachments[0 if role == "signed_scan" else 1]["Filename"])


def test_generated_office_files_are_real_zips(tmp_path):
    for kind in ("DOCX", "XLSX", "ODT", "ODS"):
        with zipfile.ZipFile(make_file(tmp_path, kind)) as zf:
            assert zf.testzip() is None
    with zipfile.ZipFile(make_file(tmp_path, "ODT")) as zf:
        first = zf.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED


# -- the types each role takes, by content (see also test_client_close: each type's ContentType) -----


@pytest.mark.parametrize("kind", KINDS)
def test_allowed_types_per_role(tmp_path, kind):
    """Each role takes its types, whatever the name; any other type is refused by the name
    its content shows, with the role's types in order."""
    for role, allowed in (("signed_scan", SCAN_TYPES), ("editable", EDITABLE_TYPES)):
        given = make_file(tmp_path / role, kind, "sin_extension")
        other = make_file(tmp_path / role, "DOCX" if role == "signed_scan" else "PDF", "otro")
        formats = FormatFiles(**{role: given, ("editable" if role == "signed_scan" else "signed_scan"): other})
        if kind in allowed:
            OFFLINE.validate(attention=SR, formats=formats)
        else:
            with pytest.raises(InputError) as ei:
                OFFLINE.validate(attention=SR, formats=formats)
            assert ei.value.field == f"formats.{role}"
            assert ei.value.problem == f"sin_extension is {kind} by its content; expected {'/'.join(allowed)}"


# -- the names sent -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "role", "expected"),
    [
        ("acta.pdf", "signed_scan", "acta.pdf"),
        ("formato.docx", "editable", "formato.docx"),  # the file's directory is no part of its name
        ("C:\\Users\\mesa\\acta.pdf", "signed_scan", "acta.pdf"),
        ("..\\..\\etc\\passwd", "signed_scan", "passwd.pdf"),  # (a POSIX name never holds "/")
        ('acta:"v1"?<>|*.pdf', "signed_scan", "acta__v1______.pdf"),
        ("línea\nnueva\t.pdf", "signed_scan", "línea_nueva_.pdf"),
        ("formato", "editable", "formato.docx"),
        (" ", "signed_scan", "formato.pdf"),
        ("...", "signed_scan", "formato.pdf"),
        ("  acta.pdf  ", "signed_scan", "acta.pdf"),
        ("firma" + "\u0301" + ".pdf", "signed_scan", "firmá.pdf"),
    ],
)
def test_names_sent_examples(name, role, expected):
    assert sent_name(name, role) == expected


def test_a_long_name_keeps_its_extension_when_shortened():
    out = sent_name("a" * 250 + ".docx", "editable")
    assert len(out) == 180 and out.endswith(".docx")


@pytest.mark.parametrize(
    "name", ["a" * 179 + " " + "b" * 50, "a" * 179 + "." + "b" * 20, "a" * 174 + " ." + "b" * 10 + ".docx"]
)
def test_a_cut_name_never_ends_in_a_blank_or_dot(name):
    out = sent_name(name)
    assert len(out) <= 180
    assert not out.rsplit(".", 1)[0].endswith((" ", ".")) and not out.endswith((" ", "."))
    if "." in out:
        assert sent_name(out) == out
    # else the cut took the extension (one of 16 characters or more) with it, and the name
    # sent again gets the type's extension added: not a fixed point through close().


def local_names() -> st.SearchStrategy[str]:
    """Names a file can have here: no "/" or NUL, not "." or "..", at most 255 bytes."""
    return st.text(max_size=400).filter(
        lambda n: n not in ("", ".", "..") and "/" not in n and "\x00" not in n and len(os.fsencode(n)) <= 255
    )


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(local_names(), st.sampled_from(["signed_scan", "editable"]))
def test_names_sent_properties(name, role):
    try:
        out = sent_name(name, role)
    except InputError as exc:  # both files would carry one name: the test's other file's
        assume(exc.field != "formats")
        raise
    assert 0 < len(out) <= 180
    assert "/" not in out and "\\" not in out
    assert not any(ord(c) < 32 or c in '<>:"|?*\x7f' for c in out)
    assert out not in (".", "..")
    assert unicodedata.is_normalized("NFC", out)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(local_names(), st.sampled_from(["signed_scan", "editable"]))
def test_a_name_sent_is_sent_unchanged(name, role):
    """The name sent, as a local name, is sent as it is (unless a cut took its extension:
    see test_a_cut_name_never_ends_in_a_blank_or_dot)."""
    try:
        out = sent_name(name, role)
    except InputError as exc:  # both files would carry one name: the test's other file's
        assume(exc.field != "formats")
        raise
    assume(len(os.fsencode(out)) <= 255 and "." in out)
    assert sent_name(out, role) == out


# -- the streamed body of step 1, as the fake received it -----------------------------------------


def passing_through() -> Answer:
    """Step 1 (TicketUpdate call 2 of a fresh client), handed to the fake unchanged; its
    ``received`` keeps the raw bytes as sent."""
    return Answer("TicketUpdate", call=2, through=lambda status, headers, body: (status, headers, body))


def check_step1_as_received(fake: FakeZnuny, raw: bytes, formats: FormatFiles | None) -> None:
    """The step-1 body the fake received: its declared length is its length, it is the
    compact JSON of its document, and each file's Content is the file's bytes in base64."""
    (record,) = [r for r in of(fake, "TicketUpdate") if is_step1(r.body)]
    assert int(record.headers["content-length"]) == record.size == len(raw)
    assert "transfer-encoding" not in record.headers
    document = json.loads(raw)
    assert document == record.body
    assert json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode() == raw
    if formats is not None:
        contents = [base64.b64decode(a["Content"], validate=True) for a in document["Attachment"]]
        assert contents == [formats.signed_scan.read_bytes(), formats.editable.read_bytes()]


def descriptions() -> st.SearchStrategy[str]:
    def valid(text: str) -> bool:
        try:
            OFFLINE.validate(attention=ServiceRequest(description=text))
        except InputError:
            return False
        return True

    return st.text(min_size=1, max_size=300).filter(valid)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(
    description=descriptions(),
    sizes=st.none() | st.tuples(st.integers(0, 3 * 64 * 1024 + 7), st.integers(0, 70_000)),
    seed=st.integers(0, 2**32),
)
def test_the_streamed_body_is_exactly_the_json(description, sizes, seed):
    """Any text in the note and files of any content and size (0, 1 or 2 past a multiple of
    3, across the read chunks), or no files: the body the server reads is exactly the JSON
    document, as long as declared, each file's bytes identical after base64."""
    attention = ServiceRequest(description=description)
    with tempfile.TemporaryDirectory() as d:
        formats = None
        if sizes is not None:
            content = random.Random(seed).randbytes(sum(sizes))
            scan, editable = Path(d) / "escaneo.pdf", Path(d) / "formato.pdf"
            scan.write_bytes(b"%PDF-" + content[: sizes[0]])
            editable.write_bytes(b"%PDF-" + content[sizes[0] :])
            formats = FormatFiles(signed_scan=scan, editable=editable)
        fake = service_desk()
        step1 = passing_through()
        with door(fake, step1):
            receipt = new_client().close(ticket_id=TICKET_ID, attention=attention, formats=formats)
        (raw,) = step1.received
        check_step1_as_received(fake, raw, formats)
        assert json.loads(raw)["Article"]["Body"] == render(attention, receipt.closure_id)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(5, 300_000), st.integers(1, 3))
def test_the_size_counted_in_advance_is_the_size_sent(size, editable_size):
    """Files of any size (so base64 of any length, padded or not): the step-1 size the client
    computes before sending (to refuse one over max_request_bytes) is, to the byte, the
    Content-Length sent and the body the server reads."""
    with tempfile.TemporaryDirectory() as d:
        scan, editable = Path(d) / "escaneo.pdf", Path(d) / "formato.pdf"
        scan.write_bytes(b"%PDF-" + b"s" * (size - 5))
        editable.write_bytes(b"%PDF-" + b"e" * editable_size)
        formats = FormatFiles(signed_scan=scan, editable=editable)
        fake = service_desk()
        with door(fake):
            new_client().close(ticket_id=TICKET_ID, attention=SR, formats=formats)
        (record,) = [r for r in of(fake, "TicketUpdate") if is_step1(r.body)]
        sent = record.size
        assert sent is not None and int(record.headers["content-length"]) == sent
        new_client(max_request_bytes=sent).validate(attention=SR, formats=formats)
        with pytest.raises(InputError) as ei:
            new_client(max_request_bytes=sent - 1).validate(attention=SR, formats=formats)
        assert ei.value.field == "formats" and f"would be {sent} bytes" in ei.value.problem


@pytest.mark.parametrize("extra", [0, 1, 2])
def test_the_streamed_body_arrives_over_a_socket_with_its_exact_length_never_chunked(tmp_path, extra):
    """Znuny ignores a request body without Content-Length: over loopback HTTP, what the
    server reads is the declared length, every byte of the files (several read chunks)."""
    scan = tmp_path / "grande.pdf"
    scan.write_bytes(b"%PDF-" + bytes(range(256)) * 2000 + b"x" * extra)  # ~512 KB
    formats = FormatFiles(signed_scan=scan, editable=make_file(tmp_path, "XLSX"))
    fake = service_desk()
    with fake.serve() as url:
        client = new_client(base_url=url, read_timeout=5, retry_attempts=1)  # a miscount fails, not hangs
        client.close(ticket_id=TICKET_ID, attention=SR, formats=formats)
        client.shutdown()
    (record,) = [r for r in of(fake, "TicketUpdate") if is_step1(r.body)]
    assert record.door == "serve"
    assert int(record.headers["content-length"]) == record.size
    assert "transfer-encoding" not in record.headers
    sent = [base64.b64decode(a["Content"], validate=True) for a in record.body["Attachment"]]
    assert sent == [scan.read_bytes(), formats.editable.read_bytes()]
    fake.assert_ticket(TICKET_ID, attachments_bytes={"grande.pdf": scan.read_bytes()})


def test_the_files_are_sent_in_bounded_reads_never_whole(tmp_path, monkeypatch):
    """Once close() has validated the files (before its first request), sending them reads
    each in chunks of at most 192 KiB, never the whole file."""
    scan = tmp_path / "escaneo.pdf"
    scan.write_bytes(b"%PDF-" + b"y" * (2 * 1024 * 1024))
    formats = FormatFiles(signed_scan=scan, editable=make_file(tmp_path, "DOCX"))
    reads: list[int] = []
    sending: list[bool] = []
    real_open = Path.open

    def spy_open(self, *a, **kw):  # type: ignore[no-untyped-def]
        fh = real_open(self, *a, **kw)
        if self == scan and sending:
            orig = fh.read

            def read(n=-1):  # type: ignore[no-untyped-def]
                reads.append(n)
                return orig(n)

            fh.read = read  # type: ignore[method-assign]
        return fh

    monkeypatch.setattr(Path, "open", spy_open)
    fake = service_desk()
    client = new_client(session_factory=hooked_session(lambda response: sending.append(True)))
    with door(fake):
        receipt = client.close(ticket_id=TICKET_ID, attention=SR, formats=formats)
    assert receipt.complete
    assert reads and all(0 < n <= 3 * 64 * 1024 for n in reads)
    assert sum(reads) >= scan.stat().st_size


class PieceReader(requests.adapters.HTTPAdapter):
    """A transport (mounted through the client's ``session_factory``) that reads a streamed
    body itself, ``size`` bytes at a time, with ``read()`` or with ``readinto()`` as
    io-based HTTP stacks do, before passing the bytes on (to the door in front of it)."""

    def __init__(self, how: str, size: int) -> None:
        super().__init__()
        self.how, self.size, self.pieces = how, size, 0

    def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
        body = request.body
        if body is not None and hasattr(body, "read"):
            out = bytearray()
            buf = bytearray(self.size)
            while True:
                if self.how == "readinto":
                    n = body.readinto(buf)
                    piece = bytes(buf[:n])
                else:
                    piece = body.read(self.size)
                if not piece:
                    break
                assert len(piece) <= self.size
                out += piece
                self.pieces += 1
            request.body = bytes(out)
        return super().send(request, **kwargs)


@pytest.mark.parametrize(("how", "size"), [("readinto", 7), ("read", 7), ("read", 100_000), ("readinto", 65_536)])
def test_a_transport_reading_the_body_in_pieces_gets_it_exactly(tmp_path, how, size):
    scan = tmp_path / "escaneo.pdf"
    scan.write_bytes(b"%PDF-" + bytes(range(256)) * 1100 + b"z")  # crosses the 192 KiB read chunks
    formats = FormatFiles(signed_scan=scan, editable=make_file(tmp_path, "ODS"))
    adapter = PieceReader(how, size)

    def session() -> requests.Session:
        s = requests.Session()
        s.mount("https://", adapter)
        return s

    fake = service_desk()
    step1 = passing_through()
    with door(fake, step1):
        new_client(session_factory=session).close(ticket_id=TICKET_ID, attention=SR, formats=formats)
    (raw,) = step1.received
    assert adapter.pieces >= len(raw) // size
    check_step1_as_received(fake, raw, formats)


# -- a file is uploaded exactly as validated, or not at all (through the public API) -------------


def _changing_after_login(change):  # type: ignore[no-untyped-def]
    """A session_factory whose session runs ``change()`` once, when the login is answered:
    after close() validated the files, before step 1 streams them."""
    done = []

    def on_answer(response):  # type: ignore[no-untyped-def]
        if response.request.url.endswith("/Session") and not done:
            done.append(1)
            change()

    return hooked_session(on_answer)


def _close_with_change(tmp_path, change):  # type: ignore[no-untyped-def]
    fake = service_desk()
    formats = make_formats(tmp_path)
    with door(fake):
        client = new_client(session_factory=_changing_after_login(lambda: change(formats)))
        with pytest.raises(InputError) as ei:
            client.close(ticket_id=TICKET_ID, attention=SR, formats=formats)
    return fake, ei.value


@pytest.mark.parametrize(
    "change",
    [
        lambda f: f.signed_scan.write_bytes(f.signed_scan.read_bytes()[:-40]),  # truncated
        lambda f: f.signed_scan.write_bytes(f.signed_scan.read_bytes() + b"%% more"),  # grown
        # swapped for bytes of the same size and another type
        lambda f: f.signed_scan.write_bytes(b"MZ" + b"\0" * (f.signed_scan.stat().st_size - 2)),
        lambda f: f.signed_scan.unlink(),  # moved away
    ],
    ids=["truncated", "grown", "swapped", "moved"],
)
def test_a_file_changed_after_validation_is_never_uploaded(tmp_path, change):
    fake, exc = _close_with_change(tmp_path, change)
    assert exc.field == "formats.signed_scan" and "formato_firmado.pdf" in exc.problem
    # Step 1 was sent once and cut short: the server never acted on it, and nothing was
    # resent (the caller's file is an input error, not a dropped connection).
    steps = [w for w in of(fake, "TicketUpdate") if w.body is not None and "Attachment" in (w.body or {})]
    assert steps == []
    fake.assert_ticket(TICKET_ID, state="new", owner="tecnico1", notes_with_subject={"Atendido": 0})


def test_an_in_place_rewrite_with_the_mtime_restored_is_checked_again(tmp_path):
    """The check is cached per file identity; a rewrite that restores the mtime still
    changes the ctime, so a file turned into another type is refused, not served from cache."""
    formats = make_formats(tmp_path)
    client = new_client()
    client.validate(attention=SR, formats=formats)
    st = formats.signed_scan.stat()
    formats.signed_scan.write_bytes(b"GIF89a" + b"\0" * (st.st_size - 6))  # same size, another type
    os.utime(formats.signed_scan, ns=(st.st_atime_ns, st.st_mtime_ns))
    with pytest.raises(InputError, match="unrecognised"):
        client.validate(attention=SR, formats=formats)


def test_a_huge_sparse_file_is_refused_by_its_size_without_being_read(tmp_path, monkeypatch):
    huge = tmp_path / "escaneo.pdf"
    with huge.open("wb") as fh:
        fh.write(b"%PDF-1.4\n")
        fh.truncate(4 * 1024**3)  # 4 GiB, sparse: nothing on disk
    reads = []
    real_open = Path.open

    def spying_open(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self == huge:
            reads.append(1)
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", spying_open)
    formats = FormatFiles(signed_scan=huge, editable=make_formats(tmp_path / "e").editable)
    with pytest.raises(InputError, match="can carry") as ei:
        new_client().validate(attention=SR, formats=formats)
    assert ei.value.field == "formats.signed_scan"
    assert reads == []  # neither hashed nor typed


# -- zip containers: every hostile one an InputError, cheaply -------------------------------------


def _odt_with(tmp_path: Path, mutate) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path / "alta.odt"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
        zf.writestr("content.xml", "<office:document-content/>")
    data = bytearray(path.read_bytes())
    mutate(data)
    path.write_bytes(bytes(data))
    return path


def _set_flag_encrypted(data: bytearray) -> None:
    # general purpose bit 0 in the local header and in the central directory entry
    data[6] |= 0x1
    cd = data.find(b"PK\x01\x02")
    data[cd + 8] |= 0x1


def _set_method(method: int):  # type: ignore[no-untyped-def]
    def mutate(data: bytearray) -> None:
        struct.pack_into("<H", data, 8, method)
        cd = data.find(b"PK\x01\x02")
        struct.pack_into("<H", data, cd + 10, method)

    return mutate


def _corrupt_deflate(tmp_path: Path) -> Path:
    path = tmp_path / "alta.odt"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.text" * 3)
    data = bytearray(path.read_bytes())
    start = 30 + len("mimetype")
    data[start : start + 8] = b"\xff" * 8  # garbage where the deflate stream starts
    path.write_bytes(bytes(data))
    return path


def _bomb(tmp_path: Path, *, lying: bool = False) -> Path:
    """A small ODT whose mimetype member inflates to 64 MiB (the header says so, or —
    ``lying`` — claims 40 bytes)."""
    path = tmp_path / "alta.odt"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("mimetype", "w") as member:
            chunk = b"a" * (1024 * 1024)
            for _ in range(64):
                member.write(chunk)
    if lying:
        data = bytearray(path.read_bytes())
        struct.pack_into("<I", data, 22, 40)  # uncompressed size, local header
        cd = data.find(b"PK\x01\x02")
        struct.pack_into("<I", data, cd + 24, 40)  # and central directory
        path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(
    "make",
    [
        lambda p: _odt_with(p, _set_flag_encrypted),
        lambda p: _odt_with(p, _set_method(99)),
        _corrupt_deflate,
        _bomb,
        lambda p: _bomb(p, lying=True),
    ],
    ids=["encrypted", "unsupported-method", "corrupt-deflate", "bomb", "lying-bomb"],
)
def test_hostile_zip_containers_are_input_errors(tmp_path, make):
    editable = make(tmp_path)
    formats = FormatFiles(signed_scan=make_formats(tmp_path / "s").signed_scan, editable=editable)
    with pytest.raises(InputError) as ei:
        new_client().validate(attention=SR, formats=formats)
    assert ei.value.field == "formats.editable"
    assert "zip" in ei.value.problem or "mimetype" in ei.value.problem
