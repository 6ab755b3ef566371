"""The decision (pure): which TicketUpdate the ticket needs next, in the manual's order,
and what each step's status is. ``close()`` and ``plan()`` both decide here."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from otrs_closure._files import PreparedFile
from otrs_closure._ticket import ArticleInfo
from otrs_closure._workflow.assessment import Assessment
from otrs_closure._workflow.documents import formats_document, note_document, owner_document
from otrs_closure._workflow.prepare import PreparedClosure
from otrs_closure.results import StepStatus
from otrs_closure.servers import ArticleFields
from otrs_closure.settings import ClosureSettings

__all__ = ["Write", "next_write", "applied", "fresh_assessment", "step_flags", "initial_steps", "MAX_REPAIRS"]

#: "Formatos adjuntos" articles one closure may add in all. Each is written only when the
#: server created the note (or an earlier repair) but failed to store its files; more
#: than this means the server keeps failing, and another article would only add noise.
MAX_REPAIRS = 2


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


def next_write(
    settings: ClosureSettings, p: PreparedClosure, a: Assessment, fields: ArticleFields, *, masked: bool = False
) -> Write | None:
    """The next TicketUpdate the ticket needs, in the manual's order, or None when the
    closure is complete."""
    if a.note is None:
        steps = ("note", "state") + (("attachments",) if p.files else ())
        return Write("note", note_document(settings, p, fields, masked=masked), p.files, steps)
    if a.missing_files:
        doc = formats_document(settings, p, fields, a.missing_files)
        return Write("formats", doc, a.missing_files, ("attachments",))
    if a.owner_note is None or not a.owner_done or not a.state_done:
        with_note = a.owner_note is None
        steps = ("owner",) + (("owner_note",) if with_note else ()) + (() if a.state_done else ("state",))
        doc = owner_document(settings, fields, with_note=with_note, with_state=not a.state_done)
        return Write("owner", doc, (), steps)
    return None


def applied(a: Assessment, w: Write, answer: dict[str, Any]) -> Assessment:
    """The assessment once ``w`` was applied (``answer``: the server's, possibly empty)."""
    article = ArticleInfo(article_id=int(answer.get("ArticleID") or 0))
    if w.kind == "note":
        # The note is new, so no owner note follows it yet.
        return replace(a, note=article, missing_files=(), state_done=True, owner_note=None)
    if w.kind == "formats":
        return replace(a, missing_files=(), repairs=a.repairs + 1)
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


def step_flags(a: Assessment, with_files: bool) -> dict[str, bool]:
    """Per step, whether the ticket shows it done for this closure."""
    flags = {
        "note": a.note is not None,
        "state": a.state_done and a.note is not None,
        "owner": a.owner_done and a.owner_note is not None,
        "owner_note": a.owner_note is not None,
    }
    if with_files:
        flags["attachments"] = a.note is not None and not a.missing_files
    return flags


def initial_steps(a: Assessment, with_files: bool) -> dict[str, StepStatus]:
    """The steps as found before this call writes anything."""
    steps = {k: StepStatus.ALREADY_DONE if v else StepStatus.PENDING for k, v in step_flags(a, with_files).items()}
    steps.setdefault("attachments", StepStatus.NOT_APPLICABLE)
    return steps
