"""The web service's operations and their routes, and REST.pm's route matching.

An operation is a name, a type (``Ticket::TicketGet``...), an HTTP method and a route with
``:Name`` placeholders. Matching follows ``Transport/HTTP/REST.pm``: operations are tried in
alphabetical order of their names, the first whose method and route fit wins, and the
placeholders become input data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

__all__ = ["OperationRoute", "DEFAULT_ROUTES", "TICKET_SEARCH_GET_ROUTE", "match_route"]


@dataclass(frozen=True)
class OperationRoute:
    """One provider operation of the web service: name, type, HTTP method and route."""

    name: str
    type: str
    method: str | None
    route: str


#: The 6.5.15 example web service (``var/webservices/examples/GenericTicketConnectorREST.yml``).
DEFAULT_ROUTES: tuple[OperationRoute, ...] = (
    OperationRoute("SessionCreate", "Session::SessionCreate", "POST", "/Session"),
    OperationRoute("SessionGet", "Session::SessionGet", "GET", "/Session/:SessionID"),
    OperationRoute("SessionRemove", "Session::SessionRemove", "DELETE", "/Session/:SessionID"),
    OperationRoute("TicketCreate", "Ticket::TicketCreate", "POST", "/Ticket"),
    OperationRoute("TicketGet", "Ticket::TicketGet", "GET", "/Ticket/:TicketID"),
    OperationRoute("TicketHistoryGet", "Ticket::TicketHistoryGet", "GET", "/Ticket/History/:TicketID"),
    OperationRoute("TicketSearch", "Ticket::TicketSearch", "POST", "/Ticket/Search"),
    OperationRoute("TicketUpdate", "Ticket::TicketUpdate", "PATCH", "/Ticket/:TicketID"),
)

#: The extra lab operation the recordings were made with (recording 31).
TICKET_SEARCH_GET_ROUTE = OperationRoute("TicketSearchGET", "Ticket::TicketSearch", "GET", "/Ticket")


def _route_regex(route: str) -> re.Pattern[str]:
    parts = re.split(r"(:[^/]+)", route)
    regex = "".join(f"(?P<{p[1:]}>[^/]+)" if p.startswith(":") else re.escape(p) for p in parts)
    return re.compile(f"^{regex}$", re.DOTALL)


def match_route(
    routes: Mapping[str, OperationRoute], method: str, route_path: str
) -> tuple[OperationRoute, dict[str, str]] | None:
    """The operation REST.pm picks for ``method route_path`` and its placeholder values, or None."""
    for name in sorted(routes):
        route = routes[name]
        if route.method is not None and route.method != method:
            continue
        m = _route_regex(route.route).match(route_path)
        if m is None:
            continue
        return route, {k: unquote(v) for k, v in m.groupdict().items()}
    return None
