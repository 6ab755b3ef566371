"""What the live suite (``tests/test_live_*.py``) shares: which servers it runs on, a raw
GenericInterface reader that is independent of the library, snapshots and the end-state
checks.

Configuration (nothing set: every live test is skipped):

* one server: ``OTRS_CLOSURE_TEST_BASE_URL`` (a web service URL), ``_USERNAME``,
  ``_PASSWORD``, ``_OWNER_LOGIN``; optional ``_QUEUE``, ``_CUSTOMER_USER``, ``_NAME`` (its
  label in reports), ``_ACCESS_LOG`` (enables the log check) and any
  ``OTRS_CLOSURE_TEST_<SETTING>`` for the library;
* the lab: ``OTRS_CLOSURE_TEST_LAB=<lab folder>`` and optionally
  ``OTRS_CLOSURE_TEST_LAB_SYSTEMS=znuny65,otrs6,...`` (default all five, see ``lab.py``).
  ``OTRS_CLOSURE_TEST_<SETTING>`` applies to every system, ``OTRS_CLOSURE_TEST_<SYSTEM>_<SETTING>``
  (e.g. ``OTRS_CLOSURE_TEST_OTRS5_ROUTES``) to one; the compatibility table lists them.

The library gets only the web service URL, the agent's credentials and the owner login,
plus :data:`SPEED` (shorter waits; no decision depends on them).

The raw reader (:class:`RawGI`) talks plain ``requests`` with its own User-Agent
(:data:`RAW_USER_AGENT`): SessionCreate with the password in the JSON body, then every
request with the SessionID in the ``X-OTRS-Header-SessionID`` header where the server
honours it (probed, see :meth:`RawGI.header_session`), else in the query (GET) or body.
"""

from __future__ import annotations

import base64
import json
import os
import re
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lab
import requests

from otrs_closure import ClosureClient, ClosureReceipt, ClosureSettings

PREFIX = "OTRS_CLOSURE_TEST_"
REQUIRED = ("BASE_URL", "USERNAME", "PASSWORD", "OWNER_LOGIN")
#: OTRS_CLOSURE_TEST_* variables of the suite itself (not library settings).
RESERVED = {*REQUIRED, "QUEUE", "CUSTOMER_USER", "NAME", "ACCESS_LOG", "LAB", "LAB_SYSTEMS", "COMPAT_DIR",
            "WORKERS"}
RAW_USER_AGENT = "otrs-closure-live-raw"
#: Lines another engineer's differential test writes on purpose; the log check skips them.
DIFFERENTIAL_USER_AGENT = "otrs-closure-differential"

#: Test-speed settings: shorter waits only (each decision the library takes is the same).
SPEED: dict[str, str] = {
    "RETRY_BACKOFF": "0.05",
    "RETRY_BACKOFF_MAX": "0.3",
    "RETRY_AFTER_MAX": "2",
    "RETRY_WRITE_SETTLE": "0.5",
    "RETRY_MAX_SECONDS": "30",
}

NOTE_SUBJECT = "Atendido"
OWNER_SUBJECT = OWNER_BODY = "Se modifica propietario"
LABELS = {
    "description": "Descripción de la Atención",
    "access_url": "URL de acceso",
    "login": "Login de acceso al Sistema",
    "password": "Contraseña de acceso al Sistema",
    "problem": "Problema Real",
    "solution": "Solución Real",
}


def configured() -> bool:
    return bool(os.environ.get(PREFIX + "LAB")) or all(os.environ.get(PREFIX + n) for n in REQUIRED)


SKIP_REASON = (
    "no live server: set OTRS_CLOSURE_TEST_LAB=<lab folder> (the lab's five systems) or "
    "OTRS_CLOSURE_TEST_BASE_URL, _USERNAME, _PASSWORD and _OWNER_LOGIN (one server)"
)


# -- targets -----------------------------------------------------------------------------------


@dataclass
class Target:
    """One server the live suite runs on."""

    name: str
    product: str
    url: str  # the web service URL
    username: str
    password: str
    owner_login: str
    queue: str = lab.QUEUE
    customer_user: str = lab.CUSTOMER_USER
    settings_env: dict[str, str] = field(default_factory=dict)  # OTRS_CLOSURE_<X> beyond the four
    system: lab.System | None = None
    access_log: str | None = None
    log_start: int | None = None  # the access log's size when the suite started
    sessions_created: list[str] = field(default_factory=list, repr=False)
    _raw: RawGI | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def needed_settings(self) -> dict[str, str]:
        """The library settings this target was run with beyond the zero configuration
        (URL, credentials, owner) and the test-speed ones."""
        return {k: v for k, v in self.settings_env.items() if k not in SPEED}

    def env(self, **changes: Any) -> dict[str, str]:
        """``OTRS_CLOSURE_*`` variables configuring the library (CLI and from_env)."""
        out = {"OTRS_CLOSURE_BASE_URL": self.url, "OTRS_CLOSURE_USERNAME": self.username,
               "OTRS_CLOSURE_PASSWORD": self.password, "OTRS_CLOSURE_OWNER_LOGIN": self.owner_login}
        out.update({"OTRS_CLOSURE_" + k: v for k, v in {**SPEED, **self.settings_env}.items()})
        for k, v in changes.items():
            key = "OTRS_CLOSURE_" + k.upper()
            if v is None:
                out.pop(key, None)
            else:
                out[key] = v if isinstance(v, str) else json.dumps(v)
        return out

    def settings(self, **changes: Any) -> ClosureSettings:
        return ClosureSettings.from_env(self.env(**changes))

    def client(self, *, session_factory: Any = None, sessions: list[str] | None = None,
               **changes: Any) -> ClosureClient:
        """A ClosureClient with the zero configuration (+ speed settings, + ``changes``).
        The GenericInterface sessions it creates are noted (in ``sessions``, default the
        target's own list) so that :meth:`forget_sessions` can end them afterwards."""
        sink = self.sessions_created if sessions is None else sessions
        cls = session_factory or RecordingSession

        def factory() -> requests.Session:
            http = cls()
            http.sink = sink
            return http

        return ClosureClient(settings=self.settings(**changes), session_factory=factory)

    def forget_sessions(self, sessions: list[str] | None = None) -> None:
        """End the sessions the suite's clients created (lab systems: their rows are deleted).
        OTRS 5 refuses SessionCreate (``SessionCreate.AuthFail``) once an agent has 20
        sessions active in the last 10 minutes (AgentSessionPerUserLimit, SessionActiveTime),
        and each ClosureClient opens one: without this the suite locks its own agent out."""
        sink = self.sessions_created if sessions is None else sessions
        with self._lock:
            ids = [x for x in sink if re.fullmatch(r"[A-Za-z0-9]+", x)]
            sink.clear()
        if ids and self.system is not None:
            lab.psql(self.system, "DELETE FROM sessions WHERE session_id IN ({})".format(
                ", ".join(f"'{x}'" for x in ids)))

    @property
    def raw(self) -> RawGI:
        with self._lock:
            if self._raw is None:
                self._raw = RawGI(self)
            return self._raw

    def secrets(self) -> list[str]:
        """Every password the suite uses on this target (for masking and the log check)."""
        return sorted({self.password, *lab.USERS.values(), *FIXTURE_USERS.values()}, key=len, reverse=True)


#: Agents the suite adds to the lab systems (see test_live_partial.py): login -> password.
FIXTURE_USERS = {"tecnico.nota": "tecnico-nota-pass"}


def _split_env(environ: Mapping[str, str], system_names: Iterable[str]
               ) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    common: dict[str, str] = {}
    per: dict[str, dict[str, str]] = {}
    names = {n.upper(): n for n in system_names}
    for key, value in environ.items():
        if not key.startswith(PREFIX):
            continue
        rest = key[len(PREFIX):]
        if rest in RESERVED or rest.startswith("LAB_"):
            continue
        head, _, tail = rest.partition("_")
        if head in names and tail:
            per.setdefault(names[head], {})[tail] = value
        else:
            common[rest] = value
    return common, per


def targets(environ: Mapping[str, str] | None = None) -> list[Target]:
    """The configured targets: the lab's systems, or the one server, or none."""
    env = os.environ if environ is None else environ
    if env.get(PREFIX + "LAB"):
        common, per = _split_env(env, lab.NAMES)
        out = []
        for s in lab.selected(dict(env)):
            out.append(Target(
                name=s.name, product=s.product, url=s.webservice_url, username=lab.AGENT,
                password=lab.USERS[lab.AGENT], owner_login=lab.OWNER, settings_env={**common, **per.get(s.name, {})},
                system=s, access_log=s.access_log,
            ))
        return out
    if all(env.get(PREFIX + n) for n in REQUIRED):
        common, _ = _split_env(env, ())
        return [Target(
            name=env.get(PREFIX + "NAME") or "server", product=env.get(PREFIX + "NAME") or env[PREFIX + "BASE_URL"],
            url=env[PREFIX + "BASE_URL"].rstrip("/"), username=env[PREFIX + "USERNAME"],
            password=env[PREFIX + "PASSWORD"], owner_login=env[PREFIX + "OWNER_LOGIN"],
            queue=env.get(PREFIX + "QUEUE") or lab.QUEUE,
            customer_user=env.get(PREFIX + "CUSTOMER_USER") or lab.CUSTOMER_USER,
            settings_env=common, access_log=env.get(PREFIX + "ACCESS_LOG") or None,
        )]
    return []


class RecordingSession(requests.Session):
    """A ``requests.Session`` for the library that notes every SessionID a SessionCreate
    answers (in ``sink``), and nothing else."""

    sink: list[str]

    def send(self, request: requests.PreparedRequest, **kw: Any) -> requests.Response:  # type: ignore[override]
        response = super().send(request, **kw)
        if request.method == "POST" and (request.url or "").split("?")[0].rstrip("/").endswith("/Session"):
            try:
                sid = response.json().get("SessionID")
            except (ValueError, AttributeError):
                sid = None
            if isinstance(sid, str) and sid:
                getattr(self, "sink", []).append(sid)
        return response


# -- masking -------------------------------------------------------------------------------------


ONBOARDING_PASSWORD = "Temporal#2026"


def mask(text: object, secrets: Iterable[str] = ()) -> str:
    """``text`` with every secret (and the onboarding password) replaced by ``********``."""
    out = str(text)
    for s in sorted({ONBOARDING_PASSWORD, *secrets}, key=len, reverse=True):
        if s:
            out = out.replace(s, "********")
    return out


# -- the raw reader ------------------------------------------------------------------------------


class RawError(AssertionError):
    """A raw request the suite itself made failed (the server's answer, masked)."""


@dataclass(frozen=True)
class Article:
    article_id: int
    subject: str
    body: str
    sender_type: str
    internal: bool  # as the server's generation shows it
    channel: str  # CommunicationChannel name/ID or ArticleType, for messages
    create_time: str  # CreateTime, or Created (OTRS 5)
    attachments: tuple[tuple[str, bytes], ...]  # (filename, content)


@dataclass(frozen=True)
class Snapshot:
    """A ticket as the raw reader saw it: everything a closure could change."""

    ticket_id: int
    ticket_number: str
    state: str
    owner: str
    lock: str
    changed: str
    articles: tuple[Article, ...]
    history_count: int | None

    def with_subject(self, subject: str) -> list[Article]:
        return [a for a in self.articles if a.subject.strip() == subject]

    def attachments(self) -> list[tuple[str, bytes]]:
        return [x for a in self.articles for x in a.attachments]

    def summary(self) -> dict[str, Any]:
        """What is compared to tell that nothing changed (masked-safe, no contents)."""
        return {
            "state": self.state, "owner": self.owner, "lock": self.lock, "changed": self.changed,
            "articles": [(a.article_id, a.subject) for a in self.articles],
            "attachments": [(n, len(c)) for n, c in self.attachments()], "history": self.history_count,
        }


class RawGI:
    """Plain-``requests`` GenericInterface calls for the suite's own setup and reads."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.url = target.url
        self.system = target.system
        self._sessions: dict[str, str] = {}
        self._lock = threading.Lock()
        self._header: bool | None = None
        self._history_path: str | None | bool = self.system.history_route if self.system else False
        self._local = threading.local()

    # -- plumbing ---------------------------------------------------------------------------
    def _http(self) -> requests.Session:
        s = getattr(self._local, "http", None)
        if s is None:
            s = requests.Session()
            s.headers["User-Agent"] = RAW_USER_AGENT
            self._local.http = s
        return s

    def _answer(self, r: requests.Response, what: str) -> dict[str, Any]:
        try:
            data = r.json()
        except ValueError:
            raise RawError(f"{self.target.name}: {what}: HTTP {r.status_code} {mask(r.text[:300])}") from None
        if r.status_code != 200 or not isinstance(data, dict):
            raise RawError(f"{self.target.name}: {what}: HTTP {r.status_code} {mask(str(data)[:300])}")
        return data

    def session(self, login: str | None = None, password: str | None = None, *, renew: bool = False) -> str:
        login = login or self.target.username
        with self._lock:
            if renew or login not in self._sessions:
                pw = password or (self.target.password if login == self.target.username else
                                  {**lab.USERS, **FIXTURE_USERS}[login])
                r = self._http().post(self.url + "/Session", json={"UserLogin": login, "Password": pw}, timeout=60)
                data = self._answer(r, "SessionCreate")
                if "SessionID" not in data:
                    raise RawError(f"{self.target.name}: SessionCreate as {login}: {mask(data, [pw])}")
                self._sessions[login] = data["SessionID"]
            return self._sessions[login]

    def header_session(self) -> bool:
        """Whether the server authenticates ``X-OTRS-Header-SessionID`` (probed once on the
        welcome ticket: AccessDenied means the header was read, AuthFail that it was not)."""
        if self._header is None:
            sid = self.session()
            r = self._http().get(self.url + "/Ticket/1", headers={"X-OTRS-Header-SessionID": sid}, timeout=60)
            code = (self._answer(r, "TicketGet (header probe)").get("Error") or {}).get("ErrorCode", "")
            self._header = not code.endswith("AuthFail")
        return self._header

    def _send(self, method: str, path: str, payload: dict[str, Any], headers: dict[str, str], what: str
              ) -> dict[str, Any]:
        """One exchange; repeated (up to 3 times) when the server dies in the middle of it:
        under concurrent logins Znuny's file cache can race (``mkdir …/CacheFileStorable/User``)
        and the nph script then answers an HTML 500 without a status line."""
        for attempt in range(3):
            try:
                if method == "GET":
                    r = self._http().get(self.url + path, params=payload, headers=headers, timeout=60)
                else:
                    r = self._http().request(method, self.url + path, json=payload, headers=headers, timeout=60)
            except requests.ConnectionError:
                if attempt == 2:
                    raise
                self._local.http = None
                time.sleep(0.2)
                continue
            if r.status_code >= 500 and attempt < 2:
                time.sleep(0.2)
                continue
            return self._answer(r, what)
        raise AssertionError("unreachable")

    def call(self, method: str, path: str, data: dict[str, Any] | None = None, *, login: str | None = None,
             what: str = "") -> dict[str, Any]:
        """One request with a session (renewed once on AuthFail); the answer's JSON."""
        for attempt in (1, 2):
            sid = self.session(login, renew=attempt == 2)
            payload = dict(data or {})
            headers = {}
            if self.header_session():
                headers["X-OTRS-Header-SessionID"] = sid
            else:
                payload["SessionID"] = sid
            answer = self._send(method, path, payload, headers, what or f"{method} {path}")
            code = (answer.get("Error") or {}).get("ErrorCode", "")
            if code.endswith("AuthFail") and attempt == 1:
                continue
            return answer
        raise AssertionError("unreachable")

    # -- operations ---------------------------------------------------------------------------
    def create_ticket(self, title: str, *, owner: str | None = None) -> tuple[int, str]:
        """A new ticket in the suite's queue, owned by the closing agent, with one internal
        article (in the dialect of the server's generation)."""
        article: dict[str, Any] = {
            "Subject": title, "Body": "Ticket de prueba de otrs_closure (suite en vivo).",
            "ContentType": "text/plain; charset=utf8", "SenderType": "agent",
        }
        if self.system is not None and self.system.note_dialect == "ArticleType":
            article["ArticleType"] = "note-internal"
        else:
            article.update({"CommunicationChannel": "Internal", "IsVisibleForCustomer": 0})
        ticket = {"Title": title, "Queue": self.target.queue, "State": "new", "Priority": lab.PRIORITY,
                  "CustomerUser": self.target.customer_user, "Owner": owner or self.target.username}
        answer = self.call("POST", "/Ticket", {"Ticket": ticket, "Article": article}, what="TicketCreate")
        if "TicketID" not in answer:
            raise RawError(f"{self.target.name}: TicketCreate: {answer}")
        return int(answer["TicketID"]), str(answer["TicketNumber"])

    def ticket(self, ticket_id: int, *, login: str | None = None) -> dict[str, Any]:
        answer = self.call("GET", f"/Ticket/{ticket_id}", {"AllArticles": 1, "Attachments": 1,
                                                         "GetAttachmentContents": 1, "DynamicFields": 0},
                           login=login, what="TicketGet")
        if "Ticket" not in answer:
            raise RawError(f"{self.target.name}: TicketGet {ticket_id}: {answer}")
        return dict(answer["Ticket"][0])

    def history_count(self, ticket_id: int) -> int | None:
        """Rows in the ticket's history: TicketHistoryGet where the web service has it, the
        database on a lab system without it (OTRS 5), None otherwise."""
        if self._history_path is False:  # unknown server: find the route once
            self._history_path = None
            for path in ("/Ticket/History/:TicketID", "/TicketHistory/:TicketID"):
                try:
                    self._history(path, ticket_id)
                except RawError:
                    continue
                self._history_path = path
                break
        if isinstance(self._history_path, str):
            return self._history(self._history_path, ticket_id)
        if self.system is not None:
            return int(lab.psql(self.system, f"SELECT count(*) FROM ticket_history WHERE ticket_id = {int(ticket_id)}"))
        return None

    def _history(self, path: str, ticket_id: int) -> int:
        answer = self.call("GET", path.replace(":TicketID", str(ticket_id)), {}, what="TicketHistoryGet")
        try:
            return len(answer["TicketHistory"][0]["History"])
        except (KeyError, IndexError, TypeError):
            raise RawError(f"{self.target.name}: TicketHistoryGet: {str(answer)[:200]}") from None

    def snapshot(self, ticket_id: int) -> Snapshot:
        t = self.ticket(ticket_id)
        return Snapshot(
            ticket_id=int(t["TicketID"]), ticket_number=str(t["TicketNumber"]), state=t.get("State", ""),
            owner=t.get("Owner", ""), lock=t.get("Lock", ""), changed=t.get("Changed", ""),
            articles=tuple(article(a) for a in t.get("Article") or []), history_count=self.history_count(ticket_id),
        )


def article(a: Mapping[str, Any]) -> Article:
    """One TicketGet article in generation-neutral form."""
    if "ArticleType" in a:  # OTRS 5
        internal = a.get("ArticleType") == "note-internal"
        channel = f"ArticleType={a.get('ArticleType')}"
    else:
        internal = str(a.get("IsVisibleForCustomer")) == "0"
        name = a.get("CommunicationChannel")
        channel = (f"CommunicationChannel={name}" if name
                   else f"CommunicationChannelID={a.get('CommunicationChannelID')}")
    return Article(
        article_id=int(a["ArticleID"]), subject=a.get("Subject") or "", body=a.get("Body") or "",
        sender_type=a.get("SenderType") or "", internal=internal, channel=channel,
        create_time=a.get("CreateTime") or a.get("Created") or "",
        attachments=tuple((x.get("Filename", ""), base64.b64decode(x.get("Content") or ""))
                          for x in a.get("Attachment") or []),
    )


def is_internal_channel(a: Article) -> bool:
    """The note went through the Internal channel (CommunicationChannelID 3 is "Internal"
    in every release's initial data) or is OTRS 5's note-internal."""
    return a.channel in ("CommunicationChannel=Internal", "CommunicationChannelID=3", "ArticleType=note-internal")


# -- what a closed ticket must show -----------------------------------------------------------


def label_lines(attention: Any) -> list[str]:
    """The note lines the manual prescribes for this attention (label: value)."""
    kind = attention.kind
    lines = []
    if getattr(attention, "description", None):
        lines.append(f"{LABELS['description']}: {attention.description.splitlines()[0]}")
    if kind == "user_onboarding":
        lines += [f"{LABELS['access_url']}: {attention.access_url}", f"{LABELS['login']}: {attention.login}",
                  f"{LABELS['password']}: {attention.password.get_secret_value()}"]
    if kind == "incident":
        lines += [f"{LABELS['problem']}: {attention.problem}", f"{LABELS['solution']}: {attention.solution}"]
    return lines


def closure_problems(snap: Snapshot, target: Target, *, attention: Any = None, contents: Iterable[bytes] = (),
                     receipt: ClosureReceipt | None = None, before: Snapshot | None = None) -> list[str]:
    """Everything that differs from a correctly closed ticket (empty: all good). Messages
    never carry the onboarding password."""
    out = []
    if snap.state != lab.STATE:
        out.append(f"state {snap.state!r}, expected {lab.STATE!r}")
    if snap.owner.lower() != target.owner_login.lower():
        out.append(f"owner {snap.owner!r}, expected {target.owner_login!r}")
    notes = snap.with_subject(NOTE_SUBJECT)
    owner_notes = snap.with_subject(OWNER_SUBJECT)
    if len(notes) != 1:
        out.append(f"{len(notes)} Atendido notes (articles {[a.article_id for a in notes]})")
    if len(owner_notes) != 1:
        out.append(f"{len(owner_notes)} owner notes (articles {[a.article_id for a in owner_notes]})")
    note = notes[0] if notes else None
    if note is not None:
        if not note.internal:
            out.append(f"the Atendido note is visible to the customer ({note.channel})")
        if not is_internal_channel(note):
            out.append(f"the Atendido note is not in the Internal channel ({note.channel})")
        if attention is not None:
            body = note.body.replace("\r\n", "\n")
            for line in label_lines(attention):
                if line not in body:
                    out.append(f"note lacks the line {mask(line)!r}")
        if receipt is not None:
            if receipt.note_article_id != note.article_id:
                out.append(f"receipt names note {receipt.note_article_id}, the ticket shows {note.article_id}")
            shown = receipt.attended_at.strftime("%Y-%m-%d %H:%M:%S") if receipt.attended_at else None
            if shown != note.create_time:
                out.append(f"receipt.attended_at {shown} != the note's creation time {note.create_time!r}")
            elif receipt.attended_at is not None and receipt.attended_at.tzinfo is None:
                out.append("receipt.attended_at is naive")
            if f"Referencia de cierre: {receipt.closure_id}" not in note.body:
                out.append("the note lacks the closure reference")
    if owner_notes:
        on = owner_notes[0]
        if on.body.strip() != OWNER_BODY:
            out.append(f"owner note body {on.body.strip()[:60]!r}")
        if note is not None and on.article_id < note.article_id:
            out.append("the owner note comes before the Atendido note")
        if not on.internal:
            out.append(f"the owner note is visible to the customer ({on.channel})")
    wanted = sorted(contents)
    old = {x for a in (before.articles if before else ()) for x in a.attachments}
    got = sorted(c for a in snap.articles for n, c in a.attachments if (n, c) not in old)
    if got != wanted:
        out.append(f"{len(got)} new attachments, expected {len(wanted)}; byte-identical: {got == wanted}")
    if wanted and note is not None and sorted(c for _, c in note.attachments) != wanted:
        out.append("the files are not on the Atendido note")
    if receipt is not None:
        if not receipt.complete:
            out.append(f"receipt incomplete: {receipt.remaining}")
        if owner_notes and receipt.owner_article_id != owner_notes[0].article_id:
            out.append(f"receipt names owner note {receipt.owner_article_id}, the ticket shows "
                       f"{owner_notes[0].article_id}")
        if (receipt.state, (receipt.owner or "").lower()) != (snap.state, snap.owner.lower()):
            out.append(f"receipt says {receipt.state}/{receipt.owner}, the ticket {snap.state}/{snap.owner}")
    return out


def shape(snap: Snapshot, since: Snapshot | None = None) -> tuple[Any, ...]:
    """A closure's effect without ids and times: state, owner and the new articles."""
    skip = {a.article_id for a in since.articles} if since else set()
    return (snap.state, snap.owner.lower(), tuple(
        (a.subject, a.body, a.internal, a.channel, a.sender_type, tuple(sorted(a.attachments)))
        for a in snap.articles if a.article_id not in skip))


def unique(text: str) -> str:
    """``text`` made unique to this run, so that no rerun meets an older closure."""
    return f"{text} (prueba {uuid.uuid4().hex[:8]})"


# -- access logs ------------------------------------------------------------------------------

_LINE = re.compile(r'^\S+ \S+ \S+ \[[^\]]*\] "(?P<request>[^"]*)" \S+ \S+ "(?P<referer>[^"]*)" "(?P<agent>[^"]*)"')


@dataclass(frozen=True)
class LogLine:
    request: str
    agent: str


def log_offset(path: str | None) -> int | None:
    if not path:
        return None
    try:
        return os.path.getsize(path)
    except OSError:
        return None


def log_lines_since(path: str, offset: int) -> list[LogLine]:
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read().decode("utf-8", "replace")
    out = []
    for raw in data.splitlines():
        m = _LINE.match(raw)
        out.append(LogLine(m["request"], m["agent"]) if m else LogLine(raw, ""))
    return out


def wait_until(predicate: Any, timeout: float, interval: float = 0.05) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` passes (a wait, never an assertion)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


# -- server-side fixtures (lab systems only) ----------------------------------------------------

_fixture_lock = threading.Lock()


def ensure_agent(system: lab.System, login: str, permissions: Iterable[str]) -> None:
    """An agent ``login`` (password from :data:`FIXTURE_USERS`) with exactly ``permissions``
    on the service desk's group, added with the system's own console; idempotent (safe on a
    fresh machine right after ``up.sh`` and on a lab that already has it)."""
    with _fixture_lock:
        exists = lab.psql(system, f"SELECT count(*) FROM users WHERE login = '{login}'") != "0"
        if not exists:
            done = lab.console(system, "Admin::User::Add", "--user-name", login, "--first-name", "Tecnico",
                               "--last-name", "Sin Propietario", "--email-address", f"{login}@example.com",
                               "--password", FIXTURE_USERS[login])
            if done.returncode != 0:
                raise RuntimeError(f"{system.name}: Admin::User::Add {login}: {done.stdout[-500:]}{done.stderr[-500:]}")
        for key in permissions:
            done = lab.console(system, "Admin::Group::UserLink", "--user-name", login, "--group-name", lab.GROUP,
                               "--permission", key)
            if done.returncode != 0:  # the consoles offer ro/move_into/create/owner/priority/rw only: write the row
                value = lab.psql(system, "SELECT count(*) FROM information_schema.columns WHERE table_name = "
                                         "'group_user' AND column_name = 'permission_value'") != "0"
                lab.psql(system, f"""INSERT INTO group_user (user_id, group_id, permission_key,
                    {"permission_value," if value else ""} create_time, create_by, change_time, change_by)
                    SELECT u.id, g.id, '{key}', {"1," if value else ""} now(), 1, now(), 1
                    FROM users u, {system.group_table} g
                    WHERE u.login = '{login}' AND g.name = '{lab.GROUP}' AND NOT EXISTS (
                      SELECT 1 FROM group_user x WHERE x.user_id = u.id AND x.group_id = g.id
                      AND x.permission_key = '{key}')""")
