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

from otrs_closure.files import (
    EDITABLE_TYPES,
    SIGNED_SCAN_TYPES,
    StreamingJSONBody,
    base64_length,
    detect_type,
    prepare_file,
    sanitize_filename,
)


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
