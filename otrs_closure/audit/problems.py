"""The audit's problem codes: stable names for each way a hand closure departs from the
manual, in the order reports list them, each with the sentence that explains it (the
README's table is this data)."""

from __future__ import annotations

from enum import Enum
from types import MappingProxyType

__all__ = ["Problem", "PROBLEM_DESCRIPTIONS"]


class Problem(str, Enum):
    """One way a closure departs from the manual. The values are stable: scripts and
    spreadsheets key on them."""

    NOTE_MISSING = "note_missing"
    NOTE_PUBLIC = "note_public"
    ONBOARDING_INCOMPLETE = "onboarding_incomplete"
    INCIDENT_INCOMPLETE = "incident_incomplete"
    FORMATS_MISSING = "formats_missing"
    OWNER_NOT_SERVICE_DESK = "owner_not_service_desk"
    OWNER_NOTE_MISSING = "owner_note_missing"
    ORDER = "order"


#: What each code means, as the README's table says it.
PROBLEM_DESCRIPTIONS = MappingProxyType(
    {
        Problem.NOTE_MISSING: "no note written by an agent carries any of the manual's labels "
        "(Descripción de la Atención, URL de acceso, Login/Contraseña de acceso al Sistema, Problema/Solución Real)",
        Problem.NOTE_PUBLIC: "the closing note is visible to the customer",
        Problem.ONBOARDING_INCOMPLETE: "an onboarding note lacks the URL, the login or the password, or leaves one "
        "of them blank",
        Problem.INCIDENT_INCOMPLETE: "an incident note gives a real problem without a real solution, or the "
        "reverse (or leaves them blank)",
        Problem.FORMATS_MISSING: "an onboarding (or any kind, with require_formats) without both a signed scan "
        "(PDF/JPEG/PNG/TIFF) and an editable file (DOCX/XLSX/ODT/ODS/DOC/XLS/PDF) among the ticket's attachments",
        Problem.OWNER_NOT_SERVICE_DESK: "the ticket's owner is not the Service Desk agent (owner_login)",
        Problem.OWNER_NOTE_MISSING: 'no "Se modifica propietario" note (subject and text) on the ticket',
        Problem.ORDER: "the owner change and its note came before the closing note",
    }
)
