"""One error hierarchy, rooted in :class:`OtrsClosureError`, and the one table that
turns a GenericInterface answer (ErrorCode, HTTP status) into an exception.

Every error carries what the server said where it said something: the operation, the
ticket, the HTTP status, the ``ErrorCode`` and the ``ErrorMessage``. Messages never
contain secrets: they are built only from those fields and from field names.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from otrs_closure.results import ClosureReceipt

__all__ = [
    "OtrsClosureError",
    "InputError",
    "AuthenticationError",
    "TicketNotFound",
    "AccessDenied",
    "InvalidParameter",
    "ServerError",
    "RequestTooLarge",
    "TransportError",
    "ConnectError",
    "TLSError",
    "ReadTimeout",
    "ConnectionDropped",
    "ServerCompatibilityError",
    "PartialClosure",
    "ClosureConflict",
    "ClosureReopened",
    "NoteVisibleToCustomer",
    "error_from_answer",
]


class OtrsClosureError(Exception):
    """Base of every error the library raises."""

    def __init__(
        self,
        message: str,
        *,
        operation: str | None = None,
        ticket: str | int | None = None,
        http_status: int | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.operation = operation
        self.ticket = ticket
        self.http_status = http_status
        self.error_code = error_code
        self.error_message = error_message

    def __str__(self) -> str:
        parts = [self.message]
        ctx = []
        if self.operation:
            ctx.append(f"operation={self.operation}")
        if self.ticket is not None:
            ctx.append(f"ticket={self.ticket}")
        if self.http_status is not None:
            ctx.append(f"http_status={self.http_status}")
        if self.error_code:
            ctx.append(f"error_code={self.error_code}")
        if ctx:
            parts.append("(" + ", ".join(ctx) + ")")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (for CLI ``--json`` output and batch reports)."""
        return {
            "error": type(self).__name__,
            "message": self.message,
            "operation": self.operation,
            "ticket": self.ticket,
            "http_status": self.http_status,
            "error_code": self.error_code,
            "error_message": self.error_message,
        }


class InputError(OtrsClosureError, ValueError):
    """Bad input found locally, before any request was sent. ``field`` names the input."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem

    @classmethod
    def from_validation(cls, exc: Any, known_fields: Iterable[str] = (), default: str = "input") -> InputError:
        """The first problem of a pydantic ``ValidationError``, without the inputs it would
        quote (the passwords among them). A check that raised an InputError itself keeps
        it; a model-wide check names its field as ``"<field>: problem"``."""
        err = exc.errors(include_input=False)[0]
        original = (err.get("ctx") or {}).get("error")
        if isinstance(original, InputError):
            return original
        field = ".".join(str(p) for p in err["loc"])
        problem = str(err["msg"]).removeprefix("Value error, ")
        if not field:
            name, sep, rest = problem.partition(": ")
            field, problem = (name, rest) if sep and name in set(known_fields) else (default, problem)
        return cls(field, problem)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "field": self.field}


class AuthenticationError(OtrsClosureError):
    """The server refused the agent's credentials or session (``*.AuthFail``)."""


class TicketNotFound(OtrsClosureError):
    """No ticket with that number (TicketSearch answered ``{}``)."""


class AccessDenied(OtrsClosureError):
    """``*.AccessDenied``: no permission, or (Znuny's way of saying it) no such TicketID."""


class InvalidParameter(OtrsClosureError):
    """``*.InvalidParameter`` / ``*.MissingParameter``: the server rejected a value."""


class ServerError(OtrsClosureError):
    """HTTP 5xx, 429, a JSON fault, or an answer that is not the GenericInterface's
    (a proxy or maintenance page). ``retry_after`` holds the server's Retry-After in
    seconds when it sent one."""

    def __init__(self, message: str, *, retry_after: float | None = None, retryable: bool = True, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after
        self.retryable = retryable


class RequestTooLarge(OtrsClosureError):
    """HTTP 413: the request body exceeded the web service's MaxLength."""


class TransportError(OtrsClosureError):
    """The HTTP exchange failed (refused, reset, timed out, TLS). Catch a subclass to tell
    them apart.

    ``may_have_reached_server`` is False only when no byte of the request can have been
    processed (connection refused, connect timeout, TLS handshake): only then is a write
    safe to resend blindly. ``kind`` names the subclass: ``connect``, ``tls``,
    ``timeout``, ``dropped``."""

    kind_name = "other"
    reached = True

    def __init__(
        self, message: str, *, may_have_reached_server: bool | None = None, kind: str | None = None, **kw: Any
    ) -> None:
        super().__init__(message, **kw)
        self.may_have_reached_server = self.reached if may_have_reached_server is None else may_have_reached_server
        self.kind = kind or self.kind_name

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "may_have_reached_server": self.may_have_reached_server, "kind": self.kind}


class ConnectError(TransportError):
    """No connection: refused, no such host, or the connect timeout passed. Nothing was sent."""

    kind_name = "connect"
    reached = False


class TLSError(TransportError):
    """The TLS handshake or the certificate check failed. Nothing was sent; never retried."""

    kind_name = "tls"
    reached = False


class ReadTimeout(TransportError):
    """The request was sent and no answer came within ``read_timeout``: it may have been applied."""

    kind_name = "timeout"


class ConnectionDropped(TransportError):
    """The connection was closed or reset after the request was sent: it may have been applied."""

    kind_name = "dropped"


class ServerCompatibilityError(OtrsClosureError):
    """The server does not behave as a closure needs, or what it is could not be
    established (e.g. how it marks a note internal). Raised before any write: set the
    named setting (``field``) explicitly if the server is right."""

    def __init__(self, message: str, *, field: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.field = field

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "field": self.field}


class ClosureConflict(OtrsClosureError):
    """The ticket already carries a *different* closure note (other texts or files).

    Raised before any write. ``reason`` says what was found, ``article_ids`` where, and
    ``remedy`` names the ``close()`` option that proceeds anyway (``reclose``); the
    message adds how to pass it."""

    default_remedy = "reclose"
    _doing = "to add this closure as well"

    def __init__(self, reason: str, *, article_ids: tuple[int, ...] = (), **kw: Any) -> None:
        self.reason = reason
        self.article_ids = tuple(article_ids)
        self.remedy = self.default_remedy
        super().__init__(f"{reason}; pass {self.remedy}=True {self._doing}", **kw)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "article_ids": list(self.article_ids), "remedy": self.remedy}


class ClosureReopened(ClosureConflict):
    """The ticket carries this closure, but was changed afterwards (reopened: its state is
    no longer the attended one, or its owner is no longer the Service Desk agent).
    Raised before any write; pass ``reattend=True`` to set the attended state and owner
    again."""

    default_remedy = "reattend"
    _doing = "to set it attended again"


class PartialClosure(OtrsClosureError):
    """Part of the closure was written (or may have been) and the rest could not be.
    A write the server refused before changing anything raises its own error instead.
    ``receipt`` says exactly which steps were done and which remain; calling ``close()``
    again with the same inputs completes the closure without repeating what was done.
    ``cause`` is the underlying error."""

    def __init__(self, message: str, *, receipt: ClosureReceipt, cause: OtrsClosureError) -> None:
        super().__init__(
            message,
            operation=cause.operation,
            ticket=receipt.ticket_number or receipt.ticket_id,
            http_status=cause.http_status,
            error_code=cause.error_code,
            error_message=cause.error_message,
        )
        self.receipt = receipt
        self.cause = cause

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "cause": self.cause.to_dict(),
            "receipt": self.receipt.model_dump(mode="json"),
        }


class NoteVisibleToCustomer(OtrsClosureError):
    """The server shows this closure's note as visible to the customer. Never a success:
    someone must review the ticket (``receipt.note_article_id``) at once. Raised after
    writing when the read-back shows it, or on a re-run that finds it so."""

    def __init__(self, message: str, *, receipt: ClosureReceipt, **kw: Any) -> None:
        super().__init__(message, ticket=receipt.ticket_number or receipt.ticket_id, **kw)
        self.receipt = receipt

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "receipt": self.receipt.model_dump(mode="json")}


# The one table from a GenericInterface ErrorCode suffix to an exception class.
# Znuny's codes are "<Operation>.<Kind>"; the kind decides.
_ERROR_KINDS: dict[str, type[OtrsClosureError]] = {
    "AuthFail": AuthenticationError,
    "AccessDenied": AccessDenied,
    "InvalidParameter": InvalidParameter,
    "MissingParameter": InvalidParameter,
    "WrongStructure": InvalidParameter,
    "EmptyRequest": InvalidParameter,
    "NotValidTicketID": TicketNotFound,
    "NotTicketData": TicketNotFound,
    "SessionInvalid": AuthenticationError,
}


def error_from_answer(
    *,
    operation: str,
    ticket: str | int | None,
    http_status: int,
    error_code: str,
    error_message: str,
) -> OtrsClosureError:
    """Map a 200 + ``{"Error": {...}}`` answer to its exception."""
    kind = error_code.rsplit(".", 1)[-1]
    ctx: dict[str, Any] = {
        "operation": operation,
        "ticket": ticket,
        "http_status": http_status,
        "error_code": error_code,
        "error_message": error_message,
    }
    cls = _ERROR_KINDS.get(kind)
    if cls is None:
        # An answer the table does not know (e.g. Webservice.InvalidConfiguration) is the
        # server's considered reply, not a passing fault: repeating it cannot help.
        return ServerError(f"{operation} failed: {error_message}", retryable=False, **ctx)
    return cls(f"{operation} failed: {error_message}", **ctx)
