"""What an audit gives back: one verdict per ticket read, the tickets that could not be
read, the summary (counts per problem, per agent, per day) and the JSON document
(schema in the README, ``"schema": "otrs-closure/audit/1"``). Other formats — CSV, the
self-contained HTML page, the terminal table — render this same data
(:mod:`otrs_closure.audit.csv_report`, :mod:`~otrs_closure.audit.html_report`,
:mod:`~otrs_closure.audit.terminal`).

No value written in a note appears anywhere in a report: for the labelled fields only
whether each is present, blank or missing (an onboarding password is never shown).
Text taken from tickets (titles, agents' names, filenames) is made one printable line
(:func:`otrs_closure.audit._text.shown`) when the verdict is made.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

from otrs_closure.audit.problems import Problem

if TYPE_CHECKING:  # pragma: no cover
    from otrs_closure.audit.selection import AuditSelection

__all__ = [
    "SCHEMA",
    "FieldStatus",
    "AuditedTicket",
    "UnreadableTicket",
    "GroupCount",
    "AuditSummary",
    "AuditReport",
]

#: The ``schema`` of the JSON document; a change that removes or renames a key gets a new one.
SCHEMA = "otrs-closure/audit/1"

FieldStatus = Literal["present", "blank", "missing"]


@dataclass(frozen=True)
class AuditedTicket:
    """The verdict on one ticket: the problem codes that apply (none: compliant), the
    kind its note's labels show, when and by whom it was attended."""

    ticket_id: int
    ticket_number: str
    problems: tuple[Problem, ...]
    kind: str | None = None  # service_request, user_onboarding, incident; None without a note
    attended_at: datetime | None = None  # the closing note's time, as the server recorded it
    agent: str | None = None  # who wrote the closing note (its From line's name)
    agent_id: int | None = None  # their UserID (the article's CreateBy), when the server shows it
    title: str = ""
    queue: str = ""
    state: str = ""
    owner: str = ""
    changed: str = ""  # the ticket's last change, as the server shows it
    note_article_id: int | None = None
    note_visibility: str | None = None  # e.g. "IsVisibleForCustomer=0", "ArticleType=note-internal"
    owner_note_article_id: int | None = None
    fields: Mapping[str, FieldStatus] = field(default_factory=dict)  # the kind's labels: never their values
    signed_scan: str | None = None  # filename of the attachment taken as the signed scan
    editable: str | None = None  # filename of the attachment taken as the editable file
    attachments: int = 0  # attachments the ticket lists

    @property
    def compliant(self) -> bool:
        return not self.problems

    @property
    def day(self) -> str | None:
        """The day it was attended (server time), ``YYYY-MM-DD``."""
        return self.attended_at.date().isoformat() if self.attended_at else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ticket_id": self.ticket_id,
            "ticket_number": self.ticket_number,
            "compliant": self.compliant,
            "problems": [p.value for p in self.problems],
            "kind": self.kind,
            "attended_at": self.attended_at.isoformat() if self.attended_at else None,
            "agent": self.agent,
            "agent_id": self.agent_id,
            "title": self.title,
            "queue": self.queue,
            "state": self.state,
            "owner": self.owner,
            "changed": self.changed or None,
            "note_article_id": self.note_article_id,
            "note_visibility": self.note_visibility,
            "owner_note_article_id": self.owner_note_article_id,
            "fields": dict(self.fields),
            "formats": {"signed_scan": self.signed_scan, "editable": self.editable},
            "attachments": self.attachments,
        }


@dataclass(frozen=True)
class UnreadableTicket:
    """A listed (or found) ticket that could not be read: not found, no permission, or
    an answer that is not a ticket. It is neither compliant nor not."""

    ticket: str  # as given: the number or the id
    error: str  # the exception's class name, e.g. TicketNotFound, AccessDenied
    message: str
    ticket_id: int | None = None
    ticket_number: str | None = None
    error_code: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ticket": self.ticket,
            "ticket_id": self.ticket_id,
            "ticket_number": self.ticket_number,
            "error": self.error,
            "error_code": self.error_code,
            "message": self.message,
        }


@dataclass(frozen=True)
class GroupCount:
    """Counts of one agent's or one day's tickets."""

    key: str | None
    tickets: int
    compliant: int
    problems: Mapping[str, int]

    @property
    def non_compliant(self) -> int:
        return self.tickets - self.compliant

    def to_dict(self, name: str) -> dict[str, Any]:
        return {
            name: self.key,
            "tickets": self.tickets,
            "compliant": self.compliant,
            "non_compliant": self.non_compliant,
            "problems": dict(self.problems),
        }


def _groups(tickets: tuple[AuditedTicket, ...], key: str) -> tuple[GroupCount, ...]:
    by: dict[str | None, list[AuditedTicket]] = {}
    for t in tickets:
        by.setdefault(getattr(t, key), []).append(t)
    order = sorted(by, key=lambda k: (k is None, (k or "").casefold(), k or ""))
    return tuple(
        GroupCount(
            key=k,
            tickets=len(by[k]),
            compliant=sum(1 for t in by[k] if t.compliant),
            problems={p.value: n for p in Problem if (n := sum(1 for t in by[k] if p in t.problems))},
        )
        for k in order
    )


@dataclass(frozen=True)
class AuditSummary:
    """Counts: tickets read, compliant or not, unreadable; per problem code (every code,
    zeros included, in the table's order); per agent (by name; tickets without a note
    under ``None``); per day attended (server time; ``None``: no note)."""

    tickets: int
    compliant: int
    unreadable: int
    problems: Mapping[str, int]
    agents: tuple[GroupCount, ...]
    days: tuple[GroupCount, ...]

    @property
    def non_compliant(self) -> int:
        return self.tickets - self.compliant

    @classmethod
    def of(cls, tickets: tuple[AuditedTicket, ...], unreadable: int = 0) -> AuditSummary:
        return cls(
            tickets=len(tickets),
            compliant=sum(1 for t in tickets if t.compliant),
            unreadable=unreadable,
            problems={p.value: sum(1 for t in tickets if p in t.problems) for p in Problem},
            agents=_groups(tickets, "agent"),
            days=_groups(tickets, "day"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "tickets": self.tickets,
            "compliant": self.compliant,
            "non_compliant": self.non_compliant,
            "unreadable": self.unreadable,
            "problems": dict(self.problems),
            "agents": [g.to_dict("agent") for g in self.agents],
            "days": [g.to_dict("day") for g in self.days],
        }


def _write(text: str, target: str | Path | IO[str]) -> None:
    if isinstance(target, (str, Path)):
        if str(target) == "-":
            sys.stdout.write(text)
        else:
            Path(target).write_text(text, encoding="utf-8")
    else:
        target.write(text)


@dataclass(frozen=True)
class AuditReport:
    """The audit of the tickets selected: ``tickets`` (one verdict each, by TicketID),
    ``unreadable``, ``summary``; ``truncated`` when the search found more than the limit."""

    tickets: tuple[AuditedTicket, ...]
    unreadable: tuple[UnreadableTicket, ...] = ()
    selection: AuditSelection | None = None
    server: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    requests_sent: Mapping[str, int] = field(default_factory=dict)
    truncated: bool = False

    @cached_property
    def summary(self) -> AuditSummary:
        return AuditSummary.of(self.tickets, len(self.unreadable))

    @property
    def compliant(self) -> bool:
        """True when every ticket read is compliant."""
        return all(t.compliant for t in self.tickets)

    @property
    def non_compliant(self) -> list[AuditedTicket]:
        return [t for t in self.tickets if not t.compliant]

    def ticket(self, ticket_id: int) -> AuditedTicket:
        """The verdict on one TicketID (KeyError if it was not read)."""
        found = next((t for t in self.tickets if t.ticket_id == ticket_id), None)
        if found is None:
            raise KeyError(ticket_id)
        return found

    def to_dict(self) -> dict[str, Any]:
        elapsed = (
            round((self.finished_at - self.started_at).total_seconds(), 3)
            if self.started_at and self.finished_at
            else None
        )
        return {
            "schema": SCHEMA,
            "server": self.server,
            "selection": self.selection.to_dict() if self.selection else None,
            "started_at": self.started_at.isoformat(timespec="seconds") if self.started_at else None,
            "finished_at": self.finished_at.isoformat(timespec="seconds") if self.finished_at else None,
            "elapsed_seconds": elapsed,
            "truncated": self.truncated,
            "compliant": self.compliant,
            "requests_sent": dict(self.requests_sent),
            "summary": self.summary.to_dict(),
            "tickets": [t.to_dict() for t in self.tickets],
            "unreadable": [u.to_dict() for u in self.unreadable],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False) + "\n"

    def write_json(self, target: str | Path | IO[str]) -> None:
        """The JSON document to a path (``-``: stdout) or an open text file."""
        _write(self.to_json(), target)

    def to_csv(self) -> str:
        from otrs_closure.audit.csv_report import render_csv

        return render_csv(self)

    def write_csv(self, target: str | Path | IO[str]) -> None:
        """One row per ticket (formula-safe cells) to a path (``-``: stdout) or a text file."""
        _write(self.to_csv(), target)

    def to_html(self) -> str:
        from otrs_closure.audit.html_report import render_html

        return render_html(self)

    def write_html(self, target: str | Path | IO[str]) -> None:
        """The self-contained HTML page (no script, no external resource)."""
        _write(self.to_html(), target)

    def print(self, stream: IO[str] | None = None) -> None:
        """The summary and the non-compliant tickets as tables (rich, no markup from tickets)."""
        from otrs_closure.audit.terminal import print_report

        print_report(self, stream or sys.stdout)
