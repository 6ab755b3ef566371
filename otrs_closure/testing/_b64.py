"""Base64 exactly as Perl's MIME::Base64 does it, because Znuny never validates attachments.

``decode_base64`` drops characters outside the alphabet, decodes whole quads, turns a
trailing 2-/3-character group into 1/2 bytes, ignores a lone trailing character and stops
at the first ``=`` -- so garbage is stored, not rejected (recordings 62/62b).
"""

from __future__ import annotations

import base64
import binascii
import re

__all__ = ["perl_decode_base64", "encode_base64"]

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_VALUES = {ch: i for i, ch in enumerate(_ALPHABET)}
_EQ = -1
_NOT_B64 = re.compile(r"[^A-Za-z0-9+/=]")


def perl_decode_base64(text: str) -> bytes:
    """Decode like ``MIME::Base64::decode_base64`` (never fails)."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        pass
    s = _NOT_B64.sub("", text)
    first_eq = s.find("=")
    limit = len(s) if first_eq < 0 else first_eq
    safe_end = (limit // 4) * 4
    out = bytearray(base64.b64decode(s[:safe_end])) if safe_end else bytearray()
    i = safe_end
    while i < len(s):
        c = [_EQ if ch == "=" else _VALUES[ch] for ch in s[i : i + 4]]
        i += 4
        if len(c) < 4:
            if len(c) < 2:
                break
            if len(c) == 2:
                c.append(_EQ)
            c.append(_EQ)
        if c[0] == _EQ or c[1] == _EQ:
            break
        out.append(((c[0] << 2) | ((c[1] & 0x30) >> 4)) & 0xFF)
        if c[2] == _EQ:
            break
        out.append((((c[1] & 0x0F) << 4) | ((c[2] & 0x3C) >> 2)) & 0xFF)
        if c[3] == _EQ:
            break
        out.append((((c[2] & 0x03) << 6) | c[3]) & 0xFF)
    return bytes(out)


def encode_base64(data: bytes, *, lines: bool = False) -> str:
    """Base64 without line breaks, as TicketGet returns attachment content -- or, with ``lines``,
    ``MIME::Base64::encode_base64``'s default: 76-character lines, each ending in ``\n``
    (OTRS 5's TicketGet)."""
    text = base64.b64encode(data).decode("ascii")
    if not lines:
        return text
    return "".join(text[i : i + 76] + "\n" for i in range(0, len(text), 76))
