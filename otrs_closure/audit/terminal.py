"""The audit on a terminal: the counts, the problems, the agents and days, and the
non-compliant tickets, as tables (rich, imported here only). Text from tickets is put in
as plain :class:`rich.text.Text` — never parsed as rich markup — after
:func:`~otrs_closure.audit._text.shown` removed every control character, so a title
cannot style, hide or rewrite the output."""

from __future__ import annotations

from typing import IO, TYPE_CHECKING

from otrs_closure.audit._text import shown

if TYPE_CHECKING:  # pragma: no cover
    from otrs_closure.audit.report import AuditReport

__all__ = ["print_report"]


def print_report(report: AuditReport, stream: IO[str]) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    tty = stream.isatty()
    console = Console(file=stream, highlight=False, markup=False, emoji=False, width=None if tty else 160)
    frame = box.SIMPLE_HEAD if tty else box.ASCII

    def plain(value: object) -> Text:
        return Text(shown("" if value is None else str(value), 300))

    s = report.summary
    console.print(
        Text(
            f"audit: {s.tickets} ticket(s) read, {s.compliant} compliant, {s.non_compliant} non-compliant"
            + (f", {s.unreadable} could not be read" if s.unreadable else "")
            + (" (the search found more than the limit: not every ticket was read)" if report.truncated else "")
        )
    )
    problems = Table(box=frame, title=None)
    problems.add_column("problem")
    problems.add_column("tickets", justify="right")
    for code, n in s.problems.items():
        problems.add_row(plain(code), plain(n))
    console.print(problems)

    if s.agents:
        agents = Table(box=frame)
        for col in ("agent", "tickets", "compliant", "non-compliant"):
            agents.add_column(col, justify="left" if col == "agent" else "right")
        for g in s.agents:
            agents.add_row(plain(g.key or "(no note)"), plain(g.tickets), plain(g.compliant), plain(g.non_compliant))
        console.print(agents)
    if s.days:
        days = Table(box=frame)
        for col in ("day", "tickets", "compliant", "non-compliant"):
            days.add_column(col, justify="left" if col == "day" else "right")
        for g in s.days:
            days.add_row(plain(g.key or "(no note)"), plain(g.tickets), plain(g.compliant), plain(g.non_compliant))
        console.print(days)

    bad = report.non_compliant
    if bad:
        console.print(Text(f"{len(bad)} non-compliant ticket(s):"))
        table = Table(box=frame)
        for col in ("ticket", "agent", "attended at", "kind", "problems", "title"):
            table.add_column(col, overflow="fold")
        for t in bad:
            table.add_row(
                plain(t.ticket_number),
                plain(t.agent or ""),
                plain(t.attended_at.strftime("%Y-%m-%d %H:%M") if t.attended_at else ""),
                plain(t.kind or ""),
                plain(" ".join(p.value for p in t.problems)),
                plain(t.title),
            )
        console.print(table)
    if report.unreadable:
        console.print(Text(f"{len(report.unreadable)} ticket(s) could not be read:"))
        table = Table(box=frame)
        for col in ("ticket", "error", "message"):
            table.add_column(col, overflow="fold")
        for u in report.unreadable:
            table.add_row(plain(u.ticket), plain(u.error), plain(u.message))
        console.print(table)
