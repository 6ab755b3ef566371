"""otrs_closure: close Service Desk tickets in OTRS, Znuny and OTOBO as the Mexico City
Service Desk agent manual prescribes, through the GenericInterface REST web service.

The public API is what this module exports. The batch and audit names (``BatchItem``,
``load_manifest``, ``AuditReport``…) are loaded on first use, so that ``import
otrs_closure`` loads only what one closure needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from otrs_closure.client import ClosureClient
from otrs_closure.errors import (
    AccessDenied,
    AuthenticationError,
    ClosureConflict,
    ClosureReopened,
    ConnectError,
    ConnectionDropped,
    InputError,
    InvalidParameter,
    NoteVisibleToCustomer,
    OtrsClosureError,
    PartialClosure,
    ReadTimeout,
    RequestTooLarge,
    ServerCompatibilityError,
    ServerError,
    TicketNotFound,
    TLSError,
    TransportError,
)
from otrs_closure.models import Attention, FormatFiles, Incident, ServiceRequest, UserOnboarding
from otrs_closure.note import NoteTemplates
from otrs_closure.results import (
    AttachmentInfo,
    ClosurePlan,
    ClosureReceipt,
    ClosureSteps,
    PlannedRequest,
    StepStatus,
)
from otrs_closure.servers import PROFILES, ServerInfo, ServerProfile
from otrs_closure.settings import ClosureSettings, Route, SettingsWarning

if TYPE_CHECKING:  # pragma: no cover
    from otrs_closure.audit import AuditedTicket, AuditReport, Problem
    from otrs_closure.batch import BatchItem, BatchResult, BatchStatus, load_manifest

__version__ = "0.2.0"

_LAZY = {
    "BatchItem": "otrs_closure.batch",
    "BatchResult": "otrs_closure.batch",
    "BatchStatus": "otrs_closure.batch",
    "load_manifest": "otrs_closure.batch",
    "AuditReport": "otrs_closure.audit",
    "AuditedTicket": "otrs_closure.audit",
    "Problem": "otrs_closure.audit",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'otrs_closure' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "ClosureClient",
    "BatchItem",
    "BatchResult",
    "BatchStatus",
    "load_manifest",
    "AuditReport",
    "AuditedTicket",
    "Problem",
    "ClosureSettings",
    "SettingsWarning",
    "Route",
    "ServerInfo",
    "ServerProfile",
    "PROFILES",
    "NoteTemplates",
    "ServiceRequest",
    "UserOnboarding",
    "Incident",
    "Attention",
    "FormatFiles",
    "ClosureReceipt",
    "ClosureSteps",
    "StepStatus",
    "AttachmentInfo",
    "ClosurePlan",
    "PlannedRequest",
    "OtrsClosureError",
    "InputError",
    "AuthenticationError",
    "TicketNotFound",
    "AccessDenied",
    "InvalidParameter",
    "ServerError",
    "RequestTooLarge",
    "TransportError",
    "ConnectError",
    "TLSError",
    "ReadTimeout",
    "ConnectionDropped",
    "ServerCompatibilityError",
    "PartialClosure",
    "ClosureConflict",
    "ClosureReopened",
    "NoteVisibleToCustomer",
]
