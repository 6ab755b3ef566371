"""The audit as one self-contained HTML page: the summary, charts of compliance per day
and per agent (inline SVG), the problem codes with their counts, and the non-compliant
tickets with their problems.

Self-contained and inert: no script at all, no external resource (styles inline, charts
drawn as inline SVG), and a Content-Security-Policy that forbids both, so the page opened
from a mail attachment or a file share reaches no network. Every text taken from a
ticket is escaped (``html.escape``), in content and in attributes alike. The counts are
also carried by ``data-*`` attributes, so that a test — or a script — can read them back.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING

from otrs_closure.audit.problems import PROBLEM_DESCRIPTIONS, Problem

if TYPE_CHECKING:  # pragma: no cover
    from otrs_closure.audit.report import AuditReport, GroupCount

__all__ = ["render_html", "CSP"]

#: The page's Content-Security-Policy: nothing may load or run; inline styles only.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem;color:#1d2733;background:#fff}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.15rem;margin:2rem 0 .5rem;border-bottom:1px solid #d5dbe1}
.meta{color:#5b6670;font-size:.9rem;margin:0 0 1rem}
.cards{display:flex;gap:1rem;flex-wrap:wrap}
.card{border:1px solid #d5dbe1;border-radius:6px;padding:.75rem 1rem;min-width:9rem}
.card .n{font-size:1.8rem;font-weight:600;display:block}
.card.ok .n{color:#1f7a3a}.card.bad .n{color:#b3261e}.card.unread .n{color:#8a6d00}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #d5dbe1;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f3f5f7}td:first-child{white-space:nowrap}td.n{text-align:right;font-variant-numeric:tabular-nums}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem}
.problem{display:inline-block;background:#fdecea;color:#7a1c15;border-radius:3px;padding:0 .3rem;margin:0 .2rem .2rem 0}
svg text{font-size:12px;fill:#1d2733}.legend span{margin-right:1rem}
.sw{display:inline-block;width:.8rem;height:.8rem;vertical-align:middle;margin-right:.3rem}
"""
_OK, _BAD = "#2e9d50", "#d2453a"


def _e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def _chart(groups: Sequence[GroupCount], name: str, empty: str) -> str:
    """Horizontal stacked bars, one per group: compliant then non-compliant tickets."""
    if not groups:
        return f"<p>{_e(empty)}</p>"
    label_w, bar_w, row_h = 220, 420, 24
    most = max(g.tickets for g in groups) or 1
    rows = []
    for i, g in enumerate(groups):
        y = i * row_h
        ok_w = round(bar_w * g.compliant / most)
        bad_w = round(bar_w * g.non_compliant / most)
        label = g.key if g.key is not None else "(no note)"
        shown = label if len(label) <= 32 else label[:31] + "…"
        rows.append(
            f'<g class="bar" data-{name}="{_e(g.key or "")}" data-tickets="{g.tickets}" '
            f'data-compliant="{g.compliant}" data-non-compliant="{g.non_compliant}">'
            f'<text x="0" y="{y + 16}">{_e(shown)}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{ok_w}" height="16" fill="{_OK}"/>'
            f'<rect x="{label_w + ok_w}" y="{y + 4}" width="{bad_w}" height="16" fill="{_BAD}"/>'
            f'<text x="{label_w + ok_w + bad_w + 6}" y="{y + 16}">{g.compliant} / {g.tickets}</text></g>'
        )
    height = len(groups) * row_h + 4
    width = label_w + bar_w + 80
    return (
        f'<svg class="chart" role="img" aria-label="compliance per {name}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">{"".join(rows)}</svg>'
        '<p class="legend"><span><i class="sw" style="background:' + _OK + '"></i>compliant</span>'
        '<span><i class="sw" style="background:' + _BAD + '"></i>non-compliant</span></p>'
    )


def _group_table(groups: Sequence[GroupCount], name: str, heading: str) -> str:
    head = f"<tr><th>{_e(heading)}</th><th>tickets</th><th>compliant</th><th>non-compliant</th><th>problems</th></tr>"
    body = []
    for g in groups:
        problems = " ".join(f'<code class="problem">{_e(k)}&nbsp;{v}</code>' for k, v in g.problems.items())
        label = g.key if g.key is not None else "(no note)"
        body.append(
            f'<tr data-{name}="{_e(g.key or "")}"><td>{_e(label)}</td>'
            f'<td class="n" data-count="tickets">{g.tickets}</td>'
            f'<td class="n" data-count="compliant">{g.compliant}</td>'
            f'<td class="n" data-count="non_compliant">{g.non_compliant}</td><td>{problems}</td></tr>'
        )
    return f'<table class="{name}s">{head}{"".join(body)}</table>'


def render_html(report: AuditReport) -> str:
    """The page, as text (UTF-8 when written)."""
    s = report.summary
    sel = report.selection
    what = []
    if sel is not None:
        if sel.explicit:
            what.append(f"{len(sel.ticket_numbers) + len(sel.ticket_ids)} listed ticket(s)")
        else:
            if sel.queues:
                what.append("queue " + ", ".join(sel.queues))
            what.append("state " + ", ".join(sel.states))
            if sel.since or sel.until:
                since = sel.since.strftime("%Y-%m-%d %H:%M") if sel.since else "…"
                until = sel.until.strftime("%Y-%m-%d %H:%M") if sel.until else "now"
                what.append(f"{sel.window} {since} – {until}")
    generated = report.finished_at.isoformat(timespec="seconds") if report.finished_at else ""
    pct = f"{100 * s.compliant / s.tickets:.0f}%" if s.tickets else "–"

    problem_rows = "".join(
        f'<tr data-problem="{p.value}"><td><code>{p.value}</code></td><td>{_e(PROBLEM_DESCRIPTIONS[p])}</td>'
        f'<td class="n" data-count="problem">{s.problems[p.value]}</td></tr>'
        for p in Problem
    )
    tickets = []
    for t in report.non_compliant:
        codes = " ".join(f'<code class="problem" data-code="{p.value}">{p.value}</code>' for p in t.problems)
        tickets.append(
            f'<tr data-ticket-id="{t.ticket_id}"><td>{_e(t.ticket_number)}</td><td>{_e(t.title)}</td>'
            f"<td>{_e(t.kind or '')}</td><td>{_e(t.agent or '')}</td>"
            f"<td>{_e(t.attended_at.strftime('%Y-%m-%d %H:%M:%S') if t.attended_at else '')}</td>"
            f"<td>{codes}</td></tr>"
        )
    ticket_table = (
        "<table class='tickets'><tr><th>ticket</th><th>title</th><th>kind</th><th>agent</th><th>attended at</th>"
        f"<th>problems</th></tr>{''.join(tickets)}</table>"
        if tickets
        else "<p>Every ticket read is compliant.</p>"
    )
    unread = ""
    if report.unreadable:
        rows = "".join(
            f'<tr data-unreadable="{_e(u.ticket)}"><td>{_e(u.ticket)}</td><td>{_e(u.error)}</td>'
            f"<td>{_e(u.message)}</td></tr>"
            for u in report.unreadable
        )
        unread = (
            "<h2>Tickets that could not be read</h2>"
            f"<table class='unreadable'><tr><th>ticket</th><th>error</th><th>message</th></tr>{rows}</table>"
        )
    truncated = (
        f"<p><strong>The search found more tickets than the limit ({sel.limit}); only the first were read.</strong></p>"
        if report.truncated and sel is not None
        else ""
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Closure audit — Mesa de Servicio</title>"
        f"<style>{_STYLE}</style></head><body>"
        "<h1>Closure audit</h1>"
        f'<p class="meta">Server <span data-field="server">{_e(report.server)}</span> · '
        f"{_e('; '.join(what))} · generated {_e(generated)}</p>{truncated}"
        '<section id="summary"><div class="cards">'
        f'<div class="card"><span class="n" data-count="tickets">{s.tickets}</span>tickets read</div>'
        f'<div class="card ok"><span class="n" data-count="compliant">{s.compliant}</span>compliant ({pct})</div>'
        f'<div class="card bad"><span class="n" data-count="non_compliant">{s.non_compliant}</span>'
        "non-compliant</div>"
        f'<div class="card unread"><span class="n" data-count="unreadable">{s.unreadable}</span>'
        "could not be read</div></div></section>"
        "<h2>Problems</h2>"
        f"<table class='problems'><tr><th>code</th><th>meaning</th><th>tickets</th></tr>{problem_rows}</table>"
        "<h2>Compliance per day attended</h2>"
        f'<div id="per-day">{_chart(s.days, "day", "No tickets.")}{_group_table(s.days, "day", "day")}</div>'
        "<h2>Compliance per agent</h2>"
        f'<div id="per-agent">{_chart(s.agents, "agent", "No tickets.")}'
        f"{_group_table(s.agents, 'agent', 'agent')}</div>"
        f'<h2>Non-compliant tickets</h2><div id="non-compliant">{ticket_table}</div>'
        f"{unread}</body></html>\n"
    )
