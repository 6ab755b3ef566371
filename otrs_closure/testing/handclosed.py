"""Tickets closed by hand, as agents do in the web interface — correctly (with the label
variants people type) and in each way the audit's problem codes name — for tests of an
audit without a server.

Each :class:`HandClosure` is data: the customer's request, then the agent's steps in
order (notes with their visibility and attachments, the owner change with or without its
note) and the problem codes an audit must report on it, exactly. :func:`new_hand_closed_ticket`
puts one on a :class:`~otrs_closure.testing.FakeZnuny` through its public setup methods;
the project's live suite performs the same steps with raw GenericInterface requests on
real servers, so both are held to the same expectations::

    from otrs_closure.testing.handclosed import HAND_CLOSURES, new_hand_closed_ticket

    def test_my_audit_script(fake_znuny):
        created = {name: new_hand_closed_ticket(fake_znuny, name) for name in HAND_CLOSURES}
        report = fake_znuny.client(username="lector").audit(ticket_ids=[t.ticket_id for t in created.values()])
        for name, t in created.items():
            assert {p.value for p in report.ticket(t.ticket_id).problems} == HAND_CLOSURES[name].expected

On the fake the owner a closure ends with is set when the ticket is created (FakeZnuny
has no public owner change); the audit judges the owner the ticket has and the order of
the articles, so the verdicts are the same.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from otrs_closure import manual

if TYPE_CHECKING:  # pragma: no cover
    from otrs_closure.testing._fake import CreatedTicket, FakeZnuny

__all__ = [
    "HandFile",
    "HandNote",
    "HandOwnerChange",
    "HandClosure",
    "HAND_CLOSURES",
    "REQUEST_BODY",
    "new_hand_closed_ticket",
    "hand_closed_tickets",
]


@dataclass(frozen=True)
class HandFile:
    """A file an agent attaches."""

    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class HandNote:
    """Communication → Note: an article by the agent (next state: the attended one)."""

    body: str
    subject: str = manual.NOTE_SUBJECT
    visible: bool = False  # visible to the customer
    attachments: tuple[HandFile, ...] = ()


@dataclass(frozen=True)
class HandOwnerChange:
    """People → Owner: the owner changed to the Service Desk agent (``change``) with a
    note (``note``); either may be left out, as people do."""

    change: bool = True
    note: bool = True
    subject: str = manual.OWNER_SUBJECT
    body: str = manual.OWNER_BODY


Step = HandNote | HandOwnerChange


@dataclass(frozen=True)
class HandClosure:
    """One way a ticket was closed by hand, and what an audit must say of it."""

    name: str
    description: str
    steps: tuple[Step, ...]
    expected: frozenset[str]  # the problem codes, exactly
    kind: str | None = None  # the kind the note's labels show
    request: str = ""  # the customer's first article; default REQUEST_BODY

    @property
    def owner_changed(self) -> bool:
        return any(isinstance(s, HandOwnerChange) and s.change for s in self.steps)

    @property
    def attended(self) -> bool:
        return any(isinstance(s, HandNote) for s in self.steps)


REQUEST_BODY = "Buen día, solicito su apoyo.\nQuedo atento."


def _docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in (("[Content_Types].xml", "<Types/>"), ("word/document.xml", "<w:document/>")):
            z.writestr(zipfile.ZipInfo(name, date_time=(2026, 12, 1, 0, 0, 0)), text)
    return buf.getvalue()


_PDF = b"%PDF-1.4\n1 0 obj <</Type /Catalog>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"
_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
_DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

SCAN = HandFile("alta_firmada.pdf", "application/pdf", _PDF)
EDITABLE = HandFile("alta_usuario.docx", _DOCX_TYPE, _docx())
# As browsers send them: a photo of the signed form, a Word file the browser could not type.
PHOTO_SCAN = HandFile("formato firmado.jpeg", "image/jpeg", _JPEG)
EDITABLE_BY_NAME = HandFile("FORMATO ALTA DE USUARIO.docx", "application/octet-stream", _docx())

_OWNER = HandOwnerChange()
_SERVICE = "Descripción de la Atención: Se reconfiguró la impresora del piso 3."
_ONBOARDING = (
    "Descripción de la Atención: Alta en el sistema de nómina\n"
    "URL de acceso: https://nomina.example.gob.mx\n"
    "Login de acceso al Sistema: mgarcia\n"
    "Contraseña de acceso al Sistema: Temporal#2026"
)
_INCIDENT = "Problema Real: Página Web no resuelve por dominio\nSolución Real: Se le aplica un reinicio al servidor DNS"


def _closure(
    name: str,
    description: str,
    steps: Iterable[Step],
    expected: Iterable[str],
    *,
    kind: str | None = None,
    request: str = "",
) -> HandClosure:
    return HandClosure(name, description, tuple(steps), frozenset(expected), kind=kind, request=request)


_ALL = (
    _closure(
        "service_request",
        "a service request closed as the manual says",
        [HandNote(_SERVICE), _OWNER],
        [],
        kind="service_request",
    ),
    _closure(
        "service_request_typed",
        "the labels as people type them: lower case, no accents, a dash for the colon",
        [
            HandNote("descripcion de la atencion - se cambio el toner y se imprimio prueba", subject="atendido"),
            HandOwnerChange(subject="se modifica propietario", body="Se modifica propietario."),
        ],
        [],
        kind="service_request",
    ),
    _closure(
        "onboarding_typed",
        "an onboarding in capitals, bold, an equals sign, the password under its label; a photo of the signed "
        "form and a Word file the browser did not type",
        [
            HandNote(
                "DESCRIPCIÓN DE LA ATENCIÓN: Alta en el sistema de nómina\n"
                "**URL de acceso:** https://nomina.example.gob.mx\n"
                "login de acceso al sistema =  mgarcia\n"
                "Contrasena de acceso al Sistema:\n"
                "Temporal#2026",
                attachments=(PHOTO_SCAN, EDITABLE_BY_NAME),
            ),
            _OWNER,
        ],
        [],
        kind="user_onboarding",
    ),
    _closure(
        "incident_typed",
        "an incident with spaces before the colon and capitals",
        [
            HandNote("Problema real : Página Web no resuelve por dominio\nSOLUCION REAL: Se reinició el servidor DNS"),
            _OWNER,
        ],
        [],
        kind="incident",
    ),
    _closure(
        "note_missing",
        "a note without any of the manual's labels",
        [HandNote("Listo, quedó resuelto."), _OWNER],
        ["note_missing"],
    ),
    _closure(
        "note_public",
        "the closing note left visible to the customer",
        [HandNote(_SERVICE, visible=True), _OWNER],
        ["note_public"],
        kind="service_request",
    ),
    _closure(
        "onboarding_without_password",
        "an onboarding note without the password line",
        [HandNote(_ONBOARDING.rsplit("\n", 1)[0], attachments=(SCAN, EDITABLE)), _OWNER],
        ["onboarding_incomplete"],
        kind="user_onboarding",
    ),
    _closure(
        "onboarding_blank_login",
        "an onboarding note whose login is left blank",
        [HandNote(_ONBOARDING.replace(": mgarcia", ":"), attachments=(SCAN, EDITABLE)), _OWNER],
        ["onboarding_incomplete"],
        kind="user_onboarding",
    ),
    _closure(
        "incident_without_solution",
        "a real problem without a real solution",
        [HandNote("Problema Real: Página Web no resuelve por dominio\nDescripción de la Atención: se revisó"), _OWNER],
        ["incident_incomplete"],
        kind="incident",
    ),
    _closure(
        "incident_solution_only",
        "a real solution without the real problem",
        [HandNote("Solución Real: Se le aplica un reinicio al servidor DNS"), _OWNER],
        ["incident_incomplete"],
        kind="incident",
    ),
    _closure(
        "formats_missing",
        "an onboarding with the signed scan only",
        [HandNote(_ONBOARDING, attachments=(SCAN,)), _OWNER],
        ["formats_missing"],
        kind="user_onboarding",
    ),
    _closure(
        "owner_not_service_desk",
        'the "Se modifica propietario" note written, the owner left unchanged',
        [HandNote(_INCIDENT), HandOwnerChange(change=False)],
        ["owner_not_service_desk"],
        kind="incident",
    ),
    _closure(
        "owner_note_missing",
        "the owner changed without its note",
        [HandNote(_SERVICE), HandOwnerChange(note=False)],
        ["owner_note_missing"],
        kind="service_request",
    ),
    _closure(
        "order",
        "the owner changed (with its note) before the closing note",
        [_OWNER, HandNote(_SERVICE)],
        ["order"],
        kind="service_request",
    ),
    _closure(
        "everything_wrong",
        "an onboarding note visible to the customer, without password or formats; the owner untouched",
        [HandNote(_ONBOARDING.rsplit("\n", 1)[0], visible=True)],
        ["note_public", "onboarding_incomplete", "formats_missing", "owner_not_service_desk", "owner_note_missing"],
        kind="user_onboarding",
    ),
    _closure(
        "customer_labels_only",
        "only the customer wrote the labels (in the request); no agent closed it",
        [],
        ["note_missing", "owner_not_service_desk", "owner_note_missing"],
        request="Descripción de la Atención: favor de dar de alta a mi compañero\nURL de acceso: https://x.example.com",
    ),
)

#: Every hand closure, by name.
HAND_CLOSURES: Mapping[str, HandClosure] = MappingProxyType({c.name: c for c in _ALL})


def new_hand_closed_ticket(
    fake: FakeZnuny,
    closure: str | HandClosure,
    *,
    agent: str = "tecnico1",
    owner_login: str = "agente.mesa",
    queue: str = "Mesa de Servicio",
    attended_state: str = manual.ATTENDED_STATE,
    customer_user: str = "cliente.demo",
    title: str | None = None,
) -> CreatedTicket:
    """A ticket in ``queue`` requested by ``customer_user`` and closed by hand by
    ``agent`` as ``closure`` (a name of :data:`HAND_CLOSURES` or one of your own) says."""
    c = HAND_CLOSURES[closure] if isinstance(closure, str) else closure
    created = fake.create_ticket(
        title or f"Solicitud ({c.name})",
        queue=queue,
        state=attended_state if c.attended else "new",
        customer_user=customer_user,
        created_by=agent,
        owner=owner_login if c.owner_changed else agent,
        article={
            "subject": title or f"Solicitud ({c.name})",
            "body": c.request or REQUEST_BODY,
            "sender_type": "customer",
            "channel": "Internal",
            "is_visible_for_customer": 1,
        },
    )
    for step in c.steps:
        if isinstance(step, HandNote):
            fake.add_article(
                created.ticket_id,
                created_by=agent,
                subject=step.subject,
                body=step.body,
                sender_type="agent",
                channel="Internal",
                is_visible_for_customer=1 if step.visible else 0,
                content_type="text/plain; charset=utf8",
                attachments=[
                    {"filename": f.filename, "content": f.content, "content_type": f.content_type}
                    for f in step.attachments
                ],
            )
        elif step.note:
            fake.add_article(
                created.ticket_id,
                created_by=agent,
                subject=step.subject,
                body=step.body,
                sender_type="agent",
                channel="Internal",
                is_visible_for_customer=0,
                content_type="text/plain; charset=utf8",
            )
    return created


def hand_closed_tickets(
    fake: FakeZnuny, names: Iterable[str] | None = None, **options: str
) -> dict[str, CreatedTicket]:
    """One ticket per hand closure (every one by default), by name."""
    return {n: new_hand_closed_ticket(fake, n, **options) for n in (names or HAND_CLOSURES)}
