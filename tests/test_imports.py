"""Importing the library loads what a closure needs and nothing else: no CLI, batch
storage, terminal UI, fake server or pyotrs."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("argparse", "sqlite3", "rich", "responses", "pyotrs")


def _loaded(statement: str) -> list[str]:
    code = f"import sys\n{statement}\nprint(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    return eval(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def test_import_otrs_closure_loads_nothing_heavy() -> None:
    assert _loaded("import otrs_closure") == []


def test_a_closure_client_and_its_models_load_nothing_heavy() -> None:
    assert _loaded("from otrs_closure import ClosureClient, ServiceRequest, FormatFiles, ClosureSettings") == []


def test_the_batch_names_load_on_first_use() -> None:
    assert _loaded("import otrs_closure; otrs_closure.load_manifest") == []  # csv and json only
    assert "sqlite3" in _loaded("from otrs_closure.batch import Journal")


def test_the_library_never_imports_the_cli() -> None:
    code = "import otrs_closure, otrs_closure.batch; import sys; print('otrs_closure.cli' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() \
        == "False"
