"""TicketCreate: the ticket, its articles, attachments, dynamic fields, owner and responsible."""

from __future__ import annotations

from typing import Any

from otrs_closure.testing._entities import Agent
from otrs_closure.testing._faults import OperationFault, PerlDie
from otrs_closure.testing._operations._articles import answer_article_id, create_article, set_dynamic_fields
from otrs_closure.testing._operations._checks import (
    check_attachment,
    check_dynamic_fields,
    check_ticket_attributes,
    collect_articles,
    create_items,
    pending_epoch,
    validate_articles,
)
from otrs_closure.testing._operations._common import Data, OpContext, authenticate, error
from otrs_closure.testing._operations._perl import (
    array_with_data,
    has_data,
    hash_with_data,
    int_param,
    text_of,
    trim,
    truthy,
)
from otrs_closure.testing._store import LOCKS, Store


def ticket_create(store: Store, data: Any, ctx: OpContext) -> Data:
    """TicketCreate (Znuny 6.5, several articles allowed): checks in Znuny's order, then the
    ticket, its lock/state/pending time, ticket dynamic fields, the articles (top-level
    attachments on each, then article dynamic fields), owner (+ lock), responsible."""
    op = "TicketCreate"
    if not isinstance(data, dict):
        raise PerlDie("Not a HASH reference")
    if not any(truthy(data.get(k)) for k in ("UserLogin", "CustomerUserLogin", "SessionID")):
        return error(op, "MissingParameter", "TicketCreate: UserLogin, CustomerUserLogin or SessionID is required!")
    if (truthy(data.get("UserLogin")) or truthy(data.get("CustomerUserLogin"))) and not truthy(data.get("Password")):
        return error(op, "MissingParameter", "TicketCreate: Password or SessionID is required!")
    user = authenticate(store, data, ctx)
    if user is None:
        return error(op, "AuthFail", "TicketCreate: User could not be authenticated!")
    lists = store.profile.article_lists
    if not hash_with_data(data.get("Article")) and not (lists and array_with_data(data.get("Article"))):
        return error(op, "MissingParameter", "TicketCreate: Article parameter is missing or not valid!")
    if not hash_with_data(data.get("Ticket")):
        return error(op, "MissingParameter", "TicketCreate: Ticket parameter is missing or not valid!")
    for optional in ("DynamicField", "Attachment"):
        value = data.get(optional)
        if value is not None and not hash_with_data(value) and not array_with_data(value):
            return error(op, "MissingParameter", f"TicketCreate: {optional} parameter is missing or not valid!")
    t = dict(data["Ticket"])
    trim(t)
    if hash_with_data(t.get("PendingTime")):
        t["PendingTime"] = dict(t["PendingTime"])
        trim(t["PendingTime"])
    problem = check_ticket_attributes(store, t, op, create=True)
    if problem is not None:
        return problem
    # CheckCreatePermissions: the queue by name if given, else by id
    queue = store.queue_by(name=t["Queue"]) if has_data(t.get("Queue")) else store.queue_by(queue_id=t.get("QueueID"))
    if isinstance(user, Agent) and (queue is None or not user.has(queue.group_id, "create")):
        return error(op, "AccessDenied", "TicketCreate: Can not create tickets in given Queue or QueueID!")
    articles, problem = collect_articles(store.profile, data["Article"], op)
    if problem is not None:
        return problem
    problem = validate_articles(store, articles, user, op, create=True)
    if problem is not None:
        return problem
    dynamic_fields = [dict(i) if isinstance(i, dict) else i for i in create_items(data.get("DynamicField"))]
    problem = check_dynamic_fields(store, dynamic_fields, True, op)
    if problem is not None:
        return problem
    attachments: list[dict[str, Any]] = []
    for item in create_items(data.get("Attachment")):
        item_copy = dict(item) if isinstance(item, dict) else item
        problem = check_attachment(store.profile, item_copy, True, op)
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
    customer_login = text_of(t.get("CustomerUser"))
    customer = store.customers.get(customer_login)
    if customer is None:  # CustomerSearch(PostMasterSearch => ...): a customer with that address
        customer = next(
            (c for _, c in sorted(store.customers.items()) if c.email.lower() == customer_login.lower()), None
        )
        if customer is not None:
            customer_login = customer.login
    customer_id = customer.customer_id if customer else ""
    if has_data(t.get("CustomerID")):
        customer_id = text_of(t["CustomerID"])
    owner: Agent | None = None
    if truthy(t.get("Owner")) and not truthy(t.get("OwnerID")):
        owner = store.agent_by_login(text_of(t["Owner"]), any_case=True)
    elif t.get("OwnerID") is not None:
        owner = store.agent_by_id(t["OwnerID"])
    responsible: Agent | None = None
    if truthy(t.get("Responsible")) and not truthy(t.get("ResponsibleID")):
        responsible = store.agent_by_login(text_of(t["Responsible"]), any_case=True)
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
        title=text_of(t["Title"]),
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
            lock_id = int_param(t["LockID"])
        else:
            lock_id = next(k for k, v in LOCKS.items() if v == text_of(t["Lock"]))
        store.lock_set(ticket, lock_id, user_id, step=None)
    if state.type_name.lower().startswith("close"):
        store.lock_set(ticket, 1, user_id, step=None)
    elif state.type_name.lower().startswith("pending") and t.get("PendingTime") is not None:
        store.pending_time_set(ticket, pending_epoch(store, t["PendingTime"]), user_id, fail=False)
    ticket_fields = [i for i in dynamic_fields if store.dynamic_fields[text_of(i["Name"])].object_type == "Ticket"]
    article_fields = [i for i in dynamic_fields if store.dynamic_fields[text_of(i["Name"])].object_type == "Article"]
    set_dynamic_fields(store, ticket, None, ticket_fields, user_id)
    article_ids: list[int | str] = []
    for article in articles:
        if truthy(article.get("ArticleSend")) and not truthy(article.get("From")):
            from_ = "Znuny System <znuny@localhost>"
        elif truthy(article.get("From")):
            from_ = text_of(article["From"])
        else:
            from_ = customer.mailbox if customer else customer_login
        cc = bcc = ""
        if truthy(article.get("ArticleSend")):
            to = text_of(article.get("To"))
            cc, bcc = text_of(article.get("Cc")), text_of(article.get("Bcc"))
            article["CommunicationChannel"] = "Email"
        elif truthy(t.get("Queue")):
            to = text_of(t["Queue"])
        else:
            to = queue.name
        created = create_article(
            store, ticket, article, from_=from_, to=to, cc=cc, bcc=bcc, user_id=user_id, top_attachments=attachments
        )
        article_ids.append(answer_article_id(store, created))
        if truthy(article.get("TimeUnit")):
            store.account_time(ticket, created, float(text_of(article["TimeUnit"]).replace(",", ".")), user_id)
        set_dynamic_fields(store, ticket, created, article_fields, user_id)
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
