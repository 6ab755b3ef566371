"""The format files: type by content (magic bytes, bounded reads of containers), the
names sent to the server, base64 size arithmetic, and :class:`PreparedFile` — a file as
it was validated, whose bytes are checked again while they are sent, so that exactly
what was validated is uploaded or nothing is.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import re
import stat
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from otrs_closure.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from otrs_closure.models import FormatFiles

__all__ = [
    "PreparedFile",
    "FileChanged",
    "detect_type",
    "type_by_metadata",
    "sanitize_filename",
    "prepare_file",
    "prepare_formats",
    "base64_length",
    "SIGNED_SCAN_TYPES",
    "EDITABLE_TYPES",
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
_ZIP_MEMBERS_MAX = 20_000  # more entries than any office document has
_MIMETYPE_MAX = 256  # the ODF "mimetype" member is one short line


def base64_length(size: int) -> int:
    """Length of the standard base64 text (no line breaks) of ``size`` bytes."""
    return 4 * ((size + 2) // 3)


class _NotAnOfficeFile(Exception):
    """A zip container that cannot be an office document (why is in the message)."""


def _odf_mimetype(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> str:
    # Read at most _MIMETYPE_MAX bytes, from a member that zipfile can open without
    # surprises: a member that inflates to a gigabyte is refused by its declared size,
    # and the read is bounded even if that size lies.
    if info.flag_bits & 0x1:
        raise _NotAnOfficeFile("its mimetype member is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _NotAnOfficeFile("its mimetype member uses an unsupported compression")
    if info.file_size > _MIMETYPE_MAX:
        raise _NotAnOfficeFile("its mimetype member is too large")
    with zf.open(info) as member:
        data = member.read(_MIMETYPE_MAX + 1)
    if len(data) > _MIMETYPE_MAX:
        raise _NotAnOfficeFile("its mimetype member is too large")
    return data.decode("ascii", "replace").strip()


def _zip_type(path: Path) -> tuple[str, str, str] | None:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > _ZIP_MEMBERS_MAX:
                raise _NotAnOfficeFile("it has too many members")
            by_name = {i.filename: i for i in infos}
            if "mimetype" in by_name:
                mime = _odf_mimetype(zf, by_name["mimetype"])
                return {ODT[1]: ODT, ODS[1]: ODS}.get(mime)
            if "[Content_Types].xml" in by_name:
                if any(n.startswith("word/") for n in by_name):
                    return DOCX
                if any(n.startswith("xl/") for n in by_name):
                    return XLSX
    except _NotAnOfficeFile:
        raise
    # zipfile raises all of these on hostile or broken containers.
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError):
        raise _NotAnOfficeFile("it is a damaged or unreadable zip container") from None
    except (KeyError, ValueError, OverflowError, UnicodeDecodeError):
        raise _NotAnOfficeFile("it is a damaged or unreadable zip container") from None
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
    """The file's type judged by its content (magic bytes), or None when unknown.
    Raises ``_NotAnOfficeFile`` for a zip container that cannot be read safely."""
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


_KNOWN_TYPES = (PDF, JPEG, PNG, TIFF, DOCX, XLSX, ODT, ODS, DOC, XLS)
# Spellings of the same types that browsers and mail clients send, and other extensions.
_MIME_ALIASES = {"image/jpg": JPEG, "image/pjpeg": JPEG, "image/x-png": PNG, "application/x-pdf": PDF}
_EXTENSION_ALIASES = {".jpeg": JPEG, ".jpe": JPEG, ".tiff": TIFF}
# Content types that say nothing of the file: the name decides.
_GENERIC_TYPES = frozenset(
    {
        "",
        "application/octet-stream",
        "binary/octet-stream",
        "application/x-download",
        "application/force-download",
        "application/unknown",
        "application/binary",
    }
)


def type_by_metadata(filename: str, content_type: str) -> tuple[str, str, str] | None:
    """The type of an attachment judged by what the server lists — its content type and
    name — when its content is not read (the audit): the content type when it names one
    of the known types, the name's extension when the content type says nothing
    (``application/octet-stream``…); None otherwise."""
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime not in _GENERIC_TYPES:
        return next((t for t in _KNOWN_TYPES if t[1] == mime), None) or _MIME_ALIASES.get(mime)
    name = unicodedata.normalize("NFC", filename).strip().lower()
    _, dot, ext = name.rpartition(".")
    if not dot:
        return None
    return next((t for t in _KNOWN_TYPES if t[2] == "." + ext), None) or _EXTENSION_ALIASES.get("." + ext)


_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"|?*\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]')


def sanitize_filename(name: str, extension: str = "") -> str:
    """The name sent to the server: no directory part, no control, reserved or
    direction-changing characters, at most 180 characters, never empty; ``extension`` is
    added when the name has none."""
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


class FileChanged(Exception):
    """A validated file no longer has the validated bytes (or cannot be read) while it is
    being sent. Deliberately not an ``OSError``: the HTTP stack must not mistake it for
    a network failure. The transport turns it into an :class:`InputError`."""

    def __init__(self, role: str, problem: str) -> None:
        super().__init__(f"{role}: {problem}")
        self.role = role
        self.problem = problem


@dataclass(frozen=True)
class PreparedFile:
    """A checked format file: where it is, what the server will be told, and the size and
    digest of the bytes that were validated."""

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
        """The validated bytes as base64, in chunks read lazily. Raises
        :class:`FileChanged` — before the last chunk of the file is yielded — when the
        file is shorter, longer or other than it was validated, or cannot be read."""
        digest = hashlib.sha256()
        remaining = self.size
        try:
            with self.path.open("rb") as fh:
                pending: bytes | None = None
                while remaining > 0:
                    chunk = fh.read(min(_CHUNK, remaining))
                    if not chunk:
                        raise FileChanged(self.role, f"{self.path.name} became shorter after it was checked")
                    remaining -= len(chunk)
                    digest.update(chunk)
                    if pending is not None:
                        yield base64.b64encode(pending)
                    pending = chunk
                if fh.read(1):
                    raise FileChanged(self.role, f"{self.path.name} became longer after it was checked")
        except OSError as exc:
            raise FileChanged(self.role, f"{self.path.name} cannot be read any more ({exc.strerror})") from None
        if digest.hexdigest() != self.sha256:
            raise FileChanged(self.role, f"{self.path.name} changed after it was checked")
        if pending is not None:
            yield base64.b64encode(pending)

    def describe(self) -> str:
        return f"<base64 of {self.size} bytes, sha256={self.sha256[:16]}…>"


@functools.lru_cache(maxsize=256)
def _examine(
    path: str, size: int, mtime_ns: int, ctime_ns: int, inode: int, device: int
) -> tuple[tuple[str, str, str] | None, str]:
    """Type and SHA-256 of a file's content. Cached on the file's identity and every
    time the kernel keeps (ctime cannot be set back by the file's writer), so that a
    file validated by ``plan()``, again by ``close()`` and by a batch is read once, and
    any change is a new key. The bytes actually sent are checked again regardless."""
    p = Path(path)
    digest = hashlib.sha256()
    with p.open("rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
    return detect_type(p), digest.hexdigest()


def _names(allowed: Sequence[tuple[str, str, str]]) -> str:
    return "/".join(t[0] for t in allowed)


def prepare_file(
    path: Path, role: str, allowed: Sequence[tuple[str, str, str]], *, max_size: int | None = None
) -> PreparedFile:
    """Check one file (exists, regular, readable, not empty, not over ``max_size``,
    allowed type by content) and digest it — the size first, so a huge file is refused
    without being read."""
    field = f"formats.{role}"
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise InputError(field, f"file not found: {path.name}") from None
    except OSError as exc:
        raise InputError(field, f"file cannot be read: {path.name} ({exc.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise InputError(field, f"not a regular file: {path.name}")
    if not os.access(path, os.R_OK):
        raise InputError(field, f"file is not readable: {path.name}")
    if st.st_size == 0:
        raise InputError(field, f"file is empty: {path.name}")
    if max_size is not None and st.st_size > max_size:
        raise InputError(field, f"{path.name} is {st.st_size} bytes, over the {max_size} the request can carry")
    try:
        kind, sha256 = _examine(str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)
    except _NotAnOfficeFile as exc:
        raise InputError(field, f"{path.name} is refused: {exc}; expected {_names(allowed)}") from None
    except OSError as exc:
        raise InputError(field, f"file cannot be read: {path.name} ({exc.strerror})") from None
    allowed_names = _names(allowed)
    if kind is None or kind not in allowed:
        found = kind[0] if kind else "an unrecognised type"
        raise InputError(field, f"{path.name} is {found} by its content; expected {allowed_names}")
    return PreparedFile(
        path=path,
        role=role,
        filename=sanitize_filename(path.name, kind[2]),
        content_type=kind[1],
        type_name=kind[0],
        size=st.st_size,
        sha256=sha256,
    )


def prepare_formats(formats: FormatFiles, *, max_size: int | None = None) -> tuple[PreparedFile, PreparedFile]:
    """Both format files, checked; their names sent to the server must differ."""
    scan = prepare_file(formats.signed_scan, "signed_scan", SIGNED_SCAN_TYPES, max_size=max_size)
    editable = prepare_file(formats.editable, "editable", EDITABLE_TYPES, max_size=max_size)
    if scan.filename == editable.filename:
        raise InputError("formats", f"both files would be attached as {scan.filename!r}; rename one")
    return scan, editable
