"""TicketUpdate: every check before the first write, then the writes in the server's order."""

from __future__ import annotations

from typing import Any, TypeVar

from otrs_closure.testing._entities import Agent, Article, CustomerUser, Queue, State, Ticket
from otrs_closure.testing._faults import WRITE_FAULTSTRINGS, OperationFault, WriteStep
from otrs_closure.testing._operations._articles import (
    answer_article_id,
    article_ids_answer,
    create_article,
    finish_articles,
    set_dynamic_fields,
)
from otrs_closure.testing._operations._checks import (
    check_attachment,
    check_dynamic_fields,
    check_ticket_attributes,
    collect_articles,
    find_state,
    pending_epoch,
    validate_articles,
)
from otrs_closure.testing._operations._common import Data, OpContext, authenticate, error
from otrs_closure.testing._operations._perl import (
    array_with_data,
    as_list,
    hash_with_data,
    int_param,
    text_of,
    trim,
    truthy,
)
from otrs_closure.testing._operations._render import dynamic_field_list, render_article, render_ticket
from otrs_closure.testing._store import LOCKS, Store


def ticket_update(store: Store, data: Any, ctx: OpContext) -> Data:
    """TicketUpdate: every check before the first write, then writes in Znuny's order."""
    op = "TicketUpdate"
    if not hash_with_data(data):
        return error(op, "EmptyRequest", "TicketUpdate: The request data is invalid!")
    if not truthy(data.get("TicketID")) and not truthy(data.get("TicketNumber")):
        return error(op, "MissingParameter", "TicketUpdate: TicketID or TicketNumber is required!")
    if not any(truthy(data.get(k)) for k in ("UserLogin", "CustomerUserLogin", "SessionID")):
        return error(op, "MissingParameter", "TicketUpdate: UserLogin, CustomerUserLogin or SessionID is required!")
    if (truthy(data.get("UserLogin")) or truthy(data.get("CustomerUserLogin"))) and not truthy(data.get("Password")):
        return error(op, "MissingParameter", "TicketUpdate: Password or SessionID is required!")
    user = authenticate(store, data, ctx)
    if user is None:
        return error(op, "AuthFail", "TicketUpdate: User could not be authenticated!")
    user_id = user.user_id if isinstance(user, Agent) else store.customer_panel_user_id
    denied = error(op, "AccessDenied", "TicketUpdate: User does not have access to the ticket!")
    ticket: Ticket | None
    if truthy(data.get("TicketNumber")):
        # TicketIDLookup: exact match on the number as sent (no trimming)
        number = text_of(data["TicketNumber"])
        ticket = next((t for t in store.tickets.values() if t.ticket_number == number), None)
        answer_id: Any = ticket.ticket_id if ticket else None  # TicketIDLookup's value: a number
    else:
        answer_id = data["TicketID"]
        ticket = store.ticket_by_id(answer_id)
    if ticket is None or not store.may(user, ticket, store.profile.update_access):
        return denied
    if data.get("Ticket") is not None and not hash_with_data(data["Ticket"]):
        return error(op, "InvalidParameter", "TicketUpdate: Ticket parameter is not valid!")
    for optional in ("DynamicField", "Attachment"):
        value = data.get(optional)
        if value is not None and not hash_with_data(value) and not array_with_data(value):
            return error(op, "MissingParameter", f"TicketUpdate: {optional} parameter is missing or not valid!")
    ticket_in: dict[str, Any] = {}
    if data.get("Ticket") is not None:
        ticket_in = dict(data["Ticket"])
        trim(ticket_in)
        if hash_with_data(ticket_in.get("PendingTime")):
            ticket_in["PendingTime"] = dict(ticket_in["PendingTime"])
            trim(ticket_in["PendingTime"])
        problem = check_ticket_attributes(store, ticket_in, op)
        if problem is not None:
            return problem
    articles: list[dict[str, Any]] = []
    if data.get("Article") is not None:
        articles, problem = collect_articles(store.profile, data["Article"], op)
        if problem is not None:
            return problem
    problem = validate_articles(store, articles, user, op, create=False)
    if problem is not None:
        return problem
    dynamic_fields: list[Any] = []
    if truthy(data.get("DynamicField")):
        dynamic_fields = [dict(i) if isinstance(i, dict) else i for i in as_list(data["DynamicField"])]
        problem = check_dynamic_fields(store, dynamic_fields, bool(articles), op)
        if problem is not None:
            return problem
    attachments: list[dict[str, Any]] = []
    if data.get("Attachment") is not None:
        raw_items = as_list(data["Attachment"])
        for item in raw_items:
            item_copy = dict(item) if isinstance(item, dict) else item
            problem = check_attachment(store.profile, item_copy, bool(articles), op)
            if problem is not None:
                return problem
            attachments.append(item_copy)
    try:
        return _ticket_update_writes(
            store, ticket, answer_id, ticket_in, articles, dynamic_fields, attachments, user, user_id, ctx
        )
    finally:
        store.flush_notifications(user_id)


def _update_permissions(
    store: Store,
    ticket: Ticket,
    ticket_in: dict[str, Any],
    user_id: int,
    *,
    has_article: bool,
    has_dynamic_fields: bool,
) -> Data | None:
    """``_CheckUpdatePermissions``. Its note (article) and rw (dynamic field) checks fire on
    OTRS 5/6 and OTOBO only: Znuny passes them the wrong parameter names."""
    agent = store.agents.get(user_id)

    def may(permission: str) -> bool:
        return agent is not None and store.agent_may(agent, ticket, permission)

    op = "TicketUpdate"
    if store.profile.update_article_permission:
        if has_article and not may("note"):
            return error(op, "AccessDenied", "TicketUpdate: Does not have permissions to create new articles!")
        if has_dynamic_fields and not may("rw"):
            return error(op, "AccessDenied", "TicketUpdate: Does not have permissions to update dynamic fields!")
    if (truthy(ticket_in.get("Queue")) or truthy(ticket_in.get("QueueID"))) and not may("move"):
        return error(op, "AccessDenied", "TicketUpdate: Does not have permissions to update queue!")
    if (truthy(ticket_in.get("Owner")) or truthy(ticket_in.get("OwnerID"))) and not may("owner"):
        return error(op, "AccessDenied", "TicketUpdate: Does not have permissions to update owner!")
    if (truthy(ticket_in.get("Responsible")) or truthy(ticket_in.get("ResponsibleID"))) and not may("responsible"):
        return error(op, "AccessDenied", "TicketUpdate: Does not have permissions to update responsibe!")
    if (truthy(ticket_in.get("Priority")) or truthy(ticket_in.get("PriorityID"))) and not may("priority"):
        return error(op, "AccessDenied", "TicketUpdate: Does not have permissions to update priority!")
    if truthy(ticket_in.get("State")) or truthy(ticket_in.get("StateID")):
        state = find_state(store, ticket_in)
        type_name = state.type_name.lower() if state else ""
        if type_name.startswith(("close", "pending")) and not may("close"):
            return error(op, "AccessDenied", "TicketUpdate: Does not have permissions to update state!")
    return None


def _changed(new: Any, current: Any) -> bool:
    return new is not None and text_of(new) != text_of(current)


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
    problem = _update_permissions(
        store, ticket, t, user_id, has_article=bool(articles), has_dynamic_fields=bool(dynamic_fields)
    )
    if problem is not None:
        return problem
    customer_data = store.customers.get(text_of(t.get("CustomerUser"))) if truthy(t.get("CustomerUser")) else None
    ticket_number = ticket.ticket_number
    queue_now = store.queues[ticket.queue_id]
    if t.get("Title") is not None and text_of(t["Title"]) != "" and text_of(t["Title"]) != ticket.title:
        store.title_update(ticket, text_of(t["Title"]), user_id)
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
            lock_id = _found(next((k for k, v in LOCKS.items() if v == text_of(t["Lock"])), None), WriteStep.LOCK)
        elif _changed(t.get("LockID"), ticket.lock_id):
            lock_id = _found(int_param(t["LockID"]) if int_param(t["LockID"]) in LOCKS else None, WriteStep.LOCK)
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
        state = find_state(store, t)
        assert state is not None
        if state.type_name.lower().startswith("close"):
            store.lock_set(ticket, 1, user_id, step=None)
        elif state.type_name.lower().startswith("pending"):
            if t.get("PendingTime") is None:
                return error(
                    "TicketUpdate", "MissingParameter", "Can't set a ticket on a pending state without pendig time!"
                )
            store.pending_time_set(ticket, pending_epoch(store, t["PendingTime"]), user_id)
        new_state: State | None = None
        if _changed(t.get("State"), store.states[ticket.state_id].name):
            new_state = _found(store.state_by(name=t["State"]), WriteStep.STATE)
        elif _changed(t.get("StateID"), ticket.state_id):
            new_state = _found(store.state_by(state_id=t["StateID"]), WriteStep.STATE)
        if new_state is not None:
            store.state_set(ticket, new_state, user_id)
    if truthy(t.get("CustomerUser")) or truthy(t.get("CustomerID")):
        new_user = text_of(t.get("CustomerUser")) if truthy(t.get("CustomerUser")) else ""
        new_id = text_of(t.get("CustomerID")) if truthy(t.get("CustomerID")) else ""
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
                agent = _found(store.agent_by_login(text_of(t[key]), any_case=True), step)
            elif _changed(t.get(f"{key}ID"), current_id):
                agent = _found(store.agent_by_id(t[f"{key}ID"]), step)
            if agent is not None:
                setter(ticket, agent, user_id)
    article_ids: list[int | str] = []
    created_articles: list[Article] = []
    pending_attachments: list[dict[str, Any]] | None = attachments
    for article in articles:
        if truthy(article.get("ArticleSend")) and not truthy(article.get("From")):
            from_ = "Znuny System <znuny@localhost>"
        elif truthy(article.get("From")):
            from_ = text_of(article["From"])
        elif isinstance(user, CustomerUser):
            from_ = customer_data.mailbox if customer_data else text_of(t.get("CustomerUser"))
        else:
            from_ = store.agent_name(store.agents[user_id])
        to = text_of(article.get("To")) if truthy(article.get("To")) else ""
        if truthy(article.get("ArticleSend")):
            article["CommunicationChannel"] = "Email"
        if not to and text_of(article.get("CommunicationChannel")) == "Email":
            if customer_data is not None:
                to = customer_data.mailbox
            else:
                to = (
                    text_of(t.get("CustomerUser"))
                    if t.get("CustomerUser") is not None
                    else (ticket.customer_user_id or "")
                )
        created = create_article(
            store,
            ticket,
            article,
            from_=from_,
            to=to,
            cc=text_of(article.get("Cc")) if truthy(article.get("Cc")) else "",
            bcc=text_of(article.get("Bcc")) if truthy(article.get("Bcc")) else "",
            user_id=user_id,
            top_attachments=pending_attachments,
        )
        pending_attachments = None
        finish_articles(store, ticket, created, article, user_id)
        article_ids.append(answer_article_id(store, created))
        created_articles.append(created)
    if dynamic_fields:
        set_dynamic_fields(store, ticket, created_articles[0] if created_articles else None, dynamic_fields, user_id)
    answer: Data = {"TicketID": answer_id, "TicketNumber": ticket_number}
    if ctx.include_ticket_data:
        answer["Ticket"] = _ticket_data(store, ticket, created_articles)
    return article_ids_answer(answer, article_ids)


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
