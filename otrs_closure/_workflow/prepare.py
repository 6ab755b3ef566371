"""Preparing a closure: every check that can be made before any request — the kind,
the format files (by content), typed text that would forge the note's structure, the
note's visibility, the request size — and the rendering of the note."""

from __future__ import annotations

from dataclasses import dataclass, field

from otrs_closure._files import PreparedFile, prepare_formats
from otrs_closure._http.body import StreamingJSONBody
from otrs_closure.errors import InputError
from otrs_closure.models import ATTENTION_TYPES, Attention, FormatFiles, UserOnboarding
from otrs_closure.note import NoteTemplates, closure_id, render, render_masked
from otrs_closure.servers import ARTICLE_FIELDS
from otrs_closure.settings import ClosureSettings

__all__ = ["PreparedClosure", "prepare"]

# Multi-line texts of each kind: their later lines start lines of the note.
_TEXT_FIELDS = ("description", "problem", "solution")


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

    @property
    def carries_secret(self) -> bool:
        return isinstance(self.attention, UserOnboarding)


def prepare(
    settings: ClosureSettings,
    templates: NoteTemplates,
    attention: object,
    formats: object,
) -> PreparedClosure:
    """Every local check, before any request; :class:`InputError` names what is wrong."""
    if not isinstance(attention, ATTENTION_TYPES):
        raise InputError("attention", "must be a ServiceRequest, UserOnboarding or Incident")
    if formats is not None and not isinstance(formats, FormatFiles):
        raise InputError("formats", "must be a FormatFiles")
    if formats is None and (isinstance(attention, UserOnboarding) or settings.require_formats):
        why = "the format replaces the Acta Responsiva" if isinstance(attention, UserOnboarding) else "require_formats"
        raise InputError("formats", f"both format files are required ({why})")
    if isinstance(attention, UserOnboarding) and settings.note_visible_for_customer:
        raise InputError(
            "note_visible_for_customer", "a note that carries a password is internal: this closure cannot be visible"
        )
    missing = templates.missing(attention.kind)
    if missing:
        raise InputError("templates", f"missing label or template: {missing}")
    texts = [str(getattr(attention, f)) for f in _TEXT_FIELDS if getattr(attention, f, None)]
    forged = templates.reader().forged(texts)
    if forged is not None:
        raise InputError(
            "attention",
            f"a line of the text reads as the note's label {templates.labels[forged]!r}: the note's structure "
            "cannot come from typed text; reword that line",
        )
    # The raw size that can fit at all, checked before a file is read.
    largest = (settings.max_request_bytes // 4) * 3
    files = prepare_formats(formats, max_size=largest) if formats is not None else ()
    cid = closure_id(attention, files)
    prepared = PreparedClosure(
        attention=attention,
        files=tuple(files),
        closure_id=cid,
        body=render(attention, cid, templates),
        body_masked=render_masked(attention, cid, templates),
        templates=templates,
    )
    size = request_size(settings, prepared)
    if size > settings.max_request_bytes:
        raise InputError(
            "formats",
            f"the request would be {size} bytes after base64, over max_request_bytes ({settings.max_request_bytes})",
        )
    return prepared


def request_size(settings: ClosureSettings, p: PreparedClosure) -> int:
    """The byte size of step 1's body (the largest request of a closure), computed
    without reading the files, as the shipped routes send it (TicketID in the URL, a
    32-character SessionID, the article fields set or else OTRS 6's). The transport
    checks the exact size of every request again before sending it."""
    from otrs_closure._workflow.documents import note_document

    fields = ARTICLE_FIELDS[settings.article_fields or "channel"]
    document = {"SessionID": "x" * 32, **note_document(settings, p, fields)}
    return len(StreamingJSONBody(document, p.files))
