"""`otrs-closure batch`: validate a manifest, close its rows, summarise."""

from __future__ import annotations

import argparse
import signal
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from otrs_closure.batch.items import BatchItem, BatchResult, BatchStatus
from otrs_closure.batch.journal import Journal
from otrs_closure.batch.manifest import load_manifest
from otrs_closure.batch.report import BatchSummary, check_output_file, make_progress
from otrs_closure.batch.runner import check_pool, run_batch
from otrs_closure.cli._common import (
    EXIT_AUTH,
    EXIT_BATCH_FAILURES,
    EXIT_INPUT,
    EXIT_OK,
    EXIT_SERVER,
    EXIT_UNEXPECTED,
    connection_args,
    exit_code,
    fail,
    make_client,
)
from otrs_closure.cli._signals import EXIT_INTERRUPTED, EXIT_TERMINATED, StopOnSignal
from otrs_closure.client import ClosureClient
from otrs_closure.errors import InputError, OtrsClosureError

# -- the command line ----------------------------------------------------------------------------


def register(subparsers: Any) -> None:
    """Add ``batch`` to the CLI."""
    epilog = (
        "manifest columns (CSV header or JSONL keys), one closure a row:\n"
        "  ticket_number | ticket_id, kind (service_request, user_onboarding, incident),\n"
        "  description, access_url, login, password_env (the NAME of the environment variable\n"
        "  holding the onboarding password: OTRS_CLOSURE_ONBOARDING_PASSWORD or\n"
        "  OTRS_CLOSURE_ONBOARDING_PASSWORD_<NAME>), problem, solution, signed_scan, editable\n"
        "  (paths relative to the manifest, inside its folder or --files-root)\n\n"
        "exit codes:\n"
        f"  {EXIT_OK}    every row was closed or already closed\n"
        f"  {EXIT_INPUT}    bad settings, options or manifest, or invalid rows with --dry-run/--strict: nothing sent\n"
        f"  {EXIT_AUTH}    the login before the first row failed: the agent's credentials were refused\n"
        f"  {EXIT_SERVER}    the login before the first row failed: server, URL or web service (every row not_run)\n"
        f"  {EXIT_BATCH_FAILURES}    at least one row invalid, failed or not run (see the summary and --report)\n"
        f"  {EXIT_INTERRUPTED}  SIGINT (Ctrl-C): the closures in progress were finished, no more started; "
        "run again to resume\n"
        f"  {EXIT_TERMINATED}  SIGTERM: the same (a second signal ends the batch at once)\n"
        f"  {EXIT_UNEXPECTED}    unexpected error (a bug: please report it)"
    )
    p: argparse.ArgumentParser = subparsers.add_parser(
        "batch",
        help="close the tickets of a CSV or JSONL manifest",
        description="Validate every row of MANIFEST, then close the valid rows with a pool of workers. "
        "Bad rows are reported all at once before anything is written.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("manifest", metavar="MANIFEST", help="a .csv (with a header row) or .jsonl file")
    p.add_argument("--workers", type=int, default=4, metavar="N", help="closures in parallel (default 4)")
    p.add_argument(
        "--rate-limit",
        type=float,
        default=None,
        metavar="PER_SECOND",
        help="at most this many closures started per second (each is 4-5 requests)",
    )
    p.add_argument(
        "--journal",
        metavar="PATH",
        help="SQLite journal: a re-run skips the rows it records closed and resumes the rest",
    )
    p.add_argument("--recheck", action="store_true", help="with --journal: ask the server about journaled rows too")
    p.add_argument("--report", metavar="FILE", help="write the summary as JSON to FILE ('-' for stdout)")
    p.add_argument(
        "--files-root",
        metavar="DIR",
        help="the folder every format file must be inside (default: the manifest's folder)",
    )
    p.add_argument("--dry-run", action="store_true", help="validate every row and stop; send nothing")
    p.add_argument("--strict", action="store_true", help="send nothing when any row is invalid")
    connection_args(p)
    p.set_defaults(func=cmd_batch)


def _check_outputs(args: argparse.Namespace) -> None:
    """Every file the batch will write, checked before the first request: a report that
    cannot be written must not be found out after the tickets were closed."""
    if args.report and args.report != "-":
        report = check_output_file(args.report, "--report").resolve()
        others = {"the manifest": args.manifest, "the journal": args.journal}
        for what, other in others.items():
            if other and Path(other).expanduser().resolve() == report:
                raise InputError("--report", f"{args.report} is {what}; name another file")


def cmd_batch(args: argparse.Namespace) -> int:
    """``otrs-closure batch``: validate, report bad rows, log in, run, summarise."""
    started = datetime.now(timezone.utc)
    err = sys.stderr
    try:
        check_pool(args.workers, args.rate_limit)
        if args.recheck and not args.journal:
            raise InputError("--recheck", "only with --journal (it sends journaled rows to the server anyway)")
        _check_outputs(args)
        client = make_client(args)
        items, problems = load_manifest(
            args.manifest, settings=client.settings, templates=client.templates, files_root=args.files_root
        )
        journal = Journal(args.journal, server=client.settings.service_url) if args.journal else None
    except OtrsClosureError as exc:
        return fail(exc, False)

    invalid = BatchResult.invalid_rows(problems)
    total = len(items) + len(invalid)
    manifest = str(args.manifest)
    for r in invalid:
        print(f"otrs-closure: {r.describe()}", file=err)
    print(f"otrs-closure: {manifest}: {total} row(s): {len(items)} valid, {len(invalid)} invalid", file=err)

    def finish(results: list[BatchResult], interrupted_by: str | None = None) -> bool:
        """Print the summary and write the report; False when the report could not be written."""
        done = BatchSummary(
            results=results,
            total=total,
            started_at=started,
            finished_at=datetime.now(timezone.utc),
            manifest=manifest,
            server=client.settings.service_url,
            workers=args.workers,
            journal=str(args.journal) if args.journal else None,
            interrupted=interrupted_by is not None,
            interrupted_by=interrupted_by,
            requests_sent=client.requests_sent,
        )
        if not args.dry_run:
            done.print(sys.stdout if args.report != "-" else err)
        return _write_report(done, args.report) if args.report else True

    def sent(item: BatchItem) -> bool:
        return journal is None or args.recheck or not journal.may_skip(item)

    if args.dry_run or (args.strict and invalid):
        if journal is not None:
            skip = sum(1 for i in items if not sent(i))
            print(f"otrs-closure: the journal would skip {skip} of the valid row(s) as closed", file=err)
            journal.close()
        why = "--dry-run" if args.dry_run else "--strict: invalid rows"
        print(f"otrs-closure: {why}: nothing sent", file=err)
        if not finish(list(invalid)):
            return EXIT_BATCH_FAILURES
        return EXIT_INPUT if invalid else EXIT_OK

    with client:
        if any(sent(i) for i in items):
            try:  # once, before the first row: a wrong URL, web service or password is one error
                client.connect()
            except OtrsClosureError as exc:
                if journal is not None:
                    journal.close()
                print(f"otrs-closure: cannot log in, so no row was run: {type(exc).__name__}: {exc}", file=err)
                finish([*invalid, *(BatchResult.for_item(i, BatchStatus.NOT_RUN, error=exc) for i in items)])
                return exit_code(exc)
        results, signals = _run(args, client, items, journal, invalid)
    interrupted_by = signals.received.name if signals.received is not None else None
    results += _not_reached(items, results)
    if interrupted_by:
        print(
            f"otrs-closure: {interrupted_by}: the closures in progress were finished and no more were started; "
            "run the same command again to close the rest",
            file=err,
        )
    written = finish(results, interrupted_by)
    if signals.exit_code is not None:
        return signals.exit_code
    ok = all(r.ok for r in results) and len(results) == total
    return EXIT_OK if ok and written else EXIT_BATCH_FAILURES


def _run(
    args: argparse.Namespace,
    client: ClosureClient,
    items: list[BatchItem],
    journal: Journal | None,
    invalid: list[BatchResult],
) -> tuple[list[BatchResult], StopOnSignal]:
    """Close the rows with a progress display until done, or until SIGINT/SIGTERM stops
    new rows; every result is collected, also those of closures that finished in flight."""
    results = list(invalid)
    with StopOnSignal() as signals:
        try:
            with make_progress(len(items), sys.stderr) as progress:

                def collect(result: BatchResult) -> None:
                    results.append(result)
                    progress(result)

                for _ in run_batch(
                    client,
                    items,
                    workers=args.workers,
                    rate_limit=args.rate_limit,
                    journal=journal,
                    progress=collect,
                    recheck=args.recheck,
                    stop=signals.stop,
                ):
                    pass
        except KeyboardInterrupt:  # no handler could be installed (not the main thread)
            signals.received = signal.SIGINT
        finally:
            if journal is not None:
                journal.close()
    return results, signals


def _not_reached(items: list[BatchItem], results: list[BatchResult]) -> list[BatchResult]:
    """A ``not_run`` result for each item the run never reported (it was cut short): the
    report lists every row, whatever stopped the run."""
    seen = {(r.source, r.row) for r in results}
    return [BatchResult.for_item(i, BatchStatus.NOT_RUN) for i in items if (i.source, i.row) not in seen]


def _write_report(summary: BatchSummary, target: str) -> bool:
    """Write the report; on failure (checked before the run, so: a full disk, a folder
    removed meanwhile) say so on stderr — the summary printed above is complete."""
    try:
        summary.write_json(target)
    except OSError as exc:
        print(f"otrs-closure: --report: cannot write {target} ({exc.strerror or exc})", file=sys.stderr)
        return False
    return True
