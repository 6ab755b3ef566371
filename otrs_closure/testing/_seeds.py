"""Ready-made worlds: the Mexico City service desk, and the exact servers of the recordings.

``service_desk`` adds the service desk's people and configuration on top of the initial
data with the same ids the live lab has (group 5 on Znuny, 4 on OTRS/OTOBO; queue 5, state
10, agents 2..4), so fixtures, recordings and the lab agree; ``like_recordings`` additionally
uses UTC, starts the clock when the profile's recordings started and, for Znuny 6.5, adds
the lab's extra ``GET /Ticket`` search route the 6.5.15 recordings used.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from otrs_closure.testing._profiles import get_profile
from otrs_closure.testing._routes import DEFAULT_ROUTES, TICKET_SEARCH_GET_ROUTE

if TYPE_CHECKING:  # pragma: no cover
    from otrs_closure.testing._fake import FakeZnuny

__all__ = [
    "seed_service_desk",
    "like_recordings",
    "SERVICE_DESK_GROUP",
    "SERVICE_DESK_QUEUE",
    "PASSWORDS",
    "RECORDING_START",
]

SERVICE_DESK_GROUP = "mesa-de-servicio"
SERVICE_DESK_QUEUE = "Mesa de Servicio"

#: The test passwords of the seeded users (the recordings mask them as ``********``).
PASSWORDS: dict[str, str] = {
    "agente.mesa": "agente-pass",
    "tecnico1": "tecnico-pass",
    "lector": "lector-pass",
    "root@localhost": "root-pass",
    "cliente.demo": "cliente-pass",
}

#: When the recordings' server had just been set up (2026-11-28 12:57:30 UTC).
RECORDING_START = datetime(2026, 11, 28, 12, 57, 30, tzinfo=timezone.utc).timestamp()

#: When each profile's recordings started (the dialect recordings were made on 2026-12-01).
_RECORDING_STARTS: dict[str, float] = {
    "otrs-6.0.30": datetime(2026, 12, 1, 6, 30, 12, tzinfo=timezone.utc).timestamp(),
    "otrs-5.0.8": datetime(2026, 12, 1, 6, 30, 50, tzinfo=timezone.utc).timestamp(),
    "otobo-11.0.6": datetime(2026, 12, 1, 6, 31, 47, tzinfo=timezone.utc).timestamp(),
    "znuny-7.1.7": datetime(2026, 12, 1, 6, 33, 32, tzinfo=timezone.utc).timestamp(),
}


def seed_service_desk(fake: FakeZnuny) -> FakeZnuny:
    """Add group, queue, agents, customer, ``Atendido`` state and NumeroSerie to ``fake``."""
    fake.add_group(SERVICE_DESK_GROUP, group_id=fake.profile.service_desk_group_id)
    fake.add_queue(SERVICE_DESK_QUEUE, group=SERVICE_DESK_GROUP, queue_id=5)
    fake.add_agent(
        "agente.mesa",
        "Agente",
        "Mesa de Servicio",
        PASSWORDS["agente.mesa"],
        email="agente.mesa@example.com",
        groups={SERVICE_DESK_GROUP: "rw"},
        user_id=2,
    )
    fake.add_agent(
        "tecnico1",
        "Juan",
        "Pérez",
        PASSWORDS["tecnico1"],
        email="tecnico1@example.com",
        groups={SERVICE_DESK_GROUP: "rw"},
        user_id=3,
    )
    fake.add_agent(
        "lector",
        "Lector",
        "Solo",
        PASSWORDS["lector"],
        email="lector@example.com",
        groups={SERVICE_DESK_GROUP: "ro"},
        user_id=4,
    )
    fake.credentials["root@localhost"] = fake.store.agents[1].password
    fake.add_customer_user(
        "cliente.demo",
        "Cliente",
        "Demo",
        "cliente.demo@example.com",
        "CLIENTE-DEMO",
        password=PASSWORDS["cliente.demo"],
    )
    fake.add_state("Atendido", "open", state_id=10)
    fake.add_dynamic_field("NumeroSerie", field_type="Text", object_type="Ticket")
    return fake


def like_recordings(cls: type[FakeZnuny], **kwargs: Any) -> FakeZnuny:
    """A fake identical to the server the profile's recordings were made on."""
    profile = get_profile(kwargs.get("profile"))
    options: dict[str, Any] = {
        "timezone": "UTC",
        "start_time": _RECORDING_STARTS.get(profile.name, RECORDING_START),
        "root_password": PASSWORDS["root@localhost"],
    }
    if profile.routes == DEFAULT_ROUTES:  # Znuny 6.5: the lab's extra GET search (recording 31)
        options["routes"] = (*DEFAULT_ROUTES, TICKET_SEARCH_GET_ROUTE)
    options.update(kwargs)
    return seed_service_desk(cls(**options))
