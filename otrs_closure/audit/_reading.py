"""Reading tickets for an audit, fast and gently: several TicketIDs per TicketGet (every
generation takes a comma-separated list), attachment metadata only, reads only (under the
client's read retries), and what a failure concerns kept apart — a ticket the agent may
not read is reported on its own, a server that fails stops the audit.

Where the server cannot list attachments without their contents (OTRS 5 ignores
``GetAttachmentContents=0``; its profile says so, and an answer that carries contents
anyway teaches it), tickets are first read without attachments, and only those whose
verdict depends on attachments (onboardings, or all with ``require_formats``) are read
again with them, a few per request (:data:`CONTENTS_PER_REQUEST`), so that an audit never
pulls every scan of a queue, nor many in one answer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from otrs_closure._http.gi import TICKET_GET_PARAMS, GenericInterface
from otrs_closure._ticket import TicketSnapshot, parse_ticket
from otrs_closure.errors import (
    AccessDenied,
    InvalidParameter,
    OtrsClosureError,
    ServerCompatibilityError,
    ServerError,
    TicketNotFound,
)
from otrs_closure.servers import PROFILES, ServerInfo
from otrs_closure.servers._knowledge import ServerKnowledge

__all__ = [
    "TicketReader",
    "Unread",
    "contents_optional",
    "MAX_PER_REQUEST",
    "CONTENTS_PER_REQUEST",
    "WITH_ATTACHMENTS",
    "WITHOUT_ATTACHMENTS",
]

log = logging.getLogger("otrs_closure.audit")

#: The most TicketIDs sent in one TicketGet (the URL stays far below Apache's 8 KiB line).
MAX_PER_REQUEST = 100
#: TicketIDs per TicketGet when attachments come with their contents (OTRS 5): few, so
#: that one answer holds the scans of a handful of tickets, not of a whole batch.
CONTENTS_PER_REQUEST = 5
#: Every article, attachment metadata (no contents where the server honours it).
WITH_ATTACHMENTS: Mapping[str, Any] = TICKET_GET_PARAMS
#: Every article, no attachments.
WITHOUT_ATTACHMENTS: Mapping[str, Any] = {"AllArticles": 1, "Attachments": 0}


@dataclass(frozen=True)
class Unread:
    """A ticket that could not be read, and why."""

    ticket_id: int
    error: OtrsClosureError


def contents_optional(info: ServerInfo) -> bool | None:
    """Whether the server lists attachments without their contents, from what is known of
    it: its profile, else every profile that fits its article fields (None: unknown)."""
    if info.profile is not None:
        return PROFILES[info.profile].attachment_contents_optional
    if info.article_fields is None:
        return None
    flags = {p.attachment_contents_optional for p in PROFILES.values() if p.article_fields.name == info.article_fields}
    return flags.pop() if len(flags) == 1 else None


def _concerns_tickets(exc: OtrsClosureError) -> bool:
    """Whether a TicketGet failure is about (one of) the tickets asked for rather than the
    server: no permission, no such ticket, an answer without it. Those are split down to
    the ticket; anything else (credentials, network, a failing server) stops the audit."""
    if isinstance(exc, (AccessDenied, InvalidParameter, TicketNotFound)):
        return True
    return isinstance(exc, ServerError) and not exc.retryable and exc.http_status in (None, 200)


def _carries_contents(raw: Mapping[str, Any]) -> bool:
    for article in raw.get("Article") or ():
        if isinstance(article, Mapping):
            for att in article.get("Attachment") or ():
                if isinstance(att, Mapping) and att.get("Content"):
                    return True
    return False


class TicketReader:
    """Reads tickets by TicketID for the audit (thread-safe: one reader serves every worker)."""

    def __init__(
        self,
        gi: GenericInterface,
        knowledge: ServerKnowledge,
        *,
        needs_attachments: Callable[[TicketSnapshot], bool],
    ) -> None:
        self.gi = gi
        self.knowledge = knowledge
        self.needs_attachments = needs_attachments
        self._lock = threading.Lock()
        self._contents_seen = False

    def contents_optional(self) -> bool | None:
        """Whether attachments can be listed without contents (None: not known yet)."""
        with self._lock:
            if self._contents_seen:
                return False
        return contents_optional(self.knowledge.info())

    def _learn(self, snap: TicketSnapshot) -> None:
        fields = snap.article_fields
        if fields is None:
            return
        key = next(a.visibility.split("=")[0] for a in snap.articles if a.fields == fields)
        try:
            self.knowledge.learn_article_fields(
                fields, snap.article_keys, f"the articles of ticket {snap.ticket_id} carry {key}"
            )
        except ServerCompatibilityError as exc:  # matters to a closure's writes, not to a read
            log.debug("audit: %s", exc)

    def get(self, ids: Sequence[int], params: Mapping[str, Any]) -> list[TicketSnapshot | Unread]:
        """TicketGet of ``ids`` (one request when all can be read), in the order asked."""
        try:
            raw = self.gi.get_tickets(list(ids), params)
        except OtrsClosureError as exc:
            if not _concerns_tickets(exc):
                raise
            if len(ids) == 1:
                return [Unread(ids[0], exc)]
            half = len(ids) // 2
            return self.get(ids[:half], params) + self.get(ids[half:], params)
        found: dict[int, TicketSnapshot] = {}
        for t in raw:
            if params.get("GetAttachmentContents") == 0 and _carries_contents(t):
                with self._lock:
                    if not self._contents_seen:
                        log.info("audit: the server sends attachment contents anyway; reading them only where needed")
                    self._contents_seen = True
            try:
                snap = parse_ticket(t, ",".join(str(i) for i in ids))
            except ServerError:
                continue
            self._learn(snap)
            found[snap.ticket_id] = snap
        out: list[TicketSnapshot | Unread] = []
        for i in ids:
            if i in found:
                out.append(found[i])
            elif len(ids) > 1:
                out.extend(self.get([i], params))
            else:
                out.append(
                    Unread(i, ServerError("TicketGet answered without this ticket", operation="TicketGet", ticket=i))
                )
        return out

    def fetch(self, ids: Sequence[int]) -> list[TicketSnapshot | Unread]:
        """The tickets, each with what its verdict needs: attachment metadata in one pass
        where the server lists it without contents; otherwise no attachments first, then
        those whose verdict depends on them again with them, a few per request."""
        if self.contents_optional() is True:
            # Should the server send contents anyway, these carry their attachments already;
            # the reader goes the gentle way from the next batch on.
            return self.get(ids, WITH_ATTACHMENTS)
        light = self.get(ids, WITHOUT_ATTACHMENTS)
        need = [r.ticket_id for r in light if isinstance(r, TicketSnapshot) and self.needs_attachments(r)]
        if not need:
            return light
        if self.contents_optional() is True:  # learned from these very tickets' articles
            again = self.get(need, WITH_ATTACHMENTS)
        else:
            n = CONTENTS_PER_REQUEST
            again = [x for i in range(0, len(need), n) for x in self.get(need[i : i + n], WITH_ATTACHMENTS)]
        by_id = {r.ticket_id: r for r in again}
        return [by_id.get(r.ticket_id, r) for r in light]
