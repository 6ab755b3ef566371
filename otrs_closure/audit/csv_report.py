"""The audit as CSV: one row per ticket read (then one per unreadable ticket), for a
spreadsheet. Every cell a spreadsheet could take for a formula (``=``, ``+``, ``-``,
``@`` first) is neutralised with a leading apostrophe: titles and names come from
tickets, which anyone who writes to the service desk can word."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

from otrs_closure.audit._text import csv_cell

if TYPE_CHECKING:  # pragma: no cover
    from otrs_closure.audit.report import AuditReport

__all__ = ["COLUMNS", "render_csv"]

COLUMNS = (
    "ticket_number",
    "ticket_id",
    "compliant",
    "problems",
    "kind",
    "attended_at",
    "agent",
    "title",
    "queue",
    "state",
    "owner",
    "signed_scan",
    "editable",
    "error",
)


def render_csv(report: AuditReport) -> str:
    """The CSV text (header row first, ``problems`` space-separated)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for t in report.tickets:
        row = (
            t.ticket_number,
            str(t.ticket_id),
            "yes" if t.compliant else "no",
            " ".join(p.value for p in t.problems),
            t.kind or "",
            t.attended_at.isoformat() if t.attended_at else "",
            t.agent or "",
            t.title,
            t.queue,
            t.state,
            t.owner,
            t.signed_scan or "",
            t.editable or "",
            "",
        )
        writer.writerow([csv_cell(v) for v in row])
    for u in report.unreadable:
        row = (u.ticket_number or "", str(u.ticket_id or ""), "", "", "", "", "", "", "", "", "", "", "", u.error)
        writer.writerow([csv_cell(v) for v in row])
    return out.getvalue()
