"""The fake's database and Znuny's core write functions (TicketStateSet, ArticleCreate, ...).

:class:`Store` holds every record and performs each write the way Znuny's core does it --
only when the value changes, with the same history rows, unlock-time resets and owner
notifications -- so that the GenericInterface operations built on top of it
(:mod:`otrs_closure.testing._operations`) behave like the real server, partial writes included.
All methods expect the caller to hold :attr:`Store.lock`.
"""

from __future__ import annotations

import re
import secrets
import string
import threading
from collections.abc import Iterable
from typing import Any, TypeVar

from otrs_closure.testing._clock import FakeClock
from otrs_closure.testing._entities import (
    Agent,
    Article,
    Attachment,
    CustomerUser,
    DynamicFieldDef,
    Group,
    HistoryEntry,
    NamedItem,
    Queue,
    Session,
    State,
    Ticket,
)
from otrs_closure.testing._faults import WRITE_FAULTSTRINGS, OperationFault, PlannedWriteFailure, WriteStep
from otrs_closure.testing._mime import content_charset, content_mime_type, mime_body
from otrs_closure.testing._profiles import Profile, get_profile

__all__ = [
    "Store",
    "HISTORY_TYPES",
    "CHANNELS",
    "SENDER_TYPES",
    "ARTICLE_TYPES",
    "LOCKS",
    "check_digit_ticket_number",
    "article_type_id",
    "article_type_channel",
]

#: Znuny's ticket_history_type ids.
HISTORY_TYPES: dict[str, int] = {
    "NewTicket": 1, "FollowUp": 2, "SendAutoReject": 3, "SendAutoReply": 4, "SendAutoFollowUp": 5,
    "Forward": 6, "Bounce": 7, "SendAnswer": 8, "SendAgentNotification": 9,
    "SendCustomerNotification": 10, "EmailAgent": 11, "EmailCustomer": 12, "PhoneCallAgent": 13,
    "PhoneCallCustomer": 14, "AddNote": 15, "Move": 16, "Lock": 17, "Unlock": 18, "Remove": 19,
    "TimeAccounting": 20, "CustomerUpdate": 21, "PriorityUpdate": 22, "OwnerUpdate": 23,
    "LoopProtection": 24, "Misc": 25, "SetPendingTime": 26, "StateUpdate": 27,
    "TicketDynamicFieldUpdate": 28, "WebRequestCustomer": 29, "TicketLinkAdd": 30,
    "TicketLinkDelete": 31, "SystemRequest": 32, "Merged": 33, "ResponsibleUpdate": 34,
    "Subscribe": 35, "Unsubscribe": 36, "TypeUpdate": 37, "ServiceUpdate": 38, "SLAUpdate": 39,
    "ArchiveFlagUpdate": 40, "EscalationSolutionTimeStop": 41, "EscalationResponseTimeStart": 42,
    "EscalationUpdateTimeStart": 43, "EscalationSolutionTimeStart": 44,
    "EscalationResponseTimeNotifyBefore": 45, "EscalationUpdateTimeNotifyBefore": 46,
    "EscalationSolutionTimeNotifyBefore": 47, "EscalationResponseTimeStop": 48,
    "EscalationUpdateTimeStop": 49, "TitleUpdate": 50,
}  # fmt: skip

#: Communication channels (id -> name) of a default Znuny 6.5.
CHANNELS: dict[int, str] = {1: "Email", 2: "Phone", 3: "Internal", 4: "Chat"}
#: Article sender types (id -> name).
SENDER_TYPES: dict[int, str] = {1: "agent", 2: "system", 3: "customer"}
#: OTRS 5's article types (id -> name); ``*-int`` ones are hidden from customers.
ARTICLE_TYPES: dict[int, str] = {
    1: "email-external", 2: "email-internal", 3: "email-notification-ext", 4: "email-notification-int",
    5: "phone", 6: "fax", 7: "sms", 8: "webrequest", 9: "note-internal", 10: "note-external", 11: "note-report",
}  # fmt: skip
#: Ticket locks (id -> name).
LOCKS: dict[int, str] = {1: "unlock", 2: "lock", 3: "tmp_lock"}
#: Auto response types the TicketUpdate/TicketCreate validators know.
AUTO_RESPONSE_TYPES = ("auto reply", "auto reject", "auto follow up", "auto reply/new ticket", "auto remove")

_SESSION_CHARS = string.ascii_letters + string.digits
_T = TypeVar("_T")


def check_digit_ticket_number(prefix: str) -> str:
    """Append Znuny's DateChecksum check digit to ``YYYYMMDD + SystemID + counter``."""
    total = 0
    mult = 1
    for ch in prefix:
        total += mult * int(ch)
        mult = 2 if mult == 1 else 1
    digit = 10 - total % 10
    if digit == 10:
        digit = 1
    return prefix + str(digit)


class Store:
    """All records plus Znuny-core-like writes; guarded by one re-entrant lock."""

    def __init__(
        self,
        clock: FakeClock,
        *,
        system_id: str = "10",
        session_max_idle_time: int = 7200,
        session_max_time: int = 57600,
        session_check_remote_ip: bool = False,
        profile: Profile | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        #: The server generation this database belongs to.
        self.profile = get_profile(profile)
        self.system_id = system_id
        self.session_max_idle_time = session_max_idle_time
        self.session_max_time = session_max_time
        self.session_check_remote_ip = session_check_remote_ip
        self.customer_panel_user_id = 1
        self.agents: dict[int, Agent] = {}
        self.customers: dict[str, CustomerUser] = {}
        self.groups: dict[int, Group] = {}
        self.queues: dict[int, Queue] = {}
        self.states: dict[int, State] = {}
        self.priorities: dict[int, NamedItem] = {}
        self.types: dict[int, NamedItem] = {}
        self.dynamic_fields: dict[str, DynamicFieldDef] = {}
        self.tickets: dict[int, Ticket] = {}
        self.sessions: dict[str, Session] = {}
        self.next_ticket_id = 1
        self.next_article_id = 1
        self.next_history_id = 1
        self.tn_counters: dict[str, int] = {}
        self.write_failures: list[PlannedWriteFailure] = []
        self._notifications: list[tuple[Ticket, str, Agent]] = []

    # ------------------------------------------------------------------ lookups
    def agent_by_login(self, login: str, *, any_case: bool = False) -> Agent | None:
        """Agent by login: exact, as authentication compares it, or ``any_case`` as
        Znuny's UserLookup does for an Owner or Responsible (``lc`` on both sides)."""
        for agent in self.agents.values():
            if agent.login == login or (any_case and agent.login.lower() == login.lower()):
                return agent
        return None

    def agent_by_id(self, value: Any) -> Agent | None:
        """Agent by UserID given as int or digit string."""
        try:
            return self.agents.get(int(str(value).strip()))
        except ValueError:
            return None

    def group_by_name(self, name: str) -> Group | None:
        """Group by name."""
        for group in self.groups.values():
            if group.name == name:
                return group
        return None

    def queue_by(self, *, name: Any = None, queue_id: Any = None) -> Queue | None:
        """Queue by name (preferred) or by id."""
        if name not in (None, ""):
            for queue in self.queues.values():
                if queue.name == str(name):
                    return queue
            return None
        return self._by_id(self.queues, queue_id)

    def state_by(self, *, name: Any = None, state_id: Any = None) -> State | None:
        """State by name (preferred) or by id."""
        if name not in (None, ""):
            for state in self.states.values():
                if state.name == str(name):
                    return state
            return None
        return self._by_id(self.states, state_id)

    def named_by(self, table: dict[int, NamedItem], *, name: Any = None, item_id: Any = None) -> NamedItem | None:
        """Priority or type by name (preferred) or id."""
        if name not in (None, ""):
            for item in table.values():
                if item.name == str(name):
                    return item
            return None
        return self._by_id(table, item_id)

    @staticmethod
    def _by_id(table: dict[int, _T], value: Any) -> _T | None:
        if value in (None, ""):
            return None
        try:
            return table.get(int(str(value).strip()))
        except ValueError:
            return None

    def ticket_by_id(self, value: Any) -> Ticket | None:
        """Ticket by TicketID (int or digit string); None for anything else."""
        if isinstance(value, bool):
            return None
        text = str(value).strip()
        if not text.isdigit():
            return None
        return self.tickets.get(int(text))

    def ticket_by_number(self, number: Any) -> Ticket | None:
        """Ticket by exact TicketNumber."""
        for ticket in self.tickets.values():
            if ticket.ticket_number == str(number).strip():
                return ticket
        return None

    def resolve_ticket(self, ref: int | str) -> Ticket | None:
        """Ticket by id, or by number when ``ref`` is a string that is not a known id."""
        if isinstance(ref, int):
            return self.tickets.get(ref)
        return self.ticket_by_number(ref) or (self.ticket_by_id(ref) if len(ref) < 10 else None)

    def lock_name(self, lock_id: int) -> str:
        """Lock name of an id."""
        return LOCKS[lock_id]

    # -------------------------------------------------------------------- auth
    def auth_agent(self, login: Any, password: Any) -> Agent | None:
        """Agent authentication backend (valid agents only)."""
        agent = self.agent_by_login(str(login))
        if agent is None or not agent.valid or not password or agent.password != str(password):
            return None
        return agent

    def auth_customer(self, login: Any, password: Any) -> CustomerUser | None:
        """Customer authentication backend (valid customer users with a password)."""
        customer = self.customers.get(str(login))
        if customer is None or not customer.valid or not customer.password or customer.password != str(password):
            return None
        return customer

    def create_session(
        self,
        user_type: str,
        login: str,
        *,
        remote_addr: str | None = None,
        user_agent: str = "",
        session_id: str | None = None,
        created: float | None = None,
    ) -> Session:
        """Store a new session (32 random alphanumerics unless ``session_id`` is given)."""
        sid = session_id or "".join(secrets.choice(_SESSION_CHARS) for _ in range(32))
        session = Session(
            session_id=sid,
            user_type=user_type,
            login=login,
            created=self.clock.now() if created is None else created,
            remote_addr=remote_addr,
            user_agent=user_agent,
        )
        self.sessions[sid] = session
        if user_type == "User":
            agent = self.agent_by_login(login)
            if agent is not None:
                agent.last_login = int(session.created)
        return session

    def session_limit_reached(self, user_type: str, login: str) -> bool:
        """OTRS 5's AuthSession limits, which 6+ skip for GenericInterface sessions: at most
        ``AgentSessionPerUserLimit`` (20) sessions per user and ``AgentSessionLimit`` (100)
        in all (customers alike) active within ``SessionActiveTime`` (600 s; a GI session's last
        request is its creation)."""
        if not self.profile.session_limits:
            return False
        since = self.clock.now() - 600
        active = [s for s in self.sessions.values() if s.user_type == user_type and not s.removed and s.created > since]
        return len(active) >= 100 or sum(1 for s in active if s.login == login) >= 20

    def check_session(self, session_id: Any, remote_addr: str | None = None) -> Session | None:
        """CheckSessionID: unknown, removed, expired (idle from creation) or foreign IP -> None."""
        session = self.sessions.get(str(session_id))
        if session is None or session.removed:
            return None
        now = self.clock.now()
        if now - self.session_max_idle_time >= session.created or now - self.session_max_time >= session.created:
            return None
        if (
            self.session_check_remote_ip
            and remote_addr is not None
            and session.remote_addr is not None
            and remote_addr != session.remote_addr
        ):
            session.removed = True
            return None
        if session.user_type == "User":
            agent = self.agent_by_login(session.login)
            if agent is None or not agent.valid:
                return None
        elif session.login not in self.customers:
            return None
        return session

    # -------------------------------------------------------------- permissions
    def agent_may(self, agent: Agent, ticket: Ticket, permission: str) -> bool:
        """Ticket permission of an agent: group permission on the queue, or being the owner."""
        if ticket.owner_id == agent.user_id:
            return True
        queue = self.queues.get(ticket.queue_id)
        return queue is not None and agent.has(queue.group_id, permission)

    def customer_may(self, customer: CustomerUser, ticket: Ticket) -> bool:
        """Customer ticket permission (CustomerUserIDCheck, CustomerIDCheck): their own ticket or
        their company's, both compared case-insensitively."""
        return (ticket.customer_user_id or "").lower() == customer.login.lower() or (
            bool(customer.customer_id) and (ticket.customer_id or "").lower() == customer.customer_id.lower()
        )

    def may(self, user: Agent | CustomerUser, ticket: Ticket, permission: str) -> bool:
        """Permission check for either kind of user."""
        if isinstance(user, Agent):
            return self.agent_may(user, ticket, permission)
        return self.customer_may(user, ticket)

    # ---------------------------------------------------------------- failures
    def maybe_fail(self, step: WriteStep, ticket: Ticket, *, name: str = "") -> None:
        """Raise the step's OperationFault if a planned write failure matches."""
        for plan in self.write_failures:
            if plan.step is step and plan.remaining > 0 and plan.ticket_id in (None, ticket.ticket_id):
                plan.remaining -= 1
                message = plan.message or WRITE_FAULTSTRINGS[step].format(name=name)
                raise OperationFault(message)

    # ------------------------------------------------------------------ history
    def history_add(self, ticket: Ticket, history_type: str, name: str, create_by: int, article_id: int = 0) -> None:
        """Append a history row with the ticket's current queue/owner/priority/state/type."""
        self.next_history_id += 1
        ticket.history.append(
            HistoryEntry(
                history_id=self.next_history_id,
                ticket_id=ticket.ticket_id,
                article_id=article_id,
                name=name,
                history_type=history_type,
                history_type_id=HISTORY_TYPES.get(history_type, HISTORY_TYPES["Misc"]),
                create_by=create_by,
                create_time=self.clock.epoch(),
                queue_id=ticket.queue_id,
                owner_id=ticket.owner_id,
                priority_id=ticket.priority_id,
                state_id=ticket.state_id,
                type_id=ticket.type_id,
            )
        )

    def _touch(self, ticket: Ticket, user_id: int) -> None:
        ticket.change_time = self.clock.epoch()
        ticket.change_by = user_id

    def _notify(self, ticket: Ticket, notification: str, user_id: int) -> Agent | None:
        """Queue an agent notification to the owner, unless the owner acted (sent at request end);
        returns the agent notified."""
        owner = self.agents.get(ticket.owner_id)
        if owner is None or owner.user_id in (user_id, 1) or not owner.valid:  # root gets none
            return None
        self._notifications.append((ticket, notification, owner))
        return owner

    def agent_name(self, agent: Agent) -> str:
        """``UserFirstname UserLastname`` as the server reads it back (OTRS 5: double-encoded)."""
        name = agent.full_name
        if self.profile.agent_names_mojibake:
            return name.encode("utf-8").decode("latin-1")
        return name

    def flush_notifications(self, user_id: int) -> None:
        """Write the SendAgentNotification rows of the request, as Znuny's event handler does last."""
        pending, self._notifications = self._notifications, []
        for ticket, notification, owner in pending:
            self.history_add(ticket, "SendAgentNotification", f"%%{notification}%%{owner.login}%%Email", user_id)

    # ---------------------------------------------------------------- creation
    def new_ticket_number(self) -> str:
        """Next DateChecksum ticket number: YYYYMMDD + SystemID + 5-digit daily counter + check digit."""
        date = self.clock.datetime().strftime("%Y%m%d")
        count = self.tn_counters.get(date, 0) + 1
        self.tn_counters[date] = count
        return check_digit_ticket_number(f"{date}{self.system_id}{count:05d}")

    def ticket_create(
        self,
        *,
        title: str,
        queue: Queue,
        state: State,
        priority: NamedItem,
        type_: NamedItem,
        customer_id: str | None,
        customer_user_id: str | None,
        user_id: int,
        owner_id: int = 1,
        responsible_id: int = 1,
        lock_id: int = 1,
        ticket_number: str | None = None,
        ticket_id: int | None = None,
    ) -> Ticket:
        """Core TicketCreate: the row plus the NewTicket (and CustomerUpdate) history."""
        now = self.clock.epoch()
        if ticket_id is None:
            ticket_id = self.next_ticket_id
        self.next_ticket_id = max(self.next_ticket_id, ticket_id + 1)
        ticket = Ticket(
            ticket_id=ticket_id,
            ticket_number=ticket_number or self.new_ticket_number(),
            title=title,
            queue_id=queue.queue_id,
            state_id=state.state_id,
            priority_id=priority.item_id,
            type_id=type_.item_id,
            lock_id=lock_id,
            owner_id=owner_id,
            responsible_id=responsible_id,
            customer_id=customer_id,
            customer_user_id=customer_user_id,
            create_time=now,
            create_by=user_id,
            change_time=now,
            change_by=user_id,
        )
        self.tickets[ticket_id] = ticket
        self.history_add(
            ticket,
            "NewTicket",
            f"%%{ticket.ticket_number}%%{queue.name}%%{priority.name}%%{state.name}%%{ticket_id}",
            user_id,
        )
        if customer_id or customer_user_id:
            self.history_add(
                ticket, "CustomerUpdate", f"%%CustomerID={customer_id};CustomerUser={customer_user_id};", user_id
            )
        return ticket

    # ------------------------------------------------------------ ticket writes
    def title_update(self, ticket: Ticket, title: str, user_id: int) -> None:
        """TicketTitleUpdate (the history row keeps the new title's first 50 characters + '...')."""
        self.maybe_fail(WriteStep.TITLE, ticket)
        old = ticket.title
        ticket.title = title
        self._touch(ticket, user_id)
        shown = title[:50] + ("..." if len(title[:50]) == 50 else "")
        self.history_add(ticket, "TitleUpdate", f"%%{old}%%{shown}", user_id)

    def queue_set(self, ticket: Ticket, queue: Queue, user_id: int) -> None:
        """TicketQueueSet (Move history). The acting user needs ``move_into`` on the target queue's
        group (MoveList; UserID 1 may move anywhere), else the set fails."""
        self.maybe_fail(WriteStep.QUEUE, ticket)
        if queue.queue_id == ticket.queue_id:
            return
        mover = self.agents.get(user_id)
        if user_id != 1 and (mover is None or not mover.has(queue.group_id, "move_into")):
            raise OperationFault(WRITE_FAULTSTRINGS[WriteStep.QUEUE])
        old = self.queues[ticket.queue_id]
        ticket.queue_id = queue.queue_id
        self._touch(ticket, user_id)
        self.history_add(ticket, "Move", f"%%{queue.name}%%{queue.queue_id}%%{old.name}%%{old.queue_id}", user_id)

    def lock_set(self, ticket: Ticket, lock_id: int, user_id: int, *, step: WriteStep | None = WriteStep.LOCK) -> None:
        """TicketLockSet: no-op when unchanged; Lock/Unlock history; an unlock notifies the owner."""
        if step is not None:
            self.maybe_fail(step, ticket)
        if ticket.lock_id == lock_id:
            return
        ticket.lock_id = lock_id
        self._touch(ticket, user_id)
        name = LOCKS[lock_id]
        if name == "unlock" and self.profile.owner_reset_on_unlock and ticket.owner_id != 1:
            # OTOBO hands an unlocked ticket back to root@localhost (the row's snapshot is taken
            # from the ticket cache, still showing the old owner)
            self.history_add(ticket, "OwnerUpdate", "Reset owner to root@localhost.", user_id)
            ticket.owner_id = 1
        self.history_add(ticket, "Unlock" if name == "unlock" else "Lock", f"%%{name}", user_id)
        if name == "unlock":  # TicketLockSet's NotificationLockTimeout, to the owner unless they acted
            self._notify(ticket, "Ticket lock timeout notification", user_id)

    def type_set(self, ticket: Ticket, type_: NamedItem, user_id: int) -> None:
        """TicketTypeSet."""
        self.maybe_fail(WriteStep.TYPE, ticket)
        if type_.item_id == ticket.type_id:
            return
        old = self.types[ticket.type_id]
        ticket.type_id = type_.item_id
        self._touch(ticket, user_id)
        self.history_add(ticket, "TypeUpdate", f"%%{type_.name}%%{type_.item_id}%%{old.name}%%{old.item_id}", user_id)

    def pending_time_set(self, ticket: Ticket, until: int, user_id: int, *, fail: bool = True) -> None:
        """TicketPendingTimeSet (0 resets it)."""
        if fail:
            self.maybe_fail(WriteStep.PENDING_TIME, ticket)
        ticket.until_time = until
        self._touch(ticket, user_id)
        text = "00-00-00 00:00" if until == 0 else self.clock.datetime(until).strftime("%Y-%m-%d %H:%M")
        self.history_add(ticket, "SetPendingTime", f"%%{text}", user_id)

    def state_set(self, ticket: Ticket, state: State, user_id: int) -> None:
        """TicketStateSet: StateUpdate history; a non-pending state resets the pending time."""
        self.maybe_fail(WriteStep.STATE, ticket)
        if state.state_id == ticket.state_id:
            return
        old = self.states[ticket.state_id]
        ticket.state_id = state.state_id
        self._touch(ticket, user_id)
        self.history_add(ticket, "StateUpdate", f"%%{old.name}%%{state.name}%%", user_id)
        if not state.type_name.lower().startswith("pending") and self.profile.pending_time_reset:
            ticket.until_time = 0
            self.history_add(ticket, "SetPendingTime", "%%00-00-00 00:00", user_id)

    def customer_set(self, ticket: Ticket, customer_id: str, customer_user: str, user_id: int) -> None:
        """TicketCustomerSet."""
        self.maybe_fail(WriteStep.CUSTOMER, ticket)
        ticket.customer_id = customer_id
        ticket.customer_user_id = customer_user
        self._touch(ticket, user_id)
        self.history_add(ticket, "CustomerUpdate", f"%%CustomerID={customer_id};CustomerUser={customer_user};", user_id)

    def priority_set(self, ticket: Ticket, priority: NamedItem, user_id: int) -> None:
        """TicketPrioritySet."""
        self.maybe_fail(WriteStep.PRIORITY, ticket)
        if priority.item_id == ticket.priority_id:
            return
        old = self.priorities[ticket.priority_id]
        ticket.priority_id = priority.item_id
        self._touch(ticket, user_id)
        self.history_add(
            ticket, "PriorityUpdate", f"%%{old.name}%%{old.item_id}%%{priority.name}%%{priority.item_id}", user_id
        )

    def owner_set(self, ticket: Ticket, owner: Agent, user_id: int, *, notify: bool = True, fail: bool = True) -> None:
        """TicketOwnerSet: touches neither the lock nor ``Changed`` (recordings 56/57); notifies the owner.
        Setting the current owner again writes nothing (Znuny returns early)."""
        if fail:
            self.maybe_fail(WriteStep.OWNER, ticket)
        if ticket.owner_id == owner.user_id:
            return
        ticket.owner_id = owner.user_id
        self.history_add(ticket, "OwnerUpdate", f"%%{owner.login}%%{owner.user_id}", user_id)
        if notify:
            self._notify(ticket, "Ticket owner update notification", user_id)

    def responsible_set(self, ticket: Ticket, responsible: Agent, user_id: int, *, fail: bool = True) -> None:
        """TicketResponsibleSet (nothing written when the responsible does not change)."""
        if fail:
            self.maybe_fail(WriteStep.RESPONSIBLE, ticket)
        if ticket.responsible_id == responsible.user_id:
            return
        ticket.responsible_id = responsible.user_id
        self._touch(ticket, user_id)
        self.history_add(ticket, "ResponsibleUpdate", f"%%{responsible.login}%%{responsible.user_id}", user_id)

    def article_create(
        self,
        ticket: Ticket,
        *,
        channel_id: int,
        sender_type_id: int,
        is_visible_for_customer: int,
        from_: str,
        to: str,
        cc: str,
        bcc: str,
        subject: str,
        body: str,
        content_type: str,
        mime_type: str,
        charset: str,
        history_type: str,
        history_comment: str,
        user_id: int,
        attachments: Iterable[Attachment] = (),
        fail: bool = True,
        article_type_id: int = 0,
    ) -> Article:
        """MIME backend ArticleCreate: body/content type normalised as Znuny stores them (an HTML
        body becomes plain text plus a ``file-2`` attachment), history row, unlock-time reset,
        note notification to the owner."""
        if fail:
            self.maybe_fail(WriteStep.ARTICLE, ticket)
        content_type, body, before, after = mime_body(
            content_type, mime_type, charset, body, spaced=self.profile.charset_spaces_core
        )
        now = self.clock.epoch()
        article = Article(
            article_id=self.next_article_id,
            ticket_id=ticket.ticket_id,
            article_number=len(ticket.articles) + 1,
            channel_id=channel_id,
            sender_type_id=sender_type_id,
            is_visible_for_customer=is_visible_for_customer,
            from_=_one_line(from_),
            to=_one_line(to),
            cc=_one_line(cc),
            bcc=_one_line(bcc),
            subject=_one_line(subject),
            body=body,
            content_type=content_type,
            mime_type=content_mime_type(content_type),
            charset=content_charset(content_type, spaced=self.profile.charset_spaces_core),
            create_time=now,
            create_by=user_id,
            article_type_id=article_type_id,
        )
        for attachment in (*before, *attachments, *after):
            self.store_attachment(article, attachment)
        self.next_article_id += 1
        previous_senders = [a.sender_type_id for a in ticket.articles if SENDER_TYPES.get(a.sender_type_id) != "system"]
        ticket.articles.append(article)
        self._touch(ticket, user_id)
        self.history_add(ticket, history_type, history_comment, user_id, article.article_id)
        sender = SENDER_TYPES.get(sender_type_id)
        # Reset the unlock time for agent articles, and for a customer article answering an agent.
        reset = sender == "agent" or (
            sender == "customer" and bool(previous_senders) and SENDER_TYPES.get(previous_senders[-1]) == "agent"
        )
        if reset and ticket.unlock_timeout != now:
            ticket.unlock_timeout = now
            self.history_add(ticket, "Misc", "Reset of unlock time.", user_id)
        if sender == "agent" and history_type == "AddNote":
            notified = self._notify(ticket, "Ticket new note notification", user_id)
            note = ARTICLE_TYPES.get(article_type_id, "").startswith("note-")
            if notified is not None and note and user_id != 1 and self.profile.note_to_notified_agents:
                # OTRS 5's NotificationEvent rewrites a note's To to the agents it notified
                article.to = f"{self.agent_name(notified)} <{notified.email}>"
        return article

    def store_attachment(self, article: Article, attachment: Attachment) -> Attachment:
        """ArticleStorageDB's ArticleWriteAttachment: a taken filename gets ``-1`` (``-2``...) before
        its extension, the ContentID is put in angle brackets, and the Disposition is stored as
        ArticleAttachment will report it (``inline`` for ``file-1``/``file-2`` and images with a
        ContentID, ``attachment`` otherwise, unless one was given)."""
        used = {a.filename for a in article.attachments}
        name = attachment.filename
        for i in range(1, 51):
            if name in used:
                parts = re.match(r"^(.*)\.(.+?)$", attachment.filename, flags=re.DOTALL)
                name = f"{parts.group(1)}-{i}.{parts.group(2)}" if parts else f"{attachment.filename}-{i}"
        content_id = attachment.content_id
        if re.fullmatch(r"[^<].*[^>]", content_id):
            content_id = f"<{content_id}>"
        disposition = attachment.disposition.split(";")[0] if attachment.disposition else ""
        if not disposition:
            if content_id and re.search("image", attachment.content_type, flags=re.IGNORECASE):
                disposition = "inline"
            elif re.search(r"file-[12]", name):
                disposition = "inline"
            else:
                disposition = "attachment"
        stored = Attachment(
            filename=name,
            content=attachment.content,
            content_type=attachment.content_type,
            disposition=disposition,
            content_id=content_id,
            content_alternative=attachment.content_alternative,
        )
        article.attachments.append(stored)
        return stored

    def attachment_write(self, ticket: Ticket, article: Article, attachment: Attachment) -> None:
        """ArticleWriteAttachment (GI's CreateAttachment for the top-level attachments)."""
        self.maybe_fail(WriteStep.ATTACHMENT, ticket)
        self.store_attachment(article, attachment)

    def dynamic_field_set(
        self, ticket: Ticket, article: Article | None, field: DynamicFieldDef, value: Any, user_id: int
    ) -> None:
        """DynamicField backend ValueSet on the ticket or, for article fields, on the article;
        nothing is written (no history, no change time) when the value does not change."""
        self.maybe_fail(WriteStep.DYNAMIC_FIELD, ticket, name=field.name)
        if field.object_type == "Article":
            if article is not None:
                article.dynamic_fields[field.name] = value
            return
        old = ticket.dynamic_fields.get(field.name)
        if old is not None and old == value:
            return
        ticket.dynamic_fields[field.name] = value
        self._touch(ticket, user_id)
        old_text = "" if old is None else (",".join(old) if isinstance(old, list) else str(old))
        new_text = ",".join(value) if isinstance(value, list) else str(value)
        self.history_add(
            ticket,
            "TicketDynamicFieldUpdate",
            f"%%FieldName%%{field.name}%%Value%%{new_text}%%OldValue%%{old_text}",
            user_id,
        )

    def account_time(self, ticket: Ticket, article: Article, time_unit: float, user_id: int) -> None:
        """TicketAccountTime."""
        article.time_unit += time_unit
        total = sum(a.time_unit for a in ticket.articles)
        self.history_add(ticket, "TimeAccounting", f"%%{_num(time_unit)}%%{_num(total)}", user_id, article.article_id)


def _one_line(value: str) -> str:
    """ArticleCreate strips line breaks from From/To/Cc/Bcc/Subject."""
    return value.replace("\n", "").replace("\r", "")


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def sender_type_id(name: str) -> int | None:
    """Sender type id of a name."""
    for key, value in SENDER_TYPES.items():
        if value == name:
            return key
    return None


def article_type_id(name: str) -> int | None:
    """OTRS 5 article type id of a name."""
    return next((key for key, value in ARTICLE_TYPES.items() if value == name), None)


def article_type_channel(type_id: int) -> tuple[int, int]:
    """``(channel id, visible for customer)`` an OTRS 5 article type amounts to (the OTRS 6
    migration's mapping: e-mails Email, phone/fax/sms Phone, the rest Internal; ``*-int`` hidden)."""
    name = ARTICLE_TYPES.get(type_id, "")
    if name.startswith("email"):
        channel = 1
    elif name in ("phone", "fax", "sms"):
        channel = 2
    else:
        channel = 3
    return channel, 0 if "-int" in name else 1


def channel_id(name: str) -> int | None:
    """Channel id of a name."""
    for key, value in CHANNELS.items():
        if value == name:
            return key
    return None
