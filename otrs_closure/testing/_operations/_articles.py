"""Article writes shared by TicketCreate and TicketUpdate: ArticleCreate, attachments, dynamic fields, time units."""

from __future__ import annotations

import re
from typing import Any

from otrs_closure.testing._b64 import perl_decode_base64
from otrs_closure.testing._entities import Article, Attachment, Ticket
from otrs_closure.testing._faults import WRITE_FAULTSTRINGS, OperationFault, PerlDie, WriteStep
from otrs_closure.testing._operations._checks import article_type_of
from otrs_closure.testing._operations._common import Data
from otrs_closure.testing._operations._perl import as_list, has_data, hash_with_data, int_param, text_of, truthy
from otrs_closure.testing._store import SENDER_TYPES, Store, article_type_channel, channel_id, sender_type_id


def article_attachments(article: dict[str, Any]) -> list[Attachment]:
    """``Article.Attachment`` (accepted by 6.5 too): decoded, never validated. Perl dies on
    anything but a list or a non-empty object (and on non-object items); ``null`` items and
    items without Filename or ContentType are silently not written by ArticleWriteAttachment."""
    raw = article.get("Attachment")
    if raw is None:
        return []
    if hash_with_data(raw):
        raw = [raw]
    if not isinstance(raw, list):
        raise PerlDie("Not an ARRAY reference")
    result = []
    for item in raw:
        if item is None:
            continue
        if not isinstance(item, dict):
            raise PerlDie("Not a HASH reference")
        if has_data(item.get("Filename")) and has_data(item.get("ContentType")):
            result.append(attachment_of(item))
    return result


def attachment_of(item: dict[str, Any]) -> Attachment:
    content = text_of(item.get("Content"))
    return Attachment(
        filename=text_of(item.get("Filename")),
        content=perl_decode_base64(content) if content else b"",
        content_type=text_of(item.get("ContentType")),
        disposition=text_of(item.get("Disposition")),
        content_id=text_of(item.get("ContentID")),
        content_alternative=text_of(item.get("ContentAlternative")),
    )


def mime_and_charset(article: dict[str, Any]) -> tuple[str, str, str]:
    content_type = text_of(article.get("ContentType"))
    charset = text_of(article.get("Charset"))
    if content_type and not charset:
        m = re.search(r"\bcharset=(\"|'|)([^\s\"';]+)", content_type, flags=re.IGNORECASE)
        charset = m.group(2) if m else ""
    mime = text_of(article.get("MimeType"))
    if content_type and not mime:
        m = re.match(r"([^;]+)", content_type)
        mime = m.group(1) if m else ""
    if not content_type:
        content_type = f"{mime}; charset={charset}"
    return content_type, mime, charset


def create_article(
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
    """ArticleCreate with article-level attachments (where the server reads them), then the
    given top-level ones. The article's kind comes from the fields the profile's generation
    reads: OTRS 5's ArticleType, or 6+'s CommunicationChannel and IsVisibleForCustomer."""
    type_id = 0
    chan: int | None
    if store.profile.article_fields == "ArticleType":
        type_id = article_type_of(article) or 0
        chan, visible = article_type_channel(type_id)
    else:
        channel_name = text_of(article.get("CommunicationChannel"))
        chan = channel_id(channel_name) if channel_name else int_param(article.get("CommunicationChannelID"))
        visible = 1 if truthy(article.get("IsVisibleForCustomer")) else 0
    if truthy(article.get("SenderTypeID")):
        sender = int_param(article["SenderTypeID"])
    else:
        sender = sender_type_id(text_of(article.get("SenderType"))) or 1
    content_type, mime, charset = mime_and_charset(article)
    subject = text_of(article.get("Subject"))
    if truthy(article.get("ArticleSend")):
        subject = f"[Ticket#{ticket.ticket_number}] {subject}"
    inline = article_attachments(article) if store.profile.inline_attachments else []
    created = store.article_create(
        ticket,
        channel_id=chan or 3,
        sender_type_id=sender,
        is_visible_for_customer=visible,
        article_type_id=type_id,
        from_=from_,
        to=to,
        cc=cc,
        bcc=bcc,
        subject=subject,
        body=text_of(article.get("Body")),
        content_type=content_type,
        mime_type=mime,
        charset=charset,
        history_type=text_of(article.get("HistoryType")),
        history_comment=text_of(article.get("HistoryComment")) or "%%",
        user_id=user_id,
    )
    for attachment in inline:
        try:
            store.attachment_write(ticket, created, attachment)
        except OperationFault as exc:  # inside ArticleCreate: the article stays, the call fails
            raise OperationFault(WRITE_FAULTSTRINGS[WriteStep.ARTICLE]) from exc
    for item in top_attachments or []:
        store.attachment_write(ticket, created, attachment_of(item))
    return created


def answer_article_id(store: Store, article: Article) -> int | str:
    """The ArticleID as the answer carries it: a number, except that 6+ servers send a customer
    article's id as a string (its Perl scalar was used as a string on that path)."""
    if store.profile.customer_article_id_string and SENDER_TYPES.get(article.sender_type_id) == "customer":
        return str(article.article_id)
    return article.article_id


def set_dynamic_fields(store: Store, ticket: Ticket, article: Article | None, items: list[Any], user_id: int) -> None:
    for item in items:
        field = store.dynamic_fields[text_of(item["Name"])]
        value = item["Value"]
        stored: Any = [text_of(v) for v in value] if isinstance(value, list) else text_of(value)
        store.dynamic_field_set(ticket, article, field, stored, user_id)


def finish_articles(store: Store, ticket: Ticket, created: Article, article: dict[str, Any], user_id: int) -> None:
    if truthy(article.get("DynamicField")):
        set_dynamic_fields(store, ticket, created, as_list(article["DynamicField"]), user_id)
    if truthy(article.get("TimeUnit")):
        store.account_time(ticket, created, float(text_of(article["TimeUnit"]).replace(",", ".")), user_id)


def article_ids_answer(answer: Data, article_ids: list[int | str]) -> Data:
    if len(article_ids) > 1:
        answer["ArticleIDs"] = article_ids
    elif len(article_ids) == 1:
        answer["ArticleID"] = article_ids[0]
    return answer
