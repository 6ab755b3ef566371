"""Shared test configuration."""

from __future__ import annotations

import os
from typing import Any

from hypothesis import settings

# In CI, property tests explore a fixed set of examples so that a run is reproducible;
# locally they keep searching new ones.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


# -- the live suite (tests/test_live_*.py; see tests/live_support.py) ----------------------------

import live_compat  # noqa: E402
import live_support  # noqa: E402
import pytest  # noqa: E402

LIVE_TARGETS = live_support.targets() if live_support.configured() else []
COMPAT = live_compat.RECORDER


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "compat(column): the live test proves this compatibility-table column")
    config.addinivalue_line("markers", "live_last: runs after every other live test (reads what they left)")
    for t in LIVE_TARGETS:  # where the access logs stood when the suite started
        t.log_start = live_support.log_offset(t.access_log)
        COMPAT.fact(t.name, product=t.product, url=t.url, settings_needed=t.needed_settings)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test taking ``target`` runs once per configured server, grouped by server."""
    if "target" not in metafunc.fixturenames:
        return
    if LIVE_TARGETS:
        metafunc.parametrize("target", LIVE_TARGETS, ids=[t.name for t in LIVE_TARGETS], scope="session")
    else:
        metafunc.parametrize("target", [pytest.param(None, marks=pytest.mark.skip(reason=live_support.SKIP_REASON))],
                             ids=["no-server"])


@pytest.fixture(autouse=True)
def _live_sessions_ended(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Around each live test: on the lab's OTRS 5 and 6, first empty the log buffer the five
    systems share if another system poisoned it (see lab.LOG_SHM_KEY; noted in the
    compatibility table); afterwards, end the GenericInterface sessions the test created."""
    callspec = getattr(request.node, "callspec", None)
    target = callspec.params.get("target") if callspec else None
    live = isinstance(target, live_support.Target)
    if live and target.system is not None and target.system.generation in ("otrs5", "otrs6"):
        import lab

        if lab.clear_bad_log_buffer():
            CLEARED[target.name] = CLEARED.get(target.name, 0) + 1
            COMPAT.note(target.name, "lab", f"the shared log buffer was poisoned by another system and was "
                                            f"emptied {CLEARED[target.name]} time(s) during the run")
    yield
    if live:
        target.forget_sessions()


CLEARED: dict[str, int] = {}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("live_last") is not None)  # stable


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    callspec = getattr(item, "callspec", None)
    target = callspec.params.get("target") if callspec else None
    if not isinstance(target, live_support.Target):
        return
    if report.when == "call" or (report.when == "setup" and not report.passed):
        columns = [m.args[0] for m in item.iter_markers("compat")]
        COMPAT.record(target.name, columns, item.nodeid, "skipped" if report.skipped else report.outcome)
        if report.failed and call.excinfo is not None:
            reason = live_support.mask(call.excinfo.exconly().splitlines()[0], target.secrets())
            FAILURES.append((target.name, item.nodeid.split("::")[-1], reason))


FAILURES: list[tuple[str, str, str]] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The live failures, one line per cause (digits folded), with the tests it hit."""
    if not FAILURES:
        return
    import re
    from collections import defaultdict

    causes: dict[tuple[str, str], list[str]] = defaultdict(list)
    for target, test, reason in FAILURES:
        causes[(target, re.sub(r"\d+", "N", reason)[:240])].append(test)
    terminalreporter.section("live failures by cause")
    for (target, cause), tests in sorted(causes.items(), key=lambda kv: (kv[0][0], -len(kv[1]))):
        shown = ", ".join(tests[:3]) + (f", … ({len(tests)} tests)" if len(tests) > 3 else "")
        terminalreporter.write_line(f"[{target}] {len(tests)}× {cause}\n      {shown}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if LIVE_TARGETS and COMPAT.totals:
        directory = os.environ.get("OTRS_CLOSURE_TEST_COMPAT_DIR") or str(live_support.repo_root() / ".live-results")
        from pathlib import Path

        COMPAT.write(Path(directory))
