"""FakeZnuny: the public face of the fake server (setup helpers, doors, faults, assertions).

One instance is one server -- of the system its profile names, Znuny 6.5.15 by default --
with one web service. Tests seed it (``service_desk()``,
``like_recordings()`` or the ``add_*`` helpers), talk to it over HTTP through
:meth:`FakeZnuny.mock` (in-process, ``responses``) or :meth:`FakeZnuny.serve` (loopback
TCP), script trouble with :meth:`FakeZnuny.inject` / :meth:`FakeZnuny.fail_write`, and check
the outcome with :meth:`FakeZnuny.ticket` / :meth:`FakeZnuny.assert_ticket`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NamedTuple

from otrs_closure.testing._clock import FakeClock
from otrs_closure.testing._entities import (
    ALL_PERMISSIONS,
    Agent,
    Article,
    Attachment,
    CustomerUser,
    DynamicFieldDef,
    Group,
    NamedItem,
    Queue,
    State,
)
from otrs_closure.testing._faults import Fault, FaultRecord, PlannedWriteFailure, RequestRecord, WriteStep
from otrs_closure.testing._profiles import Profile, get_profile
from otrs_closure.testing._provider import GenericInterface
from otrs_closure.testing._routes import OperationRoute
from otrs_closure.testing._store import (
    LOCKS,
    Store,
    article_type_channel,
    article_type_id,
    channel_id,
    sender_type_id,
)
from otrs_closure.testing._views import TicketView, assert_ticket, ticket_view

if TYPE_CHECKING:  # pragma: no cover
    import responses
    from requests import PreparedRequest

    from otrs_closure.client import ClosureClient

__all__ = ["FakeZnuny", "CreatedTicket"]


class CreatedTicket(NamedTuple):
    """What :meth:`FakeZnuny.create_ticket` returns: ``(ticket_id, ticket_number)``."""

    ticket_id: int
    ticket_number: str


_DEFAULT_STATES = (
    (1, "new", "new"),
    (2, "closed successful", "closed"),
    (3, "closed unsuccessful", "closed"),
    (4, "open", "open"),
    (5, "removed", "removed"),
    (6, "pending reminder", "pending reminder"),
    (7, "pending auto close+", "pending auto"),
    (8, "pending auto close-", "pending auto"),
    (9, "merged", "merged"),
)
_DEFAULT_PRIORITIES = ((1, "1 very low"), (2, "2 low"), (3, "3 normal"), (4, "4 high"), (5, "5 very high"))
_DEFAULT_QUEUES = ((1, "Postmaster"), (2, "Raw"), (3, "Junk"), (4, "Misc"))
_DEFAULT_GROUPS = ((1, "users"), (2, "admin"), (3, "stats"))
#: OTRS 5 article type for a (channel id, visible for customer) given to the direct helpers.
_ARTICLE_TYPE_OF = {
    (1, 1): "email-external",
    (1, 0): "email-internal",
    (2, 1): "phone",
    (2, 0): "phone",
    (3, 1): "note-external",
    (3, 0): "note-internal",
    (4, 1): "note-external",
    (4, 0): "note-internal",
}


class FakeZnuny:
    """A stateful in-memory OTRS-family server (Znuny 6.5.15 unless another ``profile`` is
    chosen) with its GenericTicketConnectorREST web service."""

    def __init__(
        self,
        *,
        profile: str | Profile | None = None,
        timezone: str = "America/Mexico_City",
        webservice: str | None = None,
        webservice_id: int = 1,
        script_path: str | None = None,
        routes: Iterable[OperationRoute] | None = None,
        max_length: int | None = 100_000_000,
        keep_alive: bool | None = None,
        include_ticket_data: bool = False,
        record_bodies: bool = True,
        max_records: int | None = None,
        session_max_idle_time: int = 7200,
        session_max_time: int = 57600,
        session_check_remote_ip: bool = False,
        start_time: float | None = None,
        frozen_clock: bool = False,
        root_password: str = "root",
        initial_data: bool = True,
    ) -> None:
        """Build an empty server (initial data only: root@localhost, queues, states, ticket 1).

        ``profile`` picks the system the fake behaves like (:data:`PROFILE_NAMES` or the lab's
        short names: ``znuny65``, ``otrs6``, ``otobo``, ``otrs5``, ``znuny7``); ``webservice``,
        ``script_path``, ``routes`` and ``keep_alive`` default to that system's example web
        service; ``max_length`` is the transport's MaxLength (413 above it);
        ``include_ticket_data`` mimics the operation config flag of TicketUpdate;
        ``record_bodies``/``max_records`` bound the memory the request log uses; sessions die
        ``session_max_idle_time`` s after creation (not sliding) and, with
        ``session_check_remote_ip``, when used from another IP (serve door);
        ``start_time``/``frozen_clock`` set the fake clock.
        """
        self._profile = get_profile(profile)
        self.clock = FakeClock(start_time, frozen=frozen_clock, timezone=timezone)
        self._store = Store(
            self.clock,
            session_max_idle_time=session_max_idle_time,
            session_max_time=session_max_time,
            session_check_remote_ip=session_check_remote_ip,
            profile=self._profile,
        )
        self._gi = GenericInterface(
            self._store,
            webservice=self._profile.webservice if webservice is None else webservice,
            webservice_id=webservice_id,
            script_path=self._profile.script_path if script_path is None else script_path,
            routes=self._profile.routes if routes is None else routes,
            max_length=max_length,
            keep_alive=self._profile.keep_alive if keep_alive is None else keep_alive,
            include_ticket_data=include_ticket_data,
            record_bodies=record_bodies,
            max_records=max_records,
        )
        #: URL of the web service of the door opened last (``None`` before any door).
        self.base_url: str | None = None
        #: login -> password of the seeded users (printed by ``run_fake_server``).
        self.credentials: dict[str, str] = {}
        if initial_data:
            self._initial_data(root_password)

    # ------------------------------------------------------------------ seeds
    @classmethod
    def service_desk(cls, *, profile: str | Profile | None = None, **kwargs: Any) -> FakeZnuny:
        """The Mexico City service desk (users, queue, ``Atendido`` state, NumeroSerie field) on
        the system ``profile`` names; other options as for the constructor."""
        from otrs_closure.testing._seeds import seed_service_desk

        return seed_service_desk(cls(**{"root_password": "root-pass", "profile": profile, **kwargs}))

    @classmethod
    def like_recordings(cls, *, profile: str | Profile | None = None, **kwargs: Any) -> FakeZnuny:
        """Identical to the server the profile's recordings were made on (UTC, the clock at the
        recordings' start; Znuny 6.5 also has the lab's extra ``GET /Ticket`` search route)."""
        from otrs_closure.testing._seeds import like_recordings

        return like_recordings(cls, profile=profile, **kwargs)

    def _initial_data(self, root_password: str) -> None:
        """Znuny's initial database: groups, root@localhost, states, queues, welcome ticket."""
        store = self._store
        with store.lock:
            for group_id, name in _DEFAULT_GROUPS:
                store.groups[group_id] = Group(group_id, name)
            for state_id, name, type_name in _DEFAULT_STATES:
                store.states[state_id] = State(state_id, name, type_name)
            for item_id, name in _DEFAULT_PRIORITIES:
                store.priorities[item_id] = NamedItem(item_id, name)
            store.types[1] = NamedItem(1, "Unclassified")
            for queue_id, name in _DEFAULT_QUEUES:
                store.queues[queue_id] = Queue(queue_id, name, 1)
        for name, field_type in self._profile.initial_dynamic_fields:
            self.add_dynamic_field(name, field_type=field_type)
        self.add_agent(
            "root@localhost",
            "Admin",
            "Znuny",
            root_password,
            email="root@localhost",
            groups={"users": "rw", "admin": "rw", "stats": "rw"},
            user_id=1,
        )
        with store.lock:
            welcome = store.ticket_create(
                title="Welcome to Znuny!",
                queue=store.queues[2],
                state=store.states[1],
                priority=store.priorities[3],
                type_=store.types[1],
                customer_id=None,
                customer_user_id=None,
                user_id=1,
                ticket_number="2015071510123456",
                ticket_id=1,
            )
            store.article_create(
                welcome,
                channel_id=1,
                sender_type_id=3,
                is_visible_for_customer=1,
                from_="Znuny Feedback <info@znuny.com>",
                to="Your Znuny System <otrs@localhost>",
                cc="",
                bcc="",
                subject="Welcome to Znuny!",
                body="Welcome to Znuny!\n\nThank you for installing Znuny.\n",
                content_type="text/plain; charset=utf-8",
                mime_type="text/plain",
                charset="utf-8",
                history_type="NewTicket",
                history_comment="%%",
                user_id=1,
                fail=False,
                article_type_id=1,  # email-external, on OTRS 5
            )

    # ------------------------------------------------------------ properties
    @property
    def profile(self) -> Profile:
        """The system this fake behaves like (name, product, version, routes, rules)."""
        return self._profile

    @property
    def store(self) -> Store:
        """The underlying database (advanced use; hold ``store.lock`` while touching it)."""
        return self._store

    @property
    def interface(self) -> GenericInterface:
        """The REST transport (routes, MaxLength, keep-alive) shared by both doors."""
        return self._gi

    @property
    def webservice(self) -> str:
        """Name of the web service in the URL."""
        return self._gi.webservice

    @property
    def max_length(self) -> int | None:
        """The transport's MaxLength in bytes (413 above it); ``None`` disables the check."""
        return self._gi.max_length

    @max_length.setter
    def max_length(self, value: int | None) -> None:
        self._gi.max_length = value

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request the fake saw, in order (a copy)."""
        with self._store.lock:
            return list(self._gi.requests)

    @property
    def faults_fired(self) -> list[FaultRecord]:
        """Every injected fault that fired, in order (a copy)."""
        with self._store.lock:
            return list(self._gi.faults_fired)

    @property
    def internal_errors(self) -> list[BaseException]:
        """Exceptions raised inside the fake while handling requests (should stay empty)."""
        with self._store.lock:
            return list(self._gi.internal_errors)

    def calls(self, operation: str) -> int:
        """How many requests were routed to ``operation`` (faulted ones included)."""
        return self._gi.calls(operation)

    def clear_records(self) -> None:
        """Forget recorded requests and fired faults (call counters keep counting)."""
        with self._store.lock:
            self._gi.requests.clear()
            self._gi.faults_fired.clear()

    # -------------------------------------------------------------------- time
    def advance(self, seconds: float) -> float:
        """Move the fake clock forward; returns the new epoch time."""
        return self.clock.advance(seconds)

    def now(self) -> str:
        """Current fake time as Znuny renders it."""
        return self.clock.render()

    # ------------------------------------------------------------------ routes
    def set_route(self, operation: str, method: str | None, route: str, *, type: str | None = None) -> None:  # noqa: A002
        """Add or change an operation's route (``type`` defaults to the known operation's)."""
        existing = self._gi.routes.get(operation)
        op_type = type or (existing.type if existing else None)
        if op_type is None:
            raise ValueError(f"unknown operation {operation!r}: pass type='Ticket::...'")
        self._gi.set_route(OperationRoute(operation, op_type, method, route))

    def remove_route(self, operation: str) -> None:
        """Remove an operation from the web service."""
        self._gi.remove_route(operation)

    # ------------------------------------------------------------------ people
    def add_group(self, name: str, *, group_id: int | None = None) -> int:
        """Add a permission group; returns its id."""
        store = self._store
        with store.lock:
            existing = store.group_by_name(name)
            if existing is not None:
                return existing.group_id
            gid = group_id if group_id is not None else max(store.groups, default=0) + 1
            store.groups[gid] = Group(gid, name)
            return gid

    def _perms(self, value: str | Iterable[str]) -> set[str]:
        perms = {value} if isinstance(value, str) else set(value)
        unknown = perms - set(ALL_PERMISSIONS)
        if unknown:
            raise ValueError(f"unknown permissions {sorted(unknown)} (known: {ALL_PERMISSIONS})")
        return perms

    def add_agent(
        self,
        login: str,
        first_name: str,
        last_name: str,
        password: str,
        *,
        email: str | None = None,
        groups: Mapping[str, str | Iterable[str]] | None = None,
        valid: bool = True,
        user_id: int | None = None,
    ) -> int:
        """Add an agent with permissions per group name (``"rw"`` implies all); returns UserID."""
        store = self._store
        with store.lock:
            if store.agent_by_login(login) is not None:
                raise ValueError(f"agent {login!r} exists")
            uid = user_id if user_id is not None else max(store.agents, default=0) + 1
            if uid in store.agents:
                raise ValueError(f"UserID {uid} is taken")
            agent = Agent(
                user_id=uid,
                login=login,
                first_name=first_name,
                last_name=last_name,
                password=password,
                email=email or f"{login}@example.com",
                valid=valid,
                create_time=self.clock.epoch(),
            )
            store.agents[uid] = agent
        for group, perms in (groups or {}).items():
            self.set_permissions(login, group, perms)
        self.credentials[login] = password
        return uid

    def set_permissions(self, login: str, group: str, permissions: str | Iterable[str]) -> None:
        """Replace an agent's permissions on a group (empty removes them)."""
        store = self._store
        with store.lock:
            agent = store.agent_by_login(login)
            found = store.group_by_name(group)
            if agent is None or found is None:
                raise KeyError(f"unknown agent {login!r} or group {group!r}")
            perms = self._perms(permissions)
            if perms:
                agent.permissions[found.group_id] = perms
            else:
                agent.permissions.pop(found.group_id, None)

    def set_agent_valid(self, login: str, valid: bool) -> None:
        """Invalidate (or re-validate) an agent: auth and owner checks fail for invalid ones."""
        with self._store.lock:
            agent = self._store.agent_by_login(login)
            if agent is None:
                raise KeyError(login)
            agent.valid = valid

    def add_customer_user(
        self,
        login: str,
        first_name: str,
        last_name: str,
        email: str,
        customer_id: str,
        *,
        password: str = "",
        valid: bool = True,
    ) -> None:
        """Add a customer user (a password enables CustomerUserLogin)."""
        with self._store.lock:
            self._store.customers[login] = CustomerUser(
                login=login,
                customer_id=customer_id,
                first_name=first_name,
                last_name=last_name,
                email=email,
                password=password,
                valid=valid,
            )
        if password:
            self.credentials[login] = password

    # ----------------------------------------------------------- configuration
    def add_queue(self, name: str, *, group: str = "users", queue_id: int | None = None, valid: bool = True) -> int:
        """Add a queue guarded by ``group``; returns its id."""
        store = self._store
        with store.lock:
            found = store.group_by_name(group)
            if found is None:
                raise KeyError(f"unknown group {group!r}")
            qid = queue_id if queue_id is not None else max(store.queues, default=0) + 1
            store.queues[qid] = Queue(qid, name, found.group_id, valid)
            return qid

    def add_state(self, name: str, type: str, *, state_id: int | None = None, valid: bool = True) -> int:  # noqa: A002
        """Add a ticket state of a state type (``open``, ``closed``, ``pending reminder``...)."""
        store = self._store
        with store.lock:
            sid = state_id if state_id is not None else max(store.states, default=0) + 1
            store.states[sid] = State(sid, name, type, valid)
            return sid

    def add_priority(self, name: str, *, priority_id: int | None = None) -> int:
        """Add a priority; returns its id."""
        with self._store.lock:
            pid = priority_id if priority_id is not None else max(self._store.priorities, default=0) + 1
            self._store.priorities[pid] = NamedItem(pid, name)
            return pid

    def add_type(self, name: str, *, type_id: int | None = None) -> int:
        """Add a ticket type; returns its id."""
        with self._store.lock:
            tid = type_id if type_id is not None else max(self._store.types, default=0) + 1
            self._store.types[tid] = NamedItem(tid, name)
            return tid

    def add_dynamic_field(
        self,
        name: str,
        *,
        field_type: str = "Text",
        object_type: str = "Ticket",
        possible_values: Mapping[str, str] | None = None,
        valid: bool = True,
    ) -> None:
        """Add a dynamic field (Text, TextArea, Dropdown, Multiselect, Checkbox, Date, DateTime)."""
        with self._store.lock:
            field_id = len(self._store.dynamic_fields) + 1
            self._store.dynamic_fields[name] = DynamicFieldDef(
                field_id=field_id,
                name=name,
                field_type=field_type,
                object_type=object_type,
                possible_values=dict(possible_values) if possible_values is not None else None,
                valid=valid,
            )

    # ----------------------------------------------------------------- tickets
    def create_ticket(
        self,
        title: str,
        *,
        queue: str,
        state: str = "new",
        priority: str = "3 normal",
        type: str = "Unclassified",  # noqa: A002
        customer_user: str = "",
        customer_id: str | None = None,
        created_by: str = "root@localhost",
        owner: str | None = None,
        lock: str | None = None,
        responsible: str | None = None,
        article: Mapping[str, Any] | None = None,
        dynamic_fields: Mapping[str, Any] | None = None,
    ) -> CreatedTicket:
        """Create a ticket directly (no HTTP), with history like GI TicketCreate.

        ``article`` (optional) takes ``subject``, ``body``, ``sender_type`` (agent),
        ``channel`` (Internal), ``is_visible_for_customer`` (0), ``from_``, ``to``,
        ``content_type`` and ``attachments`` (list of ``{filename, content: bytes,
        content_type}``). ``owner`` locks the ticket unless ``lock`` says otherwise.
        """
        store = self._store
        with store.lock:
            creator = store.agent_by_login(created_by)
            found_queue = store.queue_by(name=queue)
            found_state = store.state_by(name=state)
            found_priority = store.named_by(store.priorities, name=priority)
            found_type = store.named_by(store.types, name=type)
            missing = [
                label
                for label, value in (
                    (f"agent {created_by!r}", creator),
                    (f"queue {queue!r}", found_queue),
                    (f"state {state!r}", found_state),
                    (f"priority {priority!r}", found_priority),
                    (f"type {type!r}", found_type),
                )
                if value is None
            ]
            owner_agent = store.agent_by_login(owner) if owner else None
            if owner and owner_agent is None:
                missing.append(f"owner {owner!r}")
            responsible_agent = store.agent_by_login(responsible) if responsible else None
            if responsible and responsible_agent is None:
                missing.append(f"responsible {responsible!r}")
            if missing:
                raise KeyError("unknown " + ", ".join(missing))
            assert creator and found_queue and found_state and found_priority and found_type
            customer = store.customers.get(customer_user)
            ticket = store.ticket_create(
                title=title,
                queue=found_queue,
                state=found_state,
                priority=found_priority,
                type_=found_type,
                customer_id=customer_id if customer_id is not None else (customer.customer_id if customer else ""),
                customer_user_id=customer_user,
                user_id=creator.user_id,
                responsible_id=responsible_agent.user_id if responsible_agent else 1,
            )
            if article is not None:
                self._direct_article(ticket_id=ticket.ticket_id, spec=article, user_id=creator.user_id, first=True)
            for name, value in (dynamic_fields or {}).items():
                field = store.dynamic_fields.get(name)
                if field is None:
                    raise KeyError(f"unknown dynamic field {name!r}")
                store.dynamic_field_set(ticket, None, field, value, creator.user_id)
            if owner_agent is not None:
                store.owner_set(ticket, owner_agent, creator.user_id, fail=False)
                if lock is None:
                    store.lock_set(ticket, 2, creator.user_id, step=None)
            else:
                store.owner_set(ticket, creator, creator.user_id, notify=False, fail=False)
            if lock is not None:
                lock_id = next((k for k, v in LOCKS.items() if v == lock), None)
                if lock_id is None:
                    raise KeyError(f"unknown lock {lock!r}")
                store.lock_set(ticket, lock_id, creator.user_id, step=None)
            store.flush_notifications(creator.user_id)
            return CreatedTicket(ticket.ticket_id, ticket.ticket_number)

    def add_article(self, ticket: int | str, *, created_by: str = "root@localhost", **spec: Any) -> int:
        """Add an article directly (see :meth:`create_ticket` for the keys); returns ArticleID."""
        with self._store.lock:
            found = self._ticket(ticket)
            agent = self._store.agent_by_login(created_by)
            if agent is None:
                raise KeyError(f"unknown agent {created_by!r}")
            return self._direct_article(
                ticket_id=found.ticket_id, spec=spec, user_id=agent.user_id, first=False
            ).article_id

    def _direct_article(self, *, ticket_id: int, spec: Mapping[str, Any], user_id: int, first: bool) -> Article:
        store = self._store
        ticket = store.tickets[ticket_id]
        agent = store.agents[user_id]
        customer = store.customers.get(ticket.customer_user_id or "")
        content_type = str(spec.get("content_type", "text/plain; charset=utf8"))
        mime, _, rest = content_type.partition(";")
        charset = rest.split("=", 1)[1].strip() if "=" in rest else ""
        default_from = (customer.mailbox if customer else ticket.customer_user_id or "") if first else agent.full_name
        channel = channel_id(str(spec.get("channel", "Internal"))) or 3
        visible = 1 if spec.get("is_visible_for_customer", 0) else 0
        type_id = 0
        if self._profile.article_fields == "ArticleType":  # OTRS 5: the type says channel and visibility
            type_id = article_type_id(str(spec.get("article_type") or _ARTICLE_TYPE_OF[(channel, visible)])) or 0
            if type_id == 0:
                raise KeyError(f"unknown article type {spec.get('article_type')!r}")
            channel, visible = article_type_channel(type_id)
        article = store.article_create(
            ticket,
            channel_id=channel,
            sender_type_id=sender_type_id(str(spec.get("sender_type", "agent"))) or 1,
            is_visible_for_customer=visible,
            article_type_id=type_id,
            from_=str(spec.get("from_", default_from)),
            to=str(spec.get("to", store.queues[ticket.queue_id].name if first else "")),
            cc="",
            bcc="",
            subject=str(spec.get("subject", ticket.title)),
            body=str(spec.get("body", "")),
            content_type=content_type,
            mime_type=mime.strip(),
            charset=charset,
            history_type="NewTicket" if first else "AddNote",
            history_comment="%%GenericInterface Create" if first else "%%GenericInterface Note",
            user_id=user_id,
            fail=False,
        )
        for item in spec.get("attachments", ()):
            store.store_attachment(
                article,
                Attachment(
                    filename=str(item["filename"]),
                    content=bytes(item["content"]),
                    content_type=str(item.get("content_type", "application/octet-stream")),
                    disposition=str(item.get("disposition", "")),
                ),
            )
        return article

    def client(
        self,
        username: str = "tecnico1",
        owner_login: str = "agente.mesa",
        *,
        password: str | None = None,
        **options: Any,
    ) -> ClosureClient:
        """A :class:`~otrs_closure.ClosureClient` for this fake's open door, logged in as a
        seeded agent (default: the technician, with its seeded password unless ``password`` is
        given) and handing tickets to ``owner_login``. ``options`` are ClosureClient settings;
        in tests ``retry_backoff=0, retry_write_settle=0`` make retries immediate."""
        if self.base_url is None:
            raise RuntimeError("open a door first: with fake.mock() or with fake.serve()")
        if password is None and username not in self.credentials:
            raise KeyError(
                f"no seeded password for {username!r}: pass password=... (seeded: {sorted(self.credentials)})"
            )
        from otrs_closure.client import ClosureClient

        return ClosureClient(
            base_url=self.base_url,
            username=username,
            password=self.credentials[username] if password is None else password,
            owner_login=owner_login,
            **options,
        )

    def new_service_desk_ticket(self, title: str = "Impresora no imprime") -> CreatedTicket:
        """A ticket as in recording 10: by tecnico1, owned and locked by tecnico1, in Mesa de Servicio."""
        return self.create_ticket(
            title,
            queue="Mesa de Servicio",
            state="new",
            priority="3 normal",
            type="Unclassified",
            customer_user="cliente.demo",
            created_by="tecnico1",
            owner="tecnico1",
            article={
                "subject": title,
                "body": "Ticket de prueba creado vía REST por tecnico1.\nSegunda línea con acentos: áéíóú ñ.",
                "content_type": "text/plain; charset=utf8",
                "channel": "Internal",
                "sender_type": "agent",
                "is_visible_for_customer": 0,
            },
        )

    def _ticket(self, ref: int | str | TicketView) -> Any:
        if isinstance(ref, TicketView):
            ref = ref.ticket_id
        found = self._store.resolve_ticket(ref)
        if found is None:
            raise KeyError(f"no ticket {ref!r}")
        return found

    def ticket(self, ref: int | str | TicketView) -> TicketView:
        """Frozen snapshot of a ticket by TicketID (int) or TicketNumber (str), or a fresh one of a view."""
        with self._store.lock:
            return ticket_view(self._store, self._ticket(ref))

    def tickets(self) -> list[TicketView]:
        """Snapshots of all tickets, by TicketID."""
        with self._store.lock:
            return [ticket_view(self._store, t) for _, t in sorted(self._store.tickets.items())]

    def assert_ticket(self, ref: int | str | TicketView, **expected: Any) -> TicketView:
        """Re-read the ticket and :func:`~otrs_closure.testing._views.assert_ticket` it; returns the view."""
        view = self.ticket(ref)
        assert_ticket(view, **expected)
        return view

    # ---------------------------------------------------------------- sessions
    def create_session(self, login: str, *, session_id: str | None = None, created_at: float | None = None) -> str:
        """Open a session directly (agent or customer login); ``created_at`` in epoch seconds."""
        store = self._store
        with store.lock:
            if store.agent_by_login(login) is not None:
                user_type = "User"
            elif login in store.customers:
                user_type = "Customer"
            else:
                raise KeyError(f"unknown user {login!r}")
            return store.create_session(user_type, login, session_id=session_id, created=created_at).session_id

    def expire_session(self, session_id: str) -> None:
        """Make a session expired (as if SessionMaxIdleTime had passed)."""
        store = self._store
        with store.lock:
            session = store.sessions.get(session_id)
            if session is None:
                raise KeyError(session_id)
            session.created = self.clock.now() - store.session_max_idle_time - 1

    def expire_all_sessions(self) -> None:
        """Expire every session."""
        with self._store.lock:
            for sid in list(self._store.sessions):
                self.expire_session(sid)

    def session_valid(self, session_id: str) -> bool:
        """Whether the session would authenticate right now."""
        with self._store.lock:
            return self._store.check_session(session_id) is not None

    # ------------------------------------------------------------------ faults
    def inject(
        self,
        kind: Fault | str,
        operation: str = "TicketUpdate",
        call: int | None = None,
        *,
        times: int = 1,
        **params: Any,
    ) -> None:
        """Make calls ``call .. call+times-1`` of ``operation`` misbehave (``call=None``: the next).

        Params: ``retry_after`` (UNAVAILABLE, RATE_LIMITED), ``delay`` (TIMEOUT_AFTER_APPLY,
        serve door), ``apply`` (SERVER_FAULT).
        """
        self._gi.plan(Fault(kind), operation, call, times, params)

    def fail_write(
        self,
        step: WriteStep | str,
        *,
        times: int = 1,
        ticket: int | str | None = None,
        message: str | None = None,
    ) -> None:
        """Make a write step fail (HTTP 500 JSON fault, earlier writes kept): TicketUpdate's
        section 4.4 steps; ARTICLE/ATTACHMENT/DYNAMIC_FIELD also hit HTTP TicketCreate."""
        with self._store.lock:
            ticket_id = self._ticket(ticket).ticket_id if ticket is not None else None
            self._store.write_failures.append(
                PlannedWriteFailure(step=WriteStep(step), remaining=times, ticket_id=ticket_id, message=message)
            )

    def clear_faults(self) -> None:
        """Drop every planned fault and write failure that has not fired."""
        with self._store.lock:
            self._gi.planned.clear()
            self._store.write_failures.clear()

    # ------------------------------------------------------------------- doors
    def answer(self, request: PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        """Answer one ``requests`` request as the :meth:`mock` door does: ``(status, headers,
        body)``, or raise the ``requests`` exception of an injected network fault.

        For a ``responses`` callback of a test's own, put in front of the fake: e.g. a proxy
        that lets Znuny apply a request and then answers 502 itself, or that rewrites answers.
        """
        from otrs_closure.testing._mock import answer_request

        return answer_request(self._gi, request)

    def service_url(self, base_url: str) -> str:
        """The web service URL this fake answers on under ``base_url``'s host (what the doors yield)."""
        from otrs_closure.testing._mock import split_base_url

        return split_base_url(base_url, self._gi)[1]

    @contextmanager
    def mock(
        self, base_url: str = "http://znuny.fake.test", *, requests_mock: responses.RequestsMock | None = None
    ) -> Iterator[str]:
        """Intercept ``requests`` to ``base_url``'s host with ``responses``; yields the web service URL.

        Pass ``requests_mock`` to register on an already active ``responses`` mock.
        """
        from otrs_closure.testing._mock import mock_door

        previous = self.base_url
        with mock_door(self._gi, base_url, requests_mock) as url:
            self.base_url = url
            try:
                yield url
            finally:
                self.base_url = previous

    @contextmanager
    def serve(self, port: int = 0, latency: float = 0.0, *, host: str = "127.0.0.1") -> Iterator[str]:
        """Serve over loopback HTTP/1.1 (``port=0``: any free port); yields the web service URL."""
        from otrs_closure.testing._server import serve_door

        previous = self.base_url
        with serve_door(self._gi, host=host, port=port, latency=latency) as url:
            self.base_url = url
            try:
                yield url
            finally:
                self.base_url = previous
