"""JSON shapes of TicketGet, TicketHistoryGet and SessionGet answers, key for key.

The key sets and JSON types (TicketID a number here, SenderTypeID a string, FileID and
FilesizeRaw strings, SLAID/ServiceID ``""``...) are copied from the recordings of a live
Znuny 6.5.15, so clients parsing the fake parse the real server.
"""

from __future__ import annotations

import re
from email.utils import getaddresses
from typing import Any

from otrs_closure.testing._b64 import encode_base64
from otrs_closure.testing._entities import Article, Attachment, HistoryEntry, Session, Ticket
from otrs_closure.testing._store import ARTICLE_TYPES, CHANNELS, LOCKS, SENDER_TYPES, Store

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


def _field_entries(store: Store, values: dict[str, Any], object_types: tuple[str, ...]) -> list[dict[str, Any]]:
    """TicketGet's ``DynamicField`` list: the fields with a value (Znuny 6.5.15/7), or every valid
    field of the object types, ``null`` when empty (6.5.10, OTRS, OTOBO)."""
    if not store.profile.empty_dynamic_fields:
        return dynamic_field_list(values)
    names = {f.name for f in store.dynamic_fields.values() if f.valid and f.object_type in object_types}
    names |= {name for name, value in values.items() if value is not None}
    return [{"Name": name, "Value": _or_null(values.get(name))} for name in sorted(names)]


def _or_null(value: Any) -> Any:
    return None if value == "" or value == [] else value


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
    if store.profile.ticket_get_generation == 5:  # OTRS 5: no TimeUnit, the creation in epoch seconds
        del data["TimeUnit"]
        data["CreateTimeUnix"] = ticket.create_time
    if dynamic_fields:
        fields = _field_entries(store, ticket.dynamic_fields, ("Ticket",))
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
        if store.profile.ticket_get_generation == 5:
            extra["SolutionTime"] = extra["Closed"]
    for article in sorted(ticket.articles, key=lambda a: (a.create_time, a.article_id)):
        if SENDER_TYPES.get(article.sender_type_id) == "agent" and _answers_customer(store, article):
            extra["FirstResponse"] = clock.render(article.create_time)
            break
    for entry in ticket.history:
        if entry.history_type == "Lock":
            extra["FirstLock"] = clock.render(entry.create_time)
            break
    return extra


def _answers_customer(store: Store, article: Article) -> bool:
    """Whether an agent article counts as the first response: customer-visible (6+), or on
    OTRS 5 of type email-external, note-external, phone, fax or sms (not ``webrequest``)."""
    if store.profile.ticket_get_generation == 5:
        name = ARTICLE_TYPES.get(article.article_type_id, "")
        return name.startswith(("email-ext", "note-ext")) or name in ("phone", "fax", "sms")
    return bool(article.is_visible_for_customer)


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


def _html_body_id(article: Article) -> str:
    """FileID of the article's HTML body part (``file-2``/``file-1.html``, inline), or ``""``."""
    for file_id, att in attachment_index(article):
        if (
            (re.fullmatch(r"file-[12]", att.filename) or att.filename == "file-1.html")
            and _has(att.content_type, "text/html")
            and att.disposition == "inline"
        ):
            return file_id
    return ""


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
    extended: bool = False,
) -> dict[str, Any]:
    """The article backend's ArticleGet hash (plus TimeUnit, Attachment, DynamicField) as TicketGet
    returns it: attachments without the plain-text body and, unless ``html_body_attachment``
    (HTMLBodyAsAttachment), without the HTML body; no ``Attachment`` key when none is left.
    The shape is the profile's: OTRS 5's (ArticleType, each article repeating the ticket's
    fields) or 6+'s (CommunicationChannelID, its name on Znuny 6.5.15/7, OTOBO's edit flags)."""
    if store.profile.ticket_get_generation == 5:
        data = _article_otrs5(store, article, extended=extended)
    else:
        data = _article(store, article)
    if every_attachment:
        index = attachment_index(article)
    else:
        index = attachment_index(article, exclude_plain_text=True, exclude_html_body=not html_body_attachment)
    if attachments and index:
        data["Attachment"] = [_attachment(store, file_id, a, attachment_contents) for file_id, a in index]
    if attachments and store.profile.ticket_get_generation == 5:
        html = _html_body_id(article)
        if html:  # OTRS 5's ArticleAttachmentIndex reports where the HTML body is
            data["AttachmentIDOfHTMLBody"] = html
    if dynamic_fields:
        if store.profile.ticket_get_generation == 5:  # ArticleGet there returns the ticket's fields too
            ticket = store.tickets[article.ticket_id]
            fields = _field_entries(store, {**ticket.dynamic_fields, **article.dynamic_fields}, ("Ticket", "Article"))
        else:
            fields = _field_entries(store, article.dynamic_fields, ("Article",))
        if fields:
            data["DynamicField"] = fields
    return data


def _article(store: Store, article: Article) -> dict[str, Any]:
    clock = store.clock
    profile = store.profile
    data: dict[str, Any] = {
        "ArticleID": article.article_id,
        "ArticleNumber": _article_number(store, article),
        "Bcc": article.bcc,
        "Body": article.body,
        "Cc": article.cc,
        "ChangeBy": article.create_by,
        "ChangeTime": clock.render(article.create_time),
        "Charset": article.charset,
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
    if profile.article_channel_name:
        data["CommunicationChannel"] = CHANNELS[article.channel_id]
    if profile.article_edit_flags:
        data["IsDeleted"] = 0
        data["IsEdited"] = 0
    return data


def _article_number(store: Store, article: Article) -> int:
    if store.profile.article_numbers == "created":
        return article.article_number
    siblings = sorted(store.tickets[article.ticket_id].articles, key=lambda a: (a.create_time, -a.article_id))
    return next(i for i, a in enumerate(siblings, 1) if a.article_id == article.article_id)


def _article_otrs5(store: Store, article: Article, *, extended: bool) -> dict[str, Any]:
    """OTRS 5's ArticleGet: the article's columns, with the ticket's fields repeated in it."""
    clock = store.clock
    now = clock.epoch()
    ticket = store.tickets[article.ticket_id]
    state = store.states[ticket.state_id]
    owner = store.agents.get(ticket.owner_id)
    responsible = store.agents.get(ticket.responsible_id)
    pending = state.type_name.lower().startswith("pending") and ticket.until_time > 0
    data: dict[str, Any] = {
        "Age": now - ticket.create_time,
        "AgeTimeUnix": now - article.create_time,
        "ArticleID": article.article_id,
        "ArticleType": ARTICLE_TYPES.get(article.article_type_id, ""),
        "ArticleTypeID": article.article_type_id,
        "Body": article.body,
        "Cc": article.cc,
        "Changed": clock.render(ticket.change_time),
        "Charset": article.charset,
        "ContentCharset": article.charset,
        "ContentType": article.content_type,
        "CreateTimeUnix": ticket.create_time,
        "Created": clock.render(article.create_time),
        "CreatedBy": article.create_by,
        "CustomerID": ticket.customer_id,
        "CustomerUserID": ticket.customer_user_id,
        "EscalationResponseTime": 0,
        "EscalationSolutionTime": 0,
        "EscalationTime": 0,
        "EscalationUpdateTime": 0,
        "From": article.from_,
        "InReplyTo": article.in_reply_to,
        "IncomingTime": article.create_time,
        "Lock": LOCKS[ticket.lock_id],
        "LockID": ticket.lock_id,
        "MessageID": article.message_id,
        "MimeType": article.mime_type,
        "Owner": owner.login if owner else "",
        "OwnerID": ticket.owner_id,
        "Priority": store.priorities[ticket.priority_id].name,
        "PriorityID": ticket.priority_id,
        "Queue": store.queues[ticket.queue_id].name,
        "QueueID": ticket.queue_id,
        "RealTillTimeNotUsed": ticket.until_time,
        "References": article.references,
        "ReplyTo": article.reply_to,
        "Responsible": responsible.login if responsible else "",
        "ResponsibleID": ticket.responsible_id,
        "SLA": "",
        "SLAID": None,
        "SenderType": SENDER_TYPES[article.sender_type_id],
        "SenderTypeID": article.sender_type_id,
        "Service": "",
        "ServiceID": None,
        "State": state.name,
        "StateID": state.state_id,
        "StateType": state.type_name,
        "Subject": article.subject,
        "TicketID": article.ticket_id,
        "TicketNumber": ticket.ticket_number,
        "Title": ticket.title,
        "To": article.to,
        "Type": store.types[ticket.type_id].name,
        "TypeID": ticket.type_id,
        "UntilTime": ticket.until_time - now if pending else 0,
    }
    for key in ("From", "To", "Cc"):
        if data[key]:
            data[f"{key}Realname"] = _realnames(data[key])
    if extended:
        data.update(_extended(store, ticket))
    return data


def _realnames(line: str) -> str:
    """OTRS 5's ``<Key>Realname``: a queue name as it is, else each address's display name (or the
    address itself), comma-separated."""
    if "@" not in line:
        return line
    names = [name or address for name, address in getaddresses([line]) if name or address]
    return ", ".join(names)


def _attachment(store: Store, file_id: str, attachment: Attachment, contents: bool) -> dict[str, Any]:
    """One ``Attachment`` entry: 6+'s (FileID, Content only when asked) or OTRS 5's (no FileID, a
    human ``Filesize``, the Content always)."""
    if store.profile.ticket_get_generation == 5:
        return {
            "Content": encode_base64(attachment.content, lines=True),
            "ContentAlternative": attachment.content_alternative,
            "ContentID": attachment.content_id,
            "ContentType": attachment.content_type,
            "Disposition": attachment.disposition,
            "Filename": attachment.filename,
            "Filesize": _human_size(attachment.size),
            "FilesizeRaw": str(attachment.size),
        }
    return {
        "Content": encode_base64(attachment.content) if contents else "",
        "ContentAlternative": attachment.content_alternative if contents else "",
        "ContentID": attachment.content_id,
        "ContentType": attachment.content_type,
        "Disposition": attachment.disposition,
        "FileID": file_id,
        "Filename": attachment.filename,
        "FilesizeRaw": str(attachment.size),
    }


def _human_size(size: int) -> str:
    """ArticleStorage's human-readable size (``926 Bytes``, ``1.2 KBytes``, ``20.0 MBytes``)."""
    if size > 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MBytes"
    if size > 1024:
        return f"{size / 1024:.1f} KBytes"
    return f"{size} Bytes"


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
        computed: dict[str, Any] = {
            "ChangeTime": clock.render(user.create_time),
            "CreateTime": clock.render(user.create_time),
            "UserEmail": user.email,
            "UserFirstname": user.first_name,
            "UserFullname": user.full_name,
            "UserID": str(user.user_id),
            "UserLastLogin": str(user.last_login or int(session.created)),
            "UserLastLoginTimestamp": clock.render(user.last_login or session.created),
            "UserLastPwChangeTime": str(user.create_time),
            "UserLastname": user.last_name,
            "UserLogin": user.login,
            "UserTitle": None,
        }
        values: dict[str, Any] = {
            key: computed.get(key) if constant is None else constant
            for key, constant in store.profile.session_agent_keys.items()
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
