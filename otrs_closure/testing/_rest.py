"""REST.pm's side of a request: query parsing, the input hash it builds, its transport errors.

``Transport/HTTP/REST.pm`` parses the query string, merges query, route placeholders and
``X-OTRS-Header-*`` credentials over the JSON body, judges MaxLength on Content-Length before
reading, and answers its own failures as plain-text HTTP 500s (413 over MaxLength). The
answers' JSON is encoded as ``Kernel::System::JSON`` does.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

from otrs_closure.testing._faults import RequestRecord

__all__ = [
    "TransportError",
    "parse_query",
    "header_credentials",
    "decode_input",
    "encode_json",
    "APACHE_404",
    "APACHE_500",
    "UNAVAILABLE_PAGE",
    "RATE_LIMIT_PAGE",
    "MAINTENANCE_PAGE",
]

_HEADER_CREDENTIALS = (
    "UserLogin",
    "CustomerUserLogin",
    "SessionID",
    "Password",
    "ImpersonateAsUser",
    "TwoFactorToken",
)


APACHE_500 = (
    '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>500 Internal Server Error</title>\n'
    "</head><body>\n<h1>Internal Server Error</h1>\n<p>The server encountered an internal error or\n"
    "misconfiguration and was unable to complete\nyour request.</p>\n</body></html>\n"
)
APACHE_404 = (
    '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>404 Not Found</title>\n'
    "</head><body>\n<h1>Not Found</h1>\n<p>The requested URL was not found on this server.</p>\n</body></html>\n"
)
UNAVAILABLE_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>503 Service Unavailable</title></head><body>\n"
    "<h1>Service Unavailable</h1>\n<p>The server is temporarily unable to service your request.</p>\n</body></html>\n"
)
RATE_LIMIT_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>429 Too Many Requests</title></head><body>\n"
    "<h1>Too Many Requests</h1>\n<p>Slow down.</p>\n</body></html>\n"
)
MAINTENANCE_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>Maintenance</title></head><body>\n"
    "<h1>System maintenance</h1>\n<p>Znuny is currently under maintenance. Please try again later.</p>\n"
    "</body></html>\n"
)


class TransportError(Exception):
    """A failure REST.pm answers itself, as plain text with this HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def parse_query(query_string: str, *, modern: bool = True) -> dict[str, Any]:
    """REST.pm's query parsing: ``[;&]`` split, ``+`` is a space, UTF-8 decoded, repeats become
    arrays, and a false first value (``""`` or ``"0"``) is stored as ``""``. OTRS 5's (``modern``
    false) splits on ``&`` only, keeps ``+`` as it is and leaves the bytes undecoded (so
    ``P%C3%A9rez`` arrives as ``PÃ©rez``)."""
    params: dict[str, Any] = {}
    if not query_string:
        return params
    for pair in re.split(r"[;&]" if modern else "&", query_string):
        pieces = [p for p in pair.split("=")]
        while len(pieces) > 1 and pieces[-1] == "":
            pieces.pop()  # Perl's split drops trailing empty fields
        encoding = "utf-8" if modern else "latin-1"
        key = unquote(pieces[0], encoding=encoding) if pieces else ""
        raw = pieces[1].replace("+", "%20") if modern and len(pieces) > 1 else (pieces[1] if len(pieces) > 1 else "")
        value = unquote(raw, encoding=encoding)
        if key not in params:
            params[key] = value if value not in ("", "0") else ""
        elif isinstance(params[key], list):
            params[key].append(value)
        else:
            params[key] = [params[key], value]
    return params


def header_credentials(headers: Mapping[str, str]) -> dict[str, str]:
    """Credentials sent as ``X-OTRS-Header-<Name>`` (lower-cased header names), as Znuny 6.5+
    merges them over the query; older servers ignore these headers."""
    found: dict[str, str] = {}
    for name in _HEADER_CREDENTIALS:
        value = headers.get(f"x-otrs-header-{name.lower()}")
        if value:
            found[name] = value
    return found


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON constant {name}")


def _booleans_to_numbers(value: Any) -> Any:
    """Kernel::System::JSON turns JSON true/false into 1/0."""
    if isinstance(value, bool):
        return 1 if value else 0
    if isinstance(value, dict):
        return {k: _booleans_to_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_booleans_to_numbers(v) for v in value]
    return value


def encode_json(data: Any) -> bytes:
    """Znuny's JSON encoder: sorted keys, compact, UTF-8 (no ``\\u`` escapes)."""
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _unreadable(kind: str) -> TransportError:
    if kind == "decode_error":
        return TransportError(500, "Error while decoding request content.")
    return TransportError(500, "Could not read input data")


def decode_input(
    method: str,
    headers: Mapping[str, str],
    uri_data: dict[str, Any],
    read_body: Callable[[int], bytes],
    record: RequestRecord,
    max_length: int | None,
    unreadable: str = "could_not_read",
    utf8_only: bool = True,
) -> Any:
    """Build the operation's input hash (REST.pm ``ProviderProcessRequest``); raises
    :class:`TransportError` where REST.pm answers by itself.

    A form-encoded body, or (``utf8_only``, Znuny's Web::Request) bytes that are not UTF-8
    whatever charset is declared, are ``unreadable``: ``could_not_read`` ("Could not read input
    data", Znuny) or ``decode_error`` ("Error while decoding request content.", OTRS, OTOBO)."""
    try:
        length = int(headers.get("content-length", "0").strip() or 0)
    except ValueError:
        length = 0
    if length <= 0 or method == "GET":
        return {**uri_data, "RequestMethod": method}
    if max_length is not None and length > max_length:
        raise TransportError(413, "Request Entity Too Large")
    raw = read_body(length)
    record.size = len(raw)
    content_type = headers.get("content-type")
    form = content_type is None or re.match(
        r"\s*(application/x-www-form-urlencoded|multipart/form-data)", content_type, flags=re.IGNORECASE
    )
    if not raw:
        raise TransportError(500, "Could not read input data")
    if form or (utf8_only and not _is_utf8(raw)):
        record.body = raw.decode("utf-8", "replace")
        raise _unreadable(unreadable)
    charset_match = re.match(r"^.*charset=[\"']?([^\"']+)[\"']?$", content_type or "", flags=re.IGNORECASE | re.DOTALL)
    charset = charset_match.group(1).strip() if charset_match else ""
    try:
        if charset and not re.fullmatch(r"utf-?8", charset, flags=re.IGNORECASE):
            text = raw.decode(charset)
        else:
            text = raw.decode("utf-8")
    except LookupError:
        record.body = raw.decode("utf-8", "replace")
        raise TransportError(500, "Error while decoding request content.") from None
    except UnicodeDecodeError:
        record.body = raw.decode("utf-8", "replace")
        raise _unreadable("decode_error") from None
    text = text.lstrip("\ufeff")
    try:
        decoded = _booleans_to_numbers(json.loads(text, parse_constant=_reject_constant))
    except (ValueError, RecursionError):
        record.body = text
        raise TransportError(500, "Error while decoding request content.") from None
    record.body = decoded
    if decoded is None or decoded == 0 or decoded in ("", "0"):  # Perl-false scalars
        raise TransportError(500, "Error while decoding request content.")
    work = copy.deepcopy(decoded)  # operations trim and lower-case in place; keep the record intact
    if isinstance(work, dict) and work:
        work.update(uri_data)
        return work
    if isinstance(work, list) and work:
        return [{**item, **uri_data} if isinstance(item, dict) and item else item for item in work]
    raise TransportError(500, "Unsupported request content structure.")
