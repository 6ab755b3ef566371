"""The closure workflow, in the manual's order:
resolve → read → assess (what the ticket already shows) → step 1 (State + note + format
files, one TicketUpdate) → step 2 (Owner + "Se modifica propietario" note, one
TicketUpdate) → verify (one TicketGet) → receipt.

Idempotency comes from the assessment: a step is skipped when the ticket already
shows it. A closure recognises its own note by the reference line (closure id) in
the body, or by the whole body after the normalisation Znuny applies (and, for an
onboarding, by its password line); its files by (cleaned filename, size) — or size —
on its own articles; its owner note as a "Se modifica propietario" article after its
closure note.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from otrs_closure.errors import (
    ClosureConflict,
    InputError,
    InvalidParameter,
    OtrsClosureError,
    PartialClosure,
)
from otrs_closure.files import PreparedFile, StreamingJSONBody, prepare_formats
from otrs_closure.models import (
    ArticleInfo,
    AttachmentInfo,
    ClosureReceipt,
    ClosureSteps,
    FormatFiles,
    Incident,
    ServiceRequest,
    StepStatus,
    TicketSnapshot,
    UserOnboarding,
)
from otrs_closure.note import NoteTemplates, closure_id, normalize_text, render, render_masked, secret_lines
from otrs_closure.retry import WriteOutcome, write_outcome
from otrs_closure.settings import ClosureSettings
from otrs_closure.transport import GenericInterfaceTransport

__all__ = ["PreparedClosure", "PlannedRequest", "ClosurePlan", "prepare", "Assessment", "assess", "Closure"]

log = logging.getLogger("otrs_closure.closure")

Attention = ServiceRequest | UserOnboarding | Incident

# Subject of the article that carries format files when the closure note exists but
# lost its attachments (Znuny can fail writing attachments after creating the article).
FORMATS_SUBJECT = "Formatos adjuntos"


@dataclass(frozen=True)
class PreparedClosure:
    """Validated inputs of one closure, ready to send. ``body`` holds the onboarding
    password (it is the note sent to the server) and is kept out of the repr."""

    attention: Attention
    files: tuple[PreparedFile, ...]
    closure_id: str
    body: str = field(repr=False)
    body_masked: str
    templates: NoteTemplates = field(repr=False)


def prepare(
    settings: ClosureSettings,
    templates: NoteTemplates,
    attention: object,
    formats: FormatFiles | None,
) -> PreparedClosure:
    """Every local check, before any request: kind, formats, files, request size."""
    if not isinstance(attention, (ServiceRequest, UserOnboarding, Incident)):
        raise InputError("attention", "must be a ServiceRequest, UserOnboarding or Incident")
    if formats is not None and not isinstance(formats, FormatFiles):
        raise InputError("formats", "must be a FormatFiles")
    if formats is None and (isinstance(attention, UserOnboarding) or settings.require_formats):
        why = "the format replaces the Acta Responsiva" if isinstance(attention, UserOnboarding) else "require_formats"
        raise InputError("formats", f"both format files are required ({why})")
    missing = [
        k
        for k in ("description", "access_url", "login", "password", "problem", "solution", "reference")
        if k not in templates.labels
    ]
    if missing or attention.kind not in templates.templates:
        raise InputError("templates", f"missing label or template: {(missing or [attention.kind])[0]}")
    files = prepare_formats(formats) if formats is not None else ()
    cid = closure_id(attention, files)
    prepared = PreparedClosure(
        attention=attention,
        files=tuple(files),
        closure_id=cid,
        body=render(attention, cid, templates),
        body_masked=render_masked(attention, cid, templates),
        templates=templates,
    )
    body = {"SessionID": "x" * 32, **note_document(settings, prepared)}
    size = len(StreamingJSONBody(body, prepared.files))
    if size > settings.max_request_bytes:
        raise InputError(
            "formats",
            f"the request would be {size} bytes after base64, over max_request_bytes ({settings.max_request_bytes})",
        )
    return prepared


# -- request documents (without credentials) ----------------------------------------------


def _article(settings: ClosureSettings, subject: str, body: str) -> dict[str, Any]:
    return {
        "CommunicationChannel": "Internal",
        "IsVisibleForCustomer": 1 if settings.note_visible_for_customer else 0,
        "SenderType": "agent",
        "Subject": subject,
        "Body": body,
        "ContentType": "text/plain; charset=utf-8",
    }


def _attachments(files: Sequence[PreparedFile]) -> list[dict[str, str]]:
    return [
        {"Content": StreamingJSONBody.placeholder(i), "ContentType": f.content_type, "Filename": f.filename}
        for i, f in enumerate(files)
    ]


def note_document(settings: ClosureSettings, p: PreparedClosure, *, masked: bool = False) -> dict[str, Any]:
    """Step 1: the attended state, the closure note and both format files."""
    doc: dict[str, Any] = {
        "Ticket": {"State": settings.attended_state},
        "Article": _article(settings, settings.note_subject, p.body_masked if masked else p.body),
    }
    if p.files:
        doc["Attachment"] = _attachments(p.files)
    return doc


def formats_document(settings: ClosureSettings, p: PreparedClosure, files: Sequence[PreparedFile]) -> dict[str, Any]:
    """Repair of step 1: the format files that the closure note lost, on an article of their own."""
    body = f"{FORMATS_SUBJECT}.\n{p.templates.reference(p.closure_id)}"
    return {"Article": _article(settings, FORMATS_SUBJECT, body), "Attachment": _attachments(files)}


def owner_document(settings: ClosureSettings, *, with_note: bool, with_state: bool) -> dict[str, Any]:
    """Step 2: the owner change to the Service Desk agent with its note (and the state,
    when a re-run finds it was changed back)."""
    ticket: dict[str, Any] = {"Owner": settings.owner_login}
    if with_state:
        ticket = {"State": settings.attended_state, **ticket}
    doc: dict[str, Any] = {"Ticket": ticket}
    if with_note:
        doc["Article"] = _article(settings, settings.owner_subject, settings.owner_body)
    return doc


def preflight_document(settings: ClosureSettings) -> dict[str, Any]:
    """A TicketUpdate that Znuny must reject before writing anything: the article lacks
    its Body, which is checked only after State and Owner are validated. The error
    tells whether State and Owner are valid."""
    return {
        "Ticket": {"State": settings.attended_state, "Owner": settings.owner_login},
        "Article": {"Subject": "otrs-closure preflight (never written)"},
    }


# -- assessment ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Assessment:
    """What the ticket already shows of this closure."""

    note: ArticleInfo | None
    other_closures: tuple[ArticleInfo, ...]
    missing_files: tuple[PreparedFile, ...]
    state_done: bool
    owner_done: bool
    owner_note: ArticleInfo | None
    attachments: tuple[AttachmentInfo, ...]
    duplicates: tuple[ArticleInfo, ...] = ()  # this closure's note again (an unserialised race)

    @property
    def complete(self) -> bool:
        return (
            self.note is not None
            and not self.missing_files
            and self.state_done
            and self.owner_done
            and self.owner_note is not None
        )


def _same(a: str, b: str) -> bool:
    return normalize_text(a).casefold() == normalize_text(b).casefold()


_NOT_IN_FILENAME = re.compile(r"[^\w\-+.#]")


def file_key(name: str) -> str:
    """A filename as compared across a round trip through Znuny, whose attachment
    storage may clean names (``FilenameCleanUp``: trimmed, leading dots dropped, every
    character other than word characters and ``-+.#`` replaced by ``_``)."""
    name = unicodedata.normalize("NFC", name).strip().lstrip(".")
    return _NOT_IN_FILENAME.sub("_", name)


def _line_lists(text: str) -> list[str]:
    return [line.strip() for line in normalize_text(text).split("\n")]


def _contains_lines(haystack: list[str], needle: list[str]) -> bool:
    n = len(needle)
    return any(haystack[i : i + n] == needle for i in range(len(haystack) - n + 1))


def _match_files(files: Sequence[PreparedFile], present: Sequence[AttachmentInfo]) -> list[PreparedFile]:
    """The files not found among ``present`` (attachments of this closure's own articles):
    first by cleaned filename and size, then by size alone (a server may rename)."""
    pool = list(present)
    unmatched: list[PreparedFile] = []
    for f in files:
        key = file_key(f.filename)
        i = next((i for i, x in enumerate(pool) if x.size == f.size and file_key(x.filename) == key), None)
        if i is None:
            unmatched.append(f)
        else:
            pool.pop(i)
    missing = []
    for f in unmatched:
        i = next((i for i, x in enumerate(pool) if x.size == f.size), None)
        if i is None:
            missing.append(f)
        else:
            pool.pop(i)
    return missing


def assess(snapshot: TicketSnapshot, settings: ClosureSettings, p: PreparedClosure) -> Assessment:
    """Compare the ticket with this closure's target, step by step.

    An article is this closure's when its body, normalised as Znuny stores it
    (:func:`~otrs_closure.note.normalize_text`: CRLF, trailing blanks, surrounding
    whitespace), contains the reference line ``Referencia de cierre: oc-…`` — ASCII, so
    it survives a server that re-labels or mangles the charset — or equals the whole
    rendered body. The closure id leaves the onboarding password out, so a note with
    the reference whose password line shows another password is another closure."""
    reference = normalize_text(p.templates.reference(p.closure_id))
    body = normalize_text(p.body)
    secrets = [
        (normalize_text(prefix), _line_lists(line))
        for prefix, line in secret_lines(p.attention, p.closure_id, p.templates)
    ]

    def other_secret(lines: list[str]) -> bool:
        # The secret's label is there but not with our value: another closure.
        return any(
            prefix and not _contains_lines(lines, line) and any(x.startswith(prefix) for x in lines)
            for prefix, line in secrets
        )

    def is_ours(a: ArticleInfo) -> bool:
        text = normalize_text(a.body)
        if text == body:
            return True
        return reference in text and not other_secret(_line_lists(text))

    notes = [a for a in snapshot.articles if _same(a.subject, settings.note_subject)]
    ours = [a for a in notes if is_ours(a)]
    note = ours[0] if ours else None
    others = tuple(a for a in notes if not is_ours(a))

    carriers = [a for a in snapshot.articles if a is note or (is_ours(a) and _same(a.subject, FORMATS_SUBJECT))]
    attachments = tuple(x for a in carriers for x in a.attachments)
    missing = _match_files(p.files, attachments)

    owner_note = None
    if note is not None:
        owner_note = next(
            (
                a
                for a in snapshot.articles
                if a.article_id > note.article_id
                and _same(a.subject, settings.owner_subject)
                and _same(a.body, settings.owner_body)
            ),
            None,
        )
    return Assessment(
        note=note,
        other_closures=others,
        missing_files=tuple(missing),
        state_done=snapshot.state == settings.attended_state,
        # Znuny looks logins up case-insensitively and shows the one it stored.
        owner_done=snapshot.owner.casefold() == settings.owner_login.casefold(),
        owner_note=owner_note,
        attachments=attachments,
        duplicates=tuple(ours[1:]),
    )


# -- the writes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Write:
    """One TicketUpdate of the closure: which ``kind`` (``note`` = step 1, ``formats`` =
    repair of step 1's files, ``owner`` = step 2), what it sends and which steps it does."""

    kind: str
    document: dict[str, Any]
    files: tuple[PreparedFile, ...]
    steps: tuple[str, ...]

    def shown(self, a: Assessment) -> bool:
        """Whether the ticket, as assessed, already shows this write applied."""
        if self.kind == "note":
            return a.note is not None
        if self.kind == "formats":
            return not a.missing_files
        return a.owner_done and a.owner_note is not None and a.state_done


def next_write(settings: ClosureSettings, p: PreparedClosure, a: Assessment, *, masked: bool = False) -> Write | None:
    """The next TicketUpdate the ticket needs, in the manual's order, or None when the
    closure is complete. Pure: ``close()`` and ``plan()`` both decide here."""
    if a.note is None:
        steps = ("note", "state") + (("attachments",) if p.files else ())
        return Write("note", note_document(settings, p, masked=masked), p.files, steps)
    if a.missing_files:
        return Write("formats", formats_document(settings, p, a.missing_files), a.missing_files, ("attachments",))
    if a.owner_note is None or not a.owner_done or not a.state_done:
        with_note = a.owner_note is None
        steps = ("owner",) + (("owner_note",) if with_note else ()) + (() if a.state_done else ("state",))
        return Write("owner", owner_document(settings, with_note=with_note, with_state=not a.state_done), (), steps)
    return None


def applied(a: Assessment, w: Write, answer: dict[str, Any]) -> Assessment:
    """The assessment once ``w`` was applied (``answer``: the server's, possibly empty)."""
    article = ArticleInfo(article_id=int(answer.get("ArticleID") or 0))
    if w.kind == "note":
        # The note is new, so no owner note follows it yet.
        return replace(a, note=article, missing_files=(), state_done=True, owner_note=None)
    if w.kind == "formats":
        return replace(a, missing_files=())
    return replace(a, owner_done=True, state_done=True, owner_note=a.owner_note or article)


def fresh_assessment(p: PreparedClosure) -> Assessment:
    """What a ticket with none of the closure's steps looks like (for offline plans)."""
    return Assessment(
        note=None,
        other_closures=(),
        missing_files=p.files,
        state_done=False,
        owner_done=False,
        owner_note=None,
        attachments=(),
    )


# -- plans -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedRequest:
    """One request a closure would send, secrets masked."""

    operation: str
    method: str
    url: str
    body: dict[str, Any] | None = None
    query: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class ClosurePlan:
    """The requests a ``close()`` would send now, in order (reads included), and the
    steps it would find already done."""

    ticket_id: int | None
    ticket_number: str | None
    closure_id: str
    requests: tuple[PlannedRequest, ...]
    steps: ClosureSteps

    @property
    def writes(self) -> list[PlannedRequest]:
        return [r for r in self.requests if r.operation == "TicketUpdate"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ticket_id": self.ticket_id,
            "ticket_number": self.ticket_number,
            "closure_id": self.closure_id,
            "steps": self.steps.model_dump(mode="json"),
            "requests": [r.to_dict() for r in self.requests],
        }


def _parse_time(value: str, settings: ClosureSettings) -> datetime | None:
    try:
        naive = datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return naive.replace(tzinfo=settings.timezone)


# -- the workflow -----------------------------------------------------------------------------


@dataclass
class _Progress:
    """What this call has done so far (for the receipt of a PartialClosure)."""

    steps: dict[str, StepStatus]
    writes: int = 0
    note_article_id: int | None = None
    owner_article_id: int | None = None


class Closure:
    """One run of the workflow for one ticket (not shared between threads)."""

    def __init__(
        self,
        settings: ClosureSettings,
        transport: GenericInterfaceTransport,
        prepared: PreparedClosure,
        *,
        reclose: bool = False,
        preflight: Callable[[int], None] | None = None,
        hooks: dict[str, Callable[[], None]] | None = None,
    ) -> None:
        self.s = settings
        self.t = transport
        self.p = prepared
        self.reclose = reclose
        self.preflight = preflight
        self.hooks = hooks or {}

    # -- helpers -----------------------------------------------------------------------
    def _resolve(self, ticket_number: str | None, ticket_id: int | None) -> int:
        if ticket_id is not None:
            return ticket_id
        assert ticket_number is not None
        return self.t.search_ticket_number(ticket_number)

    def _check_conflict(self, a: Assessment, ticket: int) -> None:
        if a.note is None and a.other_closures and not self.reclose:
            ids = ", ".join(str(x.article_id) for x in a.other_closures)
            raise ClosureConflict(
                f"the ticket already has a different closure note (ArticleID {ids}); "
                "pass reclose=True (CLI: --reclose) to add this one as well",
                ticket=ticket,
            )

    def _initial_steps(self, a: Assessment) -> dict[str, StepStatus]:
        def st(done: bool) -> StepStatus:
            return StepStatus.ALREADY_DONE if done else StepStatus.PENDING

        return {
            "note": st(a.note is not None),
            "attachments": StepStatus.NOT_APPLICABLE
            if not self.p.files
            else st(not a.missing_files and a.note is not None),
            "state": st(a.state_done and a.note is not None),
            "owner": st(a.owner_done and a.owner_note is not None),
            "owner_note": st(a.owner_note is not None),
        }

    def _write(
        self,
        ticket: int,
        document: dict[str, Any],
        files: Sequence[PreparedFile],
        shown: Callable[[Assessment], bool],
        progress: _Progress,
        step_names: Sequence[str],
    ) -> tuple[dict[str, Any] | None, TicketSnapshot | None]:
        """Send one step; after an UNKNOWN outcome, re-read and resend only if the ticket
        does not show the step. Returns (answer, None) or (None, snapshot showing it)."""
        reread = False
        for attempt in self.t.policy.writes():
            with attempt:
                if reread:
                    snap = self.t.get_ticket(ticket)
                    if shown(assess(snap, self.s, self.p)):
                        log.info("ticket %s already shows %s: not resending", ticket, "+".join(step_names))
                        return None, snap
                    reread = False
                progress.writes += 1
                for name in step_names:
                    progress.steps[name] = StepStatus.UNKNOWN
                try:
                    answer = self.t.update_ticket(ticket, document, list(files))
                except OtrsClosureError as exc:
                    outcome = write_outcome(exc)
                    reread = outcome is WriteOutcome.UNKNOWN
                    if outcome is not WriteOutcome.UNKNOWN:
                        for name in step_names:
                            progress.steps[name] = StepStatus.PENDING
                    raise
                return answer, None
        raise AssertionError("unreachable")  # pragma: no cover

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
            attended_at=_parse_time(note.create_time, self.s) if note else None,
            state=snap.state if snap else None,
            owner=snap.owner if snap else None,
            attachments=a.attachments if a else (),
            steps=ClosureSteps(**progress.steps),
            writes_sent=progress.writes,
            verified=snap is not None,
        )

    def _settle_after_failure(
        self, ticket: int, progress: _Progress
    ) -> tuple[TicketSnapshot | None, Assessment | None]:
        """Best effort, one read: what the ticket shows after a failed write."""
        try:
            snap = self.t.get_ticket(ticket)
        except OtrsClosureError:
            return None, None
        a = assess(snap, self.s, self.p)
        for name, done in self._final_flags(a).items():
            if done and progress.steps[name] in (StepStatus.UNKNOWN, StepStatus.PENDING):
                progress.steps[name] = StepStatus.DONE
            elif not done and progress.steps[name] is StepStatus.UNKNOWN:
                progress.steps[name] = StepStatus.PENDING
        return snap, a

    def _final_flags(self, a: Assessment) -> dict[str, bool]:
        flags = {
            "note": a.note is not None,
            "state": a.state_done and a.note is not None,
            "owner": a.owner_done and a.owner_note is not None,
            "owner_note": a.owner_note is not None,
        }
        if self.p.files:
            flags["attachments"] = a.note is not None and not a.missing_files
        return flags

    def _warn_duplicates(self, a: Assessment, ticket: int) -> None:
        """Znuny has no article lock: closures of one ticket that this client cannot
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

    def _hook(self, name: str) -> None:
        if name in self.hooks:
            self.hooks[name]()

    # -- the run -------------------------------------------------------------------------
    def run(self, *, ticket_number: str | None = None, ticket_id: int | None = None) -> ClosureReceipt:
        ticket = self._resolve(ticket_number, ticket_id)
        snap = self.t.get_ticket(ticket)
        a = assess(snap, self.s, self.p)
        self._check_conflict(a, ticket)
        progress = _Progress(steps=self._initial_steps(a))
        if a.complete:
            log.info("ticket %s: closure %s already complete, nothing sent", ticket, self.p.closure_id)
            self._warn_duplicates(a, ticket)
            return self._receipt(snap, ticket, ticket_number, progress, a)
        if self.preflight is not None:
            self.preflight(ticket)
        try:
            a = self._steps(ticket, a, progress)
            snap = self.t.get_ticket(ticket)  # verify
        except OtrsClosureError as exc:
            if not any(st in (StepStatus.DONE, StepStatus.UNKNOWN) for st in progress.steps.values()):
                # No write of this call was applied or may have been (none sent, or each one
                # refused before Znuny writes anything: 413, *.AccessDenied, *.InvalidParameter…):
                # the ticket is as it was, so the server's own error is the answer.
                raise
            snap2, a2 = self._settle_after_failure(ticket, progress)
            receipt = self._receipt(snap2, ticket, ticket_number, progress, a2)
            if receipt.complete:
                if not receipt.verified:
                    log.warning(
                        "ticket %s: every step was answered done, but the ticket could not be "
                        "read back (%s); the receipt is unverified",
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
        a = assess(snap, self.s, self.p)
        self._warn_duplicates(a, ticket)
        for name, done in self._final_flags(a).items():
            if not done:
                progress.steps[name] = StepStatus.PENDING
        receipt = self._receipt(snap, ticket, ticket_number, progress, a)
        if not receipt.complete:
            raise PartialClosure(
                f"ticket {ticket} does not show the closure after writing: remaining {', '.join(receipt.remaining)}",
                receipt=receipt,
                cause=OtrsClosureError("verification after writing failed", operation="TicketGet", ticket=ticket),
            )
        return receipt

    def _steps(self, ticket: int, a: Assessment, progress: _Progress) -> Assessment:
        """Send the writes :func:`next_write` asks for until none is left. After a write
        whose answer was lost, the re-read ticket (not the plan) decides what follows."""
        for _ in range(4):  # note, formats, owner: a fourth is never needed
            w = next_write(self.s, self.p, a)
            if w is None:
                break
            answer, snap = self._write(ticket, w.document, w.files, w.shown, progress, w.steps)
            if answer is not None:
                a = applied(a, w, answer)
                for n in w.steps:
                    progress.steps[n] = StepStatus.DONE
                if "ArticleID" in answer and w.kind == "note":
                    progress.note_article_id = int(answer["ArticleID"])
                if "ArticleID" in answer and w.kind == "owner" and "owner_note" in w.steps:
                    progress.owner_article_id = int(answer["ArticleID"])
            else:
                assert snap is not None
                a = assess(snap, self.s, self.p)
                for n, done in self._final_flags(a).items():
                    if n in w.steps:
                        progress.steps[n] = StepStatus.DONE if done else StepStatus.PENDING
            if w.kind == "note":
                self._hook("after_note")
        return a


def check_preflight_answer(exc: OtrsClosureError, settings: ClosureSettings) -> None:
    """Interpret the server's rejection of :func:`preflight_document`; raise InputError
    when the state or the owner does not exist on the server."""
    message = exc.error_message or ""
    if isinstance(exc, InvalidParameter) and "Ticket->StateID or Ticket->State" in message:
        raise InputError("attended_state", f"the server has no valid state {settings.attended_state!r}") from None
    if isinstance(exc, InvalidParameter) and "Ticket->OwnerID or Ticket->Owner" in message:
        raise InputError("owner_login", f"the server has no valid agent {settings.owner_login!r}") from None
