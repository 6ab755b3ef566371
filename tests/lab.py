"""The five real ticket systems of the lab (``../shared/lab``), as data for live tests.

Self-contained: what ``../shared/lab/README.md`` says about each system (URL, seeded users
and passwords, logs, the ids that differ), so a live test needs nothing but this module.
A live test asks :func:`configured_systems` which systems to use; none are configured
unless the environment says so:

* ``OTRS_CLOSURE_TEST_LAB`` -- path of the lab folder (e.g. ``../shared/lab``): all five;
* ``OTRS_CLOSURE_TEST_LAB_SYSTEMS`` -- a comma list of system names (``znuny65,otrs6``):
  those (alone, or narrowing ``OTRS_CLOSURE_TEST_LAB``).

The lab is shared: create your own tickets, never rely on ids, never reset it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "LabSystem",
    "SYSTEMS",
    "LAB_ENV",
    "LAB_SYSTEMS_ENV",
    "PASSWORDS",
    "configured_systems",
    "skip_reason",
]

LAB_ENV = "OTRS_CLOSURE_TEST_LAB"
LAB_SYSTEMS_ENV = "OTRS_CLOSURE_TEST_LAB_SYSTEMS"

#: The seeded users of every system (login -> password).
PASSWORDS: dict[str, str] = {
    "root@localhost": "root-pass",
    "agente.mesa": "agente-pass",
    "tecnico1": "tecnico-pass",
    "lector": "lector-pass",
    "cliente.demo": "cliente-pass",
}


@dataclass(frozen=True)
class LabSystem:
    """One system of the lab."""

    name: str
    product: str
    version: str
    #: The FakeZnuny profile that models it.
    profile: str
    port: int
    #: URL path prefix before ``nph-genericinterface.pl`` (``otrs``, ``otobo``, ``znuny``).
    prefix: str
    webservice: str
    access_log: Path
    error_log: Path
    group_id: int
    dynamic_field_id: int
    #: Other web services on the system (name -> what differs).
    other_webservices: Mapping[str, str] = field(default_factory=dict)
    host: str = "127.0.0.1"

    @property
    def root(self) -> str:
        """``http://host:port``."""
        return f"http://{self.host}:{self.port}"

    def webservice_url(self, webservice: str | None = None) -> str:
        """URL of a web service (default: the one the lab uses for this system)."""
        name = webservice or self.webservice
        return f"{self.root}/{self.prefix}/nph-genericinterface.pl/Webservice/{name}"

    @property
    def url(self) -> str:
        """URL of the system's example web service."""
        return self.webservice_url()

    @property
    def users(self) -> dict[str, str]:
        """Seeded users (login -> password)."""
        return dict(PASSWORDS)


SYSTEMS: dict[str, LabSystem] = {
    system.name: system
    for system in (
        LabSystem(
            "znuny65",
            "Znuny",
            "6.5.10",
            "znuny-6.5.10",
            8090,
            "otrs",
            "Stock65",
            Path("/var/log/apache2/access.log"),
            Path("/var/log/apache2/error.log"),
            group_id=5,
            dynamic_field_id=6,
            other_webservices={"GenericTicketConnectorREST": "Stock65 plus TicketSearchGET (GET /Ticket)"},
        ),
        LabSystem(
            "otrs6",
            "OTRS",
            "6.0.30",
            "otrs-6.0.30",
            8091,
            "otrs",
            "GenericTicketConnectorREST",
            Path("/var/log/apache2-otrs6/access.log"),
            Path("/var/log/apache2-otrs6/error.log"),
            group_id=4,
            dynamic_field_id=3,
        ),
        LabSystem(
            "otobo",
            "OTOBO",
            "11.0.6",
            "otobo-11.0.6",
            8092,
            "otobo",
            "GenericTicketConnectorREST",
            Path("/var/log/apache2-otobo/access.log"),
            Path("/var/log/apache2-otobo/error.log"),
            group_id=4,
            dynamic_field_id=3,
        ),
        LabSystem(
            "otrs5",
            "OTRS",
            "5.0.8",
            "otrs-5.0.8",
            8093,
            "otrs",
            "GenericTicketConnectorREST",
            Path("/var/log/apache2-otrs5/access.log"),
            Path("/var/log/apache2-otrs5/error.log"),
            group_id=4,
            dynamic_field_id=3,
        ),
        LabSystem(
            "znuny7",
            "Znuny",
            "7.1.7",
            "znuny-7.1.7",
            8094,
            "znuny",
            "GenericTicketConnectorREST",
            Path("/var/log/apache2-znuny7/access.log"),
            Path("/var/log/apache2-znuny7/error.log"),
            group_id=5,
            dynamic_field_id=6,
        ),
    )
}


def configured_systems(environ: Mapping[str, str] | None = None) -> list[LabSystem]:
    """The lab systems the environment names (empty: no live lab tests). Unknown names in
    ``OTRS_CLOSURE_TEST_LAB_SYSTEMS`` are an error, not silently dropped."""
    env = os.environ if environ is None else environ
    lab = env.get(LAB_ENV, "").strip()
    names_text = env.get(LAB_SYSTEMS_ENV, "").strip()
    if not lab and not names_text:
        return []
    if lab and not (Path(lab) / "up.sh").is_file():
        raise ValueError(f"{LAB_ENV}={lab!r} is not the lab folder (no up.sh there)")
    if not names_text:
        return list(SYSTEMS.values())
    names = [n.strip() for n in names_text.split(",") if n.strip()]
    unknown = [n for n in names if n not in SYSTEMS]
    if unknown:
        raise ValueError(f"{LAB_SYSTEMS_ENV}: unknown lab system(s) {unknown} (known: {', '.join(SYSTEMS)})")
    return [SYSTEMS[n] for n in names]


def skip_reason() -> str:
    """Why live lab tests are skipped when nothing is configured."""
    return f"no lab configured: set {LAB_ENV}=../shared/lab or {LAB_SYSTEMS_ENV}=znuny65,otrs6,otobo,otrs5,znuny7"
