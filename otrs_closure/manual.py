"""The words of the Service Desk agent manual ("Manual de AGENTE para Mesa de Servicio"),
as data: the note's labels, the attended state, the subjects and texts of the two notes.

Everything that writes or reads a closure (the note templates, the workflow, the audit)
takes its Spanish from here; settings and :class:`~otrs_closure.NoteTemplates` can
override each value for a site that words them otherwise.
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = [
    "LABELS",
    "ATTENDED_STATE",
    "NOTE_SUBJECT",
    "OWNER_SUBJECT",
    "OWNER_BODY",
    "SERVICE_DESK_AGENT",
    "FORMATS_SUBJECT",
    "KIND_NAMES",
]

# The labels of the closure note, exactly as the manual spells them. "reference" is the
# library's own: the line that carries the closure identity (see otrs_closure.note).
LABELS = MappingProxyType(
    {
        "description": "Descripción de la Atención",
        "access_url": "URL de acceso",
        "login": "Login de acceso al Sistema",
        "password": "Contraseña de acceso al Sistema",
        "problem": "Problema Real",
        "solution": "Solución Real",
        "reference": "Referencia de cierre",
    }
)

#: The state the closure note sets; its time is the ticket's *Atendido* time.
ATTENDED_STATE = "Atendido"
#: Subject of the closure note.
NOTE_SUBJECT = "Atendido"
#: Subject and text of the note that goes with the owner change.
OWNER_SUBJECT = "Se modifica propietario"
OWNER_BODY = "Se modifica propietario"
#: The agent that owns attended tickets (its login is a setting: ``owner_login``).
SERVICE_DESK_AGENT = "Agente Mesa de Servicio"
#: Subject of the article that carries format files a closure note lost on the server.
FORMATS_SUBJECT = "Formatos adjuntos"

#: The manual's names of the three attention kinds.
KIND_NAMES = MappingProxyType(
    {
        "service_request": "Solicitud de Servicio",
        "user_onboarding": "Alta de un Usuario",
        "incident": "Incidente",
    }
)
