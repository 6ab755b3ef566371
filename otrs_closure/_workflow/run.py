"""One closure run: read → assess → check → preflight → the writes the decision asks
for → verify → receipt; and, when something fails, the decision from what the ticket
shows whether writing started (:class:`PartialClosure` with its receipt) or not (the
server's own error)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from otrs_closure._http.gi import GenericInterface
from otrs_closure._http.retry import WriteOutcome, write_outcome
from otrs_closure._ticket import TicketSnapshot, parse_ticket
from otrs_closure._workflow.assessment import Assessment, assess
from otrs_closure._workflow.decision import MAX_REPAIRS, Write, applied, initial_steps, next_write, step_flags
from otrs_closure._workflow.preflight import Preflight
from otrs_closure._workflow.prepare import PreparedClosure, request_size
from otrs_closure.errors import (
    ClosureConflict,
    ClosureReopened,
    NoteVisibleToCustomer,
    OtrsClosureError,
    PartialClosure,
    ServerCompatibilityError,
    ServerError,
)
from otrs_closure.results import ClosureReceipt, ClosureSteps, StepStatus
from otrs_closure.servers import ArticleFields
from otrs_closure.servers._knowledge import ServerKnowledge
from otrs_closure.settings import ClosureSettings

__all__ = ["Closure", "read_ticket", "parse_time"]

log = logging.getLogger("otrs_closure.closure")


def read_ticket(gi: GenericInterface, knowledge: ServerKnowledge, ticket: int) -> TicketSnapshot:
    """TicketGet of one ticket; its articles teach the server's article fields."""
    snap = parse_ticket(gi.get_tickets([ticket])[0], ticket)
    fields = snap.article_fields
    if fields is not None:
        key = next(a.visibility.split("=")[0] for a in snap.articles if a.fields == fields)
        knowledge.learn_article_fields(fields, snap.article_keys, f"the articles of ticket {ticket} carry {key}")
    return snap


def parse_time(value: str, settings: ClosureSettings) -> datetime | None:
    """A server time ("YYYY-MM-DD HH:MM:SS", the server's clock) as an aware datetime."""
    try:
        naive = datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return naive.replace(tzinfo=settings.timezone)


@dataclass
class _Progress:
    """What this call has done so far (for the receipt of a PartialClosure)."""

    steps: dict[str, StepStatus]
    writes: int = 0
    note_article_id: int | None = None
    owner_article_id: int | None = None


class _GiveUp(Exception):
    """Stop the write loop without another attempt (carries the error to raise)."""

    def __init__(self, error: OtrsClosureError) -> None:
        super().__init__(str(error))
        self.error = error


class Closure:
    """One run of the workflow for one ticket (not shared between threads)."""

    def __init__(
        self,
        settings: ClosureSettings,
        gi: GenericInterface,
        knowledge: ServerKnowledge,
        prepared: PreparedClosure,
        preflight: Preflight,
        *,
        reclose: bool = False,
        reattend: bool = False,
    ) -> None:
        self.s = settings
        self.gi = gi
        self.knowledge = knowledge
        self.p = prepared
        self.preflight = preflight
        self.reclose = reclose
        self.reattend = reattend

    # -- checks ---------------------------------------------------------------------------
    def check(self, a: Assessment, ticket: int) -> None:
        """Refuse, before any write, a ticket that carries another closure or was reopened."""
        if a.note is None and a.other_closures and not self.reclose:
            ids = tuple(x.article_id for x in a.other_closures)
            raise ClosureConflict(
                f"the ticket already has a different closure note (ArticleID {', '.join(map(str, ids))})",
                article_ids=ids,
                ticket=ticket,
            )
        if a.reopened and not self.reattend and a.note is not None:
            what = "its state is no longer " + repr(self.s.attended_state) if not a.state_done else "its owner changed"
            raise ClosureReopened(
                f"the ticket carries this closure (ArticleID {a.note.article_id}) but was reopened: {what}",
                article_ids=(a.note.article_id,),
                ticket=ticket,
            )

    def fields(self, ticket: int) -> ArticleFields:
        """The server's article fields, or — fail closed — an error before any write."""
        fields = self.knowledge.article_fields
        if fields is None:
            raise ServerCompatibilityError(
                f"cannot establish how this server marks a note internal: ticket {ticket} has no article that "
                "shows it; set article_fields (OTRS_CLOSURE_ARTICLE_FIELDS: article_type for OTRS 5, channel for "
                "OTRS 6, OTOBO and Znuny) or server; nothing was written",
                field="article_fields",
                ticket=ticket,
            )
        return fields

    def fits(self, ticket: int) -> None:
        """Refuse, before any write, a note whose files make a request larger than this
        server takes (known once its profile is: OTOBO's WebMaxFileUpload)."""
        if self.p.files:
            self.knowledge.refuse_larger(request_size(self.s, self.p), "the note with its files", "nothing was written")

    def _visible(self, a: Assessment, receipt: ClosureReceipt) -> None:
        """A closure note that the server does not show internal is never a success."""
        note = a.note
        if note is None or self.s.note_visible_for_customer:
            return
        if note.internal is not True:
            shown = note.visibility or "no visibility field"
            raise NoteVisibleToCustomer(
                f"the server shows the closure note (ArticleID {note.article_id}) as visible to the customer "
                f"({shown}); review the ticket now",
                receipt=receipt,
            )

    def _warn_duplicates(self, a: Assessment, ticket: int) -> None:
        """Servers have no article lock: closures of one ticket that this client cannot
        serialise (another host, no shared ``lock_dir``) may both write the note. That
        cannot be undone through the API; say so, naming the articles, for review."""
        if a.note is not None and a.duplicates:
            log.warning(
                "ticket %s carries the note of closure %s %d times (ArticleIDs %s): closures of this "
                "ticket ran concurrently without a shared lock; the first (ArticleID %s) counts",
                ticket,
                self.p.closure_id,
                1 + len(a.duplicates),
                ", ".join(str(x.article_id) for x in (a.note, *a.duplicates)),
                a.note.article_id,
            )

    # -- the receipt -----------------------------------------------------------------------
    def _receipt(
        self, snap: TicketSnapshot | None, ticket: int, number: str | None, progress: _Progress, a: Assessment | None
    ) -> ClosureReceipt:
        note = a.note if a else None
        owner_note = a.owner_note if a else None
        return ClosureReceipt(
            ticket_id=ticket,
            ticket_number=snap.ticket_number if snap else number,
            closure_id=self.p.closure_id,
            note_article_id=note.article_id if note else progress.note_article_id,
            owner_article_id=owner_note.article_id if owner_note else progress.owner_article_id,
            attended_at=parse_time(note.create_time, self.s) if note else None,
            note_internal=note.internal if note and snap else None,
            note_visibility=(note.visibility or None) if note and snap else None,
            state=snap.state if snap else None,
            owner=snap.owner if snap else None,
            attachments=a.attachments if a else (),
            steps=ClosureSteps(**progress.steps),
            writes_sent=progress.writes,
            verified=snap is not None,
        )

    def _settle(self, progress: _Progress, a: Assessment) -> None:
        for name, done in step_flags(a, bool(self.p.files)).items():
            if done and progress.steps[name] in (StepStatus.UNKNOWN, StepStatus.PENDING):
                progress.steps[name] = StepStatus.DONE
            elif not done and progress.steps[name] is StepStatus.UNKNOWN:
                progress.steps[name] = StepStatus.PENDING

    # -- the run ------------------------------------------------------------------------------
    def run(self, ticket: int, number: str | None = None) -> ClosureReceipt:
        snap = read_ticket(self.gi, self.knowledge, ticket)
        a = assess(snap, self.s, self.p)
        self.check(a, ticket)
        progress = _Progress(steps=initial_steps(a, bool(self.p.files)))
        if a.complete:
            log.info("ticket %s: closure %s already complete, nothing sent", ticket, self.p.closure_id)
            self._warn_duplicates(a, ticket)
            receipt = self._receipt(snap, ticket, number, progress, a)
            self._visible(a, receipt)
            return receipt
        fields = self.fields(ticket)
        self.fits(ticket)
        before, found = snap, a
        try:
            self.preflight.run(ticket, snap)
            a = self._steps(ticket, a, progress, fields)
            snap = read_ticket(self.gi, self.knowledge, ticket)  # verify
        except OtrsClosureError as exc:
            return self._failed(exc, ticket, number, progress, found, before)
        a = assess(snap, self.s, self.p)
        self._warn_duplicates(a, ticket)
        for name, done in step_flags(a, bool(self.p.files)).items():
            if not done:
                progress.steps[name] = StepStatus.PENDING
        receipt = self._receipt(snap, ticket, number, progress, a)
        self._visible(a, receipt)
        if not receipt.complete:
            raise PartialClosure(
                f"ticket {ticket} does not show the closure after writing: remaining {', '.join(receipt.remaining)}",
                receipt=receipt,
                cause=OtrsClosureError("verification after writing failed", operation="TicketGet", ticket=ticket),
            )
        return receipt

    def _failed(
        self,
        exc: OtrsClosureError,
        ticket: int,
        number: str | None,
        progress: _Progress,
        found: Assessment,
        before: TicketSnapshot,
    ) -> ClosureReceipt:
        """Decide from what the ticket shows: part of this closure on it (before or now)
        → PartialClosure with the receipt (or the receipt, when it is in fact complete);
        nothing of it → the server's own error."""
        if not any(st in (StepStatus.DONE, StepStatus.UNKNOWN) for st in progress.steps.values()):
            # Nothing sent that could have written: none, or each refused before the server
            # writes anything (413, *.AccessDenied, *.InvalidParameter…; the preflight never
            # writes). The ticket is as read.
            if not found.shows_any:
                raise exc
            snap: TicketSnapshot | None = before
            now: Assessment | None = found
        else:
            try:
                snap = read_ticket(self.gi, self.knowledge, ticket)
                now = assess(snap, self.s, self.p)
            except OtrsClosureError:
                snap, now = None, None
        if now is not None:
            self._settle(progress, now)
            changed = (now.state_done and not found.state_done) or (now.owner_done and not found.owner_done)
            if not now.shows_any and not changed:
                raise exc  # nothing of this call was applied: the ticket is as it was
        receipt = self._receipt(snap, ticket, number, progress, now)
        if now is not None:
            self._visible(now, receipt)
        if receipt.complete:
            if not receipt.verified:
                log.warning(
                    "ticket %s: every step was answered done, but the ticket could not be read back (%s); "
                    "the receipt is unverified",
                    ticket,
                    type(exc).__name__,
                )
            return receipt
        raise PartialClosure(
            f"closure of ticket {ticket} not finished: remaining {', '.join(receipt.remaining)}; "
            "run close() again with the same inputs to complete it",
            receipt=receipt,
            cause=exc,
        ) from exc

    def _steps(self, ticket: int, a: Assessment, progress: _Progress, fields: ArticleFields) -> Assessment:
        """Send the writes :func:`next_write` asks for until none is left. After a write
        whose answer was lost, the re-read ticket (not the plan) decides what follows."""
        repaired = False
        for _ in range(4):  # note, formats, owner: a fourth is never needed
            w = next_write(self.s, self.p, a, fields)
            if w is None:
                break
            if w.kind == "formats":
                if repaired or a.repairs >= MAX_REPAIRS:
                    raise ServerError(
                        f"the server failed to store the format files {a.repairs + int(repaired)} time(s); not adding "
                        f"another '{w.document['Article']['Subject']}' article: check the web service's MaxLength "
                        "and the attachment storage, or attach the files by hand",
                        retryable=False,
                        operation="TicketUpdate",
                        ticket=ticket,
                    )
                repaired = True
            answer, snap = self._write(ticket, w, progress)
            if answer is not None:
                a = applied(a, w, answer)
                for n in w.steps:
                    progress.steps[n] = StepStatus.DONE
                article_id = _article_id(answer)
                if article_id is not None and w.kind == "note":
                    progress.note_article_id = article_id
                if article_id is not None and w.kind == "owner" and "owner_note" in w.steps:
                    progress.owner_article_id = article_id
            else:
                assert snap is not None
                a = assess(snap, self.s, self.p)
                for n, done in step_flags(a, bool(self.p.files)).items():
                    if n in w.steps:
                        progress.steps[n] = StepStatus.DONE if done else StepStatus.PENDING
        return a

    def _await(self, ticket: int, w: Write, poll: bool) -> tuple[TicketSnapshot, bool]:
        """After a write whose outcome is unknown: re-read the ticket, and (``poll``) keep
        re-reading for ``retry_write_poll`` seconds while it does not show the write."""
        snap = read_ticket(self.gi, self.knowledge, ticket)
        if w.shown(assess(snap, self.s, self.p)):
            return snap, True
        for wait in self.gi.policy.poll_waits() if poll else ():
            self.gi.policy.sleep(wait)
            snap = read_ticket(self.gi, self.knowledge, ticket)
            if w.shown(assess(snap, self.s, self.p)):
                return snap, True
        return snap, False

    def _write(self, ticket: int, w: Write, progress: _Progress) -> tuple[dict[str, Any] | None, TicketSnapshot | None]:
        """Send one write; after an unknown outcome, resend only if the ticket does not
        show it (a repair is never resent). Returns (answer, None) or (None, snapshot)."""
        reread: WriteOutcome | None = None  # UNKNOWN or STALE: re-read before resending
        last: OtrsClosureError | None = None
        try:
            for attempt in self.gi.policy.writes():
                with attempt:
                    if reread is not None:
                        snap, shown = self._await(ticket, w, poll=reread is WriteOutcome.UNKNOWN)
                        if shown:
                            log.info("ticket %s already shows %s: not resending", ticket, "+".join(w.steps))
                            return None, snap
                        if w.kind == "formats" and last is not None:
                            raise _GiveUp(last)
                        reread = None
                    progress.writes += 1
                    for name in w.steps:
                        progress.steps[name] = StepStatus.UNKNOWN
                    try:
                        answer = self.gi.update(ticket, w.document, w.files)
                    except OtrsClosureError as exc:
                        last = exc
                        outcome = write_outcome(exc)
                        reread = outcome if outcome in (WriteOutcome.UNKNOWN, WriteOutcome.STALE) else None
                        if reread is None:
                            for name in w.steps:
                                progress.steps[name] = StepStatus.PENDING
                        raise
                    return answer, None
        except _GiveUp as give_up:
            raise give_up.error from None
        raise AssertionError("unreachable")  # pragma: no cover


def _article_id(answer: dict[str, Any]) -> int | None:
    value = answer.get("ArticleID")
    text = str(value) if value is not None else ""
    return int(text) if text.isascii() and text.isdigit() else None
