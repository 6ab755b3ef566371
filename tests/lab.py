"""The lab's five real ticket systems as plain data (see ``shared/lab/README.md``).

Self-contained (stdlib only) so that any test can import it: the live suite
(``tests/test_live_*.py``) and the fake server's differential test use the same names.

    from lab import SYSTEMS, selected
    for system in selected():            # OTRS_CLOSURE_TEST_LAB_SYSTEMS, default all five
        system.webservice_url, system.users["tecnico1"], system.access_log

Nothing here talks to a server except :func:`psql` and :func:`console`, which run the
system's own PostgreSQL client or console (as root on the lab machine).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["System", "LabSystem", "SYSTEMS", "NAMES", "USERS", "PASSWORDS", "QUEUE", "STATE", "CUSTOMER_USER",
           "selected", "configured_systems", "skip_reason", "psql", "console", "LOG_SHM_KEY", "clear_bad_log_buffer"]

#: Seed data, the same on all five systems: login -> password.
USERS: dict[str, str] = {
    "tecnico1": "tecnico-pass",  # rw on mesa-de-servicio, the closing agent
    "agente.mesa": "agente-pass",  # rw, "Agente Mesa de Servicio": the owner after a closure
    "lector": "lector-pass",  # ro only
    "root@localhost": "root-pass",  # admin (not in mesa-de-servicio)
}
AGENT, OWNER, READ_ONLY = "tecnico1", "agente.mesa", "lector"
#: Every seeded login, the customer user's included (login -> password).
PASSWORDS: dict[str, str] = {**USERS, "cliente.demo": "cliente-pass"}
#: The FakeZnuny profile that models each system.
FAKE_PROFILES = {"znuny65": "znuny-6.5.10", "otrs6": "otrs-6.0.30", "otobo": "otobo-11.0.6", "otrs5": "otrs-5.0.8",
                 "znuny7": "znuny-7.1.7"}
LAB_ENV, LAB_SYSTEMS_ENV = "OTRS_CLOSURE_TEST_LAB", "OTRS_CLOSURE_TEST_LAB_SYSTEMS"
QUEUE = "Mesa de Servicio"
STATE = "Atendido"
GROUP = "mesa-de-servicio"
CUSTOMER_USER = "cliente.demo"
PRIORITY = "3 normal"


@dataclass(frozen=True)
class System:
    name: str  # the lab's name: znuny65, otrs6, otobo, otrs5, znuny7
    product: str  # "Znuny 6.5.10" ...
    generation: str  # "znuny6", "otrs6", "otobo11", "otrs5", "znuny7"
    port: int
    url_prefix: str  # "otrs", "otobo" or "znuny"
    webservice: str  # the web service the suite uses
    tree: str  # the code tree
    os_user: str
    console: str  # the console script inside the tree
    db_name: str
    db_user: str
    db_password: str
    group_table: str  # the table holding groups (differs per generation)
    access_log: str
    error_log: str
    header_session: bool  # honours X-OTRS-Header-SessionID
    note_dialect: str  # "ArticleType" (OTRS 5) or "CommunicationChannel"
    search_route: tuple[str, str]  # TicketSearch of the shipped example web service
    history_route: str | None  # TicketHistoryGet path, None if the example has none
    other_webservices: dict[str, str] = field(default_factory=dict)  # name -> what differs

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def gi_path(self) -> str:
        return f"/{self.url_prefix}/nph-genericinterface.pl/Webservice/{self.webservice}"

    @property
    def webservice_url(self) -> str:
        """The web service URL, as ``ClosureClient(base_url=...)`` accepts it."""
        return self.root_url + self.gi_path

    def url_of(self, webservice: str) -> str:
        return f"{self.root_url}/{self.url_prefix}/nph-genericinterface.pl/Webservice/{webservice}"

    @property
    def console_path(self) -> str:
        return str(Path(self.tree) / self.console)

    # -- as the fake's differential test names them ------------------------------------------
    @property
    def root(self) -> str:
        return self.root_url

    @property
    def url(self) -> str:
        return self.webservice_url

    @property
    def prefix(self) -> str:
        return self.url_prefix

    @property
    def version(self) -> str:
        return self.product.rsplit(" ", 1)[-1]

    @property
    def profile(self) -> str:
        """The FakeZnuny profile that models this system."""
        return FAKE_PROFILES[self.name]

    @property
    def users(self) -> dict[str, str]:
        return dict(USERS)


SYSTEMS: dict[str, System] = {
    s.name: s
    for s in (
        System(
            "znuny65", "Znuny 6.5.10", "znuny6", 8090, "otrs", "Stock65", "/opt/otrs", "otrs", "bin/otrs.Console.pl",
            "otrs", "otrs", "otrs-db-pass", "permission_groups", "/var/log/apache2/access.log",
            "/var/log/apache2/error.log", True, "CommunicationChannel", ("POST", "/Ticket/Search"),
            "/Ticket/History/:TicketID",
            {"GenericTicketConnectorREST": "the example plus TicketSearchGET (GET /Ticket)"},
        ),
        System(
            "otrs6", "OTRS 6.0.30", "otrs6", 8091, "otrs", "GenericTicketConnectorREST", "/opt/otrs6", "otrs6",
            "bin/otrs.Console.pl", "otrs6", "otrs6", "otrs6-db-pass", "groups", "/var/log/apache2-otrs6/access.log",
            "/var/log/apache2-otrs6/error.log", False, "CommunicationChannel", ("GET", "/Ticket"),
            "/TicketHistory/:TicketID",
        ),
        System(
            "otobo", "OTOBO 11.0.6", "otobo11", 8092, "otobo", "GenericTicketConnectorREST", "/opt/otobo", "otobo",
            "bin/otobo.Console.pl", "otobo", "otobo", "otobo-db-pass", "groups_table",
            "/var/log/apache2-otobo/access.log", "/var/log/apache2-otobo/error.log", False, "CommunicationChannel",
            ("GET", "/Ticket"), "/TicketHistory/:TicketID",
        ),
        System(
            "otrs5", "OTRS 5.0.8", "otrs5", 8093, "otrs", "GenericTicketConnectorREST", "/opt/otrs5", "otrs5",
            "bin/otrs.Console.pl", "otrs5", "otrs5", "otrs5-db-pass", "groups", "/var/log/apache2-otrs5/access.log",
            "/var/log/apache2-otrs5/error.log", False, "ArticleType", ("GET", "/Ticket"), None,
        ),
        System(
            "znuny7", "Znuny 7.1.7", "znuny7", 8094, "znuny", "GenericTicketConnectorREST", "/opt/znuny7", "znuny7",
            "bin/znuny.Console.pl", "znuny7", "znuny7", "znuny7-db-pass", "permission_groups",
            "/var/log/apache2-znuny7/access.log", "/var/log/apache2-znuny7/error.log", True, "CommunicationChannel",
            ("POST", "/Ticket/Search"), "/Ticket/History/:TicketID",
        ),
    )
}
NAMES: tuple[str, ...] = tuple(SYSTEMS)


def selected(environ: dict[str, str] | None = None) -> list[System]:
    """The systems named by ``OTRS_CLOSURE_TEST_LAB_SYSTEMS`` (comma-separated; default all
    five). An unknown name is an error, not silently dropped."""
    env = os.environ if environ is None else environ
    raw = env.get("OTRS_CLOSURE_TEST_LAB_SYSTEMS", "").strip()
    names = [n.strip() for n in raw.split(",") if n.strip()] if raw else list(NAMES)
    unknown = [n for n in names if n not in SYSTEMS]
    if unknown:
        raise ValueError(f"OTRS_CLOSURE_TEST_LAB_SYSTEMS: unknown lab system(s) {unknown}; known: {list(NAMES)}")
    return [SYSTEMS[n] for n in dict.fromkeys(names)]


LabSystem = System


def configured_systems(environ: dict[str, str] | None = None) -> list[System]:
    """The systems a live test should use: none unless ``OTRS_CLOSURE_TEST_LAB`` (the lab
    folder) or ``OTRS_CLOSURE_TEST_LAB_SYSTEMS`` is set."""
    env = os.environ if environ is None else environ
    lab, names = env.get(LAB_ENV, "").strip(), env.get(LAB_SYSTEMS_ENV, "").strip()
    if not lab and not names:
        return []
    if lab and not (Path(lab) / "up.sh").is_file():
        raise ValueError(f"{LAB_ENV}={lab!r} is not the lab folder (no up.sh there)")
    return selected(env)  # type: ignore[arg-type]


def skip_reason() -> str:
    """Why live lab tests are skipped when nothing is configured."""
    return f"no lab configured: set {LAB_ENV}=../shared/lab or {LAB_SYSTEMS_ENV}=znuny65,otrs6,otobo,otrs5,znuny7"


def psql(system: System, sql: str, *, timeout: float = 30) -> str:
    """Run SQL on the system's own database (over TCP, with its own role); returns the
    unaligned, tuples-only output."""
    out = subprocess.run(
        ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", system.db_user,
         "-d", system.db_name, "-c", sql],
        env={**os.environ, "PGPASSWORD": system.db_password}, capture_output=True, text=True, timeout=timeout,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{system.name}: psql failed: {out.stderr.strip()}")
    return out.stdout.strip()


def console(system: System, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the system's console (``bin/otrs.Console.pl`` & co.) as its OS user."""
    return subprocess.run(
        ["runuser", "-u", system.os_user, "--", "perl", system.console_path, *args],
        capture_output=True, text=True, timeout=timeout, cwd=system.tree,
    )


#: All five systems have SystemID 10, so their Kernel::System::Log ring buffers are one SysV
#: shared-memory segment (key '444423' . SystemID). Once any system has written bytes there
#: that do not decode to Latin-1 characters (invalid UTF-8, e.g. "Removed string containing
#: invalid utf8: …" after a Latin-1 request body, or any character above U+00FF), OTRS 5.0.8
#: and 6.0.30 die in Log.pm ("Wide character in shmwrite") on every request that logs something, and
#: answers an HTML 500 without a status line.
LOG_SHM_KEY = 44442310


def clear_bad_log_buffer() -> bool:
    """Empty the shared log buffer if it holds what makes OTRS 5 and 6 die (only the agent
    interface's "System Log" view reads it). True when it was cleared."""
    script = (
        f"my $id = shmget({LOG_SHM_KEY}, 0, 0); exit 2 unless defined $id; my $b; shmread($id, $b, 0, 32768) or exit 2;"
        " $b =~ s/\\0.*//s; my $c = $b; exit 0 if utf8::decode($c) && $c !~ /[^\\x00-\\xff]/;"
        " shmwrite($id, qq(\\0) x 32768, 0, 32768) or exit 3; exit 1"
    )
    done = subprocess.run(["perl", "-e", script], capture_output=True, text=True, timeout=30)
    return done.returncode == 1
