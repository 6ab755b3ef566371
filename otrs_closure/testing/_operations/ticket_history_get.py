"""TicketHistoryGet: the history rows of tickets (agents only)."""

from __future__ import annotations

from typing import Any

from otrs_closure.testing._entities import Agent
from otrs_closure.testing._faults import PerlDie
from otrs_closure.testing._operations._common import Data, OpContext, authenticate, error
from otrs_closure.testing._operations._perl import array_with_data, has_data, split_ids, text_of, truthy
from otrs_closure.testing._operations._render import render_history
from otrs_closure.testing._store import Store


def ticket_history_get(store: Store, data: Any, ctx: OpContext) -> Data:
    """TicketHistoryGet (agents only)."""
    op = "TicketHistoryGet"
    if not isinstance(data, dict):
        raise PerlDie("Not a HASH reference")
    user = authenticate(store, data, ctx)
    if user is None:
        return error(op, "AuthFail", "TicketHistoryGet: Authorization failing!")
    if not isinstance(user, Agent):
        return error(op, "AuthFail", "TicketHistoryGet: User needs to an Agent!")
    if not truthy(data.get("TicketID")):
        return error(op, "MissingParameter", "TicketHistoryGet: TicketID parameter is missing!")
    raw = data["TicketID"]
    requested: list[Any]
    if has_data(raw):
        requested = list(split_ids(raw))
    elif array_with_data(raw):
        requested = list(raw)
    else:
        return error(op, "WrongStructure", "TicketHistoryGet: Structure for TicketID is not correct!")
    tickets = []
    for ticket_id in requested:
        ticket = store.ticket_by_id(ticket_id)
        if ticket is None or not store.may(user, ticket, "ro"):
            return error(
                op, "AccessDenied", f"TicketHistoryGet: User does not have access to the ticket {text_of(ticket_id)}!"
            )
        tickets.append((ticket_id, ticket))
    return {
        "TicketHistory": [
            {"History": [render_history(store, entry) for entry in ticket.history], "TicketID": ticket_id}
            for ticket_id, ticket in tickets
        ]
    }
