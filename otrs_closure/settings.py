"""ClosureSettings: every knob, its default, and its ``OTRS_CLOSURE_*`` variable.

Each field ``name`` is read by :meth:`ClosureSettings.from_env` from the variable
``OTRS_CLOSURE_<NAME>`` (upper case); dict-valued fields take JSON there.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from otrs_closure import manual
from otrs_closure.errors import InputError
from otrs_closure.servers import NOTE_CONTENT_TYPE, OPERATIONS, PROFILES, Route

__all__ = [
    "ClosureSettings",
    "Route",
    "ENV_PREFIX",
    "ONBOARDING_PASSWORD_ENV",
    "SettingsWarning",
    "shown_variable",
    "check_password_variable",
]

log = logging.getLogger("otrs_closure.settings")

ENV_PREFIX = "OTRS_CLOSURE_"
#: The variable the CLI reads an onboarding password from by default; a manifest's
#: ``password_env`` may name it or ``ONBOARDING_PASSWORD_ENV + "_<NAME>"``, nothing else.
ONBOARDING_PASSWORD_ENV = "OTRS_CLOSURE_ONBOARDING_PASSWORD"
_PASSWORD_VARIABLE = re.compile(rf"{ONBOARDING_PASSWORD_ENV}(_[A-Z0-9_]+)?")
# OTRS_CLOSURE_* names that are not settings: the test suite's, and onboarding passwords.
_NOT_SETTINGS = re.compile(rf"{ENV_PREFIX}TEST_\w*|{ONBOARDING_PASSWORD_ENV}\w*")


class SettingsWarning(UserWarning):
    """A setting that is probably a mistake (a misspelled variable, plain http to another host)."""


_CONVENTIONAL_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def check_password_variable(name: str) -> str:
    """``name`` if it may carry an onboarding password (``OTRS_CLOSURE_ONBOARDING_PASSWORD``
    or ``OTRS_CLOSURE_ONBOARDING_PASSWORD_<NAME>``); :class:`InputError` otherwise, so
    that no manifest can write another variable (the agent's own password, ``HOME``…)
    into a note."""
    if not _PASSWORD_VARIABLE.fullmatch(name):
        raise InputError(
            "password_env",
            f"{shown_variable(name)} may not hold an onboarding password: use {ONBOARDING_PASSWORD_ENV} "
            f"or {ONBOARDING_PASSWORD_ENV}_<NAME> (upper case, digits, _)",
        )
    return name


def shown_variable(name: str) -> str:
    """How to name, in a message, a variable that should hold an onboarding password:
    ``name`` itself when it looks like one (upper case, digits, ``_``), otherwise a
    stand-in — what was written where a variable's name belongs is often the password."""
    return name if _CONVENTIONAL_NAME.match(name) else "the variable it names"


class ClosureSettings(BaseModel):
    """Connection, labels and behaviour of a :class:`~otrs_closure.ClosureClient`."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True, hide_input_in_errors=True)

    base_url: str = Field(
        description="The web service URL, e.g. https://mesa.example.gob.mx/otrs/nph-genericinterface.pl/Webservice/"
        "GenericTicketConnectorREST (split into base_url, gi_path and webservice), or the server root"
    )
    username: str = Field(description="Login of the closing agent")
    password: SecretStr = Field(description="Password of the closing agent")
    owner_login: str = Field(description="Login of the agent 'Agente Mesa de Servicio'")
    webservice: str = Field("GenericTicketConnectorREST", description="Web service name")
    gi_path: str | None = Field(
        None,
        description="GenericInterface path; default /otrs/nph-genericinterface.pl/Webservice/<webservice>",
    )
    server: str | None = Field(
        None,
        description="The server's generation (otrs5, otrs6, otobo, znuny65, znuny7); default: learned by reading",
    )
    routes: dict[str, Route] = Field(
        default_factory=dict,
        description="Method and route per operation, over the server's (TicketSearch: learned when not given)",
    )
    article_fields: Literal["article_type", "channel"] | None = Field(
        None,
        description="How notes are marked internal: article_type (OTRS 5) or channel (6+); default: "
        "learned from the ticket's articles",
    )
    session_header: bool | None = Field(
        None,
        description="Send the SessionID of GET requests in X-OTRS-Header-SessionID (Znuny) instead of "
        "the URL; default: learned on the first read",
    )
    note_content_type: str = Field(NOTE_CONTENT_TYPE, description="ContentType of the notes")
    attended_state: str = Field(manual.ATTENDED_STATE, description="State set with the closure note")
    note_subject: str = Field(manual.NOTE_SUBJECT, description="Subject of the closure note")
    owner_subject: str = Field(manual.OWNER_SUBJECT, description="Subject of the owner-change note")
    owner_body: str = Field(manual.OWNER_BODY, description="Text of the owner-change note")
    note_visible_for_customer: bool = Field(
        False, description="Make both notes visible to the customer (refused for a note carrying a password)"
    )
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
    retry_write_poll: float = Field(
        10.0,
        ge=0,
        description="After a write whose outcome is unknown, how long to keep re-reading the ticket for it "
        "to appear before resending it",
    )
    max_answer_bytes: int = Field(512 * 1024 * 1024, gt=0, description="Largest answer read from the server")
    user_agent: str = Field("otrs-closure", description="User-Agent header")
    lock_dir: Path | None = Field(
        None,
        description="Directory for per-ticket lock files (POSIX flock): closures of one ticket by "
        "processes on this host that share it run one after the other",
    )
    preflight: bool = Field(
        True,
        description="Before the first write, check once per client with a TicketUpdate every server "
        "rejects before writing that attended_state and owner_login exist",
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
        v = v.strip()
        if any(c.isspace() or ord(c) < 32 for c in v):
            raise ValueError("must be a URL without blanks or control characters")
        try:
            parts = urlsplit(v)
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError:
            raise ValueError("must be an http(s) URL such as https://mesa.example.gob.mx") from None
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL such as https://mesa.example.gob.mx")
        if parts.username is not None or parts.password is not None or "@" in parts.netloc:
            # Not quoted: the part before "@" is a credential.
            raise ValueError("must not carry credentials (user:password@); set username and password instead")
        if parts.query or parts.fragment:
            raise ValueError("must not carry a query or fragment")
        return v.rstrip("/")

    @field_validator("server")
    @classmethod
    def _known_server(cls, v: str | None) -> str | None:
        if v is not None and v not in PROFILES:
            raise ValueError(f"unknown server; one of {', '.join(PROFILES)}")
        return v

    @field_validator("user_agent", "note_content_type", "webservice")
    @classmethod
    def _one_printable_line(cls, v: str) -> str:
        if not v.strip() or any(ord(c) < 32 or ord(c) == 127 for c in v):
            raise ValueError("must be one line of printable characters")
        return v.strip()

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
    def _known_operations(cls, v: Any) -> Any:
        if isinstance(v, Mapping):
            unknown = [k for k in v if k not in OPERATIONS]
            if unknown:
                hint = difflib.get_close_matches(str(unknown[0]), OPERATIONS, n=1)
                raise ValueError(
                    f"unknown operation {str(unknown[0])[:40]!r}"
                    + (f" (did you mean {hint[0]}?)" if hint else f"; one of {', '.join(OPERATIONS)}")
                )
        return v

    @field_validator("routes")
    @classmethod
    def _credentials_not_in_urls(cls, v: dict[str, Route]) -> dict[str, Route]:
        # A GET carries its parameters in the URL, where the password would reach access
        # logs, proxies, urllib3's DEBUG log and the text of connection errors.
        if "SessionCreate" in v and v["SessionCreate"].method == "GET":
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
    def plain_http_to_remote(self) -> bool:
        """True when the agent's password would travel in clear to another host."""
        parts = urlsplit(self.base_url)
        host = (parts.hostname or "").lower().rstrip(".")
        # Loopback, and the names reserved never to leave a host or a test (RFC 6761).
        local = (
            host in ("localhost", "::1")
            or host.startswith("127.")
            or host.endswith((".localhost", ".test", ".invalid"))
        )
        return parts.scheme.lower() == "http" and not local

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
    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
            return
        except ValidationError as exc:
            error = InputError.from_validation(exc, known_fields=type(self).model_fields, default="settings")
        # Raised outside the handler: pydantic's error must not ride along as __context__.
        raise error

    @classmethod
    def build(cls, **values: Any) -> ClosureSettings:
        """Validate ``values``; a problem is an :class:`InputError` naming the field (as
        constructing the settings directly does)."""
        return cls(**values)

    @classmethod
    def env_values(cls, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The settings found in ``OTRS_CLOSURE_*`` variables (unset ones left out)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        known = {ENV_PREFIX + n.upper() for n in cls.model_fields}
        for var in sorted(v for v in env if v.startswith(ENV_PREFIX) and v not in known):
            if _NOT_SETTINGS.fullmatch(var):
                continue
            hint = difflib.get_close_matches(var, sorted(known), n=1, cutoff=0.75)
            # The name only: a misplaced value may be a secret.
            message = f"{shown_variable(var)} is not a setting" + (f"; did you mean {hint[0]}?" if hint else "")
            warnings.warn(message, SettingsWarning, stacklevel=3)
            log.warning("%s", message)
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
