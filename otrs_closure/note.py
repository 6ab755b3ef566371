"""The closure note: its labels and per-kind templates (data, overridable), the
rendering, the closure identity written into it, and the reading of labelled lines —
the one place that knows what a label line looks like, for the closure (recognising its
own note, refusing typed text that would forge one) and for the audit (reading notes
that people wrote by hand).

The rendered body carries the onboarding password in clear, as the manual requires: it
is used only as the body sent to the server; everything shown to people uses
:func:`render_masked`.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from otrs_closure import manual
from otrs_closure.models import Attention

if TYPE_CHECKING:  # pragma: no cover
    from otrs_closure._files import PreparedFile

__all__ = [
    "NoteTemplates",
    "DEFAULT_LABELS",
    "DEFAULT_TEMPLATES",
    "MASK",
    "render",
    "render_masked",
    "secret_lines",
    "closure_id",
    "normalize_text",
    "label_key",
    "LabelReader",
]

MASK = "********"

#: The manual's labels (see :mod:`otrs_closure.manual`), by field.
DEFAULT_LABELS: dict[str, str] = dict(manual.LABELS)

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
    "incident": "{label_problem}: {problem}\n{label_solution}: {solution}\n{label_description}: {description}",
}
REFERENCE_LINE = "{label_reference}: {closure_id}"
_REQUIRED_LABELS = ("description", "access_url", "login", "password", "problem", "solution", "reference")


class NoteTemplates(BaseModel):
    """Labels and per-kind templates of the closure note. Override either to adapt the
    wording; the reference line is what lets a re-run recognise its own note."""

    model_config = ConfigDict(frozen=True)

    labels: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_LABELS))
    templates: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_TEMPLATES))
    reference_line: str = REFERENCE_LINE

    def reference(self, cid: str) -> str:
        return self.reference_line.format(label_reference=self.labels["reference"], closure_id=cid)

    def missing(self, kind: str) -> str | None:
        """The first label or template this kind needs and these templates lack."""
        return next((k for k in _REQUIRED_LABELS if k not in self.labels), None) or (
            None if kind in self.templates else kind
        )

    def reader(self) -> LabelReader:
        """A reader of these labels (tolerant of what people type)."""
        return LabelReader(self.labels)

    def fields(self, kind: str) -> tuple[str, ...]:
        """The fields whose labels the kind's template writes, in template order."""
        return tuple(dict.fromkeys(re.findall(r"\{label_(\w+)\}", self.templates.get(kind, ""))))

    def distinctive_fields(self, kind: str) -> tuple[str, ...]:
        """The fields that only this kind's template writes: what tells a note of this kind
        from the others, and what a note of this kind cannot do without (an onboarding's
        URL, login and password; an incident's real problem and real solution)."""
        others = {f for k in self.templates if k != kind for f in self.fields(k)}
        return tuple(f for f in self.fields(kind) if f not in others)

    def kind_of(self, fields: Iterable[str]) -> str | None:
        """The kind of a note that carries the labels of ``fields`` (as people write it:
        some labels may be missing): the kind with most of its distinctive labels there;
        with none, the kind whose every label is there (the one with fewest labels); else
        None."""
        found = set(fields)
        scored = [(len(found & set(self.distinctive_fields(k))), k) for k in self.templates]
        best = max((n for n, _ in scored), default=0)
        if best:
            return next(k for n, k in scored if n == best)
        whole = [k for k in self.templates if self.fields(k) and set(self.fields(k)) <= found]
        return min(whole, key=lambda k: len(self.fields(k))) if whole else None


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


def label_key(text: str) -> str:
    """A label as people type it, reduced to compare: no accents, case or punctuation,
    runs of blanks as one ("Solucion real :" and "Solución Real" are the same)."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    words = re.findall(r"[^\W_]+", plain.casefold())
    return " ".join(words)


class LabelReader:
    """Reads the labelled lines of a note body, tolerating what people type: case,
    accents, spacing, a colon or not (``label_key``). A line is labelled when it starts
    with one of the labels, as a whole word sequence, followed by a colon, a dash or
    the end of the line, or by a value after blanks."""

    def __init__(self, labels: Mapping[str, str]) -> None:
        self._keys = sorted(((label_key(v), k) for k, v in labels.items() if label_key(v)), key=lambda x: -len(x[0]))

    def label_of(self, line: str) -> tuple[str, str] | None:
        """(field, value) when ``line`` starts with a label, else None."""
        head = line.strip().lstrip("*-•·>#").strip()
        reduced = label_key(head)
        for key, field in self._keys:
            if reduced == key or reduced.startswith(key + " "):
                return field, _value_after(head, key)
        return None

    def read(self, body: str) -> dict[str, list[str]]:
        """Every labelled line's value, by field, in order of appearance."""
        found: dict[str, list[str]] = {}
        for field, value in self.entries(body):
            found.setdefault(field, []).append(value)
        return found

    def entries(self, body: str) -> list[tuple[str, str]]:
        """Every labelled line as (field, value), in order. A label left alone on its line
        takes the next line as its value when that line is not blank, not labelled and
        not another "Name: value" line — people often type the value under the label."""
        lines = normalize_text(body).splitlines()
        hits = [self.label_of(line) for line in lines]
        out: list[tuple[str, str]] = []
        for i, hit in enumerate(hits):
            if hit is None:
                continue
            field, value = hit
            if not value and i + 1 < len(lines) and hits[i + 1] is None and not _OTHER_FIELD.match(lines[i + 1]):
                value = _bare_value(lines[i + 1])
            out.append((field, value))
        return out

    def forged(self, texts: Iterable[str]) -> str | None:
        """The field whose label a continuation line of ``texts`` reads as (None when
        none does). A text's first line follows its own label in the note; every later
        line starts a line of the note, which typed text must not make read as a label or
        as the closure identity."""
        for text in texts:
            for line in text.splitlines()[1:]:
                hit = self.label_of(line)
                if hit is not None:
                    return hit[0]
        return None


def _value_after(head: str, key: str) -> str:
    """What follows the label in ``head`` (the label's words, then ``:``/``-`` or blanks)."""
    words = len(key.split(" "))
    rest = head
    for _ in range(words):
        match = re.match(r"[\W_]*[^\W_]+", rest)
        if match is None:
            return ""
        rest = rest[match.end() :]
    return _bare_value(rest.strip().lstrip(":-–—="))


# A line that reads as a field of its own ("Referencia interna: 42"), not as a value.
_OTHER_FIELD = re.compile(r"\s*[*_•·>#-]*\s*[^\W\d_][^:\n]{0,40}:(\s|$)")


def _bare_value(text: str) -> str:
    """A value without the emphasis people wrap labels and values in (``**``, ``__``) and
    without surrounding blanks."""
    return text.strip().strip("*_").strip()
