"""otrs_closure: close Service Desk tickets in OTRS/Znuny as the Mexico City Service
Desk agent manual prescribes, through the GenericInterface REST web service."""

from otrs_closure.batch import BatchItem, BatchResult, BatchStatus, load_manifest
from otrs_closure.client import ClosureClient
from otrs_closure.closure import ClosurePlan, PlannedRequest
from otrs_closure.errors import (
    AccessDenied,
    AuthenticationError,
    ClosureConflict,
    InputError,
    InvalidParameter,
    OtrsClosureError,
    PartialClosure,
    RequestTooLarge,
    ServerError,
    TicketNotFound,
    TransportError,
)
from otrs_closure.models import (
    AttachmentInfo,
    Attention,
    ClosureReceipt,
    ClosureSteps,
    FormatFiles,
    Incident,
    ServiceRequest,
    StepStatus,
    UserOnboarding,
)
from otrs_closure.note import NoteTemplates
from otrs_closure.settings import ClosureSettings, Route

__version__ = "0.1.0"

__all__ = [
    "ClosureClient",
    "BatchItem",
    "BatchResult",
    "BatchStatus",
    "load_manifest",
    "ClosureSettings",
    "Route",
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
    "PartialClosure",
    "ClosureConflict",
]
