"""pytest plugin (entry point ``pytest11: otrs_closure``): the ``fake_znuny`` fixtures.

``fake_znuny`` is a fresh :meth:`FakeZnuny.service_desk` answering in-process through
``responses``; ``fake_znuny_server`` is the same world served on a loopback port. Both
expose the web service URL as ``.base_url``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from otrs_closure.testing._fake import FakeZnuny

__all__ = ["fake_znuny", "fake_znuny_server"]


@pytest.fixture
def fake_znuny() -> Iterator[FakeZnuny]:
    """A service-desk FakeZnuny behind the in-process ``responses`` door."""
    fake = FakeZnuny.service_desk()
    with fake.mock():
        yield fake


@pytest.fixture
def fake_znuny_server() -> Iterator[FakeZnuny]:
    """A service-desk FakeZnuny served over HTTP on 127.0.0.1 (random port)."""
    fake = FakeZnuny.service_desk()
    with fake.serve():
        yield fake
