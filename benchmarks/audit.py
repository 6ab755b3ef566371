"""The audit against the script that reads one ticket per request, side by side in one run.

    python benchmarks/audit.py [--tickets 500] [--rounds 3] [--latency 0.02] [--workers 4] [--per-request 20]
    python benchmarks/audit.py --live znuny65 [--live otrs5 ...]     # against the lab (tests/_audit_lab.py)

Both sides read the same tickets — hand-closed ones, every kind of ``HAND_CLOSURES`` in
turn — and both judge them with the library's judgement, so only the reading differs:
``client.audit()`` (several TicketIDs per TicketGet, a bounded pool of workers, one
session) against ``baseline_audit.read_tickets`` (one TicketGet per ticket, in sequence,
one keep-alive session). Requests are counted on the client side (``requests``' adapter),
the session's login included on both sides; the rounds alternate ours and the baseline;
medians are reported. Targets: requests ≤ 0.2×, wall time ≤ 0.5×.

Against the fake (default) it is served by a process of its own, with ``--latency`` per
request; both sides search the queue. On the lab (``--live SYSTEM``) 500 tickets tagged
``[audit-bench]`` are created once with raw requests by the suite's own agent and reused
by later runs; both sides read that list (the lab's queue is shared with other suites).
"""

from __future__ import annotations

import argparse
import multiprocessing
import platform
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from baseline_audit import read_tickets  # noqa: E402

from otrs_closure import ClosureClient  # noqa: E402
from otrs_closure._ticket import parse_ticket  # noqa: E402
from otrs_closure.audit import AuditRules, judge  # noqa: E402
from otrs_closure.testing import HAND_CLOSURES, FakeZnuny, new_hand_closed_ticket  # noqa: E402

AUDITOR, AUDITOR_PASSWORD, OWNER = "lector", "lector-pass", "agente.mesa"
BENCH_TAG = "[audit-bench]"
TARGET_REQUESTS, TARGET_TIME = 0.2, 0.5

# -- counting, on the client side --------------------------------------------------------------------
_lock = threading.Lock()
_sent: Counter[str] = Counter()


def _install_counter() -> None:
    send = requests.adapters.HTTPAdapter.send

    def counting(self: Any, request: requests.PreparedRequest, *a: Any, **kw: Any) -> Any:
        with _lock:
            _sent[str(request.method)] += 1
        return send(self, request, *a, **kw)

    requests.adapters.HTTPAdapter.send = counting  # type: ignore[method-assign]


def _count() -> int:
    with _lock:
        return sum(_sent.values())


# -- where the tickets are -------------------------------------------------------------------------------
@dataclass
class Target:
    name: str
    url: str
    username: str
    password: str
    ticket_ids: list[int] | None  # read this list (live) …
    criteria: dict[str, Any] | None  # … or search (fake)
    search_route: tuple[str, str]
    timezone: str
    stop: Callable[[], None] = lambda: None


def _serve(conn: Connection, tickets: int, latency: float) -> None:
    fake = FakeZnuny.service_desk()
    names = list(HAND_CLOSURES)
    for i in range(tickets):
        new_hand_closed_ticket(fake, names[i % len(names)], title=f"{BENCH_TAG} {i}")
    with fake.serve(port=0, latency=latency) as url:
        conn.send(url)
        conn.recv()


def fake_target(tickets: int, latency: float) -> Target:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(child, tickets, latency), daemon=True)
    proc.start()
    url = parent.recv()

    def stop() -> None:
        parent.send(None)
        proc.join(timeout=10)

    # Every closure kind but the customer-only one leaves the ticket attended.
    criteria = {"Queues": ["Mesa de Servicio"], "States": ["Atendido", "new"], "Limit": tickets + 1}
    return Target(f"fake ({latency * 1000:.0f} ms/request, own process)", url, AUDITOR, AUDITOR_PASSWORD, None,
                  criteria, ("POST", "/Ticket/Search"), "America/Mexico_City", stop)  # fmt: skip


def live_target(name: str, tickets: int) -> Target:
    import _audit_lab as lab

    system = lab.SYSTEMS[name]
    for agent in (lab.CLOSER, lab.AUDITOR):
        lab.ensure_agent(system, agent)
    raw = lab.RawGI(system, lab.CLOSER)
    search = system.profile.routes["TicketSearch"]
    found = raw.search({"Title": f"{BENCH_TAG}*", "Limit": 10 * tickets})
    ids = sorted(found)
    missing = tickets - len(ids)
    if missing > 0:
        print(f"{name}: creating {missing} hand-closed tickets tagged {BENCH_TAG} (once)…", file=sys.stderr)
        names = list(HAND_CLOSURES)
        started = time.perf_counter()

        def make(i: int) -> int:
            for attempt in range(3):  # a busy shared lab drops a connection now and then
                try:
                    return lab.close_by_hand(raw, HAND_CLOSURES[names[i % len(names)]], title=f"{BENCH_TAG} {i}")
                except requests.ConnectionError:
                    if attempt == 2:
                        raise
                    time.sleep(1)
            raise AssertionError("unreachable")

        with ThreadPoolExecutor(4) as pool:
            ids += list(pool.map(make, range(len(ids), tickets)))
        print(f"{name}: created in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    raw.close()
    return Target(f"lab {name}", system.url, lab.AUDITOR.login, lab.AUDITOR.password, sorted(ids)[:tickets], None,
                  (search.method, search.path), "UTC")  # fmt: skip


# -- the two sides -------------------------------------------------------------------------------------
def ours(t: Target, workers: int, per_request: int) -> dict[int, tuple[str, ...]]:
    client = ClosureClient(base_url=t.url, username=t.username, password=t.password, owner_login=OWNER,
                           server_timezone=t.timezone)  # fmt: skip
    with client:
        if t.ticket_ids is not None:
            report = client.audit(ticket_ids=t.ticket_ids, workers=workers, per_request=per_request)
        else:
            report = client.audit(queue=t.criteria["Queues"], state=t.criteria["States"],  # type: ignore[index]
                                  limit=t.criteria["Limit"], workers=workers, per_request=per_request)  # type: ignore[index]  # fmt: skip
    return {v.ticket_id: tuple(p.value for p in v.problems) for v in report.tickets}


def baseline(t: Target) -> dict[int, tuple[str, ...]]:
    from zoneinfo import ZoneInfo

    rules = AuditRules(owner_login=OWNER, owner_subject="Se modifica propietario",
                       owner_body="Se modifica propietario", timezone=ZoneInfo(t.timezone))  # fmt: skip
    raw = read_tickets(t.url, t.username, t.password, ticket_ids=t.ticket_ids, criteria=t.criteria,
                       search_route=t.search_route)  # fmt: skip
    verdicts = [judge(parse_ticket(x, x.get("TicketID", 0)), rules) for x in raw]
    return {v.ticket_id: tuple(p.value for p in v.problems) for v in verdicts}


def measure(t: Target, rounds: int, workers: int, per_request: int) -> dict[str, Any]:
    runs: dict[str, list[tuple[float, int]]] = {"ours": [], "baseline": []}
    verdicts: dict[str, dict[int, tuple[str, ...]]] = {}
    for _ in range(rounds):
        for side in ("ours", "baseline"):
            before, started = _count(), time.perf_counter()
            verdicts[side] = ours(t, workers, per_request) if side == "ours" else baseline(t)
            runs[side].append((time.perf_counter() - started, _count() - before))
    if verdicts["ours"] != verdicts["baseline"]:
        raise SystemExit(f"{t.name}: the two sides disagree on the verdicts — a bug")
    result = {side: {"seconds": statistics.median(s for s, _ in r), "requests": statistics.median(n for _, n in r)}
              for side, r in runs.items()}  # fmt: skip
    result["tickets"] = len(verdicts["ours"])
    result["non_compliant"] = sum(1 for v in verdicts["ours"].values() if v)
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tickets", type=int, default=500)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--latency", type=float, default=0.02, help="the fake's latency per request, seconds")
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--per-request", type=int, default=20)
    p.add_argument("--live", action="append", metavar="SYSTEM", help="a lab system instead of the fake (repeatable)")
    args = p.parse_args(argv)
    _install_counter()
    if args.live:
        targets = [live_target(n, args.tickets) for n in args.live]
    else:
        targets = [fake_target(args.tickets, args.latency)]
    print(
        f"`python benchmarks/audit.py {' '.join(argv or sys.argv[1:])}` — {time.strftime('%Y-%m-%d %H:%M')}, "
        f"Python {platform.python_version()}, {multiprocessing.cpu_count()} CPU(s), {args.tickets} tickets, "
        f"{args.rounds} rounds, ours with {args.workers} workers × {args.per_request} TicketIDs per TicketGet\n"
    )
    print(
        "| where | tickets | requests ours / baseline | ratio (≤ 0.2×) | wall time ours / baseline | ratio (≤ 0.5×) |"
    )
    print("|---|---|---|---|---|---|")
    ok = True
    for t in targets:
        try:
            r = measure(t, args.rounds, args.workers, args.per_request)
        finally:
            t.stop()
        o, b = r["ours"], r["baseline"]
        rq, tm = o["requests"] / b["requests"], o["seconds"] / b["seconds"]
        ok = ok and rq <= TARGET_REQUESTS and tm <= TARGET_TIME
        print(
            f"| {t.name} | {r['tickets']} ({r['non_compliant']} non-compliant) "
            f"| {o['requests']:.0f} / {b['requests']:.0f} "
            f"| {rq:.3f}× {'met' if rq <= TARGET_REQUESTS else 'MISSED'} | {o['seconds']:.2f} s / {b['seconds']:.2f} s "
            f"| {tm:.3f}× {'met' if tm <= TARGET_TIME else 'MISSED'} |",
            flush=True,
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
