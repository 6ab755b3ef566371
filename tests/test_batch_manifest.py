"""Batch manifests: CSV and JSONL parsing, validation of every row before any request,
duplicates, and the journal on its own. No server is involved (a RequestsMock with no
routes fails any request, and every test asserts it saw none)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses
from helpers import make_file

from otrs_closure import Incident, InputError, ServiceRequest, UserOnboarding
from otrs_closure.batch import (
    COLUMNS,
    BatchItem,
    BatchResult,
    BatchStatus,
    Journal,
    RowProblem,
    load_manifest,
    manifest_format,
)
from otrs_closure.settings import ClosureSettings

PASSWORD_VAR = "OTRS_TEST_ONBOARDING_PW"


@pytest.fixture(autouse=True)
def no_http() -> Iterator[responses.RequestsMock]:
    """Any HTTP request during these tests is a failure."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps
        assert len(rsps.calls) == 0


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    make_file(tmp_path / "formatos", "PDF", "firmado.pdf")
    make_file(tmp_path / "formatos", "DOCX", "formato.docx")
    make_file(tmp_path / "formatos", "PNG", "foto.png")
    return tmp_path


def write_csv(path: Path, rows: list[dict[str, Any]], columns: tuple[str, ...] = COLUMNS) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(columns))
        w.writeheader()
        for r in rows:
            w.writerow(r)
    return path


def write_jsonl(path: Path, rows: list[dict[str, Any] | str]) -> Path:
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows), encoding="utf-8"
    )
    return path


GOOD_ROWS: list[dict[str, Any]] = [
    {"ticket_number": "2026112810000011", "kind": "service_request", "description": "Se reconfiguró la impresora."},
    {
        "ticket_id": "7",
        "kind": "incident",
        "problem": "DNS no resuelve",
        "solution": "Reinicio del DNS",
        "signed_scan": "formatos/firmado.pdf",
        "editable": "formatos/formato.docx",
    },
    {
        "ticket_number": "2026112810000012",
        "kind": "user_onboarding",
        "description": "Alta en nómina",
        "access_url": "https://nomina.example.gob.mx",
        "login": "mgarcia",
        "password_env": PASSWORD_VAR,
        "signed_scan": "formatos/firmado.pdf",
        "editable": "formatos/formato.docx",
    },
]


def env() -> dict[str, str]:
    return {PASSWORD_VAR: "Temporal#2026"}


def test_csv_manifest_builds_items(folder: Path) -> None:
    path = write_csv(folder / "cierres.csv", GOOD_ROWS)
    items, problems = load_manifest(path, environ=env())
    assert problems == []
    assert [i.row for i in items] == [2, 3, 4]
    a, b, c = items
    assert a.ticket_number == "2026112810000011" and a.ticket_id is None and a.formats is None
    assert isinstance(a.attention, ServiceRequest) and a.attention.description == "Se reconfiguró la impresora."
    assert b.ticket_id == 7 and isinstance(b.attention, Incident)
    assert b.formats is not None and b.formats.signed_scan == folder / "formatos" / "firmado.pdf"
    assert isinstance(c.attention, UserOnboarding)
    assert c.attention.password.get_secret_value() == "Temporal#2026"
    assert all(i.closure_id and i.closure_id.startswith("oc-") for i in items)
    assert {i.source for i in items} == {"cierres.csv"}
    assert "Temporal#2026" not in repr(items)


def test_jsonl_manifest_is_the_same_as_csv(folder: Path) -> None:
    csv_items, _ = load_manifest(write_csv(folder / "a.csv", GOOD_ROWS), environ=env())
    rows: list[dict[str, Any] | str] = [{k: v for k, v in r.items()} for r in GOOD_ROWS]
    rows[1] = {**GOOD_ROWS[1], "ticket_id": 7}  # numbers are accepted as numbers in JSON
    rows.insert(1, "")  # blank lines are skipped
    jsonl_items, problems = load_manifest(write_jsonl(folder / "a.jsonl", rows), environ=env())
    assert problems == []
    assert [i.closure_id for i in jsonl_items] == [i.closure_id for i in csv_items]
    assert [i.row for i in jsonl_items] == [1, 3, 4]  # line numbers


def test_format_detection(folder: Path) -> None:
    assert manifest_format(write_csv(folder / "x.csv", GOOD_ROWS)) == "csv"
    assert manifest_format(write_jsonl(folder / "x.ndjson", GOOD_ROWS)) == "jsonl"  # type: ignore[arg-type]
    assert manifest_format(write_jsonl(folder / "sin_extension", GOOD_ROWS)) == "jsonl"  # type: ignore[arg-type]
    assert manifest_format(write_csv(folder / "otro", GOOD_ROWS)) == "csv"


def test_every_bad_row_is_reported_at_once(folder: Path) -> None:
    bad = [
        {"ticket_number": "2026-11", "kind": "service_request", "description": "x"},  # 2
        {"ticket_number": "2026112810000021", "kind": "servicio", "description": "x"},  # 3
        {"ticket_number": "2026112810000022", "kind": "incident", "problem": "  ", "solution": "y"},  # 4
        {
            "ticket_number": "2026112810000023",
            "kind": "service_request",
            "description": "x",
            "signed_scan": "formatos/no_existe.pdf",
            "editable": "formatos/firmado.pdf",
        },  # 5
        {
            "ticket_number": "2026112810000024",
            "kind": "user_onboarding",
            "description": "x",
            "access_url": "nomina",
            "login": "u",
            "password_env": "NO_SUCH_VAR_FOR_TEST",
        },  # 6
        {"kind": "service_request", "description": "x"},  # 7
        {"ticket_number": "1", "ticket_id": "2", "kind": "service_request", "description": "x"},  # 8
        {"ticket_id": "-3", "kind": "service_request", "description": "x"},  # 9
        {"ticket_number": "2026112810000025", "kind": "service_request", "description": "x", "problem": "sobra"},  # 10
        {
            "ticket_number": "2026112810000026",
            "kind": "service_request",
            "description": "x",
            "signed_scan": "formatos/firmado.pdf",
        },  # 11
        {
            "ticket_number": "2026112810000027",
            "kind": "user_onboarding",
            "description": "x",
            "access_url": "https://a.example",
            "login": "u",
            "password_env": PASSWORD_VAR,
        },  # 12 (no formats)
        {
            "ticket_number": "2026112810000028",
            "kind": "service_request",
            "description": "x",
            "signed_scan": "formatos/formato.docx",
            "editable": "formatos/foto.png",
        },  # 13
    ]
    path = write_csv(folder / "m.csv", [GOOD_ROWS[0], *bad, GOOD_ROWS[1]])
    # rows shift by one: the good row is line 2
    items, problems = load_manifest(path, environ=env())
    assert [i.row for i in items] == [2, 15]
    by_row: dict[int, list[RowProblem]] = {}
    for p in problems:
        by_row.setdefault(p.row, []).append(p)
    assert sorted(by_row) == list(range(3, 15))
    fields = {row: {p.field for p in ps} for row, ps in by_row.items()}
    assert fields[3] == {"ticket_number"}
    assert fields[4] == {"kind"}
    assert fields[5] == {"problem"}
    # both files are judged: one is missing, the other is fine as editable (a PDF)
    assert fields[6] == {"formats.signed_scan"}
    assert fields[7] == {"access_url", "password_env"}
    assert fields[8] == {"ticket"}
    assert fields[9] == {"ticket"}
    assert fields[10] == {"ticket_id"}
    assert fields[11] == {"problem"}
    assert fields[12] == {"formats"}
    assert fields[13] == {"formats"}
    assert fields[14] == {"formats.signed_scan", "formats.editable"}  # both wrong types, both reported
    assert "NO_SUCH_VAR_FOR_TEST is not set" in str(by_row[7])
    text = str(by_row[6][0])
    assert text.startswith("m.csv:6 (ticket 2026112810000023): formats.signed_scan: file not found")


def test_duplicate_tickets_are_refused_in_every_row(folder: Path) -> None:
    rows = [
        {"ticket_number": "2026112810000031", "kind": "service_request", "description": "uno"},
        {"ticket_number": "2026112810000032", "kind": "service_request", "description": "dos"},
        {"ticket_number": "2026112810000031", "kind": "service_request", "description": "uno"},
        {"ticket_id": "9", "kind": "service_request", "description": "tres"},
        {"ticket_id": "9", "kind": "incident", "problem": "p", "solution": "s"},
    ]
    items, problems = load_manifest(write_csv(folder / "d.csv", rows))
    assert [i.ticket_number for i in items] == ["2026112810000032"]
    assert sorted(p.row for p in problems) == [2, 4, 5, 6]
    assert all(p.field == "ticket" and "closes each ticket once" in p.problem for p in problems)
    assert "rows 2, 4" in next(p.problem for p in problems if p.row == 2)


def test_a_password_column_is_refused(folder: Path) -> None:
    rows = [{**GOOD_ROWS[2], "password": "Temporal#2026"}]
    path = write_jsonl(folder / "p.jsonl", rows)  # type: ignore[arg-type]
    items, problems = load_manifest(path, environ=env())
    assert items == []
    assert [p.field for p in problems] == ["password"]
    assert "Temporal#2026" not in str(problems)
    # in a CSV header too (a row problem for every row, not an unknown column)
    path = write_csv(folder / "p.csv", rows, columns=(*COLUMNS, "password"))
    items, problems = load_manifest(path, environ=env())
    assert items == [] and [p.field for p in problems] == ["password"]


def test_manifest_level_errors(folder: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_manifest(folder / "nope.csv")
    (folder / "empty.csv").write_text("")
    with pytest.raises(InputError, match="empty"):
        load_manifest(folder / "empty.csv")
    (folder / "typo.csv").write_text("ticket_number,kind,descripcion\n1,service_request,x\n")
    with pytest.raises(InputError, match="unknown column 'descripcion'"):
        load_manifest(folder / "typo.csv")
    (folder / "noticket.csv").write_text("kind,description\nservice_request,x\n")
    with pytest.raises(InputError, match="ticket_number or ticket_id column"):
        load_manifest(folder / "noticket.csv")
    latin1 = "ticket_number,kind,description\n1,service_request,atención\n".encode("latin-1")
    (folder / "latin1.csv").write_bytes(latin1)
    with pytest.raises(InputError, match="not UTF-8"):
        load_manifest(folder / "latin1.csv")


def test_csv_details_bom_multiline_extra_values_blank_rows(folder: Path) -> None:
    text = (
        "\ufeffticket_number,kind,description\r\n"
        '2026112810000041,service_request,"Primera línea\r\nsegunda línea"\r\n'
        ",,\r\n"
        "2026112810000042,service_request,x,sobra\r\n"
        "2026112810000043,service_request,y\r\n"
    )
    (folder / "d.csv").write_text(text, encoding="utf-8")
    items, problems = load_manifest(folder / "d.csv")
    assert [(i.row, i.ticket_number) for i in items] == [(2, "2026112810000041"), (6, "2026112810000043")]
    assert isinstance(items[0].attention, ServiceRequest)
    assert "segunda línea" in items[0].attention.description
    assert [(p.row, p.field) for p in problems] == [(5, "row")]


def test_jsonl_bad_lines_and_types(folder: Path) -> None:
    rows: list[dict[str, Any] | str] = [
        "{not json",
        "[1, 2]",
        {"ticket_number": 2026112810000051, "kind": "service_request", "description": "número como número"},
        {"ticket_id": True, "kind": "service_request", "description": "x"},
        {"ticket_number": "2026112810000052", "kind": "service_request", "description": ["lista"]},
        {"ticket_number": "2026112810000053", "kind": "service_request", "description": "x", "extra": 1},
    ]
    items, problems = load_manifest(write_jsonl(folder / "j.jsonl", rows))
    assert [i.ticket_number for i in items] == ["2026112810000051"]
    assert [(p.row, p.field) for p in problems] == [
        (1, "line"),
        (2, "line"),
        (4, "ticket_id"),
        (5, "description"),
        (6, "extra"),
    ]


def test_request_size_is_checked_with_the_given_settings(folder: Path) -> None:
    settings = ClosureSettings(
        base_url="http://x.invalid",
        username="u",
        password="p",  # type: ignore[arg-type]
        owner_login="o",
        max_request_bytes=500,
    )
    items, problems = load_manifest(write_csv(folder / "s.csv", [GOOD_ROWS[1]]), settings=settings)
    assert items == []
    assert [p.field for p in problems] == ["formats"] and "max_request_bytes" in problems[0].problem
    settings = settings.model_copy(update={"max_request_bytes": 100_000_000, "require_formats": True})
    items, problems = load_manifest(write_csv(folder / "s.csv", [GOOD_ROWS[0]]), settings=settings)
    assert items == [] and "require_formats" in problems[0].problem


def test_batch_item_and_invalid_results() -> None:
    with pytest.raises(InputError):
        BatchItem(attention=ServiceRequest(description="x"))
    with pytest.raises(InputError):
        BatchItem(attention=ServiceRequest(description="x"), ticket_number="1", ticket_id=1)
    item = BatchItem(attention=ServiceRequest(description="x"), ticket_id=5, row=3, source="m.csv")
    assert item.key == "id:5" and item.ticket == "TicketID 5" and item.where() == "m.csv:3"
    problems = [
        RowProblem(4, "m.csv", "1", "kind", "bad"),
        RowProblem(4, "m.csv", "1", "description", "blank"),
        RowProblem(2, "m.csv", None, "line", "not JSON"),
    ]
    results = BatchResult.invalid_rows(problems)
    assert [(r.row, r.status, len(r.problems)) for r in results] == [
        (2, BatchStatus.INVALID, 1),
        (4, BatchStatus.INVALID, 2),
    ]
    assert results[1].to_dict()["problems"][1]["field"] == "description"
    assert "kind: bad; description: blank" in results[1].describe()


def test_journal_keys_and_advice(tmp_path: Path) -> None:
    item = BatchItem(
        attention=ServiceRequest(description="x"),
        ticket_number="2026112810000061",
        row=2,
        source="m.csv",
        closure_id="oc-aaaaaaaaaaaa",
    )
    other_closure = BatchItem(
        attention=ServiceRequest(description="y"), ticket_number="2026112810000061", closure_id="oc-bbbbbbbbbbbb"
    )
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
