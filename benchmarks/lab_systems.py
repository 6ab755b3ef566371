"""The servers ``run.py --live`` measures: the lab's five systems (their data from
``tests/lab.py``, shared with the live suite), or one server named with the live suite's
variables.

Configuration, the same variables as the live suite (``tests/test_live_*.py``):

* one server: ``OTRS_CLOSURE_TEST_BASE_URL`` (the web service URL), ``_USERNAME``,
  ``_PASSWORD``, ``_OWNER_LOGIN``; optional ``_QUEUE``, ``_CUSTOMER_USER``, ``_ACCESS_LOG``
  (the server's Apache access log with ``%D`` last, for the server's own time per request)
  and ``_SERVER`` (the generation: otrs5, otrs6, otobo, znuny65, znuny7; default guessed
  from the URL, as the floor and the pyotrs script need to know the search route and the
  note fields — they do not learn them);
* the lab: ``OTRS_CLOSURE_TEST_LAB=<lab folder>`` and optionally
  ``OTRS_CLOSURE_TEST_LAB_SYSTEMS=znuny65,otrs6,...`` (default: all five);
* neither: the lab's Znuny 6.5.10 (``znuny65``, web service ``GenericTicketConnectorREST``).

On the lab the benchmark closes tickets as an agent of its own, :data:`BENCH_AGENT`
(created idempotently through each system's console, rw on ``mesa-de-servicio``), so
that its sessions never count against the sessions of the agents other engineers test
with (OTRS 5 refuses SessionCreate beyond 20 active sessions per agent and 100 in all
within 10 minutes).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from procstat import ServerCPU

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import lab  # noqa: E402 - the lab's data, shared with the live suite

from otrs_closure import PROFILES  # noqa: E402

__all__ = ["LabSystem", "SYSTEMS", "Target", "targets_from_env", "BENCH_AGENT", "BENCH_PASSWORD"]

BENCH_AGENT, BENCH_PASSWORD = "bench.tecnico", "bench-pass"
OWNER = "agente.mesa"
QUEUE = "Mesa de Servicio"
GROUP = "mesa-de-servicio"
CUSTOMER_USER = "cliente.demo"


@dataclass(frozen=True)
class LabSystem:
    name: str
    product: str
    port: int
    prefix: str  # the URL path prefix: otrs, otobo, znuny
    tree: str
    os_user: str
    console: str  # relative to the tree
    db: str  # database = role
    db_password: str
    access_log: str
    search: tuple[str, str]  # the shipped example's TicketSearch (method, route)
    article_fields: str  # "article_type" (OTRS 5) or "channel"
    keep_alive: bool  # the shipped web service's KeepAlive
    session_limit: bool  # counts GenericInterface sessions against AgentSessionPerUserLimit
    pidfile: str  # Apache's
    max_request: int = 100_000_000  # the largest request body it accepts (the web service's MaxLength)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{self.prefix}/nph-genericinterface.pl/Webservice/GenericTicketConnectorREST"


#: What the benchmark needs beyond ``tests/lab.py``: keeps connections alive (the shipped
#: web service's KeepAlive), counts GenericInterface sessions against
#: AgentSessionPerUserLimit, and Apache's pid file (for the server's CPU).
_BENCH_FACTS = {
    "znuny65": (True, False, "/var/run/apache2/apache2.pid"),
    "otrs6": (False, False, "/run/apache2-otrs6/apache2.pid"),
    "otobo": (False, False, "/run/apache2-otobo/apache2.pid"),
    "otrs5": (False, True, "/run/apache2-otrs5/apache2.pid"),
    "znuny7": (True, False, "/run/apache2-znuny7/apache2.pid"),
}


def _from_lab(s: lab.System) -> LabSystem:
    keep_alive, session_limit, pidfile = _BENCH_FACTS[s.name]
    limit = PROFILES[s.name].request_limit or 100_000_000  # OTOBO's WebMaxFileUpload caps every request
    fields = "article_type" if s.note_dialect == "ArticleType" else "channel"
    return LabSystem(s.name, s.product, s.port, s.url_prefix, s.tree, s.os_user, s.console, s.db_user,
                     s.db_password, s.access_log, s.search_route, fields, keep_alive, session_limit, pidfile,
                     limit)  # fmt: skip


SYSTEMS: dict[str, LabSystem] = {name: _from_lab(s) for name, s in lab.SYSTEMS.items()}

_ZNUNY, _OTRS = lab.SYSTEMS["znuny65"].search_route, lab.SYSTEMS["otrs6"].search_route
_GENERATION_SEARCH = {"otrs5": _OTRS, "otrs6": _OTRS, "otobo": _OTRS, "znuny65": _ZNUNY, "znuny7": _ZNUNY}


@dataclass
class Target:
    """One server to measure."""

    name: str
    product: str
    url: str  # the web service URL
    username: str
    password: str
    owner: str
    search: tuple[str, str]
    article_fields: str
    queue: str = QUEUE
    customer_user: str = CUSTOMER_USER
    access_log: str | None = None
    max_request: int = 100_000_000
    system: LabSystem | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def cpu(self) -> ServerCPU | None:
        """The server's CPU counter (a lab system on this machine), else None."""
        if self.system is None or not os.path.exists(self.system.pidfile):
            return None
        return ServerCPU(self.system.pidfile, self.system.db)

    # -- the lab only ---------------------------------------------------------------------
    def psql(self, sql: str) -> str:
        """SQL on the system's own database, as its own role."""
        assert self.system is not None
        s = self.system
        out = subprocess.run(
            ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", s.db, "-d", s.db,
             "-c", sql],
            env={**os.environ, "PGPASSWORD": s.db_password}, capture_output=True, text=True, timeout=60,
        )
        if out.returncode:
            raise RuntimeError(f"{s.name}: psql: {out.stderr.strip()}")
        return out.stdout.strip()

    def console(self, *args: str) -> subprocess.CompletedProcess[str]:
        assert self.system is not None
        s = self.system
        return subprocess.run(["runuser", "-u", s.os_user, "--", "perl", str(Path(s.tree) / s.console), *args],
                              capture_output=True, text=True, timeout=180, cwd=s.tree)

    def end_sessions(self, session_ids: list[str]) -> None:
        """Log out sessions this benchmark created (OTRS 5 has no SessionRemove route): the
        pyotrs script creates one per closure, and OTRS 5 counts each against its limits
        for 10 minutes. Only the given SessionIDs, created by the benchmark's own agent."""
        ids = [s for s in session_ids if s and s.isalnum()]
        if self.system is None or not self.system.session_limit or not ids:
            return
        self.psql("DELETE FROM sessions WHERE session_id IN (" + ",".join(f"'{s}'" for s in ids) + ")")


def _guess_generation(url: str) -> str:
    path = url.lower()
    if "/otobo/" in path:
        return "otobo"
    if "/znuny/" in path:
        return "znuny7"
    return "znuny65"


def _lab_target(system: LabSystem) -> Target:
    return Target(system.name, system.product, system.url, BENCH_AGENT, BENCH_PASSWORD, OWNER, system.search,
                  system.article_fields, access_log=system.access_log, max_request=system.max_request, system=system)


def targets_from_env(environ: dict[str, str] | None = None, names: list[str] | None = None) -> list[Target]:
    """The servers to measure: ``names`` (lab systems, or ``all``), else the variables above."""
    env = dict(os.environ if environ is None else environ)
    p = "OTRS_CLOSURE_TEST_"
    if names:
        chosen = list(SYSTEMS) if names == ["all"] else names
    elif env.get(p + "LAB") or env.get(p + "LAB_SYSTEMS"):
        raw = env.get(p + "LAB_SYSTEMS", "").strip()
        chosen = [n.strip() for n in raw.split(",") if n.strip()] if raw else list(SYSTEMS)
    elif env.get(p + "BASE_URL"):
        missing = [n for n in ("USERNAME", "PASSWORD", "OWNER_LOGIN") if not env.get(p + n)]
        if missing:
            raise SystemExit(f"OTRS_CLOSURE_TEST_BASE_URL is set but not {', '.join(p + m for m in missing)}")
        url = env[p + "BASE_URL"].rstrip("/")
        gen = env.get(p + "SERVER") or _guess_generation(url)
        if gen not in _GENERATION_SEARCH:
            raise SystemExit(f"{p}SERVER: one of {', '.join(_GENERATION_SEARCH)}")
        return [Target(gen, env.get(p + "NAME", gen), url, env[p + "USERNAME"], env[p + "PASSWORD"],
                       env[p + "OWNER_LOGIN"], _GENERATION_SEARCH[gen],
                       "article_type" if gen == "otrs5" else "channel",
                       queue=env.get(p + "QUEUE", QUEUE), customer_user=env.get(p + "CUSTOMER_USER", CUSTOMER_USER),
                       access_log=env.get(p + "ACCESS_LOG"))]
    else:
        chosen = ["znuny65"]
    unknown = [n for n in chosen if n not in SYSTEMS]
    if unknown:
        raise SystemExit(f"unknown lab system(s) {unknown}; known: {', '.join(SYSTEMS)}")
    return [_lab_target(SYSTEMS[n]) for n in dict.fromkeys(chosen)]
