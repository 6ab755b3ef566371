"""The obvious alternative: a closure script written with plain pyotrs, the way a user
would follow the Service Desk agent manual. One run per ticket:

1. ``session_create``                      (POST /Session)
2. ``ticket_search(TicketNumber=…)``       (POST /Ticket/Search — Znuny's route; GET /Ticket,
                                            pyotrs's default, on OTRS 5/6 and OTOBO)
3. ``ticket_get_by_id``                    (GET /Ticket/:id)
4. ``ticket_update`` with the "Atendido" note, State and both format files
   (``pyotrs.Attachment.create_from_file``)
5. ``ticket_update`` with Owner and the "Se modifica propietario" note
6. ``ticket_get_by_id`` to verify

Six round trips, each on a new connection (pyotrs sends with ``requests.request``).
No retries, no idempotency, no validation: that is the point of comparison, not a
recommendation. What a user adapts to their server is a parameter: the search route, the
note's fields (``ArticleType`` on OTRS 5, ``CommunicationChannel``/``IsVisibleForCustomer``
on 6+) and its ContentType (OTRS 5 refuses ``charset=utf-8``; ``utf8`` works everywhere).
Used by ``benchmarks/run.py``; runnable on its own::

    OTRS_PASSWORD=… python benchmarks/baseline_pyotrs.py --base-url http://127.0.0.1:8080 \\
        --username tecnico1 --owner agente.mesa --ticket-number 2026112810000011 \\
        --description "Se reconfiguró la impresora." --signed-scan scan.pdf --editable form.docx
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from typing import Any

import pyotrs

# pyotrs's default TicketSearch route is GET /Ticket; Znuny 6.5.15's example web
# service (GenericTicketConnectorREST.yml) serves it as POST /Ticket/Search.
ZNUNY_SEARCH = ("POST", "/Ticket/Search")
#: The internal-note fields by generation (OTRS 5 silently ignores the others and makes
#: the note a customer-visible web request).
NOTE_FIELDS = {
    "channel": {"CommunicationChannel": "Internal", "IsVisibleForCustomer": 0},
    "article_type": {"ArticleType": "note-internal"},
}


def webservice_config(
    search: tuple[str, str] = ZNUNY_SEARCH, name: str = "GenericTicketConnectorREST"
) -> dict[str, Any]:
    """pyotrs's ticket connector configuration with the server's TicketSearch route."""
    return {
        "Name": name,
        "Config": {
            **pyotrs.lib.TICKET_CONNECTOR_CONFIG_DEFAULT["Config"],
            "TicketSearch": {"RequestMethod": search[0], "Route": search[1], "Result": "TicketID"},
        },
    }


WEBSERVICE_CONFIG = webservice_config()


def close_ticket(
    base_url: str,
    username: str,
    password: str,
    owner: str,
    ticket_number: str,
    description: str,
    signed_scan: str | None = None,
    editable: str | None = None,
    *,
    search: tuple[str, str] = ZNUNY_SEARCH,
    article_fields: str = "channel",
    content_type: str = "text/plain; charset=utf-8",
    user_agent: str | None = None,
    webservice_path: str = "/otrs/nph-genericinterface.pl/Webservice/",
    webservice: str = "GenericTicketConnectorREST",
) -> dict[str, object]:
    """Close one ticket as the manual says; returns what the verifying read shows (and
    the SessionID it created, so that a benchmark can log it out on OTRS 5). ``base_url``
    is the server root, as pyotrs takes it; the web service URL is ``base_url +
    webservice_path + webservice``."""
    client = pyotrs.Client(
        base_url,
        username,
        password,
        session_id_file=os.path.join(tempfile.gettempdir(), ".pyotrs_baseline_session"),
        webservice_config_ticket=webservice_config(search, webservice),
        use_legacy_sessions=True,
        user_agent=user_agent,
        webservice_path=webservice_path,
    )
    client.session_create()

    ticket_id = int(client.ticket_search(TicketNumber=ticket_number)[0])
    client.ticket_get_by_id(ticket_id)

    # Step 1: the internal note "Atendido" (next state Atendido) with both format files.
    fields = NOTE_FIELDS[article_fields]
    note = pyotrs.Article({
        "Subject": "Atendido",
        "Body": f"Descripción de la Atención: {description}",
        "ContentType": content_type,
        **fields,
        "SenderType": "agent",
    })
    attachments = [pyotrs.Attachment.create_from_file(p) for p in (signed_scan, editable) if p]
    client.ticket_update(ticket_id, article=note, attachments=attachments or None, State="Atendido")

    # Step 2: the owner becomes "Agente Mesa de Servicio", with its note.
    owner_note = pyotrs.Article({
        "Subject": "Se modifica propietario",
        "Body": "Se modifica propietario",
        "ContentType": content_type,
        **fields,
        "SenderType": "agent",
    })
    client.ticket_update(ticket_id, article=owner_note, Owner=owner)

    ticket = client.ticket_get_by_id(ticket_id, articles=True)
    return {"TicketID": ticket_id, "State": ticket.field_get("State"), "Owner": ticket.field_get("Owner"),
            "SessionID": client.session_id_store.value}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base-url", required=True)
    p.add_argument("--username", required=True)
    p.add_argument("--owner", required=True)
    p.add_argument("--ticket-number", required=True)
    p.add_argument("--description", required=True)
    p.add_argument("--signed-scan")
    p.add_argument("--editable")
    a = p.parse_args()
    result = close_ticket(a.base_url, a.username, os.environ["OTRS_PASSWORD"], a.owner, a.ticket_number,
                          a.description, a.signed_scan, a.editable)
    print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
