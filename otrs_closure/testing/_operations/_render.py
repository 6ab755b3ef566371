"""JSON shapes of TicketGet, TicketHistoryGet and SessionGet answers, key for key.

The key sets and JSON types (TicketID a number here, SenderTypeID a string, FileID and
FilesizeRaw strings, SLAID/ServiceID ``""``...) are copied from the recordings of a live
Znuny 6.5.15, so clients parsing the fake parse the real server.
"""

from __future__ import annotations

import re
from typing import Any

from otrs_closure.testing._b64 import encode_base64
from otrs_closure.testing._entities import Article, Attachment, HistoryEntry, Session, Ticket
from otrs_closure.testing._store import CHANNELS, LOCKS, SENDER_TYPES, Store

__all__ = [
    "render_ticket",
    "render_article",
    "attachment_index",
    "render_history",
    "render_session_data",
    "dynamic_field_list",
]


def dynamic_field_list(values: dict[str, Any]) -> list[dict[str, Any]]:
    """``[{"Name", "Value"}]`` for the fields that have a value, by name."""
    return [
        {"Name": name, "Value": value}
        for name, value in sorted(values.items())
        if value is not None and value != "" and value != []
    ]


def render_ticket(
    store: Store, ticket: Ticket, *, dynamic_fields: bool = False, extended: bool = False
) -> dict[str, Any]:
    """The core TicketGet hash (plus TimeUnit) as the GenericInterface returns it."""
    clock = store.clock
    now = clock.epoch()
    queue = store.queues[ticket.queue_id]
    state = store.states[ticket.state_id]
    owner = store.agents.get(ticket.owner_id)
    responsible = store.agents.get(ticket.responsible_id)
    pending = state.type_name.lower().startswith("pending") and ticket.until_time > 0
    data: dict[str, Any] = {
        "Age": now - ticket.create_time,
        "ArchiveFlag": "y" if ticket.archived else "n",
        "ChangeBy": ticket.change_by,
        "Changed": clock.render(ticket.change_time),
        "CreateBy": ticket.create_by,
        "Created": clock.render(ticket.create_time),
        "CustomerID": ticket.customer_id,
        "CustomerUserID": ticket.customer_user_id,
        "EscalationResponseTime": 0,
        "EscalationSolutionTime": 0,
        "EscalationTime": 0,
        "EscalationUpdateTime": 0,
        "GroupID": queue.group_id,
        "Lock": LOCKS[ticket.lock_id],
        "LockID": ticket.lock_id,
        "Owner": owner.login if owner else "",
        "OwnerID": ticket.owner_id,
        "Priority": store.priorities[ticket.priority_id].name,
        "PriorityID": ticket.priority_id,
        "Queue": queue.name,
        "QueueID": queue.queue_id,
        "RealTillTimeNotUsed": ticket.until_time,
        "Responsible": responsible.login if responsible else "",
        "ResponsibleID": ticket.responsible_id,
        "SLAID": "",
        "ServiceID": "",
        "State": state.name,
        "StateID": state.state_id,
        "StateType": state.type_name,
        "TicketID": ticket.ticket_id,
        "TicketNumber": ticket.ticket_number,
        "TimeUnit": _number(sum(a.time_unit for a in ticket.articles)),
        "Title": ticket.title,
        "Type": store.types[ticket.type_id].name,
        "TypeID": ticket.type_id,
        "UnlockTimeout": ticket.unlock_timeout,
        "UntilTime": ticket.until_time - now if pending else 0,
    }
    if dynamic_fields:
        fields = dynamic_field_list(ticket.dynamic_fields)
        if fields:
            data["DynamicField"] = fields
    if extended:
        data.update(_extended(store, ticket))
    return data


def _extended(store: Store, ticket: Ticket) -> dict[str, Any]:
    """``Extended=1`` additions as the core's _TicketGetExtended makes them without escalation
    settings: FirstLock (first Lock row), FirstResponse (first customer-visible agent article;
    FirstResponseInMin/DiffInMin only exist with a first-response escalation time) and
    Closed/SolutionInMin (latest NewTicket/StateUpdate row in a closed state, even if the
    ticket was reopened since)."""
    clock = store.clock
    extra: dict[str, Any] = {}
    closed_at: int | None = None
    for entry in ticket.history:
        state = store.states.get(entry.state_id)
        if (
            entry.history_type in ("StateUpdate", "NewTicket")
            and state is not None
            and state.type_name == "closed"
            and (closed_at is None or entry.create_time >= closed_at)
        ):
            closed_at = entry.create_time
    if closed_at is not None:
        extra["Closed"] = clock.render(closed_at)
        extra["SolutionInMin"] = max(0, (closed_at - ticket.create_time) // 60)
    for article in sorted(ticket.articles, key=lambda a: (a.create_time, a.article_id)):
        if SENDER_TYPES.get(article.sender_type_id) == "agent" and article.is_visible_for_customer:
            extra["FirstResponse"] = clock.render(article.create_time)
            break
    for entry in ticket.history:
        if entry.history_type == "Lock":
            extra["FirstLock"] = clock.render(entry.create_time)
            break
    return extra


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def attachment_index(
    article: Article, *, exclude_plain_text: bool = False, exclude_html_body: bool = False
) -> list[tuple[str, Attachment]]:
    """ArticleAttachmentIndex: ``(FileID, attachment)`` with FileIDs numbered in filename order,
    listed in Perl's string order of the ids ("1", "10", "2", ...), minus the plain-text
    (``file-1``) and/or HTML-body (``file-2``/``file-1.html``) parts when asked."""
    index = sorted(((str(file_id), a) for file_id, a in article.sorted_attachments()), key=lambda pair: pair[0])
    plain = html = ""
    for file_id, att in index:
        if (
            not plain
            and att.filename == "file-1"
            and _has(att.content_type, "text/plain")
            and att.disposition == "inline"
        ):
            plain = file_id
            continue
        if (
            not html
            and (re.fullmatch(r"file-[12]", att.filename) or att.filename == "file-1.html")
            and _has(att.content_type, "text/html")
            and att.disposition == "inline"
        ):
            html = file_id
    if not plain and not html:
        plain = next((i for i, a in index if a.filename == "file-1" and _has(a.content_type, "text/plain")), "")
    excluded = {plain if exclude_plain_text else "", html if exclude_html_body else ""} - {""}
    return [(file_id, att) for file_id, att in index if file_id not in excluded]


def _has(content_type: str, mime: str) -> bool:
    return re.search(re.escape(mime), content_type, flags=re.IGNORECASE) is not None


def render_article(
    store: Store,
    article: Article,
    *,
    attachments: bool = False,
    attachment_contents: bool = True,
    dynamic_fields: bool = False,
    html_body_attachment: bool = False,
    every_attachment: bool = False,
) -> dict[str, Any]:
    """The MIME backend's ArticleGet hash (plus TimeUnit, Attachment, DynamicField) as TicketGet
    returns it: attachments without the plain-text body and, unless ``html_body_attachment``
    (HTMLBodyAsAttachment), without the HTML body; no ``Attachment`` key when none is left."""
    clock = store.clock
    data: dict[str, Any] = {
        "ArticleID": article.article_id,
        "ArticleNumber": article.article_number,
        "Bcc": article.bcc,
        "Body": article.body,
        "Cc": article.cc,
        "ChangeBy": article.create_by,
        "ChangeTime": clock.render(article.create_time),
        "Charset": article.charset,
        "CommunicationChannel": CHANNELS[article.channel_id],
        "CommunicationChannelID": article.channel_id,
        "ContentCharset": article.charset,
        "ContentType": article.content_type,
        "CreateBy": article.create_by,
        "CreateTime": clock.render(article.create_time),
        "From": article.from_,
        "InReplyTo": article.in_reply_to,
        "IncomingTime": article.create_time,
        "IsVisibleForCustomer": article.is_visible_for_customer,
        "MessageID": article.message_id,
        "MimeType": article.mime_type,
        "References": article.references,
        "ReplyTo": article.reply_to,
        "SenderType": SENDER_TYPES[article.sender_type_id],
        "SenderTypeID": str(article.sender_type_id),
        "Subject": article.subject,
        "TicketID": article.ticket_id,
        "TimeUnit": _number(article.time_unit),
        "To": article.to,
    }
    if every_attachment:
        index = attachment_index(article)
    else:
        index = attachment_index(article, exclude_plain_text=True, exclude_html_body=not html_body_attachment)
    if attachments and index:
        data["Attachment"] = [
            {
                "Content": encode_base64(attachment.content) if attachment_contents else "",
                "ContentAlternative": attachment.content_alternative if attachment_contents else "",
                "ContentID": attachment.content_id,
                "ContentType": attachment.content_type,
                "Disposition": attachment.disposition,
                "FileID": file_id,
                "Filename": attachment.filename,
                "FilesizeRaw": str(attachment.size),
            }
            for file_id, attachment in index
        ]
    if dynamic_fields:
        fields = dynamic_field_list(article.dynamic_fields)
        if fields:
            data["DynamicField"] = fields
    return data


def render_history(store: Store, entry: HistoryEntry) -> dict[str, Any]:
    """One TicketHistoryGet line (the operation's "safe attributes")."""
    return {
        "ArticleID": entry.article_id,
        "CreateBy": entry.create_by,
        "CreateTime": store.clock.render(entry.create_time),
        "HistoryType": entry.history_type,
        "HistoryTypeID": entry.history_type_id,
        "Name": entry.name,
        "OwnerID": entry.owner_id,
        "PriorityID": entry.priority_id,
        "QueueID": entry.queue_id,
        "StateID": entry.state_id,
        "TicketID": str(entry.ticket_id),
        "TypeID": entry.type_id,
    }


def render_session_data(store: Store, session: Session) -> list[dict[str, Any]]:
    """SessionGet's ``SessionData``: Key/Value pairs sorted by key, secrets filtered out."""
    clock = store.clock
    start = str(int(session.created))
    common: dict[str, Any] = {
        "SessionSource": "GenericInterface",
        "UserLastRequest": start,
        "UserRemoteAddr": session.remote_addr or "127.0.0.1",
        "UserRemoteUserAgent": session.user_agent,
        "UserSessionStart": start,
        "UserType": session.user_type,
        "ValidID": "1",
    }
    if session.user_type == "User":
        user = store.agent_by_login(session.login)
        assert user is not None
        values: dict[str, Any] = {
            "AdminCommunicationLogPageShown": "25",
            "AdminDynamicFieldsOverviewPageShown": "25",
            "ChangeTime": clock.render(user.create_time),
            "CreateTime": clock.render(user.create_time),
            "UserCreateNextMask": "",
            "UserEmail": user.email,
            "UserFirstname": user.first_name,
            "UserFullname": user.full_name,
            "UserID": str(user.user_id),
            "UserLastLogin": str(user.last_login or int(session.created)),
            "UserLastLoginTimestamp": clock.render(user.last_login or session.created),
            "UserLastPwChangeTime": str(user.create_time),
            "UserLastViewsLimit": "5",
            "UserLastViewsPosition": "Avatar",
            "UserLastname": user.last_name,
            "UserLogin": user.login,
            "UserLoginFailed": "0",
            "UserRefreshTime": "0",
            "UserTicketOverviewMediumPageShown": "20",
            "UserTicketOverviewPreviewPageShown": "15",
            "UserTicketOverviewSmallPageShown": "25",
            "UserTitle": None,
        }
    else:
        customer = store.customers[session.login]
        values = {
            "ChangeTime": clock.render(session.created),
            "CreateTime": clock.render(session.created),
            "UserCustomerID": customer.customer_id,
            "UserEmail": customer.email,
            "UserFirstname": customer.first_name,
            "UserFullname": customer.full_name,
            "UserID": customer.login,
            "UserLastname": customer.last_name,
            "UserLogin": customer.login,
            "UserTitle": None,
        }
    values.update(common)
    return [{"Key": key, "Value": values[key]} for key in sorted(values)]
