"""Format files: type by content, safe names, base64 arithmetic, and the streamed JSON body
(exact length, exact bytes, sent with Content-Length — never chunked)."""

from __future__ import annotations

import base64
import json
import tempfile
import unicodedata
from pathlib import Path

import pytest
import requests
import responses
from helpers import FILE_MAKERS, make_file
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otrs_closure._files import (
    EDITABLE_TYPES,
    SIGNED_SCAN_TYPES,
    base64_length,
    detect_type,
    prepare_file,
    sanitize_filename,
)
from otrs_closure._http.body import StreamingJSONBody


@pytest.mark.parametrize("kind", list(FILE_MAKERS))
def test_detect_type_by_content(tmp_path, kind):
    path = make_file(tmp_path, kind, "sin_extension")
    detected = detect_type(path)
    assert detected is not None
    assert detected[0] == kind and detected[1] == FILE_MAKERS[kind][2]


def test_generated_office_files_are_real_zips(tmp_path):
    import zipfile

    for kind in ("DOCX", "XLSX", "ODT", "ODS"):
        with zipfile.ZipFile(make_file(tmp_path, kind)) as zf:
            assert zf.testzip() is None
    with zipfile.ZipFile(make_file(tmp_path, "ODT")) as zf:
        first = zf.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED


def test_allowed_types_per_role():
    assert [t[0] for t in SIGNED_SCAN_TYPES] == ["PDF", "JPEG", "PNG", "TIFF"]
    assert [t[0] for t in EDITABLE_TYPES] == ["DOCX", "XLSX", "ODT", "ODS", "DOC", "XLS", "PDF"]


def test_prepared_file_digest_and_size(tmp_path):
    import hashlib

    path = make_file(tmp_path, "PDF")
    f = prepare_file(path, "signed_scan", SIGNED_SCAN_TYPES)
    data = path.read_bytes()
    assert (f.size, f.sha256, f.content_type, f.type_name) == (
        len(data),
        hashlib.sha256(data).hexdigest(),
        "application/pdf",
        "PDF",
    )
    assert b"".join(f.iter_base64()) == base64.b64encode(data)
    assert f.describe() == f"<base64 of {len(data)} bytes, sha256={f.sha256[:16]}…>"


# -- sanitize_filename ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "ext", "expected"),
    [
        ("acta.pdf", ".pdf", "acta.pdf"),
        ("C:\\Users\\mesa\\acta.pdf", ".pdf", "acta.pdf"),
        ("../../etc/passwd", "", "passwd"),
        ("/tmp/formato.docx", ".docx", "formato.docx"),
        ('acta:"v1"?<>|*.pdf', ".pdf", "acta__v1______.pdf"),
        ("línea\nnueva\t.pdf", ".pdf", "línea_nueva_.pdf"),
        ("formato", ".docx", "formato.docx"),
        ("", ".pdf", "formato.pdf"),
        ("...", ".pdf", "formato.pdf"),
        ("  acta.pdf  ", ".pdf", "acta.pdf"),
        ("firma" + "\u0301" + ".pdf", ".pdf", "firmá.pdf"),
    ],
)
def test_sanitize_filename_examples(name, ext, expected):
    assert sanitize_filename(name, ext) == expected


def test_sanitize_filename_keeps_the_extension_when_shortening():
    out = sanitize_filename("a" * 300 + ".docx", ".docx")
    assert len(out) == 180 and out.endswith(".docx")


@pytest.mark.parametrize(
    "name", ["a" * 179 + " " + "b" * 50, "a" * 179 + "." + "b" * 20, "a" * 174 + " ." + "b" * 10 + ".docx"]
)
def test_sanitize_filename_cut_never_ends_in_a_blank_or_dot(name):
    out = sanitize_filename(name)
    assert len(out) <= 180
    assert not out.rsplit(".", 1)[0].endswith((" ", ".")) and not out.endswith((" ", "."))
    assert sanitize_filename(out) == out


@given(st.text(max_size=400), st.sampled_from(["", ".pdf", ".docx"]))
def test_sanitize_filename_properties(name, ext):
    out = sanitize_filename(name, ext)
    assert out
    assert 0 < len(out) <= 180
    assert "/" not in out and "\\" not in out
    assert not any(ord(c) < 32 or c in '<>:"|?*\x7f' for c in out)
    assert out not in (".", "..")
    assert unicodedata.is_normalized("NFC", out)


@given(st.text(max_size=400), st.sampled_from(["", ".pdf", ".docx"]))
def test_sanitize_filename_is_idempotent(name, ext):
    once = sanitize_filename(name, ext)
    assert sanitize_filename(once, ext) == once


# -- base64 and the streamed body -------------------------------------------------------------------


@given(st.integers(min_value=0, max_value=300_000))
def test_base64_length(n):
    assert base64_length(n) == len(base64.b64encode(b"\0" * n))


json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
json_docs = st.recursive(
    json_scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(), c, max_size=4), max_leaves=20
)


def _prepared(tmp: Path, i: int, data: bytes):
    path = tmp / f"f{i}.pdf"
    path.write_bytes(b"%PDF-" + data)
    return prepare_file(path, "signed_scan", SIGNED_SCAN_TYPES)


def _read_in(body: StreamingJSONBody, sizes: list[int]) -> bytes:
    out, i = [], 0
    while True:
        size = sizes[i % len(sizes)] if sizes else -1
        i += 1
        chunk = body.read(size)
        if not chunk:
            return b"".join(out)
        out.append(chunk)
        if size < 0:
            return b"".join(out)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    doc=st.dictionaries(st.text(), json_docs, max_size=5),
    contents=st.lists(st.binary(max_size=3 * 64 * 1024 + 7), max_size=3),
    sizes=st.lists(st.integers(min_value=1, max_value=100_000), max_size=4),
)
def test_streaming_body_is_exactly_the_json(doc, contents, sizes):
    with tempfile.TemporaryDirectory() as d:
        files = [_prepared(Path(d), i, c) for i, c in enumerate(contents)]
        document = {
            **doc,
            "Attachment": [
                {"Content": StreamingJSONBody.placeholder(i), "Filename": f.filename} for i, f in enumerate(files)
            ],
        }
        body = StreamingJSONBody(document, files)
        expected_doc = json.loads(json.dumps(document))
        for i, f in enumerate(files):
            expected_doc["Attachment"][i]["Content"] = base64.b64encode(f.path.read_bytes()).decode()
        expected = json.dumps(expected_doc, ensure_ascii=False, separators=(",", ":")).encode()
        assert len(body) == len(expected)
        assert body.tell() == 0
        data = _read_in(body, sizes)
        assert data == expected
        assert body.tell() == len(body)
        assert json.loads(data) == expected_doc
        assert body.read(10) == b""


def test_streaming_body_readinto(tmp_path):
    f = _prepared(tmp_path, 0, b"x" * 1000)
    body = StreamingJSONBody({"A": [{"Content": StreamingJSONBody.placeholder(0)}]}, [f])
    buf = bytearray(7)
    out = bytearray()
    while n := body.readinto(buf):
        out += buf[:n]
    assert len(out) == len(body)
    assert json.loads(out)["A"][0]["Content"] == base64.b64encode(f.path.read_bytes()).decode()


def test_streaming_body_missing_placeholder_is_an_error(tmp_path):
    with pytest.raises(ValueError):
        StreamingJSONBody({"no": "placeholder"}, [_prepared(tmp_path, 0, b"x")])


def test_requests_sends_the_streamed_body_with_content_length_not_chunked(tmp_path):
    """Znuny ignores a request body without Content-Length: requests must size the stream."""
    f = _prepared(tmp_path, 0, bytes(range(256)) * 1000)
    body = StreamingJSONBody({"Attachment": [{"Content": StreamingJSONBody.placeholder(0)}]}, [f])
    prepared = requests.Request("PATCH", "https://mesa.example.gob.mx/x", data=body).prepare()
    assert prepared.headers.get("Content-Length") == str(len(body))
    assert "Transfer-Encoding" not in prepared.headers
    with responses.RequestsMock() as rsps:
        rsps.add("PATCH", "https://mesa.example.gob.mx/x", json={})
        body2 = StreamingJSONBody({"Attachment": [{"Content": StreamingJSONBody.placeholder(0)}]}, [f])
        requests.patch("https://mesa.example.gob.mx/x", data=body2, timeout=1)
        sent = rsps.calls[0].request
        assert sent.headers["Content-Length"] == str(len(sent.body)) == str(len(body2))


def test_streaming_body_does_not_load_whole_files(tmp_path, monkeypatch):
    """Reading in blocks never reads more of a file than one chunk at a time."""
    f = _prepared(tmp_path, 0, b"y" * (2 * 1024 * 1024))
    reads: list[int] = []
    real_open = Path.open

    def spy_open(self, *a, **kw):
        fh = real_open(self, *a, **kw)
        if self == f.path:
            orig = fh.read

            def read(n=-1):
                reads.append(n)
                return orig(n)

            fh.read = read  # type: ignore[method-assign]
        return fh

    monkeypatch.setattr(Path, "open", spy_open)
    body = StreamingJSONBody({"C": StreamingJSONBody.placeholder(0)}, [f])
    while body.read(8192):
        pass
    assert reads and all(0 < n <= 3 * 64 * 1024 for n in reads)


# -- a file is uploaded exactly as validated, or not at all (through the public API) -------------

import os  # noqa: E402
import struct  # noqa: E402
import zipfile  # noqa: E402

from helpers import (  # noqa: E402
    TICKET_ID,
    door,
    hooked_session,
    make_formats,
    new_client,
    of,
    service_desk,
)

from otrs_closure import FormatFiles, InputError, ServiceRequest  # noqa: E402

SR = ServiceRequest(description="Impresora reconfigurada.")


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
