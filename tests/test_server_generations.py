"""What a client learns of its server, by reading and never by writing: the TicketSearch
route, whether the SessionID may travel in a header, how notes are marked internal —
and the fail-closed refusals when it cannot tell."""

from __future__ import annotations

import pytest
from helpers import TICKET_ID, TICKET_NUMBER, Answer, door, new_client, of, ops, service_desk

from otrs_closure import (
    NoteVisibleToCustomer,
    Route,
    ServerCompatibilityError,
    ServiceRequest,
)

SR = ServiceRequest(description="Se reinició el equipo.")


def test_a_fresh_client_knows_nothing_it_was_not_told() -> None:
    info = new_client().server
    assert (info.profile, info.search_route, info.session_header, info.article_fields) == (None, None, None, None)
    assert info.sources == {}


def test_a_closure_teaches_the_route_the_header_and_the_article_fields() -> None:
    fake = service_desk()
    with door(fake):
        client = new_client()
        client.close(ticket_number=TICKET_NUMBER, attention=SR)
    info = client.server
    assert info.search_route == Route(method="POST", path="/Ticket/Search")
    assert info.session_header is True and info.article_fields == "channel"
    assert info.profile == "znuny65" and info.product == "Znuny 6.5 or 7"
    assert set(info.sources) == {"search_route", "session_header", "article_fields"}
    assert not any(v.startswith("settings") for v in info.sources.values())
    # Learned without writing: the only TicketUpdates are the preflight and the two steps.
    assert len(of(fake, "TicketUpdate")) == 3


def test_the_search_route_is_found_when_the_server_routes_get_ticket() -> None:
    fake = service_desk()
    fake.set_route("TicketSearch", "GET", "/Ticket")
    with door(fake):
        client = new_client()
        receipt = client.close(ticket_number=TICKET_NUMBER, attention=SR)
        # Learned once: the next search goes straight to GET /Ticket.
        fake.clear_records()
        client.close(ticket_number=TICKET_NUMBER, attention=SR)
    assert receipt.complete
    assert [r.method for r in of(fake, "TicketSearch")] == ["GET"]
    assert client.server.search_route == Route(method="GET", path="/Ticket")


def test_a_server_that_closes_connections_is_asked_get_ticket_first() -> None:
    """Znuny's example web services keep connections alive; OTRS 5/6's and OTOBO's answer
    ``Connection: close``: the first search tries their route first (a hint, not a fact)."""
    fake = service_desk()
    fake.set_route("TicketSearch", "GET", "/Ticket")

    def closing(status: int, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        return status, {**headers, "Connection": "close"}, body

    with door(fake, Answer("SessionCreate", through=closing)):
        client = new_client()
        client.close(ticket_number=TICKET_NUMBER, attention=SR)
    assert [(r.method, r.status) for r in of(fake, "TicketSearch")] == [("GET", 200)]  # no failed probe


def test_a_crashing_answer_on_one_route_tries_the_other() -> None:
    """OTRS 5 on a recent Perl can answer an unknown route with a crash page instead of
    "Error while determine Operation": while the route is unknown, a search (a read) tries
    the other one as well, and learns it."""
    import responses
    from helpers import BASE_URL, SERVICE_URL

    fake = service_desk()
    fake.set_route("TicketSearch", "GET", "/Ticket")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        # Registered before the fake, so it answers every POST /Ticket/Search.
        rsps.add(responses.POST, SERVICE_URL + "/Ticket/Search", status=500, body="<html>crash</html>",
                 content_type="text/html")
        with fake.mock(BASE_URL, requests_mock=rsps):
            client = new_client(retry_attempts=2)
            receipt = client.close(ticket_number=TICKET_NUMBER, attention=SR)
            crashes = len([c for c in rsps.calls if c.request.method == "POST" and c.request.url.endswith("/Search")])
    assert receipt.complete and crashes == 2  # its retries, then the other route
    assert client.server.search_route == Route(method="GET", path="/Ticket")


def test_articles_that_contradict_the_setting_are_refused_before_writing() -> None:
    fake = service_desk()
    with door(fake), pytest.raises(ServerCompatibilityError) as ei:
        new_client(article_fields="article_type").close(ticket_id=TICKET_ID, attention=SR)
    assert ei.value.field == "article_fields" and "visible to the customer" in str(ei.value)
    assert of(fake, "TicketUpdate") == []


def test_a_ticket_whose_articles_do_not_tell_is_refused_before_writing() -> None:
    """No setting and no article that shows how the server marks a note internal: the
    closure does not guess (a note in the wrong fields would be visible to the customer)."""
    fake = service_desk()

    def no_visibility(status: int, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        import json

        data = json.loads(body)
        for t in data.get("Ticket", []):
            for a in t.get("Article", []):
                a.pop("IsVisibleForCustomer", None)
        return status, headers, json.dumps(data).encode()

    with door(fake, Answer("TicketGet", through=no_visibility)), pytest.raises(ServerCompatibilityError) as ei:
        new_client().close(ticket_id=TICKET_ID, attention=SR)
    assert ei.value.field == "article_fields"
    assert of(fake, "TicketUpdate") == []
    # Told, it proceeds.
    with door(fake):
        assert new_client(article_fields="channel").close(ticket_id=TICKET_ID, attention=SR).complete


def test_a_note_shown_visible_after_writing_is_never_a_success() -> None:
    fake = service_desk()

    def shown_visible(status: int, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        import json

        data = json.loads(body)
        for a in data["Ticket"][0]["Article"]:
            if a.get("Subject") == "Atendido":
                a["IsVisibleForCustomer"] = 1
        return status, headers, json.dumps(data).encode()

    with door(fake, Answer("TicketGet", call=2, through=shown_visible)), pytest.raises(NoteVisibleToCustomer) as ei:
        new_client().close(ticket_id=TICKET_ID, attention=SR)
    assert ei.value.receipt.note_internal is False
    assert ei.value.receipt.note_visibility == "IsVisibleForCustomer=1"
    assert "review the ticket" in str(ei.value)


def test_the_header_is_used_where_the_server_reads_it_and_not_learned_otherwise() -> None:
    fake = service_desk()
    with door(fake):
        client = new_client()
        client.close(ticket_id=TICKET_ID, attention=SR)
    gets = [r for r in fake.requests if r.method == "GET"]
    assert gets and all("SessionID" not in r.query for r in gets)
    assert ops(fake).count("SessionCreate") == 1


@pytest.mark.parametrize("named", ["otrs5", "otrs6", "otobo", "znuny65", "znuny7"])
def test_a_named_server_shapes_its_requests_without_probing(named: str) -> None:
    from otrs_closure import PROFILES

    profile = PROFILES[named]
    plan = new_client(server=named).plan(ticket_number=TICKET_NUMBER, attention=SR, offline=True)
    search = next(r for r in plan.requests if r.operation == "TicketSearch")
    assert (search.method, search.url.rsplit("GenericTicketConnectorREST", 1)[1]) == (
        profile.routes["TicketSearch"].method, profile.routes["TicketSearch"].path)
    step1 = [r for r in plan.writes if (r.body or {}).get("Article", {}).get("Subject") == "Atendido"][0]
    assert all(step1.body["Article"][k] == v for k, v in profile.article_fields.internal.items())  # type: ignore[index]
    get = next(r for r in plan.requests if r.operation == "TicketGet")
    assert ("SessionID" in (get.query or {})) is (not profile.session_header)


def test_a_session_dead_at_the_first_get_never_travels_in_a_url() -> None:
    """The first GET finds the session dead (expired, killed): that says nothing about the
    header, so the client repeats it with a new session, in the header again — and learns
    that the server reads it — instead of trying the dead session in the query."""
    from otrs_closure.testing import Fault

    fake = service_desk()
    fake.inject(Fault.SESSION_EXPIRED, "TicketGet", call=1)
    with door(fake):
        client = new_client()
        receipt = client.close(ticket_id=TICKET_ID, attention=SR)
    assert receipt.complete and client.server.session_header is True
    gets = [r for r in fake.requests if r.method == "GET"]
    assert all("SessionID" not in r.query for r in gets)
    assert ops(fake)[:4] == ["SessionCreate", "TicketGet", "SessionCreate", "TicketGet"]


# -- every generation, zero configuration, against the fake's profiles --------------------------

GENERATIONS = {  # fake profile -> what the client must learn and send
    "otrs-5.0.8": ("otrs5", "article_type", "GET", False),
    "otrs-6.0.30": ("otrs6", "channel", "GET", False),
    "otobo-11.0.6": ("otobo", "channel", "GET", False),
    "znuny-6.5.10": ("znuny65", "channel", "POST", True),
    "znuny-6.5.15": ("znuny65", "channel", "POST", True),
    "znuny-7.1.7": ("znuny7", "channel", "POST", True),
}


@pytest.mark.parametrize("profile", list(GENERATIONS))
@pytest.mark.parametrize("by", ["number", "id"])
def test_zero_configuration_closes_right_on_every_generation(profile: str, by: str, tmp_path) -> None:
    """Only the web service URL, the agent and the owner login: the note is internal in
    that generation's own fields, both files are stored, the owner changes with its note,
    and a second close writes nothing — on each system the fake stands in for."""
    from helpers import make_formats

    from otrs_closure import ClosureClient, UserOnboarding
    from otrs_closure.testing import FakeZnuny

    expected_profile, fields, search_method, header = GENERATIONS[profile]
    fake = FakeZnuny.service_desk(profile=profile)
    tid, number = fake.new_service_desk_ticket("Alta en nómina")
    attention = UserOnboarding(description="Alta en nómina.", access_url="https://nomina.example.gob.mx",
                               login="mgarcia", password="Temporal#2026")
    formats = make_formats(tmp_path)
    ref = {"ticket_number": number} if by == "number" else {"ticket_id": tid}
    with fake.serve() as url:
        client = ClosureClient(base_url=url, username="tecnico1", password="tecnico-pass", owner_login="agente.mesa",
                               sleep=lambda s: None)
        receipt = client.close(attention=attention, formats=formats, **ref)
        again = client.close(attention=attention, formats=formats, **ref)
    assert receipt.complete and again.writes_sent == 0
    assert receipt.note_internal is True
    assert receipt.note_visibility == ("ArticleType=note-internal" if fields == "article_type"
                                       else "IsVisibleForCustomer=0")
    view = fake.ticket(tid)
    (note,) = view.articles_with_subject("Atendido")
    assert not note.is_visible_for_customer
    assert "Contraseña de acceso al Sistema: Temporal#2026" in note.body
    assert sorted(a.filename for a in note.attachments) == ["formato.docx", "formato_firmado.pdf"]
    assert len(view.articles_with_subject("Se modifica propietario")) == 1
    assert (view.state, view.owner) == ("Atendido", "agente.mesa")
    info = client.server
    assert info.article_fields == fields and info.session_header is header
    if by == "number":
        assert info.search_route is not None and info.search_route.method == search_method
        # the probe learnt the route without a failed request, or with at most one
        searches = [r for r in fake.requests if r.operation == "TicketSearch" or r.path.endswith("/Search")]
        assert len(searches) <= 3
    # After the first GET (the header probe), GETs carry the session in the URL only where
    # the server cannot read it from the header.
    gets = [r for r in fake.requests if r.method == "GET"]
    assert all(("SessionID" in r.query) is (not header) for r in gets[1:])
    assert "SessionID" not in gets[0].query


def test_the_other_generations_fields_would_have_made_the_note_public() -> None:
    """Why the fields matter: OTRS 5 ignores CommunicationChannel/IsVisibleForCustomer (a
    web request, visible to the customer), 6+ ignore ArticleType — told the wrong ones, the
    client refuses before writing, because the ticket's articles contradict them."""
    from otrs_closure import ClosureClient
    from otrs_closure.testing import FakeZnuny

    for profile, wrong in (("otrs-5.0.8", "channel"), ("otrs-6.0.30", "article_type")):
        fake = FakeZnuny.service_desk(profile=profile)
        tid, _ = fake.new_service_desk_ticket()
        with fake.serve() as url, pytest.raises(ServerCompatibilityError):
            ClosureClient(base_url=url, username="tecnico1", password="tecnico-pass", owner_login="agente.mesa",
                          article_fields=wrong, sleep=lambda s: None).close(ticket_id=tid, attention=SR)
        assert len(fake.ticket(tid).articles_with_subject("Atendido")) == 0


def test_otrs5_attachment_contents_are_not_held_in_memory(tmp_path) -> None:
    """OTRS 5 sends every attachment's content although GetAttachmentContents=0 asked for
    none: reading a ticket that holds an 8 MB scan must not hold its base64 (the fake runs
    in a process of its own, so only the client's allocations are counted)."""
    import os
    import re
    import socket
    import subprocess
    import sys
    import tracemalloc

    from helpers import make_formats

    from otrs_closure import ClosureClient, FormatFiles

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "otrs_closure", "fake-server", "--port", str(port), "--profile", "otrs5",
         "--tickets", "1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = ""
        assert server.stdout is not None
        for line in server.stdout:
            found = re.search(r"(http://127\.0\.0\.1:\d+/\S+/Webservice/\S+)", line)
            if found:
                url = found.group(1).rstrip(".,")
                break
        assert url, "the fake server did not start"
        scan = tmp_path / "escaneo.pdf"
        with scan.open("wb") as fh:
            fh.write(b"%PDF-1.4\n" + os.urandom(8 * 1024 * 1024))
        formats = FormatFiles(signed_scan=scan, editable=make_formats(tmp_path / "e").editable)
        client = ClosureClient(base_url=url, username="tecnico1", password="tecnico-pass", owner_login="agente.mesa",
                               sleep=lambda s: None)
        first = client.close(ticket_id=2, attention=SR, formats=formats)
        tracemalloc.start()
        again = client.close(ticket_id=2, attention=SR, formats=formats)  # reads the ticket, the scan on it
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        server.terminate()
        server.wait(10)
    assert first.complete and again.writes_sent == 0 and again.complete
    assert peak < 4 * 1024 * 1024, peak  # the scan's base64 alone is 11 MB
