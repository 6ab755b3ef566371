"""pytest plugin (entry point ``pytest11: otrs_closure``): the ``fake_znuny`` fixtures.

* ``fake_znuny``: a fresh :meth:`FakeZnuny.service_desk` answering in-process through
  ``responses`` (the ``testing`` extra: ``pip install 'otrs_closure[testing]'``);
* ``fake_znuny_server``: the same world served on a loopback port (needs nothing extra);
* ``fake_znuny_factory``: ``make(profile=..., door="mock"|"serve", seed=..., **options)``
  for several fakes, or other systems, in one test.

Both fixed fixtures expose the web service URL as ``.base_url``. Pick the system with the
marker ``@pytest.mark.fake_znuny(profile="otrs6")`` (default ``znuny-6.5.15``), or with
``--fake-znuny-profile NAME`` for a whole run. The plugin itself never imports
``responses``; a fixture that needs it and does not find it fails saying what to install.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from otrs_closure.testing._fake import FakeZnuny
from otrs_closure.testing._profiles import Profile

__all__ = ["fake_znuny", "fake_znuny_server", "fake_znuny_factory", "FakeZnunyFactory"]

FakeZnunyFactory = Callable[..., FakeZnuny]
_OPTION = "--fake-znuny-profile"


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--fake-znuny-profile``: the default profile of the fake_znuny fixtures in this run."""
    parser.addoption(
        _OPTION,
        default=None,
        help="system the fake_znuny fixtures behave like (e.g. znuny-6.5.15, otrs6, otobo, otrs5, znuny7)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "fake_znuny(profile=None, seed='service_desk', **options): how the fake_znuny fixtures build their fake",
    )


def _build(seed: str, profile: str | Profile | None, options: dict[str, Any]) -> FakeZnuny:
    if seed == "service_desk":
        return FakeZnuny.service_desk(profile=profile, **options)
    if seed in ("recordings", "like_recordings"):
        return FakeZnuny.like_recordings(profile=profile, **options)
    raise ValueError(f"unknown seed {seed!r} (choose service_desk or recordings)")


def _open(stack: ExitStack, fake: FakeZnuny, door: str) -> None:
    if door == "mock":
        missing = ""
        try:
            stack.enter_context(fake.mock())
        except ImportError as exc:  # responses is not installed
            missing = str(exc)
        if missing:  # failed outside the except block: the hint alone, no chained traceback
            pytest.fail(missing, pytrace=False)
    elif door == "serve":
        stack.enter_context(fake.serve())
    else:
        raise ValueError(f"unknown door {door!r} (choose mock or serve)")


def _from_marker(request: pytest.FixtureRequest) -> tuple[str, str | None, dict[str, Any]]:
    marker = request.node.get_closest_marker("fake_znuny")
    options = dict(marker.kwargs) if marker is not None else {}
    seed = str(options.pop("seed", "service_desk"))
    profile = options.pop("profile", None) or request.config.getoption(_OPTION)
    return seed, profile, options


@pytest.fixture
def fake_znuny(request: pytest.FixtureRequest) -> Iterator[FakeZnuny]:
    """A service-desk FakeZnuny behind the in-process ``responses`` door."""
    seed, profile, options = _from_marker(request)
    with ExitStack() as stack:
        fake = _build(seed, profile, options)
        _open(stack, fake, "mock")
        yield fake


@pytest.fixture
def fake_znuny_server(request: pytest.FixtureRequest) -> Iterator[FakeZnuny]:
    """A service-desk FakeZnuny served over HTTP on 127.0.0.1 (random port)."""
    seed, profile, options = _from_marker(request)
    with ExitStack() as stack:
        fake = _build(seed, profile, options)
        _open(stack, fake, "serve")
        yield fake


@pytest.fixture
def fake_znuny_factory(request: pytest.FixtureRequest) -> Iterator[FakeZnunyFactory]:
    """``make(profile=None, door="serve", seed="service_desk", **options)``: a FakeZnuny with its
    door open (closed at the end of the test). The loopback door is the default here, so
    several fakes can run side by side; ``door="mock"`` needs ``responses``."""
    default_profile = request.config.getoption(_OPTION)
    with ExitStack() as stack:

        def make(
            profile: str | Profile | None = None,
            *,
            door: str = "serve",
            seed: str = "service_desk",
            **options: Any,
        ) -> FakeZnuny:
            fake = _build(seed, profile if profile is not None else default_profile, options)
            _open(stack, fake, door)
            return fake

        yield make
