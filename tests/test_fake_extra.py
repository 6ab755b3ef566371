"""The fake as an extra: ``responses`` is needed only by the mock door.

Each check runs in a fresh interpreter whose import system refuses ``responses`` (a
meta-path blocker installed before anything else is imported), as on a machine where
``pip install otrs_closure`` ran without the ``testing`` extra.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

BLOCKER = textwrap.dedent(
    """
    import importlib.abc, sys

    class _NoResponses(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "responses" or name.startswith("responses."):
                raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)", name=name)
            return None

    sys.meta_path.insert(0, _NoResponses())
    """
)


def _python(code: str, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCKER + textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def test_the_blocker_blocks() -> None:
    done = _python("import responses")
    assert done.returncode != 0 and "blocked by the test" in done.stderr


def test_importing_the_fake_does_not_import_responses() -> None:
    """Plain import (no blocker needed to observe it): ``responses`` stays out of sys.modules."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, otrs_closure.testing, otrs_closure.testing.plugin; print('responses' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_without_responses_the_serve_door_works_and_the_mock_door_says_what_to_install() -> None:
    done = _python(
        """
        import requests
        from otrs_closure.testing import FakeZnuny, PASSWORDS
        fake = FakeZnuny.service_desk()
        with fake.serve() as url:
            answer = requests.post(url + "/Session", json={"UserLogin": "tecnico1", "Password": PASSWORDS["tecnico1"]})
            print("serve", sorted(answer.json()))
        try:
            with fake.mock():
                pass
        except ImportError as exc:
            print("mock", exc)
        """
    )
    assert done.returncode == 0, done.stderr
    assert "serve ['SessionID']" in done.stdout
    assert "mock FakeZnuny.mock() needs the 'responses' package: pip install 'otrs_closure[testing]'" in done.stdout


def test_the_pytest_plugin_loads_without_responses(tmp_path: Path) -> None:
    """The plugin (entry point) loads; the loopback fixture works; the responses fixture fails
    with the install hint, not an ImportError traceback."""
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(
            """
            import requests

            def test_loopback(fake_znuny_server):
                login = {"UserLogin": "tecnico1", "Password": "tecnico-pass"}
                assert "SessionID" in requests.post(fake_znuny_server.base_url + "/Session", json=login).json()

            def test_mocked(fake_znuny):
                pass
            """
        ),
        encoding="utf-8",
    )
    done = _python(
        """
        import sys, pytest
        sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "-p", "no:randomly", sys.argv[1]]))
        """,
        str(tmp_path),
        cwd=tmp_path,
    )
    output = done.stdout + done.stderr
    assert "1 passed" in output and "1 error" in output, output
    assert "pip install 'otrs_closure[testing]'" in output
    assert "Traceback" not in output


def test_responses_is_an_extra_not_a_dependency() -> None:
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = [dep.split(">")[0].split("=")[0].split("[")[0].strip() for dep in project["dependencies"]]
    assert "responses" not in names
    extras = project["optional-dependencies"]
    assert any(dep.startswith("responses") for dep in extras["testing"])
    assert any(x.startswith("otrs_closure[") and "testing" in x for x in extras["test"])
