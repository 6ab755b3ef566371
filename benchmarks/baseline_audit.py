"""The alternative to ``client.audit()``: the script a supervisor would write with plain
``requests`` — log in, search (or take the list), then read the tickets **one TicketGet
per ticket**, one after the other, on one keep-alive session, with the same parameters
(every article, attachment metadata without contents), a read tried again when the
connection drops (a keep-alive connection the server closed). It returns the raw tickets; the
benchmark judges them with the library's own judgement, so that both sides do the same
work but the reading."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import requests

__all__ = ["read_tickets"]


def read_tickets(
    service_url: str,
    username: str,
    password: str,
    *,
    ticket_ids: Sequence[int] | None = None,
    criteria: dict[str, Any] | None = None,
    search_route: tuple[str, str] = ("POST", "/Ticket/Search"),
) -> list[dict[str, Any]]:
    """Every ticket of ``ticket_ids`` (or of the TicketSearch ``criteria``), one request each."""
    http = requests.Session()
    try:
        answer = http.post(f"{service_url}/Session", json={"UserLogin": username, "Password": password}, timeout=60)
        session = answer.json()["SessionID"]
        ids = list(ticket_ids or ())
        if criteria is not None:
            method, route = search_route
            if method == "GET":
                found = http.get(service_url + route, params={"SessionID": session, **criteria}, timeout=60).json()
            else:
                found = http.post(service_url + route, json={"SessionID": session, **criteria}, timeout=60).json()
            ids = [int(i) for i in found.get("TicketID", [])]
        tickets = []
        params = {"SessionID": session, "AllArticles": 1, "Attachments": 1, "GetAttachmentContents": 0}
        for ticket_id in ids:
            for attempt in range(3):
                try:
                    data = http.get(f"{service_url}/Ticket/{ticket_id}", params=params, timeout=60).json()
                    break
                except requests.ConnectionError:
                    if attempt == 2:
                        raise
            tickets.extend(data["Ticket"])
        return tickets
    finally:
        http.close()
