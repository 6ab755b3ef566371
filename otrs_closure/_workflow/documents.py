"""The documents a closure sends (TicketUpdate bodies without credentials), each in the
server generation's own article fields (:class:`~otrs_closure.servers.ArticleFields`),
the attachments always at top level (inside ``Article`` OTRS 5/6 and OTOBO drop them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from otrs_closure import manual
from otrs_closure._files import PreparedFile
from otrs_closure._http.body import StreamingJSONBody
from otrs_closure._workflow.prepare import PreparedClosure
from otrs_closure.servers import ArticleFields
from otrs_closure.settings import ClosureSettings

__all__ = ["note_document", "formats_document", "owner_document", "preflight_document", "PREFLIGHT_SUBJECT"]

PREFLIGHT_SUBJECT = "otrs-closure preflight (never written)"


def _article(settings: ClosureSettings, fields: ArticleFields, subject: str, body: str) -> dict[str, Any]:
    visibility = fields.visible if settings.note_visible_for_customer else fields.internal
    return {
        **visibility,
        "SenderType": "agent",
        "Subject": subject,
        "Body": body,
        "ContentType": settings.note_content_type,
    }


def _attachments(files: Sequence[PreparedFile]) -> list[dict[str, str]]:
    return [
        {"Content": StreamingJSONBody.placeholder(i), "ContentType": f.content_type, "Filename": f.filename}
        for i, f in enumerate(files)
    ]


def note_document(
    settings: ClosureSettings, p: PreparedClosure, fields: ArticleFields, *, masked: bool = False
) -> dict[str, Any]:
    """Step 1: the attended state, the closure note and both format files."""
    doc: dict[str, Any] = {
        "Ticket": {"State": settings.attended_state},
        "Article": _article(settings, fields, settings.note_subject, p.body_masked if masked else p.body),
    }
    if p.files:
        doc["Attachment"] = _attachments(p.files)
    return doc


def formats_document(
    settings: ClosureSettings, p: PreparedClosure, fields: ArticleFields, files: Sequence[PreparedFile]
) -> dict[str, Any]:
    """Repair of step 1: the format files that the closure note lost, on an article of their own."""
    body = f"{manual.FORMATS_SUBJECT}.\n{p.templates.reference(p.closure_id)}"
    return {
        "Article": _article(settings, fields, manual.FORMATS_SUBJECT, body),
        "Attachment": _attachments(files),
    }


def owner_document(
    settings: ClosureSettings, fields: ArticleFields, *, with_note: bool, with_state: bool
) -> dict[str, Any]:
    """Step 2: the owner change to the Service Desk agent with its note (and the state,
    when a re-run was allowed to set it again)."""
    ticket: dict[str, Any] = {"Owner": settings.owner_login}
    if with_state:
        ticket = {"State": settings.attended_state, **ticket}
    doc: dict[str, Any] = {"Ticket": ticket}
    if with_note:
        doc["Article"] = _article(settings, fields, settings.owner_subject, settings.owner_body)
    return doc


def preflight_document(settings: ClosureSettings) -> dict[str, Any]:
    """A TicketUpdate that every generation rejects before writing anything: its article
    has neither Body nor ContentType, which are checked after the ticket's State and Owner
    (OTRS 5/6, OTOBO and Znuny validate the whole request first, then write). The
    rejection tells whether State and Owner are valid."""
    return {
        "Ticket": {"State": settings.attended_state, "Owner": settings.owner_login},
        "Article": {"Subject": PREFLIGHT_SUBJECT},
    }
