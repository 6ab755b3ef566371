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

from otrs_closure.testing.b64 import perl_decode_base64
from otrs_closure.testing.clock import FakeClock
from otrs_closure.testing.fake import CreatedTicket, FakeZnuny
from otrs_closure.testing.faults import Fault, FaultRecord, RequestRecord, WriteStep
from otrs_closure.testing.http import DEFAULT_ROUTES, TICKET_SEARCH_GET_ROUTE, OperationRoute
from otrs_closure.testing.runner import run_fake_server
from otrs_closure.testing.seeds import PASSWORDS
from otrs_closure.testing.views import ArticleView, AttachmentView, HistoryView, TicketView, assert_ticket

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
    "run_fake_server",
    "perl_decode_base64",
]
from otrs_closure.testing.handclosed import HAND_CLOSURES as HAND_CLOSURES, new_hand_closed_ticket as new_hand_closed_ticket  # noqa: E402, E501  # isort: skip
