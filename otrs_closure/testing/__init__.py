"""A faithful, stateful, in-memory fake of Znuny 6.5's GenericTicketConnectorREST web service.

Use it in tests through the pytest fixtures ``fake_znuny`` / ``fake_znuny_server`` (plugin
registered automatically) or directly::

    fake = FakeZnuny.service_desk()
    ticket_id, number = fake.new_service_desk_ticket(title="Impresora no imprime")
    with fake.mock() as base_url:            # or: with fake.serve() as base_url:
        ...  # run the client against base_url
    fake.assert_ticket(ticket_id, state="Atendido", notes_with_subject={"Atendido": 1})

Behaviour follows Znuny 6.5's GenericInterface sources and, where they differ, exchanges
recorded from a live Znuny 6.5.15 (the project's tests/recordings, replayed by its test suite).
"""

from otrs_closure.testing._b64 import perl_decode_base64
from otrs_closure.testing._clock import FakeClock
from otrs_closure.testing._fake import CreatedTicket, FakeZnuny
from otrs_closure.testing._faults import Fault, FaultRecord, RequestRecord, WriteStep
from otrs_closure.testing._mock import request_body_bytes
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
    "OperationRoute",
    "DEFAULT_ROUTES",
    "TICKET_SEARCH_GET_ROUTE",
    "PASSWORDS",
    "RECORDING_START",
    "request_body_bytes",
    "run_fake_server",
    "perl_decode_base64",
]
