"""End to end, at the HTTP level: each attention kind closes a ticket with exactly the
requests the manual's two steps need, in order, and returns the receipt the ticket shows."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import responses
from helpers import (
    AGENT_LOGIN,
    AGENT_PASSWORD,
    BODY_MISSING,
    FILE_MAKERS,
    OWNER_LOGIN,
    SERVICE_URL,
    TICKET_ID,
    TICKET_NUMBER,
    Answer,
    door,
    exchanges,
    make_file,
    make_formats,
    new_client,
    of,
    ops,
    service_desk,
    sessions,
    writes,
)

from otrs_closure import (
    AttachmentInfo,
    ClosureReceipt,
    FormatFiles,
    Incident,
    ServiceRequest,
    StepStatus,
    UserOnboarding,
)
from otrs_closure.testing import FakeZnuny

DONE = StepStatus.DONE
JSON_REQ_CT = "application/json; charset=utf-8"
GET_QUERY = {"AllArticles": "1", "Attachments": "1", "GetAttachmentContents": "0"}


@pytest.fixture
def fake() -> FakeZnuny:
    return service_desk()


@pytest.fixture(autouse=True)
def wire(fake: FakeZnuny):
    """Every test talks to ``fake`` through its responses door (tests that need another
    server open a door of their own inside this one)."""
    with door(fake) as rsps:
        yield rsps


def reference_of(receipt: ClosureReceipt) -> str:
    return f"Referencia de cierre: {receipt.closure_id}"


ATTENTIONS = {
    "service_request": (
        ServiceRequest(description="Se reconfiguró la impresora del piso 3."),
        ["Descripción de la Atención: Se reconfiguró la impresora del piso 3."],
    ),
    "user_onboarding": (
        UserOnboarding(
            description="Alta del usuario en el sistema de nómina.",
            access_url="https://nomina.example.gob.mx/login",
            login="mgarcia",
            password="Temporal#2026",
        ),
        [
            "Descripción de la Atención: Alta del usuario en el sistema de nómina.",
            "URL de acceso: https://nomina.example.gob.mx/login",
            "Login de acceso al Sistema: mgarcia",
            "Contraseña de acceso al Sistema: Temporal#2026",
        ],
    ),
    "incident": (
        Incident(
            problem="El equipo no arrancaba: disco dañado.",
            solution="Se reemplazó el disco y se restauró el respaldo.",
            description="Atención en sitio, 2 horas.",
        ),
        [
            "Problema Real: El equipo no arrancaba: disco dañado.",
            "Solución Real: Se reemplazó el disco y se restauró el respaldo.",
            "Descripción de la Atención: Atención en sitio, 2 horas.",
        ],
    ),
    "incident_without_description": (
        Incident(problem="Sin red en la oficina.", solution="Se cambió el cable de red."),
        ["Problema Real: Sin red en la oficina.", "Solución Real: Se cambió el cable de red."],
    ),
}


def check_common_requests(
    fake: FakeZnuny, wire: responses.RequestsMock, *, by_number: bool, with_files: bool
) -> tuple[dict, dict]:
    """The exact sequence of a first close on a fresh client; returns the two write bodies."""
    expected_ops = ["SessionCreate"]
    if by_number:
        expected_ops.append("TicketSearch")
    expected_ops += ["TicketGet", "TicketUpdate", "TicketUpdate", "TicketUpdate", "TicketGet"]
    assert ops(fake) == expected_ops
    log = exchanges(fake, wire)
    sid = log[0]
    # SessionCreate: POST /Session {UserLogin, Password}
    assert (sid.method, sid.path) == ("POST", "/Session")
    assert sid.body == {"UserLogin": AGENT_LOGIN, "Password": AGENT_PASSWORD}
    (session_id,) = sessions(fake)
    rest = log[1:]
    if by_number:
        search = rest.pop(0)
        assert (search.method, search.path, search.query) == ("POST", "/Ticket/Search", {})
        assert search.body == {"SessionID": session_id, "TicketNumber": TICKET_NUMBER}
    get1, preflight, step1, step2, verify = rest
    for get in (get1, verify):
        assert (get.method, get.path, get.body) == ("GET", f"/Ticket/{TICKET_ID}", None)
        # The server reads the session from the header: no credential in the URL.
        assert get.query == GET_QUERY
        assert get.headers["X-OTRS-Header-SessionID"] == session_id
    # Preflight: rejected by Znuny before any write, proving State and Owner exist.
    assert (preflight.method, preflight.path) == ("PATCH", f"/Ticket/{TICKET_ID}")
    assert preflight.body["SessionID"] == session_id
    assert preflight.body["Ticket"] == {"State": "Atendido", "Owner": OWNER_LOGIN}
    assert "Body" not in preflight.body["Article"]
    assert "Attachment" not in preflight.body
    for w in (preflight, step1, step2):
        assert (w.method, w.path, w.query) == ("PATCH", f"/Ticket/{TICKET_ID}", {})
        assert w.body["SessionID"] == session_id
        assert w.headers["Content-Type"] == JSON_REQ_CT
        # Znuny ignores a body without Content-Length: never chunked.
        assert int(w.headers["Content-Length"]) == w.size
        assert "Transfer-Encoding" not in w.headers
    assert step1.body["Ticket"] == {"State": "Atendido"}
    assert ("Attachment" in step1.body) is with_files
    assert step2.body == {
        "SessionID": session_id,
        "Ticket": {"Owner": OWNER_LOGIN},
        "Article": {
            "CommunicationChannel": "Internal",
            "IsVisibleForCustomer": 0,
            "SenderType": "agent",
            "Subject": "Se modifica propietario",
            "Body": "Se modifica propietario",
            "ContentType": "text/plain; charset=utf8",
        },
    }
    return step1.body, step2.body


@pytest.mark.parametrize("kind", list(ATTENTIONS))
def test_each_kind_closes_by_number_with_the_manuals_requests(fake: FakeZnuny, wire, tmp_path, kind):
    attention, lines = ATTENTIONS[kind]
    formats = make_formats(tmp_path, "PDF", "DOCX")
    client = new_client()
    receipt = client.close(ticket_number=TICKET_NUMBER, attention=attention, formats=formats)

    step1, _ = check_common_requests(fake, wire, by_number=True, with_files=True)
    article = step1["Article"]
    assert article == {
        "CommunicationChannel": "Internal",
        "IsVisibleForCustomer": 0,
        "SenderType": "agent",
        "Subject": "Atendido",
        "Body": "\n".join(lines + [reference_of(receipt)]),
        "ContentType": "text/plain; charset=utf8",
    }
    if kind == "incident_without_description":
        assert "Descripción de la Atención" not in article["Body"]
    # The two format files, byte-identical, typed by content.
    scan, editable = formats.signed_scan.read_bytes(), formats.editable.read_bytes()
    assert step1["Attachment"] == [
        {
            "Content": base64.b64encode(scan).decode(),
            "ContentType": "application/pdf",
            "Filename": "formato_firmado.pdf",
        },
        {
            "Content": base64.b64encode(editable).decode(),
            "ContentType": FILE_MAKERS["DOCX"][2],
            "Filename": "formato.docx",
        },
    ]
    assert base64.b64decode(step1["Attachment"][0]["Content"]) == scan

    # The receipt is what the verifying TicketGet shows.
    ticket = fake.ticket(TICKET_ID)
    note = ticket.articles_with_subject("Atendido")
    owner_note = ticket.articles_with_subject("Se modifica propietario")
    assert len(note) == 1 and len(owner_note) == 1
    assert receipt.ticket_id == TICKET_ID
    assert receipt.ticket_number == TICKET_NUMBER
    assert receipt.note_article_id == note[0].article_id
    assert receipt.owner_article_id == owner_note[0].article_id
    # The files arrived byte-identical; the ticket now is as the manual says.
    fake.assert_ticket(
        TICKET_ID,
        state="Atendido",
        owner=OWNER_LOGIN,
        attachments_bytes={"formato_firmado.pdf": scan, "formato.docx": editable},
    )
    assert receipt.state == "Atendido"
    assert receipt.owner == OWNER_LOGIN
    assert receipt.closure_id.startswith("oc-")
    assert receipt.steps.model_dump() == {
        "note": DONE,
        "attachments": DONE,
        "state": DONE,
        "owner": DONE,
        "owner_note": DONE,
    }
    assert receipt.complete and receipt.remaining == []
    assert receipt.writes_sent == 2
    # Znuny lists attachments in filename order.
    assert receipt.attachments == (
        AttachmentInfo(filename="formato.docx", size=len(editable), content_type=FILE_MAKERS["DOCX"][2]),
        AttachmentInfo(filename="formato_firmado.pdf", size=len(scan), content_type="application/pdf"),
    )
    assert client.requests_sent == {"SessionCreate": 1, "TicketSearch": 1, "TicketGet": 2, "TicketUpdate": 3}


@pytest.mark.parametrize("kind", ["service_request", "incident", "incident_without_description"])
def test_kinds_without_formats_send_no_attachment(fake: FakeZnuny, wire, kind):
    attention, lines = ATTENTIONS[kind]
    receipt = new_client().close(ticket_id=TICKET_ID, attention=attention)
    step1, _ = check_common_requests(fake, wire, by_number=False, with_files=False)
    assert step1["Article"]["Body"] == "\n".join(lines + [reference_of(receipt)])
    assert receipt.steps.attachments is StepStatus.NOT_APPLICABLE
    assert receipt.attachments == ()
    assert receipt.complete


def test_by_ticket_id_sends_no_search_and_reads_the_number(fake: FakeZnuny):
    receipt = new_client().close(ticket_id=TICKET_ID, attention=ATTENTIONS["service_request"][0])
    assert "TicketSearch" not in ops(fake)
    assert receipt.ticket_number == TICKET_NUMBER
    assert receipt.ticket_id == TICKET_ID


def wall_clock_fake(when: datetime) -> FakeZnuny:
    """A fake whose (frozen) clock shows ``when`` on its wall, in ``when``'s zone."""
    zone = str(when.tzinfo)
    return service_desk(timezone=zone, start_time=when.timestamp(), frozen_clock=True)


def test_attended_at_is_the_servers_wall_clock_in_mexico_city_not_converted():
    fake = wall_clock_fake(datetime(2026, 11, 28, 23, 30, 5, tzinfo=ZoneInfo("America/Mexico_City")))
    with door(fake):
        receipt = new_client().close(ticket_id=TICKET_ID, attention=ATTENTIONS["service_request"][0])
    assert fake.ticket(TICKET_ID).articles_with_subject("Atendido")[0].create_time == "2026-11-28 23:30:05"
    at = receipt.attended_at
    assert at is not None and at.tzinfo is not None
    assert at.tzinfo == ZoneInfo("America/Mexico_City")
    assert (at.year, at.month, at.day, at.hour, at.minute, at.second) == (2026, 11, 28, 23, 30, 5)
    assert at.utcoffset() == timedelta(hours=-6)
    assert at == datetime(2026, 11, 29, 5, 30, 5, tzinfo=ZoneInfo("UTC"))


def test_attended_at_follows_server_timezone_setting():
    fake = wall_clock_fake(datetime(2026, 7, 1, 8, 0, 0, tzinfo=ZoneInfo("America/Tijuana")))
    with door(fake):
        receipt = new_client(server_timezone="America/Tijuana").close(
            ticket_id=TICKET_ID, attention=ATTENTIONS["service_request"][0]
        )
    assert fake.ticket(TICKET_ID).articles_with_subject("Atendido")[0].create_time == "2026-07-01 08:00:00"
    assert receipt.attended_at == datetime(2026, 7, 1, 8, 0, 0, tzinfo=ZoneInfo("America/Tijuana"))
    assert receipt.attended_at.utcoffset() == timedelta(hours=-7)


@pytest.mark.parametrize(
    ("scan", "editable"),
    [
        ("PDF", "DOCX"),
        ("JPEG", "XLSX"),
        ("PNG", "ODT"),
        ("TIFF", "ODS"),
        ("PDF", "DOC"),
        ("PNG", "XLS"),
        ("JPEG", "PDF"),
    ],
)
def test_content_types_are_detected_by_content(fake: FakeZnuny, tmp_path, scan, editable):
    formats = make_formats(tmp_path, scan, editable, scan_name="escaneo", editable_name="editable")
    receipt = new_client().close(ticket_id=TICKET_ID, attention=ATTENTIONS["service_request"][0], formats=formats)
    step1 = writes(fake)[0].body
    sent = {a["Filename"]: a["ContentType"] for a in step1["Attachment"]}
    # No extension in the local names: the detected type's extension is added.
    scan_ext = {"PDF": ".pdf", "JPEG": ".jpg", "PNG": ".png", "TIFF": ".tif"}[scan]
    edit_ext = {
        "DOCX": ".docx",
        "XLSX": ".xlsx",
        "ODT": ".odt",
        "ODS": ".ods",
        "DOC": ".doc",
        "XLS": ".xls",
        "PDF": ".pdf",
    }[editable]
    assert sent == {"escaneo" + scan_ext: FILE_MAKERS[scan][2], "editable" + edit_ext: FILE_MAKERS[editable][2]}
    for a in step1["Attachment"]:
        local = formats.signed_scan if a["Filename"].startswith("escaneo") else formats.editable
        assert base64.b64decode(a["Content"], validate=True) == local.read_bytes()
    assert {x.filename for x in receipt.attachments} == set(sent)
    stored = {a.filename: a.content_type for a in fake.ticket(TICKET_ID).attachments()}
    assert stored == sent


def test_filenames_are_sanitized_as_sent(fake: FakeZnuny, tmp_path):
    # A backslash path and reserved characters are legal in a POSIX file name.
    scan = make_file(tmp_path, "PDF", 'C:\\Users\\mesa\\Escritorio\\acta:"firmada"?.pdf')
    editable = make_file(tmp_path, "DOCX", "formato\x07 final.docx")
    new_client().close(
        ticket_id=TICKET_ID,
        attention=ATTENTIONS["service_request"][0],
        formats=FormatFiles(signed_scan=scan, editable=editable),
    )
    names = [a["Filename"] for a in writes(fake)[0].body["Attachment"]]
    assert names == ["acta__firmada__.pdf", "formato_ final.docx"]


def test_large_attachment_streams_with_exact_content_length(fake: FakeZnuny, tmp_path):
    big = tmp_path / "grande.pdf"
    big.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 4000 + b"\n%%EOF\n")  # ~1 MB, not a multiple of 3
    formats = FormatFiles(signed_scan=big, editable=make_file(tmp_path, "XLSX"))
    new_client().close(ticket_id=TICKET_ID, attention=ATTENTIONS["service_request"][0], formats=formats)
    step1 = writes(fake)[0]
    assert int(step1.headers["content-length"]) == step1.size
    assert base64.b64decode(step1.body["Attachment"][0]["Content"]) == big.read_bytes()
    fake.assert_ticket(TICKET_ID, attachments_bytes={"grande.pdf": big.read_bytes()})


def test_preflight_happens_once_per_client(fake: FakeZnuny):
    assert fake.new_service_desk_ticket() == (3, "2026112810000021")
    client = new_client()
    client.close(ticket_id=TICKET_ID, attention=ATTENTIONS["service_request"][0])
    client.close(ticket_id=3, attention=ATTENTIONS["service_request"][0])
    preflights = [e for e in of(fake, "TicketUpdate") if e.body["Article"].get("Body") is None]
    assert len(preflights) == 1
    assert ops(fake).count("SessionCreate") == 1  # one session reused
    assert len(of(fake, "TicketUpdate")) == 5


def test_preflight_rejection_is_the_recorded_missing_body_error(fake: FakeZnuny, wire):
    """The preflight is answered as Znuny did in recording 63."""
    new_client().close(ticket_id=TICKET_ID, attention=ATTENTIONS["service_request"][0])
    preflight = next(e for e in exchanges(fake, wire) if e.operation == "TicketUpdate")
    assert preflight.answer == {"Error": {"ErrorCode": "TicketUpdate.MissingParameter", "ErrorMessage": BODY_MISSING}}
    # Nothing of the preflight was written: two articles added, by steps 1 and 2.
    assert [a.subject for a in fake.ticket(TICKET_ID).articles] == [
        "Impresora no imprime",
        "Atendido",
        "Se modifica propietario",
    ]


def test_preflight_false_sends_no_preflight(fake: FakeZnuny):
    new_client(preflight=False).close(ticket_id=TICKET_ID, attention=ATTENTIONS["service_request"][0])
    assert ops(fake) == ["SessionCreate", "TicketGet", "TicketUpdate", "TicketUpdate", "TicketGet"]


@pytest.mark.parametrize(("missing", "field"), [("state", "attended_state"), ("owner", "owner_login")])
def test_preflight_finds_unknown_state_or_owner_before_writing(fake: FakeZnuny, missing, field):
    from otrs_closure import InputError

    if missing == "state":
        fake.add_state("Atendido", "open", state_id=10, valid=False)  # recording 60's answer
    else:
        fake.set_agent_valid(OWNER_LOGIN, False)  # recording 61's answer
    with pytest.raises(InputError) as ei:
        new_client().close(ticket_id=TICKET_ID, attention=ATTENTIONS["service_request"][0])
    assert ei.value.field == field
    assert writes(fake) == []
    fake.assert_ticket(TICKET_ID, state="new", owner="tecnico1", article_count=1)


def test_custom_settings_change_the_notes(fake: FakeZnuny):
    client = new_client(
        owner_login="root@localhost",
        note_subject="Atendido",
        owner_body="Cambio de propietario",
        note_visible_for_customer=True,
    )
    receipt = client.close(ticket_id=TICKET_ID, attention=ATTENTIONS["service_request"][0])
    step1, step2 = writes(fake)
    assert step1.body["Article"]["IsVisibleForCustomer"] == 1
    assert step2.body["Ticket"] == {"Owner": "root@localhost"}
    assert step2.body["Article"]["Body"] == "Cambio de propietario"
    assert receipt.owner == "root@localhost"
    (note,) = fake.ticket(TICKET_ID).articles_with_subject("Atendido")
    assert note.is_visible_for_customer


def test_client_as_context_manager_and_gi_path(tmp_path):
    url = "https://mesa.example.gob.mx/znuny/nph-genericinterface.pl/Webservice/Mesa"
    fake = service_desk(script_path="/znuny/nph-genericinterface.pl", webservice="Mesa")
    with door(fake) as wire:
        with new_client(gi_path="/znuny/nph-genericinterface.pl/Webservice/Mesa/") as client:
            receipt = client.close(ticket_number=TICKET_NUMBER, attention=ATTENTIONS["service_request"][0])
        assert receipt.complete
        assert len(wire.calls) == 7
        assert all(c.request.url.startswith(url + "/") for c in wire.calls)
    assert SERVICE_URL != url


def test_ticket_number_is_trimmed(fake: FakeZnuny):
    receipt = new_client().close(ticket_number=f"  {TICKET_NUMBER}\n", attention=ATTENTIONS["service_request"][0])
    assert of(fake, "TicketSearch")[0].body["TicketNumber"] == TICKET_NUMBER
    assert receipt.ticket_number == TICKET_NUMBER


def ids_as_strings(status: int, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], str]:
    """Znuny's TicketGet answer with TicketID and every ArticleID as strings."""
    data = json.loads(body)
    for ticket in data["Ticket"]:
        ticket["TicketID"] = str(ticket["TicketID"])
        for article in ticket.get("Article", []):
            article["ArticleID"] = str(article["ArticleID"])
    return status, headers, json.dumps(data)


def test_ids_as_strings_in_ticket_get_are_accepted():
    """Znuny serialises ids as strings or numbers depending on their source (spec §3)."""
    fake = service_desk()
    as_strings = [Answer("TicketGet", call=n, through=ids_as_strings) for n in (1, 2)]
    with door(fake, *as_strings):
        receipt = new_client().close(ticket_id=TICKET_ID, attention=ATTENTIONS["service_request"][0])
    assert receipt.complete and receipt.ticket_id == TICKET_ID
    assert receipt.note_article_id == fake.ticket(TICKET_ID).articles_with_subject("Atendido")[0].article_id


@pytest.mark.parametrize(
    ("operation", "method", "path"),
    [
        ("TicketUpdate", "POST", "/Ticket/:TicketID/Update"),
        ("TicketGet", "GET", "/Tickets/:TicketID/Details"),
    ],
)
def test_a_route_with_the_ticket_id_inside_the_path_is_followed(fake: FakeZnuny, operation, method, path):
    # pyotrs's URL builder handles only a route that ends in :TicketID; for any other it
    # silently reused the URL of the previous request (the TicketUpdate went to
    # .../Ticket/2, the TicketGet's URL).
    fake.set_route(operation, method, path)
    client = new_client(routes={operation: {"method": method, "path": path}})
    receipt = client.close(ticket_id=TICKET_ID, attention=ATTENTIONS["service_request"][0])
    assert receipt.complete and receipt.verified
    sent = of(fake, operation)
    assert sent and all(r.path.endswith(path.replace(":TicketID", str(TICKET_ID))) for r in sent)
    assert all(r.operation is not None for r in fake.requests)  # every request reached an operation
    fake.assert_ticket(TICKET_ID, state="Atendido", owner=OWNER_LOGIN)
