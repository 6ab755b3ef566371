"""The judgement (pure): what one ticket, as TicketGet showed it, lacks of the manual's
closure. No I/O; the same snapshot always gets the same verdict.

What it looks for, with the closure's own knowledge (labels and templates from
:mod:`otrs_closure.note`, file types from :mod:`otrs_closure._files`, filename cleaning
from the assessment):

* the **closing note**: the last article written by an agent (not the owner note) that
  carries at least one of the manual's labels, read tolerantly (case, accents, spacing, a
  colon or not, the value on the next line). Its labels give the **kind**; its time is
  ``attended_at``, its From line the ``agent``;
* the **owner note**: an agent's article whose subject and text read "Se modifica
  propietario" (tolerantly); the **order** is judged by ArticleID, as the server numbered
  the articles;
* the **formats**: two distinct attachments of the ticket, one a signed-scan type, the
  other an editable type, judged by content type and name (contents are not read).

A caller that read tickets itself (an export, another tool) can judge them the same way:
``judge(parse_ticket(ticket_object), rules)`` — ``parse_ticket`` and ``TicketSnapshot``
are exported here for that.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from functools import cached_property
from zoneinfo import ZoneInfo

from otrs_closure._files import EDITABLE_TYPES, PDF, SIGNED_SCAN_TYPES, type_by_metadata
from otrs_closure._ticket import ArticleInfo, TicketSnapshot, parse_ticket
from otrs_closure._workflow.assessment import file_key
from otrs_closure.audit._text import repair_mojibake, shown
from otrs_closure.audit.problems import Problem
from otrs_closure.audit.report import AuditedTicket, FieldStatus
from otrs_closure.models import Incident, UserOnboarding
from otrs_closure.note import LabelReader, NoteTemplates, label_key
from otrs_closure.results import AttachmentInfo
from otrs_closure.settings import ClosureSettings

__all__ = [
    "AuditRules",
    "judge",
    "needs_attachments",
    "find_formats",
    "MAX_BODY_CHARS",
    "TicketSnapshot",
    "ArticleInfo",
    "parse_ticket",
]

#: How much of an article's body is read for labels (a note is a few lines; a pasted log is not read whole).
MAX_BODY_CHARS = 64 * 1024

_ONBOARDING = UserOnboarding.model_fields["kind"].default
_INCIDENT = Incident.model_fields["kind"].default
# The kinds whose note must give every distinctive label, and the code when it does not.
_INCOMPLETE = {_ONBOARDING: Problem.ONBOARDING_INCOMPLETE, _INCIDENT: Problem.INCIDENT_INCOMPLETE}
# The kinds whose closure attaches both format files (the format replaces the Acta Responsiva).
_FORMATS_KINDS = frozenset({_ONBOARDING})


@dataclass(frozen=True)
class AuditRules:
    """What a closure must show, from the client's settings and note templates."""

    owner_login: str
    owner_subject: str
    owner_body: str
    require_formats: bool = False
    timezone: tzinfo = field(default_factory=lambda: ZoneInfo("America/Mexico_City"))
    templates: NoteTemplates = field(default_factory=NoteTemplates)

    @classmethod
    def from_settings(cls, settings: ClosureSettings, templates: NoteTemplates | None = None) -> AuditRules:
        return cls(
            owner_login=settings.owner_login,
            owner_subject=settings.owner_subject,
            owner_body=settings.owner_body,
            require_formats=settings.require_formats,
            timezone=settings.timezone,
            templates=templates or NoteTemplates(),
        )

    @cached_property
    def reader(self) -> LabelReader:
        return self.templates.reader()

    @cached_property
    def note_fields(self) -> frozenset[str]:
        """The fields whose labels make a note a closing note: every template's (the
        library's own reference line is not a label of the manual)."""
        return frozenset(f for kind in self.templates.templates for f in self.templates.fields(kind))


def _by_agent(a: ArticleInfo) -> bool:
    # A customer's or the system's article never closes a ticket (unknown sender: counted).
    return a.sender_type.casefold() in ("agent", "")


def _is_owner_note(a: ArticleInfo, rules: AuditRules) -> bool:
    subject = label_key(a.subject)
    text = label_key(a.body[:MAX_BODY_CHARS])
    wanted = label_key(rules.owner_body)
    return bool(subject) and subject == label_key(rules.owner_subject) and text.startswith(wanted)


def _labels(a: ArticleInfo, reader: LabelReader, fields: frozenset[str]) -> dict[str, list[str]]:
    """The article's labelled values by field (the manual's fields only)."""
    body = a.body[:MAX_BODY_CHARS]
    found: dict[str, list[str]] = {}
    for text in (body, repair_mojibake(body)):
        for f, value in reader.entries(text):
            if f in fields:
                found.setdefault(f, []).append(value)
        if found:
            break
    return found


def _status(values: dict[str, list[str]], f: str) -> FieldStatus:
    if any(v.strip() for v in values.get(f, ())):
        return "present"
    return "blank" if f in values else "missing"


_MAILBOX = re.compile(r'\s*"?(?P<name>[^<>"]*?)"?\s*<(?P<address>[^<>\s@]+@[^<>\s]+)>\s*')


def _agent(a: ArticleInfo) -> str | None:
    """The name of the From line: ``"Juan Pérez" <tecnico1@…>`` or, as GenericInterface
    notes show it, ``Juan Pérez`` alone."""
    sender = a.sender.strip()
    mailbox = _MAILBOX.fullmatch(sender)
    if mailbox:
        sender = mailbox.group("name").strip() or mailbox.group("address")
    return shown(repair_mojibake(sender), 120) or None


def _time(value: str, tz: tzinfo) -> datetime | None:
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=tz)
    except ValueError:
        return None


def find_formats(attachments: Sequence[AttachmentInfo]) -> tuple[AttachmentInfo | None, AttachmentInfo | None]:
    """(signed scan, editable file) among ``attachments``: two distinct files (by cleaned
    name and size), one of a signed-scan type, the other of an editable type, by content
    type and name. An office file is preferred as the editable one, so that two PDFs
    count only when nothing better is there. A side not found is None."""
    unique: dict[tuple[str, int], AttachmentInfo] = {}
    for a in attachments:
        unique.setdefault((file_key(a.filename), a.size), a)
    typed = [(a, type_by_metadata(a.filename, a.content_type)) for a in unique.values()]
    scans = [a for a, t in typed if t in SIGNED_SCAN_TYPES]
    editables = [a for a, t in sorted(typed, key=lambda pair: pair[1] == PDF) if t in EDITABLE_TYPES]
    for scan in scans:
        editable = next((e for e in editables if e is not scan), None)
        if editable is not None:
            return scan, editable
    return (scans[0] if scans else None), (editables[0] if editables and not scans else None)


def _closing_note(s: TicketSnapshot, rules: AuditRules) -> tuple[ArticleInfo | None, dict[str, list[str]]]:
    reader, fields = rules.reader, rules.note_fields
    found: tuple[ArticleInfo | None, dict[str, list[str]]] = (None, {})
    for a in s.articles:  # sorted by ArticleID: the last labelled one is the closure that stands
        if _by_agent(a) and not _is_owner_note(a, rules):
            values = _labels(a, reader, fields)
            if values:
                found = (a, values)
    return found


def needs_attachments(s: TicketSnapshot, rules: AuditRules) -> bool:
    """Whether the verdict on this ticket depends on its attachments (an onboarding, or
    any ticket when every closure requires formats): a reader that cannot list
    attachments without their contents fetches them only for these."""
    if rules.require_formats:
        return True
    _, values = _closing_note(s, rules)
    return any(f in values for kind in _FORMATS_KINDS for f in rules.templates.distinctive_fields(kind))


def judge(s: TicketSnapshot, rules: AuditRules) -> AuditedTicket:
    """Every problem code that applies to the ticket, and only those (see
    :mod:`otrs_closure.audit.problems`)."""
    templates = rules.templates
    problems: set[Problem] = set()
    note, values = _closing_note(s, rules)
    kind = templates.kind_of(values) if note is not None else None
    if note is None:
        problems.add(Problem.NOTE_MISSING)
    elif note.is_visible_for_customer:
        problems.add(Problem.NOTE_PUBLIC)
    for k, code in _INCOMPLETE.items():
        distinctive = templates.distinctive_fields(k)
        if any(f in values for f in distinctive) and any(_status(values, f) != "present" for f in distinctive):
            problems.add(code)

    onboarding = any(f in values for k in _FORMATS_KINDS for f in templates.distinctive_fields(k))
    scan, editable = find_formats([x for a in s.articles for x in a.attachments])
    if (onboarding or rules.require_formats) and (scan is None or editable is None):
        problems.add(Problem.FORMATS_MISSING)

    if s.owner.casefold() != rules.owner_login.casefold():
        problems.add(Problem.OWNER_NOT_SERVICE_DESK)
    owner_notes = [a for a in s.articles if _by_agent(a) and _is_owner_note(a, rules)]
    if not owner_notes:
        problems.add(Problem.OWNER_NOTE_MISSING)
    owner_note = owner_notes[-1] if owner_notes else None
    if note is not None and owner_note is not None and owner_note.article_id < note.article_id:
        problems.add(Problem.ORDER)

    return AuditedTicket(
        ticket_id=s.ticket_id,
        ticket_number=s.ticket_number,
        problems=tuple(p for p in Problem if p in problems),
        kind=kind,
        attended_at=_time(note.create_time, rules.timezone) if note is not None else None,
        agent=_agent(note) if note is not None else None,
        agent_id=note.created_by if note is not None else None,
        title=shown(s.title),
        queue=shown(s.queue),
        state=shown(s.state),
        owner=shown(s.owner),
        changed=s.changed,
        note_article_id=note.article_id if note is not None else None,
        note_visibility=(note.visibility or None) if note is not None else None,
        owner_note_article_id=owner_note.article_id if owner_note is not None else None,
        fields={f: _status(values, f) for f in templates.fields(kind)} if kind else {},
        signed_scan=shown(scan.filename) if scan is not None else None,
        editable=shown(editable.filename) if editable is not None else None,
        attachments=sum(len(a.attachments) for a in s.articles),
    )
