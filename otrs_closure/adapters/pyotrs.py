"""Adopt an existing ``pyotrs.Client``: the same server, web service, routes, agent,
TLS and timeout settings, as :class:`~otrs_closure.ClosureSettings` — so a pyotrs
script gains typed, idempotent closures with one line::

    closer = ClosureClient.from_pyotrs(pyotrs_client, owner_login="agente.mesa")

Only pyotrs's public attributes are read, and nothing of its session: the closure
client logs in on its own (one GenericInterface session of its own). Needs the
``pyotrs`` extra (``pip install otrs_closure[pyotrs]``).
"""

from __future__ import annotations

from typing import Any

from otrs_closure.errors import InputError
from otrs_closure.servers import OPERATIONS
from otrs_closure.settings import ClosureSettings

__all__ = ["settings_from_pyotrs"]


def _default_routes() -> dict[str, Any]:
    try:
        from pyotrs.lib import TICKET_CONNECTOR_CONFIG_DEFAULT
    except ImportError:  # pragma: no cover - an older or newer pyotrs
        return {}
    return dict(TICKET_CONNECTOR_CONFIG_DEFAULT.get("Config", {}))


def settings_from_pyotrs(client: Any, *, owner_login: str, **options: Any) -> ClosureSettings:
    """:class:`ClosureSettings` for the server that ``client`` (a ``pyotrs.Client``) talks
    to. Routes are taken only when the script configured its own web service (pyotrs's
    default table is OTRS 6's; left out, the closure client learns the server's).
    ``options`` override any setting."""
    try:
        import pyotrs
    except ImportError:
        raise InputError("pyotrs", "install the pyotrs extra: pip install 'otrs_closure[pyotrs]'") from None
    if not isinstance(client, pyotrs.Client):
        raise InputError("client", "must be a pyotrs.Client")
    values: dict[str, Any] = {
        "base_url": client.baseurl,
        "gi_path": str(client.webservice_path).rstrip("/") + "/" + str(client.ws_ticket),
        "webservice": str(client.ws_ticket),
        "username": client.username,
        "password": client.password,
        "owner_login": owner_login,
    }
    config = {op: c for op, c in dict(client.ws_config or {}).items() if op in OPERATIONS}
    if config != {op: c for op, c in _default_routes().items() if op in OPERATIONS}:
        values["routes"] = {
            op: {"method": str(c["RequestMethod"]).upper(), "path": str(c["Route"])}
            for op, c in config.items()
            if isinstance(c, dict) and "RequestMethod" in c and "Route" in c
        }
    verify = client.https_verify
    if verify is False:
        values["verify_tls"] = False
    elif isinstance(verify, str):
        values["ca_bundle"] = verify
    timeout = client.request_timeout
    if isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
        values["connect_timeout"] = values["read_timeout"] = float(timeout)
    elif isinstance(timeout, tuple) and len(timeout) == 2:
        values["connect_timeout"], values["read_timeout"] = float(timeout[0]), float(timeout[1])
    if client.user_agent:
        values["user_agent"] = str(client.user_agent)
    values.update(options)
    return ClosureSettings.build(**values)
