"""One profile per ticket-system generation: what the fake does differently for each, as data.

A :class:`Profile` names the product and version, the URL prefix, the example web service's
routes and keep-alive, which article fields the server reads (OTRS 5's ``ArticleType`` or
6+'s ``CommunicationChannel``/``IsVisibleForCustomer``; the other generation's are silently
ignored), the content-type and charset rules, whether ``X-OTRS-Header-*`` credentials count,
what happens to attachments inside ``Article.Attachment``, the permission TicketUpdate asks
for, the TicketGet answer shapes and the ids the lab's seed gets. The code asks the profile,
never the product name. Sources: the recordings of each system (``tests/recordings*``), the
servers' ``Kernel/GenericInterface`` trees and the differential test against the live lab.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Literal

from otrs_closure.testing._routes import DEFAULT_ROUTES, OperationRoute

__all__ = [
    "Profile",
    "PROFILES",
    "PROFILE_NAMES",
    "PROFILE_ALIASES",
    "DEFAULT_PROFILE",
    "get_profile",
    "ENCODE_NAMES",
]

#: ``Encode->encodings(":all")`` of the lab's Perl 5.36: the only charset names OTRS 5's
#: ``ValidateCharset`` accepts (looked up as written, after lower-casing: ``utf8`` yes,
#: ``utf-8`` no, and the mixed-case ones never).
ENCODE_NAMES: frozenset[str] = frozenset(
    """7bit-jis AdobeStandardEncoding AdobeSymbol AdobeZdingbat ascii ascii-ctrl big5-eten big5-hkscs cp1006
    cp1026 cp1047 cp1250 cp1251 cp1252 cp1253 cp1254 cp1255 cp1256 cp1257 cp1258 cp37 cp424 cp437 cp500 cp737
    cp775 cp850 cp852 cp855 cp856 cp857 cp858 cp860 cp861 cp862 cp863 cp864 cp865 cp866 cp869 cp874 cp875 cp932
    cp936 cp949 cp950 dingbats euc-cn euc-jp euc-kr gb12345-raw gb2312-raw gsm0338 hp-roman8 hz iso-2022-jp
    iso-2022-jp-1 iso-2022-kr iso-8859-1 iso-8859-10 iso-8859-11 iso-8859-13 iso-8859-14 iso-8859-15 iso-8859-16
    iso-8859-2 iso-8859-3 iso-8859-4 iso-8859-5 iso-8859-6 iso-8859-7 iso-8859-8 iso-8859-9 iso-ir-165
    jis0201-raw jis0208-raw jis0212-raw johab koi8-f koi8-r koi8-u ksc5601-raw MacArabic MacCentralEurRoman
    MacChineseSimp MacChineseTrad MacCroatian MacCyrillic MacDingbats MacFarsi MacGreek MacHebrew MacIcelandic
    MacJapanese MacKorean MacRoman MacRomanian MacRumanian MacSami MacSymbol MacThai MacTurkish MacUkrainian
    MIME-B MIME-Header MIME-Header-ISO_2022_JP MIME-Q nextstep null posix-bc shiftjis symbol UCS-2BE UCS-2LE
    UTF-16 UTF-16BE UTF-16LE UTF-32 UTF-32BE UTF-32LE UTF-7 utf-8-strict utf8 viscii""".split()
)


def _route(name: str, type_: str, method: str, route: str) -> OperationRoute:
    return OperationRoute(name, type_, method, route)


#: ``development/webservices/GenericTicketConnectorREST.yml`` of OTRS 6.0 (and OTOBO 11).
_OTRS6_ROUTES: tuple[OperationRoute, ...] = (
    _route("SessionCreate", "Session::SessionCreate", "POST", "/Session"),
    _route("SessionGet", "Session::SessionGet", "GET", "/Session/:SessionID"),
    _route("TicketCreate", "Ticket::TicketCreate", "POST", "/Ticket"),
    _route("TicketGet", "Ticket::TicketGet", "GET", "/Ticket/:TicketID"),
    _route("TicketGetList", "Ticket::TicketGet", "GET", "/TicketList"),
    _route("TicketHistoryGet", "Ticket::TicketHistoryGet", "GET", "/TicketHistory/:TicketID"),
    _route("TicketSearch", "Ticket::TicketSearch", "GET", "/Ticket"),
    _route("TicketUpdate", "Ticket::TicketUpdate", "PATCH", "/Ticket/:TicketID"),
)

#: The same file in OTRS 5.0: no SessionGet, TicketGetList or TicketHistoryGet.
_OTRS5_ROUTES: tuple[OperationRoute, ...] = tuple(
    r for r in _OTRS6_ROUTES if r.name in ("SessionCreate", "TicketCreate", "TicketGet", "TicketSearch", "TicketUpdate")
)

#: ``var/webservices/examples/GenericTicketConnectorREST.yml`` of Znuny 7.1 (SessionRemove is
#: called ``SessionDelete`` there).
_ZNUNY7_ROUTES: tuple[OperationRoute, ...] = tuple(
    _route("SessionDelete", r.type, r.method or "DELETE", r.route) if r.name == "SessionRemove" else r
    for r in DEFAULT_ROUTES
)

#: SessionGet keys of an agent session on Znuny 6.5.15 beside the common ones (value: a
#: constant, or ``None`` for the ones the fake computes).
_SESSION_KEYS_65: Mapping[str, str | None] = MappingProxyType(
    {
        "AdminCommunicationLogPageShown": "25",
        "AdminDynamicFieldsOverviewPageShown": "25",
        "ChangeTime": None,
        "CreateTime": None,
        "UserCreateNextMask": "",
        "UserEmail": None,
        "UserFirstname": None,
        "UserFullname": None,
        "UserID": None,
        "UserLastLogin": None,
        "UserLastLoginTimestamp": None,
        "UserLastPwChangeTime": None,
        "UserLastViewsLimit": "5",
        "UserLastViewsPosition": "Avatar",
        "UserLastname": None,
        "UserLogin": None,
        "UserLoginFailed": "0",
        "UserRefreshTime": "0",
        "UserTicketOverviewMediumPageShown": "20",
        "UserTicketOverviewPreviewPageShown": "15",
        "UserTicketOverviewSmallPageShown": "25",
        "UserTitle": None,
    }
)


def _session_keys(
    base: Mapping[str, str | None], *, drop: tuple[str, ...] = (), add: Mapping[str, str | None] | None = None
) -> Mapping[str, str | None]:
    keys = {k: v for k, v in base.items() if k not in drop}
    keys.update(add or {})
    return MappingProxyType(keys)


@dataclass(frozen=True)
class Profile:
    """What one ticket-system generation does, as the fake needs to know it."""

    #: Canonical name, e.g. ``znuny-6.5.15``.
    name: str
    product: str
    version: str
    #: Other accepted names (the lab's short ones: ``znuny65``, ``otrs6``...).
    aliases: tuple[str, ...]
    #: First URL path segment before ``nph-genericinterface.pl``.
    prefix: str
    #: The example web service's operations.
    routes: tuple[OperationRoute, ...]
    #: ``KeepAlive`` of the example transport: ``Connection: Keep-Alive`` or ``close``.
    keep_alive: bool
    #: Which article fields the server reads: ``ArticleType`` (OTRS 5; CommunicationChannel and
    #: IsVisibleForCustomer are ignored) or ``CommunicationChannel`` (6+; ArticleType ignored).
    article_fields: Literal["ArticleType", "CommunicationChannel"]
    #: Whether ``X-OTRS-Header-SessionID`` (and the other credential headers) are honoured.
    header_credentials: bool
    #: Whether attachments inside ``Article.Attachment`` are stored (else silently dropped).
    inline_attachments: bool
    #: Whether an article ContentType without ``charset=`` is accepted (OTOBO; Charset "").
    content_type_without_charset: bool
    #: How a charset name is judged: ``resolve_alias`` (Encode::resolve_alias, ``utf-8`` ok) or
    #: ``encode_names`` (OTRS 5: one of :data:`ENCODE_NAMES` exactly).
    charsets: Literal["resolve_alias", "encode_names"]
    #: Operations whose ContentType checks read ``charset = x`` with spaces (else only ``charset=x``).
    charset_spaces: frozenset[str]
    #: Whether the article backend reads ``charset = x`` with spaces too (Znuny 7's MIMEBase).
    charset_spaces_core: bool
    #: Whether TicketGet refuses ids that are not positive integers ("Invalid ticket ID
    #: parameter(s) found!", Znuny 7) instead of answering AccessDenied.
    ticket_get_integer_ids: bool
    #: Whether line breaks in a ContentType become spaces before the checks (Znuny's issue #595).
    content_type_line_breaks: bool
    #: Whether ``Article`` may be a list of articles (Znuny); else it must be one object.
    article_lists: bool
    #: Whether ``ArticleSend`` (send the article as an e-mail) is known (Znuny).
    article_send: bool
    #: Permission TicketUpdate's first access check asks for (``ro``: a read-only agent passes it).
    update_access: Literal["ro", "rw"]
    #: Whether ``_CheckUpdatePermissions`` checks ``note`` for an article and ``rw`` for dynamic
    #: fields (OTRS 5/6, OTOBO: "Does not have permissions to create new articles!").
    update_article_permission: bool
    #: TicketGet shapes: ``5`` (OTRS 5: ArticleType, Created, ticket fields in each article) or ``6``.
    ticket_get_generation: Literal[5, 6]
    #: Whether articles carry the ``CommunicationChannel`` name beside its id.
    article_channel_name: bool
    #: Whether articles carry OTOBO's ``IsDeleted``/``IsEdited``.
    article_edit_flags: bool
    #: How ``ArticleNumber`` counts: in creation order, or (OTOBO) by create time with the
    #: newest first among articles of the same second.
    article_numbers: Literal["created", "second_newest_first"]
    #: Whether ``DynamicFields=1`` lists every ticket field, empty ones with ``null``.
    empty_dynamic_fields: bool
    #: The dynamic fields of the initial data (name, field type): process management, and
    #: Znuny's calendar fields.
    initial_dynamic_fields: tuple[tuple[str, str], ...]
    #: Agent SessionGet keys beside the common ones.
    session_agent_keys: Mapping[str, str | None]
    #: OTRS 5 reads agent names back double-encoded (``Juan PÃ©rez``) into article From/To.
    agent_names_mojibake: bool
    #: OTRS 5 writes the notified agents into a note's To (``_ArticleToUpdate``).
    note_to_notified_agents: bool
    #: What a form-encoded body (or, with ``body_utf8_only``, one that is not UTF-8) gets:
    #: "Could not read input data" (Znuny) or "Error while decoding request content." (OTRS, OTOBO).
    unreadable_body: Literal["could_not_read", "decode_error"]
    #: Whether the body must be UTF-8 whatever charset its Content-Type declares (Znuny's
    #: Web::Request); else a declared charset such as iso-8859-1 is converted.
    body_utf8_only: bool
    #: Whether a customer-sender article's ArticleID comes back as a string (6+) or a number (OTRS 5).
    customer_article_id_string: bool
    #: Whether the query string is parsed as 6+ do (``;`` separates too, ``+`` is a space, UTF-8
    #: decoded) or as OTRS 5 (``&`` only, ``+`` kept, bytes undecoded).
    query_modern: bool
    #: Whether leaving a pending state resets the pending time with a ``SetPendingTime`` row
    #: (Znuny's TicketPendingTimeReset); OTRS and OTOBO keep it.
    pending_time_reset: bool
    #: Whether an unlock hands the ticket back to root@localhost (OTOBO's Ticket::OwnerResetOnUnlock).
    owner_reset_on_unlock: bool
    #: Whether SessionCreate obeys the session limits (20 per user, 100 in all, active in the
    #: last 10 minutes): OTRS 5 answers AuthFail beyond them; 6+ exempt GenericInterface sessions.
    session_limits: bool
    #: Whether TicketSearch knows the ``TicketID`` criterion (OTRS 5's ignores it).
    search_by_ticket_id: bool
    #: Operations whose "X->Y  parameter is missing!" messages carry a double space.
    double_space_ops: frozenset[str]
    #: What an unknown web service gets: the connection closed without a byte (``nph-`` CGI under
    #: mod_perl writes nothing) or, on OTOBO's PSGI stack, an empty HTTP 500.
    unknown_webservice: Literal["close", "empty_500"]
    #: GroupID of ``mesa-de-servicio`` in the lab's seed.
    service_desk_group_id: int
    webservice: str = "GenericTicketConnectorREST"

    @property
    def script_path(self) -> str:
        """``/<prefix>/nph-genericinterface.pl``."""
        return f"/{self.prefix}/nph-genericinterface.pl"

    @property
    def title(self) -> str:
        """``Znuny 6.5.15``."""
        return f"{self.product} {self.version}"

    def operation_named(self, operation_type: str) -> str | None:
        """Name of the web service's first operation of a type (``Ticket::TicketSearch``...)."""
        return next((r.name for r in self.routes if r.type == operation_type), None)


_OTRS_DYNAMIC_FIELDS = (("ProcessManagementProcessID", "ProcessID"), ("ProcessManagementActivityID", "ActivityID"))
_ZNUNY_DYNAMIC_FIELDS = (
    *_OTRS_DYNAMIC_FIELDS,
    ("ProcessManagementAttachment", "TextArea"),
    ("TicketCalendarStartTime", "DateTime"),
    ("TicketCalendarEndTime", "DateTime"),
)

ZNUNY_6_5_15 = Profile(
    name="znuny-6.5.15",
    product="Znuny",
    version="6.5.15",
    aliases=(),
    prefix="otrs",
    routes=DEFAULT_ROUTES,
    keep_alive=True,
    article_fields="CommunicationChannel",
    header_credentials=True,
    inline_attachments=True,
    content_type_without_charset=False,
    charsets="resolve_alias",
    charset_spaces=frozenset({"TicketUpdate"}),
    charset_spaces_core=False,
    ticket_get_integer_ids=False,
    content_type_line_breaks=True,
    article_lists=True,
    article_send=True,
    update_access="rw",
    update_article_permission=False,
    ticket_get_generation=6,
    article_channel_name=True,
    article_edit_flags=False,
    article_numbers="created",
    empty_dynamic_fields=False,
    initial_dynamic_fields=_ZNUNY_DYNAMIC_FIELDS,
    session_agent_keys=_SESSION_KEYS_65,
    agent_names_mojibake=False,
    note_to_notified_agents=False,
    unreadable_body="could_not_read",
    body_utf8_only=True,
    customer_article_id_string=True,
    query_modern=True,
    pending_time_reset=True,
    owner_reset_on_unlock=False,
    session_limits=False,
    search_by_ticket_id=True,
    double_space_ops=frozenset({"TicketCreate"}),
    unknown_webservice="close",
    service_desk_group_id=5,
)

# ZNUNY_6_5_10 differs from ZNUNY_6_5_15 in only these:
ZNUNY_6_5_10 = replace(
    ZNUNY_6_5_15,
    name="znuny-6.5.10",
    version="6.5.10",
    aliases=("znuny65",),
    charset_spaces=frozenset(),
    update_access="ro",
    article_channel_name=False,
    empty_dynamic_fields=True,
    session_agent_keys=_session_keys(_SESSION_KEYS_65, drop=("UserLastPwChangeTime",)),
)

# ZNUNY_7_1_7 differs from ZNUNY_6_5_15 in only these:
ZNUNY_7_1_7 = replace(
    ZNUNY_6_5_15,
    name="znuny-7.1.7",
    version="7.1.7",
    aliases=("znuny7",),
    prefix="znuny",
    routes=_ZNUNY7_ROUTES,
    charset_spaces=frozenset({"TicketCreate", "TicketUpdate"}),
    charset_spaces_core=True,
    ticket_get_integer_ids=True,
    session_agent_keys=_session_keys(
        _SESSION_KEYS_65,
        add={
            "UserActivityLinkTarget": "_self",
            "UserMarkTicketSeenRedirectURL": "",
            "UserMarkTicketUnseenRedirectURL": "",
            "UserToolBarSearchBackend": "ToolBarSearchBackendFulltext",
        },
    ),
)

OTRS_6_0_30 = Profile(
    name="otrs-6.0.30",
    product="OTRS",
    version="6.0.30",
    aliases=("otrs6",),
    prefix="otrs",
    routes=_OTRS6_ROUTES,
    keep_alive=False,
    article_fields="CommunicationChannel",
    header_credentials=False,
    inline_attachments=False,
    content_type_without_charset=False,
    charsets="resolve_alias",
    charset_spaces=frozenset(),
    charset_spaces_core=False,
    ticket_get_integer_ids=False,
    content_type_line_breaks=False,
    article_lists=False,
    article_send=False,
    update_access="ro",
    update_article_permission=True,
    ticket_get_generation=6,
    article_channel_name=False,
    article_edit_flags=False,
    article_numbers="created",
    empty_dynamic_fields=True,
    initial_dynamic_fields=_OTRS_DYNAMIC_FIELDS,
    session_agent_keys=_session_keys(
        _SESSION_KEYS_65,
        drop=("UserLastPwChangeTime", "UserLastViewsLimit", "UserLastViewsPosition"),
        add={"UserAuthBackend": ""},
    ),
    agent_names_mojibake=False,
    note_to_notified_agents=False,
    unreadable_body="decode_error",
    body_utf8_only=False,
    customer_article_id_string=True,
    query_modern=True,
    pending_time_reset=False,
    owner_reset_on_unlock=False,
    session_limits=False,
    search_by_ticket_id=True,
    double_space_ops=frozenset({"TicketCreate"}),
    unknown_webservice="close",
    service_desk_group_id=4,
)

# OTOBO_11_0_6 differs from OTRS_6_0_30 in only these:
OTOBO_11_0_6 = replace(
    OTRS_6_0_30,
    name="otobo-11.0.6",
    product="OTOBO",
    version="11.0.6",
    aliases=("otobo",),
    prefix="otobo",
    content_type_without_charset=True,
    article_edit_flags=True,
    article_numbers="second_newest_first",
    session_agent_keys=_session_keys(
        _SESSION_KEYS_65,
        drop=("UserLastPwChangeTime", "UserLastViewsLimit", "UserLastViewsPosition"),
        add={
            "AdminDynamicFieldsOverviewPageShown": "250",
            "UserAuthBackend": "",
            "UserMarkTicketSeenRedirectURL": "",
            "UserMarkTicketUnseenRedirectURL": "",
        },
    ),
    owner_reset_on_unlock=True,
    unknown_webservice="empty_500",
)

# OTRS_5_0_8 differs from OTRS_6_0_30 in only these:
OTRS_5_0_8 = replace(
    OTRS_6_0_30,
    name="otrs-5.0.8",
    version="5.0.8",
    aliases=("otrs5",),
    routes=_OTRS5_ROUTES,
    article_fields="ArticleType",
    charsets="encode_names",
    ticket_get_generation=5,
    session_agent_keys=MappingProxyType({}),
    agent_names_mojibake=True,
    note_to_notified_agents=True,
    customer_article_id_string=False,
    query_modern=False,
    session_limits=True,
    search_by_ticket_id=False,
    double_space_ops=frozenset({"TicketCreate", "TicketUpdate"}),
)

#: Every profile by canonical name.
PROFILES: Mapping[str, Profile] = MappingProxyType(
    {p.name: p for p in (ZNUNY_6_5_15, ZNUNY_6_5_10, ZNUNY_7_1_7, OTRS_6_0_30, OTOBO_11_0_6, OTRS_5_0_8)}
)
#: The canonical names, default first.
PROFILE_NAMES: tuple[str, ...] = tuple(PROFILES)
#: Short name -> canonical name.
PROFILE_ALIASES: Mapping[str, str] = MappingProxyType({a: p.name for p in PROFILES.values() for a in p.aliases})
#: The profile of the recordings in ``tests/recordings`` and of ``FakeZnuny()`` by default.
DEFAULT_PROFILE = ZNUNY_6_5_15.name


def get_profile(profile: str | Profile | None = None) -> Profile:
    """A profile by canonical name or alias (``None``: the default); a Profile is returned as is."""
    if isinstance(profile, Profile):
        return profile
    name = DEFAULT_PROFILE if profile is None else profile.strip().lower()
    name = PROFILE_ALIASES.get(name, name)
    if name not in PROFILES:
        known = ", ".join([*PROFILE_NAMES, *PROFILE_ALIASES])
        raise ValueError(f"unknown profile {profile!r} (known: {known})")
    return PROFILES[name]
