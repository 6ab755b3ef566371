"""The GenericInterface operations (Session*, Ticket*), check for check and write for write.

Each operation takes the merged input hash the REST transport built and returns the
answer's ``Data`` (an operation error is ``{"Error": {...}}``, HTTP 200) or raises
:class:`~otrs_closure.testing.faults.OperationFault` (HTTP 500 JSON fault). Validation order,
ErrorCodes and ErrorMessages follow Znuny 6.5's ``TicketUpdate.pm`` and friends; where the
live recordings differ from the source, the recordings win.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from otrs_closure.testing.b64 import perl_decode_base64
from otrs_closure.testing.entities import (
    Agent,
    Article,
    Attachment,
    CustomerUser,
    DynamicFieldDef,
    Queue,
    State,
    Ticket,
)
from otrs_closure.testing.faults import WRITE_FAULTSTRINGS, OperationFault, WriteStep
from otrs_closure.testing.model import (
    AUTO_RESPONSE_TYPES,
    CHANNELS,
    HISTORY_TYPES,
    LOCKS,
    SENDER_TYPES,
    Store,
    channel_id,
    like,
    sender_type_id,
)
from otrs_closure.testing.render import (
    dynamic_field_list,
    render_article,
    render_history,
    render_session_data,
    render_ticket,
)

__all__ = ["OpContext", "OPERATION_TYPES", "truthy", "authenticate"]

Data = dict[str, Any]


@dataclass
class OpContext:
    """Per-request facts an operation may need besides its input hash."""

    operation: str
    remote_addr: str | None = None
    user_agent: str = ""
    include_ticket_data: bool = False


# ---------------------------------------------------------------------------- helpers
def truthy(value: Any) -> bool:
    """Perl truthiness: undef, ``""``, ``"0"`` and 0 are false; references are true."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        return value not in ("", "0")
    return True


def _is_string(value: Any) -> bool:
    """Perl ``IsString``: a defined non-reference scalar."""
    return isinstance(value, (str, int, float))


def _has_data(value: Any) -> bool:
    """``IsStringWithData``: a scalar with at least one character."""
    return _is_string(value) and str(value) != ""


def _hash_with_data(value: Any) -> bool:
    return isinstance(value, dict) and len(value) > 0


def _array_with_data(value: Any) -> bool:
    return isinstance(value, list) and len(value) > 0


def _text(value: Any) -> str:
    """A scalar as Perl would stringify it (numbers without a trailing ``.0``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def _trim(hash_: dict[str, Any]) -> None:
    """``s/ (?: \\A\\s+ | \\s+\\z ) //gx for values %$Hash``."""
    for key, value in hash_.items():
        if isinstance(value, str):
            hash_[key] = value.strip()


def _error(op: str, kind: str, message: str) -> Data:
    return {"Error": {"ErrorCode": f"{op}.{kind}", "ErrorMessage": message}}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


_EMAIL = re.compile(r"[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+|[^@\s<>\"',;]+@localhost")


def _valid_addresses(value: Any) -> bool:
    """Every comma-separated part carries an e-mail address."""
    parts = [p for p in re.split(r",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", _text(value)) if p.strip()]
    return bool(parts) and all(_EMAIL.search(p) for p in parts)


def _valid_charset(charset: str) -> bool:
    if not charset:
        return False
    try:
        codecs.lookup(charset)
    except LookupError:
        return False
    return True


def _valid_mime_type(mime: str) -> bool:
    return re.fullmatch(r"\w+/\w+", mime) is not None


def _charset_of(content_type: str) -> str:
    """The charset part of a Content-Type, the way TicketUpdate's checks extract it."""
    if not re.search(r"charset\s*=\s*", content_type, flags=re.IGNORECASE):
        return ""
    charset = re.sub(r".+?charset\s*=\s*(\"|'|)(\w+)", r"\2", content_type, flags=re.IGNORECASE)
    charset = charset.replace('"', "").replace("'", "")
    return re.sub(r"(.+?);.*", r"\1", charset)


def _pick(by_id: Callable[[Any], Any], by_name: Callable[[Any], Any], item_id: Any, name: Any) -> Any:
    """Znuny's Validate*: the ID when given, else the name."""
    if truthy(item_id):
        return by_id(item_id)
    if truthy(name):
        return by_name(name)
    return None


def authenticate(store: Store, data: Any, ctx: OpContext) -> Agent | CustomerUser | None:
    """``Operation::Common::Auth``: SessionID alone if given, else agent, else customer login."""
    if not isinstance(data, dict):
        return None
    if truthy(data.get("SessionID")):
        session = store.check_session(data["SessionID"], ctx.remote_addr)
        if session is None:
            return None
        if session.user_type == "User":
            return store.agent_by_login(session.login)
        return store.customers.get(session.login)
    if truthy(data.get("UserLogin")):
        return store.auth_agent(data["UserLogin"], data.get("Password"))
    if truthy(data.get("CustomerUserLogin")):
        return store.auth_customer(data["CustomerUserLogin"], data.get("Password"))
    return None


def _valid_customer(store: Store, value: Any) -> bool:
    customer = store.customers.get(_text(value))
    if customer is not None:
        return customer.valid
    return re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", _text(value)) is not None


# ------------------------------------------------------------------------- sessions
def session_create(store: Store, data: Any, ctx: OpContext) -> Data:
    """SessionCreate: ``{"SessionID": ...}``."""
    op = "SessionCreate"
    if not _hash_with_data(data):
        return _error(op, "MissingParameter", "SessionCreate: The request is empty!")
    if not truthy(data.get("Password")):
        return _error(op, "MissingParameter", "SessionCreate: Password parameter is missing!")
    if truthy(data.get("UserLogin")):
        agent = store.auth_agent(data["UserLogin"], data["Password"])
        if agent is not None:
            session = store.create_session("User", agent.login, remote_addr=ctx.remote_addr, user_agent=ctx.user_agent)
            return {"SessionID": session.session_id}
    elif truthy(data.get("CustomerUserLogin")):
        customer = store.auth_customer(data["CustomerUserLogin"], data["Password"])
        if customer is not None:
            session = store.create_session(
                "Customer", customer.login, remote_addr=ctx.remote_addr, user_agent=ctx.user_agent
            )
            return {"SessionID": session.session_id}
    return _error(op, "AuthFail", "SessionCreate: Authorization failing!")


def session_get(store: Store, data: Any, ctx: OpContext) -> Data:
    """SessionGet: the session's data as sorted Key/Value pairs."""
    op = "SessionGet"
    if not _hash_with_data(data):
        return _error(op, "MissingParameter", "SessionGet: The request is empty!")
    if not truthy(data.get("SessionID")):
        return _error(op, "MissingParameter", "SessionGet: SessionID is missing!")
    session = store.check_session(data["SessionID"], ctx.remote_addr)
    if session is None:
        return _error(op, "SessionInvalid", "SessionGet: SessionID is Invalid!")
    return {"SessionData": render_session_data(store, session)}


def session_remove(store: Store, data: Any, ctx: OpContext) -> Data:
    """SessionRemove: deletes the session (Znuny answers success even for unknown ids)."""
    if not _hash_with_data(data):
        return _error("SessionCreate", "MissingParameter", "SessionCreate: The request is empty!")
    if not truthy(data.get("SessionID")):
        return _error("SessionRemove", "MissingParameter", "SessionRemove: SessionID parameter is missing!")
    session = store.sessions.get(_text(data["SessionID"]))
    if session is not None:
        session.removed = True
    return {"Success": 1}


# ----------------------------------------------------------------------- ticket get
def _ticket_ids(value: Any) -> list[str] | None:
    if _has_data(value):
        return [part.strip() for part in _text(value).split(",")]
    if _array_with_data(value):
        return [_text(v).strip() for v in value]
    return None


def _int_param(value: Any) -> int:
    try:
        return int(_text(value).strip() or 0)
    except ValueError:
        return 0


def ticket_get(store: Store, data: Any, ctx: OpContext) -> Data:
    """TicketGet: ``{"Ticket": [...]}`` in request order."""
    op = "TicketGet"
    if not isinstance(data, dict):
        raise OperationFault()
    user = authenticate(store, data, ctx)
    if user is None:
        return _error(op, "AuthFail", "TicketGet: Authorization failing!")
    if not truthy(data.get("TicketID")):
        return _error(op, "MissingParameter", "TicketGet: TicketID parameter is missing!")
    ids = _ticket_ids(data["TicketID"])
    if ids is None:
        return _error(op, "WrongStructure", "TicketGet: Structure for TicketID is not correct!")
    tickets: list[Ticket] = []
    for ticket_id in ids:
        ticket = store.ticket_by_id(ticket_id)
        if ticket is None or not store.may(user, ticket, "ro"):
            return _error(op, "AccessDenied", "TicketGet: User does not have access to the ticket!")
        tickets.append(ticket)
    with_dfs = truthy(data.get("DynamicFields"))
    extended = truthy(data.get("Extended"))
    all_articles = truthy(data.get("AllArticles"))
    with_attachments = truthy(data.get("Attachments"))
    contents = truthy(data["GetAttachmentContents"]) if data.get("GetAttachmentContents") is not None else True
    sender_types = [_text(v) for v in _as_list(data.get("ArticleSenderType")) if _text(v)]
    order = _text(data.get("ArticleOrder")).upper() or "ASC"
    limit = _int_param(data.get("ArticleLimit"))
    result = []
    for ticket in tickets:
        rendered = render_ticket(store, ticket, dynamic_fields=with_dfs, extended=extended)
        if all_articles:
            articles = sorted(ticket.articles, key=lambda a: a.article_id)
            if isinstance(user, CustomerUser):
                articles = [a for a in articles if a.is_visible_for_customer]
            if sender_types:
                articles = [a for t in sender_types for a in articles if SENDER_TYPES[a.sender_type_id] == t]
            if limit > 0:
                limit_here = min(limit, len(articles))
                if order == "DESC":
                    articles = list(reversed(articles))
                articles = articles[:limit_here]
            if articles:
                rendered["Article"] = [
                    render_article(
                        store,
                        a,
                        attachments=with_attachments,
                        attachment_contents=contents,
                        dynamic_fields=with_dfs,
                    )
                    for a in articles
                ]
        result.append(rendered)
    return {"Ticket": result}


# -------------------------------------------------------------------- ticket search
_SORT_KEYS: dict[str, Callable[[Store, Ticket], Any]] = {
    "Age": lambda s, t: t.create_time,
    "Created": lambda s, t: t.create_time,
    "Changed": lambda s, t: t.change_time,
    "Ticket": lambda s, t: t.ticket_number,
    "TicketNumber": lambda s, t: t.ticket_number,
    "Title": lambda s, t: t.title.lower(),
    "Queue": lambda s, t: s.queues[t.queue_id].name,
    "State": lambda s, t: s.states[t.state_id].name,
    "Priority": lambda s, t: t.priority_id,
    "Type": lambda s, t: s.types[t.type_id].name,
    "Lock": lambda s, t: t.lock_id,
    "Owner": lambda s, t: s.agents[t.owner_id].login if t.owner_id in s.agents else "",
    "Responsible": lambda s, t: s.agents[t.responsible_id].login if t.responsible_id in s.agents else "",
    "CustomerID": lambda s, t: t.customer_id or "",
    "PendingTime": lambda s, t: t.until_time,
}

_VIEWABLE_TYPES = ("new", "open", "pending reminder", "pending auto")


def _matches(store: Store, ticket: Ticket, data: dict[str, Any]) -> bool:
    numbers = [_text(v) for v in _as_list(data.get("TicketNumber")) if _text(v)]
    if numbers and not any(like(n, ticket.ticket_number) for n in numbers):
        return False
    titles = [_text(v) for v in _as_list(data.get("Title")) if _text(v)]
    if titles and not any(like(t, ticket.title) for t in titles):
        return False
    queue = store.queues[ticket.queue_id]
    state = store.states[ticket.state_id]
    checks: list[tuple[str, str]] = [
        ("Queues", queue.name),
        ("QueueIDs", str(queue.queue_id)),
        ("States", state.name),
        ("StateIDs", str(state.state_id)),
        ("Locks", LOCKS[ticket.lock_id]),
        ("LockIDs", str(ticket.lock_id)),
        ("OwnerIDs", str(ticket.owner_id)),
        ("ResponsibleIDs", str(ticket.responsible_id)),
        ("Types", store.types[ticket.type_id].name),
        ("TypeIDs", str(ticket.type_id)),
        ("Priorities", store.priorities[ticket.priority_id].name),
        ("PriorityIDs", str(ticket.priority_id)),
    ]
    for key, actual in checks:
        wanted = [_text(v).strip() for v in _as_list(data.get(key))]
        if wanted and actual not in wanted:
            return False
    state_types = [_text(v) for v in _as_list(data.get("StateType")) if _text(v)]
    if state_types:
        if state_types == ["Open"]:
            if not state.type_name.startswith(_VIEWABLE_TYPES):
                return False
        elif state_types == ["Closed"]:
            if state.type_name != "closed":
                return False
        elif state.type_name not in state_types:
            return False
    for key, actual in (("CustomerID", ticket.customer_id or ""), ("CustomerUserLogin", ticket.customer_user_id or "")):
        patterns = [_text(v) for v in _as_list(data.get(key)) if _text(v)]
        if patterns and not any(like(p, actual) for p in patterns):
            return False
    for key, value in data.items():
        if key.startswith("DynamicField_") and isinstance(value, dict):
            current = _text(ticket.dynamic_fields.get(key[len("DynamicField_") :], ""))
            if "Equals" in value and current != _text(value["Equals"]):
                return False
            if "Like" in value and not like(_text(value["Like"]), current):
                return False
            if truthy(value.get("Empty")) and current != "":
                return False
    return True


def ticket_search(store: Store, data: Any, ctx: OpContext) -> Data:
    """TicketSearch: ``{"TicketID": ["2", ...]}`` or ``{}`` when nothing matches."""
    if not isinstance(data, dict):
        raise OperationFault()
    user = authenticate(store, data, ctx)
    if user is None:
        return _error("TicketSearch", "AuthFail", "TicketSearch: Authorization failing!")
    found = [t for t in store.tickets.values() if store.may(user, t, "ro") and _matches(store, t, data)]
    sort_by = _text((_as_list(data.get("SortBy")) or ["Age"])[0]) or "Age"
    order_by = _text((_as_list(data.get("OrderBy")) or ["Down"])[0]) or "Down"
    key = _SORT_KEYS.get(sort_by, _SORT_KEYS["Age"])
    found.sort(key=lambda t: (key(store, t), t.ticket_id), reverse=order_by != "Up")
    limit = _int_param(data.get("Limit")) or 500
    found = found[:limit]
    if not found:
        return {}
    return {"TicketID": [str(t.ticket_id) for t in found]}


# ---------------------------------------------------------------- ticket history
def ticket_history_get(store: Store, data: Any, ctx: OpContext) -> Data:
    """TicketHistoryGet (agents only)."""
    op = "TicketHistoryGet"
    if not isinstance(data, dict):
        raise OperationFault()
    user = authenticate(store, data, ctx)
    if user is None:
        return _error(op, "AuthFail", "TicketHistoryGet: Authorization failing!")
    if not isinstance(user, Agent):
        return _error(op, "AuthFail", "TicketHistoryGet: User needs to an Agent!")
    if not truthy(data.get("TicketID")):
        return _error(op, "MissingParameter", "TicketHistoryGet: TicketID parameter is missing!")
    raw = data["TicketID"]
    requested: list[Any]
    if _has_data(raw):
        requested = _text(raw).split(",")
    elif _array_with_data(raw):
        requested = list(raw)
    else:
        return _error(op, "WrongStructure", "TicketHistoryGet: Structure for TicketID is not correct!")
    tickets = []
    for ticket_id in requested:
        ticket = store.ticket_by_id(ticket_id)
        if ticket is None or not store.may(user, ticket, "ro"):
            return _error(
                op, "AccessDenied", f"TicketHistoryGet: User does not have access to the ticket {_text(ticket_id)}!"
            )
        tickets.append((ticket_id, ticket))
    return {
        "TicketHistory": [
            {"History": [render_history(store, entry) for entry in ticket.history], "TicketID": ticket_id}
            for ticket_id, ticket in tickets
        ]
    }


# ------------------------------------------------------------- shared validation
def _check_article(store: Store, article: dict[str, Any], op: str) -> Data | None:
    """``_CheckArticle`` (defaults already applied); OperationFault for the internal errors."""
    for needed in ("Subject", "Body", "AutoResponseType"):
        if not truthy(article.get(needed)):
            return _error(op, "MissingParameter", f"{op}: Article->{needed} parameter is missing!")
    if _text(article["AutoResponseType"]) not in AUTO_RESPONSE_TYPES:
        return _error(op, "InvalidParameter", f"{op}: Article->AutoResponseType parameter is invalid!")
    if truthy(article.get("CommunicationChannelID")):
        channel = CHANNELS.get(_int_param(article["CommunicationChannelID"]))
    else:
        channel = _text(article.get("CommunicationChannel"))
    if channel not in ("Email", "Internal", "Phone"):
        return _error(
            op,
            "InvalidParameter",
            f"{op}: Article->CommunicationChannel or Article->CommunicationChannelID parameter"
            " is invalid or not supported!",
        )
    if not truthy(article.get("SenderTypeID")) and not truthy(article.get("SenderType")):
        raise OperationFault(
            f"{op}: Article->SenderTypeID or Article->SenderType parameter"
            " is required and Sysconfig SenderTypeID setting could not be read!"
        )
    if truthy(article.get("SenderTypeID")):
        sender_ok = _int_param(article["SenderTypeID"]) in SENDER_TYPES
    else:
        sender_ok = _text(article.get("SenderType")) in SENDER_TYPES.values()
    if not sender_ok:
        return _error(
            op, "InvalidParameter", f"{op}: Article->SenderTypeID or Ticket->SenderType parameter is invalid!"
        )
    if truthy(article.get("From")) and not _valid_addresses(article["From"]):
        return _error(op, "InvalidParameter", f"{op}: Article->From parameter is invalid!")
    if truthy(article.get("ArticleSend")) and not _valid_addresses(article.get("To")):
        return _error(
            "TicketCreate",
            "InvalidParameter",
            "TicketCreate: Article->To parameter must be a valid email address when Article->ArticleSend is set!",
        )
    has_ct, has_mime, has_charset = (truthy(article.get(k)) for k in ("ContentType", "MimeType", "Charset"))
    if not has_ct and not has_mime and not has_charset:
        return _error(
            op,
            "MissingParameter",
            f"{op}: Article->ContentType or Ticket->MimeType and Article->Charset parameters are required!",
        )
    if has_mime and not has_charset:
        return _error(op, "MissingParameter", f"{op}: Article->Charset is required!")
    if has_charset and not has_mime:
        return _error(op, "MissingParameter", f"{op}: Article->MimeType is required!")
    if has_mime:
        article["MimeType"] = _text(article["MimeType"]).lower()
        if not _valid_mime_type(article["MimeType"]):
            return _error(op, "InvalidParameter", f"{op}: Article->MimeType is invalid!")
    if has_charset:
        article["Charset"] = _text(article["Charset"]).lower()
        if not _valid_charset(article["Charset"]):
            return _error(op, "InvalidParameter", f"{op}: Article->Charset is invalid!")
    if has_ct:
        content_type = re.sub(r"\r\n|\r|\n", " ", _text(article["ContentType"])).lower()
        article["ContentType"] = content_type
        mime = re.match(r"(\w+/\w+)", content_type)
        if not _valid_charset(_charset_of(content_type)) or mime is None or not _valid_mime_type(mime.group(1)):
            return _error(op, "InvalidParameter", f"{op}: Article->ContentType is invalid!")
    if not truthy(article.get("HistoryType")):
        raise OperationFault(
            f"{op}: Article-> HistoryType is required and Sysconfig HistoryType setting could not be read!"
        )
    if _text(article["HistoryType"]) not in HISTORY_TYPES:
        return _error(op, "InvalidParameter", f"{op}: Article->HistoryType parameter is invalid!")
    if not truthy(article.get("HistoryComment")):
        raise OperationFault(
            f"{op}: Article->HistoryComment is required and Sysconfig HistoryComment setting could not be read!"
        )
    if truthy(article.get("TimeUnit")) and re.fullmatch(r"\d+(?:[.,]\d+)?", _text(article["TimeUnit"])) is None:
        return _error(op, "InvalidParameter", f"{op}: Article->TimeUnit parameter is invalid!")
    if truthy(article.get("NoAgentNotify")) and _text(article["NoAgentNotify"]) != "1":
        return _error(op, "InvalidParameter", f"{op}: Article->NoAgent parameter is invalid!")
    for attribute in ("ForceNotificationToUserID", "ExcludeNotificationToUserID", "ExcludeMuteNotificationToUserID"):
        if article.get(attribute) is None:
            continue
        if _hash_with_data(article[attribute]):
            return _error(op, "InvalidParameter", f"{op}: Article->{attribute} parameter is invalid!")
        for user_id in _as_list(article[attribute]):
            agent = store.agent_by_id(user_id)
            if agent is None or not agent.valid:
                return _error(
                    op, "InvalidParameter", f"{op}: Article->{attribute} UserID={_text(user_id)} parameter is invalid!"
                )
    return None


def _df_value_valid(field: DynamicFieldDef, value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    if field.field_type in ("Text", "TextArea"):
        return not isinstance(value, list) and len(_text(value)) <= 3800
    if field.field_type == "Checkbox":
        return not isinstance(value, list) and _text(value) in ("", "0", "1")
    if field.field_type in ("Dropdown", "Multiselect"):
        if isinstance(value, list) and field.field_type == "Dropdown":
            return False
        possible = field.possible_values or {}
        return all(_text(v) == "" or _text(v) in possible for v in values)
    if field.field_type == "Date":
        return not isinstance(value, list) and (
            _text(value) == "" or re.fullmatch(r"\d{4}-\d{2}-\d{2}( 00:00:00)?", _text(value)) is not None
        )
    if field.field_type == "DateTime":
        return not isinstance(value, list) and (
            _text(value) == "" or re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", _text(value)) is not None
        )
    return True


def _check_dynamic_fields(store: Store, items: list[Any], has_article: bool, op: str) -> Data | None:
    """``_ValidateDynamicFields`` + ``_CheckDynamicField``."""
    for item in items:
        if not _hash_with_data(item):
            raise OperationFault(f"{op}: Ticket->DynamicField parameter is invalid!")
        _trim(item)
        for needed in ("Name", "Value"):
            value = item.get(needed)
            if value is None or not (_is_string(value) or isinstance(value, list)):
                return _error(op, "MissingParameter", f"{op}: DynamicField->{needed} parameter is missing!")
        field = store.dynamic_fields.get(_text(item["Name"]))
        if field is None or not field.valid or field.object_type not in ("Ticket", "Article"):
            return _error(op, "InvalidParameter", f"{op}: DynamicField->Name parameter is invalid!")
        if field.object_type == "Article" and not has_article:
            return _error(op, "MissingParameter", f"{op}: To create an article DynamicField an article is required!")
        if not _df_value_valid(field, item["Value"]):
            return _error(op, "InvalidParameter", f"{op}: DynamicField->Value parameter is invalid!")
    return None


def _check_attachment(item: Any, has_article: bool, op: str) -> Data | None:
    """``_CheckAttachment`` of a top-level attachment (base64 is never checked)."""
    if not _hash_with_data(item):
        raise OperationFault(f"{op}: Ticket->Attachment parameter is invalid!")
    _trim(item)
    if not has_article:
        return _error(op, "MissingParameter", f"{op}: To create an attachment an article is needed!")
    for needed in ("Content", "ContentType", "Filename"):
        if not _has_data(item.get(needed)):
            return _error(op, "MissingParameter", f"{op}: Attachment->{needed} parameter is missing!")
    content_type = re.sub(r"\r\n|\r|\n", " ", _text(item["ContentType"])).lower()
    item["ContentType"] = content_type
    charset = _charset_of(content_type)
    mime = re.match(r"(\w+/\w+)", content_type)
    if (charset and not _valid_charset(charset)) or mime is None or not _valid_mime_type(mime.group(1)):
        return _error(op, "InvalidParameter", f"{op}: Attachment->ContentType is invalid!")
    return None


def _valid_pending_time(store: Store, pending: Any) -> bool:
    if not _hash_with_data(pending):
        return False
    if pending.get("Diff") is not None:
        return set(pending) == {"Diff"} and re.fullmatch(r"\d+", _text(pending["Diff"])) is not None
    parts = []
    for needed in ("Year", "Month", "Day", "Hour", "Minute"):
        value = _text(pending.get(needed))
        if not re.fullmatch(r"\d+", value):
            return False
        parts.append(int(value))
    try:
        store.clock.from_parts(*parts)
    except (ValueError, OverflowError):
        return False
    return True


def _pending_epoch(store: Store, pending: dict[str, Any]) -> int:
    if pending.get("Diff") is not None:
        return store.clock.epoch() + int(_text(pending["Diff"])) * 60
    return store.clock.from_parts(*(int(_text(pending[k])) for k in ("Year", "Month", "Day", "Hour", "Minute")))


def _find_state(store: Store, ticket_in: dict[str, Any]) -> State | None:
    result: State | None = _pick(
        lambda v: store.state_by(state_id=v),
        lambda v: store.state_by(name=v),
        ticket_in.get("StateID"),
        ticket_in.get("State"),
    )
    return result


def _valid_agent(agent: Agent | None) -> bool:
    return agent is not None and agent.valid


def _check_ticket_attributes(store: Store, ticket_in: dict[str, Any], op: str) -> Data | None:
    """``_CheckTicket`` of TicketUpdate (attribute existence and validity, in Znuny's order)."""
    t = ticket_in
    if truthy(t.get("CustomerUser")) and not _valid_customer(store, t["CustomerUser"]):
        return _error(op, "InvalidParameter", f"{op}: Ticket->CustomerUser parameter is invalid!")
    if truthy(t.get("QueueID")) or truthy(t.get("Queue")):
        queue = _pick(
            lambda v: store.queue_by(queue_id=v), lambda v: store.queue_by(name=v), t.get("QueueID"), t.get("Queue")
        )
        if queue is None or not queue.valid:
            return _error(op, "InvalidParameter", f"{op}: Ticket->QueueID or Ticket->Queue parameter is invalid!")
    if truthy(t.get("LockID")) or truthy(t.get("Lock")):
        ok = _int_param(t["LockID"]) in LOCKS if truthy(t.get("LockID")) else _text(t.get("Lock")) in LOCKS.values()
        if not ok:
            return _error(op, "InvalidParameter", f"{op}: Ticket->LockID or Ticket->Lock parameter is invalid!")
    if truthy(t.get("TypeID")) or truthy(t.get("Type")):
        type_ = _pick(
            lambda v: store.named_by(store.types, item_id=v),
            lambda v: store.named_by(store.types, name=v),
            t.get("TypeID"),
            t.get("Type"),
        )
        if type_ is None or not type_.valid:
            return _error(op, "InvalidParameter", f"{op}: Ticket->TypeID or Ticket->Type parameter is invalid!")
    if truthy(t.get("ServiceID")) or truthy(t.get("Service")):
        return _error(op, "InvalidParameter", f"{op}: Ticket->ServiceID or Ticket->Service parameter is invalid!")
    if truthy(t.get("SLAID")) or truthy(t.get("SLA")):
        return _error(op, "InvalidParameter", f"{op}: Ticket->SLAID or Ticket->SLA parameter is invalid!")
    if truthy(t.get("StateID")) or truthy(t.get("State")):
        state = _find_state(store, t)
        if state is None or not state.valid:
            return _error(op, "InvalidParameter", f"{op}: Ticket->StateID or Ticket->State parameter is invalid!")
    if truthy(t.get("PriorityID")) or truthy(t.get("Priority")):
        priority = _pick(
            lambda v: store.named_by(store.priorities, item_id=v),
            lambda v: store.named_by(store.priorities, name=v),
            t.get("PriorityID"),
            t.get("Priority"),
        )
        if priority is None or not priority.valid:
            return _error(op, "InvalidParameter", f"{op}: Ticket->PriorityID or Ticket->Priority parameter is invalid!")
    for key, label in (("Owner", "OwnerID or Ticket->Owner"), ("Responsible", "ResponsibleID or Ticket->Responsible")):
        if truthy(t.get(f"{key}ID")) or truthy(t.get(key)):
            agent = _pick(store.agent_by_id, lambda v: store.agent_by_login(_text(v)), t.get(f"{key}ID"), t.get(key))
            if not _valid_agent(agent):
                return _error(op, "InvalidParameter", f"{op}: Ticket->{label} parameter is invalid!")
    if truthy(t.get("PendingTime")) and not _valid_pending_time(store, t["PendingTime"]):
        return _error(op, "InvalidParameter", f"{op}: Ticket->PendingTime parameter is invalid!")
    return None


def _apply_article_defaults(article: dict[str, Any], user: Agent | CustomerUser, *, create: bool) -> None:
    if not truthy(article.get("AutoResponseType")):
        article["AutoResponseType"] = "auto reply" if create else "auto follow up"
    if not truthy(article.get("CommunicationChannelID")) and not truthy(article.get("CommunicationChannel")):
        article["CommunicationChannel"] = "Internal"
    if article.get("IsVisibleForCustomer") is None:
        article["IsVisibleForCustomer"] = 1
    if not truthy(article.get("SenderTypeID")) and not truthy(article.get("SenderType")):
        article["SenderType"] = "agent" if isinstance(user, Agent) else "customer"
    if not truthy(article.get("HistoryType")):
        article["HistoryType"] = "NewTicket" if create else "AddNote"
    if not truthy(article.get("HistoryComment")):
        article["HistoryComment"] = "%%GenericInterface Create" if create else "%%GenericInterface Note"


def _collect_articles(value: Any, op: str) -> tuple[list[dict[str, Any]], Data | None]:
    if _hash_with_data(value):
        return [dict(value)], None
    if _array_with_data(value):
        articles = []
        for item in value:
            if not isinstance(item, dict):
                raise OperationFault()
            articles.append(dict(item))
        return articles, None
    return [], _error(op, "InvalidParameter", f"{op}: Article parameter is not valid!")


def _validate_articles(
    store: Store, articles: list[dict[str, Any]], user: Agent | CustomerUser, op: str, *, create: bool
) -> Data | None:
    for article in articles:
        _trim(article)
        _apply_article_defaults(article, user, create=create)
        problem = _check_article(store, article, op)
        if problem is not None:
            return problem
        if truthy(article.get("DynamicField")):
            problem = _check_dynamic_fields(store, _as_list(article["DynamicField"]), True, op)
            if problem is not None:
                return problem
    return None


def _article_attachments(article: dict[str, Any]) -> list[Attachment]:
    """``Article.Attachment`` (accepted by 6.5 too): decoded, never validated."""
    raw = article.get("Attachment")
    if raw is None or raw == "":
        return []
    items = [raw] if isinstance(raw, dict) else raw
    if not isinstance(items, list):
        raise OperationFault()
    result = []
    for item in items:
        if not isinstance(item, dict):
            raise OperationFault()
        result.append(_attachment_of(item))
    return result


def _attachment_of(item: dict[str, Any]) -> Attachment:
    content = _text(item.get("Content"))
    return Attachment(
        filename=_text(item.get("Filename")),
        content=perl_decode_base64(content) if content else b"",
        content_type=_text(item.get("ContentType")),
        disposition=_text(item.get("Disposition")) or "attachment",
        content_id=_text(item.get("ContentID")),
    )


def _mime_and_charset(article: dict[str, Any]) -> tuple[str, str, str]:
    content_type = _text(article.get("ContentType"))
    charset = _text(article.get("Charset"))
    if content_type and not charset:
        m = re.search(r"\bcharset=(\"|'|)([^\s\"';]+)", content_type, flags=re.IGNORECASE)
        charset = m.group(2) if m else ""
    mime = _text(article.get("MimeType"))
    if content_type and not mime:
        m = re.match(r"([^;]+)", content_type)
        mime = m.group(1) if m else ""
    if not content_type:
        content_type = f"{mime}; charset={charset}"
    return content_type, mime, charset


def _create_article(
    store: Store,
    ticket: Ticket,
    article: dict[str, Any],
    *,
    from_: str,
    to: str,
    user_id: int,
    top_attachments: list[dict[str, Any]] | None,
) -> Article:
    """ArticleCreate with article-level attachments, then the top-level ones (first article only)."""
    channel_name = _text(article.get("CommunicationChannel"))
    chan = channel_id(channel_name) if channel_name else _int_param(article.get("CommunicationChannelID"))
    if truthy(article.get("SenderTypeID")):
        sender = _int_param(article["SenderTypeID"])
    else:
        sender = sender_type_id(_text(article.get("SenderType"))) or 1
    content_type, mime, charset = _mime_and_charset(article)
    subject = _text(article.get("Subject"))
    if truthy(article.get("ArticleSend")):
        subject = f"[Ticket#{ticket.ticket_number}] {subject}"
    inline = _article_attachments(article)
    created = store.article_create(
        ticket,
        channel_id=chan or 3,
        sender_type_id=sender,
        is_visible_for_customer=1 if truthy(article.get("IsVisibleForCustomer")) else 0,
        from_=from_,
        to=to,
        cc=_text(article.get("Cc")) if truthy(article.get("Cc")) else "",
        bcc=_text(article.get("Bcc")) if truthy(article.get("Bcc")) else "",
        subject=subject,
        body=_text(article.get("Body")),
        content_type=content_type,
        mime_type=mime,
        charset=charset,
        history_type=_text(article.get("HistoryType")),
        history_comment=_text(article.get("HistoryComment")) or "%%",
        user_id=user_id,
    )
    for attachment in inline:
        try:
            store.attachment_write(ticket, created, attachment)
        except OperationFault as exc:  # inside ArticleCreate: the article stays, the call fails
            raise OperationFault(WRITE_FAULTSTRINGS[WriteStep.ARTICLE]) from exc
    for item in top_attachments or []:
        store.attachment_write(ticket, created, _attachment_of(item))
    return created


def _set_dynamic_fields(store: Store, ticket: Ticket, article: Article | None, items: list[Any], user_id: int) -> None:
    for item in items:
        field = store.dynamic_fields[_text(item["Name"])]
        value = item["Value"]
        stored: Any = [_text(v) for v in value] if isinstance(value, list) else _text(value)
        store.dynamic_field_set(ticket, article, field, stored, user_id)


def _finish_articles(store: Store, ticket: Ticket, created: Article, article: dict[str, Any], user_id: int) -> None:
    if truthy(article.get("DynamicField")):
        _set_dynamic_fields(store, ticket, created, _as_list(article["DynamicField"]), user_id)
    if truthy(article.get("TimeUnit")):
        store.account_time(ticket, created, float(_text(article["TimeUnit"]).replace(",", ".")), user_id)


def _article_ids_answer(answer: Data, article_ids: list[int]) -> Data:
    if len(article_ids) > 1:
        answer["ArticleIDs"] = article_ids
    elif len(article_ids) == 1:
        answer["ArticleID"] = article_ids[0]
    return answer


# -------------------------------------------------------------------- ticket update
def ticket_update(store: Store, data: Any, ctx: OpContext) -> Data:
    """TicketUpdate: every check before the first write, then writes in Znuny's order."""
    op = "TicketUpdate"
    if not _hash_with_data(data):
        return _error(op, "EmptyRequest", "TicketUpdate: The request data is invalid!")
    if not truthy(data.get("TicketID")) and not truthy(data.get("TicketNumber")):
        return _error(op, "MissingParameter", "TicketUpdate: TicketID or TicketNumber is required!")
    if not any(truthy(data.get(k)) for k in ("UserLogin", "CustomerUserLogin", "SessionID")):
        return _error(op, "MissingParameter", "TicketUpdate: UserLogin, CustomerUserLogin or SessionID is required!")
    if (truthy(data.get("UserLogin")) or truthy(data.get("CustomerUserLogin"))) and not truthy(data.get("Password")):
        return _error(op, "MissingParameter", "TicketUpdate: Password or SessionID is required!")
    user = authenticate(store, data, ctx)
    if user is None:
        return _error(op, "AuthFail", "TicketUpdate: User could not be authenticated!")
    user_id = user.user_id if isinstance(user, Agent) else store.customer_panel_user_id
    denied = _error(op, "AccessDenied", "TicketUpdate: User does not have access to the ticket!")
    ticket: Ticket | None
    if truthy(data.get("TicketNumber")):
        ticket = store.ticket_by_number(data["TicketNumber"])
        answer_id: Any = str(ticket.ticket_id) if ticket else None
    else:
        answer_id = data["TicketID"]
        ticket = store.ticket_by_id(answer_id)
    if ticket is None or not store.may(user, ticket, "rw"):
        return denied
    if data.get("Ticket") is not None and not _hash_with_data(data["Ticket"]):
        return _error(op, "InvalidParameter", "TicketUpdate: Ticket parameter is not valid!")
    for optional in ("DynamicField", "Attachment"):
        value = data.get(optional)
        if value is not None and not _hash_with_data(value) and not _array_with_data(value):
            return _error(op, "MissingParameter", f"TicketUpdate: {optional} parameter is missing or not valid!")
    ticket_in: dict[str, Any] = {}
    if data.get("Ticket") is not None:
        ticket_in = dict(data["Ticket"])
        _trim(ticket_in)
        if _hash_with_data(ticket_in.get("PendingTime")):
            ticket_in["PendingTime"] = dict(ticket_in["PendingTime"])
            _trim(ticket_in["PendingTime"])
        problem = _check_ticket_attributes(store, ticket_in, op)
        if problem is not None:
            return problem
    articles: list[dict[str, Any]] = []
    if data.get("Article") is not None:
        articles, problem = _collect_articles(data["Article"], op)
        if problem is not None:
            return problem
    problem = _validate_articles(store, articles, user, op, create=False)
    if problem is not None:
        return problem
    dynamic_fields: list[Any] = []
    if truthy(data.get("DynamicField")):
        dynamic_fields = [dict(i) if isinstance(i, dict) else i for i in _as_list(data["DynamicField"])]
        problem = _check_dynamic_fields(store, dynamic_fields, bool(articles), op)
        if problem is not None:
            return problem
    attachments: list[dict[str, Any]] = []
    if data.get("Attachment") is not None:
        raw_items = _as_list(data["Attachment"])
        for item in raw_items:
            item_copy = dict(item) if isinstance(item, dict) else item
            problem = _check_attachment(item_copy, bool(articles), op)
            if problem is not None:
                return problem
            attachments.append(item_copy)
    try:
        return _ticket_update_writes(
            store, ticket, answer_id, ticket_in, articles, dynamic_fields, attachments, user, user_id, ctx
        )
    finally:
        store.flush_notifications(user_id)


def _update_permissions(store: Store, ticket: Ticket, ticket_in: dict[str, Any], user_id: int) -> Data | None:
    """``_CheckUpdatePermissions`` (the note/rw checks never fire in 6.5: wrong parameter names)."""
    agent = store.agents.get(user_id)

    def may(permission: str) -> bool:
        return agent is not None and store.agent_may(agent, ticket, permission)

    op = "TicketUpdate"
    if (truthy(ticket_in.get("Queue")) or truthy(ticket_in.get("QueueID"))) and not may("move"):
        return _error(op, "AccessDenied", "TicketUpdate: Does not have permissions to update queue!")
    if (truthy(ticket_in.get("Owner")) or truthy(ticket_in.get("OwnerID"))) and not may("owner"):
        return _error(op, "AccessDenied", "TicketUpdate: Does not have permissions to update owner!")
    if (truthy(ticket_in.get("Responsible")) or truthy(ticket_in.get("ResponsibleID"))) and not may("responsible"):
        return _error(op, "AccessDenied", "TicketUpdate: Does not have permissions to update responsibe!")
    if (truthy(ticket_in.get("Priority")) or truthy(ticket_in.get("PriorityID"))) and not may("priority"):
        return _error(op, "AccessDenied", "TicketUpdate: Does not have permissions to update priority!")
    if truthy(ticket_in.get("State")) or truthy(ticket_in.get("StateID")):
        state = _find_state(store, ticket_in)
        type_name = state.type_name.lower() if state else ""
        if type_name.startswith(("close", "pending")) and not may("close"):
            return _error(op, "AccessDenied", "TicketUpdate: Does not have permissions to update state!")
    return None


def _changed(new: Any, current: Any) -> bool:
    return new is not None and _text(new) != _text(current)


_W = TypeVar("_W")


def _found(value: _W | None, step: WriteStep) -> _W:
    """A write-phase lookup (name preferred, validation used the ID) that must succeed,
    else the core setter fails and TicketUpdate answers its 500 fault."""
    if value is None:
        raise OperationFault(WRITE_FAULTSTRINGS[step])
    return value


def _ticket_update_writes(
    store: Store,
    ticket: Ticket,
    answer_id: Any,
    t: dict[str, Any],
    articles: list[dict[str, Any]],
    dynamic_fields: list[Any],
    attachments: list[dict[str, Any]],
    user: Agent | CustomerUser,
    user_id: int,
    ctx: OpContext,
) -> Data:
    """``_TicketUpdate``: permission checks, then each write only if the value differs."""
    problem = _update_permissions(store, ticket, t, user_id)
    if problem is not None:
        return problem
    customer_data = store.customers.get(_text(t.get("CustomerUser"))) if truthy(t.get("CustomerUser")) else None
    ticket_number = ticket.ticket_number
    queue_now = store.queues[ticket.queue_id]
    if t.get("Title") is not None and _text(t["Title"]) != "" and _text(t["Title"]) != ticket.title:
        store.title_update(ticket, _text(t["Title"]), user_id)
    if truthy(t.get("Queue")) or truthy(t.get("QueueID")):
        queue: Queue | None = None
        if _changed(t.get("Queue"), queue_now.name):
            queue = _found(store.queue_by(name=t["Queue"]), WriteStep.QUEUE)
        elif _changed(t.get("QueueID"), queue_now.queue_id):
            queue = _found(store.queue_by(queue_id=t["QueueID"]), WriteStep.QUEUE)
        if queue is not None:
            store.queue_set(ticket, queue, user_id)
    if truthy(t.get("Lock")) or truthy(t.get("LockID")):
        lock_id: int | None = None
        if _changed(t.get("Lock"), LOCKS[ticket.lock_id]):
            lock_id = _found(next((k for k, v in LOCKS.items() if v == _text(t["Lock"])), None), WriteStep.LOCK)
        elif _changed(t.get("LockID"), ticket.lock_id):
            lock_id = _found(_int_param(t["LockID"]) if _int_param(t["LockID"]) in LOCKS else None, WriteStep.LOCK)
        if lock_id is not None:
            store.lock_set(ticket, lock_id, user_id)
    if truthy(t.get("Type")) or truthy(t.get("TypeID")):
        type_ = None
        if _changed(t.get("Type"), store.types[ticket.type_id].name):
            type_ = _found(store.named_by(store.types, name=t["Type"]), WriteStep.TYPE)
        elif _changed(t.get("TypeID"), ticket.type_id):
            type_ = _found(store.named_by(store.types, item_id=t["TypeID"]), WriteStep.TYPE)
        if type_ is not None:
            store.type_set(ticket, type_, user_id)
    if truthy(t.get("State")) or truthy(t.get("StateID")):
        state = _find_state(store, t)
        assert state is not None
        if state.type_name.lower().startswith("close"):
            store.lock_set(ticket, 1, user_id, step=None)
        elif state.type_name.lower().startswith("pending"):
            if t.get("PendingTime") is None:
                return _error(
                    "TicketUpdate", "MissingParameter", "Can't set a ticket on a pending state without pendig time!"
                )
            store.pending_time_set(ticket, _pending_epoch(store, t["PendingTime"]), user_id)
        new_state: State | None = None
        if _changed(t.get("State"), store.states[ticket.state_id].name):
            new_state = _found(store.state_by(name=t["State"]), WriteStep.STATE)
        elif _changed(t.get("StateID"), ticket.state_id):
            new_state = _found(store.state_by(state_id=t["StateID"]), WriteStep.STATE)
        if new_state is not None:
            store.state_set(ticket, new_state, user_id)
    if truthy(t.get("CustomerUser")) or truthy(t.get("CustomerID")):
        new_user = _text(t.get("CustomerUser")) if truthy(t.get("CustomerUser")) else ""
        new_id = _text(t.get("CustomerID")) if truthy(t.get("CustomerID")) else ""
        if new_user != (ticket.customer_user_id or "") or new_id != (ticket.customer_id or ""):
            customer_id = customer_data.customer_id if customer_data else ""
            if new_id:
                customer_id = new_id
            store.customer_set(ticket, customer_id, new_user, user_id)
    if truthy(t.get("Priority")) or truthy(t.get("PriorityID")):
        priority = None
        if _changed(t.get("Priority"), store.priorities[ticket.priority_id].name):
            priority = _found(store.named_by(store.priorities, name=t["Priority"]), WriteStep.PRIORITY)
        elif _changed(t.get("PriorityID"), ticket.priority_id):
            priority = _found(store.named_by(store.priorities, item_id=t["PriorityID"]), WriteStep.PRIORITY)
        if priority is not None:
            store.priority_set(ticket, priority, user_id)
    for key, setter, step in (
        ("Owner", store.owner_set, WriteStep.OWNER),
        ("Responsible", store.responsible_set, WriteStep.RESPONSIBLE),
    ):
        if truthy(t.get(key)) or truthy(t.get(f"{key}ID")):
            current_id = ticket.owner_id if key == "Owner" else ticket.responsible_id
            current = store.agents.get(current_id)
            agent: Agent | None = None
            if _changed(t.get(key), current.login if current else ""):
                agent = _found(store.agent_by_login(_text(t[key])), step)
            elif _changed(t.get(f"{key}ID"), current_id):
                agent = _found(store.agent_by_id(t[f"{key}ID"]), step)
            if agent is not None:
                setter(ticket, agent, user_id)
    article_ids: list[int] = []
    created_articles: list[Article] = []
    pending_attachments: list[dict[str, Any]] | None = attachments
    for article in articles:
        if truthy(article.get("ArticleSend")) and not truthy(article.get("From")):
            from_ = "Znuny System <znuny@localhost>"
        elif truthy(article.get("From")):
            from_ = _text(article["From"])
        elif isinstance(user, CustomerUser):
            from_ = customer_data.mailbox if customer_data else _text(t.get("CustomerUser"))
        else:
            from_ = store.agents[user_id].full_name
        to = _text(article.get("To")) if truthy(article.get("To")) else ""
        if truthy(article.get("ArticleSend")):
            article["CommunicationChannel"] = "Email"
        if not to and _text(article.get("CommunicationChannel")) == "Email":
            if customer_data is not None:
                to = customer_data.mailbox
            else:
                to = (
                    _text(t.get("CustomerUser"))
                    if t.get("CustomerUser") is not None
                    else (ticket.customer_user_id or "")
                )
        created = _create_article(
            store, ticket, article, from_=from_, to=to, user_id=user_id, top_attachments=pending_attachments
        )
        pending_attachments = None
        _finish_articles(store, ticket, created, article, user_id)
        article_ids.append(created.article_id)
        created_articles.append(created)
    if dynamic_fields:
        _set_dynamic_fields(store, ticket, created_articles[0] if created_articles else None, dynamic_fields, user_id)
    answer: Data = {"TicketID": answer_id, "TicketNumber": ticket_number}
    if ctx.include_ticket_data:
        answer["Ticket"] = _ticket_data(store, ticket, created_articles)
    return _article_ids_answer(answer, article_ids)


def _ticket_data(store: Store, ticket: Ticket, articles: list[Article]) -> Data:
    """``IncludeTicketData``: the updated ticket with its dynamic fields and new article(s)."""
    data = render_ticket(store, ticket)
    fields = dynamic_field_list(ticket.dynamic_fields)
    if fields:
        data["DynamicField"] = fields
    rendered = [render_article(store, a, attachments=True, dynamic_fields=True) for a in articles]
    if len(rendered) == 1:
        data["Article"] = rendered[0]
    elif rendered:
        data["Articles"] = rendered
    return data


# -------------------------------------------------------------------- ticket create
def ticket_create(store: Store, data: Any, ctx: OpContext) -> Data:
    """TicketCreate (for test setup): ticket, first article, owner (+ lock when an owner is given)."""
    op = "TicketCreate"
    if not _hash_with_data(data):
        return _error(op, "EmptyRequest", "TicketCreate: The request data is invalid!")
    if not any(truthy(data.get(k)) for k in ("UserLogin", "CustomerUserLogin", "SessionID")):
        return _error(op, "MissingParameter", "TicketCreate: UserLogin, CustomerUserLogin or SessionID is required!")
    if (truthy(data.get("UserLogin")) or truthy(data.get("CustomerUserLogin"))) and not truthy(data.get("Password")):
        return _error(op, "MissingParameter", "TicketCreate: Password or SessionID is required!")
    user = authenticate(store, data, ctx)
    if user is None:
        return _error(op, "AuthFail", "TicketCreate: User could not be authenticated!")
    if not _hash_with_data(data.get("Ticket")):
        return _error(op, "MissingParameter", "TicketCreate: Ticket parameter is missing or not valid!")
    if not _hash_with_data(data.get("Article")) and not _array_with_data(data.get("Article")):
        return _error(op, "MissingParameter", "TicketCreate: Article parameter is missing or not valid!")
    for optional in ("DynamicField", "Attachment"):
        value = data.get(optional)
        if value is not None and not _hash_with_data(value) and not _array_with_data(value):
            return _error(op, "MissingParameter", f"TicketCreate: {optional} parameter is missing or not valid!")
    t = dict(data["Ticket"])
    _trim(t)
    if isinstance(user, CustomerUser):
        t["CustomerUser"] = user.login
    if not truthy(t.get("Title")):
        return _error(op, "MissingParameter", "TicketCreate: Ticket->Title parameter is missing!")
    if not truthy(t.get("CustomerUser")):
        return _error(op, "MissingParameter", "TicketCreate: Ticket->CustomerUser parameter is missing!")
    if not truthy(t.get("Queue")) and not truthy(t.get("QueueID")):
        return _error(op, "MissingParameter", "TicketCreate: Ticket->QueueID or Ticket->Queue parameter is required!")
    if not truthy(t.get("State")) and not truthy(t.get("StateID")):
        return _error(op, "MissingParameter", "TicketCreate: Ticket->StateID or Ticket->State parameter is required!")
    if not truthy(t.get("Priority")) and not truthy(t.get("PriorityID")):
        return _error(
            op, "MissingParameter", "TicketCreate: Ticket->PriorityID or Ticket->Priority parameter is required!"
        )
    problem = _check_ticket_attributes(store, t, op)
    if problem is not None:
        return problem
    articles, problem = _collect_articles(data["Article"], op)
    if problem is not None:
        return problem
    problem = _validate_articles(store, articles, user, op, create=True)
    if problem is not None:
        return problem
    dynamic_fields = [dict(i) if isinstance(i, dict) else i for i in _as_list(data.get("DynamicField"))]
    problem = _check_dynamic_fields(store, dynamic_fields, True, op)
    if problem is not None:
        return problem
    attachments: list[dict[str, Any]] = []
    for item in _as_list(data.get("Attachment")):
        item_copy = dict(item) if isinstance(item, dict) else item
        problem = _check_attachment(item_copy, True, op)
        if problem is not None:
            return problem
        attachments.append(item_copy)
    queue = _pick(
        lambda v: store.queue_by(queue_id=v), lambda v: store.queue_by(name=v), t.get("QueueID"), t.get("Queue")
    )
    user_id = user.user_id if isinstance(user, Agent) else store.customer_panel_user_id
    if isinstance(user, Agent) and not (user.has(queue.group_id, "create")):
        return _error(
            op, "AccessDenied", "TicketCreate: User does not have access to create tickets in the target queue!"
        )
    state = _find_state(store, t)
    assert state is not None  # validated by _check_ticket_attributes
    priority = _pick(
        lambda v: store.named_by(store.priorities, item_id=v),
        lambda v: store.named_by(store.priorities, name=v),
        t.get("PriorityID"),
        t.get("Priority"),
    )
    type_ = (
        _pick(
            lambda v: store.named_by(store.types, item_id=v),
            lambda v: store.named_by(store.types, name=v),
            t.get("TypeID"),
            t.get("Type"),
        )
        or store.types[min(store.types)]
    )
    owner = _pick(store.agent_by_id, lambda v: store.agent_by_login(_text(v)), t.get("OwnerID"), t.get("Owner"))
    responsible = _pick(
        store.agent_by_id, lambda v: store.agent_by_login(_text(v)), t.get("ResponsibleID"), t.get("Responsible")
    )
    customer = store.customers.get(_text(t["CustomerUser"]))
    customer_id = (
        _text(t.get("CustomerID"))
        if truthy(t.get("CustomerID"))
        else (customer.customer_id if customer else _text(t["CustomerUser"]))
    )
    lock_id = 1
    if truthy(t.get("LockID")):
        lock_id = _int_param(t["LockID"])
    elif truthy(t.get("Lock")):
        lock_id = next(k for k, v in LOCKS.items() if v == _text(t["Lock"]))
    try:
        ticket = store.ticket_create(
            title=_text(t["Title"]),
            queue=queue,
            state=state,
            priority=priority,
            type_=type_,
            customer_id=customer_id,
            customer_user_id=_text(t["CustomerUser"]),
            user_id=user_id,
            responsible_id=responsible.user_id if responsible else 1,
            lock_id=lock_id,
        )
        if state.type_name.lower().startswith("pending") and truthy(t.get("PendingTime")):
            ticket.until_time = _pending_epoch(store, t["PendingTime"])
        article_ids: list[int] = []
        first: Article | None = None
        pending_attachments: list[dict[str, Any]] | None = attachments
        for article in articles:
            if truthy(article.get("From")):
                from_ = _text(article["From"])
            else:
                from_ = customer.mailbox if customer else _text(t["CustomerUser"])
            to = _text(article.get("To")) if truthy(article.get("To")) else queue.name
            created = _create_article(
                store, ticket, article, from_=from_, to=to, user_id=user_id, top_attachments=pending_attachments
            )
            pending_attachments = None
            _finish_articles(store, ticket, created, article, user_id)
            article_ids.append(created.article_id)
            first = first or created
        if dynamic_fields:
            _set_dynamic_fields(store, ticket, first, dynamic_fields, user_id)
        if owner is not None:
            store.owner_set(ticket, owner, user_id, fail=False)
            if not truthy(t.get("Lock")) and not truthy(t.get("LockID")):
                store.lock_set(ticket, 2, user_id, step=None)
        elif isinstance(user, Agent):
            store.owner_set(ticket, user, user_id, notify=False, fail=False)
    finally:
        store.flush_notifications(user_id)
    return _article_ids_answer({"TicketID": str(ticket.ticket_id), "TicketNumber": ticket.ticket_number}, article_ids)


#: Operation type (as in the web service YAML) -> implementation.
OPERATION_TYPES: dict[str, Callable[[Store, Any, OpContext], Data]] = {
    "Session::SessionCreate": session_create,
    "Session::SessionGet": session_get,
    "Session::SessionRemove": session_remove,
    "Ticket::TicketCreate": ticket_create,
    "Ticket::TicketGet": ticket_get,
    "Ticket::TicketSearch": ticket_search,
    "Ticket::TicketHistoryGet": ticket_history_get,
    "Ticket::TicketUpdate": ticket_update,
}
