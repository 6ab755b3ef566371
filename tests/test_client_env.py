"""ClosureClient.from_env(): OTRS_CLOSURE_* variables configure the client, and the
requests it sends show it."""

from __future__ import annotations

import json

import pytest
from helpers import (
    AGENT_LOGIN,
    AGENT_PASSWORD,
    BASE_URL,
    GI_PATH,
    OWNER_LOGIN,
    TICKET_ID,
    TICKET_NUMBER,
    door,
    exchanges,
    no_http,
    of,
    ops,
    service_desk,
    writes,
)

from otrs_closure import ClosureClient, ClosureSettings, InputError, ServiceRequest

ATTENTION = ServiceRequest(description="Impresora reconfigurada.")


def env(**extra: str) -> dict[str, str]:
    base = {
        "OTRS_CLOSURE_BASE_URL": BASE_URL,
        "OTRS_CLOSURE_USERNAME": AGENT_LOGIN,
        "OTRS_CLOSURE_PASSWORD": AGENT_PASSWORD,
        "OTRS_CLOSURE_OWNER_LOGIN": OWNER_LOGIN,
    }
    base.update({f"OTRS_CLOSURE_{k}": v for k, v in extra.items()})
    return base


def client_from(environ: dict[str, str], **kw) -> ClosureClient:
    return ClosureClient.from_env(environ, sleep=lambda s: None, **kw)


def test_from_env_reads_the_four_required_variables_and_closes():
    fake = service_desk()
    with door(fake):
        client = client_from(env())
        receipt = client.close(ticket_number=TICKET_NUMBER, attention=ATTENTION)
    assert receipt.complete
    assert fake.requests[0].body == {"UserLogin": AGENT_LOGIN, "Password": AGENT_PASSWORD}
    assert writes(fake)[1].body["Ticket"] == {"Owner": OWNER_LOGIN}
    fake.assert_ticket(TICKET_ID, owner=OWNER_LOGIN)
    s = client.settings
    assert (s.base_url, s.username, s.owner_login) == (BASE_URL, AGENT_LOGIN, OWNER_LOGIN)
    assert s.password.get_secret_value() == AGENT_PASSWORD


def test_from_env_uses_os_environ_by_default(monkeypatch):
    for k, v in env(READ_TIMEOUT="9").items():
        monkeypatch.setenv(k, v)
    assert ClosureClient.from_env().settings.read_timeout == 9.0


def test_timeouts_from_env_are_sent_with_every_request():
    fake = service_desk()
    with door(fake) as wire:
        client_from(env(READ_TIMEOUT="12.5", CONNECT_TIMEOUT="2")).close(ticket_id=TICKET_ID, attention=ATTENTION)
        calls = wire.calls
        assert len(calls) == len(fake.requests) == 6
        assert all(c.request.req_kwargs["timeout"] == (2.0, 12.5) for c in calls)


def test_custom_webservice_name_changes_the_url():
    url = BASE_URL + "/otrs/nph-genericinterface.pl/Webservice/MesaServicioREST"
    fake = service_desk(webservice="MesaServicioREST")
    with door(fake) as wire:
        client = client_from(env(WEBSERVICE="MesaServicioREST"))
        client.close(ticket_number=TICKET_NUMBER, attention=ATTENTION)
        log = exchanges(fake, wire)
        assert log[0].url == url + "/Session"
        assert log[1].url == url + "/Ticket/Search"
        assert all(e.url.startswith(url + "/") for e in log)
        assert len(log) == 7 and all(e.record.status == 200 for e in log)


def test_gi_path_from_env():
    url = BASE_URL + "/znuny/nph-genericinterface.pl/WebserviceID/3"
    fake = service_desk(script_path="/znuny/nph-genericinterface.pl", webservice_id=3)
    with door(fake) as wire:
        receipt = client_from(env(GI_PATH="/znuny/nph-genericinterface.pl/WebserviceID/3")).close(
            ticket_id=TICKET_ID, attention=ATTENTION
        )
        assert exchanges(fake, wire)[0].url == url + "/Session"
    assert receipt.complete


def test_routes_as_json_switch_ticket_search_to_get():
    """Recording 31: TicketSearch as GET /Ticket?SessionID=…&TicketNumber=…"""
    routes = json.dumps({"TicketSearch": {"method": "GET", "path": "/Ticket"}})
    fake = service_desk()
    fake.set_route("TicketSearch", "GET", "/Ticket")
    with door(fake) as wire:
        client = client_from(env(ROUTES=routes))
        receipt = client.close(ticket_number=TICKET_NUMBER, attention=ATTENTION)
        search = [e for e in exchanges(fake, wire) if e.operation == "TicketSearch"]
        assert len(search) == 1
        assert (search[0].method, search[0].path, search[0].body) == ("GET", "/Ticket", None)
        (session_id,) = fake.store.sessions
        # The server reads the session from the header: the URL carries no credential.
        assert search[0].query == {"TicketNumber": TICKET_NUMBER}
        assert search[0].headers["X-OTRS-Header-SessionID"] == session_id
        assert receipt.ticket_id == TICKET_ID
        # Routes given replace only those operations' routes.
        updates = [e for e in exchanges(fake, wire) if e.operation == "TicketUpdate"]
        assert {(e.method, e.path) for e in updates} == {("PATCH", f"/Ticket/{TICKET_ID}")}
    assert client.server.search_route is not None and client.server.search_route.path == "/Ticket"


def test_routes_without_ticket_id_in_the_path_send_it_in_the_body():
    """The POST /TicketUpdate variant of Znuny's test web service."""
    routes = json.dumps({"TicketUpdate": {"method": "POST", "path": "/TicketUpdate"}})
    fake = service_desk()
    fake.set_route("TicketUpdate", "POST", "/TicketUpdate")
    with door(fake):
        receipt = client_from(env(ROUTES=routes)).close(ticket_id=TICKET_ID, attention=ATTENTION)
    assert receipt.complete
    updates = of(fake, "TicketUpdate")
    assert len(updates) == 3
    assert all(
        (u.method, u.path, u.body["TicketID"]) == ("POST", GI_PATH + "/TicketUpdate", TICKET_ID) for u in updates
    )


def test_booleans_and_numbers_from_env():
    fake = service_desk()
    with door(fake) as wire:
        client = client_from(
            env(
                PREFLIGHT="false", RETRY_ATTEMPTS="2", VERIFY_TLS="0", REQUIRE_FORMATS="no", MAX_REQUEST_BYTES="5000000"
            )
        )
        client.close(ticket_id=TICKET_ID, attention=ATTENTION)
        assert ops(fake) == ["SessionCreate", "TicketGet", "TicketUpdate", "TicketUpdate", "TicketGet"]
        assert len(wire.calls) == 5
        assert all(c.request.req_kwargs["verify"] is False for c in wire.calls)
    s = client.settings
    assert (s.preflight, s.retry_attempts, s.verify_tls, s.require_formats, s.max_request_bytes) == (
        False,
        2,
        False,
        False,
        5_000_000,
    )


def test_overrides_win_over_env():
    s = ClosureSettings.from_env(env(OWNER_LOGIN="otro"), owner_login="agente.mesa", read_timeout=3)
    assert s.owner_login == "agente.mesa" and s.read_timeout == 3


def test_empty_variables_count_as_unset():
    s = ClosureSettings.from_env(env(WEBSERVICE="", READ_TIMEOUT=""))
    assert s.webservice == "GenericTicketConnectorREST" and s.read_timeout == 60.0


@pytest.mark.parametrize("missing", ["BASE_URL", "USERNAME", "PASSWORD", "OWNER_LOGIN"])
def test_a_missing_required_variable_is_named(missing):
    environ = env()
    del environ[f"OTRS_CLOSURE_{missing}"]
    with no_http() as rsps:
        with pytest.raises(InputError) as ei:
            client_from(environ)
        assert len(rsps.calls) == 0
    assert ei.value.field == f"OTRS_CLOSURE_{missing}"


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"ROUTES": "{not json"}, "OTRS_CLOSURE_ROUTES"),
        ({"ROUTES": json.dumps({"TicketSearch": {"method": "FETCH", "path": "/Ticket"}})}, "routes"),
        ({"ROUTES": json.dumps({"TicketSearch": {"method": "GET", "path": "Ticket"}})}, "routes"),
        ({"READ_TIMEOUT": "soon"}, "read_timeout"),
        ({"READ_TIMEOUT": "-1"}, "read_timeout"),
        ({"SERVER_TIMEZONE": "America/Ciudad_Gotica"}, "server_timezone"),
        ({"BASE_URL": "mesa.example.gob.mx"}, "base_url"),
        ({"OWNER_LOGIN": "   "}, "owner_login"),
        ({"RETRY_ATTEMPTS": "0"}, "retry_attempts"),
        ({"CA_BUNDLE": "/nonexistent/ca.pem"}, "ca_bundle"),
    ],
)
def test_bad_values_from_env_are_input_errors_naming_the_setting(extra, field):
    with pytest.raises(InputError) as ei:
        client_from(env(**extra))
    assert ei.value.field.startswith(field)
    assert AGENT_PASSWORD not in str(ei.value)
