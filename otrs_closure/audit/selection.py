"""Which tickets an audit reads: a TicketSearch by queue(s), state(s) (default: the
attended state) and a time window, or an explicit list of numbers or ids — checked
before any request, and turned into the search criteria every generation understands.

The window is on the ticket's **last change** (``changed``: TicketSearch's
``TicketLastChangeTime*``, what TicketGet shows as ``Changed``) or on its **close time**
(``closed``: ``TicketCloseTime*``, for states of the *closed* type — Atendido is an *open*
state). Times are the server's wall clock: a naive datetime is taken as server time, an
aware one is converted to ``server_timezone``; a date alone means its whole day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from typing import Any, Literal

from otrs_closure.errors import InputError
from otrs_closure.models import check_ticket_ref

__all__ = ["AuditSelection", "Window", "MAX_LIMIT", "NUMBERS_PER_SEARCH"]

Window = Literal["changed", "closed"]
_WINDOW_PREFIX: dict[str, str] = {"changed": "TicketLastChangeTime", "closed": "TicketCloseTime"}
_SERVER_TIME = "%Y-%m-%d %H:%M:%S"
#: The most tickets one audit reads.
MAX_LIMIT = 100_000
#: Ticket numbers resolved per TicketSearch (an array of numbers is one search).
NUMBERS_PER_SEARCH = 50


def _names(value: str | Iterable[str] | None, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else list(value)
    out: list[str] = []
    for item in items:
        if not isinstance(item, str) or not item.strip() or "\x00" in item or len(item) > 200:
            raise InputError(field, "each must be a non-blank name (at most 200 characters, no NUL)")
        if item.strip() not in out:
            out.append(item.strip())
    return tuple(out)


def _when(value: object, field: str, tz: tzinfo, *, end_of_day: bool) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(tz) if value.tzinfo is not None else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime.combine(value, time(23, 59, 59) if end_of_day else time(0, 0, 0), tzinfo=tz)
    raise InputError(field, "must be a datetime or a date")


@dataclass(frozen=True)
class AuditSelection:
    """The tickets to audit, checked. Build it with :meth:`build`."""

    queues: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    window: Window = "changed"
    ticket_numbers: tuple[str, ...] = ()
    ticket_ids: tuple[int, ...] = ()
    limit: int = 10_000

    @property
    def explicit(self) -> bool:
        """Whether the tickets are listed (numbers or ids) rather than searched."""
        return bool(self.ticket_numbers or self.ticket_ids)

    @classmethod
    def build(
        cls,
        *,
        attended_state: str,
        timezone: tzinfo,
        queue: str | Iterable[str] | None = None,
        state: str | Iterable[str] | None = None,
        since: datetime | date | None = None,
        until: datetime | date | None = None,
        window: str = "changed",
        ticket_numbers: Iterable[str] | None = None,
        ticket_ids: Iterable[int] | None = None,
        limit: int = 10_000,
    ) -> AuditSelection:
        """Check a selection; :class:`InputError` names what is wrong (before any request)."""
        if isinstance(ticket_numbers, str) or isinstance(ticket_ids, (str, int)):
            raise InputError("ticket_numbers", "ticket_numbers and ticket_ids are lists")
        numbers: list[str] = []
        for n in ticket_numbers or ():
            check_ticket_ref(n, None)
            if n.strip() not in numbers:
                numbers.append(n.strip())
        ids: list[int] = []
        for i in ticket_ids or ():
            check_ticket_ref(None, i)
            if i not in ids:
                ids.append(i)
        queues = _names(queue, "queue")
        states = _names(state, "state")
        if window not in _WINDOW_PREFIX:
            raise InputError("window", f"must be one of {', '.join(_WINDOW_PREFIX)}")
        start = _when(since, "since", timezone, end_of_day=False)
        end = _when(until, "until", timezone, end_of_day=True)
        if start is not None and end is not None and start > end:
            raise InputError("until", "is before since")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise InputError("limit", f"must be an integer from 1 to {MAX_LIMIT}")
        if (numbers or ids) and (queues or states or start or end):
            raise InputError("selection", "give either ticket_numbers/ticket_ids, or queue/state/since/until to search")
        if (numbers or ids) and len(numbers) + len(ids) > limit:
            raise InputError("limit", f"{len(numbers) + len(ids)} tickets listed, over the limit of {limit}")
        return cls(
            queues=queues,
            states=states or (() if numbers or ids else (attended_state,)),
            since=start,
            until=end,
            window=window,  # type: ignore[arg-type]
            ticket_numbers=tuple(numbers),
            ticket_ids=tuple(ids),
            limit=limit,
        )

    def criteria(self) -> dict[str, Any]:
        """The TicketSearch of a searched selection. One more ticket than the limit is
        asked for, to tell a selection that was cut."""
        found: dict[str, Any] = {}
        if self.queues:
            found["Queues"] = list(self.queues)
        if self.states:
            found["States"] = list(self.states)
        prefix = _WINDOW_PREFIX[self.window]
        if self.since is not None:
            found[prefix + "NewerDate"] = self.since.strftime(_SERVER_TIME)
        if self.until is not None:
            found[prefix + "OlderDate"] = self.until.strftime(_SERVER_TIME)
        found.update({"SortBy": "Age", "OrderBy": "Up", "Limit": self.limit + 1})
        return found

    def number_searches(self) -> list[dict[str, Any]]:
        """The TicketSearches that resolve the listed numbers (an array of numbers each)."""
        n = NUMBERS_PER_SEARCH
        chunks = [self.ticket_numbers[i : i + n] for i in range(0, len(self.ticket_numbers), n)]
        return [{"TicketNumber": list(c), "Limit": len(c) + 1} for c in chunks]

    def to_dict(self) -> dict[str, Any]:
        return {
            "queues": list(self.queues),
            "states": list(self.states),
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "window": self.window,
            "ticket_numbers": list(self.ticket_numbers),
            "ticket_ids": list(self.ticket_ids),
            "limit": self.limit,
        }
