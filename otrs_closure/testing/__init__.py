"""A faithful, stateful, in-memory fake of the OTRS family's GenericTicketConnectorREST web service.

One profile per system: Znuny 6.5.15 (the default: the project's recordings), Znuny 6.5.10
(the lab's), Znuny 7.1.7, OTRS 6.0.30, OTOBO 11.0.6 and OTRS 5.0.8 -- routes, URL prefix,
article fields, content-type rules, permissions and answer shapes of each. Use it in tests
through the pytest fixtures ``fake_znuny`` / ``fake_znuny_server`` / ``fake_znuny_factory``
(plugin registered automatically) or directly::

    fake = FakeZnuny.service_desk(profile="otrs6")
    ticket_id, number = fake.new_service_desk_ticket(title="Impresora no imprime")
    with fake.mock() as base_url:            # or: with fake.serve() as base_url:
        ...  # run the client against base_url
    fake.assert_ticket(ticket_id, state="Atendido", notes_with_subject={"Atendido": 1})

``fake.mock()`` needs ``responses`` (``pip install 'otrs_closure[testing]'``); importing this
package does not. Behaviour follows each system's GenericInterface sources and, where they
differ, exchanges recorded from the live systems (tests/recordings*, replayed by the suite).
"""

from otrs_closure.testing._b64 import perl_decode_base64
from otrs_closure.testing._clock import FakeClock
from otrs_closure.testing._fake import CreatedTicket, FakeZnuny
from otrs_closure.testing._faults import Fault, FaultRecord, RequestRecord, WriteStep
from otrs_closure.testing._mock import request_body_bytes
from otrs_closure.testing._profiles import DEFAULT_PROFILE, PROFILE_ALIASES, PROFILE_NAMES, Profile, get_profile
from otrs_closure.testing._routes import DEFAULT_ROUTES, TICKET_SEARCH_GET_ROUTE, OperationRoute
from otrs_closure.testing._runner import run_fake_server
from otrs_closure.testing._seeds import PASSWORDS, RECORDING_START
from otrs_closure.testing._views import ArticleView, AttachmentView, HistoryView, TicketView, assert_ticket

__all__ = [
    "FakeZnuny",
    "CreatedTicket",
    "Fault",
    "WriteStep",
    "FaultRecord",
    "RequestRecord",
    "FakeClock",
    "TicketView",
    "ArticleView",
    "AttachmentView",
    "HistoryView",
    "assert_ticket",
    "Profile",
    "PROFILE_NAMES",
    "PROFILE_ALIASES",
    "DEFAULT_PROFILE",
    "get_profile",
    "OperationRoute",
    "DEFAULT_ROUTES",
    "TICKET_SEARCH_GET_ROUTE",
    "PASSWORDS",
    "RECORDING_START",
    "run_fake_server",
    "perl_decode_base64",
    "request_body_bytes",
]
from otrs_closure.testing.handclosed import (  # noqa: E402  # isort: skip
    HAND_CLOSURES as HAND_CLOSURES,
    new_hand_closed_ticket as new_hand_closed_ticket,
)
