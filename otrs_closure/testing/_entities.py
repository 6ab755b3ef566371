"""Mutable records of the fake's in-memory database (agents, queues, tickets, articles...).

They mirror the Znuny tables the GenericInterface touches; they are internal and always
accessed under the fake's lock. Tests read state through :mod:`otrs_closure.testing._views`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ALL_PERMISSIONS",
    "Agent",
    "CustomerUser",
    "Group",
    "Queue",
    "State",
    "NamedItem",
    "DynamicFieldDef",
    "Attachment",
    "Article",
    "HistoryEntry",
    "Ticket",
    "Session",
]

#: Znuny's agent permission types; ``rw`` implies all of them.
ALL_PERMISSIONS = ("ro", "move_into", "create", "note", "owner", "priority", "close", "move", "responsible", "rw")


@dataclass
class Agent:
    """An agent (``users`` table) with per-group permissions."""

    user_id: int
    login: str
    first_name: str
    last_name: str
    password: str
    email: str
    valid: bool = True
    permissions: dict[int, set[str]] = field(default_factory=dict)
    create_time: int = 0
    last_login: int = 0

    @property
    def full_name(self) -> str:
        """Znuny's default ``UserFullname``: first name, space, last name."""
        return f"{self.first_name} {self.last_name}"

    def has(self, group_id: int, permission: str) -> bool:
        """Whether the agent has ``permission`` (or ``rw``) on the group."""
        perms = self.permissions.get(group_id, set())
        return "rw" in perms or permission in perms


@dataclass
class CustomerUser:
    """A customer user (``customer_user`` table)."""

    login: str
    customer_id: str
    first_name: str
    last_name: str
    email: str
    password: str = ""
    valid: bool = True

    @property
    def full_name(self) -> str:
        """First and last name."""
        return f"{self.first_name} {self.last_name}"

    @property
    def mailbox(self) -> str:
        """``"Full Name" <email>`` as Znuny writes it into article From/To."""
        return f'"{self.full_name}" <{self.email}>'


@dataclass
class Group:
    """A permission group."""

    group_id: int
    name: str


@dataclass
class Queue:
    """A queue and the group that guards it."""

    queue_id: int
    name: str
    group_id: int
    valid: bool = True


@dataclass
class State:
    """A ticket state with its state type (new, open, closed, pending reminder, ...)."""

    state_id: int
    name: str
    type_name: str
    valid: bool = True


@dataclass
class NamedItem:
    """Priority, ticket type, lock, sender type, channel: an id and a name."""

    item_id: int
    name: str
    valid: bool = True


@dataclass
class DynamicFieldDef:
    """A dynamic field definition (ticket or article object)."""

    field_id: int
    name: str
    field_type: str = "Text"
    object_type: str = "Ticket"
    possible_values: dict[str, str] | None = None
    valid: bool = True


@dataclass
class Attachment:
    """An article attachment: the decoded bytes and their metadata (as ArticleAttachment reads them)."""

    filename: str
    content: bytes
    content_type: str
    disposition: str = "attachment"
    content_id: str = ""
    content_alternative: str = ""

    @property
    def size(self) -> int:
        """Size in bytes."""
        return len(self.content)


@dataclass
class Article:
    """An article (MIME backend) of a ticket."""

    article_id: int
    ticket_id: int
    article_number: int
    channel_id: int
    sender_type_id: int
    is_visible_for_customer: int
    from_: str
    to: str
    cc: str
    bcc: str
    subject: str
    body: str
    content_type: str
    mime_type: str
    charset: str
    create_time: int
    create_by: int
    reply_to: str = ""
    message_id: str = ""
    in_reply_to: str = ""
    references: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    time_unit: float = 0.0
    dynamic_fields: dict[str, Any] = field(default_factory=dict)
    #: OTRS 5's article type (0 on 6+, where channel and visibility say it).
    article_type_id: int = 0

    def sorted_attachments(self) -> list[tuple[int, Attachment]]:
        """Attachments with their FileID: Znuny numbers them in filename order."""
        ordered = sorted(self.attachments, key=lambda a: a.filename)
        return [(i + 1, a) for i, a in enumerate(ordered)]


@dataclass
class HistoryEntry:
    """One ``ticket_history`` row; ids are a snapshot taken right after the change."""

    history_id: int
    ticket_id: int
    article_id: int
    name: str
    history_type: str
    history_type_id: int
    create_by: int
    create_time: int
    queue_id: int
    owner_id: int
    priority_id: int
    state_id: int
    type_id: int


@dataclass
class Ticket:
    """A ticket with its articles, dynamic field values and history."""

    ticket_id: int
    ticket_number: str
    title: str
    queue_id: int
    state_id: int
    priority_id: int
    type_id: int
    lock_id: int
    owner_id: int
    responsible_id: int
    customer_id: str | None  # NULL for the welcome ticket
    customer_user_id: str | None
    create_time: int
    create_by: int
    change_time: int
    change_by: int
    unlock_timeout: int = 0
    until_time: int = 0
    archived: bool = False
    service_id: int | None = None
    sla_id: int | None = None
    dynamic_fields: dict[str, Any] = field(default_factory=dict)
    articles: list[Article] = field(default_factory=list)
    history: list[HistoryEntry] = field(default_factory=list)


@dataclass
class Session:
    """A GenericInterface session (never refreshed by use: not sliding)."""

    session_id: str
    user_type: str  # "User" or "Customer"
    login: str
    created: float
    remote_addr: str | None = None
    user_agent: str = ""
    removed: bool = False
