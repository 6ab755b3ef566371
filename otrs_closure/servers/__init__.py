"""Server generations as data: what differs between OTRS 5, OTRS 6, OTOBO, Znuny 6.5
and Znuny 7 for a closing client (one :class:`ServerProfile` each), and what a client
has learned about its own server (:class:`ServerInfo`, ``client.server``).

The rest of the library asks these objects; it never tests a product name. Where the
generations differ (from each release's shipped example web service and its source):

* the **search route**: POST ``/Ticket/Search`` (Znuny) or GET ``/Ticket`` (OTRS 5/6, OTOBO);
* the **article fields**: OTRS 5 marks an internal note with ``ArticleType:
  note-internal`` and silently ignores ``CommunicationChannel``/``IsVisibleForCustomer``
  (the note would become a customer-visible web request); 6+ the other way round;
* the **SessionID in a header** (``X-OTRS-Header-SessionID``): only Znuny 6.5 and 7;
* attachment metadata without contents (``GetAttachmentContents=0``): not OTRS 5;
* the article's time: ``CreateTime`` (6+) or ``Created`` (OTRS 5).

``text/plain; charset=utf8`` is the one note ContentType all five accept (OTRS 5 refuses
``utf-8``; all but OTOBO refuse a ContentType without charset).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "Route",
    "OPERATIONS",
    "ArticleFields",
    "ARTICLE_FIELDS",
    "ServerProfile",
    "PROFILES",
    "ServerInfo",
    "COMMON_ROUTES",
    "SEARCH_ROUTES",
    "NOTE_CONTENT_TYPE",
    "ARTICLE_TIME_KEYS",
    "SESSION_HEADER",
    "profile_named",
]

ArticleFieldsName = Literal["article_type", "channel"]
HttpMethod = Literal["GET", "POST", "PATCH", "PUT", "DELETE"]

#: The GenericInterface operations a route may be given for.
OPERATIONS = (
    "SessionCreate",
    "SessionGet",
    "SessionRemove",
    "TicketCreate",
    "TicketGet",
    "TicketGetList",
    "TicketSearch",
    "TicketUpdate",
    "TicketHistoryGet",
)


class Route(BaseModel):
    """Where one GenericInterface operation is served: method and route template."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: HttpMethod
    path: str

    @field_validator("path")
    @classmethod
    def _plain_path(cls, v: str) -> str:
        if not v.startswith("/"):
            raise ValueError("a route starts with '/'")
        if any(c in v for c in "?#") or any(c.isspace() or ord(c) < 32 for c in v):
            raise ValueError("a route is a path: no query, fragment, blanks or control characters")
        return v

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


class ArticleFields(BaseModel):
    """How a generation marks an article internal, and where TicketGet shows it."""

    model_config = ConfigDict(frozen=True)

    name: ArticleFieldsName
    internal: Mapping[str, Any] = Field(description="Fields sent for an internal note")
    visible: Mapping[str, Any] = Field(description="Fields sent for a note visible to the customer")
    visibility_key: str = Field(description="The TicketGet article key that shows the visibility")
    internal_values: tuple[str, ...] = Field(description="Values of that key that mean internal")

    def shows(self, article: Mapping[str, Any]) -> bool:
        """Whether a TicketGet article carries this generation's visibility key."""
        return self.visibility_key in article

    def internal_in(self, article: Mapping[str, Any]) -> bool:
        """Whether a TicketGet article (carrying :attr:`visibility_key`) is internal."""
        return str(article.get(self.visibility_key, "")) in self.internal_values


ARTICLE_FIELDS: Mapping[str, ArticleFields] = MappingProxyType(
    {
        "article_type": ArticleFields(
            name="article_type",
            internal={"ArticleType": "note-internal"},
            visible={"ArticleType": "note-external"},
            visibility_key="ArticleType",
            # OTRS 5's customer interface hides the article types whose name says "int".
            internal_values=("note-internal", "email-internal", "email-notification-int"),
        ),
        "channel": ArticleFields(
            name="channel",
            internal={"CommunicationChannel": "Internal", "IsVisibleForCustomer": 0},
            visible={"CommunicationChannel": "Internal", "IsVisibleForCustomer": 1},
            visibility_key="IsVisibleForCustomer",
            internal_values=("0",),
        ),
    }
)

#: Where TicketGet puts an article's creation time, by generation (6+, then OTRS 5).
ARTICLE_TIME_KEYS = ("CreateTime", "Created")
#: The header Znuny 6.5 and 7 read the SessionID from.
SESSION_HEADER = "X-OTRS-Header-SessionID"
#: The note ContentType every generation accepts.
NOTE_CONTENT_TYPE = "text/plain; charset=utf8"

#: The routes all five example web services share.
COMMON_ROUTES: Mapping[str, Route] = MappingProxyType(
    {
        "SessionCreate": Route(method="POST", path="/Session"),
        "TicketCreate": Route(method="POST", path="/Ticket"),
        "TicketGet": Route(method="GET", path="/Ticket/:TicketID"),
        "TicketUpdate": Route(method="PATCH", path="/Ticket/:TicketID"),
    }
)
#: The two TicketSearch routes of the shipped examples.
SEARCH_ROUTES: Mapping[str, Route] = MappingProxyType(
    {
        "znuny": Route(method="POST", path="/Ticket/Search"),
        "otrs": Route(method="GET", path="/Ticket"),
    }
)


class ServerProfile(BaseModel):
    """One generation of the OTRS family as its shipped example web service and its
    source show it."""

    model_config = ConfigDict(frozen=True)

    name: str
    product: str
    url_prefix: str = Field(description="The path prefix of a default install, e.g. /otrs/")
    routes: Mapping[str, Route]
    article_fields: ArticleFields
    session_header: bool = Field(description="Reads the SessionID from X-OTRS-Header-SessionID")
    attachment_contents_optional: bool = Field(description="Honours GetAttachmentContents=0")
    note_content_type: str = NOTE_CONTENT_TYPE


def _routes(search: str, history: str | None = None) -> Mapping[str, Route]:
    """A shipped example's routes: the shared ones, its TicketSearch and, from 6 on,
    SessionGet and its TicketHistoryGet path."""
    extra = {}
    if history is not None:
        extra = {
            "SessionGet": Route(method="GET", path="/Session/:SessionID"),
            "TicketHistoryGet": Route(method="GET", path=history),
        }
    return MappingProxyType({**COMMON_ROUTES, "TicketSearch": SEARCH_ROUTES[search], **extra})


_OTRS5_ROUTES = _routes("otrs")
_OTRS6_ROUTES = _routes("otrs", history="/TicketHistory/:TicketID")  # OTRS 6 and OTOBO
_ZNUNY_ROUTES = _routes("znuny", history="/Ticket/History/:TicketID")  # Znuny 6.5 and 7
_ARTICLE_TYPE, _CHANNEL = ARTICLE_FIELDS["article_type"], ARTICLE_FIELDS["channel"]

PROFILES: Mapping[str, ServerProfile] = MappingProxyType(
    {
        p.name: p
        for p in (
            ServerProfile(
                name="otrs5", product="OTRS 5", url_prefix="/otrs/", routes=_OTRS5_ROUTES,
                article_fields=_ARTICLE_TYPE, session_header=False, attachment_contents_optional=False,
            ),
            ServerProfile(
                name="otrs6", product="OTRS 6", url_prefix="/otrs/", routes=_OTRS6_ROUTES,
                article_fields=_CHANNEL, session_header=False, attachment_contents_optional=True,
            ),
            ServerProfile(
                name="otobo", product="OTOBO", url_prefix="/otobo/", routes=_OTRS6_ROUTES,
                article_fields=_CHANNEL, session_header=False, attachment_contents_optional=True,
            ),
            ServerProfile(
                name="znuny65", product="Znuny 6.5", url_prefix="/otrs/", routes=_ZNUNY_ROUTES,
                article_fields=_CHANNEL, session_header=True, attachment_contents_optional=True,
            ),
            ServerProfile(
                name="znuny7", product="Znuny 7", url_prefix="/znuny/", routes=_ZNUNY_ROUTES,
                article_fields=_CHANNEL, session_header=True, attachment_contents_optional=True,
            ),
        )
    }
)  # fmt: skip


def profile_named(name: str) -> ServerProfile:
    """The profile called ``name`` (``otrs5``, ``otrs6``, ``otobo``, ``znuny65``, ``znuny7``)."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown server {name!r}; one of {', '.join(PROFILES)}") from None


class ServerInfo(BaseModel):
    """What a client knows of its server now: set in the settings or learned by reading
    (never by writing). ``None`` means not known yet (learned on first use)."""

    model_config = ConfigDict(frozen=True)

    profile: str | None = Field(None, description="The best-matching profile, once the facts single one out")
    product: str | None = Field(None, description="The product(s) the facts fit, e.g. 'OTRS 6 or OTOBO'")
    article_fields: ArticleFieldsName | None = None
    search_route: Route | None = None
    session_header: bool | None = None
    note_content_type: str = NOTE_CONTENT_TYPE
    sources: Mapping[str, str] = Field(
        default_factory=dict, description="For each item, where it came from: 'settings' or the probe's evidence"
    )
