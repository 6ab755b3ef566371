"""The typed inputs of a closure (the three attention kinds, the format files) and its
output (:class:`ClosureReceipt`), plus the read-only ticket snapshot the workflow
decides from. All frozen pydantic v2 models; a bad value raises
:class:`~otrs_closure.errors.InputError` naming the field.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import Enum
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
    "FormatFiles",
    "StepStatus",
    "AttachmentInfo",
    "ClosureSteps",
    "ClosureReceipt",
    "ArticleInfo",
    "TicketSnapshot",
]


def _raise_input_error(exc: ValidationError, prefix: str = "") -> InputError:
    err = exc.errors()[0]
    original = (err.get("ctx") or {}).get("error")
    if isinstance(original, InputError):  # raised by a check that already names its field
        return original
    loc = ".".join(str(p) for p in err["loc"])
    field = f"{prefix}{loc}" if loc else (prefix.rstrip(".") or "input")
    msg = str(err["msg"]).removeprefix("Value error, ")
    return InputError(field, msg)


class _Input(BaseModel):
    """Frozen input model whose validation failures are :class:`InputError`."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
            return
        except ValidationError as exc:
            error = _raise_input_error(exc)
        # Raised outside the handler: pydantic's error, which quotes the inputs (the
        # password among them), must not ride along as the InputError's __context__.
        raise error

    @field_validator("*")
    @classmethod
    def _no_nul(cls, v: Any) -> Any:
        text = v.get_secret_value() if isinstance(v, SecretStr) else v
        if isinstance(text, str) and "\x00" in text:
            # PostgreSQL cannot store it: Znuny would write the state, then fail the article.
            raise ValueError("must not contain a NUL character")
        return v


# A TicketID is a PostgreSQL/MySQL BIGINT; SQLite (the batch journal) stores the same range.
MAX_TICKET_ID = 2**63 - 1
# ticket.tn is VARCHAR(50); ticket numbers are ASCII digits (Unicode digits such as "²" or
# "٣" are not, though str.isdigit() says they are).
_TICKET_NUMBER = re.compile(r"[0-9]{1,50}")


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


def _not_blank(v: str) -> str:
    if not v or not v.strip():
        raise ValueError("must not be blank")
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

    @field_validator("description", "login")
    @classmethod
    def _check_text(cls, v: str) -> str:
        return _not_blank(v)

    @field_validator("access_url")
    @classmethod
    def _check_url(cls, v: str) -> str:
        v = v.strip()
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.netloc or " " in v:
            raise ValueError("must be an http(s) URL such as https://sistema.example.gob.mx")
        return v

    @field_validator("password")
    @classmethod
    def _check_password(cls, v: SecretStr) -> SecretStr:
        if not v.get_secret_value().strip():
            raise ValueError("must not be blank")
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
        return v if v else None


Attention = Annotated[ServiceRequest | UserOnboarding | Incident, Field(discriminator="kind")]
"""One of the three attention kinds, told apart by ``kind``."""


class FormatFiles(_Input):
    """The two format files the manual asks to attach: the scan signed by the end user
    (PDF/JPEG/PNG/TIFF) and the editable file filled in on the computer
    (DOCX/XLSX/ODT/ODS/DOC/XLS/PDF). Checked by content when constructed."""

    signed_scan: Path
    editable: Path

    def model_post_init(self, __context: Any) -> None:
        from otrs_closure.files import check_format_files

        check_format_files(self)


class StepStatus(str, Enum):
    """What a closure step's state is after a ``close()``."""

    DONE = "done"  # written by this call
    ALREADY_DONE = "already_done"  # found on the ticket, nothing sent
    PENDING = "pending"  # not done (only in a PartialClosure's receipt or a plan)
    UNKNOWN = "unknown"  # sent, answer lost, ticket not re-readable: re-run close() to settle
    NOT_APPLICABLE = "not_applicable"  # no format files for this closure


class AttachmentInfo(BaseModel):
    """An attachment as the server lists it (contents not fetched)."""

    model_config = ConfigDict(frozen=True)

    filename: str
    size: int
    content_type: str


class ClosureSteps(BaseModel):
    """Per step of the manual, whether it was done now, found done, or is pending."""

    model_config = ConfigDict(frozen=True)

    note: StepStatus = StepStatus.PENDING
    attachments: StepStatus = StepStatus.PENDING
    state: StepStatus = StepStatus.PENDING
    owner: StepStatus = StepStatus.PENDING
    owner_note: StepStatus = StepStatus.PENDING

    @property
    def complete(self) -> bool:
        return all(s not in (StepStatus.PENDING, StepStatus.UNKNOWN) for s in self.model_dump().values())


class ClosureReceipt(BaseModel):
    """What a closure did and what the ticket shows afterwards."""

    model_config = ConfigDict(frozen=True)

    ticket_id: int | None = None
    ticket_number: str | None = None
    closure_id: str = Field(description="Short identity of this closure's inputs (see closure identity)")
    note_article_id: int | None = None
    owner_article_id: int | None = None
    attended_at: datetime | None = Field(
        None, description="CreateTime of the closure note, as the server recorded it, in its timezone"
    )
    state: str | None = None
    owner: str | None = None
    attachments: tuple[AttachmentInfo, ...] = ()
    steps: ClosureSteps = ClosureSteps()
    writes_sent: int = Field(0, description="TicketUpdate requests sent by this call")
    verified: bool = Field(
        True,
        description="False when the ticket could not be read back after writing: the steps are "
        "done by the server's answers, but state, owner, attachments and attended_at are unknown",
    )

    @property
    def complete(self) -> bool:
        """True when every step is done or was found done."""
        return self.steps.complete

    @property
    def remaining(self) -> list[str]:
        """Names of the steps still pending."""
        return [k for k, v in self.steps.model_dump().items() if v in (StepStatus.PENDING, StepStatus.UNKNOWN)]


# -- what the workflow reads -----------------------------------------------------------


class ArticleInfo(BaseModel):
    """One article of a ticket, as TicketGet returns it (attachment metadata only)."""

    model_config = ConfigDict(frozen=True)

    article_id: int
    subject: str = ""
    body: str = ""
    sender_type: str = ""
    is_visible_for_customer: bool = False
    create_time: str = ""
    attachments: tuple[AttachmentInfo, ...] = ()


class TicketSnapshot(BaseModel):
    """A ticket as TicketGet returned it: the fields the closure decides from."""

    model_config = ConfigDict(frozen=True)

    ticket_id: int
    ticket_number: str
    state: str
    state_type: str = ""
    owner: str
    lock: str = ""
    articles: tuple[ArticleInfo, ...] = ()
