"""ClosureClient.from_pyotrs: a pyotrs script gains typed, idempotent closures with one
line — same server, web service, routes, agent, TLS and timeouts (the real pyotrs)."""

from __future__ import annotations

import subprocess
import sys

import pyotrs
import pytest
from pyotrs.lib import TICKET_CONNECTOR_CONFIG_DEFAULT

from otrs_closure import ClosureClient, InputError, ServiceRequest
from otrs_closure.testing import FakeZnuny


def _pyotrs_client(base: str, **kw: object) -> pyotrs.Client:
    return pyotrs.Client(base, "tecnico1", "tecnico-pass", **kw)


def test_settings_follow_the_pyotrs_client() -> None:
    custom = {
        "Name": "MesaREST",
        "Config": {
            **TICKET_CONNECTOR_CONFIG_DEFAULT["Config"],
            "TicketSearch": {"RequestMethod": "POST", "Route": "/Ticket/Search", "Result": "TicketID"},
            "TicketUpdate": {"RequestMethod": "POST", "Route": "/TicketUpdate/:TicketID", "Result": "TicketID"},
        },
    }
    client = _pyotrs_client(
        "https://mesa.example.gob.mx/", webservice_config_ticket=custom,
        webservice_path="/znuny/nph-genericinterface.pl/Webservice/",
        https_verify=False, request_timeout=(3, 30), user_agent="nomina-script/1.0",
    )
    closer = ClosureClient.from_pyotrs(client, owner_login="agente.mesa")
    s = closer.settings
    assert s.base_url == "https://mesa.example.gob.mx"
    assert s.service_url == "https://mesa.example.gob.mx/znuny/nph-genericinterface.pl/Webservice/MesaREST"
    assert (s.username, s.password.get_secret_value(), s.owner_login) == ("tecnico1", "tecnico-pass", "agente.mesa")
    assert s.routes["TicketUpdate"].path == "/TicketUpdate/:TicketID" and s.routes["TicketUpdate"].method == "POST"
    assert closer.server.search_route is not None and closer.server.search_route.method == "POST"
    assert (s.verify_tls, s.connect_timeout, s.read_timeout, s.user_agent) == (False, 3.0, 30.0, "nomina-script/1.0")
    assert "tecnico-pass" not in repr(closer)


def test_pyotrs_default_routes_are_left_to_be_learned() -> None:
    closer = ClosureClient.from_pyotrs(_pyotrs_client("https://mesa.example.gob.mx"), owner_login="agente.mesa")
    assert closer.settings.routes == {}  # pyotrs's default table is OTRS 6's: the server is asked instead
    assert closer.server.search_route is None


def test_a_pyotrs_script_closes_a_ticket_on_the_fake() -> None:
    fake = FakeZnuny.service_desk()
    tid, number = fake.new_service_desk_ticket()
    with fake.serve() as url:
        root, _, _ = url.partition("/otrs/")
        script = _pyotrs_client(root, use_legacy_sessions=True)
        closer = ClosureClient.from_pyotrs(script, owner_login="agente.mesa", sleep=lambda s: None)
        receipt = closer.close(ticket_number=number, attention=ServiceRequest(description="Se reinició el equipo."))
        again = closer.close(ticket_number=number, attention=ServiceRequest(description="Se reinició el equipo."))
    assert receipt.complete and again.writes_sent == 0
    fake.assert_ticket(tid, state="Atendido", owner="agente.mesa", notes_with_subject={"Atendido": 1})


def test_not_a_pyotrs_client_is_an_input_error() -> None:
    with pytest.raises(InputError, match="pyotrs.Client"):
        ClosureClient.from_pyotrs(object(), owner_login="agente.mesa")  # type: ignore[arg-type]


def test_without_the_extra_the_adapter_says_what_to_install() -> None:
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'pyotrs' or name.startswith('pyotrs.'): raise ImportError('blocked')\n"
        "sys.meta_path.insert(0, Block())\n"
        "from otrs_closure import ClosureClient, InputError\n"
        "try:\n"
        "    ClosureClient.from_pyotrs(object(), owner_login='x')\n"
        "except InputError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "pip install 'otrs_closure[pyotrs]'" in out
