"""SessionGet: the data Znuny keeps for a session."""

from __future__ import annotations

from typing import Any

from otrs_closure.testing._operations._common import Data, OpContext, error
from otrs_closure.testing._operations._perl import hash_with_data, truthy
from otrs_closure.testing._operations._render import render_session_data
from otrs_closure.testing._store import Store


def session_get(store: Store, data: Any, ctx: OpContext) -> Data:
    """SessionGet: the session's data as sorted Key/Value pairs."""
    op = "SessionGet"
    if not hash_with_data(data):
        return error(op, "MissingParameter", "SessionGet: The request is empty!")
    if not truthy(data.get("SessionID")):
        return error(op, "MissingParameter", "SessionGet: SessionID is missing!")
    session = store.check_session(data["SessionID"], ctx.remote_addr)
    if session is None:
        return error(op, "SessionInvalid", "SessionGet: SessionID is Invalid!")
    return {"SessionData": render_session_data(store, session)}
