"""The assessment (pure): what a ticket already shows of one closure, step by step.

A closure recognises its own note by its reference line — ``Referencia de cierre:
oc-…`` as a line of its own (plain ASCII, so it survives a server that re-labels or
mangles the charset; typed text cannot produce that line, see
:func:`~otrs_closure._workflow.prepare.prepare`) — or by the whole body after the
normalisation Znuny applies; for an onboarding, a note with the reference whose
password line shows another password is another closure. Its files are matched by
(cleaned filename, size), then size, on its own articles; its owner note is a "Se
modifica propietario" article after its note.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from otrs_closure import manual
from otrs_closure._files import PreparedFile
from otrs_closure._ticket import ArticleInfo, TicketSnapshot
from otrs_closure._workflow.prepare import PreparedClosure
from otrs_closure.note import normalize_text, secret_lines
from otrs_closure.results import AttachmentInfo
from otrs_closure.settings import ClosureSettings

__all__ = ["Assessment", "assess", "file_key"]


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
    repairs: int = 0  # "Formatos adjuntos" articles of this closure already on the ticket

    @property
    def complete(self) -> bool:
        return (
            self.note is not None
            and not self.missing_files
            and self.state_done
            and self.owner_done
            and self.owner_note is not None
        )

    @property
    def reopened(self) -> bool:
        """This closure is on the ticket, but the ticket was changed after it: its state is
        no longer the attended one, or its owner changed after the owner note."""
        if self.note is None:
            return False
        return not self.state_done or (self.owner_note is not None and not self.owner_done)

    @property
    def shows_any(self) -> bool:
        """Whether the ticket carries any part of this closure (its note is the first)."""
        return self.note is not None


def _same(a: str, b: str) -> bool:
    return normalize_text(a).casefold() == normalize_text(b).casefold()


_NOT_IN_FILENAME = re.compile(r"[^\w\-+.#]")


def file_key(name: str) -> str:
    """A filename as compared across a round trip through Znuny, whose attachment
    storage may clean names (``FilenameCleanUp``: trimmed, leading dots dropped, every
    character other than word characters and ``-+.#`` replaced by ``_``)."""
    name = unicodedata.normalize("NFC", name).strip().lstrip(".")
    return _NOT_IN_FILENAME.sub("_", name)


def _lines(text: str) -> list[str]:
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
    """Compare the ticket with this closure's target, step by step."""
    reference = normalize_text(p.templates.reference(p.closure_id))
    body = normalize_text(p.body)
    secrets = [
        (normalize_text(prefix), _lines(line)) for prefix, line in secret_lines(p.attention, p.closure_id, p.templates)
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
        lines = _lines(text)
        return reference in lines and not other_secret(lines)

    notes = [a for a in snapshot.articles if _same(a.subject, settings.note_subject)]
    ours = [a for a in notes if is_ours(a)]
    note = ours[0] if ours else None
    others = tuple(a for a in notes if not is_ours(a))

    repairs = [a for a in snapshot.articles if _same(a.subject, manual.FORMATS_SUBJECT) and is_ours(a)]
    carriers = [a for a in snapshot.articles if a is note or a in repairs]
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
        repairs=len(repairs),
    )
