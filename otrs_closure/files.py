"""The format files: reading, type-by-content checks, safe filenames, base64 size
arithmetic, and the streamed JSON request body whose Content-Length is known in advance.

Znuny ignores a request body sent without Content-Length (so chunked transfer will not
do), and building the JSON in memory costs about three times a file's size; the body
here is produced from the files in small chunks while being sent.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
import os
import re
import unicodedata
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from otrs_closure.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from otrs_closure.models import FormatFiles

__all__ = [
    "PreparedFile",
    "detect_type",
    "sanitize_filename",
    "prepare_file",
    "prepare_formats",
    "check_format_files",
    "StreamingJSONBody",
    "base64_length",
]

# (type name, MIME type, extension)
PDF = ("PDF", "application/pdf", ".pdf")
JPEG = ("JPEG", "image/jpeg", ".jpg")
PNG = ("PNG", "image/png", ".png")
TIFF = ("TIFF", "image/tiff", ".tif")
DOCX = ("DOCX", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx")
XLSX = ("XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx")
ODT = ("ODT", "application/vnd.oasis.opendocument.text", ".odt")
ODS = ("ODS", "application/vnd.oasis.opendocument.spreadsheet", ".ods")
DOC = ("DOC", "application/msword", ".doc")
XLS = ("XLS", "application/vnd.ms-excel", ".xls")

SIGNED_SCAN_TYPES = (PDF, JPEG, PNG, TIFF)
EDITABLE_TYPES = (DOCX, XLSX, ODT, ODS, DOC, XLS, PDF)

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_CHUNK = 3 * 64 * 1024  # a multiple of 3, so each chunk's base64 has no padding


def base64_length(size: int) -> int:
    """Length of the standard base64 text (no line breaks) of ``size`` bytes."""
    return 4 * ((size + 2) // 3)


def _zip_type(path: Path) -> tuple[str, str, str] | None:
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            if "mimetype" in names:
                mime = zf.read("mimetype").decode("ascii", "replace").strip()
                return {ODT[1]: ODT, ODS[1]: ODS}.get(mime)
            if "[Content_Types].xml" in names:
                if any(n.startswith("word/") for n in names):
                    return DOCX
                if any(n.startswith("xl/") for n in names):
                    return XLSX
    except (zipfile.BadZipFile, OSError, KeyError):
        return None
    return None


def _ole_type(path: Path) -> tuple[str, str, str] | None:
    # Stream names in the OLE2 directory are UTF-16LE; a bounded scan finds them.
    with path.open("rb") as fh:
        head = fh.read(4 * 1024 * 1024)
    if "WordDocument".encode("utf-16-le") in head:
        return DOC
    if "Workbook".encode("utf-16-le") in head or "Book".encode("utf-16-le") in head:
        return XLS
    return None


def detect_type(path: Path) -> tuple[str, str, str] | None:
    """The file's type judged by its content (magic bytes), or None when unknown."""
    with path.open("rb") as fh:
        head = fh.read(16)
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return TIFF
    if head.startswith(b"PK\x03\x04"):
        return _zip_type(path)
    if head.startswith(_OLE2):
        return _ole_type(path)
    return None


_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"|?*]')


def sanitize_filename(name: str, extension: str = "") -> str:
    """The name sent to the server: no directory part, no control or reserved characters,
    at most 180 characters, never empty; ``extension`` is added when the name has none."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", name))[-1]
    base = _UNSAFE.sub("_", base).strip(" .")
    if not base:
        base = "formato"
    stem, dot, ext = base.rpartition(".")
    if not dot and extension:
        base = base + extension
    if len(base) > 180:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: 180 - len(ext) - 1].rstrip(" .") + "." + ext) if dot and len(ext) < 16 else base[:180]
        base = base.rstrip(" .")  # a cut can end in a blank or a dot (trimmed by servers, refused by Windows)
    return base


@dataclass(frozen=True)
class PreparedFile:
    """A checked format file: where it is, what the server will be told, and its digest."""

    path: Path
    role: str  # "signed_scan" or "editable"
    filename: str
    content_type: str
    type_name: str
    size: int
    sha256: str

    @property
    def base64_length(self) -> int:
        return base64_length(self.size)

    def iter_base64(self) -> Iterator[bytes]:
        """The file's base64 text in chunks, read lazily."""
        with self.path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                yield base64.b64encode(chunk)

    def describe(self) -> str:
        return f"<base64 of {self.size} bytes, sha256={self.sha256[:16]}…>"


@functools.lru_cache(maxsize=256)
def _examine(path: str, size: int, mtime_ns: int, inode: int) -> tuple[tuple[str, str, str] | None, str]:
    """Type and SHA-256 of a file's content. Cached on (path, size, mtime, inode), so that a
    file validated when its FormatFiles was built, again by ``close()`` and by a batch is
    read once; any change to the file is a new key."""
    p = Path(path)
    digest = hashlib.sha256()
    with p.open("rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
    return detect_type(p), digest.hexdigest()


def prepare_file(path: Path, role: str, allowed: Sequence[tuple[str, str, str]]) -> PreparedFile:
    """Check one file (exists, readable, not empty, allowed type by content) and digest it."""
    field = f"formats.{role}"
    path = Path(path)
    if not path.exists():
        raise InputError(field, f"file not found: {path.name}")
    if not path.is_file():
        raise InputError(field, f"not a regular file: {path.name}")
    if not os.access(path, os.R_OK):
        raise InputError(field, f"file is not readable: {path.name}")
    try:
        st = path.stat()
        size = st.st_size
        if size == 0:
            raise InputError(field, f"file is empty: {path.name}")
        kind, sha256 = _examine(str(path.resolve()), size, st.st_mtime_ns, st.st_ino)
    except OSError as exc:
        raise InputError(field, f"file cannot be read: {path.name} ({exc.strerror})") from None
    allowed_names = "/".join(t[0] for t in allowed)
    if kind is None or kind not in allowed:
        found = kind[0] if kind else "an unrecognised type"
        raise InputError(field, f"{path.name} is {found} by its content; expected {allowed_names}")
    return PreparedFile(
        path=path,
        role=role,
        filename=sanitize_filename(path.name, kind[2]),
        content_type=kind[1],
        type_name=kind[0],
        size=size,
        sha256=sha256,
    )


def prepare_formats(formats: FormatFiles) -> tuple[PreparedFile, PreparedFile]:
    """Both format files, checked; their names sent to the server must differ."""
    scan = prepare_file(formats.signed_scan, "signed_scan", SIGNED_SCAN_TYPES)
    editable = prepare_file(formats.editable, "editable", EDITABLE_TYPES)
    if scan.filename == editable.filename:
        raise InputError("formats", f"both files would be attached as {scan.filename!r}; rename one")
    return scan, editable


def check_format_files(formats: FormatFiles) -> None:
    """Validation hook for :class:`FormatFiles` (raises :class:`InputError`)."""
    prepare_formats(formats)


_PLACEHOLDER = "\u0000otrs-closure-attachment-{}\u0000"


class StreamingJSONBody(io.RawIOBase):
    """A JSON document whose attachment ``Content`` strings are streamed from files as
    base64. ``len()`` is the exact byte length (sent as Content-Length); ``read()``
    yields the bytes in order. Each instance is read once; build a new one to resend."""

    def __init__(self, document: dict[str, Any], files: Sequence[PreparedFile]) -> None:
        super().__init__()
        text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
        self._parts: list[bytes | PreparedFile] = []
        for i, f in enumerate(files):
            token = json.dumps(_PLACEHOLDER.format(i))[1:-1]
            before, sep, text = text.partition(token)
            if not sep:
                raise ValueError(f"attachment placeholder {i} missing from document")
            self._parts.extend([before.encode(), f])
        self._parts.append(text.encode())
        self._length = sum(p.base64_length if isinstance(p, PreparedFile) else len(p) for p in self._parts)
        self._chunks = self._iter_chunks()
        self._current = b""
        self._offset = 0
        self._position = 0

    @staticmethod
    def placeholder(index: int) -> str:
        """The string to put as ``Content`` of the ``index``-th file in ``document``."""
        return _PLACEHOLDER.format(index)

    def _iter_chunks(self) -> Iterator[bytes]:
        for part in self._parts:
            if isinstance(part, PreparedFile):
                yield from part.iter_base64()
            elif part:
                yield part

    def __len__(self) -> int:
        return self._length

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        """Bytes read so far. requests sizes a file-like body as ``len() - tell()``;
        without this, io's default ``tell()`` fails on a non-seekable stream and requests
        falls back to chunked transfer, which Znuny ignores (no Content-Length)."""
        return self._position

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            rest = self._current[self._offset :] + b"".join(self._chunks)
            self._current, self._offset = b"", 0
            self._position += len(rest)
            return rest
        out: list[bytes] = []
        wanted = size
        while wanted > 0:
            if self._offset >= len(self._current):
                nxt = next(self._chunks, None)
                if nxt is None:
                    break
                self._current, self._offset = nxt, 0
            piece = self._current[self._offset : self._offset + wanted]
            self._offset += len(piece)
            wanted -= len(piece)
            out.append(piece)
        data = b"".join(out)
        self._position += len(data)
        return data

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)
