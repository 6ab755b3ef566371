"""The proxy scenarios (faultproxy.SCENARIOS) against a real Znuny 6.5 — skipped unless
one is named:

    OTRS_CLOSURE_TEST_BASE_URL        server root, e.g. http://127.0.0.1:8080
    OTRS_CLOSURE_TEST_USERNAME        an agent with rw (and owner) on the queue
    OTRS_CLOSURE_TEST_PASSWORD
    OTRS_CLOSURE_TEST_OWNER_LOGIN     the "Agente Mesa de Servicio" login
    OTRS_CLOSURE_TEST_QUEUE           queue for the test tickets (default "Mesa de Servicio")
    OTRS_CLOSURE_TEST_CUSTOMER_USER   customer user of the test tickets (default "cliente.demo")

Any other ``OTRS_CLOSURE_TEST_<SETTING>`` (``WEBSERVICE``, ``GI_PATH``, ``ROUTES``,
``ATTENDED_STATE``, ``VERIFY_TLS``, ``CA_BUNDLE``…) is read like its ``OTRS_CLOSURE_``
counterpart. Each scenario creates its own ticket through TicketCreate, closes it
through the fault-injecting proxy (one more close() if the first raised), then reads it
back with its attachment contents: exactly one "Atendido" note carrying this closure's
reference, both files byte-identical on it, one "Se modifica propietario" note after
it, and the state and owner at target. The server must have the attended state.
"""

from __future__ import annotations

import base64
import os
import ssl
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from fault_matrix import Inputs, make_inputs
from faultproxy import NOTE_UPDATE, SCENARIOS, Action, FaultProxy

from otrs_closure import ClosureClient, ClosureReceipt, OtrsClosureError
from otrs_closure.settings import ClosureSettings

PREFIX = "OTRS_CLOSURE_TEST_"
REQUIRED = ("BASE_URL", "USERNAME", "PASSWORD", "OWNER_LOGIN")

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not all(os.environ.get(PREFIX + n) for n in REQUIRED),
        reason="no live Znuny: set OTRS_CLOSURE_TEST_BASE_URL, _USERNAME, _PASSWORD and _OWNER_LOGIN",
    ),
]


@pytest.fixture(scope="module")
def settings() -> ClosureSettings:
    env = {"OTRS_CLOSURE_" + k[len(PREFIX) :]: v for k, v in os.environ.items() if k.startswith(PREFIX)}
    return ClosureSettings.from_env(env)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    base = make_inputs(Path(tmp_path_factory.mktemp("formats")))
    # a description of its own per run, so that reruns of this suite never meet an older closure
    run = uuid.uuid4().hex[:8]
    return Inputs(
        attention=base.attention.model_copy(update={"description": f"{base.attention.description} (prueba {run})"}),
        formats=base.formats,
        contents=base.contents,
    )


def _http(settings: ClosureSettings) -> requests.Session:
    s = requests.Session()
    s.verify = settings.tls_verify
    return s


def _call(settings: ClosureSettings, operation: str, ticket_id: int | None = None, **data: Any) -> dict[str, Any]:
    route = settings.routes[operation]
    url = settings.service_url + route.path.replace(":TicketID", str(ticket_id or ""))
    auth = {"UserLogin": settings.username, "Password": settings.password.get_secret_value()}
    with _http(settings) as http:
        if route.method == "GET":
            r = http.get(url, params={**auth, **data}, timeout=60)
        else:
            r = http.request(route.method, url, json={**auth, **data}, timeout=60)
    r.raise_for_status()
    answer = r.json()
    assert "Error" not in answer, answer
    return dict(answer)


def create_ticket(settings: ClosureSettings, title: str) -> tuple[int, str]:
    answer = _call(
        settings,
        "TicketCreate",
        Ticket={
            "Title": title,
            "Queue": os.environ.get(PREFIX + "QUEUE", "Mesa de Servicio"),
            "State": "new",
            "Priority": "3 normal",
            "Type": "Unclassified",
            "CustomerUser": os.environ.get(PREFIX + "CUSTOMER_USER", "cliente.demo"),
        },
        Article={
            "CommunicationChannel": "Internal",
            "IsVisibleForCustomer": 0,
            "SenderType": "agent",
            "Subject": title,
            "Body": "Ticket de prueba de otrs_closure (fallas inyectadas por proxy).",
            "ContentType": "text/plain; charset=utf8",
        },
    )
    return int(answer["TicketID"]), str(answer["TicketNumber"])


def read_ticket(settings: ClosureSettings, ticket_id: int) -> dict[str, Any]:
    answer = _call(
        settings, "TicketGet", ticket_id, TicketID=ticket_id, AllArticles=1, Attachments=1, GetAttachmentContents=1
    )
    return dict(answer["Ticket"][0])


def problems(ticket: dict[str, Any], settings: ClosureSettings, inputs: Inputs, receipt: ClosureReceipt) -> list[str]:
    out = []
    articles = ticket.get("Article") or []
    reference = f"Referencia de cierre: {receipt.closure_id}"
    notes = [a for a in articles if (a.get("Subject") or "").strip() == settings.note_subject]
    owner_notes = [a for a in articles if (a.get("Subject") or "").strip() == settings.owner_subject]
    if ticket.get("State") != settings.attended_state:
        out.append(f"state {ticket.get('State')!r}")
    if ticket.get("Owner") != settings.owner_login:
        out.append(f"owner {ticket.get('Owner')!r}")
    if len(notes) != 1 or reference not in (notes[0].get("Body") or ""):
        out.append(f"{len(notes)} Atendido notes")
    if len(owner_notes) != 1:
        out.append(f"{len(owner_notes)} owner notes")
    elif notes and int(owner_notes[0]["ArticleID"]) < int(notes[0]["ArticleID"]):
        out.append("owner note before the closure note")
    contents = sorted(base64.b64decode(x.get("Content") or "") for a in articles for x in (a.get("Attachment") or []))
    if contents != sorted(inputs.contents):
        out.append(f"{len(contents)} attachments; byte-identical: {contents == sorted(inputs.contents)}")
    if not receipt.complete:
        out.append(f"receipt incomplete: {receipt.remaining}")
    return out


@pytest.mark.parametrize(("name", "action", "match", "options"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_live_scenario(name, action, match, options, settings: ClosureSettings, inputs: Inputs):
    tid, number = create_ticket(settings, f"otrs_closure prueba de fallas: {name}")
    context = None
    if settings.base_url.startswith("https"):
        context = ssl.create_default_context(cafile=str(settings.ca_bundle) if settings.ca_bundle else None)
        if not settings.verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    with FaultProxy(settings.base_url, ssl_context=context) as proxy:
        rule = proxy.add(action, match, **options)
        client = ClosureClient(settings=settings.model_copy(update={"base_url": proxy.url}), sleep=lambda s: None)
        kwargs = {"ticket_number": number, "attention": inputs.attention, "formats": inputs.formats}
        try:
            receipt = client.close(**kwargs)
        except OtrsClosureError:
            receipt = client.close(**kwargs)
        client.shutdown()
    assert rule.fired == 1, f"{name}: the fault did not fire"
    assert problems(read_ticket(settings, tid), settings, inputs, receipt) == []
    if match is NOTE_UPDATE:
        applied = action is Action.DROP_RESPONSE or options.get("forward")
        sent = [e for e in proxy.log if NOTE_UPDATE(e.method, e.path, e.body)]
        assert len(sent) == (1 if applied else 2)
