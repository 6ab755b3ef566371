"""The GenericInterface operations, one module each, behind one registry keyed by operation type.

Each operation takes the store, the merged input hash the REST transport built and the
request's :class:`OpContext` (which carries the server profile), and returns the answer's
``Data`` (an operation error is ``{"Error": {...}}``, HTTP 200) or raises
:class:`~otrs_closure.testing._faults.OperationFault` (HTTP 500 JSON fault). Validation
order, ErrorCodes and ErrorMessages follow the servers' ``Kernel/GenericInterface/Operation``
sources; where the live recordings differ from the sources, the recordings win.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from otrs_closure.testing._operations._common import Data, OpContext
from otrs_closure.testing._operations.session_create import session_create
from otrs_closure.testing._operations.session_get import session_get
from otrs_closure.testing._operations.session_remove import session_remove
from otrs_closure.testing._operations.ticket_create import ticket_create
from otrs_closure.testing._operations.ticket_get import ticket_get
from otrs_closure.testing._operations.ticket_history_get import ticket_history_get
from otrs_closure.testing._operations.ticket_search import ticket_search
from otrs_closure.testing._operations.ticket_update import ticket_update
from otrs_closure.testing._store import Store

__all__ = ["OPERATION_TYPES", "OpContext", "Data"]

#: Operation type (as in the web service YAML) -> implementation.
OPERATION_TYPES: dict[str, Callable[[Store, Any, OpContext], Data]] = {
    "Session::SessionCreate": session_create,
    "Session::SessionGet": session_get,
    "Session::SessionRemove": session_remove,
    "Ticket::TicketCreate": ticket_create,
    "Ticket::TicketGet": ticket_get,
    "Ticket::TicketSearch": ticket_search,
    "Ticket::TicketHistoryGet": ticket_history_get,
    "Ticket::TicketUpdate": ticket_update,
}
