"""Batch manifests: CSV and JSONL parsing, validation of every row before any request,
duplicates, odd values, and what a manifest may name (variables, files). No server is
involved (a RequestsMock with no routes fails any request, and every test asserts it saw
none). The journal: tests/test_batch_journal.py."""

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
    RowProblem,
    load_manifest,
    manifest_format,
)
from otrs_closure.settings import ClosureSettings

PASSWORD_VAR = "OTRS_CLOSURE_ONBOARDING_PASSWORD_TEST"


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
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows),
                    encoding="utf-8")
    return path


GOOD_ROWS: list[dict[str, Any]] = [
    {"ticket_number": "2026112810000011", "kind": "service_request", "description": "Se reconfiguró la impresora."},
    {"ticket_id": "7", "kind": "incident", "problem": "DNS no resuelve", "solution": "Reinicio del DNS",
     "signed_scan": "formatos/firmado.pdf", "editable": "formatos/formato.docx"},
    {"ticket_number": "2026112810000012", "kind": "user_onboarding", "description": "Alta en nómina",
     "access_url": "https://nomina.example.gob.mx", "login": "mgarcia", "password_env": PASSWORD_VAR,
     "signed_scan": "formatos/firmado.pdf", "editable": "formatos/formato.docx"},
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
        {"ticket_number": "2026-11", "kind": "service_request", "description": "x"},                 # 2
        {"ticket_number": "2026112810000021", "kind": "servicio", "description": "x"},               # 3
        {"ticket_number": "2026112810000022", "kind": "incident", "problem": "  ", "solution": "y"},  # 4
        {"ticket_number": "2026112810000023", "kind": "service_request", "description": "x",
         "signed_scan": "formatos/no_existe.pdf", "editable": "formatos/firmado.pdf"},               # 5
        {"ticket_number": "2026112810000024", "kind": "user_onboarding", "description": "x",
         "access_url": "nomina", "login": "u", "password_env": "OTRS_CLOSURE_ONBOARDING_PASSWORD_UNSET"},  # 6
        {"kind": "service_request", "description": "x"},                                            # 7
        {"ticket_number": "1", "ticket_id": "2", "kind": "service_request", "description": "x"},     # 8
        {"ticket_id": "-3", "kind": "service_request", "description": "x"},                          # 9
        {"ticket_number": "2026112810000025", "kind": "service_request", "description": "x",
         "problem": "sobra"},                                                                        # 10
        {"ticket_number": "2026112810000026", "kind": "service_request", "description": "x",
         "signed_scan": "formatos/firmado.pdf"},                                                     # 11
        {"ticket_number": "2026112810000027", "kind": "user_onboarding", "description": "x",
         "access_url": "https://a.example", "login": "u", "password_env": PASSWORD_VAR},            # 12 (no formats)
        {"ticket_number": "2026112810000028", "kind": "service_request", "description": "x",
         "signed_scan": "formatos/formato.docx", "editable": "formatos/foto.png"},                   # 13
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
    assert "OTRS_CLOSURE_ONBOARDING_PASSWORD_UNSET is not set" in str(by_row[7])
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
        (1, "line"), (2, "line"), (4, "ticket_id"), (5, "description"), (6, "extra"),
    ]


def test_request_size_is_checked_with_the_given_settings(folder: Path) -> None:
    settings = ClosureSettings(base_url="http://x.invalid", username="u", password="p",  # type: ignore[arg-type]
                               owner_login="o", max_request_bytes=500)
    items, problems = load_manifest(write_csv(folder / "s.csv", [GOOD_ROWS[1]]), settings=settings)
    assert items == []
    # The scan alone is over what the request can carry: refused by its size, before it is read.
    assert [p.field for p in problems] == ["formats.signed_scan"] and "can carry" in problems[0].problem
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
    problems = [RowProblem(4, "m.csv", "1", "kind", "bad"), RowProblem(4, "m.csv", "1", "description", "blank"),
                RowProblem(2, "m.csv", None, "line", "not JSON")]
    results = BatchResult.invalid_rows(problems)
    assert [(r.row, r.status, len(r.problems)) for r in results] == [(2, BatchStatus.INVALID, 1),
                                                                      (4, BatchStatus.INVALID, 2)]
    assert results[1].to_dict()["problems"][1]["field"] == "description"
    assert "kind: bad; description: blank" in results[1].describe()


# -- a manifest is input, not code: which variables and which files it may name -----------------


def onboarding_row(password_env: str, **extra: Any) -> dict[str, Any]:
    return {**GOOD_ROWS[2], "password_env": password_env, **extra}


@pytest.mark.parametrize("name", ["OTRS_CLOSURE_PASSWORD", "HOME", "PATH", "OTRS_CLOSURE_ONBOARDING_PASSWORDX",
                                  "OTRS_CLOSURE_ONBOARDING_PASSWORD_", "otrs_closure_onboarding_password_mgarcia",
                                  "OTRS_CLOSURE_ONBOARDING_PASSWORD_mgarcia", "OTRS_CLOSURE_ONBOARDING_PASSWORD_A-B"])
def test_password_env_may_only_name_onboarding_variables(folder: Path, name: str) -> None:
    # OTRS_CLOSURE_PASSWORD would put the agent's own password into the note, HOME the host's
    # home folder: only the variables meant for onboarding passwords are read.
    environ = {name: "Secreto-Del-Host-1", "OTRS_CLOSURE_PASSWORD": "Secreto-Del-Host-1"}
    items, problems = load_manifest(write_csv(folder / "m.csv", [onboarding_row(name)]), environ=environ)
    assert items == []
    assert [p.field for p in problems] == ["password_env"]
    assert "OTRS_CLOSURE_ONBOARDING_PASSWORD_<NAME>" in problems[0].problem  # the rule is named
    texts = str(problems) + json.dumps([p.to_dict() for p in problems])
    assert "Secreto-Del-Host-1" not in texts and f" {name} " not in texts


@pytest.mark.parametrize("name", ["OTRS_CLOSURE_ONBOARDING_PASSWORD", "OTRS_CLOSURE_ONBOARDING_PASSWORD_MGARCIA",
                                  "OTRS_CLOSURE_ONBOARDING_PASSWORD_2026_A"])
def test_onboarding_variables_are_read(folder: Path, name: str) -> None:
    items, problems = load_manifest(write_csv(folder / "m.csv", [onboarding_row(name)]), environ={name: "Alta#1"})
    assert problems == []
    assert isinstance(items[0].attention, UserOnboarding)
    assert items[0].attention.password.get_secret_value() == "Alta#1"


def test_format_files_outside_the_manifest_folder_are_refused(folder: Path, tmp_path_factory: Any) -> None:
    elsewhere = tmp_path_factory.mktemp("fuera")
    outside_pdf = make_file(elsewhere, "PDF", "secreto.pdf")
    (folder / "formatos" / "enlace.pdf").symlink_to(outside_pdf)          # a symlink leaving the folder
    (folder / "formatos" / "dentro.pdf").symlink_to(folder / "formatos" / "firmado.pdf")  # one that stays
    docx = "formatos/formato.docx"
    rows = [
        {**GOOD_ROWS[0], "ticket_number": "2026112810000061", "signed_scan": f"../{elsewhere.name}/secreto.pdf",
         "editable": docx},
        {**GOOD_ROWS[0], "ticket_number": "2026112810000062", "signed_scan": str(outside_pdf), "editable": docx},
        {**GOOD_ROWS[0], "ticket_number": "2026112810000063", "signed_scan": "formatos/enlace.pdf", "editable": docx},
        {**GOOD_ROWS[0], "ticket_number": "2026112810000064", "signed_scan": "formatos/../formatos/dentro.pdf",
         "editable": docx},
        {**GOOD_ROWS[0], "ticket_number": "2026112810000065", "signed_scan": "formatos/firmado.pdf",
         "editable": "/etc/hostname"},
    ]
    manifest = folder / "m.csv"
    items, problems = load_manifest(write_csv(manifest, rows))
    assert [i.ticket_number for i in items] == ["2026112810000064"]
    assert [(p.row, p.field) for p in problems] == [
        (2, "formats.signed_scan"), (3, "formats.signed_scan"), (4, "formats.signed_scan"), (6, "formats.editable")]
    assert all("leads outside" in p.problem for p in problems)
    # a root the caller names takes the place of the manifest's folder
    items, problems = load_manifest(manifest, files_root=folder.parent)
    assert sorted(i.ticket_number for i in items if i.ticket_number) == [
        "2026112810000061", "2026112810000062", "2026112810000063", "2026112810000064"]
    assert [(p.row, p.field) for p in problems] == [(6, "formats.editable")]
    with pytest.raises(InputError) as ei:
        load_manifest(manifest, files_root=folder / "no_existe")
    assert ei.value.field == "files_root"


# -- odd values: each is that row's problem, and the rest of the manifest is read ------------------


@pytest.mark.parametrize("cell", ["٣", "²", "１２３", "99999999999999999999", "9" * 5000, "+7", "7.0", "0x7", "7 7"])
def test_a_ticket_id_is_ascii_digits_in_range(folder: Path, cell: str) -> None:
    # int() takes "٣" for 3 and "１２３" for 123, and raises on "²": none of them is a TicketID.
    rows = [{"ticket_id": cell, "kind": "service_request", "description": "x"},
            {"ticket_id": "007", "kind": "service_request", "description": "y"}]
    items, problems = load_manifest(write_csv(folder / "m.csv", rows))
    assert [(i.row, i.ticket_id) for i in items] == [(3, 7)]
    assert [(p.row, p.field) for p in problems] == [(2, "ticket_id")]


@pytest.mark.parametrize("cell", ["٣٣", "²", "１２３", "2026-11", "9" * 51])
def test_a_ticket_number_is_ascii_digits(folder: Path, cell: str) -> None:
    rows = [{"ticket_number": cell, "kind": "service_request", "description": "x"},
            {"ticket_number": "2026112810000011", "kind": "service_request", "description": "y"}]
    items, problems = load_manifest(write_csv(folder / "m.csv", rows))
    assert [i.ticket_number for i in items] == ["2026112810000011"]
    assert [(p.row, p.field) for p in problems] == [(2, "ticket_number")]


def test_jsonl_values_of_the_wrong_type_and_malformed_lines(folder: Path) -> None:
    ok = {"kind": "service_request", "description": "x"}
    lines: list[dict[str, Any] | str] = [
        {"ticket_number": "2026112810000071", "kind": "service_request", "description": 5},        # 1
        {"ticket_id": 1e3, **ok},                                                                   # 2
        '{"ticket_id": NaN, "kind": "service_request", "description": "x"}',                        # 3
        {"ticket_id": 7, **ok, "signed_scan": {"path": "a"}, "editable": ["b"]},                    # 4
        '{"ticket_id": ' + "9" * 5000 + ', "kind": "service_request", "description": "x"}',         # 5
        "[" * 100_000,                                                                              # 6
        '{"ticket_id": 8, "ticket_id": 9, "kind": "service_request", "description": "x"}',          # 7
        {"ticket_id": 10, **ok, "signed_scan": "formatos/firm\u0000ado.pdf",
         "editable": "formatos/formato.docx"},                                                      # 8
        {"ticket_id": 11, "kind": "service_request", "description": "x" * 20_001},                  # 9
        '{"ticket_id": 12, "kind": "service_request", "description": "' + "x" * 1_000_001 + '"}',   # 10
        "\ufeff" + json.dumps({"ticket_id": 13, **ok}),                                             # 11: a BOM mid-file
        {"ticket_id": 14, **ok, "[/x]": 1},                                                         # 12
        {"ticket_id": 15, "kind": "service_request", "description": "Se atendió.\r\nSegunda línea"},  # 13: fine
    ]
    path = write_jsonl(folder / "j.jsonl", lines)
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))  # CRLF line ends
    items, problems = load_manifest(path)
    assert [i.ticket_id for i in items] == [15]
    assert isinstance(items[0].attention, ServiceRequest) and "Segunda línea" in items[0].attention.description
    by_row: dict[int, set[str]] = {}
    for p in problems:
        by_row.setdefault(p.row, set()).add(p.field)
    assert by_row == {1: {"description"}, 2: {"ticket_id"}, 3: {"ticket_id"}, 4: {"signed_scan", "editable"},
                      5: {"line"}, 6: {"line"}, 7: {"ticket_id"}, 8: {"signed_scan"}, 9: {"description"},
                      10: {"line"}, 11: {"line"}, 12: {"[/x]"}}
    assert all(len(str(p)) < 400 for p in problems)  # nothing quoted at length


def test_csv_cells_with_nul_overlong_cells_and_repeated_columns(folder: Path) -> None:
    text = ("ticket_number,kind,description\n"
            "2026112810000081,service_request,con\x00nul\n"
            f"2026112810000082,service_request,{'x' * 20_001}\n"
            "2026112810000083,service_request,bien\n")
    (folder / "c.csv").write_text(text, encoding="utf-8")
    items, problems = load_manifest(folder / "c.csv")
    assert [i.ticket_number for i in items] == ["2026112810000083"]
    assert [(p.row, p.field) for p in problems] == [(2, "description"), (3, "description")]
    (folder / "twice.csv").write_text("ticket_id,kind,description,description\n1,service_request,a,b\n")
    with pytest.raises(InputError, match="more than once"):
        load_manifest(folder / "twice.csv")


# -- a password where the name of its variable belongs: never echoed -----------------------------


def onboarding_manifest(tmp_path: Path, password_env: str) -> Path:
    path = tmp_path / "m.jsonl"
    row = {"ticket_number": "2026112810000011", "kind": "user_onboarding", "description": "Alta",
           "access_url": "https://nomina.example.gob.mx", "login": "mgarcia", "password_env": password_env}
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("cell", ["Temporal#2026-Canary", "Temporal2026canary", "temporal_2026"])
def test_a_password_in_the_password_env_column_is_not_echoed(tmp_path: Path, cell: str) -> None:
    # A common slip: the password itself in password_env. Whether it is not a variable
    # name at all or names no variable that is set, the problem must not quote it: the
    # problems are printed, written to the report and to logs.
    items, problems = load_manifest(onboarding_manifest(tmp_path, cell), environ={})
    assert not items and [p.field for p in problems] == ["password_env"]
    texts = [str(p) for p in problems] + [json.dumps(p.to_dict()) for p in problems]
    texts += [r.describe() for r in BatchResult.invalid_rows(problems)]
    assert all(cell not in t for t in texts)


def test_a_conventional_variable_name_is_still_named(tmp_path: Path) -> None:
    _, problems = load_manifest(onboarding_manifest(tmp_path, "OTRS_CLOSURE_ONBOARDING_PASSWORD_MGARCIA"), environ={})
    assert "OTRS_CLOSURE_ONBOARDING_PASSWORD_MGARCIA is not set" in str(problems[0])
