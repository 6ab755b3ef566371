"""The keep-alive race on Znuny, measured: how often, and at what cost, a closure meets
a kept-alive connection that the server has just closed.

Znuny 6.5 and 7 answer the GenericInterface from an NPH script with ``Connection:
Keep-Alive``; Apache therefore cannot mark the last answer it allows on a connection
(``MaxKeepAliveRequests``, 100 by default) with ``Connection: close``, and closes the
connection after sending it. A request sent on that connection before the close reaches
the client fails with no answer (``RemoteDisconnected``); for a TicketUpdate the library
must then treat the outcome as unknown (wait ``retry_write_settle``, re-read, poll for
``retry_write_poll`` seconds, resend).

Each trial uses a fresh client (a fresh connection): SessionCreate, k TicketSearches
(k = 95…99, so that the connection's 101st request is, in turn, each request of the
closure), then one closure by id. Prints per trial and a summary::

    python benchmarks/keepalive_race.py [--trials 40] [--systems znuny65] [--library DIR]

``--library DIR`` imports ``otrs_closure`` from DIR first (a patched copy, to compare).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--trials", type=int, default=40)
    p.add_argument("--systems", default=None, help="lab system(s), default as run.py --live")
    p.add_argument("--library", default=None, help="import otrs_closure from this folder first")
    a = p.parse_args(argv)
    if a.library:
        sys.path.insert(0, str(Path(a.library).resolve()))
    here = Path(__file__).resolve().parent
    sys.path.insert(1 if a.library else 0, str(here))

    from lab_systems import targets_from_env
    from live import UA, Setup, ensure_agent, install_recorder
    from run import write_docx, write_pdf

    import otrs_closure
    from otrs_closure import ClosureClient, FormatFiles, ServiceRequest

    retries: list[str] = []

    class Retries(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("retrying after attempt"):
                retries.append(record.getMessage())

    logging.getLogger("otrs_closure.retry").setLevel(logging.INFO)
    logging.getLogger("otrs_closure.retry").addHandler(Retries())
    install_recorder()
    print(f"otrs_closure from {Path(otrs_closure.__file__).parent}")
    with tempfile.TemporaryDirectory() as tmp:
        scan, editable = write_pdf(Path(tmp) / "formato_firmado.pdf", 40_000), write_docx(Path(tmp) / "formato.docx")
        formats = FormatFiles(signed_scan=scan, editable=editable)
        for target in targets_from_env(names=a.systems.split(",") if a.systems else None):
            ensure_agent(target)
            setup = Setup(target, "keepalive-" + time.strftime("%H%M%S"))
            tickets = setup.create(a.trials, "keep-alive race")
            times, stalled, extra = [], 0, 0
            for i, (tid, number) in enumerate(tickets):
                k = 95 + i % 5
                client = ClosureClient(base_url=target.url, username=target.username, password=target.password,
                                       owner_login=target.owner, server=target.name, user_agent=UA["library"])
                client.connect()
                for _ in range(k):
                    client.resolve(number)
                before, retries_before = sum(client.requests_sent.values()), len(retries)
                started = time.perf_counter()
                client.close(ticket_id=tid, attention=ServiceRequest(description=f"keep-alive {i}"), formats=formats)
                seconds = time.perf_counter() - started
                sent = sum(client.requests_sent.values()) - before
                client.shutdown()
                times.append(seconds)
                hit = len(retries) > retries_before
                stalled += hit
                extra += sent - 5
                note = "  ← " + retries[-1][:90] if hit else ""
                print(f"  {target.name} trial {i:2d}: request 101 = closure request {100 - k}: "
                      f"{1000 * seconds:6.0f} ms, {sent} requests{note}", flush=True)
            target.end_sessions([setup.sid])
            print(f"{target.name}: {a.trials} closures, {stalled} met the race, median "
                  f"{1000 * statistics.median(times):.0f} ms, mean {1000 * statistics.fmean(times):.0f} ms, "
                  f"max {1000 * max(times):.0f} ms, {extra} extra requests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
