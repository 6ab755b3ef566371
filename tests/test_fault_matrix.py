"""Never half-closed, never doubled: the fault matrix (see fault_matrix.py), one test per
cell, on the in-process door for every cell and on the loopback HTTP door for a
representative subset. The table is printed at the end of the module
(``python tests/fault_matrix.py`` prints it on its own)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fault_matrix import (
    COLUMNS,
    ROWS,
    SERVE_SUBSET,
    WRITE_FAILURES,
    CellResult,
    Inputs,
    format_matrix,
    make_inputs,
    run_cell,
)

_results: list[CellResult] = []


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    return make_inputs(Path(tmp_path_factory.mktemp("formats")))


@pytest.fixture(scope="module", autouse=True)
def print_matrix(request: pytest.FixtureRequest):
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None or not _results:
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        reporter.write_line("fault matrix (request × fault):")
        for line in format_matrix(_results).splitlines():
            reporter.write_line(line)


def check(result: CellResult) -> None:
    _results.append(result)
    assert result.fired, f"the fault did not fire: {result.explain()}"
    assert result.ok, result.explain()


MOCK_CELLS = [(row, col) for row, _, _ in ROWS for col, _, _ in COLUMNS]


@pytest.mark.parametrize(("row", "column"), MOCK_CELLS, ids=[f"{r}-{c}".replace(" ", "_") for r, c in MOCK_CELLS])
def test_cell_mock_door(row: str, column: str, inputs: Inputs):
    result = run_cell(row, column, inputs, door_kind="mock")
    check(result)
    if column == "session" and row != "session":
        assert result.sessions_created == 2, "an expired session is absorbed by exactly one re-login"
    if column in ("503", "429", "refused", "maint page", "500") and row != "session":
        # nothing was applied: the request is simply repeated, no extra TicketUpdate
        # beyond the repeat itself
        assert result.writes <= 4
    if column == "413":
        # never retried: close() raised, the second close() completed
        assert result.reran or row == "verify get"


WRITE_CELLS = [(row, step.value) for row, step in WRITE_FAILURES]


@pytest.mark.parametrize(("row", "step"), WRITE_CELLS, ids=[f"{r}-{s}".replace(" ", "_") for r, s in WRITE_CELLS])
def test_znuny_partial_update(row: str, step: str, inputs: Inputs):
    """Znuny's TicketUpdate is not atomic (spec 4.4): a write step fails with HTTP 500 after
    the earlier ones were written. The client re-reads and completes without doubling."""
    check(run_cell(row, step, inputs, door_kind="mock"))


@pytest.mark.parametrize(("row", "column"), SERVE_SUBSET, ids=[f"{r}-{c}".replace(" ", "_") for r, c in SERVE_SUBSET])
def test_cell_serve_door(row: str, column: str, inputs: Inputs):
    check(run_cell(row, column, inputs, door_kind="serve"))


def test_matrix_covers_every_request_and_every_fault_kind():
    from otrs_closure.testing import Fault

    assert {k for _, k, _ in COLUMNS} == set(Fault)
    assert [r for r, _, _ in ROWS] == [
        "session",
        "search",
        "get",
        "preflight",
        "update 1",
        "update 2",
        "verify get",
    ]
