"""The request body of a TicketUpdate with files: a JSON document whose attachment
``Content`` strings are streamed from the files as base64, with its exact length known
in advance.

Znuny ignores a request body sent without Content-Length (so chunked transfer will not
do), and building the JSON in memory costs about three times a file's size. Each file's
bytes are checked against what was validated while they are sent
(:meth:`~otrs_closure._files.PreparedFile.iter_base64`): when they differ the read
raises before the body is complete, so the server — which waits for Content-Length
bytes and then for valid JSON — never acts on it.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Sequence
from typing import Any

from otrs_closure._files import PreparedFile

__all__ = ["StreamingJSONBody"]

_PLACEHOLDER = "\u0000otrs-closure-attachment-{}\u0000"


class StreamingJSONBody(io.RawIOBase):
    """A JSON document whose attachment ``Content`` strings are streamed from files as
    base64. ``len()`` is the exact byte length (sent as Content-Length); ``read()``
    yields the bytes in order. Each instance is read once; build a new one to resend."""

    def __init__(self, document: dict[str, Any], files: Sequence[PreparedFile]) -> None:
        super().__init__()
        text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
        self._parts: list[bytes | PreparedFile] = []
        for i, f in enumerate(files):
            token = json.dumps(_PLACEHOLDER.format(i))[1:-1]
            before, sep, text = text.partition(token)
            if not sep:
                raise ValueError(f"attachment placeholder {i} missing from document")
            self._parts.extend([before.encode(), f])
        self._parts.append(text.encode())
        self._length = sum(p.base64_length if isinstance(p, PreparedFile) else len(p) for p in self._parts)
        self._chunks = self._iter_chunks()
        self._current = b""
        self._offset = 0
        self._position = 0

    @staticmethod
    def placeholder(index: int) -> str:
        """The string to put as ``Content`` of the ``index``-th file in ``document``."""
        return _PLACEHOLDER.format(index)

    def _iter_chunks(self) -> Iterator[bytes]:
        for part in self._parts:
            if isinstance(part, PreparedFile):
                yield from part.iter_base64()
            elif part:
                yield part

    def __len__(self) -> int:
        return self._length

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        """Bytes read so far. requests sizes a file-like body as ``len() - tell()``;
        without this, io's default ``tell()`` fails on a non-seekable stream and requests
        falls back to chunked transfer, which Znuny ignores (no Content-Length)."""
        return self._position

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            rest = self._current[self._offset :] + b"".join(self._chunks)
            self._current, self._offset = b"", 0
            self._position += len(rest)
            return rest
        out: list[bytes] = []
        wanted = size
        while wanted > 0:
            if self._offset >= len(self._current):
                nxt = next(self._chunks, None)
                if nxt is None:
                    break
                self._current, self._offset = nxt, 0
            piece = self._current[self._offset : self._offset + wanted]
            self._offset += len(piece)
            wanted -= len(piece)
            out.append(piece)
        data = b"".join(out)
        self._position += len(data)
        return data

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)
