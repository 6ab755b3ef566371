"""Answers: one GenericInterface answer (status, headers, bytes) → its data, or the typed
error it stands for. Also what an answer says about the server's configuration."""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from otrs_closure.errors import (
    AuthenticationError,
    OtrsClosureError,
    RequestTooLarge,
    ServerError,
    error_from_answer,
)

__all__ = ["Answer", "check_answer", "is_unknown_route"]

# Answers of the REST transport that a repeat cannot change (configuration errors).
# Matched anywhere in the first line: some carry an "HTTP::REST " prefix.
_DETERMINISTIC_500 = (
    "Error while determine Operation",
    "Error while decoding request content",
    "Unsupported request content structure",
    "Could not read input data",
)
_UNKNOWN_ROUTE = "Error while determine Operation"


@dataclass(frozen=True)
class Answer:
    """An HTTP answer as the wire read it (bounded)."""

    status: int
    headers: Mapping[str, str] = field(repr=False)  # case-insensitive (requests' structure)
    content: bytes = field(repr=False)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(0.0, when.timestamp() - time.time())


def is_unknown_route(exc: OtrsClosureError) -> bool:
    """Whether ``exc`` is the server saying no operation is routed there (HTTP 500
    "Error while determine Operation"): the route is wrong for this server."""
    return isinstance(exc, ServerError) and exc.http_status == 500 and _UNKNOWN_ROUTE in (exc.error_message or "")


def check_answer(answer: Answer, operation: str, ticket: str | int | None) -> dict[str, Any]:
    """The data of one GenericInterface answer, or the error it stands for."""
    status = answer.status
    headers = answer.headers
    retry_after = _retry_after(headers.get("Retry-After"))
    ctx: dict[str, Any] = {"operation": operation, "ticket": ticket, "http_status": status}
    if status == 413:
        raise RequestTooLarge("the request exceeds the web service's MaxLength", **ctx)
    text = answer.content.decode("utf-8", "replace")
    data: Any = None
    try:
        data = json.loads(text) if text else None
    except ValueError:
        data = None
    if status != 200:
        if isinstance(data, dict) and "faultstring" in data:
            fault = str(data.get("faultstring"))[:500]
            raise ServerError(
                f"{operation} failed on the server: {fault}",
                retry_after=retry_after,
                error_code=str(data.get("faultcode") or "")[:100] or None,
                error_message=fault,
                **ctx,
            )
        first_line = text.strip().splitlines()[0][:200] if text.strip() else ""
        plain = "text/plain" in headers.get("Content-Type", "")
        deterministic = status == 500 and plain and any(m in first_line for m in _DETERMINISTIC_500)
        if 300 <= status < 400:
            where = urlsplit(headers.get("Location", ""))
            target = (
                f"{where.scheme}://{where.hostname or ''}{where.path}" if where.netloc else where.path or "elsewhere"
            )
            raise ServerError(
                f"HTTP {status}: the server redirects to {target[:200]}; set base_url (and gi_path) to the final "
                "address",
                retryable=False,
                **ctx,
            )
        if status in (401, 407):
            raise AuthenticationError(f"HTTP {status} from the server or a proxy in front of it", **ctx)
        if status == 404:
            raise ServerError(
                "HTTP 404: check base_url, gi_path and webservice", retryable=False, error_message=first_line, **ctx
            )
        if status == 500 and _UNKNOWN_ROUTE in first_line:
            raise ServerError(
                f"HTTP 500: the web service routes no operation at this address ({first_line}); check the "
                "routes setting (OTRS_CLOSURE_ROUTES) against the web service's configuration",
                retryable=False,
                error_message=first_line,
                **ctx,
            )
        raise ServerError(
            f"HTTP {status}" + (f": {first_line}" if plain and first_line else ""),
            retry_after=retry_after,
            retryable=not deterministic and (status >= 500 or status == 429 or status == 408),
            error_message=first_line if plain else None,
            **ctx,
        )
    if not isinstance(data, dict):
        kind = headers.get("Content-Type", "unknown content type")[:100]
        raise ServerError(
            f"the answer is not the GenericInterface's JSON ({kind}); a proxy or maintenance page?",
            retry_after=retry_after,
            **ctx,
        )
    error = data.get("Error")
    if isinstance(error, dict):
        raise error_from_answer(
            operation=operation,
            ticket=ticket,
            http_status=status,
            error_code=str(error.get("ErrorCode", ""))[:200],
            error_message=str(error.get("ErrorMessage", ""))[:1000],
        )
    return data
