"""One audit: select (one TicketSearch, or the listed tickets), read in batches with a
bounded pool of threads sharing the client's session, judge each ticket, report.
It sends TicketSearch and TicketGet only: an audit never writes."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timezone

from otrs_closure._http.gi import GenericInterface
from otrs_closure._pool import bounded_map, check_workers
from otrs_closure._ticket import TicketSnapshot
from otrs_closure.audit._reading import MAX_PER_REQUEST, TicketReader, Unread
from otrs_closure.audit.judgement import AuditRules, judge, needs_attachments
from otrs_closure.audit.report import AuditedTicket, AuditReport, UnreadableTicket
from otrs_closure.audit.selection import AuditSelection
from otrs_closure.errors import InputError, TicketNotFound
from otrs_closure.servers._knowledge import ServerKnowledge

__all__ = ["run_audit", "Progress"]

log = logging.getLogger("otrs_closure.audit")

#: Called after each batch with (tickets done, tickets selected).
Progress = Callable[[int, int], None]


def _unreadable(u: Unread) -> UnreadableTicket:
    e = u.error
    return UnreadableTicket(
        ticket=str(u.ticket_id),
        ticket_id=u.ticket_id,
        error=type(e).__name__,
        error_code=e.error_code,
        message=e.message[:300],
    )


def _select(gi: GenericInterface, sel: AuditSelection) -> tuple[list[int], bool]:
    """(TicketIDs, whether the search was cut at the limit)."""
    if sel.explicit:
        ids = list(sel.ticket_ids)
        for criteria in sel.number_searches():
            ids.extend(i for i in gi.search(criteria) if i not in ids)
        return ids, False
    found = gi.search(sel.criteria())
    unique = list(dict.fromkeys(found))
    return unique[: sel.limit], len(unique) > sel.limit


def run_audit(
    gi: GenericInterface,
    knowledge: ServerKnowledge,
    rules: AuditRules,
    selection: AuditSelection,
    *,
    server: str,
    requests_sent: Callable[[], Mapping[str, int]],
    workers: int = 4,
    per_request: int = 20,
    progress: Progress | None = None,
) -> AuditReport:
    """Audit the selected tickets (see :meth:`otrs_closure.ClosureClient.audit`)."""
    check_workers(workers)
    if isinstance(per_request, bool) or not isinstance(per_request, int) or not 1 <= per_request <= MAX_PER_REQUEST:
        raise InputError("per_request", f"must be an integer from 1 to {MAX_PER_REQUEST}")
    started = datetime.now(timezone.utc)
    before = dict(requests_sent())
    ids, truncated = _select(gi, selection)
    if truncated:
        log.warning(
            "audit: the search found more than %d tickets; only the first %d are read", selection.limit, len(ids)
        )
    reader = TicketReader(gi, knowledge, needs_attachments=lambda s: needs_attachments(s, rules))

    def batch(chunk: Sequence[int]) -> list[AuditedTicket | Unread]:
        return [judge(r, rules) if isinstance(r, TicketSnapshot) else r for r in reader.fetch(chunk)]

    chunks = [ids[i : i + per_request] for i in range(0, len(ids), per_request)]
    verdicts: list[AuditedTicket] = []
    unread: list[Unread] = []

    def take(results: list[AuditedTicket | Unread]) -> None:
        for r in results:
            (unread if isinstance(r, Unread) else verdicts).append(r)  # type: ignore[arg-type]
        if progress is not None:
            progress(len(verdicts) + len(unread), len(ids))

    def done() -> Iterator[list[AuditedTicket | Unread]]:
        rest = chunks
        if chunks and reader.contents_optional() is None:
            # The first batch alone: its articles teach how the server lists attachments.
            yield batch(chunks[0])
            rest = chunks[1:]
        for _, results in bounded_map(batch, rest, workers=workers, name="otrs-closure-audit"):
            yield results

    for results in done():
        take(results)

    unreadable = [_unreadable(u) for u in unread]
    read_numbers = {t.ticket_number for t in verdicts}
    for n in selection.ticket_numbers:
        if n not in read_numbers and not any(u.ticket_number == n for u in unreadable):
            err = TicketNotFound(f"no ticket with number {n}", operation="TicketSearch", ticket=n)
            unreadable.append(
                UnreadableTicket(ticket=n, ticket_number=n, error=type(err).__name__, message=err.message)
            )
    after = requests_sent()
    sent = {op: n - before.get(op, 0) for op, n in after.items() if n - before.get(op, 0)}
    return AuditReport(
        tickets=tuple(sorted(verdicts, key=lambda t: t.ticket_id)),
        unreadable=tuple(unreadable),
        selection=selection,
        server=server,
        started_at=started,
        finished_at=datetime.now(timezone.utc),
        requests_sent=sent,
        truncated=truncated,
    )
