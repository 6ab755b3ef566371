"""The audit's reports — JSON (its schema), CSV, the self-contained HTML page, the
terminal tables — built from an audit of the fake: the same counts everywhere, no
onboarding password anywhere, and text from tickets never taken for structure (HTML
escaped and scriptless, CSV cells no spreadsheet runs as formulas, no rich markup or
terminal escapes)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest

from otrs_closure.audit import SCHEMA, AuditReport, Problem
from otrs_closure.audit.html_report import CSP
from otrs_closure.testing import HAND_CLOSURES, FakeZnuny
from otrs_closure.testing.handclosed import HandClosure, HandNote, HandOwnerChange, hand_closed_tickets

SECRET = "Temporal#2026"  # the onboarding password of the hand closures
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> =HYPERLINK("http://evil") [bold red]X[/] \x1b[31mred'


@pytest.fixture(scope="module")
def report() -> Iterator[AuditReport]:
    fake = FakeZnuny.service_desk()
    fake.add_agent("hostil", "=cmd|' /C calc'!A0", '<b onclick="x()">Eve \x1b[2J', "hostil-pass",
                   groups={"mesa-de-servicio": "rw"})  # fmt: skip
    with fake.mock():
        made = hand_closed_tickets(fake)
        hostile = HandClosure(
            "hostile",
            "a title and an agent's name that try to be markup, a formula and terminal escapes",
            (HandNote(f"Descripción de la Atención: {HOSTILE}", visible=True), HandOwnerChange()),
            frozenset({"note_public"}),
        )
        from otrs_closure.testing import new_hand_closed_ticket

        bad = new_hand_closed_ticket(fake, hostile, agent="hostil", title=HOSTILE)
        ids = [t.ticket_id for t in made.values()] + [bad.ticket_id, 999_999]
        yield fake.client(username="lector").audit(ticket_ids=ids)


def test_the_json_document_follows_its_schema(report: AuditReport) -> None:
    doc = json.loads(report.to_json())
    assert doc["schema"] == SCHEMA
    assert set(doc) == {
        "schema", "server", "selection", "started_at", "finished_at", "elapsed_seconds", "truncated", "compliant",
        "requests_sent", "summary", "tickets", "unreadable",
    }  # fmt: skip
    assert set(doc["summary"]) == {"tickets", "compliant", "non_compliant", "unreadable", "problems", "agents", "days"}
    assert list(doc["summary"]["problems"]) == [p.value for p in Problem]
    assert len(doc["tickets"]) == len(HAND_CLOSURES) + 1 and len(doc["unreadable"]) == 1
    keys = {
        "ticket_id", "ticket_number", "compliant", "problems", "kind", "attended_at", "agent", "agent_id", "title",
        "queue", "state", "owner", "changed", "note_article_id", "note_visibility", "owner_note_article_id", "fields",
        "formats", "attachments",
    }  # fmt: skip
    for t in doc["tickets"]:
        assert set(t) == keys
        assert t["compliant"] == (t["problems"] == [])
        assert set(t["problems"]) <= {p.value for p in Problem}
        assert set(t["fields"].values()) <= {"present", "blank", "missing"}
    s = doc["summary"]
    assert s["tickets"] == len(doc["tickets"]) and s["compliant"] + s["non_compliant"] == s["tickets"]
    for code, n in s["problems"].items():
        assert n == sum(code in t["problems"] for t in doc["tickets"])
    for group in ("agents", "days"):
        assert sum(g["tickets"] for g in s[group]) == s["tickets"]
        assert sum(g["compliant"] for g in s[group]) == s["compliant"]
    assert doc["unreadable"][0]["error"] == "AccessDenied" and doc["unreadable"][0]["ticket_id"] == 999_999


def test_no_report_shows_an_onboarding_password(report: AuditReport) -> None:
    term = io.StringIO()
    report.print(term)
    for text in (report.to_json(), report.to_csv(), report.to_html(), term.getvalue(), repr(report)):
        assert SECRET not in text
        assert "mgarcia" not in text  # nor any other value written in a note


def test_csv_has_a_row_per_ticket_and_no_formula(report: AuditReport) -> None:
    rows = list(csv.DictReader(io.StringIO(report.to_csv())))
    assert len(rows) == len(report.tickets) + len(report.unreadable)
    by_id = {r["ticket_id"]: r for r in rows}
    for t in report.tickets:
        row = by_id[str(t.ticket_id)]
        assert row["problems"].split() == [p.value for p in t.problems]
        assert row["compliant"] == ("yes" if t.compliant else "no")
    for row in rows:
        for value in row.values():
            assert not value or value[0] not in "=+-@\t\r", value
    hostile = next(r for r in rows if "HYPERLINK" in r["title"])
    assert hostile["title"].startswith("'<script>") or hostile["title"].startswith("<script>")
    assert hostile["agent"].startswith("'=cmd|")
    assert "\x1b" not in report.to_csv()


class _Page(HTMLParser):
    """Every element and attribute of the page, and its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_the_html_page_is_inert_and_escapes_ticket_text(report: AuditReport) -> None:
    page = report.to_html()
    parsed = _Page()
    parsed.feed(page)
    tags = {t for t, _ in parsed.tags}
    assert "script" not in tags and "img" not in tags and "link" not in tags and "iframe" not in tags
    for _, attrs in parsed.tags:
        assert not any(k.startswith("on") for k in attrs)  # no event handler
        for key in ("src", "href", "action", "srcset"):
            assert key not in attrs
    assert "url(" not in page and "@import" not in page
    meta = next(a for t, a in parsed.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert meta["content"] == CSP and "default-src 'none'" in CSP
    assert HOSTILE.split("\x1b")[0] in "".join(parsed.text)  # shown as text, escaped
    assert "&lt;script&gt;" in page


def test_the_html_page_shows_the_counts(report: AuditReport) -> None:
    page = report.to_html()
    s = report.summary
    for key, n in (("tickets", s.tickets), ("compliant", s.compliant), ("non_compliant", s.non_compliant),
                   ("unreadable", s.unreadable)):  # fmt: skip
        assert re.search(rf'data-count="{key}">{n}<', page)
    for code, n in s.problems.items():
        assert re.search(rf'<tr data-problem="{code}">.*?data-count="problem">{n}<', page)
    listed = re.findall(r'<tr data-ticket-id="(\d+)"', page)
    assert sorted(int(i) for i in listed) == sorted(t.ticket_id for t in report.non_compliant)


def test_the_terminal_tables_take_no_markup_from_tickets(report: AuditReport) -> None:
    out = io.StringIO()
    report.print(out)
    text = out.getvalue()
    assert "\x1b" not in text  # no escape sequence, not even one a title carried
    cells = re.sub(r"[\s|]", "", text)  # long cells are folded over several lines
    assert "[boldred]X[/]" in cells  # rich markup shown as typed, not applied
    assert "note_public" in text and str(report.summary.tickets) in text
    for t in report.non_compliant:
        assert t.ticket_number in text
