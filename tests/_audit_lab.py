"""The lab's systems for the audit's live suite and benchmark, as plain data, plus the two
things they need on them: agents of their own (made idempotently with each system's own
console, so the suite never spends the seeded agents' sessions — OTRS 5 refuses a 21st
session per agent within 10 minutes) and hand closures performed with raw
GenericInterface requests (``requests`` only, none of the library's code), in each
generation's own article fields.

Selected by ``OTRS_CLOSURE_TEST_LAB=<lab folder>`` (and optionally
``OTRS_CLOSURE_TEST_LAB_SYSTEMS=znuny65,otrs6,...``); see ``shared/lab/README.md``.
"""

from __future__ import annotations

import os
import subprocess
import threading
from dataclasses import dataclass
from typing import Any

import lab
import requests

from otrs_closure.servers import PROFILES
from otrs_closure.testing.handclosed import REQUEST_BODY, HandClosure, HandNote

__all__ = [
    "LabSystem",
    "SYSTEMS",
    "selected",
    "AUDITOR",
    "CLOSER",
    "ensure_agent",
    "RawGI",
    "close_by_hand",
]


@dataclass(frozen=True)
class LabSystem:
    name: str  # the lab's name, also the library's profile name
    port: int
    prefix: str  # otrs, otobo, znuny
    tree: str
    os_user: str
    console: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{self.prefix}/nph-genericinterface.pl/Webservice/GenericTicketConnectorREST"

    @property
    def profile(self) -> Any:
        return PROFILES[self.name]


# The audit's view of the lab systems of tests/lab.py (one home for the lab's data): each
# system's example web service GenericTicketConnectorREST and its console.
SYSTEMS = {
    s.name: LabSystem(s.name, s.port, s.url_prefix, s.tree, s.os_user, s.console) for s in lab.SYSTEMS.values()
}

QUEUE, GROUP, OWNER, CUSTOMER_USER = lab.QUEUE, lab.GROUP, lab.OWNER, lab.CUSTOMER_USER


@dataclass(frozen=True)
class Agent:
    login: str
    first_name: str
    last_name: str
    password: str
    permission: str

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


#: Closes tickets by hand (rw); an accented name, as agents have.
CLOSER = Agent("audit.tecnico", "Ana", "Núñez Auditoría", "audit-tecnico-pass", "rw")
#: Runs the audits: read-only, as a supervisor's account may be.
AUDITOR = Agent("audit.lector", "Supervisora", "Auditoría", "audit-lector-pass", "ro")


def selected() -> list[LabSystem]:
    """The systems named by the environment; empty when the lab is not configured."""
    if not os.environ.get("OTRS_CLOSURE_TEST_LAB"):
        return []
    return [SYSTEMS[s.name] for s in lab.selected()]


_made: set[tuple[str, str]] = set()
_made_lock = threading.Lock()


def _console(system: LabSystem, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["runuser", "-u", system.os_user, "--", "perl", f"{system.tree}/{system.console}", *args, "--no-ansi"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def ensure_agent(system: LabSystem, agent: Agent) -> None:
    """Create ``agent`` on ``system`` if it is not there, and link it to the service
    desk's group (both idempotent). Needs root on the lab machine."""
    with _made_lock:
        if (system.name, agent.login) in _made:
            return
        added = _console(
            system,
            "Admin::User::Add",
            "--user-name", agent.login,
            "--first-name", agent.first_name,
            "--last-name", agent.last_name,
            "--email-address", f"{agent.login}@example.com",
            "--password", agent.password,
        )  # fmt: skip
        if added.returncode != 0 and "already" not in (added.stdout + added.stderr).lower():
            raise RuntimeError(f"{system.name}: Admin::User::Add failed: {added.stdout[-400:]} {added.stderr[-400:]}")
        linked = _console(
            system, "Admin::Group::UserLink", "--user-name", agent.login, "--group-name", GROUP,
            "--permission", agent.permission,
        )  # fmt: skip
        if linked.returncode != 0:
            raise RuntimeError(f"{system.name}: Admin::Group::UserLink failed: {linked.stdout[-400:]}")
        _made.add((system.name, agent.login))


#: The raw reads' User-Agent (the live suite's own, which its access-log check knows).
RAW_USER_AGENT = "otrs-closure-live-raw"


class RawGI:
    """Plain GenericInterface requests as one agent (one session for the whole suite)."""

    def __init__(self, system: LabSystem, agent: Agent) -> None:
        self.system = system
        answer = self.request(
            "POST", system.url + "/Session", json={"UserLogin": agent.login, "Password": agent.password}
        ).json()
        if "SessionID" not in answer:
            raise RuntimeError(f"{system.name}: SessionCreate as {agent.login} failed: {answer}")
        self.session_id = answer["SessionID"]

    @staticmethod
    def request(method: str, url: str, **kwargs: Any) -> requests.Response:
        """One request on a connection of its own. Sharing keep-alive connections is not
        safe here: Znuny's nph script answers ``Connection: Keep-Alive`` even to a client
        that asked to close, and a connection the server dropped while idle would fail the
        next write, which is not resent blindly."""
        with requests.Session() as http:
            return http.request(method, url, timeout=60, **kwargs)

    def _check(self, answer: requests.Response) -> dict[str, Any]:
        data: dict[str, Any] = answer.json()
        if "Error" in data:
            raise RuntimeError(f"{self.system.name}: {data['Error']}")
        return data

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        url = self.system.url + "/Ticket"
        return self._check(self.request("POST", url, json={"SessionID": self.session_id, **body}))

    def update(self, ticket_id: int, body: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.system.url}/Ticket/{ticket_id}"
        return self._check(self.request("PATCH", url, json={"SessionID": self.session_id, **body}))

    def _get(self, url: str, params: dict[str, Any]) -> requests.Response:
        """A GET with the session where the server reads it: the header on Znuny, else the
        query (the access-log check of the live suite tells the two apart)."""
        headers = {"User-Agent": RAW_USER_AGENT}
        if self.system.profile.session_header:
            headers["X-OTRS-Header-SessionID"] = self.session_id
        else:
            params = {"SessionID": self.session_id, **params}
        return self.request("GET", url, params=params, headers=headers)

    def get(self, ticket_id: int) -> dict[str, Any]:
        url = f"{self.system.url}/Ticket/{ticket_id}"
        ticket: dict[str, Any] = self._check(self._get(url, {"AllArticles": 1}))["Ticket"][0]
        return ticket

    def search(self, criteria: dict[str, Any]) -> list[int]:
        route = self.system.profile.routes["TicketSearch"]
        url = self.system.url + route.path
        if route.method == "GET":
            found = self._get(url, dict(criteria)).json()
        else:
            found = self.request(route.method, url, json={"SessionID": self.session_id, **criteria}).json()
        return [int(i) for i in found.get("TicketID", [])]

    def close(self) -> None:
        """Nothing is held open (kept for symmetry with clients)."""


def _article(system: LabSystem, subject: str, body: str, *, visible: bool, sender: str = "agent") -> dict[str, Any]:
    fields = system.profile.article_fields
    return {
        **(fields.visible if visible else fields.internal),
        "SenderType": sender,
        "Subject": subject,
        "Body": body,
        "ContentType": "text/plain; charset=utf8",
    }


def close_by_hand(raw: RawGI, closure: HandClosure, *, title: str, attended_state: str = "Atendido") -> int:
    """Create a ticket and close it as ``closure`` says, request by request as the agent
    interface would: TicketCreate with the customer's request, then each step (a note with
    the attended state and its files at top level; the owner change with or without its
    note). Returns the TicketID."""
    import base64

    system = raw.system
    created = raw.create(
        {
            "Ticket": {
                "Title": title,
                "Queue": QUEUE,
                "State": "new",
                "Priority": "3 normal",
                "CustomerUser": CUSTOMER_USER,
            },
            "Article": _article(system, title, closure.request or REQUEST_BODY, visible=True, sender="customer"),
        }
    )
    ticket_id = int(created["TicketID"])
    for step in closure.steps:
        if isinstance(step, HandNote):
            body: dict[str, Any] = {
                "Ticket": {"State": attended_state},
                "Article": _article(system, step.subject, step.body, visible=step.visible),
            }
            if step.attachments:
                body["Attachment"] = [
                    {
                        "Content": base64.b64encode(f.content).decode(),
                        "ContentType": f.content_type,
                        "Filename": f.filename,
                    }
                    for f in step.attachments
                ]
            raw.update(ticket_id, body)
        else:
            body = {"Ticket": {"Owner": OWNER}} if step.change else {}
            if step.note:
                body["Article"] = _article(system, step.subject, step.body, visible=False)
            raw.update(ticket_id, body)
    return ticket_id
