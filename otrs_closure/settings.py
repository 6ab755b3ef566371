"""ClosureSettings: every knob, its default, and its ``OTRS_CLOSURE_*`` variable.

Each field ``name`` is read by :meth:`ClosureSettings.from_env` from the variable
``OTRS_CLOSURE_<NAME>`` (upper case); dict-valued fields take JSON there.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from otrs_closure.errors import InputError

__all__ = ["ClosureSettings", "Route", "DEFAULT_ROUTES", "ENV_PREFIX", "shown_variable"]

ENV_PREFIX = "OTRS_CLOSURE_"

_CONVENTIONAL_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def shown_variable(name: str) -> str:
    """How to name, in a message, a variable that should hold an onboarding password:
    ``name`` itself when it looks like one (upper case, digits, ``_``), otherwise a
    stand-in — what was written where a variable's name belongs is often the password."""
    return name if _CONVENTIONAL_NAME.match(name) else "the variable it names"


HttpMethod = Literal["GET", "POST", "PATCH", "PUT", "DELETE"]


class Route(BaseModel):
    """Where one GenericInterface operation is served: method and route template."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: HttpMethod
    path: str

    @field_validator("path")
    @classmethod
    def _starts_with_slash(cls, v: str) -> str:
        if not v.startswith("/"):
            raise ValueError("a route starts with '/'")
        return v


# The web service example that Znuny 6.5.15 installs
# (var/webservices/examples/GenericTicketConnectorREST.yml), as recorded live.
DEFAULT_ROUTES: dict[str, Route] = {
    "SessionCreate": Route(method="POST", path="/Session"),
    "SessionGet": Route(method="GET", path="/Session/:SessionID"),
    "TicketCreate": Route(method="POST", path="/Ticket"),
    "TicketGet": Route(method="GET", path="/Ticket/:TicketID"),
    "TicketSearch": Route(method="POST", path="/Ticket/Search"),
    "TicketUpdate": Route(method="PATCH", path="/Ticket/:TicketID"),
    "TicketHistoryGet": Route(method="GET", path="/Ticket/History/:TicketID"),
}


class ClosureSettings(BaseModel):
    """Connection, labels and behaviour of a :class:`~otrs_closure.ClosureClient`."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    base_url: str = Field(
        description="Server root, e.g. https://mesa.example.gob.mx (a whole web service URL is split into "
        "base_url, gi_path and webservice)"
    )
    username: str = Field(description="Login of the closing agent")
    password: SecretStr = Field(description="Password of the closing agent")
    owner_login: str = Field(description="Login of the agent 'Agente Mesa de Servicio'")
    webservice: str = Field("GenericTicketConnectorREST", description="Web service name")
    gi_path: str | None = Field(
        None,
        description="GenericInterface path; default /otrs/nph-genericinterface.pl/Webservice/<webservice>",
    )
    routes: dict[str, Route] = Field(
        default_factory=lambda: dict(DEFAULT_ROUTES),
        description="Method and route per operation (merged over the 6.5.15 defaults)",
    )
    attended_state: str = Field("Atendido", description="State set with the closure note")
    note_subject: str = Field("Atendido", description="Subject of the closure note")
    owner_subject: str = Field("Se modifica propietario", description="Subject of the owner-change note")
    owner_body: str = Field("Se modifica propietario", description="Text of the owner-change note")
    note_visible_for_customer: bool = Field(False, description="IsVisibleForCustomer of both notes")
    require_formats: bool = Field(False, description="Require the two format files for every kind")
    server_timezone: str = Field("America/Mexico_City", description="Timezone of the server's clock")
    connect_timeout: float = Field(5.0, gt=0, description="Seconds to connect")
    read_timeout: float = Field(60.0, gt=0, description="Seconds to wait for an answer")
    verify_tls: bool = Field(True, description="Verify the server's TLS certificate")
    ca_bundle: Path | None = Field(None, description="CA bundle file for TLS verification")
    max_request_bytes: int = Field(100_000_000, gt=0, description="The web service's MaxLength")
    retry_attempts: int = Field(4, ge=1, le=20, description="Attempts per request, first included")
    retry_max_seconds: float = Field(60.0, gt=0, description="Time budget for one request's retries")
    retry_backoff: float = Field(0.5, ge=0, description="First backoff wait in seconds (doubles)")
    retry_backoff_max: float = Field(8.0, ge=0, description="Longest backoff wait in seconds")
    retry_after_max: float = Field(30.0, ge=0, description="Longest Retry-After honoured, seconds")
    retry_write_settle: float = Field(
        2.0, ge=0, description="Least wait before re-reading the ticket after a write whose outcome is unknown"
    )
    user_agent: str = Field("otrs-closure", description="User-Agent header")
    lock_dir: Path | None = Field(
        None,
        description="Directory for per-ticket lock files (POSIX flock): closures of one ticket by "
        "processes on this host that share it run one after the other",
    )
    preflight: bool = Field(
        True,
        description="Before the first write, check once per client with a TicketUpdate the server "
        "must reject (no write) that attended_state and owner_login exist",
    )

    @model_validator(mode="before")
    @classmethod
    def _split_service_url(cls, data: Any) -> Any:
        """Accept the whole web service URL as base_url (what Znuny's admin screen shows):
        ``…/nph-genericinterface.pl/Webservice/<name>`` is split into base_url, gi_path
        and webservice, unless those were given."""
        if not isinstance(data, dict) or not isinstance(data.get("base_url"), str):
            return data
        parts = urlsplit(data["base_url"].strip())
        match = re.search(r"/nph-genericinterface\.pl/Webservice(?:ID)?/([^/?#]+)/*$", parts.path)
        if not match:
            return data
        data = dict(data)
        data["base_url"] = f"{parts.scheme}://{parts.netloc}"
        data.setdefault("gi_path", parts.path.rstrip("/"))
        if "/WebserviceID/" not in parts.path:
            data.setdefault("webservice", unquote(match.group(1)))
        return data

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, v: str) -> str:
        parts = urlsplit(v.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http(s) URL such as https://mesa.example.gob.mx")
        return v.strip().rstrip("/")

    @field_validator(
        "username", "owner_login", "webservice", "attended_state", "note_subject", "owner_subject", "owner_body"
    )
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v or not v.strip():
            raise ValueError("must not be blank")
        if "\x00" in v:  # PostgreSQL cannot store it: the server would fail half-way
            raise ValueError("must not contain a NUL character")
        return v.strip()

    @field_validator("password")
    @classmethod
    def _password_not_blank(cls, v: SecretStr) -> SecretStr:
        if not v.get_secret_value():
            raise ValueError("must not be blank")
        return v

    @field_validator("server_timezone")
    @classmethod
    def _check_tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {v!r}") from exc
        return v

    @field_validator("routes", mode="before")
    @classmethod
    def _merge_routes(cls, v: Any) -> Any:
        if isinstance(v, Mapping):
            merged: dict[str, Any] = dict(DEFAULT_ROUTES)
            merged.update(v)
            return merged
        return v

    @field_validator("routes")
    @classmethod
    def _credentials_not_in_urls(cls, v: dict[str, Route]) -> dict[str, Route]:
        # A GET carries its parameters in the URL, where the password would reach access
        # logs, proxies, urllib3's DEBUG log and the text of connection errors.
        if v["SessionCreate"].method == "GET":
            raise ValueError("SessionCreate must not be GET: it would put the agent's password in the URL")
        return v

    @field_validator("ca_bundle", "lock_dir")
    @classmethod
    def _absolute(cls, v: Path | None) -> Path | None:
        # Resolved once, against the directory they are checked in: a later chdir of the
        # process must not change which bundle is trusted or which directory locks.
        return v.expanduser().absolute() if v is not None else None

    @model_validator(mode="after")
    def _check_ca_bundle(self) -> ClosureSettings:
        if self.ca_bundle is not None and not self.ca_bundle.is_file():
            raise ValueError(f"ca_bundle: no such file {self.ca_bundle}")
        return self

    @model_validator(mode="after")
    def _check_lock_dir(self) -> ClosureSettings:
        if self.lock_dir is not None:
            if not self.lock_dir.is_dir():
                raise ValueError(f"lock_dir: no such directory {self.lock_dir}")
            try:
                import fcntl  # noqa: F401
            except ImportError:
                raise ValueError("lock_dir: needs a POSIX system (fcntl.flock)") from None
        return self

    # -- derived -----------------------------------------------------------------
    @property
    def service_url(self) -> str:
        """Base URL + GenericInterface path: the prefix of every route."""
        path = self.gi_path or f"/otrs/nph-genericinterface.pl/Webservice/{self.webservice}"
        return self.base_url + "/" + path.strip("/")

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.server_timezone)

    @property
    def tls_verify(self) -> bool | str:
        """The value for requests' ``verify``: a CA bundle path, or the flag."""
        if not self.verify_tls:
            return False
        return str(self.ca_bundle) if self.ca_bundle else True

    # -- construction --------------------------------------------------------------
    @classmethod
    def build(cls, **values: Any) -> ClosureSettings:
        """Validate ``values``; a problem becomes an :class:`InputError` naming the field."""
        try:
            return cls(**values)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"])
            msg = str(err["msg"]).removeprefix("Value error, ")
            if not field:  # a model validator: its message starts with "<field>: "
                name, sep, rest = msg.partition(": ")
                field, msg = (name, rest) if sep and name in cls.model_fields else ("settings", msg)
        # Raised outside the handler: pydantic's error, which quotes the inputs (the
        # password among them), must not ride along as the InputError's __context__.
        raise InputError(field, msg)

    @classmethod
    def env_values(cls, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The settings found in ``OTRS_CLOSURE_*`` variables (unset ones left out)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, field in cls.model_fields.items():
            raw = env.get(ENV_PREFIX + name.upper())
            if raw is None or raw == "":
                continue
            if field.annotation is not None and "dict" in str(field.annotation):
                try:
                    values[name] = json.loads(raw)
                except json.JSONDecodeError:
                    raise InputError(ENV_PREFIX + name.upper(), "must be JSON") from None
            else:
                values[name] = raw
        return values

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> ClosureSettings:
        """Settings from ``OTRS_CLOSURE_*`` variables, with keyword overrides on top."""
        values = cls.env_values(environ)
        values.update({k: v for k, v in overrides.items() if v is not None})
        missing = [n for n in ("base_url", "username", "password", "owner_login") if n not in values]
        if missing:
            raise InputError(ENV_PREFIX + missing[0].upper(), "is not set")
        return cls.build(**values)
