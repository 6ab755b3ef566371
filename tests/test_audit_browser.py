"""The HTML report in a real browser: headless Chromium (Debian's ``chromium`` package)
loads the page, the DOM it builds shows the same counts as the JSON document, no script
or external resource exists in it — even with hostile ticket text — and the page renders
to a screenshot that is not blank. Skipped when Chromium is not installed
(``apt-get install -y chromium``)."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import zlib
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from otrs_closure.audit import AuditReport
from otrs_closure.testing import FakeZnuny, new_hand_closed_ticket
from otrs_closure.testing.handclosed import HandClosure, HandNote, HandOwnerChange, hand_closed_tickets

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium: apt-get install -y chromium")

HOSTILE = "<script>document.title='pwned'</script><img src=http://127.0.0.1:9/x.png onerror=alert(1)>"


def _browser(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
            f"--user-data-dir={tmp / 'profile'}", "--host-resolver-rules=MAP * ~NOTFOUND", *args,
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.fixture(scope="module")
def report() -> Iterator[AuditReport]:
    fake = FakeZnuny.service_desk()
    with fake.mock():
        made = hand_closed_tickets(fake)
        mine = HandClosure("hostile", "", (HandNote("Descripción de la Atención: x", visible=True), HandOwnerChange()),
                           frozenset({"note_public"}))  # fmt: skip
        extra = new_hand_closed_ticket(fake, mine, title=HOSTILE)
        fake.advance(86400)  # a second day attended
        later = [new_hand_closed_ticket(fake, n, agent="agente.mesa") for n in ("order", "service_request")]
        ids = [t.ticket_id for t in (*made.values(), extra, *later)]
        yield fake.client(username="lector").audit(ticket_ids=ids)


class _Counts(HTMLParser):
    """The text of every element carrying data-count, by its section and row."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict[str, str | None]]] = []
        self.counts: dict[tuple[str, ...], str] = {}
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.elements.append((tag, a))
        self._in_title = tag == "title"
        if tag not in ("meta", "br", "rect", "i"):
            self.stack.append((tag, a))

    def handle_endtag(self, tag: str) -> None:
        while any(t == tag for t, _ in self.stack):
            if self.stack.pop()[0] == tag:
                break
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if not self.stack or "data-count" not in self.stack[-1][1]:
            return
        keys = ("id", "data-problem", "data-day", "data-agent")
        where = tuple(f"{k}={v}" for _, a in self.stack for k, v in a.items() if k in keys)
        where += (str(self.stack[-1][1]["data-count"]),)
        self.counts[where] = self.counts.get(where, "") + data.strip()


def test_chromium_renders_the_counts_of_the_json(report: AuditReport, tmp_path: Path) -> None:
    page = tmp_path / "audit.html"
    report.write_html(page)
    dom = _browser(tmp_path, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    parsed = _Counts()
    parsed.feed(dom.stdout)
    doc = json.loads(report.to_json())
    s = doc["summary"]

    # The browser built the page: its title, and no element a ticket's text tried to inject.
    assert parsed.title == "Closure audit — Mesa de Servicio"
    tags = {t for t, _ in parsed.elements}
    assert not tags & {"script", "img", "iframe", "object", "embed", "link"}
    assert not [a for _, a in parsed.elements if any(k.startswith("on") or k in ("src", "href") for k in a)]

    shown = parsed.counts
    for key in ("tickets", "compliant", "non_compliant", "unreadable"):
        assert shown[("id=summary", key)] == str(s[key])
    for code, n in s["problems"].items():
        assert shown[(f"data-problem={code}", "problem")] == str(n)
    for section, name, groups in (("per-day", "day", s["days"]), ("per-agent", "agent", s["agents"])):
        assert len(groups) >= 2
        for g in groups:
            row = (f"id={section}", f"data-{name}={g[name] or ''}")
            assert shown[(*row, "tickets")] == str(g["tickets"])
            assert shown[(*row, "compliant")] == str(g["compliant"])
            assert shown[(*row, "non_compliant")] == str(g["non_compliant"])
    listed = sorted(int(a["data-ticket-id"] or 0) for t, a in parsed.elements if "data-ticket-id" in a)
    assert listed == sorted(t["ticket_id"] for t in doc["tickets"] if not t["compliant"])
    bars = [a for t, a in parsed.elements if t == "g" and "data-day" in a]
    assert [int(b["data-tickets"] or 0) for b in bars] == [g["tickets"] for g in s["days"]]
    assert HOSTILE in dom.stdout.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _png_pixels(path: Path) -> tuple[int, int, bytes]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", chunk[:8])
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    return width, height, zlib.decompress(idat)


def test_the_page_renders_to_a_screenshot_that_is_not_blank(report: AuditReport, tmp_path: Path) -> None:
    page = tmp_path / "audit.html"
    report.write_html(page)
    shot = tmp_path / "shot.png"
    run = _browser(tmp_path, f"--screenshot={shot}", "--window-size=1280,1600", "--hide-scrollbars", page.as_uri())
    assert run.returncode == 0 and shot.exists(), run.stderr[-2000:]
    width, height, raw = _png_pixels(shot)
    assert (width, height) == (1280, 1600)
    # Text, tables and the red and green bars: far more than the few byte values of a blank page.
    assert len(set(raw)) > 64
