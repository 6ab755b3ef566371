"""The typed inputs of a closure: the three attention kinds, the format files and the
ticket reference. Frozen pydantic v2 models; a bad value raises
:class:`~otrs_closure.errors.InputError` naming the field, and no error text ever
quotes an input (the onboarding password is one). No I/O here: the format files are
read and checked when a closure is prepared (``close()``, ``plan()``, ``load_manifest``),
still before any request.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from otrs_closure.errors import InputError

__all__ = [
    "ServiceRequest",
    "UserOnboarding",
    "Incident",
    "Attention",
    "ATTENTION_TYPES",
    "FormatFiles",
    "check_ticket_ref",
    "MAX_TICKET_ID",
    "MAX_TEXT_CHARS",
]

# A TicketID is a PostgreSQL/MySQL BIGINT; SQLite (the batch journal) stores the same range.
MAX_TICKET_ID = 2**63 - 1
# ticket.tn is VARCHAR(50); ticket numbers are ASCII digits (Unicode digits such as "²" or
# "٣" are not, though str.isdigit() says they are).
_TICKET_NUMBER = re.compile(r"[0-9]{1,50}")
#: Longest text of one field (characters); Znuny's article body column holds far more,
#: but no closure note needs more than this.
MAX_TEXT_CHARS = 100_000
_MAX_LINE_CHARS = 2_000  # single-line fields (login, URL, password)


def check_ticket_ref(ticket_number: object, ticket_id: object) -> None:
    """Exactly one of ``ticket_number`` (ASCII digits) or ``ticket_id`` (a positive
    integer in the database's range); :class:`InputError` otherwise."""
    if (ticket_number is None) == (ticket_id is None):
        raise InputError("ticket", "give exactly one of ticket_number or ticket_id")
    if ticket_number is not None and (
        not isinstance(ticket_number, str) or not _TICKET_NUMBER.fullmatch(ticket_number.strip())
    ):
        raise InputError("ticket_number", "must be the ticket number's digits (0-9)")
    if ticket_id is not None and (
        isinstance(ticket_id, bool) or not isinstance(ticket_id, int) or not 0 < ticket_id <= MAX_TICKET_ID
    ):
        raise InputError("ticket_id", f"must be a positive integer up to {MAX_TICKET_ID}")


# Characters that end a line for someone reading the note (str.splitlines' set).
_LINE_BREAKS = re.compile("[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


def _visible(text: str) -> str:
    """``text`` without whitespace and invisible format characters (U+200B, U+FEFF…)."""
    return "".join(c for c in text if not c.isspace() and unicodedata.category(c) not in ("Cf", "Cc"))


def _not_blank(v: str) -> str:
    if not _visible(v):
        raise ValueError("must not be blank")
    return v


def _single_line(v: str) -> str:
    if _LINE_BREAKS.search(v):
        raise ValueError("must be one line (no line breaks)")
    if any(unicodedata.category(c) == "Cc" for c in v):
        raise ValueError("must not contain control characters")
    if len(v) > _MAX_LINE_CHARS:
        raise ValueError(f"must be at most {_MAX_LINE_CHARS} characters")
    return v


class _Input(BaseModel):
    """Frozen input model whose validation failures are :class:`InputError` and never
    quote the input."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True, hide_input_in_errors=True)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
            return
        except ValidationError as exc:
            error = InputError.from_validation(exc)
        # Raised outside the handler: pydantic's error must not ride along as __context__.
        raise error

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().model_validate(obj, *args, **kwargs)
        except ValidationError as exc:
            error = InputError.from_validation(exc)
        raise error

    @classmethod
    def model_validate_json(cls, json_data: str | bytes | bytearray, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().model_validate_json(json_data, *args, **kwargs)
        except ValidationError as exc:
            error = InputError.from_validation(exc)
        raise error

    @field_validator("*")
    @classmethod
    def _no_nul_bounded(cls, v: Any) -> Any:
        text = v.get_secret_value() if isinstance(v, SecretStr) else v
        if isinstance(text, str):
            if "\x00" in text:
                # PostgreSQL cannot store it: Znuny would write the state, then fail the article.
                raise ValueError("must not contain a NUL character")
            if len(text) > MAX_TEXT_CHARS:
                raise ValueError(f"must be at most {MAX_TEXT_CHARS} characters")
        return v


class ServiceRequest(_Input):
    """A service request ("Solicitud de Servicio"): what was done."""

    kind: Literal["service_request"] = "service_request"
    description: str

    @field_validator("description")
    @classmethod
    def _check_text(cls, v: str) -> str:
        return _not_blank(v)


class UserOnboarding(_Input):
    """A user account created in a system ("Alta de un Usuario"): what was done, and the
    access URL, login and password the manual asks to document."""

    kind: Literal["user_onboarding"] = "user_onboarding"
    description: str
    access_url: str
    login: str
    password: SecretStr

    @field_validator("description")
    @classmethod
    def _check_text(cls, v: str) -> str:
        return _not_blank(v)

    @field_validator("login")
    @classmethod
    def _check_login(cls, v: str) -> str:
        return _single_line(_not_blank(v))

    @field_validator("access_url")
    @classmethod
    def _check_url(cls, v: str) -> str:
        v = _single_line(v.strip())
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in v):
            raise ValueError("must be an http(s) URL such as https://sistema.example.gob.mx")
        return v

    @field_validator("password")
    @classmethod
    def _check_password(cls, v: SecretStr) -> SecretStr:
        text = v.get_secret_value()
        if not _visible(text):
            raise ValueError("must not be blank")
        _single_line(text)
        return v


class Incident(_Input):
    """An incident: the real problem and the real solution (and, optionally, what was done)."""

    kind: Literal["incident"] = "incident"
    problem: str
    solution: str
    description: str | None = None

    @field_validator("problem", "solution")
    @classmethod
    def _check_text(cls, v: str) -> str:
        return _not_blank(v)

    @field_validator("description")
    @classmethod
    def _blank_is_none(cls, v: str | None) -> str | None:
        return v if v and _visible(v) else None


Attention = Annotated[ServiceRequest | UserOnboarding | Incident, Field(discriminator="kind")]
"""One of the three attention kinds, told apart by ``kind``."""

#: The attention classes, for ``isinstance`` checks.
ATTENTION_TYPES = (ServiceRequest, UserOnboarding, Incident)


class FormatFiles(_Input):
    """The two format files the manual asks to attach: the scan signed by the end user
    (PDF/JPEG/PNG/TIFF) and the editable file filled in on the computer
    (DOCX/XLSX/ODT/ODS/DOC/XLS/PDF). Their contents are checked when the closure is
    prepared, before any request."""

    signed_scan: Path
    editable: Path
