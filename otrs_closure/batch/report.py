"""What a batch shows people: progress while it runs, the summary table and the JSON report."""

from __future__ import annotations

import json
import os
import sys
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TextIO

from otrs_closure.batch.items import BatchResult, BatchStatus, _where
from otrs_closure.errors import InputError, OtrsClosureError

if TYPE_CHECKING:  # pragma: no cover - rich is imported when something is shown
    from rich.console import Console

# -- progress ------------------------------------------------------------------------------------


class _LogProgress:
    """One plain line per row (stderr is not a terminal: logs, CI, cron)."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.done = 0
        self.stream = stream
        self._width = len(str(total))

    def __enter__(self) -> _LogProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stream.flush()

    def __call__(self, result: BatchResult) -> None:
        self.done += 1
        print(f"[{self.done:>{self._width}}/{self.total}] {result.describe()}", file=self.stream, flush=True)


def _console(stream: TextIO, width: int | None = None) -> Console:
    """A rich console that never reads markup, emoji codes or highlights in what it prints:
    every text it shows (tickets, texts, file names, the server's messages) came from
    someone else, and ``[/x]`` would raise (or ``[link=…]`` render) as markup."""
    from rich.console import Console

    return Console(file=stream, markup=False, emoji=False, highlight=False, width=width)


class _RichProgress:
    """A progress bar on the terminal; failures are printed above it as they happen."""

    def __init__(self, total: int, stream: TextIO) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("closing"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}", markup=False),
            TimeRemainingColumn(),
            console=_console(stream),
            transient=False,
        )
        self._task = self._progress.add_task("batch", total=total, status="")
        self._counts: dict[str, int] = {}

    def __enter__(self) -> _RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def __call__(self, result: BatchResult) -> None:
        self._counts[result.status.value] = self._counts.get(result.status.value, 0) + 1
        if not result.ok:
            from rich.text import Text

            self._progress.console.print(Text(result.describe()))
        status = " ".join(f"{k}={v}" for k, v in sorted(self._counts.items()))
        self._progress.update(self._task, advance=1, status=status)


def make_progress(total: int, stream: TextIO | None = None) -> _LogProgress | _RichProgress:
    """A progress reporter for ``total`` rows (a context manager and a callable taking each
    result): a ``rich`` bar when ``stream`` (default stderr) is a terminal, plain lines otherwise."""
    stream = stream or sys.stderr
    if stream.isatty():
        return _RichProgress(total, stream)
    return _LogProgress(total, stream)


# -- the summary ---------------------------------------------------------------------------------


@dataclass
class BatchSummary:
    """Counts and failures of one batch run, for the terminal and for ``--report``."""

    results: list[BatchResult]
    total: int
    started_at: datetime
    finished_at: datetime
    manifest: str | None = None
    server: str | None = None
    workers: int = 1
    journal: str | None = None
    interrupted: bool = False
    interrupted_by: str | None = None  # the signal that stopped the run: "SIGINT", "SIGTERM"
    requests_sent: dict[str, int] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        """Rows per status (every status listed); rows with no result count as ``not_run``."""
        counts = {s.value: 0 for s in BatchStatus}
        for r in self.results:
            counts[r.status.value] += 1
        counts[BatchStatus.NOT_RUN.value] += max(0, self.total - len(self.results))
        return counts

    @property
    def ok(self) -> bool:
        """True only when every row was closed, already closed (or skipped as closed by the journal)."""
        return len(self.results) == self.total and all(r.ok for r in self.results)

    @property
    def failures(self) -> list[BatchResult]:
        """The rows that failed or were invalid, each with its own error. Rows not run are
        not among them: they share one reason (:attr:`stopped_by`, or the interruption)."""
        return sorted(
            (r for r in self.results if not r.ok and r.status is not BatchStatus.NOT_RUN),
            key=lambda r: (r.source, r.row),
        )

    @property
    def not_run(self) -> list[BatchResult]:
        return sorted((r for r in self.results if r.status is BatchStatus.NOT_RUN), key=lambda r: (r.source, r.row))

    @property
    def stopped_by(self) -> OtrsClosureError | None:
        """The failure every row would have shared, which stopped the batch (the rows not
        run carry it), or None."""
        return next((r.error for r in self.not_run if r.error is not None), None)

    @property
    def stopped_at(self) -> BatchResult | None:
        """The failed row whose error stopped the batch (None: the login before the first row)."""
        error = self.stopped_by
        return next((r for r in self.failures if error is not None and r.error is error), None)

    def stop_reason(self) -> str | None:
        """Why rows were not run, in one line (None when every row ran)."""
        if not self.not_run and self.counts[BatchStatus.NOT_RUN.value] == 0:
            return None
        error = self.stopped_by
        if error is not None:
            at = self.stopped_at
            where = f" at {_where(at.source, at.row)} ({at.ticket})" if at is not None else " before the first row"
            return f"the batch stopped{where}: {type(error).__name__}: {error}"
        if self.interrupted:
            return f"interrupted by {self.interrupted_by or 'the caller'}"
        return "the run ended before them"

    def to_dict(self) -> dict[str, Any]:
        elapsed = (self.finished_at - self.started_at).total_seconds()
        return {
            "manifest": self.manifest,
            "server": self.server,
            "journal": self.journal,
            "workers": self.workers,
            "started_at": self.started_at.isoformat(timespec="seconds"),
            "finished_at": self.finished_at.isoformat(timespec="seconds"),
            "elapsed_seconds": round(elapsed, 3),
            "interrupted": self.interrupted,
            "interrupted_by": self.interrupted_by,
            "ok": self.ok,
            "total": self.total,
            "counts": self.counts,
            "requests_sent": dict(self.requests_sent),
            "stopped_by": self._stopped_by_dict(),
            "failures": [
                {
                    "row": r.row,
                    "source": r.source or None,
                    "ticket": r.ticket or None,
                    "status": r.status.value,
                    "error": type(r.error).__name__ if r.error is not None else None,
                    "error_code": r.error_code,
                    "http_status": r.error.http_status if r.error is not None else None,
                    "message": str(r.error) if r.error is not None else None,
                    "problems": [p.to_dict() for p in r.problems],
                }
                for r in self.failures
            ],
            "results": [r.to_dict() for r in sorted(self.results, key=lambda r: (r.source, r.row))],
        }

    def _stopped_by_dict(self) -> dict[str, Any] | None:
        error = self.stopped_by
        if error is None:
            return None
        at = self.stopped_at
        return {**error.to_dict(), "row": at.row if at else None, "source": (at.source or None) if at else None}

    def write_json(self, target: str | Path | IO[str]) -> None:
        """The report as JSON to a path (``-`` for stdout) or an open text file. A path is
        written atomically (a temporary file in its folder, then renamed over it): a reader
        finds the previous report or the whole new one, never half of one."""
        text = json.dumps(self.to_dict(), indent=2, ensure_ascii=False, default=str) + "\n"
        if not isinstance(target, (str, Path)):
            target.write(text)
        elif str(target) == "-":
            sys.stdout.write(text)
        else:
            write_atomically(Path(target), text)

    def print(self, stream: TextIO | None = None) -> None:
        """The counts and the failures as tables."""
        from rich import box
        from rich.table import Table
        from rich.text import Text

        stream = stream or sys.stdout
        console = _console(stream, width=None if stream.isatty() else 160)
        ascii_box = box.ASCII if not stream.isatty() else box.SIMPLE_HEAD
        elapsed = (self.finished_at - self.started_at).total_seconds()
        console.print(
            f"batch: {self.total} row(s) in {elapsed:.1f} s with {self.workers} worker(s)"
            + (f" (interrupted by {self.interrupted_by or 'the caller'})" if self.interrupted else ""),
            markup=False,
        )
        counts = Table(box=ascii_box)
        counts.add_column("status")
        counts.add_column("rows", justify="right")
        for status, n in self.counts.items():
            if n or status in ("closed", "already_closed", "failed"):
                counts.add_row(status, str(n))
        console.print(counts)
        failures = self.failures
        if failures:
            console.print(f"{len(failures)} row(s) failed or invalid:")
            table = Table(box=ascii_box)
            for col in ("row", "ticket", "status", "error", "ErrorCode", "message"):
                table.add_column(col, overflow="fold")
            for r in failures:
                if r.status is BatchStatus.INVALID:
                    message = "; ".join(f"{p.field}: {p.problem}" for p in r.problems)
                else:
                    message = r.error.message if r.error is not None else ""
                cells = (
                    _where(r.source, r.row),
                    r.ticket,
                    r.status.value,
                    type(r.error).__name__ if r.error is not None else "",
                    r.error_code or "",
                    message,
                )
                table.add_row(*(Text(c) for c in cells))  # Text: never parsed as markup
            console.print(table)
        reason = self.stop_reason()
        if reason is not None:
            n = self.counts[BatchStatus.NOT_RUN.value]
            console.print(f"{n} row(s) not run: {reason}")


def check_output_file(path: str | Path, what: str) -> Path:
    """``path`` as a file that can be written (its folder exists and is writable, and it is
    no folder itself); :class:`InputError` naming ``what`` otherwise. For checking every
    output before the first write of a batch, rather than failing after it."""
    target = Path(path).expanduser()
    folder = target.parent
    if target.is_dir():
        raise InputError(what, f"{path} is a folder; name a file")
    if not folder.is_dir():
        raise InputError(what, f"no such folder: {folder}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(what, f"cannot write in {folder}")
    return target


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder, renamed over
    it once complete (``os.replace``); the temporary file is removed on failure."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as for any new file
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
