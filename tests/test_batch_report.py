"""What a batch shows people: the summary table and the JSON report, from results alone
(no server involved)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from pathlib import Path

from otrs_closure.batch import COLUMNS, BatchResult, BatchSummary, load_manifest


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(COLUMNS))
        w.writeheader()
        w.writerows(rows)
    return path


def test_the_summary_shows_typed_text_as_it_is(tmp_path: Path) -> None:
    # Cells and the server's messages are someone else's text: "[/x]" is no rich markup
    # (it raised after the closures ran, and the report was lost), ":smile:" no emoji code.
    rows = [{"ticket_number": "2026112810000091", "kind": "[/x] :smile: [link=http://x]y", "description": "x"}]
    _, problems = load_manifest(write_csv(tmp_path / "m.csv", rows))
    now = datetime.now(timezone.utc)
    summary = BatchSummary(results=BatchResult.invalid_rows(problems), total=1, started_at=now, finished_at=now)
    out = io.StringIO()
    summary.print(out)
    assert "'[/x] :smile: [link=http://x]y' is not one of" in out.getvalue()

