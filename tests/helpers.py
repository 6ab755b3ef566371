"""Shared test helpers for the HTTP-level suite (no conftest on purpose).

* Format files built by *content* in a directory: PDF, PNG, JPEG, TIFF (scans) and
  DOCX, XLSX, ODT, ODS (real zip structures), DOC, XLS (OLE2 header + UTF-16LE stream
  names) — see :func:`make_file` and :func:`make_formats`.
* Transport failures exactly as ``requests`` raises them (:func:`connection_refused`...).
* The client tests' server is ``otrs_closure.testing.FakeZnuny``: :func:`service_desk`
  builds it with ticket 2, :func:`door` opens its ``responses`` door at ``BASE_URL`` and
  yields the wire; an :class:`Answer` in front of it answers one request with what the
  fake never says. :func:`ops`, :func:`of`, :func:`writes` and :func:`exchanges` read
  what was sent; :func:`is_preflight`, :func:`is_step1`, :func:`is_step2` tell the
  TicketUpdate bodies apart.
"""

from __future__ import annotations

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
from otrs_closure.testing import PASSWORDS, RECORDING_START, FakeZnuny, RequestRecord, request_body_bytes

BASE_URL = "https://mesa.example.gob.mx"
WEBSERVICE = "GenericTicketConnectorREST"
GI_PATH = f"/otrs/nph-genericinterface.pl/Webservice/{WEBSERVICE}"
SERVICE_URL = BASE_URL + GI_PATH

AGENT_LOGIN = "tecnico1"
AGENT_PASSWORD = PASSWORDS["tecnico1"]
OWNER_LOGIN = "agente.mesa"

TICKET_ID = 2
TICKET_NUMBER = "2026112810000011"

# Recording 63 (the preflight's expected rejection), 60 and 61.
BODY_MISSING = "TicketUpdate: Article->Body parameter is missing!"
STATE_INVALID = "TicketUpdate: Ticket->StateID or Ticket->State parameter is invalid!"
OWNER_INVALID = "TicketUpdate: Ticket->OwnerID or Ticket->Owner parameter is invalid!"

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


# -- the server: the fake Znuny --------------------------------------------------------------


def service_desk(**options: Any) -> FakeZnuny:
    """``FakeZnuny.service_desk()`` holding ticket 2 as recording 10 made it: state "new",
    owned and locked by tecnico1, one article. Its clock starts on the recordings' day
    (``start_time`` changes that), so the ticket's number is ``TICKET_NUMBER`` and the next
    ``fake.new_service_desk_ticket()`` is ``(3, "2026112810000021")``."""
    fake = FakeZnuny.service_desk(**{"start_time": RECORDING_START, **options})
    ticket = fake.new_service_desk_ticket()
    assert ticket.ticket_id == TICKET_ID
    assert "start_time" in options or ticket.ticket_number == TICKET_NUMBER
    return fake


@dataclass
class Answer:
    """One request answered by plain ``responses`` in front of the fake: for what the fake
    never answers (an error text of our choosing, a proxy's 502, an exact ``requests``
    exception, an HTTP-date Retry-After).

    It takes the request that would be the fake's call number ``call`` of ``operation``
    (numbered as for ``fake.inject``: for a fresh client, TicketUpdate call 1 is the
    preflight, 2 is step 1, 3 is step 2). The fake never sees that request, so its call
    counter does not move and a repeat is that call number again. With ``through``, the
    fake does answer it and ``through(status, headers, body)`` is what the client gets
    instead (a proxy rewriting or replacing Znuny's answer). :func:`door` registers it
    ahead of the fake and checks that it was used; ``received`` keeps the raw bodies."""

    operation: str
    call: int = 1
    status: int = 200
    json: Any = None
    text: str = ""
    content_type: str = TEXT_CT
    headers: dict[str, str] = field(default_factory=dict)
    raises: BaseException | None = None
    through: Callable[[int, dict[str, str], bytes], tuple[int, dict[str, str], bytes | str]] | None = None
    ticket_id: int = TICKET_ID
    received: list[bytes] = field(default_factory=list)

    def register(self, rsps: responses.RequestsMock, fake: FakeZnuny, service_url: str) -> None:
        route = fake.interface.routes[self.operation]
        url = service_url + route.route.replace(":TicketID", str(self.ticket_id))

        def taken(request: requests.PreparedRequest) -> tuple[bool, str]:
            return fake.calls(self.operation) == self.call - 1, f"not {self.operation} call {self.call}"

        def callback(request: requests.PreparedRequest) -> tuple[int, dict[str, str], bytes | str]:
            request.body = request_body_bytes(request.body)
            self.received.append(request.body)
            if self.raises is not None:
                raise self.raises
            if self.through is not None:
                status, headers, body = fake.answer(request)
                # The body may change: let the new one's length be counted afresh.
                headers = {k: v for k, v in headers.items() if k.lower() != "content-length"}
                return self.through(status, headers, body)
            if self.json is not None:
                return self.status, {"Content-Type": JSON_CT, **self.headers}, json.dumps(self.json)
            return self.status, {"Content-Type": self.content_type, **self.headers}, self.text

        assert route.method is not None
        rsps.add_callback(route.method, url, callback=callback, content_type=None, match=[taken])


@contextmanager
def door(fake: FakeZnuny, *answers: Answer, base_url: str = BASE_URL) -> Iterator[responses.RequestsMock]:
    """The fake's ``responses`` door at ``base_url`` (plus ``answers`` in front of it, each of
    which must be used). Yields the RequestsMock: ``rsps.calls`` are the wire, each request
    exactly as sent (URL, every header, ``req_kwargs``) with the answer the client got."""
    service_url = fake.service_url(base_url)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        # responses takes the first of several matching registrations and drops it: the
        # answers, registered first, are used once each; then the fake answers.
        for answer in answers:
            answer.register(rsps, fake, service_url)
        with fake.mock(base_url, requests_mock=rsps):
            yield rsps


def after_step1(action: Callable[[], None], call: int = 2) -> Answer:
    """Run ``action`` right after the fake applied step 1 (TicketUpdate ``call`` 2 of a
    fresh client: 1 is the preflight), its answer passed through unchanged — e.g. to
    change the world between the two steps."""

    def through(status: int, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        action()
        return status, headers, body

    return Answer("TicketUpdate", call=call, through=through)


def is_note_request(request: requests.PreparedRequest) -> bool:
    """Whether a request the client sent is its closure note (step 1): a PATCH carrying the
    files (streamed) or an "Atendido" article."""
    if request.method != "PATCH" or request.body is None:
        return False
    if not isinstance(request.body, (bytes, str)):
        return True  # streamed: only step 1 (or its repair) carries files
    return is_step1(json.loads(request.body))


def hooked_session(
    action: Callable[[requests.Response], None],
    base: Callable[[], requests.Session] = requests.Session,
) -> Callable[[], requests.Session]:
    """A ``session_factory`` (the client's documented seam) whose sessions call ``action``
    with each answer as it arrives, before the client reads it — whichever door or server."""

    def hook(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        action(response)
        return response

    def factory() -> requests.Session:
        session = base()
        session.hooks["response"].append(hook)
        return session

    return factory


def after_step1_session(
    action: Callable[[], None], base: Callable[[], requests.Session] = requests.Session
) -> Callable[[], requests.Session]:
    """A ``session_factory`` whose sessions run ``action`` right after each answer to the
    closure note (step 1): to change the world between the two steps."""

    def on_answer(response: requests.Response) -> None:
        if is_note_request(response.request):
            action()

    return hooked_session(on_answer, base)


def gi_error(code: str, message: str) -> dict[str, Any]:
    """A GenericInterface operation error (answered with HTTP 200)."""
    return {"Error": {"ErrorCode": code, "ErrorMessage": message}}


# -- what the fake saw ------------------------------------------------------------------------


def ops(fake: FakeZnuny) -> list[str | None]:
    """The operations the fake received, in order (``None``: no route matched)."""
    return [r.operation for r in fake.requests]


def of(fake: FakeZnuny, operation: str) -> list[RequestRecord]:
    """The fake's records of one operation."""
    return [r for r in fake.requests if r.operation == operation]


def writes(fake: FakeZnuny) -> list[RequestRecord]:
    """TicketUpdates that carried something to write (the preflight excluded)."""
    return [r for r in of(fake, "TicketUpdate") if not is_preflight(r.body)]


def sessions(fake: FakeZnuny) -> list[str]:
    """Every SessionID the fake handed out, oldest first."""
    with fake.store.lock:
        return list(fake.store.sessions)


@dataclass(frozen=True)
class Exchange:
    """One request as the client sent it (``call``: URL, query, every header, the answer it
    got) and as the fake decoded it (``record``: operation, JSON body, body size)."""

    call: responses.Call
    record: RequestRecord

    @property
    def operation(self) -> str | None:
        return self.record.operation

    @property
    def method(self) -> str:
        return str(self.call.request.method)

    @property
    def url(self) -> str:
        """Without the query."""
        return str(self.call.request.url).split("?", 1)[0]

    @property
    def path(self) -> str:
        """Below the web service URL: ``/Session``, ``/Ticket/2``."""
        return re.sub(r"^.*?/Webservice(?:ID)?/[^/]+", "", self.record.path)

    @property
    def query(self) -> dict[str, str]:
        """As sent (the fake's record holds it as Znuny reads it: ``0`` becomes ``""``)."""
        return dict(parse_qsl(urlsplit(str(self.call.request.url)).query, keep_blank_values=True))

    @property
    def headers(self) -> Any:
        return self.call.request.headers

    @property
    def body(self) -> Any:
        return self.record.body

    @property
    def size(self) -> int | None:
        return self.record.size

    @property
    def answer(self) -> Any:
        """The JSON the client received."""
        assert isinstance(self.call.response, requests.Response)
        return self.call.response.json()


def exchanges(fake: FakeZnuny, wire: responses.RequestsMock) -> list[Exchange]:
    """The fake's records (since its last ``clear_records()``) paired with the wire's calls
    that carried them: the last ones (no :class:`Answer` in front of the fake meanwhile)."""
    records = fake.requests
    calls = list(wire.calls)
    assert len(calls) >= len(records), (len(calls), len(records))
    pairs = list(zip(calls[len(calls) - len(records) :], records, strict=True))
    for call, record in pairs:
        assert urlsplit(str(call.request.url)).path == record.path
    return [Exchange(c, r) for c, r in pairs]


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


def new_client(**options: Any) -> ClosureClient:
    """A client of tecnico1 for the fake (at BASE_URL) whose sleeps are recorded, not slept."""
    sleeps: list[float] = options.pop("sleeps", [])
    return ClosureClient(
        base_url=options.pop("base_url", BASE_URL),
        username=options.pop("username", AGENT_LOGIN),
        password=options.pop("password", AGENT_PASSWORD),
        owner_login=options.pop("owner_login", OWNER_LOGIN),
        sleep=sleeps.append,
        **options,
    )


@contextmanager
def no_http() -> Iterator[responses.RequestsMock]:
    """A RequestsMock with nothing registered: any request fails; check ``len(rsps.calls) == 0``."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


# -- what a closure would write, through the public API -------------------------------------------


def closure_note(
    attention: Any, formats: FormatFiles | None = None, client: ClosureClient | None = None
) -> tuple[str, str]:
    """(closure id, note body) of a closure exactly as ``close()`` would write it: the id
    from ``client.validate`` (no request), the body rendered by ``otrs_closure.note.render``
    with the client's templates (the onboarding password in clear, as sent)."""
    from otrs_closure.note import render

    client = client or new_client()
    cid = client.validate(attention=attention, formats=formats)
    return cid, render(attention, cid, client.templates)


def chain_texts(exc: BaseException) -> list[str]:
    """Every text reachable from an error: str and repr of it and of each exception chained
    to it (cause or context, suppressed or not), a pydantic error's full JSON (with its
    inputs), and the traceback as Python prints it."""
    import traceback

    from pydantic import ValidationError

    out = ["".join(traceback.format_exception(exc))]
    seen: list[BaseException] = []
    stack: list[BaseException | None] = [exc]
    while stack:
        cur = stack.pop()
        if cur is None or any(cur is s for s in seen):
            continue
        seen.append(cur)
        out += [str(cur), repr(cur)]
        if isinstance(cur, ValidationError):
            out.append(cur.json())
        stack += [cur.__cause__, cur.__context__]
    return out


OWNER_NOTE: dict[str, Any] = {"subject": "Se modifica propietario", "body": "Se modifica propietario"}


def ticket_showing(
    fake: FakeZnuny, *articles: dict[str, Any], state: str = "Atendido", owner: str = OWNER_LOGIN
) -> tuple[int, list[int]]:
    """A new Service Desk ticket in ``state``, owned by ``owner``, whose first article is the
    customer's request, followed by ``articles`` added by tecnico1 in order (the keys of
    ``fake.add_article``: subject, body, attachments…), stored as given — as TicketGet will
    show them. Returns the TicketID and the added ArticleIDs."""
    ticket = fake.create_ticket(
        "Impresora no imprime",
        queue="Mesa de Servicio",
        state=state,
        customer_user="cliente.demo",
        created_by="tecnico1",
        owner=owner,
        article={"subject": "Impresora no imprime", "body": "Solicitud del cliente."},
    )
    ids = [fake.add_article(ticket.ticket_id, created_by="tecnico1", **spec) for spec in articles]
    return ticket.ticket_id, ids
