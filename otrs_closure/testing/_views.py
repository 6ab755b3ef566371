"""Read-only snapshots of tickets for test assertions, and :func:`assert_ticket`.

A :class:`TicketView` is a frozen copy taken under the fake's lock: later requests do not
change it, so a test can compare "before" and "after". ``assert_ticket`` checks several
facts at once and reports every mismatch in one readable AssertionError.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from otrs_closure.testing._entities import Ticket
from otrs_closure.testing._store import ARTICLE_TYPES, CHANNELS, LOCKS, SENDER_TYPES, Store

__all__ = ["AttachmentView", "ArticleView", "HistoryView", "TicketView", "ticket_view", "assert_ticket"]


@dataclass(frozen=True)
class AttachmentView:
    """An attachment as stored: decoded bytes and metadata."""

    file_id: int
    filename: str
    content: bytes
    content_type: str
    disposition: str

    @property
    def size(self) -> int:
        """Size in bytes."""
        return len(self.content)


@dataclass(frozen=True)
class ArticleView:
    """An article as stored."""

    article_id: int
    article_number: int
    subject: str
    body: str
    sender_type: str
    channel: str
    is_visible_for_customer: bool
    from_: str
    to: str
    content_type: str
    create_time: str
    create_by: int
    attachments: tuple[AttachmentView, ...]
    dynamic_fields: Mapping[str, Any]
    time_unit: float
    #: OTRS 5's article type (``note-internal``, ``webrequest``...); ``""`` on 6+.
    article_type: str = ""


@dataclass(frozen=True)
class HistoryView:
    """One history row."""

    history_type: str
    name: str
    article_id: int
    create_by: int
    create_time: str
    owner_id: int
    state_id: int
    queue_id: int
    priority_id: int
    type_id: int


@dataclass(frozen=True)
class TicketView:
    """A frozen snapshot of a ticket."""

    ticket_id: int
    ticket_number: str
    title: str
    queue: str
    state: str
    state_type: str
    priority: str
    type: str
    lock: str
    owner: str
    owner_id: int
    responsible: str
    customer_id: str
    customer_user: str
    created: str
    changed: str
    pending_until: int
    dynamic_fields: Mapping[str, Any]
    articles: tuple[ArticleView, ...]
    history: tuple[HistoryView, ...]

    def attachments(self) -> tuple[AttachmentView, ...]:
        """All attachments of all articles, in article order."""
        return tuple(a for article in self.articles for a in article.attachments)

    def articles_with_subject(self, subject: str) -> tuple[ArticleView, ...]:
        """Articles whose subject is exactly ``subject``."""
        return tuple(a for a in self.articles if a.subject == subject)


def ticket_view(store: Store, ticket: Ticket) -> TicketView:
    """Snapshot a ticket (call with the store lock held)."""
    clock = store.clock
    owner = store.agents.get(ticket.owner_id)
    responsible = store.agents.get(ticket.responsible_id)
    state = store.states[ticket.state_id]
    articles = tuple(
        ArticleView(
            article_id=a.article_id,
            article_number=a.article_number,
            subject=a.subject,
            body=a.body,
            sender_type=SENDER_TYPES[a.sender_type_id],
            channel=CHANNELS[a.channel_id],
            is_visible_for_customer=bool(a.is_visible_for_customer),
            from_=a.from_,
            to=a.to,
            content_type=a.content_type,
            create_time=clock.render(a.create_time),
            create_by=a.create_by,
            attachments=tuple(
                AttachmentView(
                    file_id=file_id,
                    filename=att.filename,
                    content=att.content,
                    content_type=att.content_type,
                    disposition=att.disposition,
                )
                for file_id, att in a.sorted_attachments()
            ),
            dynamic_fields=dict(a.dynamic_fields),
            time_unit=a.time_unit,
            article_type=ARTICLE_TYPES.get(a.article_type_id, ""),
        )
        for a in ticket.articles
    )
    history = tuple(
        HistoryView(
            history_type=h.history_type,
            name=h.name,
            article_id=h.article_id,
            create_by=h.create_by,
            create_time=clock.render(h.create_time),
            owner_id=h.owner_id,
            state_id=h.state_id,
            queue_id=h.queue_id,
            priority_id=h.priority_id,
            type_id=h.type_id,
        )
        for h in ticket.history
    )
    return TicketView(
        ticket_id=ticket.ticket_id,
        ticket_number=ticket.ticket_number,
        title=ticket.title,
        queue=store.queues[ticket.queue_id].name,
        state=state.name,
        state_type=state.type_name,
        priority=store.priorities[ticket.priority_id].name,
        type=store.types[ticket.type_id].name,
        lock=LOCKS[ticket.lock_id],
        owner=owner.login if owner else "",
        owner_id=ticket.owner_id,
        responsible=responsible.login if responsible else "",
        customer_id=ticket.customer_id or "",
        customer_user=ticket.customer_user_id or "",
        created=clock.render(ticket.create_time),
        changed=clock.render(ticket.change_time),
        pending_until=ticket.until_time,
        dynamic_fields=dict(ticket.dynamic_fields),
        articles=articles,
        history=history,
    )


def assert_ticket(
    ticket: TicketView,
    *,
    state: str | None = None,
    owner: str | None = None,
    lock: str | None = None,
    queue: str | None = None,
    priority: str | None = None,
    title: str | None = None,
    article_count: int | None = None,
    notes_with_subject: Mapping[str, int] | None = None,
    attachments_bytes: Mapping[str, bytes] | None = None,
    dynamic_fields: Mapping[str, Any] | None = None,
) -> None:
    """Check a snapshot; raises one AssertionError listing every mismatch.

    ``notes_with_subject`` maps a subject to how many articles carry it; ``attachments_bytes``
    maps a filename to the exact bytes stored (across all articles).
    """
    problems: list[str] = []
    for label, expected, actual in (
        ("state", state, ticket.state),
        ("owner", owner, ticket.owner),
        ("lock", lock, ticket.lock),
        ("queue", queue, ticket.queue),
        ("priority", priority, ticket.priority),
        ("title", title, ticket.title),
    ):
        if expected is not None and expected != actual:
            problems.append(f"{label}: expected {expected!r}, found {actual!r}")
    if article_count is not None and article_count != len(ticket.articles):
        problems.append(f"articles: expected {article_count}, found {len(ticket.articles)}")
    for subject, count in (notes_with_subject or {}).items():
        found = len(ticket.articles_with_subject(subject))
        if found != count:
            subjects = [a.subject for a in ticket.articles]
            problems.append(
                f"articles with subject {subject!r}: expected {count}, found {found} (subjects: {subjects})"
            )
    if attachments_bytes:
        stored: dict[str, list[bytes]] = {}
        for attachment in ticket.attachments():
            stored.setdefault(attachment.filename, []).append(attachment.content)
        for filename, content in attachments_bytes.items():
            if filename not in stored:
                problems.append(f"attachment {filename!r}: missing (stored: {sorted(stored)})")
            elif content not in stored[filename]:
                sizes = [len(c) for c in stored[filename]]
                problems.append(
                    f"attachment {filename!r}: bytes differ (expected {len(content)} bytes, stored sizes {sizes})"
                )
    for name, value in (dynamic_fields or {}).items():
        if ticket.dynamic_fields.get(name) != value:
            problems.append(f"dynamic field {name!r}: expected {value!r}, found {ticket.dynamic_fields.get(name)!r}")
    if problems:
        header = f"ticket {ticket.ticket_number} (TicketID {ticket.ticket_id}) does not match:"
        raise AssertionError("\n  - ".join([header, *problems]))
