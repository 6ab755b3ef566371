"""What a closure gives back: the receipt (what was done, what the ticket shows), its
steps, and the plan of the requests a closure would send."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["StepStatus", "AttachmentInfo", "ClosureSteps", "ClosureReceipt", "PlannedRequest", "ClosurePlan"]


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

    @property
    def remaining(self) -> list[str]:
        """Names of the steps still pending (or unknown)."""
        return [k for k, v in self.model_dump().items() if v in (StepStatus.PENDING, StepStatus.UNKNOWN)]


class ClosureReceipt(BaseModel):
    """What a closure did and what the ticket shows afterwards."""

    model_config = ConfigDict(frozen=True)

    ticket_id: int | None = None
    ticket_number: str | None = None
    closure_id: str = Field(description="Short identity of this closure's inputs (see closure identity)")
    note_article_id: int | None = None
    owner_article_id: int | None = None
    attended_at: datetime | None = Field(
        None, description="Creation time of the closure note, as the server recorded it, in its timezone"
    )
    note_internal: bool | None = Field(
        None, description="Whether the server shows the closure note as internal (None: not read back)"
    )
    note_visibility: str | None = Field(
        None, description="How the server shows the note's visibility, e.g. 'IsVisibleForCustomer=0'"
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
        return self.steps.remaining


@dataclass(frozen=True)
class PlannedRequest:
    """One request a closure would send, secrets masked: exactly as the transport shapes it."""

    operation: str
    method: str
    url: str
    body: dict[str, Any] | None = None
    query: dict[str, Any] | None = None
    headers: dict[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class ClosurePlan:
    """The requests a ``close()`` would send now, in order (reads included), and the
    steps it would find already done."""

    ticket_id: int | None
    ticket_number: str | None
    closure_id: str
    requests: tuple[PlannedRequest, ...]
    steps: ClosureSteps

    @property
    def writes(self) -> list[PlannedRequest]:
        return [r for r in self.requests if r.operation == "TicketUpdate"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ticket_id": self.ticket_id,
            "ticket_number": self.ticket_number,
            "closure_id": self.closure_id,
            "steps": self.steps.model_dump(mode="json"),
            "requests": [r.to_dict() for r in self.requests],
        }
