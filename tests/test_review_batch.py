"""Review findings on the batch journal."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from otrs_closure import InputError
from otrs_closure.batch import Journal


def _set_schema(path: Path, value: str) -> None:
    db = sqlite3.connect(str(path))
    with db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (value,))
    db.close()


def test_a_refused_journal_releases_its_process_lock(tmp_path: Path) -> None:
    # A journal of another schema is refused; the refusal must not keep the journal's
    # process lock (nor its connection), or the same process could never open it again.
    path = tmp_path / "closures.journal"
    Journal(path, server="https://mesa.example.gob.mx").close()
    _set_schema(path, "0")
    with pytest.raises(InputError, match="schema"):
        Journal(path, server="https://mesa.example.gob.mx")
    _set_schema(path, Journal.SCHEMA_VERSION)
    with Journal(path, server="https://mesa.example.gob.mx") as journal:
        assert journal.entries() == []
