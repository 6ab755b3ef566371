"""Manifests (CSV or JSONL): read, validate every row, report every problem at once."""

from __future__ import annotations

import csv
import json
import logging
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from otrs_closure._files import EDITABLE_TYPES, SIGNED_SCAN_TYPES, prepare_file
from otrs_closure._workflow.prepare import prepare
from otrs_closure.batch.items import BatchItem, RowProblem, _ticket_names
from otrs_closure.batch.password_env import RULE, read_password_env
from otrs_closure.errors import InputError
from otrs_closure.models import (
    MAX_TICKET_ID,
    Attention,
    FormatFiles,
    Incident,
    ServiceRequest,
    UserOnboarding,
    check_ticket_ref,
)
from otrs_closure.note import NoteTemplates
from otrs_closure.settings import ClosureSettings

log = logging.getLogger("otrs_closure.batch")


KINDS = ("service_request", "user_onboarding", "incident")
"""The values of the ``kind`` column."""

COLUMNS = (
    "ticket_number",
    "ticket_id",
    "kind",
    "description",
    "access_url",
    "login",
    "password_env",
    "problem",
    "solution",
    "signed_scan",
    "editable",
)
"""The manifest's columns (JSONL keys). ``ticket_number`` or ``ticket_id`` per row, ``kind``
always; the others as the kind needs them."""

# Which text columns each kind uses (besides the ticket, kind and the two files).
_KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "service_request": ("description",),
    "user_onboarding": ("description", "access_url", "login", "password_env"),
    "incident": ("problem", "solution", "description"),
}
_TEXT_FIELDS = ("description", "access_url", "login", "password_env", "problem", "solution")
_SECRET_COLUMNS = ("password", "contraseña", "contrasena")

MAX_CELL_CHARS = 20_000
"""The longest manifest cell, in characters (a description is a few lines; a longer cell is
a mistake, such as a whole file pasted, and a row problem)."""

MAX_LINE_CHARS = 1_000_000
"""The longest JSONL line, in characters (a longer one is a row problem, and is not read)."""

_TICKET_ID = re.compile(r"-?[0-9]{1,30}")  # range checked by check_ticket_ref

# The dummy connection used to validate rows when no settings are given (never contacted).
_OFFLINE_SETTINGS = {"base_url": "http://offline.invalid", "username": "x", "password": "x", "owner_login": "x"}

# -- manifests ------------------------------------------------------------------------------------


def _text(value: Any, fld: str, problems: list[tuple[str, str]], *, integer_ok: bool = False) -> str | None:
    """A manifest cell as text: None when absent or blank, or with a problem when it is not
    text (a JSON number, list, object or boolean; an integer only where ``integer_ok``),
    holds a NUL character or is longer than :data:`MAX_CELL_CHARS`."""
    if value is None:
        return None
    if integer_ok and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        problems.append((fld, "must be a JSON string or integer" if integer_ok else "must be a JSON string"))
        return None
    if "\x00" in value:
        problems.append((fld, "must not contain a NUL character"))
        return None
    if len(value) > MAX_CELL_CHARS:
        problems.append((fld, f"is longer than {MAX_CELL_CHARS} characters"))
        return None
    return value.strip() or None


def _ticket(raw: Mapping[str, Any], problems: list[tuple[str, str]]) -> tuple[str | None, int | None]:
    """The row's ticket_number / ticket_id, checked by the client's own rule. A TicketID is
    ASCII digits: ``int()`` would also take ``"٣"`` for 3 (and fail on ``"²"``)."""
    before = len(problems)
    number = _text(raw.get("ticket_number"), "ticket_number", problems, integer_ok=True)
    id_text = _text(raw.get("ticket_id"), "ticket_id", problems, integer_ok=True)
    ticket_id: int | None = None
    if id_text is not None:
        if _TICKET_ID.fullmatch(id_text):
            ticket_id = int(id_text)
        else:
            problems.append(("ticket_id", f"must be a positive integer up to {MAX_TICKET_ID} (ASCII digits 0-9)"))
    if len(problems) > before:
        return number, ticket_id
    try:
        check_ticket_ref(number, ticket_id)
    except InputError as exc:
        problems.append((exc.field, exc.problem))
    return number, ticket_id


def _attention(
    kind: str, values: dict[str, str | None], environ: Mapping[str, str], problems: list[tuple[str, str]]
) -> Attention | None:
    try:
        if kind == "service_request":
            return ServiceRequest(description=values["description"] or "")
        if kind == "incident":
            return Incident(
                problem=values["problem"] or "", solution=values["solution"] or "", description=values["description"]
            )
        var = values["password_env"]
        password = ""
        if var is None:
            problems.append(("password_env", f"name the variable holding the onboarding password ({RULE})"))
        else:
            try:
                password = read_password_env(var, environ)
            except InputError as exc:  # never quotes the cell: it is often the password itself
                problems.append((exc.field, exc.problem))
        # A stand-in password when the variable is missing, so the other fields are checked too.
        return UserOnboarding(
            description=values["description"] or "",
            access_url=values["access_url"] or "",
            login=values["login"] or "",
            password=password or "-",
        )
    except InputError as exc:
        problems.append((exc.field, exc.problem))
        return None


def _confined(cell: str, role: str, base_dir: Path, root: Path, problems: list[tuple[str, str]]) -> Path | None:
    """The file a path cell names (relative to the manifest's folder), or None with a
    problem when it leads outside ``root`` — by ``..``, an absolute path or a symlink:
    a manifest is input, and must not attach the host's other files to a ticket."""
    path = base_dir / cell  # an absolute cell replaces base_dir, and is checked like any other
    try:
        real = path.resolve()  # every symlink followed: where the bytes really are
    except (OSError, RuntimeError, ValueError):  # a symlink loop, an unreadable folder
        problems.append((f"formats.{role}", "cannot be resolved (a symlink loop or an unreadable folder)"))
        return None
    if not real.is_relative_to(root):
        problems.append((f"formats.{role}", f"leads outside {root}: a manifest names files inside its files root"))
        return None
    return path


def _formats(raw: Mapping[str, Any], base_dir: Path, root: Path, problems: list[tuple[str, str]]) -> FormatFiles | None:
    before = len(problems)
    scan = _text(raw.get("signed_scan"), "signed_scan", problems)
    editable = _text(raw.get("editable"), "editable", problems)
    if (scan is None and editable is None) or len(problems) > before:
        return None
    if scan is None or editable is None:
        problems.append(("formats", "give both signed_scan and editable"))
        return None
    scan_path = _confined(scan, "signed_scan", base_dir, root, problems)
    editable_path = _confined(editable, "editable", base_dir, root, problems)
    if scan_path is None or editable_path is None:
        return None
    # Report a problem of each file, not only the first one found.
    found = False
    for path, role, allowed in (
        (scan_path, "signed_scan", SIGNED_SCAN_TYPES),
        (editable_path, "editable", EDITABLE_TYPES),
    ):
        try:
            prepare_file(path, role, allowed)
        except InputError as file_exc:
            problems.append((file_exc.field, file_exc.problem))
            found = True
    return None if found else FormatFiles(signed_scan=scan_path, editable=editable_path)


def _parse_row(
    raw: Mapping[str, Any],
    row: int,
    source: str,
    base_dir: Path,
    root: Path,
    settings: ClosureSettings,
    templates: NoteTemplates,
    environ: Mapping[str, str],
) -> tuple[BatchItem | None, tuple[str, str] | None, list[RowProblem]]:
    """(item or None, (ticket key, name) or None, problems) for one manifest row."""
    found: list[tuple[str, str]] = []
    for name in raw:
        if name is None or name == "":
            found.append(("row", "more values than columns"))
        elif name.strip().lower() in _SECRET_COLUMNS:
            found.append((name, "never put a password in the manifest: name its environment variable in password_env"))
        elif name not in COLUMNS:
            found.append((_shown(name), f"unknown column; expected {', '.join(COLUMNS)}"))
    for name in getattr(raw, "duplicates", ()):
        found.append((_shown(name), "given more than once on this line"))
    number, ticket_id = _ticket(raw, found)
    names = _ticket_names(number, ticket_id) if number is not None or ticket_id is not None else None

    values = {name: _text(raw.get(name), name, found) for name in _TEXT_FIELDS}
    kind = _text(raw.get("kind"), "kind", found)
    attention: Attention | None = None
    if kind is None:
        found.append(("kind", f"required: one of {', '.join(KINDS)}"))
    elif kind not in KINDS:
        found.append(("kind", f"{kind[:40]!r} is not one of {', '.join(KINDS)}"))
    else:
        for name in _TEXT_FIELDS:
            if values[name] is not None and name not in _KIND_FIELDS[kind]:
                found.append((name, f"not used by kind {kind}; leave it empty"))
        attention = _attention(kind, values, environ, found)
    formats = _formats(raw, base_dir, root, found)

    item: BatchItem | None = None
    if not found and attention is not None:
        try:
            prepared = prepare(settings, templates, attention, formats)
            item = BatchItem(
                attention=attention,
                ticket_number=number,
                ticket_id=ticket_id,
                formats=formats,
                row=row,
                source=source,
                closure_id=prepared.closure_id,
            )
        except InputError as exc:
            found.append((exc.field, exc.problem))
    first: dict[str, str] = {}
    for f, p in found:
        first.setdefault(f, p)  # one problem per field: the first found
    ticket = names[1] if names else None
    return item, names, [RowProblem(row, source, ticket, f, p) for f, p in first.items()]


def _shown(name: str) -> str:
    """A column name from the manifest, fit to be shown: short, printable."""
    return name if len(name) <= 40 and name.isprintable() else repr(name[:40])


def _read_csv(path: Path) -> Iterator[tuple[int, Mapping[str, Any]]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames
        if not header:
            raise InputError("manifest", f"{path.name} is empty: a CSV manifest starts with a header row")
        unknown = [h for h in header if h not in COLUMNS and h.strip().lower() not in _SECRET_COLUMNS]
        if unknown:
            raise InputError(
                "manifest", f"unknown column {_shown(unknown[0])!r} in {path.name}; expected {', '.join(COLUMNS)}"
            )
        twice = sorted({h for h in header if header.count(h) > 1})
        if twice:
            raise InputError("manifest", f"column {_shown(twice[0])!r} appears more than once in {path.name}")
        if "ticket_number" not in header and "ticket_id" not in header:
            raise InputError("manifest", f"{path.name} needs a ticket_number or ticket_id column")
        if "kind" not in header:
            raise InputError("manifest", f"{path.name} needs a kind column")
        start = reader.line_num + 1
        for raw in reader:
            row = start
            start = reader.line_num + 1
            if (
                all((v is None or (isinstance(v, str) and not v.strip())) for k, v in raw.items() if k is not None)
                and None not in raw
            ):
                continue  # a row of empty cells
            yield row, raw


class _Object(dict[str, Any]):
    """A JSON object that remembers the keys given more than once (json keeps the last)."""

    duplicates: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object()
    twice = []
    for key, value in pairs:
        if key in obj:
            twice.append(key)
        obj[key] = value
    obj.duplicates = tuple(twice)
    return obj


def _read_jsonl(path: Path) -> Iterator[tuple[int, Mapping[str, Any] | str]]:
    """(line number, object) per non-blank line, or (line number, problem) for a bad one."""
    with path.open(encoding="utf-8-sig") as fh:
        number = 0
        while line := fh.readline(MAX_LINE_CHARS + 1):
            number += 1
            if len(line) > MAX_LINE_CHARS and not line.endswith("\n"):
                while (rest := fh.readline(1 << 16)) and not rest.endswith("\n"):
                    pass  # skip the rest of the line without holding it
                yield number, f"longer than {MAX_LINE_CHARS} characters"
                continue
            if not line.strip():
                continue
            try:
                raw = json.loads(line, object_pairs_hook=_object)
            except json.JSONDecodeError as exc:
                yield number, f"not JSON ({exc.msg} at column {exc.colno})"
                continue
            except (ValueError, RecursionError):  # an integer of thousands of digits; nesting too deep
                yield number, "not JSON this reader accepts (a number too long or nesting too deep)"
                continue
            yield number, raw if isinstance(raw, dict) else "each line must be a JSON object"


def manifest_format(path: Path) -> str:
    """``csv`` or ``jsonl``: by extension (.csv; .jsonl/.ndjson/.json), else by the first character."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    with path.open("rb") as fh:
        head = fh.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    return "jsonl" if head.startswith(b"{") else "csv"


def load_manifest(
    path: str | Path,
    *,
    settings: ClosureSettings | None = None,
    templates: NoteTemplates | None = None,
    environ: Mapping[str, str] | None = None,
    files_root: str | Path | None = None,
) -> tuple[list[BatchItem], list[RowProblem]]:
    """Read and validate a manifest; returns the valid items and *every* problem of every
    row. Nothing is sent. Raises :class:`InputError` only when the manifest as a whole is
    unreadable (no such file, no header, an unknown CSV column, not UTF-8) or
    ``files_root`` is no folder.

    ``settings`` (request size limit, ``require_formats``) and ``templates`` default to the
    library's defaults; ``environ`` (where ``password_env`` variables are looked up) to
    :data:`os.environ`. ``password_env`` may only name ``OTRS_CLOSURE_ONBOARDING_PASSWORD``
    or ``OTRS_CLOSURE_ONBOARDING_PASSWORD_<NAME>``. The format files (paths relative to the
    manifest's folder) must lie inside ``files_root`` (default: the manifest's folder),
    symlinks resolved. A ticket named by more than one row is refused in every such row."""
    path = Path(path)
    if not path.is_file():
        raise InputError("manifest", f"no such file: {path}")
    settings = settings or ClosureSettings.build(**_OFFLINE_SETTINGS)
    templates = templates or NoteTemplates()
    env = os.environ if environ is None else environ
    base_dir = path.resolve().parent
    if files_root is None:
        root = base_dir
    else:
        root = Path(files_root).expanduser().resolve()
        if not root.is_dir():
            raise InputError("files_root", f"no such folder: {files_root}")
    source = path.name
    fmt = manifest_format(path)

    parsed: list[tuple[int, BatchItem | None, tuple[str, str] | None, list[RowProblem]]] = []
    try:
        if fmt == "csv":
            for row, raw in _read_csv(path):
                parsed.append((row, *_parse_row(raw, row, source, base_dir, root, settings, templates, env)))
        else:
            for row, obj in _read_jsonl(path):
                if isinstance(obj, str):
                    parsed.append((row, None, None, [RowProblem(row, source, None, "line", obj)]))
                else:
                    parsed.append((row, *_parse_row(obj, row, source, base_dir, root, settings, templates, env)))
    except UnicodeDecodeError:
        raise InputError("manifest", f"{path.name} is not UTF-8 text") from None
    except csv.Error as exc:
        raise InputError("manifest", f"{path.name} is not valid CSV: {exc}") from None

    rows_of: dict[str, list[int]] = {}
    for row, _item, names, _probs in parsed:
        if names is not None:
            rows_of.setdefault(names[0], []).append(row)
    items: list[BatchItem] = []
    problems: list[RowProblem] = []
    for row, item, names, probs in parsed:
        if names is not None and len(rows_of[names[0]]) > 1:
            others = ", ".join(str(r) for r in rows_of[names[0]])
            probs = [
                *probs,
                RowProblem(
                    row, source, names[1], "ticket", f"named by rows {others}: a manifest closes each ticket once"
                ),
            ]
        if probs:
            problems.extend(probs)
        elif item is not None:
            items.append(item)
    log.info("manifest %s: %d valid row(s), %d problem(s)", source, len(items), len(problems))
    return items, problems
