"""In-process door: the fake answers through the ``responses`` library (the ``testing`` extra).

``responses`` is imported only when the door opens, so the rest of the fake works without it.

Every HTTP method on ``<host><script path>/...`` is intercepted for any code using
``requests`` in the process (pyotrs included); other URLs are not passed through, so an
unexpected host fails loudly with responses' ConnectionError. Network faults are raised
as the exceptions ``requests`` itself would raise.
"""

from __future__ import annotations

import http.client
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
import urllib3.exceptions
from requests import PreparedRequest

from otrs_closure.testing._provider import GenericInterface, RawRequest

if TYPE_CHECKING:  # pragma: no cover - ``responses`` is only needed once the door opens
    import responses

#: What to install when the mock door is used without ``responses``.
MISSING_RESPONSES = (
    "FakeZnuny.mock() needs the 'responses' package: pip install 'otrs_closure[testing]' "
    "(or use FakeZnuny.serve(), which needs nothing extra)"
)

__all__ = [
    "mock_door",
    "answer_request",
    "request_body_bytes",
    "split_base_url",
    "import_responses",
    "MISSING_RESPONSES",
]

_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def split_base_url(base_url: str, gi: GenericInterface) -> tuple[str, str]:
    """``(host_root, web_service_url)`` from a host root or a full web service URL."""
    parts = urlsplit(base_url)
    if not parts.scheme or not parts.netloc:
        raise ValueError(f"base_url must be absolute, like 'http://znuny.fake.test' (got {base_url!r})")
    host = f"{parts.scheme}://{parts.netloc}"
    return host, f"{host}{gi.script_path}/Webservice/{gi.webservice}"


def request_body_bytes(body: Any) -> bytes:
    """The request body as bytes, whatever ``requests`` carried (bytes, str, file, iterator)."""
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):
        data = body.read()
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    chunks = []
    for chunk in body:
        chunks.append(chunk.encode("utf-8") if isinstance(chunk, str) else bytes(chunk))
    return b"".join(chunks)


def answer_request(gi: GenericInterface, request: PreparedRequest) -> tuple[int, dict[str, str], bytes]:
    """Answer one ``requests`` request the way the mock door does: ``(status, headers, body)``,
    or the ``requests`` exception of a network fault (refused, dropped, timed out).

    The door's ``responses`` callback is this function; wrap it in a callback of your own to
    put something between the client and the fake (a proxy that rewrites or replaces answers).
    The request body (bytes, str, file or iterator) is consumed.
    """
    raw = request_body_bytes(request.body)
    headers = {k.lower(): str(v) for k, v in request.headers.items()}
    target = request.path_url
    outcome = gi.handle(
        RawRequest(method=str(request.method), target=target, headers=headers, remote_addr=None, door="mock"),
        read_body=lambda n: raw,
    )
    if outcome.action == "refuse":
        raise requests.exceptions.ConnectionError(
            urllib3.exceptions.NewConnectionError(
                None,  # type: ignore[arg-type]
                "Failed to establish a new connection: [Errno 111] Connection refused",
            ),
            request=request,
        )
    if outcome.action == "drop":
        raise requests.exceptions.ConnectionError(
            urllib3.exceptions.ProtocolError(
                "Connection aborted.",
                http.client.RemoteDisconnected("Remote end closed connection without response"),
            ),
            request=request,
        )
    if outcome.action == "timeout":
        timeout = getattr(request, "req_kwargs", {}).get("timeout")
        raise requests.exceptions.ReadTimeout(
            urllib3.exceptions.ReadTimeoutError(
                None,  # type: ignore[arg-type]
                str(request.url),
                f"Read timed out. (read timeout={timeout})",
            ),
            request=request,
        )
    return outcome.status, dict(outcome.headers), outcome.body


def import_responses() -> Any:
    """The ``responses`` module, or an ImportError that says what to install."""
    try:
        import responses
    except ImportError as exc:
        raise ImportError(MISSING_RESPONSES) from exc
    return responses


@contextmanager
def mock_door(
    gi: GenericInterface, base_url: str, requests_mock: responses.RequestsMock | None = None
) -> Iterator[str]:
    """Register the fake on ``base_url``'s host; yields the web service URL."""
    host, service_url = split_base_url(base_url, gi)
    pattern = re.compile("^" + re.escape(host + gi.script_path) + r"(?:[/?#].*)?$", re.DOTALL)

    def callback(request: PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        return answer_request(gi, request)

    owns = requests_mock is None
    rsps = (
        requests_mock
        if requests_mock is not None
        else import_responses().RequestsMock(assert_all_requests_are_fired=False)
    )
    registered = [rsps.add_callback(method, pattern, callback=callback, content_type=None) for method in _METHODS]
    if owns:
        rsps.start()
    try:
        yield service_url
    finally:
        if owns:
            rsps.stop(allow_assert=False)
            rsps.reset()
        else:
            for item in registered:
                try:
                    rsps.remove(item)
                except Exception:  # already reset by its owner
                    pass
