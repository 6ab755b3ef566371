"""SessionCreate: a SessionID for an agent or customer login."""

from __future__ import annotations

from typing import Any

from otrs_closure.testing._operations._common import Data, OpContext, error
from otrs_closure.testing._operations._perl import hash_with_data, truthy
from otrs_closure.testing._store import Store


def session_create(store: Store, data: Any, ctx: OpContext) -> Data:
    """SessionCreate: ``{"SessionID": ...}``."""
    op = "SessionCreate"
    if not hash_with_data(data):
        return error(op, "MissingParameter", "SessionCreate: The request is empty!")
    if not truthy(data.get("Password")):
        return error(op, "MissingParameter", "SessionCreate: Password parameter is missing!")
    if truthy(data.get("UserLogin")):
        agent = store.auth_agent(data["UserLogin"], data["Password"])
        if agent is not None and not store.session_limit_reached("User", agent.login):
            session = store.create_session("User", agent.login, remote_addr=ctx.remote_addr, user_agent=ctx.user_agent)
            return {"SessionID": session.session_id}
    elif truthy(data.get("CustomerUserLogin")):
        customer = store.auth_customer(data["CustomerUserLogin"], data["Password"])
        if customer is not None and not store.session_limit_reached("Customer", customer.login):
            session = store.create_session(
                "Customer", customer.login, remote_addr=ctx.remote_addr, user_agent=ctx.user_agent
            )
            return {"SessionID": session.session_id}
    return error(op, "AuthFail", "SessionCreate: Authorization failing!")
