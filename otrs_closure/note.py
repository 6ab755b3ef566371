"""The manual's labels and note templates (data, overridable) and the rendering of the
closure note, plus the closure identity written into it.

The labels are quoted exactly as the Service Desk agent manual spells them. The
rendered body carries the onboarding password in clear, as the manual requires: it
is used only as the body sent to the server; everything shown to people uses
:func:`render_masked`.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from otrs_closure.models import Incident, ServiceRequest, UserOnboarding

if TYPE_CHECKING:  # pragma: no cover
    from otrs_closure.files import PreparedFile

__all__ = [
    "NoteTemplates",
    "DEFAULT_LABELS",
    "render",
    "render_masked",
    "secret_lines",
    "closure_id",
    "normalize_text",
    "MASK",
]

MASK = "********"

# The manual's labels, exactly as written in "Manual de AGENTE para Mesa de Servicio".
DEFAULT_LABELS: dict[str, str] = {
    "description": "Descripción de la Atención",
    "access_url": "URL de acceso",
    "login": "Login de acceso al Sistema",
    "password": "Contraseña de acceso al Sistema",
    "problem": "Problema Real",
    "solution": "Solución Real",
    "reference": "Referencia de cierre",
}

# One template per attention kind; {label_x} is the label, {x} the value. Lines whose
# value is empty are dropped. The reference line is appended to every note.
DEFAULT_TEMPLATES: dict[str, str] = {
    "service_request": "{label_description}: {description}",
    "user_onboarding": (
        "{label_description}: {description}\n"
        "{label_access_url}: {access_url}\n"
        "{label_login}: {login}\n"
        "{label_password}: {password}"
    ),
    "incident": ("{label_problem}: {problem}\n{label_solution}: {solution}\n{label_description}: {description}"),
}
REFERENCE_LINE = "{label_reference}: {closure_id}"


class NoteTemplates(BaseModel):
    """Labels and per-kind templates of the closure note. Override either to adapt the
    wording; the reference line is what lets a re-run recognise its own note."""

    model_config = ConfigDict(frozen=True)

    labels: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_LABELS))
    templates: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_TEMPLATES))
    reference_line: str = REFERENCE_LINE

    def reference(self, cid: str) -> str:
        return self.reference_line.format(label_reference=self.labels["reference"], closure_id=cid)


Attention = ServiceRequest | UserOnboarding | Incident


def _values(attention: Attention, *, reveal: bool) -> dict[str, str]:
    values: dict[str, str] = {}
    for name in type(attention).model_fields:
        if name == "kind":
            continue
        raw = getattr(attention, name)
        if name == "password":
            values[name] = raw.get_secret_value() if reveal else MASK
        else:
            values[name] = "" if raw is None else str(raw)
    return values


def _lines(attention: Attention, cid: str, templates: NoteTemplates) -> list[tuple[str, str]]:
    """The note's lines as (masked, revealed) pairs; they differ only on secret lines."""
    masked = _values(attention, reveal=False)
    revealed = _values(attention, reveal=True)
    labels = {f"label_{k}": v for k, v in templates.labels.items()}
    lines = []
    for line in templates.templates[attention.kind].split("\n"):
        fields = re.findall(r"\{(\w+)\}", line)
        if any(f in masked and not masked[f] for f in fields):
            continue  # an optional value that was not given
        lines.append((line.format(**labels, **masked), line.format(**labels, **revealed)))
    ref = templates.reference(cid)
    lines.append((ref, ref))
    return lines


def _render(attention: Attention, cid: str, templates: NoteTemplates, *, reveal: bool) -> str:
    return "\n".join(r if reveal else m for m, r in _lines(attention, cid, templates))


def render(attention: Attention, cid: str, templates: NoteTemplates | None = None) -> str:
    """The note body sent to the server (contains the onboarding password)."""
    return _render(attention, cid, templates or NoteTemplates(), reveal=True)


def render_masked(attention: Attention, cid: str, templates: NoteTemplates | None = None) -> str:
    """The note body as shown in plans, logs and CLI output (password masked)."""
    return _render(attention, cid, templates or NoteTemplates(), reveal=False)


def secret_lines(attention: Attention, cid: str, templates: NoteTemplates | None = None) -> list[tuple[str, str]]:
    """The note's lines that carry a secret (the onboarding password), each as
    (the text before the secret, the whole line): a re-run uses them to tell its own
    note from one with the same closure id but another password (see :func:`closure_id`)."""
    return [(m.split(MASK, 1)[0], r) for m, r in _lines(attention, cid, templates or NoteTemplates()) if m != r]


def closure_id(
    attention: Attention,
    files: Sequence[PreparedFile] = (),
    extra: Mapping[str, Any] | None = None,
) -> str:
    """A short, stable identity of one closure: a hash of the kind, the texts and the
    files' names and contents. Texts are compared after :func:`normalize_text`, so a
    description that differs only in whitespace or line ends is the same closure; any
    other change (a corrected description, other files) is another closure. The
    onboarding password is left out on purpose so that the identity (shown in logs and
    receipts) gives no handle on it — a note with this id but another password is told
    apart by its password line (:func:`secret_lines`). The ticket is left out so that
    closing by number or by id is the same closure."""
    data = {
        "attention": {k: normalize_text(v) for k, v in _values(attention, reveal=False).items() if k != "password"},
        "kind": attention.kind,
        "files": [[f.filename, f.size, f.sha256] for f in files],
        "extra": dict(extra or {}),
    }
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return "oc-" + digest[:12]


def normalize_text(text: str) -> str:
    """Text as compared across a round trip through Znuny: NFC, LF line ends, trailing
    blanks dropped per line, surrounding whitespace trimmed (Znuny trims article strings)."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()
