"""Text that comes from tickets (titles, agents' names) made safe to show, and repaired
where a server mangled it. Every report passes untrusted text through here first; each
output format then escapes it its own way (HTML, CSV, the terminal)."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["shown", "repair_mojibake", "csv_cell"]

# C0/C1 controls (escape sequences included), and the characters that reorder or hide
# text (bidi overrides and isolates, zero-width marks, line/paragraph separators).
_HIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
# What UTF-8 read as Latin-1/cp1252 looks like: "Ã©", "Ã±", "Ã\xad"…
_MOJIBAKE = re.compile(
    "[ÂÃ][\x80-\xbf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u203a\u20ac\u2122]"
)


def repair_mojibake(text: str) -> str:
    """UTF-8 that a server decoded as Latin-1 (OTRS 5 shows agents' names so: "Juan
    PÃ©rez"), decoded back; any other text unchanged."""
    if not _MOJIBAKE.search(text):
        return text
    for codec in ("cp1252", "latin-1"):
        try:
            return text.encode(codec).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
    return text


def shown(text: str | None, limit: int = 200) -> str:
    """One line of at most ``limit`` characters with no control or hidden characters (a
    title cannot move the cursor, colour a terminal or reverse a line), NFC."""
    if not text:
        return ""
    line = _HIDDEN.sub(" ", unicodedata.normalize("NFC", text))
    line = " ".join(line.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def csv_cell(value: object) -> str:
    """A CSV cell that a spreadsheet cannot take for a formula: text starting with ``=``,
    ``+``, ``-``, ``@`` (or a tab or carriage return) gets a leading apostrophe."""
    text = "" if value is None else str(value)
    if text and text[0] in "=+-@\t\r":
        return "'" + text
    return text
