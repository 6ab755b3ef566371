"""Dropping attachment contents from an answer while it arrives.

A closure and an audit read attachment *metadata* (``GetAttachmentContents=0``); OTRS 5
ignores that flag and sends every attachment's base64 ``Content`` anyway — for a ticket
holding a 50 MB scan, 67 MB of text on every read. :class:`ContentDropper` blanks those
values as the bytes stream in, so they are never held.

It relies on a fact of JSON: a key ``"Content"`` preceded by ``{`` or ``,`` and followed
by ``:"`` cannot occur inside a string (a quote there is escaped as ``\\"``), so the
pattern only ever meets the structure; the value ends at the first quote not escaped
by a backslash.
"""

from __future__ import annotations

__all__ = ["ContentDropper"]

_KEY = b'"Content":"'


class ContentDropper:
    """Feed chunks of a JSON answer; get them back with every ``"Content":"…"`` value
    emptied. ``dropped`` counts the bytes left out."""

    def __init__(self) -> None:
        self._inside = False  # within a Content value
        self._escaped = False  # the previous byte inside it was a backslash
        self._tail = b""  # undecided bytes kept from the previous chunk (a key cut in two)
        self._last = b""  # the byte before ``_tail`` (to check the key's context)
        self.dropped = 0

    def feed(self, chunk: bytes) -> bytes:
        out = bytearray()
        data = self._tail + chunk
        self._tail = b""
        i = 0
        n = len(data)
        while i < n:
            if self._inside:
                j = i
                while j < n:
                    byte = data[j]
                    if self._escaped:
                        self._escaped = False
                    elif byte == 0x5C:  # backslash
                        self._escaped = True
                    elif byte == 0x22:  # the closing quote
                        break
                    j += 1
                self.dropped += j - i
                if j == n:
                    return bytes(out)
                self._inside = False
                i = j  # the closing quote is emitted below, as an outside byte
                continue
            k = data.find(_KEY, i)
            if k < 0:
                # keep what could be the start of a key cut by the chunk's end
                keep = max(i, n - len(_KEY) + 1)
                out += data[i:keep]
                self._last = data[keep - 1 : keep] if keep > 0 else self._last
                self._tail = data[keep:]
                return bytes(out)
            before = data[k - 1 : k] if k > 0 else self._last
            out += data[i : k + len(_KEY)]
            i = k + len(_KEY)
            if before in (b"{", b","):
                self._inside = True
                self._escaped = False
        self._last = data[n - 1 : n] if n else self._last
        return bytes(out)

    def close(self) -> bytes:
        """What is left (a tail that was not a key)."""
        rest, self._tail = self._tail, b""
        return b"" if self._inside else rest
