"""One row of a batch: the item, its problems and its result."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from otrs_closure.errors import InputError, OtrsClosureError
from otrs_closure.models import Attention, FormatFiles, Incident, ServiceRequest, UserOnboarding, check_ticket_ref
from otrs_closure.results import ClosureReceipt

log = logging.getLogger("otrs_closure.batch")


# -- items, problems, results ----------------------------------------------------------------


class BatchStatus(str, Enum):
    """What happened to one row."""

    CLOSED = "closed"  # this run wrote (part of) the closure and the ticket now shows all of it
    ALREADY_CLOSED = "already_closed"  # the ticket already showed the whole closure: nothing written
    SKIPPED_JOURNAL = "skipped_journal"  # the journal records it closed (same server and closure): no request
    FAILED = "failed"  # the closure did not finish (see the error; a PartialClosure says what was done)
    INVALID = "invalid"  # the row failed validation: nothing was sent for it
    NOT_RUN = "not_run"  # not attempted: the batch stopped first (systemic failure or interruption)

    @property
    def ok(self) -> bool:
        """Whether the row's ticket is known to carry its closure."""
        return self in (BatchStatus.CLOSED, BatchStatus.ALREADY_CLOSED, BatchStatus.SKIPPED_JOURNAL)


@dataclass(frozen=True)
class BatchItem:
    """One closure of a batch: the ticket (by number or by id), what was done and the
    format files. ``row`` and ``source`` say where it came from (line in the manifest);
    ``closure_id`` is the closure identity, computed by :func:`load_manifest` (or by the
    batch when missing) and used as the journal's key together with the ticket."""

    attention: Attention
    ticket_number: str | None = None
    ticket_id: int | None = None
    formats: FormatFiles | None = None
    row: int = 0
    source: str = ""
    closure_id: str | None = None

    def __post_init__(self) -> None:
        check_ticket_ref(self.ticket_number, self.ticket_id)
        if not isinstance(self.attention, (ServiceRequest, UserOnboarding, Incident)):
            raise InputError("attention", "must be a ServiceRequest, UserOnboarding or Incident")

    @property
    def key(self) -> str:
        """The ticket as the manifest names it: ``number:<TicketNumber>`` or ``id:<TicketID>``."""
        return _ticket_names(self.ticket_number, self.ticket_id)[0]

    @property
    def ticket(self) -> str:
        """The ticket for people: its number, or ``TicketID <id>``."""
        return _ticket_names(self.ticket_number, self.ticket_id)[1]

    @property
    def kind(self) -> str:
        return self.attention.kind

    @property
    def carries_secret(self) -> bool:
        """Whether part of the closure is a secret the closure identity leaves out (the
        onboarding password): the identity cannot tell a corrected one from the old one."""
        return isinstance(self.attention, UserOnboarding)

    def where(self) -> str:
        """``manifest.csv:12`` (or ``item 12``)."""
        return _where(self.source, self.row)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, without the note's texts or the onboarding password."""
        return {
            "row": self.row,
            "source": self.source or None,
            "ticket_number": self.ticket_number,
            "ticket_id": self.ticket_id,
            "kind": self.kind,
            "closure_id": self.closure_id,
        }


def _ticket_names(number: str | None, ticket_id: int | None) -> tuple[str, str]:
    """(journal key, name for people) of a ticket named by number or by id."""
    if number is not None:
        return f"number:{number}", number
    return f"id:{ticket_id}", f"TicketID {ticket_id}"


def _where(source: str, row: int) -> str:
    return f"{source}:{row}" if source else f"item {row}"


def _who(ticket: str | None, before: str, after: str) -> str:
    """``ticket 2026…`` or ``TicketID 7`` (empty when unknown), wrapped."""
    if not ticket:
        return ""
    return f"{before}{ticket if ticket.startswith('TicketID') else 'ticket ' + ticket}{after}"


@dataclass(frozen=True)
class RowProblem:
    """One problem of one manifest row (``field: problem``)."""

    row: int
    source: str
    ticket: str | None
    field: str
    problem: str

    def __str__(self) -> str:
        return f"{self.source}:{self.row}{_who(self.ticket, ' (', ')')}: {self.field}: {self.problem}"

    def to_error(self) -> InputError:
        return InputError(self.field, self.problem)

    def to_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "source": self.source,
            "ticket": self.ticket,
            "field": self.field,
            "problem": self.problem,
        }


@dataclass(frozen=True)
class BatchResult:
    """The outcome of one row: its status, and the receipt or the typed error.

    ``item`` is None only for an ``invalid`` manifest row (no item could be built);
    ``row``, ``source`` and ``ticket`` are always set."""

    status: BatchStatus
    item: BatchItem | None = None
    receipt: ClosureReceipt | None = None
    error: OtrsClosureError | None = None
    problems: tuple[RowProblem, ...] = ()
    row: int = 0
    source: str = ""
    ticket: str = ""
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status.ok

    @property
    def error_code(self) -> str | None:
        """The server's ErrorCode (or the faultcode of a JSON fault), when it sent one."""
        return self.error.error_code if self.error is not None else None

    @classmethod
    def for_item(
        cls,
        item: BatchItem,
        status: BatchStatus,
        *,
        receipt: ClosureReceipt | None = None,
        error: OtrsClosureError | None = None,
        elapsed: float = 0.0,
    ) -> BatchResult:
        return cls(
            status=status,
            item=item,
            receipt=receipt,
            error=error,
            row=item.row,
            source=item.source,
            ticket=item.ticket,
            elapsed=elapsed,
        )

    @classmethod
    def invalid_rows(cls, problems: Iterable[RowProblem]) -> list[BatchResult]:
        """One ``invalid`` result per manifest row, carrying all of the row's problems."""
        by_row: dict[tuple[str, int], list[RowProblem]] = {}
        for p in problems:
            by_row.setdefault((p.source, p.row), []).append(p)
        out = []
        for (source, row), probs in sorted(by_row.items(), key=lambda kv: (kv[0][0], kv[0][1])):
            out.append(
                cls(
                    status=BatchStatus.INVALID,
                    error=probs[0].to_error(),
                    problems=tuple(probs),
                    row=row,
                    source=source,
                    ticket=probs[0].ticket or "",
                )
            )
        return out

    def describe(self) -> str:
        """One line for people (no secrets: texts and passwords are never included)."""
        head = _where(self.source, self.row)
        who = _who(self.ticket, " ", "")
        if self.status is BatchStatus.INVALID:
            what = "; ".join(f"{p.field}: {p.problem}" for p in self.problems) or str(self.error)
            return f"{head}{who}: invalid: {what}"
        if self.status is BatchStatus.NOT_RUN:  # the reason is shared by every such row: shown once, elsewhere
            return f"{head}{who}: not_run (the batch stopped before it)"
        if self.error is not None:
            return f"{head}{who}: {self.status.value}: {type(self.error).__name__}: {self.error}"
        extra = ""
        if self.receipt is not None:
            extra = f" ({self.receipt.closure_id}, {self.receipt.writes_sent} write(s), {self.elapsed:.2f} s)"
        return f"{head}{who}: {self.status.value}{extra}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the row, the ticket, the status, and the receipt or the error."""
        item = self.item
        return {
            "row": self.row,
            "source": self.source or None,
            "ticket": self.ticket or None,
            "ticket_number": (self.receipt.ticket_number if self.receipt else None)
            or (item.ticket_number if item else None),
            "ticket_id": (self.receipt.ticket_id if self.receipt else None) or (item.ticket_id if item else None),
            "kind": item.kind if item else None,
            "closure_id": (self.receipt.closure_id if self.receipt else None) or (item.closure_id if item else None),
            "status": self.status.value,
            "elapsed_seconds": round(self.elapsed, 3),
            "writes_sent": self.receipt.writes_sent if self.receipt else None,
            "error": self.error.to_dict() if self.error is not None else None,
            "problems": [p.to_dict() for p in self.problems],
            "receipt": self.receipt.model_dump(mode="json") if self.receipt else None,
        }
