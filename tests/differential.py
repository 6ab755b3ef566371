"""The differential corpus: GenericInterface requests sent to a real system and to FakeZnuny.

:data:`CORPUS` is an ordered list of :class:`Step` s -- every operation, parameter and error
the library or a user's test would send: sessions, TicketCreate, TicketGet with each flag,
TicketSearch on both routes, TicketUpdate of every shape, TicketHistoryGet, transport
errors, header sessions and permissions. A step builds its request from a :class:`Target`
(the web service URL, the sessions and tickets *that* side made, the profile's article
fields and routes), so the same step means the same thing on both sides.

:func:`normalise` turns an answer into what can be compared: ids and ticket numbers this run
made become names (``T:native``, ``A:3``), times, ages and session ids become ``<volatile>``
(their JSON type kept), search results are restricted to this run's tickets and sorted where
the server promises no order. :func:`differences` compares two normalised answers field by
field.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests
from replay import json_kind

USER_AGENT = "otrs-closure-differential"

#: Keys whose values depend on when (or from where) the request ran: compared by JSON type.
VOLATILE = frozenset(
    {
        "Age",
        "AgeTimeUnix",
        "Changed",
        "ChangeTime",
        "Closed",
        "Created",
        "CreateTime",
        "CreateTimeUnix",
        "FirstLock",
        "FirstResponse",
        "IncomingTime",
        "RealTillTimeNotUsed",
        "SessionID",
        "SolutionInMin",
        "SolutionTime",
        "UnlockTimeout",
        "UntilTime",
    }
)
#: SessionGet keys whose values depend on when the session was made.
VOLATILE_SESSION = frozenset(
    {
        "ChangeTime",
        "CreateTime",
        "UserLastLogin",
        "UserLastLoginTimestamp",
        "UserLastPwChangeTime",
        "UserLastRequest",
        "UserSessionStart",
    }
)

PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
)
DOCX = b"PK\x03\x04" + bytes(range(256)) * 3  # the zip magic and some bytes: a stand-in
TXT = "Acta de atención: ñandú.\n".encode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# --------------------------------------------------------------------------- target
@dataclass
class Target:
    """One side of the comparison: a web service URL and what this run made there."""

    name: str
    url: str
    profile: Any  # otrs_closure.testing.Profile
    passwords: Mapping[str, str]
    marker: str
    http: requests.Session = field(default_factory=requests.Session)
    sessions: dict[str, str] = field(default_factory=dict)
    tickets: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (TicketID, TicketNumber)
    articles: dict[int, str] = field(default_factory=dict)  # ArticleID -> "A:n"
    log: list[Answer] = field(default_factory=list)
    #: Seconds to wait for a free session where the server limits them (see :meth:`sid`).
    session_wait: float = 0.0

    def __post_init__(self) -> None:
        self.http.headers["User-Agent"] = USER_AGENT

    # ------------------------------------------------------------------ helpers
    def sid(self, user: str = "tecnico1") -> str:
        """A session of a seeded user (made once, through SessionCreate). Where the server limits
        sessions per agent (OTRS 5: 20 in 10 minutes), other clients of a shared lab may have
        used them up: wait for a free one, up to ``session_wait`` seconds."""
        if user not in self.sessions:
            key = "CustomerUserLogin" if user == "cliente.demo" else "UserLogin"
            deadline = time.monotonic() + (self.session_wait if self.profile.session_limits else 0)
            while True:
                answer = self.http.post(
                    self.url + "/Session", json={key: user, "Password": self.passwords[user]}, timeout=60
                )
                try:
                    self.sessions[user] = answer.json()["SessionID"]
                    break
                except (ValueError, KeyError):
                    if time.monotonic() > deadline:
                        raise AssertionError(
                            f"{self.name}: SessionCreate as {user} failed: {answer.text[:300]!r}"
                        ) from None
                    time.sleep(15)
        return self.sessions[user]

    def tid(self, name: str) -> str:
        """TicketID of a ticket this run made (a nonexistent id if that TicketCreate was refused:
        both sides then get the same answer for the steps that use it)."""
        return self.tickets.get(name, ("999998", ""))[0]

    def number(self, name: str) -> str:
        return self.tickets.get(name, ("", "0000000000000098"))[1]

    def route(self, operation_type: str, **values: str) -> str | None:
        """The path of the profile's first operation of a type, placeholders filled in."""
        for route in self.profile.routes:
            if route.type == operation_type and (route.name != "TicketGetList"):
                path: str = route.route
                for key, value in values.items():
                    path = path.replace(f":{key}", quote(value, safe=","))
                return path
        return None

    @property
    def search_get(self) -> bool:
        """Whether the profile's TicketSearch is GET /Ticket (OTRS 5/6, OTOBO) or POST /Ticket/Search."""
        return any(r.type == "Ticket::TicketSearch" and r.method == "GET" for r in self.profile.routes)

    def note(
        self, subject: str, body: str = "Nota de prueba.", *, internal: bool = True, other: bool = False
    ) -> dict[str, Any]:
        """An agent note in the fields the profile's generation reads (``other``: the other
        generation's fields, which the server ignores)."""
        article: dict[str, Any] = {
            "Subject": subject,
            "Body": body,
            "ContentType": "text/plain; charset=utf8",
            "SenderType": "agent",
        }
        article_type = (self.profile.article_fields == "ArticleType") != other
        if article_type:
            article["ArticleType"] = "note-internal" if internal else "note-external"
        else:
            article.update({"CommunicationChannel": "Internal", "IsVisibleForCustomer": 0 if internal else 1})
        return article

    def title(self, label: str) -> str:
        return f"Diferencial {self.marker} {label}"

    def new_ticket(self, label: str, **ticket: Any) -> dict[str, Any]:
        """A TicketCreate body for this run (queue Mesa de Servicio, customer cliente.demo)."""
        return {
            "SessionID": self.sid(),
            "Ticket": {
                "Title": self.title(label),
                "Queue": "Mesa de Servicio",
                "State": "new",
                "Priority": "3 normal",
                "CustomerUser": "cliente.demo",
                **ticket,
            },
            "Article": self.note(self.title(label), "Ticket de prueba del diferencial.\nSegunda línea: áéíóú ñ."),
        }


@dataclass
class Request:
    method: str
    path: str  # relative to the web service URL (may carry a query string)
    query: Any = None
    json_body: Any = None
    raw: bytes | None = None
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    #: Another web service name on the same server (for the unknown-web-service case).
    webservice: str | None = None


@dataclass
class Answer:
    step: str
    status: int
    content_type: str
    connection: str
    body: Any


@dataclass
class Step:
    """One request of the corpus; ``register`` names the ticket a TicketCreate makes; ``order``:
    the server promises the order of a TicketSearch result (else it is sorted)."""

    name: str
    build: Callable[[Target], Request]
    register: str | None = None
    order: bool = False
    #: Leave the step out for a target (e.g. where it would harm the shared lab).
    skip: Callable[[Target], bool] | None = None


def send(target: Target, step: Step) -> Answer:
    """Send a step's request; register what it created; the raw answer (not yet normalised)."""
    request = step.build(target)
    headers = dict(request.headers)
    data: bytes | None = None
    if request.json_body is not None:
        data = json.dumps(request.json_body, ensure_ascii=False).encode("utf-8")
        headers.setdefault("Content-Type", "application/json; charset=utf-8")
    elif request.raw is not None:
        data = request.raw
    if request.content_type is not None:
        headers["Content-Type"] = request.content_type
    base = target.url if request.webservice is None else target.url.rsplit("/", 1)[0] + "/" + request.webservice
    response = None
    for _ in range(2):  # a kept-alive connection the server dropped meanwhile: once more, afresh
        try:
            response = target.http.request(
                request.method, base + request.path, params=request.query, data=data, headers=headers, timeout=120
            )
            break
        except requests.ConnectionError:
            target.http.close()
    if response is None:  # the server closed the connection without an answer (twice)
        answer = Answer(step.name, 0, "", "", "<closed without an answer>")
        target.log.append(answer)
        return answer
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    answer = Answer(
        step.name,
        response.status_code,
        response.headers.get("Content-Type", ""),
        response.headers.get("Connection", ""),
        body,
    )
    created = request.method == "POST" and request.path == "/Ticket"
    if created and isinstance(body, dict) and "TicketID" in body and "TicketNumber" in body:
        target.tickets[step.register or step.name] = (str(body["TicketID"]), str(body["TicketNumber"]))
    if isinstance(body, dict) and "Error" not in body:
        ids = body.get("ArticleIDs") or body.get("ArticleID") or []
        for article_id in ids if isinstance(ids, list) else [ids]:
            if str(article_id).isdigit():
                target.articles.setdefault(int(article_id), f"A:{len(target.articles) + 1}")
    target.log.append(answer)
    return answer


# ------------------------------------------------------------------ normalisation
def normalise(target: Target, step: Step, answer: Answer) -> dict[str, Any]:
    """What is compared: status, the two headers, and the body with this run's ids named,
    volatile values typed only, foreign tickets dropped from searches."""
    ids = {tid: name for name, (tid, _) in target.tickets.items()}
    numbers = {number: name for name, (_, number) in target.tickets.items()}

    def ticket_ref(value: Any) -> Any:
        key = str(value)
        if key in ids:
            return f"T:{ids[key]}" + ("" if isinstance(value, str) else "#")
        return value

    def walk(value: Any, key: str | None = None) -> Any:
        if isinstance(value, dict):
            if set(value) == {"Key", "Value"} and value.get("Key") in VOLATILE_SESSION:
                return {"Key": value["Key"], "Value": _typed(value["Value"])}
            return {k: walk(v, k) for k, v in value.items()}
        if isinstance(value, list):
            items = [walk(v, key) for v in value]
            if key == "History":
                # "Reset of unlock time." rows depend on the clock second; the notification rows
                # are written when the server's event handler flushes, which varies between runs
                # (seen on the lab's Znuny 6.5.10): compared as a sorted list after the others
                items = [i for i in items if not (isinstance(i, dict) and i.get("HistoryType") == "Misc")]
                sent = [i for i in items if isinstance(i, dict) and i.get("HistoryType") == "SendAgentNotification"]
                items = [i for i in items if i not in sent] + sorted(sent, key=lambda i: json.dumps(i, sort_keys=True))
            return items
        if key in VOLATILE or (key == "ArticleNumber" and target.profile.article_numbers != "created"):
            # (OTOBO numbers one second's articles newest first: which articles share a second
            # depends on timing; tests/test_fake_replay_dialects.py checks the numbering exactly)
            return _typed(value)
        if key == "TicketID":
            return ticket_ref(value)
        if key == "TicketNumber" and str(value) in numbers:
            return f"N:{numbers[str(value)]}"
        if key in ("ArticleID", "ArticleIDs") and str(value).isdigit() and int(value) in target.articles:
            return target.articles[int(value)] + ("" if isinstance(value, str) else "#")
        if isinstance(value, str):
            for number, name in numbers.items():
                value = value.replace(number, f"N:{name}")
            # a TicketID at the end of a NewTicket history name, or in a route error's URI
            value = re.sub(
                r"^(%%N:[^%]*%%[^%]*%%[^%]*%%[^%]*%%)(\d+)$", lambda m: m.group(1) + _named(m.group(2)), value
            )
            value = re.sub(r"(URI '[^']*/)(\d+)(?=[/,']|$)", lambda m: m.group(1) + _named(m.group(2)), value)
            return re.sub(r"/Session/[A-Za-z0-9]{32}", "/Session/<session>", value)
        return value

    def _named(digits: str) -> str:
        return f"T:{ids[digits]}" if digits in ids else digits

    body = answer.body
    if isinstance(body, dict) and isinstance(body.get("TicketID"), list):  # a TicketSearch result
        mine = [t for t in body["TicketID"] if str(t) in ids]
        named = [ticket_ref(t) for t in mine]
        body = {**body, "TicketID": named if step.order else sorted(named)}
        if not mine:
            body = {}
    elif isinstance(body, dict):
        body = walk(body)
    elif isinstance(body, str):
        body = walk(body)
    return {
        "status": answer.status,
        "Content-Type": answer.content_type,
        "Connection": answer.connection,
        "body": body,
    }


def _typed(value: Any) -> str:
    return f"<volatile {json_kind(value)}>"


def differences(real: Any, fake: Any, path: str = "$") -> list[tuple[str, str]]:
    """``(path, what)`` for every field that differs between the real and the fake answer."""
    if type(real) is not type(fake) and not (isinstance(real, (int, float)) and isinstance(fake, (int, float))):
        return [(path, f"real {real!r:.200}, fake {fake!r:.200}")]
    if isinstance(real, dict):
        found: list[tuple[str, str]] = []
        for key in sorted(set(real) | set(fake)):
            where = f"{path}.{key}"
            if key not in fake:
                found.append((where, f"missing in the fake (real {real[key]!r:.120})"))
            elif key not in real:
                found.append((where, f"only in the fake ({fake[key]!r:.120})"))
            else:
                found.extend(differences(real[key], fake[key], where))
        return found
    if isinstance(real, list):
        found = []
        if len(real) != len(fake):
            found.append((f"{path}[]", f"{len(real)} items real, {len(fake)} fake"))
        for i, (a, b) in enumerate(zip(real, fake, strict=False)):
            found.extend(differences(a, b, f"{path}[{i}]"))
        return found
    if real != fake:
        return [(path, f"real {real!r:.200}, fake {fake!r:.200}")]
    return []


# ------------------------------------------------------------------------ corpus
def _post(path: str, body: Callable[[Target], Any]) -> Callable[[Target], Request]:
    return lambda t: Request("POST", path, json_body=body(t))


def _get(path: Callable[[Target], str], query: Callable[[Target], Any] | None = None) -> Callable[[Target], Request]:
    return lambda t: Request("GET", path(t), query=query(t) if query else None)


def _patch(ticket: str, body: Callable[[Target], Any]) -> Callable[[Target], Request]:
    return lambda t: Request("PATCH", f"/Ticket/{t.tid(ticket)}", json_body=body(t))


def _ticket_get(ticket: str, user: str = "tecnico1", **flags: Any) -> Callable[[Target], Request]:
    return lambda t: Request("GET", f"/Ticket/{t.tid(ticket)}", query={"SessionID": t.sid(user), **flags})


def _all(ticket: str, **flags: Any) -> Callable[[Target], Request]:
    return _ticket_get(ticket, AllArticles=1, Attachments=1, DynamicFields=1, **flags)


def _update(ticket: str, user: str = "tecnico1", **parts: Callable[[Target], Any]) -> Callable[[Target], Request]:
    return _patch(ticket, lambda t: {"SessionID": t.sid(user), **{k: v(t) for k, v in parts.items()}})


def _search(
    criteria: Callable[[Target], dict[str, Any]], user: str = "tecnico1", route: str = "native"
) -> Callable[[Target], Request]:
    """A TicketSearch on the profile's route (``native``), or on the other generation's."""

    def build(t: Target) -> Request:
        query = {"SessionID": t.sid(user), **criteria(t)}
        use_get = t.search_get if route == "native" else not t.search_get
        if use_get:
            return Request("GET", "/Ticket", query=query)
        return Request("POST", "/Ticket/Search", json_body=query)

    return build


def _mine(t: Target) -> dict[str, Any]:
    return {"Title": f"*{t.marker}*"}


def _history(ticket: str | None, user: str = "tecnico1", ticket_id: str | None = None) -> Callable[[Target], Request]:
    def build(t: Target) -> Request:
        tid = ticket_id or t.tid(ticket or "")
        path = t.route("Ticket::TicketHistoryGet", TicketID=tid) or f"/Ticket/History/{tid}"
        return Request("GET", path, query={"SessionID": t.sid(user)})

    return build


def _attachment(name: str, data: bytes, content_type: str) -> dict[str, str]:
    return {"Filename": name, "ContentType": content_type, "Content": b64(data)}


def _note_with(t: Target, subject: str, **extra: Any) -> dict[str, Any]:
    return {**t.note(subject), **extra}


def _without(article: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in article.items() if k not in keys}


CONTENT_TYPES = (
    ("ct_plain", "text/plain"),
    ("ct_utf8", "text/plain; charset=utf8"),
    ("ct_utf_8", "text/plain; charset=utf-8"),
    ("ct_UTF_8", "text/plain; charset=UTF-8"),
    ("ct_nospace", "text/plain;charset=utf8"),
    ("ct_quoted", 'text/plain; charset="utf-8"'),
    ("ct_latin1", "text/plain; charset=iso-8859-1"),
    ("ct_spaces", "text/plain; charset = utf8"),
    ("ct_unknown", "text/plain; charset=klingon"),
    ("ct_html", "text/html; charset=utf8"),
    ("ct_nomime", "charset=utf8"),
)


def _corpus() -> list[Step]:
    steps: list[Step] = []
    add = steps.append

    # -------------------------------------------------------------- sessions
    for user in ("tecnico1", "agente.mesa", "lector", "root@localhost"):
        add(
            Step(
                f"session_create_{user}",
                _post("/Session", lambda t, u=user: {"UserLogin": u, "Password": t.passwords[u]}),
            )
        )
    add(
        Step(
            "session_create_customer",
            _post("/Session", lambda t: {"CustomerUserLogin": "cliente.demo", "Password": t.passwords["cliente.demo"]}),
        )
    )
    add(
        Step(
            "session_create_wrong_password",
            _post("/Session", lambda t: {"UserLogin": "tecnico1", "Password": "mala-clave"}),
        )
    )
    add(Step("session_create_unknown_user", _post("/Session", lambda t: {"UserLogin": "nadie", "Password": "x"})))
    add(
        Step(
            "session_create_customer_wrong_password",
            _post("/Session", lambda t: {"CustomerUserLogin": "cliente.demo", "Password": "x"}),
        )
    )
    add(Step("session_create_no_password", _post("/Session", lambda t: {"UserLogin": "tecnico1"})))
    add(Step("session_create_empty_object", _post("/Session", lambda t: {"Nada": ""})))
    add(
        Step(
            "session_create_over_get",
            lambda t: Request("GET", "/Session", query={"UserLogin": "tecnico1", "Password": t.passwords["tecnico1"]}),
        )
    )
    add(Step("session_get", _get(lambda t: f"/Session/{t.sid()}")))
    add(Step("session_get_customer", _get(lambda t: f"/Session/{t.sid('cliente.demo')}")))
    add(Step("session_get_invalid", _get(lambda t: "/Session/NoEsUnaSesionValida0123456789abcd")))

    def throwaway(t: Target) -> str:
        if "throwaway" not in t.sessions:
            answer = t.http.post(
                t.url + "/Session",
                json={"UserLogin": "agente.mesa", "Password": t.passwords["agente.mesa"]},
                timeout=60,
            )
            t.sessions["throwaway"] = answer.json()["SessionID"]
        return t.sessions["throwaway"]

    add(
        Step(
            "session_remove",
            lambda t: Request(
                "DELETE",
                f"/Session/{throwaway(t)}",
                json_body={"UserLogin": "agente.mesa", "Password": t.passwords["agente.mesa"]},
            ),
        )
    )
    add(
        Step(
            "session_removed_then_used",
            lambda t: Request(
                "GET", f"/Ticket/{t.tid('native') if 'native' in t.tickets else 1}", query={"SessionID": throwaway(t)}
            ),
        )
    )

    # ---------------------------------------------------------- TicketCreate
    add(Step("create_native", _post("/Ticket", lambda t: t.new_ticket("native", Owner="tecnico1")), register="native"))
    add(
        Step(
            "create_other_fields",
            _post(
                "/Ticket",
                lambda t: {**t.new_ticket("other", Owner="tecnico1"), "Article": t.note(t.title("other"), other=True)},
            ),
            register="other",
        )
    )
    add(Step("create_no_owner", _post("/Ticket", lambda t: t.new_ticket("plain")), register="plain"))
    add(
        Step(
            "create_with_dynamic_field",
            _post(
                "/Ticket",
                lambda t: {
                    **t.new_ticket("df", Owner="tecnico1"),
                    "DynamicField": {"Name": "NumeroSerie", "Value": "SN-001"},
                },
            ),
            register="df",
        )
    )
    add(
        Step(
            "create_with_attachments",
            _post(
                "/Ticket",
                lambda t: {
                    **t.new_ticket("attach", Owner="tecnico1"),
                    "Attachment": [
                        _attachment("informe.pdf", PDF, "application/pdf"),
                        _attachment("acta.txt", TXT, "text/plain; charset=utf8"),
                    ],
                },
            ),
            register="attach",
        )
    )
    add(
        Step(
            "create_inline_attachment",
            _post(
                "/Ticket",
                lambda t: {
                    **t.new_ticket("inline", Owner="tecnico1"),
                    "Article": {
                        **t.note(t.title("inline")),
                        "Attachment": [_attachment("dentro.pdf", PDF, "application/pdf")],
                    },
                },
            ),
            register="inline",
        )
    )
    add(
        Step(
            "create_closed",
            _post("/Ticket", lambda t: t.new_ticket("closed", Owner="tecnico1", State="closed successful")),
            register="closed",
        )
    )
    add(
        Step(
            "create_pending",
            _post(
                "/Ticket",
                lambda t: t.new_ticket(
                    "pending", Owner="tecnico1", State="pending reminder", PendingTime={"Diff": 600}
                ),
            ),
            register="pending",
        )
    )
    add(
        Step(
            "create_visible_note",
            _post(
                "/Ticket",
                lambda t: {
                    **t.new_ticket("visible", Owner="tecnico1"),
                    "Article": t.note(t.title("visible"), internal=False),
                },
            ),
            register="visible",
        )
    )
    add(
        Step(
            "create_by_userlogin",
            _post(
                "/Ticket",
                lambda t: {
                    **_without(t.new_ticket("login"), "SessionID"),
                    "UserLogin": "tecnico1",
                    "Password": t.passwords["tecnico1"],
                },
            ),
            register="login",
        )
    )
    add(
        Step(
            "create_for_lector",
            _post("/Ticket", lambda t: t.new_ticket("forlector", Owner="agente.mesa")),
            register="forlector",
        )
    )
    add(
        Step(
            "create_article_list",
            _post(
                "/Ticket",
                lambda t: {
                    **t.new_ticket("list"),
                    "Article": [t.note(t.title("list") + " 1"), t.note(t.title("list") + " 2")],
                },
            ),
            register="list",
        )
    )
    add(
        Step(
            "create_missing_title",
            _post("/Ticket", lambda t: {**t.new_ticket("x"), "Ticket": _without(t.new_ticket("x")["Ticket"], "Title")}),
        )
    )
    add(
        Step(
            "create_missing_customer",
            _post(
                "/Ticket",
                lambda t: {**t.new_ticket("x"), "Ticket": _without(t.new_ticket("x")["Ticket"], "CustomerUser")},
            ),
        )
    )
    add(Step("create_unknown_queue", _post("/Ticket", lambda t: t.new_ticket("x", Queue="No Existe"))))
    add(Step("create_unknown_state", _post("/Ticket", lambda t: t.new_ticket("x", State="inexistente"))))
    add(Step("create_unknown_priority", _post("/Ticket", lambda t: t.new_ticket("x", Priority="9 urgentisima"))))
    add(Step("create_unknown_owner", _post("/Ticket", lambda t: t.new_ticket("x", Owner="nadie"))))
    add(Step("create_missing_article", _post("/Ticket", lambda t: _without(t.new_ticket("x"), "Article"))))
    add(
        Step(
            "create_article_missing_body",
            _post("/Ticket", lambda t: {**t.new_ticket("x"), "Article": _without(t.note("x"), "Body")}),
        )
    )
    add(
        Step(
            "create_article_bad_content_type",
            _post(
                "/Ticket",
                lambda t: {**t.new_ticket("x"), "Article": {**t.note("x"), "ContentType": "text/plain; charset=utf-8"}},
            ),
        )
    )
    add(
        Step(
            "create_article_no_charset",
            _post("/Ticket", lambda t: {**t.new_ticket("x"), "Article": {**t.note("x"), "ContentType": "text/plain"}}),
        )
    )
    add(Step("create_by_lector", _post("/Ticket", lambda t: {**t.new_ticket("x"), "SessionID": t.sid("lector")})))
    add(
        Step(
            "create_invalid_session",
            _post("/Ticket", lambda t: {**t.new_ticket("x"), "SessionID": "NoEsUnaSesionValida0123456789abcd"}),
        )
    )
    add(Step("create_no_credentials", _post("/Ticket", lambda t: _without(t.new_ticket("x"), "SessionID"))))
    add(
        Step(
            "create_bad_dynamic_field",
            _post("/Ticket", lambda t: {**t.new_ticket("x"), "DynamicField": {"Name": "NoExiste", "Value": "1"}}),
        )
    )
    add(
        Step(
            "create_attachment_missing_filename",
            _post(
                "/Ticket",
                lambda t: {**t.new_ticket("x"), "Attachment": {"ContentType": "application/pdf", "Content": b64(PDF)}},
            ),
        )
    )

    # ------------------------------------------------------------- TicketGet
    add(Step("get_basic", _ticket_get("native")))
    add(Step("get_all_articles", _ticket_get("native", AllArticles=1)))
    add(Step("get_all_flags", _all("native")))
    add(
        Step(
            "get_attachments_no_contents", _ticket_get("attach", AllArticles=1, Attachments=1, GetAttachmentContents=0)
        )
    )
    add(Step("get_attachments_contents", _ticket_get("attach", AllArticles=1, Attachments=1, GetAttachmentContents=1)))
    add(Step("get_attachments_without_all_articles", _ticket_get("attach", Attachments=1)))
    add(Step("get_inline_attachments", _ticket_get("inline", AllArticles=1, Attachments=1)))
    add(Step("get_dynamic_fields_only", _ticket_get("df", DynamicFields=1)))
    add(Step("get_dynamic_fields_empty", _ticket_get("native", DynamicFields=1)))
    add(Step("get_extended", _ticket_get("native", Extended=1)))
    add(Step("get_extended_closed", _ticket_get("closed", Extended=1, AllArticles=1)))
    add(Step("get_pending", _ticket_get("pending", AllArticles=1)))
    add(Step("get_other_fields_ticket", _ticket_get("other", AllArticles=1)))
    add(Step("get_visible_note_ticket", _ticket_get("visible", AllArticles=1)))
    add(Step("get_article_list_ticket", _ticket_get("list", AllArticles=1)))
    add(Step("get_sender_agent", _ticket_get("native", AllArticles=1, ArticleSenderType="agent")))
    add(Step("get_sender_customer", _ticket_get("native", AllArticles=1, ArticleSenderType="customer")))
    add(Step("get_sender_unknown", _ticket_get("native", AllArticles=1, ArticleSenderType="nadie")))
    add(
        Step(
            "get_several",
            lambda t: Request("GET", f"/Ticket/{t.tid('native')},{t.tid('plain')}", query={"SessionID": t.sid()}),
        )
    )
    add(
        Step(
            "get_several_one_missing",
            lambda t: Request("GET", f"/Ticket/{t.tid('native')},999999", query={"SessionID": t.sid()}),
        )
    )
    add(
        Step(
            "get_list_route",
            lambda t: Request(
                "GET", "/TicketList", query={"SessionID": t.sid(), "TicketID": f"{t.tid('native')},{t.tid('plain')}"}
            ),
        )
    )
    add(Step("get_not_found", _get(lambda t: "/Ticket/999999", lambda t: {"SessionID": t.sid()})))
    add(Step("get_not_a_number", _get(lambda t: "/Ticket/abc", lambda t: {"SessionID": t.sid()})))
    add(Step("get_welcome_ticket_denied", _get(lambda t: "/Ticket/1", lambda t: {"SessionID": t.sid()})))
    add(Step("get_by_lector", _ticket_get("native", "lector", AllArticles=1)))
    add(Step("get_by_customer", _ticket_get("visible", "cliente.demo", AllArticles=1)))
    add(Step("get_by_customer_internal_only", _ticket_get("native", "cliente.demo", AllArticles=1)))
    add(
        Step(
            "get_invalid_session",
            _get(lambda t: f"/Ticket/{t.tid('native')}", lambda t: {"SessionID": "NoEsUnaSesionValida0123456789abcd"}),
        )
    )
    add(Step("get_no_session", _get(lambda t: f"/Ticket/{t.tid('native')}")))
    add(
        Step(
            "get_userlogin_password",
            _get(
                lambda t: f"/Ticket/{t.tid('native')}",
                lambda t: {"UserLogin": "tecnico1", "Password": t.passwords["tecnico1"]},
            ),
        )
    )
    add(
        Step(
            "get_header_session",
            lambda t: Request("GET", f"/Ticket/{t.tid('native')}", headers={"X-OTRS-Header-SessionID": t.sid()}),
        )
    )
    add(
        Step(
            "get_header_session_otobo",
            lambda t: Request("GET", f"/Ticket/{t.tid('native')}", headers={"X-OTOBO-Header-SessionID": t.sid()}),
        )
    )

    # ------------------------------------------------------------- TicketSearch
    for route in ("native", "other"):
        add(Step(f"search_{route}_by_number", _search(lambda t: {"TicketNumber": t.number("native")}, route=route)))
        add(Step(f"search_{route}_no_match", _search(lambda t: {"TicketNumber": "000000000000"}, route=route)))
        add(Step(f"search_{route}_mine", _search(_mine, route=route)))
    add(
        Step(
            "search_by_queue_and_state",
            _search(lambda t: {**_mine(t), "Queues": ["Mesa de Servicio"], "States": ["new"]}),
        )
    )
    add(Step("search_by_state_type_closed", _search(lambda t: {**_mine(t), "StateType": "closed"})))
    add(Step("search_by_state_type_list", _search(lambda t: {**_mine(t), "StateType": ["open", "new"]})))
    add(Step("search_by_state_ids", _search(lambda t: {**_mine(t), "StateIDs": [1]})))
    add(Step("search_title_wildcard_label", _search(lambda t: {"Title": f"*{t.marker} native*"})))
    add(Step("search_title_exact", _search(lambda t: {"Title": t.title("plain")})))
    add(Step("search_title_no_match", _search(lambda t: {"Title": f"{t.marker}-nada*"})))
    add(Step("search_by_ticket_id", _search(lambda t: {**_mine(t), "TicketID": t.tid("plain")})))
    add(Step("search_by_owner", _search(lambda t: {**_mine(t), "OwnerIDs": [2]})))
    add(Step("search_by_lock", _search(lambda t: {**_mine(t), "Locks": ["unlock"]})))
    add(Step("search_by_customer", _search(lambda t: {**_mine(t), "CustomerUserLogin": "cliente.demo"})))
    add(Step("search_by_priority", _search(lambda t: {**_mine(t), "Priorities": ["3 normal"]})))
    add(Step("search_by_type", _search(lambda t: {**_mine(t), "Types": ["Unclassified"]})))
    add(Step("search_by_created_user", _search(lambda t: {**_mine(t), "CreatedUserIDs": [3]})))
    add(Step("search_created_recently", _search(lambda t: {**_mine(t), "TicketCreateTimeNewerMinutes": 60})))
    add(Step("search_dynamic_field", _search(lambda t: {**_mine(t), "DynamicField_NumeroSerie": {"Equals": "SN-001"}})))
    add(Step("search_unknown_queue", _search(lambda t: {**_mine(t), "Queues": ["No Existe"]})))
    add(
        Step("search_sorted_up", _search(lambda t: {**_mine(t), "SortBy": "TicketNumber", "OrderBy": "Up"}), order=True)
    )
    add(
        Step(
            "search_sorted_down",
            _search(lambda t: {**_mine(t), "SortBy": "TicketNumber", "OrderBy": "Down"}),
            order=True,
        )
    )
    add(Step("search_bad_sort", _search(lambda t: {**_mine(t), "SortBy": "NoExiste"})))
    add(Step("search_by_lector", _search(_mine, user="lector")))
    add(Step("search_by_customer_session", _search(_mine, user="cliente.demo")))
    add(
        Step(
            "search_invalid_session",
            lambda t: (
                Request("GET", "/Ticket", query={"SessionID": "NoEsUnaSesionValida0123456789abcd", "TicketNumber": "1"})
                if t.search_get
                else Request(
                    "POST",
                    "/Ticket/Search",
                    json_body={"SessionID": "NoEsUnaSesionValida0123456789abcd", "TicketNumber": "1"},
                )
            ),
        )
    )

    # ----------------------------------------------------------- TicketUpdate
    add(
        Step(
            "update_state_and_note",
            _update(
                "native",
                Ticket=lambda t: {"State": "Atendido"},
                Article=lambda t: t.note("Atendido", "Se atendió la solicitud."),
            ),
        )
    )
    add(Step("update_note_other_fields", _update("native", Article=lambda t: t.note("Otra generación", other=True))))
    add(Step("update_note_visible", _update("native", Article=lambda t: t.note("Visible", internal=False))))
    add(
        Step(
            "update_note_attachments_top",
            _update(
                "native",
                Article=lambda t: t.note("Con adjuntos"),
                Attachment=lambda t: [
                    _attachment("informe.pdf", PDF, "application/pdf"),
                    _attachment(
                        "acta.docx", DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
                    ),
                ],
            ),
        )
    )
    add(
        Step(
            "update_note_attachments_inline",
            _update(
                "native",
                Article=lambda t: {
                    **t.note("Adjuntos dentro"),
                    "Attachment": [_attachment("dentro.pdf", PDF, "application/pdf")],
                },
            ),
        )
    )
    add(
        Step(
            "update_attachment_one_object",
            _update(
                "native",
                Article=lambda t: t.note("Un adjunto"),
                Attachment=lambda t: _attachment("uno.txt", TXT, "text/plain"),
            ),
        )
    )
    add(
        Step(
            "update_attachment_invalid_base64",
            _update(
                "native",
                Article=lambda t: t.note("Base64 malo"),
                Attachment=lambda t: [
                    {
                        "Filename": "malo.bin",
                        "ContentType": "application/octet-stream",
                        "Content": "esto no es base64!!",
                    }
                ],
            ),
        )
    )
    add(
        Step(
            "update_attachment_without_article",
            _update("native", Attachment=lambda t: [_attachment("solo.pdf", PDF, "application/pdf")]),
        )
    )
    add(
        Step(
            "update_attachment_missing_content",
            _update(
                "native",
                Article=lambda t: t.note("x"),
                Attachment=lambda t: [{"Filename": "a.pdf", "ContentType": "application/pdf"}],
            ),
        )
    )
    add(
        Step(
            "update_attachment_bad_content_type",
            _update(
                "native",
                Article=lambda t: t.note("x"),
                Attachment=lambda t: [{"Filename": "a.pdf", "ContentType": "pdf", "Content": b64(PDF)}],
            ),
        )
    )
    add(Step("get_after_notes", _all("native")))
    add(Step("history_after_notes", _history("native")))
    add(
        Step(
            "update_owner_login_with_note",
            _update(
                "native", Ticket=lambda t: {"Owner": "agente.mesa"}, Article=lambda t: t.note("Se modifica propietario")
            ),
        )
    )
    add(Step("get_after_owner", _ticket_get("native", AllArticles=1)))
    add(
        Step(
            "update_owner_id_with_note",
            _update("plain", Ticket=lambda t: {"OwnerID": 2}, Article=lambda t: t.note("Propietario por ID")),
        )
    )
    add(Step("update_owner_only", _update("df", Ticket=lambda t: {"Owner": "agente.mesa"})))
    add(Step("get_after_owner_only", _ticket_get("df")))
    add(Step("update_owner_same", _update("df", Ticket=lambda t: {"Owner": "agente.mesa"})))
    add(Step("update_title", _update("plain", Ticket=lambda t: {"Title": t.title("plain renombrado")})))
    add(Step("update_priority", _update("plain", Ticket=lambda t: {"Priority": "4 high"})))
    add(Step("update_lock", _update("plain", Ticket=lambda t: {"Lock": "lock"})))
    add(Step("update_state_closed", _update("plain", Ticket=lambda t: {"State": "closed successful"})))
    add(Step("update_state_pending_no_time", _update("other", Ticket=lambda t: {"State": "pending reminder"})))
    add(
        Step(
            "update_state_pending_with_time",
            _update("other", Ticket=lambda t: {"State": "pending reminder", "PendingTime": {"Diff": 120}}),
        )
    )
    add(Step("update_state_by_id", _update("other", Ticket=lambda t: {"StateID": 4})))
    add(Step("get_after_ticket_fields", _ticket_get("plain", AllArticles=1, Extended=1)))
    add(Step("history_after_ticket_fields", _history("plain")))
    add(Step("update_dynamic_field", _update("df", DynamicField=lambda t: {"Name": "NumeroSerie", "Value": "SN-002"})))
    add(
        Step(
            "update_dynamic_field_list",
            _update("df", DynamicField=lambda t: [{"Name": "NumeroSerie", "Value": "SN-003"}]),
        )
    )
    add(
        Step(
            "update_dynamic_field_same",
            _update("df", DynamicField=lambda t: {"Name": "NumeroSerie", "Value": "SN-003"}),
        )
    )
    add(Step("update_dynamic_field_unknown", _update("df", DynamicField=lambda t: {"Name": "NoExiste", "Value": "1"})))
    add(Step("update_dynamic_field_no_value", _update("df", DynamicField=lambda t: {"Name": "NumeroSerie"})))
    add(Step("get_after_dynamic_fields", _ticket_get("df", DynamicFields=1)))
    for name, content_type in CONTENT_TYPES:
        add(
            Step(
                f"update_{name}",
                _update(
                    "attach",
                    Article=lambda t, c=content_type, n=name: {
                        **t.note(f"Tipo {n}", "Cuerpo <b>ñandú</b>."),
                        "ContentType": c,
                    },
                ),
            )
        )
    add(
        Step(
            "update_mime_and_charset",
            _update(
                "attach",
                Article=lambda t: {
                    **_without(t.note("MimeType y Charset"), "ContentType"),
                    "MimeType": "text/plain",
                    "Charset": "utf8",
                },
            ),
        )
    )
    add(
        Step(
            "update_mime_without_charset",
            _update("attach", Article=lambda t: {**_without(t.note("x"), "ContentType"), "MimeType": "text/plain"}),
        )
    )
    add(Step("get_after_content_types", _ticket_get("attach", AllArticles=1)))
    add(Step("update_missing_body", _update("attach", Article=lambda t: _without(t.note("x"), "Body"))))
    add(Step("update_missing_subject", _update("attach", Article=lambda t: _without(t.note("x"), "Subject"))))
    add(Step("update_missing_content_type", _update("attach", Article=lambda t: _without(t.note("x"), "ContentType"))))
    add(
        Step(
            "update_minimal_article",
            _update(
                "attach",
                Article=lambda t: {
                    "Subject": "Mínimo",
                    "Body": "Solo asunto y cuerpo",
                    "ContentType": "text/plain; charset=utf8",
                },
            ),
        )
    )
    add(
        Step(
            "update_sender_customer",
            _update("attach", Article=lambda t: {**t.note("Del cliente"), "SenderType": "customer"}),
        )
    )
    add(Step("update_sender_unknown", _update("attach", Article=lambda t: {**t.note("x"), "SenderType": "nadie"})))
    add(
        Step(
            "update_article_type_unknown",
            _update("attach", Article=lambda t: {**t.note("x"), "ArticleType": "no-existe"}),
        )
    )
    add(
        Step(
            "update_channel_unknown",
            _update("attach", Article=lambda t: {**t.note("x"), "CommunicationChannel": "Paloma"}),
        )
    )
    add(Step("update_time_unit", _update("attach", Article=lambda t: {**t.note("Con tiempo"), "TimeUnit": 15})))
    add(Step("update_article_list", _update("attach", Article=lambda t: [t.note("Lista 1"), t.note("Lista 2")])))
    add(Step("update_article_not_object", _update("attach", Article=lambda t: "texto")))
    add(Step("get_after_article_shapes", _all("attach")))
    add(Step("history_after_article_shapes", _history("attach")))
    add(
        Step(
            "update_unknown_state",
            _update("visible", Ticket=lambda t: {"State": "inexistente"}, Article=lambda t: t.note("x")),
        )
    )
    add(Step("update_unknown_owner", _update("visible", Ticket=lambda t: {"Owner": "nadie"})))
    add(Step("update_unknown_owner_id", _update("visible", Ticket=lambda t: {"OwnerID": 999})))
    add(Step("update_unknown_priority", _update("visible", Ticket=lambda t: {"Priority": "9 urgentisima"})))
    add(Step("update_unknown_queue", _update("visible", Ticket=lambda t: {"Queue": "No Existe"})))
    add(Step("update_ticket_not_object", _update("visible", Ticket=lambda t: "texto")))
    add(Step("update_nothing", _update("visible")))
    add(
        Step(
            "update_not_found",
            lambda t: Request(
                "PATCH", "/Ticket/999999", json_body={"SessionID": t.sid(), "Ticket": {"State": "Atendido"}}
            ),
        )
    )
    add(
        Step(
            "update_by_ticket_number",
            lambda t: Request(
                "PATCH",
                f"/Ticket/{t.tid('visible')}",
                json_body={
                    "SessionID": t.sid(),
                    "TicketNumber": t.number("visible"),
                    "Ticket": {"Title": t.title("visible por número")},
                },
            ),
        )
    )
    add(
        Step(
            "update_by_lector_state_and_note",
            _update(
                "forlector",
                "lector",
                Ticket=lambda t: {"State": "Atendido"},
                Article=lambda t: t.note("Lector intenta"),
            ),
        )
    )
    add(
        Step(
            "update_by_lector_title_only",
            _update("forlector", "lector", Ticket=lambda t: {"Title": t.title("forlector lector")}),
        )
    )
    add(
        Step(
            "update_by_lector_dynamic_field",
            _update("forlector", "lector", DynamicField=lambda t: {"Name": "NumeroSerie", "Value": "SN-L"}),
        )
    )
    add(Step("get_forlector_after_lector", _ticket_get("forlector", AllArticles=1, DynamicFields=1)))
    add(
        Step(
            "update_by_agente_mesa",
            _update("forlector", "agente.mesa", Article=lambda t: t.note("Nota de agente.mesa")),
        )
    )
    add(
        Step(
            "update_by_customer",
            _update(
                "visible",
                "cliente.demo",
                Article=lambda t: {"Subject": "Del cliente", "Body": "Hola", "ContentType": "text/plain; charset=utf8"},
            ),
        )
    )
    add(Step("get_visible_after_customer", _ticket_get("visible", AllArticles=1)))
    add(
        Step(
            "update_invalid_session",
            lambda t: Request(
                "PATCH",
                f"/Ticket/{t.tid('visible')}",
                json_body={"SessionID": "NoEsUnaSesionValida0123456789abcd", "Ticket": {"State": "Atendido"}},
            ),
        )
    )
    add(
        Step(
            "update_no_credentials",
            lambda t: Request("PATCH", f"/Ticket/{t.tid('visible')}", json_body={"Ticket": {"State": "Atendido"}}),
        )
    )
    add(
        Step(
            "update_userlogin_no_password",
            lambda t: Request(
                "PATCH",
                f"/Ticket/{t.tid('visible')}",
                json_body={"UserLogin": "tecnico1", "Ticket": {"State": "Atendido"}},
            ),
        )
    )
    add(
        Step(
            "update_userlogin_password",
            lambda t: Request(
                "PATCH",
                f"/Ticket/{t.tid('visible')}",
                json_body={
                    "UserLogin": "tecnico1",
                    "Password": t.passwords["tecnico1"],
                    "Ticket": {"Priority": "2 low"},
                },
            ),
        )
    )
    add(
        Step(
            "update_header_session",
            lambda t: Request(
                "PATCH",
                f"/Ticket/{t.tid('visible')}",
                json_body={"Ticket": {"Priority": "4 high"}},
                headers={"X-OTRS-Header-SessionID": t.sid()},
            ),
        )
    )
    add(
        Step(
            "update_session_in_query",
            lambda t: Request(
                "PATCH",
                f"/Ticket/{t.tid('visible')}?SessionID={t.sid()}",
                json_body={"Ticket": {"Priority": "5 very high"}},
            ),
        )
    )
    add(Step("get_visible_after_auth_variants", _ticket_get("visible")))

    # ------------------------------------------------------- TicketHistoryGet
    add(Step("history_native", _history("native")))
    add(
        Step(
            "history_other_route",
            lambda t: Request(
                "GET",
                (
                    "/TicketHistory/"
                    if (t.route("Ticket::TicketHistoryGet", TicketID="x") or "").startswith("/Ticket/History")
                    else "/Ticket/History/"
                )
                + t.tid("native"),
                query={"SessionID": t.sid()},
            ),
        )
    )
    add(Step("history_not_found", _history(None, ticket_id="999999")))
    add(Step("history_by_lector", _history("native", "lector")))
    add(Step("history_by_customer", _history("visible", "cliente.demo")))
    add(
        Step(
            "history_several",
            lambda t: Request(
                "GET",
                (
                    t.route("Ticket::TicketHistoryGet", TicketID=f"{t.tid('native')},{t.tid('plain')}")
                    or "/Ticket/History/x"
                ),
                query={"SessionID": t.sid()},
            ),
        )
    )

    # -------------------------------------------------------------- transport
    add(
        Step(
            "bad_json",
            lambda t: Request(
                "PATCH",
                f"/Ticket/{t.tid('visible')}",
                raw=b'{"SessionID": "x", "Ticket": ',
                content_type="application/json; charset=utf-8",
            ),
        )
    )
    add(
        Step(
            "json_array_body",
            lambda t: Request("POST", "/Session", raw=b'[{"UserLogin": "tecnico1"}]', content_type="application/json"),
        )
    )
    add(
        Step("json_scalar_body", lambda t: Request("POST", "/Session", raw=b'"texto"', content_type="application/json"))
    )
    add(
        Step(
            "query_flag_true",
            lambda t: Request("GET", f"/Ticket/{t.tid('native')}", query={"SessionID": t.sid(), "AllArticles": "true"}),
        )
    )
    add(
        Step(
            "form_body",
            lambda t: Request(
                "POST",
                "/Session",
                raw=f"UserLogin=tecnico1&Password={t.passwords['tecnico1']}".encode(),
                content_type="application/x-www-form-urlencoded",
            ),
        )
    )
    add(
        Step(
            "text_plain_body",
            lambda t: Request(
                "POST",
                "/Session",
                raw=json.dumps({"UserLogin": "root@localhost", "Password": t.passwords["root@localhost"]}).encode(),
                content_type="text/plain",
            ),
        )
    )
    # Not on Znuny: it logs the invalid UTF-8 raw into the System-ID-keyed shared-memory log that
    # the lab's five systems share, and OTRS 5/6 then die on every error they log until those
    # lines rotate out ("Wide character in shmwrite"). tests/test_fake_transport.py covers it.
    add(
        Step(
            "latin1_body",
            lambda t: Request(
                "PATCH",
                f"/Ticket/{t.tid('visible')}",
                raw=json.dumps({"SessionID": t.sid(), "Article": t.note("Latin-1: ñandú")}, ensure_ascii=False).encode(
                    "latin-1"
                ),
                content_type="application/json; charset=iso-8859-1",
            ),
            skip=lambda t: bool(t.profile.body_utf8_only),
        )
    )
    add(Step("empty_post_body", lambda t: Request("POST", "/Session", raw=b"", content_type="application/json")))
    add(Step("unknown_route", _get(lambda t: "/NoExiste", lambda t: {"SessionID": t.sid()})))
    add(Step("trailing_slash", _get(lambda t: "/Ticket/", lambda t: {"SessionID": t.sid()})))
    add(Step("wrong_method", lambda t: Request("DELETE", "/Ticket/999999", query={"SessionID": t.sid()})))
    add(
        Step(
            "unknown_webservice",
            lambda t: Request("GET", "/Ticket/1", query={"SessionID": t.sid()}, webservice="NoExisteWS"),
        )
    )

    # ------------------------------------- TicketGet's article selection, on a ticket with many
    add(Step("get_limit_1", _ticket_get("native", AllArticles=1, ArticleLimit=1)))
    add(Step("get_limit_2_desc", _ticket_get("native", AllArticles=1, ArticleLimit=2, ArticleOrder="DESC")))
    add(Step("get_desc_no_limit", _ticket_get("native", AllArticles=1, ArticleOrder="DESC")))
    add(Step("get_limit_0", _ticket_get("native", AllArticles=1, ArticleLimit=0)))
    add(Step("get_limit_more_than_articles", _ticket_get("native", AllArticles=1, ArticleLimit=99)))
    add(Step("get_sender_list", _ticket_get("native", AllArticles=1, ArticleSenderType=["agent", "customer"])))
    add(Step("get_sender_list_unknown", _ticket_get("native", AllArticles=1, ArticleSenderType=["nadie", "agent"])))
    add(
        Step(
            "get_sender_customer_desc_limit",
            _ticket_get("attach", AllArticles=1, ArticleSenderType="customer", ArticleOrder="DESC", ArticleLimit=1),
        )
    )
    add(
        Step("get_html_body_as_attachment", _ticket_get("attach", AllArticles=1, Attachments=1, HTMLBodyAsAttachment=1))
    )
    add(Step("get_everything_at_once", _all("attach", Extended=1, ArticleOrder="DESC", ArticleLimit=3)))

    # ------------------------------------------------------- final read-backs
    for name in (
        "native",
        "other",
        "plain",
        "df",
        "attach",
        "inline",
        "closed",
        "pending",
        "visible",
        "login",
        "forlector",
        "list",
    ):
        add(Step(f"final_{name}", _all(name)))
    return steps


CORPUS: list[Step] = _corpus()


def new_marker() -> str:
    """A run id put in every title, so searches see this run's tickets only."""
    return "dif" + uuid.uuid4().hex[:10]


def summarise(system: str, requests_sent: int, found: list[tuple[str, str, str]], allowed: int) -> str:
    """One line per system for the summary."""
    return f"{system}: {requests_sent} requests, {len(found)} unexplained divergence(s), {allowed} allowed departure(s)"


def matches(pattern: str, text: str) -> bool:
    return re.fullmatch(pattern, text) is not None
