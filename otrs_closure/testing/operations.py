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
from otrs_closure.testing.faults import WRITE_FAULTSTRINGS, OperationFault, PerlDie, WriteStep
from otrs_closure.testing.model import (
    AUTO_RESPONSE_TYPES,
    CHANNELS,
    HISTORY_TYPES,
    LOCKS,
    SENDER_TYPES,
    Store,
    channel_id,
    sender_type_id,
)
from otrs_closure.testing.perltext import SearchFailed, query_condition
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


def _address_parts(value: Any) -> list[str]:
    return [p for p in re.split(r",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", _text(value)) if p.strip()]


def _valid_addresses(value: Any) -> bool:
    """``AreEmailAddressesValid``: every comma-separated part carries an e-mail address."""
    parts = _address_parts(value)
    return bool(parts) and all(_EMAIL.search(p) for p in parts)


def _valid_from(value: Any) -> bool:
    """``ValidateFrom``: only the first address Mail::Address parses out is checked."""
    parts = _address_parts(value)
    return not parts or _EMAIL.search(parts[0]) is not None


def _valid_charset(charset: str) -> bool:
    """``Encode::resolve_alias``: a known text encoding (Python's bytes-to-bytes codecs such as
    ``base64`` or ``rot13`` are not charsets Perl knows)."""
    if not charset:
        return False
    try:
        info = codecs.lookup(charset)
    except LookupError:
        return False
    return bool(getattr(info, "_is_text_encoding", True)) and info.name not in ("idna", "punycode")


def _valid_mime_type(mime: str) -> bool:
    return re.fullmatch(r"\w+/\w+", mime) is not None


def _charset_of(content_type: str, *, spaced: bool = True) -> str:
    """The charset part of a Content-Type, the way TicketUpdate's checks extract it
    (``charset = x`` allowed); TicketCreate's checks (``spaced=False``) need ``charset=x``."""
    gap = r"\s*" if spaced else ""
    if not re.search(rf"charset{gap}={gap}", content_type, flags=re.IGNORECASE):
        return ""
    charset = re.sub(rf".+?charset{gap}={gap}(\"|'|)(\w+)", r"\2", content_type, flags=re.IGNORECASE)
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
    """``ValidateCustomer``: a valid customer user, or else something ValidateFrom accepts."""
    customer = store.customers.get(_text(value))
    if customer is not None:
        return customer.valid
    return _valid_from(value)


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
def _split_ids(value: Any) -> list[str]:
    """Perl's ``split(/,/, $TicketID)``: no trimming, trailing empty fields dropped."""
    parts = _text(value).split(",")
    while parts and parts[-1] == "":
        parts.pop()
    return parts


def _ticket_ids(value: Any) -> list[Any] | None:
    if _has_data(value):
        return _split_ids(value)
    if isinstance(value, list) and value:
        return list(value)
    return None


def _int_param(value: Any) -> int:
    try:
        return int(_text(value).strip() or 0)
    except ValueError:
        return 0


_PERL_NUMBER = re.compile(r"\s*([+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))")


def _perl_number(value: Any) -> float:
    """A scalar in numeric context: its leading number, 0 when there is none."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    match = _PERL_NUMBER.match(_text(value))
    return float(match.group(1)) if match else 0.0


def _select_articles(
    ticket: Ticket, user: Agent | CustomerUser, sender_types: list[Any] | None, order: str, limit: Any
) -> list[Article]:
    """TicketGet's article list: ArticleList per sender type (concatenated), then ArticleLimit
    (clamped to the count; ``DESC`` reverses only when a limit applies)."""
    base = sorted(ticket.articles, key=lambda a: a.article_number)
    if isinstance(user, CustomerUser):
        base = [a for a in base if a.is_visible_for_customer]
    articles: list[Article] = []
    if sender_types is None:
        articles = base
    else:
        for sender in sender_types:
            if not truthy(sender):
                articles.extend(base)  # ArticleList without a SenderType filter
                continue
            wanted = sender_type_id(_text(sender)) if _is_string(sender) else None
            if wanted is not None:  # an unknown sender type makes ArticleList return nothing
                articles.extend(a for a in base if a.sender_type_id == wanted)
    limit_value = _perl_number(limit)
    limit_true = truthy(limit)
    if limit_value > len(articles):
        limit_value = float(len(articles))
        limit_true = limit_value != 0
    if articles and limit_true:
        if order == "DESC":
            articles = list(reversed(articles))
        last = int(limit_value - 1)
        articles = articles[: last + 1] if last >= 0 else []
    return articles


def ticket_get(store: Store, data: Any, ctx: OpContext) -> Data:
    """TicketGet: ``{"Ticket": [...]}`` in request order."""
    op = "TicketGet"
    if not isinstance(data, dict):
        raise PerlDie("Not a HASH reference")
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
    html_body = truthy(data.get("HTMLBodyAsAttachment"))
    raw_senders = data.get("ArticleSenderType")
    sender_types: list[Any] | None = None
    if isinstance(raw_senders, list) and raw_senders:
        sender_types = list(raw_senders)
    elif _has_data(raw_senders):
        sender_types = [raw_senders]
    order = _text(data.get("ArticleOrder")) if truthy(data.get("ArticleOrder")) else "ASC"
    limit = data.get("ArticleLimit") if truthy(data.get("ArticleLimit")) else 0
    result = []
    for ticket in tickets:
        rendered = render_ticket(store, ticket, dynamic_fields=with_dfs, extended=extended)
        if all_articles:
            articles = _select_articles(ticket, user, sender_types, order, limit)
            if articles:
                rendered["Article"] = [
                    render_article(
                        store,
                        a,
                        attachments=with_attachments,
                        attachment_contents=contents,
                        dynamic_fields=with_dfs,
                        html_body_attachment=html_body,
                    )
                    for a in articles
                ]
        result.append(rendered)
    return {"Ticket": result}


# -------------------------------------------------------------------- ticket search
#: Core TicketSearch's %SortOptions (what each SortBy orders by).
_SORT_KEYS: dict[str, Callable[[Store, Ticket], Any]] = {
    "Age": lambda s, t: t.create_time,
    "Created": lambda s, t: t.create_time,
    "Changed": lambda s, t: t.change_time,
    "Ticket": lambda s, t: t.ticket_number,
    "TicketNumber": lambda s, t: t.ticket_number,
    "Title": lambda s, t: t.title.lower(),
    "Queue": lambda s, t: s.queues[t.queue_id].name,
    "State": lambda s, t: t.state_id,
    "Priority": lambda s, t: t.priority_id,
    "Type": lambda s, t: t.type_id,
    "Lock": lambda s, t: t.lock_id,
    "CustomerID": lambda s, t: t.customer_id or "",
    "Service": lambda s, t: t.service_id or 0,
    "SLA": lambda s, t: t.sla_id or 0,
    "PendingTime": lambda s, t: t.until_time,
    "TicketEscalation": lambda s, t: 0,
    "EscalationTime": lambda s, t: 0,
    "EscalationUpdateTime": lambda s, t: 0,
    "EscalationResponseTime": lambda s, t: 0,
    "EscalationSolutionTime": lambda s, t: 0,
}

#: Znuny's ticket_state_type ids.
_STATE_TYPE_IDS: dict[int, str] = {
    1: "new",
    2: "open",
    3: "closed",
    4: "pending reminder",
    5: "pending auto",
    6: "removed",
    7: "merged",
}

_INTEGER = re.compile(r"[+-]?\d{1,16}")
_DATE = re.compile(r"\d\d\d\d-(\d\d|\d)-(\d\d|\d) (\d\d|\d):(\d\d|\d):(\d\d|\d)")


def _search_values(data: dict[str, Any], key: str) -> list[Any] | None:
    """GI TicketSearch ``_GetParams`` for list parameters: an array, or a string as one item."""
    value = data.get(key)
    if isinstance(value, list) and value:
        return list(value)
    if _has_data(value):
        return [value]
    return None


def _integers(values: list[Any]) -> set[int]:
    """Quote(..., 'Integer') of every element; one bad element makes the search fail."""
    result = set()
    for value in values:
        if isinstance(value, bool) or not _is_string(value) or not _INTEGER.fullmatch(_text(value)):
            raise SearchFailed(_text(value))
        result.add(int(_text(value)))
    return result


def _lookup_ids(values: list[Any], lookup: Callable[[str], int | None]) -> set[int]:
    """Name -> id lookups of the core search; an unknown name makes the search return nothing."""
    result = set()
    for value in values:
        found = lookup(_text(value)) if _is_string(value) else None
        if found is None:
            raise SearchFailed(_text(value))
        result.add(found)
    return result


def _search_time(store: Store, text: str, *, not_future: bool) -> int:
    """A ``YYYY-MM-DD HH:MM:SS`` search date as epoch seconds (invalid or future: no result)."""
    match = _DATE.search(text)
    if match is None:
        raise SearchFailed(text)
    try:
        when = store.clock.from_parts(*(int(g) for g in match.groups()))
    except ValueError:
        raise SearchFailed(text) from None
    if not_future and when > store.clock.epoch():
        raise SearchFailed(text)
    return when


def _time_filters(store: Store, data: dict[str, Any]) -> list[Callable[[Ticket], bool]]:
    """Ticket{Create,LastChange,Pending}Time{Older,Newer}{Minutes,Date}."""
    filters: list[Callable[[Ticket], bool]] = []
    now = store.clock.epoch()
    columns: dict[str, Callable[[Ticket], int]] = {
        "TicketCreateTime": lambda t: t.create_time,
        "TicketLastChangeTime": lambda t: t.change_time,
        "TicketPendingTime": lambda t: t.until_time,
    }
    for prefix, column in columns.items():
        older: int | None = None
        for suffix in ("OlderMinutes", "NewerMinutes", "OlderDate", "NewerDate"):
            raw = data.get(prefix + suffix)
            if not _has_data(raw):
                continue
            text = _text(raw).strip()
            if suffix.endswith("Minutes"):
                bound = now - int(_perl_number(text)) * 60
            elif not truthy(text):
                continue
            else:
                bound = _search_time(store, text, not_future=suffix == "NewerDate" and prefix != "TicketPendingTime")
                if suffix == "NewerDate" and older is not None and bound > older:
                    raise SearchFailed(text)
            if suffix.startswith("Older"):
                older = bound if suffix == "OlderDate" else older
            filters.append(_bound_filter(column, bound, at_most=suffix.startswith("Older")))
    return filters


def _text_filter(data: dict[str, Any], key: str) -> Callable[[str], bool] | None:
    """TicketNumber/Title/CustomerID/CustomerUserLogin: values ORed, each a QueryCondition."""
    values = _search_values(data, key)
    if values is None:
        return None
    predicates = []
    for value in values:
        if not _is_string(value) or _text(value) == "":
            continue
        text = _text(value).replace("*", "%")
        if re.fullmatch(r"%{1,3}", text):
            continue
        predicates.append(query_condition(text))
    if not predicates:
        return None
    return lambda column: any(p(column) for p in predicates)


def _dynamic_field_filters(store: Store, data: dict[str, Any]) -> list[Callable[[Ticket], bool]]:
    """GI ``_GetDynamicFields`` + core dynamic field search (valid *ticket* fields only; names
    that are not such a field are ignored; operators ANDed, values of an operator ORed)."""
    raw: dict[str, Any] = {}
    given = data.get("DynamicField")
    if given:
        if _hash_with_data(given):
            raw[_text(given.get("Name"))] = given
        elif _array_with_data(given):
            raw = {_text(item.get("Name")) if isinstance(item, dict) else "": item for item in given}
        else:
            return []
    else:
        for key, value in data.items():
            match = re.fullmatch(r"DynamicField_([a-zA-Z\d]+)", key)
            if match:
                raw[match.group(1)] = value
    filters: list[Callable[[Ticket], bool]] = []
    for name, operators in raw.items():
        field = store.dynamic_fields.get(name)
        if field is None or not field.valid or field.object_type != "Ticket" or not _hash_with_data(operators):
            continue
        for operator in sorted(op for op in operators if op != "Name"):
            terms = operators[operator] if isinstance(operators[operator], list) else [operators[operator]]
            tests: list[Callable[[str | None], bool]] = []
            for term in terms:
                if term is None or _text(term) == "":
                    continue
                text = _text(term).replace("*", "%")
                if re.fullmatch(r"%{1,3}", text):
                    continue
                if operator != "Empty" and not _df_value_valid(field, text):
                    raise SearchFailed(text)
                tests.append(_df_operator(operator, text))
            if tests:
                filters.append(_field_filter(name, tests))
    return filters


def _bound_filter(column: Callable[[Ticket], int], bound: int, *, at_most: bool) -> Callable[[Ticket], bool]:
    if at_most:
        return lambda t: column(t) <= bound
    return lambda t: column(t) >= bound


def _field_filter(name: str, tests: list[Callable[[str | None], bool]]) -> Callable[[Ticket], bool]:
    return lambda t: any(test(_df_text(t.dynamic_fields.get(name))) for test in tests)


def _member_filter(column: Callable[[Ticket], int], wanted: set[int]) -> Callable[[Ticket], bool]:
    return lambda t: column(t) in wanted


def _created_filter(attribute: str, wanted: set[int]) -> Callable[[Ticket], bool]:
    """Criteria on the ticket as created: its first NewTicket history row."""
    return lambda t: any(
        h.history_type == "NewTicket" and h.article_id == 0 and getattr(h, attribute) in wanted for h in t.history
    )


def _column_filter(
    predicate: Callable[[str], bool], column: Callable[[Ticket], str | None]
) -> Callable[[Ticket], bool]:
    """A QueryCondition on a column; SQL NULL matches no condition, not even a negated one."""

    def matches(t: Ticket) -> bool:
        value = column(t)
        return value is not None and predicate(value)

    return matches


def _df_text(value: Any) -> str | None:
    if value is None or value == "" or value == []:
        return None
    return ",".join(value) if isinstance(value, list) else _text(value)


def _df_operator(operator: str, term: str) -> Callable[[str | None], bool]:
    """SearchSQLGet of a text-like field for one operator and term (NULL never compares)."""
    comparisons: dict[str, Callable[[str, str], bool]] = {
        "Equals": lambda v, x: v == x,
        "GreaterThan": lambda v, x: v > x,
        "GreaterThanEquals": lambda v, x: v >= x,
        "SmallerThan": lambda v, x: v < x,
        "SmallerThanEquals": lambda v, x: v <= x,
    }
    if operator in comparisons:
        compare = comparisons[operator]
        return lambda v: v is not None and compare(v, term)
    if operator == "Like":
        like_term = query_condition(term)
        return lambda v: v is not None and like_term(v)
    if operator == "Empty":
        if truthy(term):
            return lambda v: v is None
        return lambda v: v is not None
    raise SearchFailed(operator)  # unsupported operator: SearchSQLGet returns nothing, invalid SQL


def _search_permitted(store: Store, user: Agent | CustomerUser, ticket: Ticket) -> bool:
    """Core TicketSearch permission: agents by ``ro`` on the queue's group (UserID 1 sees all),
    customers by their CustomerIDs (case-insensitive) or their login."""
    if isinstance(user, Agent):
        if user.user_id == 1:
            return True
        queue = store.queues.get(ticket.queue_id)
        return queue is not None and user.has(queue.group_id, "ro")
    return ticket.customer_user_id == user.login or (
        bool(user.customer_id) and (ticket.customer_id or "").lower() == user.customer_id.lower()
    )


def _search_filters(store: Store, data: dict[str, Any]) -> list[Callable[[Ticket], bool]]:
    """Every criterion of the search as a ticket predicate (raises SearchFailed for 'no result')."""
    filters: list[Callable[[Ticket], bool]] = []
    ids = _search_values(data, "TicketID")
    if ids is not None:
        wanted_ids = _integers(ids)
        filters.append(lambda t: t.ticket_id in wanted_ids)
    named: list[tuple[str, str, Callable[[str], int | None], Callable[[Ticket], int]]] = [
        ("Types", "TypeIDs", lambda n: _id_of(store.named_by(store.types, name=n)), lambda t: t.type_id),
        ("States", "StateIDs", lambda n: _id_of(store.state_by(name=n)), lambda t: t.state_id),
        ("Locks", "LockIDs", lambda n: next((k for k, v in LOCKS.items() if v == n), None), lambda t: t.lock_id),
        ("", "OwnerIDs", lambda n: None, lambda t: t.owner_id),
        ("", "ResponsibleIDs", lambda n: None, lambda t: t.responsible_id),
        ("Queues", "QueueIDs", lambda n: _id_of(store.queue_by(name=n)), lambda t: t.queue_id),
        (
            "Priorities",
            "PriorityIDs",
            lambda n: _id_of(store.named_by(store.priorities, name=n)),
            lambda t: t.priority_id,
        ),
        ("Services", "ServiceIDs", lambda n: None, lambda t: t.service_id or 0),
        ("SLAs", "SLAIDs", lambda n: None, lambda t: t.sla_id or 0),
    ]
    for names_key, ids_key, lookup, column in named:
        wanted: set[int] | None = None
        if names_key:
            names = _search_values(data, names_key)
            if names is not None:
                wanted = _lookup_ids(names, lookup)
        id_values = _search_values(data, ids_key)
        if id_values is not None:
            wanted = (wanted or set()) | _integers(id_values)
        if wanted is not None:
            filters.append(_member_filter(column, wanted))
    if _search_values(data, "WatchUserIDs") is not None:
        _integers(_search_values(data, "WatchUserIDs") or [])
        filters.append(lambda t: False)  # nobody watches tickets in the fake
    created: list[tuple[str, str, Callable[[str], int | None], str]] = [
        ("CreatedTypes", "CreatedTypeIDs", lambda n: _id_of(store.named_by(store.types, name=n)), "type_id"),
        ("CreatedStates", "CreatedStateIDs", lambda n: _id_of(store.state_by(name=n)), "state_id"),
        ("CreatedQueues", "CreatedQueueIDs", lambda n: _id_of(store.queue_by(name=n)), "queue_id"),
        (
            "CreatedPriorities",
            "CreatedPriorityIDs",
            lambda n: _id_of(store.named_by(store.priorities, name=n)),
            "priority_id",
        ),
        ("", "CreatedUserIDs", lambda n: None, "create_by"),
    ]
    for names_key, ids_key, lookup, attribute in created:
        wanted = None
        if names_key and _search_values(data, names_key) is not None:
            wanted = _lookup_ids(_search_values(data, names_key) or [], lookup)
        if _search_values(data, ids_key) is not None:
            wanted = (wanted or set()) | _integers(_search_values(data, ids_key) or [])
        if wanted is not None:
            filters.append(_created_filter(attribute, wanted))
    state_types = _search_values(data, "StateType")
    if state_types is not None:
        # GI passes StateType as a list, so the core's 'Open'/'Closed' shortcuts never apply:
        # the values are state type names, matched exactly against valid states.
        type_names = {_text(v) for v in state_types}
        state_ids = {sid for sid, st in store.states.items() if st.valid and st.type_name in type_names}
        if not state_ids:
            raise SearchFailed("StateType")
        filters.append(lambda t: t.state_id in state_ids)
    state_type_ids = _search_values(data, "StateTypeIDs")
    if state_type_ids is not None:
        type_names_by_id = {_STATE_TYPE_IDS.get(i, "") for i in _integers(state_type_ids)}
        type_state_ids = {sid for sid, st in store.states.items() if st.valid and st.type_name in type_names_by_id}
        if not type_state_ids:
            raise SearchFailed("StateTypeIDs")
        filters.append(lambda t: t.state_id in type_state_ids)
    columns: dict[str, Callable[[Ticket], str | None]] = {
        "TicketNumber": lambda t: t.ticket_number,
        "Title": lambda t: t.title,
        "CustomerID": lambda t: t.customer_id,
        "CustomerUserLogin": lambda t: t.customer_user_id,
    }
    for key, column_of in columns.items():
        predicate = _text_filter(data, key)
        if predicate is not None:
            filters.append(_column_filter(predicate, column_of))
    filters.extend(_dynamic_field_filters(store, data))
    filters.extend(_time_filters(store, data))
    return filters


def _id_of(item: Any) -> int | None:
    if item is None:
        return None
    for attribute in ("queue_id", "state_id", "item_id"):
        if hasattr(item, attribute):
            value: int = getattr(item, attribute)
            return value
    return None


def _person_key(store: Store, attribute: str, part: int) -> Callable[[Ticket], str]:
    def key(t: Ticket) -> str:
        agent = store.agents.get(getattr(t, attribute))
        return (agent.first_name, agent.last_name)[part] if agent else ""

    return key


def _field_key(field: str) -> Callable[[Ticket], tuple[bool, str]]:
    return lambda t: (_df_text(t.dynamic_fields.get(field)) is None, _df_text(t.dynamic_fields.get(field)) or "")


def _option_key(store: Store, key: Callable[[Store, Ticket], Any]) -> Callable[[Ticket], Any]:
    return lambda t: key(store, t)


def _sorted(store: Store, tickets: list[Ticket], sort_by: Any, order_by: Any) -> list[Ticket]:
    """ORDER BY of the core search; an unknown SortBy or an OrderBy other than Down/Up fails."""
    sorts = list(sort_by) if isinstance(sort_by, list) else [sort_by]
    orders = list(order_by) if isinstance(order_by, list) else [order_by]
    keys: list[tuple[Callable[[Ticket], Any], bool]] = []
    for position, sort in enumerate(sorts):
        order = orders[position] if position < len(orders) else None
        if order not in ("Down", "Up"):
            raise SearchFailed(_text(order))
        name = _text(sort)
        if name in ("Owner", "Responsible"):
            # ORDER BY u.first_name <dir>, u.last_name (FirstnameLastnameOrder 0)
            attribute = "owner_id" if name == "Owner" else "responsible_id"
            keys.append((_person_key(store, attribute, 0), order == "Down"))
            keys.append((_person_key(store, attribute, 1), False))
        elif name.startswith("DynamicField_") and name[len("DynamicField_") :] in store.dynamic_fields:
            keys.append((_field_key(name[len("DynamicField_") :]), order == "Down"))
        elif name in _SORT_KEYS:
            keys.append((_option_key(store, _SORT_KEYS[name]), order == "Down"))
        else:
            raise SearchFailed(name)
    result = sorted(tickets, key=lambda t: t.ticket_id)
    for key, descending in reversed(keys):
        result.sort(key=key, reverse=descending)
    return result


def ticket_search(store: Store, data: Any, ctx: OpContext) -> Data:
    """TicketSearch: ``{"TicketID": ["2", ...]}``, or ``{}`` when nothing matches -- and also when
    the core search gives up (unknown queue/state/... name, bad id, bad SortBy/OrderBy, invalid
    condition or date), as Znuny's TicketSearch then returns an empty list."""
    if not isinstance(data, dict):
        raise PerlDie("Not a HASH reference")
    user = authenticate(store, data, ctx)
    if user is None:
        return _error("TicketSearch", "AuthFail", "TicketSearch: Authorization failing!")
    limit = data.get("Limit") if truthy(data.get("Limit")) else 500
    sort_by = data.get("SortBy") if truthy(data.get("SortBy")) else "Age"
    order_by = data.get("OrderBy") if truthy(data.get("OrderBy")) else "Down"
    try:
        filters = _search_filters(store, data)
        found = [t for t in store.tickets.values() if _search_permitted(store, user, t) and all(f(t) for f in filters)]
        found = _sorted(store, found, sort_by, order_by)
    except SearchFailed:
        return {}
    found = found[: max(int(_perl_number(limit)), 0)]
    if not found:
        return {}
    return {"TicketID": [str(t.ticket_id) for t in found]}


# ---------------------------------------------------------------- ticket history
def ticket_history_get(store: Store, data: Any, ctx: OpContext) -> Data:
    """TicketHistoryGet (agents only)."""
    op = "TicketHistoryGet"
    if not isinstance(data, dict):
        raise PerlDie("Not a HASH reference")
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
        requested = list(_split_ids(raw))
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
    if truthy(article.get("From")) and not _valid_from(article["From"]):
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
        charset = _charset_of(content_type, spaced=op != "TicketCreate")
        if not _valid_charset(charset) or mime is None or not _valid_mime_type(mime.group(1)):
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
    """``_ValidateDynamicFields`` + ``_CheckDynamicField`` (TicketCreate's variant has a double
    space in its missing-parameter message and no article check)."""
    create = op == "TicketCreate"
    for item in items:
        if not _hash_with_data(item):
            raise OperationFault(f"{op}: Ticket->DynamicField parameter is invalid!")
        _trim(item)
        for needed in ("Name", "Value"):
            value = item.get(needed)
            if value is None or not (_is_string(value) or isinstance(value, list)):
                gap = "  " if create else " "
                return _error(op, "MissingParameter", f"{op}: DynamicField->{needed}{gap}parameter is missing!")
        field = store.dynamic_fields.get(_text(item["Name"]))
        if field is None or not field.valid or field.object_type not in ("Ticket", "Article"):
            return _error(op, "InvalidParameter", f"{op}: DynamicField->Name parameter is invalid!")
        if field.object_type == "Article" and not has_article and not create:
            return _error(op, "MissingParameter", f"{op}: To create an article DynamicField an article is required!")
        if not _df_value_valid(field, item["Value"]):
            return _error(op, "InvalidParameter", f"{op}: DynamicField->Value parameter is invalid!")
    return None


def _check_attachment(item: Any, has_article: bool, op: str) -> Data | None:
    """``_CheckAttachment`` of a top-level attachment (base64 is never checked; TicketCreate's
    variant has a double space in its missing-parameter message)."""
    create = op == "TicketCreate"
    if not _hash_with_data(item):
        raise OperationFault(f"{op}: Ticket->Attachment parameter is invalid!")
    _trim(item)
    if not has_article:
        return _error(op, "MissingParameter", f"{op}: To create an attachment an article is needed!")
    for needed in ("Content", "ContentType", "Filename"):
        if not _has_data(item.get(needed)):
            gap = "  " if create else " "
            return _error(op, "MissingParameter", f"{op}: Attachment->{needed}{gap}parameter is missing!")
    content_type = re.sub(r"\r\n|\r|\n", " ", _text(item["ContentType"])).lower()
    item["ContentType"] = content_type
    charset = _charset_of(content_type, spaced=not create)
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


def _check_ticket_attributes(store: Store, ticket_in: dict[str, Any], op: str, *, create: bool = False) -> Data | None:
    """``_CheckTicket`` of TicketUpdate, or with ``create`` of TicketCreate (which also requires
    Title, CustomerUser, Queue, State and Priority), in Znuny's order."""
    t = ticket_in
    if create:
        for needed in ("Title", "CustomerUser"):
            if not truthy(t.get(needed)):
                return _error(op, "MissingParameter", f"{op}: Ticket->{needed} parameter is missing!")
    if (create or truthy(t.get("CustomerUser"))) and not _valid_customer(store, t["CustomerUser"]):
        return _error(op, "InvalidParameter", f"{op}: Ticket->CustomerUser parameter is invalid!")
    if create and not truthy(t.get("QueueID")) and not truthy(t.get("Queue")):
        return _error(op, "MissingParameter", f"{op}: Ticket->QueueID or Ticket->Queue parameter is required!")
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
    if create and not truthy(t.get("StateID")) and not truthy(t.get("State")):
        return _error(op, "MissingParameter", f"{op}: Ticket->StateID or Ticket->State parameter is required!")
    if truthy(t.get("StateID")) or truthy(t.get("State")):
        state = _find_state(store, t)
        if state is None or not state.valid:
            return _error(op, "InvalidParameter", f"{op}: Ticket->StateID or Ticket->State parameter is invalid!")
    if create and not truthy(t.get("PriorityID")) and not truthy(t.get("Priority")):
        return _error(op, "MissingParameter", f"{op}: Ticket->PriorityID or Ticket->Priority parameter is required!")
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
    """The Article object or list; a ``null`` item autovivifies into ``{}`` in Perl, any other
    non-object item makes the operation die (``Not a HASH reference``)."""
    if _hash_with_data(value):
        return [dict(value)], None
    if _array_with_data(value):
        articles = []
        for item in value:
            if item is None:
                item = {}
            if not isinstance(item, dict):
                raise PerlDie("Not a HASH reference")
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
        if truthy(article.get("DynamicField")) and not create:  # TicketCreate ignores Article.DynamicField
            problem = _check_dynamic_fields(store, _as_list(article["DynamicField"]), True, op)
            if problem is not None:
                return problem
    return None


def _article_attachments(article: dict[str, Any]) -> list[Attachment]:
    """``Article.Attachment`` (accepted by 6.5 too): decoded, never validated. Perl dies on
    anything but a list or a non-empty object (and on non-object items); ``null`` items and
    items without Filename or ContentType are silently not written by ArticleWriteAttachment."""
    raw = article.get("Attachment")
    if raw is None:
        return []
    if _hash_with_data(raw):
        raw = [raw]
    if not isinstance(raw, list):
        raise PerlDie("Not an ARRAY reference")
    result = []
    for item in raw:
        if item is None:
            continue
        if not isinstance(item, dict):
            raise PerlDie("Not a HASH reference")
        if _has_data(item.get("Filename")) and _has_data(item.get("ContentType")):
            result.append(_attachment_of(item))
    return result


def _attachment_of(item: dict[str, Any]) -> Attachment:
    content = _text(item.get("Content"))
    return Attachment(
        filename=_text(item.get("Filename")),
        content=perl_decode_base64(content) if content else b"",
        content_type=_text(item.get("ContentType")),
        disposition=_text(item.get("Disposition")),
        content_id=_text(item.get("ContentID")),
        content_alternative=_text(item.get("ContentAlternative")),
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
    cc: str,
    bcc: str,
    user_id: int,
    top_attachments: list[dict[str, Any]] | None,
) -> Article:
    """ArticleCreate with article-level attachments, then the given top-level ones."""
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
        cc=cc,
        bcc=bcc,
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
        # TicketIDLookup: exact match on the number as sent (no trimming)
        number = _text(data["TicketNumber"])
        ticket = next((t for t in store.tickets.values() if t.ticket_number == number), None)
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
            store,
            ticket,
            article,
            from_=from_,
            to=to,
            cc=_text(article.get("Cc")) if truthy(article.get("Cc")) else "",
            bcc=_text(article.get("Bcc")) if truthy(article.get("Bcc")) else "",
            user_id=user_id,
            top_attachments=pending_attachments,
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
    """``IncludeTicketData``: the updated ticket with its dynamic fields and new article(s) --
    the core TicketGet/ArticleGet hashes (no ``TimeUnit``, which only TicketGet adds) with
    every attachment (ArticleAttachmentIndex without exclusions)."""
    data = render_ticket(store, ticket)
    data.pop("TimeUnit")
    fields = dynamic_field_list(ticket.dynamic_fields)
    if fields:
        data["DynamicField"] = fields
    rendered = [
        render_article(store, a, attachments=True, dynamic_fields=True, every_attachment=True) for a in articles
    ]
    for item in rendered:
        item.pop("TimeUnit")
    if len(rendered) == 1:
        data["Article"] = rendered[0]
    elif rendered:
        data["Articles"] = rendered
    return data


# -------------------------------------------------------------------- ticket create
def _create_items(value: Any) -> list[Any]:
    """TicketCreate's "homogenate input to array" of DynamicField/Attachment."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def ticket_create(store: Store, data: Any, ctx: OpContext) -> Data:
    """TicketCreate (Znuny 6.5, several articles allowed): checks in Znuny's order, then the
    ticket, its lock/state/pending time, ticket dynamic fields, the articles (top-level
    attachments on each, then article dynamic fields), owner (+ lock), responsible."""
    op = "TicketCreate"
    if not isinstance(data, dict):
        raise PerlDie("Not a HASH reference")
    if not any(truthy(data.get(k)) for k in ("UserLogin", "CustomerUserLogin", "SessionID")):
        return _error(op, "MissingParameter", "TicketCreate: UserLogin, CustomerUserLogin or SessionID is required!")
    if (truthy(data.get("UserLogin")) or truthy(data.get("CustomerUserLogin"))) and not truthy(data.get("Password")):
        return _error(op, "MissingParameter", "TicketCreate: Password or SessionID is required!")
    user = authenticate(store, data, ctx)
    if user is None:
        return _error(op, "AuthFail", "TicketCreate: User could not be authenticated!")
    if not _hash_with_data(data.get("Article")) and not _array_with_data(data.get("Article")):
        return _error(op, "MissingParameter", "TicketCreate: Article parameter is missing or not valid!")
    if not _hash_with_data(data.get("Ticket")):
        return _error(op, "MissingParameter", "TicketCreate: Ticket parameter is missing or not valid!")
    for optional in ("DynamicField", "Attachment"):
        value = data.get(optional)
        if value is not None and not _hash_with_data(value) and not _array_with_data(value):
            return _error(op, "MissingParameter", f"TicketCreate: {optional} parameter is missing or not valid!")
    t = dict(data["Ticket"])
    _trim(t)
    if _hash_with_data(t.get("PendingTime")):
        t["PendingTime"] = dict(t["PendingTime"])
        _trim(t["PendingTime"])
    problem = _check_ticket_attributes(store, t, op, create=True)
    if problem is not None:
        return problem
    # CheckCreatePermissions: the queue by name if given, else by id
    queue = store.queue_by(name=t["Queue"]) if _has_data(t.get("Queue")) else store.queue_by(queue_id=t.get("QueueID"))
    if isinstance(user, Agent) and (queue is None or not user.has(queue.group_id, "create")):
        return _error(op, "AccessDenied", "TicketCreate: Can not create tickets in given Queue or QueueID!")
    articles, problem = _collect_articles(data["Article"], op)
    if problem is not None:
        return problem
    problem = _validate_articles(store, articles, user, op, create=True)
    if problem is not None:
        return problem
    dynamic_fields = [dict(i) if isinstance(i, dict) else i for i in _create_items(data.get("DynamicField"))]
    problem = _check_dynamic_fields(store, dynamic_fields, True, op)
    if problem is not None:
        return problem
    attachments: list[dict[str, Any]] = []
    for item in _create_items(data.get("Attachment")):
        item_copy = dict(item) if isinstance(item, dict) else item
        problem = _check_attachment(item_copy, True, op)
        if problem is not None:
            return problem
        attachments.append(item_copy)
    user_id = user.user_id if isinstance(user, Agent) else store.customer_panel_user_id
    try:
        return _ticket_create_writes(store, t, articles, dynamic_fields, attachments, user_id)
    finally:
        store.flush_notifications(user_id)


def _ticket_create_writes(
    store: Store,
    t: dict[str, Any],
    articles: list[dict[str, Any]],
    dynamic_fields: list[Any],
    attachments: list[dict[str, Any]],
    user_id: int,
) -> Data:
    """``_TicketCreate``."""
    customer_login = _text(t.get("CustomerUser"))
    customer = store.customers.get(customer_login)
    if customer is None:  # CustomerSearch(PostMasterSearch => ...): a customer with that address
        customer = next(
            (c for _, c in sorted(store.customers.items()) if c.email.lower() == customer_login.lower()), None
        )
        if customer is not None:
            customer_login = customer.login
    customer_id = customer.customer_id if customer else ""
    if _has_data(t.get("CustomerID")):
        customer_id = _text(t["CustomerID"])
    owner: Agent | None = None
    if truthy(t.get("Owner")) and not truthy(t.get("OwnerID")):
        owner = store.agent_by_login(_text(t["Owner"]))
    elif t.get("OwnerID") is not None:
        owner = store.agent_by_id(t["OwnerID"])
    responsible: Agent | None = None
    if truthy(t.get("Responsible")) and not truthy(t.get("ResponsibleID")):
        responsible = store.agent_by_login(_text(t["Responsible"]))
    elif t.get("ResponsibleID") is not None:
        responsible = store.agent_by_id(t["ResponsibleID"])
    # core TicketCreate takes the name when given, else the id
    queue = store.queue_by(name=t["Queue"]) if truthy(t.get("Queue")) else store.queue_by(queue_id=t.get("QueueID"))
    state = store.state_by(name=t["State"]) if truthy(t.get("State")) else store.state_by(state_id=t.get("StateID"))
    priority = (
        store.named_by(store.priorities, name=t["Priority"])
        if truthy(t.get("Priority"))
        else store.named_by(store.priorities, item_id=t.get("PriorityID"))
    )
    if truthy(t.get("Type")):
        type_ = store.named_by(store.types, name=t["Type"])
    elif truthy(t.get("TypeID")):
        type_ = store.named_by(store.types, item_id=t["TypeID"])
    else:
        type_ = store.types[min(store.types)]
    if queue is None or state is None or priority is None or type_ is None:
        raise OperationFault("Ticket could not be created, please contact the system administrator")
    ticket = store.ticket_create(
        title=_text(t["Title"]),
        queue=queue,
        state=state,
        priority=priority,
        type_=type_,
        customer_id=customer_id,
        customer_user_id=customer_login,
        user_id=user_id,
    )
    if truthy(t.get("Lock")) or truthy(t.get("LockID")):
        if truthy(t.get("LockID")):
            lock_id = _int_param(t["LockID"])
        else:
            lock_id = next(k for k, v in LOCKS.items() if v == _text(t["Lock"]))
        store.lock_set(ticket, lock_id, user_id, step=None)
    if state.type_name.lower().startswith("close"):
        store.lock_set(ticket, 1, user_id, step=None)
    elif state.type_name.lower().startswith("pending") and t.get("PendingTime") is not None:
        store.pending_time_set(ticket, _pending_epoch(store, t["PendingTime"]), user_id, fail=False)
    ticket_fields = [i for i in dynamic_fields if store.dynamic_fields[_text(i["Name"])].object_type == "Ticket"]
    article_fields = [i for i in dynamic_fields if store.dynamic_fields[_text(i["Name"])].object_type == "Article"]
    _set_dynamic_fields(store, ticket, None, ticket_fields, user_id)
    article_ids: list[int] = []
    for article in articles:
        if truthy(article.get("ArticleSend")) and not truthy(article.get("From")):
            from_ = "Znuny System <znuny@localhost>"
        elif truthy(article.get("From")):
            from_ = _text(article["From"])
        else:
            from_ = customer.mailbox if customer else customer_login
        cc = bcc = ""
        if truthy(article.get("ArticleSend")):
            to = _text(article.get("To"))
            cc, bcc = _text(article.get("Cc")), _text(article.get("Bcc"))
            article["CommunicationChannel"] = "Email"
        elif truthy(t.get("Queue")):
            to = _text(t["Queue"])
        else:
            to = queue.name
        created = _create_article(
            store, ticket, article, from_=from_, to=to, cc=cc, bcc=bcc, user_id=user_id, top_attachments=attachments
        )
        article_ids.append(created.article_id)
        if truthy(article.get("TimeUnit")):
            store.account_time(ticket, created, float(_text(article["TimeUnit"]).replace(",", ".")), user_id)
        _set_dynamic_fields(store, ticket, created, article_fields, user_id)
    if owner is not None:
        store.owner_set(ticket, owner, user_id, fail=False)
        if not truthy(t.get("Lock")) and not truthy(t.get("LockID")):
            store.lock_set(ticket, 2, user_id, step=None)
    else:
        store.owner_set(ticket, store.agents[user_id], user_id, notify=False, fail=False)
    if responsible is not None:
        store.responsible_set(ticket, responsible, user_id, fail=False)
    article_answer: Any = article_ids[0] if len(article_ids) == 1 else article_ids
    return {"ArticleID": article_answer, "TicketID": str(ticket.ticket_id), "TicketNumber": ticket.ticket_number}


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
