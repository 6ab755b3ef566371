"""TicketSearch: ticket ids matching the criteria the core TicketSearch understands."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from otrs_closure.testing._entities import Agent, CustomerUser, Ticket
from otrs_closure.testing._faults import PerlDie
from otrs_closure.testing._operations._checks import df_value_valid
from otrs_closure.testing._operations._common import Data, OpContext, authenticate, error
from otrs_closure.testing._operations._perl import (
    array_with_data,
    has_data,
    hash_with_data,
    is_string,
    perl_number,
    text_of,
    truthy,
)
from otrs_closure.testing._perltext import SearchFailed, query_condition
from otrs_closure.testing._store import LOCKS, Store

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
_DATE = re.compile(r"(\d\d\d\d)-(\d\d|\d)-(\d\d|\d) (\d\d|\d):(\d\d|\d):(\d\d|\d)")


def _search_values(data: dict[str, Any], key: str) -> list[Any] | None:
    """GI TicketSearch ``_GetParams`` for list parameters: an array, or a string as one item."""
    value = data.get(key)
    if isinstance(value, list) and value:
        return list(value)
    if has_data(value):
        return [value]
    return None


def _integers(values: list[Any]) -> set[int]:
    """Quote(..., 'Integer') of every element; one bad element makes the search fail."""
    result = set()
    for value in values:
        if isinstance(value, bool) or not is_string(value) or not _INTEGER.fullmatch(text_of(value)):
            raise SearchFailed(text_of(value))
        result.add(int(text_of(value)))
    return result


def _lookup_ids(values: list[Any], lookup: Callable[[str], int | None]) -> set[int]:
    """Name -> id lookups of the core search; an unknown name makes the search return nothing."""
    result = set()
    for value in values:
        found = lookup(text_of(value)) if is_string(value) else None
        if found is None:
            raise SearchFailed(text_of(value))
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
            if not has_data(raw):
                continue
            text = text_of(raw).strip()
            if suffix.endswith("Minutes"):
                bound = now - int(perl_number(text)) * 60
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
        if not is_string(value) or text_of(value) == "":
            continue
        text = text_of(value).replace("*", "%")
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
        if hash_with_data(given):
            raw[text_of(given.get("Name"))] = given
        elif array_with_data(given):
            raw = {text_of(item.get("Name")) if isinstance(item, dict) else "": item for item in given}
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
        if field is None or not field.valid or field.object_type != "Ticket" or not hash_with_data(operators):
            continue
        for operator in sorted(op for op in operators if op != "Name"):
            terms = operators[operator] if isinstance(operators[operator], list) else [operators[operator]]
            tests: list[Callable[[str | None], bool]] = []
            for term in terms:
                if term is None or text_of(term) == "":
                    continue
                text = text_of(term).replace("*", "%")
                if re.fullmatch(r"%{1,3}", text):
                    continue
                if operator != "Empty" and not df_value_valid(field, text):
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
    return ",".join(value) if isinstance(value, list) else text_of(value)


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
    ids = _search_values(data, "TicketID") if store.profile.search_by_ticket_id else None
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
        type_names = {text_of(v) for v in state_types}
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
            raise SearchFailed(text_of(order))
        name = text_of(sort)
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
        return error("TicketSearch", "AuthFail", "TicketSearch: Authorization failing!")
    limit = data.get("Limit") if truthy(data.get("Limit")) else 500
    sort_by = data.get("SortBy") if truthy(data.get("SortBy")) else "Age"
    order_by = data.get("OrderBy") if truthy(data.get("OrderBy")) else "Down"
    try:
        filters = _search_filters(store, data)
        found = [t for t in store.tickets.values() if _search_permitted(store, user, t) and all(f(t) for f in filters)]
        found = _sorted(store, found, sort_by, order_by)
    except SearchFailed:
        return {}
    found = found[: max(int(perl_number(limit)), 0)]
    if not found:
        return {}
    return {"TicketID": [str(t.ticket_id) for t in found]}
