"""Request shaping: the one place that decides, for every GenericInterface request,
its method and URL, where the ids go (route placeholder, query or body), where the
session goes (header, query or body) and what the body is. ``plan()`` shows the same
:class:`Call` masked, so a plan is exactly what would be sent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

from otrs_closure._files import PreparedFile
from otrs_closure._http.body import StreamingJSONBody
from otrs_closure.note import MASK
from otrs_closure.results import PlannedRequest
from otrs_closure.servers import SESSION_HEADER, Route

__all__ = ["Call", "SessionCarrier", "shape", "SECRET_KEYS"]

#: Parameter names whose values are never shown (plans, logs, errors).
SECRET_KEYS = ("SessionID", "Password")
_PLACEHOLDER = re.compile(r":(\w+)")


@dataclass(frozen=True)
class SessionCarrier:
    """A session id and where it travels: ``header`` (X-OTRS-Header-SessionID, never in a
    URL), or ``param`` (the query of a GET, the JSON body of anything else)."""

    session_id: str = field(repr=False)
    where: Literal["header", "param"] = "param"


@dataclass(frozen=True)
class Call:
    """One GenericInterface request, shaped: everything the wire needs to send it."""

    operation: str
    method: str
    url: str
    query: Mapping[str, Any] = field(default_factory=dict, repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    document: Mapping[str, Any] | None = field(default=None, repr=False)
    files: tuple[PreparedFile, ...] = ()
    ticket: str | int | None = None
    #: Attachment contents were not asked for: any the server sends anyway are dropped as
    #: the answer arrives (OTRS 5 ignores ``GetAttachmentContents=0``).
    drop_contents: bool = False

    def body(self) -> bytes | StreamingJSONBody | None:
        """The request body: JSON bytes, a streamed body when files ride along, or None."""
        if self.document is None:
            return None
        if self.files:
            return StreamingJSONBody(dict(self.document), self.files)
        return json.dumps(self.document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def body_length(self) -> int:
        """The exact byte length of :meth:`body` (0 without one)."""
        body = self.body()
        return 0 if body is None else len(body)

    def planned(self) -> PlannedRequest:
        """This request as a plan shows it: secrets masked, file contents described."""
        headers = {k: MASK for k in self.headers if k == SESSION_HEADER}
        return PlannedRequest(
            operation=self.operation,
            method=self.method,
            url=self.url,
            query=_masked(self.query, self.files) if self.query else None,
            body=_masked(self.document, self.files) if self.document is not None else None,
            headers=headers or None,
        )


def _masked(values: Mapping[str, Any], files: Sequence[PreparedFile]) -> dict[str, Any]:
    out: dict[str, Any] = {k: (MASK if k in SECRET_KEYS else v) for k, v in values.items()}
    if isinstance(out.get("Attachment"), list):
        placeholders = {StreamingJSONBody.placeholder(i): f for i, f in enumerate(files)}
        out["Attachment"] = [
            {**a, "Content": placeholders[a["Content"]].describe()}
            if isinstance(a, Mapping) and a.get("Content") in placeholders
            else a
            for a in out["Attachment"]
        ]
    return out


def shape(
    operation: str,
    route: Route,
    service_url: str,
    params: Mapping[str, Any],
    *,
    session: SessionCarrier | None = None,
    files: Sequence[PreparedFile] = (),
    ticket: str | int | None = None,
    user_agent: str = "otrs-closure",
) -> Call:
    """Shape one request. A ``:Name`` in the route takes ``params[Name]`` (URL-quoted) and
    removes it from the parameters; a GET carries the rest in its query, any other method
    in a JSON body; the session goes where ``session`` says (in the query of a GET only
    when the server cannot read it from the header)."""
    remaining = dict(params)
    path = route.path
    for name in _PLACEHOLDER.findall(route.path):
        if name in remaining:
            path = path.replace(f":{name}", quote(str(remaining.pop(name)), safe=",:"))
    headers = {"User-Agent": user_agent}
    if session is not None:
        if session.where == "header":
            headers[SESSION_HEADER] = session.session_id
        else:
            remaining = {"SessionID": session.session_id, **remaining}
    if route.method == "GET":
        drop = str(remaining.get("GetAttachmentContents", "")) == "0"
        return Call(
            operation, route.method, service_url + path, query=remaining, headers=headers, ticket=ticket,
            drop_contents=drop,
        )  # fmt: skip
    headers["Content-Type"] = "application/json; charset=utf-8"
    return Call(
        operation,
        route.method,
        service_url + path,
        headers=headers,
        document=remaining,
        files=tuple(files),
        ticket=ticket,
    )
