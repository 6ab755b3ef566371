"""SessionRemove (route ``SessionDelete`` on Znuny 7): ends a session."""

from __future__ import annotations

from typing import Any

from otrs_closure.testing._operations._common import Data, OpContext, error
from otrs_closure.testing._operations._perl import hash_with_data, text_of, truthy
from otrs_closure.testing._store import Store


def session_remove(store: Store, data: Any, ctx: OpContext) -> Data:
    """SessionRemove: deletes the session (Znuny answers success even for unknown ids)."""
    if not hash_with_data(data):
        return error("SessionCreate", "MissingParameter", "SessionCreate: The request is empty!")
    if not truthy(data.get("SessionID")):
        return error("SessionRemove", "MissingParameter", "SessionRemove: SessionID parameter is missing!")
    session = store.sessions.get(text_of(data["SessionID"]))
    if session is not None:
        session.removed = True
    return {"Success": 1}
