"""Shared test helpers for the HTTP-level suite (no conftest on purpose).

* Format files built by *content* in a directory: PDF, PNG, JPEG, TIFF (scans) and
  DOCX, XLSX, ODT, ODS (real zip structures), DOC, XLS (OLE2 header + UTF-16LE stream
  names) — see :func:`make_file` and :func:`make_formats`.
* :class:`GIStub`: a tiny stateful stand-in for Znuny 6.5.15's GenericInterface,
  registered on a ``responses.RequestsMock``. It serves SessionCreate, TicketSearch,
  TicketGet and TicketUpdate with answers shaped like the recordings in
  /work/shared/recordings (01, 30, 31, 32, 40–43, 50/51, 60–68, 90*, 92), records every
  exchange it saw (:attr:`GIStub.log`) and can inject faults (:meth:`GIStub.inject`).

It is deliberately small and independent of ``otrs_closure.testing``.
"""

from __future__ import annotations

import base64
import io
import json
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
import responses
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from otrs_closure import ClosureClient, FormatFiles

BASE_URL = "https://mesa.example.gob.mx"
WEBSERVICE = "GenericTicketConnectorREST"
GI_PATH = f"/otrs/nph-genericinterface.pl/Webservice/{WEBSERVICE}"
SERVICE_URL = BASE_URL + GI_PATH

AGENT_LOGIN = "tecnico1"
AGENT_PASSWORD = "agente-pass"
OWNER_LOGIN = "agente.mesa"

TICKET_ID = 2
TICKET_NUMBER = "2026112810000011"

# Recording 63 and the preflight's expected rejection.
BODY_MISSING = "TicketUpdate: Article->Body parameter is missing!"
STATE_INVALID = "TicketUpdate: Ticket->StateID or Ticket->State parameter is invalid!"
OWNER_INVALID = "TicketUpdate: Ticket->OwnerID or Ticket->Owner parameter is invalid!"

MISSING = "TicketUpdate.MissingParameter"

JSON_CT = "application/json; charset=UTF-8"
TEXT_CT = "text/plain; charset=UTF-8"


# -- format files by content ----------------------------------------------------------------


def pdf_bytes(text: str = "Formato firmado") -> bytes:
    """A small but structurally valid one-page PDF."""
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R >>",
    ]
    stream = f"BT /F1 12 Tf 10 50 Td ({text}) Tj ET".encode()
    objs.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + o + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref))
    return out.getvalue()


def png_bytes() -> bytes:
    """A valid 1x1 white PNG."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00\xff\xff\xff")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def jpeg_bytes() -> bytes:
    """A JFIF header (SOI + APP0) followed by EOI: enough for detection by content."""
    app0 = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return b"\xff\xd8\xff\xe0" + struct.pack(">H", len(app0) + 2) + app0 + b"\xff\xd9"


def tiff_bytes() -> bytes:
    """A little-endian TIFF header with one (empty) IFD."""
    return b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 0) + struct.pack("<I", 0)


def _zip(entries: Iterable[tuple[str, bytes]], stored_first: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, (name, data) in enumerate(entries):
            ctype = zipfile.ZIP_STORED if (stored_first and i == 0) else zipfile.ZIP_DEFLATED
            zf.writestr(zipfile.ZipInfo(name, (2026, 11, 28, 12, 0, 0)), data, compress_type=ctype)
    return buf.getvalue()


def docx_bytes() -> bytes:
    ct = (
        b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        b'content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/'
        b'document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.'
        b'main+xml"/></Types>'
    )
    rels = (
        b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
        b'2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        b'relationships/officeDocument" Target="word/document.xml"/></Relationships>'
    )
    doc = (
        b'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
        b'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Formato de atenci\xc3\xb3n</w:t></w:r></w:p>'
        b"</w:body></w:document>"
    )
    return _zip([("[Content_Types].xml", ct), ("_rels/.rels", rels), ("word/document.xml", doc)])


def xlsx_bytes() -> bytes:
    ct = (
        b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        b'content-types"><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
        b'officedocument.spreadsheetml.sheet.main+xml"/></Types>'
    )
    wb = (
        b'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main"><sheets><sheet name="Formato" sheetId="1"/></sheets></workbook>'
    )
    return _zip([("[Content_Types].xml", ct), ("_rels/.rels", b"<Relationships/>"), ("xl/workbook.xml", wb)])


def _odf(mime: str) -> bytes:
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:'
        'opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="/" manifest:media-type="'
        f'{mime}"/></manifest:manifest>'
    ).encode()
    content = b'<?xml version="1.0" encoding="UTF-8"?><office:document-content/>'
    return _zip(
        [("mimetype", mime.encode()), ("META-INF/manifest.xml", manifest), ("content.xml", content)],
        stored_first=True,
    )


def odt_bytes() -> bytes:
    return _odf("application/vnd.oasis.opendocument.text")


def ods_bytes() -> bytes:
    return _odf("application/vnd.oasis.opendocument.spreadsheet")


def _ole2(stream_name: str) -> bytes:
    """An OLE2 compound-file header sector plus a directory sector naming one stream."""
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHH", header, 0x18, 0x3E, 3, 0xFFFE, 9)
    struct.pack_into("<I", header, 0x30, 1)  # first directory sector
    directory = bytearray(512)
    for i, name in enumerate(("Root Entry", stream_name)):
        enc = name.encode("utf-16-le") + b"\x00\x00"
        entry = 128 * i
        directory[entry : entry + len(enc)] = enc
        struct.pack_into("<H", directory, entry + 64, len(enc))
        directory[entry + 66] = 5 if i == 0 else 2
    return bytes(header) + bytes(directory)


def doc_bytes() -> bytes:
    return _ole2("WordDocument")


def xls_bytes() -> bytes:
    return _ole2("Workbook")


FILE_MAKERS: dict[str, tuple[Callable[[], bytes], str, str]] = {
    # kind: (content, default name, expected content type)
    "PDF": (pdf_bytes, "formato_firmado.pdf", "application/pdf"),
    "PNG": (png_bytes, "formato_firmado.png", "image/png"),
    "JPEG": (jpeg_bytes, "formato_firmado.jpg", "image/jpeg"),
    "TIFF": (tiff_bytes, "formato_firmado.tif", "image/tiff"),
    "DOCX": (docx_bytes, "formato.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "XLSX": (xlsx_bytes, "formato.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "ODT": (odt_bytes, "formato.odt", "application/vnd.oasis.opendocument.text"),
    "ODS": (ods_bytes, "formato.ods", "application/vnd.oasis.opendocument.spreadsheet"),
    "DOC": (doc_bytes, "formato.doc", "application/msword"),
    "XLS": (xls_bytes, "formato.xls", "application/vnd.ms-excel"),
}


def make_file(directory: Path, kind: str, name: str | None = None) -> Path:
    """Write a small valid file of ``kind`` (a key of FILE_MAKERS) and return its path."""
    maker, default, _ = FILE_MAKERS[kind]
    path = Path(directory) / (name or default)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(maker())
    return path


def make_formats(directory: Path, scan: str = "PDF", editable: str = "DOCX", **names: str) -> FormatFiles:
    """A FormatFiles of a signed scan and an editable file, written in ``directory``."""
    return FormatFiles(
        signed_scan=make_file(directory, scan, names.get("scan_name")),
        editable=make_file(directory, editable, names.get("editable_name")),
    )


# -- transport failures as requests raises them ----------------------------------------------


def connection_refused(url: str = SERVICE_URL) -> requests.ConnectionError:
    reason = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")  # type: ignore[arg-type]
    return requests.ConnectionError(MaxRetryError(None, url, reason))  # type: ignore[arg-type]


def read_timeout() -> requests.ReadTimeout:
    return requests.ReadTimeout(
        "HTTPSConnectionPool(host='mesa.example.gob.mx', port=443): Read timed out. (read timeout=60.0)"
    )


def connect_timeout() -> requests.ConnectTimeout:
    return requests.ConnectTimeout("Connection to mesa.example.gob.mx timed out. (connect timeout=5.0)")


def dropped_connection() -> requests.ConnectionError:
    return requests.ConnectionError(
        ProtocolError("Connection aborted.", ConnectionResetError(104, "Connection reset by peer"))
    )


# -- the stub server ---------------------------------------------------------------------------


@dataclass
class Exchange:
    """One request the stub received (bodies parsed)."""

    operation: str
    method: str
    url: str
    path: str
    query: dict[str, str]
    body: Any  # parsed JSON (dict) or None
    raw: bytes
    headers: dict[str, str]
    status: int | None = None  # None when an exception was raised instead of an answer
    answer: Any = None  # the JSON answered by the stub's own logic (not a fault's)


@dataclass
class Fault:
    """What to do instead of (or after) serving one request.

    ``apply=True`` processes the request first (the write lands on the ticket), then
    answers with the fault: a lost answer. ``apply`` may also be a function that edits
    the request data before it is processed (e.g. drops the attachments: Znuny created
    the article, then failed writing them). ``exc`` is raised; otherwise the status,
    body and headers are answered."""

    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    exc: Callable[[], BaseException] | None = None
    apply: bool | Callable[[dict[str, Any]], None] = False


def gi_error(code: str, message: str) -> Fault:
    """A 200 + Error answer, as Znuny gives for operation errors."""
    return Fault(status=200, body={"Error": {"ErrorCode": code, "ErrorMessage": message}})


def fault_500_json(faultstring: str, apply: bool = False) -> Fault:
    """A provider failure: 500, text/plain, but a JSON body (spec §3)."""
    return Fault(status=500, body={"faultcode": "Server", "faultstring": faultstring}, apply=apply)


def fault_500_text(text: str) -> Fault:
    return Fault(status=500, body=text, headers={"Content-Type": TEXT_CT})


ROUTES = {
    "SessionCreate": ("POST", "/Session"),
    "TicketGet": ("GET", "/Ticket/:TicketID"),
    "TicketSearch": ("POST", "/Ticket/Search"),
    "TicketUpdate": ("PATCH", "/Ticket/:TicketID"),
}


def _route_regex(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r":(\w+)", r"(?P<\1>[^/]+)", re.escape(path).replace(r"\:", ":")) + "$")


class GIStub:
    """A stateful stub of Znuny's GenericInterface for the four operations the library uses."""

    def __init__(
        self,
        rsps: responses.RequestsMock,
        *,
        service_url: str = SERVICE_URL,
        users: dict[str, str] | None = None,
        agents: Iterable[str] = ("root@localhost", "agente.mesa", "tecnico1", "lector"),
        states: Iterable[str] = ("new", "open", "closed successful", "Atendido"),
        routes: dict[str, tuple[str, str]] | None = None,
        create_time: str = "2026-11-28 12:57:32",
        max_length: int = 100_000_000,
    ) -> None:
        self.rsps = rsps
        self.service_url = service_url.rstrip("/")
        self.users = dict(users or {AGENT_LOGIN: AGENT_PASSWORD})
        self.agents = set(agents)
        self.states = set(states)
        self.routes = dict(ROUTES)
        self.routes.update(routes or {})
        self.create_time = create_time
        self.max_length = max_length  # the web service's MaxLength (recording 92)
        self.tickets: dict[int, dict[str, Any]] = {}
        self.sessions: dict[str, str] = {}  # the valid ones
        self.issued: list[str] = []  # every SessionID ever handed out
        self.denied: set[str] = set()  # logins that may read but not update
        self.log: list[Exchange] = []
        self.faults: list[tuple[str, Callable[[dict[str, Any]], bool] | None, Fault]] = []
        self._next_session = 0
        self._next_article = 100
        for method in ("GET", "POST", "PATCH", "PUT", "DELETE"):
            rsps.add_callback(method, re.compile(re.escape(self.service_url) + r"(/.*)?$"), self._callback)

    # -- set-up ---------------------------------------------------------------------------
    def add_ticket(
        self,
        ticket_id: int = TICKET_ID,
        number: str = TICKET_NUMBER,
        *,
        state: str = "open",
        owner: str = "tecnico1",
        articles: Iterable[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A ticket shaped like recording 41 with its first (customer request) article."""
        ticket: dict[str, Any] = {
            "Age": 2, "ArchiveFlag": "n", "ChangeBy": 3, "Changed": "2026-11-28 12:57:31", "CreateBy": 3,
            "Created": "2026-11-28 12:57:31", "CustomerID": "CLIENTE-DEMO", "CustomerUserID": "cliente.demo",
            "EscalationResponseTime": 0, "EscalationSolutionTime": 0, "EscalationTime": 0,
            "EscalationUpdateTime": 0, "GroupID": 5, "Lock": "lock", "LockID": 2, "Owner": owner, "OwnerID": 3,
            "Priority": "3 normal", "PriorityID": 3, "Queue": "Mesa de Servicio", "QueueID": 5,
            "RealTillTimeNotUsed": 0, "Responsible": "root@localhost", "ResponsibleID": 1, "SLAID": "",
            "ServiceID": "", "State": state, "StateID": 4, "StateType": "open", "TicketID": ticket_id,
            "TicketNumber": number, "TimeUnit": 0, "Title": "Impresora no imprime (lab 1)",
            "Type": "Unclassified", "TypeID": 1, "UnlockTimeout": 1795870651, "UntilTime": 0,
            "Article": [],
        }
        self.tickets[ticket_id] = ticket
        if articles is None:
            self.add_article(
                ticket_id,
                subject="Impresora no imprime (lab 1)",
                body="Ticket de prueba creado vía REST por tecnico1.\nSegunda línea con acentos: áéíóú ñ.",
                create_time="2026-11-28 12:57:31",
                from_="\"Cliente Demo\" <cliente.demo@example.com>",
            )
        else:
            for a in articles:
                self.add_article(ticket_id, **a)
        return ticket

    def add_article(
        self,
        ticket_id: int = TICKET_ID,
        *,
        subject: str,
        body: str,
        attachments: Iterable[tuple[str, bytes, str]] = (),
        create_time: str | None = None,
        from_: str = "Juan Pérez",
        sender_type: str = "agent",
    ) -> int:
        """Add an article as Znuny stores it (strings trimmed); returns its ArticleID."""
        self._next_article += 1
        aid = self._next_article
        ticket = self.tickets[ticket_id]
        atts = sorted(attachments, key=lambda x: x[0])  # FileIDs follow filename order
        article: dict[str, Any] = {
            "ArticleID": aid, "ArticleNumber": len(ticket["Article"]) + 1, "Bcc": "", "Body": body.strip(),
            "Cc": "", "ChangeBy": 3, "ChangeTime": create_time or self.create_time, "Charset": "utf8",
            "CommunicationChannel": "Internal", "CommunicationChannelID": 3, "ContentCharset": "utf8",
            "ContentType": "text/plain; charset=utf8", "CreateBy": 3,
            "CreateTime": create_time or self.create_time, "From": from_, "InReplyTo": "",
            "IncomingTime": 1795870652, "IsVisibleForCustomer": 0, "MessageID": "", "MimeType": "text/plain",
            "References": "", "ReplyTo": "", "SenderType": sender_type, "SenderTypeID": "1",
            "Subject": subject.strip(), "TicketID": ticket_id, "TimeUnit": 0, "To": "",
            "_attachments": [
                {
                    "ContentID": "", "ContentType": ct, "Disposition": "attachment", "FileID": str(i),
                    "Filename": name, "FilesizeRaw": str(len(data)), "_content": data,
                }
                for i, (name, data, ct) in enumerate(atts, 1)
            ],
        }
        ticket["Article"].append(article)
        return aid

    def inject(self, operation: str, *faults: Fault, when: Callable[[dict[str, Any]], bool] | None = None) -> None:
        """Answer the next requests of ``operation`` (those for which ``when(data)`` holds,
        ``data`` being body + query + route values) with these faults, in order."""
        self.faults.extend((operation, when, f) for f in faults)

    def pending_faults(self) -> int:
        return len(self.faults)

    def _take_fault(self, op: str, data: dict[str, Any]) -> Fault | None:
        for i, (fop, when, fault) in enumerate(self.faults):
            if fop == op and (when is None or when(data)):
                del self.faults[i]
                return fault
        return None

    def expire_sessions(self) -> None:
        """Every current session becomes invalid (Znuny answers *.AuthFail)."""
        self.sessions.clear()

    # -- inspection ---------------------------------------------------------------------------
    def ops(self) -> list[str]:
        """The operations received, in order."""
        return [e.operation for e in self.log]

    def of(self, operation: str) -> list[Exchange]:
        return [e for e in self.log if e.operation == operation]

    def writes(self) -> list[Exchange]:
        """TicketUpdates that carried something to write (the preflight excluded)."""
        return [e for e in self.of("TicketUpdate") if not is_preflight(e.body)]

    def ticket(self, ticket_id: int = TICKET_ID) -> dict[str, Any]:
        return self.tickets[ticket_id]

    def articles(self, ticket_id: int = TICKET_ID, subject: str | None = None) -> list[dict[str, Any]]:
        arts = self.tickets[ticket_id]["Article"]
        return [a for a in arts if subject is None or a["Subject"] == subject]

    # -- dispatch -------------------------------------------------------------------------------
    def _route(self, method: str, path: str) -> tuple[str, dict[str, str]] | None:
        # Znuny tries operations in alphabetical order of their names.
        for op in sorted(self.routes):
            m, route = self.routes[op]
            match = _route_regex(route).match(path)
            if m == method and match:
                return op.removesuffix("GET"), match.groupdict()  # "TicketSearchGET" as in recording 31
        return None

    def _callback(self, request: requests.PreparedRequest) -> Any:
        parts = urlsplit(str(request.url))
        path = parts.path[len(urlsplit(self.service_url).path):]
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        raw = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = "<invalid json>"
        routed = self._route(str(request.method), path)
        op = routed[0] if routed else "?"
        ex = Exchange(op, str(request.method), str(request.url), path, query, body, raw, dict(request.headers))
        self.log.append(ex)
        if request.method != "GET" and len(raw) > self.max_length:
            ex.status = 413
            return 413, {"Content-Type": TEXT_CT}, "Request Entity Too Large"
        if routed is None:
            ex.status = 500
            text = f"HTTP::REST Error while determine Operation for request URI '{path}'."
            return 500, {"Content-Type": TEXT_CT}, text
        if body == "<invalid json>":
            ex.status = 500
            return 500, {"Content-Type": TEXT_CT}, "Error while decoding request content."
        data: dict[str, Any] = {}
        if isinstance(body, dict):
            data.update(body)
        data.update(query)
        data.update(routed[1])
        fault = self._take_fault(op, data)
        if fault is not None:
            if callable(fault.apply):
                edited = json.loads(json.dumps(data))
                fault.apply(edited)
                self._serve(op, edited)
            elif fault.apply:
                self._serve(op, data)
            if fault.exc is not None:
                raise fault.exc()
            ex.status = fault.status
            headers = {"Content-Type": TEXT_CT if fault.status != 200 else JSON_CT, **fault.headers}
            payload = fault.body if isinstance(fault.body, (str, bytes)) else json.dumps(fault.body)
            return fault.status, headers, payload
        answer = self._serve(op, data)
        ex.status, ex.answer = 200, answer
        return 200, {"Content-Type": JSON_CT}, json.dumps(answer, ensure_ascii=False)

    def _serve(self, op: str, data: dict[str, Any]) -> dict[str, Any]:
        return getattr(self, "_op_" + op)(data)

    @staticmethod
    def _error(code: str, message: str) -> dict[str, Any]:
        return {"Error": {"ErrorCode": code, "ErrorMessage": message}}

    # -- operations -------------------------------------------------------------------------------
    def _op_SessionCreate(self, d: dict[str, Any]) -> dict[str, Any]:
        if not d:
            return self._error("SessionCreate.MissingParameter", "SessionCreate: The request is empty!")
        if "Password" not in d:
            return self._error("SessionCreate.MissingParameter", "SessionCreate: Password parameter is missing!")
        login = d.get("UserLogin")
        if login not in self.users or self.users[login] != d["Password"]:
            return self._error("SessionCreate.AuthFail", "SessionCreate: Authorization failing!")
        self._next_session += 1
        sid = f"Sess{self._next_session:04d}Mwr4vdyTOeQXUq6L6g4a6JEO"  # 32 characters, as Znuny's
        self.sessions[sid] = login
        self.issued.append(sid)
        return {"SessionID": sid}

    def _user(self, d: dict[str, Any]) -> str | None:
        return self.sessions.get(str(d.get("SessionID", "")))

    def _op_TicketSearch(self, d: dict[str, Any]) -> dict[str, Any]:
        if self._user(d) is None:
            return self._error("TicketSearch.AuthFail", "TicketSearch: Authorization failing!")
        ids = [str(t["TicketID"]) for t in self.tickets.values() if t["TicketNumber"] == d.get("TicketNumber")]
        return {"TicketID": ids} if ids else {}

    def _op_TicketGet(self, d: dict[str, Any]) -> dict[str, Any]:
        if self._user(d) is None:
            return self._error("TicketGet.AuthFail", "TicketGet: Authorization failing!")
        tid = str(d.get("TicketID", ""))
        if not tid.isdigit() or int(tid) not in self.tickets:
            return self._error("TicketGet.AccessDenied", "TicketGet: User does not have access to the ticket!")
        t = self.tickets[int(tid)]
        out = {k: v for k, v in t.items() if k != "Article"}
        if str(d.get("AllArticles")) == "1" and t["Article"]:
            arts = []
            for a in t["Article"]:
                art = {k: v for k, v in a.items() if not k.startswith("_")}
                if str(d.get("Attachments")) == "1" and a["_attachments"]:
                    contents = str(d.get("GetAttachmentContents", "1")) not in ("0", "")
                    art["Attachment"] = [
                        {
                            **{k: v for k, v in x.items() if not k.startswith("_")},
                            "Content": base64.b64encode(x["_content"]).decode() if contents else "",
                            "ContentAlternative": "",
                        }
                        for x in a["_attachments"]
                    ]
                arts.append(art)
            out["Article"] = arts
        return {"Ticket": [out]}

    def _op_TicketUpdate(self, d: dict[str, Any]) -> dict[str, Any]:
        # Validation in Znuny's order (spec §4.3); nothing is written before all passed.
        user = self._user(d)
        if user is None:
            return self._error("TicketUpdate.AuthFail", "TicketUpdate: User could not be authenticated!")
        tid = str(d.get("TicketID", ""))
        if not tid.isdigit() or int(tid) not in self.tickets or user in self.denied:
            return self._error("TicketUpdate.AccessDenied", "TicketUpdate: User does not have access to the ticket!")
        ticket = self.tickets[int(tid)]
        t = d.get("Ticket")
        if t is not None and (not isinstance(t, dict) or not t):
            return self._error("TicketUpdate.InvalidParameter", "TicketUpdate: Ticket parameter is not valid!")
        t = t or {}
        if "State" in t and t["State"] not in self.states:
            return self._error("TicketUpdate.InvalidParameter", STATE_INVALID)
        if "Owner" in t and t["Owner"] not in self.agents:
            return self._error("TicketUpdate.InvalidParameter", OWNER_INVALID)
        article = d.get("Article")
        if article is not None:
            for key in ("Subject", "Body"):
                if not article.get(key):
                    return self._error(MISSING, f"TicketUpdate: Article->{key} parameter is missing!")
            if not article.get("ContentType"):
                return self._error(
                    MISSING,
                    "TicketUpdate: Article->ContentType or Ticket->MimeType and Article->Charset "
                    "parameters are required!",
                )
        atts = d.get("Attachment") or []
        if atts and article is None:
            return self._error(MISSING, "TicketUpdate: To create an attachment an article is needed!")
        for x in atts:
            for key in ("Content", "ContentType", "Filename"):
                if not x.get(key):
                    return self._error(MISSING, f"TicketUpdate: Attachment->{key} parameter is missing!")
        # Writes: state, owner, then the article with the top-level attachments.
        if "State" in t:
            ticket["State"] = t["State"].strip()
        if "Owner" in t:
            ticket["Owner"] = t["Owner"].strip()
        answer: dict[str, Any] = {"TicketID": tid, "TicketNumber": ticket["TicketNumber"]}
        if article is not None:
            answer["ArticleID"] = self.add_article(
                int(tid),
                subject=article["Subject"],
                body=article["Body"],
                attachments=[(x["Filename"], base64.b64decode(x["Content"]), x["ContentType"]) for x in atts],
            )
        return dict(sorted(answer.items()))


def is_preflight(body: Any) -> bool:
    """Whether a TicketUpdate body is the library's preflight (an article without Body)."""
    return isinstance(body, dict) and isinstance(body.get("Article"), dict) and "Body" not in body["Article"]


def _subject(body: Any) -> str | None:
    art = body.get("Article") if isinstance(body, dict) else None
    return art.get("Subject") if isinstance(art, dict) and "Body" in art else None


def is_step1(body: Any) -> bool:
    """The closure note write (subject "Atendido")."""
    return _subject(body) == "Atendido"


def is_step2(body: Any) -> bool:
    """The owner change write (Owner set, not the preflight)."""
    return isinstance(body, dict) and "Owner" in (body.get("Ticket") or {}) and not is_preflight(body)


def is_write(body: Any) -> bool:
    """Any TicketUpdate but the preflight."""
    return not is_preflight(body)


def new_client(**options: Any) -> ClosureClient:
    """A client for the stub with instant (recorded) sleeps."""
    sleeps: list[float] = options.pop("sleeps", [])
    return ClosureClient(
        base_url=options.pop("base_url", BASE_URL),
        username=options.pop("username", AGENT_LOGIN),
        password=options.pop("password", AGENT_PASSWORD),
        owner_login=options.pop("owner_login", OWNER_LOGIN),
        sleep=sleeps.append,
        **options,
    )


def stub_env(**stub_options: Any) -> tuple[responses.RequestsMock, GIStub]:
    """A started RequestsMock with a GIStub holding the default ticket. Stop it with ``rsps.stop()``."""
    rsps = responses.RequestsMock(assert_all_requests_are_fired=False)
    rsps.start()
    stub = GIStub(rsps, **stub_options)
    stub.add_ticket()
    return rsps, stub


@contextmanager
def stubbed(**stub_options: Any) -> Iterator[GIStub]:
    """``with stubbed() as stub:`` — a GIStub on an active RequestsMock, stopped afterwards."""
    rsps, stub = stub_env(**stub_options)
    try:
        yield stub
    finally:
        rsps.stop()
        rsps.reset()


@contextmanager
def no_http() -> Iterator[responses.RequestsMock]:
    """A RequestsMock with nothing registered: any request fails; check ``len(rsps.calls) == 0``."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps
