"""Fault injection vocabulary and the records the fake keeps of requests and faults.

Two layers: :class:`Fault` kinds are injected per operation and call number at the HTTP
doors (network and infrastructure trouble), :class:`WriteStep` failures are injected into
TicketUpdate's write sequence (Znuny's own "Success = 0" path, HTTP 500 JSON fault).

Call numbers count every request routed to an operation since the fake was built,
faulted ones included (a retry after a refused call is the next call number).

=====================  ========  ==========================================================
kind                   applied?  mock door (``responses``) / serve door (loopback TCP)
=====================  ========  ==========================================================
CONNECTION_REFUSED     no        raises ``ConnectionError(NewConnectionError(... [Errno 111]
                                 Connection refused))`` / resets the accepted connection
                                 after the request line and headers, before the body: over
                                 real TCP a client cannot tell this from a dropped connection
RESPONSE_LOST          yes       raises ``ConnectionError(ProtocolError("Connection
                                 aborted.", RemoteDisconnected(...)))`` / closes the socket
                                 without writing
TIMEOUT_AFTER_APPLY    yes       raises ``ReadTimeout`` / sleeps ``delay`` (2.0 s) then closes
SERVER_FAULT           if apply  500 text/plain ``{"faultcode":"Server","faultstring":
                                 "OperationObject returned an error, cancelling Request"}``
UNAVAILABLE            no        503 text/html, ``Retry-After: retry_after`` (1)
RATE_LIMITED           no        429 text/html, ``Retry-After: retry_after`` (1)
SESSION_EXPIRED        (normal)  the request's session expires first: ``<Op>.AuthFail``
MAINTENANCE_PAGE       no        200 text/html maintenance page (not JSON)
TOO_LARGE              no        413 text/plain ``Request Entity Too Large``
=====================  ========  ==========================================================
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Fault",
    "FaultRecord",
    "RequestRecord",
    "WriteStep",
    "OperationFault",
    "PerlDie",
    "PlannedFault",
    "PlannedWriteFailure",
    "GENERIC_FAULTSTRING",
    "WRITE_FAULTSTRINGS",
]

#: faultstring Znuny sends when the operation's result carries no ``ErrorMessage``.
GENERIC_FAULTSTRING = "OperationObject returned an error, cancelling Request"


class Fault(str, enum.Enum):
    """Kinds of trouble the doors can simulate for one request."""

    #: The request never reaches the server; the model is untouched.
    CONNECTION_REFUSED = "connection_refused"
    #: The operation is applied, then the connection drops without an answer.
    RESPONSE_LOST = "response_lost"
    #: The operation is applied, then no answer arrives in time.
    TIMEOUT_AFTER_APPLY = "timeout_after_apply"
    #: HTTP 500 with Znuny's generic JSON fault; applied only with ``apply=True``.
    SERVER_FAULT = "server_fault"
    #: HTTP 503 text/html with ``Retry-After``; not applied.
    UNAVAILABLE = "unavailable"
    #: HTTP 429 with ``Retry-After``; not applied.
    RATE_LIMITED = "rate_limited"
    #: The request's session is expired just before handling: the operation's ``*.AuthFail``.
    SESSION_EXPIRED = "session_expired"
    #: HTTP 200 text/html maintenance page (a proxy in front of Znuny); not applied.
    MAINTENANCE_PAGE = "maintenance_page"
    #: HTTP 413 plain text, as if over MaxLength; not applied.
    TOO_LARGE = "too_large"


class WriteStep(str, enum.Enum):
    """TicketUpdate write steps (spec section 4.4) that can be made to fail."""

    TITLE = "title"
    QUEUE = "queue"
    LOCK = "lock"
    TYPE = "type"
    STATE = "state"
    PENDING_TIME = "pending_time"
    CUSTOMER = "customer"
    PRIORITY = "priority"
    OWNER = "owner"
    RESPONSIBLE = "responsible"
    ARTICLE = "article"
    ATTACHMENT = "attachment"
    DYNAMIC_FIELD = "dynamic_field"


#: faultstring per failing write step, as Znuny's TicketUpdate returns it (several use the
#: misspelled ``Errormessage`` key, hence the generic text).
WRITE_FAULTSTRINGS: dict[WriteStep, str] = {
    WriteStep.TITLE: GENERIC_FAULTSTRING,
    WriteStep.QUEUE: "Ticket queue could not be updated, please contact system administrator!",
    WriteStep.LOCK: GENERIC_FAULTSTRING,
    WriteStep.TYPE: GENERIC_FAULTSTRING,
    WriteStep.STATE: GENERIC_FAULTSTRING,
    WriteStep.PENDING_TIME: GENERIC_FAULTSTRING,
    WriteStep.CUSTOMER: GENERIC_FAULTSTRING,
    WriteStep.PRIORITY: GENERIC_FAULTSTRING,
    WriteStep.OWNER: GENERIC_FAULTSTRING,
    WriteStep.RESPONSIBLE: GENERIC_FAULTSTRING,
    WriteStep.ARTICLE: "Article could not be created, please contact the system administrator",
    WriteStep.ATTACHMENT: "Attachment could not be created, please contact the system administrator",
    WriteStep.DYNAMIC_FIELD: "Dynamic Field {name} could not be set, please contact the system administrator",
}


class OperationFault(Exception):
    """An operation returned Success = 0: the provider answers HTTP 500 with a JSON fault."""

    def __init__(self, faultstring: str = GENERIC_FAULTSTRING) -> None:
        super().__init__(faultstring)
        self.faultstring = faultstring


class PerlDie(Exception):
    """The Perl code dies (e.g. a string or list where it dereferences a hash): no provider
    answer is written and Apache sends its own ``500 Internal Server Error`` HTML page."""


@dataclass
class PlannedFault:
    """A fault waiting for calls ``first_call .. first_call + times - 1`` of ``operation``."""

    kind: Fault
    operation: str
    first_call: int
    times: int
    params: dict[str, Any]

    def covers(self, operation: str, call: int) -> bool:
        """Whether this plan applies to the given call of the given operation."""
        return operation == self.operation and self.first_call <= call < self.first_call + self.times


@dataclass
class PlannedWriteFailure:
    """A TicketUpdate write step that fails ``remaining`` more times (optionally per ticket)."""

    step: WriteStep
    remaining: int
    ticket_id: int | None = None
    message: str | None = None


@dataclass(frozen=True)
class FaultRecord:
    """One injected fault that fired."""

    kind: Fault
    operation: str
    call: int
    ticket_id: str | None
    door: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class RequestRecord:
    """One request as the fake saw it, with what it answered."""

    operation: str | None
    method: str
    path: str
    query: dict[str, Any]
    body: Any
    status: int | None
    fault: Fault | None
    call: int
    door: str
    headers: dict[str, str] = field(default_factory=dict)
    #: Bytes of request body the door handed to the server (``None``: no body was read,
    #: e.g. a GET, a request refused early or one over MaxLength). Compare it with the
    #: ``content-length`` header to check that a client declares its body honestly.
    size: int | None = None
