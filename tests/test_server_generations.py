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
