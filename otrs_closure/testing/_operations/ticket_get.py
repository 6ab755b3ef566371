"""TicketGet (also behind OTRS 6/OTOBO's ``TicketGetList`` route): tickets, articles, attachments."""

from __future__ import annotations

import re
from typing import Any

from otrs_closure.testing._entities import Agent, Article, CustomerUser, Ticket
from otrs_closure.testing._faults import PerlDie
from otrs_closure.testing._operations._common import Data, OpContext, authenticate, error
from otrs_closure.testing._operations._perl import has_data, is_string, perl_number, split_ids, text_of, truthy
from otrs_closure.testing._operations._render import render_article, render_ticket
from otrs_closure.testing._store import Store, sender_type_id


def _ticket_ids(value: Any) -> list[Any] | None:
    if has_data(value):
        return split_ids(value)
    if isinstance(value, list) and value:
        return list(value)
    return None


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
            wanted = sender_type_id(text_of(sender)) if is_string(sender) else None
            if wanted is not None:  # an unknown sender type makes ArticleList return nothing
                articles.extend(a for a in base if a.sender_type_id == wanted)
    limit_value = perl_number(limit)
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


def _select_articles_otrs5(
    ticket: Ticket, user: Agent | CustomerUser, senders: Any, order: str, limit: Any
) -> list[Article]:
    """OTRS 5's ArticleGet: only a *list* of sender types filters (unknown names are skipped, and
    none left means no filter); ``DESC`` reverses the creation order; ArticleLimit is the SQL LIMIT."""
    articles = sorted(ticket.articles, key=lambda a: (a.create_time, a.article_id))
    if isinstance(user, CustomerUser):
        articles = [a for a in articles if a.is_visible_for_customer]
    if isinstance(senders, list):
        wanted = {sender_type_id(text_of(s)) for s in senders if is_string(s)} - {None}
        if wanted:
            articles = [a for a in articles if a.sender_type_id in wanted]
    if order == "DESC":
        articles = list(reversed(articles))
    count = int(perl_number(limit))
    return articles[:count] if count > 0 else articles


def ticket_get(store: Store, data: Any, ctx: OpContext) -> Data:
    """TicketGet: ``{"Ticket": [...]}`` in request order."""
    op = "TicketGet"
    if not isinstance(data, dict):
        raise PerlDie("Not a HASH reference")
    user = authenticate(store, data, ctx)
    if user is None:
        return error(op, "AuthFail", "TicketGet: Authorization failing!")
    if not truthy(data.get("TicketID")):
        return error(op, "MissingParameter", "TicketGet: TicketID parameter is missing!")
    ids = _ticket_ids(data["TicketID"])
    if ids is None:
        return error(op, "WrongStructure", "TicketGet: Structure for TicketID is not correct!")
    if store.profile.ticket_get_integer_ids and not all(
        is_string(i) and re.fullmatch(r"[1-9]\d*", text_of(i)) for i in ids
    ):
        return error(op, "WrongStructure", "TicketGet: Invalid ticket ID parameter(s) found!")
    tickets: list[Ticket] = []
    for ticket_id in ids:
        ticket = store.ticket_by_id(ticket_id)
        if ticket is None or not store.may(user, ticket, "ro"):
            return error(op, "AccessDenied", "TicketGet: User does not have access to the ticket!")
        tickets.append(ticket)
    with_dfs = truthy(data.get("DynamicFields"))
    extended = truthy(data.get("Extended"))
    all_articles = truthy(data.get("AllArticles"))
    with_attachments = truthy(data.get("Attachments"))
    contents = truthy(data["GetAttachmentContents"]) if data.get("GetAttachmentContents") is not None else True
    # OTRS 5's TicketGet has no HTMLBodyAsAttachment: the HTML body part is always left out
    html_body = truthy(data.get("HTMLBodyAsAttachment")) and store.profile.ticket_get_generation != 5
    raw_senders = data.get("ArticleSenderType")
    sender_types: list[Any] | None = None
    if isinstance(raw_senders, list) and raw_senders:
        sender_types = list(raw_senders)
    elif has_data(raw_senders):
        sender_types = [raw_senders]
    order = text_of(data.get("ArticleOrder")) if truthy(data.get("ArticleOrder")) else "ASC"
    limit = data.get("ArticleLimit") if truthy(data.get("ArticleLimit")) else 0
    result = []
    for ticket in tickets:
        rendered = render_ticket(store, ticket, dynamic_fields=with_dfs, extended=extended)
        if all_articles:
            if store.profile.ticket_get_generation == 5:
                articles = _select_articles_otrs5(ticket, user, raw_senders, order, limit)
            else:
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
                        extended=extended,
                    )
                    for a in articles
                ]
        result.append(rendered)
    return {"Ticket": result}
