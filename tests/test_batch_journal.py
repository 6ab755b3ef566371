"""The batch journal on its own (SQLite): keys and advice, one batch at a time (the lock on
the real file), and files that are no journal. No server is involved."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from otrs_closure import InputError, ServiceRequest, UserOnboarding
from otrs_closure.batch import BatchItem, BatchResult, BatchStatus, Journal


def test_journal_keys_and_advice(tmp_path: Path) -> None:
    item = BatchItem(attention=ServiceRequest(description="x"), ticket_number="2026112810000061", row=2,
                     source="m.csv", closure_id="oc-aaaaaaaaaaaa")
    other_closure = BatchItem(attention=ServiceRequest(description="y"), ticket_number="2026112810000061",
                              closure_id="oc-bbbbbbbbbbbb")
    path = tmp_path / "j.sqlite3"
    with Journal(path, server="http://a/ws") as j:
        assert not j.is_closed(item)
        j.record_start(item)
        assert j.lookup(item.key, "oc-aaaaaaaaaaaa").status == "started"  # type: ignore[union-attr]
        assert not j.is_closed(item)
        j.record_result(BatchResult.for_item(item, BatchStatus.FAILED, error=InputError("x", "y")))
        assert not j.is_closed(item)
        j.record_start(item)
        j.record_result(BatchResult.for_item(item, BatchStatus.ALREADY_CLOSED))
        assert j.is_closed(item)
        assert not j.is_closed(other_closure)  # another closure of the same ticket
        entry = j.lookup(item.key, "oc-aaaaaaaaaaaa")
        assert entry is not None and entry.attempts == 2 and entry.error is None  # the failure is history
    with Journal(path, server="http://a/ws") as j:  # persisted
        assert j.is_closed(item) and j.counts() == {"closed": 1}
        with pytest.raises(InputError, match="in use by another batch"):
            Journal(path, server="http://a/ws")  # one batch at a time per journal
    with Journal(path, server="http://b/ws") as j:  # another server knows nothing of it
        assert not j.is_closed(item) and j.entries() == []
    (tmp_path / "garbage").write_bytes(b"not a database" * 100)
    with pytest.raises(InputError, match="journal"):
        Journal(tmp_path / "garbage", server="x")


def test_a_database_that_is_not_a_journal_is_refused_untouched(tmp_path: Path) -> None:
    for name, ddl in (("otra.db", "CREATE TABLE closures (a, b)"), ("agenda.db", "CREATE TABLE contactos (n)")):
        path = tmp_path / name
        with sqlite3.connect(path) as db:
            db.execute(ddl)
        db.close()
        before = path.read_bytes()
        with pytest.raises(InputError, match="not an otrs-closure journal"):
            Journal(path, server="https://mesa.example.gob.mx")
        assert path.read_bytes() == before
    (tmp_path / "texto.journal").write_text("no soy una base de datos\n" * 100)
    with pytest.raises(InputError, match="not a usable SQLite journal"):
        Journal(tmp_path / "texto.journal", server="https://mesa.example.gob.mx")


def test_one_journal_reached_through_a_symlink_is_locked_once(tmp_path: Path) -> None:
    # Two batches on one journal would race each other's closures: the lock is on the real
    # file, whatever name (a symlink, a relative path) each batch reaches it by.
    real = tmp_path / "datos" / "cierres.journal"
    real.parent.mkdir()
    link = tmp_path / "enlace.journal"
    link.symlink_to(real)
    folder_link = tmp_path / "carpeta"
    folder_link.symlink_to(real.parent, target_is_directory=True)
    with Journal(real, server="https://mesa.example.gob.mx"):
        for other in (link, folder_link / "cierres.journal"):
            with pytest.raises(InputError, match="in use by another batch"):
                Journal(other, server="https://mesa.example.gob.mx")
    with Journal(link, server="https://mesa.example.gob.mx"), pytest.raises(InputError, match="in use"):
        Journal(real, server="https://mesa.example.gob.mx")


def test_a_journal_in_a_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such folder"):
        Journal(tmp_path / "no_existe" / "j.sqlite3", server="https://mesa.example.gob.mx")


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


def test_an_item_carrying_a_secret_is_never_skipped(tmp_path: Path) -> None:
    # The closure identity leaves the onboarding password out: the journal cannot tell a
    # corrected password from the old one, so it never advises skipping an onboarding.
    onboarding = UserOnboarding(description="Alta", access_url="https://n.example.mx", login="m", password="A#1")
    items = [BatchItem(attention=a, ticket_number=n, closure_id=c) for a, n, c in (
        (ServiceRequest(description="x"), "2026112810000071", "oc-aaaaaaaaaaaa"),
        (onboarding, "2026112810000072", "oc-bbbbbbbbbbbb"),
    )]
    with Journal(tmp_path / "j.sqlite3", server="http://a/ws") as journal:
        for item in items:
            journal.record_start(item)
            journal.record_result(BatchResult.for_item(item, BatchStatus.CLOSED))
        assert [journal.is_closed(i) for i in items] == [True, True]  # both recorded closed
        assert [journal.may_skip(i) for i in items] == [True, False]
        assert [i.carries_secret for i in items] == [False, True]
