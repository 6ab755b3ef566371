"""A ticket as TicketGet shows it, in any generation: the read-only snapshot that the
closure and the audit decide from. Sizes, times, ids and visibility are parsed from
whichever generation's keys the answer carries (see :mod:`otrs_closure.servers`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from otrs_closure.errors import ServerError
from otrs_closure.results import AttachmentInfo
from otrs_closure.servers import ARTICLE_FIELDS, ARTICLE_TIME_KEYS

__all__ = ["ArticleInfo", "TicketSnapshot", "parse_ticket"]


class ArticleInfo(BaseModel):
    """One article (attachment metadata only)."""

    model_config = ConfigDict(frozen=True)

    article_id: int
    subject: str = ""
    body: str = ""
    sender_type: str = ""
    internal: bool | None = None  # None: the article shows no visibility field
    visibility: str = ""  # as the server shows it, e.g. "IsVisibleForCustomer=0"
    fields: str | None = None  # the generation's article fields it carries: "channel" / "article_type"
    create_time: str = ""
    created_by: int | None = None
    sender: str = ""  # the From line
    attachments: tuple[AttachmentInfo, ...] = ()

    @property
    def is_visible_for_customer(self) -> bool:
        return self.internal is False


class TicketSnapshot(BaseModel):
    """A ticket as TicketGet returned it: the fields the closure and the audit decide from."""

    model_config = ConfigDict(frozen=True)

    ticket_id: int
    ticket_number: str
    state: str
    state_type: str = ""
    owner: str
    queue: str = ""
    title: str = ""
    lock: str = ""
    changed: str = ""
    articles: tuple[ArticleInfo, ...] = ()
    article_keys: frozenset[str] = frozenset()

    @property
    def article_fields(self) -> str | None:
        """The article fields every article that shows one carries (None: no article tells,
        or they disagree)."""
        seen = {a.fields for a in self.articles if a.fields is not None}
        return seen.pop() if len(seen) == 1 else None


def _int(value: Any, default: int = 0) -> int:
    text = str(value).strip() if value is not None else ""
    return int(text) if text.isascii() and text.isdigit() else default


def _size(att: Mapping[str, Any]) -> int:
    # FilesizeRaw everywhere; OTRS 5 also sends a text Filesize ("926 Bytes").
    if "FilesizeRaw" in att:
        return _int(att.get("FilesizeRaw"))
    head = str(att.get("Filesize", "")).split(" ")[0]
    return _int(head)


def _article(a: Mapping[str, Any]) -> ArticleInfo:
    fields = next((f for f in ARTICLE_FIELDS.values() if f.shows(a)), None)
    time = next((str(a[k]) for k in ARTICLE_TIME_KEYS if a.get(k)), "")
    created_by = a.get("CreateBy", a.get("CreatedBy"))
    return ArticleInfo(
        article_id=_int(a.get("ArticleID")),
        subject=str(a.get("Subject") or ""),
        body=str(a.get("Body") or ""),
        sender_type=str(a.get("SenderType") or ""),
        internal=fields.internal_in(a) if fields else None,
        visibility=f"{fields.visibility_key}={a.get(fields.visibility_key)}" if fields else "",
        fields=fields.name if fields else None,
        create_time=time,
        created_by=_int(created_by) if created_by is not None else None,
        sender=str(a.get("From") or ""),
        attachments=tuple(
            AttachmentInfo(
                filename=str(x.get("Filename", "")),
                size=_size(x),
                content_type=str(x.get("ContentType", "")),
            )
            for x in (a.get("Attachment") or [])
            if isinstance(x, Mapping)
        ),
    )


def parse_ticket(t: Any, ref: int | str) -> TicketSnapshot:
    """One ticket object of a TicketGet answer → :class:`TicketSnapshot` (ids arrive as
    numbers or strings; articles sorted by ArticleID)."""
    if not isinstance(t, Mapping) or _int(t.get("TicketID")) <= 0:
        raise ServerError("TicketGet answered without a ticket", operation="TicketGet", ticket=ref)
    raw_articles = [a for a in (t.get("Article") or []) if isinstance(a, Mapping)]
    if any(_int(a.get("ArticleID")) <= 0 for a in raw_articles):
        raise ServerError("TicketGet answered an article without an ArticleID", operation="TicketGet", ticket=ref)
    articles = sorted((_article(a) for a in raw_articles), key=lambda x: x.article_id)
    keys = frozenset(k for a in raw_articles for k in a)
    return TicketSnapshot(
        ticket_id=_int(t.get("TicketID")),
        ticket_number=str(t.get("TicketNumber", "")),
        title=str(t.get("Title") or ""),
        state=str(t.get("State", "")),
        state_type=str(t.get("StateType", "")),
        owner=str(t.get("Owner", "")),
        queue=str(t.get("Queue", "")),
        lock=str(t.get("Lock", "")),
        changed=str(t.get("Changed", "")),
        articles=tuple(articles),
        article_keys=keys,
    )
