"""What one client knows of its server: each item set in the settings, taken from a
named profile, or learned by reading (never by writing), once; and the routes that
follow from it. Thread-safe: the first closure's reads teach every other thread."""

from __future__ import annotations

import logging
import threading
from urllib.parse import urlsplit

from otrs_closure.errors import InputError, ServerCompatibilityError
from otrs_closure.servers import (
    ARTICLE_FIELDS,
    COMMON_ROUTES,
    PROFILES,
    SEARCH_ROUTES,
    ArticleFields,
    Route,
    ServerInfo,
)
from otrs_closure.settings import ClosureSettings

__all__ = ["ServerKnowledge"]

log = logging.getLogger("otrs_closure.server")


class ServerKnowledge:
    """The server's routes, article fields and header support, as far as known."""

    def __init__(self, settings: ClosureSettings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._profile = PROFILES[settings.server] if settings.server else None
        self._sources: dict[str, str] = {}
        prof = self._profile
        where = f"settings (server={settings.server})" if prof else "settings"

        self._search: Route | None = settings.routes.get("TicketSearch")
        if self._search is not None:
            self._sources["search_route"] = "settings (routes)"
        elif prof is not None:
            self._search = prof.routes["TicketSearch"]
            self._sources["search_route"] = where

        self._header: bool | None = settings.session_header
        if self._header is not None:
            self._sources["session_header"] = "settings (session_header)"
        elif prof is not None:
            self._header = prof.session_header
            self._sources["session_header"] = where

        self._fields: str | None = settings.article_fields
        if self._fields is not None:
            self._sources["article_fields"] = "settings (article_fields)"
        elif prof is not None:
            self._fields = prof.article_fields.name
            self._sources["article_fields"] = where
        self._article_keys: frozenset[str] = frozenset()
        self._keep_alive: bool | None = None  # a hint only, from the first answer

    # -- routes ---------------------------------------------------------------------------
    def route(self, operation: str) -> Route:
        """The route of ``operation``: the settings', the profile's, or the routes every
        shipped example shares (TicketSearch: the learned one, else the first candidate)."""
        s = self._settings
        if operation in s.routes:
            return s.routes[operation]
        if operation == "TicketSearch":
            return self.search_candidates()[0]
        if self._profile is not None and operation in self._profile.routes:
            return self._profile.routes[operation]
        if operation in COMMON_ROUTES:
            return COMMON_ROUTES[operation]
        raise ServerCompatibilityError(
            f"no route is known for {operation}; set it in routes (OTRS_CLOSURE_ROUTES)", field="routes"
        )

    def search_candidates(self) -> list[Route]:
        """The TicketSearch route when known, else both shipped routes, likeliest first.
        Hints, never facts: the URL's prefix (``/otobo/`` ships GET /Ticket, ``/znuny/``
        POST /Ticket/Search) and whether the server keeps connections alive (Znuny's
        example web services do; OTRS 5/6's and OTOBO's answer ``Connection: close``)."""
        with self._lock:
            if self._search is not None:
                return [self._search]
            keep_alive = self._keep_alive
        path = urlsplit(self._settings.service_url).path.lower()
        otrs_first = path.startswith("/otobo/") or (keep_alive is False and not path.startswith("/znuny/"))
        order = ["otrs", "znuny"] if otrs_first else ["znuny", "otrs"]
        return [SEARCH_ROUTES[k] for k in order]

    @property
    def closes_connections(self) -> bool:
        """A hint: the first answer said ``Connection: close``, as OTRS 5/6's and OTOBO's
        example web services do (Znuny's keep connections alive)."""
        with self._lock:
            return self._keep_alive is False

    def hint_keep_alive(self, keep_alive: bool) -> None:
        """What the first answer's ``Connection`` header said (orders the search probe)."""
        with self._lock:
            if self._keep_alive is None:
                self._keep_alive = keep_alive

    @property
    def search_known(self) -> bool:
        with self._lock:
            return self._search is not None

    def learn_search_route(self, route: Route, evidence: str) -> None:
        with self._lock:
            if self._search is None:
                self._search = route
                self._sources["search_route"] = evidence
                log.info("server: TicketSearch is %s (%s)", route, evidence)

    # -- the session header -----------------------------------------------------------------
    @property
    def session_header(self) -> bool | None:
        with self._lock:
            return self._header

    def learn_session_header(self, honoured: bool, evidence: str) -> None:
        with self._lock:
            if self._header is None:
                self._header = honoured
                self._sources["session_header"] = evidence
                log.info("server: SessionID in a header %s (%s)", "honoured" if honoured else "ignored", evidence)

    # -- article fields ------------------------------------------------------------------------
    @property
    def article_fields(self) -> ArticleFields | None:
        with self._lock:
            return ARTICLE_FIELDS[self._fields] if self._fields else None

    def learn_article_fields(self, name: str, keys: frozenset[str], evidence: str) -> None:
        """Record the article fields a ticket's articles showed; a contradiction with what
        is set or was learned is an error (fail closed: the note would not be internal)."""
        with self._lock:
            self._article_keys = self._article_keys | keys
            if self._fields is None:
                self._fields = name
                self._sources["article_fields"] = evidence
                log.info("server: notes are marked internal with %s (%s)", name, evidence)
                return
            if self._fields != name:
                source = self._sources.get("article_fields", "")
                raise ServerCompatibilityError(
                    f"the ticket's articles carry the {name} fields, but {source} says {self._fields}: a note "
                    "written in the wrong fields would be visible to the customer; nothing was written",
                    field="article_fields",
                )

    @property
    def request_limit(self) -> int:
        """The largest request to send: ``max_request_bytes`` when set, else the lower of
        its default and the limit of the server's profile (once the facts single it out)."""
        s = self._settings
        if "max_request_bytes" in s.model_fields_set:
            return s.max_request_bytes
        profile = self.info().profile
        server_limit = PROFILES[profile].request_limit if profile else None
        return min(s.max_request_bytes, server_limit) if server_limit else s.max_request_bytes

    def refuse_larger(self, size: int, what: str, unsent: str) -> None:
        """InputError("formats") when a request of ``size`` bytes (``what``, for the
        message) is over :attr:`request_limit`; ``unsent`` says what was therefore not done."""
        limit = self.request_limit
        if size <= limit:
            return
        s = self._settings
        if "max_request_bytes" in s.model_fields_set or limit == s.max_request_bytes:
            source = "max_request_bytes"
        else:
            product = PROFILES[self.info().profile or ""].product
            source = f"{product} (its WebMaxFileUpload; set max_request_bytes if this server's is larger)"
        raise InputError("formats", f"{what} would be {size} bytes after base64, over the {limit} bytes {source} "
                                    f"allows; {unsent}")  # fmt: skip

    # -- what is shown -------------------------------------------------------------------------
    def info(self) -> ServerInfo:
        """What is known now, with the profile the facts single out (if they do)."""
        with self._lock:
            fields, header, search = self._fields, self._header, self._search
            keys, sources = self._article_keys, dict(self._sources)
        profile, product = self._settings.server, None
        if profile is None:
            profile, product = _infer(fields, header, search, self._settings.service_url, keys)
        else:
            product = PROFILES[profile].product
        return ServerInfo(
            profile=profile,
            product=product,
            article_fields=fields,
            search_route=search,
            session_header=header,
            note_content_type=self._settings.note_content_type,
            sources=sources,
        )


def _infer(
    fields: str | None, header: bool | None, search: Route | None, url: str, keys: frozenset[str]
) -> tuple[str | None, str | None]:
    """(profile, product) from the facts learned; a product list while they are ambiguous."""
    path = urlsplit(url).path.lower()
    if fields == "article_type":
        return "otrs5", PROFILES["otrs5"].product
    znuny = header is True or (search is not None and search == SEARCH_ROUTES["znuny"])
    otrs = header is False or (search is not None and search == SEARCH_ROUTES["otrs"])
    if fields == "channel" and znuny and not otrs:
        if path.startswith("/znuny/"):
            return "znuny7", PROFILES["znuny7"].product
        return "znuny65", "Znuny 6.5 or 7"
    if fields == "channel" and otrs and not znuny:
        if path.startswith("/otobo/") or "IsDeleted" in keys:
            return "otobo", PROFILES["otobo"].product
        return "otrs6", "OTRS 6 or OTOBO"
    if znuny and not otrs:
        return None, "Znuny 6.5 or 7"
    if otrs and not znuny:
        return None, "OTRS 5, OTRS 6 or OTOBO"
    return None, None
