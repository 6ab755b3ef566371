"""What every operation shares: the request context, the error answer, ``Operation::Common::Auth``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from otrs_closure.testing._entities import Agent, CustomerUser
from otrs_closure.testing._operations._perl import truthy
from otrs_closure.testing._store import Store

Data = dict[str, Any]


@dataclass
class OpContext:
    """Per-request facts an operation may need besides its input hash."""

    operation: str
    remote_addr: str | None = None
    user_agent: str = ""
    include_ticket_data: bool = False


def error(op: str, kind: str, message: str) -> Data:
    return {"Error": {"ErrorCode": f"{op}.{kind}", "ErrorMessage": message}}


def authenticate(store: Store, data: Any, ctx: OpContext) -> Agent | CustomerUser | None:
    """``Operation::Common::Auth``: SessionID alone if given, else agent, else customer login."""
    if not isinstance(data, dict):
        return None
    if truthy(data.get("SessionID")):
        session = store.check_session(data["SessionID"], ctx.remote_addr)
        if session is None:
            return None
        if session.user_type == "User":
            return store.agent_by_login(session.login)
        return store.customers.get(session.login)
    if truthy(data.get("UserLogin")):
        return store.auth_agent(data["UserLogin"], data.get("Password"))
    if truthy(data.get("CustomerUserLogin")):
        return store.auth_customer(data["CustomerUserLogin"], data.get("Password"))
    return None
