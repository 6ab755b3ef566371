"""The compatibility table, produced by the live run.

Each live test that proves a column is marked ``@pytest.mark.compat("<column>")``; the
suite's conftest records every such outcome per target and, at the end of the run,
writes ``<dir>/compat-<target>.json`` (``OTRS_CLOSURE_TEST_COMPAT_DIR``, default
``.live-results`` in the repository). Render them::

    python tests/live_compat.py [DIR]                     # print the markdown table
    python tests/live_compat.py [DIR] --readme README.md  # also replace the table in the README

A cell is ``yes`` when every test of that column passed on that system, ``no`` when any
failed (with the count), ``—`` when none ran.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

COLUMNS: dict[str, str] = {
    "by_number": "close by number",
    "by_id": "close by id",
    "rerun": "idempotent re-run",
    "bad_input": "bad input refused, nothing written",
    "partial": "refusal half way, then resumed",
    "header_session": "no credential in URLs",
    "faults": "faults survived",
    "batch": "batch killed + re-run",
}
BEGIN = "<!-- compat-table:begin (written by tests/live_compat.py from the live run) -->"
END = "<!-- compat-table:end -->"


class Recorder:
    """Outcomes per target and column, plus per-target facts (product, settings, notes)."""

    def __init__(self) -> None:
        self.outcomes: dict[str, dict[str, list[tuple[str, str]]]] = {}
        self.totals: dict[str, dict[str, int]] = {}
        self.facts: dict[str, dict[str, Any]] = {}
        self.notes: dict[str, dict[str, str]] = {}

    def fact(self, target: str, **facts: Any) -> None:
        self.facts.setdefault(target, {}).update(facts)

    def note(self, target: str, column: str, text: str) -> None:
        self.notes.setdefault(target, {})[column] = text

    def record(self, target: str, columns: list[str], test: str, outcome: str) -> None:
        t = self.totals.setdefault(target, {"passed": 0, "failed": 0, "skipped": 0})
        t[outcome] = t.get(outcome, 0) + 1
        for c in columns:
            self.outcomes.setdefault(target, {}).setdefault(c, []).append((test, outcome))

    def write(self, directory: Path) -> list[Path]:
        directory.mkdir(parents=True, exist_ok=True)
        out = []
        for target in sorted(set(self.outcomes) | set(self.totals)):
            doc = {"target": target, "written": time.strftime("%Y-%m-%d %H:%M:%S"),
                   **self.facts.get(target, {}), "totals": self.totals.get(target, {}),
                   "columns": {c: [{"test": t, "outcome": o} for t, o in v]
                               for c, v in self.outcomes.get(target, {}).items()},
                   "notes": self.notes.get(target, {})}
            path = directory / f"compat-{target}.json"
            path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            out.append(path)
        return out


#: The run's recorder (the conftest feeds it; tests may add notes).
RECORDER = Recorder()


def cell(results: list[dict[str, str]]) -> str:
    ran = [r for r in results if r["outcome"] != "skipped"]
    if not ran:
        return "—"
    passed = sum(r["outcome"] == "passed" for r in ran)
    if passed == len(ran):
        return f"yes ({passed})" if len(ran) > 1 else "yes"
    return f"**no** ({passed}/{len(ran)})"


ORDER = ["znuny65", "otrs6", "otobo", "otrs5", "znuny7"]


def render(docs: list[dict[str, Any]]) -> str:
    docs = sorted(docs, key=lambda d: (ORDER.index(d["target"]) if d["target"] in ORDER else 99, d["target"]))
    head = ["system", *COLUMNS.values(), "settings needed", "tests passed"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    notes = []
    for d in docs:
        cols = d.get("columns", {})
        settings = d.get("settings_needed") or {}
        totals = d.get("totals", {})
        ran = totals.get("passed", 0) + totals.get("failed", 0)
        row = [f"{d.get('product', d['target'])} (`{d['target']}`)"]
        row += [cell(cols.get(c, [])) for c in COLUMNS]
        row.append(", ".join(f"`{k}={v}`" for k, v in settings.items()) or "none")
        row.append(f"{totals.get('passed', 0)}/{ran}")
        lines.append("| " + " | ".join(row) + " |")
        for col, text in (d.get("notes") or {}).items():
            notes.append(f"- `{d['target']}`, {COLUMNS.get(col, col)}: {text}")
    stamp = max((d.get("written", "") for d in docs), default="")
    out = "\n".join(lines)
    if notes:
        out += "\n\n" + "\n".join(notes)
    return out + f"\n\nWritten by the live run of {stamp}."


def load(directory: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(directory.glob("compat-*.json"))]


def replace_in_readme(readme: Path, table: str) -> None:
    text = readme.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{readme}: no {BEGIN!r} … {END!r} markers")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{BEGIN}\n{table}\n{END}{tail}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Render the live run's compatibility table as markdown.")
    p.add_argument("dir", nargs="?", default=str(Path(__file__).resolve().parent.parent / ".live-results"))
    p.add_argument("--readme", help="replace the table between the markers in this file")
    args = p.parse_args(argv)
    docs = load(Path(args.dir))
    if not docs:
        print(f"no compat-*.json in {args.dir}", file=sys.stderr)
        return 1
    table = render(docs)
    print(table)
    if args.readme:
        replace_in_readme(Path(args.readme), table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
