"""The preflight: once per client, before its first write, make the server reject a
TicketUpdate that names the attended state and the owner (:func:`preflight_document`),
and read from the rejection whether both exist — so that a wrong ``owner_login`` is
found before step 1 writes, not after. Sent under the write rules: after an unknown
outcome the ticket is read again and must be unchanged."""

from __future__ import annotations

import threading

from otrs_closure._http.gi import GenericInterface
from otrs_closure._http.retry import WriteOutcome, write_outcome
from otrs_closure._ticket import TicketSnapshot, parse_ticket
from otrs_closure._workflow.documents import preflight_document
from otrs_closure.errors import InputError, InvalidParameter, OtrsClosureError, ServerCompatibilityError
from otrs_closure.settings import ClosureSettings

__all__ = ["Preflight"]

# The article checks every generation makes after the ticket's State and Owner.
_ARTICLE_CHECKED = "Article->"


class Preflight:
    """Whether this client's settings were vouched for by the server (once)."""

    def __init__(self, settings: ClosureSettings, gi: GenericInterface) -> None:
        self._settings = settings
        self._gi = gi
        self._ok = not settings.preflight
        self._lock = threading.Lock()

    @property
    def pending(self) -> bool:
        return not self._ok

    def run(self, ticket: int, before: TicketSnapshot) -> None:
        """Vouch for the attended state and the owner on ``ticket`` (read as ``before``),
        or raise: :class:`InputError` naming the setting, the server's error (nothing was
        written), or :class:`ServerCompatibilityError` when the server did not reject it."""
        if self._ok:
            return
        with self._lock:
            if self._ok:
                return
            self._check(ticket, before)
            self._ok = True

    def _check(self, ticket: int, before: TicketSnapshot) -> None:
        s = self._settings
        doc = preflight_document(s)
        reread = False
        for attempt in self._gi.policy.writes():
            with attempt:
                if reread:
                    self._unchanged(ticket, before)
                    reread = False
                try:
                    self._gi.update(ticket, doc)
                except InvalidParameter as exc:
                    _vouch(exc, s)
                    return
                except OtrsClosureError as exc:
                    reread = write_outcome(exc) in (WriteOutcome.UNKNOWN, WriteOutcome.STALE)
                    raise
        # Accepted: the server did not validate the article before writing. Say so loudly.
        self._unchanged(ticket, before)
        raise ServerCompatibilityError(
            "the server accepted a TicketUpdate whose article has no Body: its validation order is not the "
            "one the preflight relies on; set preflight=False (OTRS_CLOSURE_PREFLIGHT=0) for this server",
            field="preflight",
            operation="TicketUpdate",
            ticket=ticket,
        )

    def _unchanged(self, ticket: int, before: TicketSnapshot) -> None:
        now = parse_ticket(self._gi.get_tickets([ticket])[0], ticket)
        if (now.state, now.owner, len(now.articles)) != (before.state, before.owner, len(before.articles)):
            raise ServerCompatibilityError(
                f"the preflight TicketUpdate changed ticket {ticket} (state {before.state!r} → {now.state!r}, "
                f"owner {before.owner!r} → {now.owner!r}); review it and set preflight=False for this server",
                field="preflight",
                operation="TicketUpdate",
                ticket=ticket,
            )


def _vouch(exc: InvalidParameter, settings: ClosureSettings) -> None:
    """Read the rejection: an article error means State and Owner passed; a State or
    Owner error names the setting; anything else cannot vouch."""
    message = exc.error_message or ""
    if "Ticket->StateID or Ticket->State" in message:
        raise InputError("attended_state", f"the server has no valid state {settings.attended_state!r}") from None
    if "Ticket->OwnerID or Ticket->Owner" in message:
        raise InputError("owner_login", f"the server has no valid agent {settings.owner_login!r}") from None
    if _ARTICLE_CHECKED not in message:
        raise exc
