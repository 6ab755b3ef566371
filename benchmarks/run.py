"""Benchmarks of otrs_closure against the obvious alternative, measured side by side in
one run against the loopback fake Znuny with a per-request latency (default 20 ms), or,
with ``--live``, against real servers (``live.py``: the library, the pyotrs script and
the floor, interleaved ticket by ticket).

    python benchmarks/run.py [--quick] [--latency 0.02] [--closures N] [--batch N] [--scan-mb 50]
                             [--skip trips|wall|batch|memory] [--out FILE]
    python benchmarks/run.py --live [--systems znuny65,otrs5|all] [--closures ROUNDS] [--batch N]
                             [--reps R] [--scan-mb 50] [--skip ...] [--quick]

Prints a table of ratios (and writes it to ``benchmarks/results/latest.md``):

* round trips per closure — by ticket number and by ticket id — against the floor (5 and
  4: search, get, two writes, verify read) and against the pyotrs baseline script
  (``baseline_pyotrs.py``: 6 round trips, each on a new connection);
* wall time per closure, ours / baseline, closures run one after the other, alternating;
* a batch of N closures at 1, 4, 8 and 16 workers: speed-up over 1 worker — each run
  against a fresh fake holding only its batch (the fake's TicketSearch scans every ticket
  it holds; Znuny's is an indexed query), once with the fake served from a thread of this
  process (it then shares the client's GIL and CPUs) and once from a process of its own;
* peak memory growth of one closure with a big signed scan, as a multiple of the file
  size, ours and the baseline's, each measured in its own subprocess
  (``memory_probe.py``) against a fake served by this process.

Requests and TCP connections are counted on the client side (``requests``' adapter and
urllib3's connect), so the same counters serve both sides.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import requests
import urllib3.connection

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from baseline_pyotrs import close_ticket as baseline_close  # noqa: E402

from otrs_closure import ClosureClient, FormatFiles, ServiceRequest  # noqa: E402
from otrs_closure.batch import BatchItem, run_batch  # noqa: E402
from otrs_closure.testing import FakeZnuny  # noqa: E402

USERNAME, PASSWORD, OWNER = "tecnico1", "tecnico-pass", "agente.mesa"
DESCRIPTION = "Se reconfiguró la impresora del laboratorio 1."

# -- client-side counters ---------------------------------------------------------------------


class Counters:
    """Requests (per operation) and new TCP connections seen by this process's HTTP clients."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.connections = 0

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.connections = 0

    @property
    def total(self) -> int:
        return sum(self.requests.values())


COUNTERS = Counters()


def _operation(method: str, url: str) -> str:
    path = url.split("?", 1)[0]
    if path.endswith("/Session"):
        return "SessionCreate"
    if path.endswith("/Ticket/Search"):
        return "TicketSearch"
    if method == "GET":
        return "TicketGet"
    if method == "PATCH":
        return "TicketUpdate"
    return f"{method} {path.rsplit('/', 1)[-1]}"


def install_counters() -> None:
    send = requests.adapters.HTTPAdapter.send
    connect = urllib3.connection.HTTPConnection.connect

    def counting_send(self: Any, request: requests.PreparedRequest, *a: Any, **kw: Any) -> Any:
        with COUNTERS.lock:
            COUNTERS.requests[_operation(str(request.method), str(request.url))] += 1
        return send(self, request, *a, **kw)

    def counting_connect(self: Any) -> None:
        with COUNTERS.lock:
            COUNTERS.connections += 1
        connect(self)

    requests.adapters.HTTPAdapter.send = counting_send  # type: ignore[method-assign]
    urllib3.connection.HTTPConnection.connect = counting_connect  # type: ignore[method-assign]


# -- inputs ------------------------------------------------------------------------------------


def write_pdf(path: Path, size: int) -> Path:
    """A PDF-headed file of ``size`` bytes (random body: base64 cannot shrink it)."""
    head = b"%PDF-1.4\n% formato firmado por el usuario final\n"
    tail = b"\n%%EOF\n"
    with path.open("wb") as fh:
        fh.write(head)
        left = size - len(head) - len(tail)
        rnd = random.Random(2026)
        while left > 0:
            n = min(left, 1 << 20)
            fh.write(rnd.randbytes(n))
            left -= n
        fh.write(tail)
    return path


def write_docx(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        zf.writestr("word/document.xml", "<w:document>FORMATO DE ATENCIÓN</w:document>")
    return path


@dataclass
class Env:
    new_tickets: Callable[[int], list[tuple[int, str]]]
    base_url: str
    scan: Path
    editable: Path
    where: str = "fake in this process"

    def tickets(self, n: int) -> list[tuple[int, str]]:
        return self.new_tickets(n)

    def client(self) -> ClosureClient:
        return ClosureClient(base_url=self.base_url, username=USERNAME, password=PASSWORD, owner_login=OWNER)

    def formats(self) -> FormatFiles:
        return FormatFiles(signed_scan=self.scan, editable=self.editable)

    def ours(self, client: ClosureClient, number: str) -> None:
        client.close(ticket_number=number, attention=ServiceRequest(description=DESCRIPTION), formats=self.formats())

    def baseline(self, number: str) -> None:
        baseline_close(self.base_url, USERNAME, PASSWORD, OWNER, number, DESCRIPTION, str(self.scan),
                       str(self.editable))


def _root(url: str) -> str:
    return url.split("/otrs/nph-genericinterface.pl")[0]  # the doors yield the web service URL


def _tickets(fake: Any, n: int) -> list[tuple[int, str]]:
    return [tuple(fake.new_service_desk_ticket(title=f"Benchmark {i}")) for i in range(n)]  # type: ignore[misc]


@contextmanager
def environment(latency: float, folder: Path) -> Iterator[Env]:
    """The fake served from a thread of this process (it shares the client's GIL)."""
    fake = FakeZnuny.service_desk()
    with fake.serve(port=0, latency=latency) as url:
        yield Env(lambda n: _tickets(fake, n), _root(url), write_pdf(folder / "formato_firmado.pdf", 40_000),
                  write_docx(folder / "formato.docx"))


def _serve_in_child(conn: Connection, latency: float) -> None:
    fake = FakeZnuny.service_desk()
    with fake.serve(port=0, latency=latency) as url:
        conn.send(url)
        while (msg := conn.recv()) is not None:
            conn.send(_tickets(fake, msg))


@contextmanager
def child_environment(latency: float, folder: Path) -> Iterator[Env]:
    """The fake served by a process of its own, as a real server would be."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve_in_child, args=(child, latency), daemon=True)
    proc.start()
    try:
        url = parent.recv()

        def tickets(n: int) -> list[tuple[int, str]]:
            parent.send(n)
            result: list[tuple[int, str]] = parent.recv()
            return result

        yield Env(tickets, _root(url), write_pdf(folder / "formato_firmado.pdf", 40_000),
                  write_docx(folder / "formato.docx"), where="fake in its own process")
    finally:
        parent.send(None)
        proc.join(timeout=10)
        if proc.is_alive():
            proc.terminate()


# -- measures -------------------------------------------------------------------------------------


@dataclass
class Row:
    measure: str
    ours: str
    reference: str
    ratio: str
    target: str
    verdict: str


def round_trips(env: Env, n: int) -> tuple[list[Row], dict[str, Any]]:
    """Requests per closure, by number and by id, and the baseline's, counted on the client."""
    by_number, by_id, base = env.tickets(n), env.tickets(n), env.tickets(n)
    client = env.client()
    env.ours(client, env.tickets(1)[0][1])  # the once-per-client requests: session, preflight
    COUNTERS.reset()
    for _, number in by_number:
        env.ours(client, number)
    ours_number = COUNTERS.total / n
    ours_number_conn = COUNTERS.connections / n
    ops_number = {k: v / n for k, v in sorted(COUNTERS.requests.items())}
    COUNTERS.reset()
    for ticket_id, _ in by_id:
        client.close(ticket_id=ticket_id, attention=ServiceRequest(description=DESCRIPTION), formats=env.formats())
    ours_id = COUNTERS.total / n
    client.shutdown()
    COUNTERS.reset()
    for _, number in base:
        env.baseline(number)
    base_trips = COUNTERS.total / n
    base_conn = COUNTERS.connections / n
    ops_base = {k: v / n for k, v in sorted(COUNTERS.requests.items())}

    def verdict(value: float, floor: float) -> str:
        return "met" if value <= floor + 1e-9 else f"missed by {value - floor:.2f}"

    rows = [
        Row("round trips per closure, by ticket number", f"{ours_number:.2f}", "floor 5",
            f"{ours_number / 5:.2f}×", "at the floor", verdict(ours_number, 5)),
        Row("round trips per closure, by ticket id", f"{ours_id:.2f}", "floor 4",
            f"{ours_id / 4:.2f}×", "at the floor", verdict(ours_id, 4)),
        Row("round trips per closure vs the pyotrs baseline", f"{ours_number:.2f}", f"{base_trips:.2f}",
            f"{ours_number / base_trips:.2f}×", "—", ""),
        Row("new TCP connections per closure", f"{ours_number_conn:.2f}", f"{base_conn:.2f}",
            f"{ours_number_conn / base_conn:.2f}×" if base_conn else "—", "—", ""),
    ]
    return rows, {"ours_by_number": ops_number, "baseline": ops_base,
                  "once_per_client": "SessionCreate 1, TicketUpdate (preflight) 1"}


def wall_time(env: Env, n: int) -> tuple[list[Row], dict[str, Any]]:
    """Seconds per closure, one after the other, ours and the baseline alternating."""
    ours_tickets, base_tickets = env.tickets(n), env.tickets(n)
    client = env.client()
    ours_t: list[float] = []
    base_t: list[float] = []
    started = time.perf_counter()
    for (_, a), (_, b) in zip(ours_tickets, base_tickets, strict=True):
        t = time.perf_counter()
        env.ours(client, a)
        ours_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        env.baseline(b)
        base_t.append(time.perf_counter() - t)
    client.shutdown()
    o, b_ = statistics.mean(ours_t), statistics.mean(base_t)
    ratio = o / b_
    verdict = "met" if ratio <= 0.85 else f"missed by {ratio - 0.85:.3f}"
    row = Row("wall time per closure, 1 worker (mean)", f"{1000 * o:.1f} ms", f"{1000 * b_:.1f} ms",
              f"{ratio:.3f}×", "≤ 0.85×", verdict)
    med = Row("wall time per closure, 1 worker (median)", f"{1000 * statistics.median(ours_t):.1f} ms",
              f"{1000 * statistics.median(base_t):.1f} ms",
              f"{statistics.median(ours_t) / statistics.median(base_t):.3f}×", "—", "")
    return [row, med], {"n": n, "seconds": time.perf_counter() - started}


def batch_speedup(make_env: Callable[[], AbstractContextManager[Env]], n: int,
                  worker_counts: tuple[int, ...]) -> tuple[list[Row], dict[str, Any]]:
    """One batch of n closures per worker count, each against a fresh fake holding just
    that batch's tickets (the fake's TicketSearch scans every ticket it holds, where Znuny
    uses an index), with a fresh client."""
    seconds: dict[int, float] = {}
    where = ""
    for w in worker_counts:
        with make_env() as env:
            where = env.where
            items = [BatchItem(attention=ServiceRequest(description=DESCRIPTION), ticket_number=number,
                               formats=env.formats(), row=i + 1)
                     for i, (_, number) in enumerate(env.tickets(n))]
            client = env.client()
            t = time.perf_counter()
            results = list(run_batch(client, items, workers=w))
            seconds[w] = time.perf_counter() - t
            client.shutdown()
        bad = [r for r in results if r.status.value != "closed"]
        if bad:
            raise SystemExit(f"batch at {w} workers: {len(bad)} row(s) not closed, e.g. {bad[0].describe()}")
    rows = []
    for w in worker_counts:
        speedup = seconds[1] / seconds[w]
        target, verdict = ("≥ 6×", "met" if speedup >= 6 else f"missed by {6 - speedup:.2f}") if w == 8 else ("—", "")
        rows.append(Row(f"batch of {n} closures, {w} worker(s), {where}",
                        f"{seconds[w]:.2f} s ({seconds[w] / n * 1000:.1f} ms/closure)",
                        f"{seconds[1]:.2f} s at 1 worker", f"{speedup:.2f}× speed-up", target, verdict))
    return rows, {"seconds": seconds, "where": where}


def memory(base_url_env: Env, folder: Path, scan_mb: int) -> tuple[list[Row], dict[str, Any]]:
    """Each side in its own subprocess; the fake (in this process) keeps the bytes."""
    big = write_pdf(folder / "escaneo_grande.pdf", scan_mb * 1_000_000)
    small = base_url_env.scan
    measured: dict[tuple[str, str], dict[str, Any]] = {}
    for side in ("ours", "baseline"):
        for method in ("rss", "tracemalloc"):
            (_, warm), (_, number) = base_url_env.tickets(2)
            proc = subprocess.run(
                [sys.executable, str(HERE / "memory_probe.py"), side, method, base_url_env.base_url, warm, number,
                 str(big), str(small), str(base_url_env.editable)],
                capture_output=True, text=True, timeout=600,
            )
            if proc.returncode != 0:
                raise SystemExit(f"memory probe {side}/{method} failed:\n{proc.stderr[-3000:]}")
            measured[(side, method)] = json.loads(proc.stdout.strip().splitlines()[-1])
            measured[(side, method)].pop("session_ids", None)  # the fake's
    big.unlink()
    o, b = measured[("ours", "rss")]["ratio"], measured[("baseline", "rss")]["ratio"]
    ot, bt = measured[("ours", "tracemalloc")]["ratio"], measured[("baseline", "tracemalloc")]["ratio"]
    verdict = "met" if o <= 0.5 else f"missed by {o - 0.5:.2f}×"
    rows = [
        Row(f"peak memory growth, one closure with a {scan_mb} MB scan (RSS)", f"{o:.3f}× file",
            f"{b:.2f}× file (baseline)", f"{o / b:.3f}×", "≤ 0.5× file", verdict),
        Row("peak Python allocations, same closure (tracemalloc)", f"{ot:.3f}× file",
            f"{bt:.2f}× file (baseline)", f"{ot / bt:.3f}×", "—", ""),
    ]
    return rows, {f"{k[0]}/{k[1]}": v for k, v in measured.items()}


# -- the report -----------------------------------------------------------------------------------


def table(rows: list[Row]) -> str:
    head = ("measure", "ours", "reference", "ratio", "target", "result")
    cells = [head, *[(r.measure, r.ours, r.reference, r.ratio, r.target, r.verdict) for r in rows]]
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
    lines = ["| " + " | ".join(c[i].ljust(widths[i]) for i in range(len(head))) + " |" for c in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()) if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="fewer closures (a smoke run; ratios are noisier)")
    p.add_argument("--latency", type=float, default=0.02, help="the fake's latency per request, seconds")
    p.add_argument("--closures", type=int, default=None,
                   help="closures per side for round trips and wall time (--live: rounds, default 60)")
    p.add_argument("--batch", type=int, default=None,
                   help="closures per batch run (default 500; --quick 100; --live: 32 at 4 and 8 workers, half at 1)")
    p.add_argument("--scan-mb", type=int, default=50, help="size of the big signed scan, MB")
    p.add_argument("--skip", action="append", default=[], choices=["trips", "wall", "batch", "memory"])
    p.add_argument("--out", default=None, help="where to write the table (default results/latest.md; "
                   "--live: results/live-latest.md and results/live-<system>.md)")
    p.add_argument("--live", action="store_true", help="measure on real servers (see live.py and lab_systems.py): "
                   "OTRS_CLOSURE_TEST_* variables as the live suite, default the lab's Znuny 6.5.10")
    p.add_argument("--systems", default=None, help="--live: lab systems, comma-separated, or 'all'")
    p.add_argument("--reps", type=int, default=None,
                   help="--live: throughput runs per side and worker count (default 6)")
    a = p.parse_args(argv)
    if a.live:
        from live import run_live

        a.out = a.out or str(HERE / "results" / "live-latest.md")
        return run_live(a, write_pdf, write_docx)
    a.out = a.out or str(HERE / "results" / "latest.md")
    n = a.closures or (10 if a.quick else 60)
    batch_n = a.batch or (100 if a.quick else 500)
    install_counters()

    rows: list[Row] = []
    details: dict[str, Any] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="otrs-closure-bench-") as tmp:
        folder = Path(tmp)
        with environment(a.latency, folder) as env:
            if "trips" not in a.skip:
                r, d = round_trips(env, n)
                rows += r
                details["round_trips"] = d
            if "wall" not in a.skip:
                r, d = wall_time(env, n)
                rows += r
                details["wall_time"] = d
        if "batch" not in a.skip:
            r, d = batch_speedup(lambda: environment(a.latency, folder), batch_n, (1, 4, 8, 16))
            rows += r
            details["batch"] = d
            r, d = batch_speedup(lambda: child_environment(a.latency, folder), batch_n, (1, 8, 16))
            rows += r
            details["batch_own_process"] = d
        if "memory" not in a.skip:
            with environment(0.0, folder) as env:
                r, d = memory(env, folder, a.scan_mb)
                rows += r
                details["memory"] = d
    elapsed = time.perf_counter() - started

    command = "python " + " ".join(["benchmarks/run.py", *(argv if argv is not None else sys.argv[1:])])
    header = (
        f"`{command}` — {time.strftime('%Y-%m-%d %H:%M')}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU(s), fake latency "
        f"{a.latency * 1000:.0f} ms/request, {n} closures per side, batch of {batch_n}, {elapsed:.0f} s in all"
    )
    text = header + "\n\n" + table(rows) + "\n"
    print(text)
    print("details: " + json.dumps(details, default=str))
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n<!-- details: " + json.dumps(details, default=str) + " -->\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
