"""The floor: the fewest requests that close a ticket, with no checks — what no client
can beat on the same server.

One GenericInterface session (created once), one kept-alive ``requests.Session`` per
thread, and per closure:

* by ticket number: TicketSearch ``{TicketNumber}`` → TicketID, then
* TicketUpdate with State + the closure note + both format files (base64, at top level),
* TicketUpdate with Owner + the "Se modifica propietario" note;

by ticket id the two updates only. The update bodies are the library's own, byte for byte
(taken once from ``ClosureClient.plan(offline=True)``: the same note text, fields,
ContentType and attachment entries), so that the floor and the library differ only in
the requests the library adds (its read before and its verifying read) and in their
client-side work. The floor reads and base64-encodes the files on every closure (that is
part of the job) and parses each answer only to raise on an ``Error`` (so that a failed
closure is never timed as a fast one); it reads nothing back.

One thing it does that a script would not: a request whose kept-alive connection the
server closed without an answer is resent at once on a new connection (what browsers do
for a reused connection that fails before the first byte of the answer). Znuny's
GenericInterface answers ``Connection: Keep-Alive`` from an NPH script, so Apache cannot
add ``Connection: close`` to the last answer it allows on a connection
(``MaxKeepAliveRequests``, 100 by default) and then closes it: the next request on that
connection, if sent before the close arrives, meets a closed socket (``resends`` counts them).
"""

from __future__ import annotations

import base64
import http.client
import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests

__all__ = ["Floor", "FloorError", "documents_from_plan", "closed_without_answer"]


class FloorError(RuntimeError):
    pass


def documents_from_plan(plan: Any, files: Mapping[str, Path]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The two TicketUpdate bodies of an offline plan, without SessionID, with each
    attachment's ``Content`` replaced by the path of its file (encoded per closure)."""
    updates = [r.body for r in plan.requests if r.operation == "TicketUpdate" and r.body is not None]
    updates = [dict(b) for b in updates if "Body" in b.get("Article", {})]  # not the preflight
    if len(updates) != 2:
        raise FloorError(f"expected the note and the owner update in the plan, found {len(updates)}")
    note, owner = updates
    for doc in (note, owner):
        doc.pop("SessionID", None)
    note["Attachment"] = [{**a, "Content": files[a["Filename"]]} for a in note.get("Attachment", [])]
    return note, owner


class Floor:
    """The floor client. Thread-safe: one ``requests.Session`` per thread, one GI session."""

    def __init__(self, service_url: str, username: str, password: str, search: tuple[str, str],
                 note: dict[str, Any], owner: dict[str, Any], user_agent: str = "otrs-closure-bench-floor",
                 session_id: str | None = None) -> None:
        self.url = service_url
        self.search_method, self.search_route = search
        self.note, self.owner = note, owner
        self.headers = {"User-Agent": user_agent}
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()
        self.resends = 0
        self.session_id = session_id or self._session_create(username, password)

    # -- plumbing ---------------------------------------------------------------------------
    @property
    def http(self) -> requests.Session:
        s = getattr(self._local, "http", None)
        if s is None:
            s = self._local.http = requests.Session()
            with self._lock:
                self._sessions.append(s)
        return s

    def close_connections(self) -> None:
        with self._lock:
            for s in self._sessions:
                s.close()
            self._sessions.clear()
        self._local = threading.local()

    def _answer(self, r: requests.Response, what: str) -> dict[str, Any]:
        if r.status_code != 200:
            raise FloorError(f"{what}: HTTP {r.status_code}")
        data: dict[str, Any] = r.json()
        if "Error" in data:
            raise FloorError(f"{what}: {data['Error']}")
        return data

    def _send(self, method: str, url: str, **kw: Any) -> requests.Response:
        try:
            return self.http.request(method, url, timeout=300, **kw)
        except requests.ConnectionError as exc:
            if not closed_without_answer(exc):
                raise
            with self._lock:
                self.resends += 1
            return self.http.request(method, url, timeout=300, **kw)

    def _json(self, method: str, route: str, document: Mapping[str, Any], what: str) -> dict[str, Any]:
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {**self.headers, "Content-Type": "application/json; charset=utf-8"}
        return self._answer(self._send(method, self.url + route, data=body, headers=headers), what)

    def _session_create(self, username: str, password: str) -> str:
        sid = self._json("POST", "/Session", {"UserLogin": username, "Password": password}, "SessionCreate")
        return str(sid["SessionID"])

    # -- the closure ------------------------------------------------------------------------------
    def resolve(self, number: str) -> int:
        if self.search_method == "GET":
            r = self._send("GET", self.url + self.search_route,
                           params={"SessionID": self.session_id, "TicketNumber": number}, headers=self.headers)
            data = self._answer(r, "TicketSearch")
        else:
            data = self._json("POST", self.search_route, {"SessionID": self.session_id, "TicketNumber": number},
                              "TicketSearch")
        ids = data.get("TicketID") or []
        if len(ids) != 1:
            raise FloorError(f"TicketSearch {number}: {ids!r}")
        return int(ids[0])

    def close(self, ticket_number: str | None = None, ticket_id: int | None = None) -> int:
        tid = ticket_id if ticket_id is not None else self.resolve(str(ticket_number))
        note = dict(self.note)
        if "Attachment" in note:
            note["Attachment"] = [{**a, "Content": base64.b64encode(Path(a["Content"]).read_bytes()).decode("ascii")}
                                  for a in note["Attachment"]]
        route = f"/Ticket/{tid}"
        self._json("PATCH", route, {"SessionID": self.session_id, **note}, "TicketUpdate (note)")
        self._json("PATCH", route, {"SessionID": self.session_id, **self.owner}, "TicketUpdate (owner)")
        return tid


def closed_without_answer(exc: BaseException) -> bool:
    """The connection was closed before any byte of the answer (the keep-alive race)."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)):
            return True
        args = [a for a in getattr(seen, "args", ()) if isinstance(a, BaseException)]
        seen = args[-1] if args else (seen.__cause__ or seen.__context__)
    return False
