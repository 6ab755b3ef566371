"""Validation shared by TicketCreate and TicketUpdate (``_CheckTicket``, ``_CheckArticle``, ...), in Znuny's order."""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from typing import Any

from otrs_closure.testing._entities import Agent, CustomerUser, DynamicFieldDef, State
from otrs_closure.testing._faults import OperationFault, PerlDie
from otrs_closure.testing._operations._common import Data, error
from otrs_closure.testing._operations._perl import (
    array_with_data,
    as_list,
    has_data,
    hash_with_data,
    int_param,
    is_string,
    text_of,
    trim,
    truthy,
)
from otrs_closure.testing._profiles import ENCODE_NAMES, Profile
from otrs_closure.testing._store import (
    ARTICLE_TYPES,
    AUTO_RESPONSE_TYPES,
    CHANNELS,
    HISTORY_TYPES,
    LOCKS,
    SENDER_TYPES,
    Store,
    article_type_id,
)

_EMAIL = re.compile(r"[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+|[^@\s<>\"',;]+@localhost")


def _address_parts(value: Any) -> list[str]:
    return [p for p in re.split(r",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", text_of(value)) if p.strip()]


def valid_addresses(value: Any) -> bool:
    """``AreEmailAddressesValid``: every comma-separated part carries an e-mail address."""
    parts = _address_parts(value)
    return bool(parts) and all(_EMAIL.search(p) for p in parts)


def valid_from(value: Any) -> bool:
    """``ValidateFrom``: only the first address Mail::Address parses out is checked."""
    parts = _address_parts(value)
    return not parts or _EMAIL.search(parts[0]) is not None


def valid_charset(charset: str, profile: Profile | None = None) -> bool:
    """``ValidateCharset``: ``Encode::resolve_alias`` knows it (Python's bytes-to-bytes codecs
    such as ``base64`` or ``rot13`` are not charsets Perl knows) -- or, on OTRS 5, it is one of
    ``Encode->encodings(":all")`` exactly."""
    if not charset:
        return False
    if profile is not None and profile.charsets == "encode_names":
        return charset in ENCODE_NAMES
    try:
        info = codecs.lookup(charset)
    except LookupError:
        return False
    return bool(getattr(info, "_is_text_encoding", True)) and info.name not in ("idna", "punycode")


def valid_mime_type(mime: str) -> bool:
    return re.fullmatch(r"\w+/\w+", mime) is not None


def charset_of(content_type: str, *, spaced: bool = True) -> str:
    """The charset part of a Content-Type, the way TicketUpdate's checks extract it
    (``charset = x`` allowed); TicketCreate's checks (``spaced=False``) need ``charset=x``."""
    gap = r"\s*" if spaced else ""
    if not re.search(rf"charset{gap}={gap}", content_type, flags=re.IGNORECASE):
        return ""
    charset = re.sub(rf".+?charset{gap}={gap}(\"|'|)(\w+)", r"\2", content_type, flags=re.IGNORECASE)
    charset = charset.replace('"', "").replace("'", "")
    return re.sub(r"(.+?);.*", r"\1", charset)


def valid_content_type(profile: Profile, item: dict[str, Any], op: str, *, optional_charset: bool) -> bool:
    """The ContentType checks of an article (charset required unless the profile says
    otherwise) or an attachment (charset optional); lower-cases ``item["ContentType"]``."""
    content_type = text_of(item["ContentType"])
    if profile.content_type_line_breaks:
        content_type = re.sub(r"\r\n|\r|\n", " ", content_type)
    elif profile.content_type_without_charset and re.search(r"[\r\n]", content_type):
        return False  # OTOBO's ValidateContentType
    content_type = content_type.lower()
    item["ContentType"] = content_type
    charset = charset_of(content_type, spaced=op in profile.charset_spaces)
    if charset or not (optional_charset or profile.content_type_without_charset):
        if not valid_charset(charset, profile):
            return False
    mime = re.match(r"(\w+/\w+)", content_type)
    return mime is not None and valid_mime_type(mime.group(1))


def pick(by_id: Callable[[Any], Any], by_name: Callable[[Any], Any], item_id: Any, name: Any) -> Any:
    """Znuny's Validate*: the ID when given, else the name."""
    if truthy(item_id):
        return by_id(item_id)
    if truthy(name):
        return by_name(name)
    return None


def valid_customer(store: Store, value: Any) -> bool:
    """``ValidateCustomer``: a valid customer user, or else something ValidateFrom accepts."""
    customer = store.customers.get(text_of(value))
    if customer is not None:
        return customer.valid
    return valid_from(value)


def check_article(store: Store, article: dict[str, Any], op: str) -> Data | None:
    """``_CheckArticle`` (defaults already applied); OperationFault for the internal errors."""
    for needed in ("Subject", "Body", "AutoResponseType"):
        if not truthy(article.get(needed)):
            return error(op, "MissingParameter", f"{op}: Article->{needed} parameter is missing!")
    if text_of(article["AutoResponseType"]) not in AUTO_RESPONSE_TYPES:
        return error(op, "InvalidParameter", f"{op}: Article->AutoResponseType parameter is invalid!")
    if store.profile.article_fields == "ArticleType":
        if not truthy(article.get("ArticleTypeID")) and not truthy(article.get("ArticleType")):
            raise OperationFault(
                f"{op}: Article->ArticleTypeID or Article->ArticleType parameter"
                " is required and Sysconfig ArticleTypeID setting could not be read!"
            )
        if article_type_of(article) is None:
            return error(
                op, "InvalidParameter", f"{op}: Article->ArticleTypeID or Article->ArticleType parameter is invalid!"
            )
    else:
        if truthy(article.get("CommunicationChannelID")):
            channel = CHANNELS.get(int_param(article["CommunicationChannelID"]))
        else:
            channel = text_of(article.get("CommunicationChannel"))
        if channel not in ("Email", "Internal", "Phone"):
            return error(
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
        sender_ok = int_param(article["SenderTypeID"]) in SENDER_TYPES
    else:
        sender_ok = text_of(article.get("SenderType")) in SENDER_TYPES.values()
    if not sender_ok:
        return error(op, "InvalidParameter", f"{op}: Article->SenderTypeID or Ticket->SenderType parameter is invalid!")
    if truthy(article.get("From")) and not valid_from(article["From"]):
        return error(op, "InvalidParameter", f"{op}: Article->From parameter is invalid!")
    if store.profile.article_send and truthy(article.get("ArticleSend")) and not valid_addresses(article.get("To")):
        return error(
            "TicketCreate",
            "InvalidParameter",
            "TicketCreate: Article->To parameter must be a valid email address when Article->ArticleSend is set!",
        )
    has_ct, has_mime, has_charset = (truthy(article.get(k)) for k in ("ContentType", "MimeType", "Charset"))
    if not has_ct and not has_mime and not has_charset:
        return error(
            op,
            "MissingParameter",
            f"{op}: Article->ContentType or Ticket->MimeType and Article->Charset parameters are required!",
        )
    if has_mime and not has_charset:
        return error(op, "MissingParameter", f"{op}: Article->Charset is required!")
    if has_charset and not has_mime:
        return error(op, "MissingParameter", f"{op}: Article->MimeType is required!")
    if has_mime:
        article["MimeType"] = text_of(article["MimeType"]).lower()
        if not valid_mime_type(article["MimeType"]):
            return error(op, "InvalidParameter", f"{op}: Article->MimeType is invalid!")
    if has_charset:
        article["Charset"] = text_of(article["Charset"]).lower()
        if not valid_charset(article["Charset"], store.profile):
            return error(op, "InvalidParameter", f"{op}: Article->Charset is invalid!")
    if has_ct and not valid_content_type(store.profile, article, op, optional_charset=False):
        return error(op, "InvalidParameter", f"{op}: Article->ContentType is invalid!")
    if not truthy(article.get("HistoryType")):
        raise OperationFault(
            f"{op}: Article-> HistoryType is required and Sysconfig HistoryType setting could not be read!"
        )
    if text_of(article["HistoryType"]) not in HISTORY_TYPES:
        return error(op, "InvalidParameter", f"{op}: Article->HistoryType parameter is invalid!")
    if not truthy(article.get("HistoryComment")):
        raise OperationFault(
            f"{op}: Article->HistoryComment is required and Sysconfig HistoryComment setting could not be read!"
        )
    if truthy(article.get("TimeUnit")) and re.fullmatch(r"\d+(?:[.,]\d+)?", text_of(article["TimeUnit"])) is None:
        return error(op, "InvalidParameter", f"{op}: Article->TimeUnit parameter is invalid!")
    if truthy(article.get("NoAgentNotify")) and text_of(article["NoAgentNotify"]) != "1":
        return error(op, "InvalidParameter", f"{op}: Article->NoAgent parameter is invalid!")
    for attribute in ("ForceNotificationToUserID", "ExcludeNotificationToUserID", "ExcludeMuteNotificationToUserID"):
        if article.get(attribute) is None:
            continue
        if hash_with_data(article[attribute]):
            return error(op, "InvalidParameter", f"{op}: Article->{attribute} parameter is invalid!")
        for user_id in as_list(article[attribute]):
            agent = store.agent_by_id(user_id)
            if agent is None or not agent.valid:
                return error(
                    op,
                    "InvalidParameter",
                    f"{op}: Article->{attribute} UserID={text_of(user_id)} parameter is invalid!",
                )
    return None


def df_value_valid(field: DynamicFieldDef, value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    if field.field_type in ("Text", "TextArea"):
        return not isinstance(value, list) and len(text_of(value)) <= 3800
    if field.field_type == "Checkbox":
        return not isinstance(value, list) and text_of(value) in ("", "0", "1")
    if field.field_type in ("Dropdown", "Multiselect"):
        if isinstance(value, list) and field.field_type == "Dropdown":
            return False
        possible = field.possible_values or {}
        return all(text_of(v) == "" or text_of(v) in possible for v in values)
    if field.field_type == "Date":
        return not isinstance(value, list) and (
            text_of(value) == "" or re.fullmatch(r"\d{4}-\d{2}-\d{2}( 00:00:00)?", text_of(value)) is not None
        )
    if field.field_type == "DateTime":
        return not isinstance(value, list) and (
            text_of(value) == "" or re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", text_of(value)) is not None
        )
    return True


def check_dynamic_fields(store: Store, items: list[Any], has_article: bool, op: str) -> Data | None:
    """``_ValidateDynamicFields`` + ``_CheckDynamicField`` (TicketCreate's variant has a double
    space in its missing-parameter message and no article check)."""
    create = op == "TicketCreate"
    for item in items:
        if not hash_with_data(item):
            raise OperationFault(f"{op}: Ticket->DynamicField parameter is invalid!")
        trim(item)
        for needed in ("Name", "Value"):
            value = item.get(needed)
            if value is None or not (is_string(value) or isinstance(value, list)):
                gap = "  " if op in store.profile.double_space_ops else " "
                return error(op, "MissingParameter", f"{op}: DynamicField->{needed}{gap}parameter is missing!")
        field = store.dynamic_fields.get(text_of(item["Name"]))
        if field is None or not field.valid or field.object_type not in ("Ticket", "Article"):
            return error(op, "InvalidParameter", f"{op}: DynamicField->Name parameter is invalid!")
        if field.object_type == "Article" and not has_article and not create:
            return error(op, "MissingParameter", f"{op}: To create an article DynamicField an article is required!")
        if not df_value_valid(field, item["Value"]):
            return error(op, "InvalidParameter", f"{op}: DynamicField->Value parameter is invalid!")
    return None


def check_attachment(profile: Profile, item: Any, has_article: bool, op: str) -> Data | None:
    """``_CheckAttachment`` of a top-level attachment (base64 is never checked; some variants
    have a double space in their missing-parameter message)."""
    if not hash_with_data(item):
        raise OperationFault(f"{op}: Ticket->Attachment parameter is invalid!")
    trim(item)
    if not has_article:
        return error(op, "MissingParameter", f"{op}: To create an attachment an article is needed!")
    for needed in ("Content", "ContentType", "Filename"):
        if not has_data(item.get(needed)):
            gap = "  " if op in profile.double_space_ops else " "
            return error(op, "MissingParameter", f"{op}: Attachment->{needed}{gap}parameter is missing!")
    if not valid_content_type(profile, item, op, optional_charset=True):
        return error(op, "InvalidParameter", f"{op}: Attachment->ContentType is invalid!")
    return None


def valid_pending_time(store: Store, pending: Any) -> bool:
    if not hash_with_data(pending):
        return False
    if pending.get("Diff") is not None:
        return set(pending) == {"Diff"} and re.fullmatch(r"\d+", text_of(pending["Diff"])) is not None
    parts = []
    for needed in ("Year", "Month", "Day", "Hour", "Minute"):
        value = text_of(pending.get(needed))
        if not re.fullmatch(r"\d+", value):
            return False
        parts.append(int(value))
    try:
        store.clock.from_parts(*parts)
    except (ValueError, OverflowError):
        return False
    return True


def pending_epoch(store: Store, pending: dict[str, Any]) -> int:
    if pending.get("Diff") is not None:
        return store.clock.epoch() + int(text_of(pending["Diff"])) * 60
    return store.clock.from_parts(*(int(text_of(pending[k])) for k in ("Year", "Month", "Day", "Hour", "Minute")))


def find_state(store: Store, ticket_in: dict[str, Any]) -> State | None:
    result: State | None = pick(
        lambda v: store.state_by(state_id=v),
        lambda v: store.state_by(name=v),
        ticket_in.get("StateID"),
        ticket_in.get("State"),
    )
    return result


def valid_agent(agent: Agent | None) -> bool:
    return agent is not None and agent.valid


def check_ticket_attributes(store: Store, ticket_in: dict[str, Any], op: str, *, create: bool = False) -> Data | None:
    """``_CheckTicket`` of TicketUpdate, or with ``create`` of TicketCreate (which also requires
    Title, CustomerUser, Queue, State and Priority), in Znuny's order."""
    t = ticket_in
    if create:
        for needed in ("Title", "CustomerUser"):
            if not truthy(t.get(needed)):
                return error(op, "MissingParameter", f"{op}: Ticket->{needed} parameter is missing!")
    if (create or truthy(t.get("CustomerUser"))) and not valid_customer(store, t["CustomerUser"]):
        return error(op, "InvalidParameter", f"{op}: Ticket->CustomerUser parameter is invalid!")
    if create and not truthy(t.get("QueueID")) and not truthy(t.get("Queue")):
        return error(op, "MissingParameter", f"{op}: Ticket->QueueID or Ticket->Queue parameter is required!")
    if truthy(t.get("QueueID")) or truthy(t.get("Queue")):
        queue = pick(
            lambda v: store.queue_by(queue_id=v), lambda v: store.queue_by(name=v), t.get("QueueID"), t.get("Queue")
        )
        if queue is None or not queue.valid:
            return error(op, "InvalidParameter", f"{op}: Ticket->QueueID or Ticket->Queue parameter is invalid!")
    if truthy(t.get("LockID")) or truthy(t.get("Lock")):
        ok = int_param(t["LockID"]) in LOCKS if truthy(t.get("LockID")) else text_of(t.get("Lock")) in LOCKS.values()
        if not ok:
            return error(op, "InvalidParameter", f"{op}: Ticket->LockID or Ticket->Lock parameter is invalid!")
    if truthy(t.get("TypeID")) or truthy(t.get("Type")):
        type_ = pick(
            lambda v: store.named_by(store.types, item_id=v),
            lambda v: store.named_by(store.types, name=v),
            t.get("TypeID"),
            t.get("Type"),
        )
        if type_ is None or not type_.valid:
            return error(op, "InvalidParameter", f"{op}: Ticket->TypeID or Ticket->Type parameter is invalid!")
    if truthy(t.get("ServiceID")) or truthy(t.get("Service")):
        return error(op, "InvalidParameter", f"{op}: Ticket->ServiceID or Ticket->Service parameter is invalid!")
    if truthy(t.get("SLAID")) or truthy(t.get("SLA")):
        return error(op, "InvalidParameter", f"{op}: Ticket->SLAID or Ticket->SLA parameter is invalid!")
    if create and not truthy(t.get("StateID")) and not truthy(t.get("State")):
        return error(op, "MissingParameter", f"{op}: Ticket->StateID or Ticket->State parameter is required!")
    if truthy(t.get("StateID")) or truthy(t.get("State")):
        state = find_state(store, t)
        if state is None or not state.valid:
            return error(op, "InvalidParameter", f"{op}: Ticket->StateID or Ticket->State parameter is invalid!")
    if create and not truthy(t.get("PriorityID")) and not truthy(t.get("Priority")):
        return error(op, "MissingParameter", f"{op}: Ticket->PriorityID or Ticket->Priority parameter is required!")
    if truthy(t.get("PriorityID")) or truthy(t.get("Priority")):
        priority = pick(
            lambda v: store.named_by(store.priorities, item_id=v),
            lambda v: store.named_by(store.priorities, name=v),
            t.get("PriorityID"),
            t.get("Priority"),
        )
        if priority is None or not priority.valid:
            return error(op, "InvalidParameter", f"{op}: Ticket->PriorityID or Ticket->Priority parameter is invalid!")
    for key, label in (("Owner", "OwnerID or Ticket->Owner"), ("Responsible", "ResponsibleID or Ticket->Responsible")):
        if truthy(t.get(f"{key}ID")) or truthy(t.get(key)):
            by_login = lambda v: store.agent_by_login(text_of(v), any_case=True)  # noqa: E731
            agent = pick(store.agent_by_id, by_login, t.get(f"{key}ID"), t.get(key))
            if not valid_agent(agent):
                return error(op, "InvalidParameter", f"{op}: Ticket->{label} parameter is invalid!")
    if truthy(t.get("PendingTime")) and not valid_pending_time(store, t["PendingTime"]):
        return error(op, "InvalidParameter", f"{op}: Ticket->PendingTime parameter is invalid!")
    return None


def article_type_of(article: dict[str, Any]) -> int | None:
    """OTRS 5's ``ValidateArticleType``: the id named by ArticleTypeID, else by ArticleType."""
    if truthy(article.get("ArticleTypeID")):
        type_id = int_param(article["ArticleTypeID"])
        return type_id if type_id in ARTICLE_TYPES else None
    return article_type_id(text_of(article.get("ArticleType")))


def apply_article_defaults(
    profile: Profile, article: dict[str, Any], user: Agent | CustomerUser, *, create: bool
) -> None:
    """The operation config's defaults for what the article leaves out (OTRS 5: ArticleType
    ``webrequest``; 6+: CommunicationChannel ``Internal``, IsVisibleForCustomer 1); the other
    generation's fields stay in the hash, unread."""
    if not truthy(article.get("AutoResponseType")):
        article["AutoResponseType"] = "auto reply" if create else "auto follow up"
    if profile.article_fields == "ArticleType":
        if not truthy(article.get("ArticleTypeID")) and not truthy(article.get("ArticleType")):
            article["ArticleType"] = "webrequest"
    else:
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


def collect_articles(
    profile: Profile, value: Any, op: str, message: str | None = None
) -> tuple[list[dict[str, Any]], Data | None]:
    """The Article object or (Znuny) list; a ``null`` item autovivifies into ``{}`` in Perl, any
    other non-object item makes the operation die (``Not a HASH reference``)."""
    if hash_with_data(value):
        return [dict(value)], None
    if array_with_data(value) and profile.article_lists:
        articles = []
        for item in value:
            if item is None:
                item = {}
            if not isinstance(item, dict):
                raise PerlDie("Not a HASH reference")
            articles.append(dict(item))
        return articles, None
    return [], error(op, "InvalidParameter", message or f"{op}: Article parameter is not valid!")


def validate_articles(
    store: Store, articles: list[dict[str, Any]], user: Agent | CustomerUser, op: str, *, create: bool
) -> Data | None:
    for article in articles:
        trim(article)
        apply_article_defaults(store.profile, article, user, create=create)
        problem = check_article(store, article, op)
        if problem is not None:
            return problem
        if truthy(article.get("DynamicField")) and not create:  # TicketCreate ignores Article.DynamicField
            problem = check_dynamic_fields(store, as_list(article["DynamicField"]), True, op)
            if problem is not None:
                return problem
    return None


def create_items(value: Any) -> list[Any]:
    """TicketCreate's "homogenate input to array" of DynamicField/Attachment."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]
